"""Centre loss: pull embeddings toward learnable class centres."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["CentreLoss"]


class CentreLoss(BaseLoss):
    """L_c = 0.5 * ||z - c_y||^2 with learnable centres c (K, d).

    Wen et al., "A Discriminative Feature Learning Approach for Deep Face Recognition" (ECCV 2016).
    The centres are a parameter of this module: give them to the optimiser (the paper uses a
    separate, larger learning rate). Centres start as random unit vectors.

    Args:
        num_classes: K. embed_dim: d.

    Shapes: z (B, d), labels (B,) int. Returns a scalar, or (B,) with ``reduction="none"``.
    """

    def __init__(self, num_classes: int, embed_dim: int = 128, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.centres = nn.Parameter(nn.functional.normalize(torch.randn(num_classes, embed_dim), dim=1))

    def check_inputs(self, z: Tensor, labels: Tensor) -> None:
        k, d = self.centres.shape
        if z.dim() != 2 or z.shape[1] != d:
            raise ValueError(f"CentreLoss: z must be (B, {d}), got shape {tuple(z.shape)}")
        check_labels(labels, z.shape[0], k, "CentreLoss")

    def compute_loss(self, z: Tensor, labels: Tensor) -> Tensor:
        """z (B, d), labels (B,) -> (B,)."""
        return 0.5 * (z - self.centres.to(z.dtype)[labels]).pow(2).sum(1)

    def extra_repr(self) -> str:
        k, d = self.centres.shape
        return f"num_classes={k}, embed_dim={d}, reduction={self.reduction!r}"
