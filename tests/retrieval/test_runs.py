"""Method evaluation and the HTML report on the tiny dataset."""

import math

import pytest
import torch

from sbsr_lab.config import get_profile
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.errors import CheckpointError
from sbsr_lab.retrieval.evaluate import metrics_table_text
from sbsr_lab.retrieval.report import write_report
from sbsr_lab.serve.engine import load_engine
from sbsr_lab.retrieval.runs import evaluate_method, sigma_noise_spearman
from sbsr_lab.train.runs import load_method
from sbsr_lab.train.fit import fit


@pytest.fixture(scope="module")
def method_runs(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("method_runs")
    p = get_profile("ci", image_size=32, epochs=3, sketch_epochs=3, batch_size=8, num_views=4, train_views=2, eval_batch_size=16)
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
    within = ev.spearman_sigma_noise_within_class
    assert within is None or -1.0 <= within <= 1.0
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


def test_query_engine_from_run_and_bundle(method_runs, tiny_dataset, tmp_path):
    import numpy as np

    from sbsr_lab.errors import SketchError
    from sbsr_lab.io import load_png
    from sbsr_lab.serve.bundle import export_bundle, read_bundle

    m = load_manifest(tiny_dataset)
    engine = load_engine(method_runs / "transfer")
    rec = m.sketches_of("test")[0]
    png = m.path(rec.png)
    res = engine.query(png, k=5)
    assert len(res.results) == 5 and res.results[0]["rank"] == 1
    assert [r["score"] for r in res.results] == sorted((r["score"] for r in res.results), reverse=True)
    assert abs(sum(res.probabilities.values()) - 1) < 1e-4 and res.uncertainty is not None
    assert set(res.to_json()) >= {"predicted_class", "uncertainty", "results"}
    with pytest.raises(SketchError, match="draw something first"):
        engine.query([], k=3)
    with pytest.raises(SketchError, match="draw something first"):
        engine.query(np.zeros((32, 32), np.float32), k=3)

    out = export_bundle({"uactn": method_runs / "transfer", "joint": method_runs / "joint"}, tiny_dataset, tmp_path / "b")
    desc = read_bundle(out)
    assert set(desc["methods"]) == {"uactn", "joint"} and (out / "thumbs").is_dir()
    bundled = load_engine("bundle:uactn", bundle=out)
    res2 = bundled.query(1 - load_png(png), k=5)  # same sketch as an ink image
    assert [r["id"] for r in res2.results][:3] == [r["id"] for r in res.results][:3]  # float16 weights, same ranking
    assert bundled.index.thumbnails[0].endswith(".png")
    with pytest.raises(CheckpointError, match="no method 'cfttsl'"):
        load_engine("bundle:cfttsl", bundle=out)
    with pytest.raises(CheckpointError, match="No model bundle"):
        load_engine("bundle:uactn", bundle=tmp_path / "nothing")


def test_sigma_noise_spearman_separates_class_offsets_from_noise():
    """sigma = a class offset + the noise: perfectly ordered inside each class, much less overall."""
    torch = pytest.importorskip("torch")
    noise = torch.linspace(0, 1, 10).repeat(3)
    labels = torch.arange(3).repeat_interleave(10)
    sigma = noise * 0.1 + labels.float() * 1.0  # class 2 is always more uncertain than class 0
    overall, within = sigma_noise_spearman(sigma, noise, labels)
    assert within == pytest.approx(1.0)
    assert overall < 0.5
    _, flipped = sigma_noise_spearman(-sigma, noise, labels)
    assert flipped == pytest.approx(-1.0)
    one_query_per_class = torch.arange(3)
    assert math.isnan(sigma_noise_spearman(torch.rand(3), torch.rand(3), one_query_per_class)[1])


def test_a_method_loads_from_any_working_directory_and_after_its_runs_move(method_runs, tmp_path, monkeypatch):
    import json
    import shutil

    from sbsr_lab.train.checkpoint import read_checkpoint_meta

    assert read_checkpoint_meta(method_runs / "transfer")["from_run"] == "../unc"  # relative to the run
    moved = tmp_path / "elsewhere" / "runs"
    shutil.copytree(method_runs, moved)
    monkeypatch.chdir(tmp_path)  # neither the old nor the new runs are below the working directory
    nets = load_method(moved / "transfer")
    assert nets.method == "uactn" and nets.runs["sketch-uncertainty"] == str(moved / "unc")

    # a run written before from_run was relative: recorded as the working directory saw it
    for kind in ("best", "last"):
        path = moved / "transfer" / f"{kind}.json"
        meta = json.loads(path.read_text())
        meta["from_run"] = "runs/demo/unc"
        path.write_text(json.dumps(meta))
    assert load_method(moved / "transfer").runs["sketch-uncertainty"] == str(moved / "unc")  # found beside it
    shutil.rmtree(moved / "unc")
    with pytest.raises(CheckpointError, match="was trained from the run runs/demo/unc, which is not found"):
        load_method(moved / "transfer")


def test_model_specs_parse_into_one_typed_value(tmp_path, monkeypatch):
    from sbsr_lab.serve.engine import ModelSpec

    monkeypatch.chdir(tmp_path)
    bundle = tmp_path / "my_bundle"
    bundle.mkdir()
    (bundle / "bundle.json").write_text("{}")
    run = tmp_path / "runs" / "student"
    run.mkdir(parents=True)
    assert ModelSpec.parse(None) == ModelSpec("bundle") == ModelSpec.parse("bundle")
    assert ModelSpec.parse("cfttsl") == ModelSpec("bundle", None, "cfttsl")
    assert ModelSpec.parse("bundle:joint", bundle=bundle) == ModelSpec("bundle", bundle, "joint")
    assert ModelSpec.parse(bundle) == ModelSpec("bundle", bundle, None)
    assert ModelSpec.parse(str(run)) == ModelSpec("run", run) and str(ModelSpec.parse(run)) == str(run)
    (tmp_path / "uactn").mkdir()  # a folder that shadows a method name is a run folder
    assert ModelSpec.parse("uactn").kind == "run"
    with pytest.raises(CheckpointError, match="No model 'nowhere'.*neither a method name"):
        ModelSpec.parse("nowhere")
    with pytest.raises(CheckpointError, match="No model bundle"):
        ModelSpec.parse("bundle:uactn", bundle=tmp_path / "none").check()


def test_validation_split_is_the_held_out_training_sketches(method_runs, tiny_dataset):
    """``split="val"`` scores exactly the sketches training held out (never a test sketch) against the
    training shapes, so settings can be chosen without reading the test split."""
    from sbsr_lab.config import Profile
    from sbsr_lab.retrieval.runs import validation_sketches
    from sbsr_lab.train.stage import split_train_val

    m = load_manifest(tiny_dataset)
    nets = load_method(method_runs / "joint")
    profile = Profile.from_dict(nets.profile)
    train = m.sketches_of("train")
    labels = torch.tensor([m.class_index(r.cls) for r in train])
    _, held_out = split_train_val(labels, profile.val_fraction, profile.seed)
    val = validation_sketches(m, profile)
    assert val.ids == [train[i].id for i in held_out] and len(val.ids) > 0
    assert not set(val.ids) & {r.id for r in m.sketches_of("test")}
    ev = evaluate_method(method_runs / "joint", split="val", device="cpu")
    assert ev.query_ids == val.ids and ev.similarity.shape == (len(val.ids), len(m.shapes_of("train")))
    assert all(0.0 <= v <= 1.0 for k, v in ev.metrics.items() if k in ("NN", "mAP"))
    with pytest.raises(CheckpointError, match="no validation sketches"):
        validation_sketches(m, profile.replace(val_fraction=0.0))
