"""normalize_mesh: centred bounding box, unit bounding sphere, optional (upright) PCA alignment."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from sbsr_lab.errors import MeshError
from sbsr_lab.render import normalize_mesh, pca_rotation


def _stretched_box() -> trimesh.Trimesh:
    box = trimesh.creation.box((4.0, 1.0, 2.0))
    rot = trimesh.transformations.rotation_matrix(0.6, (0, 1, 0))
    return box.apply_transform(rot).apply_translation((5.0, -3.0, 2.0))


def test_unit_sphere_and_centred_bbox():
    m = normalize_mesh(_stretched_box())
    assert np.linalg.norm(m.vertices, axis=1).max() == pytest.approx(1.0)
    lo, hi = m.bounds
    np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-12)


def test_input_is_not_modified():
    mesh = _stretched_box()
    before = mesh.vertices.copy()
    normalize_mesh(mesh, pca=True)
    np.testing.assert_array_equal(mesh.vertices, before)


def test_upright_pca_rotates_about_y_only():
    mesh = _stretched_box()
    m = normalize_mesh(mesh, upright=True, pca=True)
    extent = m.bounds[1] - m.bounds[0]
    assert extent[0] > extent[2] > extent[1] * 0.99  # long side along X, Y untouched
    # heights are kept up to shift and scale: new y is an increasing affine function of old y
    slope, _ = np.polyfit(mesh.vertices[:, 1], m.vertices[:, 1], 1)
    np.testing.assert_allclose(np.polyval(np.polyfit(mesh.vertices[:, 1], m.vertices[:, 1], 1), mesh.vertices[:, 1]),
                               m.vertices[:, 1], atol=1e-9)
    assert slope > 0
    rot = pca_rotation(mesh, upright=True)
    np.testing.assert_allclose(rot[1], [0, 1, 0])
    assert np.linalg.det(rot) == pytest.approx(1.0)


def test_full_pca_sorts_axes_by_spread():
    box = trimesh.creation.box((1.0, 3.0, 2.0))
    rot = trimesh.transformations.random_rotation_matrix(np.random.default_rng(0).random(3))
    m = normalize_mesh(box.apply_transform(rot), upright=False, pca=True)
    extent = m.bounds[1] - m.bounds[0]
    assert extent[0] > extent[1] > extent[2]
    np.testing.assert_allclose(np.sort(extent)[::-1] / extent[0], [1, 2 / 3, 1 / 3], atol=1e-6)


def test_empty_or_degenerate_mesh_raises():
    with pytest.raises(MeshError, match="no faces"):
        normalize_mesh(trimesh.Trimesh())
    point = trimesh.Trimesh(vertices=np.zeros((3, 3)), faces=[[0, 1, 2]], process=False)
    with pytest.raises(MeshError, match="zero size"):
        normalize_mesh(point)
