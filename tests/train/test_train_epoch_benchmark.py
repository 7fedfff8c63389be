"""benchmarks/train_epoch.py: one epoch of every stage, with the images/s of the networks each stage trains."""

import json
import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_epoch.py"
TINY = ["image_size=32", "batch_size=8", "num_views=4", "train_views=2", "eval_batch_size=16"]


def test_train_epoch_benchmark_reports_every_stage(tiny_dataset, tmp_path, monkeypatch, capsys):
    out = tmp_path / "epoch.json"
    argv = [str(SCRIPT), "--profile", "ci", "--data", str(tiny_dataset), "--json", str(out)]
    for kv in TINY:
        argv += ["--set", kv]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    report = json.loads(out.read_text())
    stages = {r["stage"]: r for r in report["stages"]}
    from sbsr_lab.train.stage import STAGES

    assert list(stages) == list(STAGES)  # every registered stage, the papers' five first
    assert list(stages)[:5] == ["teacher", "student", "sketch-uncertainty", "shape-transfer", "joint"]
    for name, r in stages.items():
        if STAGES[name].modality in ("sketch", "shape", "both"):
            assert (r["sketch_images_per_s"] > 0) == (STAGES[name].modality in ("sketch", "both")), name
            assert (r["view_images_per_s"] > 0) == (STAGES[name].modality in ("shape", "both")), name
        assert r["epoch_seconds"] > 0
    assert report["profile"]["epochs"] == 1 and report["profile"]["sketch_epochs"] == 1
    assert "sketch img/s" in capsys.readouterr().out
