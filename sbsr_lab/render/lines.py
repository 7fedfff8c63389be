"""Line drawings from a ray-cast hit buffer: outline, depth discontinuities and creases (ink = 1).

Edges are found between 4-neighbouring samples of the (supersampled) hit buffer:

* **outline** -- one sample hits the shape and the other does not (the sample on the shape is inked);
* **depth discontinuity** -- both hit, on different faces, and neither face's plane explains the other
  sample's distance (relative error above ``depth_tol``): one surface occludes another. Extending the
  plane, rather than comparing raw depths, keeps surfaces seen at grazing angles free of false lines;
* **crease** -- both hit, on different faces whose (camera-facing) normals differ by more than
  ``crease_deg`` degrees.

For the last two the sample nearer to the camera is inked. The one-sample-wide edge set is then
widened to ``width`` samples with a soft falloff (distance transform), so that box-downsampling the
result gives anti-aliased lines of ``width / supersample`` output pixels.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.ndimage as ndi

if TYPE_CHECKING:  # pragma: no cover
    from sbsr_lab.render.raycast import HitBuffer

__all__ = ["edge_mask", "line_image"]


def edge_mask(buf: HitBuffer, crease_deg: float = 35.0, depth_tol: float = 0.02) -> np.ndarray:
    """``(V, n, n)`` bool: samples on an outline, depth discontinuity or crease (see module docstring).

    Args:
        buf: hit buffer from :func:`sbsr_lab.render.raycast.cast_rays`.
        crease_deg: normals differing by more than this angle (degrees) make a crease.
        depth_tol: relative distance error (fraction of the distance from the eye) above which two
            neighbouring samples are on surfaces that do not touch.
    """
    tri, t, normals, plane_q = buf.tri, buf.t, buf.normals, buf.plane_q
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
        na, nb = normals[ia], normals[ib]  # (K, 3)
        crease = np.einsum("ki,ki->k", na, nb) < cos_max
        ta, tb = t[ia], t[ib]
        with np.errstate(divide="ignore", invalid="ignore"):
            tb_on_a = plane_q[ia] / np.einsum("ki,ki->k", na, dirs[ib])  # b's ray against a's plane
            ta_on_b = plane_q[ib] / np.einsum("ki,ki->k", nb, dirs[ia])
            err = np.minimum(np.abs(tb_on_a - tb) / tb, np.abs(ta_on_b - ta) / ta)
        edge = crease | ~(err <= depth_tol)  # NaN (parallel ray and plane) counts as a discontinuity
        a_nearer = ta <= tb
        pick_a, pick_b = edge & a_nearer, edge & ~a_nearer
        edges[tuple(i[pick_a] for i in ia)] = True
        edges[tuple(i[pick_b] for i in ib)] = True
    return edges


def line_image(buf: HitBuffer, width: float, crease_deg: float = 35.0, depth_tol: float = 0.02) -> np.ndarray:
    """``(V, n, n)`` float32 ink in [0, 1] at the buffer's resolution, lines ``width`` samples wide.

    Ink falls off linearly with the distance d (in samples) from the nearest edge sample:
    ``clip(width / 2 + 0.5 - d, 0, 1)``, i.e. the coverage of a pixel by a band of that width.
    """
    edges = edge_mask(buf, crease_deg=crease_deg, depth_tol=depth_tol)
    ink = np.zeros(edges.shape, dtype=np.float32)
    reach = width / 2.0 + 0.5
    for i, e in enumerate(edges):
        if not e.any():
            continue
        rows, cols = np.nonzero(e)
        pad = int(math.ceil(reach)) + 1  # the distance transform only needs a window around the edges
        r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, e.shape[0])
        c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, e.shape[1])
        dist = ndi.distance_transform_edt(~e[r0:r1, c0:c1])
        ink[i, r0:r1, c0:c1] = np.clip(reach - dist, 0.0, 1.0)
    return ink
