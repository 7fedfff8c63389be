"""Sketch files in, answers out: the reading behind ``sbsr-lab query`` and ``sbsr-lab score-sketches``.

    from sbsr_lab.serve.sketch_files import collect_sketch_files, read_sketch_file, score_sketch_folder
    paths = collect_sketch_files(["a.png", "more/"])          # files as given, folders searched (sorted)
    sketch = read_sketch_file(paths[0])                        # checked before any model is loaded
    report = score_sketch_folder(engine, "my_class_drawings/") # class sub-folders -> top-1, P@10, mAP

Definitions of :func:`score_sketch_folder`, per drawing (its class = its sub-folder's name):
``top-1`` = the first retrieved gallery shape is of its class; ``P@10`` = the share of the first 10
retrieved shapes of its class; ``AP`` = the average precision of the full ranking of the gallery
(SHREC's definition, :func:`sbsr_lab.retrieval.evaluate.evaluate_similarity`); each averaged over
the drawings of a class, then over all drawings. The confusion table counts, per class, the
predicted classes; ``not a shape`` counts the drawings the out-of-distribution detector flags.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from sbsr_lab.data.stroke_io import IMAGE_SUFFIXES, STROKE_SUFFIXES, load_sketch_image, load_strokes
from sbsr_lab.data.strokes import MAX_POINTS, MAX_STROKES, cap_strokes, sketch_problem
from sbsr_lab.errors import SketchError

if TYPE_CHECKING:
    from sbsr_lab.serve.query import QueryEngine

__all__ = ["SKETCH_SUFFIXES", "collect_sketch_files", "read_sketch_file", "class_folders", "score_sketch_folder",
           "format_folder_score"]

SKETCH_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".ndjson", ".svg")


def collect_sketch_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The sketch files named by ``paths``: files as given (checked later), folders searched recursively
    for :data:`SKETCH_SUFFIXES` files (sorted; other files skipped). A missing path or a folder without
    sketches raises :class:`SketchError`."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SKETCH_SUFFIXES)
            if not found:
                raise SketchError(f"{p}: no sketch files in this folder. Fix: put {', '.join(SKETCH_SUFFIXES)} "
                                  "files in it, or name the files.")
            out += found
        else:
            out.append(p)
    return out


def read_sketch_file(path: str | os.PathLike[str]) -> Any:
    """What :meth:`QueryEngine.query <sbsr_lab.serve.query.QueryEngine.query>` takes for a sketch file:
    the path (images) or its strokes (``.ndjson``/``.svg``, capped when there are thousands). The file is
    read and checked here, before any model is loaded: unsupported formats, missing, corrupt or blank
    files raise :class:`SketchError` naming the file and the fix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES + STROKE_SUFFIXES:
        raise SketchError(f"{path}: unsupported sketch format {path.suffix or '(no suffix)'!r}. "
                          f"Fix: use one of {', '.join(IMAGE_SUFFIXES + STROKE_SUFFIXES)}.")
    if not path.is_file():
        raise SketchError(f"{path}: sketch file not found. Fix: check the path.")
    if suffix in STROKE_SUFFIXES:
        strokes = load_strokes(path)
        problem = sketch_problem(strokes)
        if problem:
            raise SketchError(f"{path}: {problem}")
        if len(strokes) > MAX_STROKES or sum(len(s) for s in strokes) > MAX_POINTS * 4:
            return cap_strokes(strokes)  # thousands of strokes: simplified, the longest kept
        return strokes
    load_sketch_image(path, 64)  # corrupt or blank images fail here, with the file named
    return path


def class_folders(folder: str | os.PathLike[str], class_names: Sequence[str],
                  suffixes: Sequence[str] = SKETCH_SUFFIXES) -> dict[str, list[Path]]:
    """``class -> sketch files`` of the class sub-folders of ``folder`` (files of other suffixes, and
    files directly in ``folder``, are skipped). A sub-folder named after no class of the model, or no
    sub-folder at all, raises :class:`SketchError` listing the model's classes."""
    root = Path(folder)
    if not root.is_dir():
        raise SketchError(f"{root}: not a folder. Fix: pass a folder with one sub-folder per class "
                          f"({', '.join(class_names)}).")
    wanted = tuple(s.lower() for s in suffixes)
    found: dict[str, list[Path]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in sub.rglob("*") if f.is_file() and f.suffix.lower() in wanted)
        if files:
            found[sub.name] = files
    if not found:
        raise SketchError(f"{root}: no class sub-folders with sketch files ({', '.join(wanted)}). Fix: put each "
                          f"class's drawings in a sub-folder named after it ({', '.join(class_names)}).")
    unknown = [c for c in found if c not in class_names]
    if unknown:
        raise SketchError(f"{root}: the folder(s) {', '.join(map(repr, unknown))} name no class of the model. "
                          f"Fix: rename them to one of the model's classes: {', '.join(class_names)}.")
    return found


def score_sketch_folder(engine: "QueryEngine", folder: str | os.PathLike[str],
                        suffixes: Sequence[str] = SKETCH_SUFFIXES) -> dict[str, Any]:
    """Top-1, P@10 and mAP (module docstring) of ``engine`` on the class sub-folders of ``folder``.

    Returns ``{"overall": {"n", "top1", "p10", "map", "n_retrieval", "class_accuracy", "not_a_shape"},
    "gallery": {"shapes", "no_shapes_of"}, "per_class": [{"class", ...}], "confusion": {true class: {predicted class: count}}, "skipped": [{"path", "error"}], "drawings": [...]}``.
    Unreadable files are skipped (listed with their error), not fatal.
    """
    # torch (and the metrics below, which load it) deferred: reading and checking sketch files
    # (`sbsr-lab query` on a bad file) answers before torch loads
    import torch

    from sbsr_lab.retrieval.metrics import metrics_from_ranks
    from sbsr_lab.retrieval.ranking import rank_relevant
    from sbsr_lab.similarity import l2_normalize

    files = class_folders(folder, engine.class_names, suffixes)
    gallery_labels = engine.index.labels
    k = min(10, len(engine.index))
    zs, truth, drawings, skipped = [], [], [], []
    for cls, paths in files.items():
        for path in paths:
            try:
                res = engine.query(read_sketch_file(path), k=k)
            except SketchError as err:
                skipped.append({"path": str(path), "error": str(err)})
                continue
            zs.append(torch.as_tensor(res.embedding))
            truth.append(cls)
            drawings.append({"path": str(path), "class": cls, "predicted_class": res.predicted_class,
                             "top1": int(res.results[0]["class"] == cls),
                             "p10": sum(r["class"] == cls for r in res.results) / k, "is_ood": res.is_ood})
    if not drawings:
        raise SketchError(f"{folder}: none of the sketch files could be read (first: {skipped[0]['error']}).")
    # a drawing whose class has no shape in the gallery (your own collection may lack one) has nothing to
    # retrieve: it is scored as a classification only, and counted apart ("no_shapes")
    in_gallery = [cls in set(gallery_labels) for cls in truth]
    for d, ok in zip(drawings, in_gallery):
        d["in_gallery"] = ok
    rows = [i for i, ok in enumerate(in_gallery) if ok]
    if rows:
        sim = l2_normalize(torch.stack([zs[i] for i in rows]).float()) @ l2_normalize(engine.index.embeddings.float()).T
        # the AP of each drawing's full ranking (the per-query values SHREC's mAP averages)
        per_query = metrics_from_ranks(rank_relevant(sim, [truth[i] for i in rows], list(gallery_labels)))
        for i, ap in zip(rows, per_query["AP"].tolist()):
            drawings[i]["ap"] = float(ap)
    per_class = []
    for cls in files:
        mine = [d for d in drawings if d["class"] == cls]
        if mine:
            per_class.append({"class": cls, "n": len(mine), **_means(mine)})
    confusion: dict[str, dict[str, int]] = {}
    for cls in files:
        counts = Counter("not a shape" if d["is_ood"] else d["predicted_class"] for d in drawings if d["class"] == cls)
        if counts:
            confusion[cls] = dict(sorted(counts.items()))
    no_shapes = sorted({d["class"] for d in drawings if not d["in_gallery"]})
    return {"folder": str(folder), "method": engine.method, "overall": {"n": len(drawings), **_means(drawings)},
            "gallery": {"shapes": len(engine.index), "no_shapes_of": no_shapes}, "per_class": per_class, "confusion": confusion, "skipped": skipped, "drawings": drawings}


def _means(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means over drawings; retrieval (top-1 = the class of the first shape, P@10, mAP) only over those whose
    class the gallery holds (``n_retrieval``; ``None`` when there is none), the predicted class over all."""
    n = len(rows)
    ret = [d for d in rows if d.get("in_gallery", True)]
    m = len(ret)
    return {"top1": sum(d["top1"] for d in ret) / m if m else None, "p10": sum(d["p10"] for d in ret) / m if m else None,
            "map": sum(d.get("ap", 0.0) for d in ret) / m if m else None, "n_retrieval": m,
            "class_accuracy": sum(d["predicted_class"] == d["class"] for d in rows) / n,
            "not_a_shape": sum(d["is_ood"] for d in rows)}


def format_folder_score(report: dict[str, Any]) -> str:
    """The per-class table (top-1, P@10, mAP, flagged) and the confusion table as text."""
    lines = [f"{report['folder']}: {report['overall']['n']} drawings, {len(report['per_class'])} classes "
             f"({report['method']})", f"{'class':<14} {'n':>4} {'top-1':>6} {'P@10':>6} {'mAP':>6} {'class':>6} "
             f"{'not a shape':>12}"]

    def cell(v: Any) -> str:
        return f"{v:>6.3f}" if v is not None else f"{'-':>6}"

    for row in report["per_class"] + [{"class": "all", **report["overall"]}]:
        lines.append(f"{row['class']:<14} {row['n']:>4} {cell(row['top1'])} {cell(row['p10'])} {cell(row['map'])} "
                     f"{cell(row['class_accuracy'])} {row['not_a_shape']:>12d}")
    missing = report.get("gallery", {}).get("no_shapes_of") or []
    if missing:
        lines.append(f"(the gallery has no shapes of {', '.join(missing)}: those drawings are scored by their "
                     "predicted class only, '-' for retrieval)")
    predicted = sorted({p for counts in report["confusion"].values() for p in counts})
    width = max([6] + [len(p) for p in predicted])
    lines += ["", "confusion (rows: the folder's class, columns: the predicted class)",
              f"{'':<14} " + " ".join(f"{p:>{width}}" for p in predicted)]
    for cls, counts in report["confusion"].items():
        lines.append(f"{cls:<14} " + " ".join(f"{counts.get(p, 0) or '.':>{width}}" for p in predicted))
    for s in report["skipped"]:
        lines.append(f"skipped {s['path']}: {s['error']}")
    return "\n".join(lines)
