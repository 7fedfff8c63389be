"""Plain per-query reference for the SHREC metrics, written straight from BLUEPRINT "Evaluation".

Pure Python on lists, deliberately independent of sbsr_lab.retrieval: tests compare against it.
"""

from __future__ import annotations

import math
from typing import Sequence


def ranked_relevance(scores: Sequence[float], labels: Sequence[int], query_label: int) -> list[bool]:
    """Relevance in rank order: similarity descending, ties broken by gallery index (smaller first)."""
    order = sorted(range(len(scores)), key=lambda j: (-float(scores[j]), j))
    return [labels[j] == query_label for j in order]


def query_metrics(scores: Sequence[float], labels: Sequence[int], query_label: int) -> dict[str, float]:
    rel = ranked_relevance(scores, labels, query_label)
    n = len(rel)
    c = sum(1 for lab in labels if lab == query_label)
    nn = 1.0 if rel[0] else 0.0
    ft = sum(rel[:c]) / c
    st = sum(rel[: min(2 * c, n)]) / c
    hits32 = sum(rel[:32])
    p, r = hits32 / 32, hits32 / c
    e = 0.0 if p == 0 and r == 0 else 2 * p * r / (p + r)
    dcg = (1.0 if rel[0] else 0.0) + sum((1.0 if rel[i - 1] else 0.0) / math.log2(i) for i in range(2, n + 1))
    ideal = 1.0 + sum(1.0 / math.log2(j) for j in range(2, c + 1))
    precisions = []
    hits = 0
    for i, is_rel in enumerate(rel, start=1):
        if is_rel:
            hits += 1
            precisions.append(hits / i)
    ap = sum(precisions) / len(precisions)
    return {"NN": nn, "FT": ft, "ST": st, "E": e, "DCG": dcg / ideal, "AP": ap}


def reference_metrics(sim, query_labels, gallery_labels) -> dict[str, list[float]]:
    """Per-query metrics for a (Q, N) matrix given as nested lists / arrays."""
    out: dict[str, list[float]] = {k: [] for k in ("NN", "FT", "ST", "E", "DCG", "AP")}
    g = [int(x) for x in gallery_labels]
    for row, ql in zip(sim, query_labels):
        m = query_metrics([float(x) for x in row], g, int(ql))
        for k, v in m.items():
            out[k].append(v)
    return out


def interpolated_pr(scores, labels, query_label, levels) -> list[float]:
    """Interpolated precision at recall levels: best precision at any recall >= level."""
    rel = ranked_relevance(scores, labels, query_label)
    c = sum(1 for lab in labels if lab == query_label)
    points = []  # (recall, precision) at each relevant item
    hits = 0
    for i, is_rel in enumerate(rel, start=1):
        if is_rel:
            hits += 1
            points.append((hits / c, hits / i))
    return [max(p for r, p in points if r >= lv - 1e-12) for lv in levels]
