"""DCA's losses: importance-aware metric learning and the modality discriminator's BCE.

DCA (Chen and Fang, "Deep Cross-modality Adaptation via Semantics Preserving Adversarial Learning
for Sketch-based 3D Shape Retrieval", ECCV 2018). The paper's full text is not reachable here; the
exact forms below are our choices (docs/reproducing.md, "The other approaches"). DCA's other two
terms are reused: the class-aware cross-modality mean discrepancy is
:class:`~sbsr_lab.losses.MeanDiscrepancyLoss`, the classification term on T(sketch) is
:class:`~sbsr_lab.losses.AMSoftmaxLoss` on the shape classifier's cosines.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["ImportanceMetricLoss", "ModalityDiscriminatorLoss", "discriminator_accuracy"]


class ImportanceMetricLoss(BaseLoss):
    """Importance-aware metric loss: multi-similarity loss over the batch's mined hard pairs.

    DCA trains each modality's metric network with batch-wise hard sample mining where harder pairs
    weigh more; we take the multi-similarity form (Wang et al., "Multi-Similarity Loss with General
    Pair Weighting for Deep Metric Learning", CVPR 2019), which does exactly that. With cosine
    similarities S_ij (unit embeddings), P_i the other samples of i's class and N_i the samples of
    other classes:

    * mining: keep a positive p if S_ip - eps < max_{n in N_i} S_in, a negative n if
      S_in + eps > min_{p in P_i} S_ip (pairs that violate, or nearly violate, the ordering);
    * L_i = 1/alpha log(1 + sum_{kept p} exp(-alpha (S_ip - lam)))
          + 1/beta  log(1 + sum_{kept n} exp( beta (S_in - lam))).

    The gradient weight of a pair is its share of its sum (a softmax), so the harder a positive
    (lower S) or a negative (higher S), the more it counts: the "importance". Defaults alpha = 2,
    beta = 50, lam = 0.5, eps = 0.1 (the MS paper's). Equal to pytorch-metric-learning's
    ``MultiSimilarityLoss(alpha, beta, base=lam)(z, y, MultiSimilarityMiner(eps)(z, y))``.

    Shapes: z (B, d) (normalised here), labels (B,) int. Returns a scalar (mean over the B anchors;
    an anchor with no kept pair contributes 0), or (B,) with ``reduction="none"``.
    """

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, lam: float = 0.5, eps: float = 0.1,
                 reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if alpha <= 0 or beta <= 0:
            raise ValueError(f"ImportanceMetricLoss: alpha and beta must be > 0, got {alpha} and {beta}")
        self.alpha, self.beta, self.lam, self.eps = alpha, beta, lam, eps

    def mine(self, sim: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """The hard pairs: (keep_pos, keep_neg), two (B, B) bool masks, from S (B, B) and labels (B,)."""
        same = labels[:, None] == labels[None, :]
        pos = same & ~torch.eye(len(labels), dtype=torch.bool, device=sim.device)
        neg = ~same
        inf = torch.finfo(sim.dtype).max
        min_pos = sim.masked_fill(~pos, inf).amin(1, keepdim=True)   # (B, 1); +max where no positive
        max_neg = sim.masked_fill(~neg, -inf).amax(1, keepdim=True)  # (B, 1); -max where no negative
        return pos & (sim - self.eps < max_neg), neg & (sim + self.eps > min_pos)

    def check_inputs(self, z: Tensor, labels: Tensor) -> None:
        if z.dim() != 2:
            raise ValueError(f"ImportanceMetricLoss: z must be (B, d), got shape {tuple(z.shape)}")
        check_labels(labels, z.shape[0], int(labels.max()) + 1 if labels.numel() else 1, "ImportanceMetricLoss")

    def compute_loss(self, z: Tensor, labels: Tensor) -> Tensor:
        """z (B, d), labels (B,) -> (B,)."""
        zn = F.normalize(z, dim=1)
        sim = zn @ zn.T  # (B, B)
        keep_pos, keep_neg = self.mine(sim.detach(), labels)
        pos_loss = _log1p_sum_exp(-self.alpha * (sim - self.lam), keep_pos) / self.alpha
        neg_loss = _log1p_sum_exp(self.beta * (sim - self.lam), keep_neg) / self.beta
        return pos_loss + neg_loss

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, lam={self.lam}, eps={self.eps}, reduction={self.reduction!r}"


def _log1p_sum_exp(x: Tensor, mask: Tensor) -> Tensor:
    """log(1 + sum_j mask_ij exp(x_ij)) per row, stably: (B, B) -> (B,); 0 for an empty row."""
    x = x.masked_fill(~mask, float("-inf"))
    zeros = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)  # the "1 +"
    return torch.cat([zeros, x], 1).logsumexp(1)


class ModalityDiscriminatorLoss(BaseLoss):
    """BCE of the modality discriminator, with label smoothing: shapes are 1, sketches 0.

        L = mean over the B sketches and M shapes of BCE(sigmoid(logit), target),
        target = 1 - s for a shape, s for a sketch (two-sided label smoothing, s = 0.1).

    D minimises it. DCA's transformation network T must make T(sketch) pass for a shape; we train T
    through a gradient-reversal layer (:func:`~sbsr_lab.models.adversarial.grad_reverse`) on the
    sketch logits, so T maximises the same L in the same step. The smoothing keeps D's logits finite,
    which bounds the reversed gradient T receives (our choice; docs/reproducing.md).

    Shapes: sketch logits (B,), shape logits (M,) (a
    :class:`~sbsr_lab.models.adversarial.ModalityDiscriminator`'s outputs). Returns a scalar, or
    (B + M,) with ``reduction="none"`` (the B sketches first).
    """

    def __init__(self, smoothing: float = 0.1, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if not 0.0 <= smoothing < 0.5:
            raise ValueError(f"ModalityDiscriminatorLoss: smoothing must lie in [0, 0.5), got {smoothing}")
        self.smoothing = smoothing

    def check_inputs(self, logits_sketch: Tensor, logits_shape: Tensor) -> None:
        if logits_sketch.dim() != 1 or logits_shape.dim() != 1 or not (logits_sketch.numel() + logits_shape.numel()):
            raise ValueError(
                "ModalityDiscriminatorLoss: want one logit per sample, sketch logits (B,) and shape logits (M,), "
                f"got {tuple(logits_sketch.shape)} and {tuple(logits_shape.shape)}"
            )

    def compute_loss(self, logits_sketch: Tensor, logits_shape: Tensor) -> Tensor:
        """logits_sketch (B,), logits_shape (M,) -> (B + M,), the sketches first."""
        logits = torch.cat([logits_sketch, logits_shape.to(logits_sketch.dtype)])
        target = torch.cat([torch.full_like(logits_sketch, self.smoothing),
                            torch.full_like(logits_shape, 1.0 - self.smoothing, dtype=logits.dtype)])
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none")

    def extra_repr(self) -> str:
        return f"smoothing={self.smoothing}, reduction={self.reduction!r}"


@torch.no_grad()
def discriminator_accuracy(logits_sketch: Tensor, logits_shape: Tensor) -> float:
    """Share of samples D gets right (shape: logit > 0, sketch: logit <= 0), balanced over the two
    modalities: 0.5 * (acc on sketches + acc on shapes). 0.5 is chance: the two distributions align."""
    return 0.5 * (float((logits_sketch <= 0).float().mean()) + float((logits_shape > 0).float().mean()))
