"""The six SHREC sketch-track metrics, vectorised, on any device.

Definitions (BLUEPRINT "Evaluation"; must match the SHREC scripts exactly). For each query the
gallery is ranked by similarity, descending; tied scores in a seeded random order by default, by gallery
index with ``ties="index"`` (the official rule; :mod:`sbsr_lab.retrieval.ranking` says why). C is the
number of gallery items of the query's class and N the gallery size.

* **NN**  -- relevance of rank 1.
* **FT**  -- first tier: (# relevant in the top C) / C.
* **ST**  -- second tier: (# relevant in the top min(2C, N)) / C.
* **E**   -- F-measure of the top 32: P = hits/32, R = hits/C, E = 2PR/(P+R), 0 when P = R = 0.
  (P keeps the denominator 32 even when N < 32, as in the SHREC scripts.)
* **DCG** -- (G_1 + sum_{i>=2} G_i / log2 i) / (1 + sum_{j=2..C} 1 / log2 j), G_i the relevance at rank i.
* **AP**  -- mean over the relevant items of the precision at their rank; **mAP** is its mean: standard
  (non-interpolated) average precision, as the Sketch3DToolkit evaluation computes it -- not the Bo Li
  script's "averaged precision" (the mean of its interpolated PR curve).

All are averaged over queries. Per query they are computed from the ranks of the C relevant items
(:func:`sbsr_lab.retrieval.ranking.rank_relevant`; its reference ranking is a stable descending sort,
:func:`~sbsr_lab.retrieval.ranking.sorted_positions`), so after the sort everything is O(sum of C):
:func:`metrics_from_ranks` has one line per definition. :func:`loop_metrics` is the slow per-query
Python loop in the style of the original scripts, kept for teaching and for the benchmark.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from sbsr_lab.retrieval.ranking import (
    ArrayLike,
    LabelsLike,
    RelevantRanks,
    Ties,
    as_similarity,
    encode_labels,
    rank_relevant,
)

__all__ = [
    "METRIC_NAMES",
    "E_CUTOFF",
    "retrieval_metrics",
    "per_query_metrics",
    "per_class_table",
    "metrics_from_ranks",
    "summarize",
    "per_class_from_ranks",
    "loop_metrics",
]

#: Keys of :func:`retrieval_metrics`, in the order SHREC tables print them.
METRIC_NAMES: tuple[str, ...] = ("NN", "FT", "ST", "E", "DCG", "mAP")
#: Keys of :func:`per_query_metrics` (per query the last one is AP; its mean is mAP).
PER_QUERY_NAMES: tuple[str, ...] = ("NN", "FT", "ST", "E", "DCG", "AP")
#: The E-measure looks at the top 32 results.
E_CUTOFF = 32


def _log2_discounts(n: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(n,) DCG weights for ranks 1..n: 1 for rank 1, 1 / log2(i) after."""
    i = torch.arange(1, n + 1, device=device, dtype=dtype)
    w = 1.0 / torch.log2(i.clamp(min=2.0))
    w[0] = 1.0
    return w


def metrics_from_ranks(rr: RelevantRanks) -> dict[str, Tensor]:
    """Per-query NN, FT, ST, E, DCG and AP, each (Q,) on ``rr.device`` (float64; float32 on MPS)."""
    dev, dtype = rr.device, rr.float_dtype
    q, n = rr.num_queries, rr.num_gallery
    p = rr.ranks                                  # (T,) 1-based ranks of relevant items
    qi = rr.query                                 # (T,) their query
    c_entry = rr.counts[qi]                       # (T,) C of their query
    c = rr.counts.to(dtype)                       # (Q,)

    def per_query(values: Tensor) -> Tensor:      # sum entry values into their query
        return torch.zeros(q, device=dev, dtype=dtype).index_add_(0, qi, values.to(dtype))

    nn = per_query(p == 1)
    ft = per_query(p <= c_entry) / c
    st = per_query(p <= torch.clamp(2 * c_entry, max=n)) / c
    hits32 = per_query(p <= min(E_CUTOFF, n))
    precision, recall = hits32 / E_CUTOFF, hits32 / c
    denom = precision + recall
    e = torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-300), torch.zeros_like(denom))
    discounts = _log2_discounts(n, dev, dtype)                    # (N,)
    ideal = torch.cumsum(discounts, 0)[rr.counts - 1]             # (Q,) best DCG for C relevant items
    dcg = per_query(discounts[p - 1]) / ideal
    ap = per_query(rr.hits.to(dtype) / p.to(dtype)) / c
    return {"NN": nn, "FT": ft, "ST": st, "E": e, "DCG": dcg, "AP": ap}


def summarize(per_query: dict[str, Tensor]) -> dict[str, float]:
    """Average per-query values into the six SHREC numbers (python floats; AP becomes mAP)."""
    return {("mAP" if k == "AP" else k): float(v.mean()) for k, v in per_query.items()}


def per_query_metrics(
    similarity: ArrayLike,
    query_labels: LabelsLike,
    gallery_labels: LabelsLike,
    chunk_size: int | None = None,
    ties: Ties = "shuffle",
) -> dict[str, Tensor]:
    """Per-query NN, FT, ST, E, DCG, AP: a dict of (Q,) tensors on the similarity's device.

    similarity: (Q, N), larger = more similar; query_labels: (Q,); gallery_labels: (N,).
    ``ties``: how tied scores are ordered (:mod:`sbsr_lab.retrieval.ranking`; ``"index"`` is SHREC's rule).
    """
    return metrics_from_ranks(rank_relevant(similarity, query_labels, gallery_labels, chunk_size, ties=ties))


def retrieval_metrics(
    similarity: ArrayLike,
    query_labels: LabelsLike,
    gallery_labels: LabelsLike,
    chunk_size: int | None = None,
    ties: Ties = "shuffle",
) -> dict[str, float]:
    """The SHREC metrics ``{"NN", "FT", "ST", "E", "DCG", "mAP"}`` averaged over queries (floats in [0, 1]).

    similarity: (Q, N) numpy array or torch tensor (computed on its device), larger = more similar;
    query_labels: (Q,); gallery_labels: (N,) -- integer ids or class names. ``chunk_size`` bounds
    memory (queries per chunk; default from a budget of a few hundred MB). ``ties``: tied scores in a seeded
    random order (default) or by gallery index (``"index"``, the official SHREC rule). Example::

        >>> import numpy as np
        >>> sim = np.array([[0.9, 0.1, 0.5]])
        >>> m = retrieval_metrics(sim, [0], [0, 1, 0])
        >>> m["NN"], m["FT"], m["mAP"]
        (1.0, 1.0, 1.0)
    """
    return summarize(per_query_metrics(similarity, query_labels, gallery_labels, chunk_size, ties))


def per_class_from_ranks(
    rr: RelevantRanks,
    per_query: dict[str, Tensor] | None = None,
    class_names: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per query class: ``class``, ``queries``, ``gallery`` (C) and the six metrics averaged
    over that class's queries. ``class_names[label]`` names integer labels when given."""
    per_query = per_query if per_query is not None else metrics_from_ranks(rr)
    codes = rr.query_codes
    k = len(rr.classes)
    n_queries = torch.bincount(codes, minlength=k)
    sums = {name: torch.zeros(k, device=rr.device, dtype=v.dtype).index_add_(0, codes, v) for name, v in per_query.items()}
    gallery_size = torch.zeros(k, dtype=torch.int64, device=rr.device)
    gallery_size[codes] = rr.counts
    rows = []
    for c in torch.nonzero(n_queries).flatten().tolist():
        label = rr.classes[c]
        if class_names is not None and isinstance(label, int) and 0 <= label < len(class_names):
            label = class_names[label]
        row: dict[str, Any] = {"class": label, "queries": int(n_queries[c]), "gallery": int(gallery_size[c])}
        for name, total in sums.items():
            row["mAP" if name == "AP" else name] = float(total[c]) / int(n_queries[c])
        rows.append(row)
    return rows


def per_class_table(
    similarity: ArrayLike,
    query_labels: LabelsLike,
    gallery_labels: LabelsLike,
    class_names: Sequence[str] | None = None,
    chunk_size: int | None = None,
    ties: Ties = "shuffle",
) -> list[dict[str, Any]]:
    """Per-class metrics: a list of rows ``{"class", "queries", "gallery", "NN", ..., "mAP"}``,
    one per class that has queries, sorted by label. See :func:`per_class_from_ranks`."""
    rr = rank_relevant(similarity, query_labels, gallery_labels, chunk_size, ties=ties)
    return per_class_from_ranks(rr, class_names=class_names)


def loop_metrics(
    similarity: ArrayLike,
    query_labels: LabelsLike,
    gallery_labels: LabelsLike,
    queries: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """The slow way: one query at a time, walking its ranked list in Python like the SHREC scripts.

    Returns per-query NN, FT, ST, E, DCG, AP as (len(queries),) float64 arrays (all queries by
    default). Used to show (and time) what the vectorised :func:`per_query_metrics` replaces.
    """
    sim = as_similarity(similarity)
    q_count, n = sim.shape
    qc, gc, _ = encode_labels(query_labels, gallery_labels, q_count, n)
    rows = range(q_count) if queries is None else list(queries)
    out: dict[str, list[float]] = {k: [] for k in PER_QUERY_NAMES}
    for qi in rows:
        scores = sim[qi].cpu().double().numpy()
        order = np.argsort(-scores, kind="stable")            # ranked list, ties by gallery index
        label = qc[qi]
        c = int(np.sum(gc == label))
        hits = hits_c = hits_2c = hits_32 = 0
        dcg = ideal = ap = 0.0
        for rank in range(1, n + 1):
            relevant = gc[order[rank - 1]] == label
            weight = 1.0 if rank == 1 else 1.0 / np.log2(rank)
            if rank <= c:
                ideal += weight
            if relevant:
                hits += 1
                dcg += weight
                ap += hits / rank
                if rank <= c:
                    hits_c += 1
                if rank <= min(2 * c, n):
                    hits_2c += 1
                if rank <= E_CUTOFF:
                    hits_32 += 1
        p32, r32 = hits_32 / E_CUTOFF, hits_32 / c
        out["NN"].append(float(gc[order[0]] == label))
        out["FT"].append(hits_c / c)
        out["ST"].append(hits_2c / c)
        out["E"].append(0.0 if p32 + r32 == 0 else 2 * p32 * r32 / (p32 + r32))
        out["DCG"].append(dcg / ideal)
        out["AP"].append(ap / c)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
