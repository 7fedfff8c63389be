"""A stage is defined in one place: a toy stage registered here trains through ``fit`` and the CLI."""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from sbsr_lab.config import get_profile
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.train.stages import (
    STAGES, Stage, StageLoss, get_stage, method_stages, model_kwargs, register_stage,
)

TINY = dict(image_size=32, epochs=1, sketch_epochs=2, batch_size=8, num_views=4, train_views=2, lr=3e-3,
            eval_batch_size=16, device="cpu")


class ToyLoss(StageLoss):
    """Plain cross-entropy on 10 * cosine (no margin): a loss no built-in stage uses."""

    def forward(self, model, batch):
        x, y = batch
        ce = F.cross_entropy(10.0 * model(x)["logits"], y)
        return ce, {"ce": ce.item()}


class Toy(Stage):
    name, method, modality, summary = "toy-sketch", "toy", "sketch", "a test stage"
    steps = 0

    def build_model(self, profile, num_classes):
        from sbsr_lab.models import create_model

        return create_model("sketch_compact_d128", num_classes, **model_kwargs(profile))

    def loss(self, profile, centres):
        return ToyLoss(profile, centres)

    def train_step(self, model, criterion, batch, optimizer, scaler, device, use_amp):
        type(self).steps += 1
        return super().train_step(model, criterion, batch, optimizer, scaler, device, use_amp)


@pytest.fixture
def toy_stage():
    register_stage(Toy)
    Toy.steps = 0
    yield STAGES["toy-sketch"]
    del STAGES["toy-sketch"]


def test_a_registered_stage_trains_through_fit(toy_stage, tiny_dataset, tmp_path):
    from sbsr_lab.train.fit import fit
    from sbsr_lab.train.runs import load_run

    assert get_stage("toy-sketch") is toy_stage and method_stages()["toy"] == [("toy-sketch", None)]
    profile = get_profile("ci", **TINY)
    res = fit("toy-sketch", profile, tiny_dataset, tmp_path / "toy", progress=False)
    assert len(res.history) == 2 and "ce" in res.history[0] and "am" not in res.history[0]  # its own loss ran
    loaders, _ = toy_stage.loaders(load_manifest(tiny_dataset), profile)
    assert Toy.steps == 2 * toy_stage.steps_per_epoch(loaders) > 0  # its train_step made every step
    assert res.history[-1]["sketch_images_per_s"] > 0 and res.history[-1]["view_images_per_s"] == 0
    model, meta = load_run(tmp_path / "toy")
    assert meta["stage"] == "toy-sketch" and meta["method"] == "toy" and not model.training


def test_a_registered_stage_trains_through_the_cli(toy_stage, tiny_dataset, tmp_path, capsys):
    from sbsr_lab.cli import main

    args = ["--quiet", "train", "toy-sketch", "--profile", "ci", "--data", str(tiny_dataset), "--out", str(tmp_path / "t")]
    for key, value in TINY.items():
        args += ["--set", f"{key}={value}"]
    assert main(args) == 0
    assert "toy-sketch: best val_acc" in capsys.readouterr().out and (tmp_path / "t" / "best.safetensors").is_file()


def test_unregistered_stages_are_not_offered(tiny_dataset, tmp_path):
    from sbsr_lab.cli import build_parser

    assert "toy-sketch" not in STAGES and "toy" not in method_stages()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "toy-sketch", "--out", str(tmp_path)])
    with pytest.raises(KeyError, match="Unknown stage 'toy-sketch'; choose one of teacher"):
        get_stage("toy-sketch")


def test_builtin_stages_and_methods_come_from_the_registry():
    assert method_stages() == {"cfttsl": [("teacher", None), ("student", "teacher")],
                               "uactn": [("sketch-uncertainty", None), ("shape-transfer", "sketch-uncertainty")],
                               "joint": [("joint", None)]}


def test_a_stage_with_its_own_kind_of_batch_must_say_how_to_load_it():
    class Pairs(Stage):
        name, method, modality = "toy-pairs", "toy", "pairs"

    with pytest.raises(ValueError, match="needs its own loaders"):
        register_stage(Pairs)
    assert "toy-pairs" not in STAGES
