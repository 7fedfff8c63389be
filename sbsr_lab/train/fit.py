"""``fit(stage, profile, data, out)``: the whole training path of every stage, readable in one sitting.

    sbsr-lab train teacher --data data/synthshapes-default --out runs/teacher
    sbsr-lab train student --data data/synthshapes-default --out runs/student --from runs/teacher

One loop for all stages; each :class:`~sbsr_lab.train.stage.Stage` says what differs (network, data,
loss, one optimiser step, validation). By default: AdamW or SGD (momentum 0.9, weight decay 1e-4,
heads at ``head_lr_mult`` x the backbone rate), linear warmup then cosine decay, a progress bar
(:mod:`sbsr_lab.progress`: one line per epoch when the output is not a terminal), metrics to
``metrics.csv`` (losses, validation accuracy, training images per second of the sketch and view
networks), channels_last everywhere (faster convolutions with oneDNN and cuDNN; docs/experiments.md)
and AMP on CUDA, and a checkpoint every epoch (``last``) plus the best by validation (``best``).
Determinism: the seed is re-applied at every epoch (``seed * 1000 + epoch``), so ``--resume`` from
epoch k replays epochs k+1.. exactly as an uninterrupted run on the CPU.
Under ``torchrun`` the same loop runs on every process with DistributedDataParallel
(:mod:`sbsr_lab.train.distributed`): ``batch_size`` is the global batch, rank 0 writes.
"""

from __future__ import annotations

import contextlib
import os

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from sbsr_lab.config import Profile, get_profile
from sbsr_lab.data.manifest import Manifest, load_manifest
from sbsr_lab.errors import CheckpointError, ConfigError
from sbsr_lab.io import atomic_write_text
from sbsr_lab.progress import note
from sbsr_lab.progress import progress as progress_bar
from sbsr_lab.train import distributed
from sbsr_lab.train.checkpoint import (
    check_out_folder, load_checkpoint, load_weights, read_checkpoint_meta, record_from_run, restore_optimizer,
    run_lock, save_checkpoint,
)
from sbsr_lab.train.runs import load_run
from sbsr_lab.train.stage import Stage, get_stage, split_train_val

__all__ = ["FitResult", "fit", "resolve_device", "split_train_val", "get_lr"]


@dataclass
class FitResult:
    """What :func:`fit` returns: the run folder, the best validation accuracy and per-epoch history."""

    run: Path
    stage: str
    best_val: float
    best_epoch: int
    history: list[dict[str, float]]
    seconds: float


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def get_lr(step: int, total: int, warmup: int, peak: float) -> float:
    """Learning rate at ``step``: 1) linear warmup to ``peak``, 2) cosine decay to 0 at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _from_model(stage: Stage, from_run: str | Path | None, manifest: Manifest) -> torch.nn.Module | None:
    """The ``--from`` run's model (eval mode), checked against the stage and the dataset's classes."""
    if stage.needs is None:
        return None
    if from_run is None:
        raise CheckpointError(f"Stage {stage.name} needs a finished {stage.needs} run: add --from RUN.")
    meta = read_checkpoint_meta(from_run, "best")
    if meta["stage"] != stage.needs:
        raise CheckpointError(f"--from {from_run} is a {meta['stage']} run; stage {stage.name} needs a {stage.needs} run.")
    if meta["class_names"] != manifest.classes:
        raise CheckpointError(f"--from {from_run} was trained on other classes than {manifest.root}; use the same dataset.")
    if meta.get("shape_split") != manifest.shape_split:
        raise CheckpointError(f"--from {from_run} was trained with the shape split {meta.get('shape_split')!r}, "
                              f"{manifest.root} has {manifest.shape_split!r}; use the same dataset folder.")
    model, _ = load_run(from_run)
    return model


def _images_in(batch) -> dict[str, int]:
    """Training images in one batch of :meth:`Stage.batches`: sketches ``(B, C, H, W)`` and rendered views
    ``(B, V, C, H, W)`` (B * V images: each view goes through the view network's backbone)."""
    pairs = batch if isinstance(batch[0], (tuple, list)) else (batch,)
    counts = {"sketch": 0, "view": 0}
    for x, _ in pairs:
        if x.dim() == 5:
            counts["view"] += x.shape[0] * x.shape[1]
        else:
            counts["sketch"] += x.shape[0]
    return counts


def fit(stage: str, profile: Profile | str, data: str | Path, out: str | Path, from_run: str | Path | None = None,
        resume: bool = False, progress: bool = True, overwrite: bool = False,
        on_epoch: Callable[[int, torch.nn.Module], dict[str, float]] | None = None) -> FitResult:
    """Train ``stage`` into ``out`` (:func:`_fit`), holding ``out`` for this one writer
    (:func:`~sbsr_lab.train.checkpoint.run_lock`: a second training into it is refused, naming this one)."""
    first = os.environ.get("RANK", "0") == "0"  # torchrun's rank, known before the process group is joined
    with run_lock(out) if first else contextlib.nullcontext():
        return _fit(stage, profile, data, out, from_run, resume, progress, overwrite, on_epoch)


def _fit(stage: str, profile: Profile | str, data: str | Path, out: str | Path, from_run: str | Path | None = None,
         resume: bool = False, progress: bool = True, overwrite: bool = False,
         on_epoch: Callable[[int, torch.nn.Module], dict[str, float]] | None = None) -> FitResult:
    """Train ``stage`` on the dataset folder ``data``; write checkpoints and ``metrics.csv`` to ``out``.

    Args:
        stage: the name of a registered stage (:data:`~sbsr_lab.train.stage.STAGES`), e.g. ``teacher``.
        profile: a :class:`Profile` or its name (sizes, optimiser, loss weights).
        from_run: the run whose fixed centres the stage is pulled onto (the stage's ``needs``).
        resume: continue from ``out/last`` (same profile required) instead of starting afresh.
        overwrite: train afresh into an ``out`` that already holds a run (refused otherwise, so that a
            finished run is never replaced by accident).
        on_epoch: called as ``on_epoch(epoch, model)`` after each epoch's validation (model in eval
            mode, rank 0 only); the floats it returns join that epoch's row of ``metrics.csv``
            (benchmarks/time_to_accuracy.py measures retrieval mAP this way). Its time is ``hook_s``.

    Every row of ``metrics.csv`` also splits the epoch's seconds: ``data_s`` (waiting for batches:
    loading, decoding, augmenting), ``step_s`` (forward, backward, optimiser step) and ``val_s``.
    """
    st = get_stage(stage)
    profile = get_profile(profile)
    manifest = load_manifest(data)
    out = Path(out)
    # -- never replace a run by accident: --resume continues it, --overwrite replaces it --------------
    device = distributed.setup(resolve_device(profile.device))  # cuda:LOCAL_RANK under torchrun
    main = distributed.is_main()
    # only rank 0 deletes an old run's files with --overwrite; the others check as if resuming
    check_out_folder(out, resume or (overwrite and not main), overwrite and main)
    distributed.barrier()  # every rank has checked before rank 0 writes anything
    out.mkdir(parents=True, exist_ok=True)
    from_model = _from_model(st, from_run, manifest)
    centres = st.centres_from(from_model) if from_model is not None else None

    # -- model, loss, optimiser ---------------------------------------------------------------------
    torch.manual_seed(profile.seed)
    model = st.build_model(profile, len(manifest.classes))
    if from_model is not None:
        st.init_from(model, from_model)
    if centres is not None:
        st.fix_centres(model, centres, profile)
    model = model.to(device).to(memory_format=torch.channels_last)  # faster convolutions on CPU and GPU
    criterion = st.loss(profile, centres).to(device)
    optimizer = st.optimizer(model, profile)
    loaders, val = st.loaders(manifest, profile)
    loaders = distributed.shard_loaders(loaders, profile.seed)  # each rank its share (several processes)
    st.attach_data(criterion, manifest)
    epochs = st.epochs(profile)
    steps_per_epoch = st.steps_per_epoch(loaders)
    total_steps = epochs * steps_per_epoch
    warmup = max(1, int(profile.warmup_epochs * steps_per_epoch))
    use_amp = profile.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    meta: dict[str, Any] = {"stage": st.name, "method": st.method,
                            "class_names": list(manifest.classes), "profile": profile.to_dict(),
                            "data": str(manifest.root), "from_run": record_from_run(from_run, out)}
    if manifest.shape_split is not None:  # PART-SHREC14: evaluation checks the run and the data agree
        meta["shape_split"] = manifest.shape_split
    history: list[dict[str, float]] = []
    best_val, best_epoch, start_epoch = -1.0, -1, 0

    # -- resume -------------------------------------------------------------------------------------
    if resume and (out / "last.json").exists():
        state, others, last = load_checkpoint(out, "last")
        # fields added since the run was saved take the value that code had (Profile.from_dict)
        wanted = profile.to_dict()
        try:
            saved = Profile.from_dict(last["profile"]).to_dict()
        except ConfigError:  # a key this version no longer has: never the same settings
            saved = {"foreign keys": sorted(set(last["profile"]) - set(wanted))}
        if last["stage"] != st.name or saved != wanted:
            diff = ", ".join(f"{k}={saved[k]!r} (now {wanted[k]!r})" for k in wanted if saved.get(k) != wanted[k])
            raise CheckpointError(f"{out} holds a {last['stage']} run with another profile"
                                  f"{': ' + diff[:300] if diff else ''}; resume with the same stage and settings, "
                                  "or delete that folder (or use a new --out) to train from the start.")
        load_weights(model, state, f"{out}/last.safetensors",
                     "Delete that folder (or use a new --out) to train from the start.")
        restore_optimizer(optimizer, others, last["optim_scalars"])
        history, best_val, best_epoch = last["history"], last["best_val"], last["best_epoch"]
        start_epoch = last["epoch"] + 1

    step_loss = distributed.wrap(model, criterion, device)  # DDP around model + loss (several processes)

    # -- the loop -----------------------------------------------------------------------------------
    t_start = time.perf_counter()
    model.train()
    for epoch in range(start_epoch, epochs):
        seed = profile.seed * 1000 + epoch + distributed.seed_offset()  # offset 0 in one process
        torch.manual_seed(seed)  # same batches and augmentations after a resume
        gen = torch.Generator().manual_seed(seed)
        distributed.set_epoch(loaders, epoch)
        t0, sums, n = time.perf_counter(), {}, 0
        images = {"sketch": 0, "view": 0}
        step_s = 0.0
        bar = progress_bar(st.batches(loaders, profile, device, gen), total=steps_per_epoch, enabled=progress and main,
                           desc=f"{st.name} {epoch + 1}/{epochs}", summary=False)
        for i, batch in enumerate(bar):
            t_step = time.perf_counter()
            step = epoch * steps_per_epoch + i
            lr = get_lr(step, total_steps, warmup, profile.lr)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_mult"]
            loss, stats = st.train_step(model, step_loss, batch, optimizer, scaler, device, use_amp)
            stats["loss"] = loss.item()
            step_s += time.perf_counter() - t_step
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
            for k, v in _images_in(batch).items():
                images[k] += v
            bar.set_postfix(loss=f"{stats['loss']:.3f}")
        train_seconds = max(time.perf_counter() - t0, 1e-9)  # loss.item() above waits for the device
        # several processes: sums over every rank's batches; validated on rank 0, the others take its value
        sums, n, images = (distributed.all_reduce_sum(sums), distributed.all_reduce_sum({"n": n})["n"],
                           distributed.all_reduce_sum(images))
        t_val = time.perf_counter()
        val_acc = distributed.broadcast_float(st.accuracy(model, val, profile, device) if main else 0.0)
        val_s = time.perf_counter() - t_val
        row = {"epoch": epoch, "lr": lr, "val_acc": val_acc, "seconds": time.perf_counter() - t0,
               "sketch_images_per_s": images["sketch"] / train_seconds,
               "view_images_per_s": images["view"] / train_seconds,
               "data_s": train_seconds - step_s, "step_s": step_s, "val_s": val_s,
               **{k: v / max(n, 1) for k, v in sums.items()}}
        if on_epoch is not None and main:
            t_hook = time.perf_counter()
            model.eval()
            with torch.no_grad():
                row.update(on_epoch(epoch, model))
            model.train()
            row["hook_s"] = time.perf_counter() - t_hook
        history.append(row)
        if val_acc > best_val:
            best_val, best_epoch = val_acc, epoch
            if main:
                save_checkpoint(out, "best", model, {**meta, "epoch": epoch, "val_acc": val_acc})
        if not main:
            continue
        save_checkpoint(out, "last", model, {**meta, "epoch": epoch, "history": history, "best_val": best_val,
                                             "best_epoch": best_epoch}, optimizer)
        _write_csv(out / "metrics.csv", history)
        if progress:
            rate = row["sketch_images_per_s"] + row["view_images_per_s"]
            note(f"{st.name} epoch {epoch + 1}/{epochs}: loss {row['loss']:.4f} "
                 f"val_acc {val_acc:.3f} ({row['seconds']:.1f}s, {rate:.0f} images/s)")
    distributed.barrier()  # rank 0's checkpoints are written when fit returns on any rank
    return FitResult(out, st.name, best_val, best_epoch, history, time.perf_counter() - t_start)


def _write_csv(path: Path, history: list[dict[str, float]]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    lines = [",".join(keys)] + [",".join(f"{row.get(k, '')}" for k in keys) for row in history]
    atomic_write_text(path, "\n".join(lines) + "\n")
