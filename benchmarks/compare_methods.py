"""Summarise several demo runs (one per seed) into one JSON file: mean ± std per method and metric.

    sbsr-lab demo --methods all --out runs/demo-default-s0
    sbsr-lab demo --methods all --set seed=1 --out runs/demo-default-s1
    sbsr-lab demo --methods all --set seed=2 --out runs/demo-default-s2
    PYTHONPATH=. python benchmarks/compare_methods.py runs/demo-default-s0 runs/demo-default-s1 \\
        runs/demo-default-s2 --out docs/results/methods-default.json
    # other settings beside the balanced one, each a group of demo folders:
    #   --setting longtail runs/demo-lt-s0 runs/demo-lt-s1 --setting instance runs/demo-inst-s0

The summary's schema is in :mod:`sbsr_lab.retrieval.compare`. With run folders present (a whole demo
folder, not only its results.json), each method's last stage is evaluated again for its PR curve;
``--no-pr`` skips that. The file is written atomically. Notebook 07 reads
``docs/results/methods-default.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sbsr_lab.errors import SbsrError
from sbsr_lab.retrieval.compare import comparison_table, summarise_demos, write_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demos", nargs="+", type=Path, help="demo folders (each holds results.json), one per seed")
    parser.add_argument("--out", type=Path, required=True, help="the summary JSON file to write")
    parser.add_argument("--name", default="balanced", help="the setting the positional folders are (default balanced)")
    parser.add_argument("--setting", nargs="+", action="append", default=[], metavar=("NAME", "DIR"),
                        help="another setting: its name, then its demo folders (repeatable)")
    parser.add_argument("--no-pr", action="store_true", help="do not evaluate the run folders for PR curves")
    parser.add_argument("--no-settings-pr", action="store_true",
                        help="PR curves for the positional (balanced) folders only, not the --setting groups "
                             "(notebook 07 plots the balanced ones; each evaluation embeds the whole gallery again)")
    parser.add_argument("--data", type=Path, default=None, help="dataset for the PR curves (default: each run's own)")
    args = parser.parse_args(argv)
    try:
        summary = summarise_demos(args.demos, pr=not args.no_pr, data=args.data)
        settings = {args.name: {k: v for k, v in summary.items()}}
        for group in args.setting:
            if len(group) < 2:
                parser.error(f"--setting {group[0]}: give the setting's demo folders after its name")
            settings[group[0]] = summarise_demos([Path(p) for p in group[1:]],
                                                 pr=not (args.no_pr or args.no_settings_pr), data=args.data)
        if len(settings) > 1:
            summary["settings"] = settings
        write_summary(args.out, summary)
    except SbsrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(comparison_table(summary).to_string(index=False))
    for name, s in summary.get("settings", {}).items():
        if name != args.name:
            print(f"\n{name}:")
            print(comparison_table(s).to_string(index=False))
    print(f"\nsummary of {len(args.demos)} demo(s): {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
