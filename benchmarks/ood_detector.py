"""The out-of-distribution detector of the bundled models: what it catches and what it wrongly flags.

    PYTHONPATH=. python benchmarks/ood_detector.py --data data/synthshapes-default [--methods uactn cfttsl]

For each method (``--model`` takes any model spec instead, repeatable) it prints, from
:func:`sbsr_lab.serve.calibration.ood_report`:

* held-out scribbles caught (the true positive rate; other draws of the kinds the threshold was chosen
  on, and that outlier exposure trains on when the model was trained with it), overall and per kind;
* doodles caught (smileys, printed words, glasses, crowns, keys, envelopes: kinds never fitted
  or trained on, :data:`sbsr_lab.data.scribbles.DOODLE_KINDS`);
* the false alarms: test sketches of ``--data`` flagged, and the hand-made people-style drawings
  (tests/data/people_sketches, strokes and PNG pages) flagged;
* the test sketches' expected calibration error before and after the temperature, and each score's AUROC.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1] / "tests" / "data" / "people_sketches"


def people_images(engine) -> torch.Tensor:
    """The people-style drawings as the query path frames them: strokes, then PNG pages, ``(2N, 1, H, W)``."""
    index = json.loads((ROOT / "index.json").read_text())
    images = [engine.prepare(ROOT / e[key]) for key in ("ndjson", "png") for e in index]
    return torch.from_numpy(np.stack(images)).unsqueeze(1)


def main() -> None:
    from sbsr_lab.data.manifest import load_manifest
    from sbsr_lab.serve.calibration import ood_report
    from sbsr_lab.serve.engine import load_engine

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", nargs="+", default=["uactn", "cfttsl"])
    ap.add_argument("--model", action="append", default=None, help="a model spec; repeatable; replaces --methods")
    ap.add_argument("--data", required=True, help="the dataset whose test sketches give the false-alarm rate")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    manifest = load_manifest(args.data)
    for spec in args.model or [f"bundle:{m}" for m in args.methods]:
        engine = load_engine(spec, data=args.data)
        cal = engine.calibration
        if cal is None:
            print(f"\n== {spec}: no calibration, no detector ==")
            continue
        people = people_images(engine)
        r = ood_report(engine, cal, manifest, extra={"people": people})
        n_s, n_d = r["n_scribbles"], 120
        print(f"\n== {spec}: score {r['score']}, threshold {r['threshold']:.4f}, T = {cal.temperature:.3f} ==")
        per_kind = r["n_per_kind"]
        print(f"scribbles caught  {round(r['tpr_scribbles'] * n_s):3d}/{n_s} | "
              + "  ".join(f"{k} {round(v * per_kind[k]):d}/{per_kind[k]}" for k, v in r["tpr_per_kind"].items()))
        print(f"doodles caught    {round(r['tpr_doodles'] * n_d):3d}/{n_d} (never fitted or trained on) | "
              + "  ".join(f"{k} {round(v * n_d / len(r['tpr_doodles_per_kind'])):d}"
                          for k, v in r["tpr_doodles_per_kind"].items()))
        print(f"false alarms      test sketches {r['fpr_test_sketches']:.3f} of {r['n_test']}  |  "
              f"people's drawings {round(r['fpr_people'] * len(people))}/{len(people)} (strokes + PNG)")
        print(f"test ECE          {r['ece_test_before']:.3f} -> {r['ece_test_after']:.3f} with the temperature")
        print("AUROC (test sketches vs held-out scribbles): "
              + "  ".join(f"{k} {v:.3f}" for k, v in r["auroc_test"].items()))


if __name__ == "__main__":
    main()
