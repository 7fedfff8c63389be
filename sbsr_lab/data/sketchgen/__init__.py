"""The sketch generator: human-like sketches of 3D shapes (line drawing -> traced strokes -> human effects).

The pipeline (:func:`synthesize_sketch`) follows what a person does when sketching an object:

0. pick a drawing style (:func:`choose_style`, :mod:`.styles`): ``perspective`` most often, flat
   ``front`` / ``side`` / ``top`` views, ``outline`` (the silhouette's contour only), ``iconic``
   (the class symbol sized from the shape's parameters, :mod:`.icons`) or ``partial`` (parts left out);
1. pick a drawing viewpoint (:func:`style_camera`; for ``perspective`` :func:`drawing_viewpoint`:
   a three-quarter view from slightly above, or, above noise 0.25 and more often the higher the
   noise level, an unusual one: side, front, behind, below, high up);
2. draw the visible silhouette, depth-discontinuity and crease lines (:func:`style_lines`; the
   renderer's ``"lines"`` style, or only the contour for ``outline``); an ``iconic`` drawing skips
   steps 1-3;
3. turn the line image into strokes (:func:`trace_strokes`: skeleton -> polylines joined through
   junctions where they continue straight -> RDP simplification), long outline strokes first;
4. make them human (:func:`humanize`), a chain of small steps each scaled by the noise level
   in [0, 1]: :func:`drop_strokes`, :func:`jitter_proportions`, :func:`jitter_pose`,
   :func:`add_gaps`, :func:`smooth_strokes` (Catmull-Rom), :func:`wobble`, :func:`overtrace`,
   :func:`add_extra_strokes` and :func:`vary_width`, the same for every style;
5. put it on the page (:func:`place_on_canvas`: any position and size; a small drawing is redrawn
   with the pen and traced back, :func:`pen_retrace`) and frame it as the query path frames a
   drawing (bounding box fitted into [m, 1 - m]², :mod:`sbsr_lab.data.sketch_image`).

How style and noise interact: the style is drawn independently of the noise level, and the noise
level means the same in every style (the strength of every step 4 effect; in ``perspective``,
``outline`` and ``partial`` also the chance of an unusual viewpoint; in flat views how far the view
strays from the axis). So among sketches of one style, noise still orders them from clean to messy.

Noise 0 gives a clean traced drawing with a slight natural wobble; noise 1 a very messy sketch
(big wobble, many gaps, dropped parts, scribbly over-tracing, distorted proportions). Every step
takes an explicit ``np.random.Generator``, so a sketch is reproducible from its seed.

Modules: :mod:`.viewpoints` (where the drawer stands, the lines seen from there: uses
:mod:`sbsr_lab.render`), :mod:`.styles` (the drawing styles), :mod:`.icons` (iconic symbols),
:mod:`.placement` (position, size and pen on the page), :mod:`.tracing` (line image -> strokes,
graph code), :mod:`.effects` (the human-like steps); this module ties them together
(:func:`synthesize_sketch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

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
from sbsr_lab.data.sketchgen.icons import has_icon, icon_strokes
from sbsr_lab.data.sketchgen.placement import SMALL_SIZE, on_canvas, pen_retrace, place_on_canvas
from sbsr_lab.data.sketchgen.styles import (
    FLAT_STYLES,
    STYLE_WEIGHTS,
    STYLES,
    TOP_VIEW_CLASSES,
    choose_style,
    drop_parts,
    erase_side,
    flat_viewpoint,
    style_camera,
    style_detail,
    style_lines,
)
from sbsr_lab.data.sketchgen.tracing import trace_strokes
from sbsr_lab.data.sketchgen.viewpoints import drawing_viewpoint, line_drawing, unusual_view_probability, view_angles
from sbsr_lab.data.strokes import Strokes, normalize_strokes, stroke_length
from sbsr_lab.errors import SketchError

__all__ = [
    "SKETCH_GENERATOR",
    "Sketch",
    "synthesize_sketch",
    "STYLES",
    "FLAT_STYLES",
    "STYLE_WEIGHTS",
    "TOP_VIEW_CLASSES",
    "choose_style",
    "style_camera",
    "flat_viewpoint",
    "style_lines",
    "drop_parts",
    "erase_side",
    "has_icon",
    "icon_strokes",
    "place_on_canvas",
    "on_canvas",
    "pen_retrace",
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
#: view = noise); 3: that chance is a ramp of the noise level (:func:`unusual_view_probability`);
#: 4: drawing styles (:mod:`.styles`: flat front/side/top views, outlines, iconic symbols, partial
#: drawings) and placement on the page (:mod:`.placement`: small drawings traced back with the pen).
#: 5: the styles of 4 only with ``people_styles`` (the profile's ``sketch_styles="people"``); without them,
#: generator 3's drawings bit for bit. Files record the mode (``styles``) beside the version.
#: 6: more iconic forms (:mod:`.icons`: trees as a crown open at the bottom or bare branches, rockets with
#: a pointed ogive nose); ``perspective`` drawings are still generator 3's. 7: broadleaf crowns also as one
#: smooth dome open underneath. 8: cups (wide, round, on a saucer), benches seen from the front and a little
#: above, tree trunks flaring into roots. 9: the ``detailed`` style (:mod:`.detail`: the dark side hatched, the
#: surface's texture marked), 10 % of the drawings, taken from ``perspective``.
SKETCH_GENERATOR = 9


@dataclass
class Sketch:
    """A synthetic sketch.

    Attributes:
        strokes: polylines in [0, 1]² (x right, y down), in drawing order.
        widths: one line-width multiplier per stroke (for :func:`~sbsr_lab.data.strokes.strokes_to_image`).
        noise: the noise level in [0, 1] it was made with.
        view: the drawing viewpoint, ``{"azimuth": deg, "elevation": deg}`` (azimuth 0 = front, +Z;
            90 = the shape's right side, +X); ``{}`` for an iconic drawing (no viewpoint).
        style: how it is drawn, one of :data:`STYLES` (:mod:`.styles`).
        placement: where the drawer put it on the page, ``{"x", "y", "size", "pen"}`` (fractions of
            the canvas, :func:`place_on_canvas`); :attr:`strokes` are framed like a query regardless.
    """

    strokes: Strokes
    widths: list[float]
    noise: float
    view: dict[str, float] = field(default_factory=dict)
    style: str = "perspective"
    placement: dict[str, float] = field(default_factory=dict)

    def on_canvas(self) -> Strokes:
        """The strokes where the drawer put them on the page (:attr:`placement`), not framed."""
        return on_canvas(self.strokes, self.placement) if self.placement else list(self.strokes)


def synthesize_sketch(mesh: trimesh.Trimesh, rng: np.random.Generator, noise: float, size: int = 256,
                      style: str | None = None, cls: str | None = None,
                      params: Mapping[str, Any] | None = None, people_styles: bool = True,
                      view_rule: str = "ramp") -> Sketch:
    """A human-like sketch of a normalised mesh (unit bounding sphere, +Y up) with noise level ``noise``.

    ``style`` (one of :data:`STYLES`; default: :func:`choose_style` from ``rng``) says how it is drawn:
    the lines of :func:`style_camera`'s view (``perspective``, flat ``front``/``side``/``top``,
    ``outline`` = the silhouette's contour only, ``partial`` = some parts left out) rendered at
    ``size`` px and traced (:func:`trace_strokes`), or for ``iconic`` the class symbol sized from the
    shape's SynthShapes ``params`` (:func:`icon_strokes`; needs ``cls``). Then, whatever the style,
    tiny fragments go, the noise level's human effects are applied (:func:`humanize`), the drawing
    gets a place and a pen on the page (:func:`place_on_canvas`; small ones are redrawn with the pen
    and traced back, :func:`pen_retrace`) and is framed like a query: fitted into [m, 1 - m]² with a
    random margin m in [0.04, 0.12] (mean :data:`~sbsr_lab.data.sketch_image.TRAINING_MARGIN`).
    ``people_styles=False`` (the profiles' default ``sketch_styles="perspective"``) draws what generator 3
    drew, bit for bit: always ``perspective``, no style or placement drawn from ``rng``, framed with the
    random margin only. ``view_rule``: how the noise level sets the chance of an unusual viewpoint
    (:func:`unusual_view_probability`; ``"noise"`` is generator 2's rule, kept as an ablation).
    Raises :class:`SketchError` if the mesh shows no lines from three viewpoints in a row.
    """
    if not people_styles:
        style = "perspective"
    if style is None:
        style = choose_style(rng, iconic=has_icon(cls), top=cls is None or cls in TOP_VIEW_CLASSES)
    if style not in STYLES:
        raise ValueError(f"synthesize_sketch: unknown style {style!r}; choose one of {', '.join(STYLES)}")
    view: dict[str, float] = {}
    if style == "iconic":
        if not has_icon(cls):
            raise ValueError(f"synthesize_sketch: no iconic drawing for class {cls!r}; pass cls= one of the icon classes")
        strokes = icon_strokes(str(cls), params, rng)
    else:
        drawn = drop_parts(mesh, rng) if style == "partial" else None
        for _ in range(3):  # a degenerate view (e.g. a flat plate seen edge-on) may show no lines
            camera = style_camera(style, rng, noise, view_rule)
            strokes = trace_strokes(style_lines(drawn if drawn is not None else mesh, camera, size,
                                                outline=style == "outline"),
                                    min_length_px=max(3, size // 64))
            if strokes:
                if style == "detailed":
                    strokes += style_detail(mesh, camera, rng, size)
                break
        else:
            raise SketchError(
                f"synthesize_sketch: the mesh ({len(mesh.faces)} faces) shows no lines from 3 drawing viewpoints "
                f"(last {view_angles(camera)}). Fix: normalise it first (sbsr_lab.render.normalize_mesh) and check "
                "that it is not empty or degenerate."
            )
        view = view_angles(camera)
    strokes = normalize_strokes(strokes, margin=0.08)
    if strokes:  # fragments shorter than 2% of the canvas are not drawn by people
        strokes = [s for s in strokes if stroke_length(s) >= 0.02] or strokes[:1]
    if style == "partial" and drawn is None:  # a one-piece object: leave one side unfinished
        strokes = erase_side(strokes, rng)
    strokes, widths = humanize(strokes, rng, noise)
    placement = place_on_canvas(rng) if people_styles else {}
    if placement and placement["size"] < SMALL_SIZE:  # a small drawing: the pen merges its details
        strokes = pen_retrace(strokes, placement)
        widths = vary_width(strokes, rng, noise)
    strokes = normalize_strokes(strokes, margin=float(rng.uniform(0.04, 0.12)))
    return Sketch(strokes=strokes, widths=widths, noise=float(noise), view=view, style=style, placement=placement)
