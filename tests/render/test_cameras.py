"""Camera matrices and rigs: orthonormal, looking at the target, the right eyes at the right places."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sbsr_lab.render import Camera, dodecahedron_rig, get_rig, look_at, ring_rig


@pytest.mark.parametrize("eye, target", [((0, 0, 3), (0, 0, 0)), ((1.0, 2.0, -2.5), (0.1, -0.2, 0.3)),
                                         ((0, 4, 0), (0, 0, 0)), ((-2, -1, 0.5), (1, 1, 1))])
def test_look_at_is_orthonormal_and_looks_at_target(eye, target):
    m = look_at(eye, target)
    rot = m[:3, :3]
    assert m.shape == (4, 4)
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    np.testing.assert_allclose(m[:3, 3], eye)
    np.testing.assert_allclose(m[3], [0, 0, 0, 1])
    forward = -rot[:, 2]  # OpenGL: the camera looks down its -Z
    to_target = np.subtract(target, eye) / np.linalg.norm(np.subtract(target, eye))
    np.testing.assert_allclose(forward, to_target, atol=1e-12)


def test_look_at_keeps_world_up_upwards():
    rot = look_at((3, 1, 2))[:3, :3]
    assert rot[:, 1] @ np.array([0, 1, 0]) > 0.9  # image up close to world up
    assert abs(rot[:, 0] @ np.array([0, 1, 0])) < 1e-12  # image right stays horizontal


def test_look_at_rejects_eye_on_target():
    with pytest.raises(ValueError, match="coincide"):
        look_at((1, 1, 1), (1, 1, 1))


def test_ring_rig_has_12_distinct_eyes_at_30_degrees():
    rig = ring_rig()
    eyes = np.array([c.eye for c in rig])
    assert len(rig) == 12 and len({c.eye for c in rig}) == 12
    dist = np.linalg.norm(eyes, axis=1)
    np.testing.assert_allclose(dist, 2.8)
    np.testing.assert_allclose(np.degrees(np.arcsin(eyes[:, 1] / dist)), 30.0)
    az = np.degrees(np.arctan2(eyes[:, 0], eyes[:, 2])) % 360
    np.testing.assert_allclose(np.sort(az), np.arange(12) * 30.0, atol=1e-9)
    assert eyes[0, 2] > 0 and abs(eyes[0, 0]) < 1e-12  # view 0 faces the front (+Z)


def test_dodecahedron_rig_20_eyes_evenly_spread():
    rig = dodecahedron_rig(distance=2.0)
    eyes = np.array([c.eye for c in rig])
    assert eyes.shape == (20, 3)
    np.testing.assert_allclose(np.linalg.norm(eyes, axis=1), 2.0)
    units = eyes / 2.0
    angles = [math.degrees(math.acos(np.clip(a @ b, -1, 1))) for a, b in itertools.combinations(units, 2)]
    # neighbouring dodecahedron vertices are 41.8 deg apart seen from the centre
    assert min(angles) == pytest.approx(41.81, abs=0.05)
    np.testing.assert_allclose(eyes.mean(0), 0.0, atol=1e-9)
    for cam in rig:  # no eye on the up axis: every matrix is a proper rotation
        rot = cam.matrix()[:3, :3]
        np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-12)


def test_rig_cameras_see_the_whole_unit_sphere():
    for name in ("ring12", "dodeca20"):
        for cam in get_rig(name):
            half = math.radians(cam.fov_deg) / 2
            assert math.asin(1.0 / np.linalg.norm(cam.eye)) < half, (name, cam)


def test_get_rig_unknown_lists_choices():
    assert len(get_rig("dodeca20")) == 20
    with pytest.raises(KeyError, match="ring12"):
        get_rig("ring13")


def test_camera_is_hashable_value():
    assert Camera(eye=(0.0, 0.0, 3.0)) == Camera(eye=(0.0, 0.0, 3.0))
    assert len({Camera(eye=(0.0, 0.0, 3.0)), Camera(eye=(0.0, 0.0, 3.0))}) == 1
