"""Sketch files in and out: QuickDraw ndjson, SVG, and PNG/JPEG images.

* QuickDraw ndjson (``{"word", "key_id", "countrycode", "recognized", "drawing"}``, coordinates
  0..255 integers) and SVG (``<path>``, ``<polyline>``, ...) go in and out as :data:`Strokes`.
* :func:`load_sketch_image` turns a PNG/JPEG, ndjson or SVG file into a ``(size, size)`` float32
  image with ink = 1 (stroke files through the one rasteriser, :func:`sbsr_lab.data.strokes.strokes_to_image`),
  so every sketch source ends up looking like the training data.

Bad input raises :class:`sbsr_lab.errors.SketchError` naming the file, the problem and the fix.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sbsr_lab.data.strokes import Strokes, check_strokes, normalize_strokes, strokes_to_image
from sbsr_lab.errors import SketchError
from sbsr_lab.io import atomic_write_text, open_image

__all__ = [
    "strokes_to_quickdraw",
    "quickdraw_to_strokes",
    "sketch_record",
    "write_ndjson",
    "read_ndjson",
    "MAX_NDJSON_LINE_BYTES",
    "write_svg",
    "read_svg",
    "load_strokes",
    "load_sketch_image",
    "keep_lines_visible",
    "IMAGE_SUFFIXES",
    "STROKE_SUFFIXES",
]

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")
STROKE_SUFFIXES: tuple[str, ...] = (".ndjson", ".svg")


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
        except (TypeError, ValueError, OverflowError) as exc:
            raise SketchError(f"{source}: stroke {i} has non-numeric or huge coordinates ({exc}).") from exc
        if xs.ndim != 1 or xs.shape != ys.shape:
            raise SketchError(f"{source}: stroke {i} has {xs.size} x values but {ys.size} y values.")
        if xs.size:
            strokes.append(np.stack([xs, ys], axis=1))
    strokes = check_strokes(strokes, source)
    if not strokes:
        return []
    pts = np.concatenate(strokes, axis=0)
    if pts.min() < 0 or pts.max() > 255:
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


#: Longest line (one record) :func:`read_ndjson` reads: a QuickDraw drawing is a few kB; a 500-stroke
#: detailed drawing under 2 MB.
MAX_NDJSON_LINE_BYTES = 16 << 20


def read_ndjson(path: str | os.PathLike[str], limit: int | None = None) -> list[dict[str, Any]]:
    """Read a QuickDraw-style ndjson file: a list of dicts, each with a ``drawing`` key.

    The file is read line by line, never whole: ``limit`` stops after that many records (a query reads
    its first: ``limit=1``), and a line longer than :data:`MAX_NDJSON_LINE_BYTES` is refused.
    """
    p = _check_file(path, (".ndjson", ".jsonl", ".json"))
    records: list[dict[str, Any]] = []
    with p.open("rb") as f:
        lineno = 0
        while limit is None or len(records) < limit:
            raw = f.readline(MAX_NDJSON_LINE_BYTES + 1)
            if not raw:
                break
            lineno += 1
            if len(raw) > MAX_NDJSON_LINE_BYTES:
                raise SketchError(f"{p}: line {lineno} is longer than {MAX_NDJSON_LINE_BYTES >> 20} MB; a sketch record "
                                  "is a few kB. Fix: one QuickDraw record per line (see sbsr_lab.data.stroke_io.sketch_record).")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SketchError(f"{p}: not UTF-8 text ({exc.reason} on line {lineno}). Fix: save the ndjson file "
                                  "as UTF-8 text, one JSON record per line.") from None
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except RecursionError:
                raise SketchError(f"{p}: line {lineno} is nested too deeply to be a sketch record. Fix: write "
                                  "QuickDraw records (see sbsr_lab.data.stroke_io.sketch_record).") from None
            except json.JSONDecodeError as exc:
                raise SketchError(
                    f"{p}: line {lineno} is not valid JSON ({exc.msg} at column {exc.colno}). "
                    "Fix: each line must be one JSON object like "
                    '{"word": "chair", "drawing": [[[x...], [y...]], ...]}.'
                ) from exc
            except ValueError as exc:  # e.g. an integer of more digits than Python converts
                raise SketchError(f"{p}: line {lineno} holds a value that is not a usable number ({exc}). "
                                  "Fix: coordinates are plain numbers (QuickDraw: 0-255).") from None
            if not isinstance(rec, dict) or "drawing" not in rec:
                raise SketchError(
                    f"{p}: line {lineno} has no 'drawing' key. Fix: write QuickDraw records "
                    '{"word": ..., "drawing": [[[x...], [y...]], ...]} (see sbsr_lab.data.stroke_io.sketch_record).'
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
#: Bounds on an SVG sketch: file size read at all, and numbers in one path's data.
MAX_SVG_BYTES = 8 << 20
MAX_SVG_NUMBERS = 400_000


def _bezier(points: np.ndarray, steps: int = _CURVE_STEPS) -> np.ndarray:
    """Flatten a quadratic (3 control points) or cubic (4) Bezier; returns ``(steps, 2)`` without the start."""
    t = np.linspace(0.0, 1.0, steps + 1)[1:, None]
    if len(points) == 3:
        p0, p1, p2 = points
        return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    p0, p1, p2, p3 = points
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _parse_path_d(d: str, source: str) -> list[np.ndarray]:
    """Parse an SVG path ``d`` string into polylines (curves flattened, arcs as straight chords).
    At most :data:`MAX_SVG_NUMBERS` numbers are read; a longer path is refused before it is parsed."""
    tokens = [(m.group(1), m.group(2)) for m in itertools.islice(_TOKEN.finditer(d), MAX_SVG_NUMBERS + 1)]
    if len(tokens) > MAX_SVG_NUMBERS:
        raise SketchError(f"{source}: a path holds more than {MAX_SVG_NUMBERS:,} numbers; a drawing needs far fewer. "
                          "Fix: simplify the paths (e.g. Inkscape's Path > Simplify) and save again.")
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
    if p.stat().st_size > MAX_SVG_BYTES:
        raise SketchError(f"{p}: the SVG is {p.stat().st_size / 2**20:.0f} MB, more than the {MAX_SVG_BYTES >> 20} MB "
                          "sbsr_lab reads; a drawing is a few hundred kB. Fix: simplify its paths and save again.")
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise SketchError(f"{p}: not a valid SVG/XML file ({exc}). Fix: re-export the sketch as SVG.") from exc
    src = str(p)
    polys: list[np.ndarray] = []
    try:
        polys = _svg_polylines(root, src)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, SketchError):
            raise
        raise SketchError(f"{src}: a number in the SVG cannot be read ({exc}). Fix: re-export the sketch as SVG.") from None
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


def _svg_polylines(root: ET.Element, src: str) -> list[np.ndarray]:
    """The point lists of the ``<path>``, ``<polyline>``, ``<polygon>`` and ``<line>`` elements of ``root``."""
    polys: list[np.ndarray] = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
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
    return polys


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
        records = read_ndjson(p, limit=index + 1)
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
        with open_image(path) as im:  # bounded: refuses or reduces huge images before decoding
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                gray = Image.alpha_composite(paper, rgba).convert("L")
            else:
                gray = im.convert("L")
    except SketchError:
        raise
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
            rec = read_ndjson(p, limit=1)[0]
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
