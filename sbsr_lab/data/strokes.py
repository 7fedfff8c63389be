"""Stroke sketches: the one rasteriser, normalisation, simplification and file I/O.

A sketch in memory is a list of strokes (:data:`Strokes`); each stroke is an ``(N, 2)`` float32
polyline in **[0, 1]² image coordinates** (x to the right, y downwards). A stroke of one point is a dot.

* :func:`strokes_to_image` is the ONE rasteriser (training, widgets and the CLI all call it).
* QuickDraw ndjson (``{"word", "key_id", "countrycode", "recognized", "drawing"}``, coordinates
  0..255 integers) and SVG (``<path>``, ``<polyline>``, ...) go in and out.
* :func:`load_sketch_image` turns a PNG/JPEG, ndjson or SVG file into a ``(size, size)`` float32
  image with ink = 1, so every sketch source ends up looking like the training data.

Bad input raises :class:`sbsr_lab.errors.SketchError` naming the file, the problem and the fix.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sbsr_lab.errors import SketchError
from sbsr_lab.io import atomic_write_text

__all__ = [
    "Strokes",
    "strokes_to_image",
    "normalize_strokes",
    "simplify_strokes",
    "check_strokes",
    "stroke_length",
    "end_direction",
    "strokes_to_quickdraw",
    "quickdraw_to_strokes",
    "sketch_record",
    "write_ndjson",
    "read_ndjson",
    "write_svg",
    "read_svg",
    "load_strokes",
    "load_sketch_image",
    "keep_lines_visible",
    "IMAGE_SUFFIXES",
    "STROKE_SUFFIXES",
]

#: A sketch: a list of ``(N, 2)`` float32 polylines in [0, 1]² (x right, y down).
Strokes = list[np.ndarray]

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")
STROKE_SUFFIXES: tuple[str, ...] = (".ndjson", ".svg")

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
# QuickDraw ndjson
# ---------------------------------------------------------------------------------------------

def strokes_to_quickdraw(strokes: Sequence[Any]) -> list[list[list[int]]]:
    """Strokes in [0, 1]² -> QuickDraw ``drawing``: ``[[[x0, x1, ...], [y0, y1, ...]], ...]``, ints 0..255."""
    out = []
    for s in check_strokes(strokes):
        q = np.clip(np.rint(s.astype(np.float64) * 255.0), 0, 255).astype(int)
        out.append([q[:, 0].tolist(), q[:, 1].tolist()])
    return out


def quickdraw_to_strokes(drawing: Sequence[Any], source: str = "the drawing") -> Strokes:
    """QuickDraw ``drawing`` -> strokes in [0, 1]².

    Accepts the simplified format (``[[x...], [y...]]`` per stroke, ints 0..255: divided by 255)
    and the raw format (``[[x...], [y...], [t...]]``, times ignored, screen coordinates that may
    go beyond 255 or below 0: the sketch is then fitted into [0.05, 0.95]² keeping its aspect).
    """
    strokes: Strokes = []
    if not isinstance(drawing, (list, tuple)):
        raise SketchError(f"{source}: 'drawing' must be a list of strokes [[x...], [y...]], got {type(drawing).__name__}.")
    for i, stroke in enumerate(drawing):
        if not isinstance(stroke, (list, tuple)) or len(stroke) not in (2, 3):
            raise SketchError(
                f"{source}: stroke {i} is not of the form [[x...], [y...]] or [[x...], [y...], [t...]]. "
                "Fix: export the sketch in QuickDraw ndjson format."
            )
        try:
            xs = np.asarray(stroke[0], dtype=np.float64)
            ys = np.asarray(stroke[1], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise SketchError(f"{source}: stroke {i} has non-numeric coordinates ({exc}).") from exc
        if xs.ndim != 1 or xs.shape != ys.shape:
            raise SketchError(f"{source}: stroke {i} has {xs.size} x values but {ys.size} y values.")
        if xs.size:
            strokes.append(np.stack([xs, ys], axis=1))
    strokes = check_strokes(strokes, source)
    if not strokes:
        return []
    lo, hi = _bbox(strokes)
    if lo.min() < 0 or hi.max() > 255:
        return normalize_strokes(strokes, margin=0.05)
    return [(s / 255.0).astype(np.float32) for s in strokes]


def sketch_record(
    strokes: Sequence[Any],
    word: str,
    key_id: str,
    noise: float | None = None,
    widths: Sequence[float] | None = None,
) -> dict[str, Any]:
    """One QuickDraw-style record (plus our optional ``noise`` and per-stroke ``widths`` keys)."""
    rec: dict[str, Any] = {
        "word": word,
        "key_id": str(key_id),
        "countrycode": "SB",
        "recognized": True,
        "drawing": strokes_to_quickdraw(strokes),
    }
    if noise is not None:
        rec["noise"] = round(float(noise), 4)
    if widths is not None:
        rec["widths"] = [round(float(w), 3) for w in widths]
    return rec


def write_ndjson(path: str | os.PathLike[str], records: Sequence[dict[str, Any]]) -> None:
    """Write records (see :func:`sketch_record`) one JSON object per line, atomically."""
    lines = [json.dumps(r, separators=(",", ":")) for r in records]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def _check_file(path: str | os.PathLike[str], suffixes: tuple[str, ...]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise SketchError(
            f"{p}: unsupported sketch format {p.suffix or '(no suffix)'!r}. "
            f"Fix: use one of {', '.join(suffixes)}."
        )
    if not p.is_file():
        raise SketchError(f"{p}: sketch file not found. Fix: check the path (cwd is {os.getcwd()}).")
    return p


def read_ndjson(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a QuickDraw-style ndjson file: a list of dicts, each with a ``drawing`` key."""
    p = _check_file(path, (".ndjson", ".jsonl", ".json"))
    records: list[dict[str, Any]] = []
    with open(p, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SketchError(
                    f"{p}: line {lineno} is not valid JSON ({exc.msg} at column {exc.colno}). "
                    "Fix: each line must be one JSON object like "
                    '{"word": "chair", "drawing": [[[x...], [y...]], ...]}.'
                ) from exc
            if not isinstance(rec, dict) or "drawing" not in rec:
                raise SketchError(
                    f"{p}: line {lineno} has no 'drawing' key. Fix: write QuickDraw records "
                    '{"word": ..., "drawing": [[[x...], [y...]], ...]} (see sbsr_lab.data.strokes.sketch_record).'
                )
            records.append(rec)
    if not records:
        raise SketchError(f"{p}: the file is empty (no sketch records). Fix: draw something first and save it again.")
    return records


# ---------------------------------------------------------------------------------------------
# SVG
# ---------------------------------------------------------------------------------------------

def write_svg(
    path: str | os.PathLike[str],
    strokes: Sequence[Any],
    size: int = 256,
    widths: Sequence[float] | None = None,
    width: float | None = None,
) -> None:
    """Write strokes as an SVG of ``size`` x ``size`` user units (viewBox ``0 0 size size``), atomically.

    Each stroke is a ``<path d="M x y L ...">`` (a dot is a zero-length path with round caps).
    ``width`` is the line width in user units (default ``size / 64``), ``widths`` per-stroke multipliers.
    """
    strokes = check_strokes(strokes)
    base = float(width) if width is not None else size / 64.0
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">',
        f'<rect width="{size}" height="{size}" fill="white"/>',
        '<g fill="none" stroke="black" stroke-linecap="round" stroke-linejoin="round">',
    ]
    for i, s in enumerate(strokes):
        q = s.astype(np.float64) * size
        pts = q if len(q) > 1 else np.concatenate([q, q], axis=0)
        d = "M " + " L ".join(f"{x:.2f} {y:.2f}" for x, y in pts)
        w = base * (float(widths[i]) if widths is not None else 1.0)
        parts.append(f'<path d="{d}" stroke-width="{w:.3g}"/>')
    parts += ["</g>", "</svg>", ""]
    atomic_write_text(path, "\n".join(parts))


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"([MmLlHhVvCcSsQqTtAaZz])|({_NUM})")
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}
_CURVE_STEPS = 12  # points per flattened Bezier segment


def _bezier(points: np.ndarray, steps: int = _CURVE_STEPS) -> np.ndarray:
    """Flatten a quadratic (3 control points) or cubic (4) Bezier; returns ``(steps, 2)`` without the start."""
    t = np.linspace(0.0, 1.0, steps + 1)[1:, None]
    if len(points) == 3:
        p0, p1, p2 = points
        return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    p0, p1, p2, p3 = points
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _parse_path_d(d: str, source: str) -> list[np.ndarray]:
    """Parse an SVG path ``d`` string into polylines (curves flattened, arcs as straight chords)."""
    tokens = _TOKEN.findall(d)
    leftover = _TOKEN.sub("", d).replace(",", "").strip()
    if leftover:
        raise SketchError(f"{source}: cannot parse path data near {leftover[:20]!r}. Fix: re-export the SVG.")
    polys: list[list[np.ndarray]] = []
    cur = np.zeros(2)
    start = np.zeros(2)
    last_ctrl: np.ndarray | None = None
    last_cmd = ""
    cmd = ""
    new_subpath = False
    i = 0
    while i < len(tokens):
        letter, num = tokens[i]
        if letter:
            cmd = letter
            i += 1
            if cmd in "Zz":
                if polys and len(polys[-1]) > 0:
                    polys[-1].append(start.copy())
                cur = start.copy()
                last_cmd, last_ctrl = cmd, None
                new_subpath = True
                continue
        elif not cmd or cmd in "Zz":
            raise SketchError(f"{source}: unexpected number {num!r} in path data. Fix: re-export the SVG.")
        n = _ARGS[cmd.upper()]
        vals = []
        for _ in range(n):
            if i >= len(tokens) or tokens[i][0]:
                raise SketchError(f"{source}: command {cmd!r} needs {n} numbers. Fix: re-export the SVG.")
            vals.append(float(tokens[i][1]))
            i += 1
        rel = cmd.islower()
        up = cmd.upper()
        v = np.asarray(vals, dtype=np.float64)
        if up == "M":
            cur = v + cur if rel else v
            start = cur.copy()
            polys.append([cur.copy()])
            new_subpath = False
            cmd = "l" if rel else "L"  # further pairs after M are implicit line-tos
            last_cmd, last_ctrl = "M", None
            continue
        if not polys or new_subpath:
            polys.append([cur.copy()])
            new_subpath = False
        pts: list[np.ndarray]
        if up == "L":
            nxt = v + cur if rel else v
            pts = [nxt]
            last_ctrl = None
        elif up == "H":
            nxt = np.array([v[0] + (cur[0] if rel else 0.0), cur[1]])
            pts = [nxt]
            last_ctrl = None
        elif up == "V":
            nxt = np.array([cur[0], v[0] + (cur[1] if rel else 0.0)])
            pts = [nxt]
            last_ctrl = None
        elif up in ("C", "S"):
            c = v.reshape(-1, 2) + (cur if rel else 0.0)
            if up == "S":
                c1 = 2 * cur - last_ctrl if (last_ctrl is not None and last_cmd in "CcSs") else cur.copy()
                c = np.concatenate([c1[None], c], axis=0)
            curve = _bezier(np.concatenate([cur[None], c], axis=0))
            pts = list(curve)
            last_ctrl = c[1]
        elif up in ("Q", "T"):
            c = v.reshape(-1, 2) + (cur if rel else 0.0)
            if up == "T":
                c1 = 2 * cur - last_ctrl if (last_ctrl is not None and last_cmd in "QqTt") else cur.copy()
                c = np.concatenate([c1[None], c], axis=0)
            curve = _bezier(np.concatenate([cur[None], c], axis=0))
            pts = list(curve)
            last_ctrl = c[0]
        else:  # "A": arcs are drawn as their chord (documented limitation)
            nxt = v[5:7] + (cur if rel else 0.0)
            pts = [nxt]
            last_ctrl = None
        polys[-1].extend(pts)
        cur = pts[-1].copy()
        last_cmd = cmd
    return [np.asarray(p) for p in polys if len(p) > 0]


def _floats(text: str | None) -> np.ndarray:
    return np.asarray([float(t) for t in re.findall(_NUM, text or "")], dtype=np.float64)


def _length(text: str | None) -> float | None:
    """An SVG length attribute in user units ("256", "256px"); None for percentages or missing."""
    if not text or text.strip().endswith("%"):
        return None
    vals = _floats(text)
    return float(vals[0]) if vals.size else None


def read_svg(path: str | os.PathLike[str]) -> Strokes:
    """Read the strokes of an SVG file, in [0, 1]².

    Reads ``<path>`` (M/L/H/V/C/S/Q/T/A/Z, absolute and relative; curves flattened, arcs drawn as
    their chord), ``<polyline>``, ``<polygon>`` and ``<line>``; other elements (``<rect>`` used as a
    white background, text, images) are ignored. The ``viewBox`` (or ``width``/``height``) maps the
    canvas to [0, 1]² keeping the aspect (the shorter side is centred); without either, the drawing
    is fitted to its bounding box. **Limitation**: ``transform`` attributes are ignored, so export
    sketches with flattened transforms.
    """
    p = _check_file(path, (".svg",))
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise SketchError(f"{p}: not a valid SVG/XML file ({exc}). Fix: re-export the sketch as SVG.") from exc
    src = str(p)
    polys: list[np.ndarray] = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "path":
            polys += _parse_path_d(el.get("d", ""), src)
        elif tag in ("polyline", "polygon"):
            v = _floats(el.get("points"))
            if v.size % 2:
                raise SketchError(f"{src}: a <{tag}> has an odd number of coordinates. Fix: re-export the SVG.")
            pts = v.reshape(-1, 2)
            if tag == "polygon" and len(pts) > 1:
                pts = np.concatenate([pts, pts[:1]], axis=0)
            if len(pts):
                polys.append(pts)
        elif tag == "line":
            vals = [float(el.get(k, 0.0)) for k in ("x1", "y1", "x2", "y2")]
            polys.append(np.asarray(vals).reshape(2, 2))
    polys = [s[:1] if np.ptp(s, axis=0).max() == 0 else s for s in check_strokes(polys, src)]  # dots
    if not polys:
        raise SketchError(f"{src}: the SVG has no strokes (<path>, <polyline>, <line>). Fix: draw something first.")
    vb = _floats(root.get("viewBox"))
    if vb.size == 4 and vb[2] > 0 and vb[3] > 0:
        x0, y0, w, h = vb
    else:
        w, h = _length(root.get("width")), _length(root.get("height"))
        if not w or not h:
            return normalize_strokes(polys, margin=0.05)
        x0 = y0 = 0.0
    side = max(w, h)
    offset = np.array([x0 - (side - w) / 2.0, y0 - (side - h) / 2.0])
    return [((s - offset) / side).astype(np.float32) for s in polys]


# ---------------------------------------------------------------------------------------------
# loading any sketch file
# ---------------------------------------------------------------------------------------------

def load_strokes(path: str | os.PathLike[str], index: int = 0) -> Strokes:
    """Strokes of a ``.ndjson`` (record ``index``) or ``.svg`` sketch, in [0, 1]²."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        raise SketchError(
            f"{p}: a raster image has no strokes. Fix: use load_sketch_image({str(p)!r}, size) instead, "
            "or save the sketch as .ndjson/.svg."
        )
    _check_file(p, STROKE_SUFFIXES)
    if suffix == ".svg":
        strokes = read_svg(p)
    else:
        records = read_ndjson(p)
        if not 0 <= index < len(records):
            raise SketchError(f"{p}: asked for record {index} but the file has {len(records)}.")
        strokes = quickdraw_to_strokes(records[index]["drawing"], source=f"{p} (record {index})")
    if not strokes:
        raise SketchError(f"{p}: the sketch is blank (no strokes). Fix: draw something first.")
    return strokes


def keep_lines_visible(ink: np.ndarray, size: int) -> np.ndarray:
    """Thicken the lines of an ``(H, W)`` ink image (ink = 1) that is about to shrink to ``size`` px.

    Box-shrinking a large scan by a factor k spreads a thin line over k pixels: a 3 px pen line on
    a 1,111 px SHREC sketch comes out at 96 px as a faint grey trace (~0.3 of full ink). With
    k = max(H, W) / size >= 1.5, a grey dilation (maximum filter) of ``round(k)`` px first makes
    every line at least about one target pixel wide, so it keeps nearly full ink. Smaller factors
    (e.g. the 128 -> 96 px of SynthShapes) return ``ink`` unchanged.
    """
    k = max(ink.shape) / float(size)
    if k < 1.5:
        return ink
    from scipy.ndimage import maximum_filter

    return maximum_filter(ink, size=int(round(k)), mode="constant", cval=0.0)


def _image_to_ink(path: Path, size: int) -> np.ndarray:
    """Read a PNG/JPEG as ink in [0, 1], padded to a square with paper and resized to ``size``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                gray = Image.alpha_composite(paper, rgba).convert("L")
            else:
                gray = im.convert("L")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SketchError(
            f"{path}: cannot read the image ({exc}). Fix: save the sketch again as PNG (black ink on white)."
        ) from exc
    arr = np.asarray(gray, dtype=np.float32) / 255.0
    # paper is the most common value along the border: white paper -> ink = 1 - grey (black on white);
    # dark paper (white ink on black) -> ink = grey.
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    ink = 1.0 - arr if np.median(border) >= 0.5 else arr
    h, w = ink.shape
    side = max(h, w)
    if h != w:
        sq = np.zeros((side, side), dtype=np.float32)
        sq[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = ink
        ink = sq
    if side != size:
        ink = keep_lines_visible(ink, size)
        ink = np.asarray(Image.fromarray(ink, mode="F").resize((size, size), Image.Resampling.BOX), dtype=np.float32)
    return np.clip(ink, 0.0, 1.0)


def load_sketch_image(path: str | os.PathLike[str], size: int, width: float | None = None) -> np.ndarray:
    """Any sketch file -> ``(size, size)`` float32 image, ink = 1, paper = 0.

    ``.png``/``.jpg``: black ink on white (RGBA with transparent paper is composited on white; white
    ink on black is detected from the border and kept), padded to a square, box-resized (thin lines of
    large scans thickened first: :func:`keep_lines_visible`).
    ``.ndjson`` (first record, its ``widths`` if present) and ``.svg``: rasterised by
    :func:`strokes_to_image` with line ``width`` in pixels (default ``size / 64``).
    Raises :class:`SketchError` for a missing/corrupt/unsupported file or a blank sketch.
    """
    p = _check_file(path, IMAGE_SUFFIXES + STROKE_SUFFIXES)
    suffix = p.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        img = _image_to_ink(p, size)
    else:
        widths = None
        if suffix == ".ndjson":
            rec = read_ndjson(p)[0]
            strokes = quickdraw_to_strokes(rec["drawing"], source=str(p))
            w = rec.get("widths")
            if isinstance(w, list) and len(w) == len(strokes):
                widths = [float(x) for x in w]
        else:
            strokes = read_svg(p)
        img = strokes_to_image(strokes, size=size, width=width, widths=widths)
    if float(img.max(initial=0.0)) < 0.05:
        raise SketchError(f"{p}: the sketch is blank (no ink found). Fix: draw something first.")
    return img
