"""SSL (2024 thesis, our forms): self-supervised multi-view pre-training, then cross-modal alignment.

1. ``ssl-pretrain`` (shapes, labels never used): a multi-view network's backbone f, SimSiam's projector
   g and predictor h (:mod:`sbsr_lab.models.ssl_heads`). Two disjoint random subsets of
   ``train_views`` views of the same shape are the positive pair x1, x2; z = g(f(x)), p = h(z),
   L = :class:`~sbsr_lab.losses.SimSiamLoss` (p1, p2, z1, z2). Validation (which picks the best
   epoch) is a **kNN monitor** of the frozen view-pooled features f(x): leave-one-out 1-NN class
   accuracy among the shapes by cosine (:func:`knn_monitor_accuracy`; the labels reach only the
   monitor). The demo also reports the **linear-probe accuracy** of the chosen epoch's features
   (:func:`ssl_linear_probe`, :meth:`SSL.report_extras`).
   ``z_std`` (the spread of the unit projections per dimension; 0 = collapse, 1/sqrt(d) = spread
   out) is logged beside the loss.
2. ``ssl-align`` (both, ``--from ssl-pretrain``): a fresh sketch network and a shape network whose
   backbone starts from the pretrained one, trained with the enhanced cross-modal triplet loss
   (:class:`~sbsr_lab.losses.EnhancedTripletLoss`, margin ``ssl_margin`` (0.2), intra-modal weight
   ``ssl_intra_weight`` (1)) alone. Validation: NN of the held-out sketches against the gallery.

Settings (``--set``): ``ssl_margin``, ``ssl_intra_weight``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from sbsr_lab.config import Profile
from sbsr_lab.data.datasets import MultiViewDataset
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.losses import EnhancedTripletLoss, SimSiamLoss
from sbsr_lab.models import PredictionMLP, ProjectionMLP, build_network
from sbsr_lab.train.probe import linear_probe_accuracy
from sbsr_lab.train.runs import load_run, stage_runs
from sbsr_lab.train.stage import (
    Method, ReportExtras, Stage, StageLoss, nearest_shape_accuracy, register_method, register_stage, split_train_val,
)

__all__ = ["SSL", "SSLNet", "SSLPretrain", "SSLAlign", "knn_monitor_accuracy", "shape_features", "two_view_subsets",
           "ssl_linear_probe", "linear_probe_extras"]


@register_method
class SSL(Method):
    name, label, order = "ssl", "SSL (self-supervised)", 60
    settings = ("ssl_margin", "ssl_intra_weight")

    def report_extras(self, run: Path, evaluation: Any, data: Path) -> ReportExtras:
        """The linear probe of the ``ssl-pretrain`` run this method's stages start from."""
        return linear_probe_extras(run, data)


class SSLNet(nn.Module):
    """``shape`` (a multi-view network: backbone + view pooling; its head and classifier unused here),
    ``projector`` g (F -> d) and ``predictor`` h (d -> d)."""

    def __init__(self, shape: nn.Module, embed_dim: int) -> None:
        super().__init__()
        self.shape = shape
        self.projector = ProjectionMLP(shape.backbone.out_features, embed_dim)
        self.predictor = PredictionMLP(embed_dim)

    def features(self, views: Tensor) -> Tensor:
        """views (B, V, 1, H, W) -> view-pooled backbone features (B, F): what the probe reads."""
        return self.shape.forward_features(views)


def two_view_subsets(x: Tensor, k: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two disjoint random subsets of k views (the same for the whole batch): (B, V, ...) -> 2 x (B, k, ...);
    k is cut to V // 2 when the rig has fewer than 2k views."""
    k = max(1, min(k, x.shape[1] // 2))
    order = torch.randperm(x.shape[1], generator=gen)
    return x[:, order[:k]], x[:, order[k:2 * k]]


class SimSiamStageLoss(StageLoss):
    """SimSiam on a batch of view pairs ``((x1, y), (x2, y))``, x (B, k, 1, H, W) (y unused)."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.simsiam = SimSiamLoss()

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (x1, _), (x2, _) = batch
        z1, z2 = model.projector(model.features(x1)), model.projector(model.features(x2))
        p1, p2 = model.predictor(z1), model.predictor(z2)
        loss = self.simsiam(p1, p2, z1, z2)
        z_std = F.normalize(z1.detach(), dim=1).std(0).mean().item()
        return loss, {"simsiam": loss.item(), "z_std": z_std}


@torch.no_grad()
def shape_features(features: Any, shapes: Any, profile: Profile, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(features (N, F), labels (N,))`` of every item of ``shapes`` through ``features(views) -> (B, F)``."""
    zs, ys = [], []
    for x, y in DataLoader(shapes, batch_size=max(1, profile.eval_batch_size // 4)):
        zs.append(features(x.to(device)).float().cpu())
        ys.append(y)
    return torch.cat(zs), torch.cat(ys)


def knn_monitor_accuracy(z: Tensor, y: Tensor) -> float:
    """Leave-one-out 1-NN accuracy by cosine: the share of rows of z (N, F) whose most similar other
    row has their label y (N,). 1/K-ish for features that know nothing of the classes."""
    zn = F.normalize(z, dim=1)
    sim = zn @ zn.T
    sim.fill_diagonal_(-float("inf"))
    return float((y[sim.argmax(1)] == y).double().mean())


@register_stage
class SSLPretrain(Stage):
    name, method, modality = "ssl-pretrain", "ssl", "shape"
    summary = "SSL stage 1: SimSiam on two view subsets of each shape (no labels)"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return SSLNet(build_network("mvcnn", profile, num_classes), profile.embed_dim)

    def networks(self, model: nn.Module) -> dict[str, nn.Module]:
        return {"shape": model.shape}

    def centres_from(self, from_model: nn.Module) -> Tensor | None:  # pragma: no cover - no --from
        return None

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return SimSiamStageLoss(profile, centres)

    def batches(self, loaders: dict[str, DataLoader], profile: Profile, device: torch.device,
                gen: torch.Generator) -> Iterator[Any]:
        for x, y in loaders["shape"]:
            x1, x2 = two_view_subsets(x, profile.train_views or 1, gen)
            y = y.to(device)
            yield (x1.to(device), y), (x2.to(device), y)

    @torch.no_grad()
    def accuracy(self, model: nn.Module, val: dict[str, Any], profile: Profile, device: torch.device) -> float:
        """The kNN monitor of the frozen features (module docstring)."""
        model.eval()
        acc = knn_monitor_accuracy(*shape_features(model.features, val["shape"], profile, device))
        model.train()
        return acc


class TripletStageLoss(StageLoss):
    """The enhanced cross-modal triplet loss alone, batch-all (batch-hard collapses here: losses/ssl.py)."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.triplet = EnhancedTripletLoss(margin=profile.ssl_margin, intra_weight=profile.ssl_intra_weight, mining="all")

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, ys), (xv, yv) = batch
        loss = self.triplet(model.sketch.embed(xs), ys, model.shape.embed(xv), yv)
        return loss, {"triplet": loss.item()}


class AlignNet(nn.Module):
    """A sketch network and a shape network (their classifiers untrained: retrieval needs none)."""

    def __init__(self, sketch: nn.Module, shape: nn.Module) -> None:
        super().__init__()
        self.sketch, self.shape = sketch, shape


@register_stage
class SSLAlign(Stage):
    name, method, modality, needs = "ssl-align", "ssl", "both", "ssl-pretrain"
    summary = "SSL stage 2: enhanced cross-modal triplet from the pretrained shape backbone"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return AlignNet(build_network("sketch", profile, num_classes), build_network("mvcnn", profile, num_classes))

    def centres_from(self, from_model: nn.Module) -> Tensor | None:
        return None

    def init_from(self, model: nn.Module, from_model: nn.Module) -> None:
        model.shape.backbone.load_state_dict(from_model.shape.backbone.state_dict())

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return TripletStageLoss(profile, centres)

    @torch.no_grad()
    def accuracy(self, model: nn.Module, val: dict[str, Any], profile: Profile, device: torch.device) -> float:
        """NN of the held-out sketches against the gallery's validation views."""
        model.eval()
        acc = nearest_shape_accuracy(model.sketch.embed, model.shape.embed, val, profile, device)
        model.train()
        return acc


def ssl_linear_probe(run: str | Path, data: str | Path) -> float:
    """Linear-probe accuracy of an ``ssl-pretrain`` run's frozen view-pooled features on the gallery of
    ``data``: a logistic regression fitted on half of each class's shapes, scored on the other half."""
    model, meta = load_run(run)
    p = Profile.from_dict(meta["profile"])
    shapes = MultiViewDataset(load_manifest(data), p.image_size, p.num_views, p.view_style, split="test")
    z, y = shape_features(model.features, shapes, p, torch.device("cpu"))
    fit_idx, test_idx = split_train_val(y, 0.5, p.seed)
    return round(linear_probe_accuracy(z[fit_idx], y[fit_idx], z[test_idx], y[test_idx]), 4)


def linear_probe_extras(run: str | Path, data: str | Path) -> ReportExtras:
    """The demo's extras of a method trained from an ``ssl-pretrain`` run (ssl, ssltkd): that run's
    :func:`ssl_linear_probe` as ``results["linear_probe"]["ssl-pretrain"]`` and a printed line; none
    when ``run`` does not start from one. Measured once per run and dataset (both methods ask)."""
    pretrain = stage_runs(run).get("ssl-pretrain")
    if pretrain is None:
        return ReportExtras()
    probe = _cached_probe(str(pretrain.resolve()), str(Path(data).resolve()), (pretrain / "best.json").stat().st_mtime_ns)
    return ReportExtras(results={"linear_probe": {"ssl-pretrain": probe}},
                        lines=[f"SSL linear probe (frozen self-supervised shape features): {probe:.3f}"])


@functools.lru_cache(maxsize=8)
def _cached_probe(run: str, data: str, written_ns: int) -> float:
    """:func:`ssl_linear_probe`, remembered per run, dataset and checkpoint time (``written_ns``)."""
    return ssl_linear_probe(run, data)
