"""Prepare a real benchmark for the pipeline: validate it, render every shape's views, write ``manifest.json``.

``prepare_benchmark(name, root)`` is what ``sbsr-lab data prepare NAME --root DIR`` calls. It turns a
downloaded benchmark (SHREC'13, SHREC'14, ModelNet-style or a plain folder, see
:mod:`sbsr_lab.data.benchmarks`) into the same dataset folder as SynthShapes, so every later stage
(``SketchDataset``, ``MultiViewDataset``, training, retrieval) works on it unchanged:

* the raw data stays where it is; the manifest points at the original meshes and sketch PNGs
  (paths relative to the output folder, ``..`` allowed, so ``Manifest.path()`` resolves them);
* views are rendered into ``OUT/views/<style>_<size>/<shape_id>.png`` (strips ``(H, V*W)``), in the
  profile's style plus ``depth``, by worker processes; each file is written atomically and a shape
  whose files all exist is skipped, so an interrupted run resumes where it stopped (each views folder
  records its rig and normalisation in ``render_settings.json``; other settings are refused, never mixed);
* a mesh that cannot be loaded or rendered is reported (a warning naming the file, and
  :attr:`PrepareReport.failed`) and left out of the manifest; the run goes on.

Splits come from the benchmark (SHREC's ``.cla`` files, ``train/``/``test/`` folders). Sketches with no
split (a plain folder's ``sketches/<class>/*.png``) are split per class, deterministically, with
``profile.test_sketch_fraction``. ModelNet-style data has no sketches: its manifest lists shapes only
(each keeps its ModelNet split in ``params["split"]``, for information: every shape still trains and forms
the gallery); query sketches can be synthesised from the shapes later with SynthShapes' sketch generator
(:mod:`sbsr_lab.data.sketchgen`).

``shape_split="part-shrec14"`` (``--shape-split part-shrec14``, SHREC'14 only) applies PART-SHREC14
(:mod:`sbsr_lab.data.shape_split`): only the classes with more than 50 models are prepared (their shapes
and sketches), each shape gets ``params["split"]`` "train" or "test" (20% of each class, seed 1234) and
the manifest records the settings in ``shape_split``; training then sees the training shapes only and
evaluation ranks the test shapes. A folder prepared with one shape split is never re-prepared with another.

    >>> report = prepare_benchmark("shrec13", "data/shrec13", get_profile("full", orient="file"), workers=16)   # doctest: +SKIP
    >>> print(report)                                                              # doctest: +SKIP
    SHREC'13 prepared in data/shrec13: 1258 shapes (1258 rendered, 0 cached, 0 failed), ...
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sbsr_lab.config import Profile, get_profile
from sbsr_lab.errors import ConfigError
from sbsr_lab.data.benchmarks import (
    BenchmarkIndex, BenchmarkShape, BenchmarkSketch, ValidationReport, scan_benchmark, validate,
)
from sbsr_lab.data.benchmarks.records import LAYOUT_TITLES
from sbsr_lab.data.build import BuildReport, render_shape_views, run_jobs
from sbsr_lab.data.shards import clear_parts, parse_shard, read_parts, take_shard, write_part
from sbsr_lab.data.manifest import MANIFEST_NAME, Manifest, ShapeRecord, SketchRecord
from sbsr_lab.data.meshes import load_mesh, summarise_warnings
from sbsr_lab.data.shape_split import ShapeSplit, get_shape_split
from sbsr_lab.errors import DatasetLayoutError
from sbsr_lab.io import atomic_write_json
from sbsr_lab.render.orient import stand_up

__all__ = ["PrepareReport", "prepare_benchmark", "split_unsplit_sketches", "relative_path"]

_MAX_LISTED = 10


@dataclass
class PrepareReport(BuildReport):
    """What :func:`prepare_benchmark` did (a :class:`~sbsr_lab.data.build.BuildReport`, plus details).

    ``shapes_built`` / ``shapes_skipped`` count shapes whose views were rendered / already on disk;
    ``failed`` lists ``(mesh path, reason)`` for the shapes left out; sketches are never built here
    (``sketches_built == 0``), ``sketches`` counts those in the manifest. ``seconds`` per stage
    ("scan", "views", "manifest").
    """

    name: str = ""
    manifest_path: Path | None = None
    sketches: int = 0
    views_per_shape: int = 0
    styles: tuple[str, ...] = ()
    failed: list[tuple[str, str]] = field(default_factory=list)
    dropped_classes: list[str] = field(default_factory=list)
    validation: ValidationReport | None = None
    #: the shape split applied (``Manifest.shape_split``), None for none
    shape_split: dict[str, Any] | None = None
    #: classes the shape split left out (too few models), with their shapes and sketches
    split_left_out: list[str] = field(default_factory=list)
    #: shapes in each part of the shape split: ``{"train": n, "test": n}`` ({} without a split)
    split_counts: dict[str, int] = field(default_factory=dict)

    @property
    def views_rendered(self) -> int:
        """Number of views rendered by this run (shapes rendered x views per shape; one per camera)."""
        return self.shapes_built * self.views_per_shape

    def __str__(self) -> str:
        title = LAYOUT_TITLES.get(self.name, self.name)
        total = self.shapes_built + self.shapes_skipped
        secs = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        lines = [
            f"{title} prepared in {self.root}: {total} shapes ({self.shapes_built} rendered, "
            f"{self.shapes_skipped} cached, {len(self.failed)} failed), {self.sketches} sketches; "
            f"views {'+'.join(self.styles)} x {self.views_per_shape} ({secs})"
        ]
        if self.failed:
            lines.append(f"{len(self.failed)} meshes could not be used and are left out of the manifest:")
            lines += [f"  - {path}: {reason}" for path, reason in self.failed[:_MAX_LISTED]]
            if len(self.failed) > _MAX_LISTED:
                lines.append(f"  ... and {len(self.failed) - _MAX_LISTED} more (see report.failed)")
        if self.dropped_classes:
            lines.append(f"classes left without any shape, removed with their sketches: {', '.join(self.dropped_classes)}")
        if self.shape_split is not None:
            split = ShapeSplit.from_json(self.shape_split)
            lines.append(f"shape split {split.describe()}: {self.split_counts.get('train', 0)} training shapes, "
                         f"{self.split_counts.get('test', 0)} test shapes (the gallery); "
                         f"{len(self.split_left_out)} classes left out")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------

def relative_path(path: str | os.PathLike[str], base: str | os.PathLike[str]) -> str:
    """``path`` relative to the folder ``base`` (POSIX separators, ``..`` where needed).

    Both are resolved first (symlinks followed), so ``Path(base) / result`` names the same file.
    Where no relative path exists (another drive on Windows) the absolute path is returned, which
    ``Path(base) / result`` also resolves.
    """
    target, start = Path(path).resolve(), Path(base).resolve()
    try:
        return Path(os.path.relpath(target, start)).as_posix()
    except ValueError:
        return target.as_posix()


def split_unsplit_sketches(sketches: list[BenchmarkSketch], test_fraction: float, seed: int = 0) -> list[str]:
    """The split of every sketch: its own, or for sketches without one a per-class draw.

    In each class, ``max(1, round(n * test_fraction))`` of its ``n`` unsplit sketches go to "test"
    (none when ``n == 1``), chosen by a permutation seeded with ``(seed, class name)`` over the
    sketches sorted by id: the result does not depend on the scan order.
    """
    out = [k.split or "" for k in sketches]
    unsplit: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(sketches):
        if k.split is None:
            unsplit[k.cls].append(i)
    for cls, members in unsplit.items():
        members = sorted(members, key=lambda i: sketches[i].id)
        n = len(members)
        n_test = max(1, int(round(n * test_fraction))) if n > 1 else 0
        rng = np.random.default_rng([seed, 17, *cls.encode("utf-8")])
        test = {members[j] for j in rng.permutation(n)[:n_test]}
        for i in members:
            out[i] = "test" if i in test else "train"
    return out


#: Who decides which way is up for ``orient="auto"``: ``fn(mesh) -> (name, up (3,) or None, scores)``.
#: Set by :func:`prepare_benchmark` before the workers fork (they inherit it).
_ORIENTER: Callable[[Any], tuple[str, Any, dict[str, float]]] | None = None


def _view_job(shape_id: str, mesh_path: str, view_paths: dict[str, str], rig: str, size: int,
              upright: bool, pca: bool, orient: str = "file") -> tuple[str, str, str, list[str]]:
    """Render one shape unless its views exist. Returns ``(shape_id, status, reason, warnings)``, status one
    of "rendered", "cached", "failed" (then ``reason`` says why), and the messages of the warnings the mesh
    raised (collected, so that the run prints one summary line per kind, not two lines per mesh).
    Never raises for a bad mesh."""
    paths = {style: Path(p) for style, p in view_paths.items()}
    if all(p.is_file() for p in paths.values()):
        return shape_id, "cached", "", []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if orient == "auto" and _ORIENTER is not None:
                mesh = load_mesh(mesh_path)
                _, up, _ = _ORIENTER(mesh)
                render_shape_views(stand_up(mesh, up) if up is not None else mesh, paths, rig, size, upright, pca)
            else:
                render_shape_views(Path(mesh_path), paths, rig, size, upright, pca)
        except Exception as err:  # noqa: BLE001 - one bad mesh (any error type) must not stop the run
            reason = " ".join(str(err).split())
            reason = reason.removeprefix(mesh_path).lstrip(":, ")  # the report names the file already
            return shape_id, "failed", f"{type(err).__name__}: {reason}" if reason else type(err).__name__, []
    return shape_id, "rendered", "", [str(w.message) for w in caught]


def _preload_renderer() -> None:
    """Import Embree once, before worker processes fork (the mesh reader and the renderer are imported
    at this module's top).

    Workers then share these modules instead of importing them each (about a second of CPU per
    worker), and a broken installation fails here, once, instead of once per shape.
    """
    try:
        import embreex.mesh_construction  # noqa: F401
        import embreex.rtcore_scene  # noqa: F401
    except ImportError:  # the renderer falls back to trimesh's numpy tracer
        pass


def _check_out(out: Path, name: str, shape_split: dict[str, Any] | None = None) -> None:
    """Refuse an output folder that already holds another dataset's manifest, or this dataset prepared with
    another shape split (runs trained on one split would be scored on the other's gallery)."""
    path = out / MANIFEST_NAME
    if not path.is_file():
        return
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        old = found.get("name")
    except (OSError, ValueError, AttributeError):
        raise DatasetLayoutError(
            f"{path} exists but is not a readable manifest; delete it (it is rewritten by `data prepare`) "
            "or choose another --out folder"
        ) from None
    if old != name:
        raise DatasetLayoutError(
            f"{out} already holds the dataset {old!r} ({path}); preparing {name!r} there would overwrite it. "
            "Choose another --out folder."
        )
    had = found.get("shape_split")
    if had != shape_split:
        again = "without --shape-split" if not isinstance(had, dict) else f"with --shape-split {had.get('name')}"
        raise DatasetLayoutError(
            f"{path} was prepared with {_split_words(had)}; this run asks for {_split_words(shape_split)}. Mixing "
            f"them would score runs trained on one split against the other's gallery. Fix: prepare into another "
            f"--out folder, run again {again}, or delete {path} to prepare the folder anew (its rendered views "
            "are kept)."
        )


def _split_words(split: Any) -> str:
    """A recorded shape split in words, for messages."""
    return "no shape split" if split is None else f"the shape split {split}"


def _apply_shape_split(index: BenchmarkIndex, split: ShapeSplit | None
                       ) -> tuple[list[BenchmarkShape], list[str], dict[str, str]]:
    """``(shapes to prepare, classes kept in the official order, {shape id: "train" | "test"})`` under
    ``split``; every shape and class, and no parts, without one.

    Raises ConfigError when ``split`` is defined on another layout, DatasetLayoutError when it keeps no class.
    """
    if split is None:
        return list(index.shapes), list(index.classes), {}
    if index.layout != split.layout:
        raise ConfigError(
            f"the shape split {split.name!r} is defined on the {LAYOUT_TITLES.get(split.layout, split.layout)} "
            f"benchmark, but {index.root} holds {LAYOUT_TITLES.get(index.layout, index.layout)} data. Fix: drop "
            f"--shape-split, or prepare the {split.layout} layout with it.")
    parts = split.assign([s.id for s in index.shapes], [s.cls for s in index.shapes])
    kept = {s.cls for s in index.shapes if s.id in parts}
    if not kept:
        raise DatasetLayoutError(
            f"no class of {index.root} has the {split.min_models} models the shape split {split.name!r} needs "
            "(the benchmark looks incomplete: see the report above). Fix: complete the download, or drop "
            "--shape-split.")
    return [s for s in index.shapes if s.id in parts], [c for c in index.classes if c in kept], parts


_SETTINGS_NAME = "render_settings.json"


def _check_view_settings(view_dirs: list[Path], profile: Profile) -> None:
    """Stamp each views folder with the render settings; refuse to mix strips rendered differently.

    Cached strips are reused by file name, so a folder rendered with another rig or normalisation
    would silently give wrong views; ``views/<style>_<size>/render_settings.json`` records them.
    """
    want = {"rig": profile.rig, "upright": profile.upright, "pca_align": profile.pca_align, "orient": profile.orient}
    for folder in view_dirs:
        stamp = folder / _SETTINGS_NAME
        if stamp.is_file():
            try:
                have = json.loads(stamp.read_text(encoding="utf-8"))
            except ValueError:
                have = None
            if isinstance(have, dict):
                have.setdefault("orient", "file")  # stamped before orientation existed: files as they came
            if have != want:
                raise DatasetLayoutError(
                    f"{folder} holds views rendered with other settings ({have}; asked {want}). Delete that "
                    "folder to render them again, or choose another --out folder."
                )
        else:
            atomic_write_json(stamp, want, indent=None)


def _remove_stale_temporaries(folders: list[Path]) -> None:
    """Delete half-written files left by a run that was killed (``sbsr_lab.io.atomic_path`` names)."""
    for folder in folders:
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp.png"):
                tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------
# the preparation
# ---------------------------------------------------------------------------------------------------

def prepare_benchmark(name: str, root: str | Path, profile: Profile | str = "full", *, workers: int | None = None,
                      strict: bool = True, progress: bool = True, out: str | Path | None = None,
                      shard: tuple[int, int] | str | None = None,
                      orienter: Callable[[Any], tuple[str, Any, dict[str, float]]] | None = None,
                      shape_split: str | ShapeSplit | None = None) -> PrepareReport:
    """Validate the benchmark in ``root``, render its shapes' views and write ``manifest.json``.

    Args:
        name: layout, one of ``shrec13``, ``shrec14``, ``modelnet``, ``folder``, or ``auto`` (detected).
        root: the folder holding the downloaded benchmark (official folders may sit a few levels down).
        profile: a :class:`Profile` or profile name; gives the camera rig, the view size (pixels), the
            view style (rendered together with ``depth``), upright/PCA normalisation, the seed and the
            test fraction used for sketches that have no split.
        workers: rendering processes (default: every CPU core; 0 or 1 renders in this process).
        strict: files promised by the ``.cla`` files but missing are errors (``False``: left out).
        progress: print the validation report and show a progress bar (``print(report)`` for the summary).
        out: folder for ``manifest.json`` and ``views/`` (default: ``root``). Paths in the manifest are
            relative to it, so the raw data can stay on a read-only disk.
        shard: ``(I, N)`` or ``"I/N"``: render only shard I's share of the shapes and write its part
            (:mod:`sbsr_lab.data.shards`), no manifest; without it, a folder holding parts must hold all
            N of them (else the error names the missing shard) and the manifest is written from them.
        orienter: with the profile's ``orient="auto"``, the judge of which way is up,
            ``fn(mesh) -> (name, up vector or None, scores)``: ``sbsr-lab data prepare`` passes the
            packaged model's (:meth:`sbsr_lab.serve.shape_encoder.DrawnViewEncoder.orientation`).
        shape_split: ``"part-shrec14"`` (or a :class:`~sbsr_lab.data.shape_split.ShapeSplit`, e.g. with a
            smaller ``min_models`` for a test): keep the classes with enough models, split their shapes into
            training shapes and the test gallery (module docstring); None or ``"none"``: SHREC's protocol.

    Returns:
        A :class:`PrepareReport` (a ``BuildReport``). Its ``failed`` lists the meshes left out.

    Raises:
        DatasetLayoutError: ``root`` holds no benchmark, or validation found errors (the message is the
            full report), ``out`` already holds another dataset, or its views folder was rendered with
            another rig or normalisation, or its manifest was written with another shape split.
        ConfigError: the shape split is unknown or defined on another layout.
    """
    profile = get_profile(profile)
    if profile.orient == "auto" and orienter is None:
        raise ConfigError("orient=auto needs a model to judge which way is up, and none was given. Fix: run "
                          "`sbsr-lab data prepare` (it passes the packaged model's), pass orienter=DrawnViewEncoder("
                          "load_engine()).orientation, or --set orient=file to keep each file's +Y.")
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    index: BenchmarkIndex = scan_benchmark(name, root)
    report = validate(index, strict=strict, raise_on_error=True)
    if progress:
        print(report)
    split = get_shape_split(shape_split)
    shapes, classes, parts = _apply_shape_split(index, split)
    split_json = split.to_json() if split is not None else None
    out_dir = Path(out) if out is not None else index.root
    _check_out(out_dir, index.layout, split_json)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds["scan"] = time.perf_counter() - t0

    # -- views -----------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    styles = tuple(dict.fromkeys((profile.view_style, "depth")))
    view_dirs = {s: out_dir / "views" / f"{s}_{profile.view_size}" for s in styles}
    _check_view_settings(list(view_dirs.values()), profile)
    _remove_stale_temporaries(list(view_dirs.values()))
    jobs = [(s.id, str(s.path), {st: str(d / f"{s.id}.png") for st, d in view_dirs.items()}, profile.rig,
             profile.view_size, profile.upright, profile.pca_align, profile.orient) for s in shapes]
    workers = (os.cpu_count() or 1) if workers is None else workers
    shard = parse_shard(shard)
    settings = {"layout": index.layout, "shapes": len(jobs), "styles": list(styles), "rig": profile.rig,
                "view_size": profile.view_size, "upright": profile.upright, "pca_align": profile.pca_align,
                "orient": profile.orient}
    if split_json is not None:  # shards of one shape split only (unsplit settings stay as they were)
        settings["shape_split"] = split_json
    command = f"sbsr-lab data prepare {name} --root {root}" + (f" --shape-split {split.name}" if split else "")
    shard_parts = read_parts(out_dir, settings, command) if shard is None else None
    if shard_parts is not None:  # every shard rendered its share: their results, in the order of the shapes
        results = [tuple(r[1:]) for r in sorted((r for p in shard_parts for r in p["items"]["views"]),
                                                key=lambda r: r[0])]
    else:
        global _ORIENTER
        picked = take_shard(jobs, shard)
        _preload_renderer()
        _ORIENTER = orienter if profile.orient == "auto" else None
        try:
            results = run_jobs(_view_job, [jobs[k] for k in picked], workers, f"{index.layout} views", progress)
        finally:
            _ORIENTER = None
    seconds["views"] = time.perf_counter() - t0
    if shard is not None:
        part = write_part(out_dir, shard, settings, {"views": [[k, *r] for k, r in zip(picked, results)]})
        return PrepareReport(
            root=out_dir, shapes_built=sum(r[1] == "rendered" for r in results),
            shapes_skipped=sum(r[1] == "cached" for r in results), sketches_built=0, sketches_skipped=0,
            seconds=seconds, name=index.layout, manifest_path=part, sketches=0,
            views_per_shape=profile.views_per_shape(), styles=styles,
            failed=[(r[0], r[2]) for r in results if r[1] == "failed"], dropped_classes=[],
            validation=report, shape_split=split_json)

    # -- manifest --------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    failed: list[tuple[str, str]] = []
    kept = []
    noted: list[tuple[str, str]] = []
    for shape, result in zip(shapes, results):
        status, reason = result[1], result[2]
        noted += [(str(shape.path), message) for message in (result[3] if len(result) > 3 else [])]
        if status == "failed":
            failed.append((str(shape.path), reason))
        else:
            kept.append(shape)
    for line in summarise_warnings([(p, f"{r}; left out of the manifest") for p, r in failed]):
        warnings.warn(f"failed: {line}", RuntimeWarning, stacklevel=2)  # one line per kind of failure
    for line in summarise_warnings(noted):
        warnings.warn(line, RuntimeWarning, stacklevel=2)  # one line per kind of mesh warning
    if not kept:
        raise DatasetLayoutError(
            f"none of the {len(shapes)} shapes of {root} could be rendered (first: {failed[0][0]}: "
            f"{failed[0][1]}); nothing was written. Fix: check that the mesh files are complete (OFF, OBJ, PLY, "
            "GLB) and not empty." if failed else f"{root} holds no shape to prepare.")
    shape_classes = {s.cls for s in kept}
    dropped = [c for c in classes if c not in shape_classes and any(s.cls == c for s in shapes)]
    if dropped:
        warnings.warn(f"classes {', '.join(dropped)} lost all their shapes; they are removed with their sketches",
                      RuntimeWarning, stacklevel=2)
    left_out = [c for c in index.classes if c not in classes]  # by the shape split
    classes = [c for c in classes if c not in dropped]
    sketch_splits = split_unsplit_sketches(index.sketches, profile.test_sketch_fraction, profile.seed)

    manifest = Manifest(name=index.layout, classes=classes, rig=profile.rig, view_size=profile.view_size,
                        view_styles=list(styles), profile=profile.to_dict(), shape_split=split_json)
    for s in kept:
        shape_part = parts.get(s.id) or s.split  # the shape split's part, else the benchmark's own (ModelNet)
        params = {"split": shape_part} if shape_part else {}
        manifest.shapes.append(ShapeRecord(s.id, s.cls, relative_path(s.path, out_dir), params))
    removed = {*dropped, *left_out}
    for k, sketch_split in zip(index.sketches, sketch_splits):
        if k.cls in removed:
            continue
        manifest.sketches.append(SketchRecord(k.id, k.cls, sketch_split, relative_path(k.path, out_dir)))
    manifest_path = manifest.save(out_dir)
    clear_parts(out_dir)
    seconds["manifest"] = time.perf_counter() - t0

    return PrepareReport(
        root=out_dir,
        shapes_built=sum(r[1] == "rendered" for r in results),
        shapes_skipped=sum(r[1] == "cached" for r in results),
        sketches_built=0, sketches_skipped=0, seconds=seconds,
        name=index.layout, manifest_path=manifest_path, sketches=len(manifest.sketches),
        views_per_shape=profile.views_per_shape(), styles=styles, failed=failed, dropped_classes=dropped,
        validation=report, shape_split=split_json, split_left_out=left_out,
        split_counts=_split_counts(manifest) if split_json is not None else {},
    )


def _split_counts(manifest: Manifest) -> dict[str, int]:
    """Shapes in each part of a split manifest: ``{"train": n, "test": n}``."""
    return {part: len(manifest.shapes_of(part)) for part in ("train", "test")}
