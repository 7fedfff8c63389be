"""CLI smoke tests under a tiny profile: each subcommand runs, and bad input gives a clear one-line error."""

from __future__ import annotations

import json

import pytest

from sbsr_lab.cli import main

TINY = ["--profile", "ci", "--set", "classes=chair,table,airplane", "--set", "shapes_per_class=2",
        "--set", "sketches_per_class=3"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "synth"
    assert main(["--quiet", "data", "build", *TINY, "--root", str(root), "--workers", "1"]) == 0
    return root


def test_data_build_writes_a_complete_resumable_dataset(built, capsys):
    m = json.loads((built / "manifest.json").read_text())
    assert m["classes"] == ["chair", "table", "airplane"] and len(m["shapes"]) == 6 and len(m["sketches"]) == 9
    for s in m["shapes"]:
        assert (built / s["mesh"]).is_file()
        assert (built / "views" / "shaded_64" / f"{s['id']}.png").is_file()
    for k in m["sketches"]:
        assert (built / k["png"]).is_file() and (built / k["strokes"]).is_file() and 0 <= k["noise"] <= 1
    assert {k["split"] for k in m["sketches"]} == {"train", "test"}
    capsys.readouterr()
    assert main(["--quiet", "data", "build", *TINY, "--root", str(built), "--workers", "1"]) == 0
    assert "0 built / 6 cached" in capsys.readouterr().out  # nothing redone
    assert not list(built.rglob("*.tmp*"))  # no temporary files left


def test_sketches_from_an_older_generator_are_remade(built, tmp_path):
    import shutil

    from sbsr_lab.config import get_profile, parse_overrides
    from sbsr_lab.data.build import build_synthshapes, ensure_dataset
    from sbsr_lab.data.manifest import load_manifest
    from sbsr_lab.data.sketchgen import SKETCH_GENERATOR

    root = tmp_path / "old"
    shutil.copytree(built, root)
    profile = get_profile("ci", **parse_overrides([TINY[i + 1] for i in range(2, len(TINY), 2)]))
    assert load_manifest(root).generators == {"sketches": SKETCH_GENERATOR}
    assert ensure_dataset(profile, root, workers=1, progress=False).generators == {"sketches": SKETCH_GENERATOR}
    # one sketch written by version 1 (no "generator" key): only that one is remade
    nd = sorted(root.glob("sketches/*/*.ndjson"))[0]
    rec = json.loads(nd.read_text())
    del rec["generator"]
    nd.write_text(json.dumps(rec) + "\n")
    report = build_synthshapes(profile, root, workers=1, progress=False)
    assert (report.sketches_built, report.sketches_skipped, report.shapes_built) == (1, 8, 0)
    assert json.loads(nd.read_text())["generator"] == SKETCH_GENERATOR
    # a manifest from before generator versions: ensure_dataset rebuilds instead of using stale sketches
    m = json.loads((root / "manifest.json").read_text())
    del m["generators"]
    (root / "manifest.json").write_text(json.dumps(m))
    for nd in root.glob("sketches/*/*.ndjson"):
        rec = json.loads(nd.read_text())
        del rec["generator"]
        nd.write_text(json.dumps(rec) + "\n")
    assert ensure_dataset(profile, root, workers=1, progress=False).generators == {"sketches": SKETCH_GENERATOR}
    assert all(json.loads(nd.read_text())["generator"] == SKETCH_GENERATOR for nd in root.glob("sketches/*/*.ndjson"))


def test_data_build_refuses_other_settings_and_foreign_folders(built, tmp_path, capsys):
    assert main(["--quiet", "data", "build", *TINY, "--set", "view_size=32", "--root", str(built)]) == 2
    assert "other data settings" in capsys.readouterr().err
    (tmp_path / "thesis.tex").write_text("x")
    assert main(["--quiet", "data", "build", *TINY, "--root", str(tmp_path)]) == 2
    assert "not a SynthShapes folder" in capsys.readouterr().err


def test_contact_sheet_and_render(built, tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["--quiet", "data", "sheet", *TINY, "--root", str(built), "--out", str(out)]) == 0
    from PIL import Image

    w, h = Image.open(out).size
    assert w > 500 and h > 3 * 96
    mesh = next(built.glob("shapes/chair/*.ply"))
    grid = tmp_path / "grid.png"
    assert main(["render", str(mesh), "--out", str(grid), "--size", "48", "--profile", "ci"]) == 0
    assert Image.open(grid).size == (48 * 12, 48 * 4)


def test_bad_input_gives_clear_errors(tmp_path, capsys):
    assert main(["data", "build", "--profile", "ci", "--set", "epoch=3", "--root", str(tmp_path / "x")]) == 2
    assert "Unknown profile key 'epoch'" in capsys.readouterr().err
    assert main(["train", "teacher", "--profile", "ci", "--set", "backbone=unknown", "--data", str(tmp_path / "d"),
                 "--out", str(tmp_path / "r")]) == 2
    assert "'backbone' cannot be 'unknown'" in capsys.readouterr().err
    bad = tmp_path / "bad.obj"
    bad.write_text("this is not a mesh")
    assert main(["render", str(bad), "--out", str(tmp_path / "o.png")]) == 2
    assert "bad.obj" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "no_run")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_course_check_passes_on_the_repository(capsys):
    assert main(["course", "check", "--root", str(__import__("pathlib").Path(__file__).resolve().parents[1])]) == 0
    assert "in sync" in capsys.readouterr().out


def test_demo_train_and_evaluate_commands(built, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["--quiet", "demo", *TINY, "--set", "sketch_epochs=2", "--data", str(built), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "cfttsl" in text and "mAP" in text and "Spearman" in text
    results = json.loads((out / "results.json").read_text())
    assert results["profile"] == "ci" and set(results["methods"]) == {"cfttsl", "uactn", "joint"}
    assert all(set(m) == {"NN", "FT", "ST", "E", "DCG", "mAP"} for m in results["methods"].values())
    assert results["uncertainty_noise_spearman"] is not None and results["seconds"]["total"] > 0
    assert "Precision-recall" in (out / "report.html").read_text()
    assert main(["--quiet", "evaluate", str(out / "student"), "--out", str(tmp_path / "ev.json")]) == 0
    assert json.loads((tmp_path / "ev.json").read_text())["method"] == "cfttsl"
    assert main(["--quiet", "evaluate", str(out / "student"), "--split", "val", "--out", str(tmp_path / "val.json")]) == 0
    val, test = (json.loads((tmp_path / f).read_text()) for f in ("val.json", "ev.json"))
    assert (val["split"], test["split"]) == ("val", "test")
    from sbsr_lab.config import Profile
    from sbsr_lab.data.manifest import load_manifest
    from sbsr_lab.retrieval.runs import validation_sketches
    from sbsr_lab.train.runs import load_method

    profile = Profile.from_dict(load_method(out / "student").profile)
    held_out = validation_sketches(load_manifest(built), profile)  # the training sketches training held out
    assert sum(c["queries"] for c in val["per_class"]) == len(held_out.ids)
    capsys.readouterr()
    assert main(["--quiet", "train", "teacher", *TINY, "--set", "sketch_epochs=2", "--data", str(built),
                 "--out", str(out / "teacher"), "--resume"]) == 0  # already finished: resumes at the end
    assert "best val_acc" in capsys.readouterr().out
    assert main(["--quiet", "train", "teacher", *TINY, "--data", str(built), "--out", str(out / "teacher"),
                 "--resume"]) == 2  # other settings than the run: refused with a clear message
    assert "another profile" in capsys.readouterr().err


def test_help_and_parsing_never_import_torch():
    """`sbsr-lab --help` must not wait for torch (it took as long as importing it); `train --help` lists the
    registered stages (and so imports the registry)."""
    import subprocess
    import sys

    code = ("import sys; from sbsr_lab.cli import build_parser; p = build_parser(with_stages=False); "
            "p.parse_args(['query', 'x.png']); p.parse_args(['train', 'teacher', '--out', 'r']); "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
    done = subprocess.run([sys.executable, "-m", "sbsr_lab.cli", "--help"], capture_output=True, text=True, check=True)
    assert "grade a class's" in done.stdout and "notebooks" in done.stdout.split("grade a class's")[-1][:40] and "sbsr-lab score-sketches FOLDER" in done.stdout
    stages = subprocess.run([sys.executable, "-m", "sbsr_lab.cli", "train", "--help"], capture_output=True, text=True)
    assert "shape-transfer" in stages.stdout
