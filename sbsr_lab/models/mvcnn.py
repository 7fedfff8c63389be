"""Multi-view shape network (MVCNN style): one shared backbone over V rendered views, view pooling.

CFTTSL's teacher (stage 1) and UACTN's shape network (stage 2)::

    views (B, V, C, H, W) -> backbone on (B*V, C, H, W) -> (B*V, F) -> pool over V -> (B, F)
        -> EmbeddingHead -> z (B, d), unit rows -> CosineClassifier -> cosines (B, K)

    >>> import torch
    >>> net = MultiViewNet("compact", embed_dim=128, num_classes=12)
    >>> out = net(torch.rand(2, 12, 1, 48, 48))
    >>> out["z"].shape, out["logits"].shape
    (torch.Size([2, 128]), torch.Size([2, 12]))
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from sbsr_lab.models.backbones import Backbone, build_backbone
from sbsr_lab.models.heads import ClassifiedNet, CosineClassifier, EmbeddingHead
from sbsr_lab.models.registry import register_model

__all__ = ["MultiViewNet"]


class MultiViewNet(ClassifiedNet):
    """Shared-backbone multi-view network with mean or max view pooling.

    Args:
        backbone: a name from :data:`~sbsr_lab.models.backbones.BACKBONES` or a built
            :class:`~sbsr_lab.models.backbones.Backbone`.
        embed_dim: d. num_classes: K.
        pooling: ``"mean"`` (CFTTSL) or ``"max"`` (original MVCNN) over the V views.
        hidden: hidden width of the embedding head.
        pretrained, in_chans: passed to :func:`~sbsr_lab.models.backbones.build_backbone`.
        head: the embedding head's style, ``"mlp"`` (ours) or ``"paper"`` (:class:`EmbeddingHead`).
    """

    def __init__(
        self,
        backbone: str | Backbone = "compact",
        embed_dim: int = 128,
        num_classes: int = 12,
        pooling: Literal["mean", "max"] = "mean",
        hidden: int = 512,
        pretrained: bool = False,
        in_chans: int = 1,
        head: str = "mlp",
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "max"):
            raise ValueError(f"pooling must be 'mean' or 'max', got {pooling!r}")
        self.backbone = build_backbone(backbone, pretrained, in_chans) if isinstance(backbone, str) else backbone
        self.pooling = pooling
        self.embed_dim, self.num_classes = embed_dim, num_classes
        self.head = EmbeddingHead(self.backbone.out_features, embed_dim, hidden, style=head)
        self.classifier = CosineClassifier(embed_dim, num_classes)

    def view_features(self, views: Tensor) -> Tensor:
        """views: (B, V, C, H, W) -> per-view backbone features (B, V, F)."""
        if views.dim() != 5:
            raise ValueError(
                f"MultiViewNet expects views (B, V, C, H, W), got shape {tuple(views.shape)}; "
                f"add the channel axis of grayscale views with views.unsqueeze(2)"
            )
        b, v = views.shape[:2]
        feats = self.backbone(views.flatten(0, 1))  # (B*V, F)
        return feats.view(b, v, -1)  # (B, V, F)

    def forward_features(self, views: Tensor) -> Tensor:
        """views: (B, V, C, H, W) -> view-pooled features (B, F)."""
        feats = self.view_features(views)
        return feats.mean(1) if self.pooling == "mean" else feats.amax(1)

    def embed(self, views: Tensor) -> Tensor:
        """views: (B, V, C, H, W) -> z (B, d), unit rows (what retrieval compares)."""
        return self.head(self.forward_features(views))

    def forward(self, views: Tensor) -> dict[str, Tensor]:
        """views: (B, V, C, H, W) -> ``{"z": (B, d), "logits": (B, K) cosines}``."""
        z = self.embed(views)
        return {"z": z, "logits": self.classifier(z)}


def _mvcnn(backbone: str, num_classes: int, kwargs: dict) -> MultiViewNet:
    return MultiViewNet(backbone, num_classes=num_classes, **{"embed_dim": 128, **kwargs})


@register_model
def mvcnn_compact_d128(num_classes: int = 12, **kwargs) -> MultiViewNet:
    """Compact CNN over the views, 128-d (ci / default profiles)."""
    return _mvcnn("compact", num_classes, kwargs)


@register_model
def mvcnn_resnet18_d128(num_classes: int = 12, **kwargs) -> MultiViewNet:
    """ResNet-18 over the views, 128-d."""
    return _mvcnn("resnet18", num_classes, kwargs)


@register_model
def mvcnn_resnet34_d128(num_classes: int = 12, **kwargs) -> MultiViewNet:
    """ResNet-34 over the views, 128-d."""
    return _mvcnn("resnet34", num_classes, kwargs)


@register_model
def mvcnn_resnet50_d128(num_classes: int = 12, **kwargs) -> MultiViewNet:
    """ResNet-50 over the views, 128-d."""
    return _mvcnn("resnet50", num_classes, kwargs)


@register_model
def mvcnn_vgg16_d128(num_classes: int = 12, **kwargs) -> MultiViewNet:
    """VGG-16 over the views, 128-d (the original MVCNN backbone family)."""
    return _mvcnn("vgg16", num_classes, kwargs)


@register_model
def mvcnn_vgg19_d128(num_classes: int = 12, **kwargs) -> MultiViewNet:
    """VGG-19 over the views, 128-d."""
    return _mvcnn("vgg19", num_classes, kwargs)


@register_model
def mvcnn_alexnet_d128(num_classes: int = 12, **kwargs) -> MultiViewNet:
    """AlexNet over the views, 128-d (inputs >= 64 px)."""
    return _mvcnn("alexnet", num_classes, kwargs)
