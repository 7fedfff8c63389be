"""Strokes in memory: validation, geometry helpers, the input checks and the ONE rasteriser.

A sketch in memory is a list of strokes (:data:`Strokes`); each stroke is an ``(N, 2)`` float32
polyline in **[0, 1]² image coordinates** (x to the right, y downwards). A stroke of one point is a dot.

* :func:`strokes_to_image` is the ONE rasteriser (training, widgets and the CLI all call it).
* :func:`sketch_problem` and :func:`cap_strokes` are the checks every drawn or loaded sketch goes
  through before a query (the sketch pad, the live demo and ``sbsr-lab query``).
* Reading and writing files (QuickDraw ndjson, SVG, PNG/JPEG) is :mod:`sbsr_lab.data.stroke_io`.

Bad input raises :class:`sbsr_lab.errors.SketchError` naming the problem and the fix.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from sbsr_lab.errors import SketchError

__all__ = [
    "Strokes",
    "strokes_to_image",
    "normalize_strokes",
    "simplify_strokes",
    "check_strokes",
    "stroke_length",
    "end_direction",
    "sketch_problem",
    "cap_strokes",
    "MIN_EXTENT",
    "MAX_STROKES",
    "MAX_POINTS",
]

#: A sketch: a list of ``(N, 2)`` float32 polylines in [0, 1]² (x right, y down).
Strokes = list[np.ndarray]

MIN_EXTENT = 0.02        # a sketch smaller than 2% of the canvas (a dot, a tap) is not queried
MAX_STROKES = 256        # strokes kept in one sketch (the longest win when there are more)
MAX_POINTS = 2048        # points in one stroke before it is simplified on the fly

_SUPERSAMPLE = 4          # the rasteriser draws at 4x and box-filters down (16 grey levels of anti-aliasing)
_SHARP_TURN_COS = 0.85    # joints turning more than ~32 degrees get a round cap (PIL joints are mitre-less)


# ---------------------------------------------------------------------------------------------
# validation and geometry helpers
# ---------------------------------------------------------------------------------------------

def check_strokes(strokes: Sequence[Any], source: str = "the sketch") -> Strokes:
    """Validate and convert to :data:`Strokes` (float32 ``(N, 2)`` arrays); empty strokes are dropped.

    Raises :class:`SketchError` for NaN/inf coordinates or arrays that are not ``(N, 2)``.
    """
    if all(isinstance(s, np.ndarray) and s.dtype == np.float32 and s.ndim == 2 and s.shape[1] == 2
           and len(s) > 0 for s in strokes):  # fast path: already Strokes
        if strokes and not np.isfinite(np.concatenate(strokes, axis=0)).all():
            bad = next(i for i, s in enumerate(strokes) if not np.isfinite(s).all())
            raise SketchError(
                f"Stroke {bad} of {source} has NaN or infinite coordinates. "
                "Fix: drop those points (or re-export the sketch) before rasterising."
            )
        return list(strokes)
    out: Strokes = []
    for i, s in enumerate(strokes):
        arr = np.asarray(s, dtype=np.float32)
        if arr.size == 0:
            continue
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise SketchError(
                f"Stroke {i} of {source} has shape {arr.shape}; each stroke must be an (N, 2) array of "
                "(x, y) points. Fix: pass a list of polylines, e.g. [np.array([[x0, y0], [x1, y1]])]."
            )
        if not np.isfinite(arr).all():
            raise SketchError(
                f"Stroke {i} of {source} has NaN or infinite coordinates. "
                "Fix: drop those points (or re-export the sketch) before rasterising."
            )
        out.append(arr)
    return out


def end_direction(pts: np.ndarray, at_start: bool, reach: int = 6) -> np.ndarray:
    """Unit direction pointing out of a polyline at one end, from ``reach`` points inside."""
    if at_start:
        d = pts[0] - pts[min(reach, len(pts) - 1)]
    else:
        d = pts[-1] - pts[max(len(pts) - 1 - reach, 0)]
    n = float(np.linalg.norm(d))
    return d / n if n > 0 else d


def stroke_length(s: np.ndarray) -> float:
    """Arc length of an ``(N, 2)`` polyline (0 for a dot)."""
    return float(np.linalg.norm(np.diff(s, axis=0), axis=1).sum()) if len(s) > 1 else 0.0


def _bbox(strokes: Strokes) -> tuple[np.ndarray, np.ndarray]:
    pts = np.concatenate(strokes, axis=0)
    return pts.min(axis=0), pts.max(axis=0)


def normalize_strokes(strokes: Sequence[Any], margin: float = 0.05) -> Strokes:
    """Fit the sketch's bounding box into ``[margin, 1 - margin]²``, keeping its aspect and centring it.

    A sketch that is a single point lands at the centre. Returns new float32 arrays.
    """
    strokes = check_strokes(strokes)
    if not strokes:
        return []
    lo, hi = _bbox(strokes)
    extent = float((hi - lo).max())
    span = 1.0 - 2.0 * margin
    scale = span / extent if extent > 1e-12 else 0.0
    centre = (lo + hi) / 2.0
    return [((s - centre) * scale + 0.5).astype(np.float32) for s in strokes]


def _rdp_keep(p: np.ndarray, tolerance: float) -> np.ndarray:
    """Ramer-Douglas-Peucker on an ``(N, 2)`` polyline: boolean mask of the vertices to keep.

    Iterative (a stack of index ranges); distances are to the segment (not the infinite line),
    each range's distances computed at once with numpy.
    """
    keep = np.zeros(len(p), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(p) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = p[b] - p[a]
        rel = p[a + 1:b] - p[a]
        n2 = float(seg @ seg)
        if n2 > 1e-24:  # distance to the segment a-b (to its nearest end beyond the ends)
            t = np.clip(rel @ seg / n2, 0.0, 1.0)
            off = rel - t[:, None] * seg
        else:  # closed loop: distance to the point
            off = rel
        dist = np.hypot(off[:, 0], off[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > tolerance:
            m = a + 1 + k
            keep[m] = True
            stack += [(a, m), (m, b)]
    return keep


def simplify_strokes(strokes: Sequence[Any], tolerance: float = 0.004) -> Strokes:
    """Ramer-Douglas-Peucker simplification of every stroke (``tolerance`` in [0, 1] units).

    Every removed vertex lies within ``tolerance`` of the simplified stroke. Gives the same vertices
    as :func:`skimage.measure.approximate_polygon` (checked in the tests), vectorised: several times
    faster on long pixel paths. Dots and 2-point strokes are kept as they are.
    """
    out: Strokes = []
    for s in check_strokes(strokes):
        if len(s) <= 2:
            out.append(s.copy())
        else:
            out.append(s[_rdp_keep(s.astype(np.float64), tolerance)])
    return out


# ---------------------------------------------------------------------------------------------
# the rasteriser
# ---------------------------------------------------------------------------------------------

def _sharp_joints(pts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Indices into the concatenated points ``pts`` (P, 2) of interior vertices where a stroke turns
    sharply; ``starts`` (S + 1,) are the offsets of the strokes in ``pts``."""
    if len(pts) < 3:
        return np.zeros(0, dtype=np.int64)
    d = np.diff(pts, axis=0)  # d[i] = pts[i + 1] - pts[i]
    d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    cos = (d[:-1] * d[1:]).sum(axis=1)  # turn at vertex i + 1
    interior = np.ones(len(pts), dtype=bool)
    interior[starts[:-1]] = False
    interior[starts[1:] - 1] = False
    return np.nonzero((cos < _SHARP_TURN_COS) & interior[1:-1])[0] + 1


def strokes_to_image(
    strokes: Sequence[Any],
    size: int = 128,
    width: float | None = None,
    widths: Sequence[float] | None = None,
) -> np.ndarray:
    """Rasterise strokes to a ``(size, size)`` float32 image, ink = 1, paper = 0, anti-aliased.

    Args:
        strokes: polylines in [0, 1]² (x right, y down); a one-point stroke draws a dot.
        size: side of the output in pixels.
        width: line width in pixels at ``size`` (default ``max(1, size / 64)``: 2 px at 128).
        widths: optional per-stroke multipliers of ``width`` (one per stroke).

    Lines are drawn with PIL at 4x resolution with round caps and round sharp joints, then
    box-filtered down. About 1.5 ms for a 30-stroke hand-drawn sketch at 128 px.
    """
    from PIL import Image, ImageDraw

    strokes = check_strokes(strokes)
    if widths is not None and len(widths) != len(strokes):
        raise SketchError(
            f"Got {len(widths)} stroke widths for {len(strokes)} strokes. "
            "Fix: pass one width multiplier per (non-empty) stroke, or widths=None."
        )
    base = float(width) if width is not None else max(1.0, size / 64.0)
    ss = _SUPERSAMPLE
    big = size * ss
    canvas = Image.new("L", (big, big), 0)
    if not strokes:
        return np.zeros((size, size), dtype=np.float32)
    draw = ImageDraw.Draw(canvas)
    counts = np.fromiter((len(s) for s in strokes), dtype=np.int64, count=len(strokes))
    starts = np.concatenate([[0], np.cumsum(counts)])
    pts = np.concatenate(strokes, axis=0).astype(np.float64) * big - 0.5  # big-canvas pixel centres at integers
    mult = np.ones(len(strokes)) if widths is None else np.asarray(widths, dtype=np.float64)
    w_px = base * ss * mult  # widths at 4x
    radius = np.maximum(w_px / 2.0, 0.5)
    sharp = _sharp_joints(pts, starts)
    stroke_of_sharp = np.searchsorted(starts, sharp, side="right") - 1
    spread = (np.maximum.reduceat(pts, starts[:-1], axis=0) - np.minimum.reduceat(pts, starts[:-1], axis=0)).max(axis=1)
    flat = pts.tolist()
    coords = pts.ravel().tolist()  # x0, y0, x1, y1, ... as PIL wants them
    caps: list[tuple[float, float, float]] = []
    for i in range(len(strokes)):
        if w_px[i] <= 0:
            continue
        a, b = int(starts[i]), int(starts[i + 1])
        r = float(radius[i])
        if spread[i] > 1e-6:  # a real line, not a dot
            draw.line(coords[2 * a:2 * b], fill=255, width=max(1, int(round(w_px[i]))))
            caps.append((*flat[b - 1], r))
        caps.append((*flat[a], r))
    for j, i in zip(sharp.tolist(), stroke_of_sharp.tolist()):
        if w_px[i] > 0:
            caps.append((*flat[j], float(radius[i])))
    for x, y, r in caps:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    small = canvas.reduce(ss)
    return np.asarray(small, dtype=np.float32) * np.float32(1.0 / 255.0)


# ---------------------------------------------------------------------------------------------
# checks before a query (the sketch pad, the live demo and the CLI share them)
# ---------------------------------------------------------------------------------------------

def cap_strokes(strokes: Sequence[Any], max_strokes: int = MAX_STROKES, max_points: int = MAX_POINTS,
                tolerance: float = 0.002) -> list[np.ndarray]:
    """Bound a sketch so that rasterising and drawing it stays fast, whatever came in.

    A stroke of more than 8 x ``max_points`` points is first thinned evenly to that many, and only the first
    16 x ``max_strokes`` strokes are looked at (so the work is bounded whatever came in); then every stroke
    is simplified (RDP, ``tolerance`` in [0, 1] units) and, if still longer than ``max_points``, evenly
    subsampled; past ``max_strokes`` strokes only the longest are kept (in drawing order).
    Returns float32 ``(N, 2)`` arrays; raises ``SketchError`` on NaN or bad shapes.
    """
    strokes = check_strokes(strokes)
    # a stroke of millions of points is thinned evenly first: RDP on it would hold a worker for minutes
    strokes = [s[np.unique(np.linspace(0, len(s) - 1, 8 * max_points).round().astype(int))] if len(s) > 8 * max_points
               else s for s in strokes[: 16 * max_strokes]]
    strokes = simplify_strokes(strokes, tolerance)
    out = []
    for s in strokes:
        if len(s) > max_points:
            keep = np.unique(np.linspace(0, len(s) - 1, max_points).round().astype(int))
            s = s[keep]
        out.append(s)
    if len(out) > max_strokes:
        order = np.argsort([-stroke_length(s) for s in out], kind="stable")[:max_strokes]
        out = [out[i] for i in sorted(order)]
    return out


def sketch_problem(strokes: Sequence[Any]) -> str | None:
    """Why a sketch cannot be queried (a message for the user), or None when it is fine.

    Empty -> "draw something first"; a dot or a tiny mark (bounding box under :data:`MIN_EXTENT` of the
    canvas) -> "too small". NaN coordinates or bad shapes raise ``SketchError``.
    """
    strokes = check_strokes(strokes)
    if not strokes:
        return "The canvas is empty: draw something first."
    pts = np.concatenate(strokes, axis=0)
    if float(np.ptp(pts, axis=0).max()) < MIN_EXTENT:
        return "That is only a dot: draw the whole shape (a few strokes), then lift the pen."
    return None
