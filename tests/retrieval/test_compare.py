"""Comparing methods over demo folders: statistics over seeds, wall-time attribution, PR averaging, the script."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from sbsr_lab.errors import SbsrError
from sbsr_lab.retrieval import compare
from sbsr_lab.retrieval.compare import (
    comparison_table, load_summary, method_seconds, method_stage_names, pr_curves, summarise_demos,
)

REPO = Path(__file__).resolve().parents[2]


def _metrics(m: float, **extra: float) -> dict[str, float]:
    return {"NN": m + 0.1, "FT": m - 0.1, "ST": m, "E": m / 2, "DCG": m + 0.05, "mAP": m, **extra}


def _demo(folder: Path, maps: dict[str, float], seconds: dict[str, float], **extra) -> Path:
    folder.mkdir(parents=True)
    results = {"profile": "default", "methods": {k: _metrics(v) for k, v in maps.items()},
               "seconds": seconds, **extra}
    (folder / "results.json").write_text(json.dumps(results))
    return folder


@pytest.fixture()
def two_demos(tmp_path):
    a = _demo(tmp_path / "s0", {"cfttsl": 0.80, "joint": 0.70, "ssltkd": 0.60},
              {"data": 5.0, "teacher": 10.0, "student": 4.0, "evaluate-cfttsl": 1.0, "joint": 7.0,
               "evaluate-joint": 0.5, "ssl-pretrain": 20.0, "ssltkd-teacher": 3.0, "ssltkd-student": 2.0,
               "evaluate-ssltkd": 1.0},
              map_per_group={"ssltkd": {"many": 0.9, "medium": 0.6, "few": 0.3, "thresholds": {"many": 4, "few": 1}}},
              linear_probe={"ssl-pretrain": 0.5}, uncertainty_noise_spearman=0.4)
    b = _demo(tmp_path / "s1", {"cfttsl": 0.90, "joint": 0.74},
              {"data": 6.0, "teacher": 12.0, "student": 6.0, "evaluate-cfttsl": 2.0, "joint": 9.0,
               "evaluate-joint": 1.5})
    return a, b


def test_method_stages_include_the_stages_trained_from():
    assert method_stage_names("cfttsl") == ["teacher", "student"]
    assert method_stage_names("ssltkd") == ["ssl-pretrain", "ssltkd-teacher", "ssltkd-student"]
    with pytest.raises(SbsrError, match="Unknown method"):
        method_stage_names("nope")


def test_seconds_attribution_counts_the_method_stages_and_its_evaluation():
    seconds = {"data": 100.0, "teacher": 10.0, "student": 4.0, "evaluate-cfttsl": 1.0, "joint": 7.0,
               "ssl-pretrain": 20.0, "ssltkd-teacher": 3.0, "ssltkd-student": 2.0}
    assert method_seconds(seconds, "cfttsl") == 15.0          # not the data, not the joint stage
    assert method_seconds(seconds, "ssltkd") == 25.0          # ssl-pretrain counts: ssltkd trains --from it
    assert method_seconds(seconds, "dca") is None


def test_summary_means_stds_and_seconds_over_two_demos(two_demos):
    s = summarise_demos(list(two_demos), pr=False)
    assert s["version"] == 1 and s["profile"] == "default" and len(s["runs"]) == 2
    cf = s["methods"]["cfttsl"]
    assert cf["runs"] == 2
    assert cf["metrics"]["mAP"]["values"] == [0.8, 0.9]
    assert cf["metrics"]["mAP"]["mean"] == pytest.approx(0.85)
    assert cf["metrics"]["mAP"]["std"] == pytest.approx(math.sqrt(((0.8 - 0.85) ** 2 + (0.9 - 0.85) ** 2) / 1), abs=1e-4)
    assert cf["metrics"]["NN"]["mean"] == pytest.approx(0.95)
    assert cf["seconds"]["values"] == [15.0, 20.0] and cf["seconds"]["mean"] == pytest.approx(17.5)
    joint = s["methods"]["joint"]
    assert joint["seconds"]["values"] == [7.5, 10.5]
    assert joint["metrics"]["mAP"]["std"] == pytest.approx(0.0283, abs=1e-4)
    only_one = s["methods"]["ssltkd"]                        # in one demo only: one value, std 0
    assert only_one["runs"] == 1 and only_one["metrics"]["mAP"]["std"] == 0.0
    assert only_one["seconds"]["values"] == [26.0]
    assert only_one["map_per_group"]["few"]["mean"] == pytest.approx(0.3)
    assert s["linear_probe"]["values"] == [0.5]
    assert s["spearman"]["values"] == [0.4]                  # UACTN's figure where a demo measured it
    assert "spearman_within_class" not in s
    assert "pr" not in cf                                    # results.json only: no run folder to evaluate
    assert "inst_top1" not in cf["metrics"]


def test_table_orders_by_map_and_shows_mean_plus_minus_std(two_demos):
    table = comparison_table(summarise_demos(list(two_demos), pr=False))
    assert list(table["method"]) == ["cfttsl", "joint", "ssltkd"]
    assert table.loc[0, "mAP"] == "0.850 ± 0.071"
    assert table.loc[2, "mAP"] == "0.600"                     # one run: no ± shown
    assert table.loc[0, "wall s"] == pytest.approx(17.5)
    assert {"NN", "FT", "ST", "E", "DCG", "mAP many", "mAP few"} <= set(table.columns)


def test_pr_curves_are_averaged_over_the_runs_present(two_demos, monkeypatch):
    a, b = two_demos
    for folder in (a, b):
        (folder / "student").mkdir()
        (folder / "student" / "best.json").write_text(json.dumps({"profile": {"seed": 0 if folder == a else 1}}))
    curves = {a / "student": ([0.5, 1.0], [1.0, 0.5]), b / "student": ([0.5, 1.0], [0.8, 0.3])}
    monkeypatch.setattr(compare, "_evaluate_pr", lambda run, data: curves[run])
    s = summarise_demos([a, b])
    assert s["seeds"] == [0, 1]
    assert s["methods"]["cfttsl"]["pr"]["precision"] == pytest.approx([0.9, 0.4])
    assert s["methods"]["cfttsl"]["pr"]["runs"] == 2
    assert "pr" not in s["methods"]["joint"]                 # its run folder is absent
    curve = pr_curves(s)["cfttsl"]
    assert curve.recall_levels.tolist() == [0.5, 1.0]


def test_bad_folders_get_clear_errors(tmp_path, two_demos):
    with pytest.raises(SbsrError, match="results.json is missing"):
        summarise_demos([tmp_path / "nothing"])
    other = _demo(tmp_path / "ci", {"joint": 0.3}, {})
    (other / "results.json").write_text(json.dumps({"profile": "ci", "methods": {"joint": _metrics(0.3)}}))
    with pytest.raises(SbsrError, match="different profiles"):
        summarise_demos([two_demos[0], other], pr=False)
    # one thread count per table: demos run with 1 and 2 torch threads are refused
    for demo, n in zip(two_demos, (1, 2)):
        doc = json.loads((demo / "results.json").read_text())
        (demo / "results.json").write_text(json.dumps({**doc, "torch_threads": n}))
    with pytest.raises(SbsrError, match="different torch thread counts"):
        summarise_demos(list(two_demos), pr=False)
    for demo in two_demos:
        doc = json.loads((demo / "results.json").read_text())
        (demo / "results.json").write_text(json.dumps({**doc, "torch_threads": 1}))
    assert summarise_demos(list(two_demos), pr=False)["torch_threads"] == 1
    with pytest.raises(SbsrError, match="compare_methods.py"):
        load_summary(tmp_path / "missing.json")


def test_script_writes_the_summary_with_settings(two_demos, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("compare_methods", REPO / "benchmarks" / "compare_methods.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "results" / "methods.json"
    a, b = two_demos
    assert script.main([str(a), str(b), "--out", str(out), "--no-pr", "--setting", "longtail", str(a)]) == 0
    s = load_summary(out)
    assert s["methods"]["cfttsl"]["metrics"]["mAP"]["mean"] == pytest.approx(0.85)
    assert set(s["settings"]) == {"balanced", "longtail"}
    assert s["settings"]["longtail"]["methods"]["cfttsl"]["runs"] == 1
    assert not list(out.parent.glob("*.tmp*"))               # atomic: no temporary file left behind
    assert "cfttsl" in capsys.readouterr().out
    assert script.main([str(tmp_path / "none"), "--out", str(out), "--no-pr"]) == 2
    assert "results.json is missing" in capsys.readouterr().err


def test_description_is_computed_from_the_numbers(two_demos):
    from sbsr_lab.retrieval.compare import describe_comparison

    text = describe_comparison(summarise_demos(list(two_demos), pr=False))
    assert text.startswith("Best mAP: cfttsl (0.850 ± 0.071, 2 runs); lowest: ssltkd (0.600, 1 run).")
    assert "cfttsl leads joint by 0.130, more than the spread of the two (std 0.071 and 0.028)" in text
    assert "Below the joint baseline: ssltkd." in text
    assert describe_comparison({"methods": {}}) == "No method has an mAP in this summary."
    close = {"methods": {"a": {"metrics": {"mAP": compare.stat([0.80, 0.86])}},
                         "b": {"metrics": {"mAP": compare.stat([0.79, 0.83])}}}}
    assert "no clear winner" in describe_comparison(close)


def test_script_can_leave_the_settings_without_pr_curves(two_demos, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("compare_methods", REPO / "benchmarks" / "compare_methods.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    a, b = two_demos
    for i, folder in enumerate((a, b)):
        (folder / "student").mkdir()
        (folder / "student" / "best.json").write_text(json.dumps({"profile": {"seed": i}}))
    evaluated = []
    monkeypatch.setattr(compare, "_evaluate_pr", lambda run, data: evaluated.append(run) or ([0.5, 1.0], [1.0, 0.5]))
    out = tmp_path / "methods.json"
    assert script.main([str(a), str(b), "--out", str(out), "--no-settings-pr", "--setting", "longtail", str(a)]) == 0
    s = load_summary(out)
    assert evaluated == [a / "student", b / "student"]           # the balanced runs only
    assert "pr" in s["methods"]["cfttsl"] and "pr" not in s["settings"]["longtail"]["methods"]["cfttsl"]
