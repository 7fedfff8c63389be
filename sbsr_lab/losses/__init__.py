"""Losses, one small class each (pytorch-metric-learning style), all vectorised over the batch.

Every loss takes ``reduction="mean" | "sum" | "none"`` ("none": one value per sample, (B,)).

    >>> from sbsr_lab.losses import AMSoftmaxLoss, GuidanceLoss
    >>> am, guide = AMSoftmaxLoss(scale=15, margin=0.35), GuidanceLoss(beta=1.0)
    >>> # loss = am(out["logits"], y) + 0.5 * guide(out["z"], teacher_centres, y)
"""

from sbsr_lab.losses.am_softmax import AMSoftmaxLoss, FocalAMSoftmaxLoss
from sbsr_lab.losses.base import BaseLoss
from sbsr_lab.losses.centre import CentreLoss
from sbsr_lab.losses.cmic import CMICCategoryLoss, CMICInstanceLoss, CMICLoss
from sbsr_lab.losses.cross_modal import CrossModalContrastiveLoss, MeanDiscrepancyLoss
from sbsr_lab.losses.dca import ImportanceMetricLoss, ModalityDiscriminatorLoss
from sbsr_lab.losses.distill import FeatureDistillationLoss, LogitAdjustedAMSoftmaxLoss, RelationalDistillationLoss
from sbsr_lab.losses.guidance import GuidanceLoss, TransferLoss
from sbsr_lab.losses.outlier_exposure import OutlierExposureLoss
from sbsr_lab.losses.ssl import EnhancedTripletLoss, SimSiamLoss
from sbsr_lab.losses.uncertainty import UncertaintyLoss

__all__ = [
    "BaseLoss", "AMSoftmaxLoss", "FocalAMSoftmaxLoss", "GuidanceLoss", "TransferLoss",
    "UncertaintyLoss", "CentreLoss", "MeanDiscrepancyLoss", "CrossModalContrastiveLoss",
    "ImportanceMetricLoss", "ModalityDiscriminatorLoss", "CMICInstanceLoss", "CMICCategoryLoss", "CMICLoss",
    "SimSiamLoss", "EnhancedTripletLoss", "LogitAdjustedAMSoftmaxLoss", "FeatureDistillationLoss",
    "RelationalDistillationLoss", "OutlierExposureLoss",
]
