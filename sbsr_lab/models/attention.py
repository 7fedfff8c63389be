"""CMIC's query-conditioned view attention: each sketch weighs a shape's views before comparing.

CMIC ("Cross-Modal Instance and Category Contrastive learning", ICCV 2021; the authors' code
IGLICT/IBSR_jittor, ``code/Models.py`` ``Attention`` with ``attention_type="general"``): for a
query embedding q (unit) and a shape's per-view embeddings r_1..r_V (unit),

    a_k = softmax_k( (W_a q) . r_k ),    v = sum_k a_k r_k,    s = q . v

with W_a a d x d matrix without bias. As in the authors' code v is **not** renormalised (their
``linear_out`` + ``tanh`` output is computed and thrown away; only the weights are used), so s is a
convex mix of the cosines q . r_k and lies in [-1, 1]. The losses divide s by the temperature.

Every query attends to every shape, so a batch of B queries and M shapes gives a (B, M) score
matrix; the authors lay it out (shape, query), we use (query, shape) like every other similarity
in sbsr_lab. s = sum_k a_k (q . r_k), so v itself is never built: memory O(B M V), not O(B M V d).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ViewAttention"]


class ViewAttention(nn.Module):
    """Scores s_ij = q_i . sum_k a_ijk r_jk with a_ijk = softmax_k((W_a q_i) . r_jk).

    Args:
        embed_dim: d.

    Shapes: queries (B, d), views (M, V, d) -> scores (B, M) and, from :meth:`forward`, the
    attention weights (B, M, V) (each row over V sums to 1). Inputs are used as given: pass
    normalised embeddings (the authors' encoders end in an L2 normalisation).
    """

    def __init__(self, embed_dim: int = 128) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.w_a = nn.Linear(embed_dim, embed_dim, bias=False)

    def _check(self, queries: Tensor, views: Tensor) -> None:
        d = self.embed_dim
        if queries.dim() != 2 or queries.shape[1] != d or views.dim() != 3 or views.shape[2] != d:
            raise ValueError(
                f"ViewAttention: want queries (B, {d}) and per-view shape embeddings (M, V, {d}), "
                f"got {tuple(queries.shape)} and {tuple(views.shape)}"
            )

    def forward(self, queries: Tensor, views: Tensor) -> tuple[Tensor, Tensor]:
        """queries (B, d), views (M, V, d) -> (scores (B, M), weights (B, M, V))."""
        self._check(queries, views)
        keys = self.w_a(queries)                                   # (B, d): W_a q
        weights = (keys @ views.reshape(-1, self.embed_dim).T)     # (B, M*V)
        weights = weights.view(queries.shape[0], *views.shape[:2]).softmax(-1)  # (B, M, V)
        cosines = (queries @ views.reshape(-1, self.embed_dim).T).view_as(weights)  # (B, M, V): q . r_k
        return (weights * cosines).sum(-1), weights

    def scores(self, queries: Tensor, views: Tensor, chunk_size: int = 256) -> Tensor:
        """Scores (Q, N) for a whole query set against a gallery (N, V, d), ``chunk_size`` queries at a time
        (retrieval: the score depends on the query, so there is no single shape embedding to index)."""
        self._check(queries, views)
        parts = [self(queries[i:i + chunk_size], views)[0] for i in range(0, queries.shape[0], chunk_size)]
        return torch.cat(parts, 0) if parts else queries.new_zeros(0, views.shape[0])

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}"
