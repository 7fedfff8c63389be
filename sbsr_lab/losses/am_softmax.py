"""AM-softmax (CosFace) and its focal variant, on the cosine logits of a cosine classifier."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sbsr_lab.losses.base import BaseLoss, Reduction, check_labels

__all__ = ["AMSoftmaxLoss", "FocalAMSoftmaxLoss"]


class AMSoftmaxLoss(BaseLoss):
    """Additive-margin softmax: CE(s * (cos - m * onehot(y)), y).

    Wang et al., "Additive Margin Softmax for Face Verification" (2018) = CosFace (Wang et al.,
    CVPR 2018). Defaults s = 15, m = 0.35 (blueprint). Two steps a variant may override:
    :meth:`margin_logits` (the logits) and :meth:`per_sample` (-log p_y; see :class:`FocalAMSoftmaxLoss`).

    Shapes: cosine (B, K) in [-1, 1] (a :class:`~sbsr_lab.models.CosineClassifier`'s logits with
    ``scale=None``), labels (B,) int. Returns a scalar, or (B,) with ``reduction="none"``.
    """

    def __init__(self, scale: float = 15.0, margin: float = 0.35, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.scale, self.margin = scale, margin

    def check_inputs(self, cosine: Tensor, labels: Tensor) -> None:
        if cosine.dim() != 2:
            raise ValueError(f"{type(self).__name__}: cosine must be (B, K), got shape {tuple(cosine.shape)}")
        check_labels(labels, cosine.shape[0], cosine.shape[1], type(self).__name__)

    def margin_logits(self, cosine: Tensor, labels: Tensor) -> Tensor:
        """s * (cos - m * onehot(y)): (B, K)."""
        onehot = F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)  # (B, K)
        return self.scale * (cosine - self.margin * onehot)

    def per_sample(self, log_p_target: Tensor) -> Tensor:
        """-log p_y: (B,) -> (B,)."""
        return -log_p_target

    def compute_loss(self, cosine: Tensor, labels: Tensor) -> Tensor:
        """cosine (B, K), labels (B,) -> (B,)."""
        log_p = torch.log_softmax(self.margin_logits(cosine, labels), dim=1)  # (B, K)
        log_p_target = log_p.gather(1, labels[:, None]).squeeze(1)  # (B,)
        return self.per_sample(log_p_target)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, margin={self.margin}, reduction={self.reduction!r}"


class FocalAMSoftmaxLoss(AMSoftmaxLoss):
    """Focal AM-softmax: (1 - p_y)^gamma * (-log p_y), p_y = softmax(s * (cos - m * onehot(y)))_y.

    Lin et al., "Focal Loss for Dense Object Detection" (ICCV 2017) on top of AM-softmax;
    default gamma = 2; gamma = 0 gives :class:`AMSoftmaxLoss`. Same shapes as AM-softmax.
    """

    def __init__(
        self, scale: float = 15.0, margin: float = 0.35, gamma: float = 2.0, reduction: Reduction = "mean"
    ) -> None:
        super().__init__(scale, margin, reduction=reduction)
        self.gamma = gamma

    def per_sample(self, log_p_target: Tensor) -> Tensor:
        """(1 - p_y)^gamma * -log p_y: (B,) -> (B,)."""
        return (1.0 - log_p_target.exp()).clamp_min(0.0).pow(self.gamma) * -log_p_target

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, " + super().extra_repr()
