"""Inner detail of a ``detailed`` drawing: shading hatched on the dark side, and surface texture.

People who take their time (the TU-Berlin drawers, someone tracing a chair from a photograph) do not
stop at the outline and the creases. They hatch the side turned away from the light, sometimes twice
across, and they mark the surface: the grain of a wooden seat, the folds of a cushion, the bark of a
trunk. A network trained only on clean line drawings takes those extra strokes for shape lines (a
hatched chair seat becomes a bed's mattress). This module adds them to a traced line drawing:

* :func:`dark_side` — the pixels of the shape facing away from a light from the drawer's upper left
  (a per-pixel look-up in the renderer's hit buffer: the face normal turned towards the camera);
* :func:`hatch` — parallel strokes across a mask (any angle: diagonal, horizontal, vertical; spacing
  in pixels), cut where the mask ends, optionally crossed by a second set;
* :func:`texture` — short strokes in one dominant direction scattered over the shape;
* :func:`detail_strokes` — all three drawn from ``rng`` for one view.

Strokes come out in the tracer's frame: [0, 1]², x right, y down (``x = (col + 0.5) / size``).
"""

from __future__ import annotations

import math

import numpy as np

from sbsr_lab.data.strokes import Strokes
from sbsr_lab.render.rays import HitBuffer

__all__ = ["dark_side", "hatch", "texture", "detail_strokes"]


def dark_side(buf: HitBuffer, light_cam: np.ndarray, threshold: float) -> np.ndarray:
    """``(n, n)`` bool: hit samples of view 0 whose normal (turned to the camera) makes ``n . l < threshold``.

    ``light_cam`` is the direction towards the light in the camera frame (x right, y up, z towards the
    drawer); ``threshold`` in [-1, 1] (0: exactly the faces turned away from the light).
    """
    tri = buf.tri[0]
    hit = tri >= 0
    light = buf.rays.rotations[0] @ (np.asarray(light_cam, np.float64) / np.linalg.norm(light_cam))
    shade = (buf.face_normals @ light.astype(np.float32)) * buf.face_sign[0]  # (F,)
    out = np.zeros(tri.shape, dtype=bool)
    out[hit] = shade[tri[hit]] < threshold
    return out


def hatch(mask: np.ndarray, angle_deg: float, spacing_px: float, min_length_px: float,
          phase: float = 0.0) -> Strokes:
    """Parallel straight strokes filling ``mask (n, n)``: one every ``spacing_px`` pixels across, at
    ``angle_deg`` (0 = horizontal, counter-clockwise as seen on the page), cut where the mask ends;
    pieces shorter than ``min_length_px`` are left out. ``phase`` in [0, 1) shifts the set across."""
    n = mask.shape[0]
    if not mask.any() or spacing_px <= 0:
        return []
    a = math.radians(angle_deg)
    along = np.array([math.cos(a), -math.sin(a)])  # (col, row): the page's y goes down
    across = np.array([-along[1], along[0]])
    centre = np.array([(n - 1) / 2.0, (n - 1) / 2.0])
    reach = n * 0.75
    ts = np.arange(-reach, reach, 0.5)
    out: Strokes = []
    for c in np.arange(-reach + phase * spacing_px, reach, spacing_px):
        pts = centre + c * across + ts[:, None] * along  # (T, 2) col, row
        ij = np.round(pts).astype(np.int64)
        inside = (ij >= 0).all(1) & (ij < n).all(1)
        on = np.zeros(len(ts), dtype=bool)
        on[inside] = mask[ij[inside, 1], ij[inside, 0]]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            if (stop - start) * 0.5 >= min_length_px:
                seg = pts[[start, stop - 1]]
                out.append(((seg + 0.5) / n).astype(np.float32))
    return out


def texture(mask: np.ndarray, rng: np.random.Generator, count: int, length_px: float,
            angle_deg: float, spread_deg: float = 12.0) -> Strokes:
    """``count`` short strokes (about ``length_px`` long, at ``angle_deg`` +- ``spread_deg``) whose middle
    lies in ``mask (n, n)``, each cut to the part of it inside the mask: a surface's grain or folds."""
    n = mask.shape[0]
    rows, cols = np.nonzero(mask)
    if len(rows) == 0 or count <= 0:
        return []
    out: Strokes = []
    for k in rng.choice(len(rows), size=min(count, len(rows)), replace=False):
        a = math.radians(angle_deg + float(rng.normal(0.0, spread_deg)))
        d = np.array([math.cos(a), -math.sin(a)]) * length_px * float(rng.uniform(0.6, 1.4)) / 2.0
        mid = np.array([cols[k], rows[k]], dtype=np.float64)
        ts = np.linspace(-1.0, 1.0, 9)
        pts = mid + ts[:, None] * d + rng.normal(0.0, 0.3, size=(9, 2))  # a little wobble
        ij = np.clip(np.round(pts).astype(np.int64), 0, n - 1)
        keep = mask[ij[:, 1], ij[:, 0]]
        run = _longest_run(keep)
        if run[1] - run[0] >= 3:
            out.append(((pts[run[0]:run[1]] + 0.5) / n).astype(np.float32))
    return out


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """``(start, stop)`` of the longest run of True in a 1-D bool array (``(0, 0)`` if none)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    if len(edges) == 0:
        return 0, 0
    starts, stops = edges[::2], edges[1::2]
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k])


def detail_strokes(buf: HitBuffer, rng: np.random.Generator) -> Strokes:
    """Hatching on the dark side and/or surface texture for view 0 of ``buf``, drawn from ``rng``.

    The light comes from the drawer's upper left or right (``n . l`` threshold in [-0.1, 0.35]); the
    hatching is diagonal (60 %), horizontal or vertical, 2.5-6 % of the view apart, crossed in 30 % of
    the drawings; the dark side is hatched only if it covers 5-70 % of the shape. Texture (55 %): 4-18
    strokes 4-9 % of the view long in one direction. At least one of the two is drawn when possible.
    """
    n = buf.tri.shape[1]
    hit = buf.tri[0] >= 0
    if hit.sum() < 0.01 * n * n:
        return []
    out: Strokes = []
    side = float(rng.choice([-1.0, 1.0]))
    light = np.array([0.6 * side, float(rng.uniform(0.4, 1.0)), float(rng.uniform(0.3, 0.8))])
    dark = dark_side(buf, light, float(rng.uniform(-0.1, 0.35)))
    share = dark.sum() / max(1, hit.sum())
    want_texture = rng.random() < 0.55
    if 0.05 <= share <= 0.7 and (rng.random() < 0.75 or not want_texture):
        u = rng.random()
        angle = float(rng.uniform(30, 60) if u < 0.3 else rng.uniform(120, 150) if u < 0.6
                      else rng.choice([0.0, 90.0]) + rng.normal(0, 5))
        spacing = float(rng.uniform(0.025, 0.06)) * n
        out += hatch(dark, angle, spacing, 0.02 * n, float(rng.random()))
        if rng.random() < 0.3:
            out += hatch(dark, angle + 90.0 + float(rng.normal(0, 8)), spacing * 1.2, 0.02 * n, float(rng.random()))
    if want_texture or not out:
        out += texture(hit & ~dark if (hit & ~dark).any() else hit, rng, int(rng.integers(4, 19)),
                       float(rng.uniform(0.04, 0.09)) * n, float(rng.uniform(0, 180)))
    return out
