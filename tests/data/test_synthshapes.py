"""SynthShapes: every class builds valid, deterministic, varied meshes that follow the conventions."""

from __future__ import annotations

import json
import time
import zlib

import numpy as np
import pytest
import trimesh

from sbsr_lab.config import BASE_CLASSES, EXTRA_CLASSES
from sbsr_lab.data.synthshapes import GENERATORS, available_classes, class_id, make_shape
from sbsr_lab.data.synthshapes import primitives as P

CLASSES = list(BASE_CLASSES + EXTRA_CLASSES)

#: Sane overall heights (m) per class: a generator that produces a 3 m mug or a 2 cm car is broken.
HEIGHT_RANGE = {
    "airplane": (1.5, 20.0), "bed": (0.6, 2.5), "bench": (0.35, 1.2), "bottle": (0.15, 0.4),
    "car": (1.0, 2.2), "chair": (0.65, 1.3), "house": (2.5, 15.0), "lamp": (0.3, 2.3),
    "mug": (0.06, 0.15), "rocket": (10.0, 65.0), "table": (0.6, 0.85), "tree": (2.5, 16.0),
    "stool": (0.4, 0.9), "sofa": (0.65, 1.1), "bookshelf": (0.8, 2.2), "desk": (0.7, 1.4),
    "vase": (0.06, 0.6), "guitar": (0.9, 1.5), "umbrella": (0.7, 3.0), "boat": (0.3, 50.0),
}


def _structure(params: dict) -> tuple:
    """The structural (non-float) parameters of a shape, as a hashable tuple."""
    return tuple(sorted((k, v) for k, v in params.items() if not isinstance(v, float)))


def test_classes_match_config() -> None:
    assert available_classes() == CLASSES
    assert set(GENERATORS) == set(CLASSES)


def test_unknown_class_names_the_available_ones() -> None:
    with pytest.raises(KeyError, match="giraffe") as err:
        make_shape("giraffe", 0)
    assert "chair" in str(err.value) and "umbrella" in str(err.value)
    with pytest.raises(ValueError, match="index"):
        make_shape("chair", -1)


def test_class_id_is_stable_crc32() -> None:
    # A fixed number: python's hash() is salted per process, crc32 is not.
    assert class_id("chair") == zlib.crc32(b"chair") == 2768454789


@pytest.mark.parametrize("name", CLASSES)
def test_meshes_are_valid_and_on_the_ground(name: str) -> None:
    lo, hi = HEIGHT_RANGE[name]
    for index in range(6):
        mesh, _ = make_shape(name, index)
        v = mesh.vertices
        assert isinstance(mesh, trimesh.Trimesh) and 0 < len(mesh.faces) <= 4000
        assert np.isfinite(v).all()
        assert v[:, 1].min() == pytest.approx(0.0, abs=1e-9), "shapes stand on y = 0"
        assert lo <= mesh.extents[1] <= hi, f"{name} {index}: height {mesh.extents[1]:.2f} m"
        assert mesh.area_faces.min() > 1e-10, "no degenerate faces"
        for part in mesh.split(only_watertight=False):
            assert part.is_watertight and part.is_winding_consistent, f"{name} {index}: open part"
            assert part.volume > 0, f"{name} {index}: a part's normals point inwards"


@pytest.mark.parametrize("name", CLASSES)
def test_deterministic_by_class_index_seed(name: str) -> None:
    a, pa = make_shape(name, 4, seed=7)
    b, pb = make_shape(name, 4, seed=7)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.faces, b.faces)
    assert pa == pb
    c, _ = make_shape(name, 5, seed=7)
    d, _ = make_shape(name, 4, seed=8)
    for other in (c, d):
        assert other.vertices.shape != a.vertices.shape or not np.allclose(other.vertices, a.vertices)


@pytest.mark.parametrize("name", CLASSES)
def test_parameters_and_structural_variants(name: str) -> None:
    shapes = [make_shape(name, i) for i in range(30)]
    structures, variants = set(), set()
    for _, params in shapes:
        json.dumps(params)  # manifest-ready
        assert all(isinstance(v, (float, int, str)) for v in params.values())
        assert sum(isinstance(v, float) for v in params.values()) >= 4, params
        variants.add(params["variant"])
        structures.add(_structure(params))
    assert len(variants) >= 2, f"{name}: only variant {variants}"
    assert len(structures) >= 4, f"{name}: only {len(structures)} distinct structures in 30 shapes"
    # shapes really differ: bounding-box proportions spread over the indices
    ext = np.array([m.extents for m, _ in shapes])
    aspect = ext[:, 1] / ext[:, [0, 2]].max(1)
    assert aspect.max() / aspect.min() > 1.2, f"{name}: height/width ratios {aspect.min():.2f}-{aspect.max():.2f}"
    assert len({len(m.faces) for m, _ in shapes}) >= 3


@pytest.mark.parametrize("name", ["chair", "sofa", "airplane", "guitar"])
def test_front_faces_plus_z(name: str) -> None:
    """Backrests and tail fins (the highest parts) are at the back (-Z); a guitar's face at +Z."""
    for index in range(8):
        mesh, _ = make_shape(name, index)
        v = mesh.vertices
        if name == "guitar":  # the bridge and sound hole stand proud of the +Z face
            mid = v[v[:, 1] < 1e-6, 2].mean()  # the bottom of the body, symmetric about its mid-plane
            low = v[v[:, 1] < 0.3 * v[:, 1].max(), 2]
            assert low.max() - mid > mid - low.min() + 0.002
        else:
            top = v[v[:, 1] > 0.85 * v[:, 1].max()]
            assert top[:, 2].mean() < 0, f"{name} {index}: the top is not at the back"


def test_average_build_time() -> None:
    start = time.perf_counter()
    n = 0
    for name in CLASSES:
        for index in range(3):
            make_shape(name, 100 + index)
            n += 1
    mean_ms = (time.perf_counter() - start) / n * 1e3
    assert mean_ms < 20.0, f"make_shape takes {mean_ms:.1f} ms on average"


# -- primitives ------------------------------------------------------------------------------------


def _check_closed(part: P.Part) -> trimesh.Trimesh:
    mesh = trimesh.Trimesh(part.vertices, part.faces, process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    return mesh


def test_primitive_volumes() -> None:
    assert _check_closed(P.box((1, 2, 3), (5, 5, 5))).volume == pytest.approx(6.0)
    n, r, h = 16, 0.5, 2.0
    polygon_area = 0.5 * n * r * r * np.sin(2 * np.pi / n)
    assert _check_closed(P.cylinder((0, 0, 0), (h, 0, 0), r, n)).volume == pytest.approx(polygon_area * h)
    assert _check_closed(P.frustum((0, 0, 0), (0, 0, h), r, 0.0, n)).volume == pytest.approx(polygon_area * h / 3)
    # a concave L-shaped outline: ear clipping must triangulate it correctly
    outline = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]
    assert _check_closed(P.prism(outline, 0.5)).volume == pytest.approx(3.0 * 0.5)
    assert _check_closed(P.prism(outline[::-1], 0.5, axis="x")).volume == pytest.approx(1.5)
    assert _check_closed(P.hull([(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)])).volume == pytest.approx(1 / 6)


def test_primitives_are_closed_and_outward() -> None:
    parts = [
        P.ellipsoid((0, 1, 0), (1, 0.5, 0.3)),
        P.torus((0, 0, 0), 1.0, 0.2, axis=(1, 1, 0)),
        P.lathe([(0.3, 0.0), (0.3, 0.6), (0.1, 0.9), (0.1, 1.1)]),
        P.lathe([(0.3, 0.0), (0.15, 0.3), (0.14, 0.3), (0.29, 0.0)], closed=True),  # a lamp shade
        P.tube([(0, 0, 0), (0, 1, 0), (0.3, 1.3, 0), (0.6, 1.2, 0)], [0.05, 0.04, 0.03, 0.02], aspect=0.5),
        P.beam((0, 0, 0), (0.1, 1, 0.2), 0.05, 0.03),
        P.beam((0, 0, 0), (0.1, 1, 0.2), 0.05).mirrored_x(),
        P.box((1, 1, 1)).rotated(0.3, (1, 2, 3), (1, 0, 0)),
    ]
    for part in parts:
        _check_closed(part)
    many = P.boxes([[1, 1, 1], [2, 2, 2]], [[0, 0, 0], [5, 0, 0]])
    mesh = trimesh.Trimesh(many.vertices, many.faces, process=False)
    assert len(mesh.split(only_watertight=False)) == 2 and mesh.volume == pytest.approx(9.0)
    with pytest.raises(ValueError, match="r > 0"):
        P.lathe([(0.3, 0.0), (0.0, 0.5), (0.3, 1.0)])


def test_assemble_grounds_and_centres() -> None:
    mesh = P.assemble([P.box((1, 1, 1), (3, 2, 1)), P.box((1, 1, 1), (5, 4, 1))])
    assert mesh.bounds[0, 1] == 0.0
    np.testing.assert_allclose((mesh.bounds[0] + mesh.bounds[1])[[0, 2]], 0.0, atol=1e-12)
    assert len(mesh.split(only_watertight=False)) == 2


def test_the_real_shape_set_adds_lamp_posts_and_leaves_the_base_set_alone() -> None:
    """``shape_set=real`` (the bundle's data): a fifth of the lamps are lamp posts or street lamps, valid and
    thin; the base set draws exactly the shapes it always did (every other class is shared)."""
    from sbsr_lab.data.synthshapes import SHAPE_SETS

    posts = []
    for i in range(60):
        base, pb = make_shape("lamp", i)
        again, pa = make_shape("lamp", i, 0, "base")
        np.testing.assert_array_equal(base.vertices, again.vertices)
        assert pb == pa and pb["variant"] != "post"
        mesh, params = make_shape("lamp", i, 0, "real")
        if params["variant"] == "post":
            posts.append((mesh, params))
    assert 6 <= len(posts) <= 20, len(posts)  # 20 % of 60
    assert len({p["top"] for _, p in posts}) >= 3
    for mesh, params in posts:
        assert mesh.vertices[:, 1].min() == pytest.approx(0.0, abs=1e-9)
        assert 2.4 <= mesh.extents[1] <= 4.6, params
        aspect = mesh.extents[1] / max(mesh.extents[0], mesh.extents[2])
        assert aspect > (3.0 if params["top"] in ("lantern", "globe") else 1.2), ("a post is tall and thin", params)
        for part in mesh.split(only_watertight=False):
            assert part.is_watertight and part.volume > 0
    for name in CLASSES:
        if name not in SHAPE_SETS["real"]:
            a, _ = make_shape(name, 3, 1, "real")
            b, _ = make_shape(name, 3, 1)
            np.testing.assert_array_equal(a.vertices, b.vertices)
    with pytest.raises(KeyError, match="shape set 'fancy'.*base, real"):
        make_shape("lamp", 0, 0, "fancy")
