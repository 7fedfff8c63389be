"""Hostile and malformed checkpoints and bundles (issue 18): every one ends in a CheckpointError that
names the file and the fix, before any network is built from the JSON, and never in a traceback."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from sbsr_lab.config import get_profile
from sbsr_lab.errors import CheckpointError, SbsrError
from sbsr_lab.models import create_model, model_name_for
from sbsr_lab.serve.bundle import default_bundle_path, load_bundle_engine, read_bundle
from sbsr_lab.train.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint


@pytest.fixture(scope="module")
def bundle_copy(tmp_path_factory) -> Path:
    """A pristine copy of the packaged bundle (each test copies it again before damaging it)."""
    out = tmp_path_factory.mktemp("bundle") / "pristine"
    shutil.copytree(default_bundle_path(), out)
    return out


@pytest.fixture()
def bundle(bundle_copy, tmp_path) -> Path:
    out = tmp_path / "bundle"
    shutil.copytree(bundle_copy, out)
    return out


def _edit(path: Path, change) -> None:
    desc = json.loads(path.read_text())
    change(desc)
    path.write_text(json.dumps(desc))


def _method(**kw):
    def change(desc):
        desc["methods"]["uactn"].update(kw)
    return change


def _top(**kw):
    def change(desc):
        desc.update(kw)
    return change


BUNDLE_CASES = {
    "embed_dim 10^7": (_method(embed_dim=10**7), "embed_dim is 10000000"),
    "embed_dim as text": (_method(embed_dim="128"), "embed_dim is 128"),
    "embed_dim negative": (_method(embed_dim=-1), "embed_dim is -1"),
    "embed_dim in range but not the weights'": (_method(embed_dim=64), r"shape \(128, 12\)"),
    "embed_dim 10^30": (_method(embed_dim=10**30), "embed_dim is 1000000000000000000"),
    "embed_dim bool": (_method(embed_dim=True), "embed_dim is True"),
    "image_size 10^9": (_top(image_size=10**9), "'image_size' is 1000000000"),
    "image_size float": (_top(image_size=96.5), "'image_size' is 96.5"),
    "sketch_size 0": (_top(sketch_size=0), "'sketch_size' is 0"),
    "am_scale null": (_top(am_scale=None), "'am_scale' is None"),
    "no methods": (_top(methods={}), "'methods' must be a non-empty"),
    "methods a list": (_top(methods=[1, 2]), "'methods' must be"),
    "method a number": (_top(methods={"uactn": 3}), "methods.uactn must be an object"),
    "class_names a number": (_top(class_names=5), "'class_names' must be a list"),
    "class_names numbers": (_top(class_names=[1, 2]), "'class_names' must be a list"),
    "one class too many": (lambda d: d["class_names"].append("extra"), r"shape \(128, 12\).*13 classes"),
    "profile epochs 0": (lambda d: d["profile"].update(epochs=0), "'epochs' = 0 is out of range"),
    "profile text": (_top(profile="x"), "'profile' is not valid"),
    "version 2": (_top(version=2), "reads version 1"),
    "model_kind mvcnn": (_method(model_kind="mvcnn"), "sketch or sketch_unc"),
    "backbone unknown": (_method(backbone="resnet999"), "'resnet999', not one of"),
    "sketch ../outside/x": (_method(sketch="../outside/x"), "leads outside the bundle folder"),
    "sketch /etc/passwd": (_method(sketch="/etc/passwd"), "leads outside the bundle folder"),
    "gallery ../../x": (_method(gallery="../../x.safetensors"), "leads outside the bundle folder"),
    "gallery absolute": (_method(gallery="/etc/passwd"), "leads outside the bundle folder"),
    "sketch missing key": (lambda d: d["methods"]["uactn"].pop("sketch"), "sketch must be a string"),
    "gallery of another method": (_method(gallery="uactn_sketch.safetensors"), "embeddings None"),
}


@pytest.mark.parametrize("case", list(BUNDLE_CASES))
def test_malformed_bundle_json_is_refused_before_building(bundle, case):
    change, needle = BUNDLE_CASES[case]
    _edit(bundle / "bundle.json", change)
    t0 = time.perf_counter()
    with pytest.raises(CheckpointError, match=needle) as info:
        load_bundle_engine("uactn", bundle)
    assert time.perf_counter() - t0 < 20  # nothing big was allocated
    assert "bundle" in str(info.value)


@pytest.mark.parametrize("text, needle", [
    ("", "not valid JSON"),
    ("{", "not valid JSON"),
    ('{"format": NaN}', "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON|holds a JSON list|not an sbsr_lab bundle"),
    ("[1, 2]", "not an sbsr_lab bundle"),
    ('"just text"', "not an sbsr_lab bundle"),
    ("\udcff", "not valid JSON"),
])
def test_bundle_json_that_is_not_json(bundle, text, needle):
    (bundle / "bundle.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(CheckpointError, match=needle):
        read_bundle(bundle)


def test_link_out_of_the_bundle_is_refused(bundle, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(bundle / "uactn_sketch.json", outside / "x.json")
    shutil.copy(bundle / "uactn_sketch.safetensors", outside / "x.safetensors")
    (bundle / "sub").symlink_to(outside)
    _edit(bundle / "bundle.json", _method(sketch="sub/x"))
    with pytest.raises(CheckpointError, match="through a link"):
        read_bundle(bundle)


def _poison(path: Path, value: float) -> None:
    tensors = load_file(str(path))
    key = next(k for k, v in tensors.items() if v.is_floating_point() and v.numel() > 1)
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[0] = value
    save_file(tensors, str(path), metadata={"format": "sbsr_lab.checkpoint"})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_or_inf_weights_are_refused(bundle, value):
    _poison(bundle / "uactn_sketch.safetensors", value)
    with pytest.raises(CheckpointError, match="NaN or infinite values.*Retrain"):
        load_bundle_engine("uactn", bundle)


def test_damaged_safetensors_and_gallery(bundle):
    (bundle / "uactn_sketch.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_bundle_engine("uactn", bundle)
    (bundle / "cfttsl_gallery.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(CheckpointError, match="cfttsl_gallery.safetensors"):
        load_bundle_engine("cfttsl", bundle)


def test_sketch_json_of_other_classes(bundle):
    _edit(bundle / "uactn_sketch.json", lambda d: d["class_names"].reverse())
    with pytest.raises(CheckpointError, match="other classes"):
        load_bundle_engine("uactn", bundle)


def test_pristine_bundle_still_loads(bundle):
    engine = load_bundle_engine("uactn", bundle)
    assert engine.index.embeddings.shape[1] == read_bundle(bundle)["methods"]["uactn"]["embed_dim"]
    assert all(Path(t).resolve().is_relative_to(bundle.resolve()) for t in engine.index.thumbnails)


# ---------------------------------------------------------------------------------------------
# run checkpoints


@pytest.fixture()
def run(tmp_path) -> Path:
    profile = get_profile("ci", embed_dim=8)
    net = create_model(model_name_for("sketch", "compact"), 3, embed_dim=8)
    out = tmp_path / "run"
    save_checkpoint(out, "best", net, {"stage": "student", "method": "cfttsl", "class_names": ["a", "b", "c"],
                                       "profile": profile.to_dict(), "data": "data", "from_run": "../teacher",
                                       "epoch": 1, "val_acc": 0.5})
    return out


RUN_CASES = {
    "embed_dim 10^7": (lambda d: d["profile"].update(embed_dim=10**7), "'embed_dim' = 10000000 is out of range"),
    "embed_dim other than the weights'": (lambda d: d["profile"].update(embed_dim=16), r"shape \(8, 3\)"),
    "image_size 0": (lambda d: d["profile"].update(image_size=0), "'image_size' = 0"),
    "profile unknown key": (lambda d: d["profile"].update(bogus=1), "Unknown profile key 'bogus'"),
    "profile a list": (lambda d: d.update(profile=[1]), "'profile' must be an object"),
    "class_names missing": (lambda d: d.pop("class_names"), "'class_names' must be a list"),
    "class_names twice": (lambda d: d.update(class_names=["a", "a", "b"]), "names a class twice"),
    "one class more": (lambda d: d["class_names"].append("d"), r"shape \(8, 3\)"),
    "stage unknown": (lambda d: d.update(stage="wizard"), "'stage' is 'wizard'"),
    "stage a number": (lambda d: d.update(stage=3), "'stage' must be a string"),
    "epoch huge": (lambda d: d.update(epoch=10**40), "'epoch' must be an epoch number"),
    "epoch text": (lambda d: d.update(epoch="1"), "'epoch' must be"),
    "val_acc infinite": (lambda d: d.update(val_acc=1e400), "not valid JSON .*Infinity"),  # dumps writes Infinity
    "val_acc text": (lambda d: d.update(val_acc="high"), "'val_acc' must be a finite number"),
    "history garbage": (lambda d: d.update(history=[[[[]]]]), "'history' must be"),
    "optim_scalars garbage": (lambda d: d.update(optim_scalars={"param_groups": 3}), "'optim_scalars'"),
    "from_run a number": (lambda d: d.update(from_run=5), "'from_run' must be"),
    "version 99": (lambda d: d.update(version=99), "version 99 is not supported"),
    "no format": (lambda d: d.pop("format"), "not written by sbsr_lab"),
}


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_malformed_run_checkpoint_json(run, case):
    change, needle = RUN_CASES[case]
    _edit(run / "best.json", change)
    with pytest.raises(CheckpointError, match=needle) as info:
        load_checkpoint(run, "best")
    assert "best.json" in str(info.value) or "best.safetensors" in str(info.value)


def test_run_nan_weights_and_a_file_as_run(run, tmp_path):
    _poison(run / "best.safetensors", math.nan)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(run)
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file, not a run folder"):
        read_checkpoint_meta(tmp_path / "file")


def test_huge_json_is_refused_unread(run, monkeypatch):
    import sbsr_lab.train.checkpoint as ckpt

    monkeypatch.setattr(ckpt, "MAX_JSON_BYTES", 100)
    with pytest.raises(CheckpointError, match="too big"):
        read_checkpoint_meta(run)


# ---------------------------------------------------------------------------------------------
# fuzz: any JSON value anywhere in the descriptions

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _set_somewhere(desc: dict, path: list[str | int], value) -> None:
    node = desc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


BUNDLE_PATHS = [["format"], ["version"], ["methods"], ["methods", "uactn"], ["methods", "uactn", "embed_dim"],
                ["methods", "uactn", "sketch"], ["methods", "uactn", "gallery"], ["methods", "uactn", "backbone"],
                ["methods", "uactn", "model_kind"], ["class_names"], ["class_names", 0], ["sketch_size"],
                ["image_size"], ["am_scale"], ["profile"], ["profile", "embed_dim"], ["profile", "classes"],
                ["shapes"]]


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(BUNDLE_PATHS), value=json_values)
def test_fuzz_bundle_json(bundle_copy, tmp_path_factory, where, value):
    folder = tmp_path_factory.mktemp("fz")
    for name in ("bundle.json", "uactn_sketch.json", "uactn_sketch.safetensors", "uactn_gallery.safetensors"):
        shutil.copy(bundle_copy / name, folder / name)
    desc = json.loads((bundle_copy / "bundle.json").read_text())
    desc["methods"] = {"uactn": desc["methods"]["uactn"]}
    _set_somewhere(desc, where, value)
    (folder / "bundle.json").write_text(json.dumps(desc))
    try:
        load_bundle_engine("uactn", folder)
    except SbsrError:
        pass


RUN_PATHS = [["stage"], ["class_names"], ["class_names", 1], ["profile"], ["profile", "embed_dim"],
             ["profile", "image_size"], ["profile", "lr"], ["profile", "classes"], ["profile", "backbone"],
             ["epoch"], ["from_run"], ["val_acc"], ["format"], ["version"], ["history"]]


@settings(max_examples=80, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(RUN_PATHS), value=json_values)
def test_fuzz_run_checkpoint_json(run, where, value):
    pristine = run / "pristine.json"
    if not pristine.exists():
        shutil.copy(run / "best.json", pristine)
    desc = json.loads(pristine.read_text())
    _set_somewhere(desc, where, value)
    (run / "best.json").write_text(json.dumps(desc))
    try:
        state, _, meta = load_checkpoint(run)
    except SbsrError:
        return
    try:
        from sbsr_lab.train.runs import load_run
    except ImportError:  # before the runs module existed
        from sbsr_lab.train.fit import load_run_model as load_run
    try:
        load_run(run)  # what passed the checks builds the network without other exceptions
    except SbsrError:
        pass
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


# ---------------------------------------------------------------------------------------------
# a finished run is never replaced by accident


def test_training_into_a_finished_run_needs_resume_or_overwrite(tiny_dataset, tmp_path, capsys):
    from sbsr_lab.cli import main
    from sbsr_lab.train.fit import fit

    p = get_profile("ci", image_size=32, epochs=1, sketch_epochs=1, batch_size=8, num_views=4, train_views=2,
                    eval_batch_size=16)
    out = tmp_path / "unc"
    first = fit("sketch-uncertainty", p, tiny_dataset, out, progress=False)
    best = (out / "best.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match=r"already holds a sketch-uncertainty run.*--resume.*--overwrite"):
        fit("sketch-uncertainty", p.replace(seed=1), tiny_dataset, out, progress=False)
    assert (out / "best.safetensors").read_bytes() == best  # untouched
    again = fit("sketch-uncertainty", p, tiny_dataset, out, resume=True, progress=False)  # finished: kept
    assert again.best_val == first.best_val and (out / "best.safetensors").read_bytes() == best
    args = ["--quiet", "train", "sketch-uncertainty", "--profile", "ci", "--data", str(tiny_dataset), "--out", str(out),
            "--set", "image_size=32", "--set", "sketch_epochs=1", "--set", "batch_size=8", "--set", "seed=1"]
    assert main(args) == 2
    assert "already holds" in capsys.readouterr().err and (out / "best.safetensors").read_bytes() == best
    assert main(args + ["--overwrite"]) == 0
    assert read_checkpoint_meta(out)["profile"]["seed"] == 1
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file, not a folder"):
        fit("sketch-uncertainty", p, tiny_dataset, tmp_path / "file", progress=False)
