"""UACTN (ICME 2023) as two stages: a sketch network with uncertainty, then shapes transferred onto its centres.

1. ``sketch-uncertainty`` (sketches): the sketch network predicts mu and log sigma^2; AM-softmax on
   z = mu + sigma * eps + ``unc_weight`` x the uncertainty regression onto its own class centres
   (:class:`~sbsr_lab.losses.UncertaintyLoss`, averaged over the d dimensions).
2. ``shape-transfer`` (shapes, ``--from sketch-uncertainty``): AM-softmax on the fixed sketch centres +
   ``transfer_weight`` x the transfer loss (the guidance form of CFTTSL, push weight ``beta``).

Settings (``--set``): ``unc_weight`` (5), ``unc_kl_weight`` (0: an optional KL term),
``transfer_weight`` (1), ``transfer_am`` (true; false: the transfer loss alone, the authors' code).

Retrieval: mu of the sketch network against the shape-transfer embeddings. The demo also reports the
Spearman correlation of the predicted sigma with the noise injected into each test sketch
(:meth:`UACTN.report_extras`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.losses import UncertaintyLoss
from sbsr_lab.models import build_network
from sbsr_lab.train.stage import GuidedLoss, Method, ReportExtras, Stage, StageLoss, register_method, register_stage

__all__ = ["UACTN", "SketchUncertaintyLoss", "SketchUncertainty", "ShapeTransfer"]


@register_method
class UACTN(Method):
    name, label, order, in_demo = "uactn", "UACTN (uncertainty)", 20, True
    settings = ("unc_weight", "unc_kl_weight", "transfer_weight", "transfer_am")

    def report_extras(self, run: Path, evaluation: Any, data: Path) -> ReportExtras:
        """Spearman(sigma, injected noise) over all test sketches and within each class (None when unknown)."""
        rho, within = evaluation.spearman_sigma_noise, evaluation.spearman_sigma_noise_within_class
        within_txt = "n/a (too few test sketches per class)" if within is None else f"{within:.3f}"
        extras = ReportExtras(results={"uncertainty_noise_spearman": rho,
                                       "uncertainty_noise_spearman_within_class": within})
        if rho is not None:
            extras.report = {"Spearman(UACTN sigma, injected noise)": f"{rho:.3f}",
                             "the same within each class (mean over classes)": within_txt}
            extras.lines = [f"Spearman(UACTN sigma, injected noise) = {rho:.3f} (within class {within_txt})"]
        return extras


class SketchUncertaintyLoss(StageLoss):
    """AM-softmax on z = mu + sigma * eps + ``unc_weight`` * the uncertainty regression onto the model's centres.

    The regression is averaged over the d dimensions (``dims="mean"``), as the authors' code does
    (``uncertainty_loss.py``; the paper writes a sum), so that it does not drown AM-softmax at d = 128;
    ``unc_weight`` gives back part of that weight (docs/experiments.md).
    """

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.uncertainty = UncertaintyLoss(kl_weight=profile.unc_kl_weight, dims="mean")
        self.unc_weight = profile.unc_weight

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x, y = batch
        out, y, outlier = self.split_outliers(model(x), y)
        am = self.am(out["logits"], y)
        u = self.uncertainty(out["mu"], out["log_var"], model.centres, y)
        sigma = out["log_var"].detach().mul(0.5).exp().mean().item()
        stats = {"am": am.item(), "uncertainty": u.item(), "sigma": sigma}
        loss = am + self.unc_weight * u
        if outlier is not None:
            loss, stats["outlier"] = loss + outlier, outlier.item()
        return loss, stats


@register_stage
class SketchUncertainty(Stage):
    name, method, modality = "sketch-uncertainty", "uactn", "sketch"
    outliers = True
    summary = "UACTN stage 1: sketch network with uncertainty"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return build_network("sketch_unc", profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return SketchUncertaintyLoss(profile, centres)


@register_stage
class ShapeTransfer(Stage):
    name, method, modality, needs = "shape-transfer", "uactn", "shape", "sketch-uncertainty"
    summary = "UACTN stage 2: shapes transferred onto the sketch centres"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return build_network("mvcnn", profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return GuidedLoss(profile, centres, profile.transfer_weight, "transfer", with_am=profile.transfer_am)
