"""Every method's networks satisfy the network Protocol (models/protocol.py), with the shapes it states."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sbsr_lab.config import get_profile
from sbsr_lab.models import (
    EmbeddingNetwork, MultiViewNet, PerViewNetwork, PooledViewNetwork, SketchNet, UncertaintyNetwork, predicts_sigma,
    satisfies,
)
from sbsr_lab.models.protocol import protocol_members
from sbsr_lab.train.stage import get_stage, method_stages

METHODS = ["cfttsl", "uactn", "joint", "dca", "cmic", "ssl", "ssltkd"]
K, B, V = 5, 2, 3


def test_the_seven_methods_are_registered():
    assert set(METHODS) <= set(method_stages())


@pytest.mark.parametrize("method", METHODS)
def test_every_network_of_every_method_satisfies_the_protocol(method):
    profile = get_profile("ci", device="cpu")
    s = profile.image_size
    sketch, views = torch.rand(B, 1, s, s), torch.rand(B, V, 1, s, s)
    for stage_name, _ in method_stages()[method]:
        stage = get_stage(stage_name)
        torch.manual_seed(0)
        model = stage.build_model(profile, K).eval()
        nets = stage.networks(model)
        assert set(nets) <= {"sketch", "shape"} and nets, stage_name
        for side, net in nets.items():
            where = f"{stage_name}/{side} ({type(net).__name__})"
            assert satisfies(net, EmbeddingNetwork), where
            x = sketch if side == "sketch" else views
            with torch.no_grad():
                z = net.embed(x)
                assert z.shape == (B, profile.embed_dim), where
                assert torch.allclose(z.norm(dim=1), torch.ones(B), atol=1e-4), where
                assert net.centres.shape == (K, profile.embed_dim), where
                assert net.classifier(z).shape == (B, K), where
                if predicts_sigma(net):
                    mu, log_var = net.embed_uncertain(x)
                    assert torch.allclose(mu, z, atol=1e-6) and log_var.shape == z.shape, where
                if satisfies(net, PerViewNetwork):
                    feats = net.view_features(views)
                    assert feats.shape[:2] == (B, V), where
                    per_view = net.head(feats.flatten(0, 1))
                    per_view = per_view[0] if isinstance(per_view, tuple) else per_view
                    assert per_view.shape == (B * V, profile.embed_dim), where
                if satisfies(net, PooledViewNetwork):
                    pooled = feats.mean(1) if net.pooling == "mean" else feats.amax(1)
                    assert torch.allclose(net.head(pooled), z, atol=1e-5), where


def test_the_protocol_tells_the_networks_apart():
    sketch = SketchNet("compact", embed_dim=8, num_classes=3)
    unc = SketchNet("compact", embed_dim=8, num_classes=3, uncertainty=True)
    shape = MultiViewNet("compact", embed_dim=8, num_classes=3)
    assert satisfies(sketch, UncertaintyNetwork) and not predicts_sigma(sketch) and predicts_sigma(unc)
    assert not satisfies(sketch, PerViewNetwork) and satisfies(shape, PooledViewNetwork)
    assert not satisfies(nn.Linear(2, 2), EmbeddingNetwork)
    assert protocol_members(EmbeddingNetwork) == ("centres", "classifier", "embed")
    with pytest.raises(ValueError, match="uncertainty=True"):
        sketch.embed_uncertain(torch.rand(2, 1, 32, 32))
