"""Read mesh files and make them safe to render: clear errors for what cannot be fixed, warnings for what can.

    >>> mesh = load_mesh("data/shapes/chair/chair_000.ply")   # doctest: +SKIP

What :func:`check_mesh` does, in order (every warning names the file):

* not a mesh, no faces, NaN/inf coordinates, face indices out of range -> :class:`MeshError`;
* more than ``max_faces`` faces -> warning, simplified by quadric decimation (needs the
  ``fast-simplification`` package; without it the mesh is rendered as is, with a second warning);
* degenerate (zero-area) and duplicate faces -> removed, with a warning;
* inconsistent winding or inward-facing normals -> repaired with ``trimesh.repair``, with a warning;
* not watertight (holes, open surfaces) -> warning only: it still renders.

Scenes (a GLB/glTF with several parts) are flattened into one mesh with their transforms applied.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import trimesh

from sbsr_lab.data.benchmarks.off import read_off
from sbsr_lab.errors import MeshError

__all__ = ["SUPPORTED_MESH_SUFFIXES", "load_mesh", "check_mesh", "summarise_warnings"]

#: File suffixes :func:`load_mesh` reads (case-insensitive).
SUPPORTED_MESH_SUFFIXES: tuple[str, ...] = (".off", ".obj", ".ply", ".stl", ".glb", ".gltf")
_FIX_EXPORT = "open it in a mesh editor (e.g. Blender, MeshLab) and re-export it"


def _to_trimesh(loaded: object, name: str) -> trimesh.Trimesh:
    """A single Trimesh from whatever trimesh.load returned (a mesh or a scene of parts)."""
    if isinstance(loaded, trimesh.Trimesh):
        return loaded
    if isinstance(loaded, trimesh.Scene):
        parts = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh) and len(g.faces)]
        if not parts:
            raise MeshError(f"{name}: the scene holds no triangle geometry (only points, lines or empty "
                            f"nodes); {_FIX_EXPORT} with the surfaces included")
        return parts[0] if len(parts) == 1 else trimesh.util.concatenate(parts)
    raise MeshError(f"{name}: the file holds a {type(loaded).__name__}, not a triangle mesh; {_FIX_EXPORT}")


def load_mesh(path: str | Path, max_faces: int = 200_000) -> trimesh.Trimesh:
    """Read a mesh file (see :data:`SUPPORTED_MESH_SUFFIXES`) and pass it through :func:`check_mesh`.

    OFF files go through the forgiving reader :func:`sbsr_lab.data.benchmarks.off.read_off` (SHREC files often
    break the OFF specification); the other formats through trimesh.

    Raises:
        MeshError: missing file, unsupported suffix, unreadable content, or a mesh that cannot be
            rendered (see :func:`check_mesh`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_MESH_SUFFIXES:
        raise MeshError(f"{path}: unsupported mesh format {suffix or '(no suffix)'!r}; supported: "
                        f"{', '.join(SUPPORTED_MESH_SUFFIXES)}. Convert the file (e.g. with Blender or "
                        "MeshLab) to one of them")
    if not path.is_file():
        raise MeshError(f"{path}: no such file; check the path (and that the dataset was downloaded/built)")
    if suffix == ".off":
        mesh = read_off(path)
    else:
        try:
            loaded = trimesh.load(path, process=False)
        except Exception as exc:  # trimesh raises many types for broken files
            raise MeshError(f"{path}: could not be read as {suffix[1:].upper()} ({type(exc).__name__}: {exc}); "
                            f"the file is corrupt or truncated: {_FIX_EXPORT}") from exc
        mesh = _to_trimesh(loaded, str(path))
    return check_mesh(mesh, name=str(path), max_faces=max_faces)


#: Meshes with more faces are refused (simplify them in a mesh editor first): bounds memory and time.
MAX_FILE_FACES = 5_000_000
#: Below this share of edges shared by exactly two faces a mesh is a triangle soup, not a surface:
#: quadric decimation can run for hours on one, so a soup keeps an even subset of its faces instead.
_MIN_SURFACE_SHARE = 0.5
#: Faces a triangle soup keeps (its rays hit many large overlapping triangles: slow to render, noise anyway).
SOUP_FACES = 20_000


def _surface_share(mesh: trimesh.Trimesh) -> float:
    """Share of the mesh's edges that are shared by exactly two faces (1 for a closed manifold surface)."""
    edges = np.sort(np.asarray(mesh.faces)[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges[:, 0].astype(np.int64) * (len(mesh.vertices) + 1) + edges[:, 1], return_counts=True)
    return float((counts == 2).sum() * 2) / max(len(edges), 1)


def _simplify(mesh: trimesh.Trimesh, name: str, max_faces: int) -> trimesh.Trimesh:
    count = len(mesh.faces)
    if count > MAX_FILE_FACES:
        raise MeshError(f"{name}: {count:,} faces is more than the {MAX_FILE_FACES:,} sbsr_lab renders; simplify it "
                        f"first (e.g. MeshLab's quadric edge collapse to ~{max_faces:,} faces) and {_FIX_EXPORT}")
    share = _surface_share(mesh)
    if share < _MIN_SURFACE_SHARE:  # bounded time: no decimation of a soup
        step = -(-count // min(max_faces, SOUP_FACES))
        mesh = trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces[::step], process=False)
        mesh.remove_unreferenced_vertices()
        warnings.warn(f"{name}: {count} faces is more than max_faces={max_faces}, and only {share:.0%} of its edges "
                      "are shared by two faces (a triangle soup, not a surface), so it cannot be simplified in a "
                      f"bounded time: kept every {step}th face ({len(mesh.faces)} faces). {_FIX_EXPORT} if it "
                      "should be a surface", stacklevel=3)
        return mesh
    try:
        simplified = mesh.simplify_quadric_decimation(face_count=max_faces)
    except ImportError:
        warnings.warn(f"{name}: {count} faces is more than max_faces={max_faces}, and the mesh cannot be "
                      "simplified because the 'fast-simplification' package is missing "
                      "(pip install fast-simplification); rendering it as is (slower)", stacklevel=3)
        return mesh
    warnings.warn(f"{name}: {count} faces is more than max_faces={max_faces}; simplified to "
                  f"{len(simplified.faces)} faces (raise max_faces to keep the full mesh)", stacklevel=3)
    return simplified


def check_mesh(mesh: trimesh.Trimesh, name: str = "mesh", max_faces: int = 200_000) -> trimesh.Trimesh:
    """Validate and repair a mesh for rendering; returns a cleaned copy (see the module docstring).

    Args:
        mesh: the mesh to check (not modified).
        name: how messages call it, usually the file path.
        max_faces: meshes with more faces are simplified to this many.

    Raises:
        MeshError: not a triangle mesh, no faces, non-finite coordinates or bad face indices.
    """
    if not isinstance(mesh, trimesh.Trimesh):
        raise MeshError(f"{name}: expected a trimesh.Trimesh, got {type(mesh).__name__}; "
                        "load files with sbsr_lab.data.meshes.load_mesh")
    verts = np.asarray(mesh.vertices)
    faces = np.asarray(mesh.faces)
    if len(faces) == 0 or len(verts) == 0:
        raise MeshError(f"{name}: the mesh is empty (no faces); {_FIX_EXPORT} with its surfaces, or remove it "
                        "from the dataset")
    bad = ~np.isfinite(verts).all(axis=1)
    if bad.any():
        raise MeshError(f"{name}: {int(bad.sum())} of {len(verts)} vertices have NaN or infinite coordinates; "
                        f"remove the bad vertices / re-export the mesh ({_FIX_EXPORT})")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= len(verts):
        raise MeshError(f"{name}: face indices refer to vertices that do not exist (mesh has {len(verts)}); "
                        f"the file is corrupt: {_FIX_EXPORT}")

    mesh = trimesh.Trimesh(vertices=verts.copy(), faces=faces.copy(), process=False)
    mesh.merge_vertices()  # STL/OBJ store corners per face: join them so that edges are shared

    if len(mesh.faces) > max_faces:
        mesh = _simplify(mesh, name, max_faces)

    keep = mesh.nondegenerate_faces() & mesh.unique_faces()
    if not keep.all():
        n_degenerate = int((~mesh.nondegenerate_faces()).sum())
        n_duplicate = int((~keep).sum()) - n_degenerate
        mesh.update_faces(keep)
        mesh.remove_unreferenced_vertices()
        warnings.warn(f"{name}: removed {n_degenerate} degenerate (zero-area) and {max(n_duplicate, 0)} "
                      "duplicate faces", stacklevel=2)
        if len(mesh.faces) == 0:
            raise MeshError(f"{name}: every face is degenerate (zero area); the mesh has no surface to "
                            f"render: {_FIX_EXPORT}")

    before = mesh.faces.copy()
    trimesh.repair.fix_normals(mesh, multibody=True)  # consistent winding, outward normals per body
    if not np.array_equal(before, mesh.faces):
        warnings.warn(f"{name}: faces had inconsistent winding or inward-facing normals; repaired "
                      "(trimesh.repair.fix_normals)", stacklevel=2)
    if not mesh.is_watertight:
        warnings.warn(f"{name}: the mesh is not watertight (it has holes or open edges); it still renders, "
                      "but inside/outside tests and volumes are unreliable", stacklevel=2)
    return mesh


def summarise_warnings(items: "list[tuple[str, str]]") -> list[str]:
    """One line per kind of warning over many meshes: ``"37 meshes: the mesh is not watertight ...
    (e.g. chairs/m12.off)"``. ``items`` are ``(mesh path, message)`` pairs; the kind is the message with
    the mesh's path taken out and every number written ``N``, so "removed 3 degenerate" and "removed 12
    degenerate" are one kind. Kinds in order of first appearance."""
    import re

    kinds: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for path, message in items:
        text = message.replace(str(path), "").lstrip(":, ")
        key = re.sub(r"\d+(\.\d+)?", "N", text)
        kinds.setdefault(key, []).append(str(path))
        shown.setdefault(key, text)
    return [f"{len(set(paths))} mesh{'es' if len(set(paths)) != 1 else ''}: {shown[key]} (e.g. {paths[0]})"
            for key, paths in kinds.items()]
