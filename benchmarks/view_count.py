"""Shape networks train on means of 3 views and are tested on means of 12: does the mismatch cost anything?

    PYTHONPATH=. python benchmarks/view_count.py --runs build/bundle-runs/runs --data build/bundle-runs/data

For each method's last run (``shape-transfer``, ``student``, ``joint`` under ``--runs``) the gallery of ``--data``
is embedded three ways and the test sketches are evaluated against each (SHREC metrics, ties shuffled):

* the mean of all 12 views (what ``evaluate_method`` does);
* the average of four 3-view means (views k, k+4, k+8): the head's BatchNorm sees 3-view means, as in training;
* one 3-view mean.

A measurement of existing models (no setting is chosen from it); docs/experiments.md has the figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.retrieval.evaluate import evaluate_embeddings
from sbsr_lab.similarity import l2_normalize
from sbsr_lab.train.runs import load_method


def embed(net, views: torch.Tensor, picks: list[int] | None = None, batch: int = 32) -> torch.Tensor:
    """Unit embeddings of ``views (N, V, 1, H, W)`` (only the views ``picks`` when given)."""
    chosen = views if picks is None else views[:, picks]
    return l2_normalize(torch.cat([net.embed(chosen[i:i + batch]) for i in range(0, len(chosen), batch)]))


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", required=True, help="folder with the shape-transfer, student and joint runs")
    ap.add_argument("--data", required=True, help="the dataset they were trained on")
    ap.add_argument("--image-size", type=int, default=96)
    args = ap.parse_args()
    manifest = load_manifest(args.data)
    gallery = MultiViewDataset(manifest, args.image_size, 12)
    views = gallery.views.float().div(255).unsqueeze(2)  # (N, 12, 1, H, W)
    sketches = SketchDataset(manifest, "test", args.image_size)
    x = torch.stack([sketches[i][0] for i in range(len(sketches))])
    for run in ("shape-transfer", "student", "joint"):
        if not (Path(args.runs) / run).is_dir():
            continue
        nets = load_method(Path(args.runs) / run)
        q = torch.cat([nets.sketch.embed(x[i:i + 256]) for i in range(0, len(x), 256)])
        subsets = [[k, k + 4, k + 8] for k in range(4)]
        ways = {"12-view mean": embed(nets.shape, views),
                "four 3-view means": l2_normalize(sum(embed(nets.shape, views, s) for s in subsets)),
                "one 3-view mean": embed(nets.shape, views, subsets[0])}
        for name, g in ways.items():
            m = evaluate_embeddings(q, sketches.labels, g, gallery.labels)["metrics"]
            print(f"{run:<15} {name:<18} mAP {m['mAP']:.4f}  NN {m['NN']:.4f}", flush=True)
    print(f"torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
