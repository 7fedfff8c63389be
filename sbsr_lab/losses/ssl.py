"""The SSL method's losses: SimSiam for self-supervised pre-training, an enhanced cross-modal triplet.

The 2024 thesis on self-supervised learning and knowledge distillation for sketch-based 3D shape
retrieval pre-trains the shape network on positive pairs only (two rendered views of one shape),
then aligns sketches and shapes with an "enhanced" cross-modal triplet loss. The thesis text is not
reachable here: both forms below are our choices (docs/reproducing.md, "The other approaches").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["SimSiamLoss", "EnhancedTripletLoss"]


class SimSiamLoss(BaseLoss):
    """L = 1/2 D(p1, sg(z2)) + 1/2 D(p2, sg(z1)),  D(p, z) = -cos(p, z).

    Chen and He, "Exploring Simple Siamese Representation Learning" (CVPR 2021): p = h(z) is the
    predictor's output, z = g(f(x)) the projector's, for two views x1, x2 of the same shape; sg is
    stop-gradient, so no gradient reaches z1 or z2 through the target side (they still get one
    through p = h(z)). The minimum is -1. No negatives, no labels.

    Shapes: p1, p2, z1, z2 (B, d). Returns a scalar, or (B,) with ``reduction="none"``.
    """

    def check_inputs(self, p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor) -> None:
        if p1.dim() != 2 or not (p1.shape == p2.shape == z1.shape == z2.shape):
            raise ValueError(
                "SimSiamLoss: want p1, p2, z1, z2 all (B, d), got "
                f"{tuple(p1.shape)}, {tuple(p2.shape)}, {tuple(z1.shape)}, {tuple(z2.shape)}"
            )

    def compute_loss(self, p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor) -> Tensor:
        """p1, p2, z1, z2 (B, d) -> (B,)."""
        d1 = -F.cosine_similarity(p1, z2.detach(), dim=1)
        d2 = -F.cosine_similarity(p2, z1.detach(), dim=1)
        return 0.5 * (d1 + d2)


class EnhancedTripletLoss(BaseLoss):
    """Batch-hard triplets across modalities plus an intra-modal term, on cosine similarities.

    For an anchor a with unit embedding, a candidate set G (with labels) and margin m,

        h(a, G) = max(0, m - min_{g in G, y_g = y_a, g != a} cos(a, g) + max_{g in G, y_g != y_a} cos(a, g))

    (the hardest positive and the hardest negative in the batch, Hermans et al. 2017; ``mining="hard"``),
    or with ``mining="all"`` the mean of ``max(0, m - cos(a, p) + cos(a, n))`` over every positive p and
    negative n of the batch whose hinge is active (batch-all). Batch-hard from a randomly initialised
    network can collapse: when all embeddings coincide, every hinge equals m and the cosines give no
    gradient (``ssl-align`` stayed at chance on the default profile; docs/experiments.md), so the
    stage trains with batch-all. Each sketch
    anchor s gets  h(s, shapes) + w * h(s, sketches)  and each shape anchor t gets
    h(t, sketches) + w * h(t, shapes): the cross-modal terms in both directions bring each class's
    sketches and shapes together, the intra-modal ones keep each modality's classes apart (our form
    of the thesis' "enhanced" triplet; defaults m = 0.2, w = 1).

    Shapes: z_sketch (B, d), y_sketch (B,), z_shape (M, d), y_shape (M,); normalised here. Returns a
    scalar (mean over the anchors with at least one triplet), or (B + M,) per anchor with
    ``reduction="none"`` (the B sketches first; a term without a positive or a negative is 0).
    """

    def __init__(self, margin: float = 0.2, intra_weight: float = 1.0, reduction: Reduction = "mean",
                 mining: str = "hard") -> None:
        super().__init__(reduction)
        if margin < 0 or intra_weight < 0:
            raise ValueError(f"EnhancedTripletLoss: margin and intra_weight must be >= 0, got {margin}, {intra_weight}")
        if mining not in ("hard", "all"):
            raise ValueError(f"EnhancedTripletLoss: mining must be 'hard' or 'all', got {mining!r}")
        self.margin, self.intra_weight, self.mining = margin, intra_weight, mining

    def batch_hard(self, sim: Tensor, same: Tensor, exclude_self: bool) -> tuple[Tensor, Tensor]:
        """Per-anchor hinge (A,) from similarities (A, G) and the same-class mask (A, G), and whether
        each anchor has a triplet (A,) bool. ``exclude_self``: the diagonal is the anchor itself."""
        pos = same.clone()
        if exclude_self:
            pos.fill_diagonal_(False)
        neg = ~same
        big = 4.0  # above any cosine gap
        hardest_pos = sim.masked_fill(~pos, big).amin(1)
        hardest_neg = sim.masked_fill(~neg, -big).amax(1)
        has = pos.any(1) & neg.any(1)
        if self.mining == "all":  # every (positive, negative) pair; mean over the active hinges
            pairs = (self.margin - sim[:, :, None] + sim[:, None, :]).clamp(min=0)  # (A, G, G)
            active = (pairs > 0) & pos[:, :, None] & neg[:, None, :]
            hinge = (pairs * active).sum((1, 2)) / active.sum((1, 2)).clamp(min=1)
            return torch.where(has, hinge, torch.zeros_like(hinge)), has
        hinge = (self.margin - hardest_pos + hardest_neg).clamp(min=0)
        return torch.where(has, hinge, torch.zeros_like(hinge)), has

    def check_inputs(self, z_sketch: Tensor, y_sketch: Tensor, z_shape: Tensor, y_shape: Tensor) -> None:
        if z_sketch.dim() != 2 or z_shape.dim() != 2 or z_sketch.shape[1] != z_shape.shape[1]:
            raise ValueError(f"EnhancedTripletLoss: want sketch z (B, d) and shape z (M, d), "
                             f"got {tuple(z_sketch.shape)} and {tuple(z_shape.shape)}")
        if not y_sketch.numel() or not y_shape.numel():
            raise ValueError("EnhancedTripletLoss: got an empty batch; give it sketches and shapes")
        k = int(max(y_sketch.max(), y_shape.max())) + 1
        check_labels(y_sketch, z_sketch.shape[0], k, "EnhancedTripletLoss (sketch labels)")
        check_labels(y_shape, z_shape.shape[0], k, "EnhancedTripletLoss (shape labels)")

    def compute_loss(self, z_sketch: Tensor, y_sketch: Tensor, z_shape: Tensor,
                     y_shape: Tensor) -> tuple[Tensor, Tensor]:
        """-> (per anchor (B + M,), valid (B + M,): the anchor has at least one triplet)."""
        s, t = F.normalize(z_sketch, dim=1), F.normalize(z_shape.to(z_sketch.dtype), dim=1)
        st = y_sketch[:, None] == y_shape[None, :]
        cross_s, has_cs = self.batch_hard(s @ t.T, st, exclude_self=False)
        cross_t, has_ct = self.batch_hard(t @ s.T, st.T, exclude_self=False)
        intra_s, has_is = self.batch_hard(s @ s.T, y_sketch[:, None] == y_sketch[None, :], exclude_self=True)
        intra_t, has_it = self.batch_hard(t @ t.T, y_shape[:, None] == y_shape[None, :], exclude_self=True)
        per_anchor = torch.cat([cross_s + self.intra_weight * intra_s, cross_t + self.intra_weight * intra_t])
        has = torch.cat([has_cs | has_is, has_ct | has_it])
        if not bool(has.any()):
            raise ValueError("EnhancedTripletLoss: no anchor has both a positive and a negative; "
                             "sample at least two classes, each in both modalities")
        return per_anchor, has

    def extra_repr(self) -> str:
        return f"margin={self.margin}, intra_weight={self.intra_weight}, mining={self.mining!r}, reduction={self.reduction!r}"
