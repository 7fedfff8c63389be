"""DCA (Chen and Fang, ECCV 2018) as two stages: modality-specific metric networks, then adaptation.

1. ``dca-metric`` (both modalities): a sketch network and a multi-view shape network, each with its
   own cosine classifier (not tied, unlike the joint baseline), trained with AM-softmax plus
   ``dca_metric_weight`` x the importance-aware metric loss
   (:class:`~sbsr_lab.losses.ImportanceMetricLoss`) within each modality.
2. ``dca-adapt`` (both, ``--from dca-metric``): both networks copied from the metric run and frozen;
   only the transformation network T and the modality discriminator D train. With ts = T(sketch z):

       L = AM(shape classifier(ts), y) + dca_md_weight * MD(ts, z_shape) + BCE_D(D(GRL(ts)), D(z_shape))

   MD the class-aware mean discrepancy, GRL the gradient reversal (lambda = ``dca_grl``): D
   minimises its BCE, T maximises it in the same step. D's parameter group runs at
   ``dca_d_lr_ratio`` x T's rate (30: with equal rates the two chase each other; docs/reproducing.md),
   T at ``lr / 10`` (it is a small MLP on fixed features). ``d_acc`` (D's balanced accuracy, 0.5 =
   chance) goes to metrics.csv every epoch.

Retrieval: sketches as T(sketch z), shapes with the frozen shape network.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.losses import ImportanceMetricLoss, MeanDiscrepancyLoss, ModalityDiscriminatorLoss
from sbsr_lab.losses.dca import discriminator_accuracy
from sbsr_lab.models import CrossModalTransform, ModalityDiscriminator, grad_reverse
from sbsr_lab.train.methods.common import EmbedWith, freeze
from sbsr_lab.train.stages import Stage, StageLoss, _net, register_stage

__all__ = ["DCAMetricNet", "DCANet", "DCAMetric", "DCAAdapt"]

#: DCA's weights (ours): metric loss, mean discrepancy, gradient reversal, D:T learning-rate ratio, T's rate.
METRIC_WEIGHT, MD_WEIGHT, GRL_LAMBDA, D_LR_RATIO, T_LR_MULT = 1.0, 1.0, 1.0, 30.0, 0.1


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
    """AM-softmax + weight * importance-aware metric loss, on each modality with its own classifier."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.metric = ImportanceMetricLoss()

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, ys), (xv, yv) = batch
        zs, zt = model.sketch.embed(xs), model.shape.embed(xv)
        am_s, am_t = self.am(model.sketch.classifier(zs), ys), self.am(model.shape.classifier(zt), yv)
        ml_s, ml_t = self.metric(zs, ys), self.metric(zt, yv)
        loss = am_s + am_t + METRIC_WEIGHT * (ml_s + ml_t)
        return loss, {"am_sketch": am_s.item(), "am_shape": am_t.item(), "metric_sketch": ml_s.item(),
                      "metric_shape": ml_t.item()}


class AdaptLoss(StageLoss):
    """AM(T(s)) on the shape classifier + MD(T(s), shapes) + the discriminator's BCE through the GRL."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.md = MeanDiscrepancyLoss()
        self.adv = ModalityDiscriminatorLoss(smoothing=0.1)

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, ys), (xv, yv) = batch
        with torch.no_grad():  # the metric networks are fixed
            es, zt = model.sketch.embed(xs), model.shape.embed(xv)
        ts = model.transform(es)
        am = self.am(model.shape.classifier(ts), ys)
        shared = bool(torch.isin(ys, yv).any())
        md = self.md(ts, ys, zt, yv) if shared else ts.sum() * 0.0
        logit_s, logit_t = model.discriminator(grad_reverse(ts, GRL_LAMBDA)), model.discriminator(zt)
        adv = self.adv(logit_s, logit_t)
        loss = am + MD_WEIGHT * md + adv
        return loss, {"am": am.item(), "mean_discrepancy": md.item(), "d_loss": adv.item(),
                      "d_acc": discriminator_accuracy(logit_s.detach(), logit_t.detach())}


def _nets(profile: Profile, num_classes: int) -> tuple[nn.Module, nn.Module]:
    return _net("sketch")(profile, num_classes), _net("mvcnn")(profile, num_classes)


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
        """AdamW: T at ``lr * 0.1``, D at 30 x T's rate (the frozen metric networks get no group)."""
        groups = [{"params": list(model.transform.parameters()), "lr_mult": T_LR_MULT},
                  {"params": list(model.discriminator.parameters()), "lr_mult": T_LR_MULT * D_LR_RATIO}]
        return torch.optim.AdamW(groups, lr=profile.lr, weight_decay=profile.weight_decay)
