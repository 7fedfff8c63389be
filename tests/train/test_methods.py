"""The field's other approaches (dca, cmic, ssl, ssltkd): every stage trains through ``fit`` on the tiny
dataset, each method evaluates through ``evaluate_method``, DCA's adversarial stage makes both its
networks learn, CMIC's pair batches hold each sketch's own shape, and the CLI lists them."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from sbsr_lab.config import get_profile
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.train.stage import STAGES, method_stages

TINY = dict(image_size=32, epochs=1, sketch_epochs=1, batch_size=8, num_views=4, train_views=2, lr=3e-3,
            eval_batch_size=16, device="cpu")
NEW = {"dca": ["dca-metric", "dca-adapt"], "cmic": ["cmic"], "ssl": ["ssl-pretrain", "ssl-align"],
       "ssltkd": ["ssltkd-teacher", "ssltkd-student"]}


def test_the_new_methods_are_registered_in_order():
    stages = method_stages()
    assert list(stages)[:3] == ["cfttsl", "uactn", "joint"]
    for method, names in NEW.items():
        assert [s for s, _ in stages[method]] == names
    assert dict(stages["ssltkd"])["ssltkd-teacher"] == "ssl-pretrain"  # shared with ssl


def test_stage_order_trains_a_foreign_parent_first():
    from sbsr_lab.train.stage import stage_order

    assert stage_order("ssltkd") == [("ssl-pretrain", None), ("ssltkd-teacher", "ssl-pretrain"),
                                     ("ssltkd-student", "ssltkd-teacher")]
    assert stage_order("cfttsl") == [("teacher", None), ("student", "teacher")]


@pytest.fixture(scope="module")
def method_runs(tiny_dataset, tmp_path_factory):
    """Every new method trained once (1 epoch each) on the tiny dataset: {method: its last run}."""
    from sbsr_lab.pipeline import train_method

    runs = tmp_path_factory.mktemp("method_runs")
    profile = get_profile("ci", **TINY)
    torch.set_num_threads(1)
    return {m: train_method(m, profile, tiny_dataset, runs, progress=False)[0] for m in NEW}, runs


@pytest.mark.parametrize("method", list(NEW))
def test_each_method_trains_every_stage_and_evaluates(method, method_runs, tiny_dataset):
    from sbsr_lab.retrieval.runs import evaluate_method

    last, runs = method_runs
    for stage in NEW[method]:
        meta = json.loads((runs / stage / "best.json").read_text())
        assert meta["stage"] == stage and meta["method"] == method
        assert (runs / stage / "metrics.csv").read_text().count("\n") == 2  # header + one epoch
    ev = evaluate_method(last[method], tiny_dataset, device="cpu")
    q, n = len(ev.query_ids), len(ev.gallery_ids)
    assert ev.method == method and ev.similarity.shape == (q, n)
    assert torch.isfinite(ev.similarity).all()
    assert all(0.0 <= ev.metrics[k] <= 1.0 for k in ("NN", "mAP"))
    assert ev.map_per_group is None and "inst_top1" not in ev.metrics  # balanced, no sources recorded


def test_dca_metrics_log_the_discriminator(method_runs):
    _, runs = method_runs
    header = (runs / "dca-adapt" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"d_acc", "d_loss", "mean_discrepancy", "am"} <= set(header)
    ssl = (runs / "ssl-pretrain" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"simsiam", "z_std", "val_acc"} <= set(ssl)


def test_knn_monitor_and_the_linear_probe(method_runs, tiny_dataset):
    from sbsr_lab.train.methods.ssl import ssl_linear_probe
    from sbsr_lab.train.methods.ssl import knn_monitor_accuracy

    z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.2, 0.9]])
    assert knn_monitor_accuracy(z, torch.tensor([0, 0, 1, 1])) == 1.0
    assert knn_monitor_accuracy(z, torch.tensor([0, 1, 0, 1])) == 0.0
    _, runs = method_runs
    assert 0.0 <= ssl_linear_probe(runs / "ssl-pretrain", tiny_dataset) <= 1.0


def test_dca_adapt_starts_from_the_metric_run_and_keeps_it_frozen(method_runs):
    from sbsr_lab.train.runs import load_run

    _, runs = method_runs
    metric, _ = load_run(runs / "dca-metric")
    adapt, _ = load_run(runs / "dca-adapt")
    for key, value in metric.sketch.state_dict().items():
        assert torch.equal(value, adapt.sketch.state_dict()[key]), key
    assert not any(p.requires_grad for p in adapt.sketch.parameters())
    assert any(p.abs().sum() > 0 for p in adapt.transform.mlp[-1].parameters())  # T moved from the identity


def test_ssl_align_and_ssltkd_teacher_start_from_the_pretrained_backbone(tiny_dataset, tmp_path, method_runs):
    """init_from copies the backbone: with lr ~ 0 the aligned shape backbone stays the pretrained one."""
    from sbsr_lab.train.fit import fit
    from sbsr_lab.train.runs import load_run

    _, runs = method_runs
    profile = get_profile("ci", **{**TINY, "lr": 1e-12, "warmup_epochs": 0})
    fit("ssltkd-teacher", profile, tiny_dataset, tmp_path / "t", from_run=runs / "ssl-pretrain", progress=False)
    pre, _ = load_run(runs / "ssl-pretrain")
    teacher, _ = load_run(tmp_path / "t")
    w_pre = pre.shape.backbone.state_dict()
    for key, value in teacher.backbone.state_dict().items():
        if value.dtype.is_floating_point and "running" not in key:
            assert torch.allclose(value, w_pre[key], atol=1e-6), key


def test_cmic_similarity_is_the_attention_score(method_runs, tiny_dataset):
    """evaluate_method ranks CMIC by ViewAttention.scores of the sketch against every shape's views."""
    from sbsr_lab.data.datasets import MultiViewDataset, SketchDataset
    from sbsr_lab.retrieval.runs import evaluate_method
    from sbsr_lab.train.runs import load_run

    last, _ = method_runs
    ev = evaluate_method(last["cmic"], tiny_dataset, device="cpu")
    model, meta = load_run(last["cmic"])
    p = get_profile("ci", **TINY)
    m = load_manifest(tiny_dataset)
    x = torch.stack([SketchDataset(m, "test", p.image_size)[i][0] for i in range(3)])
    views = torch.stack([MultiViewDataset(m, p.image_size, p.num_views)[j][0] for j in range(4)])
    with torch.no_grad():
        q = model.sketch.embed(x)
        r = model.view_embeddings(views)                                  # (4, V, d)
        a = torch.softmax(torch.einsum("bd,mvd->bmv", model.attention.w_a(q), r), -1)
        want = (a * torch.einsum("bd,mvd->bmv", q, r)).sum(-1)            # s = q . sum_k a_k r_k
    assert torch.allclose(ev.similarity[:3, :4], want, atol=1e-5)


def test_pair_shapes_put_each_sources_shape_first_and_stay_distinct():
    from sbsr_lab.train.methods.cmic import pair_shapes

    shape_labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])
    gen = torch.Generator().manual_seed(0)
    idx, own = pair_shapes(torch.tensor([0, 1, 1, 2]), torch.tensor([2, 4, 4, -1]), shape_labels, gen)
    assert len(idx) == 4 and len(set(idx)) == 4
    assert idx[own[0]] == 2 and idx[own[1]] == 4 and own[1] == own[2]   # a shared source: one column
    assert own[3] == -1 and 2 in shape_labels[idx].tolist()  # unknown: no own shape, one of its class is there
    idx, own = pair_shapes(torch.tensor([0, 0]), torch.tensor([-1, -1]), shape_labels, gen)
    assert own.tolist() == [-1, -1] and all(shape_labels[i] == 0 for i in idx)  # distinct where possible


def test_cmic_has_no_instance_term_for_a_sketch_without_a_known_source():
    """A random shape of the class is not the sketch's instance: the instance term must leave it out."""
    from sbsr_lab.losses.cmic import CMICInstanceLoss

    scores = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    per = CMICInstanceLoss(0.1, reduction="none")(scores, torch.tensor([1, -1, 2]))
    assert per[1] == 0 and per[0] > 0 and per[2] > 0
    mean = CMICInstanceLoss(0.1)(scores, torch.tensor([1, -1, 2]))
    assert torch.isclose(mean, (per[0] + per[2]) / 2)
    assert CMICInstanceLoss(0.1)(scores, torch.tensor([-1, -1, -1])) == 0  # no source known: no term at all


def test_sources_give_instance_accuracy_and_unequal_classes_give_map_per_group(method_runs, tiny_dataset, tmp_path):
    """With each sketch's source recorded, evaluation adds inst_top1 / inst_top10 (the rank of the own
    shape); with one class's training sketches cut (unequal counts), mAP per many / medium / few."""
    from sbsr_lab.retrieval.instance import instance_accuracy
    from sbsr_lab.retrieval.metrics import per_query_metrics
    from sbsr_lab.retrieval.runs import evaluate_method

    last, _ = method_runs
    root = tmp_path / "with_sources"
    shutil.copytree(tiny_dataset, root)
    m = load_manifest(root)
    by_class = {c: [s.id for s in m.shapes if s.cls == c] for c in m.classes}
    for j, r in enumerate(m.sketches):
        r.source = by_class[r.cls][j % len(by_class[r.cls])]
    m.save(root)
    ev = evaluate_method(last["dca"], root, device="cpu")
    src = torch.tensor([ev.gallery_ids.index(s.source) for s in load_manifest(root).sketches_of("test")])
    want = instance_accuracy(ev.similarity, src, ks=(1, 10))
    assert ev.metrics["inst_top1"] == want["inst_top1"] and ev.metrics["inst_top10"] == want["inst_top10"]
    assert ev.map_per_group is None

    first = [s.id for s in m.shapes if s.cls == m.classes[0]]
    m.shapes = [s for s in m.shapes if s.id not in first[1:]]  # the first class keeps one shape: a long tail
    for s in m.sketches:
        if s.source in first[1:]:
            s.source = first[0]
    m.save(root)
    ev = evaluate_method(last["dca"], root, device="cpu")
    groups = ev.map_per_group
    assert groups is not None and groups["thresholds"] == {"many": 100, "few": 20}  # not SynthShapes
    ap = per_query_metrics(ev.similarity, ev.query_labels, ev.gallery_labels)["AP"]
    assert groups["few"] == pytest.approx(float(ap.mean())) and groups["many"] is None
    assert groups["classes"]["few"] == len(load_manifest(root).classes)  # every class has < 20 shapes

    from sbsr_lab.retrieval.report import write_report

    page = write_report(tmp_path / "r.html", {"dca": ev}, load_manifest(root)).read_text()
    assert "<th>inst_top1</th>" in page and "Long tail: mAP per group" in page
    plain = evaluate_method(last["dca"], tiny_dataset, device="cpu")
    page = write_report(tmp_path / "p.html", {"dca": plain}, load_manifest(tiny_dataset)).read_text()
    assert "inst_top1" not in page and "Long tail" not in page


def test_synthshapes_group_thresholds_scale_with_the_largest_class():
    from sbsr_lab.data.manifest import Manifest
    from sbsr_lab.retrieval.runs import group_thresholds

    synth, shrec = Manifest(name="synthshapes", classes=["a"]), Manifest(name="shrec14", classes=["a"])
    assert group_thresholds(synth, {"a": 70, "b": 70}) is None          # balanced: no groups
    assert group_thresholds(synth, {"a": 70, "b": 5}) == (28, 11)         # 40 % and 15 % of 70
    assert group_thresholds(shrec, {"a": 70, "b": 5}) == (100, 20)


def test_cli_train_lists_the_new_stages(capsys):
    from sbsr_lab.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for names in NEW.values():
        assert all(n in out for n in names)


def test_demo_rejects_an_unknown_method(capsys):
    from sbsr_lab.cli import main
    from sbsr_lab.pipeline import resolve_methods

    assert resolve_methods(None) == ["cfttsl", "uactn", "joint"]
    assert resolve_methods("all") == list(method_stages())
    assert resolve_methods("joint, dca") == ["joint", "dca"]
    assert main(["demo", "--profile", "ci", "--methods", "joint,dcaa", "--out", "/nonexistent/x"]) != 0
    err = capsys.readouterr().err
    assert "Unknown method 'dcaa'" in err and "ssltkd" in err and "Traceback" not in err


class _Given(torch.nn.Module):
    """A stand-in metric network whose input already is its embedding (normalised), with a classifier."""

    def __init__(self, centres):
        super().__init__()
        from sbsr_lab.models import CosineClassifier

        self.classifier = CosineClassifier(centres.shape[1], centres.shape[0])
        self.classifier.set_centres(centres, freeze=True)

    def embed(self, x):
        return torch.nn.functional.normalize(x, dim=1)


def _adapt(seed: int, steps: int = 400):
    """dca-adapt's own loss, optimiser and train_step on two blobs per class: shapes at the class
    centres, sketches at the centres + one shared modality offset. Returns per-step D accuracy and the
    class-mean discrepancy between T(sketch) and the shapes."""
    from sbsr_lab.losses import MeanDiscrepancyLoss
    from sbsr_lab.train.methods.dca import DCANet
    from sbsr_lab.train.stage import get_stage

    g = torch.Generator().manual_seed(seed)
    d, k = 16, 3
    centres = torch.nn.functional.normalize(torch.randn(k, d, generator=g), dim=1)
    offset = 0.8 * torch.nn.functional.normalize(torch.randn(d, generator=g), dim=0)
    profile = get_profile("ci", embed_dim=d, lr=3e-3, weight_decay=0.0, device="cpu")
    stage = get_stage("dca-adapt")
    torch.manual_seed(seed)
    model = DCANet(_Given(centres), _Given(centres), d)
    criterion, opt = stage.loss(profile, None), stage.optimizer(model, profile)
    for group in opt.param_groups:
        group["lr"] = profile.lr * group["lr_mult"]
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    md = MeanDiscrepancyLoss()
    accs, gaps = [], []
    model.train()
    for _ in range(steps):
        ys, yt = torch.randint(k, (32,), generator=g), torch.randint(k, (32,), generator=g)
        xs = centres[ys] + offset + 0.15 * torch.randn(32, d, generator=g)
        xt = centres[yt] + 0.15 * torch.randn(32, d, generator=g)
        _, stats = stage.train_step(model, criterion, ((xs, ys), (xt, yt)), opt, scaler, torch.device("cpu"), False)
        accs.append(stats["d_acc"])
        with torch.no_grad():
            gaps.append(md(model.embed_sketch(xs), ys, model.shape.embed(xt), yt).item())
    return accs, gaps


@pytest.mark.parametrize("seed", [0, 1])
def test_dca_adapt_discriminator_and_transform_both_learn(seed):
    """D first tells the modalities apart (its accuracy climbs well above chance), then T, through the
    reversed gradient and the mean discrepancy, moves the sketches onto the shapes: D's accuracy falls
    back towards chance and the class-mean gap shrinks."""
    accs, gaps = _adapt(seed)
    early, late = max(sum(accs[i:i + 10]) / 10 for i in range(0, 100, 10)), sum(accs[-100:]) / 100
    assert early > 0.85, f"D never learnt to tell the modalities apart (best early accuracy {early:.2f})"
    assert late < 0.7, f"T did not fool D: accuracy over the last 100 steps {late:.2f}"
    assert sum(gaps[-20:]) / 20 < 0.3 * sum(gaps[:5]) / 5, "T did not bring the class means together"


def test_every_method_declares_its_label_and_settings_which_set_reaches():
    import dataclasses

    from sbsr_lab.config import RANGES, Profile, parse_overrides
    from sbsr_lab.train.stage import get_method, get_stage, method_labels

    fields = {f.name for f in dataclasses.fields(Profile)}
    for method in method_stages():
        m = get_method(method)
        assert m.label and method_labels()[method] == m.label, method
        assert set(m.settings) <= fields, (method, set(m.settings) - fields)
    assert get_method("dca").settings and all(s in RANGES for s in get_method("dca").settings)
    p = get_profile("ci", **parse_overrides(["dca_md_weight=2.5", "dca_grl=0.5", "dca_metric_weight=3",
                                             "cmic_category_weight=0.4", "cmic_temperature=0.2", "ssl_margin=0.3",
                                             "ssltkd_feature_weight=2", "ssltkd_relation_t=0.5"]))
    adapt = get_stage("dca-adapt").loss(p, None)
    assert (adapt.md_weight, adapt.grl, get_stage("dca-metric").loss(p, None).metric_weight) == (2.5, 0.5, 3.0)
    cmic = get_stage("cmic").loss(p, None).cmic
    assert (cmic.category_weight, cmic.temperature) == (0.4, 0.2)
    assert get_stage("ssl-align").loss(p, None).triplet.margin == 0.3
    distilled = get_stage("ssltkd-student").loss(p, torch.eye(3))
    assert (distilled.feature_weight, distilled.relation.temperature) == (2.0, 0.5)
    groups = get_stage("dca-adapt").optimizer(get_stage("dca-adapt").build_model(p.replace(dca_t_lr_mult=0.2), 3),
                                              p.replace(dca_t_lr_mult=0.2)).param_groups
    assert [g["lr_mult"] for g in groups] == [0.2, 0.2 * 30.0]
