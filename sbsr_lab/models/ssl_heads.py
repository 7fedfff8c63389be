"""SimSiam's heads for self-supervised multi-view pre-training: a projector and a predictor.

Chen and He, "Exploring Simple Siamese Representation Learning" (CVPR 2021): two views x1, x2 of
one shape go through the same encoder f and projector g, z = g(f(x)), and a predictor h maps one
branch onto the other, p = h(z); the loss compares p1 with stop-gradient(z2) and p2 with
stop-gradient(z1) (:class:`~sbsr_lab.losses.SimSiamLoss`). No negatives, no labels.

As in the paper the projector ends in a BatchNorm without affine parameters and the predictor is a
bottleneck (hidden = d / 4); the BatchNorms are part of what keeps SimSiam from collapsing, so train
with batches of 2 or more (eval mode takes any batch).

    >>> import torch
    >>> g, h = ProjectionMLP(64, 128), PredictionMLP(128)
    >>> z = g(torch.randn(8, 64)); h(z).shape
    torch.Size([8, 128])
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ProjectionMLP", "PredictionMLP"]


def _check(x: Tensor, features: int, who: str) -> None:
    if x.dim() != 2 or x.shape[1] != features:
        raise ValueError(f"{who} expects (B, {features}) inputs, got {tuple(x.shape)}")


class ProjectionMLP(nn.Module):
    """g: Linear -> BN -> ReLU -> Linear -> BN(no affine), SimSiam's projector (two layers, not three).

    Args:
        in_features: F, the encoder's output size.
        out_features: d.
        hidden: hidden width (default: d).

    Shapes: (B, F) -> (B, d), not normalised (the loss normalises).
    """

    def __init__(self, in_features: int, out_features: int = 128, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or out_features
        self.in_features, self.out_features = in_features, out_features
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features, bias=False), nn.BatchNorm1d(out_features, affine=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, F) -> z: (B, d)."""
        _check(x, self.in_features, "ProjectionMLP")
        return self.net(x)


class PredictionMLP(nn.Module):
    """h: Linear -> BN -> ReLU -> Linear, SimSiam's bottleneck predictor.

    Args:
        dim: d (input and output).
        hidden: bottleneck width (default d // 4, as in the paper's 2048 -> 512 -> 2048).

    Shapes: (B, d) -> (B, d).
    """

    def __init__(self, dim: int = 128, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or max(dim // 4, 1)
        self.dim = dim
        self.net = nn.Sequential(
            nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, dim),
        )

    def forward(self, z: Tensor) -> Tensor:
        """z: (B, d) -> p: (B, d)."""
        _check(z, self.dim, "PredictionMLP")
        return self.net(z)
