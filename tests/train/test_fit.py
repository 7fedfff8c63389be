"""Training: every stage runs, checkpoints load without pickle, resume reproduces, bad inputs are clear."""

import json

import pytest
import torch

from sbsr_lab.config import get_profile
from sbsr_lab.errors import CheckpointError
from sbsr_lab.train.checkpoint import load_checkpoint, read_checkpoint_meta
from sbsr_lab.train.fit import fit, get_lr, split_train_val
from sbsr_lab.train.runs import load_run

TINY = dict(image_size=32, epochs=2, sketch_epochs=2, batch_size=8, num_views=4, train_views=2, lr=3e-3, eval_batch_size=16)


def _profile(**kw):
    return get_profile("ci", **{**TINY, **kw})


def test_lr_schedule_warms_up_then_decays():
    lrs = [get_lr(s, 100, 10, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] < 0.01


def test_split_train_val_is_per_class_and_deterministic():
    labels = torch.tensor([0] * 10 + [1] * 4)
    tr, va = split_train_val(labels, 0.2, seed=0)
    assert sorted(tr + va) == list(range(14)) and not set(tr) & set(va)
    assert sum(labels[va] == 0) == 2 and sum(labels[va] == 1) == 1
    assert (tr, va) == split_train_val(labels, 0.2, seed=0)


def test_shape_validation_takes_val_shapes_of_each_class():
    from sbsr_lab.config import get_profile
    from sbsr_lab.train.stage import shapes_per_class

    labels = torch.tensor([0] * 30 + [1] * 30 + [2] * 4)
    idx = shapes_per_class(labels, 10, seed=0)
    assert [int((labels[idx] == k).sum()) for k in range(3)] == [10, 10, 4]  # a small class keeps all it has
    assert idx == sorted(set(idx)) == shapes_per_class(labels, 10, seed=0) != shapes_per_class(labels, 10, seed=1)
    assert get_profile("default").val_shapes == 10 and get_profile("default", val_shapes=0).val_shapes == 0


def test_shape_stage_validates_on_the_subset(tiny_dataset):
    from sbsr_lab.data.manifest import load_manifest
    from sbsr_lab.train.stage import get_stage

    manifest = load_manifest(tiny_dataset)
    _, val = get_stage("teacher").loaders(manifest, _profile().replace(val_shapes=1))
    _, val_all = get_stage("teacher").loaders(manifest, _profile().replace(val_shapes=0))
    n_classes = len(manifest.classes)
    assert len(val["shape"]) == n_classes < len(val_all["shape"])
    assert sorted(int(y) for _, y in val["shape"]) == list(range(n_classes))


@pytest.fixture(scope="module")
def runs(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    p = _profile()
    res = {}
    res["teacher"] = fit("teacher", p, tiny_dataset, out / "teacher", progress=False)
    res["student"] = fit("student", p, tiny_dataset, out / "student", from_run=out / "teacher", progress=False)
    res["sketch-uncertainty"] = fit("sketch-uncertainty", p, tiny_dataset, out / "unc", progress=False)
    res["shape-transfer"] = fit("shape-transfer", p, tiny_dataset, out / "transfer", from_run=out / "unc", progress=False)
    res["joint"] = fit("joint", p, tiny_dataset, out / "joint", progress=False)
    return out, res


def test_every_stage_trains_and_writes_checkpoints(runs):
    out, res = runs
    for stage, r in res.items():
        assert len(r.history) == 2 and 0.0 <= r.best_val <= 1.0, stage
        for f in ("best.safetensors", "best.json", "last.safetensors", "last.json", "metrics.csv"):
            assert (r.run / f).is_file(), (stage, f)
        assert read_checkpoint_meta(r.run)["stage"] == stage
        lines = (r.run / "metrics.csv").read_text().splitlines()
        assert lines[0].startswith("epoch,") and len(lines) == 3
        row = r.history[-1]
        uses_sketches = stage in ("student", "sketch-uncertainty", "joint")
        uses_views = stage in ("teacher", "shape-transfer", "joint")
        assert (row["sketch_images_per_s"] > 0) == uses_sketches, stage
        assert (row["view_images_per_s"] > 0) == uses_views, stage


def test_images_per_batch_count_every_view():
    from sbsr_lab.train.fit import _images_in

    sketches, views = torch.zeros(8, 1, 4, 4), torch.zeros(3, 5, 1, 4, 4)  # (B, C, H, W), (B, V, C, H, W)
    labels = torch.zeros(8, dtype=torch.long)
    assert _images_in((sketches, labels)) == {"sketch": 8, "view": 0}
    assert _images_in((views, labels[:3])) == {"sketch": 0, "view": 15}
    assert _images_in(((sketches, labels), (views, labels[:3]))) == {"sketch": 8, "view": 15}


def test_second_stages_keep_the_fixed_centres(runs):
    out, _ = runs
    teacher, _ = load_run(out / "teacher")
    student, _ = load_run(out / "student")
    assert torch.allclose(teacher.centres, student.centres, atol=1e-6)
    unc, _ = load_run(out / "unc")
    transfer, _ = load_run(out / "transfer")
    assert torch.allclose(unc.centres, transfer.centres, atol=1e-6)
    joint, _ = load_run(out / "joint")
    assert joint.sketch.classifier is joint.shape.classifier


def test_training_is_deterministic_on_cpu(tiny_dataset, tmp_path):
    p = _profile(epochs=1)
    fit("sketch-uncertainty", p, tiny_dataset, tmp_path / "a", progress=False)
    fit("sketch-uncertainty", p, tiny_dataset, tmp_path / "b", progress=False)
    a, _, _ = load_checkpoint(tmp_path / "a", "last")
    b, _, _ = load_checkpoint(tmp_path / "b", "last")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_interrupted_run_resumes_to_the_same_weights(tiny_dataset, tmp_path, monkeypatch):
    from sbsr_lab.train.stage import get_stage

    teacher = type(get_stage("teacher"))
    p = _profile(epochs=3)
    ref = fit("teacher", p, tiny_dataset, tmp_path / "ref", progress=False)
    calls = {"n": 0}
    real = teacher.accuracy

    def dying_accuracy(*a, **k):  # dies during epoch 2's validation, after epoch 1's checkpoint
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(teacher, "accuracy", dying_accuracy)
    with pytest.raises(KeyboardInterrupt):
        fit("teacher", p, tiny_dataset, tmp_path / "cut", progress=False)
    monkeypatch.setattr(teacher, "accuracy", real)
    assert json.loads((tmp_path / "cut" / "last.json").read_text())["epoch"] == 0
    resumed = fit("teacher", p, tiny_dataset, tmp_path / "cut", resume=True, progress=False)
    assert [round(h["loss"], 6) for h in resumed.history] == [round(h["loss"], 6) for h in ref.history]
    a, _, _ = load_checkpoint(tmp_path / "ref", "last")
    b, _, _ = load_checkpoint(tmp_path / "cut", "last")
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_clear_errors_for_missing_from_foreign_and_wrong_stage(tiny_dataset, tmp_path, runs):
    out, _ = runs
    with pytest.raises(CheckpointError, match="needs a finished teacher run"):
        fit("student", _profile(), tiny_dataset, tmp_path / "s", progress=False)
    with pytest.raises(CheckpointError, match="is a sketch-uncertainty run; stage student needs a teacher"):
        fit("student", _profile(), tiny_dataset, tmp_path / "s", from_run=out / "unc", progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "best.json").write_text(json.dumps({"arch": "resnet"}))
    with pytest.raises(CheckpointError, match="not written by sbsr_lab"):
        load_run(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_run(tmp_path / "nowhere")
    with pytest.raises(KeyError, match="Unknown stage"):
        fit("teacherr", _profile(), tiny_dataset, tmp_path / "x", progress=False)


def test_checkpoints_of_an_older_network_get_a_clear_error(tiny_dataset, tmp_path, runs):
    """A run written before UncertaintyHead's variance branch got its BatchNorm (keys missing)."""
    import shutil

    from safetensors.torch import load_file, save_file

    out, _ = runs
    old = tmp_path / "old_unc"
    shutil.copytree(out / "unc", old)
    for kind in ("best", "last"):
        tensors = load_file(old / f"{kind}.safetensors")
        save_file({k: v for k, v in tensors.items() if "log_var_mlp.4." not in k}, old / f"{kind}.safetensors")
    with pytest.raises(CheckpointError, match=r"does not fit this version's SketchNet \(missing .*log_var_mlp\.4\..*"
                                              r"older sbsr_lab\. Train the stage again"):
        load_run(old)
    with pytest.raises(CheckpointError, match=r"last\.safetensors does not fit.*Delete that folder"):
        fit("sketch-uncertainty", _profile(), tiny_dataset, old, resume=True, progress=False)


def test_train_method_trains_its_stages_in_order_and_then_returns_at_once(tiny_dataset, tmp_path):
    from sbsr_lab.pipeline import train_method

    run, seconds = train_method("cfttsl", _profile(epochs=1, sketch_epochs=1), tiny_dataset, tmp_path, progress=False)
    assert run == tmp_path / "student" and list(seconds) == ["teacher", "student"]
    assert read_checkpoint_meta(run)["from_run"] == "../teacher"
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")}
    again, _ = train_method("cfttsl", _profile(epochs=1, sketch_epochs=1), tiny_dataset, tmp_path, progress=False)
    assert again == run and {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")} == stamps  # nothing retrained
    with pytest.raises(ValueError, match="unknown method 'no-such-method'"):
        train_method("no-such-method", _profile(), tiny_dataset, tmp_path)


def test_resume_names_the_settings_that_differ_and_reads_an_old_run_as_its_old_head(tiny_dataset, tmp_path):
    """A run saved before the head key existed was trained with our MLP head: resuming it under today's
    default (the authors' head) names head as the difference instead of failing on the weights."""
    import json

    from sbsr_lab.errors import CheckpointError

    p = _profile().replace(epochs=1)
    fit("teacher", p, tiny_dataset, tmp_path / "t", progress=False)
    meta = json.loads((tmp_path / "t" / "last.json").read_text())
    assert meta["profile"]["head"] == p.head == "paper"
    del meta["profile"]["head"]  # as an older sbsr_lab wrote it
    (tmp_path / "t" / "last.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"another profile: head='mlp' \(now 'paper'\);"):
        fit("teacher", p, tiny_dataset, tmp_path / "t", progress=False, resume=True)


def test_one_writer_per_run_folder(tmp_path):
    """A second training into a folder another process is training into is refused at once, naming it
    (two `train` processes used to both finish and leave a run mixed from two seeds)."""
    import subprocess
    import sys
    import textwrap

    from sbsr_lab.errors import CheckpointError
    from sbsr_lab.train.checkpoint import run_lock

    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from sbsr_lab.train.checkpoint import run_lock
        with run_lock({str(out)!r}):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointError, match=f"being trained into by process {holder.pid}"):
            with run_lock(out):
                pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(out):  # the lock went with its process: no stale lock
        pass


def test_a_full_disk_while_saving_a_checkpoint_is_the_documented_error(tmp_path, monkeypatch):
    """safetensors reports a full disk as its own SafetensorError; training used to end in that raw error."""
    from safetensors import SafetensorError

    import sbsr_lab.train.checkpoint as checkpoint
    from sbsr_lab.errors import DiskFullError

    def full(*args, **kwargs):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                              'message: "No space left on device" })')

    monkeypatch.setattr(checkpoint, "save_file", full)
    with pytest.raises(DiskFullError, match="disk is full.*Fix: free some space"):
        checkpoint.save_checkpoint(tmp_path / "run", "last", torch.nn.Linear(2, 2), {"stage": "x"})
    assert not [p for p in (tmp_path / "run").rglob("*") if p.is_file() and p.name != ".lock"]
