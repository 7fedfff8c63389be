"""CFTTSL (CVIU 2024) as two stages: a multi-view teacher, then a sketch student guided onto its centres.

1. ``teacher`` (shapes): a multi-view network with AM-softmax; its class centres become the fixed shape space.
2. ``student`` (sketches, ``--from teacher``): AM-softmax on the teacher's fixed centres + ``alpha`` x
   the guidance loss ||z - c_y||^2 + ``beta`` x mean_{k != y} z . c_k (:class:`~sbsr_lab.losses.GuidanceLoss`).

Settings (``--set``): ``alpha`` (0.5), ``beta`` (1; shared with UACTN), ``freeze_centres`` (true: the
teacher's centres classify, frozen; false: they start there and learn), ``student_init`` (``teacher``;
``random``: a new classifier that learns, the authors' code, where the teacher enters only through the
guidance loss). ``--set variant=paper`` sets the authors' choices (config.VARIANTS).

Retrieval: student sketches against the teacher's shape embeddings.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.models import build_network
from sbsr_lab.train.stage import AMLoss, GuidedLoss, Method, Stage, StageLoss, register_method, register_stage

__all__ = ["CFTTSL", "Teacher", "Student"]


@register_method
class CFTTSL(Method):
    name, label, order, in_demo = "cfttsl", "CFTTSL (teacher-student)", 10, True
    settings = ("alpha", "freeze_centres", "student_init")


@register_stage
class Teacher(Stage):
    name, method, modality = "teacher", "cfttsl", "shape"
    summary = "CFTTSL stage 1: multi-view teacher with AM-softmax"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return build_network("mvcnn", profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return AMLoss(profile, centres)


@register_stage
class Student(Stage):
    name, method, modality, needs = "student", "cfttsl", "sketch", "teacher"
    outliers = True
    summary = "CFTTSL stage 2: sketch student guided onto the teacher's centres"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return build_network("sketch", profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return GuidedLoss(profile, centres, profile.alpha, "guidance")

    def fix_centres(self, model: nn.Module, centres: Tensor, profile: Profile | None = None) -> None:
        """The teacher's centres classify (frozen); ``student_init="random"`` keeps the student's own new
        classifier instead (the authors' code: the teacher enters only through the guidance loss)."""
        if profile is not None and profile.student_init == "random":
            return
        super().fix_centres(model, centres, profile)

    def optimizer(self, model: nn.Module, profile: Profile) -> torch.optim.Optimizer:
        """As the base; with ``freeze_centres=False`` the classifier starts on the teacher's centres and
        learns (the guidance loss still pulls onto the teacher's fixed copy)."""
        if not profile.freeze_centres:
            model.classifier.freeze(False)
        return super().optimizer(model, profile)
