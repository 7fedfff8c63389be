"""Multi-view and sketch networks, the registry, and a CPU speed check of the compact nets."""

from __future__ import annotations

import time

import pytest
import torch

from sbsr_lab.config import get_profile
from sbsr_lab.losses import AMSoftmaxLoss, GuidanceLoss, UncertaintyLoss
from sbsr_lab.models import MultiViewNet, SketchNet, create_model, list_models, model_name_for


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_multiview_shapes_and_pooling(pooling):
    torch.manual_seed(0)
    net = MultiViewNet("compact", embed_dim=32, num_classes=5, pooling=pooling, hidden=64).eval()
    views = torch.rand(3, 4, 1, 40, 40)  # (B, V, C, H, W)
    out = net(views)
    assert out["z"].shape == (3, 32) and out["logits"].shape == (3, 5)
    torch.testing.assert_close(net.embed(views).norm(dim=1), torch.ones(3))
    per_view = net.view_features(views)  # (B, V, F)
    assert per_view.shape == (3, 4, 256)
    pooled = per_view.mean(1) if pooling == "mean" else per_view.amax(1)
    torch.testing.assert_close(net.forward_features(views), pooled)
    # view order does not matter
    torch.testing.assert_close(net.embed(views.flip(1)), net.embed(views), atol=1e-5, rtol=1e-5)
    assert net.centres.shape == (5, 32)
    with pytest.raises(ValueError, match="unsqueeze"):
        net(torch.rand(3, 4, 40, 40))


def test_sketchnet_plain_and_uncertainty():
    torch.manual_seed(0)
    plain = SketchNet("compact", embed_dim=16, num_classes=4, hidden=32)
    out = plain(torch.rand(2, 1, 48, 48))
    assert set(out) == {"z", "logits"} and out["z"].shape == (2, 16) and out["logits"].shape == (2, 4)

    unc = SketchNet("compact", embed_dim=16, num_classes=4, uncertainty=True, hidden=32)
    x = torch.rand(5, 1, 48, 48)
    out = unc.train()(x)
    assert set(out) == {"z", "mu", "log_var", "z_sample", "logits"}
    torch.testing.assert_close(out["z"], out["mu"])
    assert float((out["log_var"].detach() + 7).abs().max()) < 0.05  # starts almost deterministic
    assert not torch.equal(out["z_sample"], out["mu"])  # sampled in training
    unc.eval()
    with torch.no_grad():
        out = unc(x)
        torch.testing.assert_close(out["z_sample"], out["mu"])  # the mean in eval mode
        torch.testing.assert_close(unc.embed(x), out["mu"])
        torch.testing.assert_close(unc.embed(x).norm(dim=1), torch.ones(5))


def test_every_loss_backpropagates_through_the_models():
    torch.manual_seed(0)
    labels = torch.tensor([0, 1, 2, 1])
    teacher = create_model("mvcnn_compact_d128", num_classes=3, hidden=64)
    out = teacher(torch.rand(4, 3, 1, 32, 32))
    AMSoftmaxLoss()(out["logits"], labels).backward()
    assert all(p.grad is not None for p in teacher.parameters())

    student = create_model("sketch_compact_d128", num_classes=3, hidden=64)
    student.classifier.set_centres(teacher.centres.detach())
    out = student(torch.rand(4, 1, 48, 48))
    (AMSoftmaxLoss()(out["logits"], labels) + 0.5 * GuidanceLoss()(out["z"], teacher.centres, labels)).backward()
    assert student.classifier.weight.grad is None  # frozen teacher centres
    assert student.head.mlp[0].weight.grad.abs().sum() > 0

    unc = create_model("sketch_unc_compact_d128", num_classes=3, hidden=64)
    out = unc(torch.rand(4, 1, 48, 48))
    loss = AMSoftmaxLoss()(out["logits"], labels) + UncertaintyLoss()(out["mu"], out["log_var"], unc.centres, labels)
    loss.backward()
    assert unc.head.gamma.grad is not None and unc.head.beta.grad is not None


def test_registry():
    names = list_models()
    for kind in ("sketch", "sketch_unc", "mvcnn"):
        for bb in ("compact", "resnet18", "resnet34", "resnet50", "vgg16", "vgg19", "alexnet"):
            assert f"{kind}_{bb}_d128" in names
    assert list_models("mvcnn_") == [n for n in names if n.startswith("mvcnn_")]
    net = create_model("sketch_unc_compact_d128", num_classes=7, embed_dim=32, pooling=None)
    assert isinstance(net, SketchNet) and net.uncertainty and net.embed_dim == 32 and net.num_classes == 7
    assert isinstance(create_model("mvcnn_compact_d128", 3, pooling="max"), MultiViewNet)
    with pytest.raises(KeyError, match="sketch_compact_d128"):
        create_model("sketch_compakt_d128", num_classes=3)
    assert model_name_for("sketch", get_profile("ci").backbone) == "sketch_compact_d128"
    assert model_name_for("mvcnn", get_profile("full").backbone) == "mvcnn_resnet18_d128"
    with pytest.raises(KeyError, match="kind"):
        model_name_for("photo", "compact")
    with pytest.raises(KeyError, match="Registered"):
        model_name_for("sketch", "resnet101")


def test_torchvision_entry_point_on_meta_device():
    with torch.device("meta"):
        net = create_model("mvcnn_vgg16_d128", num_classes=4)
        out = net(torch.empty(2, 3, 1, 32, 32))
    assert out["z"].shape == (2, 128) and out["logits"].shape == (2, 4)


def test_compact_sketch_model_forward_backward_under_a_second():
    torch.manual_seed(0)
    net = create_model("sketch_compact_d128", num_classes=12)
    x, y = torch.rand(8, 1, 64, 64), torch.randint(0, 12, (8,))
    AMSoftmaxLoss()(net(x)["logits"], y).backward()  # warm-up
    times = []
    for _ in range(3):  # best of 3: the CPU is shared
        start = time.perf_counter()
        AMSoftmaxLoss()(net(x)["logits"], y).backward()
        times.append(time.perf_counter() - start)
    assert min(times) < 1.0


def test_reset_classifier():
    net = create_model("mvcnn_compact_d128", num_classes=3)
    net.reset_classifier(6)
    assert net.centres.shape == (6, 128) and net.num_classes == 6
