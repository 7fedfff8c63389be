"""Marks people add around a drawing that are not the object: a frame, a ground line, hatching, a signature.

A person who draws a chair on paper often boxes it in, stands it on a line, or hatches its shadow.
None of that is in a training sketch, and each pulls the answer elsewhere (a frame makes every drawing
a box; hatching is read as slats or legs). :func:`find_page_marks` finds them among the strokes of a
drawing -- strokes from the pad or a file, or the centre lines traced from a page by
:mod:`sbsr_lab.data.sketch_image` -- with geometric rules on each stroke's extent, straightness and
direction, so one rule serves every input path:

* **frame**: strokes lying along the border of the drawing's bounding box, together covering at least
  three of its four sides, with everything else inside and clear of that border;
* **ground line**: a long, straight, nearly horizontal stroke at the foot of the drawing that reaches
  beyond the rest of it on the sides (at least 15 % of its width in all);
* **hatching**: four or more short, straight, parallel diagonal strokes close to one another;
* **signature**: a short, flat band of writing above or below the drawing, apart from it and off to
  one side of its middle.

A ground line or hatching is only dropped when what is left is still most of the drawing (:data:`MIN_KEPT`
of its ink length): a drawing that is all parallel lines stays as it is.

>>> import numpy as np
>>> box = [np.array([[0.0, 0.0], [1, 0], [1, 1], [0, 1], [0, 0]])]
>>> chair = [np.array([[0.3, 0.2], [0.3, 0.8]]), np.array([[0.3, 0.5], [0.7, 0.5], [0.7, 0.8]])]
>>> find_page_marks(box + chair).tolist()
[True, False, False]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from sbsr_lab.data.strokes import check_strokes, stroke_length

__all__ = ["find_page_marks", "remove_page_marks", "MIN_KEPT"]

#: Marks are dropped only when the strokes left hold at least this share of the drawing's ink length.
MIN_KEPT: float = 0.4

_BAND = 0.06          # a frame's strokes lie within this share of the box's side from its border
_STRAIGHT = 0.93      # chord / length of a straight stroke


def _straightness(s: np.ndarray) -> float:
    length = stroke_length(s)
    return float(np.linalg.norm(s[-1] - s[0]) / length) if length > 0 else 0.0


def _box(strokes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    pts = np.concatenate(strokes, axis=0)
    return pts.min(axis=0), pts.max(axis=0)


def _frame(strokes: list[np.ndarray]) -> np.ndarray:
    """Strokes that form a frame round the rest (module docstring), as a boolean mask."""
    lo, hi = _box(strokes)
    size = hi - lo
    if float(size.min()) <= 0:
        return np.zeros(len(strokes), dtype=bool)
    band = _BAND * size  # (2,) tolerance in x and y
    on_border = np.array([bool(np.all((np.abs(s[:, 0] - lo[0]) <= band[0]) | (np.abs(s[:, 0] - hi[0]) <= band[0])
                                      | (np.abs(s[:, 1] - lo[1]) <= band[1]) | (np.abs(s[:, 1] - hi[1]) <= band[1])))
                          and stroke_length(s) >= 0.3 * float(size.min()) for s in strokes])
    if not on_border.any() or on_border.all():
        return np.zeros(len(strokes), dtype=bool)
    border = np.concatenate([s for s, b in zip(strokes, on_border) if b])
    sides = 0
    for axis, value in ((0, lo[0]), (0, hi[0]), (1, lo[1]), (1, hi[1])):
        along = border[np.abs(border[:, axis] - value) <= band[axis], 1 - axis]
        if along.size and float(np.ptp(along)) >= 0.6 * float(size[1 - axis]):
            sides += 1
    if sides < 3:
        return np.zeros(len(strokes), dtype=bool)
    c_lo, c_hi = _box([s for s, b in zip(strokes, on_border) if not b])
    inset = bool(np.all(c_lo - lo >= band) and np.all(hi - c_hi >= band))
    share = float(np.prod(c_hi - c_lo) / np.prod(size))
    return on_border if inset and 0.1 <= share <= 0.85 else np.zeros(len(strokes), dtype=bool)


def _ground(strokes: list[np.ndarray]) -> np.ndarray:
    """The ground line under the rest (module docstring), as a boolean mask (at most one stroke)."""
    marks = np.zeros(len(strokes), dtype=bool)
    if len(strokes) < 2:
        return marks
    lo, hi = _box(strokes)
    height = float(hi[1] - lo[1])
    best, best_y = -1, -np.inf
    for i, s in enumerate(strokes):
        d = s[-1] - s[0]
        if _straightness(s) < _STRAIGHT or abs(float(d[1])) > 0.18 * abs(float(d[0])):
            continue  # not a straight line within ~10 degrees of horizontal
        y = float(s[:, 1].mean())
        if y >= hi[1] - 0.05 * height and y > best_y:
            best, best_y = i, y
    if best < 0:
        return marks
    rest = [s for i, s in enumerate(strokes) if i != best]
    r_lo, r_hi = _box(rest)
    width = float(r_hi[0] - r_lo[0])
    left, right = float(r_lo[0] - strokes[best][:, 0].min()), float(strokes[best][:, 0].max() - r_hi[0])
    if width > 0 and min(left, right) >= -0.05 * width and left + right >= 0.15 * width \
            and float(r_hi[1] - r_lo[1]) >= 0.3 * height:
        marks[best] = True
    return marks


def _hatching(strokes: list[np.ndarray]) -> np.ndarray:
    """Groups of short parallel diagonal strokes (module docstring), as a boolean mask."""
    marks = np.zeros(len(strokes), dtype=bool)
    lo, hi = _box(strokes)
    extent = float((hi - lo).max())
    cand = []
    for i, s in enumerate(strokes):
        d = s[-1] - s[0]
        length = float(np.linalg.norm(d))
        angle = float(np.degrees(np.arctan2(d[1], d[0]))) % 180.0
        diagonal = 20.0 <= angle <= 70.0 or 110.0 <= angle <= 160.0
        if diagonal and 0 < length <= 0.3 * extent and _straightness(s) >= 0.9:
            cand.append((i, angle, length, s.mean(axis=0)))
    if len(cand) < 4:
        return marks
    idx = np.array([c[0] for c in cand])
    ang = np.array([c[1] for c in cand])
    lens = np.array([c[2] for c in cand])
    mid = np.array([c[3] for c in cand])
    dang = np.abs(ang[:, None] - ang[None, :])
    dang = np.minimum(dang, 180.0 - dang)
    # side by side: the midpoints' offset across the lines within two line lengths, along them within one
    rad = np.radians(ang)
    u = np.stack([np.cos(rad), np.sin(rad)], axis=1)  # (C, 2) each line's direction
    off = mid[None, :] - mid[:, None]  # (C, C, 2)
    along = np.abs((off * u[:, None]).sum(-1))
    across = np.abs(off[..., 0] * u[:, None, 1] - off[..., 1] * u[:, None, 0])
    short = np.minimum(lens[:, None], lens[None, :])
    near = (across <= 2.0 * short + 1e-9) & (along <= short + 1e-9)
    for members in _groups((dang <= 12.0) & near):
        if len(members) >= 4:
            marks[idx[members]] = True
    return marks


def _groups(adjacent: np.ndarray) -> list[list[int]]:
    """Connected groups of a small symmetric boolean adjacency matrix ``(C, C)`` (a flood fill: the
    candidates are a few dozen strokes, and scipy's graph module would cost a query 0.17 s to import)."""
    seen = np.zeros(len(adjacent), dtype=bool)
    out = []
    for start in range(len(adjacent)):
        if seen[start]:
            continue
        seen[start] = True
        group, frontier = [start], [start]
        while frontier:
            nxt = np.nonzero(adjacent[frontier].any(axis=0) & ~seen)[0].tolist()
            seen[nxt] = True
            group += nxt
            frontier = nxt
        out.append(group)
    return out


def _signature(strokes: list[np.ndarray]) -> np.ndarray:
    """A signature or a written word: strokes in a flat band of their own above or below the drawing
    (an empty gap between), short, and off to one side of the drawing's middle."""
    marks = np.zeros(len(strokes), dtype=bool)
    lo, hi = _box(strokes)
    extent = float((hi - lo).max())
    spans = sorted((float(s[:, 1].min()), float(s[:, 1].max()), i) for i, s in enumerate(strokes))
    bands: list[list[int]] = []
    top = -np.inf
    for y0, y1, i in spans:  # strokes whose vertical spans overlap (within a small gap) share a band
        if bands and y0 <= top + 0.03 * extent:
            bands[-1].append(i)
            top = max(top, y1)
        else:
            bands.append([i])
            top = y1
    if len(bands) < 2:
        return marks
    lengths = np.array([stroke_length(s) for s in strokes])
    main = max(range(len(bands)), key=lambda b: lengths[bands[b]].sum())
    m_lo, m_hi = _box([strokes[i] for i in bands[main]])
    centre = 0.5 * float(m_lo[0] + m_hi[0])
    for b in {0, len(bands) - 1} - {main}:
        b_lo, b_hi = _box([strokes[i] for i in bands[b]])
        if float(b_hi[1] - b_lo[1]) <= 0.15 * extent and lengths[bands[b]].sum() <= 0.2 * lengths.sum() \
                and not (b_lo[0] < centre < b_hi[0]):
            marks[bands[b]] = True
    return marks


def find_page_marks(strokes: Sequence[Any]) -> np.ndarray:
    """Which strokes are a frame, a ground line or hatching (module docstring): ``(N,)`` bool, one per
    stroke of ``strokes`` (polylines, any coordinates with y down). Ground lines and hatching are kept
    when dropping them would leave less than :data:`MIN_KEPT` of the ink length inside the frame."""
    strokes = [np.asarray(s, dtype=np.float64) for s in check_strokes(strokes)]
    if len(strokes) < 2:
        return np.zeros(len(strokes), dtype=bool)
    frame = _frame(strokes)  # its own rule already asks for a drawing inside
    inside = np.nonzero(~frame)[0]
    marks = np.zeros(len(inside), dtype=bool)
    for rule in (_signature, _ground, _hatching):
        left = np.nonzero(~marks)[0]
        if len(left) < 2:
            break
        marks[left[rule([strokes[inside[i]] for i in left])]] = True
    lengths = np.array([stroke_length(strokes[i]) for i in inside])
    if marks.all() or lengths[~marks].sum() < MIN_KEPT * lengths.sum():
        marks[:] = False
    frame[inside[marks]] = True
    return frame


def remove_page_marks(strokes: Sequence[Any], widths: Sequence[float] | None = None
                      ) -> tuple[list[np.ndarray], list[float] | None]:
    """``strokes`` (and their per-stroke ``widths``) without the page marks :func:`find_page_marks` finds."""
    strokes = check_strokes(strokes)
    marks = find_page_marks(strokes)
    kept = [s for s, m in zip(strokes, marks) if not m]
    if widths is None or len(widths) != len(strokes):
        return kept, None if widths is None else list(widths)
    return kept, [float(w) for w, m in zip(widths, marks) if not m]
