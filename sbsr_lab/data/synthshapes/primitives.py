"""Watertight mesh primitives for the SynthShapes generators, built directly with numpy.

Every function returns a :class:`Part`: one closed, consistently wound surface whose normals point
outwards (its signed volume is positive). A shape is the concatenation of its parts
(:func:`assemble`); parts may overlap, no boolean operations are done.

``trimesh.creation`` builds the same solids but costs ~0.5-1 ms per call; a SynthShape has up to ~60
parts and the default profile builds ~1,000 shapes, so the primitives here reuse one ring/cap
topology builder (:func:`_swept`) and cost tens of microseconds.

Conventions: +Y is up, lengths in metres, angles in radians. Profiles for :func:`lathe` are
``(r, y)`` pairs around the Y axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import trimesh
from scipy.spatial import ConvexHull

__all__ = [
    "Part",
    "assemble",
    "box",
    "boxes",
    "beam",
    "cylinder",
    "frustum",
    "ellipsoid",
    "lathe",
    "torus",
    "tube",
    "loft",
    "prism",
    "hull",
    "rotation",
]

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Part:
    """One closed solid: ``vertices`` (N, 3) float64 in metres, ``faces`` (F, 3) int64, outward normals."""

    vertices: np.ndarray
    faces: np.ndarray

    def transformed(self, matrix: np.ndarray) -> "Part":
        """Apply a (4, 4) affine transform; a mirroring transform keeps the normals outward."""
        v = self.vertices @ matrix[:3, :3].T + matrix[:3, 3]
        faces = self.faces if np.linalg.det(matrix[:3, :3]) > 0 else self.faces[:, ::-1]
        return Part(v, faces)

    def translated(self, offset: ArrayLike) -> "Part":
        """Shift by ``offset`` (3,)."""
        return Part(self.vertices + np.asarray(offset, dtype=float), self.faces)

    def rotated(self, angle: float, axis: ArrayLike, about: ArrayLike = (0.0, 0.0, 0.0)) -> "Part":
        """Rotate by ``angle`` radians around ``axis`` through the point ``about``."""
        return self.transformed(rotation(angle, axis, about))

    def mirrored_x(self) -> "Part":
        """Mirror across the plane x = 0 (left/right symmetric pairs)."""
        return self.transformed(np.diag([-1.0, 1.0, 1.0, 1.0]))


def rotation(angle: float, axis: ArrayLike, about: ArrayLike = (0.0, 0.0, 0.0)) -> np.ndarray:
    """(4, 4) rotation by ``angle`` radians around ``axis`` through ``about`` (Rodrigues)."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    r = np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)
    m = np.eye(4)
    m[:3, :3] = r
    p = np.asarray(about, dtype=float)
    m[:3, 3] = p - r @ p
    return m


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (np.cross costs ~50 us of overhead per call)."""
    return np.stack(
        [a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2], a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]],
        -1,
    )


def _cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of two 3-vectors."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed surface; negative when its normals point inwards."""
    v0, v1, v2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    return float((v0 * _cross(v1, v2)).sum() / 6.0)


def _outward(vertices: np.ndarray, faces: np.ndarray) -> Part:
    """Wrap a consistently wound closed surface, flipping it if its normals point inwards."""
    if _signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    return Part(vertices, faces)


def _earclip(poly: np.ndarray) -> np.ndarray:
    """Triangulate a simple 2D polygon (K, 2) by ear clipping; (K-2, 3) indices following the input order."""
    k = len(poly)
    area = 0.5 * np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1])
    order = list(range(k)) if area > 0 else list(range(k))[::-1]
    tris: list[tuple[int, int, int]] = []

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    guard = 0
    while len(order) > 3 and guard < 10 * k * k:
        guard += 1
        n = len(order)
        for i in range(n):
            ia, ib, ic = order[i - 1], order[i], order[(i + 1) % n]
            a, b, c = poly[ia], poly[ib], poly[ic]
            if cross(a, b, c) <= 1e-12:
                continue  # reflex or flat corner: not an ear
            inside = False
            for j in order:
                if j in (ia, ib, ic):
                    continue
                p = poly[j]
                if cross(a, b, p) >= 0 and cross(b, c, p) >= 0 and cross(c, a, p) >= 0:
                    inside = True
                    break
            if not inside:
                tris.append((ia, ib, ic))
                order.pop(i)
                break
        else:
            raise ValueError("polygon is not simple: ear clipping found no ear")
    tris.append((order[0], order[1], order[2]))
    out = np.array(tris, dtype=np.int64)
    return out if area > 0 else out[:, ::-1]


@lru_cache(maxsize=256)
def _grid_faces(m: int, k: int, wrap: bool) -> np.ndarray:
    """Two triangles per quad between consecutive rings of k points ((m or m-1) * k * 2, 3)."""
    i = np.arange(m if wrap else m - 1)[:, None]
    j = np.arange(k)[None, :]
    i1, j1 = (i + 1) % m, (j + 1) % k
    a, b, c, d = i * k + j, i * k + j1, i1 * k + j1, i1 * k + j
    out = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    out.flags.writeable = False  # cached: shared by every part with this topology
    return out


@lru_cache(maxsize=256)
def _cap_faces(m: int, k: int, start: str, end: str) -> np.ndarray:
    """Faces closing the first and last ring: a fan to an extra pole vertex, or a convex fan."""
    faces = []
    n = m * k
    jj = np.arange(k)
    for which, mode in (("start", start), ("end", end)):
        idx = (0 if which == "start" else m - 1) * k + jj
        if mode == "pole":
            fan = np.stack([np.full(k, n), np.roll(idx, -1), idx], -1)
            n += 1
        elif mode == "convex":
            fan = np.stack([np.full(k - 2, idx[0]), idx[2:], idx[1:-1]], -1)
        else:
            raise ValueError(f"unknown cap mode {mode!r}")
        faces.append(fan if which == "start" else fan[:, ::-1])
    out = np.concatenate(faces)
    out.flags.writeable = False
    return out


def _swept(
    rings: np.ndarray,
    start: str = "pole",
    end: str = "pole",
    wrap: bool = False,
    poles: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    cap_2d: np.ndarray | None = None,
) -> Part:
    """Closed surface through M rings of K points each (M, K, 3), each ring closed around K.

    ``start``/``end`` close the first/last ring: ``"pole"`` fans to one extra vertex (``poles`` or
    the ring centroid; the ring must be star-shaped around it), ``"convex"`` fans inside a convex
    ring, ``"flat"`` triangulates a planar ring whose 2D outline is ``cap_2d`` (K, 2) by ear clipping.
    ``wrap=True`` joins the last ring to the first (a torus-like loop) and needs no caps.
    """
    m, k, _ = rings.shape
    verts = rings.reshape(-1, 3)
    grid = _grid_faces(m, k, wrap)
    if wrap:
        return _outward(verts, grid)
    if start == "flat" or end == "flat":
        tri = _earclip(np.asarray(cap_2d, float))
        caps = np.concatenate([tri[:, ::-1], tri + (m - 1) * k])
    else:
        caps = _cap_faces(m, k, start, end)
    extra = []
    for which, mode in ((0, start), (1, end)):
        if mode == "pole":
            pole = poles[which]
            extra.append(rings[0 if which == 0 else m - 1].mean(0) if pole is None else np.asarray(pole, float))
    if extra:
        verts = np.concatenate([verts, np.stack(extra)])
    return _outward(verts, np.concatenate([grid, caps]))


def _circle(sections: int, phase: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    t = phase + np.linspace(0.0, 2.0 * np.pi, sections, endpoint=False)
    return np.cos(t), np.sin(t)


def lathe(profile: ArrayLike, sections: int = 14, closed: bool = False, phase: float = 0.0) -> Part:
    """Revolve a profile of ``(r, y)`` points (P, 2) around the Y axis.

    Open profiles are closed at both ends by a point on the axis (add ``(0, y)`` yourself or let
    the function do it); inner points need ``r > 0``. ``closed=True`` treats the profile as a loop
    away from the axis (rings, tori, hollow shades). ``sections=4`` with ``phase=pi/4`` gives a
    square cross-section.
    """
    prof = np.asarray(profile, dtype=float)
    cos, sin = _circle(sections, phase)
    start_y, end_y = prof[0, 1], prof[-1, 1]
    body = prof
    if not closed:  # drop the axis points: the poles replace them
        body = body[1:] if body[0, 0] <= 1e-9 else body
        body = body[:-1] if body[-1, 0] <= 1e-9 else body
    if np.any(body[:, 0] <= 1e-9):
        raise ValueError("lathe profile: inner points must have r > 0")
    rings = np.stack(
        [body[:, :1] * cos[None, :], np.repeat(body[:, 1:2], sections, 1), body[:, :1] * sin[None, :]], -1
    )
    if closed:
        return _swept(rings, wrap=True)
    return _swept(rings, poles=(np.array([0.0, start_y, 0.0]), np.array([0.0, end_y, 0.0])))


def _align_y(part: Part, p0: ArrayLike, p1: ArrayLike) -> Part:
    """Map a part built along +Y with unit length onto the segment p0 -> p1 (scales Y by its length)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    length = float(np.linalg.norm(d))
    if length < 1e-12:
        raise ValueError(f"a segment primitive needs two distinct end points, got {p0.tolist()} twice")
    y = d / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    x = helper - y * (helper @ y)
    x /= np.linalg.norm(x)
    z = _cross3(x, y)
    m = np.eye(4)
    m[:3, :3] = np.stack([x, y * length, z], 1)
    m[:3, 3] = p0
    return part.transformed(m)


def frustum(p0: ArrayLike, p1: ArrayLike, r0: float, r1: float, sections: int = 14, phase: float = 0.0) -> Part:
    """Truncated cone from ``p0`` (radius ``r0``) to ``p1`` (radius ``r1``); a radius of 0 gives an apex."""
    prof = [(0.0, 0.0)] + [(r, y) for r, y in ((r0, 0.0), (r1, 1.0)) if r > 0] + [(0.0, 1.0)]
    return _align_y(lathe(prof, sections, phase=phase), p0, p1)


def cylinder(p0: ArrayLike, p1: ArrayLike, radius: float, sections: int = 14) -> Part:
    """Capped cylinder of ``radius`` from ``p0`` to ``p1`` (both (3,))."""
    return frustum(p0, p1, radius, radius, sections)


def box(size: ArrayLike, center: ArrayLike = (0.0, 0.0, 0.0)) -> Part:
    """Axis-aligned box of extents ``size`` (3,) centred at ``center`` (3,)."""
    s = np.asarray(size, float) / 2.0
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)  # (x, z) square
    rings = np.stack(
        [
            np.stack([corners[:, 0] * s[0], np.full(4, -s[1]), corners[:, 1] * s[2]], -1),
            np.stack([corners[:, 0] * s[0], np.full(4, s[1]), corners[:, 1] * s[2]], -1),
        ]
    )
    return _swept(rings + np.asarray(center, float), "convex", "convex")


def boxes(sizes: ArrayLike, centers: ArrayLike) -> Part:
    """Many axis-aligned boxes in one part (books, slats, windows): ``sizes`` and ``centers`` are (N, 3).

    Each box stays its own closed component; one call costs about as much as one :func:`box`.
    """
    sz = np.atleast_2d(np.asarray(sizes, float))
    ct = np.atleast_2d(np.asarray(centers, float))
    n = len(ct)
    unit = _unit_box()
    verts = (unit.vertices[None] * sz[:, None] + ct[:, None]).reshape(-1, 3)
    faces = (unit.faces[None] + 8 * np.arange(n)[:, None, None]).reshape(-1, 3)
    return Part(verts, faces)


@lru_cache(maxsize=1)
def _unit_box() -> Part:
    return box((1.0, 1.0, 1.0))


def beam(p0: ArrayLike, p1: ArrayLike, width: float, depth: float | None = None, up: ArrayLike | None = None) -> Part:
    """Rectangular bar (``width`` x ``depth`` cross-section) from ``p0`` to ``p1``.

    ``up`` is the direction of the ``width`` side (default: X, or Z for bars along X).
    """
    return tube([p0, p1], width / np.sqrt(2.0), sections=4, phase=np.pi / 4,
                aspect=(depth if depth is not None else width) / width, normal=up)


def ellipsoid(center: ArrayLike, radii: ArrayLike, sections: int = 12, rings: int = 7) -> Part:
    """Ellipsoid with semi-axes ``radii`` (3,) around ``center``; a UV sphere of (rings - 1) x sections quads."""
    t = np.linspace(0.0, np.pi, rings + 1)
    part = lathe(np.stack([np.sin(t), -np.cos(t)], -1), sections)
    r = np.asarray(radii, float)
    return Part(part.vertices * r + np.asarray(center, float), part.faces)


def torus(center: ArrayLike, major: float, minor: float, axis: ArrayLike = (0, 1, 0),
          sections: int = 16, minor_sections: int = 8) -> Part:
    """Torus around ``axis`` through ``center``: ring radius ``major``, tube radius ``minor``."""
    t = np.linspace(0.0, 2 * np.pi, minor_sections, endpoint=False)
    part = lathe(np.stack([major + minor * np.cos(t), minor * np.sin(t)], -1), sections, closed=True)
    return _orient_axis(part, axis).translated(center)


def _orient_axis(part: Part, axis: ArrayLike) -> Part:
    """Rotate a part built around +Y so that +Y maps onto ``axis``."""
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a)
    y = np.array([0.0, 1.0, 0.0])
    c = float(a @ y)
    if c > 1 - 1e-9:
        return part
    if c < -1 + 1e-9:
        return part.rotated(np.pi, (1, 0, 0))
    return part.rotated(float(np.arccos(c)), _cross3(y, a))


def tube(path: ArrayLike, radius: float | ArrayLike, sections: int = 8, phase: float = 0.0,
         aspect: float = 1.0, normal: ArrayLike | None = None) -> Part:
    """A capped tube swept along a polyline ``path`` (M, 3); ``radius`` is a scalar or (M,) per point.

    Cross-sections are perpendicular to the path (rotation-minimising frames); ``aspect`` scales the
    second axis (ellipses, flat bars) and ``normal`` fixes the direction of the first axis.
    """
    pts = np.asarray(path, float)
    m = len(pts)
    rad = np.broadcast_to(np.asarray(radius, float), (m,))
    seg = np.diff(pts, axis=0)
    seg /= np.linalg.norm(seg, axis=1, keepdims=True)
    tang = np.empty_like(pts)
    tang[0], tang[-1] = seg[0], seg[-1]
    if m > 2:
        mid = seg[:-1] + seg[1:]
        tang[1:-1] = mid / np.linalg.norm(mid, axis=1, keepdims=True)
    if normal is None:
        t0 = tang[0]
        normal = np.array([1.0, 0.0, 0.0]) if abs(t0[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    n = np.asarray(normal, float)
    cos, sin = _circle(sections, phase)
    rings = np.empty((m, sections, 3))
    for i in range(m):
        t = tang[i]
        n = n - t * (n @ t)
        n /= np.linalg.norm(n)
        b = _cross3(t, n)
        # widen the ring at bends so the tube keeps its thickness
        scale = 1.0 if i in (0, m - 1) else 1.0 / max(0.5, float(seg[i - 1] @ tang[i]))
        rings[i] = pts[i] + rad[i] * (cos[:, None] * n * scale + aspect * sin[:, None] * b)
    return _swept(rings, "convex", "convex")


def loft(rings: ArrayLike, start: str = "pole", end: str = "pole") -> Part:
    """Skin through rings (M, K, 3), capped by a fan to each end ring's centroid (star-shaped ends)."""
    return _swept(np.asarray(rings, float), start, end)


def prism(outline: ArrayLike, depth: float, axis: str = "z", center: ArrayLike = (0.0, 0.0, 0.0)) -> Part:
    """Extrude a simple 2D polygon (K, 2) by ``depth``, centred on the plane through ``center``.

    ``axis="z"``: the outline is (x, y), extruded along Z (side profiles, e.g. car bodies);
    ``axis="x"``: the outline is (z, y), extruded along X; ``axis="y"``: the outline is (x, z).
    """
    poly = np.asarray(outline, float)
    k = len(poly)
    h = depth / 2.0
    a, b = poly[:, 0], poly[:, 1]
    if axis == "z":
        rings = np.stack([np.stack([a, b, np.full(k, s)], -1) for s in (-h, h)])
    elif axis == "x":
        rings = np.stack([np.stack([np.full(k, s), b, a], -1) for s in (-h, h)])
    elif axis == "y":
        rings = np.stack([np.stack([a, np.full(k, s), b], -1) for s in (-h, h)])
    else:
        raise ValueError(f"prism axis must be 'x', 'y' or 'z', got {axis!r}")
    return _swept(rings, "flat", "flat", cap_2d=poly).translated(center)


def hull(points: ArrayLike) -> Part:
    """Convex hull of ``points`` (N, 3): roofs, wedges, cabins. Points must not be coplanar."""
    pts = np.asarray(points, float)
    h = ConvexHull(pts)
    used = np.unique(h.simplices)
    remap = np.full(len(pts), -1)
    remap[used] = np.arange(len(used))
    verts = pts[used]
    faces = remap[h.simplices]
    tri = verts[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    flip = np.einsum("ij,ij->i", normals, tri[:, 0] - verts.mean(0)) < 0
    faces[flip] = faces[flip][:, ::-1]
    return Part(verts, faces)


def assemble(parts: Sequence[Part]) -> trimesh.Trimesh:
    """Concatenate parts into one mesh standing on the ground (min y = 0), centred in X and Z.

    Parts keep their own vertices (no merging), so each connected component of the result is one part.
    """
    verts, faces, offset = [], [], 0
    for p in parts:
        verts.append(p.vertices)
        faces.append(p.faces + offset)
        offset += len(p.vertices)
    v = np.concatenate(verts)
    lo, hi = v.min(0), v.max(0)
    v = v - np.array([(lo[0] + hi[0]) / 2.0, lo[1], (lo[2] + hi[2]) / 2.0])
    return trimesh.Trimesh(vertices=v, faces=np.concatenate(faces), process=False, validate=False)
