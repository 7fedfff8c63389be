"""Cosine similarity in one place: used by the cosine classifier, the losses and retrieval."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["l2_normalize", "cosine_similarity", "euclidean_similarity"]


def l2_normalize(x: Tensor, dim: int = -1, eps: float = 1e-12) -> Tensor:
    """``x / ||x||`` along ``dim`` (zero vectors stay zero)."""
    return F.normalize(x, p=2.0, dim=dim, eps=eps)


def cosine_similarity(queries: Tensor, gallery: Tensor, normalized: bool = False) -> Tensor:
    """Cosine similarity matrix.

    queries: (Q, d); gallery: (G, d). Returns (Q, G) in [-1, 1].
    Set ``normalized=True`` when both inputs already have unit rows (skips the normalisation).
    """
    if not normalized:
        queries, gallery = l2_normalize(queries), l2_normalize(gallery)
    return queries @ gallery.T


def euclidean_similarity(queries: Tensor, gallery: Tensor) -> Tensor:
    """Negative euclidean distance, (Q, d) x (G, d) -> (Q, G); larger means more similar."""
    return -torch.cdist(queries, gallery)
