"""Query a trained method with one sketch: the engine behind ``sbsr-lab query``, the widget and the app.

    from sbsr_lab.serve.engine import load_engine
    engine = load_engine()                          # the model shipped inside the package (a QueryEngine)
    result = engine.query("my_chair.png", k=10)     # or strokes, or an image array (ink = 1)
    result.predicted_class, result.uncertainty, result.results[0]

A query goes through exactly the preprocessing of training: strokes are rasterised by
:func:`sbsr_lab.data.strokes.strokes_to_image` at the dataset's sketch size (after fitting their
bounding box into the canvas, as the generator does), then box-resized to the network's input size.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from sbsr_lab.config import Profile
from sbsr_lab.data.datasets import MultiViewDataset, resize_u8
from sbsr_lab.data.manifest import Manifest
from sbsr_lab.data.sketch_image import frame_drawing, frame_sketch, load_framed_sketch
from sbsr_lab.errors import CheckpointError, SketchError
from sbsr_lab.models.protocol import predicts_sigma
from sbsr_lab.retrieval.best_view import ShapeViews
from sbsr_lab.retrieval.runs import embed_shapes
from sbsr_lab.serve.calibration import Calibration, run_calibration
from sbsr_lab.serve.index import GalleryIndex
from sbsr_lab.serve.result import QueryResult
from sbsr_lab.similarity import l2_normalize
from sbsr_lab.train.runs import MethodNets

__all__ = ["QueryEngine", "build_engine", "prepare_query_image"]


def prepare_query_image(sketch: Any, sketch_size: int, image_size: int, width: float | None = None) -> np.ndarray:
    """Any sketch -> the network's input ``(image_size, image_size)`` float32, ink = 1.

    ``sketch`` may be strokes (list of (N, 2) arrays in [0, 1]^2), a path (.png/.jpg/.ndjson/.svg), or an
    image array ``(H, W)`` with ink = 1. Blank sketches raise :class:`SketchError` ("draw something first").
    """
    if isinstance(sketch, (str, Path)):
        image = load_framed_sketch(sketch, sketch_size, width)  # framed like training sketches
    elif isinstance(sketch, np.ndarray) and sketch.ndim == 2 and sketch.shape[0] > 2 and sketch.shape[1] > 2:
        image = frame_sketch(np.clip(sketch.astype(np.float32), 0, 1), sketch_size, width)
    else:
        strokes = [np.asarray(s, dtype=np.float32).reshape(-1, 2) for s in (sketch or [])]
        strokes = [s for s in strokes if len(s)]
        if not strokes:
            raise SketchError("The sketch is empty: draw something first.")
        image = frame_drawing(strokes, sketch_size, width=width)
    if float(image.max(initial=0.0)) < 0.05:
        raise SketchError("The sketch is blank (no ink): draw something first.")
    if image.shape != (image_size, image_size):  # exactly the resize of the training images
        image = resize_u8(image, image_size).astype(np.float32) / 255
    return image


class QueryEngine:
    """A sketch network plus an index of gallery embeddings, ready to answer sketches.

    Args:
        method: ``cfttsl``, ``uactn`` or ``joint``.
        sketch_net: the method's sketch network (eval mode); ``embed`` gives unit z (mu for UACTN).
        index: :class:`GalleryIndex` of the gallery shapes (ids, labels = class names, thumbnails).
        class_names: the K classes, in the classifier's order.
        sketch_size, image_size: raster size of the dataset's sketches and the network's input size.
        am_scale: s of AM-softmax, used to turn cosines to the centres into class probabilities.
        shapes: per gallery id, how to get its mesh back (``{"class", "index", "seed"}`` for SynthShapes,
            or ``{"mesh": path}``); used by the 3D view of the widget.
        calibration: the temperature of the displayed probabilities and the out-of-distribution detector
            (:class:`~sbsr_lab.serve.calibration.Calibration`); ``None``: ``T = 1`` and no detector.
    """

    def __init__(self, method: str, sketch_net: nn.Module, index: GalleryIndex, class_names: Sequence[str],
                 sketch_size: int, image_size: int, am_scale: float = 15.0,
                 shapes: dict[str, dict[str, Any]] | None = None, calibration: Calibration | None = None) -> None:
        self.method, self.sketch_net, self.index = method, sketch_net.eval(), index
        self.class_names = list(class_names)
        self.sketch_size, self.image_size, self.am_scale = sketch_size, image_size, am_scale
        self.shapes = shapes or {}
        self.calibration = calibration
        self.views: ShapeViews | None = None  # per-view gallery embeddings: each result's best view
        if calibration is not None and calibration.reference is not None:
            self._check_reference(calibration.reference)

    def _check_reference(self, reference: Tensor) -> None:
        """The OOD reference features must have the backbone's width (one blank image through the network)."""
        feats = self.class_cosines(torch.zeros(1, 1, self.image_size, self.image_size))[3]
        if reference.ndim != 2 or reference.shape[1] != feats.shape[1]:
            raise CheckpointError(f"The {self.method} model's OOD reference features are {tuple(reference.shape)}, "
                                  f"but its backbone gives {feats.shape[1]} features. Export the bundle again "
                                  "(`export_bundle`) or delete the run's calibration files.")

    @property
    def has_uncertainty(self) -> bool:
        return predicts_sigma(self.sketch_net)

    @property
    def temperature(self) -> float:
        return self.calibration.temperature if self.calibration is not None else 1.0

    @torch.no_grad()
    def class_cosines(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
        """``x (N, 1, H, W)`` ink = 1 -> ``(z (N, d), cosines to the class centres (N, K), sigma (N,) or None,
        backbone features (N, F))``."""
        net = self.sketch_net
        feats = net.forward_features(x)
        if self.has_uncertainty:
            z, log_var = net.head(feats)
            sigma: Tensor | None = log_var.mul(0.5).exp().mean(1)
        else:
            z, sigma = net.head(feats), None
        return z, l2_normalize(z) @ net.classifier.centres.T, sigma, feats.flatten(1)

    @torch.no_grad()
    def embed(self, image: np.ndarray) -> tuple[Tensor, Tensor, float | None]:
        """``image (H, W)`` ink = 1 -> ``(z (d,), calibrated class probabilities (K,), sigma or None)``."""
        z, probs, sigma, _ = self._embed(image)
        return z, probs, sigma

    def _embed(self, image: np.ndarray) -> tuple[Tensor, Tensor, float | None, dict[str, Any] | None]:
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]  # (1, 1, H, W)
        z, cos, sigma, feats = self.class_cosines(x)
        probs = torch.softmax(self.am_scale * cos.double() / self.temperature, dim=1)[0]
        ood = None
        if self.calibration is not None:
            score = float(self.calibration.score(cos, self.am_scale, feats)[0])
            ood = {"score": round(score, 6), "score_kind": self.calibration.ood_score,
                   "threshold": self.calibration.ood_threshold, "is_ood": bool(self.calibration.is_ood(score))}
        return z[0], probs, None if sigma is None else float(sigma[0]), ood

    def thumbnails_of(self, result: QueryResult) -> list[str | None]:
        """The gallery thumbnail path of each shape of ``result.results``, in order (None where it has none)."""
        where = {sid: i for i, sid in enumerate(self.index.ids)}
        return [self.index.thumbnails[where[r["id"]]] if r["id"] in where else None for r in result.results]

    def prepare(self, sketch: Any, width: float | None = None) -> np.ndarray:
        """The network input of a sketch (:func:`prepare_query_image` at this model's sizes)."""
        return prepare_query_image(sketch, self.sketch_size, self.image_size, width)

    def query(self, sketch: Any, k: int = 10, width: float | None = None) -> QueryResult:
        """Rank the gallery for one sketch (strokes, file path or image); returns the top ``k``."""
        t0 = time.perf_counter()
        image = self.prepare(sketch, width)
        z, probs, sigma, ood = self._embed(image)
        scores, indices = self.index.search(z[None], k=min(k, len(self.index)))
        results = [{"rank": r + 1, "id": rec["id"], "class": rec.get("label"), "score": round(float(rec["score"]), 6)}
                   for r, rec in enumerate(self.index.records(indices[0], scores[0]))]
        if self.views is not None:  # the rendered view of each shape closest to the sketch (best_view.py)
            for res, view in zip(results, self.views.best(z, indices[0])):
                res["view"] = view
        top = int(torch.argmax(probs))
        return QueryResult(self.method, self.class_names[top],
                           {c: round(float(p), 6) for c, p in zip(self.class_names, probs)},
                           sigma, results, z.numpy(), time.perf_counter() - t0, ood, self.temperature)


def build_engine(nets: MethodNets, manifest: Manifest, device: str = "cpu", calibrate: bool = True) -> QueryEngine:
    """The engine of loaded networks (:func:`~sbsr_lab.train.runs.load_method`): the gallery of ``manifest``
    embedded now by the shape network; with ``calibrate``, the temperature and OOD detector fitted on the
    run's validation sketches (cached in the run folder, :func:`~sbsr_lab.serve.calibration.run_calibration`).
    To load a model by its spec, use :func:`sbsr_lab.serve.engine.load_engine`."""
    profile = Profile.from_dict(nets.profile)
    gallery = MultiViewDataset(manifest, profile.image_size, profile.num_views, profile.view_style, split="test")
    zg = embed_shapes(nets.shape, gallery, device)
    thumbs = [str(manifest.view_path(i)) for i in gallery.ids]
    index = GalleryIndex(zg, ids=gallery.ids, labels=[manifest.classes[int(y)] for y in gallery.labels],
                         thumbnails=thumbs, normalized=True)
    shapes = {s.id: _shape_source(s, manifest) for s in manifest.shapes}
    engine = QueryEngine(nets.method, nets.sketch.cpu(), index, manifest.classes,
                         int(manifest.profile.get("sketch_size", 128)), profile.image_size, profile.am_scale, shapes)
    if calibrate:
        engine.calibration = run_calibration(engine, manifest, nets.runs)
    return engine


def _shape_source(rec: Any, manifest: Any) -> dict[str, Any]:
    """How to rebuild a gallery mesh: SynthShapes ids are (class, index, seed[, shape set]), others a mesh path."""
    if manifest.name == "synthshapes":
        shape_set = str(manifest.profile.get("shape_set", "base"))
        return {"class": rec.cls, "index": int(rec.id.rsplit("_", 1)[1]), "seed": int(manifest.profile.get("seed", 0)),
                **({"shape_set": shape_set} if shape_set != "base" else {})}
    return {"mesh": str(manifest.path(rec.mesh))}
