"""The joint baseline as one stage: ONE cosine classifier trained on sketches and views together
(the one-stage approach both papers argue against; it stays in every results table).

``joint`` (both modalities): a sketch network and a multi-view network sharing one classifier
(:class:`~sbsr_lab.models.JointNet`), AM-softmax on the sketches plus the same on the shapes.

Settings (``--set``): ``joint`` (``two-nets``; ``shared``: the authors' baseline, one sketch network fed
sketches and single rendered views alike (:class:`~sbsr_lab.models.SharedJointNet`), focal AM-softmax
with gamma = ``focal_gamma``, or 2 as in their code when it is 0).

Retrieval: the sketch network against the shape network (``shared``: the views' mean embedding).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.losses import FocalAMSoftmaxLoss
from sbsr_lab.models import build_network
from sbsr_lab.train.stage import Method, Stage, StageLoss, register_method, register_stage

__all__ = ["JointBaseline", "JointLoss", "SharedJointLoss", "Joint"]


@register_method
class JointBaseline(Method):
    name, label, order, in_demo = "joint", "Joint baseline", 30, True
    settings = ("joint",)


class JointLoss(StageLoss):
    """AM-softmax of the shared classifier on the sketches plus the same on the shapes."""

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, ys), (xv, yv) = batch
        ls = self.am(model.classifier(model.sketch.embed(xs)), ys)
        lv = self.am(model.classifier(model.shape.embed(xv)), yv)
        return ls + lv, {"am_sketch": ls.item(), "am_shape": lv.item()}


class SharedJointLoss(StageLoss):
    """The authors' joint loss: the sketches and the single views (each of the ``train_views`` views a
    sample of the shape's class) in one batch through the one network, focal AM-softmax (gamma =
    ``focal_gamma``, or 2 as in their code when it is 0)."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.am = FocalAMSoftmaxLoss(scale=profile.am_scale, margin=profile.am_margin,
                                     gamma=profile.focal_gamma if profile.focal_gamma > 0 else 2.0, reduction="none")

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, ys), (xv, yv) = batch
        x = torch.cat([xs, xv.flatten(0, 1)])                    # sketches, then single views (B*V, C, H, W)
        y = torch.cat([ys, yv.repeat_interleave(xv.shape[1])])
        per = self.am(model.sketch(x)["logits"], y)              # (B + B*V,)
        n = len(xs)
        return per.mean(), {"am_sketch": per[:n].mean().item(), "am_shape": per[n:].mean().item()}


@register_stage
class Joint(Stage):
    name, method, modality = "joint", "joint", "both"
    summary = "Joint baseline: one shared classifier for sketches and views"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return build_network("shared-joint" if profile.joint == "shared" else "joint", profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return SharedJointLoss(profile, centres) if profile.joint == "shared" else JointLoss(profile, centres)
