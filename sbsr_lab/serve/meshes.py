"""A gallery shape's mesh back, for the 3D views of both front ends (the widget's
:class:`~sbsr_lab.widgets.mesh_view.MeshView` and the app's ``GET /api/mesh``).

    mesh = shape_mesh(engine.shapes["chair_012"])          # trimesh, +Y up, as the views show it
    v, f = mesh_arrays(engine.shapes["chair_012"])          # (V, 3) centred, unit radius; (F, 3)
    vertices, faces = flat_mesh(v, f)                        # flat lists for JSON and widget traits

A source entry (``engine.shapes[id]``) is ``{"mesh": path, "up": candidate}`` (a gallery of your own
meshes, stood up as it was indexed: :mod:`sbsr_lab.serve.gallery`) or ``{"class", "index", "seed"}`` (and ``"shape_set"`` when not ``base``)
(SynthShapes, made again).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import trimesh

from sbsr_lab.data.meshes import load_mesh
from sbsr_lab.data.synthshapes import make_shape
from sbsr_lab.render.orient import AXES, stand_up, up_candidates

__all__ = ["shape_mesh", "mesh_arrays", "flat_mesh"]


def shape_mesh(source: Mapping[str, Any], max_faces: int = 200_000) -> trimesh.Trimesh | None:
    """The mesh of a gallery shape from its source entry (module docstring), as the views show it (+Y up),
    or ``None`` when it is not available. A mesh file of more than ``max_faces`` faces raises ``MeshError``."""
    if "mesh" in source:
        if not Path(source["mesh"]).is_file():
            return None
        mesh = load_mesh(source["mesh"], max_faces=max_faces)
        if source.get("up") and source["up"] not in ("+Y", "pca", "None"):
            up = AXES.get(str(source["up"])) or dict(up_candidates(mesh)).get(str(source["up"]))
            if up is not None:
                mesh = stand_up(mesh, np.asarray(up))
        return mesh
    if "class" in source:
        return make_shape(str(source["class"]), int(source["index"]), int(source.get("seed", 0)),
                          str(source.get("shape_set", "base")))[0]
    return None


def mesh_arrays(source: Mapping[str, Any], max_faces: int = 200_000,
                draw_faces: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Vertices ``(V, 3)`` float64 (Y up, bounding box centred at the origin, largest vertex norm 1) and
    faces ``(F, 3)`` int64 of a gallery shape, or ``None`` when its mesh is not available. A mesh of more
    than ``draw_faces`` faces is decimated to that many (a page draws every face). Cached: do not modify
    the arrays."""
    return _mesh_arrays(tuple(sorted((k, str(v)) for k, v in source.items())), max_faces, draw_faces)


@lru_cache(maxsize=128)
def _mesh_arrays(source_key: tuple[tuple[str, str], ...], max_faces: int,
                 draw_faces: int | None) -> tuple[np.ndarray, np.ndarray] | None:
    mesh = shape_mesh(dict(source_key), max_faces=max_faces)
    if mesh is None:
        return None
    if draw_faces is not None and len(mesh.faces) > draw_faces:
        mesh = mesh.simplify_quadric_decimation(face_count=draw_faces)
    v = np.asarray(mesh.vertices, np.float64)
    v = v - (v.max(0) + v.min(0)) / 2
    v = v / max(float(np.linalg.norm(v, axis=1).max()), 1e-9)
    return v, np.asarray(mesh.faces, np.int64)


def flat_mesh(vertices: np.ndarray, faces: np.ndarray) -> tuple[list[float], list[int]]:
    """``vertices (V, 3)`` and ``faces (F, 3)`` as flat lists (``3V`` floats rounded to 4 decimals, ``3F``
    ints): what the app's JSON and the widget's synced traits hold."""
    return (np.round(np.asarray(vertices, np.float64), 4).reshape(-1).tolist(),
            np.asarray(faces, np.int64).reshape(-1).tolist())
