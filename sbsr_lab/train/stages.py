"""The training stages of the three methods: which network, which data, which loss.

=====================  =======  ===========  =========================================================
stage                  method   trains on    loss
=====================  =======  ===========  =========================================================
``teacher``            CFTTSL   shapes       AM-softmax; its class centres become the fixed shape space
``student``            CFTTSL   sketches     AM-softmax on the teacher's fixed centres + alpha * guidance
``sketch-uncertainty`` UACTN    sketches     AM-softmax on z = mu + sigma*eps + uncertainty regression
``shape-transfer``     UACTN    shapes       AM-softmax on the fixed sketch centres + transfer (guidance form)
``joint``              joint    both         one shared cosine classifier, AM-softmax on both modalities
=====================  =======  ===========  =========================================================

``--from RUN`` names the run whose centres a second stage is pulled onto (student <- teacher,
shape-transfer <- sketch-uncertainty).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.losses import AMSoftmaxLoss, FocalAMSoftmaxLoss, GuidanceLoss, UncertaintyLoss
from sbsr_lab.models import MultiViewNet, SketchNet, create_model, model_name_for

__all__ = ["Stage", "STAGES", "JointNet", "build_model", "StageLoss", "get_stage"]


@dataclass(frozen=True)
class Stage:
    """One training stage (see the module docstring's table)."""

    name: str
    method: str          # "cfttsl" | "uactn" | "joint"
    modality: str        # "sketch" | "shape" | "both"
    model_kind: str      # registry kind: "sketch", "sketch_unc", "mvcnn", or "joint"
    needs: str | None    # the stage whose run --from must name
    summary: str


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("teacher", "cfttsl", "shape", "mvcnn", None, "CFTTSL stage 1: multi-view teacher with AM-softmax"),
    Stage("student", "cfttsl", "sketch", "sketch", "teacher", "CFTTSL stage 2: sketch student guided onto the teacher's centres"),
    Stage("sketch-uncertainty", "uactn", "sketch", "sketch_unc", None, "UACTN stage 1: sketch network with uncertainty"),
    Stage("shape-transfer", "uactn", "shape", "mvcnn", "sketch-uncertainty", "UACTN stage 2: shapes transferred onto the sketch centres"),
    Stage("joint", "joint", "both", "joint", None, "Joint baseline: one shared classifier for sketches and views"),
)}


def get_stage(name: str) -> Stage:
    """The stage called ``name``; unknown names list the choices."""
    if name not in STAGES:
        raise KeyError(f"Unknown stage {name!r}; choose one of {', '.join(STAGES)}")
    return STAGES[name]


class JointNet(nn.Module):
    """Joint baseline: a sketch network and a multi-view network sharing ONE cosine classifier.

    ``sketch``: (B, 1, H, W) -> z; ``shape``: (B, V, 1, H, W) -> z; both classified by ``classifier``.
    """

    def __init__(self, sketch: SketchNet, shape: MultiViewNet) -> None:
        super().__init__()
        self.sketch, self.shape = sketch, shape
        self.classifier = shape.classifier
        sketch.classifier = shape.classifier  # tied: one set of class centres for both modalities

    @property
    def centres(self) -> Tensor:
        return self.classifier.centres


def build_model(stage: Stage, profile: Profile, num_classes: int) -> nn.Module:
    """The network of ``stage`` for ``profile`` (backbone, embed_dim, pretrained)."""
    kw = dict(embed_dim=profile.embed_dim, pretrained=profile.pretrained or None)
    if stage.model_kind == "joint":
        return JointNet(create_model(model_name_for("sketch", profile.backbone), num_classes, **kw),
                        create_model(model_name_for("mvcnn", profile.backbone), num_classes, **kw))
    return create_model(model_name_for(stage.model_kind, profile.backbone), num_classes, **kw)


class StageLoss(nn.Module):
    """The loss of one stage. ``forward(model, batch) -> (loss, stats)``.

    ``batch`` is ``(x, y)`` for one modality, or ``((x_sketch, y_sketch), (x_views, y_views))`` for joint.
    ``centres`` (K, d) are the fixed centres of the ``--from`` run (student, shape-transfer).
    """

    def __init__(self, stage: Stage, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__()
        self.stage = stage
        am = FocalAMSoftmaxLoss if profile.focal_gamma > 0 else AMSoftmaxLoss
        am_kw = dict(scale=profile.am_scale, margin=profile.am_margin)
        if profile.focal_gamma > 0:
            am_kw["gamma"] = profile.focal_gamma
        self.am = am(**am_kw)
        self.guidance = GuidanceLoss(beta=profile.beta)
        # averaged over the d dimensions, as the authors' code does (uncertainty_loss.py; the paper writes a sum), so
        # that it does not drown AM-softmax at d = 128; unc_weight = 5 gives back part of that weight. On the default profile (one run each, CPU)
        # 5 beat 1 and 10: test accuracy of stage 1 0.864 / 0.858 / 0.811, Spearman(sigma, noise) 0.26 / 0.24 / 0.20
        # (measured before the head's two BatchNorms: models/heads.py UncertaintyHead).
        self.uncertainty = UncertaintyLoss(kl_weight=profile.unc_kl_weight, dims="mean")
        self.alpha, self.unc_weight, self.transfer_weight = profile.alpha, profile.unc_weight, profile.transfer_weight
        self.register_buffer("centres", centres if centres is not None else torch.empty(0), persistent=False)
        if stage.needs and centres is None:
            raise ValueError(f"Stage {stage.name} needs the centres of a {stage.needs} run (--from RUN).")

    def forward(self, model: nn.Module, batch) -> tuple[Tensor, dict[str, float]]:
        name = self.stage.name
        if name == "joint":
            (xs, ys), (xv, yv) = batch
            ls = self.am(model.classifier(model.sketch.embed(xs)), ys)
            lv = self.am(model.classifier(model.shape.embed(xv)), yv)
            return ls + lv, {"am_sketch": ls.item(), "am_shape": lv.item()}
        x, y = batch
        out = model(x)
        am = self.am(out["logits"], y)
        if name == "teacher":
            return am, {"am": am.item()}
        if name == "student":
            g = self.guidance(out["z"], self.centres, y)
            return am + self.alpha * g, {"am": am.item(), "guidance": g.item()}
        if name == "sketch-uncertainty":
            u = self.uncertainty(out["mu"], out["log_var"], model.centres, y)
            sigma = out["log_var"].detach().mul(0.5).exp().mean().item()
            return am + self.unc_weight * u, {"am": am.item(), "uncertainty": u.item(), "sigma": sigma}
        if name == "shape-transfer":
            t = self.guidance(out["z"], self.centres, y)
            return am + self.transfer_weight * t, {"am": am.item(), "transfer": t.item()}
        raise KeyError(name)  # pragma: no cover - STAGES is closed
