"""Hypothesis properties of the SHREC metrics (small sizes, few examples: fast)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from retrieval_reference import reference_metrics

from sbsr_lab.retrieval import per_query_metrics, retrieval_metrics

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw, max_n: int = 24, max_q: int = 6):
    """(gallery_labels (N,), query_labels (Q,), rng seed): every query class is in the gallery."""
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(1, min(5, n)))
    g = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    present = sorted(set(g.tolist()))
    q = np.array(draw(st.lists(st.sampled_from(present), min_size=1, max_size=max_q)))
    return g, q, draw(st.integers(0, 2**31 - 1))


def _perfect(g: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Similarity that puts every relevant item before every other one."""
    rng = np.random.default_rng(0)
    return (q[:, None] == g[None, :]) + 0.5 * rng.random((len(q), len(g)))


@FAST
@given(problems())
def test_perfect_ranking_scores_one(problem):
    g, q, _ = problem
    m = retrieval_metrics(_perfect(g, q), q, g)
    for key in ("NN", "FT", "DCG", "mAP"):
        assert abs(m[key] - 1.0) < 1e-9, key
    c = np.array([np.sum(g == lab) for lab in q])
    assert abs(m["ST"] - 1.0) < 1e-9  # all relevant items sit inside the top C <= top min(2C, N)
    assert m["E"] <= 1.0 and abs(m["E"] - np.mean([2 * min(x, 32) / (32 + x) for x in c])) < 1e-9


@FAST
@given(problems())
def test_reversed_relevance_is_the_worst_ranking(problem):
    g, q, _ = problem
    sim = -_perfect(g, q)  # every relevant item after every other one
    per = per_query_metrics(sim, q, g)
    n = len(g)
    c = torch.tensor([float(np.sum(g == lab)) for lab in q], dtype=torch.float64)
    assert torch.equal(per["NN"], (c == n).double())  # rank 1 is relevant only if all items are
    # the C relevant items occupy ranks N-C+1..N: AP = mean_k k / (N - C + k)
    want_ap = torch.tensor([np.mean([k / (n - ci + k) for k in range(1, int(ci) + 1)]) for ci in c.tolist()], dtype=torch.float64)
    torch.testing.assert_close(per["AP"], want_ap)
    assert bool((per["FT"] <= per["ST"] + 1e-12).all())


@FAST
@given(problems(), st.sampled_from(["float16", "float32", "float64"]), st.booleans())
def test_matches_reference_any_dtype_and_ties(problem, dtype, tied):
    g, q, seed = problem
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, 3, (len(q), len(g))) if tied else rng.standard_normal((len(q), len(g)))
    sim = sim.astype(dtype)
    got = per_query_metrics(sim, q, g, ties="index")
    want = reference_metrics(sim.astype(np.float64), q, g)
    for key, values in want.items():
        np.testing.assert_allclose(got[key].numpy(), values, atol=1e-9, err_msg=key)
    for key in got:
        assert bool(((got[key] >= 0) & (got[key] <= 1 + 1e-12)).all()), key


def test_class_with_2c_larger_than_gallery():
    g = np.array([0, 0, 0, 0, 1, 2])                   # C = 4 for class 0: 2C = 8 > N = 6
    sim = np.array([[0.9, 0.1, 0.8, 0.2, 0.95, 0.3]])  # ranked: 4(x) 0 2 5(x) 3 1 -> all 4 hits in the top 6
    m = retrieval_metrics(sim, [0], g)
    assert m["ST"] == 1.0 and m["FT"] == 0.5 and m["NN"] == 0.0


def test_class_with_one_shape():
    g = np.array([0, 1, 1, 2, 2])
    sim = np.array([[0.1, 0.9, 0.8, 0.7, 0.6], [0.9, 0.1, 0.1, 0.1, 0.1]])
    per = per_query_metrics(sim, [0, 0], g)
    assert per["NN"].tolist() == [0.0, 1.0]
    assert per["FT"].tolist() == [0.0, 1.0] and per["ST"].tolist() == [0.0, 1.0]  # top 2C = 2 for row 0
    assert per["AP"].tolist() == [0.2, 1.0]
    assert abs(per["DCG"][0].item() - 1.0 / np.log2(5)) < 1e-12


@FAST
@given(problems(max_n=60, max_q=12), st.sampled_from(["float32", "float64"]), st.integers(1, 5),
       st.sampled_from([0.0, 1.0, 8.0, float("inf")]), st.integers(1, 13))
def test_fast_path_gives_the_reference_ranks_with_ties(problem, dtype, levels, tie_fallback, chunk):
    """fast_ranking.relevant_positions == ranking.sorted_positions (stable torch.sort), ties included."""
    from sbsr_lab.retrieval.fast_ranking import relevant_positions
    from sbsr_lab.retrieval.ranking import encode_labels, sorted_positions

    g, q, seed = problem
    rng = np.random.default_rng(seed)
    sim = rng.integers(0, levels, (len(q), len(g))).astype(dtype)  # few distinct values: many ties
    sim[rng.random(sim.shape) < 0.1] *= -0.0                       # -0.0 ties with +0.0
    t = torch.from_numpy(sim)
    qc, gc, _ = encode_labels(q, g, len(q), len(g))
    fast = relevant_positions(t, qc, gc, chunk, exact=sorted_positions, tie_fallback=tie_fallback)
    ref = sorted_positions(t, torch.from_numpy(qc), torch.from_numpy(gc), chunk)
    assert torch.equal(fast[0], ref[0]) and torch.equal(fast[1], ref[1])
