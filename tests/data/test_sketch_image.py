"""sbsr_lab.data.sketch_image: any sketch image is framed like the same strokes rasterised directly."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter
from scipy.ndimage import binary_dilation

from sbsr_lab.data.sketch_image import (
    TRAINING_MARGIN,
    binarize_ink,
    estimate_pen_width,
    frame_sketch,
    frame_strokes,
    load_framed_sketch,
    remove_specks,
)
from sbsr_lab.data.strokes import strokes_to_image
from sbsr_lab.errors import SketchError

S = 128
HOUSE = [np.array([[0.2, 0.45], [0.8, 0.45], [0.8, 0.95], [0.2, 0.95], [0.2, 0.45]]),
         np.array([[0.12, 0.5], [0.5, 0.1], [0.88, 0.5]]),
         np.array([[0.42, 0.95], [0.42, 0.7], [0.58, 0.7], [0.58, 0.95]])]
CHAIR = [np.array([[0.3, 0.1], [0.3, 0.9]]), np.array([[0.3, 0.55], [0.7, 0.55], [0.7, 0.9]]),
         np.array([[0.3, 0.1], [0.36, 0.1], [0.36, 0.55]])]


def page(strokes, size=(600, 450), pen=7, box=(350, 80, 200), paper=255, ink=0, mode="L") -> Image.Image:
    """Draw strokes (in [0, 1]²) into the square ``box`` = (x0, y0, side) of a page, round caps."""
    im = Image.new(mode, size, paper)
    d = ImageDraw.Draw(im)
    x0, y0, side = box
    r = pen / 2
    for s in strokes:
        pts = [(x0 + float(x) * side, y0 + float(y) * side) for x, y in s]
        d.line(pts, fill=ink, width=pen, joint="curve")
        for x, y in (pts[0], pts[-1]):
            d.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return im


def photo(im: Image.Image, seed: int = 0) -> Image.Image:
    """A photo of the page: grey paper, light gradient, soft shadow, blur, noise, JPEG."""
    rng = np.random.default_rng(seed)
    ink = 1.0 - np.asarray(im.convert("L"), dtype=np.float32) / 255
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = (0.7 + 0.2 * (xx / w - 0.5) - 0.1 * (yy / h - 0.5)) * (1 - 0.25 * np.exp(-((xx / w - 0.2) ** 2 + (yy / h - 0.8) ** 2) / 0.08))
    g = paper * (1 - ink) + 0.25 * paper * ink
    g = Image.fromarray((g * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    g = np.clip(np.asarray(g, dtype=np.float32) + rng.normal(0, 5, (h, w)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(g).save(buf, format="JPEG", quality=50)
    buf.seek(0)
    return Image.open(buf)


def iou(a: np.ndarray, b: np.ndarray, grow: int = 2) -> float:
    a = binary_dilation(a > 0.3, iterations=grow)
    b = binary_dilation(b > 0.3, iterations=grow)
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("strokes", [HOUSE, CHAIR], ids=["house", "chair"])
@pytest.mark.parametrize("pen,box,size", [(7, (350, 80, 200), (600, 450)), (2, (30, 250, 150), (600, 450)),
                                          (12, (100, 20, 410), (600, 450)), (24, (900, 300, 1400), (3000, 2200))])
def test_page_is_framed_like_the_strokes(strokes, pen, box, size):
    direct = frame_strokes(strokes, S)
    framed = frame_sketch(page(strokes, size, pen, box), S)
    assert framed.shape == (S, S) and framed.dtype == np.float32
    assert iou(direct, framed) > 0.7, (pen, box)


def test_small_drawing_fills_the_frame_with_the_training_margin():
    framed = frame_sketch(page(HOUSE, pen=7, box=(480, 330, 90)), S)
    ys, xs = np.nonzero(framed > 0.3)
    lo, hi = TRAINING_MARGIN * S, (1 - TRAINING_MARGIN) * S
    assert abs(ys.min() - lo) <= 3 and abs(ys.max() - hi) <= 3  # the longer side spans the frame
    assert abs((xs.min() + xs.max()) / 2 - S / 2) <= 3           # and the drawing is centred


def test_line_width_is_the_training_width_whatever_the_pen():
    train = estimate_pen_width(strokes_to_image(CHAIR, S) > 0.5)
    for pen in (2, 8, 16):
        got = estimate_pen_width(frame_sketch(page(CHAIR, pen=pen), S) > 0.5)
        assert abs(got - train) <= 0.35 * train, (pen, got, train)


@pytest.mark.parametrize("variant", ["white_on_black", "transparent", "ink_array", "rgb", "photo", "palette"])
def test_every_way_a_page_arrives_gives_the_same_framing(variant):
    clean = frame_sketch(page(HOUSE), S)
    if variant == "white_on_black":
        im = page(HOUSE, paper=0, ink=255)
    elif variant == "transparent":  # canvas export: black ink in alpha, transparent paper
        im = page(HOUSE, paper=(0, 0, 0, 0), ink=(0, 0, 0, 255), mode="RGBA")
    elif variant == "ink_array":
        im = 1.0 - np.asarray(page(HOUSE), dtype=np.float32) / 255
    elif variant == "rgb":
        im = page(HOUSE, paper=(250, 245, 230), ink=(20, 30, 140), mode="RGB")
    elif variant == "photo":
        im = photo(page(HOUSE))
    else:
        im = page(HOUSE).convert("1").convert("P")
    assert iou(clean, frame_sketch(im, S)) > 0.75, variant


def test_photo_binarisation_keeps_the_lines_and_drops_the_paper():
    im = page(HOUSE)
    truth = np.asarray(im) < 128
    ink = binarize_ink(np.asarray(photo(im), dtype=np.float32) / 255)
    assert (ink & ~binary_dilation(truth, iterations=3)).sum() < 0.01 * truth.sum()  # no paper, shadow or noise
    assert (ink & truth).sum() > 0.8 * truth.sum()


def test_specks_do_not_move_the_frame():
    rng = np.random.default_rng(3)
    im = np.asarray(page(CHAIR, box=(200, 120, 200)), dtype=np.uint8).copy()
    for y, x in zip(rng.integers(0, 450, 40), rng.integers(0, 600, 40)):  # dust: 1-2 px specks all over
        im[y:y + rng.integers(1, 3), x:x + rng.integers(1, 3)] = 0
    clean = frame_sketch(page(CHAIR, box=(200, 120, 200)), S)
    assert iou(clean, frame_sketch(im, S)) > 0.9
    mask = im < 128
    kept = remove_specks(mask)
    assert kept.sum() < mask.sum() and (kept <= mask).all()


def test_pen_dots_are_not_specks():
    mask = np.zeros((200, 200), dtype=bool)
    mask[100, 20:180] = True
    mask[99:102, 20:180] = True  # a 3 px line
    yy, xx = np.mgrid[0:200, 0:200]
    mask |= (yy - 50) ** 2 + (xx - 100) ** 2 <= 4  # a pen dot
    assert remove_specks(mask)[50, 100]


def test_blank_pages_are_refused():
    with pytest.raises(SketchError, match="blank"):
        frame_sketch(Image.new("L", (600, 450), 255), S)
    speck = Image.new("L", (600, 450), 255)
    speck.putpixel((300, 200), 0)
    with pytest.raises(SketchError, match="blank"):
        frame_sketch(speck, S)
    with pytest.raises(SketchError, match="draw something first"):
        frame_sketch(np.zeros((40, 40), np.float32), S)
    with pytest.raises(SketchError, match="empty"):
        frame_strokes([], S)


def test_files_strokes_and_pages_land_in_the_same_frame(tmp_path):
    from sbsr_lab.data.stroke_io import sketch_record, write_ndjson

    small = [s * 0.3 + [0.6, 0.05] for s in HOUSE]  # drawn small in the pad's top-right corner
    write_ndjson(tmp_path / "h.ndjson", [sketch_record(small, "house", "1")])
    page(HOUSE, box=(40, 200, 160)).save(tmp_path / "h.png")
    photo(page(HOUSE)).save(tmp_path / "h.jpg")
    direct = frame_strokes(HOUSE, S)
    from_strokes = load_framed_sketch(tmp_path / "h.ndjson", S)
    assert iou(direct, from_strokes, grow=1) > 0.9  # only the 0..255 rounding of the ndjson differs
    assert iou(direct, load_framed_sketch(tmp_path / "h.png", S)) > 0.7
    assert iou(direct, load_framed_sketch(tmp_path / "h.jpg", S)) > 0.7


def test_bad_files_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(SketchError, match="not found"):
        load_framed_sketch(tmp_path / "none.png", S)
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    with pytest.raises(SketchError, match="unsupported"):
        load_framed_sketch(tmp_path / "x.gif", S)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(SketchError, match="bad.png.*Fix"):
        load_framed_sketch(tmp_path / "bad.png", S)


def test_the_query_path_frames_pages_and_strokes_alike(tmp_path):
    from sbsr_lab.serve.query import prepare_query_image

    page(HOUSE, pen=8, box=(420, 300, 120)).save(tmp_path / "c.png")
    from_png = prepare_query_image(tmp_path / "c.png", S, 96)
    from_strokes = prepare_query_image([s * 0.5 for s in HOUSE], S, 96)  # anywhere on the pad
    assert from_png.shape == (96, 96)
    assert iou(from_strokes, from_png) > 0.7


def test_drawn_benchmark_sketches_are_framed_for_training(tmp_path):
    from sbsr_lab.data.datasets import load_sketch_array

    page(HOUSE, size=(1111, 1111), pen=3, box=(600, 650, 300)).save(tmp_path / "shrec.png")
    framed = load_sketch_array(tmp_path / "shrec.png", 96, frame=True)
    assert framed.dtype == np.uint8 and framed.shape == (96, 96)
    assert iou(frame_strokes(HOUSE, 96), framed / 255.0) > 0.7
    old = load_sketch_array(tmp_path / "shrec.png", 96)  # the unframed load keeps the drawing small
    assert (old > 76).sum() < 0.5 * (framed > 76).sum()


def test_framing_is_fast_enough_for_a_live_query():
    import time

    im = page(HOUSE, pen=7)
    frame_sketch(im, S)
    t0 = time.perf_counter()
    frame_sketch(im, S)
    assert time.perf_counter() - t0 < 1.0  # ~50 ms on one core; generous for a shared CI machine


def test_a_hard_shadow_edge_is_paper_not_ink():
    im = np.asarray(page(CHAIR, box=(300, 100, 220)), dtype=np.float32) / 255
    h, w = im.shape
    yy, xx = np.mgrid[0:h, 0:w]
    paper = np.where(xx + 0.5 * yy > 0.6 * w, 0.8, 0.45)  # a phone's shadow across a corner of the page
    g = paper * im + 0.2 * paper * (1 - im)
    g = np.clip(g + np.random.default_rng(0).normal(0, 0.02, g.shape), 0, 1)
    ink = binarize_ink(g)
    assert not ink[:, :250].any() or ink[:, :250].sum() < 50  # nothing along the shadow's edge
    assert iou(frame_sketch(page(CHAIR, box=(300, 100, 220)), S), frame_sketch(g, S)) > 0.8


def test_a_stray_mark_far_away_does_not_stretch_the_crop():
    im = page(HOUSE, box=(300, 150, 200))
    ImageDraw.Draw(im).ellipse((20, 20, 34, 30), fill=0)  # a smudge in the corner, bigger than a speck
    assert iou(frame_sketch(page(HOUSE, box=(300, 150, 200)), S), frame_sketch(im, S)) > 0.9
    from sbsr_lab.data.sketch_image import remove_strays

    mask = np.asarray(im) < 128
    assert not remove_strays(mask)[25, 27] and remove_strays(mask).sum() > 0.9 * mask.sum()


def test_a_scan_with_a_dark_bed_along_one_side_is_framed_on_the_drawing():
    im = page(HOUSE, size=(700, 450), box=(300, 120, 220))
    ImageDraw.Draw(im).rectangle((0, 0, 60, 449), fill=0)  # the scanner bed beyond the paper's edge
    assert iou(frame_sketch(page(HOUSE, box=(300, 120, 220)), S), frame_sketch(im, S)) > 0.9


def test_phone_photos_are_turned_upright(tmp_path):
    im = page(CHAIR).rotate(90, expand=True)  # stored sideways, EXIF says "rotate 270 to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    im.save(tmp_path / "p.jpg", exif=exif, quality=90)
    assert iou(frame_sketch(page(CHAIR), S), load_framed_sketch(tmp_path / "p.jpg", S)) > 0.7


@pytest.mark.parametrize("strokes", [HOUSE, CHAIR], ids=["house", "chair"])
@pytest.mark.parametrize("side,pen", [(256, 2.5), (180, 1.8), (512, 5.0)])  # style_lines draws 1.25 * side / 128 px
def test_line_images_are_framed_like_the_same_strokes(strokes, side, pen):
    """frame_line_image (sbsr-lab index's drawn views): a rendered line image, any size and line width, lands
    where frame_strokes puts the same strokes, drawn with the training pen."""
    from sbsr_lab.data.sketch_image import frame_line_image

    box = [np.asarray(s) * 0.5 + 0.2 for s in strokes]  # somewhere on the image, not filling it
    lines = strokes_to_image(box, side, width=pen)
    got = frame_line_image(lines, S)
    want = frame_strokes(strokes, S)
    assert got.shape == (S, S) and got.dtype == np.float32 and 0.0 <= got.min() and got.max() <= 1.0
    assert iou(got, want, grow=3) > 0.6  # the same drawing, within the pixel or two a skeleton's ends move
    ys, xs = np.nonzero(got > 0.3)
    lo, hi = max(((xs.min(), xs.max()), (ys.min(), ys.max())), key=lambda b: b[1] - b[0])  # the long side
    assert abs(lo - TRAINING_MARGIN * S) <= 3 and abs(S - 1 - hi - TRAINING_MARGIN * S) <= 3
    thick = (got > 0.5).sum() / max(1, (binary_dilation(got > 0.5) ^ (got > 0.5)).sum())
    assert thick < 1.6  # a pen about 2 px wide, not the rendered width


def test_blank_line_image_is_none():
    from sbsr_lab.data.sketch_image import frame_line_image

    assert frame_line_image(np.zeros((64, 64), np.float32), S) is None
