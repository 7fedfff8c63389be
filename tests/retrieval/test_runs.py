"""Method evaluation and the HTML report on the tiny dataset."""

import pytest

from sbsr_lab.config import get_profile
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.errors import CheckpointError
from sbsr_lab.retrieval.report import metrics_table_text, write_report
from sbsr_lab.retrieval.runs import evaluate_method, load_method
from sbsr_lab.train.fit import fit


@pytest.fixture(scope="module")
def method_runs(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("method_runs")
    p = get_profile("ci", image_size=32, epochs=3, batch_size=8, num_views=4, train_views=2, eval_batch_size=16)
    fit("sketch-uncertainty", p, tiny_dataset, out / "unc", progress=False)
    fit("shape-transfer", p, tiny_dataset, out / "transfer", from_run=out / "unc", progress=False)
    fit("joint", p, tiny_dataset, out / "joint", progress=False)
    return out


def test_evaluate_uactn_and_joint(method_runs, tiny_dataset, tmp_path):
    ev = evaluate_method(method_runs / "transfer", device="cpu")
    assert ev.method == "uactn" and set(ev.metrics) == {"NN", "FT", "ST", "E", "DCG", "mAP"}
    assert all(0.0 <= v <= 1.0 for v in ev.metrics.values())
    m = load_manifest(tiny_dataset)
    assert ev.similarity.shape == (len(m.sketches_of("test")), len(m.shapes))
    assert ev.sigma is not None and ev.sigma.shape == (len(ev.query_ids),) and (ev.sigma > 0).all()
    assert ev.spearman_sigma_noise is not None and -1.0 <= ev.spearman_sigma_noise <= 1.0
    assert [r["class"] for r in ev.per_class] == m.classes
    joint = evaluate_method(method_runs / "joint", device="cpu")
    assert joint.method == "joint" and joint.sigma is None
    page = write_report(tmp_path / "report.html", {"uactn": ev, "joint": joint}, m)
    text = page.read_text()
    assert "Precision-recall" in text and "Spearman" in text and text.count("<img") >= 3 * 7
    assert "mAP" in metrics_table_text({"uactn": ev.metrics})


def test_first_stage_alone_is_not_a_method(method_runs):
    with pytest.raises(CheckpointError, match="evaluate the shape-transfer run"):
        load_method(method_runs / "unc")
