"""BaseLoss: forward = check_inputs -> compute_loss -> reduce, in one place for every loss."""

from __future__ import annotations

import pytest
import torch

from sbsr_lab.losses import AMSoftmaxLoss, BaseLoss, CentreLoss, CrossModalContrastiveLoss, GuidanceLoss, UncertaintyLoss
from sbsr_lab.losses.base import check_labels


class Squares(BaseLoss):
    """x^2 per item; items with x < 0 have no loss (masked out of the mean)."""

    def check_inputs(self, x):
        if x.dim() != 1:
            raise ValueError("want (B,)")

    def compute_loss(self, x):
        return x.clamp_min(0).pow(2), x >= 0


def test_the_base_checks_computes_and_reduces():
    x = torch.tensor([1.0, 2.0, -3.0])
    assert Squares()(x).item() == pytest.approx(2.5)           # mean over the two valid items
    assert Squares(reduction="sum")(x).item() == pytest.approx(5.0)
    assert Squares(reduction="none")(x).tolist() == [1.0, 4.0, 0.0]
    with pytest.raises(ValueError, match="want"):
        Squares()(x[None])
    with pytest.raises(ValueError, match="reduction"):
        Squares(reduction="max")


@pytest.mark.parametrize("cls", [AMSoftmaxLoss, GuidanceLoss, UncertaintyLoss, CentreLoss, CrossModalContrastiveLoss])
def test_every_loss_uses_the_base_forward(cls):
    assert cls.forward is BaseLoss.forward and cls.compute_loss is not BaseLoss.compute_loss
    assert cls.check_inputs is not BaseLoss.check_inputs


def test_check_labels_rejects_floats():
    with pytest.raises(TypeError, match="integer"):
        check_labels(torch.zeros(2), 2, 3, "who")
