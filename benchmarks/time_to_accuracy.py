"""Benchmark: wall seconds for each method to reach a retrieval mAP on the validation sketches.

    PYTHONPATH=. python benchmarks/time_to_accuracy.py                       # default profile, core methods
    PYTHONPATH=. python benchmarks/time_to_accuracy.py --methods all --target 0.85 --every 2
    PYTHONPATH=. python benchmarks/time_to_accuracy.py --profile ci --json out.json

Every method trains its stages in the demo's order (:func:`sbsr_lab.train.stage.stage_order`, each stage
``--from`` the one it needs; a stage two methods share trains once and counts for both) with the real
training loop (:func:`sbsr_lab.train.fit.fit`). After every ``--every`` epochs of a method's **last**
stage (and after its last epoch), the validation sketches (the ``val_fraction`` of the training
sketches that ``fit`` holds out; never the test sketches) are ranked against the whole gallery with the
method's two networks, and their mAP is recorded. That measuring is timed apart (``hook_s``) and left out
of the method's clock, so "seconds to target" is what a user would wait for a run that stops there
(the earlier stages whole, then the last stage's epochs up to that point).

Per stage, the seconds split as ``fit`` records them in ``metrics.csv``: ``data_s`` (waiting for
batches: decoding, augmenting), ``step_s`` (forward, backward, optimiser step), ``val_s`` (the
classifier's validation accuracy) and ``other`` (start-up, checkpoints, loaders). The dataset is built
first when missing; its seconds are printed apart.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Subset

from sbsr_lab.config import get_profile, parse_overrides
from sbsr_lab.data.build import default_root, ensure_dataset
from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.data.manifest import Manifest, load_manifest
from sbsr_lab.io import atomic_write_json
from sbsr_lab.pipeline import resolve_methods
from sbsr_lab.retrieval.evaluate import evaluate_embeddings
from sbsr_lab.retrieval.runs import embed_shapes, embed_sketches
from sbsr_lab.train.fit import fit
from sbsr_lab.train.runs import load_run
from sbsr_lab.train.stage import get_stage, split_train_val, stage_order


class ValidationMAP:
    """``on_epoch`` hook of :func:`fit`: the mAP of the validation sketches against the gallery.

    ``fixed``: the networks of the ``--from`` run; one serves a modality the stage's model does not embed
    (its embeddings are computed once, at the first measurement). Returns ``{"val_map": ...}`` every
    ``every`` epochs and at ``last_epoch``, ``{}`` otherwise.
    """

    def __init__(self, stage: str, manifest: Manifest, profile: Any, fixed: dict[str, torch.nn.Module],
                 every: int, last_epoch: int) -> None:
        self.stage, self.every, self.last_epoch = get_stage(stage), every, last_epoch
        train = SketchDataset(manifest, "train", profile.image_size, augment=False)
        _, val = split_train_val(train.labels, profile.val_fraction, profile.seed)
        self.sketches, self.sketch_labels = Subset(train, val), train.labels[val]
        self.shapes = MultiViewDataset(manifest, profile.image_size, profile.num_views, profile.view_style)
        self.batch, self.fixed = profile.eval_batch_size, fixed
        self.cache: dict[str, torch.Tensor] = {}

    def _embed(self, kind: str, nets: dict[str, torch.nn.Module]) -> torch.Tensor:
        """(N, d) embeddings of the validation sketches or the gallery: the training model's network, else
        the ``--from`` run's (cached: it does not change)."""
        if kind not in nets and kind in self.cache:
            return self.cache[kind]
        net = nets[kind] if kind in nets else self.fixed[kind].eval()
        z = (embed_sketches(net, self.sketches, batch_size=self.batch)[0] if kind == "sketch"
             else embed_shapes(net, self.shapes, show=False))
        if kind not in nets:
            self.cache[kind] = z
        return z

    def __call__(self, epoch: int, model: torch.nn.Module) -> dict[str, float]:
        if (epoch + 1) % self.every and epoch != self.last_epoch:
            return {}
        nets = self.stage.networks(model)
        z_sketch, z_shape = self._embed("sketch", nets), self._embed("shape", nets)
        report = evaluate_embeddings(z_sketch, self.sketch_labels, z_shape, self.shapes.labels)
        return {"val_map": float(report["metrics"]["mAP"])}


def stage_breakdown(result: Any) -> dict[str, float]:
    """Seconds of one finished :class:`~sbsr_lab.train.fit.FitResult`, split as ``metrics.csv`` records them."""
    h = result.history
    parts = {k: sum(row.get(k, 0.0) for row in h) for k in ("data_s", "step_s", "val_s", "hook_s")}
    parts["other"] = result.seconds - sum(parts.values())
    return {"seconds": result.seconds - parts.pop("hook_s"), **parts}


def run(profile: Any, data: Path, runs: Path, methods: list[str], target: float, every: int) -> dict[str, Any]:
    """Train every method's stages into ``runs``; returns the report (see the module docstring)."""
    manifest = load_manifest(data)
    done: dict[str, tuple[Path, dict[str, float]]] = {}
    report: dict[str, Any] = {"methods": {}}
    for method in methods:
        order = stage_order(method)
        last_stage = order[-1][0]
        clock = 0.0
        stages: dict[str, dict[str, float]] = {}
        curve: list[dict[str, float]] = []
        for stage, needs in order:
            if stage not in done:
                hook = None
                fixed: dict[str, torch.nn.Module] = {}
                if stage == last_stage:
                    st = get_stage(stage)
                    if needs is not None:
                        fixed = get_stage(needs).networks(load_run(done[needs][0])[0])
                    hook = ValidationMAP(stage, manifest, profile, fixed, every, st.epochs(profile) - 1)
                res = fit(stage, profile, data, runs / stage, from_run=done[needs][0] if needs else None,
                          progress=False, on_epoch=hook)
                done[stage] = (res.run, stage_breakdown(res))
                if stage == last_stage:
                    t = clock
                    for row in res.history:
                        t += row["seconds"]
                        if "val_map" in row:
                            curve.append({"epoch": row["epoch"] + 1, "seconds": t, "val_map": row["val_map"]})
            stages[stage] = done[stage][1]
            clock += done[stage][1]["seconds"]
        reached = next((c for c in curve if c["val_map"] >= target), None)
        report["methods"][method] = {
            "stages": stages, "seconds": clock, "curve": curve,
            "final_val_map": curve[-1]["val_map"] if curve else None,
            "seconds_to_target": reached["seconds"] if reached else None,
            "epoch_reached": reached["epoch"] if reached else None,
        }
    return report


def print_report(report: dict[str, Any], target: float) -> None:
    print(f"{'method':8s} {'to mAP ' + format(target, '.2f'):>12s} {'epoch':>6s} {'final mAP':>10s} {'all s':>8s}   "
          f"per stage: seconds (data / step / val / other)")
    for method, r in report["methods"].items():
        to = f"{r['seconds_to_target']:.0f} s" if r["seconds_to_target"] is not None else "not reached"
        ep = str(r["epoch_reached"]) if r["epoch_reached"] is not None else "-"
        final = f"{r['final_val_map']:.3f}" if r["final_val_map"] is not None else "-"
        parts = ", ".join(f"{s} {b['seconds']:.0f} ({b['data_s']:.0f}/{b['step_s']:.0f}/{b['val_s']:.0f}/"
                          f"{b['other']:.0f})" for s, b in r["stages"].items())
        print(f"{method:8s} {to:>12s} {ep:>6s} {final:>10s} {r['seconds']:8.0f}   {parts}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="default")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a profile field")
    ap.add_argument("--data", type=Path, default=None, help="dataset folder (built when missing)")
    ap.add_argument("--methods", default=None, help="comma-separated methods, or all (default: the three core ones)")
    ap.add_argument("--target", type=float, default=0.85, help="validation mAP to reach (default 0.85)")
    ap.add_argument("--every", type=int, default=2, help="measure the mAP every N epochs of the last stage")
    ap.add_argument("--runs", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = ap.parse_args()
    profile = get_profile(args.profile, **parse_overrides(args.set))
    data = args.data or Path(default_root(profile))
    t0 = time.perf_counter()
    ensure_dataset(profile, data, progress=False)
    data_seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or Path(tmp)
        report = run(profile, data, runs, resolve_methods(args.methods), args.target, max(1, args.every))
    report.update(profile=profile.to_dict(), target=args.target, every=args.every, data_seconds=data_seconds,
                  machine=f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    print(f"time to validation mAP {args.target} on the {profile.name} profile ({report['machine']}); "
          f"data ready in {data_seconds:.0f} s")
    print_report(report, args.target)
    if args.json:
        atomic_write_json(args.json, report)


if __name__ == "__main__":
    main()
