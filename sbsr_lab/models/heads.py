"""Heads on top of a backbone: embedding MLP, cosine classifier (the class centres), uncertainty head.

Notation (blueprint): d = embedding size (128), K = number of classes. The cosine classifier owns
W (d x K); its L2-normalised columns are the class centres c_k, and its logits are cosines
z_hat · c_k in [-1, 1] (the AM-softmax loss applies the margin and the scale).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sbsr_lab.similarity import l2_normalize

__all__ = ["EmbeddingHead", "CosineClassifier", "UncertaintyHead", "ClassifiedNet", "reparameterize", "HEAD_STYLES"]


def _mlp(in_features: int, out_features: int, hidden: int, batch_norm: bool = False) -> nn.Sequential:
    """Linear -> LayerNorm -> ReLU -> Linear (LayerNorm, not BatchNorm: works for a batch of one), and with
    ``batch_norm`` a final BatchNorm over the outputs (UACTN's two branches; needs training batches of 2+)."""
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)] if hidden <= 0 else [
        nn.Linear(in_features, hidden), nn.LayerNorm(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_features)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_features, eps=2e-5))
    return nn.Sequential(*layers)


def _bn_mlp(in_features: int, out_features: int, widths: tuple[int, ...]) -> nn.Sequential:
    """The authors' heads: (Linear -> BatchNorm(eps 2e-5) -> ReLU) per hidden width, then Linear -> BatchNorm.

    CFTTSL's ``classifier.py`` uses widths (1024, 512, 256); UACTN's ``get_mu_logvar.py`` (1024,)."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_features, width), nn.BatchNorm1d(width, eps=2e-5), nn.ReLU(inplace=True)]
        in_features = width
    return nn.Sequential(*layers, nn.Linear(in_features, out_features), nn.BatchNorm1d(out_features, eps=2e-5))


#: Head styles (profile key ``head``): ours, or the authors' BatchNorm stacks.
HEAD_STYLES: tuple[str, ...] = ("mlp", "paper")


def _check_style(style: str) -> None:
    if style not in HEAD_STYLES:
        raise ValueError(f"head style must be one of {', '.join(HEAD_STYLES)}, got {style!r}")


class EmbeddingHead(nn.Module):
    """MLP from backbone features to an L2-normalised embedding.

    Args:
        in_features: F, the backbone's ``out_features``.
        embed_dim: d (128 in the papers).
        hidden: width of the hidden layer; 0 for a single Linear layer.
        batch_norm: end the MLP with a BatchNorm over the d outputs, before the normalisation (UACTN's
            mean branch, as in the authors' code); train with batches of 2 or more.
        style: ``"mlp"`` (ours: F -> hidden -> d with LayerNorm) or ``"paper"`` (CFTTSL's code:
            F -> 1024 -> 512 -> 256 -> d, BatchNorm(eps 2e-5) after every Linear, the last one included;
            ``hidden`` and ``batch_norm`` are then ignored; train with batches of 2 or more).
        paper_widths: the hidden widths of the ``"paper"`` style (UACTN's code: (1024,)).

    Shapes: (B, F) -> (B, d), every row of unit norm.
    """

    def __init__(self, in_features: int, embed_dim: int = 128, hidden: int = 512, batch_norm: bool = False,
                 style: str = "mlp", paper_widths: tuple[int, ...] = (1024, 512, 256)) -> None:
        super().__init__()
        _check_style(style)
        self.in_features, self.embed_dim, self.style = in_features, embed_dim, style
        self.mlp = (_mlp(in_features, embed_dim, hidden, batch_norm) if style == "mlp"
                    else _bn_mlp(in_features, embed_dim, paper_widths))

    def forward(self, features: Tensor) -> Tensor:
        """features: (B, F) -> z: (B, d), unit rows."""
        return l2_normalize(self.mlp(features))


class CosineClassifier(nn.Module):
    """Logits = cosines between the embeddings and the normalised columns of W (d x K).

    Args:
        embed_dim: d.
        num_classes: K.
        scale: multiply the cosines by this; leave ``None`` when the loss scales them
            (:class:`~sbsr_lab.losses.AMSoftmaxLoss` wants the raw cosines).

    Shapes: z (B, d) -> logits (B, K). The input is normalised too, so a sample
    ``z = mu + sigma * eps`` that left the sphere still gives cosines.

    ``centres`` (K, d) are the normalised columns of W. :meth:`set_centres` copies fixed centres in
    (e.g. the teacher's) and :meth:`freeze` stops them from learning.
    """

    def __init__(self, embed_dim: int, num_classes: int, scale: float | None = None) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"A classifier needs at least 2 classes, got num_classes={num_classes}")
        self.embed_dim, self.num_classes, self.scale = embed_dim, num_classes, scale
        self.weight = nn.Parameter(torch.empty(embed_dim, num_classes))  # W: (d, K)
        nn.init.normal_(self.weight, std=embed_dim ** -0.5)

    @property
    def centres(self) -> Tensor:
        """Class centres c_k: (K, d), unit rows (the normalised columns of W)."""
        return l2_normalize(self.weight, dim=0).T

    def forward(self, z: Tensor) -> Tensor:
        """z: (B, d) -> logits (B, K): cosines in [-1, 1], times ``scale`` when it is set."""
        if z.dim() != 2 or z.shape[1] != self.embed_dim:
            raise ValueError(f"CosineClassifier expects embeddings (B, {self.embed_dim}), got {tuple(z.shape)}")
        cosine = l2_normalize(z) @ l2_normalize(self.weight, dim=0)  # (B, K)
        return cosine if self.scale is None else cosine * self.scale

    @torch.no_grad()
    def set_centres(self, centres: Tensor, freeze: bool = True) -> None:
        """Copy ``centres`` (K, d) into W's columns (normalised); by default stop them learning."""
        if tuple(centres.shape) != (self.num_classes, self.embed_dim):
            raise ValueError(
                f"set_centres expects ({self.num_classes}, {self.embed_dim}) centres, got {tuple(centres.shape)}; "
                f"check that both models use the same classes and embed_dim"
            )
        self.weight.copy_(l2_normalize(centres.to(self.weight), dim=1).T)
        if freeze:
            self.freeze()

    def freeze(self, frozen: bool = True) -> None:
        """Stop (or restart, ``frozen=False``) the centres from learning."""
        self.weight.requires_grad_(not frozen)

    @property
    def frozen(self) -> bool:
        """True when the centres do not learn."""
        return not self.weight.requires_grad

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_classes={self.num_classes}, scale={self.scale}, frozen={self.frozen}"


class ClassifiedNet(nn.Module):
    """Base of the sketch and multi-view networks: an embedding network ending in ``self.classifier``,
    a :class:`CosineClassifier` on ``self.embed_dim``-d embeddings, whose columns are the class centres."""

    classifier: CosineClassifier
    embed_dim: int
    num_classes: int

    @property
    def centres(self) -> Tensor:
        """Class centres (K, d), unit rows (the classifier's normalised columns)."""
        return self.classifier.centres

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the cosine classifier by a fresh one with ``num_classes`` classes."""
        self.num_classes = num_classes
        self.classifier = CosineClassifier(self.embed_dim, num_classes).to(self.classifier.weight)


class UncertaintyHead(nn.Module):
    """UACTN's head: a mean mu (normalised) and a per-dimension log-variance log sigma^2.

    Both branches follow the authors' code (after DUL) and end in a BatchNorm over their d outputs::

        mu = normalise(BatchNorm(MLP_mu(f)))
        v = BatchNorm(MLP_v(f))                     # each of the d outputs standardised over the batch
        log sigma^2 = log(var_floor + exp(gamma * v + beta))

    with the learned scalars gamma = 1e-4 and beta = -7 at the start (the scale-and-shift of
    PFE / DUL), so that every sample starts nearly deterministic (sigma^2 ~ e^-7) and the variance
    grows only where the uncertainty loss asks for it; ``var_floor`` (1e-6) keeps sigma^2 from
    reaching 0, which bounds the 1 / sigma^2 pull of the uncertainty loss.

    The BatchNorms matter: without them the variance of whole classes runs away together (an easy
    class gets a tiny sigma, so its means are pulled harder onto the centre, so its sigma shrinks
    further), and sigma tells the class more than the sketch's quality (docs/experiments.md).

    Args:
        in_features: F; embed_dim: d; hidden: width of both MLPs (0: single Linear layers).
        gamma_init, beta_init: the affine's initial values.
        var_floor: the smallest sigma^2.
        style: ``"mlp"`` (ours: LayerNorm in the hidden layer) or ``"paper"`` (the authors' code: each
            branch F -> 1024 -> d with BatchNorm(eps 2e-5) after both Linears; ``hidden`` is ignored).

    Shapes: (B, F) -> mu (B, d) unit rows, log_var (B, d). Train with batches of 2 or more
    (BatchNorm); in eval mode any batch size works.
    """

    def __init__(
        self,
        in_features: int,
        embed_dim: int = 128,
        hidden: int = 512,
        gamma_init: float = 1e-4,
        beta_init: float = -7.0,
        var_floor: float = 1e-6,
        style: str = "mlp",
    ) -> None:
        super().__init__()
        _check_style(style)
        self.in_features, self.embed_dim, self.style = in_features, embed_dim, style
        self.mu = EmbeddingHead(in_features, embed_dim, hidden, batch_norm=True, style=style, paper_widths=(1024,))
        self.log_var_mlp = (_mlp(in_features, embed_dim, hidden, batch_norm=True) if style == "mlp"
                            else _bn_mlp(in_features, embed_dim, (1024,)))
        self.gamma = nn.Parameter(torch.tensor(float(gamma_init)))
        self.beta = nn.Parameter(torch.tensor(float(beta_init)))
        self.log_var_floor = math.log(var_floor)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """features: (B, F) -> (mu (B, d) unit rows, log_var (B, d))."""
        mu = self.mu(features)
        log_var = self.gamma * self.log_var_mlp(features) + self.beta
        return mu, torch.logaddexp(log_var, torch.full_like(log_var, self.log_var_floor))


def reparameterize(mu: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Sample z = mu + sigma * eps with eps ~ N(0, I) and sigma = exp(log_var / 2).

    mu, log_var: (B, d) (log_var may also be (B, 1)). Returns (B, d); gradients flow to both
    inputs (the reparameterisation trick). ``generator`` makes the noise reproducible.
    """
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * log_var) * eps
