"""benchmarks/training_steps.py: the optimiser steps each stage trains on a dataset, side by side."""

import json
import runpy
import sys
from pathlib import Path

from sbsr_lab.train.stage import STAGES
from tests.conftest import make_tiny_dataset

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "training_steps.py"
TINY = "image_size=32,batch_size=4,num_views=4,train_views=2,eval_batch_size=16,val_fraction=0.2"


def test_a_smaller_dataset_trains_fewer_steps_at_the_same_epochs(tiny_dataset, tmp_path, monkeypatch, capsys):
    small = tmp_path / "small"
    make_tiny_dataset(small, shapes_per_class=3, sketches_per_class=6)
    out = tmp_path / "steps.json"
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--profile", "ci", "--data", f"{tiny_dataset}:{TINY}",
                                      "--data", f"{small}:{TINY}", "--json", str(out)])
    try:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    except SystemExit as exc:
        assert exc.code == 0
    steps = json.loads(out.read_text())["datasets"]
    assert list(steps) == [tiny_dataset.name, "small"]                # folder names, not paths
    full, less = steps.values()
    assert set(full) == set(STAGES)                                  # every stage of every method
    for stage, counts in full.items():
        assert counts["steps"] == counts["epochs"] * counts["steps_per_epoch"] > 0
        assert less[stage]["epochs"] == counts["epochs"]
    assert less["student"]["steps"] < full["student"]["steps"]       # a pass over fewer sketches
    assert less["teacher"]["steps"] < full["teacher"]["steps"]       # a pass over fewer shapes
    assert "student" in capsys.readouterr().out


def test_a_bad_data_spec_is_refused_with_the_fix(tmp_path, monkeypatch, capsys, tiny_dataset):
    for spec, words in ((f"{tiny_dataset}:longtail", "not KEY=VALUE"), (str(tmp_path / "none"), "no manifest.json")):
        monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--profile", "ci", "--data", spec])
        try:
            runpy.run_path(str(SCRIPT), run_name="__main__")
        except SystemExit as exc:
            assert exc.code == 2
        assert words in capsys.readouterr().err
