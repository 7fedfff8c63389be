"""Build a SynthShapes dataset folder: gallery meshes, rendered views, synthetic sketches, manifest.

``build_synthshapes(profile, root)`` is what ``sbsr-lab data build`` and the notebooks call. Work is
split into small idempotent jobs (one per shape, one per sketch) run by worker processes with a
progress bar. Each job writes its files atomically and is skipped when they already exist, so an
interrupted build resumes where it stopped and never leaves a half-written file.

Protocol (as in SHREC): every gallery shape is a retrieval target; sketches are split train/test per
class. Sketches are drawn from *held-out* instances of each class (shape indices from
:data:`SKETCH_SOURCE_OFFSET` on), so a test sketch is never a tracing of a gallery shape. With
``sketch_source="gallery"`` sketch j of a class is drawn from its gallery shape j mod n (n shapes in the
class) and the manifest records that ``source``: the instance level (CMIC's protocol) is then defined.
With ``longtail="MAX:MIN"`` the classes get :func:`~sbsr_lab.data.longtail.longtail_counts` shapes
(:func:`shape_counts`) and sketches in proportion (:func:`sketch_counts`).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import trimesh

from sbsr_lab.config import Profile, default_data_root, get_profile
from sbsr_lab.errors import DatasetLayoutError
from sbsr_lab.io import atomic_path, atomic_write_json, save_png
from sbsr_lab.data.longtail import longtail_counts, parse_longtail
from sbsr_lab.data.manifest import MANIFEST_NAME, Manifest, ShapeRecord, SketchRecord, load_manifest
from sbsr_lab.data.meshes import load_mesh
from sbsr_lab.data.shards import PARTS_DIR, clear_parts, parse_shard, read_parts, take_shard, write_part
from sbsr_lab.data.sketchgen import SKETCH_GENERATOR, synthesize_sketch
from sbsr_lab.data.stroke_io import strokes_to_quickdraw, write_ndjson
from sbsr_lab.data.strokes import strokes_to_image
from sbsr_lab.data.synthshapes import make_shape
from sbsr_lab.progress import note, progress as show_progress
from sbsr_lab.render import get_rig, normalize_mesh, render_views

__all__ = [
    "SKETCH_SOURCE_OFFSET",
    "DATA_KEYS",
    "shape_counts",
    "sketch_counts",
    "BuildReport",
    "default_root",
    "build_synthshapes",
    "render_shape_views",
    "ensure_dataset",
    "run_jobs",
]

#: Sketch source shapes use indices from here on, disjoint from the gallery's 0..shapes_per_class-1.
SKETCH_SOURCE_OFFSET = 100_000
#: Profile fields that change the data on disk; a folder built with other values is refused.
DATA_KEYS = ("seed", "classes", "shapes_per_class", "sketches_per_class", "test_sketch_fraction",
             "sketch_size", "max_noise", "rig", "view_size", "upright", "pca_align", "longtail", "sketch_source",
             "sketch_styles", "view_rule", "shape_set")
#: Data keys added later: a folder built before them was built with these values.
_LATER_KEY_DEFAULTS = {"longtail": "", "sketch_source": "held_out", "sketch_styles": "perspective", "view_rule": "ramp",
                       "shape_set": "base"}


def shape_counts(profile: Profile) -> dict[str, int]:
    """Gallery shapes per class: ``shapes_per_class`` each, or the power law of ``longtail`` (class order)."""
    if not profile.longtail:
        return {cls: profile.shapes_per_class for cls in profile.classes}
    return dict(zip(profile.classes, longtail_counts(len(profile.classes), *parse_longtail(profile.longtail))))


def sketch_counts(profile: Profile) -> dict[str, int]:
    """Sketches per class: ``sketches_per_class``, scaled by the class's share of the largest class's shapes
    when ``longtail`` is set (at least 2: one train, one test)."""
    shapes = shape_counts(profile)
    top = max(shapes.values())
    return {cls: max(2, int(round(profile.sketches_per_class * n / top))) for cls, n in shapes.items()}


@dataclass
class BuildReport:
    """What a build did: counts of jobs run and skipped, and seconds per stage."""

    root: Path
    shapes_built: int
    shapes_skipped: int
    sketches_built: int
    sketches_skipped: int
    seconds: dict[str, float]

    def __str__(self) -> str:
        secs = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
        return (f"SynthShapes at {self.root}: shapes {self.shapes_built} built / {self.shapes_skipped} cached, "
                f"sketches {self.sketches_built} built / {self.sketches_skipped} cached ({secs})")


def default_root(profile: Profile) -> Path:
    """``$SBSR_DATA/synthshapes-<profile>`` (``./data/...`` by default): one folder per profile."""
    return Path(default_data_root()) / f"synthshapes-{profile.name}"


# ---------------------------------------------------------------------------------------------------
# Jobs (module-level functions so that worker processes can run them)
# ---------------------------------------------------------------------------------------------------

def _shape_id(cls: str, index: int) -> str:
    return f"{cls}_{index:03d}"


def _sketch_id(cls: str, index: int) -> str:
    return f"{cls}_s{index:03d}"


def render_shape_views(mesh_path: Path | trimesh.Trimesh, out_paths: dict[str, Path], rig: str, size: int,
                       upright: bool = True, pca: bool = False) -> None:
    """Render one mesh (a file, checked by ``load_mesh``, or a mesh in memory) with a camera rig and
    save one strip PNG ``(H, V*W)`` per style.

    ``out_paths`` maps a style name (``shaded``, ``depth``, ``lines``, ...) to its PNG path. Used for
    SynthShapes and for real benchmarks (``data prepare``).
    """
    mesh = mesh_path if isinstance(mesh_path, trimesh.Trimesh) else load_mesh(mesh_path)
    mesh = normalize_mesh(mesh, upright=upright, pca=pca)
    views = render_views(mesh, get_rig(rig), size=size, styles=tuple(out_paths))
    for style, path in out_paths.items():
        stack = views[style]  # (V, H, W)
        save_png(path, np.concatenate(list(stack), axis=1))


def _shape_job(root: str, cls: str, index: int, seed: int, rig: str, size: int, styles: tuple[str, ...],
               upright: bool, pca: bool, shape_set: str = "base") -> tuple[str, bool, dict]:
    sid = _shape_id(cls, index)
    mesh_path = Path(root) / "shapes" / cls / f"{sid}.ply"
    view_paths = {s: Path(root) / "views" / f"{s}_{size}" / f"{sid}.png" for s in styles}
    params_path = mesh_path.with_suffix(".json")
    if mesh_path.exists() and params_path.exists() and all(p.exists() for p in view_paths.values()):
        return sid, False, json.loads(params_path.read_text())
    mesh, params = make_shape(cls, index, seed, shape_set)
    params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}  # JSON-ready
    with atomic_path(mesh_path) as tmp:
        mesh.export(tmp, file_type="ply")
    render_shape_views(mesh, view_paths, rig, size, upright, pca)  # generated meshes are valid by construction
    atomic_write_json(params_path, params, indent=None)
    return sid, True, params


def _sketch_job(root: str, cls: str, index: int, seed: int, noise: float, size: int,
                source: int = -1, styles: str = "perspective", view_rule: str = "ramp",
                shape_set: str = "base") -> tuple[str, bool, dict]:
    kid = _sketch_id(cls, index)
    png = Path(root) / "sketches" / cls / f"{kid}.png"
    nd = png.with_suffix(".ndjson")
    if png.exists() and nd.exists():
        rec = json.loads(nd.read_text().splitlines()[0])
        if (rec.get("generator") == SKETCH_GENERATOR and rec.get("styles", "perspective") == styles
                and rec.get("view_rule", "ramp") == view_rule and rec.get("shape_set", "base") == shape_set):  # same: keep
            return kid, False, {"view": rec.get("view") or None, "style": rec.get("style")}
    # a held-out instance, or (source >= 0) the gallery shape `source` of the class
    mesh, params = make_shape(cls, source if source >= 0 else SKETCH_SOURCE_OFFSET + index, seed, shape_set)
    mesh = normalize_mesh(mesh, upright=True)
    rng = np.random.default_rng([seed, 7, index, sum(map(ord, cls))])
    sketch = synthesize_sketch(mesh, rng, noise, cls=cls, params=params,  # the style is drawn from rng
                               people_styles=styles == "people", view_rule=view_rule)
    view = {k: float(v) for k, v in (sketch.view or {}).items()}
    # "drawing": the strokes where the drawer put them on the page (framed by the query path like the PNG)
    record = {"word": cls, "key_id": kid, "countrycode": "SB", "recognized": True,
              "drawing": strokes_to_quickdraw(sketch.on_canvas()), "noise": float(noise), "generator": SKETCH_GENERATOR, "styles": styles,
              "widths": [float(w) for w in sketch.widths], "view": view, "style": sketch.style,
              "placement": dict(sketch.placement),
              **({"view_rule": view_rule} if view_rule != "ramp" else {}),
              **({"shape_set": shape_set} if shape_set != "base" else {})}
    image = strokes_to_image(sketch.strokes, size=size, widths=sketch.widths)
    save_png(png, 1.0 - image)  # black ink on white paper, like the SHREC sketches
    write_ndjson(nd, [record])
    return kid, True, {"view": view or None, "style": sketch.style}


def run_jobs(fn: Callable[..., tuple], jobs: list[tuple], workers: int, desc: str,
             progress: bool = True) -> list[tuple]:
    """Run ``fn(*job)`` for every job, in ``workers`` processes (0 or 1: in this process), with a progress
    bar on a terminal and one line when done elsewhere (:func:`sbsr_lab.progress.progress`).

    Results come back in the order of ``jobs``.
    """
    results: list[tuple | None] = [None] * len(jobs)

    def done() -> Iterator[None]:  # one item per finished job, in the order they finish
        if workers <= 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                results[i] = fn(*job)
                yield None
            return
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"),
                                 initializer=_worker_init, initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                yield None

    for _ in show_progress(done(), total=len(jobs), desc=desc, enabled=progress and bool(jobs)):
        pass
    return results  # type: ignore[return-value]


def _worker_init(parent: int | None = None) -> None:
    """Keep each worker single-threaded so that N workers use N cores, not N x threads; and make it die
    with the build (:func:`_die_with_parent`), so a killed build leaves no idle workers holding memory."""
    _die_with_parent(parent if parent is not None else os.getppid())
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001 - torch is optional in workers
        pass


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to SIGKILL this worker when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``);
    elsewhere a daemon thread exits the worker once its parent is gone (``os.getppid()`` changes).

    Without it, ``kill -9`` of ``sbsr-lab data build`` leaves the pool's workers alive (and their memory
    held) until they finish their queue. ``parent`` is the pid of the process that made the pool.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG = 1
                if os.getppid() != parent:  # the parent died before the call
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


# ---------------------------------------------------------------------------------------------------
# The build
# ---------------------------------------------------------------------------------------------------

def _check_root(root: Path, profile: Profile) -> None:
    """Refuse foreign folders and folders built with other data settings."""
    if not root.exists():
        return
    if (root / MANIFEST_NAME).exists():
        old = load_manifest(root)
        if old.name != "synthshapes":
            raise DatasetLayoutError(
                f"{root} holds the dataset {old.name!r}, not SynthShapes. Choose another --root for the build."
            )
        want = {k: v for k, v in profile.to_dict().items() if k in DATA_KEYS}
        have = {k: old.profile.get(k, _LATER_KEY_DEFAULTS.get(k)) for k in DATA_KEYS}
        diff = [k for k in DATA_KEYS if have.get(k) != want.get(k)]
        if diff:
            raise DatasetLayoutError(
                f"{root} was built with other data settings ({', '.join(f'{k}={have[k]!r}' for k in diff)}; "
                f"asked: {', '.join(f'{k}={want[k]!r}' for k in diff)}). Use another --root, or delete the folder to rebuild."
            )
        return
    ours = {"shapes", "views", "sketches", PARTS_DIR}
    foreign = [p.name for p in root.iterdir() if p.name not in ours and not p.name.startswith(".")]
    if foreign:
        raise DatasetLayoutError(
            f"{root} is not empty and is not a SynthShapes folder (it holds {', '.join(sorted(foreign)[:5])}). "
            "Build into an empty or new folder (--root)."
        )


def _splits(profile: Profile, cls: str, n: int | None = None) -> list[str]:
    """Deterministic train/test split of one class's ``n`` sketches (test fraction from the profile)."""
    n = profile.sketches_per_class if n is None else n
    n_test = max(1, int(round(n * profile.test_sketch_fraction))) if n > 1 else 0
    rng = np.random.default_rng([profile.seed, 11, sum(map(ord, cls))])
    order = rng.permutation(n)
    split = ["train"] * n
    for i in order[:n_test]:
        split[i] = "test"
    return split


def _noise_levels(profile: Profile, cls: str, n: int | None = None) -> np.ndarray:
    """One noise level per sketch in [0, max_noise]: evenly spread, shuffled, so every class covers the range."""
    n = profile.sketches_per_class if n is None else n
    rng = np.random.default_rng([profile.seed, 13, sum(map(ord, cls))])
    levels = (np.arange(n) + rng.uniform(0, 1, n)) / max(n, 1) * profile.max_noise
    return rng.permutation(levels)


def build_synthshapes(profile: Profile | str = "default", root: str | Path | None = None,
                      workers: int | None = None, styles: Iterable[str] | None = None,
                      progress: bool = True, shard: tuple[int, int] | str | None = None) -> BuildReport:
    """Build (or finish building) SynthShapes for ``profile`` in ``root``.

    Args:
        profile: a :class:`Profile` or a profile name.
        root: dataset folder; default ``data/synthshapes-<profile>``.
        workers: worker processes (default: the number of CPU cores).
        styles: view styles to render (default: the profile's ``view_style``, plus ``depth``).
        progress: show progress (bars on a terminal, one line per step in a log).
        shard: ``(I, N)`` or ``"I/N"``: make only shard I's share of the shapes and sketches and write
            its part of the manifest (:mod:`sbsr_lab.data.shards`); without it, a folder holding parts
            is merged (every part must be there).

    Returns a :class:`BuildReport`; the folder then holds ``manifest.json`` (see ``docs/architecture.md``).
    """
    profile = get_profile(profile)
    root = Path(root) if root is not None else default_root(profile)
    shard = parse_shard(shard)
    _check_root(root, profile)
    root.mkdir(parents=True, exist_ok=True)
    workers = (os.cpu_count() or 1) if workers is None else workers
    style_list = tuple(dict.fromkeys(styles or (profile.view_style, "depth")))
    seconds: dict[str, float] = {}
    settings = {**{k: v for k, v in profile.to_dict().items() if k in DATA_KEYS}, "styles": list(style_list)}
    parts = read_parts(root, settings, "sbsr-lab data build") if shard is None else None

    t0 = time.perf_counter()
    shape_jobs = [(str(root), cls, i, profile.seed, profile.rig, profile.view_size, style_list,
                   profile.upright, profile.pca_align, profile.shape_set)
                  for cls, n_shapes in shape_counts(profile).items() for i in range(n_shapes)]
    shape_index = take_shard(shape_jobs, shard) if parts is None else []  # a merge makes nothing
    shape_jobs = [shape_jobs[k] for k in shape_index]
    shape_results = run_jobs(_shape_job, shape_jobs, workers, "shapes + views", progress)
    seconds["shapes+views"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sketch_jobs, sketch_meta = [], []
    n_shapes = shape_counts(profile)
    for cls, n in sketch_counts(profile).items():
        splits, noise = _splits(profile, cls, n), _noise_levels(profile, cls, n)
        for j in range(n):
            src = j % n_shapes[cls] if profile.sketch_source == "gallery" else -1
            sketch_jobs.append((str(root), cls, j, profile.seed, float(noise[j]), profile.sketch_size, src,
                                profile.sketch_styles, profile.view_rule, profile.shape_set))
            sketch_meta.append((cls, splits[j], float(noise[j]), _shape_id(cls, src) if src >= 0 else None))
    sketch_index = take_shard(sketch_jobs, shard) if parts is None else []
    sketch_jobs, sketch_meta = [sketch_jobs[k] for k in sketch_index], [sketch_meta[k] for k in sketch_index]
    sketch_results = run_jobs(_sketch_job, sketch_jobs, workers, "sketches", progress)
    seconds["sketches"] = time.perf_counter() - t0

    manifest = Manifest(
        name="synthshapes", classes=list(profile.classes), rig=profile.rig, view_size=profile.view_size,
        view_styles=list(style_list), profile=profile.to_dict(), generators={"sketches": SKETCH_GENERATOR},
    )
    for (sid, _, params), job in zip(shape_results, shape_jobs):
        cls = job[1]
        manifest.shapes.append(ShapeRecord(sid, cls, f"shapes/{cls}/{sid}.ply", params))
    for (kid, _, extra), (cls, split, noise, source) in zip(sketch_results, sketch_meta):
        manifest.sketches.append(SketchRecord(kid, cls, split, f"sketches/{cls}/{kid}.png",
                                              f"sketches/{cls}/{kid}.ndjson", round(noise, 6), extra.get("view"),
                                              style=extra.get("style"), source=source))
    if shard is not None:  # this shard's records, by their index in the whole build
        write_part(root, shard, settings, {
            "shapes": [[k, r.to_json()] for k, r in zip(shape_index, manifest.shapes)],
            "sketches": [[k, r.to_json()] for k, r in zip(sketch_index, manifest.sketches)]})
    else:
        if parts is not None:  # merge: every shard's records in the order of one build
            whole = manifest.to_json()
            for key in ("shapes", "sketches"):
                whole[key] = [rec for _, rec in sorted((it for part in parts for it in part["items"][key]), key=lambda it: it[0])]
            manifest = Manifest.from_json(whole, root)
        manifest.save(root)
        clear_parts(root)
    return BuildReport(
        root=root,
        shapes_built=sum(r[1] for r in shape_results), shapes_skipped=sum(not r[1] for r in shape_results),
        sketches_built=sum(r[1] for r in sketch_results), sketches_skipped=sum(not r[1] for r in sketch_results),
        seconds=seconds,
    )


def ensure_dataset(profile: Profile | str = "default", root: str | Path | None = None,
                   workers: int | None = None, progress: bool = True) -> Manifest:
    """The SynthShapes manifest for ``profile``, building the data first if it is missing or unfinished."""
    profile = get_profile(profile)
    root = Path(root) if root is not None else default_root(profile)
    if (root / MANIFEST_NAME).exists():
        m = load_manifest(root)
        complete = len(m.shapes) == sum(shape_counts(profile).values())
        current = m.generators.get("sketches") == SKETCH_GENERATOR  # else: remake the sketches
        if m.name != "synthshapes":
            return m
        _check_root(root, profile)  # built with other data settings (e.g. another seed or view_rule): refused
        if complete and current:
            return m
        if complete and progress:
            note(f"{root}: its sketches come from an older sketch generator "
                       f"(version {m.generators.get('sketches', 1)}, now {SKETCH_GENERATOR}); remaking them.")
    build_synthshapes(profile, root, workers=workers, progress=progress)
    return load_manifest(root)
