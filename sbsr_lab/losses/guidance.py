"""CFTTSL's guidance loss (also UACTN's stage-2 transfer loss): pull to the own centre, push from the others."""

from __future__ import annotations

from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["GuidanceLoss", "TransferLoss"]


class GuidanceLoss(BaseLoss):
    """L_g = ||z - c_y||^2 + beta * mean_{k != y} (z . c_k), with fixed centres.

    CFTTSL (CVIU 2024), stage 2: the student's sketch embeddings are pulled onto the teacher's
    class centres and pushed away from the other centres; total loss L_AM + alpha * L_g
    (alpha = 0.5, beta = 1). UACTN (ICME 2023), stage 2, uses the same pull/push to put shape
    embeddings on the sketch centres (:data:`TransferLoss`).

    Sign of the push term: minimising L_g must *lower* the similarity to the other centres, so it
    enters with +beta. (Written as "- beta * mean(z . c_k)" the term would pull z toward the other
    classes' centres; with a distance instead of a similarity, - beta * mean ||z - c_k||^2, it is
    this loss up to a constant for unit z, with beta doubled.)

    Shapes: z (B, d) (unit rows from the model), centres (K, d) with K >= 2, labels (B,) int.
    The centres are detached: they are fixed targets. Returns a scalar, or (B,) with
    ``reduction="none"``.
    """

    def __init__(self, beta: float = 1.0, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.beta = beta

    def check_inputs(self, z: Tensor, centres: Tensor, labels: Tensor) -> None:
        if z.dim() != 2 or centres.dim() != 2 or z.shape[1] != centres.shape[1]:
            raise ValueError(
                f"GuidanceLoss: want z (B, d) and centres (K, d), got {tuple(z.shape)} and {tuple(centres.shape)}"
            )
        k = centres.shape[0]
        if k < 2:
            raise ValueError(f"GuidanceLoss: needs at least 2 centres to push away from, got {k}")
        check_labels(labels, z.shape[0], k, "GuidanceLoss")

    def compute_loss(self, z: Tensor, centres: Tensor, labels: Tensor) -> Tensor:
        """z (B, d), centres (K, d), labels (B,) -> (B,)."""
        k = centres.shape[0]
        centres = centres.detach().to(z.dtype)
        pull = (z - centres[labels]).pow(2).sum(1)  # (B,)
        sims = z @ centres.T  # (B, K)
        own = sims.gather(1, labels[:, None]).squeeze(1)  # (B,)
        push = (sims.sum(1) - own) / (k - 1)  # mean over the K - 1 other centres
        return pull + self.beta * push

    def extra_repr(self) -> str:
        return f"beta={self.beta}, reduction={self.reduction!r}"


#: UACTN's stage-2 transfer loss is the same pull/push onto fixed (sketch) centres.
TransferLoss = GuidanceLoss
