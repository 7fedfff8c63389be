"""The real-world table gathered over training seeds (benchmarks/real_world.py --combine)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sbsr_lab.errors import SbsrError
from sbsr_lab.serve.real_world import combine_seeds

ROOT = Path(__file__).resolve().parents[2]


def _table(seed, top1, threads=1, rows=(("uactn", "drawn/auto"), ("uactn", "shaded/file"))):
    return {"sketches": "sketches", "shapes": "shapes", "seed": seed, "torch_threads": threads,
            "rows": [{"method": m, "setting": s, "drawings_to_class": 0.9,
                      "drawings_to_meshes": {"top1": top1 - i * 0.1, "p10": 0.5, "map": top1 / 2, "n": 64},
                      "mesh_classification": {"n": 63, "accuracy": None if s == "shaded/file" else 0.7}}
                     for i, (m, s) in enumerate(rows)],
            "synthshapes_gallery": {"uactn": {"top1": top1, "map": 0.9}}}


def test_seeds_are_gathered_in_seed_order_with_mean_and_std():
    out = combine_seeds([_table(2, 0.9), _table(0, 0.7), _table(1, 0.8)])
    assert out["seeds"] == [0, 1, 2] and out["torch_threads"] == 1
    row = out["rows"][0]
    assert (row["method"], row["setting"]) == ("uactn", "drawn/auto")
    assert row["values"]["top1"] == pytest.approx([0.7, 0.8, 0.9])
    assert row["mean"]["top1"] == pytest.approx(0.8) and row["std"]["top1"] == pytest.approx(0.1)
    assert row["mean"]["map"] == pytest.approx(0.4)
    assert out["rows"][1]["mean"]["mesh_accuracy"] is None  # a value missing in a seed is never averaged
    assert out["synthshapes_gallery"]["uactn"]["top1"] == pytest.approx([0.7, 0.8, 0.9])


@pytest.mark.parametrize("tables, match", [
    ([_table(0, 0.7)], "two or more seeds"),
    ([_table(0, 0.7), _table(0, 0.8)], "different training seed"),
    ([_table(0, 0.7), {**_table(1, 0.8), "seed": None}], "different training seed"),
    ([_table(0, 0.7), _table(1, 0.8, threads=2)], "thread counts"),
    ([_table(0, 0.7), _table(1, 0.8, rows=(("uactn", "drawn/auto"),))], "other drawings, meshes or rows"),
    ([_table(0, 0.7), {**_table(1, 0.8), "shapes": "other"}], "other drawings, meshes or rows"),
])
def test_tables_that_cannot_be_gathered_are_refused(tables, match):
    with pytest.raises(SbsrError, match=match):
        combine_seeds(tables)


def test_command_line_combine_writes_the_summary(tmp_path):
    paths = []
    for seed, top1 in ((0, 0.7), (1, 0.8)):
        paths.append(tmp_path / f"s{seed}.json")
        paths[-1].write_text(json.dumps(_table(seed, top1)))
    out = tmp_path / "seeds.json"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_world.py"), "--combine", *map(str, paths),
                          "--json", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "top1 0.750 ± 0.071" in run.stdout
    assert json.loads(out.read_text())["seeds"] == [0, 1]
    bad = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_world.py"), "--combine", str(paths[0])],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "two or more seeds" in bad.stderr and "Traceback" not in bad.stderr


def test_a_bundle_folder_that_holds_no_bundle_is_refused_not_measured_empty(tmp_path):
    from sbsr_lab.errors import CheckpointError
    from sbsr_lab.serve.real_world import real_world_table

    with pytest.raises(CheckpointError, match="No model bundle"):
        real_world_table(tmp_path, tmp_path, tmp_path / "work", bundle=tmp_path / "nowhere")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_world.py"), "--sketches", str(tmp_path),
                          "--shapes", str(tmp_path), "--bundle", str(tmp_path / "nowhere"), "--work", str(tmp_path / "w")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and "No model bundle" in run.stderr and "Traceback" not in run.stderr


def test_each_bundle_gets_its_own_default_gallery_folder(tmp_path):
    """Galleries are reused from the work folder, and a gallery belongs to one model: a retrained bundle in the
    same folder (or the packaged one replaced) must not be handed the galleries of the model before it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("real_world_bench", ROOT / "benchmarks" / "real_world.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    a, b = tmp_path / "a" / "bundle", tmp_path / "b" / "bundle"  # same folder name, other models
    for folder, threshold in ((a, 0.68), (b, 0.70)):
        folder.mkdir(parents=True)
        (folder / "bundle.json").write_text(json.dumps({"methods": {"uactn": {"calibration": {"ood_threshold": threshold}}}}))
    assert bench.default_work(str(a)) != bench.default_work(str(b))
    assert bench.default_work(str(a)) == bench.default_work(str(a)) and bench.default_work(str(a)).parts[0] == "build"
    (b / "bundle.json").write_text((a / "bundle.json").read_text())
    assert bench.default_work(str(a)) == bench.default_work(str(b))  # the same model: its galleries are reused
