"""Drawings that are not shapes: seeded scribbles for fitting and testing the out-of-distribution detector.

    from sbsr_lab.data.scribbles import SCRIBBLE_KINDS, make_scribble, scribble_set
    strokes = make_scribble("spiral", np.random.default_rng(0))   # list of (N, 2) arrays in [0, 1]^2
    for kind, strokes in scribble_set(70, seed=1): ...             # the kinds in turn, 10 of each

The kinds are what people put on a canvas when they are not drawing an object (or test the demo):

* ``random_strokes``: 3-12 wandering strokes (random walks with momentum) anywhere on the canvas;
* ``zigzag``: one to three zigzag lines, sharp turns, flat across the canvas or tall and steep;
* ``spiral``: an Archimedean spiral of 2 to 6 turns;
* ``hatching``: parallel straight lines in one or two directions, filling a patch;
* ``dots``: 20-120 short dabs scattered over the canvas;
* ``text``: rows of text-like squiggles (cursive loops and letter-sized strokes on baselines);
* ``mess``: a full-canvas mess (12-40 long strokes crossing everywhere);
* ``fill``: colouring in, strokes going back and forth or round and round over a patch;
* doodles of other things (trained and fitted on): ``sun``, ``fish``, ``face`` (not a smiley: eyes,
  nose, a straight or sad mouth, ears or hair), ``cat``, ``moon``, ``lightning``, ``waves``,
  ``noughts_and_crosses``; none close to a class (no clouds, flowers or balloons: people draw trees
  and lamps that way);
* symbols: ``suits`` (spades, clubs, diamonds), ``marks`` (ticks, crosses, plus signs, exclamation marks),
  ``chevrons`` (> or >> with no shaft), ``notes`` (musical notes), ``star``, ``heart``, ``stick_figure``,
  ``arrow`` (the last four were held out until the real-drawing round: the live demo took them for shapes);
* doodles (:data:`DOODLE_KINDS`, held out: never fitted or trained on): ``smiley``, ``letters`` (a printed
  word in block capitals), ``glasses``, ``crown``, ``key``, ``envelope``, hand-wobbled, anywhere;
* ``blank``: no strokes at all. A blank canvas never reaches the network: the query path refuses it
  first (:func:`sbsr_lab.data.strokes.sketch_problem`, "draw something first"), so it is not in
  :data:`SCRIBBLE_KINDS`, the kinds a detector is fitted and tested on.

Strokes are in the canvas's unit square, y down, like the live pad's; a scribble is framed and drawn
by the query path exactly like a person's drawing.

:class:`ScribbleDataset` gives them as training images (outlier exposure, the profile's
``outlier_exposure``: :class:`sbsr_lab.losses.OutlierExposureLoss`), from their own seeds: the
detector's fit and test scribbles (:data:`sbsr_lab.serve.calibration.FIT_SCRIBBLE_SEED`,
``TEST_SCRIBBLE_SEED``) are other draws of the same kinds.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from sbsr_lab.data.datasets import network_input, resize_u8, train_augmentation
from sbsr_lab.data.sketch_image import frame_strokes

__all__ = ["SCRIBBLE_KINDS", "DOODLE_KINDS", "ALL_KINDS", "make_scribble", "scribble_set", "ScribbleDataset", "TRAIN_SCRIBBLE_SEED"]

#: Seed offset of the training scribbles (outlier exposure): ``TRAIN_SCRIBBLE_SEED + profile seed``.
TRAIN_SCRIBBLE_SEED = 50_000

Strokes = list[np.ndarray]


def _clip(s: np.ndarray) -> np.ndarray:
    return np.clip(s, 0.0, 1.0).astype(np.float32)


def _walk(rng: np.random.Generator, n: int, step: float, turn: float, start: np.ndarray | None = None) -> np.ndarray:
    """A random walk with momentum: ``n`` points, step length ``step``, heading changed by N(0, turn) each step."""
    p = rng.uniform(0.1, 0.9, 2) if start is None else start
    heading = rng.uniform(0, 2 * np.pi)
    pts = [p]
    for _ in range(n - 1):
        heading += rng.normal(0, turn)
        p = p + step * np.array([np.cos(heading), np.sin(heading)])
        if not (0.02 < p[0] < 0.98 and 0.02 < p[1] < 0.98):  # bounce back into the canvas
            heading += np.pi
            p = np.clip(p, 0.02, 0.98)
        pts.append(p)
    return np.asarray(pts)


def _random_strokes(rng: np.random.Generator) -> Strokes:
    return [_clip(_walk(rng, int(rng.integers(8, 40)), rng.uniform(0.015, 0.04), rng.uniform(0.2, 0.9)))
            for _ in range(int(rng.integers(3, 13)))]


def _zigzag(rng: np.random.Generator) -> Strokes:
    """One to three zigzag lines at any angle: flat bands across the canvas or tall, steep ones."""
    out = []
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.integers(5, 16))
        x = np.linspace(rng.uniform(0.05, 0.3), rng.uniform(0.7, 0.95), n)
        amp = rng.uniform(0.05, 0.25) if rng.random() < 0.6 else rng.uniform(0.25, 0.45)
        y = rng.uniform(0.2, 0.8) + amp * np.where(np.arange(n) % 2 == 0, 1.0, -1.0) * rng.uniform(0.6, 1.0, n)
        pts = np.stack([x, y], 1)
        theta = rng.uniform(-0.6, 0.6) + (np.pi / 2 if rng.random() < 0.3 else 0.0)
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        out.append(_clip((pts - 0.5) @ rot.T + 0.5 + rng.normal(0, 0.004, pts.shape)))
    return out


def _fill(rng: np.random.Generator) -> Strokes:
    """Colouring in: one or two strokes going back and forth (or round and round) over a patch of any shape."""
    out = []
    for _ in range(int(rng.integers(1, 3))):
        lo = rng.uniform(0.05, 0.45, 2)
        hi = lo + rng.uniform(0.15, 0.5, 2)
        n = int(rng.integers(8, 40))
        t = np.arange(n)
        if rng.random() < 0.7:  # back and forth
            along = np.where(t % 2 == 0, 0.0, 1.0) + rng.normal(0, 0.05, n)
            across = t / max(n - 1, 1)
            pts = np.stack([along, across], 1) if rng.random() < 0.5 else np.stack([across, along], 1)
        else:  # round and round
            a = np.linspace(0, 2 * np.pi * rng.uniform(3, 9), 12 * n)
            pts = np.stack([0.5 + 0.5 * np.cos(a) * rng.uniform(0.7, 1.0, a.size),
                            0.5 + 0.5 * np.sin(a) * rng.uniform(0.7, 1.0, a.size)], 1)
        out.append(_clip(lo + pts * (hi - lo)))
    return out


def _spiral(rng: np.random.Generator) -> Strokes:
    turns = rng.uniform(2.0, 6.0)
    t = np.linspace(0, 2 * np.pi * turns, int(80 * turns))
    r = rng.uniform(0.3, 0.45) * t / t[-1]
    c = rng.uniform(0.4, 0.6, 2)
    pts = np.stack([c[0] + r * np.cos(t) * rng.uniform(0.8, 1.2), c[1] + r * np.sin(t)], 1)
    return [_clip(pts + rng.normal(0, 0.003, pts.shape))]


def _hatching(rng: np.random.Generator) -> Strokes:
    out = []
    lo, hi = rng.uniform(0.05, 0.35, 2), rng.uniform(0.65, 0.95, 2)
    for angle in rng.uniform(0, np.pi, int(rng.integers(1, 3))):
        d = np.array([np.cos(angle), np.sin(angle)])      # line direction
        nrm = np.array([-d[1], d[0]])                       # spacing direction
        centre = (lo + hi) / 2
        half = (hi - lo).max() / 2
        for off in np.linspace(-half, half, int(rng.integers(6, 20))):
            a = centre + off * nrm - half * d
            b = centre + off * nrm + half * d
            line = np.linspace(a, b, 10) + rng.normal(0, 0.003, (10, 2))
            line = line[(line >= lo - 0.02).all(1) & (line <= hi + 0.02).all(1)]
            if len(line) >= 2:
                out.append(_clip(line))
    return out or _zigzag(rng)


def _dots(rng: np.random.Generator) -> Strokes:
    n = int(rng.integers(20, 121))
    centres = rng.uniform(0.05, 0.95, (n, 2))
    return [_clip(c + rng.normal(0, 0.006, (2, 2))) for c in centres]


def _text(rng: np.random.Generator) -> Strokes:
    """Rows of handwriting-like squiggles: per word, a cursive line of loops of letter height."""
    out = []
    rows = int(rng.integers(1, 6))
    height = rng.uniform(0.04, 0.09)
    for row in range(rows):
        base = 0.15 + (row + 0.5) * 0.7 / rows
        x = rng.uniform(0.05, 0.15)
        while x < 0.85:
            letters = int(rng.integers(2, 8))
            t = np.linspace(0, 2 * np.pi * letters, 14 * letters)
            width = letters * height * rng.uniform(0.5, 0.8)
            xs = x + t / t[-1] * width - 0.35 * height * np.sin(t)
            ys = base - height * (0.5 + 0.5 * np.cos(t)) * rng.uniform(0.6, 1.4, t.size).clip(0.6, 1.4)
            out.append(_clip(np.stack([xs, ys], 1) + rng.normal(0, 0.002, (t.size, 2))))
            x += width + rng.uniform(0.03, 0.07)
    return out


def _mess(rng: np.random.Generator) -> Strokes:
    return [_clip(_walk(rng, int(rng.integers(20, 60)), rng.uniform(0.03, 0.07), rng.uniform(0.3, 1.2)))
            for _ in range(int(rng.integers(12, 41)))]


def _blank(rng: np.random.Generator) -> Strokes:
    return []


# -- doodles: drawings of things that are none of the classes (held out: never fitted or trained on) --------

def _wobbly(pts: np.ndarray, rng: np.random.Generator, amount: float = 0.006) -> np.ndarray:
    """A hand-drawn line through ``pts`` (M, 2): resampled and jittered, low-pass so it wobbles."""
    pts = np.asarray(pts, dtype=np.float64)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    t = np.concatenate([[0], np.cumsum(seg)])
    n = max(8, int(t[-1] / 0.01))
    u = np.linspace(0, t[-1], n)
    line = np.stack([np.interp(u, t, pts[:, 0]), np.interp(u, t, pts[:, 1])], 1)
    noise = np.cumsum(rng.normal(0, amount, (n + 8, 2)), axis=0)
    noise = np.stack([np.convolve(noise[:, i], np.ones(9) / 9, mode="valid") for i in (0, 1)], 1)  # (n, 2), smooth
    noise -= np.linspace(noise[0], noise[-1], n)  # ends stay where they were meant to be
    return line + noise


def _place(strokes: list[np.ndarray], rng: np.random.Generator) -> Strokes:
    """Doodle strokes designed in [-1, 1]^2 put on the canvas at a random size, position and slant."""
    size = rng.uniform(0.2, 0.42)
    c = rng.uniform(0.5 - (0.45 - size), 0.5 + (0.45 - size), 2)
    a = rng.normal(0, 0.15)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return [_clip(c + size * (s @ rot.T)) for s in strokes]


def _circle(cx: float, cy: float, r: float, a0: float = 0.0, a1: float = 2 * np.pi, ry: float | None = None) -> np.ndarray:
    t = np.linspace(a0, a1, max(8, int(40 * abs(a1 - a0) / (2 * np.pi))))
    return np.stack([cx + r * np.cos(t), cy + (ry or r) * np.sin(t)], 1)


def _smiley(rng: np.random.Generator) -> Strokes:
    s = [_circle(0, 0, 1), _circle(-0.35, -0.3, 0.08), _circle(0.35, -0.3, 0.08),
         _circle(0, 0.05, 0.55, 0.25 * np.pi, 0.75 * np.pi)]
    return _place([_wobbly(x, rng) for x in s], rng)


def _star(rng: np.random.Generator) -> Strokes:
    k = np.arange(6) * 4 * np.pi / 5 - np.pi / 2  # a five-pointed star in one stroke
    return _place([_wobbly(np.stack([np.cos(k), np.sin(k)], 1), rng)], rng)


def _heart(rng: np.random.Generator) -> Strokes:
    t = np.linspace(0, 2 * np.pi, 60)
    x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return _place([_wobbly(np.stack([x, y], 1) / 17, rng)], rng)


def _stick_figure(rng: np.random.Generator) -> Strokes:
    arm = rng.uniform(-0.3, 0.3)
    s = [_circle(0, -0.75, 0.25), np.array([[0, -0.5], [0, 0.35]]), np.array([[-0.55, -0.1 + arm], [0, -0.25], [0.55, -0.1 - arm]]),
         np.array([[-0.4, 1.0], [0, 0.35], [0.4, 1.0]])]
    return _place([_wobbly(x, rng) for x in s], rng)


def _arrow(rng: np.random.Generator) -> Strokes:
    bend = rng.uniform(-0.4, 0.4)
    shaft = np.array([[-1, 0.2], [0, bend * 0.5], [0.9, 0]])
    head = np.array([[0.55, -0.35], [0.95, 0], [0.55, 0.35]])
    return _place([_wobbly(shaft, rng), _wobbly(head, rng)], rng)


# -- doodles of other things, for training (outlier exposure) and fitting: suns, fish, faces, cats, moons,
# lightning, waves, a game of noughts and crosses. None is close to a class (no clouds, flowers or
# balloons, which people also draw as trees or lamps).
def _sun(rng: np.random.Generator) -> Strokes:
    rays = int(rng.integers(6, 13))
    r0 = rng.uniform(0.35, 0.55)
    out = [_circle(0, 0, r0)]
    for a in np.linspace(0, 2 * np.pi, rays, endpoint=False) + rng.uniform(0, 1):
        out.append(np.array([[np.cos(a), np.sin(a)]]) * np.array([[r0 + 0.1], [rng.uniform(0.8, 1.0)]]))
    return _place([_wobbly(x, rng) for x in out], rng)


def _fish(rng: np.random.Generator) -> Strokes:
    h = rng.uniform(0.35, 0.6)
    t = np.linspace(0, 2 * np.pi, 50)
    body = np.stack([0.55 * np.cos(t) - 0.2, h * np.sin(t)], 1)
    tail = np.array([[0.33, 0.0], [0.95, -h * 0.9], [0.95, h * 0.9], [0.33, 0.0]])
    eye = _circle(-0.5, -0.1 * h, 0.05)
    return _place([_wobbly(x, rng) for x in (body, tail, eye)], rng)


def _face(rng: np.random.Generator) -> Strokes:
    """A face that is not a smiley: oval head, eyes as circles or lines, a nose, a straight or sad
    mouth, often ears or hair."""
    out = [_circle(0, 0, rng.uniform(0.7, 0.9), ry=1.0)]
    for x in (-0.3, 0.3):
        out.append(_circle(x, -0.25, 0.12) if rng.random() < 0.5 else np.array([[x - 0.12, -0.25], [x + 0.12, -0.25]]))
    out.append(np.array([[0, -0.1], [-0.08, 0.2], [0.05, 0.2]]))
    if rng.random() < 0.5:
        out.append(np.array([[-0.3, 0.5], [0.3, 0.5]]))
    else:
        out.append(_circle(0, 0.75, 0.35, 1.2 * np.pi, 1.8 * np.pi))  # a sad mouth
    if rng.random() < 0.5:
        out += [_circle(-0.85, 0, 0.15), _circle(0.85, 0, 0.15)]
    if rng.random() < 0.5:
        out += [np.array([[x, -0.95], [x + rng.normal(0, 0.1), -1.25]]) for x in np.linspace(-0.5, 0.5, 7)]
    return _place([_wobbly(x, rng) for x in out], rng)


def _cat(rng: np.random.Generator) -> Strokes:
    out = [_circle(0, 0.1, 0.8), np.array([[-0.7, -0.3], [-0.55, -1.0], [-0.2, -0.65]]),
           np.array([[0.7, -0.3], [0.55, -1.0], [0.2, -0.65]]), _circle(-0.3, -0.05, 0.08), _circle(0.3, -0.05, 0.08)]
    for y in (0.15, 0.3):
        out += [np.array([[-0.2, y], [-1.0, y - 0.1]]), np.array([[0.2, y], [1.0, y - 0.1]])]
    return _place([_wobbly(x, rng) for x in out], rng)


def _moon(rng: np.random.Generator) -> Strokes:
    a = rng.uniform(0.6, 0.9)
    outer = _circle(0, 0, 1.0, np.pi * (0.5 - a), np.pi * (1.5 + a) - np.pi)
    inner = _circle(0.45, 0, 0.8, np.pi * 0.6, np.pi * 1.4)
    return _place([_wobbly(x, rng) for x in (outer, inner)], rng)


def _lightning(rng: np.random.Generator) -> Strokes:
    bolt = np.array([[0.2, -1.0], [-0.35, 0.05], [0.1, 0.05], [-0.25, 1.0], [0.45, -0.2], [0.0, -0.2], [0.45, -1.0]])
    return _place([_wobbly(bolt, rng)], rng)


def _waves(rng: np.random.Generator) -> Strokes:
    out = []
    x = np.linspace(-1, 1, 60)
    for y0 in np.linspace(-0.6, 0.6, int(rng.integers(1, 5))):
        out.append(np.stack([x, y0 + 0.15 * np.sin(x * np.pi * rng.uniform(2, 5))], 1))
    return _place([_wobbly(x, rng) for x in out], rng)


def _noughts_and_crosses(rng: np.random.Generator) -> Strokes:
    out = [np.array([[-0.33, -1], [-0.33, 1]]), np.array([[0.33, -1], [0.33, 1]]),
           np.array([[-1, -0.33], [1, -0.33]]), np.array([[-1, 0.33], [1, 0.33]])]
    for cx, cy in rng.choice([-0.66, 0, 0.66], size=(int(rng.integers(2, 6)), 2)):
        if rng.random() < 0.5:
            out.append(_circle(cx, cy, 0.2))
        else:
            out += [np.array([[cx - 0.2, cy - 0.2], [cx + 0.2, cy + 0.2]]), np.array([[cx + 0.2, cy - 0.2], [cx - 0.2, cy + 0.2]])]
    return _place([_wobbly(x, rng) for x in out], rng)


# -- symbols (trained and fitted on): what people draw that stands for something rather than showing it.
def _suit(kind: str) -> list[np.ndarray]:
    t = np.linspace(0, 2 * np.pi, 50)
    if kind == "diamond":
        return [np.array([[0, -1], [0.65, 0], [0, 1], [-0.65, 0], [0, -1]])]
    if kind == "club":  # three lobes on a stem with a foot
        lobes = [_circle(cx, cy, 0.36) for cx, cy in ((0, -0.5), (-0.42, 0.05), (0.42, 0.05))]
        return lobes + [np.array([[0, 0.0], [0, 0.8]]), np.array([[-0.35, 0.95], [0, 0.75], [0.35, 0.95]])]
    x, y = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)  # spade: a heart upside down
    return [np.stack([x, y - 3], 1) / 20, np.array([[0, 0.45], [-0.3, 1.0], [0.3, 1.0], [0, 0.45]])]


def _suits(rng: np.random.Generator) -> Strokes:
    """One to three card suits (spade, club, diamond) in a row."""
    n = int(rng.integers(1, 4))
    out: list[np.ndarray] = []
    for i, kind in enumerate(rng.choice(["spade", "club", "diamond"], size=n)):
        out += [(x + [2.3 * i, 0]) for x in _suit(str(kind))]
    width = 2.3 * (n - 1)
    return _place([_wobbly((x - [width / 2, 0]) / (1 + width / 2), rng) for x in out], rng)


def _marks(rng: np.random.Generator) -> Strokes:
    """Two to six ticks, crosses, plus signs and exclamation marks in a row."""
    n = int(rng.integers(2, 7))
    out: list[np.ndarray] = []
    for i in range(n):
        kind = rng.choice(["tick", "cross", "plus", "bang"])
        if kind == "tick":
            m = [np.array([[-0.4, 0.0], [-0.1, 0.4], [0.45, -0.5]])]
        elif kind == "cross":
            m = [np.array([[-0.35, -0.35], [0.35, 0.35]]), np.array([[0.35, -0.35], [-0.35, 0.35]])]
        elif kind == "plus":
            m = [np.array([[-0.4, 0], [0.4, 0]]), np.array([[0, -0.4], [0, 0.4]])]
        else:
            m = [np.array([[0, -0.5], [0, 0.2]]), _circle(0, 0.42, 0.04)]
        out += [x + [1.1 * i, 0] for x in m]
    width = 1.1 * (n - 1)
    scale = 1 / (0.5 + width / 2)
    return _place([_wobbly((x - [width / 2, 0]) * scale, rng) for x in out], rng)


def _chevrons(rng: np.random.Generator) -> Strokes:
    """One to three chevrons side by side pointing left or right (fast-forward, 'next'), no shaft."""
    n = int(rng.integers(1, 4))
    d = 1.0 if rng.random() < 0.5 else -1.0
    out = [np.array([[d * (-0.3 + 0.55 * i), -0.7], [d * (0.3 + 0.55 * i), 0.0], [d * (-0.3 + 0.55 * i), 0.7]]) for i in range(n)]
    out = [x - [d * 0.55 * (n - 1) / 2, 0] for x in out]
    extent = max(np.abs(x).max() for x in out)  # the chevrons fill [-1, 1] along their longer side
    return _place([_wobbly(x / extent, rng) for x in out], rng)


def _notes(rng: np.random.Generator) -> Strokes:
    """One or two musical notes: a tilted oval head, a stem, a flag, or two notes joined by a beam."""
    two = rng.random() < 0.5
    xs = [-0.45, 0.45] if two else [0.0]
    out: list[np.ndarray] = []
    for x in xs:
        t = np.linspace(0, 2 * np.pi, 30)
        out.append(np.stack([x - 0.12 + 0.28 * np.cos(t) * 0.9 - 0.1 * np.sin(t), 0.7 + 0.2 * np.sin(t) + 0.08 * np.cos(t)], 1))
        out.append(np.array([[x + 0.13, 0.68], [x + 0.13, -0.9]]))
    if two:
        out.append(np.array([[-0.32, -0.9], [0.58, -0.75]]))
    else:
        out.append(np.array([[0.13, -0.9], [0.45, -0.55], [0.5, -0.2]]))
    return _place([_wobbly(x, rng) for x in out], rng)


# -- held-out doodles of things that are none of the classes (with smileys and printed words): glasses, a
# crown, a key, an envelope. Never trained or fitted on; they measure how far the training kinds carry.
def _glasses(rng: np.random.Generator) -> Strokes:
    r = rng.uniform(0.3, 0.42)
    round_ = rng.random() < 0.5
    out: list[np.ndarray] = []
    for cx in (-0.5, 0.5):
        out.append(_circle(cx, 0, r, ry=r * (1.0 if round_ else 0.75)) if round_
                   else np.array([[cx - r, -0.3], [cx + r, -0.3], [cx + r * 0.8, 0.3], [cx - r * 0.8, 0.3], [cx - r, -0.3]]))
    out.append(_circle(0, 0.02, 0.5 - r, np.pi * 1.1, np.pi * 1.9))  # the bridge
    out += [np.array([[-0.5 - r, -0.1], [-1.0, -0.25]]), np.array([[0.5 + r, -0.1], [1.0, -0.25]])]  # the arms
    return _place([_wobbly(x, rng) for x in out], rng)


def _crown(rng: np.random.Generator) -> Strokes:
    k = int(rng.integers(3, 6))
    xs = np.linspace(-0.9, 0.9, 2 * k + 1)
    top = np.stack([xs, np.where(np.arange(2 * k + 1) % 2 == 1, -0.8, -0.1)], 1)
    outline = np.concatenate([[[-0.9, 0.6]], top, [[0.9, 0.6], [-0.9, 0.6]]])
    out = [outline] + [_circle(x, -0.9, 0.07) for x in xs[1::2]]
    if rng.random() < 0.5:
        out.append(np.array([[-0.9, 0.35], [0.9, 0.35]]))
    return _place([_wobbly(x, rng) for x in out], rng)


def _key(rng: np.random.Generator) -> Strokes:
    out = [_circle(-0.65, 0, 0.32), np.array([[-0.33, 0], [1.0, 0]])]
    for x in rng.choice([0.45, 0.62, 0.8, 0.95], size=int(rng.integers(2, 4)), replace=False):
        out.append(np.array([[x, 0], [x, 0.25]]))
    return _place([_wobbly(x, rng) for x in out], rng)


def _envelope(rng: np.random.Generator) -> Strokes:
    h = rng.uniform(0.45, 0.7)
    out = [np.array([[-1, -h], [1, -h], [1, h], [-1, h], [-1, -h]]), np.array([[-1, -h], [0, rng.uniform(0, 0.4) * h], [1, -h]])]
    return _place([_wobbly(x, rng) for x in out], rng)


_LETTERS = {  # block capitals on a 1 x 2 cell (x right, y down), one list of polylines each
    "A": [[(0, 2), (0.5, 0), (1, 2)], [(0.25, 1.1), (0.75, 1.1)]], "E": [[(1, 0), (0, 0), (0, 2), (1, 2)], [(0, 1), (0.7, 1)]],
    "H": [[(0, 0), (0, 2)], [(1, 0), (1, 2)], [(0, 1), (1, 1)]], "L": [[(0, 0), (0, 2), (0.9, 2)]],
    "M": [[(0, 2), (0, 0), (0.5, 1), (1, 0), (1, 2)]], "N": [[(0, 2), (0, 0), (1, 2), (1, 0)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 2)]], "V": [[(0, 0), (0.5, 2), (1, 0)]],
    "W": [[(0, 0), (0.25, 2), (0.5, 0.8), (0.75, 2), (1, 0)]], "Z": [[(0, 0), (1, 0), (0, 2), (1, 2)]],
    "K": [[(0, 0), (0, 2)], [(1, 0), (0, 1.1), (1, 2)]], "X": [[(0, 0), (1, 2)], [(1, 0), (0, 2)]],
}


def _letters(rng: np.random.Generator) -> Strokes:
    """A word of 2-6 block capitals (printed, not cursive: the ``text`` kind's is cursive)."""
    word = rng.choice(list(_LETTERS), size=int(rng.integers(2, 7)))
    out: list[np.ndarray] = []
    for i, ch in enumerate(word):
        for line in _LETTERS[str(ch)]:
            out.append((np.asarray(line, dtype=np.float64) + [1.4 * i, 0]))
    width = 1.4 * len(word) - 0.4
    out = [(s - [width / 2, 1.0]) / (width / 2) for s in out]  # the word fills [-1, 1] across
    return _place([_wobbly(s, rng, 0.004) for s in out], rng)


_KINDS: dict[str, Callable[[np.random.Generator], Strokes]] = {
    "random_strokes": _random_strokes, "zigzag": _zigzag, "spiral": _spiral, "hatching": _hatching,
    "dots": _dots, "text": _text, "mess": _mess, "fill": _fill, "sun": _sun, "fish": _fish, "face": _face,
    "cat": _cat, "moon": _moon, "lightning": _lightning, "waves": _waves, "noughts_and_crosses": _noughts_and_crosses,
    "suits": _suits, "marks": _marks, "chevrons": _chevrons, "notes": _notes,
    "star": _star, "heart": _heart, "stick_figure": _stick_figure, "arrow": _arrow,
    "blank": _blank,
    "smiley": _smiley, "letters": _letters, "glasses": _glasses, "crown": _crown, "key": _key, "envelope": _envelope,
}
#: Doodles of things that are none of the classes: held out, never fitted or trained on, so that the
#: detector's report measures it on drawings unlike those it was tuned with (:func:`ood_report`).
DOODLE_KINDS: tuple[str, ...] = ("smiley", "letters", "glasses", "crown", "key", "envelope")
#: What a detector is fitted on, outlier exposure trains on, and the report tests (other seeds).
SCRIBBLE_KINDS: tuple[str, ...] = tuple(k for k in _KINDS if k != "blank" and k not in DOODLE_KINDS)
ALL_KINDS: tuple[str, ...] = tuple(_KINDS)


def make_scribble(kind: str, rng: np.random.Generator) -> Strokes:
    """One non-shape drawing of ``kind`` (module docstring) as strokes, each ``(N, 2)`` float32 in [0, 1]^2."""
    if kind not in _KINDS:
        raise ValueError(f"Unknown scribble kind {kind!r}; use one of {', '.join(_KINDS)}.")
    return _KINDS[kind](rng)


def scribble_set(n: int, seed: int, kinds: Sequence[str] = SCRIBBLE_KINDS) -> Iterator[tuple[str, Strokes]]:
    """``n`` scribbles ``(kind, strokes)``, the ``kinds`` in turn, deterministic for a ``seed``."""
    rng = np.random.default_rng([seed, 2718])
    for i in range(n):
        kind = kinds[i % len(kinds)]
        yield kind, make_scribble(kind, rng)


class ScribbleDataset(Dataset):
    """``n`` scribbles as training images: items are ``(image (1, H, W) float in [0, 1], -1)``.

    Each is drawn as the query path draws a pad's strokes (:func:`~sbsr_lab.data.sketch_image.frame_strokes`
    at ``sketch_size`` px, then resized to ``image_size`` like every training sketch), the kinds in turn
    (:func:`scribble_set`), deterministic for ``seed``. ``augment``: the training sketches' augmentation.
    The label ``-1`` marks an outlier (no class). Attribute ``images`` (n, H, W) uint8, ``kinds``.
    """

    def __init__(self, n: int, seed: int, sketch_size: int, image_size: int, augment: bool = False,
                 kinds: Sequence[str] = SCRIBBLE_KINDS) -> None:
        if n < 1:
            raise ValueError(f"ScribbleDataset needs n >= 1 scribbles, got {n}")
        images, self.kinds = [], []
        for kind, strokes in scribble_set(n, seed, kinds):
            images.append(resize_u8(frame_strokes(strokes, sketch_size), image_size))  # as prepare_query_image
            self.kinds.append(kind)
        self.images = torch.from_numpy(np.stack(images))  # (n, H, W) uint8
        self.transform = train_augmentation() if augment else None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return network_input(self.images[i], self.transform), -1
