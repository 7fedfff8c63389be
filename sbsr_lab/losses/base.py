"""The shared part of every loss: per-sample values, then the caller's reduction."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["BaseLoss", "Reduction"]

Reduction = Literal["mean", "sum", "none"]


class BaseLoss(nn.Module):
    """A loss that computes one value per sample, reduced by ``reduction``.

    ``"mean"`` and ``"sum"`` give a scalar; ``"none"`` gives the per-sample values (B,) (UACTN and
    the focal variant weigh samples, notebooks plot them).
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def reduce(self, per_sample: Tensor) -> Tensor:
        """(B,) -> scalar (mean / sum) or (B,) unchanged (none)."""
        if self.reduction == "mean":
            return per_sample.mean()
        if self.reduction == "sum":
            return per_sample.sum()
        return per_sample

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def check_labels(labels: Tensor, batch: int, num_classes: int, who: str) -> None:
    """Raise a clear error for labels that are not integer class indices (B,) in [0, K)."""
    if labels.dim() != 1 or labels.shape[0] != batch:
        raise ValueError(f"{who}: labels must be ({batch},) class indices, got shape {tuple(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"{who}: labels must be integer class indices, got dtype {labels.dtype}; use labels.long()")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"{who}: labels must lie in [0, {num_classes}), got min {int(labels.min())} max {int(labels.max())}; "
            f"check that the model and the dataset use the same class list"
        )
