"""Seating: chair, stool, sofa, bench.

Front faces +Z (where a person sits down), backs are at -Z, widths run along X, +Y is up, metres.
Chairs and stools share legs and pedestals on purpose: they are near neighbours for retrieval;
so are sofas and benches (and beds, in :mod:`.furniture`).
"""

from __future__ import annotations

import numpy as np
import trimesh

from sbsr_lab.data.synthshapes.params import Params, ParamValue
from sbsr_lab.data.synthshapes.primitives import (
    Part, assemble, beam, box, boxes, cylinder, ellipsoid, frustum, torus, tube,
)

__all__ = ["chair", "stool", "sofa", "bench", "legs", "star_base"]

Shape = tuple[trimesh.Trimesh, dict[str, ParamValue]]


def legs(feet_xz: np.ndarray, y_top: float, thickness: float, splay: float = 0.0,
         round_: bool = False, taper: float = 1.0) -> list[Part]:
    """Legs from ``y_top`` down to the floor at (N, 2) positions ``feet_xz`` (x, z of the leg tops).

    ``splay`` (m) moves each foot outwards from the centre; ``taper`` is the foot/top thickness ratio.
    Round legs are 10-sided cylinders, square legs 4-sided frusta aligned with the axes.
    """
    out = []
    for x, z in np.asarray(feet_xz, float):
        n = np.hypot(x, z)
        dx, dz = (splay * x / n, splay * z / n) if n > 1e-9 else (0.0, 0.0)
        if round_:
            out.append(frustum((x, y_top, z), (x + dx, 0.0, z + dz), thickness / 2, thickness / 2 * taper, 10))
        else:
            r = thickness / np.sqrt(2.0)
            out.append(frustum((x, y_top, z), (x + dx, 0.0, z + dz), r, r * taper, 4, phase=np.pi / 4))
    return out


def star_base(y_top: float, radius: float, spokes: int = 5, column_radius: float = 0.03) -> list[Part]:
    """Office-chair pedestal: a column from ``y_top`` down to a hub, ``spokes`` arms and castors."""
    hub_y = 0.09
    parts = [cylinder((0, hub_y, 0), (0, y_top, 0), column_radius, 12),
             cylinder((0, hub_y - 0.03, 0), (0, hub_y + 0.04, 0), column_radius * 1.6, 12)]
    for k in range(spokes):
        a = 2 * np.pi * k / spokes + np.pi / 2
        end = np.array([radius * np.cos(a), 0.06, radius * np.sin(a)])
        parts.append(beam((0, hub_y, 0), end, 0.04, 0.03, up=(0, 1, 0)))
        parts.append(ellipsoid(end - (0, 0.03, 0), (0.028, 0.03, 0.028), 8, 5))
    return parts


def chair(rng: np.random.Generator) -> Shape:
    """A chair: seat, backrest, four/three legs, a pedestal or sled runners, optional arms."""
    p = Params(rng)
    variant = p.choice("variant", ["four_legs", "pedestal", "sled", "three_legs"], [0.5, 0.22, 0.16, 0.12])
    back = p.choice("back", ["solid", "vertical_slats", "horizontal_rails", "splat"])
    arms = p.flag("arms", 0.6 if variant == "pedestal" else 0.3)
    w = p.uniform("seat_width", 0.40, 0.58)
    d = p.uniform("seat_depth", 0.38, 0.52)
    h = p.uniform("seat_height", 0.40, 0.50)
    t = p.uniform("seat_thickness", 0.03, 0.08)
    bh = p.uniform("back_height", 0.32, 0.65)
    tilt = p.uniform("back_tilt", 0.0, 0.30)
    lt = p.uniform("leg_thickness", 0.025, 0.05)
    splay = p.uniform("leg_splay", 0.0, 0.06)
    round_legs = p.flag("round_legs", 0.4)

    parts: list[Part] = [box((w, t, d), (0, h - t / 2, 0))]
    y_under = h - t
    ix, iz = w / 2 - lt / 2 - 0.01, d / 2 - lt / 2 - 0.01
    if variant == "four_legs":
        feet = np.array([[ix, iz], [-ix, iz], [ix, -iz], [-ix, -iz]])
        parts += legs(feet, y_under, lt, splay, round_legs)
        if p.flag("stretchers", 0.4):
            ys = 0.15
            for sx in (ix, -ix):
                parts.append(beam((sx, ys, iz), (sx, ys, -iz), lt * 0.6))
    elif variant == "three_legs":
        feet = np.array([[ix, iz], [-ix, iz], [0.0, -iz]])
        parts += legs(feet, y_under, lt, splay, round_legs)
    elif variant == "pedestal":
        parts += star_base(y_under, p.uniform("base_radius", 0.26, 0.34))
    else:  # sled: two U-shaped runners
        r = lt / 2
        for sx in (ix, -ix):
            path = [(sx, y_under, iz), (sx, r, iz + 0.04), (sx, r, -iz - 0.04), (sx, y_under, -iz)]
            parts.append(tube(path, r, 8))

    bt = min(0.05, max(0.025, t * 0.7))
    back_parts: list[Part] = []
    zb = -d / 2 + bt / 2
    post = max(lt * 0.9, 0.025)
    xp = w / 2 - post / 2
    if back == "solid":
        back_parts.append(box((w * 0.98, bh, bt), (0, h + bh / 2, zb)))
    else:
        back_parts += [beam((s * xp, h - t, zb), (s * xp, h + bh, zb), post, bt) for s in (1, -1)]
        rail = 0.05 + 0.05 * (back == "splat")
        back_parts.append(box((w, rail, bt), (0, h + bh - rail / 2, zb)))
        inner_w = w - 2 * post
        if back == "vertical_slats":
            n = p.integer("slats", 2, 5)
            xs = (np.arange(n) - (n - 1) / 2) * inner_w / n
            sh = bh - rail
            back_parts.append(boxes(np.tile([inner_w / n * 0.45, sh, bt * 0.6], (n, 1)),
                                    np.stack([xs, np.full(n, h + sh / 2), np.full(n, zb)], -1)))
        elif back == "horizontal_rails":
            n = p.integer("slats", 2, 4)
            ys = h + (np.arange(n) + 0.6) * (bh - rail) / (n + 0.4)
            back_parts.append(boxes(np.tile([inner_w, 0.035, bt * 0.6], (n, 1)),
                                    np.stack([np.zeros(n), ys, np.full(n, zb)], -1)))
        else:  # a central splat
            sw = inner_w * 0.45
            back_parts.append(box((sw, bh - rail, bt * 0.7), (0, h + (bh - rail) / 2, zb)))
    parts += [bp.rotated(-tilt, (1, 0, 0), (0, h, -d / 2)) for bp in back_parts]

    if arms:
        ah = p.uniform("arm_height", 0.17, 0.26)
        for s in (1, -1):
            x = s * (w / 2 + 0.02)
            parts.append(box((0.05, 0.03, d * 0.85), (x, h + ah, -d * 0.05)))
            parts.append(beam((x, h - t, d * 0.33), (x, h + ah, d * 0.3), 0.03))
    return assemble(parts), p.values


def stool(rng: np.random.Generator) -> Shape:
    """A stool: a round or square seat on three/four splayed legs or a pedestal, optional footrest."""
    p = Params(rng)
    variant = p.choice("variant", ["four_legs", "three_legs", "pedestal"], [0.45, 0.3, 0.25])
    seat = p.choice("seat", ["round", "square"], [0.65, 0.35])
    h = p.uniform("seat_height", 0.42, 0.80)
    r = p.uniform("seat_radius", 0.15, 0.22)
    t = p.uniform("seat_thickness", 0.03, 0.07)
    lt = p.uniform("leg_thickness", 0.022, 0.045)
    splay = p.uniform("leg_splay", 0.02, 0.12)
    parts: list[Part] = []
    if seat == "round":
        parts.append(cylinder((0, h - t, 0), (0, h, 0), r, 16))
    else:
        parts.append(box((2 * r * 0.9, t, 2 * r * 0.9), (0, h - t / 2, 0)))
    y_under = h - t
    if h > 0.6 and p.flag("backrest", 0.3):  # a bar stool's low back: the stool's nearest chair-like form
        bh = p.uniform("back_height", 0.15, 0.28)
        zb = -r * 0.85
        for s in (1, -1):
            parts.append(beam((s * r * 0.5, h - t, zb), (s * r * 0.5, h + bh, zb - 0.03), 0.022))
        parts.append(box((r * 1.5, 0.07, 0.025), (0, h + bh - 0.035, zb - 0.03)))
    if variant == "pedestal":
        cr = p.uniform("column_radius", 0.025, 0.05)
        parts.append(cylinder((0, 0.03, 0), (0, y_under, 0), cr, 12))
        parts.append(frustum((0, 0, 0), (0, 0.04, 0), r * 1.05, r * 0.8, 16))
        if h > 0.6:
            parts.append(torus((0, h * 0.35, 0), r * 0.7, 0.012, sections=16, minor_sections=6))
        p.record("footrest", "ring" if h > 0.6 else "none")
        return assemble(parts), p.values
    n = 4 if variant == "four_legs" else 3
    a = np.pi / 4 + 2 * np.pi * np.arange(n) / n if n == 4 else np.pi / 2 + 2 * np.pi * np.arange(n) / n
    rr = r * 0.72
    feet = np.stack([rr * np.cos(a), rr * np.sin(a)], -1)
    parts += legs(feet, y_under, lt, splay, p.flag("round_legs", 0.6))
    foot = p.choice("footrest", ["none", "ring", "rungs"], [0.3, 0.35, 0.35])
    yf = h * p.uniform("footrest_height", 0.25, 0.4)
    f = 1.0 - yf / y_under  # fraction of the splay reached at the footrest height
    if foot == "ring":
        parts.append(torus((0, yf, 0), rr + splay * f, 0.011, sections=16, minor_sections=6))
    elif foot == "rungs":
        pts = feet + splay * f * feet / np.linalg.norm(feet, axis=1, keepdims=True)
        for i in range(n):
            q0, q1 = pts[i], pts[(i + 1) % n]
            parts.append(beam((q0[0], yf, q0[1]), (q1[0], yf, q1[1]), lt * 0.6))
    return assemble(parts), p.values


def sofa(rng: np.random.Generator) -> Shape:
    """A sofa: upholstered base, seat and back cushions, arms (box, rolled or none), legs or a skirt."""
    p = Params(rng)
    variant = p.choice("variant", ["straight", "chaise", "loveseat"], [0.5, 0.25, 0.25])
    arm = p.choice("arms", ["box", "rolled", "none"], [0.45, 0.4, 0.15])
    base = p.choice("base", ["legs", "skirt"], [0.6, 0.4])
    w = p.uniform("width", 1.2, 1.6) if variant == "loveseat" else p.uniform("width", 1.8, 2.6)
    d = p.uniform("depth", 0.8, 1.0)
    sh = p.uniform("seat_height", 0.38, 0.48)
    bh = p.uniform("back_height", 0.72, 1.0)
    ah = p.uniform("arm_height", 0.52, 0.68)
    aw = p.uniform("arm_width", 0.10, 0.28) if arm != "none" else 0.0
    bt = p.uniform("back_thickness", 0.15, 0.26)
    n = p.integer("cushions", 1, 2 if variant == "loveseat" else 3)
    lh = p.uniform("leg_height", 0.06, 0.16) if base == "legs" else 0.0
    ct = 0.12
    y0 = lh
    parts: list[Part] = [box((w - 2 * aw + 0.02, sh - ct - y0, d), (0, (y0 + sh - ct) / 2, 0))]
    parts.append(box((w - 2 * aw + 0.02, bh - y0, bt), (0, (y0 + bh) / 2, -d / 2 + bt / 2)))
    inner = w - 2 * aw
    cw = inner / n
    xs = -inner / 2 + cw * (np.arange(n) + 0.5)
    cd = d - bt
    parts.append(boxes(np.tile([cw - 0.02, ct, cd], (n, 1)),
                       np.stack([xs, np.full(n, sh - ct / 2), np.full(n, -d / 2 + bt + cd / 2)], -1)))
    bc_h = (bh - sh) * 0.8
    for x in xs:
        cushion = box((cw - 0.03, bc_h, 0.14), (x, sh + bc_h / 2, -d / 2 + bt + 0.07))
        parts.append(cushion.rotated(-0.15, (1, 0, 0), (x, sh, -d / 2 + bt)))
    if variant == "chaise":
        side = p.choice("chaise_side", [1, -1])
        ext = p.uniform("chaise_length", 0.5, 0.8)
        cx = side * (inner / 2 - cw / 2)
        parts.append(box((cw, sh - ct - y0, ext), (cx, (y0 + sh - ct) / 2, d / 2 + ext / 2 - 0.01)))
        parts.append(box((cw - 0.02, ct, ext), (cx, sh - ct / 2, d / 2 + ext / 2 - 0.01)))
        if base == "legs":
            parts += legs(np.array([[cx + cw / 2 - 0.05, d / 2 + ext - 0.06], [cx - cw / 2 + 0.05, d / 2 + ext - 0.06]]),
                          y0, 0.05, round_=True)
    if arm != "none":
        for s in (1, -1):
            x = s * (w / 2 - aw / 2)
            if arm == "box":
                parts.append(box((aw, ah - y0, d), (x, (y0 + ah) / 2, 0)))
            else:
                rr = aw * 0.65
                parts.append(box((aw, ah - rr - y0, d), (x, (y0 + ah - rr) / 2, 0)))
                parts.append(cylinder((x, ah - rr, -d / 2), (x, ah - rr, d / 2), rr, 12))
    if base == "legs":
        fx, fz = w / 2 - 0.06, d / 2 - 0.06
        parts += legs(np.array([[fx, fz], [-fx, fz], [fx, -fz], [-fx, -fz]]), y0, 0.05,
                      round_=True, taper=0.7)
    return assemble(parts), p.values


def bench(rng: np.random.Generator) -> Shape:
    """A bench: park bench (slats, backrest, side frames), backless plank bench or slab bench."""
    p = Params(rng)
    variant = p.choice("variant", ["park", "backless", "slab"], [0.5, 0.3, 0.2])
    length = p.uniform("length", 1.0, 2.2)
    d = p.uniform("seat_depth", 0.30, 0.50)
    h = p.uniform("seat_height", 0.40, 0.48)
    st = p.uniform("seat_thickness", 0.03, 0.08)
    lt = p.uniform("leg_thickness", 0.04, 0.08)
    parts: list[Part] = []
    if variant == "slab":
        st = st * 2
        parts.append(box((length, st, d), (0, h - st / 2, 0)))
        inset = p.uniform("leg_inset", 0.05, 0.25)
        for s in (1, -1):
            parts.append(box((lt * 1.5, h - st, d * 0.9), (s * (length / 2 - inset), (h - st) / 2, 0)))
        return assemble(parts), p.values
    n = p.integer("slats", 1 if variant == "backless" else 3, 6)
    gap = 0.015
    sw = (d - gap * (n - 1)) / n
    zs = -d / 2 + sw / 2 + np.arange(n) * (sw + gap)
    parts.append(boxes(np.tile([length, st, sw], (n, 1)),
                       np.stack([np.zeros(n), np.full(n, h - st / 2), zs], -1)))
    y_under = h - st
    frames = 2 if length < 1.7 else 3
    xs = np.linspace(-(length / 2 - 0.12), length / 2 - 0.12, frames)
    if variant == "backless":
        for x in xs[[0, -1]]:
            parts += legs(np.array([[x, d / 2 - lt], [x, -d / 2 + lt]]), y_under, lt, 0.0)
            parts.append(beam((x, y_under - 0.04, d / 2), (x, y_under - 0.04, -d / 2), lt, 0.06, up=(0, 1, 0)))
        parts.append(beam((xs[0], 0.15, 0), (xs[-1], 0.15, 0), lt * 0.7))
        return assemble(parts), p.values
    bh = p.uniform("back_height", 0.30, 0.48)
    tilt = p.uniform("back_tilt", 0.05, 0.3)
    armrests = p.flag("armrests", 0.5)
    top = np.array([0.0, h + bh, -d / 2 - bh * np.sin(tilt)])
    for x in xs:
        parts.append(beam((x, 0, d / 2 - 0.03), (x, y_under, d / 2 - 0.05), lt, lt * 0.6))
        parts.append(tube([(x, 0, -d / 2 + 0.04), (x, y_under, -d / 2 + 0.02), (x, top[1], top[2])],
                          lt / np.sqrt(2), 4, np.pi / 4))
        parts.append(beam((x, y_under - 0.025, d / 2), (x, y_under - 0.025, -d / 2), 0.03, 0.05, up=(0, 1, 0)))
    nb = p.integer("back_slats", 2, 4)
    frac = (np.arange(nb) + 0.7) / (nb + 0.2)
    ys = h + 0.05 + frac * (bh - 0.08)
    zs_b = -d / 2 - (ys - h) * np.tan(tilt) - 0.01
    slat_h = (bh - 0.05) / nb * 0.7
    for y, z in zip(ys, zs_b):
        parts.append(box((length, slat_h, 0.025), (0, y, z)).rotated(-tilt, (1, 0, 0), (0, y, z)))
    if armrests:
        for x in xs[[0, -1]]:
            ya = h + 0.22
            parts.append(tube([(x, ya, -d / 2 - 0.22 * np.tan(tilt)), (x, ya, d / 2 - 0.02), (x, y_under, d / 2 - 0.04)],
                              0.022, 6))
    return assemble(parts), p.values
