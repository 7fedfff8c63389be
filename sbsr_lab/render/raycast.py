"""CPU ray casting of meshes into depth, normal, shaded, silhouette and line-drawing views.

One call casts the rays of all V views at once (Embree via ``embreex``, first hit only) and derives
every style from the same hit buffer (triangle index and distance per sample). Anti-aliasing is
supersampling: the buffer is ``supersample`` times finer than the output and box-filtered down.

Styles, each returned as float32 (``render_views``: a leading V axis; ``render_view``: none):

``"silhouette"``  ``(H, W)`` coverage of the shape: 1 inside, 0 on the background.
``"depth"``       ``(H, W)``: 0 is the background; on the shape ``0.1 + 0.45 * (c + 1 - z)``, where z is
                  the camera-space depth of the hit and c the depth of the world origin. So 1 is
                  the nearest point of the unit sphere, 0.1 its farthest: values rise towards the camera.
``"normals"``     ``(H, W, 3)`` in [-1, 1]: unit face normal in the camera frame (x right, y up,
                  z towards the viewer), flipped to face the camera (z >= 0); 0 on the background.
``"shaded"``      ``(H, W)`` grayscale Lambert shading, ``0.2 + 0.8 * max(0, n . l)``, with a light fixed
                  to the camera (slightly above-left of it, ``l`` below); background 0.
``"lines"``       ``(H, W)`` line drawing, ink = 1, paper = 0: the outline (silhouette border), depth
                  discontinuities (occluding contours inside the silhouette) and creases (neighbouring
                  samples on faces whose normals differ by more than ``crease_deg``). Lines are about
                  ``1.25 * size / 128`` output pixels wide (at least 1) and anti-aliased.

Meshes are expected normalised (:func:`sbsr_lab.render.normalize_mesh`: unit bounding sphere at
the origin); the rigs of :mod:`sbsr_lab.render.cameras` then always see the whole shape.

    >>> import trimesh
    >>> from sbsr_lab.render import get_rig, normalize_mesh
    >>> views = render_views(normalize_mesh(trimesh.creation.box()), get_rig("ring12"), size=64,
    ...                      styles=("shaded", "lines"))
    >>> views["shaded"].shape, views["lines"].dtype
    ((12, 64, 64), dtype('float32'))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi
import trimesh

from sbsr_lab.render.cameras import Camera
from sbsr_lab.render.lines import line_image

__all__ = ["STYLES", "render_view", "render_views", "cast_rays", "HitBuffer", "LIGHT_DIR"]

#: Every style :func:`render_views` can produce.
STYLES: tuple[str, ...] = ("depth", "normals", "shaded", "silhouette", "lines")

#: Direction towards the light in the camera frame (x right, y up, z towards the viewer).
LIGHT_DIR = np.array([-0.35, 0.5, 1.0]) / np.linalg.norm([-0.35, 0.5, 1.0])
AMBIENT = 0.2
DEPTH_FLOOR = 0.1


# ----------------------------------------------------------------------------- rays and tracing
@dataclass(frozen=True)
class _Rays:
    """Primary rays of V cameras on an n x n sample grid (rows top to bottom), R = V * n * n."""

    origins: np.ndarray      # (R, 3) float32 world
    dirs: np.ndarray         # (R, 3) float32 world, unit length
    axial: np.ndarray        # (V, n, n) float32: cos(angle to the optical axis); z_cam = t * axial
    rotations: np.ndarray    # (V, 3, 3) camera-to-world rotations (columns: right, up, back)
    eyes: np.ndarray         # (V, 3)
    centre_depth: np.ndarray  # (V,) camera-space depth of the world origin


@functools.lru_cache(maxsize=2)
def _camera_rays(cameras: tuple[Camera, ...], n: int) -> _Rays:
    """Ray origins and directions for ``cameras`` at ``n`` x ``n`` samples (cached per rig and size)."""
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
    return _Rays(origins, dirs_arr, np.stack(axial).astype(np.float32), rots, eyes, centre_depth)


class _Tracer:
    """First-hit ray queries against one mesh: Embree (``embreex``) if present, else trimesh's numpy tracer."""

    def __init__(self, mesh: trimesh.Trimesh) -> None:
        self.normals = np.asarray(mesh.face_normals, dtype=np.float32)            # (F, 3)
        self.offsets = np.einsum("fi,fi->f", mesh.face_normals, mesh.triangles[:, 0]).astype(np.float32)  # (F,)
        try:
            from embreex import rtcore_scene
            from embreex.mesh_construction import TriangleMesh
        except ImportError:  # pragma: no cover - embreex ships wheels for the usual platforms
            self._scene = None
            self._fallback = trimesh.ray.ray_triangle.RayMeshIntersector(mesh)
        else:
            self._scene = rtcore_scene.EmbreeScene()
            TriangleMesh(scene=self._scene, vertices=np.asarray(mesh.vertices, dtype=np.float32),
                         indices=np.asarray(mesh.faces, dtype=np.int32))

    def first_hits(self, origins: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Triangle index ``(R,)`` int (-1 = miss) and distance ``(R,)`` float32 along each unit ray."""
        if self._scene is not None:
            out = self._scene.run(origins, dirs, output=1)
            return out["primID"], out["tfar"]
        tri = self._fallback.intersects_first(origins, dirs)  # pragma: no cover
        n = self.normals[np.maximum(tri, 0)]  # pragma: no cover
        with np.errstate(divide="ignore", invalid="ignore"):  # pragma: no cover
            t = (self.offsets[np.maximum(tri, 0)] - np.einsum("ri,ri->r", n, origins)) / np.einsum("ri,ri->r", n, dirs)
        return tri, t.astype(np.float32)  # pragma: no cover


_TRACER_CACHE: dict[str, object] = {}


def _tracer_for(mesh: trimesh.Trimesh) -> _Tracer:
    """The tracer of ``mesh``, rebuilt only when another mesh (or changed geometry) comes in."""
    key = (id(mesh), hash(mesh))
    if _TRACER_CACHE.get("key") != key:
        _TRACER_CACHE.update(key=key, tracer=_Tracer(mesh))
    return _TRACER_CACHE["tracer"]  # type: ignore[return-value]


@dataclass
class HitBuffer:
    """Everything the styles are made of, at the supersampled resolution n = supersample * size.

    Attributes:
        tri: ``(V, n, n)`` int, hit triangle index, -1 on the background.
        t: ``(V, n, n)`` float32, distance from the eye along the ray (inf on the background).
        normals: ``(V, n, n, 3)`` float32 world-frame face normals flipped to face the camera (0 off the shape).
        rays: the rays that were cast.
    """

    tri: np.ndarray
    t: np.ndarray
    normals: np.ndarray
    rays: _Rays
    plane_q: np.ndarray  # (V, n, n) float32: n . (v0 - eye) of the hit face, so t = plane_q / (n . dir)

    @property
    def hit(self) -> np.ndarray:
        """``(V, n, n)`` bool: the sample hits the shape."""
        return self.tri >= 0


def cast_rays(mesh: trimesh.Trimesh, cameras: Sequence[Camera], n: int) -> HitBuffer:
    """Cast ``n`` x ``n`` rays per camera in one Embree call; returns the :class:`HitBuffer`."""
    rays = _camera_rays(tuple(cameras), n)
    tracer = _tracer_for(mesh)
    tri, t = tracer.first_hits(rays.origins, rays.dirs)
    v = len(cameras)
    tri = tri.reshape(v, n, n)
    hit = tri >= 0
    t = np.where(hit, t.reshape(v, n, n), np.float32(np.inf))
    safe = np.maximum(tri, 0)
    normals = tracer.normals[safe]  # (V, n, n, 3)
    dirs = rays.dirs.reshape(v, n, n, 3)
    facing = np.einsum("vijk,vijk->vij", normals, dirs)
    flip = np.where(facing > 0, -1.0, 1.0).astype(np.float32)  # turn every normal towards the camera
    normals *= flip[..., None]
    normals[~hit] = 0.0
    eye_dot = np.einsum("fi,vi->vf", tracer.normals, rays.eyes.astype(np.float32))  # (V, F)
    plane_q = tracer.offsets[safe] - np.take_along_axis(eye_dot, safe.reshape(v, -1), axis=1).reshape(v, n, n)
    plane_q *= flip
    return HitBuffer(tri=tri, t=t, normals=normals, rays=rays, plane_q=plane_q)


# ----------------------------------------------------------------------------- styles
def _downsample(img: np.ndarray, s: int) -> np.ndarray:
    """Box filter ``(V, s*H, s*W, ...)`` -> ``(V, H, W, ...)`` (float32)."""
    if s == 1:
        return img.astype(np.float32, copy=False)
    v, n = img.shape[:2]
    h = n // s
    return img.reshape(v, h, s, h, s, *img.shape[3:]).mean(axis=(2, 4), dtype=np.float32)


def _camera_normals(buf: HitBuffer) -> np.ndarray:
    """``(V, n, n, 3)`` normals in the camera frame (world-to-camera = R^T)."""
    return np.einsum("vijk,vkl->vijl", buf.normals, buf.rays.rotations.astype(np.float32))


def _depth(buf: HitBuffer) -> np.ndarray:
    z = buf.t * buf.rays.axial  # camera-space depth (inf off the shape)
    c = buf.rays.centre_depth.astype(np.float32)[:, None, None]
    d = np.clip(DEPTH_FLOOR + (1.0 - DEPTH_FLOOR) / 2.0 * (c + 1.0 - z), DEPTH_FLOOR, 1.0)
    return np.where(buf.hit, d, np.float32(0.0)).astype(np.float32)


def _shaded(cam_normals: np.ndarray, hit: np.ndarray) -> np.ndarray:
    lambert = np.maximum(cam_normals @ LIGHT_DIR.astype(np.float32), 0.0)
    return np.where(hit, AMBIENT + (1.0 - AMBIENT) * lambert, np.float32(0.0)).astype(np.float32)


def render_views(mesh: trimesh.Trimesh, cameras: Sequence[Camera], size: int = 128,
                 styles: Sequence[str] = ("shaded",), supersample: int = 2,
                 line_width: float | None = None, crease_deg: float = 35.0) -> dict[str, np.ndarray]:
    """Render ``mesh`` from every camera; one ray cast serves all ``styles``.

    Args:
        mesh: a (normalised) triangle mesh.
        cameras: V cameras, e.g. ``get_rig("ring12")``.
        size: output side H = W in pixels.
        styles: any of :data:`STYLES`.
        supersample: samples per pixel along each axis (1 = no anti-aliasing).
        line_width: width of the ``"lines"`` strokes in output pixels; default ``max(1, 1.25 * size / 128)``.
        crease_deg: dihedral angle above which a crease is drawn in ``"lines"``.

    Returns:
        ``{style: array}``: ``(V, H, W)`` float32 in [0, 1], or ``(V, H, W, 3)`` in [-1, 1] for "normals".
    """
    styles = tuple(styles)
    bad = [s for s in styles if s not in STYLES]
    if bad or not styles:
        raise ValueError(f"unknown render style(s) {bad or '(none given)'}; choose from {list(STYLES)}")
    if size < 1 or supersample < 1:
        raise ValueError(f"size and supersample must be >= 1, got size={size}, supersample={supersample}")
    if len(cameras) == 0:
        raise ValueError("render_views needs at least one camera, e.g. get_rig('ring12')")
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"render_views needs a trimesh.Trimesh with faces, got {type(mesh).__name__}; "
                         "use sbsr_lab.data.meshes.load_mesh (it also merges scenes)")
    s = int(supersample)
    buf = cast_rays(mesh, cameras, size * s)
    out: dict[str, np.ndarray] = {}
    cam_normals = _camera_normals(buf) if {"normals", "shaded"} & set(styles) else None
    for style in styles:
        if style == "silhouette":
            out[style] = _downsample(buf.hit.astype(np.float32), s)
        elif style == "depth":
            out[style] = _downsample(_depth(buf), s)
        elif style == "normals":
            out[style] = _downsample(cam_normals, s)
        elif style == "shaded":
            out[style] = _downsample(_shaded(cam_normals, buf.hit), s)
        elif style == "lines":
            width = max(1.0, 1.25 * size / 128.0) if line_width is None else float(line_width)
            out[style] = _downsample(line_image(buf, width * s, crease_deg=crease_deg), s)
    return out


def render_view(mesh: trimesh.Trimesh, camera: Camera, size: int = 128, styles: Sequence[str] = ("shaded",),
                supersample: int = 2, **kwargs: float) -> dict[str, np.ndarray]:
    """Render one view: like :func:`render_views` with ``[camera]``, without the leading V axis."""
    views = render_views(mesh, [camera], size=size, styles=styles, supersample=supersample, **kwargs)
    return {k: v[0] for k, v in views.items()}
