"""Tracing a line image into strokes: skeleton -> pixel graph -> polylines -> pen strokes.

:func:`trace_strokes` skeletonises the ink, walks the skeleton's pixel graph between junctions and
free ends, chains pieces that continue straight through a junction (as one pen stroke would), drops
skeleton spurs and simplifies with RDP; the strokes come out in drawing order (long ones first).
"""

from __future__ import annotations

import math

import numpy as np

from sbsr_lab.data.strokes import Strokes, end_direction, simplify_strokes, stroke_length

__all__ = ["trace_strokes"]

_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))  # half of the 8-neighbourhood (the other half by symmetry)


def _skeleton_graph(skel: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Pixels of a skeleton and their neighbour lists (8-connectivity, diagonals dropped where a
    4-connected path exists, so that staircases do not look like junctions)."""
    h, w = skel.shape
    ys, xs = np.nonzero(skel)
    index = -np.ones((h + 2, w + 2), dtype=np.int64)
    index[ys + 1, xs + 1] = np.arange(len(ys))
    pad = np.zeros((h + 2, w + 2), dtype=bool)
    pad[1:-1, 1:-1] = skel
    nbrs: list[list[int]] = [[] for _ in range(len(ys))]
    for dy, dx in _OFFSETS:
        j = index[ys + 1 + dy, xs + 1 + dx]
        ok = j >= 0
        if dy and dx:  # diagonal: skip if the two pixels are also joined through a 4-neighbour
            ok &= ~pad[ys + 1 + dy, xs + 1] & ~pad[ys + 1, xs + 1 + dx]
        for a, b in zip(np.nonzero(ok)[0].tolist(), j[ok].tolist()):
            nbrs[a].append(b)
            nbrs[b].append(a)
    return np.stack([xs, ys], axis=1), nbrs


def _walk(start: int, first: int, nbrs: list[list[int]], is_node: np.ndarray, seen: set[tuple[int, int]]) -> list[int]:
    """Follow degree-2 pixels from ``start`` through ``first`` until a node or back to ``start``."""
    path = [start, first]
    seen.add((start, first))
    seen.add((first, start))
    prev, cur = start, first
    while not is_node[cur] and cur != start:
        nxt = [n for n in nbrs[cur] if n != prev and (cur, n) not in seen]
        if not nxt:
            break
        prev, cur = cur, nxt[0]
        seen.add((prev, cur))
        seen.add((cur, prev))
        path.append(cur)
    return path


def _join_at_junctions(paths: list[np.ndarray], ends: list[tuple[int, int]], max_turn_deg: float = 40.0) -> list[np.ndarray]:
    """Chain paths that meet at the same junction and continue nearly straight (like one pen stroke).

    ``ends[i]`` = (junction id at the start of path i, at its end), -1 for a free end.
    """
    cos_min = math.cos(math.radians(180.0 - max_turn_deg))
    # candidate pairs of path ends at the same junction, best continuation first
    by_node: dict[int, list[tuple[int, bool]]] = {}
    for i, (a, b) in enumerate(ends):
        if a >= 0:
            by_node.setdefault(a, []).append((i, True))
        if b >= 0:
            by_node.setdefault(b, []).append((i, False))
    pairs = []
    for members in by_node.values():
        for m in range(len(members)):
            for n in range(m + 1, len(members)):
                (i, si), (j, sj) = members[m], members[n]
                if i == j:
                    continue
                c = float(end_direction(paths[i], si) @ end_direction(paths[j], sj))
                if c <= cos_min:  # directions out of the junction are nearly opposite
                    pairs.append((c, i, si, j, sj))
    pairs.sort()
    used: set[tuple[int, bool]] = set()
    link: dict[tuple[int, bool], tuple[int, bool]] = {}
    for _, i, si, j, sj in pairs:
        if (i, si) in used or (j, sj) in used:
            continue
        used.update({(i, si), (j, sj)})
        link[(i, si)] = (j, sj)
        link[(j, sj)] = (i, si)
    # walk the chains
    done = [False] * len(paths)
    out: list[np.ndarray] = []

    def chain_from(i: int, at_start: bool) -> list[np.ndarray]:
        parts = []
        cur, entered_at_start = i, at_start
        while not done[cur]:
            done[cur] = True
            p = paths[cur] if entered_at_start else paths[cur][::-1]
            parts.append(p if not parts else p[1:])
            nxt = link.get((cur, not entered_at_start))
            if nxt is None:
                break
            cur, entered_at_start = nxt
        return parts

    for i in range(len(paths)):  # open chains: start at an end that is not linked
        for at_start in (True, False):
            if not done[i] and (i, at_start) not in link:
                out.append(np.concatenate(chain_from(i, at_start), axis=0))
    for i in range(len(paths)):  # what is left are closed chains
        if not done[i]:
            out.append(np.concatenate(chain_from(i, True), axis=0))
    return out


def _drawing_order(strokes: Strokes) -> Strokes:
    """Long strokes first; each open stroke starts at its upper-left end, closed ones at their top-left point."""
    out = []
    for s in strokes:
        if len(s) > 2 and np.allclose(s[0], s[-1]):
            k = int(np.argmin(s[:-1, 0] + 2.0 * s[:-1, 1]))
            s = np.concatenate([s[k:-1], s[:k + 1]], axis=0)
        elif s[-1, 0] + 2.0 * s[-1, 1] < s[0, 0] + 2.0 * s[0, 1]:
            s = s[::-1]
        out.append(np.ascontiguousarray(s, dtype=np.float32))
    out.sort(key=stroke_length, reverse=True)
    return out


def trace_strokes(lines: np.ndarray, min_length_px: int = 4, threshold: float = 0.5) -> Strokes:
    """Turn a line image ``(H, W)`` (ink = 1) into strokes in [0, 1]², long strokes first.

    Skeletonises the ink (``skimage.morphology.skeletonize``), follows the skeleton between
    junctions and free ends, joins pieces that continue straight through a junction, drops pieces
    shorter than ``min_length_px`` pixels and simplifies with RDP (tolerance ~0.7 px).
    """
    from skimage.morphology import skeletonize

    lines = np.asarray(lines, dtype=np.float32)
    if lines.ndim != 2:
        raise ValueError(f"trace_strokes wants an (H, W) line image, got shape {lines.shape}")
    h, w = lines.shape
    skel = skeletonize(lines > threshold)
    if not skel.any():
        return []
    pts, nbrs = _skeleton_graph(skel)
    degree = np.fromiter((len(n) for n in nbrs), dtype=np.int64, count=len(nbrs))
    is_node = degree != 2
    # junction clusters (adjacent junction pixels) share one id
    junction = np.nonzero(degree >= 3)[0]
    node_id = -np.ones(len(pts), dtype=np.int64)
    for j in junction.tolist():
        if node_id[j] >= 0:
            continue
        stack = [j]
        node_id[j] = j
        while stack:
            c = stack.pop()
            for n in nbrs[c]:
                if degree[n] >= 3 and node_id[n] < 0:
                    node_id[n] = j
                    stack.append(n)
    seen: set[tuple[int, int]] = set()
    pix_paths: list[list[int]] = []
    for start in np.nonzero(is_node)[0].tolist():
        for first in nbrs[start]:
            if (start, first) not in seen:
                pix_paths.append(_walk(start, first, nbrs, is_node, seen))
        if not nbrs[start]:
            pix_paths.append([start])  # an isolated pixel: a dot
    for start in np.nonzero(~is_node)[0].tolist():  # loops without any node
        for first in nbrs[start]:
            if (start, first) not in seen:
                pix_paths.append(_walk(start, first, nbrs, is_node, seen))
    # drop short spurs hanging off junctions (skeleton artefacts), keep connectors between junctions
    paths, ends = [], []
    for pp in pix_paths:
        a, b = int(node_id[pp[0]]), int(node_id[pp[-1]])
        if len(pp) < min_length_px and (a < 0) != (b < 0):
            continue
        if len(pp) >= 2 and a >= 0 and a == b and len(pp) < 3:
            continue  # a step inside one junction cluster
        paths.append(pts[pp].astype(np.float64))
        ends.append((a, b))
    joined = _join_at_junctions(paths, ends) if paths else []
    strokes = [p for p in joined if stroke_length(p) >= min_length_px - 1 or len(p) >= min_length_px]
    scale = np.array([1.0 / w, 1.0 / h])
    strokes = [((p + 0.5) * scale).astype(np.float32) for p in strokes]
    strokes = simplify_strokes(strokes, tolerance=0.7 / max(h, w))
    return _drawing_order(strokes)
