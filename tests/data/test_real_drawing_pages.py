"""The front end on pages as people make them (sbsr_lab.data.drawing_variants): the framed network input
must not change with how the drawing reached us -- a 150 px grey scan, light pencil, a blurred photo,
a frame, a ground line, hatching -- and "blank" only when there is no ink."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from sbsr_lab.data.drawing_variants import EXTRAS, VARIANTS, draw_page, render_variant
from sbsr_lab.data.page_marks import find_page_marks, remove_page_marks
from sbsr_lab.data.sketch_image import binarize_ink, frame_drawing, frame_sketch
from sbsr_lab.data.stroke_io import load_strokes
from sbsr_lab.errors import SketchError

S = 128
PEOPLE = Path(__file__).parent / "people_sketches"
DRAWINGS = sorted(PEOPLE.glob("*/*.ndjson"))[::6]  # ~14 drawings of every class, made by hand in strokes
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "sketches"


def iou(a: np.ndarray, b: np.ndarray, grow: int = 2) -> float:
    a = binary_dilation(a > 0.3, iterations=grow)
    b = binary_dilation(b > 0.3, iterations=grow)
    return float((a & b).sum() / (a | b).sum())


def _framed_pairs(variant: str, files: list[Path]) -> list[float]:
    scores = []
    for i, f in enumerate(files):
        strokes = load_strokes(f)
        reference = frame_drawing(strokes, S)
        page = render_variant(variant, strokes, np.random.default_rng(i))
        scores.append(iou(reference, frame_sketch(page, S)))
    return scores


def test_the_test_drawings_are_there():
    assert len(DRAWINGS) >= 12


# Median IoU of the framed page against the framed strokes, per variant (measured 0.87-0.95, cut_off 0.81).
# Before the contrast-relative front end, small scans and pencil pages were refused as blank, blurred pages
# lost their lines, and frames, ground lines, hatching and signatures were framed as part of the drawing.
FLOORS = {"clean": 0.85, "small_scan": 0.8, "large_page": 0.8, "pencil": 0.85, "marker": 0.8, "chalk": 0.8,
          "photo": 0.8, "blurred": 0.8, "jpeg": 0.85, "ruled": 0.85, "tinted": 0.85, "frame": 0.8,
          "ground_line": 0.8, "shading": 0.75, "signature": 0.8, "cut_off": 0.65}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_page_variant_frames_like_the_strokes(variant):
    scores = _framed_pairs(variant, DRAWINGS)  # raises SketchError if a page were refused as blank
    assert float(np.median(scores)) >= FLOORS[variant], (variant, np.round(scores, 2))


def test_light_hair_lines_on_a_small_page_are_ink():
    # a 1 px line at 30 % grey on a 150 px page: the old fixed half-paper threshold found nothing
    page = draw_page([np.array([[0.2, 0.8], [0.5, 0.2], [0.8, 0.8]])], 150, pen=0.35)
    assert float(page.min()) > 0.6
    assert binarize_ink(page).sum() > 50
    assert frame_sketch(page, S).max() > 0.5


def test_a_page_with_no_ink_is_still_blank():
    rng = np.random.default_rng(0)
    for page in (np.ones((200, 300), np.float32), np.full((64, 64), 0.7, np.float32),
                 np.clip(0.9 + rng.normal(0, 0.01, (300, 300)), 0, 1).astype(np.float32)):
        with pytest.raises(SketchError, match="blank"):
            frame_sketch(page, S)


def test_the_same_drawing_at_150_300_and_1111_px_frames_the_same():
    strokes = load_strokes(DRAWINGS[3])
    framed = [frame_sketch(draw_page(strokes, side, pen=side / 300 * 2.0), S) for side in (150, 300, 1111)]
    assert iou(framed[0], framed[1]) > 0.6 and iou(framed[1], framed[2]) > 0.6


CHAIR = [np.array([[0.3, 0.2], [0.3, 0.8]]), np.array([[0.3, 0.5], [0.7, 0.5], [0.7, 0.8]])]
FRAME = [np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])]
GROUND = [np.array([[0.1, 0.82], [0.9, 0.82]])]


def _hatch(x0: float, y0: float, n: int = 6) -> list[np.ndarray]:
    return [np.array([[x0 + 0.03 * i, y0], [x0 + 0.03 * i + 0.05, y0 - 0.05]]) for i in range(n)]


def test_a_frame_round_the_drawing_is_a_page_mark():
    assert find_page_marks(FRAME + CHAIR).tolist() == [True, False, False]
    sides = [np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 1.0]]),
             np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [0.0, 0.0]])]
    assert find_page_marks(sides + CHAIR).tolist() == [True] * 4 + [False, False]  # drawn as four lines


def test_a_ground_line_and_hatching_are_page_marks():
    assert find_page_marks(CHAIR + GROUND).tolist() == [False, False, True]
    marks = find_page_marks(CHAIR + _hatch(0.45, 0.8))
    assert marks.tolist() == [False, False] + [True] * 6


def test_drawings_without_marks_keep_every_stroke():
    house = [np.array([[0.2, 0.45], [0.8, 0.45], [0.8, 0.95], [0.2, 0.95], [0.2, 0.45]]),
             np.array([[0.12, 0.5], [0.5, 0.1], [0.88, 0.5]])]
    for strokes in (CHAIR, house, [load_strokes(f) for f in DRAWINGS][0]):
        assert not find_page_marks(strokes).any()
    only_hatching = _hatch(0.1, 0.5, 8)  # a drawing that is all parallel lines stays as drawn
    assert not find_page_marks(only_hatching).any()
    kept, widths = remove_page_marks(CHAIR + GROUND, widths=[1.0, 2.0, 3.0])
    assert len(kept) == 2 and widths == [1.0, 2.0]


@pytest.mark.parametrize("extra", EXTRAS)
def test_strokes_with_page_marks_frame_like_the_drawing(extra):
    from sbsr_lab.data import drawing_variants as dv
    from sbsr_lab.data.strokes import normalize_strokes

    scores = []
    for i, f in enumerate(DRAWINGS):
        strokes = normalize_strokes(load_strokes(f), margin=0.12)
        rng = np.random.default_rng(i)
        marks = {"frame": lambda: dv._frame(rng), "ground_line": lambda: dv._ground(strokes, rng),
                 "shading": lambda: dv._shading(strokes, rng), "signature": lambda: dv._signature(rng),
                 "cut_off": lambda: []}[extra]()
        scores.append(iou(frame_drawing(strokes, S), frame_drawing(strokes + marks, S)))
    assert float(np.median(scores)) >= (0.45 if extra == "signature" else 0.8), np.round(scores, 2)


@pytest.mark.skipif(not REAL.is_dir(), reason="the real development set (../shared/realdata) is not here")
@pytest.mark.parametrize("variant", ["small_scan", "pencil", "blurred", "frame"])
def test_real_drawings_as_pages_are_never_blank(variant):
    files = sorted(REAL.glob("*/*.ndjson"))[::3]
    scores = _framed_pairs(variant, files)
    assert float(np.median(scores)) >= FLOORS[variant] - 0.05


@pytest.fixture(scope="module")
def bundled_uactn():
    import torch

    from sbsr_lab.serve.engine import load_engine

    torch.set_num_threads(1)
    return load_engine("bundle:uactn")


def test_the_bundled_model_answers_every_page_as_it_answers_the_strokes(bundled_uactn, tmp_path):
    """The answer must not change with how the drawing reached us: each page variant, saved as a file
    and queried through the file path, gets the class its strokes get (>= 0.9 of all pairs, >= 0.75 per
    variant; measured 0.97 overall before the bundle of generator 8)."""
    from sbsr_lab.data.drawing_variants import to_png_bytes

    same: dict[str, list[int]] = {v: [] for v in VARIANTS}
    for i, f in enumerate(DRAWINGS):
        strokes = load_strokes(f)
        answer = bundled_uactn.query(strokes, k=1).predicted_class
        for j, v in enumerate(VARIANTS):
            page = tmp_path / f"{i}_{v}.png"
            page.write_bytes(to_png_bytes(render_variant(v, strokes, np.random.default_rng(100 * i + j))))
            same[v].append(int(bundled_uactn.query(page, k=1).predicted_class == answer))
    overall = np.mean([x for v in same.values() for x in v])
    assert overall >= 0.9, {v: np.mean(x) for v, x in same.items()}
    assert all(np.mean(x) >= 0.75 for x in same.values()), {v: np.mean(x) for v, x in same.items()}
