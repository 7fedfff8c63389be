"""SHREC metrics: agreement with a per-query reference loop, scikit-learn AP, PR curves, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from retrieval_reference import interpolated_pr, reference_metrics
from sklearn.metrics import average_precision_score

from sbsr_lab.errors import SbsrError
from sbsr_lab.retrieval import (
    ELEVEN_POINT_RECALL_LEVELS,
    SHREC_RECALL_LEVELS,
    RetrievalError,
    loop_metrics,
    per_class_table,
    per_query_metrics,
    precision_recall_curve,
    rank_relevant,
    retrieval_metrics,
    similarity_matrix,
)
from sbsr_lab.retrieval.fast_ranking import relevant_positions
from sbsr_lab.retrieval.ranking import sorted_positions

KEYS = ("NN", "FT", "ST", "E", "DCG", "AP")


def _problem(seed: int, q: int = 40, n: int = 70, k: int = 6, tied: bool = False, dtype=np.float32):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, k, n)
    g[:k] = np.arange(k)
    ql = rng.choice(g, q)
    sim = rng.integers(0, 4, (q, n)) if tied else rng.standard_normal((q, n))
    return sim.astype(dtype), ql, g


def _assert_matches_reference(got: dict, sim, ql, g) -> None:
    want = reference_metrics(sim, ql, g)
    for key in KEYS:
        np.testing.assert_allclose(got[key].cpu().numpy(), want[key], atol=1e-9, err_msg=key)


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_per_query_matches_reference_loop(tied, dtype):
    sim, ql, g = _problem(1, tied=tied, dtype=dtype)
    _assert_matches_reference(per_query_metrics(sim, ql, g, ties="index"), sim, ql, g)


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_chunking_and_torch_path_give_the_same_values(chunk):
    sim, ql, g = _problem(2, tied=True)
    base = per_query_metrics(sim, ql, g)
    for s in (sim, torch.from_numpy(sim).double()):  # fast CPU float32 path, then the torch path
        got = per_query_metrics(s, ql, g, chunk_size=chunk)
        for key in KEYS:
            torch.testing.assert_close(got[key], base[key], msg=key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tie_fallback", [0.0, float("inf")])  # exact sort on any tie / never
def test_cpu_ranking_paths_equal_stable_torch_sort_on_special_values(dtype, tie_fallback):
    special = np.array([0.0, -0.0, np.inf, -np.inf, 1e-38, -1e-38, 1.0, -1.0, 3.4e38, -3.4e38], dtype=dtype)
    rng = np.random.default_rng(3)
    sim = rng.choice(special, (25, 40)).astype(dtype)
    sim[::2] = rng.standard_normal((13, 40))  # half the rows without ties
    ql, g = rng.integers(0, 3, 25), rng.integers(0, 3, 40)
    g[:3] = [0, 1, 2]
    t = torch.from_numpy(sim)
    a = relevant_positions(t, ql, g, chunk=4, exact=sorted_positions, tie_fallback=tie_fallback)
    b = sorted_positions(t, torch.from_numpy(ql), torch.from_numpy(g), chunk=7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    _assert_matches_reference(per_query_metrics(sim, ql, g, ties="index"), sim, ql, g)


def test_loop_metrics_matches_reference():
    sim, ql, g = _problem(4, q=10, n=40, tied=True)
    got = loop_metrics(sim, ql, g)
    want = reference_metrics(sim, ql, g)
    for key in KEYS:
        np.testing.assert_allclose(got[key], want[key], atol=1e-12)
    sub = loop_metrics(sim, ql, g, queries=[3, 1])
    np.testing.assert_allclose(sub["AP"], np.asarray(want["AP"])[[3, 1]])


def test_ap_agrees_with_scikit_learn():
    sim, ql, g = _problem(5, q=30, n=60, dtype=np.float64)  # continuous scores: no ties
    ap = per_query_metrics(sim, ql, g)["AP"].numpy()
    sk = [average_precision_score(g == ql[i], sim[i]) for i in range(len(ql))]
    np.testing.assert_allclose(ap, sk, atol=1e-12)


def test_summary_is_the_mean_with_python_floats():
    sim, ql, g = _problem(6)
    per = per_query_metrics(sim, ql, g)
    summary = retrieval_metrics(sim, ql, g)
    assert list(summary) == ["NN", "FT", "ST", "E", "DCG", "mAP"]
    assert all(type(v) is float for v in summary.values())
    assert summary["mAP"] == pytest.approx(float(per["AP"].mean()))


def test_string_labels_and_torch_labels():
    sim, ql, g = _problem(7)
    names = np.array(["cls%d" % i for i in range(6)])
    a = retrieval_metrics(sim, names[ql].tolist(), list(names[g]))
    b = retrieval_metrics(torch.from_numpy(sim), torch.from_numpy(ql), torch.from_numpy(g))
    assert a == pytest.approx(b)


def test_similarity_matrix_cosine_and_euclidean():
    rng = np.random.default_rng(8)
    qe, ge = rng.standard_normal((5, 4)), rng.standard_normal((7, 4))
    cos = similarity_matrix(qe, ge).numpy()
    want = (qe / np.linalg.norm(qe, axis=1, keepdims=True)) @ (ge / np.linalg.norm(ge, axis=1, keepdims=True)).T
    np.testing.assert_allclose(cos, want, atol=1e-6)
    euc = similarity_matrix(qe, ge, metric="euclidean").numpy()
    np.testing.assert_allclose(euc, -np.linalg.norm(qe[:, None] - ge[None], axis=2), atol=1e-5)
    with pytest.raises(RetrievalError, match="dim"):
        similarity_matrix(qe, ge[:, :3])
    with pytest.raises(RetrievalError, match="metric"):
        similarity_matrix(qe, ge, metric="manhattan")


def test_interpolated_pr_matches_reference_at_both_level_sets():
    sim, ql, g = _problem(9, q=20, n=50, tied=True)
    for levels, arr in (("shrec", SHREC_RECALL_LEVELS), ("11pt", ELEVEN_POINT_RECALL_LEVELS)):
        curve = precision_recall_curve(sim, ql, g, levels=levels, ties="index")
        want = np.mean([interpolated_pr(sim[i], g, ql[i], arr) for i in range(len(ql))], axis=0)
        np.testing.assert_allclose(curve.precision, want, atol=1e-12)
        assert np.all(np.diff(curve.precision) <= 1e-12)  # interpolated precision never increases


def test_raw_pr_curve_is_mean_precision_and_recall_at_k():
    sim, ql, g = _problem(10, q=15, n=30)
    curve = precision_recall_curve(sim, ql, g)
    order = np.argsort(-sim, axis=1, kind="stable")
    rel = (g[order] == ql[:, None]).astype(float)
    hits = np.cumsum(rel, axis=1)
    k = np.arange(1, 31)
    np.testing.assert_allclose(curve.raw_precision, (hits / k).mean(0), atol=1e-12)
    np.testing.assert_allclose(curve.raw_recall, (hits / rel.sum(1, keepdims=True)).mean(0), atol=1e-12)
    assert curve.raw_recall[-1] == pytest.approx(1.0)
    assert len(curve.to_dict()["precision"]) == 20


def test_per_class_table_averages_queries_of_each_class():
    sim, ql, g = _problem(11)
    per = per_query_metrics(sim, ql, g)
    rows = per_class_table(sim, ql, g, class_names=[f"c{i}" for i in range(6)])
    assert [r["class"] for r in rows] == [f"c{c}" for c in sorted(set(ql.tolist()))]
    for r in rows:
        c = int(r["class"][1:])
        mask = torch.from_numpy(ql == c)
        assert r["queries"] == int(mask.sum()) and r["gallery"] == int((g == c).sum())
        assert r["mAP"] == pytest.approx(float(per["AP"][mask].mean()))


def test_rank_relevant_layout():
    sim = np.array([[0.1, 0.9, 0.5, 0.5]], dtype=np.float32)
    rr = rank_relevant(sim, [1], [0, 1, 1, 1])
    # ranked: j=1 (0.9), j=2 (0.5, smaller index wins the tie), j=3 (0.5), j=0
    assert rr.ranks.tolist() == [1, 2, 3] and rr.counts.tolist() == [3] and rr.hits.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.zeros((3, 4)), [0, 1, 0], [0, 1, 1]), "gallery_labels has 3 entries"),
        ((np.zeros((3, 4)), [0, 1], [0, 1, 1, 0]), "query_labels has 2 entries"),
        ((np.zeros((0, 4)), [], [0, 1, 1, 0]), "empty"),
        ((np.zeros((2, 0)), [0, 1], []), "empty"),
        ((np.zeros(4), [0], [0, 1, 1, 0]), "2-D"),
        ((np.zeros((2, 4)), [0, 5], [0, 1, 1, 0]), "absent from the gallery"),
        ((np.full((1, 2), np.nan), [0], [0, 1]), "NaN"),
        ((np.zeros((1, 2)), [[0]], [0, 1]), "1-D"),
    ],
)
def test_clear_errors(args, message):
    with pytest.raises(RetrievalError, match=message) as info:
        retrieval_metrics(*args)
    assert isinstance(info.value, SbsrError) and isinstance(info.value, ValueError)


def test_bad_chunk_size_is_rejected():
    with pytest.raises(RetrievalError, match="chunk_size"):
        retrieval_metrics(np.zeros((2, 2)), [0, 1], [0, 1], chunk_size=0)


def _calavgperf_by_hand(sim, ql, g, samples=20, cutoff=2):
    """The SHREC toolkit's CalAvgPerf / InterpolatePerf, walked query by query as the MATLAB code does
    (ranking by the official rule: descending score, ties by gallery index)."""
    total, valid = np.zeros(samples), np.zeros(samples)
    for i in range(len(ql)):
        order = np.argsort(-sim[i], kind="stable")
        rel = g[order] == ql[i]
        c = int(rel.sum())
        p_points = np.cumsum(rel)[rel] / (np.nonzero(rel)[0] + 1)  # precision at each relevant item
        for j in range(1, samples + 1):
            if c < cutoff or c < samples / j:
                continue
            xx = j / samples * c
            x1 = np.fix(xx)
            x2, dx = x1 + 1, xx - x1
            x1, x2 = min(max(x1, 1), c), min(max(x2, 1), c)
            total[j - 1] += p_points[int(x1) - 1] * (1 - dx) + p_points[int(x2) - 1] * dx
            valid[j - 1] += 1
    return np.where(valid > 0, total / np.maximum(valid, 1), 0.0)


@pytest.mark.parametrize("tied", [False, True])
def test_official_shrec_pr_curve_matches_the_toolkit_loop(tied):
    from sbsr_lab.retrieval.curves import shrec_official_pr

    sim, ql, g = _problem(11, q=30, n=80, k=5, tied=tied, dtype=np.float64)
    recall, precision = shrec_official_pr(rank_relevant(sim, ql, g, ties="index"))
    np.testing.assert_allclose(recall, np.arange(1, 21) / 20)
    np.testing.assert_allclose(precision, _calavgperf_by_hand(sim, ql, g), atol=1e-12)
    ours = precision_recall_curve(sim, ql, g, ties="index").precision
    assert not np.allclose(ours, precision)  # two different curves, each named where it is plotted
