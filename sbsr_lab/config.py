"""Profiles: one typed object that sizes every stage (data, rendering, training, evaluation).

Three profiles, as in the blueprint:

* ``ci``      -- tiny; every notebook runs in seconds, CI builds the data in well under a minute.
* ``default`` -- a laptop: the whole demo in minutes on 2 CPU cores.
* ``full``    -- a GPU: torchvision ImageNet backbones at 224 px, more classes and shapes.

Every stage reads a :class:`Profile`. Override any field from Python or from the CLI::

    >>> from sbsr_lab.config import get_profile
    >>> p = get_profile("ci", epochs=2)
    >>> p.epochs, p.name
    (2, 'ci')
    >>> get_profile("ci", **parse_overrides(["view_size=96"])).view_size
    96

Unknown keys and values of the wrong type fail loudly (nanoGPT's configurator, without ``exec``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import typing
from dataclasses import dataclass
from typing import Any, NamedTuple

from sbsr_lab.errors import ConfigError

__all__ = [
    "BASE_CLASSES",
    "RIG_VIEWS",
    "EXTRA_CLASSES",
    "PROFILES",
    "Profile",
    "get_profile",
    "VARIANTS",
    "parse_overrides",
    "default_data_root",
    "RANGES",
    "Range",
    "check_profile",
    "check_root",
    "FIELDS_BEFORE",
]

#: The 12 default SynthShapes classes (blueprint).
BASE_CLASSES: tuple[str, ...] = (
    "airplane", "bed", "bench", "bottle", "car", "chair",
    "house", "lamp", "mug", "rocket", "table", "tree",
)
#: Number of cameras of each rig (see :func:`sbsr_lab.render.get_rig`).
RIG_VIEWS: dict[str, int] = {"ring12": 12, "dodeca20": 20}
#: Extra classes of the ``full`` profile, including close neighbours that make retrieval hard.
EXTRA_CLASSES: tuple[str, ...] = (
    "stool", "sofa", "bookshelf", "desk", "vase", "guitar", "umbrella", "boat",
)


@dataclass(frozen=True)
class Profile:
    """Every knob of the pipeline, sized by one profile name.

    Image sizes are in pixels, angles in degrees, times in seconds.
    """

    name: str = "default"
    seed: int = 0                      # master seed: data, splits, init, batches

    # -- data (SynthShapes) ---------------------------------------------------------------------
    classes: tuple[str, ...] = BASE_CLASSES
    shapes_per_class: int = 30         # gallery shapes per class (all form the gallery)
    sketches_per_class: int = 100      # synthetic sketches per class (train + test)
    test_sketch_fraction: float = 0.3  # SHREC protocol: sketches split train/test per class
    sketch_size: int = 128             # raster side of a sketch PNG
    max_noise: float = 1.0             # noise levels are drawn in [0, max_noise]
    longtail: str = ""                 # "MAX:MIN": shapes per class on a power law (data/longtail.py); "" = balanced
    sketch_source: str = "held_out"    # sketches traced from "held_out" shapes, or from "gallery" shapes (instance level)
    sketch_styles: str = "perspective" # "perspective" (generator 3's drawings) or "people": + flat views, outlines, icons, partial, placement
    view_rule: str = "ramp"            # chance of an unusual drawing viewpoint: "ramp" of the noise level (generator 3) or "noise" itself (generator 2; an ablation)
    shape_set: str = "base"            # SynthShapes generators: "base", or "real" (+ the variants real collections have: lamp posts, street lamps; data/synthshapes SHAPE_SETS)

    # -- rendering --------------------------------------------------------------------------------
    rig: str = "ring12"                # "ring12" (12 views, 30 deg elevation) or "dodeca20"
    view_size: int = 128               # raster side of a rendered view
    view_style: str = "shaded"         # style fed to the shape network
    upright: bool = True               # keep the up axis when normalising meshes
    pca_align: bool = False            # rotate meshes into their PCA frame
    orient: str = "auto"               # meshes read from files (data prepare, sbsr-lab index): "file" keeps their +Y, "pca" upright PCA, "auto" stands each up on the axis the packaged model is surest of (render/orient.py; SynthShapes is built upright)

    # -- models and training ----------------------------------------------------------------------
    backbone: str = "compact"          # "compact" CNN for CPUs, or a torchvision name
    pretrained: bool = False           # ImageNet weights (full profile)
    image_size: int = 96               # network input side (sketches and views are resized)
    pooling: str = "mean"              # view pooling of the multi-view networks: "mean" (CFTTSL) or "max" (MVCNN)
    num_views: int = 12                # views per shape fed to the multi-view network
    embed_dim: int = 128               # d in the blueprint
    epochs: int = 8                    # shape and joint stages (12 before the issue-19 re-tuning)
    sketch_epochs: int = 24            # sketch-only stages (student, sketch-uncertainty): cheap epochs (40 before)
    batch_size: int = 32
    lr: float = 3e-3                   # peak learning rate of the backbone
    optimizer: str = "adamw"           # "sgd" (papers) or "adamw"
    weight_decay: float = 1e-4
    momentum: float = 0.9              # SGD only
    head_lr_mult: float = 1.0          # heads at this x the backbone rate (10 with pretrained backbones, as in the papers)
    warmup_epochs: float = 0.5         # linear warmup, then cosine decay to 0
    val_fraction: float = 0.15         # train sketches held out to pick the best epoch
    val_shapes: int = 10               # shapes per class the shape-only stages validate on each epoch (0 = all)
    train_views: int = 3               # views per shape per training step (random subset; eval uses num_views)
    workers: int = 0                   # DataLoader / rendering worker processes (0 = in process)
    device: str = "auto"               # "auto", "cpu", "cuda", "cuda:1", ...
    amp: bool = True                   # mixed precision (CUDA only)

    # -- methods (blueprint defaults) ---------------------------------------------------------------
    am_scale: float = 15.0             # s of AM-softmax
    am_margin: float = 0.35            # m of AM-softmax
    focal_gamma: float = 0.0           # > 0: focal AM-softmax variant (gamma = 2 in the papers' ablation)
    alpha: float = 0.5                 # CFTTSL: weight of the guidance loss
    freeze_centres: bool = True        # CFTTSL student: classify on the teacher's centres frozen (False: they start there and learn)
    beta: float = 1.0                  # CFTTSL/UACTN: weight of the push term (mean similarity to other centres)
    unc_weight: float = 5.0            # UACTN stage 1: weight of the uncertainty regression loss (averaged over d: train/methods/uactn.py)
    unc_kl_weight: float = 0.0         # UACTN stage 1: optional KL term
    transfer_weight: float = 1.0       # UACTN stage 2: weight of the transfer loss onto the sketch centres
    outlier_exposure: float = 0.0      # not from the papers: weight of outlier exposure on scribbles in the student and sketch-uncertainty stages (0 = off; the bundle: UACTN 0.5, CFTTSL 0.25)

    # -- the field's other approaches (train/methods/; forms and weights ours: docs/reproducing.md) ---------
    dca_metric_weight: float = 1.0     # DCA stage 1: weight of the importance-aware metric loss (per modality)
    dca_md_weight: float = 1.0         # DCA stage 2: weight of the class-aware mean discrepancy
    dca_grl: float = 1.0               # DCA stage 2: lambda of the gradient reversal (how hard T fights the discriminator)
    dca_d_lr_ratio: float = 30.0       # DCA stage 2: the discriminator's rate over T's (with equal rates the two chase each other)
    dca_t_lr_mult: float = 0.1         # DCA stage 2: T's rate over lr (a small MLP on fixed features)
    cmic_temperature: float = 0.1      # CMIC: tau of the instance and category contrast
    cmic_category_weight: float = 0.2  # CMIC: weight of the category term beside the instance term
    ssl_margin: float = 0.2            # SSL stage 2: margin of the enhanced cross-modal triplet loss
    ssl_intra_weight: float = 1.0      # SSL stage 2: weight of its intra-modal triplets
    ssltkd_la_tau: float = 1.0         # SSLTKD teacher: tau of the logit adjustment (0 = plain AM-softmax)
    ssltkd_feature_weight: float = 1.0   # SSLTKD student: weight of the feature distillation ||z - C[y]||^2
    ssltkd_relation_weight: float = 1.0  # SSLTKD student: weight of the relational distillation
    ssltkd_relation_t: float = 0.1     # SSLTKD student: temperature of the relational distillation

    # -- ours or the authors' code (VARIANTS; docs/reproducing.md has the measured table) -----------
    variant: str = "ours"              # the preset the four fields below (and beta) came from: "ours" or "paper"
    head: str = "paper"                # embedding head: "paper" F->1024->512->256->d BatchNorm (the authors'), "mlp" F->512->d LayerNorm (ours before)
    student_init: str = "teacher"      # CFTTSL student classifier: "teacher" (its centres; frozen unless freeze_centres=False), "random" (a new one, learned)
    transfer_am: bool = True           # UACTN stage 2: AM-softmax on the sketch centres beside the transfer loss (authors: transfer alone)
    joint: str = "two-nets"            # joint baseline: "two-nets" sharing a classifier, or "shared": one network fed sketches and single views, focal AM-softmax

    # -- evaluation ---------------------------------------------------------------------------------
    eval_batch_size: int = 128

    def __post_init__(self) -> None:
        check_profile(self)

    def replace(self, **overrides: Any) -> "Profile":
        """A copy with some fields changed, type-checked (see :func:`get_profile`)."""
        return dataclasses.replace(self, **_check_overrides(overrides))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Profile":
        """Inverse of :meth:`to_dict`; ignores nothing, so foreign keys raise. A dict written before a
        field existed (an older checkpoint or bundle) gets the value that code behaved as
        (:data:`FIELDS_BEFORE`), not today's default: an old run's head stays the head it was trained with."""
        return cls().replace(**{**FIELDS_BEFORE, **d})

    def views_per_shape(self) -> int:
        """Number of cameras in :attr:`rig`."""
        return RIG_VIEWS[self.rig]


#: Fields whose default changed after runs were saved without them, with the value those runs had:
#: the head (``"paper"`` by default since the issue-19 re-tuning; before, every run had ``"mlp"``) and
#: the shape stages' validation set (every shape before ``val_shapes`` existed).
FIELDS_BEFORE: dict[str, Any] = {"head": "mlp", "val_shapes": 0, "orient": "file"}

PROFILES: dict[str, dict[str, Any]] = {
    "ci": dict(
        name="ci", shapes_per_class=4, sketches_per_class=8, sketch_size=64,
        view_size=64, image_size=48, epochs=2, sketch_epochs=3, batch_size=16, eval_batch_size=64, orient="file",
    ),
    "default": dict(name="default"),
    "full": dict(
        name="full", classes=BASE_CLASSES + EXTRA_CLASSES, shapes_per_class=80,
        sketches_per_class=120, sketch_size=256, view_size=224, image_size=224,
        backbone="resnet18", pretrained=True, epochs=40, sketch_epochs=40, batch_size=64, lr=1e-3,
        optimizer="sgd", head_lr_mult=10.0, workers=8, train_views=4,
    ),
}


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(Profile)


# String keys with a fixed set of values (checked here so that a typo fails before any work starts).
BACKBONE_NAMES: tuple[str, ...] = ("compact", "resnet18", "resnet34", "resnet50", "vgg16", "vgg19", "alexnet")
CHOICES: dict[str, tuple[str, ...]] = {"backbone": BACKBONE_NAMES, "optimizer": ("sgd", "adamw"), "pooling": ("mean", "max"),
                                       "sketch_source": ("held_out", "gallery"), "sketch_styles": ("perspective", "people"),
                                       "view_rule": ("ramp", "noise"), "shape_set": ("base", "real"),
                                       "variant": ("ours", "paper"), "head": ("mlp", "paper"),
                                       "student_init": ("teacher", "random"), "joint": ("two-nets", "shared"),
                                       "orient": ("file", "pca", "auto")}

#: What ``--set variant=NAME`` sets: our choices, or the authors' side (cyy1998/CFTTSL, cyy1998/UACTN) of the five
#: loss and network choices that differ (not their optimiser, schedule, all-view training or 1:1 joint batch:
#: docs/reproducing.md).
#: Keys given beside ``variant`` win, so ``variant=paper,head=mlp`` is the authors' code with our former head.
#: Both presets take the authors' heads: they measured better than ours (docs/reproducing.md), so they
#: became the default; ``head=mlp`` is the ablation.
VARIANTS: dict[str, dict[str, Any]] = {
    "ours": dict(head="paper", student_init="teacher", freeze_centres=True, transfer_am=True, joint="two-nets", beta=1.0),
    "paper": dict(head="paper", student_init="random", freeze_centres=False, transfer_am=False, joint="shared",
                  beta=-1.0),
}
_LONGTAIL = re.compile(r"^(\d+):(\d+)$")


class Range(NamedTuple):
    """Allowed values of a numeric profile field: ``low <= v <= high`` (``<`` where open); ``why`` is the fix."""

    low: float
    high: float
    why: str = ""
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        def num(v: float) -> str:
            return str(int(v)) if float(v).is_integer() else f"{v:g}"
        lo = f"{'>' if self.low_open else '>='} {num(self.low)}"
        hi = f"{'<' if self.high_open else '<='} {num(self.high)}"
        return f"{lo} and {hi}"


_FRACTION = "a fraction of the sketches"
_WEIGHT = Range(0, 1e6, "a loss weight (0 turns the term off)")
_TEMPERATURE = Range(0, 100, "a softmax temperature such as 0.1", low_open=True)
#: Range of every numeric profile field (checked whenever a Profile is made: get_profile, replace,
#: from_dict, a checkpoint's profile). A new numeric field needs a row here (a test checks that).
RANGES: dict[str, Range] = {
    "seed": Range(0, 2**32 - 1, "seeds are non-negative 32-bit integers"),
    "shapes_per_class": Range(1, 100_000, "every class needs at least one gallery shape"),
    "sketches_per_class": Range(2, 1_000_000, "at least one train and one test sketch per class"),
    "test_sketch_fraction": Range(0, 1, _FRACTION, low_open=True, high_open=True),
    "sketch_size": Range(8, 4096, "a raster side in pixels"),
    "max_noise": Range(0, 1, "noise levels are in [0, 1] (0 = clean sketches)"),
    "view_size": Range(8, 4096, "a raster side in pixels"),
    "image_size": Range(8, 4096, "the network input side in pixels (48 ci, 96 default, 224 full)"),
    "num_views": Range(1, 64, "views per shape (12 for ring12, 20 for dodeca20)"),
    "embed_dim": Range(2, 65_536, "the embedding size d (128 by default)"),
    "epochs": Range(1, 100_000, "train at least one epoch"),
    "sketch_epochs": Range(1, 100_000, "train at least one epoch"),
    "batch_size": Range(2, 65_536, "BatchNorm needs at least 2 samples per batch"),
    "lr": Range(0, 10, "a learning rate such as 3e-3", low_open=True),
    "weight_decay": Range(0, 1, "such as 1e-4 (0 = none)"),
    "momentum": Range(0, 1, "such as 0.9", high_open=True),
    "head_lr_mult": Range(0, 1000, "a multiplier such as 1 or 10", low_open=True),
    "warmup_epochs": Range(0, 100_000, "epochs of linear warmup (0 = none)"),
    "val_fraction": Range(0, 1, _FRACTION + " held out (0 = none)", high_open=True),
    "val_shapes": Range(0, 100_000, "shapes per class in each epoch's validation (0 = every shape)"),
    "train_views": Range(1, 64, "views per shape per training step"),
    "workers": Range(0, 256, "worker processes (0 = in process)"),
    "am_scale": Range(0, 1000, "the AM-softmax scale s such as 15", low_open=True),
    "am_margin": Range(0, 2, "the AM-softmax margin m such as 0.35", high_open=True),
    "focal_gamma": Range(0, 100, "0 = plain AM-softmax, 2 in the papers' ablation"),
    "alpha": _WEIGHT,
    "beta": Range(-1e6, 1e6, "the push weight: > 0 pushes away from the other centres (ours, 1), "
                             "-1 is the authors' code (its sign pulls towards them), 0 turns the push off"),
    "unc_weight": _WEIGHT,
    "unc_kl_weight": _WEIGHT,
    "transfer_weight": _WEIGHT,
    "outlier_exposure": _WEIGHT,
    "dca_metric_weight": _WEIGHT,
    "dca_md_weight": _WEIGHT,
    "dca_grl": Range(0, 1e6, "the gradient reversal's lambda (0: the discriminator no longer trains T)"),
    "dca_d_lr_ratio": Range(0, 1e6, "a ratio of learning rates such as 30", low_open=True),
    "dca_t_lr_mult": Range(0, 1e6, "a multiplier of lr such as 0.1", low_open=True),
    "cmic_temperature": _TEMPERATURE,
    "cmic_category_weight": _WEIGHT,
    "ssl_margin": Range(0, 2, "a margin between cosine similarities such as 0.2"),
    "ssl_intra_weight": _WEIGHT,
    "ssltkd_la_tau": Range(0, 100, "the logit adjustment's tau such as 1 (0 = none)"),
    "ssltkd_feature_weight": _WEIGHT,
    "ssltkd_relation_weight": _WEIGHT,
    "ssltkd_relation_t": _TEMPERATURE,
    "eval_batch_size": Range(1, 65_536, "sketches or shapes per evaluation batch"),
}
#: Classes SynthShapes can make (its generators; sbsr_lab.data.synthshapes.GENERATORS).
SYNTH_CLASSES: tuple[str, ...] = BASE_CLASSES + EXTRA_CLASSES
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_profile(profile: "Profile") -> None:
    """Raise :class:`ConfigError` naming the first field out of its range (:data:`RANGES`) and the fix."""
    for key, rng in RANGES.items():
        value = getattr(profile, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"Profile key {key!r} wants a number, got {value!r}")
        if not rng.holds(value):
            raise ConfigError(f"Profile key {key!r} = {value!r} is out of range ({rng.why}). "
                              f"Fix: --set {key}=V with V {rng.describe()}")
    if not profile.classes:
        raise ConfigError("Profile key 'classes' is empty. Fix: --set classes=chair,table (or leave the default)")
    unknown = [c for c in profile.classes if c not in SYNTH_CLASSES]
    if unknown:
        raise ConfigError(f"Unknown class {unknown[0]!r} in the profile key 'classes'; SynthShapes classes: "
                          f"{', '.join(SYNTH_CLASSES)}. Fix: --set classes=chair,table")
    if len(set(profile.classes)) != len(profile.classes):
        raise ConfigError(f"Profile key 'classes' names a class twice ({', '.join(profile.classes)}). Fix: list each once")
    if profile.rig not in RIG_VIEWS:
        raise ConfigError(f"Profile key 'rig' cannot be {profile.rig!r}; choose one of {', '.join(RIG_VIEWS)}")
    if not _DEVICE.match(profile.device):
        raise ConfigError(f"Profile key 'device' cannot be {profile.device!r}; use auto, cpu, cuda, cuda:N or mps")
    if profile.longtail:
        m = _LONGTAIL.match(profile.longtail)
        if not m or not 1 <= int(m.group(2)) <= int(m.group(1)):
            raise ConfigError(f"Profile key 'longtail' cannot be {profile.longtail!r}; want MAX:MIN shapes per class "
                              "with 1 <= MIN <= MAX. Fix: --set longtail=60:4 (or longtail= for balanced classes)")
    for key, choices in CHOICES.items():
        if getattr(profile, key) not in choices:
            raise ConfigError(f"Profile key {key!r} cannot be {getattr(profile, key)!r}; choose one of {', '.join(choices)}")


def check_root(path: "str | os.PathLike[str]", flag: str = "--root") -> str:
    """``path`` as a string, or a :class:`ConfigError` if it names an existing file (a folder is wanted)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"{flag} {path} is a file, not a folder. Fix: give a folder (it is created if missing)")
    return os.fspath(path)


def _coerce(key: str, value: Any) -> Any:
    """Check ``value`` against the declared type of ``key``; convert strings from the CLI."""
    types = _field_types()
    if key not in types:
        close = [k for k in types if k.startswith(key[:3])]
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown profile key {key!r}.{hint} Known keys: {', '.join(sorted(types))}")
    want = types[key]
    origin = typing.get_origin(want)
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"Profile key {key!r} wants a list of names, got {value!r}")
        return tuple(value)
    if want is bool:
        if isinstance(value, str):
            low = value.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
        if not isinstance(value, bool):
            raise ConfigError(f"Profile key {key!r} wants true/false, got {value!r}")
        return value
    if want is int:
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"Profile key {key!r} wants an integer, got {value!r}")
        return value
    if want is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"Profile key {key!r} wants a number, got {value!r}")
        return float(value)
    if want is str:
        if not isinstance(value, str):
            raise ConfigError(f"Profile key {key!r} wants a string, got {value!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise ConfigError(f"Profile key {key!r} cannot be {value!r}; choose one of {', '.join(CHOICES[key])}")
        return value
    return value  # pragma: no cover - every field has one of the types above


def _check_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Coerce every value; ``variant`` also sets its preset's keys (:data:`VARIANTS`) unless given too."""
    checked = {k: _coerce(k, v) for k, v in overrides.items()}
    if "variant" in checked:
        checked = {**VARIANTS[checked["variant"]], **checked}
    return checked


def get_profile(name: str | Profile | None = "default", **overrides: Any) -> Profile:
    """The profile ``name`` (``ci``, ``default`` or ``full``) with ``overrides`` applied.

    ``name=None`` reads the environment variable ``SBSR_PROFILE`` (``default`` when unset).
    Every field is range-checked (:data:`RANGES`): a bad value raises :class:`ConfigError` with the fix.
    """
    if name is None:
        name = os.environ.get("SBSR_PROFILE") or "default"
    if isinstance(name, Profile):
        return name.replace(**overrides)
    if name not in PROFILES:
        raise ConfigError(f"Unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    base = Profile().replace(**PROFILES[name])
    return base.replace(**overrides)


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """Turn CLI ``key=value`` strings into a dict (values are coerced by :func:`get_profile`)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"Override {pair!r} is not of the form key=value (e.g. epochs=3)")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def default_data_root() -> str:
    """Where datasets live unless told otherwise: ``$SBSR_DATA``; else ``data/`` of the course repository
    containing the working directory (so notebooks in ``notebooks/`` and ``solutions/`` share it); else ``./data``."""
    if os.environ.get("SBSR_DATA"):
        return os.environ["SBSR_DATA"]
    here = os.path.abspath(os.getcwd())
    for folder in [here, *_parents(here)]:
        marker = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(marker) and _is_course_repo(marker):
            return os.path.join(folder, "data")
    return os.path.join(here, "data")


def _is_course_repo(pyproject: str) -> bool:
    try:
        with open(pyproject, encoding="utf-8") as f:
            return 'name = "sbsr_lab"' in f.read()
    except (OSError, UnicodeDecodeError):
        return False


def _parents(path: str) -> list[str]:
    out = []
    while os.path.dirname(path) != path:
        path = os.path.dirname(path)
        out.append(path)
    return out
