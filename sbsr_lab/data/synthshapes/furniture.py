"""Furniture: table, desk, bed, bookshelf.

Front faces +Z (a desk's drawers, a bookshelf's open side, a bed's foot), +Y up, metres.
Tables and desks share tops and legs on purpose (near neighbours); a bed's headboard is at -Z.
"""

from __future__ import annotations

import numpy as np
import trimesh

from sbsr_lab.data.synthshapes.params import Params, ParamValue
from sbsr_lab.data.synthshapes.primitives import (
    Part, assemble, beam, box, boxes, cylinder, ellipsoid, frustum, lathe,
)
from sbsr_lab.data.synthshapes.seating import legs

__all__ = ["table", "desk", "bed", "bookshelf"]

Shape = tuple[trimesh.Trimesh, dict[str, ParamValue]]


def _drawer_fronts(x: float, width: float, y0: float, y1: float, z_front: float, n: int) -> list[Part]:
    """``n`` drawer fronts stacked between heights y0 and y1 on the plane z = z_front, with handles."""
    dh = (y1 - y0) / n
    ys = y0 + dh * (np.arange(n) + 0.5)
    fronts = boxes(np.tile([width * 0.92, dh * 0.88, 0.02], (n, 1)),
                   np.stack([np.full(n, x), ys, np.full(n, z_front + 0.01)], -1))
    handles = boxes(np.tile([min(0.12, width * 0.4), 0.015, 0.025], (n, 1)),
                    np.stack([np.full(n, x), ys + dh * 0.2, np.full(n, z_front + 0.03)], -1))
    return [fronts, handles]


def table(rng: np.random.Generator) -> Shape:
    """A table: rectangular, round or oval top on four legs, a pedestal or trestles; optional apron."""
    p = Params(rng)
    variant = p.choice("variant", ["four_legs", "pedestal", "trestle"], [0.5, 0.28, 0.22])
    top = p.choice("top", ["rect", "round", "oval"], [0.3, 0.5, 0.2] if variant == "pedestal" else [0.65, 0.2, 0.15])
    length = p.uniform("length", 0.8, 2.2)
    width = length * p.uniform("width_ratio", 0.45, 0.9) if top != "round" else length
    if top == "round":
        width = length = min(length, 1.4)
    h = p.uniform("height", 0.68, 0.78)
    tt = p.uniform("top_thickness", 0.025, 0.06)
    lt = p.uniform("leg_thickness", 0.04, 0.09)
    inset = p.uniform("leg_inset", 0.03, 0.15)
    taper = p.uniform("leg_taper", 0.5, 1.0)
    parts: list[Part] = []
    if top == "rect":
        parts.append(box((length, tt, width), (0, h - tt / 2, 0)))
    else:
        disc = cylinder((0, h - tt, 0), (0, h, 0), 0.5, 24)
        parts.append(Part(disc.vertices * [length, 1, width], disc.faces))
    y_under = h - tt
    if variant == "four_legs":
        if top == "rect":
            fx, fz = length / 2 - inset - lt / 2, width / 2 - inset - lt / 2
        else:
            fx, fz = length / 2 * 0.62, width / 2 * 0.62
        feet = np.array([[fx, fz], [-fx, fz], [fx, -fz], [-fx, -fz]])
        parts += legs(feet, y_under, lt, p.uniform("leg_splay", 0.0, 0.05), p.flag("round_legs", 0.4), taper)
        if top == "rect" and p.flag("apron", 0.6):
            ah = 0.08
            parts.append(boxes([[2 * fx, ah, 0.02], [2 * fx, ah, 0.02], [0.02, ah, 2 * fz], [0.02, ah, 2 * fz]],
                               [[0, y_under - ah / 2, fz], [0, y_under - ah / 2, -fz],
                                [fx, y_under - ah / 2, 0], [-fx, y_under - ah / 2, 0]]))
    elif variant == "pedestal":
        n_ped = 2 if length / max(width, 1e-6) > 1.5 and length > 1.3 else 1
        xs = [0.0] if n_ped == 1 else [-length / 4, length / 4]
        foot = p.choice("foot", ["disc", "cross"], [0.5, 0.5])
        cr = max(lt, 0.05) * 1.1
        for x in xs:
            prof = [(cr * 1.2, 0.06), (cr, 0.25), (cr * 0.8 * taper + cr * 0.2, y_under - 0.05), (cr * 1.5, y_under)]
            parts.append(lathe(prof, 12).translated((x, 0, 0)))
            fr = min(width, 0.9) * 0.4
            if foot == "disc":
                parts.append(frustum((x, 0, 0), (x, 0.06, 0), fr, fr * 0.5, 16))
            else:
                for a in (0.0, np.pi / 2):
                    d = np.array([np.cos(a), 0, np.sin(a)]) * fr
                    parts.append(beam((x - d[0], 0.03, -d[2]), (x + d[0], 0.03, d[2]), 0.06, 0.06, up=(0, 1, 0)))
    else:  # trestle ends joined by a stretcher
        ex = length / 2 - inset - 0.05
        depth = width * 0.7
        for s in (1, -1):
            parts.append(box((0.05, y_under - 0.06, depth * 0.35), (s * ex, (y_under + 0.06) / 2, 0)))
            parts.append(box((0.08, 0.06, depth), (s * ex, 0.03, 0)))
            parts.append(box((0.07, 0.05, depth), (s * ex, y_under - 0.025, 0)))
        parts.append(beam((-ex, y_under * 0.45, 0), (ex, y_under * 0.45, 0), 0.05, 0.08, up=(0, 1, 0)))
    return assemble(parts), p.values


def desk(rng: np.random.Generator) -> Shape:
    """A desk: a top over drawer pedestals, side panels or legs, a modesty panel, optional hutch."""
    p = Params(rng)
    variant = p.choice("variant", ["one_pedestal", "two_pedestals", "panel_legs", "legs_drawer"],
                       [0.35, 0.25, 0.2, 0.2])
    length = p.uniform("length", 1.0, 1.8)
    d = p.uniform("depth", 0.55, 0.80)
    h = p.uniform("height", 0.72, 0.77)
    tt = p.uniform("top_thickness", 0.025, 0.05)
    pw = p.uniform("pedestal_width", 0.35, 0.45)
    lt = p.uniform("leg_thickness", 0.035, 0.06)
    parts: list[Part] = [box((length, tt, d), (0, h - tt / 2, 0))]
    y_under = h - tt
    zf = d / 2 - 0.03
    sides: list[str] = []
    if variant == "one_pedestal":
        side = p.choice("pedestal_side", ["left", "right"])
        sides = ["pedestal", "panel"] if side == "right" else ["panel", "pedestal"]
    elif variant == "two_pedestals":
        sides = ["pedestal", "pedestal"]
    elif variant == "panel_legs":
        sides = ["panel", "panel"]
    n = p.integer("drawers", 2, 4)
    for s, kind in zip((1, -1), sides):
        if kind == "pedestal":
            x = s * (length / 2 - pw / 2 - 0.01)
            parts.append(box((pw, y_under, d - 0.06), (x, y_under / 2, -0.03)))
            parts += _drawer_fronts(x, pw, 0.06, y_under - 0.02, zf - 0.03, n)
        else:
            parts.append(box((0.035, y_under, d - 0.04), (s * (length / 2 - 0.04), y_under / 2, 0)))
    if variant == "legs_drawer":
        fx, fz = length / 2 - lt, d / 2 - lt
        parts += legs(np.array([[fx, fz], [-fx, fz], [fx, -fz], [-fx, -fz]]), y_under, lt,
                      0.0, p.flag("round_legs", 0.4), p.uniform("leg_taper", 0.6, 1.0))
        dw = length * 0.45
        parts.append(box((length - 2 * lt, 0.12, d - 2 * lt), (0, y_under - 0.06, 0)))
        parts += _drawer_fronts(0.0, dw, y_under - 0.12, y_under, d / 2 - lt, 1)
    elif p.flag("modesty_panel", 0.7):
        parts.append(box((length - 0.1, 0.35, 0.02), (0, y_under - 0.175, -d / 2 + 0.05)))
    if p.flag("hutch", 0.3):
        hh = p.uniform("hutch_height", 0.3, 0.55)
        hd = 0.26
        z = -d / 2 + hd / 2
        parts.append(boxes([[0.025, hh, hd], [0.025, hh, hd], [length, 0.025, hd], [length, hh, 0.012]],
                           [[length / 2 - 0.0125, h + hh / 2, z], [-length / 2 + 0.0125, h + hh / 2, z],
                            [0, h + hh - 0.0125, z], [0, h + hh / 2, -d / 2 + 0.006]]))
    return assemble(parts), p.values


def _board_frame(w: float, h: float, d: float, t: float, y0: float) -> Part:
    """Two sides, a top and a bottom board of a cabinet of outer size w x (h - y0) x d standing at y0."""
    return boxes([[t, h - y0, d], [t, h - y0, d], [w - 2 * t, t, d], [w - 2 * t, t, d]],
                 [[w / 2 - t / 2, (h + y0) / 2, 0], [-w / 2 + t / 2, (h + y0) / 2, 0],
                  [0, h - t / 2, 0], [0, y0 + t / 2, 0]])


def bed(rng: np.random.Generator) -> Shape:
    """A bed: frame, mattress, pillows, optional blanket, a headboard (panel, slats or four posts)."""
    p = Params(rng)
    variant = p.choice("variant", ["panel", "slatted", "four_poster", "platform"], [0.35, 0.25, 0.15, 0.25])
    length = p.uniform("length", 1.95, 2.2)
    w = p.uniform("width", 0.9, 2.0)
    fh = p.uniform("frame_height", 0.2, 0.45)
    mt = p.uniform("mattress_thickness", 0.15, 0.3)
    hb = p.uniform("headboard_height", 0.35, 1.0)
    lh = 0.0 if variant == "platform" else p.uniform("leg_height", 0.05, 0.2)
    footboard = p.flag("footboard", 0.5 if variant != "platform" else 0.15)
    pt = 0.06
    parts: list[Part] = []
    if variant == "platform":
        parts.append(box((w + 0.2, fh, length + 0.1), (0, fh / 2, 0.05)))
    else:
        parts.append(box((w + 0.04, fh - lh, length), (0, (fh + lh) / 2, 0)))
        fx, fz = w / 2 - 0.02, length / 2 - 0.04
        parts += legs(np.array([[fx, fz], [-fx, fz], [fx, -fz], [-fx, -fz]]), lh, 0.06)
    top = fh + mt
    parts.append(box((w, mt, length - 0.02), (0, fh + mt / 2, 0)))
    n_pillows = 1 if w < 1.3 else 2
    for k in range(n_pillows):
        x = 0.0 if n_pillows == 1 else (k - 0.5) * w / 2
        parts.append(ellipsoid((x, top + 0.05, -length / 2 + 0.25), (min(0.33, 0.4 * w / n_pillows), 0.08, 0.18)))
    if p.flag("blanket", 0.6):
        bl = length * p.uniform("blanket_cover", 0.5, 0.75)
        parts.append(box((w + 0.04, mt * 0.7 + 0.03, bl), (0, top - mt * 0.35 + 0.015, length / 2 - bl / 2 + 0.01)))
    zh = -length / 2 - pt / 2
    head_top = top + hb
    if variant in ("panel", "platform"):
        parts.append(box((w + 0.08, head_top - (0 if variant == "panel" else fh * 0.5), pt),
                         (0, (head_top + (0 if variant == "panel" else fh * 0.5)) / 2, zh)))
    elif variant == "slatted":
        parts += [beam((s * (w / 2 + 0.02), 0, zh), (s * (w / 2 + 0.02), head_top, zh), 0.07) for s in (1, -1)]
        parts.append(box((w + 0.04, 0.08, pt), (0, head_top - 0.04, zh)))
        parts.append(box((w + 0.04, 0.08, pt), (0, fh + 0.04, zh)))
        n = max(3, int(w / 0.12))
        xs = (np.arange(n) - (n - 1) / 2) * (w / n)
        sh = head_top - fh - 0.08
        parts.append(boxes(np.tile([w / n * 0.45, sh, pt * 0.6], (n, 1)),
                           np.stack([xs, np.full(n, fh + 0.04 + sh / 2), np.full(n, zh)], -1)))
    else:  # four-poster: tall corner posts with a canopy frame, low head panel
        ph = p.uniform("post_height", 1.8, 2.2)
        cx, cz = w / 2 + 0.03, length / 2 + 0.03
        for sx in (1, -1):
            for sz in (1, -1):
                parts.append(cylinder((sx * cx, 0, sz * cz), (sx * cx, ph, sz * cz), 0.04, 10))
        parts.append(boxes([[2 * cx, 0.06, 0.06], [2 * cx, 0.06, 0.06], [0.06, 0.06, 2 * cz], [0.06, 0.06, 2 * cz]],
                           [[0, ph, cz], [0, ph, -cz], [cx, ph, 0], [-cx, ph, 0]]))
        parts.append(box((w + 0.06, head_top - fh, pt), (0, (head_top + fh) / 2, zh)))
    if footboard:
        fb = top + hb * p.uniform("footboard_ratio", 0.0, 0.5)
        parts.append(box((w + 0.08, fb - lh, pt), (0, (fb + lh) / 2, length / 2 + pt / 2)))
    return assemble(parts), p.values


def bookshelf(rng: np.random.Generator) -> Shape:
    """A bookshelf: a frame of boards (or four posts) with shelves filled with books, optional doors."""
    p = Params(rng)
    variant = p.choice("variant", ["standard", "cube_grid", "doors", "open_frame"], [0.4, 0.2, 0.2, 0.2])
    w = p.uniform("width", 0.6, 1.4)
    h = p.uniform("height", 0.9, 2.1)
    d = p.uniform("depth", 0.25, 0.40)
    t = p.uniform("board_thickness", 0.015, 0.03)
    fill = p.uniform("fill", 0.3, 0.95)
    plinth = p.uniform("plinth_height", 0.0, 0.1) if variant != "open_frame" else 0.0
    n_sh = max(2, int(round(h / p.uniform("shelf_spacing", 0.28, 0.4))))
    p.record("shelves", n_sh)
    parts: list[Part] = []
    if variant == "open_frame":
        pr = 0.025
        for sx in (1, -1):
            for sz in (1, -1):
                parts.append(beam((sx * (w / 2 - pr), 0, sz * (d / 2 - pr)), (sx * (w / 2 - pr), h, sz * (d / 2 - pr)),
                                  2 * pr))
    else:
        parts.append(_board_frame(w, h, d, t, 0.0))
        if p.flag("back_panel", 0.8):
            parts.append(box((w - 2 * t, h - 2 * t, 0.008), (0, h / 2, -d / 2 + 0.004)))
        if plinth > 0.02:
            parts.append(box((w - 2 * t, plinth, 0.02), (0, plinth / 2 + t, d / 2 - 0.02)))
    if variant == "open_frame":  # no carcass: a bottom and a top shelf between the posts
        parts.append(boxes([[w - 0.01, t, d - 0.01]] * 2, [[0, 0.08, 0], [0, h - t / 2 - 0.02, 0]]))
        plinth = 0.08 - t / 2
    y_bottom = t + plinth
    gap = (h - t - y_bottom) / n_sh
    ys = y_bottom + gap * np.arange(n_sh + 1)  # shelf tops (index 0 = bottom board)
    inner = w - 2 * t
    parts.append(boxes(np.tile([inner, t, d - 0.01], (n_sh - 1, 1)),
                       np.stack([np.zeros(n_sh - 1), ys[1:-1] - t / 2, np.full(n_sh - 1, 0.005)], -1)))
    cols = 1
    if variant == "cube_grid":
        cols = max(2, int(round(inner / gap)))
        xs = -inner / 2 + inner / cols * np.arange(1, cols)
        parts.append(boxes(np.tile([t, h - t - y_bottom, d - 0.01], (cols - 1, 1)),
                           np.stack([xs, np.full(cols - 1, (h - t + y_bottom) / 2), np.full(cols - 1, 0.005)], -1)))
    n_door = 0
    if variant == "doors":
        n_door = p.integer("door_rows", 1, max(1, n_sh // 2))
        top = ys[n_door] - t
        dw = inner / 2
        parts.append(boxes([[dw - 0.01, top - y_bottom, 0.02]] * 2,
                           [[-dw / 2, (top + y_bottom) / 2, d / 2 + 0.01], [dw / 2, (top + y_bottom) / 2, d / 2 + 0.01]]))
        parts.append(boxes([[0.02, 0.08, 0.03]] * 2, [[-0.05, top - 0.12, d / 2 + 0.03], [0.05, top - 0.12, d / 2 + 0.03]]))
    # books, shelf by shelf, compartment by compartment
    sizes, centres = [], []
    cw = inner / cols
    for row in range(n_door, n_sh):
        for c in range(cols):
            x = -inner / 2 + c * cw + 0.01
            x_end = -inner / 2 + (c + 1) * cw - 0.01 - (t if cols > 1 else 0.0)
            x_stop = x + (x_end - x) * min(1.0, fill * p.rng.uniform(0.6, 1.4))
            while x < x_stop:
                bw = p.rng.uniform(0.02, 0.05)
                if x + bw > x_end:
                    break
                bh = (gap - t) * p.rng.uniform(0.6, 0.92)
                bd = (d - 0.03) * p.rng.uniform(0.7, 0.9)
                sizes.append([bw * 0.95, bh, bd])
                centres.append([x + bw / 2, ys[row] + bh / 2, d / 2 - bd / 2 - 0.02])
                x += bw
            if p.rng.random() < 0.3:
                x += 0.05
    if sizes:
        parts.append(boxes(sizes, centres))
    return assemble(parts), p.values
