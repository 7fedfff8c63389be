"""Long-tail evaluation: mAP per many / medium / few group, and the PART-SHREC14 split.

Long-tail recognition work (e.g. Liu et al., "Large-Scale Long-Tailed Recognition in an Open
World", CVPR 2019) reports accuracy per group of classes by their number of *training* samples:
**many** (>= 100), **few** (< 20) and **medium** in between. In SBSR the long-tailed side is the shape
collection, so the classes are grouped by their number of shapes (training shapes where the collection is
split, :func:`sbsr_lab.retrieval.runs.shape_counts`). Here the per-query values are the SHREC APs
(:func:`~sbsr_lab.retrieval.metrics.per_query_metrics`), grouped by the query's class; the group's mAP is
the mean AP of its queries.

**PART-SHREC14** (Qi et al., BMVC 2018): the SHREC'14 classes with more than 50 models, 20% of each
class's models held out as the test gallery, seed 1234. The split itself lives with the data
(:mod:`sbsr_lab.data.shape_split`, re-exported here as :func:`part_shrec14_split`) and is wired through:
``sbsr-lab data prepare shrec14 --shape-split part-shrec14`` writes it into the manifest, training uses
the training shapes only, evaluation ranks the test shapes and groups the classes by their training
shapes (:func:`sbsr_lab.retrieval.runs.shape_counts`).

    >>> group_of_counts([150, 50, 5])
    ['many', 'medium', 'few']
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from torch import Tensor

from sbsr_lab.data.shape_split import part_shrec14_split
from sbsr_lab.retrieval.ranking import RetrievalError

__all__ = ["GROUPS", "group_of_counts", "map_per_group", "part_shrec14_split"]

#: The groups, in the order tables print them.
GROUPS: tuple[str, ...] = ("many", "medium", "few")


def group_of_counts(train_counts: Sequence[int], many: int = 100, few: int = 20) -> list[str]:
    """The group of each class from its number of training samples: "many" (>= ``many``), "few"
    (< ``few``), "medium" otherwise. (K,) counts -> K group names."""
    if few > many:
        raise ValueError(f"group thresholds must have few <= many, got few={few}, many={many}")
    out = []
    for c in train_counts:
        c = int(c)
        if c < 0:
            raise ValueError(f"training counts must be >= 0, got {c}")
        out.append("many" if c >= many else "few" if c < few else "medium")
    return out


def map_per_group(ap: Tensor | np.ndarray | Sequence[float], query_labels: Sequence[Any] | np.ndarray | Tensor,
                  train_counts: Mapping[Any, int], many: int = 100, few: int = 20) -> dict[str, Any]:
    """mAP of each many / medium / few group: ``{"many": 0.61, "medium": ..., "few": ..., "queries":
    {"many": 120, ...}, "classes": {"many": 8, ...}}``; a group with no query gets ``None``.

    ap: (Q,) per-query AP; query_labels: (Q,) the query classes; train_counts: class -> number of
    training samples (the counts that define long-tailedness: training sketches per class, or training
    shapes where those are the long-tailed side). Every query's class must be in ``train_counts``.
    """
    ap_arr = np.asarray(ap.detach().cpu() if isinstance(ap, Tensor) else ap, dtype=np.float64)
    labels = query_labels.detach().cpu().numpy() if isinstance(query_labels, Tensor) else np.asarray(query_labels)
    if ap_arr.ndim != 1 or labels.shape != ap_arr.shape:
        raise RetrievalError(f"want one AP and one label per query, got AP {ap_arr.shape} and labels {labels.shape}")
    classes = list(train_counts)
    group = dict(zip(classes, group_of_counts([train_counts[c] for c in classes], many, few)))
    missing = sorted({str(x) for x in labels.tolist()} - {str(c) for c in classes})
    if missing:
        raise RetrievalError(f"query classes without a training count: {missing[:5]}; "
                             "pass the training counts of every class in the test set")
    by_name = {str(c): g for c, g in group.items()}
    query_group = np.array([by_name[str(x)] for x in labels.tolist()])
    out: dict[str, Any] = {"queries": {}, "classes": {}}
    for g in GROUPS:
        sel = query_group == g
        out[g] = float(ap_arr[sel].mean()) if sel.any() else None
        out["queries"][g] = int(sel.sum())
        out["classes"][g] = sum(1 for c in classes if group[c] == g)
    return out
