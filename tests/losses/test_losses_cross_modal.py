"""DCA's mean discrepancy and the cross-modal contrastive loss against their formulas (and PML's SupCon)."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sbsr_lab.losses import CrossModalContrastiveLoss, MeanDiscrepancyLoss
from sbsr_lab.losses.cross_modal import class_means


def _batch(seed, n=12, m=9, d=5, k=3):
    g = torch.Generator().manual_seed(seed)
    zs, zt = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(m, d, generator=g, dtype=torch.float64)
    ys, yt = torch.randint(0, k, (n,), generator=g), torch.randint(0, k, (m,), generator=g)
    ys[:k], yt[:k] = torch.arange(k), torch.arange(k)  # every class in both
    return zs, ys, zt, yt


def test_class_means_by_hand():
    z = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0]])
    means, counts = class_means(z, torch.tensor([0, 0, 2]), 4)
    assert counts.tolist() == [2, 0, 1, 0]
    assert torch.equal(means, torch.tensor([[2.0, 1.0], [0.0, 0.0], [0.0, 5.0], [0.0, 0.0]]))


@given(st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_mean_discrepancy_matches_a_loop_over_classes(seed):
    zs, ys, zt, yt = _batch(seed)
    ys[ys == 2] = 1  # class 2 only among the shapes: it must not count
    ref = [(zs[ys == c].mean(0) - zt[yt == c].mean(0)).pow(2).sum() for c in range(3) if (ys == c).any()]
    got = MeanDiscrepancyLoss(reduction="none")(zs, ys, zt, yt)
    assert got.shape == (2,) and torch.allclose(got, torch.stack(ref))
    assert torch.allclose(MeanDiscrepancyLoss()(zs, ys, zt, yt), torch.stack(ref).mean())
    assert torch.allclose(MeanDiscrepancyLoss(reduction="sum")(zs, ys, zt, yt), torch.stack(ref).sum())


def test_mean_discrepancy_is_zero_when_the_class_means_agree_and_gives_gradients():
    zs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], requires_grad=True)
    zt = torch.tensor([[0.5, 0.5], [2.0, 2.0]])
    loss = MeanDiscrepancyLoss()(zs, torch.tensor([0, 0, 1]), zt, torch.tensor([0, 1]))
    assert float(loss.detach()) == 0.0
    shifted = MeanDiscrepancyLoss()(zs + 1.0, torch.tensor([0, 0, 1]), zt, torch.tensor([0, 1]))
    assert math.isclose(float(shifted.detach()), 2.0)  # each class mean moved by (1, 1): ||.||^2 = 2
    shifted.backward()
    assert zs.grad is not None and zs.grad.abs().sum() > 0


def test_contrastive_loss_matches_the_formula_by_hand():
    q = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64), dim=1)
    g = F.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=torch.float64), dim=1)
    yq, yg, t = torch.tensor([0, 1]), torch.tensor([0, 0, 1]), 0.5
    s = q @ g.T / t
    lp = s - s.logsumexp(1, keepdim=True)
    want = torch.stack([-(lp[0, 0] + lp[0, 1]) / 2, -lp[1, 2]])
    got = CrossModalContrastiveLoss(temperature=t, reduction="none")(q, yq, g, yg)
    assert torch.allclose(got, want)
    # scaling the inputs changes nothing: they are normalised inside
    assert torch.allclose(CrossModalContrastiveLoss(temperature=t)(3 * q, yq, 2 * g, yg), want.mean())


@given(st.integers(0, 10_000), st.sampled_from([0.05, 0.1, 0.5]))
@settings(max_examples=20, deadline=None)
def test_contrastive_loss_equals_pytorch_metric_learning_supcon_with_ref_emb(seed, temperature):
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    zs, ys, zt, yt = _batch(seed, k=4)
    ys[0] = 7  # a sketch whose class has no shape: no loss, left out of the mean by both
    ref = pml.SupConLoss(temperature=temperature)(zs, ys, ref_emb=zt, ref_labels=yt)
    ours = CrossModalContrastiveLoss(temperature=temperature)(zs, ys, zt, yt)
    assert torch.allclose(ours, ref.to(ours.dtype), rtol=1e-6, atol=1e-8)
    per = CrossModalContrastiveLoss(temperature=temperature, reduction="none")(zs, ys, zt, yt)
    assert per[0] == 0 and (per[1:] > 0).all()


def test_contrastive_loss_is_lower_when_sketches_sit_on_their_shapes():
    g = F.normalize(torch.randn(6, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    yg = torch.arange(6)
    loss = CrossModalContrastiveLoss(temperature=0.1)
    on = loss(g.clone(), yg, g, yg)
    off = loss(g.roll(1, 0), yg, g, yg)
    assert on < 0.5 < off


@pytest.mark.parametrize("make, msg", [
    (lambda: (torch.randn(3, 4), torch.tensor([0, 1, 2]), torch.randn(2, 5), torch.tensor([0, 1])), "want sketch z"),
    (lambda: (torch.randn(3, 4), torch.tensor([0.0, 1.0, 2.0]), torch.randn(2, 4), torch.tensor([0, 1])), "integer class"),
    (lambda: (torch.randn(3, 4), torch.tensor([0, 1]), torch.randn(2, 4), torch.tensor([0, 1])), "labels must be"),
    (lambda: (torch.randn(2, 4), torch.tensor([True, False]), torch.randn(2, 4), torch.tensor([0, 1])), "integer class"),
    (lambda: (torch.randn(2, 4), torch.tensor([0, -1]), torch.randn(2, 4), torch.tensor([0, 1])), r"lie in \[0, 2\)"),
    (lambda: (torch.randn(0, 4), torch.tensor([], dtype=torch.long), torch.randn(2, 4), torch.tensor([0, 1])), "empty batch"),
    (lambda: (torch.randn(2, 4), torch.tensor([0, 0]), torch.randn(2, 4), torch.tensor([1, 1])), "share no class|no sketch"),
])
@pytest.mark.parametrize("loss", [MeanDiscrepancyLoss(), CrossModalContrastiveLoss()])
def test_bad_inputs_raise_clear_errors(make, msg, loss):
    with pytest.raises((ValueError, TypeError), match=msg):
        loss(*make())


def test_bad_temperature():
    with pytest.raises(ValueError, match="temperature"):
        CrossModalContrastiveLoss(temperature=0.0)


def test_int32_labels_work_like_int64():
    zs, ys, zt, yt = _batch(3)
    for loss in (MeanDiscrepancyLoss(), CrossModalContrastiveLoss()):
        assert torch.allclose(loss(zs, ys.int(), zt, yt.int()), loss(zs, ys, zt, yt))
