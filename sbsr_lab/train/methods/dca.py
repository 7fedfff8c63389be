"""DCA (Chen and Fang, ECCV 2018) as two stages: modality-specific metric networks, then adaptation.

1. ``dca-metric`` (both modalities): a sketch network and a multi-view shape network, each with its
   own cosine classifier (not tied, unlike the joint baseline), trained with AM-softmax plus
   ``dca_metric_weight`` (1) x the importance-aware metric loss
   (:class:`~sbsr_lab.losses.ImportanceMetricLoss`) within each modality.
2. ``dca-adapt`` (both, ``--from dca-metric``): both networks copied from the metric run and frozen;
   only the transformation network T and the modality discriminator D train. With ts = T(sketch z):

       L = AM(shape classifier(ts), y) + dca_md_weight * MD(ts, z_shape) + BCE_D(D(GRL(ts)), D(z_shape))

   MD the class-aware mean discrepancy (``dca_md_weight``, 1), GRL the gradient reversal (lambda =
   ``dca_grl``, 1): D minimises its BCE, T maximises it in the same step. T runs at ``dca_t_lr_mult``
   (0.1) x ``lr`` (it is a small MLP on fixed features), D at ``dca_d_lr_ratio`` (30) x T's rate (with
   equal rates the two chase each other; docs/reproducing.md). ``d_acc`` (D's balanced accuracy, 0.5 =
   chance) goes to metrics.csv every epoch.

Settings (``--set``): the five ``dca_*`` fields above (:class:`~sbsr_lab.config.Profile`).

Retrieval: sketches as T(sketch z), shapes with the frozen shape network.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.losses import ImportanceMetricLoss, MeanDiscrepancyLoss, ModalityDiscriminatorLoss
from sbsr_lab.losses.dca import discriminator_accuracy
from sbsr_lab.models import CrossModalTransform, EmbedWith, ModalityDiscriminator, build_network, grad_reverse
from sbsr_lab.train.stage import Method, Stage, StageLoss, freeze, register_method, register_stage

__all__ = ["DCA", "DCAMetricNet", "DCANet", "DCAMetric", "DCAAdapt"]


@register_method
class DCA(Method):
    name, label, order = "dca", "DCA (adversarial adaptation)", 40
    settings = ("dca_metric_weight", "dca_md_weight", "dca_grl", "dca_d_lr_ratio", "dca_t_lr_mult")


class DCAMetricNet(nn.Module):
    """Two modality-specific networks, each with its own classifier: ``sketch`` (B, 1, H, W) -> z,
    ``shape`` (B, V, 1, H, W) -> z."""

    def __init__(self, sketch: nn.Module, shape: nn.Module) -> None:
        super().__init__()
        self.sketch, self.shape = sketch, shape

    @property
    def centres(self) -> Tensor:
        return self.shape.classifier.centres


class DCANet(DCAMetricNet):
    """The metric networks (frozen, kept in eval mode) + T (``transform``) + D (``discriminator``)."""

    def __init__(self, sketch: nn.Module, shape: nn.Module, embed_dim: int) -> None:
        super().__init__(freeze(sketch), freeze(shape))
        self.transform = CrossModalTransform(embed_dim)
        self.discriminator = ModalityDiscriminator(embed_dim)

    def train(self, mode: bool = True) -> "DCANet":
        super().train(mode)
        self.sketch.eval()  # frozen: their BatchNorm statistics must not move either
        self.shape.eval()
        return self

    def embed_sketch(self, x: Tensor) -> Tensor:
        """x (B, 1, H, W) -> T(sketch z) (B, d), unit rows."""
        return self.transform(self.sketch.embed(x))


class MetricLoss(StageLoss):
    """AM-softmax + ``dca_metric_weight`` * importance-aware metric loss, on each modality with its own classifier."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.metric = ImportanceMetricLoss()
        self.metric_weight = profile.dca_metric_weight

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, ys), (xv, yv) = batch
        zs, zt = model.sketch.embed(xs), model.shape.embed(xv)
        am_s, am_t = self.am(model.sketch.classifier(zs), ys), self.am(model.shape.classifier(zt), yv)
        ml_s, ml_t = self.metric(zs, ys), self.metric(zt, yv)
        loss = am_s + am_t + self.metric_weight * (ml_s + ml_t)
        return loss, {"am_sketch": am_s.item(), "am_shape": am_t.item(), "metric_sketch": ml_s.item(),
                      "metric_shape": ml_t.item()}


class AdaptLoss(StageLoss):
    """AM(T(s)) on the shape classifier + ``dca_md_weight`` * MD(T(s), shapes) + the discriminator's BCE
    through the GRL (lambda ``dca_grl``)."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.md = MeanDiscrepancyLoss()
        self.adv = ModalityDiscriminatorLoss(smoothing=0.1)
        self.md_weight, self.grl = profile.dca_md_weight, profile.dca_grl

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, ys), (xv, yv) = batch
        with torch.no_grad():  # the metric networks are fixed
            es, zt = model.sketch.embed(xs), model.shape.embed(xv)
        ts = model.transform(es)
        am = self.am(model.shape.classifier(ts), ys)
        shared = bool(torch.isin(ys, yv).any())
        md = self.md(ts, ys, zt, yv) if shared else ts.sum() * 0.0
        logit_s, logit_t = model.discriminator(grad_reverse(ts, self.grl)), model.discriminator(zt)
        adv = self.adv(logit_s, logit_t)
        loss = am + self.md_weight * md + adv
        return loss, {"am": am.item(), "mean_discrepancy": md.item(), "d_loss": adv.item(),
                      "d_acc": discriminator_accuracy(logit_s.detach(), logit_t.detach())}


def _nets(profile: Profile, num_classes: int) -> tuple[nn.Module, nn.Module]:
    return build_network("sketch", profile, num_classes), build_network("mvcnn", profile, num_classes)


@register_stage
class DCAMetric(Stage):
    name, method, modality = "dca-metric", "dca", "both"
    summary = "DCA stage 1: sketch and shape metric networks (AM-softmax + importance-aware metric loss)"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return DCAMetricNet(*_nets(profile, num_classes))

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return MetricLoss(profile, centres)


@register_stage
class DCAAdapt(Stage):
    name, method, modality, needs = "dca-adapt", "dca", "both", "dca-metric"
    summary = "DCA stage 2: sketch->shape transformation T against a modality discriminator"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return DCANet(*_nets(profile, num_classes), profile.embed_dim)

    def centres_from(self, from_model: nn.Module) -> Tensor | None:
        return None  # the whole metric networks come over (init_from), the shape classifier with them

    def init_from(self, model: nn.Module, from_model: nn.Module) -> None:
        model.sketch.load_state_dict(from_model.sketch.state_dict())
        model.shape.load_state_dict(from_model.shape.state_dict())

    def networks(self, model: nn.Module) -> dict[str, nn.Module]:
        return {"sketch": EmbedWith(model.embed_sketch, model.shape.classifier, model), "shape": model.shape}

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return AdaptLoss(profile, centres)

    def optimizer(self, model: nn.Module, profile: Profile) -> torch.optim.Optimizer:
        """AdamW: T at ``lr * dca_t_lr_mult``, D at ``dca_d_lr_ratio`` x T's rate (the frozen metric
        networks get no group)."""
        t_rate = profile.dca_t_lr_mult
        groups = [{"params": list(model.transform.parameters()), "lr_mult": t_rate},
                  {"params": list(model.discriminator.parameters()), "lr_mult": t_rate * profile.dca_d_lr_ratio}]
        return torch.optim.AdamW(groups, lr=profile.lr, weight_decay=profile.weight_decay)
