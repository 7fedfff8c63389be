"""CMIC's view attention (shapes, weights, a one-hot limit) and SimSiam's heads (shapes, errors)."""

import pytest
import torch
import torch.nn.functional as F

from sbsr_lab.models.attention import ViewAttention
from sbsr_lab.models.ssl_heads import PredictionMLP, ProjectionMLP


def test_view_attention_shapes_and_uniform_weights_with_zero_w_a():
    att = ViewAttention(8)
    q, views = F.normalize(torch.randn(3, 8), dim=1), F.normalize(torch.randn(5, 4, 8), dim=2)
    scores, weights = att(q, views)
    assert scores.shape == (3, 5) and weights.shape == (3, 5, 4)
    with torch.no_grad():
        att.w_a.weight.zero_()
    scores, weights = att(q, views)
    assert torch.allclose(weights, torch.full((3, 5, 4), 0.25))
    assert torch.allclose(scores, q @ views.mean(1).T, atol=1e-6)  # uniform attention = mean view


def test_view_attention_with_a_large_identity_w_a_picks_the_best_view():
    att = ViewAttention(8)
    with torch.no_grad():
        att.w_a.weight.copy_(1000 * torch.eye(8))
    q, views = F.normalize(torch.randn(3, 8), dim=1), F.normalize(torch.randn(5, 4, 8), dim=2)
    scores, _ = att(q, views)
    best = torch.einsum("bd,mvd->bmv", q, views).amax(-1)
    assert torch.allclose(scores, best, atol=1e-4)


def test_ssl_heads_shapes_and_errors():
    g, h = ProjectionMLP(64, 32), PredictionMLP(32)
    z = g(torch.randn(6, 64))
    assert z.shape == (6, 32) and h(z).shape == (6, 32)
    assert h.net[0].out_features == 8  # bottleneck d / 4
    with pytest.raises(ValueError, match=r"\(B, 64\)"):
        g(torch.randn(6, 32))
    g.eval()
    assert g(torch.randn(1, 64)).shape == (1, 32)  # any batch in eval mode
