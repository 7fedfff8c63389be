"""A mesh as it comes -> one gallery embedding: stand it up, look at it from a ring, embed the views.

Two encoders, one interface (``encode(mesh) -> EncodedShape``):

``"drawn"`` (:class:`DrawnViewEncoder`, the default of ``sbsr-lab index``)
    Each view is *drawn*: the mesh's visible lines from a camera (the sketch generator's
    :func:`~sbsr_lab.data.sketchgen.styles.style_lines`), thinned and framed with the pen of a query
    drawing (:func:`~sbsr_lab.data.sketch_image.frame_line_image`; ``trace=True``: traced into strokes and
    framed exactly as a query is, slower); the method's **sketch network** embeds every drawing
    and the unit mean of the V embeddings is the shape's. Shapes then live where drawings live, so a
    model trained on SynthShapes meets real meshes through the domain it generalises best in (people's
    drawings), not through shaded renders of primitives.
``"shaded"`` (:class:`ShadedViewEncoder`)
    The method's trained multi-view **shape network** on the rig's shaded views, as for SynthShapes.

Orientation (``orient``, :data:`~sbsr_lab.render.orient.ORIENT_MODES`): ``"file"`` keeps the file's +Y,
``"pca"`` applies upright PCA, ``"auto"`` renders every candidate of
:func:`~sbsr_lab.render.orient.up_candidates` with :data:`CANDIDATE_VIEWS` views and keeps the one the
model is most sure of (:func:`up_confidence`: the negative entropy of its mean class probabilities), the
file's +Y getting :data:`FILE_UP_PRIOR` extra. Chosen on the dev meshes and on SynthShapes turned at
random (docs/experiments.md, issue 28).

    >>> enc = DrawnViewEncoder(load_engine("bundle:uactn"))          # doctest: +SKIP
    >>> shape = enc.encode(load_mesh("chair.obj")); shape.embedding.shape, shape.up   # doctest: +SKIP
    ((128,), '+Y')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import trimesh
from torch import Tensor

from sbsr_lab.data.datasets import resize_u8
from sbsr_lab.data.sketch_image import frame_line_image
from sbsr_lab.data.sketchgen.styles import rig_lines
from sbsr_lab.data.sketchgen.tracing import trace_strokes
from sbsr_lab.errors import MeshError, SketchError
from sbsr_lab.models.protocol import PerViewNetwork, satisfies
from sbsr_lab.render.cameras import Camera, ring_rig
from sbsr_lab.render.normalize import normalize_mesh
from sbsr_lab.render.orient import ORIENT_MODES, stand_up, up_candidates
from sbsr_lab.render.raycast import render_views
from sbsr_lab.retrieval.best_view import head_per_view
from sbsr_lab.similarity import l2_normalize

__all__ = ["ENCODERS", "FILE_UP_PRIOR", "CANDIDATE_VIEWS", "EncodedShape", "DrawnViewEncoder", "ShadedViewEncoder",
           "make_encoder", "choose_up", "up_confidence"]

#: Shape encoders ``sbsr-lab index --encoder`` offers.
ENCODERS: tuple[str, ...] = ("drawn", "shaded")
#: Extra confidence (in nats of entropy) the file's own +Y gets in ``orient="auto"`` (many files are Y-up:
#: a model must be this much surer of another axis to turn the mesh). Chosen on the dev meshes and rotated
#: SynthShapes (0 to 0.1 measured the same; 0.2 starts turning fewer meshes that lie on their side).
FILE_UP_PRIOR = 0.05
#: Views per orientation candidate in ``orient="auto"`` (the chosen one is then rendered with all views).
CANDIDATE_VIEWS = 4


@dataclass
class EncodedShape:
    """One mesh through an encoder.

    Attributes:
        embedding: ``(d,)`` unit float32, the gallery row.
        view_embeddings: ``(V, d)`` unit float32, one per view (which view a sketch matches best).
        probabilities: ``(K,)`` the model's mean class probabilities over the views.
        up: the candidate chosen as up (``"+Y"``, ``"-Z"``, ``"pca1+"``...).
        up_scores: ``{candidate: confidence}`` (:func:`up_confidence`) of every candidate tried
            (``orient="auto"``), else of the one used.
        views_seen: ``(V, s, s)`` uint8, what the encoder fed its network (ink/shape = 255).
        up_vector: the file's direction turned to +Y (``None``: not turned, ``orient`` file or pca).
    """

    embedding: np.ndarray
    view_embeddings: np.ndarray
    probabilities: np.ndarray
    up: str
    up_scores: dict[str, float] = field(default_factory=dict)
    views_seen: np.ndarray | None = None
    up_vector: np.ndarray | None = None


def up_confidence(probabilities: Tensor) -> float:
    """How sure the model is of a candidate orientation: the negative entropy (nats, <= 0) of the mean of
    its views' class probabilities ``(V, K)``. Measured against the largest mean probability, the vote
    share and the top-two margin on the dev meshes and rotated SynthShapes: the best of them."""
    mean = probabilities.double().mean(0)
    return float((mean * torch.log(mean.clamp_min(1e-12))).sum())


def choose_up(scores: dict[str, float], prior: float = FILE_UP_PRIOR) -> str:
    """The candidate with the highest confidence, ``+Y`` counted ``prior`` higher (first wins a tie)."""
    if not scores:
        raise ValueError("choose_up needs at least one scored candidate")
    return max(scores, key=lambda name: scores[name] + (prior if name == "+Y" else 0.0))


class _Encoder:
    """Orientation handling shared by the encoders; subclasses implement :meth:`_views` and :meth:`_embed`."""

    def __init__(self, num_classes: int, am_scale: float, temperature: float, views: int, elevation: float,
                 orient: str, prior: float) -> None:
        if orient not in ORIENT_MODES:
            raise ValueError(f"orient={orient!r}: choose one of {', '.join(ORIENT_MODES)}")
        if views < 1:
            raise ValueError(f"views must be at least 1, got {views}")
        self.num_classes, self.am_scale, self.temperature = num_classes, am_scale, temperature
        self.rig = ring_rig(views, elevation_deg=elevation)
        self.candidate_rig = ring_rig(min(CANDIDATE_VIEWS, views), elevation_deg=elevation)
        self.orient, self.prior = orient, prior

    def _views(self, mesh: trimesh.Trimesh, rig: list[Camera]) -> tuple[Tensor, list[int]]:
        """The network inputs ``(n, 1, H, W)`` of the cameras that see something, and their indices in ``rig``."""
        raise NotImplementedError

    def _embed(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x (V, 1, H, W)`` -> (pooled unit z ``(d,)``, unit view z ``(V, d)``, cosines to the centres ``(V or 1, K)``)."""
        raise NotImplementedError

    def _candidate_cosines(self, views: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{candidate: its views (n, 1, H, W)}`` -> ``{candidate: cosines to the centres}`` (one pass each)."""
        return {cand: self._embed(x)[2] for cand, x in views.items()}

    def _probabilities(self, cosines: Tensor) -> Tensor:
        return torch.softmax(self.am_scale * cosines.double() / self.temperature, dim=-1)

    @torch.no_grad()
    def orientation(self, mesh: trimesh.Trimesh, name: str = "mesh") -> tuple[str, np.ndarray | None, dict[str, float]]:
        """``(chosen candidate, its up vector or None (file/pca: not turned), {candidate: confidence})``:
        with ``orient="auto"`` each :func:`up_candidates` direction is stood up, drawn from
        :data:`CANDIDATE_VIEWS` cameras and scored by :func:`up_confidence` (then :func:`choose_up`)."""
        if self.orient != "auto":
            return ("pca" if self.orient == "pca" else "+Y"), None, {}
        cands = up_candidates(mesh)
        views = {cand: self._views(normalize_mesh(stand_up(mesh, up)), self.candidate_rig)[0] for cand, up in cands}
        seen = {cand: x for cand, x in views.items() if len(x)}
        scores = {cand: up_confidence(self._probabilities(cos)) for cand, cos in self._candidate_cosines(seen).items()}
        if not scores:
            raise MeshError(f"{name}: no view of the mesh shows any line or surface; check it in a mesh viewer")
        chosen = choose_up(scores, self.prior)
        return chosen, dict(cands)[chosen], scores

    @torch.no_grad()
    def encode(self, mesh: trimesh.Trimesh, name: str = "mesh") -> EncodedShape:
        """Orient (``self.orient``), normalise, render and embed ``mesh``; raises :class:`MeshError`
        when no view shows anything."""
        chosen, up, scores = self.orientation(mesh, name)
        turned = stand_up(mesh, up) if up is not None else mesh
        flat = normalize_mesh(turned, upright=True, pca=self.orient == "pca")
        x, kept = self._views(flat, self.rig)
        if not len(x):
            raise MeshError(f"{name}: no view of the mesh shows any line or surface; check it in a mesh viewer")
        z, view_z, cos = self._embed(x)
        probs = self._probabilities(cos).mean(0)
        if not scores:
            scores[chosen] = up_confidence(self._probabilities(cos))
        # every camera keeps its row: a view that showed nothing is a zero embedding (never the best view)
        all_z = torch.zeros(len(self.rig), view_z.shape[1])
        all_z[kept] = view_z if len(view_z) == len(kept) else view_z.expand(len(kept), -1)
        seen = torch.zeros(len(self.rig), x.shape[2], x.shape[3], dtype=torch.uint8)
        seen[kept] = (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8)
        return EncodedShape(z.numpy().astype(np.float32), all_z.numpy().astype(np.float32),
                            probs.float().numpy(), chosen, scores, seen.numpy(), up)


class DrawnViewEncoder(_Encoder):
    """The method's sketch network on drawings of the mesh (module docstring).

    Args:
        engine: a :class:`~sbsr_lab.serve.query.QueryEngine` (its sketch network, framing, calibration).
        views: cameras on the ring. elevation: their height above the horizon, degrees.
        orient: :data:`~sbsr_lab.render.orient.ORIENT_MODES`. prior: :data:`FILE_UP_PRIOR`.
        draw_size: side of the rendered line image, px.
        trace: trace each line image into strokes and frame them as a query drawing (the sketch generator's
            path, slower); default: :func:`~sbsr_lab.data.sketch_image.frame_line_image` (the same framing
            and pen without the strokes; measured equal on the dev meshes, docs/experiments.md).
    """

    def __init__(self, engine: Any, views: int = 8, elevation: float = 20.0, orient: str = "auto",
                 prior: float = FILE_UP_PRIOR, draw_size: int = 256, trace: bool = False) -> None:
        super().__init__(len(engine.class_names), engine.am_scale, engine.temperature, views, elevation, orient, prior)
        self.engine, self.draw_size, self.trace = engine, draw_size, trace

    def draw(self, mesh: trimesh.Trimesh, rig: list[Camera] | None = None) -> list[np.ndarray | None]:
        """The framed drawings ``(H, W) float32, ink = 1`` of a normalised mesh, one per camera (``None``
        where the camera sees no line)."""
        out: list[np.ndarray | None] = []
        size, image_size = self.engine.sketch_size, self.engine.image_size
        for lines in rig_lines(mesh, list(rig or self.rig), self.draw_size):  # one ray cast for every view
            if not self.trace:
                framed = frame_line_image(lines, size)
                if framed is not None and framed.shape != (image_size, image_size):  # as prepare_query_image resizes
                    framed = resize_u8(framed, image_size).astype(np.float32) / 255
                out.append(framed)
                continue
            strokes = trace_strokes(lines)
            try:
                out.append(self.engine.prepare(strokes) if strokes else None)
            except SketchError:  # too little ink to frame: that view shows nothing
                out.append(None)
        return out

    def _views(self, mesh: trimesh.Trimesh, rig: list[Camera]) -> tuple[Tensor, list[int]]:
        drawings = self.draw(mesh, rig)
        kept = [i for i, d in enumerate(drawings) if d is not None]
        if not kept:
            return torch.zeros(0, 1, self.engine.image_size, self.engine.image_size), []
        return torch.from_numpy(np.stack([drawings[i] for i in kept])).float()[:, None], kept

    def _candidate_cosines(self, views: dict[str, Tensor]) -> dict[str, Tensor]:
        """Every candidate's drawings through the sketch network in one batch: ``{candidate: (n, K)}``."""
        if not views:
            return {}
        _, cos, _, _ = self.engine.class_cosines(torch.cat(list(views.values())))
        return dict(zip(views, torch.split(cos, [len(x) for x in views.values()])))

    def _embed(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        z, cos, _, _ = self.engine.class_cosines(x)
        view_z = l2_normalize(z.float())
        return l2_normalize(view_z.mean(0)), view_z, cos


class ShadedViewEncoder(_Encoder):
    """The method's multi-view shape network on shaded views (as SynthShapes galleries are embedded).

    Args:
        shape_net: a :class:`~sbsr_lab.models.mvcnn.MultiViewNet` (``embed``, ``classifier.centres``).
        view_size: rendered side, px; image_size: the network's input side, px.
        am_scale, temperature: turn cosines to the class centres into probabilities (orientation choice).
    """

    def __init__(self, shape_net: torch.nn.Module, num_classes: int, view_size: int, image_size: int,
                 am_scale: float = 15.0, temperature: float = 1.0, views: int = 12, elevation: float = 30.0,
                 orient: str = "auto", prior: float = FILE_UP_PRIOR) -> None:
        super().__init__(num_classes, am_scale, temperature, views, elevation, orient, prior)
        self.net, self.view_size, self.image_size = shape_net.eval(), view_size, image_size

    def _views(self, mesh: trimesh.Trimesh, rig: list[Camera]) -> tuple[Tensor, list[int]]:
        shaded = render_views(mesh, rig, size=self.view_size)["shaded"]  # (V, s, s) float in [0, 1]
        # exactly the training views' path: float [0, 1] -> resize_u8 (uint8) -> / 255 (datasets.load_view_strip)
        x = torch.from_numpy(np.stack([resize_u8(v, self.image_size) for v in shaded])).float().div(255)[:, None]
        return x, list(range(len(rig)))

    def _embed(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        net = self.net
        z = l2_normalize(net.embed(x[None]).float())[0]                    # (d,)
        view_z = head_per_view(net, net.view_features(x[None]))[0] if satisfies(net, PerViewNetwork) else z[None]
        centres = l2_normalize(net.classifier.centres.float())
        return z, view_z, (z[None] @ centres.T)                             # cosines (1, K)


def make_encoder(kind: str, engine: Any, shape_net: torch.nn.Module | None = None, profile: dict[str, Any] | None = None,
                 orient: str = "auto", **kwargs: Any) -> _Encoder:
    """The encoder ``kind`` (:data:`ENCODERS`) for a loaded model; ``shaded`` needs its ``shape_net`` and profile."""
    if kind == "drawn":
        return DrawnViewEncoder(engine, orient=orient, **kwargs)
    if kind == "shaded":
        if shape_net is None:
            raise MeshError("The shaded encoder needs the method's shape network, and this model has none "
                            "(a bundle exported before shape networks were packed). Fix: use --encoder drawn, or "
                            "export the bundle again (`make bundle`).")
        p = profile or {}
        return ShadedViewEncoder(shape_net, len(engine.class_names), int(p.get("view_size", 128)),
                                 engine.image_size, engine.am_scale, 1.0, views=int(p.get("num_views", 12)),
                                 orient=orient, **kwargs)
    raise ValueError(f"unknown encoder {kind!r}; choose one of {', '.join(ENCODERS)}")

