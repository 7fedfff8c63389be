"""Precision-recall curves, raw and interpolated, from the ranks of the relevant items.

Three curves, each averaged over queries; every plot says which one it shows:

* **interpolated** (ours, the TREC rule): for each query, the interpolated precision at recall r is
  the best precision reached at any recall >= r, ``P_interp(r) = max_{k/C >= r} k / rank_k``; it is
  read at fixed recall levels and averaged over queries. Levels: ``"shrec"`` = 0.05, 0.10, ..., 1.00
  (20 points, the SHREC'13/'14 levels), ``"11pt"`` = 0.0, 0.1, ..., 1.0 (TREC 11-point), or any
  increasing sequence in [0, 1]. It never increases with recall.
* **official SHREC** (:func:`shrec_official_pr`, the sketch-track toolkit's ``CalAvgPerf`` and
  ``InterpolatePerf``, what SHREC'13/'14 papers plot): at recall r = j/20, each query's precision is read
  *linearly between* the precisions at its relevant items floor(rC) and floor(rC) + 1 (clamped to 1..C),
  and averaged over the queries whose class has C >= 2 and C >= 1/r items only. It is not monotone and
  differs from ours by a few points; compare with published curves with this one.
* **raw**: for every cut-off k = 1..N, the mean over queries of precision@k = hits/k and of
  recall@k = hits/C. Plotting raw recall against raw precision gives the un-interpolated curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from sbsr_lab.retrieval.ranking import ArrayLike, LabelsLike, RelevantRanks, RetrievalError, Ties, rank_relevant

__all__ = [
    "SHREC_RECALL_LEVELS",
    "ELEVEN_POINT_RECALL_LEVELS",
    "PRCurve",
    "recall_levels_from",
    "interpolated_precision",
    "pr_curve_from_ranks",
    "precision_recall_curve",
    "shrec_official_pr",
]

#: Recall levels of the SHREC sketch-track scripts: 0.05, 0.10, ..., 1.00.
SHREC_RECALL_LEVELS: np.ndarray = np.round(np.arange(1, 21) * 0.05, 2)
#: TREC 11-point recall levels: 0.0, 0.1, ..., 1.0.
ELEVEN_POINT_RECALL_LEVELS: np.ndarray = np.round(np.arange(11) * 0.1, 1)

RecallLevels = Union[Literal["shrec", "11pt"], Sequence[float], np.ndarray]


@dataclass(frozen=True)
class PRCurve:
    """A precision-recall curve averaged over queries (numpy float64 arrays).

    recall_levels: (L,); precision: (L,) interpolated precision at those levels.
    raw_recall, raw_precision: (N,) mean recall@k and precision@k for k = 1..N.
    """

    recall_levels: np.ndarray
    precision: np.ndarray
    raw_recall: np.ndarray
    raw_precision: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of lists."""
        return {
            "recall_levels": self.recall_levels.tolist(),
            "precision": self.precision.tolist(),
            "raw_recall": self.raw_recall.tolist(),
            "raw_precision": self.raw_precision.tolist(),
        }


def recall_levels_from(levels: RecallLevels) -> np.ndarray:
    """Resolve ``"shrec"``, ``"11pt"`` or an explicit sequence into an (L,) float64 array."""
    if isinstance(levels, str):
        table = {"shrec": SHREC_RECALL_LEVELS, "11pt": ELEVEN_POINT_RECALL_LEVELS}
        if levels not in table:
            raise RetrievalError(f"unknown recall levels {levels!r}; use 'shrec', '11pt' or a list of numbers in [0, 1]")
        return table[levels].astype(np.float64)
    arr = np.asarray(levels, dtype=np.float64).reshape(-1)
    if arr.size == 0 or np.any(arr < 0) or np.any(arr > 1) or np.any(np.diff(arr) <= 0):
        raise RetrievalError(f"recall levels must be a non-empty increasing sequence in [0, 1], got {arr.tolist()}")
    return arr


def interpolated_precision(rr: RelevantRanks, levels: RecallLevels = "shrec") -> Tensor:
    """Per-query interpolated precision, (Q, L) on ``rr.device``.

    Uses a segmented suffix maximum: precisions k / rank_k are shifted by a per-query offset that
    decreases with the query index, so one ``cummax`` over the flipped flat array never mixes queries.
    """
    dev, dtype = rr.device, rr.float_dtype
    lv = torch.as_tensor(recall_levels_from(levels), device=dev, dtype=dtype)            # (L,)
    precision = rr.hits.to(dtype) / rr.ranks.to(dtype)                                    # (T,) in (0, 1]
    shift = 2.0 * (rr.num_queries - 1 - rr.query).to(dtype)                                 # later query -> lower
    best_after = torch.cummax(torch.flip(precision + shift, [0]), 0).values.flip(0) - shift  # (T,)
    c = rr.counts.to(dtype)                                                                # (Q,)
    k = torch.ceil(lv[None, :] * c[:, None] - 1e-9).clamp(min=1.0)                        # (Q, L) first k with k/C >= r
    idx = rr.offsets[:-1, None] + k.long() - 1                                             # (Q, L) flat entry
    return best_after[idx]


def pr_curve_from_ranks(rr: RelevantRanks, levels: RecallLevels = "shrec") -> PRCurve:
    """Interpolated and raw PR curves (see the module docstring) from precomputed ranks."""
    dtype = rr.float_dtype
    interp = interpolated_precision(rr, levels).mean(0)
    n, q = rr.num_gallery, rr.num_queries
    found = torch.zeros(n, device=rr.device, dtype=dtype)
    found.index_add_(0, rr.ranks - 1, torch.ones_like(rr.ranks, dtype=dtype))            # hits landing at rank k
    recall_gain = torch.zeros(n, device=rr.device, dtype=dtype)
    recall_gain.index_add_(0, rr.ranks - 1, 1.0 / rr.counts[rr.query].to(dtype))
    k = torch.arange(1, n + 1, device=rr.device, dtype=dtype)
    raw_precision = torch.cumsum(found, 0) / (k * q)
    raw_recall = torch.cumsum(recall_gain, 0) / q
    return PRCurve(
        recall_levels=recall_levels_from(levels),
        precision=interp.double().cpu().numpy(),
        raw_recall=raw_recall.double().cpu().numpy(),
        raw_precision=raw_precision.double().cpu().numpy(),
    )


def precision_recall_curve(
    similarity: ArrayLike,
    query_labels: LabelsLike,
    gallery_labels: LabelsLike,
    levels: RecallLevels = "shrec",
    chunk_size: int | None = None,
    ties: Ties = "shuffle",
) -> PRCurve:
    """Precision-recall curve of a (Q, N) similarity matrix, averaged over queries.

    Returns a :class:`PRCurve` with the interpolated precision at ``levels`` (default the SHREC
    levels 0.05..1.0) and the raw mean precision@k / recall@k for k = 1..N. ``ties``: see
    :mod:`sbsr_lab.retrieval.ranking`.
    """
    return pr_curve_from_ranks(rank_relevant(similarity, query_labels, gallery_labels, chunk_size, ties=ties), levels)


def shrec_official_pr(rr: RelevantRanks, samples: int = 20, cutoff: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The official SHREC sketch-track precision-recall curve (module docstring): ``(recall (samples,),
    precision (samples,))`` at recall j / ``samples``, j = 1..samples.

    Per query, ``P[k] = k / rank_k`` for its k-th relevant item; at recall r the value is
    ``P[x1] (1 - dx) + P[x2] dx`` with ``x = r C``, ``x1 = floor(x)``, ``x2 = x1 + 1``, ``dx = x - x1``,
    both clamped to 1..C; queries with ``C < cutoff`` or ``C < samples / j`` are left out of level j (0
    when none is left), as ``CalAvgPerf`` does.
    """
    precision = (rr.hits.double() / rr.ranks.double()).cpu().numpy()   # (T,) P[k] of each entry
    start = rr.offsets[:-1].cpu().numpy()                                 # (Q,) flat index of P[1]
    c = rr.counts.cpu().numpy().astype(np.float64)                        # (Q,)
    out = np.zeros(samples)
    for j in range(1, samples + 1):
        valid = (c >= cutoff) & (c >= samples / j)
        if not valid.any():
            continue
        x = j / samples * c[valid]
        x1 = np.fix(x)
        dx = x - x1
        lo = np.clip(x1, 1, c[valid]).astype(np.int64)
        hi = np.clip(x1 + 1, 1, c[valid]).astype(np.int64)
        base = start[valid]
        out[j - 1] = float(np.mean(precision[base + lo - 1] * (1 - dx) + precision[base + hi - 1] * dx))
    return np.arange(1, samples + 1) / samples, out
