"""UACTN's uncertainty regression loss: a Gaussian negative log-likelihood of the class centre."""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["UncertaintyLoss"]


class UncertaintyLoss(BaseLoss):
    """L_u = sum_l [ 0.5 * (mu_l - c_{y,l})^2 / sigma_l^2 + 0.5 * log sigma_l^2 ]  (+ KL term).

    UACTN (Cai et al., ICME 2023), stage 1, following the data-uncertainty regression of DUL
    (Chang et al., CVPR 2020): the sketch's mean mu should sit on its class centre c_y; a sketch that
    cannot get there (a noisy one) lowers the loss by predicting a large variance sigma^2, so it
    counts less. This is the negative log-likelihood of c_y under N(mu, diag(sigma^2)) minus its
    constant, **summed over the d dimensions** (``dims="sum"``, the likelihood of the whole
    vector; ``dims="mean"`` divides by d) and then reduced over the batch. The blueprint's
    mean(...) is this per-sample value averaged over the batch.

    Optimum: d L_u / d log sigma_l^2 = 0.5 - 0.5 * (mu_l - c_l)^2 / sigma_l^2, zero at
    sigma_l^2 = (mu_l - c_l)^2; a shared variance (log_var of shape (B, 1)) settles at
    ||mu - c||^2 / d.

    Optional KL term (``kl_weight`` > 0): KL(N(mu, sigma^2) || N(mu, I)) = 0.5 * sum_l
    (sigma_l^2 - log sigma_l^2 - 1). It keeps sigma^2 from collapsing; it equals DUL's KL to the
    standard normal N(0, I) minus 0.5 * ||mu||^2, a constant for our unit-norm mu.

    Args:
        kl_weight: weight of the KL term (0 = off, the UACTN default).
        dims: ``"sum"`` or ``"mean"`` over the d dimensions (the KL term follows the same choice).
        detach_centres: treat the centres as fixed targets (default). Otherwise the regression
            also moves the classifier's centres toward the means, weighted by 1 / sigma^2.

    Shapes: mu (B, d), log_var (B, d) or (B, 1), centres (K, d), labels (B,) int. Returns a scalar,
    or (B,) with ``reduction="none"``.
    """

    def __init__(
        self,
        kl_weight: float = 0.0,
        dims: Literal["sum", "mean"] = "sum",
        detach_centres: bool = True,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(reduction)
        if dims not in ("sum", "mean"):
            raise ValueError(f"dims must be 'sum' or 'mean', got {dims!r}")
        self.kl_weight, self.dims, self.detach_centres = kl_weight, dims, detach_centres

    def check_inputs(self, mu: Tensor, log_var: Tensor, centres: Tensor, labels: Tensor) -> None:
        if mu.dim() != 2 or centres.dim() != 2 or mu.shape[1] != centres.shape[1]:
            raise ValueError(
                f"UncertaintyLoss: want mu (B, d) and centres (K, d), got {tuple(mu.shape)} and {tuple(centres.shape)}"
            )
        if log_var.dim() != 2 or log_var.shape[0] != mu.shape[0] or log_var.shape[1] not in (1, mu.shape[1]):
            raise ValueError(
                f"UncertaintyLoss: log_var must be ({mu.shape[0]}, {mu.shape[1]}) or ({mu.shape[0]}, 1), "
                f"got {tuple(log_var.shape)}"
            )
        check_labels(labels, mu.shape[0], centres.shape[0], "UncertaintyLoss")

    def compute_loss(self, mu: Tensor, log_var: Tensor, centres: Tensor, labels: Tensor) -> Tensor:
        """mu (B, d), log_var (B, d)|(B, 1), centres (K, d), labels (B,) -> (B,)."""
        if self.detach_centres:
            centres = centres.detach()
        target = centres.to(mu.dtype)[labels]  # (B, d)
        log_var = log_var.expand_as(mu)  # (B, d)
        inv_var = (-log_var).exp()
        terms = 0.5 * (mu - target).pow(2) * inv_var + 0.5 * log_var  # (B, d)
        if self.kl_weight:
            terms = terms + self.kl_weight * 0.5 * (log_var.exp() - log_var - 1.0)
        return terms.sum(1) if self.dims == "sum" else terms.mean(1)  # (B,)

    def extra_repr(self) -> str:
        return (
            f"kl_weight={self.kl_weight}, dims={self.dims!r}, detach_centres={self.detach_centres}, "
            f"reduction={self.reduction!r}"
        )
