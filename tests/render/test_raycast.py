"""Ray-cast views: exact silhouette area, depth ordering, normals, shading, shapes and ranges of every style."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from sbsr_lab.render import STYLES, Camera, get_rig, normalize_mesh, render_view, render_views
from sbsr_lab.render.raycast import AMBIENT, LIGHT_DIR

FRONT = Camera(eye=(0.0, 0.0, 3.0))


def _front_face_fraction(half_side: float, face_z: float, cam: Camera) -> float:
    """Image fraction covered by a square of half-side ``half_side`` at z = ``face_z``, seen front-on."""
    ndc = half_side / (cam.eye[2] - face_z) / math.tan(math.radians(cam.fov_deg) / 2)
    return ndc**2


def test_unit_cube_front_on_has_the_expected_silhouette_area():
    views = render_view(trimesh.creation.box(), FRONT, size=64, styles=("silhouette",))
    assert views["silhouette"].mean() == pytest.approx(_front_face_fraction(0.5, 0.5, FRONT), abs=2e-3)
    # the square is centred: its row and column coverage profiles are symmetric
    sil = views["silhouette"]
    np.testing.assert_allclose(sil, sil[::-1], atol=1e-6)
    np.testing.assert_allclose(sil, sil[:, ::-1], atol=1e-6)


def test_depth_mapping_and_increase_towards_the_camera():
    box = trimesh.creation.box()
    far = render_view(box, FRONT, size=32, styles=("depth",))["depth"]
    near = render_view(box.copy().apply_translation((0, 0, 0.3)), FRONT, size=32, styles=("depth",))["depth"]
    # front face at z_cam = 2.5, origin at 3: 0.1 + 0.45 * (3 + 1 - 2.5)
    assert far[16, 16] == pytest.approx(0.1 + 0.45 * 1.5, abs=1e-5)
    assert near[16, 16] > far[16, 16]
    assert far[0, 0] == 0.0  # background
    sphere = render_view(trimesh.creation.icosphere(3), FRONT, size=64, styles=("depth",))["depth"]
    assert sphere[32, 32] == pytest.approx(1.0, abs=0.01)  # nearest point of the unit sphere
    row = sphere[32, 32:52]
    assert np.all(np.diff(row) < 0)  # away from the centre the surface recedes


def test_normals_face_the_camera_even_for_inverted_meshes():
    box = trimesh.creation.box()
    inverted = box.copy()
    inverted.invert()
    for mesh in (box, inverted):
        normals = render_view(mesh, FRONT, size=32, styles=("normals",), supersample=1)["normals"]
        np.testing.assert_allclose(normals[16, 16], [0, 0, 1], atol=1e-6)
        np.testing.assert_array_equal(normals[0, 0], [0, 0, 0])


def test_shaded_is_lambert_with_camera_light():
    shaded = render_view(trimesh.creation.box(), FRONT, size=32, styles=("shaded",))["shaded"]
    assert shaded[16, 16] == pytest.approx(AMBIENT + (1 - AMBIENT) * LIGHT_DIR[2], abs=1e-5)
    assert shaded[0, 0] == 0.0


def test_all_styles_shapes_dtypes_and_ranges():
    mesh = normalize_mesh(trimesh.creation.annulus(0.3, 0.6, 0.4))
    views = render_views(mesh, get_rig("ring12"), size=24, styles=STYLES)
    assert set(views) == set(STYLES)
    for style, arr in views.items():
        assert arr.dtype == np.float32, style
        if style == "normals":
            assert arr.shape == (12, 24, 24, 3)
            assert arr.min() >= -1 - 1e-6 and arr.max() <= 1 + 1e-6
        else:
            assert arr.shape == (12, 24, 24), style
            assert arr.min() >= 0 and arr.max() <= 1, style
            assert arr.max() > 0.5, style
    assert np.all(views["depth"][views["silhouette"] == 0] == 0)
    assert np.all(views["shaded"][views["silhouette"] == 0] == 0)


def test_render_view_matches_render_views():
    mesh = normalize_mesh(trimesh.creation.cone(0.5, 1.0))
    rig = get_rig("dodeca20")
    many = render_views(mesh, rig[:3], size=20, styles=("depth", "lines"))
    one = render_view(mesh, rig[2], size=20, styles=("depth", "lines"))
    np.testing.assert_allclose(one["depth"], many["depth"][2], atol=1e-6)
    np.testing.assert_allclose(one["lines"], many["lines"][2], atol=1e-6)


def test_supersampling_antialiases_edges():
    sphere = trimesh.creation.icosphere(3)
    hard = render_view(sphere, FRONT, size=32, styles=("silhouette",), supersample=1)["silhouette"]
    soft = render_view(sphere, FRONT, size=32, styles=("silhouette",), supersample=4)["silhouette"]
    partial = (soft > 0) & (soft < 1)
    assert partial.sum() > 40  # the rim pixels are partly covered
    assert soft.sum() == pytest.approx(hard.sum(), rel=0.05)


def test_supersample_one_gives_a_binary_silhouette():
    sil = render_view(trimesh.creation.icosphere(2), FRONT, size=16, styles=("silhouette",), supersample=1)
    assert set(np.unique(sil["silhouette"])) <= {0.0, 1.0}


def test_bad_arguments_give_clear_errors():
    box = trimesh.creation.box()
    with pytest.raises(ValueError, match="unknown render style.*'shaded'"):
        render_view(box, FRONT, styles=("toon",))
    with pytest.raises(ValueError, match="supersample"):
        render_view(box, FRONT, supersample=0)
    with pytest.raises(ValueError, match="at least one camera"):
        render_views(box, [], size=8)
    with pytest.raises(ValueError, match="load_mesh"):
        render_view(trimesh.Scene([box]), FRONT, size=8)


def test_numpy_fallback_tracer_agrees_with_embree():
    from sbsr_lab.render.rays import Tracer, camera_rays

    mesh = normalize_mesh(trimesh.creation.cone(0.5, 1.0, sections=12))
    rays = camera_rays(tuple(get_rig("ring12")[:2]), 12)
    tri_e, t_e = Tracer(mesh).first_hits(rays.origins, rays.dirs)
    tri_n, t_n = Tracer(mesh, use_embree=False).first_hits(rays.origins, rays.dirs)
    assert (tri_e >= 0).sum() > 50
    np.testing.assert_array_equal(tri_e >= 0, tri_n >= 0)
    hit = tri_e >= 0
    np.testing.assert_allclose(t_e[hit], t_n[hit], atol=1e-4)
