"""The sketch generator: human-like sketches of 3D shapes (line drawing -> traced strokes -> human effects).

The pipeline (:func:`synthesize_sketch`) follows what a person does when sketching an object:

1. pick a drawing viewpoint (:func:`drawing_viewpoint`): a three-quarter view from slightly above,
   or, above noise 0.25 and more often the higher the noise level, an unusual one (side, front,
   behind, below, high up);
2. draw the visible silhouette, depth-discontinuity and crease lines (:func:`line_drawing`, the
   renderer's ``"lines"`` style);
3. turn the line image into strokes (:func:`trace_strokes`: skeleton -> polylines joined through
   junctions where they continue straight -> RDP simplification), long outline strokes first;
4. make them human (:func:`humanize`), a chain of small steps each scaled by the noise level
   in [0, 1]: :func:`drop_strokes`, :func:`jitter_proportions`, :func:`jitter_pose`,
   :func:`add_gaps`, :func:`smooth_strokes` (Catmull-Rom), :func:`wobble`, :func:`overtrace`,
   :func:`add_extra_strokes` and :func:`vary_width`.

Noise 0 gives a clean traced drawing with a slight natural wobble; noise 1 a very messy sketch
(big wobble, many gaps, dropped parts, scribbly over-tracing, distorted proportions). Every step
takes an explicit ``np.random.Generator``, so a sketch is reproducible from its seed.

Modules: :mod:`.viewpoints` (where the drawer stands, the lines seen from there: uses
:mod:`sbsr_lab.render`), :mod:`.tracing` (line image -> strokes, graph code), :mod:`.effects`
(the human-like steps); this module ties them together (:func:`synthesize_sketch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

from sbsr_lab.data.sketchgen.effects import (
    add_extra_strokes,
    add_gaps,
    drop_strokes,
    humanize,
    jitter_pose,
    jitter_proportions,
    overtrace,
    smooth_strokes,
    vary_width,
    wobble,
)
from sbsr_lab.data.sketchgen.tracing import trace_strokes
from sbsr_lab.data.sketchgen.viewpoints import drawing_viewpoint, line_drawing, unusual_view_probability, view_angles
from sbsr_lab.data.strokes import Strokes, normalize_strokes, stroke_length
from sbsr_lab.errors import SketchError

__all__ = [
    "SKETCH_GENERATOR",
    "Sketch",
    "synthesize_sketch",
    "drawing_viewpoint",
    "unusual_view_probability",
    "view_angles",
    "line_drawing",
    "trace_strokes",
    "humanize",
    "drop_strokes",
    "jitter_proportions",
    "jitter_pose",
    "add_gaps",
    "smooth_strokes",
    "wobble",
    "overtrace",
    "add_extra_strokes",
    "vary_width",
]

#: Version of the sketch generator: bump it whenever the same seed gives different sketches, so that
#: data folders built by an older version have their sketches remade (``sbsr_lab.data.build``).
#: 1: viewpoints independent of the noise; 2: viewpoints follow the noise level (chance of an unusual
#: view = noise); 3: that chance is a ramp of the noise level (:func:`unusual_view_probability`).
SKETCH_GENERATOR = 3


@dataclass
class Sketch:
    """A synthetic sketch.

    Attributes:
        strokes: polylines in [0, 1]² (x right, y down), in drawing order.
        widths: one line-width multiplier per stroke (for :func:`~sbsr_lab.data.strokes.strokes_to_image`).
        noise: the noise level in [0, 1] it was made with.
        view: the drawing viewpoint, ``{"azimuth": deg, "elevation": deg}`` (azimuth 0 = front, +Z;
            90 = the shape's right side, +X).
    """

    strokes: Strokes
    widths: list[float]
    noise: float
    view: dict[str, float] = field(default_factory=dict)


def synthesize_sketch(mesh: trimesh.Trimesh, rng: np.random.Generator, noise: float, size: int = 256) -> Sketch:
    """A human-like sketch of a normalised mesh (unit bounding sphere, +Y up) with noise level ``noise``.

    Draws the mesh's lines from :func:`drawing_viewpoint` (unusual viewpoints more likely at high
    noise) at ``size`` px, traces them
    (:func:`trace_strokes`), drops tiny fragments, humanises (:func:`humanize`) and fits the result
    into [m, 1 - m]² with a random margin m in [0.04, 0.12] (people fill the page to different degrees).
    Raises :class:`SketchError` if the mesh shows no lines from three viewpoints in a row.
    """
    for _ in range(3):  # a degenerate view (e.g. a flat plate seen edge-on) may show no lines
        camera = drawing_viewpoint(rng, noise)
        strokes = trace_strokes(line_drawing(mesh, camera, size), min_length_px=max(3, size // 64))
        if strokes:
            break
    else:
        raise SketchError(
            f"synthesize_sketch: the mesh ({len(mesh.faces)} faces) shows no lines from 3 drawing viewpoints "
            f"(last {view_angles(camera)}). Fix: normalise it first (sbsr_lab.render.normalize_mesh) and check "
            "that it is not empty or degenerate."
        )
    strokes = normalize_strokes(strokes, margin=0.08)
    if strokes:  # fragments shorter than 2% of the canvas are not drawn by people
        strokes = [s for s in strokes if stroke_length(s) >= 0.02] or strokes[:1]
    strokes, widths = humanize(strokes, rng, noise)
    strokes = normalize_strokes(strokes, margin=float(rng.uniform(0.04, 0.12)))
    return Sketch(strokes=strokes, widths=widths, noise=float(noise), view=view_angles(camera))
