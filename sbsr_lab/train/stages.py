"""The training stages of every method, each defined in one place: its network, its data, its loss.

=====================  =======  ===========  =========================================================
stage                  method   trains on    loss
=====================  =======  ===========  =========================================================
``teacher``            cfttsl   shapes       AM-softmax; its class centres become the fixed shape space
``student``            cfttsl   sketches     AM-softmax on the teacher's fixed centres + alpha * guidance
``sketch-uncertainty`` uactn    sketches     AM-softmax on z = mu + sigma*eps + uncertainty regression
``shape-transfer``     uactn    shapes       AM-softmax on the fixed sketch centres + transfer (guidance form)
``joint``              joint    both         one shared cosine classifier, AM-softmax on both modalities
=====================  =======  ===========  =========================================================

``--set variant=paper`` switches to the authors' code where ours differs (config.VARIANTS): the
student's classifier is a new one that learns (``student_init=random``), the shape transfer has no
AM-softmax (``transfer_am=false``), the joint baseline is one network fed sketches and single views
with focal AM-softmax (``joint=shared``), the push term has the code's sign (``beta=-1``) and the
heads are the authors' BatchNorm stacks (``head=paper``).

``--from RUN`` names the run whose centres a second stage is pulled onto (student <- teacher,
shape-transfer <- sketch-uncertainty).

Adding a stage = one class here (or anywhere, e.g. in a test), decorated with :func:`register_stage`::

    @register_stage
    class MyStage(Stage):
        name, method, modality, summary = "my-stage", "mine", "sketch", "what it trains"
        needs = None                              # or the stage whose run --from must name

        def build_model(self, profile, num_classes):   # the network(s), one nn.Module
            return create_model(model_name_for("sketch", profile.backbone), num_classes, **model_kwargs(profile))

        def loss(self, profile, centres):               # an nn.Module: forward(model, batch) -> (loss, stats)
            return MyLoss(profile)

The registry gives the rest: ``sbsr-lab train my-stage``, :func:`~sbsr_lab.train.fit.fit`,
:func:`method_stages` (the pipeline trains a method's stages in registration order, each ``--from``
its ``needs``) and :func:`~sbsr_lab.train.runs.load_run` / ``load_method``.

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
  with ``.sketch`` and ``.shape``, like :class:`JointNet`); it is what the checkpoint stores.
* :meth:`Stage.networks`: ``{"sketch": net, "shape": net}``, the networks of the model that embed each
  modality (each has ``embed(x) -> z`` and ``classifier``); retrieval and validation use them.
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

The field's other approaches (``dca``, ``cmic``, ``ssl``, ``ssltkd``) have their stages in
:mod:`sbsr_lab.train.methods`, registered when :mod:`sbsr_lab.train` is imported.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Iterator, TypeVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset

from sbsr_lab.config import Profile
from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
from sbsr_lab.losses import AMSoftmaxLoss, FocalAMSoftmaxLoss, GuidanceLoss, OutlierExposureLoss, UncertaintyLoss
from sbsr_lab.models import MultiViewNet, SketchNet, create_model, model_name_for

__all__ = ["Stage", "StageLoss", "STAGES", "register_stage", "get_stage", "method_stages", "stage_order", "JointNet", "SharedJointNet",
           "model_kwargs", "am_softmax_for", "param_groups", "split_train_val", "shapes_per_class"]


# -- the registry ---------------------------------------------------------------------------------------

#: Every registered stage by name, in registration order.
STAGES: dict[str, "Stage"] = {}
S = TypeVar("S", bound=type)


def register_stage(cls: S) -> S:
    """Class decorator: register one instance of the :class:`Stage` subclass ``cls`` under ``cls.name``."""
    stage = cls()
    if stage.modality not in ("sketch", "shape", "both") and type(stage).loaders is Stage.loaders:
        raise ValueError(f"Stage {stage.name}: modality {stage.modality!r} needs its own loaders() and batches()")
    STAGES[stage.name] = stage
    return cls


def get_stage(name: str) -> "Stage":
    """The stage called ``name``; unknown names list the choices."""
    if name not in STAGES:
        raise KeyError(f"Unknown stage {name!r}; choose one of {', '.join(STAGES)}")
    return STAGES[name]


def method_stages() -> dict[str, list[tuple[str, str | None]]]:
    """The stages of each method in training order: ``{method: [(stage, the stage it starts --from)]}``."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for stage in STAGES.values():
        out.setdefault(stage.method, []).append((stage.name, stage.needs))
    return out


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


# -- shared parts -----------------------------------------------------------------------------------------

def model_kwargs(profile: Profile) -> dict[str, Any]:
    """The registry arguments every stage network takes from the profile."""
    return dict(embed_dim=profile.embed_dim, pretrained=profile.pretrained or None, head=profile.head)


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
        """The network embedding each modality this stage trains (``"both"``: ``model.sketch``, ``model.shape``)."""
        if self.modality == "both":
            return {"sketch": model.sketch, "shape": model.shape}
        return {self.modality: model}

    def centres_from(self, from_model: nn.Module) -> Tensor:
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
                from sbsr_lab.data.scribbles import TRAIN_SCRIBBLE_SEED, ScribbleDataset

                # half as many scribbles as training sketches (at least 256), a quarter of a batch each step
                scribbles = ScribbleDataset(max(256, len(tr) // 2), TRAIN_SCRIBBLE_SEED + profile.seed,
                                            profile.sketch_size, profile.image_size, augment=True)
                loaders["scribble"] = loader(scribbles, max(2, profile.batch_size // 4), drop_last=True)
        if self.modality in ("shape", "both"):
            shapes = MultiViewDataset(manifest, profile.image_size, profile.num_views, profile.view_style, augment=True)
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


def _net(kind: str) -> Callable[[Profile, int], nn.Module]:
    def build(profile: Profile, num_classes: int) -> nn.Module:
        kwargs = model_kwargs(profile)
        if kind == "mvcnn":
            kwargs["pooling"] = profile.pooling  # mean (default) or max over the views
        return create_model(model_name_for(kind, profile.backbone), num_classes, **kwargs)
    return build


# -- CFTTSL -------------------------------------------------------------------------------------------------

class AMLoss(StageLoss):
    """AM-softmax alone (the teacher)."""

    def forward(self, model: nn.Module, batch: Any) -> tuple[Tensor, dict[str, float]]:
        x, y = batch
        am = self.am(model(x)["logits"], y)
        return am, {"am": am.item()}


class GuidedLoss(StageLoss):
    """AM-softmax + ``weight`` * guidance onto the fixed centres, logged as ``key``
    (the student's guidance, UACTN's shape transfer: the same pull/push form).

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


@register_stage
class Teacher(Stage):
    name, method, modality = "teacher", "cfttsl", "shape"
    summary = "CFTTSL stage 1: multi-view teacher with AM-softmax"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return _net("mvcnn")(profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return AMLoss(profile, centres)


@register_stage
class Student(Stage):
    name, method, modality, needs = "student", "cfttsl", "sketch", "teacher"
    outliers = True
    summary = "CFTTSL stage 2: sketch student guided onto the teacher's centres"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return _net("sketch")(profile, num_classes)

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


# -- UACTN --------------------------------------------------------------------------------------------------

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
        return _net("sketch_unc")(profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return SketchUncertaintyLoss(profile, centres)


@register_stage
class ShapeTransfer(Stage):
    name, method, modality, needs = "shape-transfer", "uactn", "shape", "sketch-uncertainty"
    summary = "UACTN stage 2: shapes transferred onto the sketch centres"

    def build_model(self, profile: Profile, num_classes: int) -> nn.Module:
        return _net("mvcnn")(profile, num_classes)

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return GuidedLoss(profile, centres, profile.transfer_weight, "transfer", with_am=profile.transfer_am)


# -- joint baseline -------------------------------------------------------------------------------------------

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


class SharedViews(nn.Module):
    """A shape as its views through ONE sketch network: z = normalise(mean_v net.embed(view_v)).

    The authors' joint baseline (UACTN's ``train.py``) trains a single network on sketches and on single
    rendered views alike; a shape's descriptor pools its views' embeddings. Shapes: views
    (B, V, C, H, W) -> z (B, d), unit rows. ``view_features`` and ``head`` give the per-view embeddings
    (retrieval.best_view) as for a :class:`MultiViewNet`.
    """

    def __init__(self, net: SketchNet) -> None:
        super().__init__()
        self.net = net
        self.head = net.head
        self.classifier = net.classifier

    @property
    def centres(self) -> Tensor:
        return self.classifier.centres

    def view_features(self, views: Tensor) -> Tensor:
        """views: (B, V, C, H, W) -> backbone features of every view (B, V, F)."""
        b, v = views.shape[:2]
        return self.net.forward_features(views.flatten(0, 1)).view(b, v, -1)

    def embed(self, views: Tensor) -> Tensor:
        """views: (B, V, C, H, W) -> z (B, d): the mean of the views' unit embeddings, renormalised."""
        b, v = views.shape[:2]
        return nn.functional.normalize(self.net.embed(views.flatten(0, 1)).view(b, v, -1).mean(1), dim=1)

    def forward(self, views: Tensor) -> dict[str, Tensor]:
        z = self.embed(views)
        return {"z": z, "logits": self.classifier(z)}


class SharedJointNet(nn.Module):
    """The authors' joint baseline: ``sketch`` is one :class:`SketchNet`, ``shape`` the same network over
    each view (:class:`SharedViews`); one classifier."""

    def __init__(self, net: SketchNet) -> None:
        super().__init__()
        self.sketch = net
        self.shape = SharedViews(net)
        self.classifier = net.classifier

    @property
    def centres(self) -> Tensor:
        return self.classifier.centres


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
        if profile.joint == "shared":
            return SharedJointNet(_net("sketch")(profile, num_classes))
        return JointNet(_net("sketch")(profile, num_classes), _net("mvcnn")(profile, num_classes))

    def loss(self, profile: Profile, centres: Tensor | None) -> StageLoss:
        return SharedJointLoss(profile, centres) if profile.joint == "shared" else JointLoss(profile, centres)
