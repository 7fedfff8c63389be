"""How each benchmark lies on disk: find the layout under a root and index its shapes and sketches.

See :mod:`sbsr_lab.data.benchmarks` for the four layouts. :func:`detect_layout` names the layout of a
root, :func:`scan_benchmark` indexes it into a :class:`~sbsr_lab.data.benchmarks.records.BenchmarkIndex`
(problems seen on the way are recorded, not raised, so that the report lists them all).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sbsr_lab.data.benchmarks.records import (
    LAYOUT_TITLES,
    LAYOUTS,
    BenchmarkIndex,
    BenchmarkShape,
    BenchmarkSketch,
    Problem,
    listing,
)
from sbsr_lab.data.benchmarks.psb import ClassFile, read_cla
from sbsr_lab.errors import DatasetLayoutError

__all__ = ["MESH_SUFFIXES", "SPLITS", "ShrecSpec", "SHREC_SPECS", "detect_layout", "scan_benchmark", "shape_fix"]

MESH_SUFFIXES: tuple[str, ...] = (".off", ".obj", ".ply", ".glb")
SPLITS: tuple[str, ...] = ("train", "test")
_MAX_DEPTH = 4  # levels scanned below the root: official folders may sit 3 levels down


# ---------------------------------------------------------------------------------------------
# SHREC specifications (what we rely on; see the package docstring and docs/reproducing.md)


@dataclass(frozen=True)
class ShrecSpec:
    layout: str
    model_dirs: tuple[str, ...]      # folder holding the target models
    model_subdir: str | None         # sub-folder inside it ("models" for SHREC'13)
    model_prefix: str                # file name = prefix + id + ".off"
    model_cla: str
    sketch_cla: dict[str, str]       # split -> .cla file name
    sketch_dirs: tuple[str, ...]     # folders holding <class>/<split>/<id>.png
    eval_dir: str                    # official folder of the .cla files (for messages)
    official: tuple[int, int, int, int]  # classes, models, train sketches, test sketches
    archives: str                    # archive names (for messages)


SHREC_SPECS: dict[str, ShrecSpec] = {
    "shrec13": ShrecSpec(
        layout="shrec13",
        model_dirs=("SHREC13_SBR_TARGET_MODELS",),
        model_subdir="models",
        model_prefix="m",
        model_cla="SHREC13_SBR_Model.cla",
        sketch_cla={"train": "SHREC13_SBR_Sketch_Train.cla", "test": "SHREC13_SBR_Sketch_Test.cla"},
        sketch_dirs=("SHREC13_SBR_Sketches", "SHREC13_SBR_TRAINING_SKETCHES", "SHREC13_SBR_TESTING_SKETCHES"),
        eval_dir="SHREC2013_Sketch_Evaluation",
        official=(90, 1258, 4500, 2700),
        archives="SHREC13_SBR_TARGET_MODELS.zip, SHREC13_SBR_TRAINING_SKETCHES.zip, "
        "SHREC13_SBR_TESTING_SKETCHES.zip, SHREC2013_Sketch_Evaluation.zip",
    ),
    "shrec14": ShrecSpec(
        layout="shrec14",
        model_dirs=("SHREC14LSSTB_TARGET_MODELS",),
        model_subdir=None,
        model_prefix="M",
        model_cla="SHREC14_SBR_Model.cla",
        sketch_cla={"train": "SHREC14_SBR_Sketch_Train.cla", "test": "SHREC14_SBR_Sketch_Test.cla"},
        sketch_dirs=("SHREC14LSSTB_SKETCHES",),
        eval_dir="SHREC14_Sketch_Evaluation",
        official=(171, 8987, 8550, 5130),
        archives="SHREC14LSSTB_TARGET_MODELS.zip, SHREC14LSSTB_SKETCHES.zip, SHREC14_Sketch_Evaluation.zip",
    ),
}

_LOOKED_FOR = """\
  shrec13   SHREC13_SBR_TARGET_MODELS/models/m*.off, SHREC2013_Sketch_Evaluation/SHREC13_SBR_{Model,Sketch_Train,Sketch_Test}.cla,
            SHREC13_SBR_{TRAINING,TESTING}_SKETCHES/<class>/{train,test}/*.png
  shrec14   SHREC14LSSTB_TARGET_MODELS/M*.off, SHREC14_Sketch_Evaluation/SHREC14_SBR_{Model,Sketch_Train,Sketch_Test}.cla,
            SHREC14LSSTB_SKETCHES/<class>/{train,test}/*.png
  modelnet  <class>/{train,test}/*.off
  folder    shapes/<class>/*.{off,obj,ply,glb} and sketches/<class>/{train,test}/*.png"""


# ---------------------------------------------------------------------------------------------
# file-system helpers


def _walk(root: Path, max_depth: int = _MAX_DEPTH) -> Iterable[tuple[int, os.DirEntry[str]]]:
    """Breadth-first (depth, entry) below ``root``, hidden entries skipped, ``max_depth`` levels."""
    level = [root]
    for depth in range(1, max_depth + 1):
        nxt: list[Path] = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                yield depth, entry
                if entry.is_dir():
                    nxt.append(Path(entry.path))
        level = nxt


def _find(root: Path, names: Iterable[str], want_dir: bool) -> dict[str, list[Path]]:
    """Every file (or folder) called one of ``names`` within ``_MAX_DEPTH`` levels, shallowest first."""
    wanted = set(names)
    found: dict[str, list[Path]] = defaultdict(list)
    for _, entry in _walk(root):
        if entry.name in wanted and entry.is_dir() == want_dir:
            found[entry.name].append(Path(entry.path))
    return found


def _unwrap(folder: Path) -> Path:
    """Follow ``X/X/...`` (a folder doubled by unzipping) down to the innermost ``X``."""
    while (folder / folder.name).is_dir():
        folder = folder / folder.name
    return folder


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _numeric_key(stem: str, prefix: str) -> str | int:
    """``m12`` / ``M000012`` / ``12`` / ``000012`` -> 12; anything else stays a string."""
    core = stem[len(prefix):] if stem[: len(prefix)].lower() == prefix.lower() else stem
    return int(core) if core.isdigit() else stem


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    try:
        return sorted(
            Path(e.path) for e in os.scandir(folder) if e.is_file() and Path(e.name).suffix.lower() in suffixes
        )
    except OSError:
        return []


def _subdirs(folder: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


def _unique_ids(stems: list[tuple[str, str, str | None]]) -> list[str]:
    """Ids for (stem, class, split) triples: the stem if unique, else ``class_stem`` (``class_split_stem``)."""
    if len({s for s, _, _ in stems}) == len(stems):
        return [s for s, _, _ in stems]
    ids = [f"{c}_{s}" for s, c, _ in stems]
    if len(set(ids)) == len(ids):
        return ids
    return [f"{c}_{sp}_{s}" if sp else f"{c}_{s}" for s, c, sp in stems]


# ---------------------------------------------------------------------------------------------
# detection


def _check_root(root: str | os.PathLike[str]) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetLayoutError(
            f"{path}: the dataset folder does not exist; check the path, or download a benchmark with "
            f"`sbsr-lab data fetch shrec13 --root {path}`"
        )
    if not path.is_dir():
        raise DatasetLayoutError(f"{path}: is a file; pass the folder that contains the dataset")
    return path


def _is_modelnet(root: Path) -> bool:
    for cls in _subdirs(root):
        for split in SPLITS:
            if _files(cls / split, MESH_SUFFIXES):
                return True
    return False


def detect_layout(root: str | os.PathLike[str]) -> str:
    """The layout of ``root``: one of ``LAYOUTS``.

    Raises:
        DatasetLayoutError: the root is missing, holds two SHREC benchmarks, or matches no layout;
            the message lists the layouts looked for and what the root contains.
    """
    path = _check_root(root)
    markers = {
        "shrec13": {"SHREC13_SBR_Model.cla", *SHREC_SPECS["shrec13"].model_dirs, *SHREC_SPECS["shrec13"].sketch_dirs,
                    SHREC_SPECS["shrec13"].eval_dir},
        "shrec14": {"SHREC14_SBR_Model.cla", *SHREC_SPECS["shrec14"].model_dirs, *SHREC_SPECS["shrec14"].sketch_dirs,
                    "SHREC14_Sketch_Evaluation", "SHREC14_Sketch_Evaluation_CVIU"},
    }
    seen = {entry.name for _, entry in _walk(path)}
    hits = [name for name, marks in markers.items() if marks & seen]
    if len(hits) > 1:
        raise DatasetLayoutError(
            f"{path}: holds both SHREC'13 and SHREC'14 files; keep each benchmark in its own folder "
            "and pass that folder (e.g. --root data/shrec13)"
        )
    if hits:
        return hits[0]
    if (path / "shapes").is_dir():
        return "folder"
    if _is_modelnet(path):
        return "modelnet"
    content = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
    what = f"it contains: {listing(content, 10)}" if content else "it is empty"
    raise DatasetLayoutError(
        f"{path}: no benchmark found ({what}).\nLooked for these layouts:\n{_LOOKED_FOR}\n"
        f"Fix: download SHREC'13 with `sbsr-lab data fetch shrec13 --root {path}` (or shrec14), or "
        "arrange your files as one of the layouts above (names are case-sensitive) and pass the folder "
        "that contains them."
    )


# ---------------------------------------------------------------------------------------------
# scanning


def scan_benchmark(name: str, root: str | os.PathLike[str]) -> BenchmarkIndex:
    """Index the benchmark under ``root``; ``name`` is one of ``LAYOUTS`` or ``"auto"``.

    Scanning never opens a mesh or an image (a SHREC'14-size tree takes about 1 s on 2 CPU cores);
    problems are collected in ``index.problems`` / ``index.missing`` for :func:`validate`.
    """
    path = _check_root(root)
    if name in (None, "", "auto"):
        name = detect_layout(path)
    if name in SHREC_SPECS:
        return _scan_shrec(SHREC_SPECS[name], path)
    if name == "modelnet":
        return _scan_modelnet(path)
    if name == "folder":
        return _scan_folder(path)
    raise ValueError(f"unknown benchmark layout {name!r}; choose one of {', '.join(LAYOUTS)} or 'auto'")


def _read_cla_or_problem(found: dict[str, list[Path]], filename: str, problems: list[Problem],
                         level: str, fix: str) -> tuple[ClassFile | None, Path | None]:
    paths = found.get(filename, [])
    if not paths:
        problems.append(Problem(level, f"{filename} not found (searched {_MAX_DEPTH} levels deep)", fix))
        return None, None
    try:
        return read_cla(paths[0]), paths[0]
    except DatasetLayoutError as exc:
        problems.append(Problem("error", str(exc)))
        return None, paths[0]


def _scan_sketch_files(folders: list[Path]) -> dict[tuple[str, str, str], Path]:
    """(class, split, stem) -> path for every ``<class>/<split>/*.png`` under the given folders."""
    out: dict[tuple[str, str, str], Path] = {}
    for folder in folders:
        for cls_dir in _subdirs(folder):
            for split in SPLITS:
                for png in _files(cls_dir / split, (".png",)):
                    out.setdefault((cls_dir.name, split, png.stem), png)
    return out


def _scan_shrec(spec: ShrecSpec, root: Path) -> BenchmarkIndex:
    problems: list[Problem] = []
    sources: dict[str, str] = {}
    missing: list[str] = []
    eval_fix = f"extract the evaluation archive so that {spec.eval_dir}/ sits in {root}"

    dirs = _find(root, (*spec.model_dirs, *spec.sketch_dirs), want_dir=True)
    clas = _find(root, (spec.model_cla, *spec.sketch_cla.values()), want_dir=False)

    # -- models ----------------------------------------------------------------------------------
    model_dir: Path | None = None
    for d in spec.model_dirs:
        if dirs.get(d):
            model_dir = _unwrap(dirs[d][0])
            if spec.model_subdir and (model_dir / spec.model_subdir).is_dir():
                model_dir = model_dir / spec.model_subdir
            break
    files_by_key: dict[str | int, Path] = {}
    if model_dir is None:
        problems.append(Problem("error", f"the target-model folder {spec.model_dirs[0]}/ was not found",
                                f"extract {spec.model_dirs[0]}.zip into {root}"))
    else:
        sources["models"] = _rel(model_dir, root)
        for f in _files(model_dir, (".off",)):
            files_by_key.setdefault(_numeric_key(f.stem, spec.model_prefix), f)
        if not files_by_key:
            problems.append(Problem("error", f"{_rel(model_dir, root)}/ holds no .off file",
                                    f"extract {spec.model_dirs[0]}.zip again"))

    model_cla, cla_path = _read_cla_or_problem(clas, spec.model_cla, problems, "error", eval_fix)
    if cla_path is not None:
        sources["model_cla"] = _rel(cla_path, root)

    shapes: list[BenchmarkShape] = []
    declared: list[str] = []
    parents: dict[str, str | None] = {}
    if model_cla is not None:
        declared = list(model_cla.names)
        parents = model_cla.parents
        used: set[Path] = set()
        for c in model_cla.classes:
            for model_id in c.ids:
                f = files_by_key.get(_numeric_key(model_id, ""))
                if f is None:
                    if model_dir is not None:
                        missing.append(f"{_rel(model_dir, root)}/{spec.model_prefix}{model_id}.off")
                    continue
                used.add(f)
                shapes.append(BenchmarkShape(id=f.stem, cls=c.name, path=f))
        extra = sorted(f.name for f in files_by_key.values() if f not in used)
        if extra:
            problems.append(Problem("warning", f"{len(extra)} model files are not in {spec.model_cla} and are "
                                    f"ignored: {listing(extra, 10)}"))

    # -- sketches ----------------------------------------------------------------------------------
    sketch_dirs = [_unwrap(p) for d in spec.sketch_dirs for p in dirs.get(d, [])[:1]]
    files = _scan_sketch_files(sketch_dirs)
    if sketch_dirs:
        sources["sketches"] = ", ".join(_rel(p, root) for p in sketch_dirs)
    else:
        problems.append(Problem("error", "no sketch folder found (" + " or ".join(spec.sketch_dirs) + ")",
                                f"extract the sketch archives into {root}"))
    sketches: list[BenchmarkSketch] = []
    for split, filename in spec.sketch_cla.items():
        cla, path = _read_cla_or_problem(
            clas, filename, problems, "warning",
            f"{eval_fix}; until then the {split} sketches are labelled by their folder names",
        )
        if path is not None:
            sources[f"sketch_cla_{split}"] = _rel(path, root)
        if cla is not None:
            for c in cla.classes:
                if c.name not in declared:
                    declared.append(c.name)
                for sketch_id in c.ids:
                    f = files.get((c.name, split, sketch_id))
                    if f is None:
                        base = _sketch_base(sketch_dirs, split, root, spec)
                        missing.append(f"{base}/{c.name}/{split}/{sketch_id}.png")
                        continue
                    sketches.append(BenchmarkSketch(id=sketch_id, cls=c.name, split=split, path=f))
            listed = {(c.name, i) for c in cla.classes for i in c.ids}
            extra = sorted(f"{k[0]}/{k[1]}/{k[2]}.png" for k in files if k[1] == split and (k[0], k[2]) not in listed)
            if extra:
                problems.append(Problem("warning", f"{len(extra)} {split} sketches are not in {filename} and are "
                                        f"ignored: {listing(extra, 10)}"))
        else:
            for (cls, s, stem), f in sorted(files.items()):
                if s == split:
                    if cls not in declared:
                        declared.append(cls)
                    sketches.append(BenchmarkSketch(id=stem, cls=cls, split=split, path=f))
    ids = _unique_ids([(k.id, k.cls, k.split) for k in sketches])
    sketches = [BenchmarkSketch(id=i, cls=k.cls, split=k.split, path=k.path) for i, k in zip(ids, sketches)]

    # -- official size -------------------------------------------------------------------------------
    n_cls, n_models, n_train, n_test = spec.official
    split_counts = Counter(k.split for k in sketches)
    have = (len({s.cls for s in shapes}), len(shapes), split_counts["train"], split_counts["test"])
    if have != spec.official and shapes:
        problems.append(Problem(
            "warning",
            f"not the complete official {LAYOUT_TITLES[spec.layout]} benchmark: found {have[0]} classes, {have[1]} models, "
            f"{have[2]} train and {have[3]} test sketches (official: {n_cls}, {n_models}, {n_train}, {n_test}); "
            "results will not be comparable with published numbers",
        ))
    return _finish(spec.layout, root, declared, shapes, sketches, missing, problems, sources, parents)


def _sketch_base(folders: list[Path], split: str, root: Path, spec: ShrecSpec) -> str:
    """The folder where a missing ``split`` sketch should be (for messages)."""
    tag = "TEST" if split == "test" else "TRAIN"
    for folder in folders:
        if tag in folder.name.upper():
            return _rel(folder, root)
    if folders:
        return _rel(folders[0], root)
    return next((d for d in spec.sketch_dirs if tag in d), spec.sketch_dirs[0])


def _finish(layout: str, root: Path, declared: list[str], shapes: list[BenchmarkShape], sketches: list[BenchmarkSketch],
            missing: list[str], problems: list[Problem], sources: dict[str, str],
            parents: dict[str, str | None]) -> BenchmarkIndex:
    used = {s.cls for s in shapes} | {k.cls for k in sketches}
    order = declared + sorted(used - set(declared))
    return BenchmarkIndex(
        layout=layout, root=root, classes=[c for c in order if c in used], shapes=shapes, sketches=sketches,
        missing=missing, empty_classes=[c for c in declared if c not in used], problems=problems,
        sources=sources, parents=parents,
    )


def _scan_loose_sketches(folder: Path, root: Path, sources: dict[str, str],
                         problems: list[Problem]) -> list[BenchmarkSketch]:
    """``sketches/<class>/{train,test}/*.png`` or ``sketches/<class>/*.png`` (split ``None``)."""
    if not folder.is_dir():
        return []
    sources["sketches"] = _rel(folder, root)
    triples: list[tuple[str, str, str | None, Path]] = []
    for cls_dir in _subdirs(folder):
        for split in SPLITS:
            triples += [(p.stem, cls_dir.name, split, p) for p in _files(cls_dir / split, (".png",))]
        loose = _files(cls_dir, (".png",))
        triples += [(p.stem, cls_dir.name, None, p) for p in loose]
    if any(t[2] is None for t in triples):
        problems.append(Problem("warning", f"{sum(t[2] is None for t in triples)} sketches are not in train/ or "
                                "test/ folders; the dataset build splits them per class "
                                "(Profile.test_sketch_fraction)"))
    ids = _unique_ids([(s, c, sp) for s, c, sp, _ in triples])
    return [BenchmarkSketch(id=i, cls=c, split=sp, path=p) for i, (_, c, sp, p) in zip(ids, triples)]


def _scan_modelnet(root: Path) -> BenchmarkIndex:
    problems: list[Problem] = []
    sources = {"models": "."}
    triples: list[tuple[str, str, str | None, Path]] = []
    for cls_dir in _subdirs(root):
        if cls_dir.name == "sketches":
            continue
        for split in SPLITS:
            triples += [(p.stem, cls_dir.name, split, p) for p in _files(cls_dir / split, MESH_SUFFIXES)]
    ids = _unique_ids([(s, c, sp) for s, c, sp, _ in triples])
    shapes = [BenchmarkShape(id=i, cls=c, path=p, split=sp) for i, (_, c, sp, p) in zip(ids, triples)]
    declared = sorted(p.name for p in _subdirs(root) if p.name != "sketches" and any((p / s).is_dir() for s in SPLITS))
    sketches = _scan_loose_sketches(root / "sketches", root, sources, problems)
    return _finish("modelnet", root, declared, shapes, sketches, [], problems, sources, {})


def _scan_folder(root: Path) -> BenchmarkIndex:
    problems: list[Problem] = []
    shapes_dir = root / "shapes"
    sources = {"models": _rel(shapes_dir, root)}
    triples: list[tuple[str, str, str | None, Path]] = []
    for cls_dir in _subdirs(shapes_dir):
        triples += [(p.stem, cls_dir.name, None, p) for p in _files(cls_dir, MESH_SUFFIXES)]
    loose = _files(shapes_dir, MESH_SUFFIXES)
    if loose:
        problems.append(Problem("warning", f"{len(loose)} mesh files lie directly in shapes/ without a class folder "
                                f"and are ignored: {listing([p.name for p in loose], 10)}",
                                "move each into shapes/<class>/"))
    ids = _unique_ids([(s, c, sp) for s, c, sp, _ in triples])
    shapes = [BenchmarkShape(id=i, cls=c, path=p) for i, (_, c, _, p) in zip(ids, triples)]
    declared = [p.name for p in _subdirs(shapes_dir)]
    sketches = _scan_loose_sketches(root / "sketches", root, sources, problems)
    return _finish("folder", root, declared, shapes, sketches, [], problems, sources, {})


def shape_fix(layout: str, root: Path) -> str:
    """Where the meshes of ``layout`` go under ``root`` (the fix of a "no 3D shapes found" error)."""
    if layout in SHREC_SPECS:
        spec = SHREC_SPECS[layout]
        return f"extract {spec.model_dirs[0]}.zip and the evaluation archive into {root}"
    if layout == "modelnet":
        return f"put meshes in {root}/<class>/train/ and {root}/<class>/test/"
    return f"put meshes (.off, .obj, .ply, .glb) in {root}/shapes/<class>/"
