"""Optimiser steps each stage of each method trains on one or more datasets: epochs x steps per epoch.

The long-tailed SynthShapes setting (``--set longtail=60:4``) has fewer sketches and shapes than the
balanced one, and an epoch is one pass over them, so at the same epochs it trains fewer steps. This
prints how many, side by side, so that a table comparing the settings can say so:

    PYTHONPATH=. python benchmarks/training_steps.py --data runs/bal/data --data runs/lt/data \\
        [--set longtail=60:4 ...] [--methods all] [--json OUT]

Each ``--data`` folder is read with the profile it was built with (its manifest's profile fields come from
``--profile`` plus the ``--set`` of that folder, given as ``--data DIR:KEY=VALUE,KEY=VALUE``). Nothing is trained:
the stage's loaders are built and counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sbsr_lab.config import get_profile, parse_overrides
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.errors import SbsrError
from sbsr_lab.pipeline import resolve_methods
from sbsr_lab.train.stage import get_stage, stage_order


def stage_steps(data: Path, overrides: dict[str, str], profile_name: str, methods: list[str]) -> dict[str, dict[str, int]]:
    """``{stage: {"epochs", "steps_per_epoch", "steps"}}`` of every stage the methods train on ``data``."""
    profile = get_profile(profile_name, **overrides)
    manifest = load_manifest(data)
    out: dict[str, dict[str, int]] = {}
    for method in methods:
        for stage, _ in stage_order(method):
            if stage in out:
                continue
            st = get_stage(stage)
            loaders, _ = st.loaders(manifest, profile)
            per_epoch = st.steps_per_epoch(loaders)
            epochs = st.epochs(profile)
            out[stage] = {"epochs": epochs, "steps_per_epoch": per_epoch, "steps": epochs * per_epoch}
    return out


def _parse(spec: str) -> tuple[Path, dict[str, str]]:
    folder, _, sets = spec.partition(":")
    pairs = [kv for kv in sets.split(",") if kv]
    bad = [kv for kv in pairs if "=" not in kv]
    if bad:
        raise SbsrError(f"--data {spec}: {bad[0]!r} is not KEY=VALUE; write DIR:KEY=VALUE,KEY=VALUE "
                        "(e.g. runs/lt/data:longtail=60:4).")
    if not (Path(folder) / "manifest.json").is_file():
        raise SbsrError(f"--data {folder}: no manifest.json there; give a dataset folder `sbsr-lab demo` or "
                        "`sbsr-lab data build` wrote.")
    return Path(folder), parse_overrides(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", required=True, metavar="DIR[:KEY=VALUE,...]",
                        help="a dataset folder and the --set overrides it was built with (repeatable)")
    parser.add_argument("--profile", default="default")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--json", type=Path, default=None, help="also write the counts to this JSON file")
    args = parser.parse_args(argv)
    try:
        methods = resolve_methods(args.methods)
        table = {}  # keyed by the folder's name: no machine's paths in a committed JSON
        for spec in args.data:
            folder, overrides = _parse(spec)
            if folder.name in table:
                raise SbsrError(f"Two --data folders are named {folder.name!r}; give folders with different names.")
            table[folder.name] = stage_steps(folder, overrides, args.profile, methods)
    except (SbsrError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stages = list(next(iter(table.values())))
    first = next(iter(table))
    print("stage".ljust(18) + "".join(name.rjust(22) for name in table))
    for stage in stages:
        cells = []
        for counts in table.values():
            c = counts[stage]
            ratio = c["steps"] / max(1, table[first][stage]["steps"])
            cells.append(f"{c['epochs']}x{c['steps_per_epoch']}={c['steps']} ({ratio:.2f})".rjust(22))
        print(stage.ljust(18) + "".join(cells))
    if args.json:
        doc = {"version": 1, "profile": args.profile, "methods": methods, "datasets": table}
        args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
