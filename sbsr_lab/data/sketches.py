"""Synthetic human-like sketches of 3D shapes: line drawing -> traced strokes -> human effects.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from sbsr_lab.data.strokes import Strokes, check_strokes, normalize_strokes, simplify_strokes
from sbsr_lab.errors import SketchError

if TYPE_CHECKING:  # the renderer is imported lazily (data -> render is allowed, but keep import light)
    import trimesh

    from sbsr_lab.render import Camera

__all__ = [
    "SKETCH_GENERATOR",
    "Sketch",
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
    "synthesize_sketch",
]

#: Version of the sketch generator: bump it whenever the same seed gives different sketches, so that
#: data folders built by an older version have their sketches remade (``sbsr_lab.data.build``).
#: 1: viewpoints independent of the noise; 2: viewpoints follow the noise level (chance of an unusual
#: view = noise); 3: that chance is a ramp of the noise level (:func:`unusual_view_probability`).
SKETCH_GENERATOR = 3

CAMERA_DISTANCE = 2.8  # world units; with the 45 deg field of view the unit sphere fills the frame


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


# ---------------------------------------------------------------------------------------------
# viewpoint and line drawing
# ---------------------------------------------------------------------------------------------

def _camera_at(azimuth_deg: float, elevation_deg: float, distance: float = CAMERA_DISTANCE) -> "Camera":
    from sbsr_lab.render import Camera

    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    eye = distance * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    return Camera(eye=tuple(float(x) for x in eye))


def view_angles(camera: "Camera") -> dict[str, float]:
    """``{"azimuth", "elevation"}`` in degrees of a camera looking at the origin (azimuth 0 = front, +Z)."""
    x, y, z = (float(v) for v in np.asarray(camera.eye) - np.asarray(camera.target))
    r = math.sqrt(x * x + y * y + z * z)
    return {"azimuth": round(math.degrees(math.atan2(x, z)), 2),
            "elevation": round(math.degrees(math.asin(max(-1.0, min(1.0, y / r)))), 2)}


def unusual_view_probability(noise: float) -> float:
    """Chance that a sketch of noise level ``noise`` is drawn from an unusual viewpoint (:func:`drawing_viewpoint`).

    0 for noise <= 0.25, 1 for noise >= 0.75, linear in between: on average half the sketches of a
    class spread evenly over [0, 1] are drawn from unusual views. A ramp rather than ``noise`` itself
    (as generator version 2 had it), because the viewpoint is a big, all-or-nothing effect: with
    ``noise`` as the chance, sketches of the same noise level drawn from unusual views lay twice as far
    from their class centre in UACTN's embedding as those drawn from careful views (default profile,
    test sketches of noise 0.3-0.9), so the noise level said little about how hard a sketch was. With
    the ramp the demo's Spearman(sigma, noise) went from 0.48 to 0.53 (0.36 to 0.41 with ``seed=1``).
    """
    return float(np.clip((noise - 0.25) / 0.5, 0.0, 1.0))


def drawing_viewpoint(rng: np.random.Generator, noise: float = 0.0) -> "Camera":
    """A camera where a person would stand to draw the object; careless drawers stray further.

    Either a careful drawer's view: a three-quarter view from the front (azimuth 30-60 deg to either
    side) from slightly above (elevation N(20, 5) deg, clipped to [5, 35]), the view that shows most
    of an object; or an unusual one: any azimuth (side, front, behind) and elevation N(18, 20)
    clipped to [-20, 70] (from below, from high up). The chance of an unusual view is
    :func:`unusual_view_probability` of the noise level: 0 up to noise 0.25, rising linearly to 1
    at noise 0.75. So the noise level also says how atypical the viewpoint is, as it does for the
    strokes. The camera looks at the origin from 2.8 units (45 deg field of view: the unit sphere
    fills the frame).
    """
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"drawing_viewpoint: noise must be in [0, 1], got {noise}")
    if rng.random() < unusual_view_probability(noise):
        az = rng.uniform(-180.0, 180.0)
        el = float(np.clip(rng.normal(18.0, 20.0), -20.0, 70.0))
    else:
        az = rng.choice([-1.0, 1.0]) * rng.uniform(30.0, 60.0)
        el = float(np.clip(rng.normal(20.0, 5.0), 5.0, 35.0))
    return _camera_at(float(az), el)


def line_drawing(mesh: "trimesh.Trimesh", camera: "Camera", size: int = 256) -> np.ndarray:
    """Visible silhouette, depth-discontinuity and crease lines of a normalised mesh: ``(size, size)``, ink = 1.

    Uses :func:`sbsr_lab.render.render_view` with ``styles=("lines",)`` (no supersampling: the
    lines are traced, not shown).
    """
    from sbsr_lab.render import render_view

    return render_view(mesh, camera, size=size, styles=("lines",), supersample=1)["lines"]


# ---------------------------------------------------------------------------------------------
# tracing a line image into strokes
# ---------------------------------------------------------------------------------------------

_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))  # half of the 8-neighbourhood (the other half by symmetry)


def _skeleton_graph(skel: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Pixels of a skeleton and their neighbour lists (8-connectivity, diagonals dropped where a
    4-connected path exists, so that staircases do not look like junctions)."""
    h, w = skel.shape
    ys, xs = np.nonzero(skel)
    index = -np.ones((h + 2, w + 2), dtype=np.int64)
    index[ys + 1, xs + 1] = np.arange(len(ys))
    pad = np.zeros((h + 2, w + 2), dtype=bool)
    pad[1:-1, 1:-1] = skel
    nbrs: list[list[int]] = [[] for _ in range(len(ys))]
    for dy, dx in _OFFSETS:
        j = index[ys + 1 + dy, xs + 1 + dx]
        ok = j >= 0
        if dy and dx:  # diagonal: skip if the two pixels are also joined through a 4-neighbour
            ok &= ~pad[ys + 1 + dy, xs + 1] & ~pad[ys + 1, xs + 1 + dx]
        for a, b in zip(np.nonzero(ok)[0].tolist(), j[ok].tolist()):
            nbrs[a].append(b)
            nbrs[b].append(a)
    return np.stack([xs, ys], axis=1), nbrs


def _walk(start: int, first: int, nbrs: list[list[int]], is_node: np.ndarray, seen: set[tuple[int, int]]) -> list[int]:
    """Follow degree-2 pixels from ``start`` through ``first`` until a node or back to ``start``."""
    path = [start, first]
    seen.add((start, first))
    seen.add((first, start))
    prev, cur = start, first
    while not is_node[cur] and cur != start:
        nxt = [n for n in nbrs[cur] if n != prev and (cur, n) not in seen]
        if not nxt:
            break
        prev, cur = cur, nxt[0]
        seen.add((prev, cur))
        seen.add((cur, prev))
        path.append(cur)
    return path


def _end_direction(pts: np.ndarray, at_start: bool, reach: int = 6) -> np.ndarray:
    """Unit direction pointing out of a polyline at one end, from ``reach`` points inside."""
    if at_start:
        d = pts[0] - pts[min(reach, len(pts) - 1)]
    else:
        d = pts[-1] - pts[max(len(pts) - 1 - reach, 0)]
    n = float(np.linalg.norm(d))
    return d / n if n > 0 else d


def _join_at_junctions(paths: list[np.ndarray], ends: list[tuple[int, int]], max_turn_deg: float = 40.0) -> list[np.ndarray]:
    """Chain paths that meet at the same junction and continue nearly straight (like one pen stroke).

    ``ends[i]`` = (junction id at the start of path i, at its end), -1 for a free end.
    """
    cos_min = math.cos(math.radians(180.0 - max_turn_deg))
    # candidate pairs of path ends at the same junction, best continuation first
    by_node: dict[int, list[tuple[int, bool]]] = {}
    for i, (a, b) in enumerate(ends):
        if a >= 0:
            by_node.setdefault(a, []).append((i, True))
        if b >= 0:
            by_node.setdefault(b, []).append((i, False))
    pairs = []
    for members in by_node.values():
        for m in range(len(members)):
            for n in range(m + 1, len(members)):
                (i, si), (j, sj) = members[m], members[n]
                if i == j:
                    continue
                c = float(_end_direction(paths[i], si) @ _end_direction(paths[j], sj))
                if c <= cos_min:  # directions out of the junction are nearly opposite
                    pairs.append((c, i, si, j, sj))
    pairs.sort()
    used: set[tuple[int, bool]] = set()
    link: dict[tuple[int, bool], tuple[int, bool]] = {}
    for _, i, si, j, sj in pairs:
        if (i, si) in used or (j, sj) in used:
            continue
        used.update({(i, si), (j, sj)})
        link[(i, si)] = (j, sj)
        link[(j, sj)] = (i, si)
    # walk the chains
    done = [False] * len(paths)
    out: list[np.ndarray] = []

    def chain_from(i: int, at_start: bool) -> list[np.ndarray]:
        parts = []
        cur, entered_at_start = i, at_start
        while not done[cur]:
            done[cur] = True
            p = paths[cur] if entered_at_start else paths[cur][::-1]
            parts.append(p if not parts else p[1:])
            nxt = link.get((cur, not entered_at_start))
            if nxt is None:
                break
            cur, entered_at_start = nxt
        return parts

    for i in range(len(paths)):  # open chains: start at an end that is not linked
        for at_start in (True, False):
            if not done[i] and (i, at_start) not in link:
                out.append(np.concatenate(chain_from(i, at_start), axis=0))
    for i in range(len(paths)):  # what is left are closed chains
        if not done[i]:
            out.append(np.concatenate(chain_from(i, True), axis=0))
    return out


def _arc_length(s: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(s, axis=0), axis=1).sum()) if len(s) > 1 else 0.0


def _drawing_order(strokes: Strokes) -> Strokes:
    """Long strokes first; each open stroke starts at its upper-left end, closed ones at their top-left point."""
    out = []
    for s in strokes:
        if len(s) > 2 and np.allclose(s[0], s[-1]):
            k = int(np.argmin(s[:-1, 0] + 2.0 * s[:-1, 1]))
            s = np.concatenate([s[k:-1], s[:k + 1]], axis=0)
        elif s[-1, 0] + 2.0 * s[-1, 1] < s[0, 0] + 2.0 * s[0, 1]:
            s = s[::-1]
        out.append(np.ascontiguousarray(s, dtype=np.float32))
    out.sort(key=_arc_length, reverse=True)
    return out


def trace_strokes(lines: np.ndarray, min_length_px: int = 4, threshold: float = 0.5) -> Strokes:
    """Turn a line image ``(H, W)`` (ink = 1) into strokes in [0, 1]², long strokes first.

    Skeletonises the ink (``skimage.morphology.skeletonize``), follows the skeleton between
    junctions and free ends, joins pieces that continue straight through a junction, drops pieces
    shorter than ``min_length_px`` pixels and simplifies with RDP (tolerance ~0.7 px).
    """
    from skimage.morphology import skeletonize

    lines = np.asarray(lines, dtype=np.float32)
    if lines.ndim != 2:
        raise ValueError(f"trace_strokes wants an (H, W) line image, got shape {lines.shape}")
    h, w = lines.shape
    skel = skeletonize(lines > threshold)
    if not skel.any():
        return []
    pts, nbrs = _skeleton_graph(skel)
    degree = np.fromiter((len(n) for n in nbrs), dtype=np.int64, count=len(nbrs))
    is_node = degree != 2
    # junction clusters (adjacent junction pixels) share one id
    junction = np.nonzero(degree >= 3)[0]
    node_id = -np.ones(len(pts), dtype=np.int64)
    for j in junction.tolist():
        if node_id[j] >= 0:
            continue
        stack = [j]
        node_id[j] = j
        while stack:
            c = stack.pop()
            for n in nbrs[c]:
                if degree[n] >= 3 and node_id[n] < 0:
                    node_id[n] = j
                    stack.append(n)
    seen: set[tuple[int, int]] = set()
    pix_paths: list[list[int]] = []
    for start in np.nonzero(is_node)[0].tolist():
        for first in nbrs[start]:
            if (start, first) not in seen:
                pix_paths.append(_walk(start, first, nbrs, is_node, seen))
        if not nbrs[start]:
            pix_paths.append([start])  # an isolated pixel: a dot
    for start in np.nonzero(~is_node)[0].tolist():  # loops without any node
        for first in nbrs[start]:
            if (start, first) not in seen:
                pix_paths.append(_walk(start, first, nbrs, is_node, seen))
    # drop short spurs hanging off junctions (skeleton artefacts), keep connectors between junctions
    paths, ends = [], []
    for pp in pix_paths:
        a, b = int(node_id[pp[0]]), int(node_id[pp[-1]])
        if len(pp) < min_length_px and (a < 0) != (b < 0):
            continue
        if len(pp) >= 2 and a >= 0 and a == b and len(pp) < 3:
            continue  # a step inside one junction cluster
        paths.append(pts[pp].astype(np.float64))
        ends.append((a, b))
    joined = _join_at_junctions(paths, ends) if paths else []
    strokes = [p for p in joined if _arc_length(p) >= min_length_px - 1 or len(p) >= min_length_px]
    scale = np.array([1.0 / w, 1.0 / h])
    strokes = [((p + 0.5) * scale).astype(np.float32) for p in strokes]
    strokes = simplify_strokes(strokes, tolerance=0.7 / max(h, w))
    return _drawing_order(strokes)


# ---------------------------------------------------------------------------------------------
# human effects: small steps, each scaled by an amount in [0, 1]
# ---------------------------------------------------------------------------------------------

def _resample(s: np.ndarray, spacing: float) -> np.ndarray:
    """Resample a polyline at (about) constant arc-length ``spacing``."""
    if len(s) < 2:
        return s.copy()
    seg = np.linalg.norm(np.diff(s, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    if t[-1] <= 0:
        return s[:1].copy()
    n = max(2, int(math.ceil(t[-1] / spacing)) + 1)
    u = np.linspace(0.0, t[-1], n)
    return np.stack([np.interp(u, t, s[:, 0]), np.interp(u, t, s[:, 1])], axis=1).astype(np.float32)


def _cut(s: np.ndarray, a: float, b: float) -> np.ndarray:
    """The piece of polyline ``s`` between arc lengths ``a`` < ``b`` (endpoints interpolated)."""
    seg = np.linalg.norm(np.diff(s, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    inner = (t > a) & (t < b)
    pa = np.array([np.interp(a, t, s[:, 0]), np.interp(a, t, s[:, 1])])
    pb = np.array([np.interp(b, t, s[:, 0]), np.interp(b, t, s[:, 1])])
    return np.concatenate([pa[None], s[inner], pb[None]], axis=0).astype(np.float32)


def _centre(strokes: Strokes) -> np.ndarray:
    pts = np.concatenate(strokes, axis=0)
    return (pts.min(axis=0) + pts.max(axis=0)) / 2.0


def _interior_score(strokes: Strokes) -> np.ndarray:
    """Per stroke, in [0, 1]: 0 on the outline (the convex hull of the drawing), 1 deep inside it."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.concatenate(strokes, axis=0).astype(np.float64)
    extent = max(float(np.ptp(pts, axis=0).max()), 1e-9)
    try:
        eq = ConvexHull(pts).equations  # (F, 3): n . x + b <= 0 inside
    except (QhullError, ValueError):  # fewer than 3 points or all collinear: everything is outline
        return np.zeros(len(strokes))
    return np.array([
        min(1.0, float(np.median(np.min(-(s @ eq[:, :2].T + eq[:, 2]), axis=1))) / (0.12 * extent))
        for s in strokes
    ]).clip(0.0, 1.0)


def drop_strokes(strokes: Strokes, rng: np.random.Generator, amount: float) -> Strokes:
    """Leave out strokes: short interior (detail) strokes often, outline strokes rarely, and at high
    noise whole parts of the drawing (careless, incomplete sketches).

    Each stroke goes with probability
    ``0.5 * amount * (1 - length / longest) ** 1.5 * (0.3 + 0.7 * inside) + 0.3 * amount ** 2``
    where ``inside`` in [0, 1] says how far the stroke lies within the drawing's convex hull;
    the longest stroke always stays.
    """
    if not strokes or amount <= 0:
        return list(strokes)
    lengths = np.array([_arc_length(s) for s in strokes])
    rel = lengths / max(float(lengths.max()), 1e-9)
    p = 0.5 * amount * (1.0 - rel) ** 1.5 * (0.3 + 0.7 * _interior_score(strokes)) + 0.3 * amount**2
    keep = rng.random(len(strokes)) >= p
    keep[int(np.argmax(lengths))] = True
    return [s for s, k in zip(strokes, keep) if k]


def jitter_proportions(strokes: Strokes, rng: np.random.Generator, amount: float) -> Strokes:
    """Distort proportions: stretch along a random axis (up to +-25%) and bend the drawing with a
    smooth random warp (displacements of ~0.02-0.04 at ``amount`` = 1), as people misjudge sizes."""
    if not strokes or amount <= 0:
        return list(strokes)
    c = _centre(strokes)
    theta = rng.uniform(0.0, math.pi)
    axis = np.array([math.cos(theta), math.sin(theta)])
    stretch = 1.0 + rng.uniform(-0.25, 0.25) * amount
    freq = rng.uniform(1.0, 2.5, size=(2, 2)) * math.pi  # low frequencies: whole parts move together
    phase = rng.uniform(0.0, 2.0 * math.pi, size=(2, 2))
    amp = rng.normal(0.0, 0.018, size=2) * amount
    out = []
    for s in strokes:
        d = s - c
        d = d + np.outer(d @ axis, axis) * (stretch - 1.0)
        x, y = s[:, 0], s[:, 1]
        dx = amp[0] * np.sin(freq[0, 0] * y + phase[0, 0]) * np.cos(freq[0, 1] * x + phase[0, 1])
        dy = amp[1] * np.sin(freq[1, 0] * x + phase[1, 0]) * np.cos(freq[1, 1] * y + phase[1, 1])
        out.append((c + d + np.stack([dx, dy], axis=1)).astype(np.float32))
    return out


def jitter_pose(strokes: Strokes, rng: np.random.Generator, amount: float) -> Strokes:
    """Tilt and skew the whole drawing: rotation N(0, 10 * amount) deg, shear N(0, 0.08 * amount)."""
    if not strokes:
        return []
    c = _centre(strokes)
    a = math.radians(rng.normal(0.0, 10.0 * amount))
    shear = rng.normal(0.0, 0.08 * amount)
    m = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.array([[1.0, shear], [0.0, 1.0]])
    return [((s - c) @ m.T + c).astype(np.float32) for s in strokes]


def add_gaps(strokes: Strokes, rng: np.random.Generator, amount: float) -> Strokes:
    """Break strokes and leave closures imperfect.

    Every stroke end is either pulled back (a gap at a corner) or pushed on (an overshoot); the
    sizes grow with ``amount``. Long strokes are also broken in ``Poisson(3 * amount * length)``
    places, each gap ``U(0.015, 0.02 + 0.05 * amount)`` long (units of the [0, 1] canvas).
    """
    out: Strokes = []
    for s in strokes:
        if len(s) < 2:
            out.append(s)
            continue
        length = _arc_length(s)
        if length <= 1e-6:
            out.append(s[:1])
            continue
        # each end: fall short (ext < 0, a gap at a corner) or overshoot (ext > 0, extend along the stroke)
        ext = []
        for _ in range(2):
            if rng.random() < 0.35 + 0.35 * amount:
                ext.append(-rng.uniform(0.0, 0.01 + 0.04 * amount) * min(1.0, 4.0 * length))
            else:
                ext.append(rng.uniform(0.0, 0.004 + 0.012 * amount))
        if -(ext[0] + ext[1]) > 0.7 * length:  # never trim a stroke away
            ext = [max(e, 0.0) for e in ext]
        head = s[:1] + _end_direction(s, True, 3) * max(ext[0], 0.0)
        tail = s[-1:] + _end_direction(s, False, 3) * max(ext[1], 0.0)
        s2 = np.concatenate([head, s, tail], axis=0).astype(np.float32)
        total = length + max(ext[0], 0.0) + max(ext[1], 0.0)
        s2 = _cut(s2, max(-ext[0], 0.0), total - max(-ext[1], 0.0))
        # breaks in the middle
        length2 = _arc_length(s2)
        n_breaks = rng.poisson(3.0 * amount * length2)
        if n_breaks == 0 or length2 < 0.08:
            out.append(s2)
            continue
        cuts = np.sort(rng.uniform(0.1, 0.9, size=n_breaks)) * length2
        gaps = rng.uniform(0.015, 0.02 + 0.05 * amount, size=n_breaks)
        pos = 0.0
        for cpos, g in zip(cuts, gaps):
            if cpos - g / 2 > pos + 0.01:
                out.append(_cut(s2, pos, cpos - g / 2))
            pos = max(pos, cpos + g / 2)
        if length2 > pos + 0.01:
            out.append(_cut(s2, pos, length2))
    return out


def _catmull_rom(p: np.ndarray, spacing: float, closed: bool) -> np.ndarray:
    """Centripetal Catmull-Rom spline through the vertices of ``p`` (N, 2), sampled every ~``spacing``.

    All segments are evaluated at once as cubic Hermite curves with the centripetal tangents.
    """
    if closed and len(p) > 3:
        ext = np.concatenate([p[-2:-1], p, p[1:2]], axis=0)
    else:
        ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]], axis=0)
    p0, p1, p2, p3 = ext[:-3], ext[1:-2], ext[2:-1], ext[3:]  # (S, 2) each, S = N - 1 segments
    d = np.hypot(*(p2 - p1).T)
    keep = d > 1e-9
    if not keep.any():
        return p[:1].copy()
    p0, p1, p2, p3, d = p0[keep], p1[keep], p2[keep], p3[keep], d[keep]
    t01 = np.maximum(np.hypot(*(p1 - p0).T), 1e-12) ** 0.5
    t12 = d**0.5
    t23 = np.maximum(np.hypot(*(p3 - p2).T), 1e-12) ** 0.5
    m1 = p2 - p1 + t12[:, None] * ((p1 - p0) / t01[:, None] - (p2 - p0) / (t01 + t12)[:, None])
    m2 = p2 - p1 + t12[:, None] * ((p3 - p2) / t23[:, None] - (p3 - p1) / (t12 + t23)[:, None])
    counts = np.maximum(2, np.ceil(d / spacing).astype(np.int64))  # samples per segment (end excluded)
    seg = np.repeat(np.arange(len(d)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    t = ((np.arange(len(seg)) - first) / counts[seg])[:, None]
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
    curve = h00 * p1[seg] + h10 * m1[seg] + h01 * p2[seg] + h11 * m2[seg]
    return np.concatenate([curve, p[-1:]], axis=0)


def smooth_strokes(strokes: Strokes, spacing: float = 0.006, corner_deg: float = 35.0) -> Strokes:
    """Smooth pen paths through each polyline's vertices, sampled about every ``spacing``.

    The polyline is split at its corners (turns sharper than ``corner_deg``), each run between
    corners becomes a centripetal Catmull-Rom spline (so RDP-simplified curves are round again),
    and corners stay sharp (a spline through a box's corners would bulge its sides).
    """
    cos_corner = math.cos(math.radians(corner_deg))
    out: Strokes = []
    for s in strokes:
        if len(s) < 3:
            out.append(_resample(s, spacing) if len(s) == 2 else s.copy())
            continue
        p = s.astype(np.float64)
        d = np.diff(p, axis=0)
        d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        turn_cos = (d[:-1] * d[1:]).sum(axis=1)
        corners = (np.nonzero(turn_cos < cos_corner)[0] + 1).tolist()
        closed = bool(np.allclose(p[0], p[-1]))
        if closed and not corners:
            out.append(_catmull_rom(p, spacing, closed=True).astype(np.float32))
            continue
        cuts = [0] + corners + [len(p) - 1]
        runs = [
            _catmull_rom(p[a:b + 1], spacing, closed=False)[:-1] if b - a > 1  # a curve between corners
            else np.linspace(p[a], p[b], max(2, int(math.ceil(np.hypot(*(p[b] - p[a])) / spacing))),
                             endpoint=False)  # a straight side
            for a, b in zip(cuts[:-1], cuts[1:])
        ]
        out.append(np.concatenate(runs + [p[-1:]], axis=0).astype(np.float32))
    return out


def _smooth_noise(n: int, rng: np.random.Generator, corr: float) -> np.ndarray:
    """``(n,)`` Gaussian noise with unit std, correlated over about ``corr`` samples."""
    from scipy.ndimage import gaussian_filter1d

    x = rng.normal(0.0, 1.0, size=n + int(6 * corr) + 2)
    if corr > 0.5:
        x = gaussian_filter1d(x, corr, mode="wrap")
        x /= max(float(x.std()), 1e-9)
    start = int(3 * corr) + 1
    return x[start:start + n]


def wobble(strokes: Strokes, rng: np.random.Generator, amount: float, spacing: float = 0.006) -> Strokes:
    """Hand wobble: each stroke bows a little, drifts slowly sideways and trembles.

    Lateral offsets (along the normal) in [0, 1] units: a bow of N(0, (0.012 + 0.05 * amount) * length),
    a drift of std ``0.0015 + 0.008 * amount`` correlated over ~0.08 of arc length, and a tremor of
    std ``0.0003 + 0.0015 * amount``. Strokes are resampled every ``spacing`` first.
    """
    out: Strokes = []
    for s in strokes:
        if len(s) < 2:
            out.append(s + rng.normal(0.0, 0.002 * amount, size=s.shape).astype(np.float32))
            continue
        r = _resample(s, spacing).astype(np.float64)
        n = len(r)
        length = _arc_length(r)
        tang = np.gradient(r, axis=0)
        tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-12)
        normal = np.stack([-tang[:, 1], tang[:, 0]], axis=1)
        u = np.linspace(0.0, 1.0, n)
        bow = rng.normal(0.0, (0.012 + 0.05 * amount) * min(length, 0.6)) * 4.0 * u * (1.0 - u)
        drift = (0.0015 + 0.008 * amount) * _smooth_noise(n, rng, 0.08 / spacing)
        drift *= np.minimum(1.0, 8.0 * u * (1.0 - u) + 0.3)  # ends stay closer to where they aimed
        tremor = (0.0003 + 0.0015 * amount) * _smooth_noise(n, rng, 1.5)
        off = bow + drift + tremor
        out.append((r + normal * off[:, None]).astype(np.float32))
    return out


def overtrace(strokes: Strokes, rng: np.random.Generator, amount: float) -> Strokes:
    """Trace some strokes again, slightly off and often only in part, as people re-draw a line.

    Each stroke is re-traced with probability ``0.05 + 0.4 * amount`` (long strokes more often);
    the copy is shifted by ~``0.003 + 0.008 * amount`` (less on short strokes), covers 50-100% of the stroke and wobbles on
    its own. At high noise some copies are traced twice more (scribbles). Copies follow their stroke.
    """
    out: Strokes = []
    for s in strokes:
        out.append(s)
        length = _arc_length(s)
        if len(s) < 2 or length < 0.03:
            continue
        p = (0.05 + 0.4 * amount) * min(1.0, 0.4 + 2.0 * length)
        n_copies = 0
        if rng.random() < p:
            n_copies = 1 + int(rng.random() < 0.6 * amount) + int(rng.random() < 0.3 * amount)
        for _ in range(n_copies):
            frac = rng.uniform(0.5, 1.0)
            a = rng.uniform(0.0, 1.0 - frac) * length
            piece = _cut(s, a, a + frac * length)
            if rng.random() < 0.5:
                piece = piece[::-1]
            shift = rng.normal(0.0, (0.003 + 0.008 * amount) * min(1.0, 0.5 + 3.0 * length), size=2)
            out.extend(wobble([piece + shift.astype(np.float32)], rng, amount))
    return out


def add_extra_strokes(strokes: Strokes, rng: np.random.Generator, amount: float) -> Strokes:
    """Add stray marks: short hatching near the drawing, a ground line, a few short flicks.

    ``Poisson(5 * amount ** 1.5)`` extra strokes; a hatch is 3-6 short parallel lines.
    """
    if not strokes:
        return []
    pts = np.concatenate(strokes, axis=0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    ext = np.maximum(hi - lo, 0.05)
    out = list(strokes)
    for _ in range(rng.poisson(5.0 * amount**1.5)):
        kind = rng.random()
        if kind < 0.35:  # hatching on the drawing
            centre = pts[rng.integers(len(pts))]
            ang = rng.uniform(0.6, 1.2) * (1 if rng.random() < 0.5 else -1)
            d = np.array([math.cos(ang), math.sin(ang)]) * rng.uniform(0.03, 0.07)
            step = np.array([-d[1], d[0]]) / np.linalg.norm(d) * rng.uniform(0.01, 0.018)
            for k in range(rng.integers(3, 7)):
                base = centre + (k - 2) * step
                out.append(np.stack([base - d / 2, base + d / 2]).astype(np.float32))
        elif kind < 0.45:  # ground line under the object
            y = hi[1] + rng.uniform(0.0, 0.03)
            x0 = lo[0] + rng.uniform(-0.1, 0.2) * ext[0]
            x1 = hi[0] - rng.uniform(-0.1, 0.2) * ext[0]
            out.append(np.array([[x0, y], [(x0 + x1) / 2, y + rng.normal(0, 0.005)], [x1, y]], dtype=np.float32))
        else:  # a short flick near an existing point
            p0 = pts[rng.integers(len(pts))] + rng.normal(0.0, 0.03, size=2)
            d = rng.normal(0.0, 0.04, size=2)
            out.append(np.stack([p0, p0 + d / 2 + rng.normal(0, 0.01, 2), p0 + d]).astype(np.float32))
    new = out[len(strokes):]
    return list(strokes) + (wobble(smooth_strokes(new), rng, amount) if new else [])


def vary_width(strokes: Strokes, rng: np.random.Generator, amount: float) -> list[float]:
    """Per-stroke width multipliers: one pen for the sketch (log-normal around 1, sd 0.15) times a
    per-stroke pressure factor (sd ``0.05 + 0.15 * amount``), clipped to [0.5, 1.8]."""
    pen = math.exp(rng.normal(0.0, 0.15))
    w = pen * np.exp(rng.normal(0.0, 0.05 + 0.15 * amount, size=len(strokes)))
    return np.clip(w, 0.5, 1.8).round(3).tolist()


def humanize(strokes: Sequence[Any], rng: np.random.Generator, noise: float) -> tuple[Strokes, list[float]]:
    """Make traced strokes look hand drawn; returns ``(strokes, widths)`` (one width multiplier per stroke).

    ``noise`` in [0, 1] scales every effect (0: clean lines with a slight natural wobble; 1: very
    messy). The steps, in order: :func:`drop_strokes`, :func:`jitter_proportions`,
    :func:`jitter_pose`, :func:`add_gaps`, :func:`smooth_strokes`, :func:`wobble`,
    :func:`overtrace`, :func:`add_extra_strokes`, :func:`vary_width`. Coordinates may leave
    [0, 1]² slightly; :func:`synthesize_sketch` re-fits the result.
    """
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"humanize: noise must be in [0, 1], got {noise}")
    s = check_strokes(strokes)
    if not s:
        return [], []
    s = drop_strokes(s, rng, noise)
    s = jitter_proportions(s, rng, noise)
    s = jitter_pose(s, rng, noise)
    s = add_gaps(s, rng, noise)
    s = smooth_strokes(s)
    s = wobble(s, rng, noise)
    s = overtrace(s, rng, noise)
    s = add_extra_strokes(s, rng, noise)
    return s, vary_width(s, rng, noise)


def synthesize_sketch(mesh: "trimesh.Trimesh", rng: np.random.Generator, noise: float, size: int = 256) -> Sketch:
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
        strokes = [s for s in strokes if _arc_length(s) >= 0.02] or strokes[:1]
    strokes, widths = humanize(strokes, rng, noise)
    strokes = normalize_strokes(strokes, margin=float(rng.uniform(0.04, 0.12)))
    return Sketch(strokes=strokes, widths=widths, noise=float(noise), view=view_angles(camera))
