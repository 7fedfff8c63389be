"""Household objects: bottle, mug, vase, lamp, guitar, umbrella.

Most are solids of revolution (:func:`.primitives.lathe`) around the +Y axis, standing on y = 0.
Hollow things (mugs, vases, lamp shades) are lathed from a profile that climbs the outside,
turns over the rim and comes down the inside, so they stay closed surfaces yet read as open.
Sizes in metres; handles point to +X, guitar faces and lamp heads to +Z.
"""

from __future__ import annotations

import numpy as np
import trimesh

from sbsr_lab.data.synthshapes.params import Params, ParamValue
from sbsr_lab.data.synthshapes.primitives import (
    Part, assemble, beam, box, boxes, cylinder, ellipsoid, frustum, lathe, loft, torus, tube,
)

__all__ = ["bottle", "mug", "vase", "lamp", "guitar", "umbrella", "smooth_profile", "hollow_profile"]

Shape = tuple[trimesh.Trimesh, dict[str, ParamValue]]


def smooth_profile(control: list[tuple[float, float]], samples_per_span: int = 3) -> np.ndarray:
    """Radius-over-height curve through control points ``(r, y)`` (y increasing), eased with smoothstep.

    Returns (P, 2) points ``(r, y)``; each span between control points gets ``samples_per_span`` points.
    """
    c = np.asarray(control, float)
    t = np.linspace(0.0, 1.0, samples_per_span, endpoint=False)
    s = t * t * (3 - 2 * t)
    spans = [np.stack([c[i, 0] + (c[i + 1, 0] - c[i, 0]) * s, c[i, 1] + (c[i + 1, 1] - c[i, 1]) * t], -1)
             for i in range(len(c) - 1)]
    return np.concatenate(spans + [c[-1:]])


def hollow_profile(outer: np.ndarray, wall: float, floor: float) -> np.ndarray:
    """Profile of an open vessel: ``outer`` (P, 2) ``(r, y)`` from the base to the rim, then back
    down the inside at ``wall`` thickness to an inner floor at height ``floor`` (ready for lathe)."""
    inner = outer[::-1].copy()
    inner[:, 0] = np.maximum(inner[:, 0] - wall, wall * 0.5)
    inner = inner[inner[:, 1] > floor + 1e-4]
    start = [(0.0, 0.0)]
    end = [(inner[-1, 0], floor), (0.0, floor)]
    return np.concatenate([start, outer, inner, end])


def bottle(rng: np.random.Generator) -> Shape:
    """A bottle: body, shoulder (round, sloped or stepped), neck, lip and optional cap; some square."""
    p = Params(rng)
    variant = p.choice("variant", ["wine", "beer", "water", "spirits"], [0.3, 0.25, 0.25, 0.2])
    h = p.uniform("height", 0.2, 0.34)
    r = p.uniform("body_radius", 0.028, 0.048) * (1.25 if variant == "water" else 1.0)
    rn = r * p.uniform("neck_ratio", 0.28, 0.45)
    body = p.uniform("body_fraction", 0.4, 0.62) if variant != "beer" else p.uniform("body_fraction", 0.35, 0.5)
    shoulder = p.uniform("shoulder_fraction", 0.1, 0.25)
    cap = p.choice("cap", ["none", "screw", "cork"], [0.3, 0.45, 0.25])
    yb, ys = h * body, h * min(body + shoulder, 0.85)
    pts = [(r * 0.92, 0.0), (r, 0.012)]
    if variant == "water":  # ribbed body
        for y in np.linspace(0.03, yb - 0.01, 4):
            pts += [(r, y - 0.008), (r * 0.94, y), (r, y + 0.008)]
    pts.append((r, yb))
    t = np.linspace(0, 1, 6)[1:]
    if variant == "wine":
        rr = rn + (r - rn) * np.cos(t * np.pi / 2)
    elif variant == "beer":
        rr = rn + (r - rn) * (1 - t) ** 1.5
    else:
        rr = rn + (r - rn) * (1 - t ** 0.6)
    pts += list(zip(rr, yb + (ys - yb) * t))
    pts += [(rn, h - 0.012), (rn * 1.18, h - 0.012), (rn * 1.18, h)]
    sections = 4 if variant == "spirits" else 16
    parts: list[Part] = []
    if variant == "spirits":  # square body, round neck
        parts.append(lathe(pts[: 3 + 1], 4, phase=np.pi / 4))
        parts.append(lathe([(r * 0.98, yb - 0.005)] + pts[3:], 16))
    else:
        parts.append(lathe(pts, sections))
    if cap == "screw":
        parts.append(cylinder((0, h - 0.02, 0), (0, h + 0.004, 0), rn * 1.3, 14))
    elif cap == "cork":
        parts.append(cylinder((0, h - 0.01, 0), (0, h + 0.016, 0), rn * 0.95, 12))
    return assemble(parts), p.values


def mug(rng: np.random.Generator) -> Shape:
    """A mug: a hollow cylinder-like vessel (straight, tapered, barrel or conical) with a handle."""
    p = Params(rng)
    variant = p.choice("variant", ["straight", "tapered", "barrel", "conical"], [0.35, 0.25, 0.2, 0.2])
    handle = p.choice("handle", ["loop", "ring", "square", "none"], [0.45, 0.2, 0.2, 0.15])
    r = p.uniform("radius", 0.035, 0.05)
    h = p.uniform("height", 0.075, 0.12)
    wall = p.uniform("wall", 0.0035, 0.007)
    base = p.uniform("bottom_ratio", 0.75, 0.95)
    hs = p.uniform("handle_size", 0.5, 0.8)
    if variant == "straight":
        ctrl = [(r * 0.97, 0.0), (r, 0.006), (r, h)]
    elif variant == "tapered":
        ctrl = [(r * base, 0.0), (r * base + 0.002, 0.006), (r, h)]
    elif variant == "barrel":
        ctrl = [(r * 0.85, 0.0), (r * 1.08, h * 0.5), (r * 0.92, h)]
    else:
        ctrl = [(r * base * 0.8, 0.0), (r * base * 0.85, h * 0.12), (r * 1.15, h)]
    outer = smooth_profile(ctrl, 4)
    parts: list[Part] = [lathe(hollow_profile(outer, wall, max(0.008, wall * 2)), 16)]
    hh = h * hs
    yc = h * 0.52
    x0 = float(np.interp(yc, outer[:, 1], outer[:, 0])) - wall
    ht = p.uniform("handle_thickness", 0.005, 0.009)
    reach = hh * 0.45
    if handle == "loop":
        a = np.linspace(-np.pi / 2, np.pi / 2, 9)
        path = np.stack([x0 + reach * np.cos(a), yc + hh / 2 * np.sin(a), np.zeros_like(a)], -1)
        parts.append(tube(path[::-1], ht, 8, aspect=1.4))
    elif handle == "ring":
        parts.append(torus((x0 + hh * 0.3, yc, 0), hh * 0.32, ht, axis=(0, 0, 1), sections=16, minor_sections=6))
    elif handle == "square":
        path = [(x0, yc + hh / 2, 0), (x0 + reach, yc + hh / 2, 0), (x0 + reach, yc - hh / 2, 0), (x0, yc - hh / 2, 0)]
        parts.append(tube(path, ht, 4, np.pi / 4))
    return assemble(parts), p.values


def vase(rng: np.random.Generator) -> Shape:
    """A vase: an open, hollow vessel (amphora, baluster, cylinder, bowl or bud vase), some with handles."""
    p = Params(rng)
    variant = p.choice("variant", ["baluster", "amphora", "cylinder", "bowl", "bud"], [0.3, 0.2, 0.2, 0.15, 0.15])
    h = p.uniform("height", 0.15, 0.55)
    rb = p.uniform("belly_radius", 0.25, 0.45) * h
    foot = p.uniform("foot_ratio", 0.35, 0.8)
    neck = p.uniform("neck_ratio", 0.3, 0.7)
    flare = p.uniform("mouth_flare", 0.9, 1.5)
    belly_y = p.uniform("belly_height", 0.25, 0.6)
    if variant == "baluster":
        ctrl = [(rb * foot, 0.0), (rb, h * belly_y), (rb * neck, h * 0.82), (rb * neck * flare, h)]
    elif variant == "amphora":
        ctrl = [(rb * foot * 0.5, 0.0), (rb * 0.6, h * 0.12), (rb, h * max(belly_y, 0.5)), (rb * neck * 0.7, h * 0.85),
                (rb * neck * 0.7 * flare, h)]
    elif variant == "cylinder":
        rb *= 0.6
        ctrl = [(rb, 0.0), (rb * (0.9 + 0.2 * neck), h * 0.5), (rb * flare, h)]
    elif variant == "bowl":
        h *= 0.5
        rb *= 2.0
        ctrl = [(rb * foot * 0.5, 0.0), (rb * 0.9, h * 0.5), (rb * (0.8 + 0.2 * flare), h)]
    else:  # bud vase: bottle-like, narrow neck, flared open mouth
        ctrl = [(rb * foot, 0.0), (rb, h * belly_y * 0.6), (rb * 0.22, h * 0.75), (rb * 0.22 * flare * 1.4, h)]
    outer = smooth_profile(ctrl, 4)
    wall = max(0.004, 0.02 * h)
    parts: list[Part] = [lathe(hollow_profile(outer, wall, wall * 2), 16)]
    if variant in ("amphora", "baluster") and p.flag("handles", 0.7 if variant == "amphora" else 0.25):
        y0, y1 = h * 0.85, h * (belly_y + 0.12 if variant == "baluster" else 0.6)
        r0 = float(np.interp(y0, outer[:, 1], outer[:, 0]))
        r1 = float(np.interp(y1, outer[:, 1], outer[:, 0]))
        out = max(r0, r1) + h * 0.12
        for s in (1, -1):
            path = [(s * (r0 - wall), y0, 0), (s * out, y0 + h * 0.04, 0), (s * out, (y0 + y1) / 2, 0), (s * (r1 - wall), y1, 0)]
            parts.append(tube(path, h * 0.018, 6))
    return assemble(parts), p.values


def _shade(kind: str, r_bottom: float, r_top: float, height: float, y0: float, thick: float = 0.006) -> Part:
    """A hollow lamp shade between heights y0 and y0 + height (a closed loop lathed around Y)."""
    t = np.linspace(0, 1, 6)
    if kind == "drum":
        r = np.full_like(t, r_bottom)
    elif kind == "cone":
        r = r_bottom + (r_top - r_bottom) * t
    elif kind == "bell":
        r = r_top + (r_bottom - r_top) * (1 - t) ** 2
    else:  # dome: a quarter circle closing towards the top
        r = r_bottom * np.cos(t * np.pi / 2 * 0.85)
    y = y0 + height * (t if kind != "dome" else np.sin(t * np.pi / 2))
    outer = np.stack([r, y], -1)
    inner = np.stack([np.maximum(r - thick, thick), y], -1)[::-1]
    return lathe(np.concatenate([outer, inner]), 16, closed=True)


def lamp(rng: np.random.Generator, posts: bool = False) -> Shape:
    """A lamp: floor lamp, table lamp, articulated desk lamp or arc lamp, with a drum/cone/bell/dome shade;
    with ``posts`` (the ``real`` shape set) also lamp posts and street lamps (:func:`_lamp_post`), as real
    collections file them under floor lamps. ``posts=False`` draws exactly the shapes it always did."""
    p = Params(rng)
    if posts:
        variant = p.choice("variant", ["floor", "table", "desk", "arc", "post"], [0.24, 0.24, 0.2, 0.12, 0.2])
    else:
        variant = p.choice("variant", ["floor", "table", "desk", "arc"], [0.3, 0.3, 0.25, 0.15])
    if variant == "post":
        return assemble(_lamp_post(p)), p.values
    shade = p.choice("shade", ["drum", "cone", "bell", "dome"], [0.3, 0.3, 0.2, 0.2])
    parts: list[Part] = []
    if variant in ("floor", "table"):
        h = p.uniform("height", 1.3, 1.8) if variant == "floor" else p.uniform("height", 0.45, 0.75)
        s = 1.0 if variant == "floor" else 0.6
        rb = p.uniform("shade_radius", 0.15, 0.25) * s
        rt = rb * p.uniform("shade_top_ratio", 0.5, 0.9)
        sh = p.uniform("shade_height", 0.18, 0.32) * s
        br = p.uniform("base_radius", 0.1, 0.18) * s
        if variant == "floor":
            parts.append(frustum((0, 0, 0), (0, 0.035, 0), br, br * 0.85, 16))
            parts.append(cylinder((0, 0.03, 0), (0, h - sh * 0.3, 0), 0.012, 8))
        else:  # a lathed body: ball, vase or column
            bh = h * 0.45
            body = p.choice("body", ["ball", "vase", "column"])
            if body == "ball":
                parts.append(ellipsoid((0, bh / 2 + 0.02, 0), (br, bh / 2, br)))
                parts.append(cylinder((0, 0, 0), (0, 0.03, 0), br * 0.6, 14))
            elif body == "vase":
                parts.append(lathe(smooth_profile([(br * 0.6, 0), (br, bh * 0.45), (br * 0.35, bh)], 3), 14))
            else:
                parts.append(cylinder((0, 0, 0), (0, 0.025, 0), br, 14))
                parts.append(cylinder((0, 0.02, 0), (0, bh, 0), br * 0.3, 12))
            parts.append(cylinder((0, bh - 0.01, 0), (0, h - sh * 0.3, 0), 0.01, 8))
        parts.append(_shade(shade, rb, rt, sh, h - sh))
        parts.append(ellipsoid((0, h - sh * 0.55, 0), (0.03 * s, 0.04 * s, 0.03 * s), 8, 5))
    elif variant == "desk":
        h = p.uniform("height", 0.4, 0.65)
        a1 = p.uniform("lower_arm_angle", 0.1, 0.5)
        a2 = p.uniform("upper_arm_angle", 0.6, 1.3)
        br = p.uniform("base_radius", 0.07, 0.11)
        rb = p.uniform("shade_radius", 0.06, 0.1)
        base_y = 0.03
        parts.append(cylinder((0, 0, -0.05), (0, base_y, -0.05), br, 16) if p.flag("round_base", 0.6)
                     else box((2 * br, base_y, 2 * br), (0, base_y / 2, -0.05)))
        l1 = h * 0.55
        j0 = np.array([0, base_y, -0.05])
        j1 = j0 + l1 * np.array([0, np.cos(a1), -np.sin(a1)])
        j2 = j1 + h * 0.5 * np.array([0, np.cos(a2), np.sin(a2)])
        parts.append(beam(j0, j1, 0.018, 0.012))
        parts.append(beam(j1, j2, 0.018, 0.012))
        parts.append(ellipsoid(j1, (0.018, 0.018, 0.018), 8, 5))
        head = _shade("cone" if shade in ("drum", "cone") else shade, rb, rb * 0.35, rb * 1.4, 0.0, 0.004)
        tilt = p.uniform("head_tilt", 2.2, 2.8)  # radians from straight up: the head points down and forward
        parts.append(head.rotated(tilt, (1, 0, 0)).translated(j2))
    else:  # arc lamp: a heavy base and a tube arching forwards
        h = p.uniform("height", 1.7, 2.1)
        reach = p.uniform("reach", 0.9, 1.5)
        rb = p.uniform("shade_radius", 0.15, 0.25)
        br = p.uniform("base_radius", 0.15, 0.22)
        parts.append(box((2 * br, 0.06, 2 * br), (0, 0.03, 0)) if p.flag("square_base", 0.5)
                     else cylinder((0, 0, 0), (0, 0.06, 0), br, 16))
        a = np.linspace(0, np.pi * 0.62, 9)
        path = np.stack([np.zeros_like(a), 0.05 + (h - 0.05) * np.sin(np.minimum(a * 1.25, np.pi / 2)) - (h * 0.25) * (a / a[-1]) ** 3,
                         reach * (1 - np.cos(a)) / (1 - np.cos(a[-1]))], -1)
        parts.append(tube(path, 0.014, 8))
        end = path[-1]
        parts.append(_shade("dome", rb, rb, rb * 0.8, 0.0).translated(end - (0, rb * 0.75, 0)))
    return assemble(parts), p.values


def _lamp_post(p: Params) -> list[Part]:
    """A lamp post, 2.4-4 m: a thin pole (radius 1-2 % of the height) on a flared foot or a plinth, topped by
    a lantern (a tapered cage with a cap and finial), a globe, or one or two arms holding the light out
    (a street lamp's flat head or a hanging lantern)."""
    h = p.uniform("height", 2.4, 4.0)
    r = h * p.uniform("pole_ratio", 0.01, 0.02)
    top = p.choice("top", ["lantern", "globe", "arm", "double"], [0.35, 0.2, 0.3, 0.15])
    foot = p.choice("foot", ["flared", "plinth", "none"], [0.45, 0.3, 0.25])
    parts: list[Part] = []
    fh = h * p.uniform("foot_height", 0.06, 0.16)
    if foot == "flared":
        parts.append(frustum((0, 0, 0), (0, fh, 0), r * p.uniform("foot_flare", 2.5, 4.5), r * 1.3, 12))
    elif foot == "plinth":
        w = r * p.uniform("plinth_width", 3.0, 5.0)
        parts.append(box((w, fh, w), (0, fh / 2, 0)))
    pole_top = h if top in ("arm", "double") else h * 0.86
    parts.append(cylinder((0, 0, 0), (0, pole_top, 0), r, 8))

    k = 4 if p.flag("square_lantern", 0.5) else 6

    def lantern(at: np.ndarray, size: float) -> list[Part]:  # a cage widening upwards, a cap and a finial
        return [frustum(at, at + (0, size, 0), size * 0.28, size * 0.42, k),
                frustum(at + (0, size, 0), at + (0, size * 1.35, 0), size * 0.5, 0.0, k),
                ellipsoid(at + (0, size * 1.45, 0), (size * 0.07,) * 3, 6, 4)]

    size = h * p.uniform("light_size", 0.08, 0.14)
    if top == "lantern":
        parts += lantern(np.array([0.0, pole_top, 0.0]), size)
    elif top == "globe":
        parts.append(cylinder((0, pole_top - 0.01, 0), (0, pole_top + size * 0.25, 0), r * 1.6, 8))
        parts.append(ellipsoid((0, pole_top + size * 0.25 + size * 0.5, 0), (size * 0.5,) * 3, 10, 7))
    else:
        reach = h * p.uniform("reach", 0.15, 0.35)
        head = p.choice("head", ["flat", "hanging"], [0.6, 0.4])
        for side in ((1.0,) if top == "arm" else (1.0, -1.0)):
            a = np.linspace(0, 1, 6)
            path = np.stack([side * reach * a, pole_top - h * 0.04 * (1 - a) ** 2 + h * 0.03 * np.sin(a * np.pi), np.zeros_like(a)], -1)
            parts.append(tube(path, r * 0.7, 6))
            end = path[-1]
            if head == "flat":  # a street lamp's head: a long flat box along the arm
                parts.append(box((size * 1.6, size * 0.22, size * 0.7), end + (side * size * 0.5, -size * 0.05, 0)))
            else:
                parts.append(cylinder(end, end - (0, size * 0.3, 0), r * 0.4, 6))
                parts += lantern(end - (0, size * 1.7, 0), size)
    return parts


def guitar(rng: np.random.Generator) -> Shape:
    """A guitar standing on its end, face to +Z: lofted body with a waist, neck, headstock, tuners."""
    p = Params(rng)
    variant = p.choice("variant", ["acoustic", "classical", "electric", "bass"], [0.35, 0.2, 0.3, 0.15])
    solid = variant in ("electric", "bass")
    lb = p.uniform("body_length", 0.40, 0.45) if solid else p.uniform("body_length", 0.46, 0.52)
    rl = p.uniform("lower_bout", 0.16, 0.21)
    ru = rl * p.uniform("upper_ratio", 0.62, 0.82)
    waist = min(ru, rl) * p.uniform("waist_ratio", 0.7, 0.9)
    th = p.uniform("thickness", 0.035, 0.05) if solid else p.uniform("thickness", 0.08, 0.12)
    neck_len = p.uniform("neck_length", 0.42, 0.52) * (1.45 if variant == "bass" else 1.0)
    ctrl = [(rl * 0.45, 0.0), (rl * 0.92, lb * 0.08), (rl, lb * 0.28), (waist, lb * 0.58), (ru, lb * 0.78),
            (ru * 0.75, lb * 0.95), (ru * 0.25, lb)]
    prof = smooth_profile(ctrl, 3)
    k = 14
    ang = np.linspace(0, 2 * np.pi, k, endpoint=False)
    cx, sz = np.cos(ang), np.sin(ang)
    ex = np.sign(cx) * np.abs(cx) ** 0.5
    ez = np.sign(sz) * np.abs(sz) ** 0.5
    rings = np.stack([prof[:, :1] * ex, np.repeat(prof[:, 1:], k, 1), (th / 2) * np.repeat(ez[None], len(prof), 0)], -1)
    parts: list[Part] = [loft(rings)]
    zf = th / 2
    if solid:  # cutaway horns, pickups, bridge, knobs
        for s, hl in ((1, 0.16), (-1, 0.11)):
            base = np.array([s * ru * 0.55, lb * 0.8, 0.0])
            parts.append(tube([base, base + (s * 0.02, hl * 0.6, 0), base + (s * 0.005, hl, 0)],
                              [0.045, 0.035, 0.015], 8, aspect=th / 0.09))
        n_pick = p.integer("pickups", 1, 3)
        ys = lb * (0.22 + 0.16 * np.arange(n_pick))
        parts.append(boxes(np.tile([0.075, 0.025, 0.01], (n_pick, 1)), np.stack([np.zeros(n_pick), ys, np.full(n_pick, zf)], -1)))
        parts.append(boxes([[0.015, 0.015, 0.015]] * 2, [[rl * 0.55, lb * 0.15, zf], [rl * 0.45, lb * 0.08, zf]]))
    else:  # sound hole rosette and bridge
        parts.append(torus((0, lb * 0.64, zf), 0.045, 0.006, axis=(0, 0, 1), sections=16, minor_sections=6))
        parts.append(cylinder((0, lb * 0.64, zf - 0.004), (0, lb * 0.64, zf + 0.002), 0.04, 16))
    parts.append(box((0.16, 0.03, 0.012), (0, lb * 0.22, zf + 0.004)))
    nw = 0.05 if variant != "classical" else 0.056
    y0 = lb * 0.9
    y1 = lb + neck_len
    parts.append(box((nw, y1 - y0, 0.03), (0, (y0 + y1) / 2, zf - 0.01)))
    hl = p.uniform("headstock_length", 0.15, 0.21)
    head = box((nw * 1.6, hl, 0.018), (0, y1 + hl / 2, zf - 0.012))
    parts.append(head.rotated(-0.25 if not solid else -0.05, (1, 0, 0), (0, y1, zf - 0.012)))
    n_tun = 4 if variant == "bass" else 6
    per_side = n_tun // 2
    ty = y1 + hl * (0.25 + 0.55 * np.arange(per_side) / max(per_side - 1, 1))
    tz = zf - 0.012 - (ty - y1) * np.tan(0.25 if not solid else 0.05)
    xs = np.concatenate([np.full(per_side, nw * 0.8 + 0.012), np.full(per_side, -nw * 0.8 - 0.012)])
    parts.append(boxes(np.tile([0.03, 0.012, 0.012], (n_tun, 1)), np.stack([xs, np.tile(ty, 2), np.tile(tz, 2)], -1)))
    return assemble(parts), p.values


def umbrella(rng: np.random.Generator) -> Shape:
    """An open umbrella: a ribbed canopy (dome, cone or two-tier pagoda) on a shaft with a hook,
    a straight grip, or a patio stand."""
    p = Params(rng)
    variant = p.choice("variant", ["hook", "straight", "patio"], [0.45, 0.25, 0.3])
    canopy = p.choice("canopy", ["dome", "cone", "pagoda"], [0.5, 0.3, 0.2])
    ribs = p.choice("ribs", [6, 8, 10])
    if variant == "patio":
        r = p.uniform("canopy_radius", 1.0, 1.5)
        h = p.uniform("height", 2.1, 2.6)
    else:
        r = p.uniform("canopy_radius", 0.45, 0.6)
        h = p.uniform("height", 0.8, 1.0)
    depth = r * p.uniform("canopy_depth", 0.3, 0.6) * (0.6 if canopy == "cone" else 1.0)
    sr = p.uniform("shaft_radius", 0.006, 0.011) * (2.5 if variant == "patio" else 1.0)
    apex = h - 0.04 * (r / 0.5)
    t = np.linspace(0.04, 1.0, 7)
    if canopy == "cone":
        rr, yy = r * t, apex - depth * t
    else:
        phi = t * np.pi / 2 * 0.95
        rr, yy = r * np.sin(phi) / np.sin(np.pi / 2 * 0.95), apex - depth * (1 - np.cos(phi)) / (1 - np.cos(np.pi / 2 * 0.95))
    thick = 0.008 * r / 0.5
    outer = np.stack([rr, yy], -1)
    inner = np.stack([rr * 0.98, yy - thick], -1)[::-1]
    parts: list[Part] = [lathe(np.concatenate([outer, inner]), ribs, closed=True)]
    if canopy == "pagoda":  # a vent tier above the canopy
        rv = r * 0.3
        prof = np.array([(rv * 0.05, apex + depth * 0.25), (rv, apex - depth * 0.05), (rv * 0.97, apex - depth * 0.05 - thick)])
        parts.append(lathe(np.concatenate([prof, [(rv * 0.05, apex + depth * 0.25 - thick)]]), ribs, closed=True))
    rim_a = 2 * np.pi * np.arange(ribs) / ribs
    parts.append(boxes(np.tile([0.02 * r / 0.5, 0.03 * r / 0.5, 0.02 * r / 0.5], (ribs, 1)),
                       np.stack([r * np.cos(rim_a), np.full(ribs, yy[-1] - 0.01), r * np.sin(rim_a)], -1)))
    top = apex + 0.04 * (r / 0.5) + (depth * 0.25 if canopy == "pagoda" else 0)
    parts.append(frustum((0, top - 0.02, 0), (0, top + 0.05 * r / 0.5, 0), sr * 1.4, 0.0, 8))
    if variant == "hook":
        hr = p.uniform("hook_radius", 0.04, 0.06)
        a = np.linspace(0, np.pi, 8)
        hook = np.stack([hr - hr * np.cos(a), hr - hr * np.sin(a) + 0.02, np.zeros_like(a)], -1)
        grip_top = 0.02 + hr + 0.1
        parts.append(tube(np.concatenate([[[0, grip_top, 0]], hook]), sr * 1.6, 8))
        parts.append(cylinder((0, grip_top - 0.02, 0), (0, top, 0), sr, 8))
    elif variant == "straight":
        gl = p.uniform("grip_length", 0.1, 0.16)
        parts.append(frustum((0, 0, 0), (0, gl, 0), sr * 2.6, sr * 2.0, 10))
        parts.append(cylinder((0, gl - 0.01, 0), (0, top, 0), sr, 8))
    else:
        br = p.uniform("base_radius", 0.25, 0.4)
        parts.append(frustum((0, 0, 0), (0, 0.08, 0), br, br * 0.8, 16))
        parts.append(cylinder((0, 0.07, 0), (0, top, 0), sr, 10))
    return assemble(parts), p.values
