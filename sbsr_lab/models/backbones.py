"""Backbones: image (B, C, H, W) -> feature vector (B, F).

Two families behind one interface (:class:`Backbone`: an ``nn.Module`` with ``out_features``):

* ``compact``: a small CNN sized for the ``ci`` / ``default`` profiles on a CPU (~0.76 M parameters,
  ~34 M multiply-adds per 96 px image), any input side >= 32 px.
* torchvision ImageNet nets for the ``full`` profile, as in the papers: ``resnet18``, ``resnet34``,
  ``resnet50``, ``vgg16``, ``vgg19``, ``alexnet`` (their classifier's last layer removed;
  ``alexnet`` needs inputs of at least 64 px).

Sketches and views are grayscale: every backbone takes 1 or 3 channels, torchvision nets repeat a
single channel to three. Inputs are images in [0, 1] (ink / near = 1); with ImageNet weights the
torchvision nets apply the ImageNet mean/std themselves.

    >>> net = build_backbone("compact")
    >>> net(torch.rand(2, 1, 48, 48)).shape
    torch.Size([2, 256])
"""

from __future__ import annotations

import warnings
import torch
from torch import Tensor, nn

from sbsr_lab.config import BACKBONE_NAMES
from sbsr_lab.errors import DownloadError

__all__ = ["Backbone", "CompactCNN", "TorchvisionBackbone", "BACKBONES", "build_backbone"]

#: Backbone names :func:`build_backbone` knows.
BACKBONES: tuple[str, ...] = BACKBONE_NAMES

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class Backbone(nn.Module):
    """Interface: ``forward(x: (B, C, H, W)) -> (B, out_features)``; ``out_features`` is F."""

    out_features: int
    in_chans: int


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class CompactCNN(Backbone):
    """A 5-block CNN for CPUs: Conv-BN-ReLU blocks, max pooling, global average pool.

    Layout for a 96 px input (spatial side after each step; 48 px: 24, 12, 6, 3, 2)::

        stem  conv3x3/2  C -> w0   48, maxpool 24
        b1    conv3x3    w0 -> w1  24, maxpool 12
        b2    conv3x3    w1 -> w2  12, maxpool 6
        b3    conv3x3    w2 -> w3   6, maxpool 3
        b4    conv3x3    w3 -> w4   3, global average pool -> (B, w4)

    About 34 M multiply-adds per 96 px image (8.5 M at 48 px).

    BatchNorm in training mode needs more than one value per channel: at 32 px the last block
    sees a 1 x 1 map, so train with batches of at least 2 (``drop_last=True``).

    Args:
        in_chans: 1 (grayscale sketches / views) or 3.
        widths: channels of the five blocks; ``out_features`` is the last one.

    Works for any input side >= 32 px (the last pooling reaches 1 x 1 at 32 px).
    """

    def __init__(self, in_chans: int = 1, widths: tuple[int, ...] = (32, 64, 128, 192, 256)) -> None:
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"CompactCNN wants 5 widths (one per block), got {widths!r}")
        self.in_chans = in_chans
        self.out_features = widths[-1]
        w0, w1, w2, w3, w4 = widths
        self.features = nn.Sequential(  # ceil_mode: a 3 x 3 map pools to 2 x 2, not 1 x 1
            _conv_bn_relu(in_chans, w0, stride=2), nn.MaxPool2d(2, ceil_mode=True),
            _conv_bn_relu(w0, w1), nn.MaxPool2d(2, ceil_mode=True),
            _conv_bn_relu(w1, w2), nn.MaxPool2d(2, ceil_mode=True),
            _conv_bn_relu(w2, w3), nn.MaxPool2d(2, ceil_mode=True),
            _conv_bn_relu(w3, w4),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C, H, W) with H, W >= 32 -> (B, out_features)."""
        _check_image_batch(x, (self.in_chans,), min_side=32, name="compact")
        x = x.contiguous(memory_format=torch.channels_last)  # the layer weights' layout (build_backbone)
        return self.pool(self.features(x)).flatten(1)  # (B, F)


class TorchvisionBackbone(Backbone):
    """A torchvision classifier with its last layer removed: (B, 1|3, H, W) -> (B, F).

    ResNets give the pooled features (F = 512 or 2048); VGG and AlexNet keep their classifier up
    to the penultimate 4096-d layer (fc7 after ReLU and dropout), as the MVCNN paper did.

    Args:
        name: one of ``resnet18``, ``resnet34``, ``resnet50``, ``vgg16``, ``vgg19``, ``alexnet``.
        pretrained: load the ImageNet weights (downloaded into the torch hub cache on first use).
        in_chans: kept for a uniform signature; 1- and 3-channel inputs are both accepted
            (a single channel is repeated to 3).
        normalize_input: subtract the ImageNet mean and divide by its std; defaults to ``pretrained``.
        allow_random_fallback: when the weights cannot be had (offline), warn and keep random
            weights instead of raising :class:`~sbsr_lab.errors.DownloadError`.
    """

    def __init__(
        self,
        name: str,
        pretrained: bool = False,
        in_chans: int = 1,
        normalize_input: bool | None = None,
        allow_random_fallback: bool = False,
    ) -> None:
        super().__init__()
        import torchvision

        if name not in BACKBONES or name == "compact":
            raise KeyError(f"Unknown torchvision backbone {name!r}; choose one of {', '.join(BACKBONES[1:])}")
        if in_chans not in (1, 3):
            raise ValueError(f"Backbone {name!r} takes 1 or 3 input channels, got in_chans={in_chans}")
        self.name, self.in_chans = name, in_chans
        net = torchvision.models.get_model(name, weights=None)
        if pretrained:
            loaded = _load_imagenet_weights(name, net, allow_random_fallback)
            pretrained = loaded
        if name.startswith("resnet"):
            self.out_features = net.fc.in_features
            net.fc = nn.Identity()
            self.net: nn.Module = net
        else:  # vgg*, alexnet: features -> avgpool -> classifier without its last Linear
            self.out_features = net.classifier[-1].in_features
            net.classifier = nn.Sequential(*list(net.classifier.children())[:-1])
            self.net = net
        self.min_side = 64 if name == "alexnet" else 32
        self.normalize_input = pretrained if normalize_input is None else normalize_input
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 1|3, H, W) in [0, 1] -> (B, out_features)."""
        _check_image_batch(x, (1, 3), min_side=self.min_side, name=self.name)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # (B, 3, H, W), grayscale repeated
        if self.normalize_input:
            x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return self.net(x.contiguous(memory_format=torch.channels_last))


def _load_imagenet_weights(name: str, net: nn.Module, allow_random_fallback: bool) -> bool:
    """Load torchvision's default ImageNet weights into ``net``; explain how to fix a failed download."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    try:
        state = weights.get_state_dict(progress=False, check_hash=True)
    except Exception as exc:  # offline (URLError), proxy, corrupt file, ... -> one clear message
        cache = torch.hub.get_dir() + "/checkpoints"
        filename = weights.url.rsplit("/", 1)[-1]
        msg = (
            f"Could not get the ImageNet weights of {name!r} ({type(exc).__name__}: {exc}). "
            f"Fix: on a machine with internet download {weights.url} and copy it to "
            f"{cache}/{filename} (set $TORCH_HOME to move the cache), or use pretrained=False "
            f"(profile override pretrained=false)."
        )
        if allow_random_fallback:
            warnings.warn(msg + " Continuing with random weights.", stacklevel=3)
            return False
        raise DownloadError(msg) from exc
    net.load_state_dict(state)
    return True


def _check_image_batch(x: Tensor, channels: tuple[int, ...], min_side: int, name: str) -> None:
    if x.dim() != 4:
        raise ValueError(f"Backbone {name!r} expects images (B, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] not in channels:
        raise ValueError(
            f"Backbone {name!r} takes {' or '.join(map(str, channels))} channel(s), got {x.shape[1]} "
            f"(shape {tuple(x.shape)}); build it with in_chans={x.shape[1]} or convert the images"
        )
    if min(x.shape[-2:]) < min_side:
        raise ValueError(
            f"Backbone {name!r} needs images of at least {min_side} px, got {tuple(x.shape[-2:])}; "
            f"raise the profile's image_size"
        )


def build_backbone(
    name: str = "compact",
    pretrained: bool = False,
    in_chans: int = 1,
    allow_random_fallback: bool = False,
    **kwargs: object,
) -> Backbone:
    """Build a backbone by name (see :data:`BACKBONES`).

    ``pretrained`` asks for ImageNet weights (torchvision nets only; the compact CNN has none and
    warns). Extra ``kwargs`` go to the constructor (e.g. ``widths`` for ``compact``).

    The weights are in ``torch.channels_last`` (and ``forward`` puts its input there): oneDNN's and
    cuDNN's fast convolution layout, 1.3-1.8x faster in inference on a CPU than NCHW (benchmarks/README.md).
    ``load_state_dict`` keeps it, so loaded runs and bundles get it too (training always had it: train.fit).
    """
    if name not in BACKBONES:
        raise KeyError(f"Unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    if name == "compact":
        if pretrained:
            warnings.warn("The compact CNN has no pretrained weights; starting from random ones.", stacklevel=2)
        net: Backbone = CompactCNN(in_chans=in_chans, **kwargs)  # type: ignore[arg-type]
    else:
        net = TorchvisionBackbone(
            name, pretrained=pretrained, in_chans=in_chans, allow_random_fallback=allow_random_fallback,
            **kwargs,  # type: ignore[arg-type]
        )
    return net.to(memory_format=torch.channels_last)
