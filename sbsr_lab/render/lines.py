"""Line drawings from a ray-cast hit buffer: outline, depth discontinuities and creases (ink = 1).

Edges are found between 4-neighbouring samples of the (supersampled) hit buffer:

* **outline** -- one sample hits the shape and the other does not (the sample on the shape is inked);
* **depth discontinuity** -- both hit, on different faces, and neither face's plane explains the other
  sample's distance (relative error above ``depth_tol``): one surface occludes another. Extending the
  plane, rather than comparing raw depths, keeps surfaces seen at grazing angles free of false lines;
* **crease** -- both hit, on different faces whose (camera-facing) normals differ by more than
  ``crease_deg`` degrees.

For the last two the sample nearer to the camera is inked. The one-sample-wide edge set is then
widened to ``width`` samples with a soft falloff (distance to the nearest edge sample), so that box-downsampling the
result gives anti-aliased lines of ``width / supersample`` output pixels.
"""

from __future__ import annotations

import math

import numpy as np

from sbsr_lab.render.rays import HitBuffer

__all__ = ["edge_mask", "line_image"]


def edge_mask(buf: HitBuffer, crease_deg: float = 35.0, depth_tol: float = 0.02) -> np.ndarray:
    """``(V, n, n)`` bool: samples on an outline, depth discontinuity or crease (see module docstring).

    Args:
        buf: hit buffer from :func:`sbsr_lab.render.rays.cast_rays`.
        crease_deg: normals differing by more than this angle (degrees) make a crease.
        depth_tol: relative distance error (fraction of the distance from the eye) above which two
            neighbouring samples are on surfaces that do not touch.
    """
    tri, t = buf.tri, buf.t
    v, n = tri.shape[:2]
    dirs = buf.rays.dirs.reshape(v, n, n, 3)
    hit = tri >= 0
    edges = np.zeros_like(hit)
    cos_max = math.cos(math.radians(crease_deg))
    for axis in (1, 2):  # vertical, then horizontal neighbours
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        ha, hb = hit[tuple(a)], hit[tuple(b)]
        outline = ha != hb
        edges[tuple(a)] |= outline & ha
        edges[tuple(b)] |= outline & hb

        ia = np.nonzero(ha & hb & (tri[tuple(a)] != tri[tuple(b)]))  # pairs on different faces
        ib = list(ia)
        ib[axis] = ib[axis] + 1
        ib = tuple(ib)
        fa, fb = tri[ia], tri[ib]
        na = buf.face_normals[fa] * buf.face_sign[ia[0], fa][:, None]  # (K, 3), turned to the camera
        nb = buf.face_normals[fb] * buf.face_sign[ib[0], fb][:, None]
        crease = np.einsum("ki,ki->k", na, nb) < cos_max
        ta, tb = t[ia], t[ib]
        with np.errstate(divide="ignore", invalid="ignore"):
            tb_on_a = buf.face_q[ia[0], fa] / np.einsum("ki,ki->k", na, dirs[ib])  # b's ray against a's plane
            ta_on_b = buf.face_q[ib[0], fb] / np.einsum("ki,ki->k", nb, dirs[ia])
            err = np.minimum(np.abs(tb_on_a - tb) / tb, np.abs(ta_on_b - ta) / ta)
        edge = crease | ~(err <= depth_tol)  # NaN (parallel ray and plane) counts as a discontinuity
        a_nearer = ta <= tb
        pick_a, pick_b = edge & a_nearer, edge & ~a_nearer
        edges[tuple(i[pick_a] for i in ia)] = True
        edges[tuple(i[pick_b] for i in ib)] = True
    return edges


def _disk_offsets(reach: float) -> dict[float, list[tuple[int, int]]]:
    """Integer offsets closer than ``reach``, grouped by their length."""
    r = int(math.ceil(reach))
    groups: dict[float, list[tuple[int, int]]] = {}
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            d = math.hypot(dy, dx)
            if d < reach:
                groups.setdefault(d, []).append((dy, dx))
    return groups


def _shifted(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``mask`` ``(V, n, n)`` moved by (dy, dx) samples, zero-filled."""
    out = np.zeros_like(mask)
    n0, n1 = mask.shape[1:]
    out[:, max(dy, 0):n0 + min(dy, 0), max(dx, 0):n1 + min(dx, 0)] = \
        mask[:, max(-dy, 0):n0 + min(-dy, 0), max(-dx, 0):n1 + min(-dx, 0)]
    return out


def line_image(buf: HitBuffer, width: float, crease_deg: float = 35.0, depth_tol: float = 0.02) -> np.ndarray:
    """``(V, n, n)`` float32 ink in [0, 1] at the buffer's resolution, lines ``width`` samples wide.

    Ink falls off linearly with the distance d (in samples) from the nearest edge sample:
    ``clip(width / 2 + 0.5 - d, 0, 1)``, i.e. the coverage of a sample by a band of that width.
    The distance is exact for the few integer offsets within reach (a small dilation per distance).
    """
    edges = edge_mask(buf, crease_deg=crease_deg, depth_tol=depth_tol)
    ink = np.zeros(edges.shape, dtype=np.float32)
    reach = width / 2.0 + 0.5
    for d, offsets in sorted(_disk_offsets(reach).items(), reverse=True):  # far (faint) first, near overwrites
        ring = np.zeros_like(edges)
        for dy, dx in offsets:
            ring |= _shifted(edges, dy, dx)
        ink[ring] = min(1.0, reach - d)
    return ink
