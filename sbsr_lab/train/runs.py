"""Loading trained runs: the one home for "a run folder -> its networks".

    from sbsr_lab.train.runs import load_run, load_method
    teacher, meta = load_run("runs/teacher")            # one stage's model (eval mode) and its meta
    nets = load_method("runs/student")                  # a method: sketch net + shape net (+ its --from run)

A run folder holds ``best``/``last`` checkpoints (:mod:`sbsr_lab.train.checkpoint`); the stage named in
the checkpoint rebuilds its network (:meth:`~sbsr_lab.train.stage.Stage.build_model`), so loading needs
nothing but the folder. A *method* is evaluated from the run of its last stage: the networks that
stage trained (:meth:`~sbsr_lab.train.stage.Stage.networks`), completed by those of its ``--from``
run (CFTTSL: student sketches + teacher shapes; UACTN: shape-transfer shapes + sketch-uncertainty
sketches; joint: both in one run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.errors import CheckpointError
from sbsr_lab.models.protocol import predicts_sigma
from sbsr_lab.train.checkpoint import load_checkpoint, load_weights, read_checkpoint_meta, resolve_from_run
from sbsr_lab.train.stage import get_stage, registered_stages

__all__ = ["load_run", "MethodNets", "load_method", "stage_runs"]


def load_run(run: str | Path, kind: str = "best", device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network of a run folder from its checkpoint alone; returns ``(model in eval mode, meta)``."""
    state, _, meta = load_checkpoint(run, kind)
    stages = registered_stages()
    if meta.get("stage") not in stages:
        raise CheckpointError(f"{run}/{kind}.json names the stage {meta.get('stage')!r}, which this sbsr_lab does not "
                              f"know (stages: {', '.join(stages)}). Retrain it with `sbsr-lab train STAGE --out NEW`.")
    profile = Profile.from_dict(meta["profile"])
    model = get_stage(meta["stage"]).build_model(profile, len(meta["class_names"]))
    load_weights(model, state, f"{run}/{kind}.safetensors ({meta['stage']})",
                 "Train the stage again into a new folder (`sbsr-lab train ... --out NEW`).")
    return model.to(device).eval(), meta


@dataclass
class MethodNets:
    """The two networks of a trained method and the metadata of its runs."""

    method: str
    sketch: nn.Module
    shape: nn.Module
    class_names: list[str]
    profile: dict[str, Any]
    data: str
    runs: dict[str, str]          # stage -> run folder
    #: a query-dependent score ``fn(queries, gallery, device, batch_size) -> (Q, N)`` (CMIC), else None:
    #: cosine of the embeddings (:meth:`~sbsr_lab.train.stage.Stage.similarity`)
    similarity: Callable[..., Tensor] | None = None
    #: the manifest's shape split the run was trained with (``Manifest.shape_split``), None for none
    shape_split: dict[str, Any] | None = None

    @property
    def has_uncertainty(self) -> bool:
        """True when the sketch network predicts sigma (:func:`~sbsr_lab.models.protocol.predicts_sigma`)."""
        return predicts_sigma(self.sketch)


def load_method(run: str | Path, device: torch.device | str = "cpu") -> MethodNets:
    """The sketch and shape networks of the method whose last stage is ``run`` (module docstring)."""
    model, meta = load_run(run, device=device)
    stage = get_stage(meta["stage"])
    runs = {stage.name: str(run)}
    nets = dict(stage.networks(model))
    if len(nets) < 2:
        if stage.needs is None:
            after = [s.name for s in registered_stages().values() if s.needs == stage.name]
            raise CheckpointError(f"{run} is a {stage.name} run, one half of a method: evaluate the "
                                  f"{' or '.join(after) or 'next stage'} run trained --from it.")
        if not meta.get("from_run"):
            raise CheckpointError(f"{run} ({stage.name}) does not record its --from run; retrain it with --from.")
        source = resolve_from_run(run, meta["from_run"])
        other, other_meta = load_run(source, device=device)
        runs[other_meta["stage"]] = str(source)
        for key, net in get_stage(other_meta["stage"]).networks(other).items():
            nets.setdefault(key, net)
    return MethodNets(meta["method"], nets["sketch"], nets["shape"], meta["class_names"], meta["profile"],
                      meta["data"], runs, stage.similarity(model), meta.get("shape_split"))


def stage_runs(run: str | Path) -> dict[str, Path]:
    """``{stage: run folder}`` of ``run`` and every run it was trained ``--from``, following the chain
    its checkpoints record (ssltkd-student -> ssltkd-teacher -> ssl-pretrain)."""
    out: dict[str, Path] = {}
    folder: Path | None = Path(run)
    while folder is not None and len(out) < 64:  # a damaged chain that loops stops
        meta = read_checkpoint_meta(folder)
        if meta["stage"] in out:
            break
        out[meta["stage"]] = folder
        folder = resolve_from_run(folder, meta["from_run"]) if meta.get("from_run") else None
    return out
