"""Put every mesh in the same frame before rendering: bounding box centred, unit bounding sphere.

    >>> import trimesh
    >>> m = normalize_mesh(trimesh.creation.box((4.0, 1.0, 2.0)))
    >>> round(float(abs(m.vertices).max(axis=0).max()), 3), round(float(np.linalg.norm(m.vertices, axis=1).max()), 6)
    (0.873, 1.0)

Optional PCA alignment rotates the shape into its principal frame (area-weighted, so it does not
depend on how finely the surface is tessellated). With ``upright=True`` the up axis (+Y) is kept and
only a rotation about Y is applied: the largest horizontal spread goes along X.
"""

from __future__ import annotations

import numpy as np
import trimesh

from sbsr_lab.errors import MeshError

__all__ = ["normalize_mesh", "pca_rotation"]


def _surface_moments(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area weights ``(F,)``, face centroids ``(F, 3)`` and their weighted mean ``(3,)``."""
    w = np.asarray(mesh.area_faces, dtype=np.float64)
    c = np.asarray(mesh.triangles_center, dtype=np.float64)
    if w.sum() <= 0:
        w = np.ones(len(c))
    w = w / w.sum()
    return w, c, w @ c


def pca_rotation(mesh: trimesh.Trimesh, upright: bool = True) -> np.ndarray:
    """Rotation ``(3, 3)`` (det = +1) that maps world coordinates to the mesh's principal frame.

    Full PCA (``upright=False``): the axes of largest, middle and smallest spread go to X, Y and Z.
    ``upright=True``: only the horizontal (X, Z) spread is analysed and Y is kept. Each axis' sign is
    chosen so that the surface's third moment along it is positive (a deterministic choice).
    """
    w, c, mean = _surface_moments(mesh)
    x = c - mean
    dims = [0, 2] if upright else [0, 1, 2]
    sub = x[:, dims]
    cov = (sub * w[:, None]).T @ sub
    evals, evecs = np.linalg.eigh(cov)
    evecs = evecs[:, np.argsort(evals)[::-1]]  # columns sorted by decreasing variance
    skew = ((sub @ evecs) ** 3 * w[:, None]).sum(0)
    evecs = evecs * np.where(skew < 0, -1.0, 1.0)
    rot = np.eye(3)
    if upright:
        # new X = first horizontal axis, new Z = second, Y kept; rows map world -> principal frame
        rot[0, [0, 2]] = evecs[:, 0]
        rot[2, [0, 2]] = evecs[:, 1]
    else:
        rot = evecs.T.copy()
    if np.linalg.det(rot) < 0:  # keep a proper rotation (no mirroring): flip the last axis
        rot[2] *= -1.0
    return rot


def normalize_mesh(mesh: trimesh.Trimesh, upright: bool = True, pca: bool = False) -> trimesh.Trimesh:
    """A copy of ``mesh`` with its bounding box centred at the origin and max vertex norm 1.

    Args:
        mesh: input mesh (not modified).
        upright: with ``pca``, keep +Y as the up axis and only rotate about it. Without ``pca``
            nothing is rotated, whatever ``upright`` says (meshes are assumed Y-up already).
        pca: rotate into the principal frame first (see :func:`pca_rotation`).

    Raises:
        MeshError: the mesh has no faces or all its vertices coincide.
    """
    if len(mesh.faces) == 0 or len(mesh.vertices) == 0:
        raise MeshError("normalize_mesh: the mesh has no faces; load it with sbsr_lab.data.meshes.load_mesh")
    out = mesh.copy()
    verts = np.asarray(out.vertices, dtype=np.float64)
    if pca:
        verts = verts @ pca_rotation(out, upright=upright).T
    lo, hi = verts.min(0), verts.max(0)
    verts = verts - (lo + hi) / 2.0
    radius = float(np.linalg.norm(verts, axis=1).max())
    if not np.isfinite(radius) or radius <= 1e-12:
        raise MeshError("normalize_mesh: all vertices coincide (zero size) or are not finite; "
                        "check the mesh with sbsr_lab.data.meshes.check_mesh")
    out.vertices = verts / radius
    return out
