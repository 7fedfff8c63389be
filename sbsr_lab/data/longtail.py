"""Long-tailed class sizes for SynthShapes, and class-balanced sampling weights.

A long-tailed SynthShapes (``--set longtail=60:4``) gives class k (k = 0..K-1, in the profile's
class order) a power-law share of the shapes and sketches,

    n_k = round( max * (k + 1) ** -a ),   a = log(max / min) / log(K),

so n_0 = max, n_{K-1} = min, and the counts fall off like Zipf's law in between (the class size
against its rank is a straight line on log-log axes).

    >>> longtail_counts(5, 60, 4)
    [60, 19, 9, 6, 4]
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["longtail_counts", "parse_longtail", "class_balanced_weights"]


def longtail_counts(num_classes: int, max_count: int, min_count: int) -> list[int]:
    """Per-class counts from ``max_count`` down to ``min_count`` on a power law (module docstring).

    Non-increasing, first = max_count, last = min_count (K = 1: [max_count]). Raises ValueError
    unless 1 <= min_count <= max_count and num_classes >= 1.
    """
    if num_classes < 1:
        raise ValueError(f"longtail_counts: num_classes must be >= 1, got {num_classes}")
    if not 1 <= min_count <= max_count:
        raise ValueError(f"longtail_counts: want 1 <= min_count <= max_count, got min {min_count}, max {max_count}")
    if num_classes == 1:
        return [int(max_count)]
    a = math.log(max_count / min_count) / math.log(num_classes)
    counts = [max(int(min_count), int(round(max_count * (k + 1) ** -a))) for k in range(num_classes)]
    counts[-1] = int(min_count)  # exact at the end, whatever the rounding
    return counts


def parse_longtail(spec: str) -> tuple[int, int]:
    """``"60:4"`` -> (60, 4), the ``longtail`` profile field (max:min shapes per class); "" means off."""
    try:
        hi, lo = (int(x) for x in spec.split(":"))
    except ValueError:
        raise ValueError(f"longtail must be 'MAX:MIN' (e.g. '60:4'), got {spec!r}") from None
    if not 1 <= lo <= hi:
        raise ValueError(f"longtail {spec!r}: want 1 <= MIN <= MAX")
    return hi, lo


def class_balanced_weights(labels: Sequence[int] | np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Per-sample weights 1 / n_{y_i} (N,), for ``torch.utils.data.WeightedRandomSampler``: every class
    is then drawn equally often, whatever its size (class-balanced sampling)."""
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
        raise ValueError(f"class_balanced_weights: want (N,) non-negative integer labels, got {y.dtype} {y.shape}")
    counts = np.bincount(y, minlength=num_classes or 0)
    return 1.0 / counts[y]
