"""CMIC (ICCV 2021; authors' code IGLICT/IBSR_jittor) as one stage: ``cmic``, trained on pairs.

A batch holds B training sketches (the queries) and M = B distinct gallery shapes: each sketch's
own source shape first where the manifest records it (``sketch_source="gallery"``: the instance term's
positive); a sketch whose source is unknown (``held_out`` sketches, most benchmarks) brings a shape of its
class drawn at random instead, distinct within the batch where the class allows, which serves only the
category term: such a sketch has no instance term (own = -1; before issue 29 the random class member was
taken for its instance, and the instance term pushed shapes of one class apart). Padded with other
shapes drawn at random. Each shape gives per-view embeddings r (M, V, d) (the shape
network's head on every view's features); :class:`~sbsr_lab.models.ViewAttention` scores every
query against every shape, s (B, M); the loss is :class:`~sbsr_lab.losses.CMICLoss` (tau =
``cmic_temperature``, 0.1; instance + ``cmic_category_weight`` (0.2) x category). Sketches get the strong appearance augmentation
(:class:`~sbsr_lab.data.sketch_appearance.SketchAppearance`) on top of the usual affine one.
Optimiser: Adam with betas (0.5, 0.999) as in the paper, at the profile's rate (the paper's 5e-5
fine-tunes pretrained backbones; ours start from scratch; docs/reproducing.md).

Settings (``--set``): ``cmic_temperature``, ``cmic_category_weight``.

Retrieval: the (Q, N) attention scores against every gallery shape's views (:meth:`CMICStage.similarity`).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset

from sbsr_lab.config import Profile
from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.data.sketch_appearance import SketchAppearance
from sbsr_lab.losses import CMICLoss
from sbsr_lab.models import EmbedWith, ViewAttention, build_network
from sbsr_lab.similarity import l2_normalize
from sbsr_lab.train.stage import (
    Method, Stage, StageLoss, Tagged, nearest_shape_accuracy, param_groups, register_method, register_stage,
    split_train_val,
)

__all__ = ["CMIC", "CMICNet", "CMICStage", "pair_shapes"]

#: Adam's betas, as in the paper.
BETAS = (0.5, 0.999)


@register_method
class CMIC(Method):
    name, label, order = "cmic", "CMIC (contrastive)", 50
    settings = ("cmic_temperature", "cmic_category_weight")


class CMICNet(nn.Module):
    """``sketch`` -> q (B, d); ``shape`` -> per-view r (M, V, d) (:meth:`view_embeddings`); ``attention``."""

    def __init__(self, sketch: nn.Module, shape: nn.Module, embed_dim: int) -> None:
        super().__init__()
        self.sketch, self.shape = sketch, shape
        self.attention = ViewAttention(embed_dim)

    def view_embeddings(self, views: Tensor) -> Tensor:
        """views (M, V, C, H, W) -> unit per-view embeddings (M, V, d)."""
        feats = self.shape.view_features(views)                   # (M, V, F)
        return self.shape.head(feats.flatten(0, 1)).view(*feats.shape[:2], -1)

    def pooled(self, views: Tensor) -> Tensor:
        """One embedding per shape for tools that need one (the query engine): the normalised mean of
        its view embeddings (M, d). Evaluation uses the attention scores instead."""
        return l2_normalize(self.view_embeddings(views).mean(1))


def pair_shapes(labels: Tensor, sources: Tensor, shape_labels: Tensor, gen: torch.Generator) -> tuple[list[int], Tensor]:
    """The M = B shapes of a pair batch and each query's own index among them.

    labels, sources: (B,) the sketches' classes and source gallery indices (-1: unknown);
    shape_labels: (N,). Returns ``(shape indices (M,) distinct, own (B,))``: the sources (or, where
    unknown, a not yet chosen shape of the class, for the category term) first, then random other
    shapes up to B (fewer when the gallery has fewer than B shapes); ``own`` is each query's source's
    index in [0, M), or -1 where the source is unknown (no instance term).
    """
    chosen: list[int] = []
    own: list[int] = []
    for y, s in zip(labels.tolist(), sources.tolist()):
        known = s >= 0
        if not known:
            members = torch.nonzero(shape_labels == y).flatten().tolist()
            free = [i for i in members if i not in chosen] or members
            s = free[int(torch.randint(len(free), (1,), generator=gen))]
        if s not in chosen:
            chosen.append(s)
        own.append(chosen.index(s) if known else -1)
    rest = [i for i in torch.randperm(len(shape_labels), generator=gen).tolist() if i not in chosen]
    chosen += rest[: max(0, len(labels) - len(chosen))]
    return chosen, torch.tensor(own, dtype=torch.long)


class PairLoss(StageLoss):
    """CMIC's loss on a pair batch ``((x_sketch, (y_sketch, own)), (x_views, y_views))``."""

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__(profile, centres)
        self.cmic = CMICLoss(profile.cmic_temperature, profile.cmic_category_weight)

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        (xs, (ys, own)), (xv, yv) = batch
        scores, _ = model.attention(model.sketch.embed(xs), model.view_embeddings(xv))  # (B, M)
        inst = self.cmic.instance(scores, own)
        cat = self.cmic.category(scores, ys, yv)
        return inst + self.cmic.category_weight * cat, {"instance": inst.item(), "category": cat.item()}


@register_stage
class CMICStage(Stage):
    name, method, modality = "cmic", "cmic", "pairs"
    summary = "CMIC: instance + category contrast of sketches against query-attended shape views"

    def __init__(self) -> None:
        self.appearance = SketchAppearance()

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return CMICNet(build_network("sketch", profile, num_classes), build_network("mvcnn", profile, num_classes),
                       profile.embed_dim)

    def networks(self, model: nn.Module) -> dict[str, nn.Module]:
        return {"sketch": model.sketch, "shape": EmbedWith(model.pooled, model.shape.classifier, model)}

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return PairLoss(profile, centres)

    def optimizer(self, model: nn.Module, profile: Profile) -> torch.optim.Optimizer:
        return torch.optim.Adam(param_groups(model, profile), lr=profile.lr, betas=BETAS)

    def epochs(self, profile: Profile) -> int:
        return profile.epochs

    def loaders(self, manifest: Any, profile: Profile) -> tuple[dict[str, DataLoader], dict[str, Any]]:
        """Sketches tagged with their source gallery index (-1: unknown), the augmented gallery, and the validation sets."""
        train_set = SketchDataset(manifest, "train", profile.image_size, augment=True)
        tr, va = split_train_val(train_set.labels, profile.val_fraction, profile.seed)
        shapes = MultiViewDataset(manifest, profile.image_size, profile.num_views, profile.view_style, augment=True,
                                  split="train")
        index = {sid: i for i, sid in enumerate(shapes.ids)}
        sources = torch.tensor([index.get(getattr(r, "source", None), -1) for r in train_set.records])
        bs = profile.batch_size
        sketches = DataLoader(Tagged(Subset(train_set, tr), sources[tr]), batch_size=bs, shuffle=True,
                              num_workers=profile.workers, drop_last=len(tr) % bs == 1)
        val = {"sketch": Subset(train_set.without_augmentation(), va),
               "shape": shapes.with_views(profile.train_views or profile.num_views)}
        return {"sketch": sketches, "shape": DataLoader(shapes)}, val

    def batches(self, loaders: dict[str, DataLoader], profile: Profile, device: torch.device,
                gen: torch.Generator) -> Iterator[Any]:
        shapes: MultiViewDataset = loaders["shape"].dataset
        for xs, ys, sources in loaders["sketch"]:
            idx, own = pair_shapes(ys, sources, shapes.labels, gen)
            xv = torch.stack([shapes[j][0] for j in idx])                      # (M, V, 1, H, W)
            if profile.train_views and profile.train_views < xv.shape[1]:
                xv = xv[:, torch.randperm(xv.shape[1], generator=gen)[: profile.train_views]]
            xs = self.appearance(xs, generator=gen)
            yield ((xs.to(device), (ys.to(device), own.to(device))), (xv.to(device), shapes.labels[idx].to(device)))

    @torch.no_grad()
    def accuracy(self, model: nn.Module, val: dict[str, Any], profile: Profile, device: torch.device) -> float:
        """NN of the attention scores: held-out sketches against the gallery's validation views."""
        model.eval()
        acc = nearest_shape_accuracy(model.sketch.embed, model.view_embeddings, val, profile, device,
                                     score=model.attention.scores)
        model.train()
        return acc

    def similarity(self, model: nn.Module) -> Callable[..., Tensor]:
        @torch.no_grad()
        def scores(queries: Tensor, gallery: MultiViewDataset, device: torch.device, batch_size: int) -> Tensor:
            views = torch.cat([model.view_embeddings(x.to(device)) for x, _ in DataLoader(gallery, batch_size=batch_size)])
            return model.attention.scores(queries.to(device), views)
        return scores
