"""DCA's adversarial parts: gradient reversal, shapes, and the discriminator and T both learning on two blobs."""

import math

import pytest
import torch
import torch.nn.functional as F

from sbsr_lab.losses import MeanDiscrepancyLoss
from sbsr_lab.losses.dca import ModalityDiscriminatorLoss, discriminator_accuracy
from sbsr_lab.models.adversarial import (
    CrossModalTransform,
    GradientReversal,
    ModalityDiscriminator,
    dann_lambda,
    grad_reverse,
)


def test_grad_reverse_is_identity_forward_and_negates_the_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    w = torch.randn(3, 4)
    y = grad_reverse(x, 0.3)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    assert torch.allclose(x.grad, -0.3 * w)
    x.grad = None
    (GradientReversal(2.0)(x) * w).sum().backward()
    assert torch.allclose(x.grad, -2.0 * w)
    with pytest.raises(ValueError, match="lambd"):
        grad_reverse(x, -1.0)


def test_dann_lambda_ramps_from_zero_to_one():
    assert dann_lambda(0.0) == 0.0
    assert math.isclose(dann_lambda(1.0), 2 / (1 + math.exp(-10)) - 1)
    assert 0 < dann_lambda(0.1) < dann_lambda(0.5) < dann_lambda(1.0) < 1
    assert dann_lambda(2.0) == dann_lambda(1.0)


def test_shapes_identity_start_and_errors():
    z = F.normalize(torch.randn(5, 16), dim=1)
    t = CrossModalTransform(16, 32)
    assert torch.allclose(t(z), z, atol=1e-6)  # T starts as the identity
    assert CrossModalTransform(16, normalize=False)(3 * z).norm(dim=1).min() > 2
    assert ModalityDiscriminator(16, 32)(z).shape == (5,)
    with pytest.raises(ValueError, match=r"\(B, 16\)"):
        ModalityDiscriminator(16)(torch.randn(5, 8))
    with pytest.raises(ValueError, match=r"\(B, 16\)"):
        t(torch.randn(16))


@pytest.fixture()
def one_thread():
    """Tiny matrices: one thread is faster than several fighting over two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _blobs(g, n=64, d=8):
    """Two classes per modality on the unit sphere; the sketches are the shapes' blobs shifted."""
    centres = torch.randn(2, d, generator=torch.Generator().manual_seed(0)) * 2
    shift = torch.randn(d, generator=torch.Generator().manual_seed(1))
    shift = 1.5 * shift / shift.norm()
    ys, yt = torch.randint(0, 2, (n,), generator=g), torch.randint(0, 2, (n,), generator=g)
    zs = F.normalize(centres[ys] + shift + 0.5 * torch.randn(n, d, generator=g), dim=1)
    zt = F.normalize(centres[yt] + 0.5 * torch.randn(n, d, generator=g), dim=1)
    return zs, ys, zt, yt


def _train(seed, lambd=1.0, steps=300):
    """D alone for 100 steps, then D and T together through the reversal; returns D's accuracy and the
    class-mean discrepancy after the first phase and at every 20th step of the last 100."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    t, d = CrossModalTransform(8, 32), ModalityDiscriminator(8, 32)
    bce, md = ModalityDiscriminatorLoss(0.1), MeanDiscrepancyLoss()

    def measure():
        zs, ys, zt, yt = _blobs(g, 512)
        with torch.no_grad():
            ts = t(zs)
            return discriminator_accuracy(d(ts), d(zt)), float(md(ts, ys, zt, yt))

    opt_d = torch.optim.Adam(d.parameters(), 1e-2)
    for _ in range(100):
        zs, _, zt, _ = _blobs(g)
        loss = bce(d(t(zs).detach()), d(zt))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
    start = measure()
    opt = torch.optim.Adam([{"params": d.parameters(), "lr": 1e-2}, {"params": t.parameters(), "lr": 3e-4}])
    late = []
    for step in range(steps):
        zs, _, zt, _ = _blobs(g)
        loss = bce(d(grad_reverse(t(zs), lambd)), d(zt))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= steps - 100 and step % 20 == 19:
            late.append(measure())
    return start, late


def test_discriminator_learns_then_transform_aligns_the_modalities(one_thread):
    """D alone first (accuracy well above chance), then D and T together through gradient reversal, the
    adversarial term only, D's learning rate 30 x T's: D's accuracy heads to chance and the class-mean
    discrepancy between T(sketch) and shapes drops far below where it started."""
    (acc0, md0), late = _train(0)
    assert acc0 > 0.85, acc0  # the discriminator learnt to tell the modalities apart
    accs, mds = [a for a, _ in late], [m for _, m in late]
    assert sum(accs) / len(accs) < 0.67, accs  # heads to chance (0.5)
    assert max(mds) < 0.4 * md0, (md0, mds)  # T moved the sketches onto the shapes


def test_without_the_reversal_the_transform_does_not_align(one_thread):
    """Control: the same loop with T's gradient cut (lambd = 0) leaves D winning, so the test above
    measures T's adversarial learning, not D forgetting."""
    _, late = _train(0, lambd=0.0, steps=100)
    assert min(a for a, _ in late) > 0.85, late
