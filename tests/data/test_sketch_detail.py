"""The ``detailed`` drawing style: hatching stays on the dark side, texture on the shape, both drawn."""

from __future__ import annotations

import numpy as np
import pytest

from sbsr_lab.data.sketchgen import synthesize_sketch
from sbsr_lab.data.sketchgen.detail import dark_side, detail_strokes, hatch, texture
from sbsr_lab.data.sketchgen.styles import _hit_buffer
from sbsr_lab.data.synthshapes import make_shape
from sbsr_lab.render import Camera, normalize_mesh


def _pixels(strokes, n):
    """Every pixel a stroke passes through (sampled every half pixel)."""
    out = []
    for s in strokes:
        for a, b in zip(s[:-1], s[1:]):
            t = np.linspace(0, 1, max(2, int(np.linalg.norm(b - a) * n * 2) + 2))[:, None]
            out.append(np.floor((a + t * (b - a)) * n).astype(int))
    return np.clip(np.concatenate(out), 0, n - 1)


def test_hatching_fills_the_mask_and_stays_inside_it():
    n = 100
    mask = np.zeros((n, n), bool)
    mask[20:60, 30:80] = True
    for angle in (0.0, 45.0, 90.0, 135.0):
        lines = hatch(mask, angle, spacing_px=5.0, min_length_px=2.0)
        px = _pixels(lines, n)
        assert mask[px[:, 1], px[:, 0]].mean() > 0.97, angle  # on the mask (end pixels may round out)
        covered = np.zeros_like(mask)
        covered[px[:, 1], px[:, 0]] = True
        rows_hit = covered[20:60].any(1).mean() if angle != 0.0 else covered[20:60, 30:80].any(1).mean()
        assert rows_hit > 0.1
        assert 5 <= len(lines) <= 30, (angle, len(lines))  # one stroke every 5 px across a 40-50 px box
    assert hatch(np.zeros((n, n), bool), 45.0, 5.0, 2.0) == []


def test_texture_strokes_start_on_the_shape():
    n = 64
    mask = np.zeros((n, n), bool)
    mask[10:50, 10:50] = True
    marks = texture(mask, np.random.default_rng(0), count=10, length_px=6.0, angle_deg=0.0)
    assert 5 <= len(marks) <= 10
    px = _pixels(marks, n)
    assert mask[px[:, 1], px[:, 0]].mean() > 0.9


def test_the_dark_side_turns_with_the_light():
    mesh = normalize_mesh(make_shape("table", 0, 0)[0])
    buf = _hit_buffer(mesh, Camera(eye=(0.0, 1.2, 2.6)), 96)
    hit = buf.tri[0] >= 0
    from_left = dark_side(buf, np.array([-0.6, 0.7, 0.5]), 0.0)
    from_right = dark_side(buf, np.array([0.6, 0.7, 0.5]), 0.0)
    assert not (from_left & ~hit).any()
    assert 0 < from_left.sum() < hit.sum()
    assert (from_left != from_right).any()  # another light, another dark side


def test_a_detailed_drawing_has_more_strokes_than_its_plain_lines():
    mesh, params = make_shape("bed", 2, 0)
    mesh = normalize_mesh(mesh)
    counts = {style: np.mean([len(synthesize_sketch(mesh, np.random.default_rng(s), 0.0, style=style, cls="bed",
                                                    params=params).strokes) for s in range(4)])
              for style in ("perspective", "detailed")}
    assert counts["detailed"] > counts["perspective"] + 3, counts
    assert detail_strokes(_hit_buffer(mesh, Camera(eye=(0.0, 1.2, 2.6)), 96), np.random.default_rng(1))


@pytest.mark.parametrize("seed", range(3))
def test_detailed_strokes_are_valid_strokes(seed):
    mesh, params = make_shape("chair", seed, 0)
    sk = synthesize_sketch(normalize_mesh(mesh), np.random.default_rng(seed), 0.5, style="detailed", cls="chair",
                           params=params)
    assert sk.style == "detailed" and len(sk.widths) == len(sk.strokes)
    pts = np.concatenate(sk.strokes)
    assert np.isfinite(pts).all() and pts.min() >= -1e-6 and pts.max() <= 1 + 1e-6
