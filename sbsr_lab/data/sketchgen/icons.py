"""Iconic drawings: the simplified symbol a person draws for a class, sized from the shape's parameters.

People often do not draw what they see but the *symbol* of an object: a house is a square, a
triangle roof and a door; a pine tree is stacked triangles on a trunk, a broadleaf tree a lollipop,
a cloud on a stick (closed, or open at the bottom where the trunk goes in), a smooth dome over the trunk
or, in winter, bare branches; a car is a box with a cabin and two wheels; a rocket a pointed tube with fins
and a flame; a mug is a mug or a wide round cup (on a saucer, steaming); a bench may be seen from the
front and a little above, its backrest along the whole seat. :func:`icon_strokes` draws that symbol for the 12 default SynthShapes classes, with
proportions taken from the SynthShapes parameters of the sketched shape
(:func:`sbsr_lab.data.synthshapes.make_shape`'s ``params``: a tall thin bottle gives a tall thin
icon, a conifer with 5 tiers five triangles, a house with a chimney a chimney). Unknown classes
(the ``full`` profile's extra ones) have no icon: :func:`has_icon` is False and the generator draws
them in another style.

Strokes are designed in a 100 x 100 box (x right, y down), in drawing order (outline first), and
returned in [0, 1]² units; the noise level's effects (wobble, gaps, ...) are applied afterwards by
:func:`sbsr_lab.data.sketchgen.effects.humanize`, as for every style.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from sbsr_lab.data.strokes import Strokes

__all__ = ["ICONS", "has_icon", "icon_strokes"]

Pts = list[tuple[float, float]]


def _line(*pts: tuple[float, float]) -> Pts:
    return [(float(x), float(y)) for x, y in pts]


def _rect(x0: float, y0: float, x1: float, y1: float) -> Pts:
    return _line((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0) -> Pts:
    """An elliptic arc from angle ``a0`` to ``a1`` (degrees, 0 = right, 90 = down)."""
    n = max(8, int(abs(a1 - a0) / 10))
    t = np.radians(np.linspace(a0, a1, n + 1))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]


def _num(params: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    """``params[key]`` as a float clipped to [lo, hi] (``default`` when missing or not a number)."""
    v = params.get(key, default)
    try:
        v = float(v)
    except (TypeError, ValueError):
        v = default
    return float(np.clip(v if math.isfinite(v) else default, lo, hi))


# -- one function per class: (params, rng) -> list of polylines in the 100 x 100 box -------------------

def _house(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    w = 60.0 * _num(p, "width", 8.0, 5.0, 12.0) / 8.0
    storeys = int(_num(p, "storeys", 1, 1, 2))
    h = (32.0 + 14.0 * (storeys - 1)) * _num(p, "storey_height", 2.8, 2.4, 3.2) / 2.8
    x0, x1, yb = 50 - w / 2, 50 + w / 2, 95.0
    yt = yb - h
    pitch = _num(p, "roof_pitch", 0.6, 0.2, 1.0)
    variant = p.get("variant", "gable")
    out = [_rect(x0, yt, x1, yb)]
    over = 4.0
    if variant == "flat":
        out.append(_line((x0 - over, yt), (x1 + over, yt), (x1 + over, yt - 4), (x0 - over, yt - 4), (x0 - over, yt)))
        top = yt - 4
    elif variant == "shed":
        top = yt - pitch * w * 0.4
        out.append(_line((x0 - over, yt), (x0 - over, top), (x1 + over, yt + 1)))
    elif variant == "hip":
        top = yt - pitch * w * 0.45
        out.append(_line((x0 - over, yt), (x0 + w * 0.25, top), (x1 - w * 0.25, top), (x1 + over, yt)))
    else:  # gable: the triangle roof
        top = yt - pitch * w * 0.55
        out.append(_line((x0 - over, yt + 2), (50, top), (x1 + over, yt + 2)))
    door_x = 50 + _num(p, "door_offset", 0.0, -0.3, 0.3) * w
    dw, dh = w * 0.16, min(h * 0.55, 22.0)
    out.append(_line((door_x - dw / 2, yb), (door_x - dw / 2, yb - dh), (door_x + dw / 2, yb - dh), (door_x + dw / 2, yb)))
    ws = w * 0.14 * _num(p, "window_size", 1.2, 0.8, 1.6) / 1.2
    for wx in ([x0 + w * 0.2] if door_x > 50 else [x1 - w * 0.2]) + ([x0 + w * 0.2, x1 - w * 0.2] if storeys > 1 else []):
        wy = yt + h * (0.25 if storeys > 1 else 0.35)
        out.append(_rect(wx - ws / 2, wy, wx + ws / 2, wy + ws))
        if rng.random() < 0.5:  # window cross
            out.append(_line((wx, wy), (wx, wy + ws)))
            out.append(_line((wx - ws / 2, wy + ws / 2), (wx + ws / 2, wy + ws / 2)))
    if int(_num(p, "chimney", 0, 0, 1)) and variant != "flat":
        cx = x1 - w * 0.25
        cy = yt - (yt - top) * 0.5
        out.append(_line((cx - 3, cy), (cx - 3, cy - 12), (cx + 3, cy - 12), (cx + 3, cy - 3)))
    return out


def _tree(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    variant = p.get("variant", "broadleaf")
    cw = _num(p, "crown_ratio", 0.6, 0.35, 0.9)
    bare = _num(p, "bare_trunk", 0.3, 0.12, 0.45)
    tw = 3.0 + 8.0 * _num(p, "trunk_ratio", 0.04, 0.025, 0.06) / 0.06
    yb, ytop = 95.0, 5.0
    if variant == "conifer":
        tiers = int(_num(p, "tiers", 3, 2, 6))
        tiers = min(tiers, 4) if rng.random() < 0.7 else tiers
        half = 45.0 * cw
        y_trunk = yb - (yb - ytop) * bare * 0.5
        out = [_line((50 - tw / 2, yb), (50 - tw / 2, y_trunk)), _line((50 + tw / 2, yb), (50 + tw / 2, y_trunk))]
        step = (y_trunk - ytop) / tiers
        for i in range(tiers):  # bottom tier first, each smaller, overlapping the one below
            yb_i = y_trunk - i * step * 0.95
            r = half * (1.0 - 0.55 * i / tiers)
            apex = yb_i - step * 1.6 if i == tiers - 1 else yb_i - step * 1.5
            out.append(_line((50 - r, yb_i), (50, max(apex, ytop)), (50 + r, yb_i), (50 - r, yb_i)))
        return out
    if variant == "palm":
        out = [_line((48, yb), (50, 60), (56, 25)), _line((54, yb), (55, 60), (60, 26))]
        for a in (-160, -120, -60, -20, 200):
            r = 40.0 * cw
            ex, ey = 58 + r * math.cos(math.radians(a)), 25 + 0.6 * r * math.sin(math.radians(a)) + 12
            out.append(_line((58, 24), ((58 + ex) / 2, 18 + (ey - 24) * 0.2), (ex, ey)))
        return out
    r = 42.0 * cw
    cy = ytop + r * 0.95
    trunk_top = cy + r * 0.6
    crown = str(rng.choice(["lollipop", "cloud", "open", "dome", "bare"], p=[0.25, 0.25, 0.2, 0.15, 0.15]))
    if crown == "bare":  # a winter tree: the trunk splits into branches, no crown
        return _bare_tree(yb, ytop, tw, bare, rng)
    out = []
    if crown == "lollipop":  # a round crown
        out.append(_arc(50, cy, r, r * 0.95, -90, 270))
    elif crown == "dome":  # one smooth arc over the trunk, open underneath (a crown drawn in one sweep)
        gap, ry = rng.uniform(25.0, 80.0), r * rng.uniform(0.6, 0.95)
        arc = _arc(50, cy, r, ry, 90 + gap, 450 - gap)
        out.append(arc)
        trunk_top = max(arc[0][1], arc[-1][1]) - rng.uniform(0.0, 0.3) * ry
    else:  # a cloud of bumps; "open": left open at the bottom where the trunk goes in
        pts: Pts = []
        n = int(rng.integers(6, 9))
        gap = math.degrees(math.asin(min(0.9, tw / (1.6 * r)))) + rng.uniform(8.0, 45.0) if crown == "open" else 0.0
        start, span = 90.0 + gap, 360.0 - 2 * gap  # angles: 90 = straight down
        for k in range(n):
            a0, a1 = start + span * k / n, start + span * (k + 1) / n
            am = math.radians((a0 + a1) / 2)
            bx, by = 50 + 0.8 * r * math.cos(am), cy + 0.8 * 0.95 * r * math.sin(am)
            pts.extend(_arc(bx, by, 0.38 * r, 0.36 * r, (a0 + a1) / 2 - 80, (a0 + a1) / 2 + 80)[:-1])
        if crown == "open":
            trunk_top = max(p_[1] for p_ in pts[:2] + pts[-2:])
            pts = [(50 - tw / 2, trunk_top)] + pts[::-1] + [(50 + tw / 2, trunk_top)]  # one stroke from the trunk's left
        out.append(pts if crown == "open" else pts + pts[:1])
    if rng.random() < 0.3:  # the trunk flares into roots at the foot
        flare = rng.uniform(4.0, 12.0)
        out.append(_line((50 - tw / 2, trunk_top), (50 - tw / 2, yb - 8), (50 - tw / 2 - flare, yb)))
        out.append(_line((50 + tw / 2, trunk_top), (50 + tw / 2, yb - 8), (50 + tw / 2 + flare, yb)))
    else:
        out.append(_line((50 - tw / 2, trunk_top), (50 - tw / 2, yb)))
        out.append(_line((50 + tw / 2, trunk_top), (50 + tw / 2, yb)))
    if p.get("trunk") == "forked" and rng.random() < 0.6:
        out.append(_line((50, trunk_top + 6), (38, cy + 4)))
        out.append(_line((50, trunk_top + 6), (62, cy + 2)))
    return out


def _bare_tree(yb: float, ytop: float, tw: float, bare: float, rng: np.random.Generator) -> list[Pts]:
    """A tree without leaves: a trunk (two lines) that forks into 2-4 branches, each forking once more."""
    y_fork = yb - (yb - ytop) * (0.3 + 0.5 * bare)
    out = [_line((50 - tw / 2, yb), (50 - tw / 2, y_fork)), _line((50 + tw / 2, yb), (50 + tw / 2, y_fork))]
    n = int(rng.integers(2, 5))
    for k in range(n):
        ang = math.radians(-90 + (k - (n - 1) / 2) * rng.uniform(22, 34))  # spread upwards (-90 = up)
        length = (y_fork - ytop) * rng.uniform(0.75, 1.0)
        x0 = 50 + (k - (n - 1) / 2) * tw / max(1, n - 1)
        end = (x0 + length * math.cos(ang), y_fork + length * math.sin(ang))
        out.append(_line((x0, y_fork), end))
        mid = (x0 + 0.55 * length * math.cos(ang), y_fork + 0.55 * length * math.sin(ang))
        twig = ang + math.radians(rng.choice([-1, 1]) * rng.uniform(25, 40))
        out.append(_line(mid, (mid[0] + 0.4 * length * math.cos(twig), mid[1] + 0.4 * length * math.sin(twig))))
    return out


def _car(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    length = 90.0
    body_h = 22.0 * _num(p, "body_height", 0.7, 0.5, 0.9) / 0.7
    cabin_h = 16.0 * _num(p, "cabin_height", 0.6, 0.4, 0.8) / 0.6
    wr = 9.0 * _num(p, "wheel_radius", 0.38, 0.28, 0.5) / 0.38
    x0, x1 = 5.0, 5.0 + length
    yb = 80.0
    yt = yb - body_h
    hood = _num(p, "hood_fraction", 0.25, 0.12, 0.35) * length
    variant = p.get("variant", "sedan")
    out = [_rect(x0, yt, x1, yb)]
    if variant == "pickup":
        out.append(_line((x0 + 0.45 * length, yt), (x0 + 0.5 * length, yt - cabin_h), (x1 - hood, yt - cabin_h), (x1 - hood + 6, yt)))
    elif variant == "suv":
        out.append(_line((x0 + 3, yt), (x0 + 4, yt - cabin_h * 1.1), (x1 - hood, yt - cabin_h * 1.1), (x1 - hood + 10, yt)))
    elif variant == "hatchback":
        out.append(_line((x0 + 4, yt), (x0 + 10, yt - cabin_h), (x1 - hood - 4, yt - cabin_h), (x1 - hood + 8, yt)))
    else:
        out.append(_line((x0 + 0.15 * length, yt), (x0 + 0.27 * length, yt - cabin_h), (x1 - hood - 8, yt - cabin_h), (x1 - hood + 4, yt)))
    wb = _num(p, "wheelbase", 0.6, 0.45, 0.72) * length
    for wx in (50 - wb / 2, 50 + wb / 2):
        out.append(_arc(wx, yb, wr, wr))
    if rng.random() < 0.5:  # a window split
        xm = (x0 + x1) / 2
        out.append(_line((xm, yt), (xm, yt - cabin_h * 0.9)))
    return out


def _airplane(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    span = 46.0 * _num(p, "span_ratio", 0.85, 0.55, 1.1) / 1.1
    chord = 28.0 * _num(p, "root_chord", 0.2, 0.1, 0.3) / 0.2
    taper = _num(p, "taper", 0.5, 0.2, 1.0)
    sweep = _num(p, "sweep", 0.4, 0.0, 0.9)
    fw = 5.0
    wing_y = 38.0 + 10.0 * _num(p, "wing_position", 0.0, -0.3, 0.3)
    variant = p.get("variant", "swept")
    if rng.random() < 0.35:  # side profile: fuselage, fin, a wing line
        fin = 18.0 * _num(p, "fin_height", 1.5, 1.0, 2.5) / 1.5
        body = _line((3, 52), (10, 45), (85, 44), (95, 44 - fin), (99, 44 - fin), (97, 46), (95, 58), (10, 59), (3, 52))
        return [body, _line((35, 54), (62, 54), (50, 64 + sweep * 6), (40, 64 + sweep * 6), (35, 54)),
                _line((83, 48), (99, 50), (90, 52))]
    body = _line((50, 3), (50 + fw, 12), (50 + fw, 82), (50, 95), (50 - fw, 82), (50 - fw, 12), (50, 3))
    out = [body]
    if variant == "delta":
        out.append(_line((50 + fw, 30), (50 + span, 80), (50 + fw, 80)))
        out.append(_line((50 - fw, 30), (50 - span, 80), (50 - fw, 80)))
        return out
    tip_chord = chord * taper
    back = sweep * span * 0.9
    for side in (1, -1):
        out.append(_line((50 + side * fw, wing_y), (50 + side * span, wing_y + back), (50 + side * span, wing_y + back + tip_chord),
                         (50 + side * fw, wing_y + chord)))
        out.append(_line((50 + side * fw * 0.8, 82), (50 + side * 16, 88 + sweep * 4), (50 + side * 16, 92 + sweep * 4),
                         (50 + side * fw * 0.6, 90)))
    return out


def _rocket(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    rr = 14.0 * _num(p, "radius_ratio", 0.06, 0.03, 0.09) / 0.06
    nose_f = _num(p, "nose_fraction", 0.18, 0.1, 0.3)
    yt, yb = 3.0, 78.0
    yn = yt + nose_f * (yb - yt) * 1.3
    nose = p.get("nose", "cone")
    x0, x1 = 50 - rr, 50 + rr
    if nose == "capsule":  # a rounded dome
        left = [(50 - rr * math.sin(t), yn - (yn - yt) * math.cos(t)) for t in np.linspace(0, math.pi / 2, 7)][::-1]
        tip = [(50 + rr * math.sin(t), yn - (yn - yt) * math.cos(t)) for t in np.linspace(0, math.pi / 2, 7)]
        body = _line((x0, yb), *left) + tip[1:] + [(x1, yb), (x0, yb)]
    elif nose == "ogive":  # curved sides meeting in a point
        side = [(rr * (1 - t) ** 1.6, yn - (yn - yt) * t) for t in np.linspace(0, 1, 7)]
        body = (_line((x0, yb)) + [(50 - dx, y) for dx, y in side] + [(50 + dx, y) for dx, y in side[::-1]][1:]
                + [(x1, yb), (x0, yb)])
    else:
        body = _line((x0, yb), (x0, yn), (50, yt), (x1, yn), (x1, yb), (x0, yb))
    out = [body]
    span = rr + 18.0 * _num(p, "fin_span", 0.6, 0.3, 1.0)
    fin_h = 30.0 * _num(p, "fin_height", 0.15, 0.08, 0.25) / 0.15
    out.append(_line((x0, yb - fin_h), (50 - span, yb + 4), (x0, yb)))
    out.append(_line((x1, yb - fin_h), (50 + span, yb + 4), (x1, yb)))
    if rng.random() < 0.7:
        out.append(_arc(50, yn + 12, rr * 0.45, rr * 0.45))
    if rng.random() < 0.7:  # the flame
        out.append(_line((x0 + 2, yb + 2), (50 - rr * 0.5, yb + 14), (50, yb + 8), (50 + rr * 0.5, yb + 16), (x1 - 2, yb + 2)))
    if int(_num(p, "stages", 1, 1, 3)) > 1:
        ys = yn + (yb - yn) * _num(p, "stage_split", 0.5, 0.3, 0.7)
        out.append(_line((x0, ys), (x1, ys)))
    return out


def _chair(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    sh = 45.0 * _num(p, "seat_height", 0.46, 0.38, 0.55) / 0.46
    bh = 45.0 * _num(p, "back_height", 0.45, 0.3, 0.6) / 0.45
    tilt = _num(p, "back_tilt", 0.1, 0.0, 0.3)
    yb = 95.0
    ys = yb - sh
    if rng.random() < 0.5:  # side view "h": back post, seat, legs
        x_back, x_front = 30.0, 70.0
        out = [_line((x_back - tilt * bh * 0.5, ys - bh), (x_back, ys), (x_back, yb)),
               _line((x_back, ys), (x_front, ys), (x_front, yb))]
        if rng.random() < 0.5:
            out.append(_line((x_back - tilt * bh * 0.5 - 4, ys - bh), (x_back - tilt * bh * 0.5 + 2, ys - bh)))
        return out
    w = 44.0 * _num(p, "seat_width", 0.45, 0.38, 0.55) / 0.45  # front view: back, seat, legs
    x0, x1 = 50 - w / 2, 50 + w / 2
    out = [_rect(x0 + 2, ys - bh, x1 - 2, ys - 2), _rect(x0, ys - 2, x1, ys + 4),
           _line((x0 + 2, ys + 4), (x0 + 2, yb)), _line((x1 - 2, ys + 4), (x1 - 2, yb))]
    if int(_num(p, "arms", 0, 0, 1)):
        out.append(_line((x0, ys - 2), (x0 - 4, ys - bh * 0.45), (x0 + 2, ys - bh * 0.45)))
        out.append(_line((x1, ys - 2), (x1 + 4, ys - bh * 0.45), (x1 - 2, ys - bh * 0.45)))
    return out


def _table(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    h = 50.0 * _num(p, "height", 0.74, 0.6, 0.8) / 0.74
    ln = 90.0 * min(1.0, _num(p, "length", 1.4, 0.6, 2.2) / 1.6)
    yb = 95.0
    yt = yb - h
    x0, x1 = 50 - ln / 2, 50 + ln / 2
    out = [_rect(x0, yt - 5, x1, yt)] if rng.random() < 0.6 else [_line((x0, yt), (x1, yt))]
    variant = p.get("variant", "four_legs")
    if variant == "pedestal":
        out.append(_line((47, yt), (47, yb - 4)))
        out.append(_line((53, yt), (53, yb - 4)))
        out.append(_line((35, yb), (50, yb - 5), (65, yb)))
    elif variant == "trestle":
        for xc in (x0 + 10, x1 - 10):
            out.append(_line((xc - 8, yb), (xc, yt), (xc + 8, yb)))
    else:
        inset = 4.0 + 20.0 * _num(p, "leg_inset", 0.05, 0.0, 0.2)
        out.append(_line((x0 + inset, yt), (x0 + inset, yb)))
        out.append(_line((x1 - inset, yt), (x1 - inset, yb)))
    return out


def _bench(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    ln = 92.0
    sh = 24.0 * _num(p, "seat_height", 0.45, 0.35, 0.55) / 0.45
    yb = 80.0
    ys = yb - sh
    x0, x1 = 50 - ln / 2, 50 + ln / 2
    out = [_rect(x0, ys - 5, x1, ys)]
    variant = p.get("variant", "park")
    if variant != "slab" and rng.random() < 0.35:
        return _bench_three_quarter(x0, x1, ys, yb, back=variant == "park", rng=rng)
    if variant == "slab":
        out += [_rect(x0 + 6, ys, x0 + 12, yb), _rect(x1 - 12, ys, x1 - 6, yb)]
    else:
        out += [_line((x0 + 6, ys), (x0 + 6, yb)), _line((x1 - 6, ys), (x1 - 6, yb))]
    if variant == "park":
        out.append(_rect(x0, ys - 24, x1, ys - 14))
        out += [_line((x0 + 10, ys - 14), (x0 + 10, ys - 5)), _line((x1 - 10, ys - 14), (x1 - 10, ys - 5))]
    return out


def _bench_three_quarter(x0: float, x1: float, ys: float, yb: float, back: bool,
                         rng: np.random.Generator) -> list[Pts]:
    """A bench seen from the front and a little above: the seat a long parallelogram, the backrest
    (a park bench's, often with slats) standing along its whole back edge, four legs."""
    dx, dy = rng.uniform(6.0, 14.0), rng.uniform(6.0, 12.0)
    x1 -= dx
    out = [_line((x0, ys), (x1, ys), (x1 + dx, ys - dy), (x0 + dx, ys - dy), (x0, ys))]
    out += [_line((x0 + 4, ys), (x0 + 4, yb)), _line((x1 - 4, ys), (x1 - 4, yb)),
            _line((x0 + dx + 4, ys - dy), (x0 + dx + 4, yb - dy * 0.6)), _line((x1 + dx - 4, ys - dy), (x1 + dx - 4, yb - dy * 0.6))]
    if back:
        bh = rng.uniform(18.0, 28.0)
        yt = ys - dy - bh
        out.append(_line((x0 + dx, ys - dy), (x0 + dx, yt), (x1 + dx, yt), (x1 + dx, ys - dy)))
        for k in range(int(rng.integers(0, 3))):  # slats
            y = yt + bh * (k + 1) / 3
            out.append(_line((x0 + dx, y), (x1 + dx, y)))
    return out


def _bed(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    head = 40.0 * _num(p, "headboard_height", 0.9, 0.5, 1.3) / 0.9
    fh = 18.0 * _num(p, "frame_height", 0.3, 0.15, 0.45) / 0.3
    mt = 10.0 * _num(p, "mattress_thickness", 0.2, 0.12, 0.3) / 0.2
    yb = 85.0
    x0, x1 = 4.0, 96.0
    yf = yb - fh
    out = [_line((x0, yb), (x0, yb - fh - head)), _rect(x0, yf - mt, x1 - 4, yf), _line((x0, yf), (x1, yf))]
    if int(_num(p, "footboard", 0, 0, 1)):
        out.append(_line((x1, yb), (x1, yf - mt - 10)))
    else:
        out.append(_line((x1 - 4, yf), (x1 - 4, yb)))
    if rng.random() < 0.6:  # a pillow
        out.append(_arc(x0 + 12, yf - mt - 4, 7, 4))
    if int(_num(p, "blanket", 0, 0, 1)) and rng.random() < 0.6:
        xb = x0 + (x1 - x0) * (1.0 - _num(p, "blanket_cover", 0.7, 0.4, 0.9))
        out.append(_line((xb, yf - mt), (xb + 2, yf)))
    return out


def _bottle(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    r = 16.0 * _num(p, "body_radius", 0.04, 0.028, 0.06) / 0.04
    body = _num(p, "body_fraction", 0.5, 0.35, 0.62)
    shoulder = _num(p, "shoulder_fraction", 0.15, 0.05, 0.3)
    neck = max(4.0, r * _num(p, "neck_ratio", 0.35, 0.2, 0.6))
    yb, yt = 95.0, 8.0
    y_body = yb - (yb - yt) * body
    y_neck = y_body - (yb - yt) * shoulder
    square = p.get("variant") == "spirits"
    if square:
        right = [(50 + r, yb), (50 + r, y_body), (50 + neck, y_neck), (50 + neck, yt)]
    else:
        sh = [(50 + neck + (r - neck) * (1 + math.cos(t)) / 2, y_body - (y_body - y_neck) * t / math.pi)
              for t in np.linspace(0, math.pi, 7)]
        right = [(50 + r, yb)] + sh + [(50 + neck, yt)]
    left = [(100 - x, y) for x, y in right[::-1]]
    outline = left[:-1] + [(50 - r, yb), (50 + r, yb)] + right[1:]
    out = [outline, _line((50 - neck, yt), (50 + neck, yt))]
    cap = p.get("cap", "none")
    if cap != "none":
        out.append(_line((50 - neck - 1, yt + 6), (50 + neck + 1, yt + 6)))
    if rng.random() < 0.5:  # a label
        yl = yb - (yb - y_body) * 0.7
        out.append(_rect(50 - r, yl, 50 + r, yl + (yb - y_body) * 0.4))
    return out


def _cup(rng: np.random.Generator) -> list[Pts]:
    """A cup: wider than tall, a round bowl under the rim, a loop handle, often on a saucer."""
    w, h = rng.uniform(56.0, 76.0), rng.uniform(28.0, 42.0)
    x0, x1, yt = 45 - w / 2, 45 + w / 2, 40.0
    rim = _arc(45, yt, w / 2, rng.uniform(3.0, 7.0)) if rng.random() < 0.6 else _line((x0, yt), (x1, yt))
    out = [rim, _arc(45, yt, w / 2, h, 0, 180)]  # the bowl: half an ellipse below the rim
    out.append(_arc(x1 - 3, yt + h * 0.35, rng.uniform(9.0, 15.0), h * 0.28, -90, 90))
    if rng.random() < 0.5:  # the saucer
        ys = yt + h + 2
        out.append(_arc(45, ys, w * rng.uniform(0.6, 0.8), rng.uniform(3.0, 6.0)) if rng.random() < 0.5
                   else _line((45 - w * 0.7, ys), (45 + w * 0.7, ys)))
    if rng.random() < 0.35:  # steam
        for sx in (35, 47, 59)[: int(rng.integers(1, 4))]:
            out.append(_line((sx, yt - 8), (sx + 3, yt - 13), (sx - 2, yt - 18), (sx + 2, yt - 24)))
    return out


def _mug(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    if rng.random() < 0.3:
        return _cup(rng)
    ratio = _num(p, "height", 0.1, 0.06, 0.14) / max(2.0 * _num(p, "radius", 0.045, 0.03, 0.06), 1e-6)
    h = 60.0
    w = float(np.clip(h / max(ratio, 0.6), 36.0, 70.0))
    x0, x1 = 42 - w / 2, 42 + w / 2
    yt, yb = 20.0, 20.0 + h
    bottom = _num(p, "bottom_ratio", 1.0, 0.7, 1.2)
    xb0, xb1 = 42 - w / 2 * bottom, 42 + w / 2 * bottom
    if rng.random() < 0.5:
        out = [_arc(42, yt, w / 2, 5), _line((x0, yt), (xb0, yb), (xb1, yb), (x1, yt))]
    else:
        out = [_line((x0, yt), (xb0, yb), (xb1, yb), (x1, yt), (x0, yt))]
    handle = p.get("handle", "loop")
    hs = h * 0.55 * _num(p, "handle_size", 0.6, 0.4, 0.9) / 0.6
    if handle == "square":
        out.append(_line((x1 - 1, yt + 10), (x1 + 16, yt + 10), (x1 + 16, yt + 10 + hs), (x1 - 1, yt + 10 + hs)))
    elif handle != "none":
        out.append(_arc(x1 - 1, yt + 10 + hs / 2, 15, hs / 2, -90, 90))
    if rng.random() < 0.4:  # steam
        for sx in (34, 48):
            out.append(_line((sx, yt - 4), (sx + 3, yt - 8), (sx - 2, yt - 12), (sx + 2, yt - 17)))
    return out


def _lamp(p: Mapping[str, Any], rng: np.random.Generator) -> list[Pts]:
    variant = p.get("variant", "floor")
    shade = p.get("shade", "cone")
    rb = 20.0 * _num(p, "shade_radius", 0.2, 0.1, 0.25) / 0.2
    yb = 95.0
    base = 14.0 * _num(p, "base_radius", 0.14, 0.07, 0.22) / 0.14
    out: list[Pts] = []
    if variant == "arc":
        out.append(_line((30 - base, yb), (30 + base, yb)))
        out.append([(30 + 40 * (1 - math.cos(t)), yb - 85 * math.sin(t)) for t in np.linspace(0, math.pi / 2 + 0.5, 12)])
        tip = out[-1][-1]
        out.append(_line((tip[0] - rb * 0.6, tip[1] + 14), (tip[0] - rb * 0.3, tip[1]), (tip[0] + rb * 0.3, tip[1]),
                         (tip[0] + rb * 0.6, tip[1] + 14), (tip[0] - rb * 0.6, tip[1] + 14)))
        return out
    if variant == "desk":
        j0, j1, j2 = (40.0, yb - 4), (28.0, 50.0), (62.0, 22.0)
        out += [_rect(40 - base, yb - 4, 40 + base, yb), _line(j0, j1, j2),
                _line((j2[0] - 4, j2[1] - 6), (j2[0] + 18, j2[1] + 14), (j2[0] + 4, j2[1] + 22), (j2[0] - 4, j2[1] - 6))]
        return out
    top = 8.0
    sh = 22.0
    rt = rb * (0.55 if shade in ("cone", "bell") else 0.95)
    if shade == "dome":
        out.append(_arc(50, top + sh, rb, sh, 180, 360) + [(50 - rb, top + sh)])
    else:
        out.append(_line((50 - rt, top), (50 + rt, top), (50 + rb, top + sh), (50 - rb, top + sh), (50 - rt, top)))
    if variant == "table":
        out.append(_line((50, top + sh), (50, 55)))
        out.append(_arc(50, 74, 13, 20))
    else:
        out.append(_line((50, top + sh), (50, yb)))
        out.append(_line((50 - base, yb), (50 + base, yb)))
    return out


#: class -> icon function ``(params, rng) -> polylines in a 100 x 100 box (y down)``
ICONS: dict[str, Callable[[Mapping[str, Any], np.random.Generator], list[Pts]]] = {
    "airplane": _airplane, "bed": _bed, "bench": _bench, "bottle": _bottle, "car": _car, "chair": _chair,
    "house": _house, "lamp": _lamp, "mug": _mug, "rocket": _rocket, "table": _table, "tree": _tree,
}


def has_icon(cls: str | None) -> bool:
    """Whether :func:`icon_strokes` can draw class ``cls``."""
    return cls in ICONS


def icon_strokes(cls: str, params: Mapping[str, Any] | None, rng: np.random.Generator) -> Strokes:
    """The iconic drawing of a ``cls`` shape with SynthShapes parameters ``params``: strokes in [0, 1]².

    Raises ``KeyError`` for a class without an icon (check :func:`has_icon` first). Missing or odd
    parameters fall back to typical values (each is clipped to the range SynthShapes draws from).
    """
    if cls not in ICONS:
        raise KeyError(f"no iconic drawing for class {cls!r}; classes with one: {', '.join(sorted(ICONS))}")
    lines = ICONS[cls](dict(params or {}), rng)
    return [np.asarray(s, dtype=np.float32) / np.float32(100.0) for s in lines if len(s) >= 2]
