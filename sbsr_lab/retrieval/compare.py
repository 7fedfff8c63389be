"""Comparing methods over several demo runs: mean ± std per method and metric, wall time, mean PR curves.

    from sbsr_lab.retrieval.compare import summarise_demos, comparison_table, pr_curves
    summary = summarise_demos([Path("runs/demo-default-s0"), Path("runs/demo-default-s1")])
    comparison_table(summary)          # a pandas DataFrame, one row per method
    show_pr_curves(pr_curves(summary)) # sbsr_lab.retrieval.plots
    committed = committed_summary()    # the course's docs/results/methods-default.json (notebook 07)

A *demo folder* is what ``sbsr-lab demo --out DIR`` writes (:func:`sbsr_lab.pipeline.run_demo`):
``DIR/results.json`` and, beside it, one run folder per trained stage. One folder per seed
(``--set seed=1 --out ...``). ``benchmarks/compare_methods.py`` writes a summary to a JSON file.

Summary schema (version 1; every statistic is ``{"mean", "std", "values"}`` over the seeds that have
the value, ``std`` the sample standard deviation (ddof = 1; 0 for a single value)):

.. code-block:: text

    {"version": 1, "profile": "default", "runs": ["runs/demo-default-s0", ...], "seeds": [0, 1, 2],
     "methods": {"cfttsl": {"runs": 3,
                            "metrics": {"NN": stat, "FT": stat, ..., "mAP": stat,
                                        "inst_top1": stat, "inst_top10": stat},  # instance level, if measured
                            "seconds": stat,                  # wall s to train and evaluate the method
                            "map_per_group": {"many": stat, "medium": stat, "few": stat},  # long tail, if any
                            "pr": {"recall_levels": [...], "precision": [...]}},  # mean over the runs, if present
                 ...},
     "linear_probe": stat,                    # ssl-pretrain's linear probe, if measured
     "spearman": stat, "spearman_within_class": stat,  # UACTN's Spearman(sigma, noise), if measured
     "pr_skipped": ["DIR/method: why", ...],  # run folders present but not evaluated
     "settings": {"balanced": summary, "longtail": summary, "instance": summary}}   # optional

``settings`` holds the summaries of other groups of demo folders (a long-tailed dataset,
``--set longtail=60:4``; sketches drawn from the gallery shapes, ``--set sketch_source=gallery``, for the
instance level), each a summary of the same form without ``settings``; the script adds them
(``--setting NAME DIR [DIR ...]``).

Wall seconds of a method: the ``results.json`` ``seconds`` of each stage the method trains, including
the stages it trains ``--from`` (ssltkd counts ssl-pretrain), plus its ``evaluate-<method>`` entry:
what the method costs alone. A stage two methods share is counted in both (the demo trains it once);
a stage resumed from an earlier run counts only the time of that demo. Dataset building is not counted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from sbsr_lab.errors import SbsrError
from sbsr_lab.io import atomic_write_json, portable_path
from sbsr_lab.retrieval.curves import PRCurve
from sbsr_lab.retrieval.metrics import METRIC_NAMES
from sbsr_lab.retrieval.runs import MethodEvaluation, evaluate_method
from sbsr_lab.train.stage import method_stages, stage_order

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["SCHEMA_VERSION", "INSTANCE_KEYS", "GROUPS", "stat", "method_stage_names", "method_seconds",
           "summarise_demos", "summarise_evaluations", "comparison_table", "describe_comparison", "pr_curves",
           "load_summary", "write_summary", "COMMITTED_SUMMARY", "results_folder", "committed_summary"]

SCHEMA_VERSION = 1
#: Instance-level metrics (:func:`sbsr_lab.retrieval.instance.instance_accuracy`).
INSTANCE_KEYS: tuple[str, ...] = ("inst_top1", "inst_top10")
#: results.json's UACTN uncertainty figures -> the summary's names for them.
SPEARMAN_KEYS: dict[str, str] = {"uncertainty_noise_spearman": "spearman",
                                 "uncertainty_noise_spearman_within_class": "spearman_within_class"}
#: Long-tail groups of classes (:func:`sbsr_lab.retrieval.longtail.map_per_group`).
GROUPS: tuple[str, ...] = ("many", "medium", "few")
#: The course's committed summary of the seven methods on the default profile, in :func:`results_folder`.
COMMITTED_SUMMARY = "methods-default.json"
_RESULTS = Path("docs") / "results"


def stat(values: Iterable[float | None]) -> dict[str, Any]:
    """``{"mean", "std", "values"}`` of the finite values given (None and NaN are left out).

    >>> stat([0.5, 0.7])
    {'mean': 0.6, 'std': 0.1414, 'values': [0.5, 0.7]}
    """
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return {"mean": None, "std": None, "values": []}
    std = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    return {"mean": round(float(np.mean(vals)), 6), "std": round(std, 4), "values": vals}


def method_stage_names(method: str) -> list[str]:
    """Every stage ``method`` trains, each after the stage it starts ``--from`` (another method's
    included: ssltkd's teacher starts from ssl's ``ssl-pretrain``; :func:`~sbsr_lab.train.stage.stage_order`)."""
    if method not in method_stages():
        raise SbsrError(f"Unknown method {method!r}: the registered methods are {', '.join(method_stages())}.")
    return [stage for stage, _ in stage_order(method)]


def method_seconds(seconds: Mapping[str, float], method: str) -> float | None:
    """Wall seconds of ``method`` in one demo's ``results.json`` ``seconds``: its stages (with the ones
    it trains ``--from``) plus ``evaluate-<method>``; None when none of them is recorded."""
    keys = [*method_stage_names(method), f"evaluate-{method}"]
    found = [float(seconds[k]) for k in keys if k in seconds]
    return round(sum(found), 2) if found else None


def _read_results(folder: Path) -> dict[str, Any]:
    path = folder / "results.json"
    if not path.is_file():
        raise SbsrError(f"{folder} is not a demo folder: {path} is missing. Give the folder that "
                        "`sbsr-lab demo --out DIR` wrote (it holds results.json).")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SbsrError(f"{path} cannot be read as JSON ({exc}); run the demo again to rewrite it.") from None
    if not isinstance(results, dict) or not isinstance(results.get("methods"), dict):
        raise SbsrError(f"{path} has no 'methods' table: it was not written by `sbsr-lab demo`.")
    return results


def _seed_of(folder: Path, results: Mapping[str, Any]) -> int | None:
    """The profile seed of a demo, read from one of its run folders (results.json does not record it)."""
    for method in results["methods"]:
        try:
            stages = method_stage_names(method)
        except SbsrError:
            continue
        for stage in stages:
            meta = folder / stage / "best.json"
            if meta.is_file():
                try:
                    return int(json.loads(meta.read_text(encoding="utf-8"))["profile"]["seed"])
                except (OSError, ValueError, KeyError, TypeError):
                    return None
    return None


def _evaluate_pr(run: Path, data: str | Path | None) -> tuple[list[float], list[float]]:
    """Interpolated PR curve of a method's last-stage run: ``(recall levels, precision)``."""
    ev = evaluate_method(run, data, device="cpu")
    return ev.pr_recall, ev.pr_precision


def _mean_pr(curves: Sequence[tuple[Sequence[float], Sequence[float]]]) -> dict[str, list[float]] | None:
    if not curves:
        return None
    levels = [list(map(float, c[0])) for c in curves]
    if any(lv != levels[0] for lv in levels):
        raise SbsrError("The PR curves of one method were read at different recall levels; "
                        "evaluate every run with the same code.")
    precision = np.mean(np.asarray([c[1] for c in curves], dtype=np.float64), axis=0)
    return {"recall_levels": levels[0], "precision": [round(float(p), 6) for p in precision]}


def summarise_demos(paths: Sequence[str | Path], pr: bool = True, data: str | Path | None = None) -> dict[str, Any]:
    """Mean, std and values per method and metric over several demo folders (one per seed).

    ``pr``: also average each method's interpolated PR curve over the folders that still hold its
    last stage's run (evaluated again with :func:`~sbsr_lab.retrieval.runs.evaluate_method`; ``data``
    the dataset, default the one each run was trained on). Returns the summary of the module docstring
    (without ``settings``). Raises :class:`~sbsr_lab.errors.SbsrError` for a folder without
    ``results.json`` or demos of different profiles.
    """
    folders = [Path(p) for p in paths]
    if not folders:
        raise SbsrError("No demo folder given: pass the folders `sbsr-lab demo --out DIR` wrote, one per seed.")
    runs = [(f, _read_results(f)) for f in folders]
    profiles = sorted({str(r.get("profile")) for _, r in runs})
    if len(profiles) > 1:
        raise SbsrError(f"These demos ran different profiles ({', '.join(profiles)}): "
                        f"{', '.join(str(f) for f in folders)}; compare demos of one profile.")
    threads = {f: r.get("torch_threads") for f, r in runs}
    if len(set(threads.values())) > 1:  # one thread count per table: 1 and 2 threads alone move mAP by ~0.02
        shown = ", ".join(f"{f} ({'unknown' if n is None else n})" for f, n in threads.items())
        raise SbsrError(f"These demos ran with different torch thread counts: {shown}. One table takes one thread "
                        "count: run them again with the same OMP_NUM_THREADS.")
    names: list[str] = []
    for _, results in runs:
        names += [m for m in results["methods"] if m not in names]
    methods: dict[str, Any] = {}
    skipped: list[str] = []
    for name in names:
        have = [(f, r) for f, r in runs if name in r["methods"]]
        keys = list(METRIC_NAMES) + [k for k in INSTANCE_KEYS if any(k in r["methods"][name] for _, r in have)]
        entry: dict[str, Any] = {
            "runs": len(have),
            "metrics": {k: stat(r["methods"][name].get(k) for _, r in have) for k in keys},
            "seconds": stat(_safe_seconds(r.get("seconds", {}), name) for _, r in have),
        }
        flags = [r.get("flags", {}).get(name) for _, r in have]
        if any(flags):  # at chance or collapsed in at least one run: shown, never ranked
            entry["flagged"] = sorted({f["reason"] for f in flags if f})
        groups = [r.get("map_per_group", {}).get(name) for _, r in have]
        if any(groups):
            entry["map_per_group"] = {g: stat((grp or {}).get(g) for grp in groups) for g in GROUPS}
        if pr:
            curves = []
            for folder, _ in have:
                last = _last_stage(name)
                run = folder / last if last else None
                if run is None or not (run / "best.json").is_file():
                    continue
                try:
                    curves.append(_evaluate_pr(run, data))
                except SbsrError as exc:
                    skipped.append(f"{run}: {exc}")
            mean = _mean_pr(curves)
            if mean is not None:
                entry["pr"] = {**mean, "runs": len(curves)}
        methods[name] = entry
    summary: dict[str, Any] = {
        "version": SCHEMA_VERSION, "profile": profiles[0], "runs": [str(f) for f in folders],
        "torch_threads": next(iter(threads.values())),
        "seeds": [_seed_of(f, r) for f, r in runs], "methods": methods,
    }
    probes = [r.get("linear_probe", {}).get("ssl-pretrain") for _, r in runs]
    if any(p is not None for p in probes):
        summary["linear_probe"] = stat(probes)
    for key, name in SPEARMAN_KEYS.items():
        values = [r.get(key) for _, r in runs]
        if any(v is not None for v in values):
            summary[name] = stat(values)
    if skipped:
        summary["pr_skipped"] = skipped
    return summary


def _safe_seconds(seconds: Mapping[str, float], method: str) -> float | None:
    try:
        return method_seconds(seconds, method)
    except SbsrError:  # a method this code no longer registers: its time cannot be attributed
        return None


def _last_stage(method: str) -> str | None:
    chain = method_stages().get(method)
    return chain[-1][0] if chain else None


def summarise_evaluations(evaluations: Mapping[str, "MethodEvaluation"], profile: str = "",
                          seconds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The summary (same schema, one run) of methods evaluated in this process, e.g. in a notebook:
    ``{method: evaluate_method(run)}``; ``seconds``: wall seconds per method, if known."""
    methods = {}
    for name, ev in evaluations.items():
        keys = list(METRIC_NAMES) + [k for k in INSTANCE_KEYS if k in ev.metrics]
        entry: dict[str, Any] = {"runs": 1, "metrics": {k: stat([ev.metrics.get(k)]) for k in keys},
                                 "seconds": stat([(seconds or {}).get(name)])}
        if ev.map_per_group:
            entry["map_per_group"] = {g: stat([ev.map_per_group.get(g)]) for g in GROUPS}
        if ev.flag and ev.flag["flagged"]:
            entry["flagged"] = [ev.flag["reason"]]
        entry["pr"] = {"recall_levels": list(map(float, ev.pr_recall)),
                       "precision": list(map(float, ev.pr_precision)), "runs": 1}
        methods[name] = entry
    return {"version": SCHEMA_VERSION, "profile": profile, "runs": [], "seeds": [], "methods": methods}


def _fmt(s: Mapping[str, Any], digits: int = 3) -> float | None:
    return None if s.get("mean") is None else round(float(s["mean"]), digits)


def comparison_table(summary: Mapping[str, Any]) -> "pd.DataFrame":
    """One row per method, best mAP first: ``method``, ``runs``, ``mAP`` ("mean ± std" over the runs),
    ``NN``, ``FT``, ``ST``, ``E``, ``DCG`` (means), ``top-1`` / ``top-10`` (instance level, when
    measured), ``mAP many`` / ``medium`` / ``few`` (long tail, when measured), ``wall s`` (mean), ``flag``
    (``"at chance"`` / ``"collapsed"`` in any run: such rows come last, unranked, whatever their mAP)."""
    import pandas as pd

    rows = []
    for name, entry in summary.get("methods", {}).items():
        m = entry["metrics"]
        ap = m.get("mAP", {})
        text = "n/a" if ap.get("mean") is None else (
            f"{ap['mean']:.3f} ± {ap['std']:.3f}" if len(ap["values"]) > 1 else f"{ap['mean']:.3f}")
        row: dict[str, Any] = {"method": name, "runs": entry.get("runs", len(ap.get("values", []))), "mAP": text}
        row.update({k: _fmt(m[k]) for k in METRIC_NAMES if k != "mAP" and k in m})
        for key, label in zip(INSTANCE_KEYS, ("top-1", "top-10")):
            if key in m:
                row[label] = _fmt(m[key])
        for g in GROUPS:
            if "map_per_group" in entry:
                row[f"mAP {g}"] = _fmt(entry["map_per_group"][g])
        secs = entry.get("seconds", {})
        row["wall s"] = None if secs.get("mean") is None else round(float(secs["mean"]), 1)
        row["flag"] = ", ".join(entry.get("flagged", [])) or ""
        row["_order"] = -2.0 if entry.get("flagged") else -1.0 if ap.get("mean") is None else float(ap["mean"])
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values("_order", ascending=False, kind="stable").drop(columns="_order").reset_index(drop=True)


def describe_comparison(summary: Mapping[str, Any], baseline: str = "joint") -> str:
    """Sentences computed from the summary's mAP: the best and the worst method, whether the best two are
    apart by more than their spread, and which methods fall below the ``baseline`` (the one-stage joint
    baseline). Nothing in it is written in advance, so it holds for any run.

    >>> s = {"methods": {"a": {"metrics": {"mAP": stat([0.8, 0.9])}}, "joint": {"metrics": {"mAP": stat([0.7])}}}}
    >>> print(describe_comparison(s))
    Best mAP: a (0.850 ± 0.071, 2 runs); lowest: joint (0.700, 1 run). a leads joint by 0.150, more than the spread of the two (std 0.071 and 0.000). No method falls below the joint baseline.
    """
    methods = summary.get("methods", {})
    flagged = [f"{name} ({', '.join(e['flagged'])})" for name, e in methods.items() if e.get("flagged")]
    note = f" Not ranked (at chance or collapsed): {', '.join(flagged)}." if flagged else ""
    ranked = [(name, e["metrics"]["mAP"]) for name, e in methods.items()
              if not e.get("flagged") and e.get("metrics", {}).get("mAP", {}).get("mean") is not None]
    if not ranked:
        return ("No method has an mAP in this summary." if not flagged else "No method is ranked.") + note
    ranked.sort(key=lambda item: -item[1]["mean"])

    def show(s: Mapping[str, Any]) -> str:
        n = len(s["values"])
        spread = f" ± {s['std']:.3f}" if n > 1 else ""
        return f"{s['mean']:.3f}{spread}, {n} run{'s' if n != 1 else ''}"

    (best, b), (worst, w) = ranked[0], ranked[-1]
    parts = [f"Best mAP: {best} ({show(b)}); lowest: {worst} ({show(w)})."]
    if len(ranked) > 1:
        second, s2 = ranked[1]
        gap = b["mean"] - s2["mean"]
        if len(b["values"]) < 2 and len(s2["values"]) < 2:
            verdict = "one run each, so no spread to judge it against"
        elif gap > b["std"] + s2["std"]:
            verdict = f"more than the spread of the two (std {b['std']:.3f} and {s2['std']:.3f})"
        else:
            verdict = f"within the spread of the two (std {b['std']:.3f} and {s2['std']:.3f}): no clear winner"
        parts.append(f"{best} leads {second} by {gap:.3f}, {verdict}.")
    names = [name for name, _ in ranked]
    if baseline in names:
        base = dict(ranked)[baseline]["mean"]
        below = [name for name, s in ranked if s["mean"] < base]
        parts.append(f"Below the {baseline} baseline: {', '.join(below)}." if below else
                     f"No method falls below the {baseline} baseline.")
    return " ".join(parts) + note


def pr_curves(summary: Mapping[str, Any]) -> dict[str, PRCurve]:
    """The mean interpolated PR curve of each method that has one, for
    :func:`~sbsr_lab.retrieval.plots.show_pr_curves` (no raw curve: empty arrays)."""
    out = {}
    for name, entry in summary.get("methods", {}).items():
        if "pr" in entry:
            empty = np.zeros(0)
            out[name] = PRCurve(np.asarray(entry["pr"]["recall_levels"], dtype=np.float64),
                                np.asarray(entry["pr"]["precision"], dtype=np.float64), empty, empty)
    return out


def load_summary(path: str | Path) -> dict[str, Any]:
    """Read a summary written by :func:`write_summary` (``benchmarks/compare_methods.py``), checked."""
    path = Path(path)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SbsrError(f"{path} does not exist; write it with `python benchmarks/compare_methods.py "
                        f"DEMO_DIR [DEMO_DIR ...] --out {path}`.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SbsrError(f"{path} cannot be read as JSON ({exc}); write it again with "
                        "benchmarks/compare_methods.py.") from None
    if not isinstance(summary, dict) or summary.get("version") != SCHEMA_VERSION or "methods" not in summary:
        raise SbsrError(f"{path} is not a method-comparison summary of version {SCHEMA_VERSION}; "
                        "write it again with benchmarks/compare_methods.py.")
    return summary


def write_summary(path: str | Path, summary: Mapping[str, Any]) -> None:
    """Write ``summary`` as JSON, atomically (a temporary name, then ``os.replace``). The demo folders in
    ``runs`` are written without the machine's absolute paths (:func:`sbsr_lab.io.portable_path`), so a
    committed summary says which runs it holds and nothing of where they lay."""
    doc = dict(summary)
    if doc.get("runs"):
        doc["runs"] = [portable_path(r) for r in doc["runs"]]
    atomic_write_json(path, doc, indent=1)


def results_folder(start: str | Path | None = None) -> Path | None:
    """The course's ``docs/results`` folder (the committed results JSON files): the one of the checkout
    holding this package (an editable install, or running from the repository), else the first one in
    ``start`` (default: the working directory) or one of its parents; None when there is none (a wheel
    installed outside the course)."""
    here = Path(start) if start is not None else Path.cwd()
    candidates = [Path(__file__).resolve().parents[2], here.resolve(), *here.resolve().parents]
    return next((d / _RESULTS for d in candidates if (d / _RESULTS).is_dir()), None)


def committed_summary(name: str = COMMITTED_SUMMARY, start: str | Path | None = None,
                      verbose: bool = True) -> dict[str, Any] | None:
    """The committed method-comparison summary ``name`` of :func:`results_folder` (:func:`load_summary`),
    or None when this copy of the course has none. ``verbose``: print which file it read (its profile
    and seeds), or the commands that make it."""
    folder = results_folder(start)
    path = folder / name if folder is not None else None
    if path is None or not path.is_file():
        if verbose:
            print(f"docs/results/{name} is not in this copy of the course yet. It is written by\n"
                  "  python benchmarks/compare_methods.py runs/demo-default-s0 runs/demo-default-s1 "
                  f"runs/demo-default-s2 --out docs/results/{name}\n"
                  "after three `sbsr-lab demo --methods all` runs (--set seed=1, seed=2).")
        return None
    summary = load_summary(path)
    if verbose:
        print(f"docs/results/{name}: profile {summary['profile']!r}, seeds {summary.get('seeds')}, "
              f"{len(summary['methods'])} methods")
    return summary
