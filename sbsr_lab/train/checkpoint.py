"""Checkpoints: safetensors weights + a JSON description; loading needs nothing else and never unpickles.

A run folder holds, per kind of checkpoint (``last`` written every epoch, ``best`` by validation):

* ``<kind>.safetensors`` -- the model's state dict (keys prefixed ``model.``) and, for ``last``, the
  optimizer's tensors (``optim.<param>.<name>``), so that ``--resume`` continues exactly;
* ``<kind>.json`` -- ``{"format": "sbsr_lab.checkpoint", "version": 1, "stage", "model", "epoch",
  "class_names", "profile", "from_run", "optim_scalars", "history", ...}``. ``from_run`` (the run whose
  centres a student or shape-transfer stage was pulled onto) is written relative to the run folder
  (``../teacher``), so a folder of runs can be moved or read from any working directory.

Both are written atomically (temporary name, then rename), JSON last, so a checkpoint whose JSON
exists is complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from sbsr_lab.errors import CheckpointError
from sbsr_lab.io import atomic_path, atomic_write_json

__all__ = ["FORMAT", "VERSION", "save_checkpoint", "read_checkpoint_meta", "load_checkpoint",
           "load_weights", "optimizer_tensors", "restore_optimizer", "record_from_run", "resolve_from_run"]

FORMAT = "sbsr_lab.checkpoint"
VERSION = 1


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state into tensors (for safetensors) and JSON scalars."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for pid, pstate in state["state"].items():
        for name, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars["state"].setdefault(str(pid), {})[name] = value
    return tensors, scalars


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], scalars: dict[str, Any]) -> None:
    """Inverse of :func:`optimizer_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    for pid, extra in scalars.get("state", {}).items():
        state.setdefault(int(pid), {}).update(extra)
    optimizer.load_state_dict({"state": state, "param_groups": scalars["param_groups"]})


def save_checkpoint(run: str | Path, kind: str, model: nn.Module, meta: dict[str, Any],
                    optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Write ``run/<kind>.safetensors`` and ``run/<kind>.json``; returns the JSON path."""
    run = Path(run)
    tensors = {f"model.{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "version": VERSION, **meta}
    if optimizer is not None:
        opt_tensors, scalars = optimizer_tensors(optimizer)
        tensors.update(opt_tensors)
        meta["optim_scalars"] = scalars
    with atomic_path(run / f"{kind}.safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT})
    path = run / f"{kind}.json"
    atomic_write_json(path, meta)
    return path


def record_from_run(from_run: str | Path | None, run: str | Path) -> str | None:
    """How ``run`` records its ``--from`` run: relative to ``run`` itself (``../teacher``), absolute only
    where no relative path exists (another drive)."""
    if from_run is None:
        return None
    source = Path(from_run).resolve()
    try:
        return os.path.relpath(source, Path(run).resolve())
    except ValueError:
        return str(source)


def resolve_from_run(run: str | Path, recorded: str) -> Path:
    """The folder of the ``--from`` run that ``run`` recorded.

    Tried in order: an absolute path as is; a path relative to ``run`` (what :func:`record_from_run`
    writes); for runs written before it, relative to the working directory, then the folder of the same
    name beside ``run`` (``runs/demo-default/teacher`` next to ``runs/demo-default/student``).
    """
    run, path = Path(run), Path(recorded)
    tries = [path] if path.is_absolute() else [run / path, path, run.parent / path.name]
    for folder in tries:
        if (folder / "best.json").is_file():
            return Path(os.path.normpath(folder))
    raise CheckpointError(
        f"{run} was trained from the run {recorded}, which is not found (looked in "
        f"{', '.join(str(Path(os.path.normpath(f))) for f in dict.fromkeys(tries))}). Keep the two runs side by side "
        f"as training left them, or retrain {run.name} with --from pointing at its first stage."
    )


def read_checkpoint_meta(run: str | Path, kind: str = "best") -> dict[str, Any]:
    """The JSON description of a checkpoint, with clear errors for missing or foreign files."""
    run = Path(run)
    path = run / f"{kind}.json"
    if not run.exists():
        raise CheckpointError(f"Run folder {run} does not exist. Train it first: `sbsr-lab train STAGE --out {run}`.")
    if not path.is_file():
        raise CheckpointError(
            f"{run} has no {kind} checkpoint ({path.name} missing). It is not a finished sbsr_lab run; "
            f"train it with `sbsr-lab train STAGE --out {run}` (add --resume to finish an interrupted one)."
        )
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{path} is not valid JSON; the checkpoint is damaged. Retrain the stage.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} was not written by sbsr_lab (no '{FORMAT}' format tag). Foreign checkpoints are not loaded; "
            "train with `sbsr-lab train` or convert the weights yourself into an sbsr_lab run folder."
        )
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {meta.get('version')} is not supported (expected {VERSION}).")
    return meta


def load_checkpoint(run: str | Path, kind: str = "best") -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, Any]]:
    """``(model_state, other_tensors, meta)`` of ``run/<kind>``; tensors are on the CPU."""
    meta = read_checkpoint_meta(run, kind)
    path = Path(run) / f"{kind}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"{path} is missing although {path.with_suffix('.json').name} exists; retrain the stage.")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err}); retrain the stage.") from None
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    others = {k: v for k, v in tensors.items() if not k.startswith("model.")}
    if not model_state:
        raise CheckpointError(f"{path} holds no model weights; it was not written by sbsr_lab.")
    return model_state, others, meta


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], source: str, fix: str) -> None:
    """``model.load_state_dict(state)``, or a :class:`CheckpointError` that names the keys that do not
    match (e.g. a checkpoint written before the network changed) and says how to fix it (``fix``)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k, v in state.items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        def few(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
        parts = [f"missing {few(missing)}" if missing else "", f"unexpected {few(unexpected)}" if unexpected else "",
                 f"other shapes for {few(shapes)}" if shapes else ""]
        raise CheckpointError(f"{source} does not fit this version's {type(model).__name__} "
                              f"({'; '.join(p for p in parts if p)}): it was written by another network "
                              f"or an older sbsr_lab. {fix}")
    model.load_state_dict(state)
