"""The whole pipeline (``sbsr-lab demo``): data, every method, evaluation, a results table and a report.

    from sbsr_lab.pipeline import run_demo, train_method
    results = run_demo("ci", out="runs/demo-ci")

Builds SynthShapes if missing, trains every registered method's stages in order
(:func:`sbsr_lab.train.stages.method_stages`: CFTTSL teacher -> student, UACTN sketch-uncertainty ->
shape-transfer, the joint baseline), evaluates each on the test sketches against the whole gallery,
prints the table and writes ``results.json`` and ``report.html`` (opens offline) into ``out``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sbsr_lab.config import Profile, get_profile
from sbsr_lab.data.build import build_synthshapes, default_root
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.io import atomic_write_json
from sbsr_lab.retrieval.evaluate import metrics_table_text
from sbsr_lab.retrieval.report import write_report
from sbsr_lab.retrieval.runs import evaluate_method
from sbsr_lab.train.fit import fit
from sbsr_lab.train.stages import method_stages

__all__ = ["train_method", "run_demo"]


def train_method(method: str, profile: Profile | str, data: str | Path, runs: str | Path, resume: bool = True,
                 progress: bool = True) -> tuple[Path, dict[str, float]]:
    """Train every stage of ``method`` (``cfttsl``, ``uactn``, ``joint``...) into ``runs/<stage>``, in order.

    Each stage starts ``--from`` the stage it needs (:func:`~sbsr_lab.train.stages.method_stages`). With
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
    for stage, parent in stages[method]:
        t0 = time.perf_counter()
        fit(stage, profile, data, runs / stage, from_run=runs / parent if parent else None, resume=resume,
            progress=progress)
        seconds[stage] = time.perf_counter() - t0
    return runs / stages[method][-1][0], seconds


def run_demo(profile: Profile | str = "default", data: str | Path | None = None, out: str | Path | None = None,
             workers: int | None = None, progress: bool = True, resume: bool = True,
             verbose: bool = True) -> dict[str, Any]:
    """Run the whole pipeline for ``profile``; returns the ``results.json`` content.

    ``progress`` shows the progress bars; ``verbose`` prints the results table at the end.

    ``resume=True`` continues stages whose ``last`` checkpoint exists in ``out`` (an interrupted demo
    picks up where it stopped).
    """
    profile = get_profile(profile)
    data = Path(data) if data is not None else default_root(profile)
    out = Path(out) if out is not None else Path("runs") / f"demo-{profile.name}"
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    build_synthshapes(profile, data, workers=workers, progress=progress)
    seconds["data"] = time.perf_counter() - t0

    evaluations = {}
    for method in method_stages():
        run, stage_seconds = train_method(method, profile, data, out, resume=resume, progress=progress)
        seconds.update(stage_seconds)
        t0 = time.perf_counter()
        evaluations[method] = evaluate_method(run, data, device=profile.device)
        seconds[f"evaluate-{method}"] = time.perf_counter() - t0

    results: dict[str, Any] = {
        "profile": profile.name,
        "methods": {name: ev.metrics for name, ev in evaluations.items()},
        "uncertainty_noise_spearman": evaluations["uactn"].spearman_sigma_noise,
        "uncertainty_noise_spearman_within_class": evaluations["uactn"].spearman_sigma_noise_within_class,
        "per_style": {name: ev.per_style for name, ev in evaluations.items() if ev.per_style},  # top-1 / mAP per drawing style
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    results["seconds"]["total"] = round(sum(seconds.values()), 2)
    atomic_write_json(out / "results.json", results)
    within = results["uncertainty_noise_spearman_within_class"]
    within_txt = "n/a (too few test sketches per class)" if within is None else f"{within:.3f}"
    write_report(out / "report.html", evaluations, load_manifest(data),
                 title=f"sbsr_lab demo ({profile.name} profile)",
                 extra={"Spearman(UACTN sigma, injected noise)": f"{results['uncertainty_noise_spearman']:.3f}",
                        "the same within each class (mean over classes)": within_txt,
                        "seconds": results["seconds"]})
    if verbose:
        print(metrics_table_text(results["methods"]))
        print(f"Spearman(UACTN sigma, injected noise) = {results['uncertainty_noise_spearman']:.3f} "
              f"(within class {within_txt}); "
              f"{results['seconds']['total']:.0f} s in all")
        print(f"results: {out / 'results.json'}  report: {out / 'report.html'}")
    return results
