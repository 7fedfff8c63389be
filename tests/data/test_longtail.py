"""Long-tailed class sizes (power law, endpoints exact) and class-balanced weights."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbsr_lab.data.longtail import class_balanced_weights, longtail_counts, parse_longtail


def test_longtail_counts_by_hand():
    # a = log(60 / 4) / log 5; n_k = round(60 (k + 1)^-a)
    a = math.log(15) / math.log(5)
    assert longtail_counts(5, 60, 4) == [round(60 * (k + 1) ** -a) for k in range(5)] == [60, 19, 9, 6, 4]
    assert longtail_counts(1, 60, 4) == [60]
    assert longtail_counts(3, 7, 7) == [7, 7, 7]


@given(st.integers(1, 60), st.integers(1, 200), st.integers(1, 200))
def test_longtail_counts_properties(k, x, y):
    hi, lo = max(x, y), min(x, y)
    c = longtail_counts(k, hi, lo)
    assert len(c) == k and c[0] == hi and all(lo <= v <= hi for v in c)
    assert all(a >= b for a, b in zip(c, c[1:]))
    if k > 1:
        assert c[-1] == lo


def test_longtail_counts_and_spec_errors():
    with pytest.raises(ValueError, match="min_count <= max_count"):
        longtail_counts(4, 3, 5)
    with pytest.raises(ValueError, match="num_classes"):
        longtail_counts(0, 3, 1)
    assert parse_longtail("60:4") == (60, 4)
    with pytest.raises(ValueError, match="MAX:MIN"):
        parse_longtail("60-4")
    with pytest.raises(ValueError, match="MIN <= MAX"):
        parse_longtail("4:60")


def test_class_balanced_weights_give_each_class_the_same_mass():
    y = np.array([0, 0, 0, 1, 2, 2])
    w = class_balanced_weights(y)
    assert np.allclose(w, [1 / 3, 1 / 3, 1 / 3, 1, 0.5, 0.5])
    assert np.allclose(np.bincount(y, weights=w), [1, 1, 1])
    with pytest.raises(ValueError, match="integer labels"):
        class_balanced_weights(np.array([0.0, 1.0]))
