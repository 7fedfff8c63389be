"""Outlier exposure: drawings that are not shapes should leave the cosine classifier undecided."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction

__all__ = ["OutlierExposureLoss"]


class OutlierExposureLoss(BaseLoss):
    """L_OE = KL(uniform || softmax(s * cos)) = logsumexp_k(s * cos_k) - mean_k(s * cos_k) - log K, per outlier.

    Hendrycks, Mazeika and Dietterich, "Deep Anomaly Detection with Outlier Exposure" (ICLR 2019): beside
    the task loss on in-distribution samples, auxiliary outliers (here generated scribbles,
    :mod:`sbsr_lab.data.scribbles`) are trained towards the uniform distribution over the K classes (the
    paper's cross-entropy to the uniform distribution, less its constant log K, so the value reads as a
    KL divergence). The minimum, 0, is reached when all K cosines are equal; with the class centres spread over the sphere
    that means far from every centre, so the similarity to the nearest centre (``max_cosine``) and the
    energy score (:mod:`sbsr_lab.serve.calibration`) of a drawing unlike any class drop, where without
    it a cosine classifier answers a scribble with a confident class. Not part of any SBSR paper: an
    option (the profile's ``outlier_exposure`` weight, 0 = off) that the bundled demo model uses.

    Shapes: cosine (M, K) of the outliers (a :class:`~sbsr_lab.models.CosineClassifier`'s logits with
    ``scale=None``). Returns a scalar, or (M,) with ``reduction="none"``.
    """

    def __init__(self, scale: float = 15.0, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.scale = scale

    def check_inputs(self, cosine: Tensor) -> None:
        if cosine.dim() != 2 or cosine.shape[1] < 2:
            raise ValueError(f"{type(self).__name__}: cosine must be (M, K) with K >= 2, got shape {tuple(cosine.shape)}")

    def compute_loss(self, cosine: Tensor) -> Tensor:
        """cosine (M, K) -> (M,)."""
        logits = self.scale * cosine.float()
        return torch.logsumexp(logits, dim=1) - logits.mean(dim=1) - math.log(cosine.shape[1])

    def extra_repr(self) -> str:
        return f"scale={self.scale}, reduction={self.reduction!r}"
