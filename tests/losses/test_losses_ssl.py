"""SimSiam (formula, stop-gradient) and the enhanced cross-modal triplet loss (against loops)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from sbsr_lab.losses.ssl import EnhancedTripletLoss, SimSiamLoss


def test_simsiam_matches_the_formula():
    g = torch.Generator().manual_seed(0)
    p1, p2, z1, z2 = (torch.randn(4, 6, generator=g, dtype=torch.float64) for _ in range(4))
    cos = lambda a, b: (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))  # noqa: E731
    ref = -0.5 * (cos(p1, z2) + cos(p2, z1))
    assert torch.allclose(SimSiamLoss(reduction="none")(p1, p2, z1, z2), ref)
    assert torch.allclose(SimSiamLoss()(p1, p2, z1, z2), ref.mean())
    assert torch.allclose(SimSiamLoss()(z2, z1, z1, z2), torch.tensor(-1.0, dtype=torch.float64))  # p = target


def test_simsiam_stops_the_gradient_on_the_target_side():
    g = torch.Generator().manual_seed(1)
    p1, p2 = (torch.randn(4, 6, generator=g, requires_grad=True) for _ in range(2))
    z1, z2 = (torch.randn(4, 6, generator=g, requires_grad=True) for _ in range(2))
    SimSiamLoss()(p1, p2, z1, z2).backward()
    assert z1.grad is None and z2.grad is None  # the targets get nothing
    assert p1.grad.abs().sum() > 0 and p2.grad.abs().sum() > 0
    # through a predictor, z still learns via p = h(z), and only that way
    z = torch.randn(4, 6, generator=g, requires_grad=True)
    h = torch.nn.Linear(6, 6)
    zb = z + 0.1 * torch.randn(4, 6, generator=g)
    SimSiamLoss()(h(z), h(zb), z, zb).backward()
    grad_via_predictor = z.grad.clone()
    z.grad = None
    p = h(z)
    (-0.5 * F.cosine_similarity(p, zb.detach(), dim=1)
     - 0.5 * F.cosine_similarity(h(zb), z.detach(), dim=1)).mean().backward()
    assert torch.allclose(z.grad, grad_via_predictor)


def test_simsiam_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="SimSiamLoss"):
        SimSiamLoss()(torch.randn(4, 6), torch.randn(4, 6), torch.randn(4, 5), torch.randn(4, 6))


def _hinge(anchor, cands, ya, yc, m, skip=None, mining="hard"):
    pos = [float(anchor @ c) for j, (c, y) in enumerate(zip(cands, yc)) if y == ya and j != skip]
    neg = [float(anchor @ c) for c, y in zip(cands, yc) if y != ya]
    if not pos or not neg:
        return 0.0, False
    if mining == "all":  # mean over the (positive, negative) pairs whose hinge is active
        active = [m - p + n for p in pos for n in neg if m - p + n > 0]
        return (sum(active) / len(active) if active else 0.0), True
    return max(0.0, m - min(pos) + max(neg)), True


def _loop_triplet(zs, ys, zt, yt, m=0.2, w=1.0, mining="hard"):
    s, t = F.normalize(zs, dim=1), F.normalize(zt, dim=1)
    out, has = [], []
    for i in range(len(ys)):
        c, hc = _hinge(s[i], t, ys[i], yt, m, mining=mining)
        a, ha = _hinge(s[i], s, ys[i], ys, m, skip=i, mining=mining)
        out.append(c + w * a)
        has.append(hc or ha)
    for i in range(len(yt)):
        c, hc = _hinge(t[i], s, yt[i], ys, m, mining=mining)
        a, ha = _hinge(t[i], t, yt[i], yt, m, skip=i, mining=mining)
        out.append(c + w * a)
        has.append(hc or ha)
    return torch.tensor(out, dtype=torch.float64), torch.tensor(has)


@pytest.mark.parametrize("mining", ["hard", "all"])
@given(st.integers(0, 10_000), st.floats(0.0, 2.0))
@settings(max_examples=25, deadline=None)
def test_enhanced_triplet_matches_loops(mining, seed, w):
    g = torch.Generator().manual_seed(seed)
    zs, zt = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    ys, yt = torch.randint(0, 3, (7,), generator=g), torch.randint(0, 3, (6,), generator=g)
    ys[:2], yt[:2] = torch.tensor([0, 1]), torch.tensor([0, 1])
    ref, has = _loop_triplet(zs, ys.tolist(), zt, yt.tolist(), 0.2, w, mining=mining)
    loss = EnhancedTripletLoss(margin=0.2, intra_weight=w, reduction="none", mining=mining)
    assert torch.allclose(loss(zs, ys, zt, yt), ref)
    assert torch.allclose(EnhancedTripletLoss(0.2, w, mining=mining)(zs, ys, zt, yt), ref[has].mean())


def test_enhanced_triplet_rejects_an_unknown_mining():
    with pytest.raises(ValueError, match="mining"):
        EnhancedTripletLoss(mining="semi")


def test_enhanced_triplet_is_zero_when_well_separated_and_rejects_bad_input():
    e = torch.eye(2, dtype=torch.float64)
    zs, zt = e[[0, 0, 1, 1]], e[[0, 1]]
    y_s, y_t = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1])
    assert EnhancedTripletLoss(margin=0.5)(zs, y_s, zt, y_t) == 0  # gap 1 > margin everywhere
    assert EnhancedTripletLoss(margin=1.5)(zs, y_s, zt, y_t) > 0
    with pytest.raises(ValueError, match="no anchor"):
        EnhancedTripletLoss()(zs, torch.zeros(4, dtype=torch.long), zt, torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(M, d\)"):
        EnhancedTripletLoss()(zs, y_s, torch.randn(2, 3), y_t)
