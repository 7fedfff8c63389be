"""SSLTKD's losses: logit-adjusted AM-softmax, feature and relational distillation, against their formulas."""

import math

import pytest
import torch
import torch.nn.functional as F

from sbsr_lab.losses import AMSoftmaxLoss
from sbsr_lab.losses.distill import FeatureDistillationLoss, LogitAdjustedAMSoftmaxLoss, RelationalDistillationLoss


def test_logit_adjustment_by_hand():
    cos = torch.tensor([[0.2, 0.5, -0.1], [0.9, 0.0, 0.3]], dtype=torch.float64)
    y = torch.tensor([1, 0])
    counts = [60, 15, 5]
    prior = [c / 80 for c in counts]
    s, m, tau = 15.0, 0.35, 1.0
    ref = []
    for i in range(2):
        logits = [s * (cos[i, k].item() - (m if k == y[i] else 0.0)) + tau * math.log(prior[k]) for k in range(3)]
        ref.append(-(logits[y[i]] - math.log(sum(math.exp(v) for v in logits))))
    got = LogitAdjustedAMSoftmaxLoss(counts, tau=tau, reduction="none")(cos, y)
    assert torch.allclose(got, torch.tensor(ref, dtype=torch.float64), atol=1e-6)
    # tau = 0 is AM-softmax; the adjustment raises the loss of rare-class samples relative to frequent ones
    assert torch.allclose(LogitAdjustedAMSoftmaxLoss(counts, tau=0.0)(cos, y), AMSoftmaxLoss()(cos, y))
    rare, frequent = torch.tensor([[0.0, 0.0, 0.5]]), torch.tensor([[0.5, 0.0, 0.0]])
    la = LogitAdjustedAMSoftmaxLoss(counts)
    assert la(rare, torch.tensor([2])) > la(frequent, torch.tensor([0]))


def test_logit_adjustment_rejects_bad_counts():
    with pytest.raises(ValueError, match="positive counts"):
        LogitAdjustedAMSoftmaxLoss([10, 0, 3])
    with pytest.raises(ValueError, match="same class list"):
        LogitAdjustedAMSoftmaxLoss([10, 5])(torch.zeros(2, 3), torch.tensor([0, 1]))


def test_feature_distillation_is_two_minus_two_cos_and_detaches_the_teacher():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5, 4, generator=g, requires_grad=True)
    t = torch.randn(5, 4, generator=g, requires_grad=True)
    got = FeatureDistillationLoss(reduction="none")(z, t)
    assert torch.allclose(got, 2 - 2 * F.cosine_similarity(z, t, dim=1), atol=1e-6)
    got.sum().backward()
    assert t.grad is None and z.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="FeatureDistillationLoss"):
        FeatureDistillationLoss()(torch.randn(5, 4), torch.randn(5, 3))


def _kl_rows(z, t, r, tau, drop_diag):
    z, t, r = F.normalize(z, dim=1), F.normalize(t, dim=1), F.normalize(r, dim=1)
    out = []
    for i in range(z.shape[0]):
        cols = [j for j in range(r.shape[0]) if not (drop_diag and j == i)]
        ls = [float(z[i] @ r[j]) / tau for j in cols]
        lt = [float(t[i] @ r[j]) / tau for j in cols]
        zs, zt = sum(math.exp(v) for v in ls), sum(math.exp(v) for v in lt)
        ps, pt = [math.exp(v) / zs for v in ls], [math.exp(v) / zt for v in lt]
        out.append(sum(a * math.log(a / b) for a, b in zip(pt, ps)))
    return torch.tensor(out, dtype=torch.float64)


def test_relational_distillation_matches_a_loop_both_forms():
    g = torch.Generator().manual_seed(1)
    z, t = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    r = torch.randn(6, 3, generator=g, dtype=torch.float64)
    loss = RelationalDistillationLoss(temperature=0.5, reduction="none")
    assert torch.allclose(loss(z, t, r), _kl_rows(z, t, r, 0.5, False))
    assert torch.allclose(loss(z, t), _kl_rows(z, t, t, 0.5, True))
    assert torch.allclose(loss(t, t, r), torch.zeros(4, dtype=torch.float64), atol=1e-12)  # student = teacher


def test_relational_distillation_gradient_goes_to_the_student_only():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(4, 3, generator=g, requires_grad=True)
    t, r = torch.randn(4, 3, generator=g, requires_grad=True), torch.randn(5, 3, generator=g, requires_grad=True)
    RelationalDistillationLoss()(z, t, r).backward()
    assert t.grad is None and r.grad is None and z.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="batch of 2"):
        RelationalDistillationLoss()(torch.randn(1, 3), torch.randn(1, 3))
