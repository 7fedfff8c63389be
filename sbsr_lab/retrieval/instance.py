"""Instance-level retrieval (CMIC's protocol): is a sketch's own source shape at the top?

Class-level metrics (NN, mAP, ...) count any shape of the right class as a hit; the instance level
asks for the one shape the sketch was drawn from. For each query the gallery is ranked by
similarity, descending, ties broken by gallery index (as in :mod:`~sbsr_lab.retrieval.ranking`),
and top-k accuracy is the share of queries whose source shape is among the first k.

    >>> import numpy as np
    >>> sim = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1]])
    >>> instance_accuracy(sim, [0, 0], ks=(1, 2))
    {'inst_top1': 0.5, 'inst_top2': 1.0}
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from sbsr_lab.retrieval.ranking import ArrayLike, RetrievalError, as_similarity

__all__ = ["source_ranks", "instance_accuracy"]


def source_ranks(similarity: ArrayLike, source: ArrayLike | Sequence[int]) -> Tensor:
    """1-based rank of each query's source shape: (Q,) int64.

    rank_i = 1 + #{j : s_ij > s_i,src} + #{j < src : s_ij = s_i,src} (descending similarity, ties by
    gallery index). similarity: (Q, N); source: (Q,) gallery indices in [0, N).
    """
    sim = as_similarity(similarity)
    src = torch.as_tensor(np.asarray(source) if not isinstance(source, Tensor) else source).to(sim.device)
    q, n = sim.shape
    if src.dim() != 1 or src.shape[0] != q:
        raise RetrievalError(f"source must give one gallery index per query ({q},), got shape {tuple(src.shape)}")
    if src.dtype.is_floating_point or src.dtype == torch.bool:
        raise RetrievalError(f"source must hold integer gallery indices, got dtype {src.dtype}")
    src = src.long()
    if q and (int(src.min()) < 0 or int(src.max()) >= n):
        raise RetrievalError(
            f"source indices must lie in [0, {n}) (the gallery), got min {int(src.min())} max {int(src.max())}; "
            "a sketch whose source shape is not in the gallery has no instance-level answer: leave it out"
        )
    own = sim.gather(1, src[:, None])                      # (Q, 1)
    before = torch.arange(n, device=sim.device)[None, :] < src[:, None]
    return 1 + ((sim > own) | ((sim == own) & before)).sum(1)


def instance_accuracy(similarity: ArrayLike, source: ArrayLike | Sequence[int],
                      ks: Sequence[int] = (1, 10)) -> dict[str, float]:
    """``{"inst_top1": ..., "inst_top10": ...}``: share of queries whose source shape ranks <= k.

    similarity: (Q, N), larger = more similar; source: (Q,) gallery index of each query's source
    shape. k larger than N counts every query.
    """
    if not ks or any(int(k) < 1 for k in ks):
        raise RetrievalError(f"ks must be positive ranks, got {list(ks)}")
    ranks = source_ranks(similarity, source)
    return {f"inst_top{int(k)}": float((ranks <= int(k)).double().mean()) for k in ks}
