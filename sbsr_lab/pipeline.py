"""The whole pipeline (``sbsr-lab demo``): data, every method, evaluation, a results table and a report.

    from sbsr_lab.pipeline import run_demo, train_method
    results = run_demo("ci", out="runs/demo-ci")

Builds SynthShapes if missing, trains the chosen methods' stages in order
(:func:`sbsr_lab.train.stage.method_stages`: CFTTSL teacher -> student, UACTN sketch-uncertainty ->
shape-transfer, the joint baseline; with ``methods=`` or ``--methods`` also the field's other
approaches dca, cmic, ssl, ssltkd, or ``all``), evaluates each on the test sketches against the whole
gallery, prints the table and writes ``results.json`` and ``report.html`` (opens offline) into ``out``.
The pipeline names no method: each adds its own figures through
:meth:`~sbsr_lab.train.stage.Method.report_extras` (UACTN's sigma-noise Spearman, SSL's linear probe).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from sbsr_lab.config import Profile, get_profile
from sbsr_lab.data.build import build_synthshapes, default_root
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.errors import ConfigError
from sbsr_lab.io import atomic_write_json
from sbsr_lab.retrieval.evaluate import metrics_table_text
from sbsr_lab.retrieval.report import write_report
from sbsr_lab.retrieval.runs import evaluate_method
from sbsr_lab.train.fit import fit
from sbsr_lab.train.stage import ReportExtras, default_methods, get_method, method_stages, stage_order

__all__ = ["train_method", "run_demo", "resolve_methods", "stage_order"]


def resolve_methods(methods: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """``None`` -> the demo's methods (:func:`~sbsr_lab.train.stage.default_methods`: cfttsl, uactn, joint);
    ``"all"`` -> every registered method; ``"dca,cmic"`` or a list ->
    those, checked (:class:`~sbsr_lab.errors.ConfigError` naming the choices)."""
    known = list(method_stages())
    if methods is None:
        return default_methods()
    names = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
    names = [m for m in names if m]
    if names == ["all"]:
        return known
    unknown = [m for m in names if m not in known]
    if unknown or not names:
        raise ConfigError(f"Unknown method {unknown[0] if unknown else '(none given)'!r} in --methods; choose "
                          f"from {', '.join(known)}, or all (e.g. --methods joint,dca)")
    return list(dict.fromkeys(names))


def train_method(method: str, profile: Profile | str, data: str | Path, runs: str | Path, resume: bool = True,
                 progress: bool = True) -> tuple[Path, dict[str, float]]:
    """Train every stage of ``method`` (``cfttsl``, ``uactn``, ``joint``...) into ``runs/<stage>``, in order.

    Each stage starts ``--from`` the stage it needs (:func:`~sbsr_lab.train.stage.method_stages`). With
    ``resume`` a finished stage returns at once and an interrupted one continues. Returns ``(the last
    stage's run folder, the seconds each stage took)``; the run folder is what
    :func:`~sbsr_lab.train.runs.load_method` and ``evaluate_method`` take.
    """
    stages = method_stages()
    if method not in stages:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(stages)}")
    profile = get_profile(profile)
    runs = Path(runs)
    seconds: dict[str, float] = {}
    for stage, parent in stage_order(method):
        t0 = time.perf_counter()
        fit(stage, profile, data, runs / stage, from_run=runs / parent if parent else None, resume=resume,
            progress=progress)
        seconds[stage] = time.perf_counter() - t0
    return runs / stages[method][-1][0], seconds


def run_demo(profile: Profile | str = "default", data: str | Path | None = None, out: str | Path | None = None,
             workers: int | None = None, progress: bool = True, resume: bool = True,
             verbose: bool = True, methods: str | list[str] | None = None) -> dict[str, Any]:
    """Run the whole pipeline for ``profile``; returns the ``results.json`` content.

    ``methods``: which methods (:func:`resolve_methods`; default the three core ones, ``"all"`` every one).

    ``progress`` shows the progress bars; ``verbose`` prints the results table at the end.

    ``resume=True`` continues stages whose ``last`` checkpoint exists in ``out`` (an interrupted demo
    picks up where it stopped).
    """
    profile = get_profile(profile)
    chosen = resolve_methods(methods)
    data = Path(data) if data is not None else default_root(profile)
    out = Path(out) if out is not None else Path("runs") / f"demo-{profile.name}"
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    build_synthshapes(profile, data, workers=workers, progress=progress)
    seconds["data"] = time.perf_counter() - t0

    evaluations, runs = {}, {}
    for method in chosen:
        runs[method], stage_seconds = train_method(method, profile, data, out, resume=resume, progress=progress)
        for stage, secs in stage_seconds.items():  # a stage two methods share counts once, when first trained
            seconds.setdefault(stage, secs)
        t0 = time.perf_counter()
        evaluations[method] = evaluate_method(runs[method], data, device=profile.device)
        seconds[f"evaluate-{method}"] = time.perf_counter() - t0

    extras = ReportExtras()  # each method's figures beyond the SHREC metrics (Method.report_extras)
    for method in chosen:
        extras.merge(get_method(method).report_extras(runs[method], evaluations[method], data))
    results: dict[str, Any] = {
        "profile": profile.name,
        "methods": {name: ev.metrics for name, ev in evaluations.items()},
        "per_style": {name: ev.per_style for name, ev in evaluations.items() if ev.per_style},  # top-1 / mAP per drawing style
        "flags": {name: ev.flag for name, ev in evaluations.items() if ev.flag and ev.flag["flagged"]},  # never ranked
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "torch_threads": torch.get_num_threads(),  # one thread count per table: compare_methods checks it
        "ties": "shuffle",  # how tied scores were ordered (retrieval/ranking.py)
        **extras.results,
    }
    groups = {name: ev.map_per_group for name, ev in evaluations.items() if ev.map_per_group is not None}
    if groups:  # long-tailed classes: mAP of the many / medium / few groups
        results["map_per_group"] = groups
    results["seconds"]["total"] = round(sum(seconds.values()), 2)
    atomic_write_json(out / "results.json", results)
    write_report(out / "report.html", evaluations, load_manifest(data),
                 title=f"sbsr_lab demo ({profile.name} profile)", extra={**extras.report, "seconds": results["seconds"]})
    if verbose:
        print(metrics_table_text(results["methods"]))
        for name, flag in results["flags"].items():
            print(f"{name}: FLAGGED {flag['reason']} (NN {flag['nn']:.3f}, chance {flag['chance_nn']:.3f}): not a result")
        for name, g in groups.items():
            print(f"{name}: mAP many {_fmt(g['many'])} medium {_fmt(g['medium'])} few {_fmt(g['few'])}")
        for line in extras.lines:
            print(line)
        print(f"{results['seconds']['total']:.0f} s in all")
        print(f"results: {out / 'results.json'}  report: {out / 'report.html'}")
    return results


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
