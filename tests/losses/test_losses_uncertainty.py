"""UACTN's uncertainty regression loss: by hand, its optimum in log sigma^2, the KL term."""

from __future__ import annotations

import math

import pytest
import torch

from sbsr_lab.losses import UncertaintyLoss
from sbsr_lab.similarity import l2_normalize

DTYPES = [torch.float32, torch.float64]


def _batch(dtype: torch.dtype, b: int = 4, k: int = 3, d: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mu = l2_normalize(torch.randn(b, d, generator=g, dtype=torch.float64)).to(dtype)
    log_var = (torch.randn(b, d, generator=g, dtype=torch.float64) - 1.0).to(dtype)
    centres = l2_normalize(torch.randn(k, d, generator=g, dtype=torch.float64)).to(dtype)
    return mu, log_var, centres, torch.randint(0, k, (b,), generator=g)


def _by_hand(mu, log_var, centres, labels, kl_weight=0.0):
    out = []
    for i, y in enumerate(labels.tolist()):
        total = 0.0
        for m, lv, c in zip(mu[i].tolist(), log_var[i].tolist(), centres[y].tolist()):
            var = math.exp(lv)
            total += 0.5 * (m - c) ** 2 / var + 0.5 * lv + kl_weight * 0.5 * (var - lv - 1.0)
        out.append(total)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kl_weight", [0.0, 0.3])
def test_uncertainty_loss_matches_hand_computation(dtype, kl_weight):
    mu, log_var, centres, labels = _batch(dtype)
    expected = torch.tensor(_by_hand(mu, log_var, centres, labels, kl_weight), dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    loss = UncertaintyLoss(kl_weight=kl_weight, reduction="none")(mu, log_var, centres, labels)
    torch.testing.assert_close(loss, expected, **tol)
    torch.testing.assert_close(UncertaintyLoss(kl_weight)(mu, log_var, centres, labels), expected.mean(), **tol)
    torch.testing.assert_close(
        UncertaintyLoss(kl_weight, dims="mean")(mu, log_var, centres, labels), expected.mean() / mu.shape[1], **tol
    )


def test_gradient_in_log_var_vanishes_at_the_squared_error():
    mu, _, centres, labels = _batch(torch.float64, b=6, d=8, seed=1)
    sq = (mu - centres[labels]).pow(2)  # (B, d)
    # per dimension: the optimum is sigma_l^2 = (mu_l - c_l)^2
    log_var = sq.log().clone().requires_grad_(True)
    UncertaintyLoss(reduction="sum")(mu, log_var, centres, labels).backward()
    torch.testing.assert_close(log_var.grad, torch.zeros_like(log_var), atol=1e-12, rtol=0)
    # one shared variance per sample: the optimum is ||mu - c||^2 / d
    shared = (sq.sum(1, keepdim=True) / mu.shape[1]).log().requires_grad_(True)
    UncertaintyLoss(reduction="sum")(mu, shared, centres, labels).backward()
    torch.testing.assert_close(shared.grad, torch.zeros_like(shared), atol=1e-12, rtol=0)
    # and away from it the gradient is not zero
    off = (sq.log() + 1.0).requires_grad_(True)
    UncertaintyLoss(reduction="sum")(mu, off, centres, labels).backward()
    assert bool((off.grad > 0).all())  # variance too large -> lower it


def test_larger_error_buys_larger_optimal_variance_and_kl_pulls_sigma_to_one():
    mu = l2_normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64))
    centres = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)
    labels = torch.tensor([1, 1])  # sample 0 is far from centre 1, sample 1 close
    log_var = torch.full((2, 1), -3.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([log_var], lr=0.1)
    for _ in range(400):
        opt.zero_grad()
        UncertaintyLoss(reduction="sum")(mu, log_var, centres, labels).backward()
        opt.step()
    assert log_var[0].item() > log_var[1].item()
    # the KL term (zero at sigma = 1) moves the optimal variance toward 1
    lv = torch.zeros(2, 2, dtype=torch.float64)
    kl, no_kl = UncertaintyLoss(kl_weight=1.0, reduction="none"), UncertaintyLoss(reduction="none")
    torch.testing.assert_close(kl(mu, lv, centres, labels), no_kl(mu, lv, centres, labels))
    with_kl = torch.full((2, 1), -3.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([with_kl], lr=0.1)
    for _ in range(400):
        opt.zero_grad()
        kl(mu, with_kl, centres, labels).sum().backward()
        opt.step()
    assert bool((with_kl.detach().abs() < log_var.detach().abs()).all())


def test_centres_are_detached_by_default():
    mu, log_var, centres, labels = _batch(torch.float64)
    centres.requires_grad_(True)
    mu.requires_grad_(True)
    UncertaintyLoss()(mu, log_var, centres, labels).backward()
    assert centres.grad is None and mu.grad is not None
    UncertaintyLoss(detach_centres=False)(mu, log_var, centres, labels).backward()
    assert centres.grad is not None and centres.grad.abs().sum() > 0


def test_bad_shapes():
    mu, log_var, centres, labels = _batch(torch.float32)
    with pytest.raises(ValueError, match="log_var"):
        UncertaintyLoss()(mu, log_var[:, :2], centres, labels)
    with pytest.raises(ValueError, match="dims"):
        UncertaintyLoss(dims="max")  # type: ignore[arg-type]
