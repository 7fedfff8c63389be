"""The whole pipeline (``sbsr-lab demo``): data, every method, evaluation, a results table and a report.

    from sbsr_lab.pipeline import run_demo, train_method
    results = run_demo("ci", out="runs/demo-ci")

Builds SynthShapes if missing, trains the chosen methods' stages in order
(:func:`sbsr_lab.train.stages.method_stages`: CFTTSL teacher -> student, UACTN sketch-uncertainty ->
shape-transfer, the joint baseline; with ``methods=`` or ``--methods`` also the field's other
approaches dca, cmic, ssl, ssltkd, or ``all``), evaluates each on the test sketches against the whole
gallery, prints the table and writes ``results.json`` and ``report.html`` (opens offline) into ``out``.
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
from sbsr_lab.train.fit import fit, resolve_device
from sbsr_lab.train.stages import method_stages, stage_order

__all__ = ["CORE_METHODS", "train_method", "run_demo", "resolve_methods", "stage_order"]

#: What ``sbsr-lab demo`` trains unless told otherwise (the course's three methods).
CORE_METHODS: tuple[str, ...] = ("cfttsl", "uactn", "joint")


def resolve_methods(methods: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """``None`` -> :data:`CORE_METHODS`; ``"all"`` -> every registered method; ``"dca,cmic"`` or a list ->
    those, checked (:class:`~sbsr_lab.errors.ConfigError` naming the choices)."""
    known = list(method_stages())
    if methods is None:
        return list(CORE_METHODS)
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

    evaluations = {}
    for method in chosen:
        run, stage_seconds = train_method(method, profile, data, out, resume=resume, progress=progress)
        for stage, secs in stage_seconds.items():  # a stage two methods share counts once, when first trained
            seconds.setdefault(stage, secs)
        t0 = time.perf_counter()
        evaluations[method] = evaluate_method(run, data, device=profile.device)
        seconds[f"evaluate-{method}"] = time.perf_counter() - t0

    uactn = evaluations.get("uactn")
    results: dict[str, Any] = {
        "profile": profile.name,
        "methods": {name: ev.metrics for name, ev in evaluations.items()},
        "uncertainty_noise_spearman": uactn.spearman_sigma_noise if uactn else None,
        "uncertainty_noise_spearman_within_class": uactn.spearman_sigma_noise_within_class if uactn else None,
        "per_style": {name: ev.per_style for name, ev in evaluations.items() if ev.per_style},  # top-1 / mAP per drawing style
        "flags": {name: ev.flag for name, ev in evaluations.items() if ev.flag and ev.flag["flagged"]},  # never ranked
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "torch_threads": torch.get_num_threads(),  # one thread count per table: compare_methods checks it
        "ties": "shuffle",  # how tied scores were ordered (retrieval/ranking.py)
    }
    if (out / "ssl-pretrain" / "best.json").exists() and {"ssl", "ssltkd"} & set(chosen):
        results["linear_probe"] = {"ssl-pretrain": ssl_linear_probe(out / "ssl-pretrain", data)}
    groups = {name: ev.map_per_group for name, ev in evaluations.items() if ev.map_per_group is not None}
    if groups:  # long-tailed classes: mAP of the many / medium / few groups
        results["map_per_group"] = groups
    results["seconds"]["total"] = round(sum(seconds.values()), 2)
    atomic_write_json(out / "results.json", results)
    within = results["uncertainty_noise_spearman_within_class"]
    within_txt = "n/a (too few test sketches per class)" if within is None else f"{within:.3f}"
    extra: dict[str, Any] = {}
    if uactn:
        extra["Spearman(UACTN sigma, injected noise)"] = f"{results['uncertainty_noise_spearman']:.3f}"
        extra["the same within each class (mean over classes)"] = within_txt
    extra["seconds"] = results["seconds"]
    write_report(out / "report.html", evaluations, load_manifest(data),
                 title=f"sbsr_lab demo ({profile.name} profile)", extra=extra)
    if verbose:
        print(metrics_table_text(results["methods"]))
        for name, flag in results["flags"].items():
            print(f"{name}: FLAGGED {flag['reason']} (NN {flag['nn']:.3f}, chance {flag['chance_nn']:.3f}): not a result")
        for name, g in groups.items():
            print(f"{name}: mAP many {_fmt(g['many'])} medium {_fmt(g['medium'])} few {_fmt(g['few'])}")
        if uactn:
            print(f"Spearman(UACTN sigma, injected noise) = {results['uncertainty_noise_spearman']:.3f} "
                  f"(within class {within_txt})")
        if "linear_probe" in results:
            print(f"SSL linear probe (frozen self-supervised shape features): {results['linear_probe']['ssl-pretrain']:.3f}")
        print(f"{results['seconds']['total']:.0f} s in all")
        print(f"results: {out / 'results.json'}  report: {out / 'report.html'}")
    return results


def ssl_linear_probe(run: str | Path, data: str | Path) -> float:
    """Linear-probe accuracy of an ``ssl-pretrain`` run's frozen view-pooled features on the gallery of
    ``data``: a logistic regression fitted on half of each class's shapes, scored on the other half."""
    from sbsr_lab.data.datasets import MultiViewDataset
    from sbsr_lab.retrieval.probe import linear_probe_accuracy
    from sbsr_lab.train.methods.ssl import shape_features
    from sbsr_lab.train.runs import load_run
    from sbsr_lab.train.stages import split_train_val

    model, meta = load_run(run)
    p = Profile.from_dict(meta["profile"])
    shapes = MultiViewDataset(load_manifest(data), p.image_size, p.num_views, p.view_style)
    z, y = shape_features(model.features, shapes, p, resolve_device("cpu"))
    fit_idx, test_idx = split_train_val(y, 0.5, p.seed)
    return round(linear_probe_accuracy(z[fit_idx], y[fit_idx], z[test_idx], y[test_idx]), 4)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
