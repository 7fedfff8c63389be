"""SSLTKD (2024 thesis, our forms): a long-tail-aware 3D teacher on self-supervised features,
distilled into the sketch student.

0. ``ssl-pretrain`` (shared with the ``ssl`` method: the same SimSiam run).
1. ``ssltkd-teacher`` (shapes, ``--from ssl-pretrain``): a multi-view network whose backbone starts
   from the pretrained one, trained with the logit-adjusted AM-softmax
   (:class:`~sbsr_lab.losses.LogitAdjustedAMSoftmaxLoss`, tau = ``ssltkd_la_tau`` (1), the prior from the training
   shapes per class): on a long-tailed gallery the rare classes get larger margins. On balanced
   classes the adjustment is a constant and the loss is plain AM-softmax.
2. ``ssltkd-student`` (sketches, ``--from ssltkd-teacher``): a sketch network classified by the
   teacher's fixed centres C, trained with AM-softmax + ``ssltkd_feature_weight`` (1) x feature
   distillation ||z - C[y]||^2 + ``ssltkd_relation_weight`` (1) x relational distillation
   KL(softmax(C[y] . C / T) || softmax(z . C / T)), T = ``ssltkd_relation_t`` (0.1)
   (:class:`~sbsr_lab.losses.FeatureDistillationLoss`, :class:`~sbsr_lab.losses.RelationalDistillationLoss`).

Settings (``--set``): the four ``ssltkd_*`` fields above. Retrieval: student sketches against the
teacher's shape embeddings. The demo also reports the linear probe of the ``ssl-pretrain`` run
(:func:`~sbsr_lab.train.methods.ssl.linear_probe_extras`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.losses import FeatureDistillationLoss, LogitAdjustedAMSoftmaxLoss, RelationalDistillationLoss
from sbsr_lab.models import build_network
from sbsr_lab.train.methods.ssl import linear_probe_extras
from sbsr_lab.train.stage import Method, ReportExtras, Stage, StageLoss, register_method, register_stage

__all__ = ["SSLTKD", "SSLTKDTeacher", "SSLTKDStudent"]


@register_method
class SSLTKD(Method):
    name, label, order = "ssltkd", "SSLTKD (long-tail distillation)", 70
    settings = ("ssltkd_la_tau", "ssltkd_feature_weight", "ssltkd_relation_weight", "ssltkd_relation_t")

    def report_extras(self, run: Path, evaluation: Any, data: Path) -> ReportExtras:
        """The linear probe of the ``ssl-pretrain`` run its teacher starts from (shared with ssl)."""
        return linear_probe_extras(run, data)


class LogitAdjustedLoss(StageLoss):
    """Logit-adjusted AM-softmax; the class prior arrives with the data (:meth:`set_counts`)."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.profile = profile
        self.adjusted: LogitAdjustedAMSoftmaxLoss | None = None

    def set_counts(self, counts: list[int]) -> None:
        """Training samples per class (K,), all > 0."""
        self.adjusted = LogitAdjustedAMSoftmaxLoss(counts, tau=self.profile.ssltkd_la_tau, scale=self.profile.am_scale,
                                                   margin=self.profile.am_margin).to(self.centres.device)

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        if self.adjusted is None:
            raise RuntimeError("LogitAdjustedLoss: set_counts(class counts) first (fit does it via attach_data)")
        x, y = batch
        loss = self.adjusted(model(x)["logits"], y)
        return loss, {"am_logit_adjusted": loss.item()}


class DistilledLoss(StageLoss):
    """AM-softmax on the fixed centres C + feature and relational distillation onto C (weights and T from the profile)."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.feature = FeatureDistillationLoss()
        self.relation = RelationalDistillationLoss(profile.ssltkd_relation_t)
        self.feature_weight, self.relation_weight = profile.ssltkd_feature_weight, profile.ssltkd_relation_weight

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x, y = batch
        out = model(x)
        am = self.am(out["logits"], y)
        target = self.centres[y]
        fd = self.feature(out["z"], target)
        rd = self.relation(out["z"], target, self.centres)
        loss = am + self.feature_weight * fd + self.relation_weight * rd
        return loss, {"am": am.item(), "feature_kd": fd.item(), "relation_kd": rd.item()}


@register_stage
class SSLTKDTeacher(Stage):
    name, method, modality, needs = "ssltkd-teacher", "ssltkd", "shape", "ssl-pretrain"
    summary = "SSLTKD stage 1: long-tail (logit-adjusted) teacher on the self-supervised backbone"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return build_network("mvcnn", profile, num_classes)

    def centres_from(self, from_model: nn.Module) -> Tensor | None:
        return None

    def init_from(self, model: nn.Module, from_model: nn.Module) -> None:
        model.backbone.load_state_dict(from_model.shape.backbone.state_dict())

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return LogitAdjustedLoss(profile, centres)

    def attach_data(self, criterion: StageLoss, manifest: Any) -> None:
        counts = [sum(1 for s in manifest.shapes_of("train") if s.cls == c) for c in manifest.classes]
        criterion.set_counts([max(1, n) for n in counts])


@register_stage
class SSLTKDStudent(Stage):
    name, method, modality, needs = "ssltkd-student", "ssltkd", "sketch", "ssltkd-teacher"
    summary = "SSLTKD stage 2: sketch student distilled onto the teacher's centres"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return build_network("sketch", profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return DistilledLoss(profile, centres)
