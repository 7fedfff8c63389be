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

Reading is defensive (a checkpoint may come from anywhere): the JSON's fields are type- and
range-checked (:func:`check_meta`; the profile through :func:`sbsr_lab.config.check_profile`), the
classifier's weight shape in the safetensors file must match the JSON's ``embed_dim`` and class count
(:func:`check_head_shapes`) before any network is built, and NaN or infinite weights are refused.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from sbsr_lab.config import RANGES, Profile
from sbsr_lab.errors import CheckpointError, ConfigError
from sbsr_lab.io import atomic_path, atomic_write_json
from sbsr_lab.train.stage import registered_stages

__all__ = ["FORMAT", "VERSION", "save_checkpoint", "read_checkpoint_meta", "load_checkpoint",
           "load_weights", "optimizer_tensors", "restore_optimizer", "record_from_run", "resolve_from_run",
           "check_out_folder", "check_meta", "check_head_shapes", "check_finite", "header_shapes", "read_json_file", "MAX_JSON_BYTES"]

FORMAT = "sbsr_lab.checkpoint"
VERSION = 1
MAX_JSON_BYTES = 64 << 20   # a checkpoint's JSON (with its history) is far smaller
MAX_CLASSES = 100_000
_MAX_EPOCH = 10_000_000


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


LOCK_NAME = ".lock"


@contextlib.contextmanager
def run_lock(out: str | Path) -> Iterator[Path]:
    """Hold the run folder ``out`` for one writer: an exclusive, non-blocking ``flock`` on ``out/.lock``,
    which names its holder (process id, host, start time). A second training into the same folder
    fails at once with a :class:`CheckpointError` naming that process, instead of both finishing and
    leaving a run mixed from two seeds. The lock goes with its process (a killed trainer leaves no stale
    lock). On systems without ``fcntl`` (Windows) it is a no-op."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"--out {out} is a file, not a folder. Fix: give a folder name for the run.")
    out.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield out
        return
    path = out / LOCK_NAME
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise CheckpointError(f"{path} is not a regular file. Fix: remove it; sbsr_lab keeps its lock there.")
    f = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise CheckpointError(
                f"{out} is being trained into by {holder}; two trainings into one folder would mix their "
                "checkpoints. Fix: wait for it to finish (or stop it), or choose another --out.") from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        yield out
    finally:
        f.close()  # releases the lock


def check_out_folder(out: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse to train into ``out`` when that would silently replace a run: a file, or a folder holding
    a run (finished or interrupted) without ``resume`` or ``overwrite``. With ``overwrite`` the old
    run's checkpoint descriptions are deleted first, so old and new checkpoints never mix."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"--out {out} is a file, not a folder. Fix: give a folder name for the run.")
    old = [out / f"{kind}.json" for kind in ("last", "best") if (out / f"{kind}.json").is_file()]
    if not old or resume:
        return
    if overwrite:
        for path in old:
            path.unlink()
        return
    what = "run"
    try:
        last = json.loads((out / "last.json").read_text(encoding="utf-8")) if (out / "last.json").is_file() else {}
        if isinstance(last, dict) and isinstance(last.get("stage"), str):
            what = f"{last['stage']} run (last epoch {last.get('epoch')}, best validation accuracy {last.get('best_val')})"
    except (OSError, ValueError):
        pass
    raise CheckpointError(
        f"{out} already holds a {what}; training it from the start would replace its checkpoints. Fix: add "
        "--resume to continue it (a finished run is kept as it is), --overwrite to replace it, or choose a new --out.")


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


def read_json_file(path: Path, what: str, fix: str) -> Any:
    """``json.loads`` of a small file, with :class:`CheckpointError` (naming ``path`` and ``fix``) for
    files that are too big, not UTF-8, not JSON, or that hold NaN/Infinity (not JSON either)."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise CheckpointError(f"{path} is {size:,} bytes, too big for a {what}; it is not one. {fix}")
        text = path.read_text(encoding="utf-8")
        return json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{path} is not valid JSON ({str(err)[:120]}); the {what} is damaged. {fix}") from None
    except OSError as err:
        raise CheckpointError(f"{path} cannot be read ({err.strerror or err}). {fix}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _is_int(v: Any, low: int, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_meta(meta: Any, path: str | Path) -> dict[str, Any]:
    """Check the fields of a checkpoint JSON (types, ranges, the profile) before anything uses them.

    Raises :class:`CheckpointError` naming ``path``, the field and the fix. Returns ``meta``.
    """
    fix = "The checkpoint is damaged or was edited by hand: retrain the stage (or restore the file)."

    def bad(key: str, want: str) -> CheckpointError:
        return CheckpointError(f"{path}: field {key!r} {want}. {fix}")

    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} holds a JSON {type(meta).__name__}, not a checkpoint description. {fix}")
    names = meta.get("class_names")
    if not (isinstance(names, list) and 1 <= len(names) <= MAX_CLASSES
            and all(isinstance(n, str) and 0 < len(n) <= 256 for n in names)):
        raise bad("class_names", f"must be a list of 1 to {MAX_CLASSES:,} class names")
    if len(set(names)) != len(names):
        raise bad("class_names", "names a class twice")
    for key in ("stage", "method", "data", "model_kind", "run"):
        if key in meta and not isinstance(meta[key], str):
            raise bad(key, "must be a string")
    if meta.get("from_run") is not None and not isinstance(meta["from_run"], str):
        raise bad("from_run", "must be a folder name or null")
    if meta.get("shape_split") is not None and not isinstance(meta["shape_split"], dict):
        raise bad("shape_split", "must be the dataset's shape split (an object) or absent")
    if "stage" in meta and meta["stage"] not in registered_stages():
        raise bad("stage", f"is {meta['stage'][:40]!r}, not one of {', '.join(registered_stages())}")
    for key in ("epoch", "best_epoch"):
        if key in meta and not _is_int(meta[key], -1, _MAX_EPOCH):
            raise bad(key, f"must be an epoch number from -1 to {_MAX_EPOCH:,}")
    for key in ("val_acc", "best_val"):
        if key in meta and not _is_num(meta[key]):
            raise bad(key, "must be a finite number")
    if "history" in meta and not (isinstance(meta["history"], list)
                                  and all(isinstance(r, dict) for r in meta["history"])):
        raise bad("history", "must be a list of per-epoch rows")
    if "optim_scalars" in meta:
        o = meta["optim_scalars"]
        if not (isinstance(o, dict) and isinstance(o.get("param_groups"), list)
                and all(isinstance(g, dict) for g in o["param_groups"]) and isinstance(o.get("state", {}), dict)):
            raise bad("optim_scalars", "must be {'param_groups': [...], 'state': {...}}")
    if "profile" in meta:
        if not isinstance(meta["profile"], dict):
            raise bad("profile", "must be an object of profile settings")
        try:
            Profile.from_dict(meta["profile"])
        except (ConfigError, TypeError, ValueError, KeyError) as err:
            raise CheckpointError(f"{path}: its profile is not valid here ({err}). {fix}") from None
    return meta


def read_checkpoint_meta(run: str | Path, kind: str = "best") -> dict[str, Any]:
    """The JSON description of a checkpoint, with clear errors for missing, foreign or malformed files."""
    run = Path(run)
    path = run / f"{kind}.json"
    if not run.exists():
        raise CheckpointError(f"Run folder {run} does not exist. Train it first: `sbsr-lab train STAGE --out {run}`.")
    if not run.is_dir():
        raise CheckpointError(f"{run} is a file, not a run folder. Give the folder that `sbsr-lab train --out` wrote.")
    if not path.is_file():
        raise CheckpointError(
            f"{run} has no {kind} checkpoint ({path.name} missing). It is not a finished sbsr_lab run; "
            f"train it with `sbsr-lab train STAGE --out {run}` (add --resume to finish an interrupted one)."
        )
    meta = read_json_file(path, "checkpoint", "Retrain the stage.")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} was not written by sbsr_lab (no '{FORMAT}' format tag). Foreign checkpoints are not loaded; "
            "train with `sbsr-lab train` or convert the weights yourself into an sbsr_lab run folder."
        )
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {str(meta.get('version'))[:20]} is not supported "
                              f"(expected {VERSION}).")
    return check_meta(meta, path)


def header_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """The tensor shapes of a safetensors file, read from its header alone (nothing is loaded)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({str(err)[:200]}). "
                              "Retrain or re-export it.") from None


def check_head_shapes(state: "dict[str, torch.Tensor] | dict[str, tuple[int, ...]]", embed_dim: Any, num_classes: int, source: str | Path) -> None:
    """Check, before a network is built from a JSON's ``embed_dim``, that the weights agree with it:
    every ``*classifier.weight`` is ``(embed_dim, num_classes)`` (the centres W, d x K) and there is one.
    ``state`` maps names to tensors, or to shapes (:func:`header_shapes`, without loading).

    This bounds what building the network allocates by what the weights file really holds.
    """
    if not _is_int(embed_dim, int(RANGES["embed_dim"].low), int(RANGES["embed_dim"].high)):
        raise CheckpointError(f"{source}: embed_dim {str(embed_dim)[:20]} is not a valid embedding size "
                              f"({RANGES['embed_dim'].describe()}); the description is damaged. Retrain or re-export it.")
    heads = {k: tuple(v if isinstance(v, tuple) else v.shape) for k, v in state.items()
             if k == "classifier.weight" or k.endswith(".classifier.weight")}
    if not heads:
        raise CheckpointError(f"{source} has no classifier weights; it was not written by this version of sbsr_lab. "
                              "Retrain or re-export it.")
    for key, shape in heads.items():
        if shape != (embed_dim, num_classes):
            raise CheckpointError(
                f"{source}: {key} has shape {shape}, but its description says embed_dim {embed_dim} and "
                f"{num_classes} classes, i.e. {(embed_dim, num_classes)}. The description does not belong to these "
                "weights (damaged or edited). Retrain or re-export it.")


def check_finite(state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Refuse weights holding NaN or infinity (a diverged run, or a damaged file)."""
    for key, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(
                f"{source}: the weight {key} holds NaN or infinite values: the training diverged or the file is "
                "damaged. Retrain the stage (a lower lr, e.g. --set lr=1e-3, helps a diverging run).")


def load_checkpoint(run: str | Path, kind: str = "best") -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict[str, Any]]:
    """``(model_state, other_tensors, meta)`` of ``run/<kind>``; tensors are on the CPU.

    The JSON is checked (:func:`check_meta`), the weights must be finite, and where the JSON holds a
    profile its ``embed_dim`` and class count must match the classifier's shape (:func:`check_head_shapes`).
    """
    meta = read_checkpoint_meta(run, kind)
    path = Path(run) / f"{kind}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"{path} is missing although {path.with_suffix('.json').name} exists; retrain the stage.")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({str(err)[:200]}); retrain the stage.") from None
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    others = {k: v for k, v in tensors.items() if not k.startswith("model.")}
    if not model_state:
        raise CheckpointError(f"{path} holds no model weights; it was not written by sbsr_lab.")
    check_finite(model_state, path)
    if "profile" in meta:
        check_head_shapes(model_state, meta["profile"].get("embed_dim"), len(meta["class_names"]), path)
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
