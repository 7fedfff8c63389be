"""Human-like effects on traced strokes: small steps, each scaled by an amount in [0, 1].

:func:`humanize` chains them in order: :func:`drop_strokes`, :func:`jitter_proportions`,
:func:`jitter_pose`, :func:`add_gaps`, :func:`smooth_strokes` (Catmull-Rom), :func:`wobble`,
:func:`overtrace`, :func:`add_extra_strokes` and :func:`vary_width`. Every step takes an explicit
``np.random.Generator``; the order of the random draws is part of the generator's output
(:data:`sbsr_lab.data.sketchgen.SKETCH_GENERATOR`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from sbsr_lab.data.strokes import Strokes, check_strokes, end_direction, stroke_length

__all__ = [
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
    lengths = np.array([stroke_length(s) for s in strokes])
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
        length = stroke_length(s)
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
        head = s[:1] + end_direction(s, True, 3) * max(ext[0], 0.0)
        tail = s[-1:] + end_direction(s, False, 3) * max(ext[1], 0.0)
        s2 = np.concatenate([head, s, tail], axis=0).astype(np.float32)
        total = length + max(ext[0], 0.0) + max(ext[1], 0.0)
        s2 = _cut(s2, max(-ext[0], 0.0), total - max(-ext[1], 0.0))
        # breaks in the middle
        length2 = stroke_length(s2)
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
        length = stroke_length(r)
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
        length = stroke_length(s)
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
