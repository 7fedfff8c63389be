"""DCA's adversarial parts: gradient reversal, the modality discriminator, the transformation network T.

DCA (Chen and Fang, "Deep Cross-modality Adaptation via Semantics Preserving Adversarial Learning
for Sketch-based 3D Shape Retrieval", ECCV 2018) maps sketch features into the shape feature space
with a transformation network T trained against a modality discriminator D: D tells sketch
embeddings from shape embeddings, T makes T(sketch) indistinguishable from shapes.

We train the pair in one optimiser step with a gradient-reversal layer (Ganin and Lempitsky,
"Unsupervised Domain Adaptation by Backpropagation", ICML 2015): D minimises its BCE on
``D(shape)`` and ``D(GRL(T(sketch)))``, and the reversal hands T the negated, ``lambd``-scaled
gradient, so T maximises the same BCE. One loss, one backward, one optimiser; what keeps it
stable is D's larger learning rate (a parameter group, D 30 x T in the two-blob test: with equal
rates the two chase each other round in circles), D's label smoothing, and DCA's class-aware mean
discrepancy on T (our choices; see docs/reproducing.md).

    >>> import torch
    >>> t, d = CrossModalTransform(128), ModalityDiscriminator(128)
    >>> z = torch.nn.functional.normalize(torch.randn(4, 128), dim=1)
    >>> d(grad_reverse(t(z), 0.1)).shape
    torch.Size([4])
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from sbsr_lab.similarity import l2_normalize

__all__ = ["ReverseGrad", "grad_reverse", "GradientReversal", "ModalityDiscriminator", "CrossModalTransform", "dann_lambda"]


class ReverseGrad(torch.autograd.Function):
    """The gradient reversal as an autograd function: identity forward; backward multiplies the incoming
    gradient by ``-lambd``. Call it through :func:`grad_reverse` (which checks ``lambd``) or the
    :class:`GradientReversal` layer; ``ReverseGrad.apply(x, lambd)`` is what both run.

    x: any shape -> the same tensor (a view); its gradient: any shape -> ``-lambd`` times it.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, lambd: float) -> Tensor:  # noqa: D102
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # noqa: D102
        return -ctx.lambd * grad, None


def grad_reverse(x: Tensor, lambd: float = 1.0) -> Tensor:
    """Gradient reversal: returns ``x`` unchanged; the gradient flowing back through it is ``-lambd * grad``.

    x: any shape. ``lambd`` >= 0 (0 cuts the gradient, like ``detach``).
    """
    if lambd < 0:
        raise ValueError(f"grad_reverse: lambd must be >= 0 (the sign is already reversed), got {lambd}")
    return ReverseGrad.apply(x, float(lambd))


def dann_lambda(progress: float, gamma: float = 10.0) -> float:
    """The DANN ramp 2 / (1 + exp(-gamma * p)) - 1: 0 at the start (p = 0), near 1 at the end (p = 1).

    ``progress`` p in [0, 1] is the fraction of training done. The reversed gradient starts at 0, so T
    is not pushed around by a discriminator that has not learnt anything yet.
    """
    p = min(max(float(progress), 0.0), 1.0)
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


class GradientReversal(nn.Module):
    """:func:`grad_reverse` as a layer; ``lambd`` is an attribute the training loop may ramp (:func:`dann_lambda`)."""

    def __init__(self, lambd: float = 1.0) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> x (gradient reversed)."""
        return grad_reverse(x, self.lambd)

    def extra_repr(self) -> str:
        return f"lambd={self.lambd}"


class ModalityDiscriminator(nn.Module):
    """D: a small MLP from an embedding to one logit, "this is a shape" (> 0) or "a sketch" (< 0).

    Linear(d, h) -> LeakyReLU(0.2) -> Linear(h, h) -> LeakyReLU(0.2) -> Linear(h, 1); no normalisation
    layer, so the statistics of a batch (all sketches, or all shapes) cannot leak the answer.

    Args:
        embed_dim: d, the size of the embeddings it reads.
        hidden: h.

    Shapes: (B, d) -> logits (B,).
    """

    def __init__(self, embed_dim: int = 128, hidden: int = 256) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.net = nn.Sequential(
            nn.Linear(embed_dim, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, z: Tensor) -> Tensor:
        """z: (B, d) -> logits (B,)."""
        if z.dim() != 2 or z.shape[1] != self.embed_dim:
            raise ValueError(f"ModalityDiscriminator expects embeddings (B, {self.embed_dim}), got {tuple(z.shape)}")
        return self.net(z).squeeze(1)


class CrossModalTransform(nn.Module):
    """T: sketch embedding -> shape space, a residual MLP ``T(z) = z + MLP(z)``, optionally renormalised.

    The MLP's last layer starts at zero, so T starts as the identity: DCA's adaptation begins from
    the metric network's sketch embeddings and moves them only as far as the losses ask.

    Args:
        embed_dim: d (input and output).
        hidden: width of the MLP.
        normalize: L2-normalise the output (retrieval uses cosine similarity).

    Shapes: (B, d) -> (B, d).
    """

    def __init__(self, embed_dim: int = 128, hidden: int = 256, normalize: bool = True) -> None:
        super().__init__()
        self.embed_dim, self.normalize = embed_dim, normalize
        self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, embed_dim))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, z: Tensor) -> Tensor:
        """z: (B, d) -> T(z): (B, d) (unit rows when ``normalize``)."""
        if z.dim() != 2 or z.shape[1] != self.embed_dim:
            raise ValueError(f"CrossModalTransform expects embeddings (B, {self.embed_dim}), got {tuple(z.shape)}")
        out = z + self.mlp(z)
        return l2_normalize(out) if self.normalize else out

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, normalize={self.normalize}"
