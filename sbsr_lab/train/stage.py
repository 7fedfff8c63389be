"""A method and its training stages: the :class:`Stage` base, :class:`StageLoss`, :class:`Method`, the
registry of both and the pieces every method shares.

A method is one file in :mod:`sbsr_lab.train.methods` (found there by :func:`discover_methods`, so adding
one touches no other file). The file holds its stages (each: network, data, loss), its :class:`Method`
(display label, place in tables, the Profile fields it reads, its report extras) and its networks'
settings, read from the :class:`~sbsr_lab.config.Profile` (``--set name=value``)::

    @register_method
    class Mine(Method):
        name, label = "mine", "Mine (what it does)"

    @register_stage
    class MyStage(Stage):
        name, method, modality, summary = "my-stage", "mine", "sketch", "what it trains"
        needs = None                              # or the stage whose run --from must name

        def build_model(self, profile, num_classes):   # the network(s), one nn.Module
            return build_network("sketch", profile, num_classes)

        def loss(self, profile, centres):               # an nn.Module: forward(model, batch) -> (loss, stats)
            return MyLoss(profile, centres)

The registry gives the rest: ``sbsr-lab train my-stage``, ``sbsr-lab demo --methods mine``,
:func:`~sbsr_lab.train.fit.fit`, :func:`method_stages` (the pipeline trains a method's stages in
registration order, each ``--from`` its ``needs``), :func:`~sbsr_lab.train.runs.load_run` /
``load_method``, the app's and widget's labels (:func:`method_labels`).

The interface of a :class:`Stage` (class attributes, then methods with a default):

* ``name``, ``method``, ``summary``; ``needs``: the stage whose run ``--from`` names. Its ``best`` model
  gives :meth:`Stage.centres_from` (default: its class centres (K, d)), which arrive in
  ``loss(profile, centres)`` and freeze the classifier (:meth:`Stage.fix_centres`; override both to
  take something else, e.g. a teacher's per-class embeddings).
* ``modality``: what one batch holds, made by :meth:`Stage.loaders` and :meth:`Stage.batches`:
  ``"sketch"`` -> ``(x (B, 1, H, W), y (B,))``; ``"shape"`` -> ``(x (B, V, 1, H, W), y (B,))`` with
  ``train_views`` random views; ``"both"`` -> ``((x_sketch, y_sketch), (x_views, y_views))`` (one pass
  over the sketches, the shapes cycled beside). A stage with another kind of batch (e.g. a sketch and
  the shape it was drawn from) overrides ``loaders`` and ``batches``.
* ``build_model(profile, K)``: one ``nn.Module`` holding every trained network (two networks: a module
  with ``.sketch`` and ``.shape``, like :class:`~sbsr_lab.models.JointNet`); it is what the checkpoint stores.
* :meth:`Stage.networks`: ``{"sketch": net, "shape": net}``, the networks of the model that embed each
  modality, each an :class:`~sbsr_lab.models.protocol.EmbeddingNetwork` (``embed(x) -> z``,
  ``classifier``, ``centres``); retrieval and validation use them.
* ``loss(profile, centres)`` -> :class:`StageLoss`; :meth:`Stage.train_step` runs one optimiser step
  with it and returns ``(loss, stats)``. Override it for alternating steps, e.g. an adversarial
  discriminator kept in the model (so the checkpoint holds it): with ``zero_grad(set_to_none=True)``
  and ``backward(inputs=params)``, ``optimizer.step()`` moves only the parameters that got a gradient;
  step the networks first and the discriminator last (a step changes weights in place that the other
  backward may still need), or recompute the loss in between (tests/train/test_stage_registry.py).
  :meth:`Stage.optimizer` builds the one optimiser (parameter groups carry ``lr_mult``, applied to the
  schedule's rate at every step: a discriminator can have its own group and rate). Under ``torchrun``
  the ``criterion`` a step gets runs the model inside DistributedDataParallel
  (:mod:`sbsr_lab.train.distributed`; the stage still sees the plain model): make one backward pass
  per call of ``criterion``, since DDP averages the gradients during that pass.
* :meth:`Stage.accuracy`: validation accuracy, by default the classifier's accuracy on the held-out
  data of the first modality the stage trains on (sketches before shapes).
* :meth:`Stage.epochs`: ``sketch_epochs`` for sketch-only stages, else ``epochs``.
* ``outliers`` (class attribute, default False): a sketch-only stage whose loss handles outlier
  exposure (:meth:`StageLoss.split_outliers`). With ``--set outlier_exposure=W`` (> 0), its sketch
  batches get a quarter as many generated scribbles (:class:`~sbsr_lab.data.scribbles.ScribbleDataset`,
  label ``-1``) appended, and the loss adds ``W`` * :class:`~sbsr_lab.losses.OutlierExposureLoss` on
  them. Not from the papers; the student and the sketch-uncertainty stage take it (the bundled model).
* :meth:`Stage.init_from` (start from the ``--from`` run's weights; :meth:`Stage.centres_from` may
  return None when no centres are taken), :meth:`Stage.attach_data` (data the loss needs, e.g. class
  counts), :meth:`Stage.similarity` (a query-dependent retrieval score): defaults do nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset

from sbsr_lab.config import Profile
from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.data.scribbles import TRAIN_SCRIBBLE_SEED, ScribbleDataset
from sbsr_lab.losses import AMSoftmaxLoss, FocalAMSoftmaxLoss, GuidanceLoss, OutlierExposureLoss

__all__ = ["Stage", "StageLoss", "Method", "ReportExtras", "STAGES", "METHODS", "register_stage", "register_method",
           "discover_methods", "registered_stages", "get_stage", "get_method", "method_stages", "stage_order",
           "method_labels", "default_methods", "am_softmax_for", "AMLoss", "GuidedLoss", "param_groups",
           "split_train_val", "shapes_per_class", "freeze", "Tagged", "nearest_shape_accuracy"]

#: The package whose modules are the methods (one file each).
METHODS_PACKAGE = "sbsr_lab.train.methods"


# -- methods ------------------------------------------------------------------------------------------------

@dataclass
class ReportExtras:
    """What a method adds to the demo's outputs beyond the SHREC metrics (:meth:`Method.report_extras`)."""

    results: dict[str, Any] = field(default_factory=dict)  # top-level keys of results.json
    report: dict[str, str] = field(default_factory=dict)   # rows of report.html's table of extras
    lines: list[str] = field(default_factory=list)         # printed under the metrics table

    def merge(self, other: "ReportExtras") -> None:
        """Add ``other``'s entries (a line two methods both give is printed once)."""
        self.results.update(other.results)
        self.report.update(other.report)
        self.lines += [line for line in other.lines if line not in self.lines]


class Method:
    """What a method says about itself beside its stages; subclass it in the method's file and register
    it with :func:`register_method`. A method whose stages are registered without one gets the defaults."""

    name: str = ""                     # the ``method`` of its stages
    label: str = ""                    # display name in the app and the widget ("" = the name)
    order: int = 100                   # place in tables, lists and ``--methods all`` (lower first)
    in_demo: bool = False              # trained by ``sbsr-lab demo`` without ``--methods``
    settings: tuple[str, ...] = ()     # the Profile fields only this method reads (``--set name=value``)

    def report_extras(self, run: Path, evaluation: Any, data: Path) -> ReportExtras:
        """Figures the demo reports for this method beyond the SHREC metrics.

        ``run``: the run folder of its last stage; ``evaluation``: its
        :class:`~sbsr_lab.retrieval.runs.MethodEvaluation` on ``data`` (the dataset folder). Default: none.
        """
        return ReportExtras()

    def __repr__(self) -> str:
        return f"<method {self.name} ({self.label or self.name})>"


# -- the registry ---------------------------------------------------------------------------------------

#: Every registered stage by name: the methods' stages in method order (:attr:`Method.order`), each
#: method's in registration order, then any registered later (e.g. by a test).
STAGES: dict[str, "Stage"] = {}
#: Every registered :class:`Method` by name.
METHODS: dict[str, Method] = {}
S = TypeVar("S", bound=type)


def register_stage(cls: S) -> S:
    """Class decorator: register one instance of the :class:`Stage` subclass ``cls`` under ``cls.name``."""
    stage = cls()
    if stage.modality not in ("sketch", "shape", "both") and type(stage).loaders is Stage.loaders:
        raise ValueError(f"Stage {stage.name}: modality {stage.modality!r} needs its own loaders() and batches()")
    STAGES[stage.name] = stage
    return cls


def register_method(cls: S) -> S:
    """Class decorator: register one instance of the :class:`Method` subclass ``cls`` under ``cls.name``."""
    METHODS[cls.name] = cls()
    return cls


def discover_methods() -> None:
    """Import every module of :mod:`sbsr_lab.train.methods` not imported yet (each registers its
    method and stages), then order :data:`STAGES` by method. Called by every look-up below, so a
    module added to the package's ``__path__`` is found too. The package is named, not imported,
    here: its modules import this one."""
    package = importlib.import_module(METHODS_PACKAGE)
    found = False
    for info in pkgutil.iter_modules(package.__path__):
        module = f"{METHODS_PACKAGE}.{info.name}"
        if not info.name.startswith("_") and module not in sys.modules:
            importlib.import_module(module)
            found = True
    if found:
        ordered = sorted(STAGES.items(), key=lambda item: _method(item[1].method).order)  # stable
        STAGES.clear()
        STAGES.update(ordered)


def registered_stages() -> dict[str, "Stage"]:
    """Every stage (:data:`STAGES`), after :func:`discover_methods`."""
    discover_methods()
    return STAGES


def get_stage(name: str) -> "Stage":
    """The stage called ``name``; unknown names list the choices."""
    stages = registered_stages()
    if name not in stages:
        raise KeyError(f"Unknown stage {name!r}; choose one of {', '.join(stages)}")
    return stages[name]


def method_stages() -> dict[str, list[tuple[str, str | None]]]:
    """The stages of each method in training order: ``{method: [(stage, the stage it starts --from)]}``,
    the methods in table order."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for stage in registered_stages().values():
        out.setdefault(stage.method, []).append((stage.name, stage.needs))
    return out


def get_method(name: str) -> Method:
    """The :class:`Method` called ``name`` (the defaults for a method registered by its stages alone)."""
    if name not in method_stages():
        raise KeyError(f"Unknown method {name!r}; choose one of {', '.join(method_stages())}")
    return _method(name)


def method_labels() -> dict[str, str]:
    """``{method: its display label}`` of every method, in table order."""
    return {name: get_method(name).label or name for name in method_stages()}


def default_methods() -> list[str]:
    """What ``sbsr-lab demo`` trains unless told otherwise (:attr:`Method.in_demo`): the course's three."""
    return [name for name in method_stages() if get_method(name).in_demo]


def stage_order(method: str) -> list[tuple[str, str | None]]:
    """The stages to train for ``method``, each after the stage it starts ``--from``, including such
    stages of another method (ssltkd's teacher starts from the ssl method's ``ssl-pretrain``)."""
    stages = method_stages()
    if method not in stages:
        raise KeyError(f"Unknown method {method!r}; choose one of {', '.join(stages)}")
    parent = {s: p for chain in stages.values() for s, p in chain}
    order: list[str] = []

    def add(stage: str) -> None:
        if parent[stage] is not None and parent[stage] not in order:
            add(parent[stage])
        if stage not in order:
            order.append(stage)

    for stage, _ in stages[method]:
        add(stage)
    return [(s, parent[s]) for s in order]


def _method(name: str) -> Method:
    if name in METHODS:
        return METHODS[name]
    method = Method()
    method.name = name
    return method


# -- losses every method may use ------------------------------------------------------------------------

def am_softmax_for(profile: Profile) -> AMSoftmaxLoss:
    """AM-softmax with the profile's s and m; the focal variant when ``focal_gamma > 0``."""
    if profile.focal_gamma > 0:
        return FocalAMSoftmaxLoss(scale=profile.am_scale, margin=profile.am_margin, gamma=profile.focal_gamma)
    return AMSoftmaxLoss(scale=profile.am_scale, margin=profile.am_margin)


class StageLoss(nn.Module):
    """The loss of one stage: ``forward(model, batch) -> (loss, stats)``, stats being floats for ``metrics.csv``.

    ``centres`` (K, d) are the fixed centres of the ``--from`` run (an empty buffer when there is none).
    A loss of a stage with ``outliers = True`` passes its model's outputs through :meth:`split_outliers`.
    """

    def __init__(self, profile: Profile, centres: Tensor | None = None) -> None:
        super().__init__()
        self.am = am_softmax_for(profile)
        self.outlier_exposure = OutlierExposureLoss(scale=profile.am_scale)
        self.outlier_weight = float(profile.outlier_exposure)
        self.register_buffer("centres", centres if centres is not None else torch.empty(0), persistent=False)

    def split_outliers(self, out: dict[str, Tensor], y: Tensor) -> tuple[dict[str, Tensor], Tensor, Tensor | None]:
        """``(outputs of the in-distribution rows, their labels, outlier term or None)``.

        Rows labelled ``-1`` are scribbles (:meth:`Stage.batches` with ``outlier_exposure``); their term is
        ``outlier_weight`` * :class:`OutlierExposureLoss` of their ``logits`` (cosines (M, K)). ``out``: the
        model's dict of batch-first tensors.
        """
        keep = y >= 0
        if bool(keep.all()):
            return out, y, None
        term = self.outlier_weight * self.outlier_exposure(out["logits"][~keep])
        return {k: v[keep] for k, v in out.items()}, y[keep], term

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:  # pragma: no cover
        raise NotImplementedError


class AMLoss(StageLoss):
    """AM-softmax alone (CFTTSL's teacher)."""

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x, y = batch
        am = self.am(model(x)["logits"], y)
        return am, {"am": am.item()}


class GuidedLoss(StageLoss):
    """AM-softmax + ``weight`` * guidance onto the fixed centres, logged as ``key``
    (CFTTSL's student guidance, UACTN's shape transfer: the same pull/push form).

    ``with_am=False`` drops the AM-softmax term (UACTN's code trains the shape network with the transfer
    loss alone); its value is still logged.
    """

    def __init__(self, profile: Profile, centres: Tensor | None, weight: float, key: str, with_am: bool = True) -> None:
        super().__init__(profile, centres)
        self.guidance = GuidanceLoss(beta=profile.beta)
        self.weight, self.key, self.with_am = weight, key, with_am

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x, y = batch
        out, y, outlier = self.split_outliers(model(x), y)
        am = self.am(out["logits"], y)
        g = self.guidance(out["z"], self.centres, y)
        loss = am + self.weight * g if self.with_am else self.weight * g
        stats = {"am": am.item(), self.key: g.item()}
        if outlier is not None:
            loss, stats["outlier"] = loss + outlier, outlier.item()
        return loss, stats


# -- the stage ----------------------------------------------------------------------------------------------

class Stage:
    """One training stage; subclass it, set the class attributes and register it (module docstring)."""

    name: ClassVar[str]
    method: ClassVar[str]
    modality: ClassVar[str]            # "sketch" | "shape" | "both" (or your own, with loaders/batches)
    needs: ClassVar[str | None] = None
    summary: ClassVar[str] = ""
    outliers: ClassVar[bool] = False   # its loss handles scribbles labelled -1 (outlier exposure)

    # -- what a stage must say ---------------------------------------------------------------------------
    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        raise NotImplementedError

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        raise NotImplementedError

    # -- what it may change --------------------------------------------------------------------------------
    def networks(self, model: nn.Module) -> dict[str, nn.Module]:
        """The network embedding each modality this stage trains (``"both"``: ``model.sketch``, ``model.shape``),
        each an :class:`~sbsr_lab.models.protocol.EmbeddingNetwork`."""
        if self.modality == "both":
            return {"sketch": model.sketch, "shape": model.shape}
        return {self.modality: model}

    def centres_from(self, from_model: nn.Module) -> Tensor | None:
        """What this stage takes from its ``--from`` run's model (eval mode): its class centres (K, d)."""
        return from_model.centres.detach().clone()

    def fix_centres(self, model: nn.Module, centres: Tensor, profile: Profile | None = None) -> None:
        """The fixed space of the ``--from`` run also classifies (frozen)."""
        model.classifier.set_centres(centres, freeze=True)

    def init_from(self, model: nn.Module, from_model: nn.Module) -> None:
        """Start ``model`` from the ``--from`` run's trained networks (eval mode); default: nothing
        (a stage that continues a run's weights, e.g. DCA's adaptation, copies them here)."""

    def attach_data(self, criterion: StageLoss, manifest: Any) -> None:
        """Give the loss what it needs from the training data (e.g. class counts); default: nothing.
        Called once, after :meth:`loaders`."""

    def similarity(self, model: nn.Module) -> Callable[..., Tensor] | None:
        """Retrieval scores of a method whose score depends on the query (CMIC's view attention):
        ``fn(queries (Q, d), gallery MultiViewDataset, device, batch_size) -> (Q, N)``; default None:
        cosine of the two networks' embeddings."""
        return None

    def epochs(self, profile: Profile) -> int:
        return profile.sketch_epochs if self.modality == "sketch" else profile.epochs

    def optimizer(self, model: nn.Module, profile: Profile) -> torch.optim.Optimizer:
        """AdamW or SGD (momentum, weight decay) over :func:`param_groups`."""
        groups = param_groups(model, profile)
        if profile.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=profile.lr, momentum=profile.momentum, weight_decay=profile.weight_decay)
        if profile.optimizer == "adamw":
            return torch.optim.AdamW(groups, lr=profile.lr, weight_decay=profile.weight_decay)
        raise ValueError(f"Unknown optimizer {profile.optimizer!r} in the profile; use 'sgd' or 'adamw'.")

    def train_step(self, model: nn.Module, criterion: StageLoss, batch: Any, optimizer: torch.optim.Optimizer,
                   scaler: torch.amp.GradScaler, device: torch.device, use_amp: bool) -> tuple[Tensor, dict[str, float]]:
        """One optimiser step on ``batch``: the loss under autocast, backward, step. Returns ``(loss, stats)``."""
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            loss, stats = criterion(model, batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return loss, stats

    def loaders(self, manifest: Any, profile: Profile) -> tuple[dict[str, DataLoader], dict[str, Any]]:
        """Training loaders (augmented) and the validation datasets, keyed by modality."""
        def loader(ds, batch_size: int = profile.batch_size, drop_last: bool = False) -> DataLoader:
            # always drop a last batch of one sample: BatchNorm cannot train on it
            return DataLoader(ds, batch_size=batch_size, num_workers=profile.workers, shuffle=True,
                              drop_last=drop_last or len(ds) % batch_size == 1)

        loaders: dict[str, DataLoader] = {}
        val: dict[str, Any] = {}
        if self.modality in ("sketch", "both"):
            train_set = SketchDataset(manifest, "train", profile.image_size, augment=True)
            tr, va = split_train_val(train_set.labels, profile.val_fraction, profile.seed)
            loaders["sketch"] = loader(Subset(train_set, tr))
            val["sketch"] = Subset(train_set.without_augmentation(), va)
            if self.outliers and profile.outlier_exposure > 0 and self.modality == "sketch":
                # half as many scribbles as training sketches (at least 256), a quarter of a batch each step
                scribbles = ScribbleDataset(max(256, len(tr) // 2), TRAIN_SCRIBBLE_SEED + profile.seed,
                                            profile.sketch_size, profile.image_size, augment=True)
                loaders["scribble"] = loader(scribbles, max(2, profile.batch_size // 4), drop_last=True)
        if self.modality in ("shape", "both"):
            shapes = MultiViewDataset(manifest, profile.image_size, profile.num_views, profile.view_style, augment=True,
                                      split="train")  # a shape split's test gallery is never trained on
            if "sketch" in loaders:  # both: one epoch = one pass over the sketches AND about one over the shapes
                per_step = -(-len(shapes) // max(1, len(loaders["sketch"])))
                loaders["shape"] = loader(shapes, max(2, min(profile.batch_size, per_step)), drop_last=True)
            else:
                loaders["shape"] = loader(shapes)
            # validation sees train_views views (not all num_views) of val_shapes shapes per class: a
            # third of the cost per epoch on the default profile, the same ranking of epochs
            val_views = shapes.with_views(profile.train_views or profile.num_views)
            val["shape"] = (Subset(val_views, shapes_per_class(shapes.labels, profile.val_shapes, profile.seed))
                            if profile.val_shapes else val_views)
        return loaders, val

    def steps_per_epoch(self, loaders: dict[str, DataLoader]) -> int:
        """Batches in one epoch: the first loader's (the sketches when there are sketches)."""
        return len(next(iter(loaders.values())))

    def batches(self, loaders: dict[str, DataLoader], profile: Profile, device: torch.device,
                gen: torch.Generator) -> Iterator[Any]:
        """Batches of one epoch on ``device`` (see ``modality``); shapes keep ``train_views`` random views."""
        def views(x: Tensor) -> Tensor:
            if profile.train_views and profile.train_views < x.shape[1]:
                x = x[:, torch.randperm(x.shape[1], generator=gen)[: profile.train_views]]
            return x

        def move(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
            return x.to(device, non_blocking=True), y.to(device, non_blocking=True)

        if "sketch" in loaders and "shape" in loaders:  # one pass over the sketches, shapes cycled beside
            for (xs, ys), (xv, yv) in zip(loaders["sketch"], _forever(loaders["shape"])):
                yield move(xs, ys), move(views(xv), yv)
        elif "sketch" in loaders and "scribble" in loaders:  # outlier exposure: scribbles (label -1) appended
            for (x, y), (xo, yo) in zip(loaders["sketch"], _forever(loaders["scribble"])):
                yield move(torch.cat([x, xo]), torch.cat([y, yo]))
        elif "sketch" in loaders:
            for x, y in loaders["sketch"]:
                yield move(x, y)
        else:
            for x, y in loaders["shape"]:
                yield move(views(x), y)

    @torch.no_grad()
    def accuracy(self, model: nn.Module, val: dict[str, Any], profile: Profile, device: torch.device) -> float:
        """Validation accuracy of the classifier on held-out train sketches, else on un-augmented shapes."""
        model.eval()
        key = "sketch" if "sketch" in val else "shape"
        net = self.networks(model)[key]
        correct = total = 0
        for x, y in DataLoader(val[key], batch_size=profile.eval_batch_size):
            pred = net.classifier(net.embed(x.to(device))).argmax(1).cpu()
            correct += int((pred == y).sum())
            total += len(y)
        model.train()
        return correct / max(total, 1)

    def __repr__(self) -> str:
        return f"<stage {self.name} ({self.method}, {self.modality}{', from ' + self.needs if self.needs else ''})>"


# -- data and optimiser helpers --------------------------------------------------------------------------------

def split_train_val(labels: Tensor, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Per-class deterministic split of indices: ``fraction`` of each class to validation (at least 1)."""
    train, val = [], []
    for idx in _shuffled_per_class(labels, np.random.default_rng([seed, 17])):
        n_val = max(1, int(round(len(idx) * fraction))) if fraction > 0 and len(idx) > 1 else 0
        val += idx[:n_val]
        train += idx[n_val:]
    return sorted(train), sorted(val)


def shapes_per_class(labels: Tensor, per_class: int, seed: int) -> list[int]:
    """Sorted indices of ``per_class`` items of each class (all of a smaller class), drawn with ``seed``:
    the shape stages' validation set (``Profile.val_shapes``)."""
    chosen: list[int] = []
    for idx in _shuffled_per_class(labels, np.random.default_rng([seed, 23])):
        chosen += idx[:per_class]
    return sorted(chosen)


def _shuffled_per_class(labels: Tensor, rng: np.random.Generator) -> Iterator[list[int]]:
    """The indices of each class of ``labels`` (N,), class by class in label order, shuffled by ``rng``."""
    for k in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == k).flatten().tolist()
        rng.shuffle(idx)
        yield idx


def param_groups(model: nn.Module, profile: Profile) -> list[dict[str, Any]]:
    """Backbone parameters at ``lr``, everything else (heads, classifier) at ``lr * head_lr_mult``."""
    backbone, heads = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (backbone if ".backbone." in f".{name}" else heads).append(p)
    return [{"params": backbone, "lr_mult": 1.0}, {"params": heads, "lr_mult": profile.head_lr_mult}]


def _forever(loader: DataLoader) -> Iterator[Any]:
    """Batches of ``loader`` without end, reshuffled and re-augmented on every pass
    (``itertools.cycle`` would replay the first pass's batches)."""
    while True:
        yield from loader


def freeze(module: nn.Module) -> nn.Module:
    """No parameter of ``module`` trains any more (``requires_grad=False``); returns it."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class Tagged(Dataset):
    """``dataset`` whose items also carry a tag: ``(*dataset[i], tags[i])`` (e.g. a sketch's source shape)."""

    def __init__(self, dataset: Dataset, tags: Tensor) -> None:
        if len(tags) != len(dataset):  # type: ignore[arg-type]
            raise ValueError(f"Tagged: {len(tags)} tags for {len(dataset)} items")  # type: ignore[arg-type]
        self.dataset, self.tags = dataset, tags

    def __len__(self) -> int:
        return len(self.tags)

    def __getitem__(self, i: int) -> tuple[Any, ...]:
        return (*self.dataset[i], self.tags[i])


@torch.no_grad()
def nearest_shape_accuracy(sketch_embed: Callable[[Tensor], Tensor], shape_embed: Callable[[Tensor], Tensor],
                           val: dict[str, Any], profile: Profile, device: torch.device,
                           score: Callable[[Tensor, Tensor], Tensor] | None = None) -> float:
    """Share of the held-out sketches whose most similar shape (of ``val["shape"]``) has their class:
    the NN of retrieval on the validation data, for stages that train no classifier. ``score(zq (Q, d),
    zg) -> (Q, N)``, default the cosine ``zq @ zg.T``; ``zg`` is whatever ``shape_embed`` returns (e.g.
    per-view embeddings (N, V, d))."""
    zq, yq = [], []
    for x, y in DataLoader(val["sketch"], batch_size=profile.eval_batch_size):
        zq.append(sketch_embed(x.to(device)).float())
        yq.append(y)
    zg, yg = [], []
    for x, y in DataLoader(val["shape"], batch_size=max(1, profile.eval_batch_size // 4)):
        zg.append(shape_embed(x.to(device)).float())
        yg.append(y)
    q, g = torch.cat(zq), torch.cat(zg)
    sim = score(q, g) if score is not None else q @ g.T
    return float((torch.cat(yg)[sim.argmax(1).cpu()] == torch.cat(yq)).double().mean())
