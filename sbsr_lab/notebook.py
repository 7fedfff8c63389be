"""Notebook helpers: one-line setup, run folders named by the profile, and the library's code shown in place.

    from sbsr_lab.notebook import setup, setup_data, train, show_source
    P, DATA, DEVICE = setup()                          # profile from $SBSR_PROFILE (default "default")
    nb = setup_data()                                  # the same, plus the dataset, run folder, test sketches, gallery
    run = train("teacher", P, manifest.root, RUNS)     # RUNS / "teacher", trained once, then reused
    run = train("teacher", P.replace(am_margin=0), manifest.root, RUNS)   # RUNS / "teacher+am_margin=0"
    show_source(MultiViewNet)                          # the class's code, highlighted

nbval runs the notebooks with ``SBSR_PROFILE=ci`` so that each finishes in seconds.

Why :func:`train` and :func:`run_dir`: a training cell re-run with a changed profile (a stretch
exercise: ``am_margin=0``, ``alpha=0``...) must not land in the folder of the first run (``fit`` refuses
to resume a run with another profile). The folder is named from the profile's differences to the
profile it was made from (``ci``, ``default`` or ``full``), so every variant gets its own run, trained
once and reused when the cell runs again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sbsr_lab.config import PROFILES, Profile, default_data_root, get_profile
from sbsr_lab.data.build import default_root, ensure_dataset
from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.data.manifest import Manifest
from sbsr_lab.train.fit import fit, resolve_device

__all__ = ["setup", "NotebookData", "setup_data", "notebook_runs", "profile_changes", "run_dir", "train",
           "show_source", "realdata_folder"]

_MAX_NAME = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


def setup(seed: int = 0, profile: str | None = None, **overrides: Any) -> tuple[Profile, Path, torch.device]:
    """Seed everything and return ``(profile, data root, device)``; prints what was chosen."""
    name = profile or os.environ.get("SBSR_PROFILE", "default")
    p = get_profile(name, seed=seed, **overrides)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = resolve_device(p.device)
    data = Path(default_data_root())
    print(f"profile {p.name!r}: {len(p.classes)} classes, {p.shapes_per_class} shapes and "
          f"{p.sketches_per_class} sketches per class, {p.image_size} px, backbone {p.backbone}; "
          f"data in {data}; device {device}")
    return p, data, device


def notebook_runs(profile: Profile, data: str | Path | None = None) -> Path:
    """The folder the notebooks train into: ``runs/nb-<profile>`` beside the data root ``data``
    (default :func:`~sbsr_lab.config.default_data_root`), shared by notebooks 02-07.

    >>> notebook_runs(get_profile("ci"), "course/data").as_posix()
    'course/runs/nb-ci'
    """
    return Path(data if data is not None else default_data_root()).parent / "runs" / f"nb-{profile.name}"


@dataclass(frozen=True)
class NotebookData:
    """What a notebook trains and evaluates on (:func:`setup_data`).

    Attributes:
        profile: the profile (``$SBSR_PROFILE``, seeded).
        data: the data root; the profile's SynthShapes is ``data / "synthshapes-<profile>"``.
        device: where tensors go (the profile's ``device``, resolved).
        manifest: the profile's SynthShapes dataset (built on first use).
        runs: the notebooks' run folder, :func:`notebook_runs`.
        test_sketches: the test split, images at the profile's ``image_size``: items ``((1, H, W), label)``.
        gallery: every shape as its rendered views: items ``((V, 1, H, W), label)``.
    """

    profile: Profile
    data: Path
    device: torch.device
    manifest: Manifest
    runs: Path
    test_sketches: SketchDataset
    gallery: MultiViewDataset

    @property
    def classes(self) -> list[str]:
        """The class names, in label order."""
        return list(self.manifest.classes)


def setup_data(seed: int = 0, profile: str | None = None, **overrides: Any) -> NotebookData:
    """:func:`setup`, then the profile's SynthShapes (built once, reused after), the notebooks' run folder,
    the test sketches and the gallery: a notebook's whole set-up in one call.

        nb = setup_data()
        P, RUNS, CLASSES = nb.profile, nb.runs, nb.classes
    """
    p, data, device = setup(seed, profile, **overrides)
    manifest = ensure_dataset(p, default_root(p), progress=False)
    return NotebookData(profile=p, data=data, device=device, manifest=manifest, runs=notebook_runs(p, data),
                        test_sketches=SketchDataset(manifest, "test", p.image_size),
                        gallery=MultiViewDataset(manifest, p.image_size, p.num_views, p.view_style, split="test"))


def profile_changes(profile: Profile) -> dict[str, Any]:
    """The fields of ``profile`` that differ from the named profile it was made from, in field order.

    >>> profile_changes(get_profile("ci", am_margin=0.0, alpha=0))
    {'am_margin': 0.0, 'alpha': 0.0}
    >>> profile_changes(get_profile("ci"))
    {}

    A ``variant`` counts as one change; only the keys that differ from its preset are listed beside it:

    >>> profile_changes(get_profile("ci", variant="paper", head="mlp"))
    {'variant': 'paper', 'head': 'mlp'}
    """
    base = get_profile(profile.name) if profile.name in PROFILES else Profile(name=profile.name)
    first: dict[str, Any] = {}
    if profile.variant != base.variant:
        base = base.replace(variant=profile.variant)  # its preset's keys are not changes of their own
        first = {"variant": profile.variant}
    return {**first, **{f.name: getattr(profile, f.name) for f in dataclasses.fields(Profile)
                        if getattr(profile, f.name) != getattr(base, f.name)}}


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return ",".join(_value_text(v) for v in value)
    return str(value)


def run_dir(runs: str | Path, stage: str, profile: Profile) -> Path:
    """The run folder of ``stage`` under ``runs`` for this ``profile``: ``runs/stage`` for the named
    profile itself, ``runs/stage+key=value+...`` for a changed one (a short hash when that is long).

    >>> run_dir("runs", "student", get_profile("ci", alpha=0)).as_posix()
    'runs/student+alpha=0'
    """
    changes = profile_changes(profile)
    if not changes:
        return Path(runs) / stage
    suffix = "+".join(f"{k}={_value_text(v)}" for k, v in changes.items())
    name = _UNSAFE.sub("_", f"{stage}+{suffix}")
    if len(name) > _MAX_NAME:
        digest = hashlib.sha1(suffix.encode()).hexdigest()[:10]
        name = f"{stage}+{'+'.join(changes)[:40]}+{digest}"
    return Path(runs) / name


def train(stage: str, profile: Profile, data: str | Path, runs: str | Path, from_run: str | Path | Any = None,
          progress: bool = False) -> Any:
    """Train ``stage`` into :func:`run_dir` ``(runs, stage, profile)``, or return at once when that run is
    finished (``fit(..., resume=True)``; an interrupted run continues). ``from_run``: the run folder (or
    the :class:`~sbsr_lab.train.fit.FitResult`) of the stage this one needs, e.g. the teacher for the
    student. Returns the :class:`~sbsr_lab.train.fit.FitResult`; its ``run`` is the folder."""
    if from_run is not None and hasattr(from_run, "run"):
        from_run = from_run.run
    out = run_dir(runs, stage, profile)
    return fit(stage, profile, data, out, from_run=from_run, resume=True, progress=progress)


def realdata_folder() -> Path | None:
    """The real development set next to the course (``../shared/realdata``: drawings and meshes made by
    people), or the folder ``$SBSR_REALDATA`` names; ``None`` when it is not there or ``SBSR_REALDATA=none``
    (the book is built so: the meshes' licence lets the course read them at run time, not publish renders)."""
    chosen = os.environ.get("SBSR_REALDATA", "")
    if chosen.lower() == "none":
        return None
    folder = Path(chosen).expanduser() if chosen else Path(__file__).resolve().parents[2] / "shared" / "realdata"
    return folder if folder.is_dir() else None


def show_source(obj: Any) -> None:
    """Print the source code of a library class or function (``obj??`` of IPython), highlighted in a
    notebook, plain text elsewhere; the first line names the file it comes from."""
    target = inspect.unwrap(obj)
    source = inspect.getsource(target)
    try:
        where = Path(inspect.getsourcefile(target) or "?")
        parts = where.parts
        where_text = "/".join(parts[parts.index("sbsr_lab"):]) if "sbsr_lab" in parts else where.name
    except TypeError:
        where_text = "?"
    header = f"# {getattr(target, '__qualname__', target)} in {where_text}\n"
    try:
        from IPython import get_ipython
        from IPython.display import Code, display

        if get_ipython() is not None:
            display(Code(header + source, language="python"))
            return
    except ImportError:
        pass
    print(header + source)
