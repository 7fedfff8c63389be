"""From SynthShapes to the real world, in one table: drawings -> class, drawings -> real meshes, real-mesh classes.

    table = real_world_table("realdata/sketches", "realdata/shapes", methods=["uactn", "cfttsl"])
    print(format_real_world(table))

For every method of a bundle and every shape-side setting (``encoder/orient``, e.g. ``drawn/auto``), the
meshes of ``shapes`` (class sub-folders) are indexed (:func:`~sbsr_lab.serve.gallery.index_meshes`,
cached under ``work``) and then:

* **drawings -> class**: the share of drawings whose predicted class is their folder's;
* **drawings -> real meshes**: top-1 (the first mesh returned is of the drawing's class), P@10 and mAP
  against the real meshes, over the drawings whose class has meshes there
  (:func:`~sbsr_lab.serve.sketch_files.score_sketch_folder`);
* **real-mesh classification**: the share of meshes of a class the model knows whose predicted class
  (the encoder's mean class probability) is their folder's (meshes of other classes, e.g. ``sofa``, are
  distractors in the gallery and not scored).

``benchmarks/real_world.py`` is its command line; notebook 08 draws it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from sbsr_lab.errors import SbsrError
from sbsr_lab.retrieval.compare import stat
from sbsr_lab.serve.bundle import read_bundle
from sbsr_lab.serve.engine import load_engine, load_shape_net
from sbsr_lab.serve.gallery import index_meshes, read_gallery
from sbsr_lab.serve.sketch_files import score_sketch_folder

__all__ = ["SETTINGS", "real_world_table", "format_real_world", "mesh_classification", "combine_seeds",
           "SEED_METRICS"]

#: Shape-side settings measured by default: this issue's default, and what a real mesh got before it
#: (the trained shape network on shaded views of the file as it comes).
SETTINGS: tuple[str, ...] = ("drawn/auto", "shaded/file")


def mesh_classification(desc: dict[str, Any]) -> dict[str, Any]:
    """Real-mesh classification from a labelled gallery's ``gallery.json``: ``{"n", "accuracy", "per_class"}``
    over the shapes whose label is a class of the model."""
    known = set(desc.get("model_classes") or [])
    rows = [s for s in desc["shapes"].values() if s.get("class") in known]
    per_class: dict[str, list[int]] = {}
    for s in rows:
        per_class.setdefault(s["class"], []).append(int(s["predicted"] == s["class"]))
    n = len(rows)
    return {"n": n, "accuracy": sum(sum(v) for v in per_class.values()) / n if n else None,
            "per_class": {c: sum(v) / len(v) for c, v in sorted(per_class.items())},
            "ups": {u: sum(1 for s in desc["shapes"].values() if s.get("up") == u)
                    for u in sorted({s.get("up") for s in desc["shapes"].values()})}}


def real_world_table(sketches: str | os.PathLike[str], shapes: str | os.PathLike[str], work: str | os.PathLike[str],
                     methods: Sequence[str] | None = None, settings: Sequence[str] = SETTINGS,
                     bundle: str | os.PathLike[str] | None = None, workers: int = 0,
                     progress: bool = True) -> dict[str, Any]:
    """The rows of the table (module docstring): ``{"rows": [...], "sketches", "shapes"}``; each row
    ``{"method", "setting", "drawings_to_class", "drawings_to_meshes": {top1, p10, map, n}, "mesh_classification"}``.
    Galleries are kept in ``work/<method>-<encoder>-<orient>`` and reused when already made."""
    methods = list(methods or read_bundle(bundle)["methods"])  # no bundle there: refused with the fix
    rows = []
    for method in methods:
        for setting in settings:
            encoder, _, orient = setting.partition("/")
            out = Path(work) / f"{method}-{encoder}-{orient}"
            if (out / "gallery.json").is_file():
                desc = read_gallery(out)
            else:
                shape_net, profile = load_shape_net(f"bundle:{method}", bundle) if encoder == "shaded" else (None, None)
                desc = index_meshes(shapes, out, load_engine(f"bundle:{method}", bundle=bundle), shape_net, profile,
                                    encoder=encoder, orient=orient or "auto", workers=workers, progress=progress)
            engine = load_engine(f"bundle:{method}", bundle=bundle, gallery=out)
            score = score_sketch_folder(engine, sketches)
            overall = score["overall"]
            rows.append({"method": method, "setting": setting,
                         "drawings_to_class": overall["class_accuracy"],
                         "drawings_to_meshes": {"top1": overall["top1"], "p10": overall["p10"], "map": overall["map"],
                                                "n": overall["n_retrieval"]},
                         "mesh_classification": mesh_classification(desc),
                         "no_shapes_of": score["gallery"]["no_shapes_of"]})
    return {"sketches": Path(sketches).name, "shapes": Path(shapes).name, "rows": rows}


def format_real_world(table: dict[str, Any]) -> str:
    """The table as text (one row per method and setting)."""
    head = (f"{'method':<8} {'shapes':<12} {'drawing->class':>14} {'top-1':>6} {'P@10':>6} {'mAP':>6} "
            f"{'mesh class':>10}")
    lines = [f"drawings: {table['sketches']}, meshes: {table['shapes']}", head]

    def cell(v: Any, w: int = 6) -> str:
        return f"{v:>{w}.3f}" if v is not None else f"{'-':>{w}}"

    for r in table["rows"]:
        d = r["drawings_to_meshes"]
        lines.append(f"{r['method']:<8} {r['setting']:<12} {cell(r['drawings_to_class'], 14)} {cell(d['top1'])} "
                     f"{cell(d['p10'])} {cell(d['map'])} {cell(r['mesh_classification']['accuracy'], 10)}")
    missing = sorted({c for r in table["rows"] for c in r["no_shapes_of"]})
    if missing:
        lines.append(f"(no meshes of {', '.join(missing)}: those drawings count for drawing->class only)")
    return "\n".join(lines)


#: The figures :func:`combine_seeds` gathers per row: name -> how to read it from one seed's row.
SEED_METRICS: dict[str, Any] = {
    "drawings_to_class": lambda r: r["drawings_to_class"],
    "top1": lambda r: r["drawings_to_meshes"]["top1"],
    "p10": lambda r: r["drawings_to_meshes"]["p10"],
    "map": lambda r: r["drawings_to_meshes"]["map"],
    "mesh_accuracy": lambda r: r["mesh_classification"]["accuracy"],
}


def combine_seeds(tables: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One table from :func:`real_world_table` per training seed of the same recipe (each with ``seed`` and
    ``torch_threads``) -> ``{"seeds", "torch_threads", "sketches", "shapes", "rows": [{"method", "setting",
    "values": {metric: [one per seed]}, "mean": {...}, "std": {...}}], "synthshapes_gallery": {method:
    {metric: [one per seed]}}}``. Refused: fewer than two tables, a table without its seed, a seed twice,
    other drawings or meshes, other rows, or mixed thread counts (a run's figures move with them)."""
    if len(tables) < 2:
        raise SbsrError("combine_seeds needs the tables of two or more seeds (benchmarks/real_world.py --seed N "
                        "--json ... once per seed).")
    seeds = [t.get("seed") for t in tables]
    if any(s is None for s in seeds) or len(set(seeds)) != len(seeds):
        raise SbsrError(f"Every table must carry a different training seed (got {seeds}): run "
                        "benchmarks/real_world.py with --seed N for each bundle.")
    threads = {t.get("torch_threads") for t in tables}
    if len(threads) != 1 or None in threads:
        raise SbsrError(f"The tables were measured at different or unknown thread counts ({sorted(map(str, threads))}): "
                        "measure every seed with the same OMP_NUM_THREADS.")
    keys = [[(r["method"], r["setting"]) for r in t["rows"]] for t in tables]
    for t, k in zip(tables[1:], keys[1:]):
        if (t["sketches"], t["shapes"]) != (tables[0]["sketches"], tables[0]["shapes"]) or k != keys[0]:
            raise SbsrError(f"Seed {t['seed']} measured other drawings, meshes or rows than seed {seeds[0]}: "
                            "run every seed with the same --sketches, --shapes, --methods and --settings.")
    order = sorted(range(len(tables)), key=lambda i: seeds[i])
    rows = []
    for j, (method, setting) in enumerate(keys[0]):
        values = {name: [get(tables[i]["rows"][j]) for i in order] for name, get in SEED_METRICS.items()}
        # compare.stat's mean and std; a value missing in any seed is never averaged over the others
        stats = {k: stat(v) if None not in v else {"mean": None, "std": None} for k, v in values.items()}
        rows.append({"method": method, "setting": setting, "values": values,
                     "mean": {k: s["mean"] for k, s in stats.items()}, "std": {k: s["std"] for k, s in stats.items()}})
    gallery = {m: {k: [tables[i]["synthshapes_gallery"][m][k] for i in order] for k in tables[0]["synthshapes_gallery"][m]}
               for m in tables[0].get("synthshapes_gallery", {})}
    return {"sketches": tables[0]["sketches"], "shapes": tables[0]["shapes"], "seeds": [seeds[i] for i in order],
            "torch_threads": threads.pop(), "rows": rows, "synthshapes_gallery": gallery}

