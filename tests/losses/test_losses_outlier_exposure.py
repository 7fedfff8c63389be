"""Outlier exposure: KL(uniform || softmax(s * cos)), zero only at equal cosines, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from sbsr_lab.losses import OutlierExposureLoss


def test_outlier_exposure_is_the_kl_from_uniform_by_hand():
    cos = torch.tensor([[0.9, 0.1, -0.2], [0.3, 0.3, 0.3]])
    loss = OutlierExposureLoss(scale=10.0, reduction="none")(cos)
    p = torch.softmax(10.0 * cos, dim=1)
    by_hand = (1 / 3 * (torch.log(torch.tensor(1 / 3)) - torch.log(p))).sum(1)  # KL(u || p)
    assert torch.allclose(loss, by_hand, atol=1e-6)
    assert loss[1].item() == pytest.approx(0.0, abs=1e-6) and loss[0].item() > 1.0


def test_outlier_exposure_pushes_the_winning_class_down():
    cos = torch.tensor([[0.8, 0.0, 0.0, 0.0]], requires_grad=True)
    OutlierExposureLoss(scale=15.0)(cos).backward()
    assert cos.grad[0, 0] > 0 and (cos.grad[0, 1:] < 0).all()  # descent lowers the confident class
    assert OutlierExposureLoss(15.0)(torch.full((5, 12), 0.2)).item() == pytest.approx(0.0, abs=1e-6)
    one_hot = OutlierExposureLoss(15.0)(torch.eye(12)[:2])
    assert one_hot.item() == pytest.approx(math.log(sum(math.exp(15 * c) for c in [1] + [0] * 11)) - 15 / 12
                                           - math.log(12), rel=1e-5)


def test_outlier_exposure_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"\(M, K\)"):
        OutlierExposureLoss()(torch.zeros(4))
    with pytest.raises(ValueError, match="K >= 2"):
        OutlierExposureLoss()(torch.zeros(4, 1))
