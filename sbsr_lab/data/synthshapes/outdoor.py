"""Outdoor shapes: house and tree. +Y up, metres; a house's front door faces +Z."""

from __future__ import annotations

import numpy as np
import trimesh

from sbsr_lab.data.synthshapes.params import Params, ParamValue
from sbsr_lab.data.synthshapes.primitives import (
    Part, assemble, beam, box, boxes, cylinder, ellipsoid, frustum, hull, prism, tube,
)

__all__ = ["house", "tree", "roof"]

Shape = tuple[trimesh.Trimesh, dict[str, ParamValue]]


def roof(kind: str, w: float, d: float, y: float, pitch: float, overhang: float, ridge: str = "x") -> Part:
    """A roof over a w (X) x d (Z) footprint whose eaves sit at height ``y``.

    ``kind``: ``gable`` (ridge along ``ridge``), ``hip`` (four slopes), ``shed`` (one slope rising to
    the back) or ``flat`` (a slab). ``pitch`` in radians.
    """
    ww, dd = w / 2 + overhang, d / 2 + overhang
    if kind == "flat":
        return box((2 * ww, 0.3, 2 * dd), (0, y + 0.15, 0))
    if kind == "shed":
        rise = 2 * dd * np.tan(pitch) * 0.5
        return prism([(dd, y), (dd, y + 0.25), (-dd, y + 0.25 + rise), (-dd, y)], 2 * ww, axis="x")
    if ridge == "z":  # swap axes: build along x, then rotate a quarter turn
        return roof(kind, d, w, y, pitch, overhang, "x").rotated(np.pi / 2, (0, 1, 0))
    rise = dd * np.tan(pitch)
    if kind == "gable":
        return prism([(dd, y), (0.0, y + rise), (-dd, y)], 2 * ww, axis="x")
    half_ridge = max(ww - dd, 0.1 * ww)
    pts = [(sx * ww, y, sz * dd) for sx in (1, -1) for sz in (1, -1)]
    pts += [(half_ridge, y + rise, 0.0), (-half_ridge, y + rise, 0.0)]
    return hull(pts)


def house(rng: np.random.Generator) -> Shape:
    """A house: walls, a gable/hip/shed/flat roof, door, windows; optional chimney, porch and garage."""
    p = Params(rng)
    variant = p.choice("variant", ["gable", "hip", "shed", "flat"], [0.45, 0.25, 0.12, 0.18])
    storeys = p.integer("storeys", 1, 2)
    ridge = p.choice("ridge", ["x", "z"], [0.65, 0.35])
    w = p.uniform("width", 6.0, 12.0)
    d = p.uniform("depth", 5.0, 10.0)
    sh = p.uniform("storey_height", 2.5, 3.2)
    pitch = p.uniform("roof_pitch", 0.35, 0.8)
    overhang = p.uniform("overhang", 0.2, 0.6)
    win = p.uniform("window_size", 0.8, 1.4)
    hw = storeys * sh
    parts: list[Part] = [box((w + 0.2, 0.4, d + 0.2), (0, 0.2, 0)), box((w, hw, d), (0, hw / 2, 0))]
    parts.append(roof(variant, w, d, hw, pitch, overhang, ridge))
    # windows and a door, slightly proud of the walls
    sizes, centres = [], []
    door_x = p.uniform("door_offset", -0.3, 0.3) * w
    sizes.append([1.0, 2.1, 0.12])
    centres.append([door_x, 0.4 + 1.05, d / 2])
    for s in range(storeys):
        yc = s * sh + 0.4 + sh * 0.5
        n = max(2, int(w / 2.6))
        for x in -w / 2 + (np.arange(n) + 0.5) * w / n:
            if s == 0 and abs(x - door_x) < win / 2 + 0.8:
                continue
            sizes.append([win, win * 1.1, 0.12])
            centres.append([x, yc, d / 2])
        m = max(1, int(d / 3.5))
        for z in -d / 2 + (np.arange(m) + 0.5) * d / m:
            for sx in (1, -1):
                sizes.append([0.12, win * 1.1, win])
                centres.append([sx * w / 2, yc, z])
    parts.append(boxes(sizes, centres))
    if variant != "flat" and p.flag("chimney", 0.55):
        cw = p.uniform("chimney_size", 0.5, 0.9)
        cx = w * 0.28 * p.choice("chimney_side", [1, -1])
        top = hw + (min(w, d) / 2 + overhang) * np.tan(pitch) + 0.8
        parts.append(box((cw, top - hw + 0.5, cw), (cx, (top + hw - 0.5) / 2, -d * 0.1)))
    if p.flag("porch", 0.35):
        pd = 1.6
        parts.append(box((2.6, 0.15, pd), (door_x, 0.4 + 2.6, d / 2 + pd / 2)))
        for sx in (1, -1):
            parts.append(beam((door_x + sx * 1.15, 0.3, d / 2 + pd - 0.15), (door_x + sx * 1.15, 0.4 + 2.55, d / 2 + pd - 0.15), 0.15))
        parts.append(box((2.6, 0.2, pd), (door_x, 0.3, d / 2 + pd / 2)))
    if p.flag("garage", 0.3):
        gw = p.uniform("garage_width", 3.0, 4.0)
        gd = d * 0.8
        side = 1 if door_x < 0 else -1
        gx = side * (w / 2 + gw / 2)
        parts.append(box((gw, 2.7, gd), (gx, 1.35, d / 2 - gd / 2)))
        parts.append(roof("flat" if variant == "flat" else "gable", gw, gd, 2.7, pitch * 0.8, 0.2, "z")
                     .translated((gx, 0, d / 2 - gd / 2)))
        parts.append(box((gw * 0.8, 2.2, 0.1), (gx, 1.1, d / 2)))
    return assemble(parts), p.values


def tree(rng: np.random.Generator) -> Shape:
    """A tree: conifer (stacked cones), broadleaf (clustered spheres, straight/leaning/forked trunk) or palm."""
    p = Params(rng)
    variant = p.choice("variant", ["conifer", "broadleaf", "palm"], [0.4, 0.45, 0.15])
    h = p.uniform("height", 3.0, 14.0)
    cw = p.uniform("crown_ratio", 0.35, 0.9)   # crown radius / height
    tr = h * p.uniform("trunk_ratio", 0.025, 0.06)
    bare = p.uniform("bare_trunk", 0.12, 0.45)  # fraction of the height below the crown
    lean = p.uniform("lean", 0.0, 0.25)
    parts: list[Part] = []
    if variant == "conifer":
        n = p.integer("tiers", 2, 6)
        y0 = h * bare * 0.6
        cr = h * cw * 0.45
        parts.append(cylinder((0, 0, 0), (0, y0 + 0.3 * (h - y0), 0), tr, 10))
        step = (h - y0) / (n + 1)
        for i in range(n):
            yb = y0 + i * step
            r = cr * (1 - 0.75 * i / n)
            parts.append(frustum((0, yb, 0), (0, min(h, yb + 2.2 * step), 0), r, 0.0, 12))
        p.record("trunk", "straight")
        return assemble(parts), p.values
    if variant == "palm":
        ht = h * 0.92
        bend = h * lean * 0.8 + 0.4
        t = np.linspace(0, 1, 7)
        path = np.stack([bend * t ** 2, ht * t, np.zeros_like(t)], -1)
        parts.append(tube(path, tr * (1.3 - 0.5 * t), 8))
        top = path[-1]
        nf = p.integer("fronds", 5, 9)
        fl = h * cw * 0.5
        for k in range(nf):
            a = 2 * np.pi * k / nf + rng.uniform(-0.2, 0.2)
            d = np.array([np.cos(a), 0.0, np.sin(a)])
            s = np.linspace(0, 1, 5)
            pts = top + fl * (s[:, None] * d) + np.outer(fl * (0.35 * s - 0.75 * s ** 2), [0, 1, 0])
            parts.append(tube(pts, fl * np.array([0.06, 0.12, 0.11, 0.07, 0.02]), 6, aspect=0.2, normal=np.cross(d, [0, 1, 0])))
        parts.append(ellipsoid(top - (0, 0.15, 0), (tr * 1.6, tr * 1.6, tr * 1.6), 8, 5))
        p.record("trunk", "curved")
        return assemble(parts), p.values
    trunk = p.choice("trunk", ["straight", "leaning", "forked"], [0.45, 0.25, 0.3])
    cr = h * cw * 0.5
    centre = np.array([0.0, h - cr * 0.9, 0.0])
    if trunk == "leaning":
        centre[0] = h * lean
    fork_y = h * bare
    if trunk == "forked":
        parts.append(tube([(0, 0, 0), (0, fork_y, 0)], [tr * 1.15, tr], 8))
        for k in range(p.integer("branches", 2, 3)):
            a = 2 * np.pi * k / 3 + rng.uniform(-0.3, 0.3)
            tip = centre + cr * 0.55 * np.array([np.cos(a), 0.2, np.sin(a)])
            parts.append(tube([(0, fork_y * 0.97, 0), tip], [tr * 0.75, tr * 0.45], 8))
    else:
        parts.append(tube([(0, 0, 0), (centre[0] * 0.5, fork_y, 0), centre * [1, 0.9, 1]], [tr * 1.2, tr, tr * 0.7], 8))
    n = p.integer("blobs", 3, 9)
    parts.append(ellipsoid(centre, (cr * 0.75, cr * 0.7, cr * 0.75), 12, 7))
    for _ in range(n):
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        u[1] = abs(u[1]) * 0.6 - 0.1
        rb = cr * rng.uniform(0.4, 0.62)
        parts.append(ellipsoid(centre + u * (cr - rb) * np.array([1.0, 0.8, 1.0]), (rb, rb * 0.9, rb), 10, 6))
    return assemble(parts), p.values
