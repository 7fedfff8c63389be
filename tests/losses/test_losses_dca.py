"""DCA's importance-aware metric loss (against a loop and PML's multi-similarity) and the discriminator BCE."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning.losses import MultiSimilarityLoss
from pytorch_metric_learning.miners import MultiSimilarityMiner

from sbsr_lab.losses.dca import ImportanceMetricLoss, ModalityDiscriminatorLoss, discriminator_accuracy


def _batch(seed, b=10, d=6, k=3):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (b,), generator=g)
    return z, y


def _loop_ms(z, y, alpha=2.0, beta=50.0, lam=0.5, eps=0.1):
    zn = F.normalize(z, dim=1)
    out = []
    for i in range(len(y)):
        pos = [float(zn[i] @ zn[j]) for j in range(len(y)) if j != i and y[j] == y[i]]
        neg = [float(zn[i] @ zn[j]) for j in range(len(y)) if y[j] != y[i]]
        if not pos or not neg:
            out.append(0.0)
            continue
        kp = [s for s in pos if s - eps < max(neg)]
        kn = [s for s in neg if s + eps > min(pos)]
        lp = math.log(1 + sum(math.exp(-alpha * (s - lam)) for s in kp)) / alpha
        ln = math.log(1 + sum(math.exp(beta * (s - lam)) for s in kn)) / beta
        out.append(lp + ln)
    return torch.tensor(out, dtype=torch.float64)


@given(st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_importance_metric_loss_matches_a_loop_and_pml(seed):
    z, y = _batch(seed)
    ref = _loop_ms(z, y)
    got = ImportanceMetricLoss(reduction="none")(z, y)
    assert got.shape == (10,) and torch.allclose(got, ref, atol=1e-9)
    mean = ImportanceMetricLoss()(z, y)
    assert torch.allclose(mean, ref.mean())
    pml = MultiSimilarityLoss(alpha=2, beta=50, base=0.5)(z, y, MultiSimilarityMiner(epsilon=0.1)(z, y))
    assert torch.allclose(mean, pml.to(mean.dtype), atol=1e-9)


def test_importance_metric_loss_weights_harder_pairs_more_and_has_gradients():
    # anchor 0 with two positives: the farther one (harder) must get the larger gradient share
    z = torch.tensor([[1.0, 0.0], [0.9, 0.436], [0.2, 0.98], [0.5, -0.866]], requires_grad=True)
    y = torch.tensor([0, 0, 0, 1])
    loss_fn = ImportanceMetricLoss(eps=10.0)  # mine everything
    zn = F.normalize(z, dim=1)
    sim = zn @ zn.T
    w = torch.exp(-2.0 * (sim[0, [1, 2]] - 0.5))
    assert w[1] > w[0]  # the pair weight of the hard positive (anchor 0, sample 2) is larger
    loss = loss_fn(z, y)
    loss.backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_importance_metric_loss_is_zero_without_pairs_and_rejects_bad_input():
    z = torch.randn(3, 4)
    assert ImportanceMetricLoss()(z, torch.tensor([0, 1, 2])) == 0  # no positives at all
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        ImportanceMetricLoss()(torch.randn(4), torch.tensor([0, 1, 0, 1]))
    with pytest.raises(TypeError, match="integer"):
        ImportanceMetricLoss()(z, torch.tensor([0.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="alpha"):
        ImportanceMetricLoss(alpha=0)


def test_discriminator_loss_by_hand_with_label_smoothing():
    ls, lt = torch.tensor([0.3, -1.2]), torch.tensor([2.0])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    bce = lambda x, t: -(t * math.log(sig(x)) + (1 - t) * math.log(1 - sig(x)))  # noqa: E731
    ref = [bce(0.3, 0.1), bce(-1.2, 0.1), bce(2.0, 0.9)]
    got = ModalityDiscriminatorLoss(smoothing=0.1, reduction="none")(ls, lt)
    assert torch.allclose(got, torch.tensor(ref))
    assert torch.allclose(ModalityDiscriminatorLoss(0.1)(ls, lt), torch.tensor(ref).mean())
    # without smoothing it is plain BCE with 0 for sketches and 1 for shapes
    plain = F.binary_cross_entropy_with_logits(torch.cat([ls, lt]), torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(ModalityDiscriminatorLoss(0.0)(ls, lt), plain)


def test_discriminator_loss_checks_and_accuracy():
    with pytest.raises(ValueError, match="one logit per sample"):
        ModalityDiscriminatorLoss()(torch.zeros(3, 1), torch.zeros(3))
    with pytest.raises(ValueError, match="smoothing"):
        ModalityDiscriminatorLoss(smoothing=0.5)
    assert discriminator_accuracy(torch.tensor([-1.0, -2.0]), torch.tensor([3.0, -1.0])) == 0.75
