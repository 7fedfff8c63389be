"""serve/meshes.py: the one copy of a gallery shape's mesh arrays behind both 3D views (widget and app)."""

from __future__ import annotations

import numpy as np
import pytest

from sbsr_lab.serve.meshes import flat_mesh, mesh_arrays, shape_mesh

CHAIR = {"class": "chair", "index": 0, "seed": 0}


def test_mesh_arrays_are_centred_unit_radius_and_cached():
    v, f = mesh_arrays(CHAIR)
    mesh = shape_mesh(CHAIR)
    assert v.shape == (len(mesh.vertices), 3) and f.shape == (len(mesh.faces), 3)
    assert np.allclose((v.max(0) + v.min(0)) / 2, 0, atol=1e-9)           # bounding box centred
    assert np.linalg.norm(v, axis=1).max() == pytest.approx(1.0)           # unit radius
    assert mesh_arrays(dict(CHAIR)) is mesh_arrays(CHAIR)                  # one cache for both front ends


def test_a_large_mesh_is_decimated_for_drawing_and_a_missing_one_is_none(tmp_path):
    v, f = mesh_arrays(CHAIR, draw_faces=50)
    assert len(f) <= 50 and f.max() < len(v)
    assert mesh_arrays({"mesh": str(tmp_path / "gone.obj")}) is None
    assert mesh_arrays({"nothing": "here"}) is None


def test_flat_mesh_is_what_json_and_the_widget_traits_hold():
    vertices, faces = flat_mesh(np.array([[0.123456, -1.0, 0.5]]), np.array([[0, 0, 0]]))
    assert vertices == [0.1235, -1.0, 0.5] and faces == [0, 0, 0]
    assert all(isinstance(x, float) for x in vertices) and all(isinstance(i, int) for i in faces)
