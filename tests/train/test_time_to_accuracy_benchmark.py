"""benchmarks/time_to_accuracy.py: the validation mAP of each method's last stage, its clock and the stage split."""

import json
import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "time_to_accuracy.py"
TINY = ["image_size=32", "batch_size=8", "num_views=4", "train_views=2", "eval_batch_size=16", "epochs=3",
        "sketch_epochs=3"]


def test_time_to_accuracy_reports_a_curve_and_the_split_of_every_stage(tiny_dataset, tmp_path, monkeypatch, capsys):
    out = tmp_path / "tta.json"
    argv = [str(SCRIPT), "--profile", "ci", "--data", str(tiny_dataset), "--json", str(out), "--every", "2",
            "--target", "0.0", "--methods", "cfttsl,uactn", "--runs", str(tmp_path / "runs")]
    for kv in TINY:
        argv += ["--set", kv]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    report = json.loads(out.read_text())
    cfttsl, uactn = report["methods"]["cfttsl"], report["methods"]["uactn"]
    assert list(cfttsl["stages"]) == ["teacher", "student"]
    assert list(uactn["stages"]) == ["sketch-uncertainty", "shape-transfer"]
    for r in (cfttsl, uactn):
        assert [c["epoch"] for c in r["curve"]] == [2, 3]  # every 2 epochs and the last one
        assert all(0.0 <= c["val_map"] <= 1.0 for c in r["curve"])
        first = list(r["stages"].values())[0]["seconds"]
        assert r["curve"][0]["seconds"] > first  # the clock includes the first stage
        assert r["seconds_to_target"] == r["curve"][0]["seconds"] and r["epoch_reached"] == 2  # target 0: first check
        for b in r["stages"].values():
            assert b["step_s"] > 0 and b["data_s"] >= 0 and b["val_s"] > 0
            assert abs(b["data_s"] + b["step_s"] + b["val_s"] + b["other"] - b["seconds"]) < 1e-6
    rows = [line for line in (tmp_path / "runs" / "student" / "metrics.csv").read_text().splitlines()]
    assert "val_map" in rows[0] and "hook_s" in rows[0] and "data_s" in rows[0]
    assert "not reached" not in capsys.readouterr().out
