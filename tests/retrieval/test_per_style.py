"""Accuracy per drawing style: top-1 and mAP of each style's queries (by hand), in the HTML report."""

from __future__ import annotations

import pytest
import torch

from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.retrieval.evaluate import METRIC_NAMES
from sbsr_lab.retrieval.report import write_report
from sbsr_lab.retrieval.runs import MethodEvaluation, metrics_per_style

GALLERY = torch.tensor([0, 0, 1, 1])
SIM = torch.tensor([[0.9, 0.1, 0.5, 0.2],   # label 0: g0 (hit), g2, g3, g1 (hit) -> NN 1, AP (1/1 + 2/4) / 2
                    [0.9, 0.1, 0.5, 0.2],   # label 1: g0, g2 (hit), g3 (hit), g1 -> NN 0, AP (1/2 + 2/3) / 2
                    [0.1, 0.2, 0.9, 0.8],   # label 1: g2, g3 hits first -> NN 1, AP 1
                    [0.1, 0.2, 0.9, 0.8]])  # label 0: g2, g3, g1 (hit), g0 (hit) -> NN 0, AP (1/3 + 2/4) / 2
LABELS = torch.tensor([0, 1, 1, 0])


def test_metrics_per_style_by_hand():
    out = metrics_per_style(SIM, LABELS, GALLERY, ["front", "front", "iconic", None])
    assert list(out) == ["front", "iconic", "unknown"]
    assert out["front"]["queries"] == 2 and out["front"]["NN"] == pytest.approx(0.5)
    assert out["front"]["mAP"] == pytest.approx(((1 + 2 / 4) / 2 + (1 / 2 + 2 / 3) / 2) / 2)
    assert out["iconic"] == pytest.approx({"queries": 1, "NN": 1.0, "mAP": 1.0})
    assert out["unknown"]["NN"] == 0.0 and out["unknown"]["mAP"] == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert metrics_per_style(SIM, LABELS, GALLERY, [None] * 4) is None  # no styles recorded (benchmarks)


def test_report_shows_the_per_style_table(tiny_dataset, tmp_path):
    m = load_manifest(tiny_dataset)
    queries = m.sketches_of("test")[:4]
    ev = MethodEvaluation(
        method="uactn", metrics={k: 0.5 for k in METRIC_NAMES}, per_class=[], pr_recall=[0.0, 1.0],
        pr_precision=[1.0, 0.5], query_ids=[q.id for q in queries],
        query_labels=torch.tensor([m.class_index(q.cls) for q in queries]),
        gallery_ids=[s.id for s in m.shapes[:4]], gallery_labels=torch.tensor([m.class_index(s.cls) for s in m.shapes[:4]]),
        similarity=SIM, query_noise=torch.zeros(4), class_names=list(m.classes),
        per_style=metrics_per_style(SIM, LABELS, GALLERY, ["front", "front", "iconic", "outline"]))
    page = write_report(tmp_path / "r.html", {"uactn": ev}, m).read_text()
    assert "Per drawing style (top-1 / mAP)" in page
    assert "front (n=2)" in page and "0.500 / 0.667" in page and "1.000 / 1.000" in page
    ev.per_style = None
    assert "Per drawing style" not in write_report(tmp_path / "s.html", {"uactn": ev}, m).read_text()
