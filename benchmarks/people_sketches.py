"""The bundled model on the hand-made people-style sketches (tests/data/people_sketches): top-1 and P@10.

    PYTHONPATH=. python benchmarks/people_sketches.py [--methods uactn cfttsl] [--threads 2]
    PYTHONPATH=. python benchmarks/people_sketches.py --model runs/x/shape-transfer --data data/synthshapes-default

``--model`` takes any model spec of :func:`sbsr_lab.serve.engine.load_engine` (a run folder,
``bundle:uactn``, ...; repeat it for several) instead of the bundled ``--methods``; ``--data`` is the
dataset whose gallery a run folder's networks embed (default: the one it was trained on).

Every drawing of the set goes in three ways -- its strokes (``.ndjson``), its 600x450 page (``.png``)
and, for some, a photo of the paper (``_photo.jpg``) -- each prepared two ways:

* ``before``: the preprocessing the query path had before :mod:`sbsr_lab.data.sketch_image`
  (ndjson rasterised where it lies on its canvas; a PNG padded to a square and shrunk);
* ``after``: :func:`sbsr_lab.data.sketch_image.load_framed_sketch` (framed like training sketches).

top-1 = the first retrieved shape is of the drawing's class; P@10 = share of the top 10 of its class.
Prints one table per method: per input kind and preparation, overall and per drawing style (and per
class and the number the out-of-distribution detector flags, for the framed inputs through
``engine.query``), then the drawings the framed PNG path gets wrong.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1] / "tests" / "data" / "people_sketches"


def _before(path: Path, size: int) -> np.ndarray:
    from sbsr_lab.data.stroke_io import load_sketch_image

    return load_sketch_image(path, size)


def _after(path: Path, size: int) -> np.ndarray:
    from sbsr_lab.data.sketch_image import load_framed_sketch

    return load_framed_sketch(path, size)


def score(engine, path: Path, cls: str, prepare: Callable[[Path, int], np.ndarray]) -> tuple[int, float, str]:
    """(top-1 hit, P@10, first retrieved class) of one sketch file."""
    from sbsr_lab.data.datasets import resize_u8

    image = prepare(path, engine.sketch_size)
    if image.shape != (engine.image_size, engine.image_size):
        image = resize_u8(image, engine.image_size).astype(np.float32) / 255
    z, _, _ = engine.embed(image)
    _, idx = engine.index.search(z[None], k=10)
    labels = [engine.index.labels[int(i)] for i in idx[0]]
    return int(labels[0] == cls), sum(lab == cls for lab in labels) / 10.0, labels[0]


def main() -> None:
    from sbsr_lab.serve.engine import load_engine

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", nargs="+", default=["uactn", "cfttsl"])
    ap.add_argument("--model", action="append", default=None,
                    help="a model spec (run folder, bundle:METHOD); repeatable; replaces --methods")
    ap.add_argument("--data", default=None, help="dataset folder for a run folder's gallery")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    index = json.loads((ROOT / "index.json").read_text())
    kinds = {"strokes": "ndjson", "png": "png", "photo": "photo"}
    for method in args.model or [f"bundle:{m}" for m in args.methods]:
        engine = load_engine(method, data=args.data)
        print(f"\n== {method}: {len(index)} drawings, {len({e['class'] for e in index})} classes ==")
        misses: list[str] = []
        for kind, key in kinds.items():
            for prep_name, prep in (("before", _before), ("after", _after)):
                per_style: dict[str, list[tuple[int, float]]] = defaultdict(list)
                per_class: dict[str, list[int]] = defaultdict(list)
                rows = []
                flagged = 0  # framed inputs the query path answers "does not look like any class I know"
                for e in index:
                    if key not in e:
                        continue
                    hit, p10, got = score(engine, ROOT / e[key], e["class"], prep)
                    rows.append((hit, p10))
                    if prep_name == "after" and engine.calibration is not None:
                        flagged += engine.query(ROOT / e[key]).is_ood
                    per_style[e["style"]].append((hit, p10))
                    per_class[e["class"]].append(hit)
                    if prep_name == "after" and kind == "png" and not hit:
                        misses.append(f"{e['class']}/{e['name']} ({e['style']}) -> {got}")
                hits = sum(h for h, _ in rows)
                p10 = float(np.mean([p for _, p in rows]))
                styles = "  ".join(f"{s} {sum(h for h, _ in v)}/{len(v)}" for s, v in sorted(per_style.items()))
                print(f"{kind:8s} {prep_name:6s} top-1 {hits:3d}/{len(rows)} = {hits / len(rows):.3f}  "
                      f"P@10 {p10:.3f} | {styles}")
                if prep_name == "after":
                    if engine.calibration is not None:
                        print(f"                  flagged as not a shape (false alarms): {flagged}/{len(rows)}")
                    print("                  per class: " + "  ".join(f"{c} {sum(v)}/{len(v)}"
                                                                    for c, v in sorted(per_class.items())))
        print("framed PNG misses: " + ("; ".join(misses) or "none"))


if __name__ == "__main__":
    main()
