"""AM-softmax and focal AM-softmax: recomputed by hand, against pytorch-metric-learning, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from sbsr_lab.losses import AMSoftmaxLoss, FocalAMSoftmaxLoss
from sbsr_lab.similarity import cosine_similarity, l2_normalize

DTYPES = [torch.float32, torch.float64]


def _batch(dtype: torch.dtype, b: int = 5, k: int = 4, d: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, d, generator=g, dtype=torch.float64)
    w = torch.randn(d, k, generator=g, dtype=torch.float64)  # W: (d, K)
    labels = torch.randint(0, k, (b,), generator=g)
    return z.to(dtype), w.to(dtype), labels


def _by_hand(cosine: torch.Tensor, labels: torch.Tensor, s: float, m: float, gamma: float = 0.0) -> list[float]:
    """Per-sample loss with plain Python floats: -log softmax(s*(cos - m*[j==y]))_y, focal-weighted."""
    out = []
    for row, y in zip(cosine.tolist(), labels.tolist()):
        logits = [s * (c - (m if j == y else 0.0)) for j, c in enumerate(row)]
        top = max(logits)
        log_z = top + math.log(sum(math.exp(v - top) for v in logits))
        log_p = logits[y] - log_z
        out.append((1.0 - math.exp(log_p)) ** gamma * -log_p)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("s,m", [(15.0, 0.35), (30.0, 0.2), (1.0, 0.0)])
def test_am_softmax_matches_hand_computation(dtype, s, m):
    z, w, labels = _batch(dtype)
    cosine = cosine_similarity(z, w.T)
    expected = torch.tensor(_by_hand(cosine, labels, s, m), dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    loss = AMSoftmaxLoss(scale=s, margin=m, reduction="none")(cosine, labels)
    assert loss.dtype == dtype and loss.shape == (5,)
    torch.testing.assert_close(loss, expected, **tol)
    torch.testing.assert_close(AMSoftmaxLoss(s, m)(cosine, labels), expected.mean(), **tol)
    torch.testing.assert_close(AMSoftmaxLoss(s, m, reduction="sum")(cosine, labels), expected.sum(), **tol)


def test_margin_makes_the_loss_larger():
    z, w, labels = _batch(torch.float64)
    cosine = cosine_similarity(z, w.T)
    assert AMSoftmaxLoss(15, 0.35)(cosine, labels) > AMSoftmaxLoss(15, 0.0)(cosine, labels)


@pytest.mark.parametrize("dtype", DTYPES)
def test_am_softmax_equals_pml_cosface(dtype):
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    z, w, labels = _batch(dtype, b=8, k=5, d=7, seed=3)
    cosface = pml.CosFaceLoss(num_classes=5, embedding_size=7, margin=0.35, scale=15)
    cosface.W.data = w.clone()  # CosFaceLoss owns W (d, K): give it ours, in our dtype
    expected = cosface(z, labels)
    got = AMSoftmaxLoss(scale=15, margin=0.35)(cosine_similarity(z, w.T), labels)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(got, expected.to(dtype), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_focal_by_hand_and_gamma_zero_is_am_softmax(dtype):
    z, w, labels = _batch(dtype, seed=1)
    cosine = cosine_similarity(z, w.T)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    focal = FocalAMSoftmaxLoss(reduction="none")(cosine, labels)
    torch.testing.assert_close(focal, torch.tensor(_by_hand(cosine, labels, 15.0, 0.35, 2.0), dtype=dtype), **tol)
    assert bool((focal <= AMSoftmaxLoss(reduction="none")(cosine, labels) + 1e-6).all())  # weights <= 1
    torch.testing.assert_close(
        FocalAMSoftmaxLoss(gamma=0.0)(cosine, labels), AMSoftmaxLoss()(cosine, labels), **tol
    )
    # one way to get the focal loss: the variant overrides the per-sample step only
    assert FocalAMSoftmaxLoss.forward is AMSoftmaxLoss.forward and FocalAMSoftmaxLoss.compute_loss is AMSoftmaxLoss.compute_loss
    with pytest.raises(TypeError):
        AMSoftmaxLoss(focal_gamma=2.0)


def test_gradients_are_correct_and_reach_the_embeddings():
    z, w, labels = _batch(torch.float64)
    z.requires_grad_(True)
    w.requires_grad_(True)
    fn = lambda z_, w_: FocalAMSoftmaxLoss()(l2_normalize(z_) @ l2_normalize(w_, dim=0), labels)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (z, w))
    AMSoftmaxLoss()(l2_normalize(z) @ l2_normalize(w, dim=0), labels).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0 and w.grad.abs().sum() > 0


def test_bad_inputs_raise_clear_errors():
    cosine = torch.rand(3, 4)
    with pytest.raises(ValueError, match=r"lie in \[0, 4\)"):
        AMSoftmaxLoss()(cosine, torch.tensor([0, 1, 4]))
    with pytest.raises(TypeError, match="integer class indices"):
        AMSoftmaxLoss()(cosine, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="labels must be"):
        AMSoftmaxLoss()(cosine, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="reduction"):
        AMSoftmaxLoss(reduction="avg")  # type: ignore[arg-type]
