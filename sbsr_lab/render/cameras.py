"""Pinhole cameras and the two camera rigs of the course (12 views on a ring, 20 on a dodecahedron).

Conventions (``docs/architecture.md``): world +Y is up, shapes face +Z, and a camera matrix is the
(4, 4) **camera-to-world** transform in the OpenGL convention: the camera looks along its own -Z axis,
+X points right and +Y up in the image.

    >>> rig = get_rig("ring12")
    >>> len(rig), [round(x, 3) for x in rig[0].eye]   # view 0 looks at the front (+Z side) of the shape
    (12, [0.0, 1.4, 2.425])
    >>> rig[0].matrix().shape
    (4, 4)

Framing: every rig camera sees the whole unit sphere (where :func:`~sbsr_lab.render.normalize_mesh`
puts a shape). At distance 2.8 the sphere subtends a half-angle of asin(1 / 2.8) = 20.9 deg, so the
default vertical field of view is 45 deg (half-angle 22.5 deg).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Camera", "look_at", "ring_rig", "dodecahedron_rig", "get_rig", "RIGS"]

Vec3 = tuple[float, float, float]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def look_at(eye: Vec3 | np.ndarray, target: Vec3 | np.ndarray = (0.0, 0.0, 0.0),
            up: Vec3 | np.ndarray = (0.0, 1.0, 0.0)) -> np.ndarray:
    """Camera-to-world matrix ``(4, 4)`` of a camera at ``eye`` looking at ``target`` (OpenGL: looks down -Z).

    The rotation columns are the camera's right (+X), up (+Y) and backward (+Z) axes in world
    coordinates; the last column is ``eye``. If ``up`` is parallel to the viewing direction, another
    up vector (world +Z, or +X) is used so that the result is always a proper rotation.
    """
    eye_ = np.asarray(eye, dtype=np.float64)
    back = eye_ - np.asarray(target, dtype=np.float64)  # camera +Z points from the target to the eye
    if np.linalg.norm(back) < 1e-12:
        raise ValueError(f"look_at: eye {tuple(eye_)} and target {tuple(target)} coincide; move the eye away")
    back = _unit(back)
    right = np.cross(np.asarray(up, dtype=np.float64), back)
    for fallback in ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0)):
        if np.linalg.norm(right) > 1e-6:
            break
        right = np.cross(np.asarray(fallback), back)
    right = _unit(right)
    cam_up = np.cross(back, right)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = right, cam_up, back, eye_
    return matrix


@dataclass(frozen=True)
class Camera:
    """A perspective pinhole camera with square images.

    Attributes:
        eye: camera position (world units; shapes live in the unit sphere).
        target: the point the camera looks at.
        up: world direction that appears upwards in the image.
        fov_deg: full vertical (= horizontal) field of view in degrees.
    """

    eye: Vec3
    target: Vec3 = (0.0, 0.0, 0.0)
    up: Vec3 = (0.0, 1.0, 0.0)
    fov_deg: float = 45.0

    def matrix(self) -> np.ndarray:
        """Camera-to-world ``(4, 4)`` matrix, see :func:`look_at`."""
        return look_at(self.eye, self.target, self.up)


def _camera(eye: np.ndarray) -> Camera:
    return Camera(eye=tuple(round(float(x), 12) + 0.0 for x in eye))  # + 0.0 turns -0.0 into 0.0


def ring_rig(n: int = 12, elevation_deg: float = 30.0, distance: float = 2.8) -> list[Camera]:
    """``n`` cameras evenly spaced in azimuth on a ring ``elevation_deg`` above the horizon (MVCNN's rig).

    View 0 looks at the front of the shape (eye on the +Z side); the next views go counter-clockwise
    seen from above (towards +X). All cameras look at the origin, world +Y up.
    """
    if n < 1:
        raise ValueError(f"ring_rig needs n >= 1 cameras, got {n}")
    el = math.radians(elevation_deg)
    cams = []
    for i in range(n):
        az = 2.0 * math.pi * i / n
        eye = distance * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
        cams.append(_camera(eye))
    return cams


def dodecahedron_rig(distance: float = 2.8) -> list[Camera]:
    """20 cameras on the vertices of a regular dodecahedron around the origin (all at ``distance``).

    The vertices are (+-1, +-1, +-1), (0, +-1/phi, +-phi), (+-1/phi, +-phi, 0), (+-phi, 0, +-1/phi)
    with phi the golden ratio; none lies on the Y axis, so world +Y can be the up vector of every view.
    """
    phi = (1.0 + math.sqrt(5.0)) / 2.0
    verts = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    for a in (-1, 1):
        for b in (-1, 1):
            verts += [(0.0, a / phi, b * phi), (a / phi, b * phi, 0.0), (a * phi, 0.0, b / phi)]
    v = np.asarray(verts, dtype=np.float64)
    v = v / np.linalg.norm(v, axis=1, keepdims=True) * distance
    return [_camera(e) for e in v]


#: Rig names accepted by :func:`get_rig` (and the profile's ``rig`` field).
RIGS = {"ring12": ring_rig, "dodeca20": dodecahedron_rig}


def get_rig(name: str) -> list[Camera]:
    """The camera rig called ``name``: ``"ring12"`` (12 views, 30 deg elevation) or ``"dodeca20"`` (20 views)."""
    try:
        factory = RIGS[name]
    except KeyError:
        raise KeyError(f"unknown camera rig {name!r}; choose one of {sorted(RIGS)}") from None
    return factory()
