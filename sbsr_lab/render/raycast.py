"""CPU ray casting of meshes into depth, normal, shaded, silhouette and line-drawing views.

One call casts the rays of all V views at once (:func:`sbsr_lab.render.rays.cast_rays`: Embree via ``embreex``, first hit only) and derives
every style from the same hit buffer (triangle index and distance per sample). Anti-aliasing is
supersampling: the buffer is ``supersample`` times finer than the output and box-filtered down.

Styles, each returned as float32 (``render_views``: a leading V axis; ``render_view``: none):

``"silhouette"``  ``(H, W)`` coverage of the shape: 1 inside, 0 on the background.
``"depth"``       ``(H, W)``: 0 is the background; on the shape ``0.1 + 0.45 * (c + 1 - z)``, where z is
                  the camera-space depth of the hit and c the depth of the world origin. So 1 is
                  the nearest point of the unit sphere, 0.1 its farthest: values rise towards the camera.
``"normals"``     ``(H, W, 3)`` in [-1, 1]: unit face normal in the camera frame (x right, y up,
                  z towards the viewer), flipped to face the camera (z >= 0); 0 on the background
                  (box-filtered like the other styles, so shorter than 1 in pixels on the outline).
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

from collections.abc import Sequence

import numpy as np
import trimesh

from sbsr_lab.render.cameras import Camera
from sbsr_lab.render.lines import line_image
from sbsr_lab.render.rays import HitBuffer, cast_rays

__all__ = ["STYLES", "render_view", "render_views", "LIGHT_DIR"]

#: Every style :func:`render_views` can produce.
STYLES: tuple[str, ...] = ("depth", "normals", "shaded", "silhouette", "lines")

#: Direction towards the light in the camera frame (x right, y up, z towards the viewer).
LIGHT_DIR = np.array([-0.35, 0.5, 1.0]) / np.linalg.norm([-0.35, 0.5, 1.0])
AMBIENT = 0.2
DEPTH_FLOOR = 0.1


# ----------------------------------------------------------------------------- styles
def _downsample(img: np.ndarray, s: int) -> np.ndarray:
    """Box filter ``(V, s*H, s*W, ...)`` -> ``(V, H, W, ...)`` (float32)."""
    if s == 1:
        return img.astype(np.float32, copy=False)
    acc = None
    for a in range(s):
        for b in range(s):
            part = img[:, a::s, b::s]
            acc = part.astype(np.float32) if acc is None else acc + part
    return acc / np.float32(s * s)


def _camera_normals(normals: np.ndarray, sign: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """``(V, F, 3)`` face normals turned to each camera, in its frame (world-to-camera = R^T)."""
    turned = sign[:, :, None] * normals[None]  # (V, F, 3)
    return np.matmul(turned, rotations.astype(np.float32))  # row vectors: n_cam = n @ R


def _camera_normal_table(buf: HitBuffer) -> np.ndarray:
    """``(V * F + 1, 3)`` camera-frame turned face normals, one row per (view, face); last row 0 (background)."""
    cam = _camera_normals(buf.face_normals, buf.face_sign, buf.rays.rotations)
    return np.concatenate([cam.reshape(-1, 3), np.zeros((1, 3), np.float32)])


def _depth(buf: HitBuffer) -> np.ndarray:
    z = buf.t * buf.rays.axial  # camera-space depth (inf off the shape)
    c = buf.rays.centre_depth.astype(np.float32)[:, None, None]
    d = np.clip(DEPTH_FLOOR + (1.0 - DEPTH_FLOOR) / 2.0 * (c + 1.0 - z), DEPTH_FLOOR, 1.0)
    return np.where(buf.hit, d, np.float32(0.0)).astype(np.float32)


def _shade_table(cam_normals: np.ndarray) -> np.ndarray:
    """``(V * F + 1,)`` Lambert shade per (view, face) row of the camera-normal table; background row 0."""
    lambert = np.maximum(cam_normals @ LIGHT_DIR.astype(np.float32), 0.0)
    shade = (AMBIENT + (1.0 - AMBIENT) * lambert).astype(np.float32)
    shade[-1] = 0.0
    return shade


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
    if {"normals", "shaded"} & set(styles):
        fidx = buf.face_index()
        cam_normals = _camera_normal_table(buf)
    for style in styles:
        if style == "silhouette":
            out[style] = _downsample(buf.hit, s)
        elif style == "depth":
            out[style] = _downsample(_depth(buf), s)
        elif style == "normals":
            out[style] = _downsample(cam_normals[fidx], s)
        elif style == "shaded":
            out[style] = _downsample(_shade_table(cam_normals)[fidx], s)
        elif style == "lines":
            width = max(1.0, 1.25 * size / 128.0) if line_width is None else float(line_width)
            out[style] = _downsample(line_image(buf, width * s, crease_deg=crease_deg), s)
    return out


def render_view(mesh: trimesh.Trimesh, camera: Camera, size: int = 128, styles: Sequence[str] = ("shaded",),
                supersample: int = 2, **kwargs: float | None) -> dict[str, np.ndarray]:
    """Render one view: like :func:`render_views` with ``[camera]``, without the leading V axis."""
    views = render_views(mesh, [camera], size=size, styles=styles, supersample=supersample, **kwargs)
    return {k: v[0] for k, v in views.items()}
