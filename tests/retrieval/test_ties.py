"""Ties cannot decide the numbers (issue 29): a collapsed model -- every shape the same score -- gets the
chance value whatever order the gallery is listed in; the official SHREC rule (ties by gallery index)
stays available and is order-dependent, as published numbers are."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sbsr_lab.cli import main
from sbsr_lab.retrieval import retrieval_metrics, save_embeddings
from sbsr_lab.retrieval.ranking import RetrievalError

SIZES = [60, 30, 15, 8, 4, 2]  # a long-tailed gallery: shapes per class


def _long_tail(largest_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """Gallery labels listed class by class (largest first, or reversed) and 10 queries per class."""
    sizes = SIZES if largest_first else SIZES[::-1]
    classes = list(range(len(SIZES))) if largest_first else list(range(len(SIZES)))[::-1]
    gallery = np.concatenate([np.full(n, c) for c, n in zip(classes, sizes)])
    queries = np.repeat(np.arange(len(SIZES)), 10)
    return queries, gallery


def _chance(queries: np.ndarray, gallery: np.ndarray, draws: int = 200) -> float:
    """The expected mAP over random orders of the gallery (official rule on shuffled galleries)."""
    rng = np.random.default_rng(0)
    sim = np.zeros((len(queries), len(gallery)), np.float32)
    return float(np.mean([retrieval_metrics(sim, queries, gallery[rng.permutation(len(gallery))], ties="index")["mAP"]
                          for _ in range(draws)]))


def test_constant_scores_give_chance_whatever_the_gallery_order():
    q, sorted_g = _long_tail(largest_first=True)
    _, reversed_g = _long_tail(largest_first=False)
    sim = np.zeros((len(q), len(sorted_g)), np.float32)
    chance = _chance(q, sorted_g)
    a = retrieval_metrics(sim, q, sorted_g)["mAP"]
    b = retrieval_metrics(sim, q, reversed_g)["mAP"]
    assert abs(a - b) <= 0.03 and abs(a - chance) <= 0.04 and abs(b - chance) <= 0.04, (a, b, chance)
    # the official rule lets the listing decide: the bias the default removes
    oa = retrieval_metrics(sim, q, sorted_g, ties="index")["mAP"]
    ob = retrieval_metrics(sim, q, reversed_g, ties="index")["mAP"]
    assert abs(oa - ob) > 0.05


def test_scores_without_ties_rank_the_same_under_both_rules():
    rng = np.random.default_rng(1)
    q, g = _long_tail(largest_first=True)
    sim = rng.standard_normal((len(q), len(g))).astype(np.float32)
    assert retrieval_metrics(sim, q, g) == retrieval_metrics(sim, q, g, ties="index")
    with pytest.raises(RetrievalError, match="ties"):
        retrieval_metrics(sim, q, g, ties="random")


@pytest.mark.parametrize("largest_first", [True, False])
def test_sbsr_lab_evaluate_gives_chance_for_a_collapsed_model(tmp_path, largest_first, capsys):
    q, g = _long_tail(largest_first)
    one = np.ones((1, 8), np.float32)  # every embedding the same: every cosine 1
    save_embeddings(tmp_path / "q.safetensors", np.repeat(one, len(q), 0), q)
    save_embeddings(tmp_path / "g.safetensors", np.repeat(one, len(g), 0), g)
    out = tmp_path / "report.json"
    assert main(["evaluate", "--queries", str(tmp_path / "q.safetensors"), "--gallery", str(tmp_path / "g.safetensors"),
                 "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["ties"] == "shuffle"
    assert abs(report["metrics"]["mAP"] - _chance(q, g)) <= 0.04


def test_collapsed_and_at_chance_runs_are_flagged_and_never_ranked():
    from sbsr_lab.retrieval.collapse import collapse_flag
    from sbsr_lab.retrieval.compare import comparison_table, describe_comparison, stat

    q, g = _long_tail(largest_first=True)
    flat = collapse_flag(np.zeros((len(q), len(g))), q, g, nn=0.4)
    assert flat["flagged"] and flat["reason"] == "collapsed"
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((len(q), len(g)))
    chance = collapse_flag(noise, q, g, nn=flat["chance_nn"])
    assert chance["flagged"] and chance["reason"] == "at chance"
    good = (q[:, None] == g[None, :]).astype(float) + 0.1 * noise
    assert not collapse_flag(good, q, g, nn=0.95)["flagged"]

    summary = {"methods": {
        "cmic": {"runs": 1, "metrics": {"mAP": stat([0.41])}, "flagged": ["at chance"]},
        "uactn": {"runs": 1, "metrics": {"mAP": stat([0.30])}},
        "joint": {"runs": 1, "metrics": {"mAP": stat([0.25])}}}}
    table = comparison_table(summary)
    assert table["method"].tolist() == ["uactn", "joint", "cmic"] and table["flag"].tolist()[-1] == "at chance"
    text = describe_comparison(summary)
    assert text.startswith("Best mAP: uactn") and "Not ranked (at chance or collapsed): cmic (at chance)" in text
