"""Evaluate trained methods: embed test sketches and the gallery with a run's networks, then score.

A method is evaluated from the run folder of its *last* stage, loaded by
:func:`sbsr_lab.train.runs.load_method` (CFTTSL: ``student``; UACTN: ``shape-transfer``, whose sketch
network's mu is used for retrieval and its sigma compared with the injected sketch noise; joint: ``joint``).
A method whose score depends on the query (CMIC's view attention) gives its own similarity
(:attr:`~sbsr_lab.train.runs.MethodNets.similarity`).

Besides the SHREC metrics: the **instance level** (``inst_top1``, ``inst_top10``: the sketch's own
source shape among the first k, :mod:`~sbsr_lab.retrieval.instance`) where the manifest records
sources, and **mAP per many / medium / few group** (:mod:`~sbsr_lab.retrieval.longtail`) where the
classes' shape counts differ (:func:`shape_counts`, :func:`group_thresholds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from sbsr_lab.config import Profile
from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.data.manifest import Manifest, load_manifest
from sbsr_lab.errors import CheckpointError
from sbsr_lab.models.protocol import PerViewNetwork, PooledViewNetwork, predicts_sigma, satisfies
from sbsr_lab.progress import progress
from sbsr_lab.retrieval.best_view import embed_views, head_per_view
from sbsr_lab.retrieval.collapse import collapse_flag
from sbsr_lab.retrieval.evaluate import evaluate_similarity
from sbsr_lab.retrieval.instance import instance_accuracy
from sbsr_lab.retrieval.longtail import map_per_group
from sbsr_lab.retrieval.metrics import per_query_metrics
from sbsr_lab.train.fit import resolve_device
from sbsr_lab.train.runs import load_method
from sbsr_lab.train.stage import split_train_val

__all__ = ["embed_sketches", "embed_shapes", "embed_shapes_and_views", "MethodEvaluation", "evaluate_method", "group_thresholds",
           "train_sketch_counts", "shape_counts", "metrics_per_style", "check_same_shape_split",
           "validation_sketches"]


@torch.no_grad()
def embed_sketches(net: nn.Module, dataset: SketchDataset, device: torch.device | str = "cpu",
                   batch_size: int = 128) -> tuple[Tensor, Tensor | None]:
    """``(z (N, d), sigma (N,) or None)``: unit embeddings (mu for UACTN) and mean predicted sigma."""
    zs, sigmas = [], []
    for x, _ in DataLoader(dataset, batch_size=batch_size):
        x = x.to(device)
        if predicts_sigma(net):
            mu, log_var = net.embed_uncertain(x)
            zs.append(mu.float().cpu())
            sigmas.append(log_var.float().mul(0.5).exp().mean(1).cpu())
        else:
            zs.append(net.embed(x).float().cpu())
    return torch.cat(zs), (torch.cat(sigmas) if sigmas else None)


@torch.no_grad()
def embed_shapes(net: nn.Module, dataset: MultiViewDataset, device: torch.device | str = "cpu",
                 batch_size: int = 32, workers: int = 0, show: bool = True) -> Tensor:
    """Unit embeddings (N, d) of every gallery shape, all views pooled: batches of ``(B, V, 1, H, W)``
    through a DataLoader (``workers`` loading processes), with progress (a bar on a terminal, one line
    in a log) when ``show``."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    batches = progress(loader, total=len(loader), desc=f"embedding {len(dataset)} gallery shapes", enabled=show)
    return torch.cat([net.embed(x.to(device)).float().cpu() for x, _ in batches])


@torch.no_grad()
def embed_shapes_and_views(net: nn.Module, dataset: MultiViewDataset, device: torch.device | str = "cpu",
                           batch_size: int = 32, show: bool = True) -> tuple[Tensor, Tensor | None]:
    """``(z (N, d), views (N, V, d) or None)``: the pooled unit embedding of every gallery shape and
    every view embedded on its own (:mod:`sbsr_lab.retrieval.best_view`; None for a network that is no
    :class:`~sbsr_lab.models.protocol.PerViewNetwork`).

    A :class:`~sbsr_lab.models.protocol.PooledViewNetwork` (pools backbone features, e.g. a
    :class:`~sbsr_lab.models.mvcnn.MultiViewNet`) gets both from ONE backbone pass over
    ``(B, V, 1, H, W)`` batches: the numbers of :func:`embed_shapes` then
    :func:`~sbsr_lab.retrieval.best_view.embed_views`, at half the cost (the backbone is nearly all of
    it). Any other network is embedded by those two in turn.
    """
    if not satisfies(net, PooledViewNetwork):  # pools otherwise: two passes
        z = embed_shapes(net, dataset, device, batch_size, show=show)
        return z, (embed_views(net, dataset, device, batch_size) if satisfies(net, PerViewNetwork) else None)
    loader = DataLoader(dataset, batch_size=batch_size)
    zs, views = [], []
    for x, _ in progress(loader, total=len(loader), desc=f"embedding {len(dataset)} gallery shapes", enabled=show):
        feats = net.view_features(x.to(device))                          # (B, V, F)
        pooled = feats.mean(1) if net.pooling == "mean" else feats.amax(1)
        zs.append(net.head(pooled).float().cpu())                        # (B, d), unit rows
        views.append(head_per_view(net, feats).cpu())                    # (B, V, d)
    return torch.cat(zs), torch.cat(views)


@dataclass
class MethodEvaluation:
    """Scores of one method on one sketch split against the gallery: every shape, or the test shapes of the
    manifest's shape split (``shape_split``, e.g. ``"part-shrec14"``; None: SHREC's whole gallery)."""

    method: str
    metrics: dict[str, float]
    per_class: list[dict[str, Any]]
    pr_recall: list[float]
    pr_precision: list[float]
    query_ids: list[str]
    query_labels: Tensor
    gallery_ids: list[str]
    gallery_labels: Tensor
    similarity: Tensor                       # (Q, G)
    query_noise: Tensor                      # (Q,), NaN when unknown
    sigma: Tensor | None = None              # (Q,) UACTN's predicted uncertainty
    spearman_sigma_noise: float | None = None
    spearman_sigma_noise_within_class: float | None = None  # mean of the per-class Spearman correlations
    class_names: list[str] = field(default_factory=list)
    query_source: Tensor | None = None       # (Q,) gallery index of each query's source shape, -1 unknown
    map_per_group: dict[str, Any] | None = None  # long tail: mAP of the many / medium / few classes
    per_style: dict[str, dict[str, float]] | None = None  # drawing style -> {"queries", "NN", "mAP"}
    query_embeddings: Tensor | None = None   # (Q, d) the sketches' unit embeddings
    view_embeddings: Tensor | None = None    # (G, V, d) float16, each gallery view embedded alone (best_view.py)
    flag: dict[str, Any] | None = None       # at chance or collapsed (collapse.py): never ranked
    pr_official: dict[str, list[float]] | None = None  # the SHREC toolkit's curve (curves.shrec_official_pr)
    shape_split: str | None = None           # the protocol that chose the gallery (None: every shape)


def sigma_noise_spearman(sigma: Tensor, noise: Tensor, labels: Tensor) -> tuple[float, float]:
    """Spearman correlation of predicted uncertainty and injected noise: ``(over all queries, within class)``.

    sigma, noise, labels: (Q,). The first ranks all queries together (the headline figure); the
    second is the mean over classes of the correlation among that class's queries (classes with
    fewer than 3 queries or constant values are skipped; NaN if none is left). The two differ when
    sigma also varies from class to class, as it does when some classes are harder than others
    whatever the noise.
    """
    from scipy.stats import spearmanr

    s, n, y = sigma.double().numpy(), noise.double().numpy(), labels.numpy()
    overall = float(spearmanr(s, n).statistic)
    per_class = []
    for k in np.unique(y):
        m = y == k
        if m.sum() >= 3 and np.ptp(s[m]) > 0 and np.ptp(n[m]) > 0:
            per_class.append(float(spearmanr(s[m], n[m]).statistic))
    return overall, (float(np.mean(per_class)) if per_class else float("nan"))


def train_sketch_counts(manifest: Manifest) -> dict[str, int]:
    """Training sketches per class (every class listed, 0 where it has none)."""
    counts = {c: 0 for c in manifest.classes}
    for r in manifest.sketches_of("train"):
        counts[r.cls] += 1
    return counts


def shape_counts(manifest: Manifest) -> dict[str, int]:
    """Shapes per class, the counts that make a collection long-tailed (the blueprint's many / medium / few
    groups): the *training* shapes where the manifest splits its shapes (PART-SHREC14:
    :meth:`~sbsr_lab.data.manifest.Manifest.shapes_of` ``("train")``), else every shape. Every class
    listed, 0 where it has none."""
    counts = {c: 0 for c in manifest.classes}
    for s in manifest.shapes_of("train"):
        counts[s.cls] = counts.get(s.cls, 0) + 1
    return counts


def group_thresholds(manifest: Manifest, counts: dict[str, int]) -> tuple[int, int] | None:
    """``(many, few)`` shape-count thresholds of the long-tail groups, or None for balanced classes.

    Real benchmarks take the long-tail recognition thresholds (many >= 100, few < 20 shapes; SHREC'14's
    classes hold 1 to several hundred models). SynthShapes is much smaller, so its thresholds scale with
    the largest class (ours): many >= 40% of its shapes, few < 15% (``longtail=60:4`` on the default
    profile: 2 many, 3 medium, 7 few classes).
    """
    values = [v for v in counts.values() if v > 0]
    if not values or min(values) == max(values):
        return None
    if manifest.name != "synthshapes":
        return 100, 20
    top = max(values)
    return max(1, int(np.ceil(0.4 * top))), max(1, int(np.ceil(0.15 * top)))


def metrics_per_style(sim: Tensor, query_labels: Tensor, gallery_labels: Tensor,
                      styles: list[str | None]) -> dict[str, dict[str, float]] | None:
    """Top-1 (``NN``) and ``mAP`` of the queries of each drawing style (the manifest's sketch ``style``).

    ``{style: {"queries": n, "NN": ..., "mAP": ...}}`` sorted by style; None when no query records a style.
    """
    if not any(styles):
        return None
    per_query = per_query_metrics(sim, query_labels, gallery_labels)
    out: dict[str, dict[str, float]] = {}
    for style in sorted({s or "unknown" for s in styles}):
        m = torch.tensor([(s or "unknown") == style for s in styles])
        out[style] = {"queries": int(m.sum()), "NN": float(per_query["NN"][m].float().mean()),
                      "mAP": float(per_query["AP"][m].float().mean())}
    return out


def validation_sketches(manifest: Manifest, profile: Profile, part: str = "val") -> SketchDataset:
    """The training sketches a run held out for validation: :func:`~sbsr_lab.train.stage.split_train_val`
    with the profile's ``val_fraction`` and ``seed``, as training split them (un-augmented);
    ``part="train"``: the ones it trained on."""
    train = manifest.sketches_of("train")
    labels = torch.tensor([manifest.class_index(r.cls) for r in train], dtype=torch.long)
    fit, val = split_train_val(labels, profile.val_fraction, profile.seed)
    if not val:
        raise CheckpointError(f"The profile {profile.name!r} holds out no validation sketches (val_fraction="
                              f"{profile.val_fraction}): evaluate on --split test or train; calibration needs some.")
    return SketchDataset(manifest, "train", profile.image_size, records=[train[i] for i in (val if part == "val" else fit)])


def evaluate_method(run: str | Path, data: str | Path | None = None, split: str = "test",
                    device: str = "auto", ties: str = "shuffle") -> MethodEvaluation:
    """Embed the ``split`` sketches and the gallery of ``data`` (default: the run's dataset) and score them.
    The gallery is every shape, or the test shapes where the manifest splits its shapes (PART-SHREC14); the
    long-tail groups then count the training shapes (:func:`shape_counts`).
    ``split="val"``: the training sketches the run held out for validation (:func:`validation_sketches`)
    against the training shapes (every shape without a shape split): where settings are chosen, never
    reading the test split.
    ``ties``: how tied scores are ordered (:mod:`sbsr_lab.retrieval.ranking`: a seeded shuffle, or
    ``"index"``, the official SHREC rule)."""
    dev = resolve_device(device)
    nets = load_method(run, device=dev)
    manifest: Manifest = load_manifest(data or nets.data)
    if manifest.classes != nets.class_names:
        raise CheckpointError(f"{run} was trained on other classes than {manifest.root}.")
    check_same_shape_split(run, nets.shape_split, manifest)
    profile = Profile.from_dict(nets.profile)
    sketches = (validation_sketches(manifest, profile) if split == "val"
                else SketchDataset(manifest, split, profile.image_size))
    gallery = MultiViewDataset(manifest, profile.image_size, profile.num_views, profile.view_style,
                               split="train" if split == "val" else "test")
    zq, sigma = embed_sketches(nets.sketch, sketches, dev, profile.eval_batch_size)
    if nets.similarity is not None:  # query-dependent scores (CMIC)
        sim = nets.similarity(zq.to(dev), gallery, dev, max(1, profile.eval_batch_size // 4)).float().cpu()
        views = None
    else:  # views: the report's "drawn from this side" view under each result
        zg, views = embed_shapes_and_views(nets.shape, gallery, dev, max(1, profile.eval_batch_size // 4))
        sim = zq @ zg.T
        views = None if views is None else views.half()
    report = evaluate_similarity(sim, sketches.labels, gallery.labels, class_names=manifest.classes,
                                 ties=ties)  # type: ignore[arg-type]
    metrics = {k: float(v) for k, v in report["metrics"].items()}
    # instance level: the queries whose source shape is in the gallery
    index = {sid: i for i, sid in enumerate(gallery.ids)}
    source = torch.tensor([index.get(getattr(r, "source", None), -1) for r in sketches.records], dtype=torch.long)
    known = source >= 0
    if bool(known.any()):
        metrics.update(instance_accuracy(sim[known], source[known], ks=(1, 10)))
    # long tail: mAP per many / medium / few group of classes (by shapes per class)
    groups = None
    counts = shape_counts(manifest)
    thresholds = group_thresholds(manifest, counts)
    if thresholds is not None:
        ap = per_query_metrics(sim, sketches.labels, gallery.labels, ties=ties)["AP"]  # type: ignore[arg-type]
        names = [manifest.classes[int(k)] for k in sketches.labels]
        groups = map_per_group(ap, names, counts, many=thresholds[0], few=thresholds[1])
        groups["thresholds"] = {"many": thresholds[0], "few": thresholds[1]}
    rho = rho_within = None
    if sigma is not None and torch.isfinite(sketches.noise).all():
        rho, rho_within = sigma_noise_spearman(sigma, sketches.noise, sketches.labels)
        rho_within = None if np.isnan(rho_within) else rho_within  # too few queries per class
    return MethodEvaluation(
        method=nets.method, metrics=metrics,
        per_class=report["per_class"], pr_recall=list(report["pr"]["recall_levels"]),
        pr_precision=list(report["pr"]["precision"]),
        query_ids=sketches.ids, query_labels=sketches.labels, gallery_ids=gallery.ids,
        gallery_labels=gallery.labels, similarity=sim, query_noise=sketches.noise, sigma=sigma,
        spearman_sigma_noise=rho, spearman_sigma_noise_within_class=rho_within, class_names=list(manifest.classes),
        query_source=source, map_per_group=groups,
        per_style=metrics_per_style(sim, sketches.labels, gallery.labels, [r.style for r in sketches.records]),
        query_embeddings=zq, view_embeddings=views,
        flag=collapse_flag(sim, sketches.labels, gallery.labels, metrics["NN"]),
        pr_official=report["pr_shrec_official"], shape_split=manifest.shape_split_name,
    )


def check_same_shape_split(run: str | Path, trained: dict[str, Any] | None, manifest: Manifest) -> None:
    """Refuse to score a run on a dataset whose shapes are split otherwise than the data it was trained on
    (``trained``: the run's recorded ``shape_split``, None for none): its test gallery could hold shapes
    the run trained on."""
    if trained != manifest.shape_split:
        raise CheckpointError(
            f"{run} was trained with the shape split {trained!r} but {manifest.root} has {manifest.shape_split!r}: "
            "its gallery could hold the run's training shapes. Fix: evaluate on the dataset folder the run was "
            "trained on (--data), or train the run again on this one.")

