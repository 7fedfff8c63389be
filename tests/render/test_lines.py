"""Line drawings: the outline, creases and depth discontinuities are inked; flat and smooth areas are not."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from sbsr_lab.render import Camera, render_view

SIZE = 96


def _pixel(cam: Camera, point) -> tuple[int, int]:
    """(row, col) of a world point in a SIZE x SIZE image of ``cam``."""
    m = cam.matrix()
    p = m[:3, :3].T @ (np.asarray(point, float) - m[:3, 3])
    half = math.tan(math.radians(cam.fov_deg) / 2)
    x, y = p[0] / -p[2] / half, p[1] / -p[2] / half
    return int((1 - y) / 2 * SIZE), int((x + 1) / 2 * SIZE)


def _ink_near(lines: np.ndarray, rc: tuple[int, int], r: int = 1) -> float:
    i, j = rc
    return float(lines[i - r:i + r + 1, j - r:j + r + 1].max())


def test_cube_lines_have_outline_and_creases():
    cam = Camera(eye=(2.0, 1.6, 2.4))
    lines = render_view(trimesh.creation.box(), cam, size=SIZE, styles=("lines",))["lines"]
    outline_mid = (0.0, -0.5, 0.5)    # bottom front edge: on the outline from this side
    crease_mids = [(0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0)]  # the 3 edges at the near corner
    assert _ink_near(lines, _pixel(cam, outline_mid)) > 0.7
    for mid in crease_mids:
        assert _ink_near(lines, _pixel(cam, mid)) > 0.7, mid
    for face_centre in [(0.5, 0.0, 0.0), (0.0, 0.5, 0.0), (0.0, 0.0, 0.5)]:
        assert _ink_near(lines, _pixel(cam, face_centre), r=3) == 0.0, face_centre
    assert lines[0, 0] == 0.0 and lines.max() <= 1.0


def test_lines_are_thin_at_128_and_scale_with_size():
    cam = Camera(eye=(0.0, 0.0, 3.0))
    for size, width in ((128, 1.25), (256, 2.5)):
        lines = render_view(trimesh.creation.box(), cam, size=size, styles=("lines",))["lines"]
        side_px = 2 * 0.5 / 2.5 / math.tan(math.radians(cam.fov_deg) / 2) / 2 * size
        measured = lines.sum() / (4 * side_px)
        assert measured == pytest.approx(width, rel=0.2), size


def test_depth_discontinuity_without_crease_is_drawn():
    # a small box floating in front of a big one: front faces are parallel, so only depth separates them
    big = trimesh.creation.box((1.6, 1.6, 0.2))
    small = trimesh.creation.box((0.4, 0.4, 0.2)).apply_translation((0, 0, 0.6))
    cam = Camera(eye=(0.0, 0.0, 3.0))
    lines = render_view(trimesh.util.concatenate([big, small]), cam, size=SIZE, styles=("lines",))["lines"]
    assert _ink_near(lines, _pixel(cam, (0.2, 0.0, 0.7))) > 0.7   # right edge of the small box
    assert _ink_near(lines, _pixel(cam, (0.5, 0.0, 0.1)), r=3) == 0.0  # flat part of the big box


def test_smooth_sphere_has_only_its_outline():
    cam = Camera(eye=(0.0, 0.0, 3.0))
    lines = render_view(trimesh.creation.icosphere(3), cam, size=SIZE, styles=("lines",))["lines"]
    yy, xx = np.mgrid[:SIZE, :SIZE] + 0.5 - SIZE / 2
    r = np.hypot(yy, xx)
    rim = 1 / math.sqrt(3**2 - 1) / math.tan(math.radians(cam.fov_deg) / 2) * SIZE / 2
    assert lines[r < 0.85 * rim].max() == 0.0
    band = (r > rim - 3) & (r < rim + 1)
    assert lines[band].sum() / (2 * math.pi * rim) == pytest.approx(1.0, abs=0.35)  # a ~1 px closed outline
    assert lines[r > rim + 2].max() == 0.0


def test_crease_angle_controls_creases():
    cam = Camera(eye=(2.0, 1.6, 2.4))
    ico = trimesh.creation.icosahedron()  # dihedral angle 138.2 deg: normals differ by 41.8 deg
    sharp = render_view(ico, cam, size=SIZE, styles=("lines",), crease_deg=35.0)["lines"]
    soft = render_view(ico, cam, size=SIZE, styles=("lines",), crease_deg=50.0)["lines"]
    assert sharp.sum() > 1.5 * soft.sum()
