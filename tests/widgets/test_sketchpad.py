"""SketchPad logic without a browser: simulated pointer events, undo/clear, caps, the shared rasteriser."""

import time

import numpy as np
import pytest

from sbsr_lab.data.strokes import MAX_STROKES, cap_strokes, sketch_problem, strokes_to_image
from sbsr_lab.errors import SketchError
from sbsr_lab.widgets.sketchpad import SketchPad


def draw(pad, points):
    pad._start(*points[0])
    for p in points[1:]:
        pad._move(*p)
    pad._end()


def test_mouse_events_build_normalised_strokes_and_callbacks():
    pad = SketchPad(size=200, build_ui=False)
    ended, changed = [], []
    pad.on_stroke_end(lambda p: ended.append(len(p.strokes)))
    pad.on_change(lambda p: changed.append(len(p.strokes)))
    pad._move(10, 10)  # moving with no button down draws nothing
    assert pad.is_empty
    draw(pad, [(20, 40), (100, 40), (180, 40), (250, -30)])  # the last point is clamped to the canvas
    s = pad.strokes
    assert len(s) == 1 and s[0].dtype == np.float32 and s[0].shape[1] == 2
    np.testing.assert_allclose(s[0][0], [0.1, 0.2])
    np.testing.assert_allclose(s[0][-1], [1.0, 0.0])
    assert ((s[0] >= 0) & (s[0] <= 1)).all()
    assert len(s[0]) == 3  # the collinear middle point is simplified away
    assert ended == [1] and changed == [1]
    pad._end()  # a second "up" (mouse out after up) does nothing
    assert ended == [1]


def test_touch_uses_the_first_finger():
    pad = SketchPad(size=100, build_ui=False)
    pad._touch_start([(10, 10), (90, 90)])
    pad._touch_move([(50, 60), (0, 0)])
    pad._touch_end([])
    np.testing.assert_allclose(pad.strokes[0], [[0.1, 0.1], [0.5, 0.6]])


def test_undo_and_clear():
    pad = SketchPad(size=100, build_ui=True)  # with the ipycanvas canvas (no frontend needed)
    draw(pad, [(10, 10), (90, 10)])
    draw(pad, [(10, 50), (90, 50)])
    pad.clear()
    assert pad.is_empty and pad.can_undo
    pad.undo()  # undo the clear
    assert len(pad.strokes) == 2
    pad.undo()
    assert len(pad.strokes) == 1 and pad.strokes[0][0, 1] == pytest.approx(0.1)
    pad.undo()
    pad.undo()  # nothing left to undo: no error
    assert pad.is_empty and not pad.can_undo


def test_image_is_the_training_rasteriser():
    pad = SketchPad(size=300, brush_width=6, build_ui=False)
    draw(pad, [(30, 30), (270, 270)])
    img = pad.image(64)
    assert img.shape == (64, 64) and img.dtype == np.float32 and img.max() > 0.9
    expected = strokes_to_image(pad.strokes, size=64, width=6 * 64 / 300, widths=[1.0])
    np.testing.assert_array_equal(img, expected)
    assert SketchPad(build_ui=False).image(32).max() == 0


def test_sketch_problem_messages():
    assert "draw something first" in sketch_problem([])
    assert "dot" in sketch_problem([np.array([[0.5, 0.5]])])
    assert "dot" in sketch_problem([np.array([[0.5, 0.5], [0.505, 0.5]])])
    assert sketch_problem([np.array([[0.1, 0.1], [0.9, 0.9]])]) is None
    with pytest.raises(SketchError, match="NaN"):
        sketch_problem([np.array([[0.1, np.nan], [0.9, 0.9]])])


def test_huge_input_is_capped_fast():
    rng = np.random.default_rng(0)
    many = [rng.random((5, 2)) for _ in range(5000)]
    t0 = time.perf_counter()
    pad = SketchPad(size=200, build_ui=False)
    pad.set_strokes(many)
    assert len(pad.strokes) == MAX_STROKES
    long = [np.stack([np.linspace(0, 1, 100_000), rng.random(100_000)], 1)]
    capped = cap_strokes(long, max_points=500)
    assert len(capped[0]) <= 500
    # a very long drag stays bounded while it is drawn
    pad._start(0, 0)
    for i in range(6000):
        pad._move(i % 200, (i * 7) % 200)
    pad._end()
    assert len(pad.strokes[-1]) <= pad.max_points
    assert time.perf_counter() - t0 < 10.0
