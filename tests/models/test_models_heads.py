"""Heads: unit embeddings, cosine logits and centres, frozen centres, the uncertainty head's start."""

from __future__ import annotations

import math

import pytest
import torch

from sbsr_lab.models import CosineClassifier, EmbeddingHead, UncertaintyHead, reparameterize
from sbsr_lab.similarity import cosine_similarity


def test_embedding_head_unit_norm_even_for_one_sample():
    head = EmbeddingHead(64, embed_dim=16, hidden=32)
    for b in (1, 5):
        z = head(torch.randn(b, 64))
        assert z.shape == (b, 16)
        torch.testing.assert_close(z.norm(dim=1), torch.ones(b))
    assert EmbeddingHead(64, 16, hidden=0)(torch.randn(3, 64)).shape == (3, 16)


def test_cosine_classifier_logits_are_cosines_to_the_centres():
    torch.manual_seed(0)
    clf = CosineClassifier(embed_dim=8, num_classes=5)
    assert clf.weight.shape == (8, 5)
    z = torch.randn(4, 8) * 3.0  # not normalised: the classifier normalises
    with torch.no_grad():
        logits = clf(z)
    torch.testing.assert_close(logits, cosine_similarity(z, clf.centres))
    assert clf.centres.shape == (5, 8)
    torch.testing.assert_close(clf.centres.norm(dim=1), torch.ones(5))
    assert float(logits.abs().max()) <= 1.0 + 1e-6
    scaled = CosineClassifier(8, 5, scale=10.0)
    scaled.weight.data.copy_(clf.weight.data)
    torch.testing.assert_close(scaled(z).detach(), 10.0 * logits)


def test_set_and_freeze_centres():
    clf = CosineClassifier(embed_dim=4, num_classes=3)
    fixed = torch.tensor([[2.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 5.0]])
    clf.set_centres(fixed)
    torch.testing.assert_close(clf.centres, fixed / fixed.norm(dim=1, keepdim=True))
    assert clf.frozen and not clf.weight.requires_grad
    clf.freeze(False)
    assert not clf.frozen
    with pytest.raises(ValueError, match="same classes"):
        clf.set_centres(torch.randn(4, 4))


def test_uncertainty_head_starts_near_log_var_minus_seven():
    torch.manual_seed(0)
    head = UncertaintyHead(32, embed_dim=8, hidden=16)
    with torch.no_grad():
        mu, log_var = head(torch.randn(10, 32))
    assert mu.shape == log_var.shape == (10, 8)
    torch.testing.assert_close(mu.norm(dim=1), torch.ones(10))
    assert float((log_var + 7.0).abs().max()) < 1e-2
    assert head.gamma.item() == pytest.approx(1e-4) and head.beta.item() == -7.0


def test_uncertainty_head_has_a_variance_floor_and_batch_norms():
    torch.manual_seed(0)
    head = UncertaintyHead(32, embed_dim=8, hidden=16, beta_init=-40.0, var_floor=1e-6)
    with torch.no_grad():
        _, log_var = head(torch.randn(10, 32))
    # exp(-40) is far below the floor: sigma^2 = 1e-6 + exp(-40)
    torch.testing.assert_close(log_var, torch.full_like(log_var, math.log(1e-6)), atol=1e-6, rtol=0)
    # the variance branch standardises each output over the batch before gamma * v + beta
    head = UncertaintyHead(32, embed_dim=8, hidden=16, gamma_init=1.0, beta_init=0.0, var_floor=1e-12)
    _, log_var = head(5.0 + 3.0 * torch.randn(64, 32))
    torch.testing.assert_close(log_var.mean(0), torch.zeros(8), atol=1e-4, rtol=0)
    torch.testing.assert_close(log_var.std(0, unbiased=False), torch.ones(8), atol=1e-3, rtol=0)
    # so does the mean branch before its normalisation (the authors' mu_fc4: Linear + BatchNorm)
    pre = head.mu.mlp(5.0 + 3.0 * torch.randn(64, 32))
    torch.testing.assert_close(pre.mean(0), torch.zeros(8), atol=1e-4, rtol=0)
    torch.testing.assert_close(pre.std(0, unbiased=False), torch.ones(8), atol=1e-3, rtol=0)
    assert not isinstance(EmbeddingHead(32, 8, 16).mlp[-1], torch.nn.BatchNorm1d)  # CFTTSL's head: none
    head.eval()  # running statistics: a single query works
    assert head(torch.randn(1, 32))[1].shape == (1, 8)


def test_reparameterize_moments_and_gradients():
    g = torch.Generator().manual_seed(0)
    mu = torch.full((20000, 2), 0.5, requires_grad=True)
    log_var = torch.log(torch.tensor([[0.04, 1.0]])).expand(20000, 2).clone().requires_grad_(True)
    z = reparameterize(mu, log_var, generator=g)
    torch.testing.assert_close(z.mean(0), torch.tensor([0.5, 0.5]), atol=0.03, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([0.2, 1.0]), atol=0.02, rtol=0)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    assert log_var.grad.abs().sum() > 0
