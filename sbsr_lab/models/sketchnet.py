"""Sketch network: backbone -> embedding (or UACTN's mean and log-variance) -> cosine classifier.

CFTTSL's student (stage 2) and UACTN's sketch network (stage 1, ``uncertainty=True``)::

    sketch (B, C, H, W) -> backbone -> (B, F) -> EmbeddingHead -> z (B, d) -> cosines (B, K)
                                              -> UncertaintyHead -> mu, log_var (B, d)
                                                 z_sample = mu + sigma * eps (training) -> cosines

    >>> import torch
    >>> net = SketchNet("compact", embed_dim=128, num_classes=12, uncertainty=True)
    >>> out = net(torch.rand(4, 1, 48, 48))
    >>> sorted(out)
    ['log_var', 'logits', 'mu', 'z', 'z_sample']
"""

from __future__ import annotations

from torch import Tensor

from sbsr_lab.models.backbones import Backbone, build_backbone
from sbsr_lab.models.heads import ClassifiedNet, CosineClassifier, EmbeddingHead, UncertaintyHead, reparameterize
from sbsr_lab.models.registry import register_model

__all__ = ["SketchNet"]


class SketchNet(ClassifiedNet):
    """Single-image network for sketches, optionally with UACTN's uncertainty head.

    Args:
        backbone: a backbone name or a built :class:`~sbsr_lab.models.backbones.Backbone`.
        embed_dim: d. num_classes: K. hidden: hidden width of the head MLPs.
        uncertainty: predict (mu, log sigma^2) and classify the reparameterised sample in training.
        pretrained, in_chans: passed to :func:`~sbsr_lab.models.backbones.build_backbone`.
        head: the head's style, ``"mlp"`` (ours) or ``"paper"`` (the authors' BatchNorm stacks).

    ``forward`` returns a dict: ``z`` (B, d) unit rows (mu when ``uncertainty``) and ``logits``
    (B, K) cosines; with ``uncertainty`` also ``mu``, ``log_var`` (B, d) and ``z_sample`` (B, d):
    mu + exp(log_var / 2) * eps in training mode, mu in eval mode. The logits are those of
    ``z_sample``.
    """

    def __init__(
        self,
        backbone: str | Backbone = "compact",
        embed_dim: int = 128,
        num_classes: int = 12,
        uncertainty: bool = False,
        hidden: int = 512,
        pretrained: bool = False,
        in_chans: int = 1,
        head: str = "mlp",
    ) -> None:
        super().__init__()
        self.backbone = build_backbone(backbone, pretrained, in_chans) if isinstance(backbone, str) else backbone
        self.uncertainty = uncertainty
        self.embed_dim, self.num_classes = embed_dim, num_classes
        head_cls = UncertaintyHead if uncertainty else EmbeddingHead
        self.head = head_cls(self.backbone.out_features, embed_dim, hidden, style=head)
        self.classifier = CosineClassifier(embed_dim, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """x: (B, C, H, W) -> backbone features (B, F)."""
        return self.backbone(x)

    def embed(self, x: Tensor) -> Tensor:
        """x: (B, C, H, W) -> z (B, d), unit rows (mu for the uncertainty model)."""
        out = self.head(self.forward_features(x))
        return out[0] if self.uncertainty else out

    def embed_uncertain(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, C, H, W) -> (mu (B, d) unit rows, log_var (B, d)); only with ``uncertainty``."""
        if not self.uncertainty:
            raise ValueError("embed_uncertain needs a SketchNet built with uncertainty=True (it predicts no sigma)")
        return self.head(self.forward_features(x))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x: (B, C, H, W) -> dict of ``z``, ``logits`` (+ ``mu``, ``log_var``, ``z_sample``)."""
        feats = self.forward_features(x)
        if not self.uncertainty:
            z = self.head(feats)
            return {"z": z, "logits": self.classifier(z)}
        mu, log_var = self.head(feats)
        z_sample = reparameterize(mu, log_var) if self.training else mu
        return {"z": mu, "mu": mu, "log_var": log_var, "z_sample": z_sample, "logits": self.classifier(z_sample)}


def _sketch(backbone: str, num_classes: int, kwargs: dict, uncertainty: bool = False) -> SketchNet:
    return SketchNet(backbone, num_classes=num_classes, uncertainty=uncertainty, **{"embed_dim": 128, **kwargs})


# -- CFTTSL student / joint baseline -------------------------------------------------------------


@register_model
def sketch_compact_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """Compact CNN sketch network, 128-d (ci / default profiles)."""
    return _sketch("compact", num_classes, kwargs)


@register_model
def sketch_resnet18_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """ResNet-18 sketch network, 128-d."""
    return _sketch("resnet18", num_classes, kwargs)


@register_model
def sketch_resnet34_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """ResNet-34 sketch network, 128-d."""
    return _sketch("resnet34", num_classes, kwargs)


@register_model
def sketch_resnet50_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """ResNet-50 sketch network, 128-d."""
    return _sketch("resnet50", num_classes, kwargs)


@register_model
def sketch_vgg16_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """VGG-16 sketch network, 128-d."""
    return _sketch("vgg16", num_classes, kwargs)


@register_model
def sketch_vgg19_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """VGG-19 sketch network, 128-d."""
    return _sketch("vgg19", num_classes, kwargs)


@register_model
def sketch_alexnet_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """AlexNet sketch network, 128-d (inputs >= 64 px)."""
    return _sketch("alexnet", num_classes, kwargs)


# -- UACTN sketch network (mean + log-variance) ----------------------------------------------------


@register_model
def sketch_unc_compact_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """Compact CNN with the uncertainty head, 128-d."""
    return _sketch("compact", num_classes, kwargs, uncertainty=True)


@register_model
def sketch_unc_resnet18_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """ResNet-18 with the uncertainty head, 128-d."""
    return _sketch("resnet18", num_classes, kwargs, uncertainty=True)


@register_model
def sketch_unc_resnet34_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """ResNet-34 with the uncertainty head, 128-d."""
    return _sketch("resnet34", num_classes, kwargs, uncertainty=True)


@register_model
def sketch_unc_resnet50_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """ResNet-50 with the uncertainty head, 128-d."""
    return _sketch("resnet50", num_classes, kwargs, uncertainty=True)


@register_model
def sketch_unc_vgg16_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """VGG-16 with the uncertainty head, 128-d."""
    return _sketch("vgg16", num_classes, kwargs, uncertainty=True)


@register_model
def sketch_unc_vgg19_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """VGG-19 with the uncertainty head, 128-d."""
    return _sketch("vgg19", num_classes, kwargs, uncertainty=True)


@register_model
def sketch_unc_alexnet_d128(num_classes: int = 12, **kwargs) -> SketchNet:
    """AlexNet with the uncertainty head, 128-d (inputs >= 64 px)."""
    return _sketch("alexnet", num_classes, kwargs, uncertainty=True)
