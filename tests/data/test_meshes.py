"""load_mesh / check_mesh: every kind of bad input gives a clear error or a warning naming the file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import trimesh

from sbsr_lab.data.meshes import SUPPORTED_MESH_SUFFIXES, check_mesh, load_mesh
from sbsr_lab.errors import MeshError


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".off", ".glb"])
def test_round_trip_of_each_format(tmp_path, suffix):
    path = tmp_path / f"box{suffix}"
    trimesh.creation.box((1.0, 2.0, 3.0)).export(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean box loads without any warning
        mesh = load_mesh(path)
    assert len(mesh.faces) == 12 and mesh.is_watertight
    np.testing.assert_allclose(mesh.extents, [1, 2, 3])
    assert mesh.volume == pytest.approx(6.0)


def test_missing_file(tmp_path):
    with pytest.raises(MeshError, match="no such file"):
        load_mesh(tmp_path / "nothing.obj")


def test_unsupported_suffix_lists_the_supported_ones(tmp_path):
    path = tmp_path / "shape.fbx"
    path.write_text("x")
    with pytest.raises(MeshError, match="shape.fbx") as err:
        load_mesh(path)
    for suffix in SUPPORTED_MESH_SUFFIXES:
        assert suffix in str(err.value)


@pytest.mark.parametrize("suffix, content", [(".ply", b"ply\nformat ascii 1.0\nelement vertex 99\nend_header\n1 2"),
                                             (".glb", b"glTF\x02\x00\x00\x00garbage"),
                                             (".stl", b"\x00\x01")])
def test_corrupt_file(tmp_path, suffix, content):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(content)
    with pytest.raises(MeshError, match="broken"):
        load_mesh(path)


def test_empty_mesh(tmp_path):
    with pytest.raises(MeshError, match="empty"):
        check_mesh(trimesh.Trimesh(), name="empty.obj")
    path = tmp_path / "points.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    with pytest.raises(MeshError, match="points.obj"):
        load_mesh(path)


def test_nan_vertices_name_the_file_and_the_fix(tmp_path):
    path = tmp_path / "nan.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    with pytest.raises(MeshError, match=r"nan\.obj.*remove the bad vertices / re-export"):
        load_mesh(path)
    box = trimesh.creation.box()
    box.vertices[0] = [np.inf, 0, 0]
    with pytest.raises(MeshError, match="infinite"):
        check_mesh(box, name="inf.ply")


def test_bad_face_indices():
    mesh = trimesh.Trimesh(vertices=np.eye(3), faces=[[0, 1, 7]], process=False)
    with pytest.raises(MeshError, match="do not exist"):
        check_mesh(mesh, name="bad.off")


def test_degenerate_and_duplicate_faces_are_removed_with_a_warning():
    box = trimesh.creation.box()
    faces = np.vstack([box.faces, box.faces[:2], [[0, 0, 1], [2, 2, 2]]])
    mesh = trimesh.Trimesh(vertices=box.vertices, faces=faces, process=False)
    with pytest.warns(UserWarning, match=r"dup\.obj: removed 2 degenerate .* and 2 duplicate faces"):
        out = check_mesh(mesh, name="dup.obj")
    assert len(out.faces) == 12 and out.is_watertight
    assert len(mesh.faces) == 16  # the input is untouched


def test_open_mesh_warns_but_is_kept():
    box = trimesh.creation.box()
    open_box = trimesh.Trimesh(vertices=box.vertices, faces=box.faces[:-2], process=False)
    with pytest.warns(UserWarning, match="open.ply: the mesh is not watertight"):
        out = check_mesh(open_box, name="open.ply")
    assert len(out.faces) == 10


def test_inverted_mesh_is_fixed_with_a_warning():
    box = trimesh.creation.box()
    box.invert()
    assert box.volume < 0
    with pytest.warns(UserWarning, match="inside.stl: .*inward-facing normals; repaired"):
        out = check_mesh(box, name="inside.stl")
    assert out.volume == pytest.approx(1.0)


def test_huge_mesh_is_simplified_with_a_warning():
    sphere = trimesh.creation.icosphere(4)  # 5120 faces
    with pytest.warns(UserWarning, match="ball.obj: 5120 faces is more than max_faces=1000; simplified"):
        out = check_mesh(sphere, name="ball.obj", max_faces=1000)
    assert 500 <= len(out.faces) <= 1000
    assert np.linalg.norm(out.vertices, axis=1).max() == pytest.approx(1.0, abs=0.05)


def test_huge_mesh_without_simplifier_renders_as_is(monkeypatch):
    def missing(*args, **kwargs):
        raise ImportError("No module named 'fast_simplification'")

    monkeypatch.setattr(trimesh.Trimesh, "simplify_quadric_decimation", missing)
    with pytest.warns(UserWarning, match="fast-simplification.*rendering it as is"):
        out = check_mesh(trimesh.creation.icosphere(3), name="ball.obj", max_faces=100)
    assert len(out.faces) == 1280


def test_scene_with_several_parts_is_concatenated(tmp_path):
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(), node_name="a")
    scene.add_geometry(trimesh.creation.icosphere(1), node_name="b",
                       transform=trimesh.transformations.translation_matrix((3, 0, 0)))
    path = tmp_path / "parts.glb"
    scene.export(path)
    mesh = load_mesh(path)
    assert len(mesh.faces) == 12 + 80
    assert mesh.bounds[1, 0] == pytest.approx(4.0)  # the node transform was applied


def test_not_a_mesh():
    with pytest.raises(MeshError, match="expected a trimesh.Trimesh"):
        check_mesh(trimesh.PointCloud(np.zeros((3, 3))), name="cloud.ply")
