"""Checker for notebook 06: a minimal polyline rasteriser, compared with the library's.

    check_rasterize(my_rasterize)   # my_rasterize(strokes: list of (N, 2) arrays in [0, 1]², size) -> (size, size)

The learner's image must put ink (1) where :func:`sbsr_lab.data.strokes.strokes_to_image` does and
nowhere else, within one pixel: line width, anti-aliasing and the exact pixel a line passes through
may differ. The hints name the usual mistakes (x and y swapped, y flipped, only the points drawn,
0-255 values, a gap between the points of a long segment).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy.ndimage import binary_dilation

from sbsr_lab.checks import CheckStop, call_learner, verdict
from sbsr_lab.data.strokes import strokes_to_image

__all__ = ["check_rasterize", "raster_cases", "ink_agreement"]

Strokes = Sequence[np.ndarray]


def raster_cases() -> list[tuple[str, list[np.ndarray], int]]:
    """Small drawings ``(name, strokes, size)``; none is symmetric under a transpose or a flip."""
    return [
        ("one long diagonal", [np.array([[0.1, 0.2], [0.9, 0.7]])], 64),
        ("an L and a dot", [np.array([[0.2, 0.1], [0.2, 0.8], [0.7, 0.8]]), np.array([[0.8, 0.2]])], 64),
        ("a house", [np.array([[0.2, 0.9], [0.2, 0.45], [0.5, 0.15], [0.8, 0.45], [0.8, 0.9], [0.2, 0.9]]),
                     np.array([[0.45, 0.9], [0.45, 0.65], [0.6, 0.65], [0.6, 0.9]])], 48),
        ("a wavy stroke", [np.stack([np.linspace(0.05, 0.95, 40), 0.3 + 0.15 * np.sin(np.linspace(0, 7, 40))], 1)], 32),
    ]


def ink_agreement(got: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    """``(precision, recall)`` of ink within one pixel: the fraction of the learner's ink pixels (> 0.5)
    next to the reference's ink (> 0.1), and of the reference's ink pixels (> 0.5) next to the learner's."""
    mine, ref_core, ref_any = got > 0.5, want > 0.5, want > 0.1
    near_ref = binary_dilation(ref_any, iterations=1)
    near_mine = binary_dilation(mine, iterations=1)
    precision = float((mine & near_ref).sum() / max(mine.sum(), 1))
    recall = float((ref_core & near_mine).sum() / max(ref_core.sum(), 1))
    return precision, recall


def _good(got: np.ndarray, want: np.ndarray) -> bool:
    precision, recall = ink_agreement(got, want)
    return precision >= 0.9 and recall >= 0.9


def check_rasterize(fn: Callable[[Strokes, int], np.ndarray]) -> bool:
    """Check ``fn(strokes, size) -> (size, size)`` image (ink 1, paper 0) against ``strokes_to_image``."""
    name = "rasterize"
    try:
        for case, strokes, size in raster_cases():
            out = call_learner(fn, [s.copy() for s in strokes], size)
            got = np.asarray(out, dtype=np.float64)
            if got.shape != (size, size):
                raise CheckStop(f"on '{case}' the image should be ({size}, {size}), got shape {got.shape}.")
            if not np.isfinite(got).all() or got.min() < 0:
                raise CheckStop(f"on '{case}' the image has negative or non-finite values; ink = 1, paper = 0.")
            if got.max() > 1.0 + 1e-6:
                if got.max() <= 255 and got.max() > 1.5:
                    raise CheckStop(f"on '{case}' the values go up to {got.max():.0f}: ink is 1.0, not 255 "
                                    "(use a float image, e.g. np.zeros((size, size), np.float32)).")
                raise CheckStop(f"on '{case}' the values go up to {got.max():.3g}; keep them in [0, 1].")
            want = strokes_to_image(strokes, size=size).astype(np.float64)
            if _good(got, want):
                continue
            precision, recall = ink_agreement(got, want)
            hint = ("Recipe: for each segment (a, b) of each stroke, in pixels (p * size - 0.5), take about "
                    "2 points per pixel of its length, a + t (b - a), round them and set img[y, x] = 1.")
            if got.max() <= 0.5:
                hint = "The image is empty: set the pixels under each segment to 1 (img[y, x] = 1)."
            elif _good(got.T, want):
                hint = "x and y are swapped: a point (x, y) goes to row y, column x (img[y, x])."
            elif _good(got[::-1], want):
                hint = "The image is upside down: y grows downward here (row 0 is the top), do not flip it."
            elif _good(got[:, ::-1], want):
                hint = "The image is mirrored left-right: x grows to the right (column 0 is the left)."
            elif precision >= 0.9 and recall < 0.9:
                points = sum(len(s) for s in strokes)
                hint = (f"Your ink covers only {recall:.0%} of the lines: draw every segment between consecutive "
                        f"points, not only the {points} points, with enough samples per segment that no pixel "
                        "is skipped (about 2 per pixel of length).")
            elif recall >= 0.9 and precision < 0.9:
                hint = (f"Only {precision:.0%} of your ink lies on the drawing: the lines are too thick, or "
                        "ink lands where no stroke goes (check the scale: [0, 1] maps to [0, size]).")
            return verdict(False, name, f"on '{case}' ({size} px) your image and the library's differ: "
                           f"{precision:.0%} of your ink is on its lines and you cover {recall:.0%} of them "
                           "(90% needed, within one pixel).", hint)
        return verdict(True, name, "your lines land where the training rasteriser draws them (within a pixel) "
                       f"on {len(raster_cases())} drawings.")
    except CheckStop as stop:
        return verdict(False, name, stop.detail, stop.hint or "the function gets (strokes: a list of (N, 2) arrays "
                       "in [0, 1]², x right and y down, size: int) and returns a (size, size) image.")
