"""Calibrated class probabilities and an out-of-distribution signal for sketch queries.

    from sbsr_lab.serve.calibration import calibrate_engine
    cal = calibrate_engine(engine, manifest, profile)   # fitted on the run's validation sketches
    cal.temperature, cal.ood_score, cal.ood_threshold, cal.ece_before, cal.ece_after

Two kinds of uncertainty meet in a query, and one number cannot carry both:

* **noise within the training distribution** (UACTN's sigma): how shaky a drawing *of a known class*
  is; it is trained on noisy sketches of the K classes and knows nothing of other drawings;
* **out of distribution** (this module): a drawing unlike any class (a scribble, text, a mess). A
  cosine classifier still gives it a softmax over the K classes, often a confident one.

**Temperature scaling** (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017): the
displayed probabilities are ``p = softmax(s * cos / T)`` (``s`` the AM-softmax scale, ``cos`` (N, K) the
cosines to the class centres), with the one scalar ``T`` chosen to minimise the negative
log-likelihood of the *validation* sketches (the held-out part of the training sketches,
:func:`sbsr_lab.retrieval.runs.validation_sketches`: ``split_train_val`` with the run's ``val_fraction`` and ``seed``). ``T`` never
changes which class wins, only how sure the displayed numbers are.

**Expected calibration error** (Naeini et al. 2015; Guo et al. 2017), with 15 equal-width confidence
bins ``B_b = ((b-1)/15, b/15]``, confidence = the top probability::

    ECE = sum_b |B_b| / N * | accuracy(B_b) - mean confidence(B_b) |

**OOD scores** (higher = more like a known class), all measured, the best one kept:

* ``max_cosine``: ``max_k cos(z, c_k)``, the similarity to the nearest class centre;
* ``energy``: ``T * logsumexp(s * cos / T)``, the negative free energy (Liu et al., "Energy-based
  Out-of-distribution Detection", NeurIPS 2020);
* ``feature_knn``: the cosine of the backbone features ``f`` (before the embedding head, L2-normalised)
  to their ``k``-th nearest neighbour (``k = 5``) among reference training sketches (Sun et al.,
  "Out-of-Distribution Detection with Deep Nearest Neighbors", ICML 2022). The references are at most
  :data:`MAX_REFERENCE_PER_CLASS` per class of the *training* part of the split (not the validation
  sketches the threshold is chosen on), stored with the model (``<method>_ood.safetensors`` in a bundle).
  The embedding head and the cosine classifier pull every input towards some class centre; the backbone
  features keep more of what the drawing looks like, so scribbles stay far from all training sketches.

Each is measured by its AUROC, validation sketches (positives) against generated scribbles
(:mod:`sbsr_lab.data.scribbles`, seed :data:`FIT_SCRIBBLE_SEED`). The simplest score (in the order above)
within :data:`AUROC_TOLERANCE` of the best is kept: a model trained with outlier exposure
(:class:`sbsr_lab.losses.OutlierExposureLoss`) separates the fit scribbles almost perfectly with every
score (AUROC ~0.997), and then the score that training shaped, ``max_cosine``, flags fewer drawings of
other styles than the untrained feature neighbourhoods (measured: README). The threshold is then chosen on the
same two sets (:func:`choose_threshold`: the most scribbles caught with at most ``max_false_alarm`` of
the validation sketches flagged). It is tested on other scribbles (seed :data:`TEST_SCRIBBLE_SEED`) and
on the test sketches (:func:`ood_report`). A blank canvas never gets here: the query path refuses it.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch
from torch import Tensor

from sbsr_lab.config import Profile
from sbsr_lab.data.datasets import SketchDataset
from sbsr_lab.data.manifest import Manifest
from sbsr_lab.data.scribbles import DOODLE_KINDS, SCRIBBLE_KINDS, scribble_set
from sbsr_lab.io import atomic_path, atomic_write_json
from sbsr_lab.retrieval.runs import validation_sketches
from sbsr_lab.similarity import l2_normalize
from sbsr_lab.train.checkpoint import read_checkpoint_meta
from sbsr_lab.train.stage import get_stage

__all__ = ["Calibration", "OOD_SCORES", "AUROC_TOLERANCE", "N_BINS", "FIT_SCRIBBLE_SEED", "TEST_SCRIBBLE_SEED",
           "expected_calibration_error", "reliability_bins", "fit_temperature", "ood_scores", "auroc",
           "choose_threshold", "fit_calibration", "feature_knn_score", "engine_outputs", "engine_cosines",
           "reference_rows", "write_reference", "read_reference", "validation_set", "split_images", "scribble_images",
           "calibrate_engine", "ood_report", "run_calibration"]

OOD_SCORES = ("max_cosine", "energy", "feature_knn")
N_BINS = 15
FIT_SCRIBBLE_SEED = 1001     # scribbles the threshold is chosen on
TEST_SCRIBBLE_SEED = 2002    # held-out scribbles it is tested on
MAX_FALSE_ALARM = 0.02       # at most this fraction of validation sketches called "not a shape"
AUROC_TOLERANCE = 0.005      # scores this close to the best AUROC count as tied: the simplest one is kept
KNN_K = 5                    # feature_knn: the k-th nearest reference
MAX_REFERENCE_PER_CLASS = 40  # feature_knn: reference training sketches kept per class
CACHE_NAME = "calibration.json"
#: Version of the fitting rule, part of a run's cache key: 2 = the simplest score near the best AUROC
#: (:data:`AUROC_TOLERANCE`; 1 kept the best AUROC outright).
CALIBRATION_VERSION = 2
REFERENCE_CACHE_NAME = "calibration_reference.safetensors"
_T_RANGE = (0.01, 100.0)


@dataclass
class Calibration:
    """A method's temperature and OOD detector, as stored in ``bundle.json`` (per method) or a run's cache.

    ``ood_threshold``: a drawing whose ``ood_score`` is *below* it is out of distribution. ``auroc``:
    each score's AUROC (validation sketches vs fit scribbles); ``ece_before/after``: on the validation
    sketches at ``T = 1`` and at ``temperature``. ``reference`` (not in the JSON; a tensor file beside
    it): the ``(R, F)`` unit backbone features of ``feature_knn``.
    """

    temperature: float
    ood_score: str
    ood_threshold: float
    ece_before: float
    ece_after: float
    auroc: dict[str, float] = field(default_factory=dict)
    n_val: int = 0
    n_scribbles: int = 0
    knn_k: int = KNN_K
    reference: Tensor | None = field(default=None, repr=False, compare=False)

    def probabilities(self, cos: Tensor, am_scale: float) -> Tensor:
        """Calibrated class probabilities ``softmax(s * cos / T)``; ``cos (..., K)``."""
        return torch.softmax(am_scale * cos / self.temperature, dim=-1)

    def score(self, cos: Tensor, am_scale: float, features: Tensor | None = None) -> Tensor:
        """This detector's OOD score of ``cos (N, K)`` (and backbone ``features (N, F)`` for
        ``feature_knn``) -> ``(N,)``, higher = more like a known class."""
        if self.ood_score == "feature_knn":
            if features is None or self.reference is None:
                raise ValueError("the feature_knn detector needs the backbone features and its reference features")
            return feature_knn_score(features, self.reference, self.knn_k)
        return ood_scores(cos, am_scale, self.temperature)[self.ood_score]

    def is_ood(self, score: float | Tensor) -> Any:
        """True where a score is below the threshold (``does not look like any class``)."""
        return score < self.ood_threshold

    def flags(self, cos: Tensor, am_scale: float, features: Tensor | None = None) -> np.ndarray:
        """``(N,)`` bool: which rows of ``cos (N, K)`` (and ``features (N, F)``) are out of distribution."""
        return self.is_ood(self.score(cos, am_scale, features)).numpy()

    def to_json(self) -> dict[str, Any]:
        """The JSON fields (everything but ``reference``)."""
        return {k: v for k, v in asdict(self).items() if k != "reference"}

    @classmethod
    def from_json(cls, obj: Any, where: str) -> "Calibration":
        """Read (and check: types, ranges, the score kind) a calibration object; ``ValueError`` naming ``where``."""
        def bad(key: str, want: str) -> ValueError:
            return ValueError(f"{where}.{key} {want}")

        def number(key: str, low: float, high: float) -> float:
            v = obj.get(key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not low <= v <= high:
                raise bad(key, f"is {str(v)[:20]}; it must be a number in [{low:g}, {high:g}]")
            return float(v)

        if not isinstance(obj, dict):
            raise ValueError(f"{where} must be an object")
        kind = obj.get("ood_score")
        if kind not in OOD_SCORES:
            raise bad("ood_score", f"is {str(kind)[:40]!r}, not one of {', '.join(OOD_SCORES)}")
        auroc_obj = obj.get("auroc", {})
        if not isinstance(auroc_obj, dict) or not set(auroc_obj) <= set(OOD_SCORES):
            raise bad("auroc", f"must be an object with keys among {', '.join(OOD_SCORES)}")
        counts = {}
        for key, low, default in (("n_val", 0, 0), ("n_scribbles", 0, 0), ("knn_k", 1, KNN_K)):
            v = obj.get(key, default)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= 10_000_000:
                raise bad(key, f"is {str(v)[:20]}; it must be a count")
            counts[key] = v
        bound = 1.0 if kind != "energy" else 1e6
        return cls(temperature=number("temperature", *_T_RANGE), ood_score=kind,
                   ood_threshold=number("ood_threshold", -bound, bound),
                   ece_before=number("ece_before", 0, 1), ece_after=number("ece_after", 0, 1),
                   auroc={k: _unit(auroc_obj[k], f"{where}.auroc.{k}") for k in auroc_obj}, **counts)


def _unit(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 1:
        raise ValueError(f"{where} is {str(v)[:20]}; it must be a number in [0, 1]")
    return float(v)


class EngineLike(Protocol):
    """What calibration needs of a :class:`sbsr_lab.serve.query.QueryEngine` (not imported here: the
    engine imports this module)."""

    sketch_size: int
    image_size: int
    am_scale: float

    def class_cosines(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None, Tensor]: ...

    def prepare(self, sketch: Any) -> np.ndarray: ...


# -- measures --------------------------------------------------------------------------------------------

def reliability_bins(probs: Tensor, labels: Tensor, n_bins: int = N_BINS) -> dict[str, np.ndarray]:
    """Per confidence bin (``n_bins`` equal-width bins of (0, 1]): ``count``, mean ``confidence`` and
    ``accuracy`` (NaN in empty bins), and the bin ``edges`` (n_bins + 1). ``probs (N, K)``, ``labels (N,)``."""
    conf, pred = probs.double().max(dim=1)
    correct = (pred == labels).double()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds confidences in (edges[b], edges[b+1]]
    idx = np.clip(np.searchsorted(edges, conf.numpy(), side="left") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(idx, conf.numpy(), n_bins) / count
        accuracy = np.bincount(idx, correct.numpy(), n_bins) / count
    return {"edges": edges, "count": count, "confidence": confidence, "accuracy": accuracy}


def expected_calibration_error(probs: Tensor, labels: Tensor, n_bins: int = N_BINS) -> float:
    """ECE (module docstring) of ``probs (N, K)`` against ``labels (N,)``, ``n_bins`` equal-width bins."""
    b = reliability_bins(probs, labels, n_bins)
    full = b["count"] > 0
    gap = np.abs(b["accuracy"][full] - b["confidence"][full])
    return float((b["count"][full] * gap).sum() / max(int(b["count"].sum()), 1))


def fit_temperature(logits: Tensor, labels: Tensor, bounds: tuple[float, float] = _T_RANGE) -> float:
    """The ``T`` minimising ``NLL(softmax(logits / T), labels)``; ``logits (N, K)``. The NLL is convex
    in ``1/T``; searched over ``log T`` in ``bounds`` (bounded Brent, scipy)."""
    from scipy.optimize import minimize_scalar

    x, y = logits.double(), labels.long()

    def nll(log_t: float) -> float:
        return float(torch.nn.functional.cross_entropy(x / math.exp(log_t), y))

    res = minimize_scalar(nll, bounds=(math.log(bounds[0]), math.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-5})
    return float(math.exp(res.x))


def ood_scores(cos: Tensor, am_scale: float, temperature: float = 1.0, features: Tensor | None = None,
               reference: Tensor | None = None, k: int = KNN_K) -> dict[str, Tensor]:
    """The OOD scores of ``cos (N, K)`` (module docstring), each ``(N,)``; higher = more like a known class.
    ``feature_knn`` only when backbone ``features (N, F)`` and the ``reference (R, F)`` are given."""
    cos = cos.double()
    out = {"max_cosine": cos.max(dim=1).values,
           "energy": temperature * torch.logsumexp(am_scale * cos / temperature, dim=1)}
    if features is not None and reference is not None:
        out["feature_knn"] = feature_knn_score(features, reference, k)
    return out


def feature_knn_score(features: Tensor, reference: Tensor, k: int = KNN_K) -> Tensor:
    """Cosine of each row of ``features (N, F)`` to its ``k``-th nearest row of ``reference (R, F)``
    (both L2-normalised here) -> ``(N,)``; ``k`` is capped at ``R``."""
    if features.shape[1] != reference.shape[1]:
        raise ValueError(f"features have {features.shape[1]} dimensions, the OOD reference {reference.shape[1]}")
    sim = l2_normalize(features.double()) @ l2_normalize(reference.double()).T  # (N, R)
    return sim.topk(min(k, sim.shape[1]), dim=1).values[:, -1]


def auroc(positive: Tensor | np.ndarray, negative: Tensor | np.ndarray) -> float:
    """Area under the ROC curve of scores (positives should score higher): the Mann-Whitney U / (n_p n_n),
    ties counted half."""
    from scipy.stats import rankdata

    p, n = np.asarray(positive, np.float64).ravel(), np.asarray(negative, np.float64).ravel()
    if not len(p) or not len(n):
        return float("nan")
    ranks = rankdata(np.concatenate([p, n]))
    return float((ranks[: len(p)].sum() - len(p) * (len(p) + 1) / 2) / (len(p) * len(n)))


def choose_threshold(positive: Tensor | np.ndarray, negative: Tensor | np.ndarray,
                     max_false_alarm: float = MAX_FALSE_ALARM) -> float:
    """The threshold ``t`` (``score < t`` = out of distribution) that catches the most ``negative`` scores
    while flagging at most ``max_false_alarm`` (default 2%) of the ``positive`` ones; maximises
    ``caught - false alarms`` among those, and takes the middle one of the best cut points (margin on
    both sides). Cut points are midpoints between consecutive distinct scores."""
    p, n = np.asarray(positive, np.float64).ravel(), np.asarray(negative, np.float64).ravel()
    values = np.unique(np.concatenate([p, n]))
    if len(values) < 2:
        return float(values[0]) if len(values) else 0.0
    cuts = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2])
    false_alarm = (p[None, :] < cuts[:, None]).mean(1)
    caught = (n[None, :] < cuts[:, None]).mean(1) if len(n) else np.zeros(len(cuts))
    ok = false_alarm <= max_false_alarm + 1e-12
    gain = np.where(ok, caught - false_alarm, -np.inf)
    best = np.flatnonzero(gain >= gain.max() - 1e-12)
    return float(cuts[best[len(best) // 2]])


def fit_calibration(val_cos: Tensor, val_labels: Tensor, scribble_cos: Tensor, am_scale: float,
                    max_false_alarm: float = MAX_FALSE_ALARM, val_features: Tensor | None = None,
                    scribble_features: Tensor | None = None, reference: Tensor | None = None,
                    k: int = KNN_K) -> Calibration:
    """Temperature, ECE before/after and the OOD detector (the score of the highest AUROC, its threshold).

    ``val_cos (N, K)`` of validation sketches with ``val_labels (N,)``; ``scribble_cos (M, K)`` of non-shapes;
    with their backbone features ``(N, F)``, ``(M, F)`` and the ``reference (R, F)``, ``feature_knn`` competes too.
    """
    logits = am_scale * val_cos.double()
    t = fit_temperature(logits, val_labels)
    before = expected_calibration_error(torch.softmax(logits, 1), val_labels)
    after = expected_calibration_error(torch.softmax(logits / t, 1), val_labels)
    sv = ood_scores(val_cos, am_scale, t, val_features, reference, k)
    ss = ood_scores(scribble_cos, am_scale, t, scribble_features, reference, k)
    aurocs = {name: round(auroc(sv[name], ss[name]), 6) for name in sv}
    best = max(aurocs.values())
    kind = next(name for name in OOD_SCORES if name in aurocs and aurocs[name] >= best - AUROC_TOLERANCE)
    threshold = choose_threshold(sv[kind], ss[kind], max_false_alarm)
    ref = l2_normalize_rows(reference) if kind == "feature_knn" and reference is not None else None
    return Calibration(round(t, 6), kind, round(threshold, 6), round(before, 6), round(after, 6), aurocs,
                       int(len(val_labels)), int(len(scribble_cos)), k, ref)


def l2_normalize_rows(x: Tensor) -> Tensor:
    """``x (R, F)`` with unit rows, float32 (what a reference file stores)."""
    return l2_normalize(x.float(), dim=1).contiguous()


# -- data for a model ------------------------------------------------------------------------------------

@torch.no_grad()
def engine_outputs(engine: EngineLike, images: Tensor, batch_size: int = 128) -> tuple[Tensor, Tensor]:
    """``(cosines to the class centres (N, K), backbone features (N, F))`` of ``images (N, 1, H, W)``
    (ink = 1, the network's input size)."""
    cos, feats = [], []
    for i in range(0, len(images), batch_size):
        _, c, _, f = engine.class_cosines(images[i:i + batch_size])
        cos.append(c.double())
        feats.append(f.float())
    return torch.cat(cos), torch.cat(feats)


def engine_cosines(engine: EngineLike, images: Tensor, batch_size: int = 128) -> Tensor:
    """Cosines ``(N, K)`` of ``images (N, 1, H, W)`` to the class centres."""
    return engine_outputs(engine, images, batch_size)[0]


def validation_set(manifest: Manifest, profile: Any, part: str = "val") -> tuple[Tensor, Tensor]:
    """``(images (N, 1, H, W), labels (N,))``: the training sketches the run held out for validation
    (:func:`~sbsr_lab.retrieval.runs.validation_sketches`), un-augmented, at the profile's ``image_size``;
    ``part="train"``: the ones it trained on."""
    sketches = validation_sketches(manifest, profile, part)
    return sketches.images.unsqueeze(1).float().div(255.0), sketches.labels


def reference_rows(labels: Tensor, per_class: int = MAX_REFERENCE_PER_CLASS, seed: int = 0) -> list[int]:
    """At most ``per_class`` rows of each class (a seeded draw, sorted): the ``feature_knn`` references."""
    rng = np.random.default_rng([seed, 31])
    rows: list[int] = []
    for k in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == k).flatten().numpy()
        rows += sorted(rng.choice(idx, size=min(per_class, len(idx)), replace=False).tolist())
    return sorted(rows)


def split_images(manifest: Manifest, split: str, image_size: int) -> tuple[Tensor, Tensor]:
    """``(images (N, 1, H, W), labels (N,))`` of the ``split`` sketches, un-augmented."""
    ds = SketchDataset(manifest, split, image_size)
    return ds.images.unsqueeze(1).float().div(255.0), ds.labels


def scribble_images(engine: EngineLike, n: int, seed: int,
                    kinds: Sequence[str] | None = None) -> tuple[Tensor, list[str]]:
    """``n`` generated non-shapes drawn by the engine's query path (``engine.prepare``, as the live pad
    draws): ``(images (n, 1, image_size, image_size), kinds)``."""
    images, names = [], []
    for kind, strokes in scribble_set(n, seed, kinds or SCRIBBLE_KINDS):
        images.append(engine.prepare(strokes))
        names.append(kind)
    return torch.from_numpy(np.stack(images)).unsqueeze(1), names


def calibrate_engine(engine: EngineLike, manifest: Manifest, profile: Any, n_scribbles: int = 280,
                     max_false_alarm: float = MAX_FALSE_ALARM) -> Calibration:
    """Fit ``engine``'s calibration on ``manifest``'s validation sketches (split by ``profile``, the
    profile of the run that trained the sketch network), ``n_scribbles`` scribbles, and (``feature_knn``)
    reference features of at most :data:`MAX_REFERENCE_PER_CLASS` training sketches per class."""
    images, labels = validation_set(manifest, profile)
    train_images, train_labels = validation_set(manifest, profile, part="train")
    reference = engine_outputs(engine, train_images[reference_rows(train_labels, seed=profile.seed)])[1]
    scribbles, _ = scribble_images(engine, n_scribbles, FIT_SCRIBBLE_SEED)
    (vc, vf), (sc, sf) = engine_outputs(engine, images), engine_outputs(engine, scribbles)
    return fit_calibration(vc, labels, sc, engine.am_scale, max_false_alarm, vf, sf, reference)


def ood_report(engine: EngineLike, calibration: Calibration, manifest: Manifest,
               n_scribbles: int = 280, extra: dict[str, Tensor] | None = None, n_doodles: int = 120) -> dict[str, Any]:
    """How the detector does on data it was not fitted on: the fraction of held-out scribbles caught
    (the true positive rate, overall and per kind: other draws of the kinds it was fitted on), of
    ``n_doodles`` doodles of kinds it never saw (:data:`~sbsr_lab.data.scribbles.DOODLE_KINDS`: smileys,
    printed words, glasses, crowns, keys, envelopes), of test sketches flagged (the false positive
    rate) and the test sketches' ECE before/after the temperature. ``extra``: more sketch sets
    ``name -> images (N, 1, H, W)`` whose flagged fraction is reported too (e.g. people's drawings)."""
    scribbles, kinds = scribble_images(engine, n_scribbles, TEST_SCRIBBLE_SEED)
    timages, tlabels = split_images(manifest, "test", engine.image_size)
    (s_cos, s_f), (t_cos, t_f) = engine_outputs(engine, scribbles), engine_outputs(engine, timages)
    s_flag, t_flag = calibration.flags(s_cos, engine.am_scale, s_f), calibration.flags(t_cos, engine.am_scale, t_f)
    ref, kk, temp = calibration.reference, calibration.knn_k, calibration.temperature
    logits = engine.am_scale * t_cos
    report: dict[str, Any] = {
        "score": calibration.ood_score, "threshold": calibration.ood_threshold,
        "tpr_scribbles": float(s_flag.mean()), "tpr_per_kind": _share_per_kind(s_flag, kinds),
        "n_per_kind": dict(Counter(kinds)),
        "fpr_test_sketches": float(t_flag.mean()), "n_scribbles": len(kinds), "n_test": len(tlabels),
        "ece_test_before": expected_calibration_error(torch.softmax(logits, 1), tlabels),
        "ece_test_after": expected_calibration_error(torch.softmax(logits / calibration.temperature, 1), tlabels),
        "auroc_test": {k: auroc(v, ood_scores(s_cos, engine.am_scale, temp, s_f, ref, kk)[k])
                       for k, v in ood_scores(t_cos, engine.am_scale, temp, t_f, ref, kk).items()},
    }
    if n_doodles:
        doodles, dkinds = scribble_images(engine, n_doodles, TEST_SCRIBBLE_SEED, DOODLE_KINDS)
        d_cos, d_f = engine_outputs(engine, doodles)
        d_flag = calibration.flags(d_cos, engine.am_scale, d_f)
        report["tpr_doodles"] = float(d_flag.mean())
        report["tpr_doodles_per_kind"] = _share_per_kind(d_flag, dkinds)
    for name, images in (extra or {}).items():
        cos, feats = engine_outputs(engine, images)
        report[f"fpr_{name}"] = float(calibration.flags(cos, engine.am_scale, feats).mean())
    return report


def _share_per_kind(flags: np.ndarray, kinds: Sequence[str]) -> dict[str, float]:
    """The flagged share of each kind, in the order the kinds first appear: ``flags (N,)`` bool, ``kinds`` (N)."""
    names = np.asarray(kinds)
    return {k: float(flags[names == k].mean()) for k in dict.fromkeys(kinds)}


# -- run folders: computed on load, cached ----------------------------------------------------------------

def _fingerprint(files: Sequence[Path], manifest: Manifest) -> str:
    h = hashlib.sha256(f"calibration {CALIBRATION_VERSION}".encode())  # a changed fitting rule refits
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    h.update(str(Path(manifest.root).resolve()).encode())
    mpath = Path(manifest.root) / "manifest.json"
    if mpath.is_file():
        h.update(mpath.read_bytes())
    return h.hexdigest()


def run_calibration(engine: EngineLike, manifest: Manifest, runs: dict[str, str],
                    cache: str | Path | None = None) -> Calibration | None:
    """The calibration of a run folder's method: read from ``cache`` (default ``<last run>/calibration.json``)
    when it was computed for the same checkpoints and dataset, else fitted now and cached (atomically;
    a read-only run folder is simply not cached). ``runs``: stage -> run folder
    (:attr:`~sbsr_lab.train.runs.MethodNets.runs`, the last stage first). ``None`` when the run's profile
    holds out no validation sketches."""
    import json

    folders = [Path(r) for r in runs.values()]
    cache = Path(cache) if cache is not None else folders[0] / CACHE_NAME
    ref_file = cache.with_name(REFERENCE_CACHE_NAME)
    key = _fingerprint([f / "best.safetensors" for f in folders if (f / "best.safetensors").is_file()], manifest)
    try:
        doc = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("key") == key:
            cal = Calibration.from_json(doc.get("calibration"), str(cache))
            if cal.ood_score == "feature_knn":
                cal.reference = read_reference(ref_file)
            return cal
    except (OSError, ValueError):
        pass  # no cache, or a damaged one: computed again below
    # the split of the run that trained the sketch network (its val_fraction and seed)
    sketch_run = next((r for stage, r in runs.items() if get_stage(stage).modality in ("sketch", "both")),
                      next(iter(runs.values())))
    profile = Profile.from_dict(read_checkpoint_meta(sketch_run, "best")["profile"])
    if profile.val_fraction <= 0:
        return None
    cal = calibrate_engine(engine, manifest, profile)
    try:
        if cal.reference is not None:
            write_reference(ref_file, cal.reference)
        atomic_write_json(cache, {"key": key, "calibration": cal.to_json()})
    except OSError:
        pass
    return cal


def write_reference(path: str | Path, reference: Tensor) -> None:
    """Save ``feature_knn`` reference features ``(R, F)`` as float16 safetensors, atomically."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({"reference": reference.detach().cpu().half().contiguous()}, str(tmp))


def read_reference(path: str | Path, max_rows: int = 1_000_000) -> Tensor:
    """The ``(R, F)`` reference features of ``path`` (float32, unit rows); ``ValueError`` for a file that is
    not one (wrong tensors, shape, dtype, or non-finite values). Nothing is unpickled."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            if list(f.keys()) != ["reference"]:
                raise ValueError(f"{path} holds {list(f.keys())[:4]}, not one 'reference' tensor")
            shape = f.get_slice("reference").get_shape()
            if len(shape) != 2 or not (1 <= shape[0] <= max_rows and 1 <= shape[1] <= 65536):
                raise ValueError(f"{path}: the reference is {shape}, not (rows, features)")
            ref = f.get_tensor("reference")
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{path} is not a readable reference file ({str(err)[:100]})") from None
    if not ref.is_floating_point() or not bool(torch.isfinite(ref).all()):
        raise ValueError(f"{path}: the reference features must be finite floats")
    return l2_normalize_rows(ref)
