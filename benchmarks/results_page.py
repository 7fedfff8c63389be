"""Write the results page from the results JSON files: docs/results.md and the README's marked tables.

    python benchmarks/results_page.py            # rewrite docs/results.md and README.md's results blocks
    python benchmarks/results_page.py --check    # exit 1, naming the files, when they are not what the JSON makes

The prose is docs/results/results.template.md; the tables and values come from docs/results/*.json
(:mod:`sbsr_lab.retrieval.results_page`). tests/retrieval/test_results_page.py runs the check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sbsr_lab.io import atomic_write_text
from sbsr_lab.retrieval.results_page import generate, stale

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    args = ap.parse_args(argv)
    if args.check:
        old = stale(ROOT)
        for path in old:
            print(f"{path} is not what docs/results/*.json make: run python benchmarks/results_page.py")
        return 1 if old else 0
    for path, text in generate(ROOT).items():
        atomic_write_text(ROOT / path, text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
