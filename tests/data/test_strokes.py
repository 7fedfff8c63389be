"""Stroke I/O and the one rasteriser: drawing, normalising, ndjson/SVG round trips, loaders and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbsr_lab.data.stroke_io import (
    load_sketch_image,
    load_strokes,
    quickdraw_to_strokes,
    read_ndjson,
    read_svg,
    sketch_record,
    strokes_to_quickdraw,
    write_ndjson,
    write_svg,
)
from sbsr_lab.data.strokes import normalize_strokes, simplify_strokes, strokes_to_image
from sbsr_lab.errors import SketchError
from sbsr_lab.io import save_png

BOX = [np.array([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8], [0.2, 0.2]], dtype=np.float32)]
DIAG = [np.array([[0.1, 0.1], [0.9, 0.9]], dtype=np.float32)]


def _same_strokes(a, b, tol: float) -> None:
    assert len(a) == len(b)
    for s, t in zip(a, b):
        assert s.shape == t.shape
        np.testing.assert_allclose(s, t, atol=tol)


# -- rasteriser -----------------------------------------------------------------------------------

def test_rasteriser_puts_ink_on_the_strokes_only():
    img = strokes_to_image(BOX, size=64)
    assert img.shape == (64, 64) and img.dtype == np.float32
    assert img.max() == pytest.approx(1.0) and img.min() == 0.0
    # on the top edge (y = 0.2 * 64 = 12.8 px) there is ink; in the middle and outside there is none
    assert img[12:14, 20:44].sum(axis=0).min() > 0.9
    assert img[24:40, 24:40].max() == 0.0
    assert img[:8].max() == 0.0 and img[:, 56:].max() == 0.0
    # anti-aliased: some grey levels between paper and ink
    assert ((img > 0.05) & (img < 0.95)).any()


def test_rasteriser_diagonal_follows_the_line():
    img = strokes_to_image(DIAG, size=50)
    ys, xs = np.nonzero(img > 0.3)
    assert np.abs(ys - xs).max() <= 2
    assert len(ys) > 40


def test_dot_draws_a_dot():
    img = strokes_to_image([np.array([[0.5, 0.25]], dtype=np.float32)], size=64, width=4)
    ys, xs = np.nonzero(img > 0.5)
    assert len(ys) > 4
    assert abs(ys.mean() - 15.5) < 1.0 and abs(xs.mean() - 31.5) < 1.0


def test_width_and_widths_grow_the_ink():
    thin = strokes_to_image(BOX, size=64, width=1).sum()
    thick = strokes_to_image(BOX, size=64, width=4).sum()
    assert thick > 3 * thin
    two = BOX + [np.array([[0.3, 0.5], [0.7, 0.5]], dtype=np.float32)]
    base = strokes_to_image(two, size=64, widths=[1.0, 1.0])
    bold = strokes_to_image(two, size=64, widths=[1.0, 3.0])
    assert bold[28:36].sum() > 2 * base[28:36].sum()
    np.testing.assert_array_equal(bold[:20], base[:20])  # the first stroke is unchanged


def test_default_width_scales_with_size():
    a = strokes_to_image(BOX, size=64).sum() / 64**2
    b = strokes_to_image(BOX, size=256).sum() / 256**2
    assert a == pytest.approx(b, rel=0.15)


def test_rasteriser_edge_cases():
    assert strokes_to_image([], size=16).shape == (16, 16)
    assert strokes_to_image([], size=16).max() == 0.0
    line = strokes_to_image([[(0.1, 0.1), (0.9, 0.1)]], size=32)  # plain lists are fine
    assert line[:, 16].sum() == pytest.approx(1.0, abs=0.1)  # 1 px wide, split over two rows
    with pytest.raises(SketchError, match="widths"):
        strokes_to_image(BOX, widths=[1.0, 2.0])
    with pytest.raises(SketchError, match="NaN"):
        strokes_to_image([np.array([[0.1, np.nan], [0.5, 0.5]], dtype=np.float32)])
    with pytest.raises(SketchError, match=r"\(N, 2\)"):
        strokes_to_image([np.zeros((3, 3))])


# -- normalise, simplify --------------------------------------------------------------------------

def test_normalize_fits_the_margin_and_keeps_aspect():
    s = [np.array([[10.0, 5.0], [30.0, 5.0], [30.0, 15.0]])]
    out = normalize_strokes(s, margin=0.1)[0]
    assert out[:, 0].min() == pytest.approx(0.1) and out[:, 0].max() == pytest.approx(0.9)
    h = out[:, 1].max() - out[:, 1].min()
    assert h == pytest.approx(0.4)  # 20 x 10 -> 0.8 x 0.4
    assert (out[:, 1].max() + out[:, 1].min()) / 2 == pytest.approx(0.5)
    dot = normalize_strokes([np.array([[3.0, 4.0]])])[0]
    np.testing.assert_allclose(dot, [[0.5, 0.5]])
    assert normalize_strokes([]) == []


def test_simplify_removes_collinear_points():
    line = np.stack([np.linspace(0, 1, 50), np.full(50, 0.5)], axis=1)
    out = simplify_strokes([line, np.array([[0.2, 0.2]])])
    assert len(out[0]) == 2 and len(out[1]) == 1
    np.testing.assert_allclose(out[0][[0, -1]], line[[0, -1]], atol=1e-6)
    corner = np.array([[0, 0], [0.5, 0.0], [0.5, 0.5]], dtype=np.float32)
    assert len(simplify_strokes([corner])[0]) == 3


def test_simplify_matches_skimage():
    from skimage.measure import approximate_polygon

    rng = np.random.default_rng(0)
    for k in range(30):
        p = np.cumsum(rng.normal(0, 0.01, (int(rng.integers(3, 200)), 2)), axis=0).astype(np.float32)
        if k % 3 == 0:
            p[-1] = p[0]  # closed strokes too
        tol = float(rng.uniform(0.001, 0.02))
        np.testing.assert_allclose(simplify_strokes([p], tol)[0], approximate_polygon(p.astype(np.float64), tol),
                                   atol=1e-6)


# -- QuickDraw ndjson -----------------------------------------------------------------------------

def test_ndjson_round_trip(tmp_path):
    strokes = BOX + [np.array([[0.5, 0.5]], dtype=np.float32)]
    rec = sketch_record(strokes, "chair", "chair_s001", noise=0.25, widths=[1.0, 1.5])
    assert rec["countrycode"] == "SB" and rec["recognized"] is True
    assert all(0 <= v <= 255 and isinstance(v, int) for st_ in rec["drawing"] for axis in st_ for v in axis)
    path = tmp_path / "a.ndjson"
    write_ndjson(path, [rec, sketch_record(DIAG, "table", "t1")])
    back = read_ndjson(path)
    assert [r["word"] for r in back] == ["chair", "table"]
    assert back[0]["noise"] == 0.25 and back[0]["widths"] == [1.0, 1.5]
    _same_strokes(load_strokes(path), strokes, tol=0.5 / 255 + 1e-6)
    _same_strokes(load_strokes(path, index=1), DIAG, tol=0.5 / 255 + 1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=8),
                min_size=1, max_size=5))
def test_quickdraw_round_trip_property(raw):
    strokes = [np.asarray(s, dtype=np.float32) for s in raw]
    back = quickdraw_to_strokes(strokes_to_quickdraw(strokes))
    _same_strokes(back, strokes, tol=0.5 / 255 + 1e-6)


def test_raw_quickdraw_with_time_and_big_coordinates():
    drawing = [[[100, 500, 900], [200, 200, 600], [0, 35, 80]], [[500], [400], [120]]]
    strokes = quickdraw_to_strokes(drawing)
    assert len(strokes) == 2 and strokes[1].shape == (1, 2)
    pts = np.concatenate(strokes)
    assert pts.min() >= 0.05 - 1e-6 and pts.max() <= 0.95 + 1e-6
    assert pts[:, 0].min() == pytest.approx(0.05) and pts[:, 0].max() == pytest.approx(0.95)  # 800 wide
    # aspect kept: 800 x 400 -> 0.9 x 0.45
    assert np.ptp(pts[:, 1]) == pytest.approx(0.45)
    with pytest.raises(SketchError, match="stroke 0"):
        quickdraw_to_strokes([[[1, 2]]])


# -- SVG ------------------------------------------------------------------------------------------

def test_svg_round_trip(tmp_path):
    strokes = BOX + DIAG + [np.array([[0.3, 0.7]], dtype=np.float32)]
    path = tmp_path / "s.svg"
    write_svg(path, strokes, size=200, widths=[1, 2, 1])
    _same_strokes(read_svg(path), strokes, tol=0.01 / 200 + 1e-6)
    img = load_sketch_image(path, 32)
    assert img.shape == (32, 32) and img.max() > 0.9


def test_svg_commands_and_viewbox(tmp_path):
    svg = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100" transform="scale(2)">
      <path d="M10,10 H 60 v 40 h-50 Z m 100 0 l 20 20 20 -20"/>
      <path d="M 10 90 C 40 60, 80 60, 110 90 Q 150 60 190 90"/>
      <polyline points="0,0 200,100"/>
      <line x1="0" y1="100" x2="200" y2="0"/>
    </svg>"""
    path = tmp_path / "c.svg"
    path.write_text(svg)
    strokes = read_svg(path)
    assert len(strokes) == 5
    # viewBox 200 x 100 -> scale 1/200, y centred: y' = (y + 50) / 200
    np.testing.assert_allclose(strokes[0], np.array([[10, 60], [60, 60], [60, 100], [10, 100], [10, 60]]) / 200,
                               atol=1e-6)
    np.testing.assert_allclose(strokes[1], np.array([[110, 60], [130, 80], [150, 60]]) / 200, atol=1e-6)
    curve = strokes[2]
    assert len(curve) > 10  # flattened
    np.testing.assert_allclose(curve[[0, -1]], np.array([[10, 140], [190, 140]]) / 200, atol=1e-6)
    assert curve[:, 1].min() < 130 / 200  # the curves bulge upwards
    np.testing.assert_allclose(strokes[3], [[0, 0.25], [1, 0.75]], atol=1e-6)


def test_svg_without_viewbox_is_fitted(tmp_path):
    path = tmp_path / "n.svg"
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg"><polyline points="5 5 25 5 25 45"/></svg>')
    pts = np.concatenate(read_svg(path))
    assert pts.min() >= 0.05 - 1e-6 and pts.max() <= 0.95 + 1e-6


# -- raster loaders -------------------------------------------------------------------------------

def test_load_png_black_on_white(tmp_path):
    ink = strokes_to_image(BOX, size=100, width=3)
    save_png(tmp_path / "s.png", 1.0 - ink)
    img = load_sketch_image(tmp_path / "s.png", 50)
    assert img.shape == (50, 50) and img.dtype == np.float32
    assert img[10, 25] > 0.5 and img[25, 25] == 0.0 and img[0, 0] == 0.0


def test_load_rgba_with_transparent_paper_and_non_square(tmp_path):
    from PIL import Image

    rgba = np.zeros((40, 80, 4), dtype=np.uint8)  # transparent everywhere (colour black!)
    rgba[18:22, 10:70, 3] = 255  # an opaque black bar
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    img = load_sketch_image(tmp_path / "t.png", 40)
    assert img.shape == (40, 40)
    assert img[19:21, 10:30].mean() > 0.8
    assert img[:10].max() == 0.0 and img[30:].max() == 0.0  # padding and transparent paper are paper


def test_load_ndjson_uses_widths(tmp_path):
    path = tmp_path / "w.ndjson"
    write_ndjson(path, [sketch_record(BOX, "x", "1", widths=[3.0])])
    bold = load_sketch_image(path, 64)
    write_ndjson(path, [sketch_record(BOX, "x", "1")])
    plain = load_sketch_image(path, 64)
    assert bold.sum() > 2 * plain.sum()


# -- bad input ------------------------------------------------------------------------------------

def test_missing_file_and_unsupported_suffix(tmp_path):
    with pytest.raises(SketchError, match="not found"):
        load_sketch_image(tmp_path / "nope.png", 32)
    (tmp_path / "a.bmpx").write_text("x")
    with pytest.raises(SketchError, match="unsupported.*\\.png"):
        load_sketch_image(tmp_path / "a.bmpx", 32)
    with pytest.raises(SketchError, match="load_sketch_image"):
        load_strokes(tmp_path / "a.png")


def test_corrupt_png(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    with pytest.raises(SketchError, match="bad.png.*cannot read"):
        load_sketch_image(path, 32)


def test_empty_and_malformed_ndjson(tmp_path):
    empty = tmp_path / "e.ndjson"
    empty.write_text("\n")
    with pytest.raises(SketchError, match="empty"):
        load_strokes(empty)
    bad = tmp_path / "m.ndjson"
    bad.write_text('{"word": "a", "drawing": [[[1],[2]]]}\n{"word": oops}\n')
    with pytest.raises(SketchError, match="m.ndjson: line 2 is not valid JSON"):
        read_ndjson(bad)
    nodrawing = tmp_path / "d.ndjson"
    nodrawing.write_text('{"word": "a"}\n')
    with pytest.raises(SketchError, match="no 'drawing'"):
        read_ndjson(nodrawing)


def test_blank_sketches(tmp_path):
    save_png(tmp_path / "white.png", np.ones((20, 20), dtype=np.float32))
    with pytest.raises(SketchError, match="draw something first"):
        load_sketch_image(tmp_path / "white.png", 16)
    blank = tmp_path / "b.ndjson"
    blank.write_text(json.dumps({"word": "a", "drawing": []}) + "\n")
    with pytest.raises(SketchError, match="draw something first"):
        load_sketch_image(blank, 16)
    with pytest.raises(SketchError, match="draw something first"):
        load_strokes(blank)
    svg = tmp_path / "b.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>')
    with pytest.raises(SketchError, match="draw something first"):
        load_sketch_image(svg, 16)


def test_nan_coordinates(tmp_path):
    path = tmp_path / "n.ndjson"
    path.write_text('{"word": "a", "drawing": [[[1, NaN], [2, 3]]]}\n')
    with pytest.raises(SketchError, match="NaN"):
        load_sketch_image(path, 16)
    svg = tmp_path / "n.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M 1 1 L 1e999 2"/></svg>')
    with pytest.raises(SketchError, match="NaN or infinite"):
        read_svg(svg)


def test_bad_svg(tmp_path):
    path = tmp_path / "x.svg"
    path.write_text("<svg><path d='M 1 1 L")
    with pytest.raises(SketchError, match="not a valid SVG"):
        read_svg(path)
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg"><path d="M 1 1 L 2"/></svg>')
    with pytest.raises(SketchError, match="needs 2 numbers"):
        read_svg(path)


def test_quickdraw_dot_and_precision():
    q = strokes_to_quickdraw([np.array([[0.0, 1.0]], dtype=np.float32)])
    assert q == [[[0], [255]]]
    assert math.isclose(float(quickdraw_to_strokes(q)[0][0, 1]), 1.0)
