"""Guidance (transfer) loss and centre loss: by hand, gradients pull toward the own centre."""

from __future__ import annotations

import pytest
import torch

from sbsr_lab.losses import CentreLoss, GuidanceLoss, TransferLoss
from sbsr_lab.similarity import l2_normalize

DTYPES = [torch.float32, torch.float64]


def _batch(dtype: torch.dtype, b: int = 5, k: int = 4, d: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    z = l2_normalize(torch.randn(b, d, generator=g, dtype=torch.float64)).to(dtype)
    centres = l2_normalize(torch.randn(k, d, generator=g, dtype=torch.float64)).to(dtype)
    return z, centres, torch.randint(0, k, (b,), generator=g)


def _guidance_by_hand(z, centres, labels, beta):
    out = []
    for zi, y in zip(z.tolist(), labels.tolist()):
        pull = sum((a - c) ** 2 for a, c in zip(zi, centres[y].tolist()))
        others = [sum(a * c for a, c in zip(zi, ck)) for k, ck in enumerate(centres.tolist()) if k != y]
        out.append(pull + beta * sum(others) / len(others))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.5])
def test_guidance_matches_hand_computation(dtype, beta):
    z, centres, labels = _batch(dtype)
    expected = torch.tensor(_guidance_by_hand(z, centres, labels, beta), dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(GuidanceLoss(beta, reduction="none")(z, centres, labels), expected, **tol)
    torch.testing.assert_close(GuidanceLoss(beta)(z, centres, labels), expected.mean(), **tol)
    torch.testing.assert_close(TransferLoss(beta, reduction="sum")(z, centres, labels), expected.sum(), **tol)


def test_guidance_gradient_pulls_toward_own_centre_and_leaves_centres_alone():
    z, centres, labels = _batch(torch.float64, b=16, k=6, d=8, seed=2)
    centres.requires_grad_(True)
    z.requires_grad_(True)
    GuidanceLoss(beta=1.0, reduction="sum")(z, centres, labels).backward()
    assert centres.grad is None  # fixed centres
    step = -z.grad  # (B, d): descent direction
    to_centre = centres.detach()[labels] - z.detach()
    assert bool(((step * to_centre).sum(1) > 0).all())
    # A few normalised descent steps bring every sample closer to its centre than to any other.
    zz = z.detach().clone()
    for _ in range(50):
        zz.requires_grad_(True)
        GuidanceLoss(beta=1.0, reduction="sum")(zz, centres, labels).backward()
        zz = l2_normalize(zz.detach() - 0.1 * zz.grad)
    sims = zz @ centres.detach().T
    assert torch.equal(sims.argmax(1), labels)
    assert bool((sims.gather(1, labels[:, None]) > 0.95).all())


def test_guidance_push_lowers_similarity_to_other_centres():
    # Orthonormal centres: the push gradient points away from the mean of the other centres.
    centres = torch.eye(4, dtype=torch.float64)
    z = torch.tensor([[0.5, 0.5, 0.5, 0.5]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0])
    (GuidanceLoss(beta=1.0)(z, centres, labels) - GuidanceLoss(beta=0.0)(z, centres, labels)).backward()
    push_step = -z.grad[0]
    assert bool((push_step[1:] < 0).all())


def test_guidance_errors():
    z, centres, labels = _batch(torch.float32)
    with pytest.raises(ValueError, match="at least 2 centres"):
        GuidanceLoss()(z, centres[:1], torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="centres"):
        GuidanceLoss()(z, centres[:, :3], labels)


@pytest.mark.parametrize("dtype", DTYPES)
def test_centre_loss_by_hand_and_learns_its_centres(dtype):
    torch.manual_seed(0)
    loss_fn = CentreLoss(num_classes=3, embed_dim=4, reduction="none").to(dtype)
    z = torch.randn(6, 4, dtype=dtype)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    c = loss_fn.centres.detach()
    expected = torch.tensor(
        [0.5 * sum((a - b) ** 2 for a, b in zip(z[i].tolist(), c[labels[i]].tolist())) for i in range(6)], dtype=dtype
    )
    torch.testing.assert_close(loss_fn(z, labels), expected, rtol=1e-5, atol=1e-6)
    loss_fn.reduction = "mean"
    opt = torch.optim.SGD(loss_fn.parameters(), lr=1.0)
    for _ in range(100):
        opt.zero_grad()
        loss_fn(z, labels).backward()
        opt.step()
    # optimal centres are the class means of z
    means = torch.stack([z[labels == k].mean(0) for k in range(3)])
    torch.testing.assert_close(loss_fn.centres.detach(), means, rtol=1e-3, atol=1e-3)
