"""OFF reader/writer: the malformed variants found in SHREC/ModelNet files, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from sbsr_lab.data.benchmarks.off import parse_off, read_off, write_off
from sbsr_lab.errors import MeshError

try:
    from . import fixtures_benchmarks as fx
except ImportError:  # tests/ is not a package: pytest put this folder on sys.path
    import fixtures_benchmarks as fx


def test_clean_tetrahedron(tmp_path):
    mesh = read_off(fx.write_text(tmp_path / "t.off", fx.TETRA_OFF))
    assert isinstance(mesh, trimesh.Trimesh)
    assert mesh.vertices.shape == (4, 3) and mesh.faces.shape == (4, 3)
    assert mesh.faces.tolist()[0] == [0, 2, 1]
    assert mesh.is_watertight


def test_malformed_variants(tmp_path):
    mesh = read_off(fx.write_text(tmp_path / "m0.off", fx.MALFORMED_OFF))
    assert mesh.vertices.shape == (6, 3)
    np.testing.assert_allclose(mesh.vertices[1], [1, 0, 0])
    np.testing.assert_allclose(mesh.vertices[4], [0.5, 0.5, 0.15])   # colour values dropped
    np.testing.assert_allclose(mesh.vertices[5], [0.5, -0.5, 0.25])  # scientific notation
    # quad -> 2 triangles, triangle -> 1, pentagon -> 3 (fan from its first vertex)
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 4], [0, 5, 1], [0, 1, 2], [0, 2, 4]]


@pytest.mark.parametrize("header", ["COFF\n4 1 0", "NOFF 4 1 0", "4 1 0", "OFF\n\n# c\n4   1   6", "OFF4 1 0",
                                    "\ufeffOFF\n4 1 0", "CNOFF\n4 1 0"])
def test_header_variants(header):
    text = header + "\n0 0 0 1 1 1\n1 0 0 1 1 1\n0 1 0 1 1 1\n0 0 1 1 1 1\n3 0 1 2\n"
    vertices, faces = parse_off(text)
    assert vertices.shape == (4, 3) and faces.tolist() == [[0, 1, 2]]


def test_roundtrip_write(tmp_path):
    box = trimesh.creation.box(extents=(1.0, 2.0, 3.0))
    path = tmp_path / "out" / "box.off"
    write_off(path, box)
    back = read_off(path)
    np.testing.assert_allclose(back.vertices, box.vertices)
    np.testing.assert_array_equal(back.faces, box.faces)
    assert [p.name for p in path.parent.iterdir()] == ["box.off"]  # no temporary left behind


@pytest.mark.parametrize(
    "text, needle",
    [
        ("OFF\n4 2 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", "truncated"),
        ("OFF\n3 1 0\n0 0 0\n1 zz 0\n0 1 0\n3 0 1 2\n", "line 4"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "only 3 vertices"),
        ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n4 0 1 2\n", "says 4 vertices but lists 3"),
        ("OFF\n3 1 0\n0 0 0\nnan 0 0\n0 1 0\n3 0 1 2\n", "NaN"),
        ("OFF\n0 0 0\n", "empty"),
        ("", "empty"),
        ("ply\nformat ascii 1.0\n", "not an OFF file"),
        ("OFF BINARY\n", "binary OFF"),
        ("4OFF\n1 1 0\n", "4-D"),
        ("OFF\nx y z\n", "counts"),
    ],
)
def test_errors_name_file_and_problem(tmp_path, text, needle):
    path = fx.write_text(tmp_path / "bad.off", text)
    with pytest.raises(MeshError) as info:
        read_off(path)
    message = str(info.value)
    assert str(path) in message and needle in message


def test_missing_file_message(tmp_path):
    with pytest.raises(MeshError, match="no such file"):
        read_off(tmp_path / "nope.off")


def test_large_mesh_is_fast(tmp_path):
    import time

    sphere = trimesh.creation.icosphere(subdivisions=5)  # 10,242 vertices, 20,480 faces
    path = tmp_path / "big.off"
    write_off(path, sphere)
    t = time.perf_counter()
    mesh = read_off(path)
    assert time.perf_counter() - t < 1.0
    assert len(mesh.faces) == 20480
