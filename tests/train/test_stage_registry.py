"""A stage is defined in one place: a toy stage registered here trains through ``fit`` and the CLI."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sbsr_lab.config import get_profile
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.models import model_kwargs
from sbsr_lab.train.stage import STAGES, Stage, StageLoss, get_stage, method_stages, register_stage

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
    stages = method_stages()
    assert list(stages)[:3] == ["cfttsl", "uactn", "joint"]  # registration order; other methods follow
    assert stages["cfttsl"] == [("teacher", None), ("student", "teacher")]
    assert stages["uactn"] == [("sketch-uncertainty", None), ("shape-transfer", "sketch-uncertainty")]
    assert stages["joint"] == [("joint", None)]
    order = list(STAGES)
    for name, stage in STAGES.items():  # every --from names a stage registered (so trained) before it
        assert stage.needs is None or order.index(stage.needs) < order.index(name), name


def test_a_stage_with_its_own_kind_of_batch_must_say_how_to_load_it():
    class Pairs(Stage):
        name, method, modality = "toy-pairs", "toy", "pairs"

    with pytest.raises(ValueError, match="needs its own loaders"):
        register_stage(Pairs)
    assert "toy-pairs" not in STAGES


class TwoNetsWithAdversary(nn.Module):
    """A sketch net and a shape net sharing a classifier (as JointNet) plus a modality discriminator."""

    def __init__(self, profile, num_classes):
        super().__init__()
        from sbsr_lab.models import JointNet

        joint = get_stage("joint").build_model(profile, num_classes)
        assert isinstance(joint, JointNet)
        self.sketch, self.shape, self.classifier = joint.sketch, joint.shape, joint.classifier
        self.disc = nn.Linear(profile.embed_dim, 1)


class AdversarialLoss(StageLoss):
    def forward(self, model, batch):
        (xs, ys), (xv, yv) = batch
        zs, zv = model.sketch.embed(xs), model.shape.embed(xv)
        am = self.am(model.classifier(zs), ys) + self.am(model.classifier(zv), yv)
        logits = model.disc(torch.cat([zs, zv])).squeeze(1)
        target = torch.cat([torch.ones(len(zs)), torch.zeros(len(zv))])
        d = F.binary_cross_entropy_with_logits(logits, target)
        return am, {"am": am.item(), "disc": d.item(), "_d": d}


class ToyAdversarial(Stage):
    """Two networks (sketch, shape) and alternating steps: the networks fooling D, then D."""

    name, method, modality = "toy-adversarial", "toy-adv", "both"
    d_steps = 0

    def build_model(self, profile, num_classes):
        return TwoNetsWithAdversary(profile, num_classes)

    def loss(self, profile, centres):
        return AdversarialLoss(profile, centres)

    def train_step(self, model, criterion, batch, optimizer, scaler, device, use_amp):
        loss, stats = criterion(model, batch)
        d = stats.pop("_d")
        disc = list(model.disc.parameters())
        nets = [p for n, p in model.named_parameters() if not n.startswith("disc.") and p.requires_grad]
        optimizer.zero_grad(set_to_none=True)
        (loss - 0.1 * d).backward(inputs=nets, retain_graph=True)  # 1) the networks classify and fool D
        optimizer.step()                                            #    (only parameters with a gradient move)
        optimizer.zero_grad(set_to_none=True)
        d.backward(inputs=disc)                                     # 2) D learns the modality
        optimizer.step()
        type(self).d_steps += 1
        return loss, stats


def test_a_stage_with_two_networks_and_alternating_steps(tiny_dataset, tmp_path):
    from sbsr_lab.train.fit import fit
    from sbsr_lab.train.runs import load_method, load_run

    register_stage(ToyAdversarial)
    try:
        ToyAdversarial.d_steps = 0
        res = fit("toy-adversarial", get_profile("ci", **TINY), tiny_dataset, tmp_path / "adv", progress=False)
        assert ToyAdversarial.d_steps > 0 and "disc" in res.history[0] and "_d" not in res.history[0]
        row = res.history[-1]
        assert row["sketch_images_per_s"] > 0 and row["view_images_per_s"] > 0
        model, _ = load_run(tmp_path / "adv")
        untrained = ToyAdversarial().build_model(get_profile("ci", **TINY), 3)
        assert not torch.equal(model.disc.weight, untrained.disc.weight)  # saved and moved
        nets = load_method(tmp_path / "adv")
        assert type(nets.sketch).__name__ == "SketchNet" and type(nets.shape).__name__ == "MultiViewNet"
        assert torch.equal(nets.sketch.classifier.centres, model.sketch.classifier.centres)
        assert nets.method == "toy-adv" and set(nets.runs) == {"toy-adversarial"}
    finally:
        del STAGES["toy-adversarial"]


@pytest.mark.parametrize("stage_name", ["sketch-uncertainty", "student"])
def test_outlier_exposure_appends_scribbles_and_adds_its_term(stage_name, tiny_dataset, tmp_path):
    """outlier_exposure > 0: a quarter batch of scribbles (label -1) rides along and the loss logs its
    term; 0 (the default): the batches and the loss are the paper's."""
    from sbsr_lab.train.fit import fit

    stage = get_stage(stage_name)
    assert stage.outliers and not get_stage("teacher").outliers and not get_stage("joint").outliers
    profile = get_profile("ci", **TINY, outlier_exposure=0.5)
    manifest = load_manifest(tiny_dataset)
    loaders, _ = stage.loaders(manifest, profile)
    assert len(loaders["scribble"].dataset) == 256 and loaders["scribble"].batch_size == 2
    x, y = next(stage.batches(loaders, profile, torch.device("cpu"), torch.Generator().manual_seed(0)))
    assert (y == -1).sum() == 2 and (y >= 0).sum() == len(y) - 2 and x.shape[0] == len(y)
    plain, _ = stage.loaders(manifest, get_profile("ci", **TINY))
    assert "scribble" not in plain
    centres = None
    if stage.needs:  # the student needs its teacher's centres: any fixed unit centres do here
        centres = F.normalize(torch.randn(len(manifest.classes), profile.embed_dim), dim=1)
    model = stage.build_model(profile, len(manifest.classes))
    criterion = stage.loss(profile, centres)
    if centres is not None:
        stage.fix_centres(model, centres, profile)
    loss, stats = criterion(model, (x, y))
    assert stats["outlier"] > 0 and torch.isfinite(loss)
    _, stats_plain = criterion(model, (x[y >= 0], y[y >= 0]))
    assert "outlier" not in stats_plain
    weights = {"am": 1.0, "uncertainty": profile.unc_weight, "guidance": profile.alpha, "outlier": 1.0}
    assert loss.item() == pytest.approx(sum(w * stats[k] for k, w in weights.items() if k in stats), rel=1e-4)
    if stage_name == "sketch-uncertainty":
        res = fit(stage_name, profile, tiny_dataset, tmp_path / "oe", progress=False)
        assert "outlier" in res.history[-1]


def test_outlier_exposure_leaves_scribbles_undecided(tiny_dataset, tmp_path):
    """Trained with outlier exposure, the sketch network's cosines to the class centres of held-out
    scribbles are flatter (lower maximum) than trained without it, on the same sketches and seed."""
    from sbsr_lab.data.scribbles import ScribbleDataset
    from sbsr_lab.train.fit import fit
    from sbsr_lab.train.runs import load_run

    held_out = ScribbleDataset(70, 12345, 64, 32)
    x = held_out.images.unsqueeze(1).float() / 255
    top = {}
    for weight in (0.0, 1.0):
        profile = get_profile("ci", **{**TINY, "sketch_epochs": 4}, outlier_exposure=weight)
        fit("sketch-uncertainty", profile, tiny_dataset, tmp_path / f"w{weight}", progress=False)
        model, _ = load_run(tmp_path / f"w{weight}")
        with torch.no_grad():
            top[weight] = model(x)["logits"].max(dim=1).values.mean().item()
    assert top[1.0] < top[0.0] - 0.05, top
