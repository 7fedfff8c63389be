"""Is a result a result? A flag for runs at chance or collapsed, so that tables never rank them.

A model that learned nothing still produces numbers: a collapsed one (every sketch and shape mapped to
nearly the same point) gives every shape almost the same score, and its NN, FT and mAP are those of a
random ranking -- on a long-tailed gallery that can look like 0.40 mAP. :func:`collapse_flag` says so:

* **at chance**: NN (the first result's class is right) within ``max(0.02, 3 standard errors)`` of what a
  random ranking gets, ``mean over queries of C_q / N`` (C_q the query's class size, N the gallery);
* **collapsed**: the scores hardly vary -- the median over queries of the spread (standard deviation)
  of a query's scores over the gallery is below :data:`MIN_SPREAD`.

A flagged row is shown as such (``flag`` in ``results.json``, the report and every comparison table) and
never ranked.

>>> import numpy as np
>>> collapse_flag(np.zeros((4, 6)), [0, 0, 1, 1], [0, 0, 0, 1, 1, 1], nn=0.5)["flagged"]
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from sbsr_lab.retrieval.ranking import ArrayLike, LabelsLike, as_similarity, encode_labels

__all__ = ["collapse_flag", "MIN_SPREAD", "chance_nn"]

#: Median per-query standard deviation of the scores below which a model counts as collapsed.
MIN_SPREAD: float = 1e-3


def chance_nn(query_labels: LabelsLike, gallery_labels: LabelsLike) -> float:
    """NN of a random ranking: the mean over queries of (gallery items of the query's class) / N."""
    q, g = np.asarray(query_labels), np.asarray(gallery_labels)
    qc, gc, _ = encode_labels(q, g, len(q), len(g))
    sizes = np.bincount(gc, minlength=int(max(qc.max(initial=0), gc.max(initial=0))) + 1)
    return float(np.mean(sizes[qc] / len(gc)))


def collapse_flag(similarity: ArrayLike, query_labels: LabelsLike, gallery_labels: LabelsLike,
                  nn: float) -> dict[str, Any]:
    """``{"flagged", "reason", "nn", "chance_nn", "margin", "spread"}`` for a (Q, N) similarity and its NN.

    ``reason`` is ``"collapsed"`` (scores of near-zero spread), ``"at chance"`` (NN within the margin of
    a random ranking's) or ``None``.
    """
    sim = as_similarity(similarity)
    chance = chance_nn(query_labels, gallery_labels)
    q = sim.shape[0]
    margin = max(0.02, 3.0 * math.sqrt(max(chance * (1.0 - chance), 1e-12) / q))
    spread = float(torch.median(sim.double().std(dim=1, unbiased=False)).item()) if sim.shape[1] > 1 else 0.0
    reason = "collapsed" if spread < MIN_SPREAD else "at chance" if nn <= chance + margin else None
    return {"flagged": reason is not None, "reason": reason, "nn": float(nn), "chance_nn": round(chance, 4),
            "margin": round(margin, 4), "spread": spread}
