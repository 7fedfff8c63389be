"""Write the people-style test set: hand-designed drawings of the 12 default classes, as people draw them.

Every drawing below is a list of strokes designed by hand in a 100 x 100 box (x right, y down), in
the ways people draw that the SynthShapes generator does not: flat front / side / top views,
outline-only drawings, iconic symbols (a pine tree of stacked triangles, a rocket with a flame, a
house = square + triangle roof + door), partial drawings, wobbly lines, small or off-centre drawings.
The script adds a little hand jitter (fixed seed), places each drawing on the QuickDraw 256 canvas
(small / off-centre ones really are small and off-centre there) and writes, per drawing,

* ``<class>/<name>.ndjson``: one QuickDraw record (``word``, ``drawing``, plus ``style``);
* ``<class>/<name>.png``: a 600x450 px page, 6-8 px black pen, the drawing not filling the page and
  often off-centre (1-bit PNG);
* ``<class>/<name>_photo.jpg`` for some drawings: the same page as a phone photo of paper (grey paper,
  uneven light and a shadow, blur, sensor noise, JPEG);

and ``index.json``: one entry per drawing (class, name, style, files). Run it from anywhere:
``python tests/data/people_sketches/make_people_sketches.py``; the output is deterministic.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SEED = 17
PAGE = (600, 450)

# ---------------------------------------------------------------------------------------------
# drawing primitives (100 x 100 design box)
# ---------------------------------------------------------------------------------------------


def L(*pts):
    """A polyline through the given (x, y) points."""
    return [tuple(map(float, p)) for p in pts]


def rect(x0, y0, x1, y1):
    return L((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))


def arc(cx, cy, rx, ry, a0=0.0, a1=360.0, n=None):
    """An elliptic arc from angle a0 to a1 (degrees, 0 = right, 90 = down)."""
    n = n or max(8, int(abs(a1 - a0) / 10))
    t = np.radians(np.linspace(a0, a1, n + 1))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]


def circle(cx, cy, r):
    return arc(cx, cy, r, r)


# ---------------------------------------------------------------------------------------------
# the drawings: class -> [(name, style, strokes)]
# ---------------------------------------------------------------------------------------------

def _airplane():
    top = [L((50, 5), (54, 12), (54, 80), (50, 92), (46, 80), (46, 12), (50, 5)),
           L((46, 38), (8, 58), (8, 63), (46, 52)), L((54, 38), (92, 58), (92, 63), (54, 52)),
           L((47, 80), (34, 90), (34, 93), (48, 88)), L((53, 80), (66, 90), (66, 93), (52, 88))]
    side = [L((5, 52), (12, 44), (80, 42), (92, 20), (98, 20), (96, 44), (90, 56), (12, 58), (5, 52)),
            L((38, 52), (58, 52), (48, 72), (40, 72), (38, 52)), L((86, 46), (99, 50), (90, 52)),
            L((18, 47), (24, 47)), L((30, 47), (36, 47)), L((42, 47), (48, 47)), L((54, 47), (60, 47))]
    front = [circle(50, 50, 9), L((41, 50), (3, 55)), L((59, 50), (97, 55)), L((50, 41), (50, 18)),
             L((44, 28), (56, 28)), circle(24, 58, 4), circle(76, 58, 4), L((47, 59), (45, 66)),
             L((53, 59), (55, 66))]
    icon = [L((50, 3), (50, 97)), L((10, 45), (50, 35), (90, 45)), L((10, 45), (50, 42), (90, 45)),
            L((35, 90), (50, 82), (65, 90))]
    return [("top_view", "top", top, None), ("side_view", "side", side, None),
            ("front_view", "front", front, None), ("cross_icon", "icon", icon, None),
            ("small_top", "small", top, (150, 30, 60)), ("wobbly_side", "wobbly", side, None)]


def _bed():
    side = [L((5, 20), (5, 85)), L((5, 50), (95, 50), (95, 85)), L((5, 62), (95, 62)), L((8, 20), (8, 50)),
            L((5, 20), (10, 16), (14, 20), (14, 50)), L((95, 40), (95, 50)), L((15, 44), (30, 44), (30, 50))]
    front = [rect(8, 40, 92, 80), L((8, 80), (8, 90)), L((92, 80), (92, 90)), L((8, 56), (92, 56)),
             arc(28, 40, 14, 7, 180, 360), arc(72, 40, 14, 7, 180, 360)]
    top = [rect(20, 5, 80, 95), rect(28, 10, 72, 24), L((20, 40), (80, 40)), L((20, 46), (80, 46))]
    outline = [L((10, 55), (60, 75), (95, 55), (45, 38), (10, 55)), L((10, 55), (10, 68), (60, 88), (95, 68), (95, 55)),
               L((60, 75), (60, 88)), L((10, 55), (10, 25), (45, 10), (45, 38))]
    partial = [L((10, 15), (10, 80)), L((10, 15), (22, 15), (22, 55)), L((10, 55), (90, 55)),
               L((22, 45), (90, 45))]
    return [("side_view", "side", side, None), ("foot_view", "front", front, None),
            ("top_view", "top", top, None), ("box_outline", "outline", outline, None),
            ("headboard_only", "partial", partial, None), ("small_side", "small", side, (20, 170, 60))]


def _bench():
    front = [L((3, 50), (97, 50)), L((3, 56), (97, 56)), L((3, 50), (3, 56)), L((97, 50), (97, 56)),
             L((10, 56), (10, 85)), L((90, 56), (90, 85)), L((5, 20), (95, 20)), L((5, 28), (95, 28)),
             L((5, 36), (95, 36)), L((12, 20), (12, 50)), L((88, 20), (88, 50))]
    side = [L((30, 10), (40, 50)), L((25, 50), (75, 50)), L((30, 50), (28, 85)), L((70, 50), (72, 85)),
            L((25, 55), (75, 55))]
    icon = [L((2, 55), (98, 55)), L((2, 40), (98, 40)), L((8, 55), (8, 82)), L((92, 55), (92, 82)),
            L((8, 40), (8, 55)), L((92, 40), (92, 55))]
    outline = [L((5, 50), (70, 35), (97, 45), (32, 62), (5, 50)), L((5, 50), (5, 56), (32, 68), (97, 51), (97, 45)),
               L((32, 62), (32, 68)), L((10, 56), (10, 80)), L((30, 68), (30, 88)), L((92, 53), (92, 75))]
    return [("front_view", "front", front, None), ("end_view", "side", side, None),
            ("plank_icon", "icon", icon, None), ("box_outline", "outline", outline, None),
            ("wobbly_front", "wobbly", front, None), ("small_icon", "small", icon, (170, 150, 60))]


def _bottle():
    front = [L((40, 5), (60, 5), (60, 12), (40, 12), (40, 5)),
             L((42, 12), (42, 30), (30, 42), (30, 95), (70, 95), (70, 42), (58, 30), (58, 12))]
    wine = [L((45, 3), (55, 3), (55, 35)), L((45, 3), (45, 35)), arc(50, 48, 15, 13, 180, 270),
            arc(50, 48, 15, 13, 270, 360), L((35, 48), (35, 97), (65, 97), (65, 48)), rect(38, 60, 62, 78),
            L((45, 8), (55, 8))]
    flask = [L((44, 5), (56, 5)), L((44, 5), (44, 25)), L((56, 5), (56, 25)), arc(50, 62, 28, 37, 242, 298 + 360)]
    water = [L((43, 4), (57, 4), (57, 10), (43, 10), (43, 4)), L((45, 10), (45, 18), (34, 26), (34, 96), (66, 96),
             (66, 26), (55, 18), (55, 10)), L((34, 45), (66, 45)), L((34, 70), (66, 70))]
    return [("front_view", "front", front, None), ("wine_icon", "icon", wine, None),
            ("flask_outline", "outline", flask, None), ("small_front", "small", front, (190, 20, 55)),
            ("wobbly_water", "wobbly", water, None), ("offcentre_wine", "offcentre", wine, (8, 110, 130))]


def _car():
    side = [L((3, 60), (3, 45), (22, 42), (35, 25), (70, 25), (82, 42), (97, 46), (97, 60), (84, 60)),
            L((64, 60), (34, 60)), L((14, 60), (3, 60)), circle(24, 62, 10), circle(74, 62, 10),
            L((38, 29), (50, 29), (50, 42), (26, 42), (38, 29)), L((55, 29), (68, 29), (77, 42), (55, 42), (55, 29))]
    front = [L((10, 75), (10, 50), (22, 46), (30, 25), (70, 25), (78, 46), (90, 50), (90, 75), (10, 75)),
             L((30, 28), (70, 28), (75, 46), (25, 46), (30, 28)), circle(22, 58, 5), circle(78, 58, 5),
             rect(38, 56, 62, 66), rect(12, 75, 24, 86), rect(76, 75, 88, 86)]
    top = [L((30, 5), (70, 5), (75, 15), (75, 90), (70, 96), (30, 96), (25, 90), (25, 15), (30, 5)),
           L((29, 32), (71, 32), (66, 42), (34, 42), (29, 32)), L((33, 72), (67, 72), (70, 80), (30, 80), (33, 72)),
           L((25, 22), (19, 24)), L((75, 22), (81, 24))]
    icon = [rect(5, 45, 95, 70), L((25, 45), (32, 25), (68, 25), (75, 45)), circle(27, 72, 9), circle(73, 72, 9)]
    return [("side_view", "side", side, None), ("front_view", "front", front, None),
            ("top_view", "top", top, None), ("box_icon", "icon", icon, None),
            ("small_side", "small", side, (10, 20, 70)), ("wobbly_side", "wobbly", side, None)]


def _chair():
    side = [L((25, 5), (25, 92)), L((25, 55), (75, 55), (75, 92)), L((25, 5), (32, 5), (32, 55)),
            L((25, 62), (75, 62))]
    front = [rect(22, 5, 78, 45), L((36, 5), (36, 45)), L((50, 5), (50, 45)), L((64, 5), (64, 45)),
             L((16, 50), (84, 50), (84, 58), (16, 58), (16, 50)), L((20, 58), (20, 95)), L((80, 58), (80, 95)),
             L((22, 45), (22, 50)), L((78, 45), (78, 50))]
    outline = [L((30, 8), (30, 55), (70, 55), (70, 8), (30, 8)), L((30, 55), (18, 68), (58, 68), (70, 55)),
               L((18, 68), (18, 95)), L((58, 68), (58, 95)), L((70, 55), (70, 85)), L((30, 62), (30, 82))]
    icon = [L((35, 5), (35, 90)), L((35, 50), (70, 50), (70, 90))]
    partial = [L((30, 5), (30, 60), (80, 60)), L((30, 5), (38, 5), (38, 60)), L((30, 60), (30, 75)),
               L((80, 60), (80, 70))]
    return [("side_view", "side", side, None), ("front_view", "front", front, None),
            ("box_outline", "outline", outline, None), ("h_icon", "icon", icon, None),
            ("small_side", "small", side, (180, 180, 50)), ("no_legs", "partial", partial, None)]


def _house():
    icon = [rect(20, 45, 80, 95), L((12, 48), (50, 12), (88, 48)), rect(42, 65, 58, 95)]
    front = [rect(15, 45, 85, 95), L((8, 48), (50, 10), (92, 48)), rect(44, 68, 58, 95), rect(22, 55, 36, 68),
             L((29, 55), (29, 68)), L((22, 61), (36, 61)), rect(64, 55, 78, 68), L((66, 30), (66, 15), (74, 15), (74, 36))]
    outline = [L((5, 50), (5, 92), (55, 96), (55, 52)), L((55, 96), (95, 86), (95, 48)),
               L((5, 50), (28, 18), (55, 52), (95, 48), (72, 16), (28, 18))]
    partial = [L((10, 50), (50, 10), (90, 50)), L((20, 45), (20, 95)), L((20, 95), (80, 95)), rect(42, 68, 56, 95)]
    return [("square_roof_door", "icon", icon, None), ("front_view", "front", front, None),
            ("box_outline", "outline", outline, None), ("small_icon", "small", icon, (190, 170, 55)),
            ("wobbly_front", "wobbly", front, None), ("missing_wall", "partial", partial, None)]


def _lamp():
    table = [L((32, 10), (68, 10), (82, 42), (18, 42), (32, 10)), L((50, 42), (50, 85)),
             arc(50, 88, 20, 5)]
    desk = [L((10, 92), (40, 92), (40, 86), (10, 86), (10, 92)), L((25, 86), (45, 50)), L((45, 50), (70, 28)),
            circle(45, 50, 3), L((64, 22), (90, 44), (82, 50), (58, 30), (64, 22)), arc(86, 50, 6, 4, 0, 180)]
    floor = [L((50, 20), (50, 92)), L((36, 5), (64, 5), (72, 20), (28, 20), (36, 5)), L((35, 95), (65, 95)),
             L((50, 92), (38, 95)), L((50, 92), (62, 95))]
    outline = [L((30, 8), (70, 8), (82, 38), (56, 38), (56, 80), (75, 88), (75, 94), (25, 94), (25, 88), (44, 80),
                 (44, 38), (18, 38), (30, 8))]
    return [("table_lamp", "front", table, None), ("desk_lamp", "side", desk, None),
            ("floor_lamp", "icon", floor, None), ("silhouette", "outline", outline, None),
            ("small_table", "small", table, (20, 150, 75)), ("wobbly_table", "wobbly", table, None)]


def _mug():
    side = [L((15, 20), (15, 88), (70, 88), (70, 20)), L((15, 20), (70, 20)), arc(70, 52, 18, 20, -80, 80)]
    steam = [rect(20, 35, 70, 90), arc(70, 62, 16, 17, -80, 80), L((32, 28), (28, 20), (34, 12), (30, 4)),
             L((46, 28), (42, 20), (48, 12), (44, 4)), L((58, 28), (54, 20), (60, 12), (56, 4))]
    outline = [arc(45, 20, 28, 8), L((17, 20), (17, 85)), L((73, 20), (73, 85)), arc(45, 85, 28, 8, 0, 180),
               L((73, 32), (90, 34), (92, 60), (73, 70))]
    top = [circle(45, 50, 32), circle(45, 50, 27), L((77, 42), (92, 42), (92, 58), (77, 58))]
    return [("side_view", "side", side, None), ("steam_icon", "icon", steam, None),
            ("cylinder_outline", "outline", outline, None), ("top_view", "top", top, None),
            ("small_side", "small", side, (175, 25, 60)), ("wobbly_side", "wobbly", side, None)]


def _rocket():
    icon = [L((50, 2), (64, 22), (64, 70), (36, 70), (36, 22), (50, 2)), L((36, 52), (22, 76), (36, 70)),
            L((64, 52), (78, 76), (64, 70)), circle(50, 36, 6), L((42, 72), (46, 90), (50, 80), (54, 94), (58, 72))]
    side = [L((44, 2), (56, 2)), L((40, 12), (50, 0), (60, 12)), L((40, 12), (40, 82)), L((60, 12), (60, 82)),
            L((40, 82), (60, 82)), L((40, 64), (28, 86), (40, 82)), L((60, 64), (72, 86), (60, 82)), L((50, 82), (50, 96))]
    window = [L((50, 5), (62, 25), (62, 78), (38, 78), (38, 25), (50, 5)), circle(50, 38, 7), circle(50, 56, 5),
              L((38, 62), (26, 84), (38, 78)), L((62, 62), (74, 84), (62, 78)), L((44, 80), (50, 97), (56, 80))]
    partial = [L((50, 4), (62, 22), (38, 22), (50, 4)), L((38, 22), (38, 88)), L((62, 22), (62, 88)),
               L((38, 88), (62, 88))]
    return [("flame_icon", "icon", icon, None), ("side_view", "side", side, None),
            ("window_icon", "front", window, None), ("no_fins", "partial", partial, None),
            ("small_flame", "small", icon, (200, 40, 45)), ("wobbly_flame", "wobbly", icon, None)]


def _table():
    front = [L((3, 30), (97, 30), (97, 38), (3, 38), (3, 30)), L((10, 38), (10, 92)), L((90, 38), (90, 92)),
             L((18, 38), (18, 92)), L((82, 38), (82, 92))]
    side = [L((5, 35), (95, 35)), L((5, 35), (5, 40), (95, 40), (95, 35)), L((14, 40), (14, 90)),
            L((86, 40), (86, 90)), L((14, 70), (86, 70))]
    outline = [L((5, 40), (70, 25), (97, 38), (32, 55), (5, 40)), L((5, 40), (5, 80)), L((32, 55), (32, 95)),
               L((97, 38), (97, 78)), L((70, 25), (70, 48))]
    round_ = [arc(50, 30, 45, 10), L((46, 40), (46, 85)), L((54, 40), (54, 85)), L((25, 94), (46, 85)),
              L((75, 94), (54, 85)), L((25, 94), (75, 94))]
    return [("front_view", "front", front, None), ("side_view", "side", side, None),
            ("box_outline", "outline", outline, None), ("pedestal_icon", "icon", round_, None),
            ("small_front", "small", front, (160, 20, 70)), ("wobbly_outline", "wobbly", outline, None)]


def _tree():
    pine = [L((50, 5), (30, 30), (70, 30), (50, 5)), L((50, 20), (22, 52), (78, 52), (50, 20)),
            L((50, 40), (14, 78), (86, 78), (50, 40)), L((45, 78), (45, 95), (55, 95), (55, 78))]
    cloud = [arc(50, 38, 36, 30, 150, 390 + 0), L((42, 65), (40, 95)), L((58, 65), (60, 95)), L((40, 95), (60, 95))]
    lolly = [circle(50, 32, 26), L((47, 58), (47, 96)), L((53, 58), (53, 96))]
    bare = [L((46, 96), (48, 60), (44, 30)), L((54, 96), (52, 60), (56, 30)), L((47, 55), (25, 30), (18, 12)),
            L((30, 36), (40, 14)), L((53, 50), (75, 28), (85, 15)), L((70, 33), (62, 10)), L((50, 40), (50, 8))]
    return [("pine_triangles", "icon", pine, None), ("cloud_canopy", "icon", cloud, None),
            ("lollipop", "outline", lolly, None), ("small_pine", "small", pine, (15, 160, 70)),
            ("wobbly_cloud", "wobbly", cloud, None), ("bare_branches", "partial", bare, None)]


CLASSES = {
    "airplane": _airplane, "bed": _bed, "bench": _bench, "bottle": _bottle, "car": _car, "chair": _chair,
    "house": _house, "lamp": _lamp, "mug": _mug, "rocket": _rocket, "table": _table, "tree": _tree,
}

# ---------------------------------------------------------------------------------------------
# hand jitter, placement, pages
# ---------------------------------------------------------------------------------------------


def _smooth_noise(n: int, rng: np.random.Generator, amp: float, corr: float = 6.0) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    raw = rng.normal(0.0, 1.0, size=(n + 20, 2))
    sm = gaussian_filter1d(raw, corr, axis=0, mode="nearest")[10:10 + n]
    return sm / (sm.std() + 1e-9) * amp


def hand_drawn(strokes, rng: np.random.Generator, wobbly: bool) -> list[np.ndarray]:
    """Resample each stroke every ~1.5 units, add smooth hand jitter (stronger when ``wobbly``), a
    small overshoot at the ends and a slight rotation / aspect change of the whole drawing."""
    angle = math.radians(rng.uniform(-4, 4))
    aspect = math.exp(rng.normal(0, 0.04))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    out = []
    for s in strokes:
        p = np.asarray(s, dtype=np.float64)
        seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
        t = np.concatenate([[0], np.cumsum(seg)])
        n = max(2, int(t[-1] / 1.5) + 1)
        tt = np.linspace(0, t[-1], n)
        q = np.stack([np.interp(tt, t, p[:, 0]), np.interp(tt, t, p[:, 1])], axis=1)
        q = q + _smooth_noise(len(q), rng, 1.2 if wobbly else 0.45, corr=4.0 if wobbly else 6.0)
        if len(q) > 2 and rng.random() < 0.5:  # a little overshoot past the end
            d = q[-1] - q[-2]
            q = np.vstack([q, q[-1] + d / (np.linalg.norm(d) + 1e-9) * rng.uniform(0.5, 2.5)])
        out.append(q)
    allp = np.concatenate(out)
    c = (allp.min(0) + allp.max(0)) / 2
    return [((q - c) * [aspect, 1 / aspect]) @ rot.T + c for q in out]


def on_canvas(strokes: list[np.ndarray], box: tuple[float, float, float] | None, rng) -> list[np.ndarray]:
    """Fit the drawing (aspect kept) into a ``side`` x ``side`` box at ``(x0, y0)`` of the 0..255 canvas;
    ``None``: a centred box of 200-230 units (a person filling most of the pad)."""
    if box is None:
        side = rng.uniform(200, 230)
        box = ((255 - side) / 2 + rng.uniform(-10, 10), (255 - side) / 2 + rng.uniform(-10, 10), side)
    x0, y0, side = box
    allp = np.concatenate(strokes)
    lo, hi = allp.min(0), allp.max(0)
    scale = side / float((hi - lo).max())
    off = np.array([x0, y0]) + (side - (hi - lo) * scale) / 2
    return [np.clip((s - lo) * scale + off, 0, 255) for s in strokes]


def draw_page(strokes_256: list[np.ndarray], rng: np.random.Generator, small: bool) -> tuple[Image.Image, dict]:
    """A 600x450 page with the drawing on it: its size a fraction of the page height (35-60 %, 18-30 %
    for small ones), anywhere on the page, pen 6-8 px, round caps and joints."""
    w, h = PAGE
    frac = rng.uniform(0.18, 0.30) if small else rng.uniform(0.35, 0.6)
    side = frac * h
    x0 = rng.uniform(15, w - side - 15)
    y0 = rng.uniform(15, h - side - 15)
    pen = int(rng.integers(6, 9))
    allp = np.concatenate(strokes_256)
    lo, hi = allp.min(0), allp.max(0)
    scale = side / float((hi - lo).max())
    im = Image.new("L", PAGE, 255)
    d = ImageDraw.Draw(im)
    r = pen / 2
    for s in strokes_256:
        pts = [(float(x), float(y)) for x, y in (s - lo) * scale + [x0, y0]]
        d.line(pts, fill=0, width=pen, joint="curve")
        for x, y in (pts[0], pts[-1]):
            d.ellipse((x - r, y - r, x + r, y + r), fill=0)
    return im, {"pen_px": pen, "box": [round(x0), round(y0), round(side)]}


def photo_of(page: Image.Image, rng: np.random.Generator) -> bytes:
    """The page as a phone photo of paper: grey paper, a light gradient and a soft shadow, blur, noise, JPEG."""
    ink = 1.0 - np.asarray(page, dtype=np.float32) / 255.0
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (np.cos(ang) * (xx / w - 0.5) + np.sin(ang) * (yy / h - 0.5))
    paper = rng.uniform(0.62, 0.82) + rng.uniform(0.12, 0.22) * grad
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    shadow = 1.0 - rng.uniform(0.15, 0.3) * np.exp(-(((xx - cx) / (0.35 * w)) ** 2 + ((yy - cy) / (0.35 * h)) ** 2))
    paper = paper * shadow
    pencil = rng.uniform(0.12, 0.3)  # the pen is not black in the photo
    img = paper * (1.0 - ink) + pencil * paper * ink
    img = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.6)))
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, rng.uniform(3, 7), size=(h, w))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(rng.integers(45, 70)))
    return buf.getvalue()


def main() -> None:
    from sbsr_lab.data.stroke_io import sketch_record, write_ndjson

    index = []
    for ci, (cls, make) in enumerate(CLASSES.items()):
        folder = HERE / cls
        folder.mkdir(exist_ok=True)
        for j, (name, style, strokes, box) in enumerate(make()):
            rng = np.random.default_rng([SEED, ci, j])
            drawn = hand_drawn(strokes, rng, wobbly=style == "wobbly")
            canvas = on_canvas(drawn, box, rng)
            rec = sketch_record([s / 255.0 for s in canvas], word=cls, key_id=f"people-{cls}-{name}")
            rec["style"] = style
            write_ndjson(folder / f"{name}.ndjson", [rec])
            page, meta = draw_page(canvas, rng, small=style in ("small", "offcentre"))
            page.convert("1").save(folder / f"{name}.png", optimize=True)
            entry = {"class": cls, "name": name, "style": style, "ndjson": f"{cls}/{name}.ndjson",
                     "png": f"{cls}/{name}.png", **meta}
            if j % 3 == 1:  # two photos of paper per class
                (folder / f"{name}_photo.jpg").write_bytes(photo_of(page, rng))
                entry["photo"] = f"{cls}/{name}_photo.jpg"
            index.append(entry)
    (HERE / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {len(index)} drawings to {HERE}")


if __name__ == "__main__":
    main()
