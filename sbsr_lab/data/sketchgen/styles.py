"""Drawing styles: the ways people draw an object, beyond the three-quarter perspective view.

=============  ==================================================================================
``perspective``  the object as seen from where the drawer stands (:func:`drawing_viewpoint`): a
                 three-quarter view, unusual views the more often the noisier the sketch.
``front``        a flat (orthographic) view from the front: azimuth 0, elevation 0.
``side``         a flat view from the left or the right side (azimuth -90 / +90).
``top``          a flat view from straight above (the object's front at the bottom of the page).
``outline``      only the silhouette's contour, no interior lines (a flat front/side view or a
                 perspective one, half and half).
``iconic``       the class's symbol sized from the shape's parameters (:mod:`.icons`); classes
                 without an icon are drawn in ``perspective`` instead.
``partial``      an unfinished drawing: some parts of the object left out (its connected mesh parts
                 for multi-part shapes, one side of the drawing for one-piece shapes).
``detailed``     a ``perspective`` drawing with inner detail: the dark side hatched, the surface's
                 texture marked (:mod:`.detail`), as in TU-Berlin drawings or a chair traced from a photo.
=============  ==================================================================================

:func:`choose_style` draws the style from the sketch's random generator with :data:`STYLE_WEIGHTS`,
independently of the noise level. The noise level keeps its meaning in every style: it scales the
human effects applied afterwards (:func:`~sbsr_lab.data.sketchgen.effects.humanize`: wobble, gaps,
dropped strokes, over-tracing, stray marks, distorted proportions), the chance of an unusual
viewpoint in ``perspective``, ``outline`` and ``partial`` drawings, and how far a flat view strays
from the exact axis (:func:`flat_viewpoint`: N(0, 2 + 8 * noise) degrees).

Flat views are rendered from far away with a narrow field of view (:data:`FLAT_DISTANCE`), which is
an orthographic projection up to 0.1 % of the size; the depth tolerance of the line detection is
scaled with the distance so that the same depth steps count as lines as from the usual 2.8 units.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import trimesh

from sbsr_lab.data.sketchgen.detail import detail_strokes
from sbsr_lab.data.sketchgen.viewpoints import CAMERA_DISTANCE, drawing_viewpoint
from sbsr_lab.data.strokes import Strokes, stroke_length
from sbsr_lab.render import Camera
from sbsr_lab.render.lines import line_image
from sbsr_lab.render.rays import cast_rays

__all__ = [
    "STYLES",
    "FLAT_STYLES",
    "STYLE_WEIGHTS",
    "FLAT_DISTANCE",
    "TOP_VIEW_CLASSES",
    "choose_style",
    "flat_viewpoint",
    "style_lines",
    "style_detail",
    "rig_lines",
    "outline_image",
    "drop_parts",
    "erase_side",
    "style_camera",
]

Style = Literal["perspective", "front", "side", "top", "outline", "iconic", "partial", "detailed"]

#: Every drawing style, in the order of :data:`STYLE_WEIGHTS`.
STYLES: tuple[str, ...] = ("perspective", "front", "side", "top", "outline", "iconic", "partial", "detailed")
#: Styles drawn from a flat (orthographic) view.
FLAT_STYLES: tuple[str, ...] = ("front", "side", "top")
#: Share of each style among the generated sketches (sums to 1): perspective most, then the flat
#: views, the iconic symbol, outlines, partial and detailed drawings.
STYLE_WEIGHTS: dict[str, float] = {"perspective": 0.24, "front": 0.12, "side": 0.12, "top": 0.05,
                                   "outline": 0.12, "iconic": 0.15, "partial": 0.10, "detailed": 0.10}
#: Classes people draw from the top (their plan says what they are); seen from above a bottle, a mug,
#: a lamp, a round table or a tree are all just circles, so those are drawn from the front instead.
TOP_VIEW_CLASSES: frozenset[str] = frozenset({"airplane", "car", "bed", "house", "bench", "chair", "sofa",
                                              "bookshelf", "desk", "boat", "guitar"})
#: Distance of the flat-view camera; the field of view is set so that the unit sphere fills the frame.
FLAT_DISTANCE = 40.0
_DEPTH_TOL = 0.02  # the renderer's relative depth tolerance for lines, at CAMERA_DISTANCE


def choose_style(rng: np.random.Generator, iconic: bool = True, top: bool = True) -> str:
    """A drawing style drawn with :data:`STYLE_WEIGHTS` (one uniform draw from ``rng``).

    ``iconic=False`` (a class without an icon): an ``iconic`` draw becomes ``perspective``.
    ``top=False`` (a class whose top view says little, :data:`TOP_VIEW_CLASSES`): ``top`` becomes ``front``.
    """
    u = float(rng.random())
    edges = np.cumsum([STYLE_WEIGHTS[s] for s in STYLES])
    style = STYLES[min(int(np.searchsorted(edges, u * edges[-1], side="right")), len(STYLES) - 1)]
    if style == "iconic" and not iconic:
        return "perspective"
    if style == "top" and not top:
        return "front"
    return style


def flat_viewpoint(style: str, rng: np.random.Generator, noise: float = 0.0) -> Camera:
    """A near-orthographic camera for a flat ``front`` / ``side`` / ``top`` view.

    The view strays from the exact axis by N(0, 2 + 8 * noise) degrees in azimuth and elevation
    (a careless drawer's "front view" is a little turned). ``side`` picks the left or right side.
    """
    if style not in FLAT_STYLES:
        raise ValueError(f"flat_viewpoint: style must be one of {FLAT_STYLES}, got {style!r}")
    spread = 2.0 + 8.0 * float(noise)
    daz, del_ = rng.normal(0.0, spread, size=2)
    fov = 2.0 * math.degrees(math.asin(1.02 / FLAT_DISTANCE))
    if style == "top":
        el = math.radians(90.0 - abs(float(del_)))
        az = math.radians(float(daz))
        eye = FLAT_DISTANCE * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
        return Camera(eye=tuple(float(x) for x in eye), up=(0.0, 0.0, -1.0), fov_deg=fov)
    base = 0.0 if style == "front" else float(rng.choice([-90.0, 90.0]))
    az, el = math.radians(base + float(daz)), math.radians(float(del_))
    eye = FLAT_DISTANCE * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    return Camera(eye=tuple(float(x) for x in eye), fov_deg=fov)


def _hit_buffer(mesh: trimesh.Trimesh, camera: Camera, size: int):
    return cast_rays(mesh, [camera], size)


def style_lines(mesh: trimesh.Trimesh, camera: Camera, size: int = 256, outline: bool = False) -> np.ndarray:
    """The lines a drawer puts down: ``(size, size)`` ink = 1, from any camera (flat or perspective).

    Silhouette, depth-discontinuity and crease lines (the renderer's ``lines`` style, with the depth
    tolerance scaled to the camera's distance), or with ``outline=True`` only the contour of the
    silhouette (:func:`outline_image`).
    """
    buf = _hit_buffer(mesh, camera, size)
    width = max(1.0, 1.25 * size / 128.0)
    if outline:
        return outline_image(buf.hit[0], width)
    dist = float(np.linalg.norm(np.asarray(camera.eye) - np.asarray(camera.target)))
    tol = _DEPTH_TOL * CAMERA_DISTANCE / max(dist, CAMERA_DISTANCE)
    return line_image(buf, width, depth_tol=tol)[0]


def style_detail(mesh: trimesh.Trimesh, camera: Camera, rng: np.random.Generator, size: int = 256) -> Strokes:
    """The inner detail of a ``detailed`` drawing from ``camera``: hatched dark side and surface texture
    (:func:`~sbsr_lab.data.sketchgen.detail.detail_strokes`), strokes in [0, 1]² like :func:`trace_strokes`'s."""
    return detail_strokes(_hit_buffer(mesh, camera, size), rng)


def rig_lines(mesh: trimesh.Trimesh, cameras: "list[Camera]", size: int = 256) -> np.ndarray:
    """:func:`style_lines` of several cameras at once: ``(V, size, size)`` ink = 1, one Embree call for all
    of them (their primary rays cached per rig). The cameras must stand at :data:`CAMERA_DISTANCE` (a
    ring or a dodecahedron rig), where the depth tolerance is the renderer's own."""
    if not cameras:
        return np.zeros((0, size, size), np.float32)
    buf = cast_rays(mesh, cameras, size)
    return line_image(buf, max(1.0, 1.25 * size / 128.0), depth_tol=_DEPTH_TOL)


def outline_image(silhouette: np.ndarray, width: float = 2.5) -> np.ndarray:
    """The contour of a silhouette mask ``(H, W)``: ink = 1 on a band ``width`` px wide along its edge.

    Holes smaller than 0.2 % of the image (gaps a drawer would not bother with) are filled first;
    bigger ones (between a chair's legs) keep their contour.
    """
    from scipy.ndimage import binary_dilation, binary_erosion, label

    mask = np.asarray(silhouette, dtype=bool)
    if not mask.any():
        return np.zeros(mask.shape, dtype=np.float32)
    holes, n = label(~mask)
    if n:
        sizes = np.bincount(holes.ravel())
        border = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
        small = sizes < max(4, int(0.002 * mask.size))
        small[0] = False
        small[border] = False
        mask = mask | small[holes]
    edge = mask & ~binary_erosion(mask, border_value=0)
    reach = max(0, int(round((width - 1.0) / 2.0)))
    if reach:
        edge = binary_dilation(edge, iterations=reach)
    return edge.astype(np.float32)


def drop_parts(mesh: trimesh.Trimesh, rng: np.random.Generator) -> trimesh.Trimesh | None:
    """The mesh with some of its parts (connected components) left out, as in an unfinished drawing.

    Leaves out 1 to max(1, n // 3) of the n parts, never the biggest (by area) and never so many that
    less than 40 % of the area stays. ``None`` when the mesh has fewer than 3 parts (nothing sensible
    to leave out: use :func:`erase_side` on the strokes instead).
    """
    parts = mesh.split(only_watertight=False)
    if len(parts) < 3:
        return None
    areas = np.array([p.area for p in parts])
    total = float(areas.sum())
    order = [i for i in rng.permutation(len(parts)).tolist() if i != int(np.argmax(areas))]
    n_drop = int(rng.integers(1, max(1, len(parts) // 3) + 1))
    dropped, left = set(), total
    for i in order:
        if len(dropped) >= n_drop:
            break
        if left - areas[i] >= 0.4 * total:
            dropped.add(i)
            left -= areas[i]
    if not dropped:
        return None
    return trimesh.util.concatenate([p for i, p in enumerate(parts) if i not in dropped])


def erase_side(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """An unfinished drawing of a one-piece object: the strokes beyond a random line are left out.

    The line's direction is uniform; it is placed so that 15-40 % of the ink (by length) is erased.
    Strokes are cut at the line, not dropped whole. Returns the strokes unchanged when too little
    would stay.
    """
    if not strokes:
        return []
    pts = np.concatenate(strokes, axis=0)
    theta = rng.uniform(0.0, 2.0 * math.pi)
    d = np.array([math.cos(theta), math.sin(theta)], dtype=np.float32)
    proj = pts @ d
    cut = float(np.quantile(proj, 1.0 - rng.uniform(0.15, 0.4)))
    out: Strokes = []
    for s in strokes:
        keep = (s @ d) <= cut
        runs = np.split(np.arange(len(s)), np.nonzero(np.diff(keep.astype(np.int8)))[0] + 1)
        for r in runs:
            if keep[r[0]] and len(r) >= 2:
                out.append(s[r])
    total = sum(stroke_length(s) for s in strokes)
    if not out or sum(stroke_length(s) for s in out) < 0.4 * total:
        return list(strokes)
    return out


def style_camera(style: str, rng: np.random.Generator, noise: float, view_rule: str = "ramp") -> Camera:
    """The camera of a non-iconic style: flat for ``front``/``side``/``top``, half flat for ``outline``,
    :func:`drawing_viewpoint` (with ``view_rule``) otherwise."""
    if style in FLAT_STYLES:
        return flat_viewpoint(style, rng, noise)
    if style == "outline" and rng.random() < 0.5:
        return flat_viewpoint("front" if rng.random() < 0.5 else "side", rng, noise)
    return drawing_viewpoint(rng, noise, view_rule)
