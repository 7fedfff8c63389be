"""Backbones: output shapes, grayscale input, size limits, the offline pretrained message."""

from __future__ import annotations

import time
import urllib.error

import pytest
import torch

from sbsr_lab.errors import DownloadError
from sbsr_lab.models import BACKBONES, CompactCNN, build_backbone


@pytest.mark.parametrize("side", [32, 48, 96])
@pytest.mark.parametrize("in_chans", [1, 3])
def test_compact_shapes_any_side(side, in_chans):
    net = build_backbone("compact", in_chans=in_chans)
    out = net(torch.rand(2, in_chans, side, side + 8))
    assert out.shape == (2, net.out_features) == (2, 256)


def test_compact_size_and_speed_on_cpu():
    torch.manual_seed(0)
    net = CompactCNN()
    n_params = sum(p.numel() for p in net.parameters())
    assert 300_000 <= n_params <= 1_000_000
    x = torch.rand(8, 1, 64, 64)
    net(x).sum().backward()  # warm-up
    times = []
    for _ in range(3):  # best of 3: the CPU is shared
        start = time.perf_counter()
        net(x).sum().backward()
        times.append(time.perf_counter() - start)
    assert min(times) < 1.0


def test_compact_rejects_small_or_wrong_images():
    net = build_backbone("compact")
    with pytest.raises(ValueError, match="at least 32 px"):
        net(torch.rand(1, 1, 24, 24))
    with pytest.raises(ValueError, match="in_chans=3"):
        net(torch.rand(1, 3, 48, 48))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        net(torch.rand(1, 48, 48))


def test_resnet18_takes_grayscale():
    net = build_backbone("resnet18")
    assert net.out_features == 512
    net.eval()
    with torch.no_grad():
        gray = torch.rand(2, 1, 32, 32)
        torch.testing.assert_close(net(gray), net(gray.expand(-1, 3, -1, -1)))


@pytest.mark.parametrize("name,features", [("resnet34", 512), ("resnet50", 2048), ("vgg16", 4096),
                                           ("vgg19", 4096), ("alexnet", 4096)])
def test_torchvision_shapes_on_meta_device(name, features):
    with torch.device("meta"):  # shapes without allocating or computing
        net = build_backbone(name)
        side = 64 if name == "alexnet" else 32
        out = net(torch.empty(2, 1, side, side))
    assert net.out_features == features and out.shape == (2, features)


def test_unknown_backbone_lists_the_names():
    with pytest.raises(KeyError, match="resnet18"):
        build_backbone("resnet19")
    assert "compact" in BACKBONES


def test_pretrained_offline_gives_a_clear_message(monkeypatch):
    import torchvision

    def offline(self, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", offline)
    with torch.device("meta"):
        with pytest.raises(DownloadError, match=r"resnet18-f37072fd\.pth.*hub/checkpoints"):
            build_backbone("resnet18", pretrained=True)
        with pytest.warns(UserWarning, match="random weights"):
            net = build_backbone("resnet18", pretrained=True, allow_random_fallback=True)
    assert not net.normalize_input  # random weights: no ImageNet normalisation


def test_backbones_are_channels_last_and_compute_what_nchw_computes():
    """build_backbone keeps weights in channels_last (fast oneDNN convolutions), a loaded state keeps it,
    and the features equal those of the same weights in NCHW."""
    import copy

    import torch

    from sbsr_lab.models.backbones import build_backbone

    torch.manual_seed(0)
    net = build_backbone("compact").eval()
    convs = [m.weight for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    again = build_backbone("compact").eval()
    again.load_state_dict(net.state_dict())
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last)
               for m in again.modules() if isinstance(m, torch.nn.Conv2d))
    nchw = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    x = torch.rand(3, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(net(x), nchw.features(x).mean((2, 3)), atol=1e-5, rtol=1e-5)
