"""Which way is up? Candidate up axes of a mesh that came in any orientation, and the turn that stands it up.

Real collections have no common up axis (the Princeton Shape Benchmark and SHREC'13 none, ModelNet +Z,
CAD files whatever the tool used), while every rig of :mod:`sbsr_lab.render.cameras` circles world +Y.
This module only proposes and applies orientations; *choosing* one needs a judge, which
:mod:`sbsr_lab.serve.shape_encoder` provides (the model's confidence in each candidate, plus a small
prior for the file's own +Y, ``orient="auto"``).

    >>> import trimesh
    >>> box = trimesh.creation.box((0.2, 0.2, 2.0))          # a post lying along Z
    >>> names = [name for name, _ in up_candidates(box)]
    >>> names                                                 # its PCA axes are the world axes: no extra candidates
    ['+Y', '-Y', '+X', '-X', '+Z', '-Z']
    >>> stood = stand_up(box, up_vector("+Z"))
    >>> [round(float(x), 3) for x in stood.extents]           # now it stands along +Y
    [0.2, 2.0, 0.2]

Profile key ``orient`` (:data:`ORIENT_MODES`): ``"file"`` keeps the file's +Y, ``"pca"`` the upright
PCA rule of :func:`~sbsr_lab.render.normalize.pca_rotation`, ``"auto"`` chooses among
:func:`up_candidates` (docs/experiments.md has the measurements behind the default).
"""

from __future__ import annotations

import numpy as np
import trimesh

from sbsr_lab.render.normalize import pca_rotation

__all__ = ["ORIENT_MODES", "AXES", "up_vector", "up_candidates", "rotation_to_up", "stand_up"]

#: How a mesh is turned before rendering: keep the file's +Y, upright PCA, or choose among candidates.
ORIENT_MODES: tuple[str, ...] = ("file", "pca", "auto")

#: The six world axes as candidate up directions, the file's own +Y first.
AXES: dict[str, tuple[float, float, float]] = {
    "+Y": (0.0, 1.0, 0.0), "-Y": (0.0, -1.0, 0.0), "+X": (1.0, 0.0, 0.0),
    "-X": (-1.0, 0.0, 0.0), "+Z": (0.0, 0.0, 1.0), "-Z": (0.0, 0.0, -1.0),
}

_SAME_DEG = 15.0  # a PCA axis this close to a world axis (or to another candidate) adds nothing


def up_vector(name: str) -> np.ndarray:
    """The unit vector ``(3,)`` of an axis name (``"+Y"``, ``"-Z"``...)."""
    try:
        return np.asarray(AXES[name], dtype=np.float64)
    except KeyError:
        raise ValueError(f"unknown axis {name!r}; choose one of {', '.join(AXES)}") from None


def up_candidates(mesh: trimesh.Trimesh, pca: bool = True) -> list[tuple[str, np.ndarray]]:
    """Candidate up directions ``[(name, unit (3,))]``: the six world axes (``+Y`` first), then, with
    ``pca``, each principal axis of the surface (both signs, ``"pca0+"``...) that is more than 15 deg from
    every candidate before it (a mesh modelled at an angle). Axis-aligned meshes get exactly six."""
    cands = [(name, up_vector(name)) for name in AXES]
    if pca:
        axes = pca_rotation(mesh, upright=False)  # rows: principal axes in world coordinates
        cos_same = np.cos(np.radians(_SAME_DEG))
        for i, axis in enumerate(axes):
            for sign, tag in ((1.0, "+"), (-1.0, "-")):
                u = sign * axis / np.linalg.norm(axis)
                if all(float(u @ v) < cos_same for _, v in cands):
                    cands.append((f"pca{i}{tag}", u))
    return cands


def rotation_to_up(up: np.ndarray) -> np.ndarray:
    """The smallest rotation ``(3, 3)`` (det +1) that takes the unit vector ``up`` to world +Y.

    ``-Y`` (no unique smallest rotation) turns half a turn about X.
    """
    u = np.asarray(up, dtype=np.float64)
    norm = float(np.linalg.norm(u))
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError(f"rotation_to_up needs a non-zero direction, got {tuple(u)}")
    u = u / norm
    y = np.array([0.0, 1.0, 0.0])
    axis = np.cross(u, y)
    s, c = float(np.linalg.norm(axis)), float(u @ y)
    if s < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / s
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + s * kx + (1.0 - c) * (kx @ kx)  # Rodrigues


def stand_up(mesh: trimesh.Trimesh, up: np.ndarray) -> trimesh.Trimesh:
    """A copy of ``mesh`` turned so that its direction ``up`` points along world +Y."""
    out = mesh.copy()
    out.vertices = np.asarray(mesh.vertices, dtype=np.float64) @ rotation_to_up(up).T
    return out
