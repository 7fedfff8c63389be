"""SSLTKD's losses: long-tail logit adjustment for the 3D teacher, feature and relational distillation
of that teacher into the sketch student.

The 2024 thesis (self-supervised long-tail optimisation + cross-modal knowledge distillation) is not
reachable here; the forms below are our choices (docs/reproducing.md, "The other approaches").
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from sbsr_lab.losses.am_softmax import AMSoftmaxLoss
from sbsr_lab.losses.base import BaseLoss, Reduction

__all__ = ["LogitAdjustedAMSoftmaxLoss", "FeatureDistillationLoss", "RelationalDistillationLoss"]


class LogitAdjustedAMSoftmaxLoss(AMSoftmaxLoss):
    """AM-softmax with the logit adjustment of Menon et al.: CE(s * (cos - m * onehot(y)) + tau * log pi, y).

    Menon et al., "Long-tail learning via logit adjustment" (ICLR 2021): adding tau * log pi_k (pi the
    training class prior) to the logits during training only makes the rare classes' margins larger,
    so that the plain argmax at test time is balanced (Fisher-consistent for the balanced error at
    tau = 1). Here it is one override of AM-softmax's logits step; tau = 0 gives AM-softmax.

    Args:
        class_counts: training samples per class (K,), all > 0; pi_k = n_k / sum n.
        tau: the adjustment's strength (1 in the paper).
        scale, margin: AM-softmax's s and m.

    Shapes: as :class:`AMSoftmaxLoss`, cosine (B, K) with K = len(class_counts), labels (B,).
    """

    def __init__(self, class_counts: Sequence[int] | Tensor, tau: float = 1.0, scale: float = 15.0,
                 margin: float = 0.35, reduction: Reduction = "mean") -> None:
        super().__init__(scale, margin, reduction=reduction)
        counts = torch.as_tensor(class_counts, dtype=torch.float64)
        if counts.dim() != 1 or counts.numel() < 2 or bool((counts <= 0).any()):
            raise ValueError(f"LogitAdjustedAMSoftmaxLoss: class_counts must be (K,) positive counts with K >= 2, "
                             f"got {counts.tolist()}; drop empty classes first")
        self.tau = tau
        self.register_buffer("log_prior", (counts / counts.sum()).log().float())

    def check_inputs(self, cosine: Tensor, labels: Tensor) -> None:
        super().check_inputs(cosine, labels)
        if cosine.shape[1] != self.log_prior.numel():
            raise ValueError(f"LogitAdjustedAMSoftmaxLoss: cosine has {cosine.shape[1]} classes, class_counts "
                             f"{self.log_prior.numel()}; build the loss from the same class list")

    def margin_logits(self, cosine: Tensor, labels: Tensor) -> Tensor:
        """s * (cos - m * onehot(y)) + tau * log pi: (B, K)."""
        return super().margin_logits(cosine, labels) + self.tau * self.log_prior.to(cosine.dtype)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, " + super().extra_repr()


class FeatureDistillationLoss(BaseLoss):
    """L_i = || z_i - sg(t_i) ||^2 with both sides normalised (= 2 - 2 cos(z_i, t_i)).

    Feature distillation (Hinton-style hint on embeddings, Romero et al. "FitNets", ICLR 2015) across
    modalities: t_i is the teacher's embedding of what sketch i shows, on SynthShapes the teacher's
    centre of i's class (the mean of the teacher's shape embeddings of the class, renormalised),
    or the teacher's embedding of the sketch's source shape where one is known. The teacher side is
    detached: it is a fixed target.

    Shapes: z (B, d) student, target (B, d) teacher. Returns a scalar, or (B,).
    """

    def check_inputs(self, z: Tensor, target: Tensor) -> None:
        if z.dim() != 2 or z.shape != target.shape:
            raise ValueError(f"FeatureDistillationLoss: want student z and teacher targets both (B, d), "
                             f"got {tuple(z.shape)} and {tuple(target.shape)}")

    def compute_loss(self, z: Tensor, target: Tensor) -> Tensor:
        """z (B, d), target (B, d) -> (B,)."""
        zn, tn = F.normalize(z, dim=1), F.normalize(target.detach().to(z.dtype), dim=1)
        return (zn - tn).pow(2).sum(1)


class RelationalDistillationLoss(BaseLoss):
    """L_i = KL( softmax_j(t_i . r_j / T) || softmax_j(z_i . r_j / T) ), r the teacher's reference embeddings.

    Relational distillation as a KL over similarity rows (in the spirit of Park et al., "Relational
    Knowledge Distillation", CVPR 2019, and Tung and Mori, "Similarity-Preserving KD", ICCV 2019):
    the student's sketch z_i must see the teacher's references r_j (e.g. the batch's shapes, as
    embedded by the teacher) with the same relative similarities as the teacher's own stand-in t_i
    for that sketch (its class centre, or its source shape). It transfers how classes and shapes
    relate, not only where each sketch should sit. With ``reference=None`` the references are the
    targets themselves and the diagonal is dropped (classic intra-batch relational KD). Teacher
    sides are detached. Default T = 0.1.

    Shapes: z (B, d) student, target (B, d) teacher, reference (M, d) teacher or None. All
    normalised here. Returns a scalar, or (B,).
    """

    def __init__(self, temperature: float = 0.1, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if temperature <= 0:
            raise ValueError(f"RelationalDistillationLoss: temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def check_inputs(self, z: Tensor, target: Tensor, reference: Tensor | None = None) -> None:
        if z.dim() != 2 or z.shape != target.shape or (reference is not None and (
                reference.dim() != 2 or reference.shape[1] != z.shape[1])):
            raise ValueError(f"RelationalDistillationLoss: want z (B, d), target (B, d), reference (M, d), got "
                             f"{tuple(z.shape)}, {tuple(target.shape)}, "
                             f"{None if reference is None else tuple(reference.shape)}")
        if reference is None and z.shape[0] < 2:
            raise ValueError("RelationalDistillationLoss: intra-batch relations need a batch of 2 or more")

    def compute_loss(self, z: Tensor, target: Tensor, reference: Tensor | None = None) -> Tensor:
        """z (B, d), target (B, d), reference (M, d) or None -> (B,)."""
        zn, tn = F.normalize(z, dim=1), F.normalize(target.detach().to(z.dtype), dim=1)
        rn = tn if reference is None else F.normalize(reference.detach().to(z.dtype), dim=1)
        s_logits, t_logits = zn @ rn.T / self.temperature, tn @ rn.T / self.temperature  # (B, M)
        if reference is None:
            off = ~torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
            s_logits = s_logits[off].view(z.shape[0], -1)
            t_logits = t_logits[off].view(z.shape[0], -1)
        log_ps, log_pt = s_logits.log_softmax(1), t_logits.log_softmax(1)
        return (log_pt.exp() * (log_pt - log_ps)).sum(1)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, reduction={self.reduction!r}"
