"""Ray casting: the primary rays of V cameras, the first-hit tracer and the hit buffer every view style is made of.

:func:`cast_rays` casts ``n`` x ``n`` rays per camera, all V views in one Embree call (``embreex``,
first hit only), and returns a :class:`HitBuffer` (triangle index and distance per sample, plus
per-(view, face) tables). :mod:`sbsr_lab.render.raycast` turns it into depth, normals, shaded and
silhouette views, :mod:`sbsr_lab.render.lines` into line drawings.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh

from sbsr_lab.render.cameras import Camera

__all__ = ["Rays", "camera_rays", "Tracer", "HitBuffer", "cast_rays"]


@dataclass(frozen=True)
class Rays:
    """Primary rays of V cameras on an n x n sample grid (rows top to bottom), R = V * n * n."""

    origins: np.ndarray      # (R, 3) float32 world
    dirs: np.ndarray         # (R, 3) float32 world, unit length
    axial: np.ndarray        # (V, n, n) float32: cos(angle to the optical axis); z_cam = t * axial
    rotations: np.ndarray    # (V, 3, 3) camera-to-world rotations (columns: right, up, back)
    eyes: np.ndarray         # (V, 3)
    centre_depth: np.ndarray  # (V,) camera-space depth of the world origin


@functools.lru_cache(maxsize=4)
def camera_rays(cameras: tuple[Camera, ...], n: int) -> Rays:
    """Ray origins and directions for ``cameras`` at ``n`` x ``n`` samples (cached per rig and size: four,
    as ``sbsr-lab index`` draws from two rigs and thumbnails from a third; ~12 MB for 8 views at 256)."""
    centres = (np.arange(n, dtype=np.float64) + 0.5) / n * 2.0 - 1.0  # sample centres in [-1, 1]
    xs, ys = np.meshgrid(centres, -centres)  # image rows go downwards, camera +Y upwards
    mats = np.stack([c.matrix() for c in cameras])
    rots, eyes = mats[:, :3, :3], mats[:, :3, 3]
    dirs, axial = [], []
    for cam, rot in zip(cameras, rots):
        half = math.tan(math.radians(cam.fov_deg) / 2.0)
        d_cam = np.stack([xs * half, ys * half, -np.ones_like(xs)], axis=-1)
        d_cam /= np.linalg.norm(d_cam, axis=-1, keepdims=True)
        dirs.append(d_cam @ rot.T)
        axial.append(-d_cam[..., 2])
    dirs_arr = np.stack(dirs).reshape(-1, 3).astype(np.float32)
    origins = np.repeat(eyes, n * n, axis=0).astype(np.float32)
    centre_depth = np.einsum("vi,vi->v", -rots[:, :, 2], -eyes)  # forward . (origin - eye)
    for arr in (dirs_arr, origins):
        arr.flags.writeable = False
    return Rays(origins, dirs_arr, np.stack(axial).astype(np.float32), rots, eyes, centre_depth)


class Tracer:
    """First-hit ray queries against one mesh.

    Embree through ``embreex`` (the library behind trimesh's ``ray_pyembree``), called directly: it
    returns the hit distance with the triangle, and skipping trimesh's float64 copies of the rays
    halves the cost. Without embreex (or with ``use_embree=False``) trimesh's pure-numpy tracer is used,
    which is exact but far slower.
    """

    def __init__(self, mesh: trimesh.Trimesh, use_embree: bool = True) -> None:
        self.normals = np.asarray(mesh.face_normals, dtype=np.float32)            # (F, 3)
        self.offsets = np.einsum("fi,fi->f", mesh.face_normals, mesh.triangles[:, 0]).astype(np.float32)  # (F,)
        self._scene = None
        if use_embree:
            try:
                from embreex import rtcore_scene
                from embreex.mesh_construction import TriangleMesh
            except ImportError:  # pragma: no cover - embreex ships wheels for the usual platforms
                use_embree = False
            else:
                self._scene = rtcore_scene.EmbreeScene()
                TriangleMesh(scene=self._scene, vertices=np.asarray(mesh.vertices, dtype=np.float32),
                             indices=np.asarray(mesh.faces, dtype=np.int32))
        if not use_embree:
            self._fallback = trimesh.ray.ray_triangle.RayMeshIntersector(mesh)

    def first_hits(self, origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Triangle index ``(R,)`` int (-1 = miss) and distance ``(R,)`` float32 along each unit ray."""
        if self._scene is not None:
            out = self._scene.run(origins, dirs, output=1)
            return out["primID"], out["tfar"]
        tri = self._fallback.intersects_first(origins, dirs)
        safe = np.maximum(tri, 0)
        n = self.normals[safe]
        with np.errstate(divide="ignore", invalid="ignore"):  # ray-plane distance of the hit face
            t = (self.offsets[safe] - np.einsum("ri,ri->r", n, origins)) / np.einsum("ri,ri->r", n, dirs)
        return tri, np.where(tri >= 0, t, np.inf).astype(np.float32)


_TRACER_CACHE: dict[str, object] = {}


def tracer_for(mesh: trimesh.Trimesh) -> Tracer:
    """The tracer of ``mesh``, rebuilt only when another mesh (or changed geometry) comes in."""
    key = (id(mesh), hash(mesh))
    if _TRACER_CACHE.get("key") != key:
        _TRACER_CACHE.update(key=key, tracer=Tracer(mesh))
    return _TRACER_CACHE["tracer"]  # type: ignore[return-value]


@dataclass
class HitBuffer:
    """Everything the styles are made of, at the supersampled resolution n = supersample * size.

    Per-sample arrays say which face each ray hit and how far; per-(view, face) tables say how that
    face looks from that view (a face is seen from one side by the whole view, as the eye is on one
    side of its plane), so styles are table look-ups.

    Attributes:
        tri: ``(V, n, n)`` int32, hit triangle index, -1 on the background.
        t: ``(V, n, n)`` float32, distance from the eye along the unit ray (inf on the background).
        rays: the rays of the full sample grid.
        face_normals: ``(F, 3)`` float32 unit face normals of the mesh (world frame, as stored).
        face_sign: ``(V, F)`` float32, +1 or -1: turns each face normal towards the camera of the view.
        face_q: ``(V, F)`` float32, ``n . (v0 - eye)`` with the turned normal n, so that the distance
            along a ray d to the face's plane is ``face_q / (n . d)``.
    """

    tri: np.ndarray
    t: np.ndarray
    rays: Rays
    face_normals: np.ndarray
    face_sign: np.ndarray
    face_q: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        """``(V, n, n)`` bool: the sample hits the shape."""
        return self.tri >= 0

    def face_index(self) -> np.ndarray:
        """``(V, n, n)`` int: row of a per-(view, face) table flattened to ``(V * F + 1, ...)``; V*F = background."""
        v, f = self.face_sign.shape
        idx = self.tri + (np.arange(v, dtype=np.int64) * f)[:, None, None]
        return np.where(self.tri >= 0, idx, v * f)


def _face_tables(tracer: Tracer, rays: Rays) -> tuple[np.ndarray, np.ndarray]:
    """``face_sign`` and ``face_q`` tables ``(V, F)`` (see :class:`HitBuffer`)."""
    q_raw = tracer.offsets[None, :] - rays.eyes.astype(np.float32) @ tracer.normals.T  # n . (v0 - eye)
    sign = np.where(q_raw > 0, np.float32(-1.0), np.float32(1.0))  # eye behind the plane: turn the normal
    return sign, (sign * q_raw).astype(np.float32)


def cast_rays(mesh: trimesh.Trimesh, cameras: Sequence[Camera], n: int) -> HitBuffer:
    """Cast ``n`` x ``n`` rays per camera, all V views in one Embree call, and return the :class:`HitBuffer`."""
    cams = tuple(cameras)
    v = len(cams)
    rays = camera_rays(cams, n)
    tracer = tracer_for(mesh)
    sign, q = _face_tables(tracer, rays)
    tri, t = tracer.first_hits(rays.origins, rays.dirs)
    tri = tri.reshape(v, n, n)
    t = np.where(tri >= 0, t.reshape(v, n, n), np.float32(np.inf))
    return HitBuffer(tri, t, rays, tracer.normals, sign, q)
