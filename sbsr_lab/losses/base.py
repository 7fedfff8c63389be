"""The shared part of every loss: input checks, per-item values, then the caller's reduction."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["BaseLoss", "Reduction", "check_labels"]

Reduction = Literal["mean", "sum", "none"]


class BaseLoss(nn.Module):
    """A loss that computes one value per item, reduced by ``reduction`` (pytorch-metric-learning style).

    ``forward(*inputs)`` does the shared chores in one place: :meth:`check_inputs` (shapes, labels),
    then :meth:`compute_loss` (one value per item, (B,)), then :meth:`reduce`. A loss implements those
    two methods; a variant overrides one step (e.g. :class:`~sbsr_lab.losses.FocalAMSoftmaxLoss`).
    ``compute_loss`` may return ``(values, valid)`` where items without a loss are masked out of
    ``"mean"`` (``"none"`` keeps their 0).

    ``"mean"`` and ``"sum"`` give a scalar; ``"none"`` gives the per-item values (B,) (UACTN and
    the focal variant weigh samples, notebooks plot them).
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def forward(self, *inputs: Tensor) -> Tensor:
        """Check the inputs, compute one value per item, reduce (see the class docstring)."""
        self.check_inputs(*inputs)
        out = self.compute_loss(*inputs)
        values, valid = out if isinstance(out, tuple) else (out, None)
        return self.reduce(values, valid)

    def check_inputs(self, *inputs: Tensor) -> None:
        """Raise a clear error for inputs of the wrong shape or dtype (nothing to check by default)."""

    def compute_loss(self, *inputs: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """One value per item, (B,) (or ``(values, valid mask)``)."""
        raise NotImplementedError

    def reduce(self, per_sample: Tensor, valid: Tensor | None = None) -> Tensor:
        """(B,) -> scalar (mean over the ``valid`` items / sum) or (B,) unchanged (none)."""
        if self.reduction == "mean":
            return per_sample.mean() if valid is None else per_sample[valid].mean()
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
