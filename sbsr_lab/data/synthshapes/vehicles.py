"""Vehicles: airplane, car, rocket, boat. Noses and bows point to +Z, +Y is up, metres.

Bodies are lofted through cross-section rings (:func:`.primitives.loft`), so fuselages, car bodies
and hulls stay single closed surfaces with smooth silhouettes.
"""

from __future__ import annotations

import numpy as np
import trimesh

from sbsr_lab.data.synthshapes.params import Params, ParamValue
from sbsr_lab.data.synthshapes.primitives import (
    Part, assemble, beam, box, boxes, cylinder, frustum, hull, lathe, loft, prism,
)

__all__ = ["airplane", "car", "rocket", "boat"]

Shape = tuple[trimesh.Trimesh, dict[str, ParamValue]]


def _circle_rings(z: np.ndarray, y: np.ndarray, r: np.ndarray, k: int = 12, aspect: float = 1.0) -> np.ndarray:
    """Rings (M, k, 3) of circles of radius ``r`` centred at (0, y, z), in planes of constant z."""
    a = np.linspace(0, 2 * np.pi, k, endpoint=False)
    return np.stack([r[:, None] * np.cos(a)[None], y[:, None] + aspect * r[:, None] * np.sin(a)[None],
                     np.repeat(z[:, None], k, 1)], -1)


def _wing(root_le: np.ndarray, root_chord: float, tip_le: np.ndarray, tip_chord: float, thick: float) -> Part:
    """A tapered wing panel: the convex hull of a diamond airfoil at the root and at the tip (chords along -Z)."""
    pts = []
    for le, c, t in ((root_le, root_chord, thick), (tip_le, tip_chord, thick * 0.5)):
        pts += [le, le + (0, t / 2, -c * 0.3), le + (0, -t / 2, -c * 0.3), le + (0, 0, -c)]
    return hull(np.asarray(pts, float))


def airplane(rng: np.random.Generator) -> Shape:
    """An airplane: lofted fuselage, straight/swept/delta wings, 0/2/4 engines, conventional or T-tail."""
    p = Params(rng)
    variant = p.choice("variant", ["straight", "swept", "delta"], [0.3, 0.5, 0.2])
    # 0 engines: a propeller on the nose (straight wings) or engines inside the fuselage (delta jets)
    engines = p.choice("engines", *{"straight": ([0, 2, 4], [0.5, 0.35, 0.15]), "swept": ([2, 4], [0.7, 0.3]),
                                    "delta": ([0, 2], [0.6, 0.4])}[variant])
    tail = (p.choice("tail", ["conventional", "t_tail"], [0.65, 0.35]) if variant != "delta"
            else p.record("tail", "fin_only"))
    length = p.uniform("length", 10.0, 40.0)
    rf = length * p.uniform("fuselage_radius", 0.045, 0.075)
    span = length * p.uniform("span_ratio", 0.7, 1.2) * (0.7 if variant == "delta" else 1.0)
    chord = length * (p.uniform("root_chord", 0.12, 0.22) if variant != "delta" else p.uniform("root_chord", 0.4, 0.55))
    taper = p.uniform("taper", 0.25, 0.6) if variant != "delta" else 0.08
    sweep = p.uniform("sweep", *{"straight": (0.0, 0.1), "swept": (0.4, 0.65), "delta": (0.9, 1.1)}[variant])
    if variant == "delta":  # the tip's leading edge ends near the root's trailing edge
        span = 2 * (0.9 * chord / np.tan(sweep) + rf * 0.5)
    wing_z = length * p.uniform("wing_position", -0.05, 0.12) - (0.15 * length if variant == "delta" else 0.0)
    high = p.flag("high_wing", 0.25 if variant == "straight" else 0.1)
    dihedral = p.uniform("dihedral", 0.0, 0.1)
    # fuselage: stations from the tail (t = 0) to the nose (t = 1)
    t = np.array([0.0, 0.05, 0.15, 0.28, 0.4, 0.6, 0.78, 0.86, 0.92, 0.96, 0.985, 1.0])
    nose = np.clip((t - 0.78) / 0.22, 0, 1)
    r = rf * np.where(t < 0.3, 0.18 + 0.82 * np.sqrt(np.clip(t / 0.3, 0, 1)), np.sqrt(1 - nose ** 2 * 0.96))
    y = rf + np.clip(1 - t / 0.3, 0, 1) ** 1.5 * rf * 0.7 - nose * rf * 0.15
    z = -length / 2 + t * length
    parts: list[Part] = [loft(_circle_rings(z, y, r, 12))]
    wy = rf * (1.7 if high else 0.45)
    thick = chord * 0.12
    root_le = np.array([rf * 0.5, wy, wing_z + chord / 2])
    tip_le = np.array([span / 2, wy + dihedral * span / 2, root_le[2] - (span / 2 - rf * 0.5) * np.tan(sweep)])
    w = _wing(root_le, chord, tip_le, chord * taper, thick)
    parts += [w, w.mirrored_x()]
    # tail
    tail_z = -length / 2 + length * 0.02
    fin_h = rf * p.uniform("fin_height", 1.6, 2.6)
    fin_c = length * 0.14
    fin_sweep = 0.6
    fin_root_le = np.array([0.0, y[1] + r[1] * 0.5, tail_z + fin_c])
    fin_tip_le = fin_root_le + (0, fin_h, -fin_h * np.tan(fin_sweep))
    fin_pts = []
    for le, c in ((fin_root_le, fin_c), (fin_tip_le, fin_c * 0.6)):
        fin_pts += [le, le + (fin_c * 0.06, 0, -c * 0.3), le + (-fin_c * 0.06, 0, -c * 0.3), le + (0, 0, -c)]
    parts.append(hull(fin_pts))
    if tail != "fin_only":
        hs = span * 0.18
        ht_y = fin_tip_le[1] - 0.1 * rf if tail == "t_tail" else y[1] + r[1] * 0.3
        ht_le_z = (fin_tip_le[2] if tail == "t_tail" else tail_z + fin_c * 0.9)
        hc = fin_c * (0.7 if tail == "t_tail" else 0.9)
        ht = _wing(np.array([0.0, ht_y, ht_le_z]), hc, np.array([hs, ht_y, ht_le_z - hs * np.tan(0.5)]), hc * 0.5, hc * 0.1)
        parts += [ht, ht.mirrored_x()]
    # engines under the wings, or a propeller on the nose
    if engines:
        er = rf * p.uniform("engine_radius", 0.35, 0.6)
        el = length * 0.12
        fracs = [0.35] if engines == 2 else [0.3, 0.6]
        for f in fracs:
            ex = f * span / 2
            ez = root_le[2] - (ex - rf * 0.5) * np.tan(sweep) + el * 0.4
            ey = wy + dihedral * ex - er * 1.2 - thick * 0.3
            eng = cylinder((ex, ey, ez - el), (ex, ey, ez), er, 12)
            pylon = box((er * 0.3, er * 0.9, el * 0.5), (ex, ey + er * 0.8, ez - el * 0.5))
            parts += [eng, eng.mirrored_x(), pylon, pylon.mirrored_x()]
    elif variant == "straight":
        zn = length / 2
        parts.append(frustum((0, y[-1], zn - rf * 0.2), (0, y[-1], zn + rf * 0.5), rf * 0.3, 0.0, 10))
        blade = rf * 2.2
        for a in np.linspace(0, np.pi, 3, endpoint=False):
            d = np.array([np.cos(a), np.sin(a), 0.0]) * blade
            c = np.array([0.0, y[-1], zn + rf * 0.1])
            parts.append(beam(c - d, c + d, rf * 0.25, rf * 0.05, up=(0, 0, 1)))
    if p.flag("landing_gear", 0.5):
        gh = rf * 0.8
        wr = rf * 0.25
        for gx, gz in ((0.0, length * 0.36), (rf * 0.9, wing_z - chord * 0.2), (-rf * 0.9, wing_z - chord * 0.2)):
            parts.append(beam((gx, rf * 0.2, gz), (gx, -gh + wr, gz), rf * 0.1))
            parts.append(cylinder((gx - wr * 0.6, -gh + wr, gz), (gx + wr * 0.6, -gh + wr, gz), wr, 10))
    return assemble(parts), p.values


def _car_rings(z: np.ndarray, y_bottom: np.ndarray, y_belt: np.ndarray, y_top: np.ndarray,
               top_frac: np.ndarray, width: float) -> np.ndarray:
    """Car body cross-sections (M, 8, 3): rounded bottom, straight sides up to the belt line, a
    narrower roof (tumblehome ``top_frac``) at ``y_top``."""
    hw = width / 2
    xs = np.array([0.92, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -0.92])
    rings = np.empty((len(z), 8, 3))
    for i in range(len(z)):
        yb, yl, yt, f = y_bottom[i], y_belt[i], y_top[i], top_frac[i]
        ys = np.array([yb, yb + 0.12, yl, yt, yt, yl, yb + 0.12, yb])
        x = xs * hw
        x[3:5] *= f
        rings[i] = np.stack([x, ys, np.full(8, z[i])], -1)
    return rings


def car(rng: np.random.Generator) -> Shape:
    """A car: a lofted body (sedan, hatchback, pickup with an open bed, or SUV) on four wheels."""
    p = Params(rng)
    variant = p.choice("variant", ["sedan", "hatchback", "pickup", "suv"], [0.3, 0.25, 0.2, 0.25])
    length = p.uniform("length", 4.0, 5.2) if variant != "hatchback" else p.uniform("length", 3.4, 4.2)
    width = p.uniform("width", 1.65, 2.0)
    wr = p.uniform("wheel_radius", 0.3, 0.42) * (1.1 if variant in ("suv", "pickup") else 1.0)
    clear = wr * p.uniform("rocker_ratio", 0.55, 0.85)  # the body's underside: the wheels show below it
    belt = clear + p.uniform("body_height", 0.55, 0.75)
    roof = belt + p.uniform("cabin_height", 0.4, 0.6) * (1.25 if variant == "suv" else 1.0)
    hood = p.uniform("hood_fraction", 0.18, 0.3)
    yb_front = belt - 0.12
    if variant == "sedan":
        keys = [(0, belt - 0.05), (0.03, belt + 0.04), (0.18, belt + 0.06), (0.32, roof), (0.62, roof),
                (1 - hood, belt + 0.08), (0.97, yb_front + 0.06), (1, yb_front)]
    elif variant == "hatchback":
        keys = [(0, belt - 0.05), (0.02, belt + 0.12), (0.16, roof - 0.03), (0.22, roof), (0.62, roof),
                (1 - hood, belt + 0.08), (0.97, yb_front + 0.06), (1, yb_front)]
    elif variant == "suv":
        keys = [(0, roof - 0.15), (0.02, roof - 0.03), (0.05, roof), (0.66, roof), (1 - hood + 0.04, belt + 0.1),
                (0.97, yb_front + 0.1), (1, yb_front + 0.04)]
    else:
        keys = [(0, belt - 0.25), (0.4, belt - 0.25), (0.415, roof), (0.64, roof), (1 - hood + 0.02, belt + 0.08),
                (0.97, yb_front + 0.06), (1, yb_front)]
    kt, ky = np.array(keys).T
    t = np.unique(np.concatenate([kt, np.linspace(0, 1, 9)]))
    y_top = np.interp(t, kt, ky)
    y_belt = np.minimum(np.interp(t, [0, 0.04, 0.95, 1], [belt - 0.1, belt, belt - 0.04, belt - 0.16]), y_top - 0.04)
    y_bottom = np.interp(t, [0, 0.05, 0.95, 1], [clear + 0.12, clear, clear, clear + 0.1])
    cabin = y_top > y_belt + 0.12
    top_frac = np.where(cabin, 0.78, 0.93)
    z = -length / 2 + t * length
    parts: list[Part] = [loft(_car_rings(z, y_bottom, y_belt, y_top, top_frac, width), "pole", "pole")]
    if variant == "pickup":  # open bed: side walls and a tailgate up to the belt line
        z0, z1 = -length / 2, -length / 2 + 0.4 * length
        bw = 0.06
        wall_h = belt - (belt - 0.25) + 0.02
        yc = belt - wall_h / 2 + 0.01
        parts.append(boxes([[bw, wall_h, z1 - z0], [bw, wall_h, z1 - z0], [width, wall_h, bw]],
                           [[width / 2 - bw / 2, yc, (z0 + z1) / 2], [-width / 2 + bw / 2, yc, (z0 + z1) / 2],
                            [0, yc, z0 + bw / 2]]))
    wb = length * p.uniform("wheelbase", 0.56, 0.66)
    tw = p.uniform("tyre_width", 0.18, 0.28)
    zc = (length * 0.02)
    for wz in (zc - wb / 2, zc + wb / 2):
        for sx in (1, -1):
            x0 = sx * (width / 2 - tw + 0.03)
            x1 = sx * (width / 2 + 0.03)
            parts.append(cylinder((x0, wr, wz), (x1, wr, wz), wr, 14))
            parts.append(cylinder((x1, wr, wz), (x1 + sx * 0.015, wr, wz), wr * 0.6, 10))
    light_y = belt - 0.08
    parts.append(boxes([[0.35, 0.1, 0.04]] * 4,
                       [[width * 0.32, light_y, length / 2 - 0.01], [-width * 0.32, light_y, length / 2 - 0.01],
                        [width * 0.34, light_y, -length / 2 + 0.01], [-width * 0.34, light_y, -length / 2 + 0.01]]))
    if variant == "sedan" and p.flag("spoiler", 0.3):
        parts.append(box((width * 0.8, 0.04, 0.2), (0, belt + 0.16, -length / 2 + 0.15)))
        parts += [box((0.04, 0.12, 0.06), (sx * width * 0.3, belt + 0.08, -length / 2 + 0.15)) for sx in (1, -1)]
    if variant == "suv" and p.flag("roof_rack", 0.5):
        parts.append(boxes([[0.05, 0.06, length * 0.5]] * 2, [[width * 0.33, roof + 0.03, 0.0], [-width * 0.33, roof + 0.03, 0.0]]))
    return assemble(parts), p.values


def rocket(rng: np.random.Generator) -> Shape:
    """A rocket: a lathed body of 1-2 stages with a cone/ogive/capsule nose, fins or landing legs, boosters."""
    p = Params(rng)
    variant = p.choice("variant", ["fins", "boosters", "legs"], [0.45, 0.3, 0.25])
    nose = p.choice("nose", ["cone", "ogive", "capsule"], [0.3, 0.45, 0.25])
    stages = p.integer("stages", 1, 2)
    h = p.uniform("height", 12.0, 60.0)
    r = h * p.uniform("radius_ratio", 0.035, 0.07)
    nose_f = p.uniform("nose_fraction", 0.1, 0.2)
    r2 = r * p.uniform("upper_stage_ratio", 0.6, 0.85) if stages == 2 else r
    split = p.uniform("stage_split", 0.45, 0.6)
    yb = h * 0.05
    y_nose = h * (1 - nose_f)
    prof: list[tuple[float, float]] = [(r * 0.55, yb * 0.25), (r * 0.95, yb)]
    y_split = yb + (y_nose - yb) * split
    if stages == 2:
        prof += [(r, y_split), (r2, y_split + r * 0.8)]
    prof.append((r2, y_nose))
    tt = np.linspace(0, 1, 6)[1:]
    if nose == "cone":
        prof += [(r2 * 0.05, h)]
    elif nose == "ogive":
        prof += list(zip(r2 * np.sqrt(np.maximum(1 - tt ** 2, 0.0025)), y_nose + (h - y_nose) * tt))
    else:  # capsule with an escape tower
        yc = y_nose + (h - y_nose) * 0.45
        prof += [(r2 * 1.04, y_nose + 0.01 * h), (r2 * 0.45, yc), (r2 * 0.3, yc + 0.01 * h)]
    body = lathe(prof, 16)
    parts: list[Part] = [body]
    if nose == "capsule":
        yc = y_nose + (h - y_nose) * 0.45
        parts.append(cylinder((0, yc, 0), (0, h * 0.99, 0), r2 * 0.06, 6))
        parts.append(frustum((0, h * 0.96, 0), (0, h, 0), r2 * 0.15, 0.0, 8))
    parts.append(frustum((0, 0, 0), (0, yb * 0.5, 0), r * 0.75, r * 0.4, 14))  # engine bell
    n_fins = p.choice("fin_count", [3, 4, 6], [0.35, 0.5, 0.15])
    span = r * p.uniform("fin_span", 0.6, 1.4)
    fin_h = h * p.uniform("fin_height", 0.08, 0.18)
    a0 = np.pi / 2 if n_fins != 4 else np.pi / 4
    angles = a0 + 2 * np.pi * np.arange(n_fins) / n_fins
    if variant in ("fins", "boosters"):
        outline = [(r * 0.5, yb + fin_h), (r * 0.5, yb), (r + span, 0.0), (r + span, fin_h * 0.35)]
        fin = prism(outline, r * 0.08, axis="z")
        parts += [fin.rotated(a, (0, 1, 0)) for a in angles]
    if variant == "boosters":
        nb = p.choice("booster_count", [2, 4], [0.6, 0.4])
        rb = r * p.uniform("booster_ratio", 0.35, 0.55)
        bh = (y_split - yb) * p.uniform("booster_length", 0.7, 1.1)
        for a in a0 + np.pi / n_fins + 2 * np.pi * np.arange(nb) / nb:
            c = np.array([np.cos(a), 0, np.sin(a)]) * (r + rb * 0.9)
            parts.append(lathe([(rb * 0.8, 0.0), (rb, yb * 0.5), (rb, yb + bh), (rb * 0.05, yb + bh + rb * 2.5)], 12).translated(c))
    if variant == "legs":
        for a in angles:
            d = np.array([np.cos(a), 0, np.sin(a)])
            parts.append(beam(d * r * 0.9 + (0, yb + fin_h * 1.2, 0), d * (r + span * 1.6), r * 0.12))
            parts.append(cylinder(d * (r + span * 1.6), d * (r + span * 1.6) + (0, r * 0.08, 0), r * 0.2, 8))
        # grid fins near the top of the first stage
        parts += [box((r * 0.5, r * 0.05, r * 0.4), (0, 0, 0)).translated(np.array([np.cos(a), 0, np.sin(a)]) * r * 1.2
                                                                          + (0, y_split * 0.95, 0)) for a in angles]
    return assemble(parts), p.values


def boat(rng: np.random.Generator) -> Shape:
    """A boat: a lofted V hull (bow to +Z) as a rowboat, motorboat, sailboat or small ship."""
    p = Params(rng)
    variant = p.choice("variant", ["rowboat", "motorboat", "sailboat", "ship"], [0.25, 0.25, 0.3, 0.2])
    scale = {"rowboat": (3.0, 5.0), "motorboat": (5.0, 9.0), "sailboat": (6.0, 12.0), "ship": (30.0, 70.0)}[variant]
    length = p.uniform("length", *scale)
    beam_w = length * p.uniform("beam_ratio", 0.25, 0.4) * (0.55 if variant == "ship" else 1.0)
    depth = length * p.uniform("depth_ratio", 0.07, 0.13) * (0.75 if variant == "ship" else 1.0)
    deadrise = p.uniform("deadrise", 0.15, 0.6)
    sheer = p.uniform("sheer", 0.0, 0.35)
    transom = p.uniform("transom_ratio", 0.4, 0.85) if variant != "rowboat" else p.uniform("transom_ratio", 0.2, 0.5)
    t = np.array([0.0, 0.1, 0.25, 0.45, 0.6, 0.72, 0.82, 0.9, 0.96, 1.0])
    hw = beam_w / 2 * np.where(t < 0.45, transom + (1 - transom) * np.sin(t / 0.45 * np.pi / 2), np.sqrt(np.maximum(1 - ((t - 0.45) / 0.55) ** 2, 0.0004)))
    keel = depth * 0.55 * np.clip((t - 0.6) / 0.4, 0, 1) ** 2
    deck = depth * (1 + sheer * t ** 2)
    z = -length / 2 + t * length
    k = np.array([1.0, 0.98, 0.75, deadrise * 0.6, 0.0])  # half-width fraction from deck down to keel
    fy = np.array([1.0, 0.55, 0.25, 0.06, 0.0])             # height fraction above the keel
    rings = []
    for i in range(len(t)):
        ys = keel[i] + (deck[i] - keel[i]) * fy
        xs = hw[i] * k
        right = np.stack([xs, ys], -1)
        left = np.stack([-xs[::-1], ys[::-1]], -1)[1:]
        ring2 = np.concatenate([right, left, [[0.0, deck[i] + depth * 0.03]]])
        rings.append(np.stack([ring2[:, 0], ring2[:, 1], np.full(len(ring2), z[i])], -1))
    parts: list[Part] = [loft(np.array(rings))]
    dz = lambda f: -length / 2 + f * length  # noqa: E731 - station position along the hull
    if variant == "rowboat":
        n = p.integer("thwarts", 2, 3)
        zs = dz(np.linspace(0.25, 0.65, n))
        parts.append(boxes(np.tile([beam_w * 0.95, 0.05, 0.22], (n, 1)), np.stack([np.zeros(n), np.full(n, depth + 0.05), zs], -1)))
        if p.flag("oars", 0.6):
            for s in (1, -1):
                parts.append(beam((s * beam_w * 0.3, depth + 0.2, dz(0.45)), (s * beam_w * 1.3, depth * 0.2, dz(0.25)), 0.05, 0.02))
    elif variant == "motorboat":
        ch = depth * p.uniform("cabin_height", 0.7, 1.2)
        z0, z1 = dz(0.3), dz(0.6)
        parts.append(hull([(sx * beam_w * 0.42, depth, zz) for sx in (1, -1) for zz in (z0, z1)]
                          + [(sx * beam_w * 0.36, depth + ch, zz) for sx in (1, -1) for zz in (z0, z1 - ch * 0.9)]))
        parts.append(box((0.35, depth * 0.9, 0.3), (0, depth * 0.9, -length / 2 - 0.1)))
        parts.append(beam((0, depth * 0.5, -length / 2 - 0.15), (0, -depth * 0.1, -length / 2 - 0.15), 0.1))
    elif variant == "sailboat":
        mh = length * p.uniform("mast_height", 1.0, 1.5)
        zm = dz(p.uniform("mast_position", 0.5, 0.62))
        dk = float(np.interp(zm, z, deck))
        parts.append(cylinder((0, dk, zm), (0, dk + mh, zm), length * 0.008, 8))
        boom_y = dk + depth * 0.9
        boom_end = dz(0.06)
        parts.append(beam((0, boom_y, zm), (0, boom_y, boom_end), length * 0.012))
        parts.append(prism([(zm - 0.05, boom_y + 0.05), (boom_end, boom_y + 0.05), (zm - 0.05, dk + mh * 0.95)], 0.03, axis="x"))
        if p.flag("jib", 0.7):
            parts.append(prism([(zm + 0.1, dk + 0.3), (dz(0.95), float(np.interp(dz(0.95), z, deck)) + 0.2), (zm + 0.05, dk + mh * 0.8)],
                               0.03, axis="x"))
        parts.append(box((beam_w * 0.5, depth * 0.4, length * 0.25), (0, dk + depth * 0.2, dz(0.35))))
    else:  # ship: stacked superstructure, funnels and a mast
        levels = p.integer("decks", 2, 3)
        sz = dz(p.uniform("bridge_position", 0.35, 0.6))
        sl = length * 0.3
        y = depth
        for lv in range(levels):
            lh = depth * 0.55
            parts.append(box((beam_w * (0.75 - 0.12 * lv), lh, sl * (1 - 0.25 * lv)), (0, y + lh / 2, sz)))
            y += lh
        nf = p.integer("funnels", 1, 2)
        for f in range(nf):
            fz = sz - sl * 0.25 - f * sl * 0.3
            parts.append(frustum((0, y - 0.5, fz), (0, y + depth * 1.0, fz - depth * 0.15), beam_w * 0.13, beam_w * 0.11, 12))
        parts.append(cylinder((0, y, sz + sl * 0.2), (0, y + depth * 1.6, sz + sl * 0.2), beam_w * 0.02, 6))
    return assemble(parts), p.values
