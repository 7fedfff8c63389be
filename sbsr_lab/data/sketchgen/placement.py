"""Where on the page a drawing lands, and what a thick pen on a small drawing does to it.

People draw at any position and size: small in a corner, big across the page. Queries are framed
by cropping to the ink (:mod:`sbsr_lab.data.sketch_image`: the strokes' bounding box fitted into
``[m, 1 - m]²`` with :data:`~sbsr_lab.data.sketch_image.TRAINING_MARGIN`, or a page's ink traced
back into strokes first), so the position and size themselves never reach the network; what does
is the *pen*: on a small drawing the same pen is thick relative to the drawing, and details closer
than its width run together when the page is traced back. :func:`place_on_canvas` draws a
placement (centre and size on the unit canvas, pen width); :func:`pen_retrace` redraws small
drawings with that pen and traces them back with the query path's tracer
(:func:`~sbsr_lab.data.sketchgen.tracing.trace_strokes`), so that training sketches carry the same
artefacts as a framed small query. The generator's own framing (the caller's
``normalize_strokes`` with a margin drawn in [0.04, 0.12], mean ``TRAINING_MARGIN``) is the query
path's, so a generated sketch and its canvas strokes framed by ``frame_strokes`` agree.
"""

from __future__ import annotations

import numpy as np

from sbsr_lab.data.sketchgen.tracing import trace_strokes
from sbsr_lab.data.strokes import Strokes, normalize_strokes, strokes_to_image

__all__ = ["SMALL_SIZE", "place_on_canvas", "on_canvas", "pen_retrace"]

#: Drawings smaller than this (largest side, fraction of the canvas) are redrawn by :func:`pen_retrace`.
SMALL_SIZE = 0.5
_RETRACE_SIDE = 384  # px of the page the small drawing is redrawn and traced on


def place_on_canvas(rng: np.random.Generator) -> dict[str, float]:
    """A placement on the unit canvas: ``{"x", "y", "size", "pen"}``.

    ``size`` (the drawing's larger side, fraction of the canvas) is U(0.2, 0.5) for a third of the
    drawings (small ones) and U(0.55, 0.95) otherwise; the centre ``x``, ``y`` is uniform where
    the drawing fits; ``pen`` is the pen width as a fraction of the canvas, U(0.008, 0.016)
    (a 5-10 px marker on a 600 px page).
    """
    size = float(rng.uniform(0.2, SMALL_SIZE)) if rng.random() < 1 / 3 else float(rng.uniform(0.55, 0.95))
    x, y = (float(v) for v in rng.uniform(size / 2, 1.0 - size / 2, size=2))
    return {"x": round(x, 4), "y": round(y, 4), "size": round(size, 4), "pen": round(float(rng.uniform(0.008, 0.016)), 5)}


def on_canvas(strokes: Strokes, placement: dict[str, float]) -> Strokes:
    """Strokes (framed in [0, 1]²) moved to their ``placement`` on the canvas (bounding box centred
    at (x, y), larger side = size, aspect kept)."""
    if not strokes:
        return []
    pts = np.concatenate(strokes, axis=0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = placement["size"] / max(float((hi - lo).max()), 1e-9)
    centre = (lo + hi) / 2.0
    target = np.array([placement["x"], placement["y"]], dtype=np.float32)
    return [((s - centre) * scale + target).astype(np.float32) for s in strokes]


def pen_retrace(strokes: Strokes, placement: dict[str, float]) -> Strokes:
    """A small drawing as the query path sees it: drawn at its placement with its pen on a
    384 px page, traced back into strokes (``trace_strokes``) and framed again (margin 0.08).

    Drawings of ``size`` >= :data:`SMALL_SIZE` come back unchanged (the pen is thin relative to them).
    Falls back to the input when the retraced ink is empty.
    """
    if not strokes or placement["size"] >= SMALL_SIZE:
        return list(strokes)
    page = strokes_to_image(on_canvas(strokes, placement), size=_RETRACE_SIDE, width=placement["pen"] * _RETRACE_SIDE)
    pen_px = placement["pen"] * _RETRACE_SIDE
    traced = trace_strokes(page, min_length_px=max(4, int(round(1.5 * pen_px))))
    return normalize_strokes(traced, margin=0.08) if traced else list(strokes)
