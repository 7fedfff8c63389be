"""SSLTKD (2024 thesis, our forms): a long-tail-aware 3D teacher on self-supervised features,
distilled into the sketch student.

0. ``ssl-pretrain`` (shared with the ``ssl`` method: the same SimSiam run).
1. ``ssltkd-teacher`` (shapes, ``--from ssl-pretrain``): a multi-view network whose backbone starts
   from the pretrained one, trained with the logit-adjusted AM-softmax
   (:class:`~sbsr_lab.losses.LogitAdjustedAMSoftmaxLoss`, tau = 1, the prior from the training
   shapes per class): on a long-tailed gallery the rare classes get larger margins. On balanced
   classes the adjustment is a constant and the loss is plain AM-softmax.
2. ``ssltkd-student`` (sketches, ``--from ssltkd-teacher``): a sketch network classified by the
   teacher's fixed centres C, trained with AM-softmax + 1 x feature distillation ||z - C[y]||^2 +
   1 x relational distillation KL(softmax(C[y] . C / T) || softmax(z . C / T)), T = 0.1
   (:class:`~sbsr_lab.losses.FeatureDistillationLoss`, :class:`~sbsr_lab.losses.RelationalDistillationLoss`).

Retrieval: student sketches against the teacher's shape embeddings.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.losses import FeatureDistillationLoss, LogitAdjustedAMSoftmaxLoss, RelationalDistillationLoss
from sbsr_lab.train.stages import Stage, StageLoss, _net, register_stage

__all__ = ["SSLTKDTeacher", "SSLTKDStudent"]

FEATURE_WEIGHT, RELATION_WEIGHT, RELATION_T, LA_TAU = 1.0, 1.0, 0.1, 1.0


class LogitAdjustedLoss(StageLoss):
    """Logit-adjusted AM-softmax; the class prior arrives with the data (:meth:`set_counts`)."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.profile = profile
        self.adjusted: LogitAdjustedAMSoftmaxLoss | None = None

    def set_counts(self, counts: list[int]) -> None:
        """Training samples per class (K,), all > 0."""
        self.adjusted = LogitAdjustedAMSoftmaxLoss(counts, tau=LA_TAU, scale=self.profile.am_scale,
                                                   margin=self.profile.am_margin).to(self.centres.device)

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        if self.adjusted is None:
            raise RuntimeError("LogitAdjustedLoss: set_counts(class counts) first (fit does it via attach_data)")
        x, y = batch
        loss = self.adjusted(model(x)["logits"], y)
        return loss, {"am_logit_adjusted": loss.item()}


class DistilledLoss(StageLoss):
    """AM-softmax on the fixed centres C + feature and relational distillation onto C."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.feature = FeatureDistillationLoss()
        self.relation = RelationalDistillationLoss(RELATION_T)

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x, y = batch
        out = model(x)
        am = self.am(out["logits"], y)
        target = self.centres[y]
        fd = self.feature(out["z"], target)
        rd = self.relation(out["z"], target, self.centres)
        loss = am + FEATURE_WEIGHT * fd + RELATION_WEIGHT * rd
        return loss, {"am": am.item(), "feature_kd": fd.item(), "relation_kd": rd.item()}


@register_stage
class SSLTKDTeacher(Stage):
    name, method, modality, needs = "ssltkd-teacher", "ssltkd", "shape", "ssl-pretrain"
    summary = "SSLTKD stage 1: long-tail (logit-adjusted) teacher on the self-supervised backbone"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return _net("mvcnn")(profile, num_classes)

    def centres_from(self, from_model: nn.Module) -> Tensor | None:
        return None

    def init_from(self, model: nn.Module, from_model: nn.Module) -> None:
        model.backbone.load_state_dict(from_model.shape.backbone.state_dict())

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return LogitAdjustedLoss(profile, centres)

    def attach_data(self, criterion: StageLoss, manifest: Any) -> None:
        counts = [sum(1 for s in manifest.shapes if s.cls == c) for c in manifest.classes]
        criterion.set_counts([max(1, n) for n in counts])


@register_stage
class SSLTKDStudent(Stage):
    name, method, modality, needs = "ssltkd-student", "ssltkd", "sketch", "ssltkd-teacher"
    summary = "SSLTKD stage 2: sketch student distilled onto the teacher's centres"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return _net("sketch")(profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return DistilledLoss(profile, centres)
