"""CMIC's instance- and category-level contrastive losses, in the authors' form.

CMIC ("Cross-Modal Instance and Category Contrastive learning", ICCV 2021; authors' code
IGLICT/IBSR_jittor, ``code/RetrievalNet.py`` ``training``). A batch has B queries (sketches) and
M distinct shapes (the authors: M = B, the queries' own shapes first, padded with other shapes);
:class:`~sbsr_lab.models.attention.ViewAttention` gives the score s_ij = q_i . v_ij of query i
against shape j, each shape's views attended by that query. With P_ij = softmax_j(s_ij / tau)
(over the batch's shapes, for each query):

* instance: L_inst,i = -log P_{i, own(i)}, own(i) the shape query i was drawn from; a query whose source
  shape is unknown (own = -1) has no instance term (the mean runs over the others);
* category: L_cat,i = -1/|C_i| sum_{j in C_i} log P_ij, C_i the batch shapes of i's class, the own
  shape included (the authors' ``CatsMat`` is not masked by ``InstsMat``);
* total: mean_i L_inst,i + w * mean over the queries with |C_i| > 0 of L_cat,i, w = 0.2, tau = 0.1.

As in the authors' code the category term is 0 when all the batch's shapes share one class (it
contrasts nothing), and queries without a shape of their class in the batch are left out of its
mean (their ``loss_cats_[loss_cats_ != 0]``). We compute log P with ``log_softmax``; the authors
take ``log(exp(s / tau) / sum)``, which is the same value until exp underflows.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["CMICInstanceLoss", "CMICCategoryLoss", "CMICLoss"]


def _check_scores(who: str, scores: Tensor) -> None:
    if scores.dim() != 2 or not scores.numel():
        raise ValueError(f"{who}: scores must be a non-empty (B queries, M shapes) matrix, got {tuple(scores.shape)}")


class _Tempered(BaseLoss):
    def __init__(self, temperature: float = 0.1, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if temperature <= 0:
            raise ValueError(f"{type(self).__name__}: temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def log_prob(self, scores: Tensor) -> Tensor:
        """log softmax over the shapes of s / tau: (B, M) -> (B, M)."""
        return torch.log_softmax(scores / self.temperature, dim=1)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, reduction={self.reduction!r}"


class CMICInstanceLoss(_Tempered):
    """L_inst,i = -log softmax_j(s_ij / tau)[own(i)]: find the query's own shape among the batch's.

    Shapes: scores (B, M), own (B,) int, the index in [0, M) of each query's source shape, or -1 where
    the query has no known source shape: such queries have no instance term (``"mean"`` averages over
    the others, 0 when there are none; ``"none"`` gives 0 for them).
    Returns a scalar, or (B,) with ``reduction="none"``.
    """

    def check_inputs(self, scores: Tensor, own: Tensor) -> None:
        _check_scores("CMICInstanceLoss", scores)
        check_labels(own.clamp(min=0) if own.numel() and int(own.min()) >= -1 else own, scores.shape[0],
                     scores.shape[1], "CMICInstanceLoss (own-shape indices, -1: unknown)")

    def compute_loss(self, scores: Tensor, own: Tensor) -> tuple[Tensor, Tensor | None]:
        """scores (B, M), own (B,) -> (L_inst (B,), known (B,): the query has an own shape; None when no
        query has one, so that the mean is the all-zero loss, 0)."""
        known = own >= 0
        loss = -self.log_prob(scores).gather(1, own.clamp(min=0)[:, None]).squeeze(1)
        return torch.where(known, loss, torch.zeros_like(loss)), (known if bool(known.any()) else None)


class CMICCategoryLoss(_Tempered):
    """L_cat,i = -mean over the batch shapes j of i's class of log softmax_j(s_ij / tau).

    Shapes: scores (B, M), query labels (B,), shape labels (M,). ``"mean"`` averages over the
    queries that have a shape of their class in the batch; ``"none"`` gives (B,) with 0 for the
    others. Both give 0 when the M shapes are all of one class (the authors' code skips the term).
    """

    def check_inputs(self, scores: Tensor, y_query: Tensor, y_shape: Tensor) -> None:
        _check_scores("CMICCategoryLoss", scores)
        b, m = scores.shape
        if y_query.numel() != b or y_shape.numel() != m:
            raise ValueError(f"CMICCategoryLoss: scores are ({b}, {m}); want query labels ({b},) and shape labels "
                             f"({m},), got {tuple(y_query.shape)} and {tuple(y_shape.shape)}")
        k = int(max(y_query.max(), y_shape.max())) + 1
        check_labels(y_query, b, k, "CMICCategoryLoss (query labels)")
        check_labels(y_shape, m, k, "CMICCategoryLoss (shape labels)")

    def compute_loss(self, scores: Tensor, y_query: Tensor, y_shape: Tensor) -> tuple[Tensor, Tensor | None]:
        """(L_cat (B,), valid (B,): the query has a positive and the batch 2+ shape classes; None when no
        query is valid, so that the mean is the all-zero loss, 0, as the authors' code skips the term)."""
        pos = (y_query[:, None] == y_shape[None, :]).to(scores.dtype)  # (B, M), own shape included
        n_pos = pos.sum(1)
        has = (n_pos > 0) & (y_shape.unique().numel() > 1)
        loss = -(pos * self.log_prob(scores)).sum(1) / n_pos.clamp(min=1)
        return torch.where(has, loss, torch.zeros_like(loss)), (has if bool(has.any()) else None)


class CMICLoss(BaseLoss):
    """CMIC's total: mean L_inst + w * mean L_cat (w = 0.2, tau = 0.1), see the module docstring.

    Shapes: scores (B, M) from :class:`~sbsr_lab.models.attention.ViewAttention`, own (B,) the
    index of each query's shape in [0, M) (-1: unknown, no instance term), y_query (B,), y_shape (M,). Returns a scalar, or (B,)
    = L_inst,i + w * L_cat,i with ``reduction="none"`` (L_cat,i = 0 where it is left out).
    """

    def __init__(self, temperature: float = 0.1, category_weight: float = 0.2, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.instance = CMICInstanceLoss(temperature, reduction=reduction)
        self.category = CMICCategoryLoss(temperature, reduction=reduction)
        self.temperature, self.category_weight = temperature, category_weight

    def forward(self, scores: Tensor, own: Tensor, y_query: Tensor, y_shape: Tensor) -> Tensor:
        """scores (B, M), own (B,), y_query (B,), y_shape (M,) -> scalar, or (B,).

        A sum of two losses, each checked and reduced by its own base ``forward`` (their means run
        over different queries, so the total cannot be one masked mean of per-query values)."""
        return self.instance(scores, own) + self.category_weight * self.category(scores, y_query, y_shape)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, category_weight={self.category_weight}, reduction={self.reduction!r}"
