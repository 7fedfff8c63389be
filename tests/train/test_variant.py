"""``--set variant=paper``: the authors' code where ours differs, each choice tested against its form."""

import json

import pytest
import torch
from torch import nn

from sbsr_lab.config import VARIANTS, Profile, get_profile
from sbsr_lab.errors import ConfigError
from sbsr_lab.losses import GuidanceLoss
from sbsr_lab.models import MultiViewNet, SketchNet
from sbsr_lab.models.heads import EmbeddingHead, UncertaintyHead
from sbsr_lab.train.fit import fit
from sbsr_lab.models import SharedJointNet
from sbsr_lab.train.stage import get_stage

TINY = dict(image_size=32, epochs=2, sketch_epochs=2, batch_size=8, num_views=4, train_views=2, lr=3e-3, eval_batch_size=16)


def test_variant_paper_sets_every_authors_choice_and_explicit_keys_win():
    p = get_profile("ci", variant="paper")
    assert (p.head, p.student_init, p.freeze_centres, p.transfer_am, p.joint, p.beta) == (
        "paper", "random", False, False, "shared", -1.0)
    assert get_profile("ci") == get_profile("ci", variant="ours")  # ours is the default
    mixed = get_profile("ci", variant="paper", head="mlp")  # the authors' code with our head
    assert mixed.head == "mlp" and mixed.joint == "shared"
    assert Profile.from_dict(p.to_dict()) == p  # run configs round-trip
    assert get_profile("ci").replace(variant="paper") == p
    assert set(VARIANTS["ours"]) == set(VARIANTS["paper"])
    with pytest.raises(ConfigError, match="variant"):
        get_profile("ci", variant="authors")


def _linears(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def _batchnorms(module: nn.Module) -> list[float]:
    return [m.eps for m in module.modules() if isinstance(m, nn.BatchNorm1d)]


def test_paper_heads_are_the_authors_batchnorm_stacks():
    cfttsl = EmbeddingHead(256, 128, style="paper")  # CFTTSL classifier.py: fc1..fc4
    assert _linears(cfttsl) == [(256, 1024), (1024, 512), (512, 256), (256, 128)]
    assert _batchnorms(cfttsl) == [2e-5] * 4 and not any(isinstance(m, nn.LayerNorm) for m in cfttsl.modules())
    assert isinstance(cfttsl.mlp[-1], nn.BatchNorm1d)  # a final BN before the normalisation
    uactn = UncertaintyHead(256, 128, style="paper")  # UACTN get_mu_logvar.py: two branches F -> 1024 -> d
    assert _linears(uactn) == [(256, 1024), (1024, 128)] * 2 and _batchnorms(uactn) == [2e-5] * 4
    ours = EmbeddingHead(256, 128)
    assert _linears(ours) == [(256, 512), (512, 128)] and any(isinstance(m, nn.LayerNorm) for m in ours.modules())
    z = cfttsl.eval()(torch.randn(3, 256))
    assert torch.allclose(z.norm(dim=1), torch.ones(3), atol=1e-5)
    with pytest.raises(ValueError, match="head style"):
        EmbeddingHead(256, 128, style="deep")


def test_the_profile_head_reaches_every_network():
    p = get_profile("ci", head="paper")
    for stage in ("teacher", "student", "sketch-uncertainty", "shape-transfer", "dca-metric", "cmic", "ssl-pretrain"):
        model = get_stage(stage).build_model(p, 4)
        heads = [m for m in model.modules() if isinstance(m, (EmbeddingHead, UncertaintyHead))]
        assert heads and all(h.style == "paper" for h in heads), stage


def test_student_init_random_keeps_a_new_classifier_that_learns():
    st = get_stage("student")
    centres = nn.functional.normalize(torch.randn(4, 128), dim=1)
    p = get_profile("ci", variant="paper")
    model = st.build_model(p, 4)
    before = model.classifier.weight.detach().clone()
    st.fix_centres(model, centres, p)
    opt = st.optimizer(model, p)
    assert torch.equal(model.classifier.weight, before)  # not the teacher's centres
    assert any(q is model.classifier.weight for g in opt.param_groups for q in g["params"])
    crit = st.loss(p, centres)
    assert torch.equal(crit.centres, centres)  # the teacher still guides
    ours = st.build_model(get_profile("ci"), 4)
    st.fix_centres(ours, centres, get_profile("ci"))
    assert torch.allclose(ours.classifier.centres, centres, atol=1e-6) and ours.classifier.frozen


def _authors_transfer_loss(mu, labels, mean, beta=1.0):
    """UACTN's transfer_loss.py, written out with loops: mean ||mu - c_y||^2 - beta * mean_i mean_{k!=y} mu.c_k."""
    push = 0.0
    for i, y in enumerate(labels.tolist()):
        others = [k for k in range(mean.shape[0]) if k != y]
        push = push + (mu[i] * mean[others]).sum(1).mean()
    push = push / len(labels)
    pull = ((mu - mean[labels]) ** 2).sum(1).mean()
    return pull - beta * push


def test_beta_minus_one_is_the_authors_transfer_loss():
    g = torch.Generator().manual_seed(0)
    z = nn.functional.normalize(torch.randn(6, 8, generator=g), dim=1)
    c = nn.functional.normalize(torch.randn(5, 8, generator=g), dim=1)
    y = torch.tensor([0, 1, 4, 2, 2, 3])
    assert torch.allclose(GuidanceLoss(beta=-1.0)(z, c, y), _authors_transfer_loss(z, y, c), atol=1e-6)
    assert not torch.allclose(GuidanceLoss(beta=1.0)(z, c, y), _authors_transfer_loss(z, y, c), atol=1e-3)


def test_shape_transfer_without_am_is_the_transfer_loss_alone():
    st = get_stage("shape-transfer")
    centres = nn.functional.normalize(torch.randn(4, 128), dim=1)
    x, y = torch.rand(3, 2, 1, 32, 32), torch.tensor([0, 1, 3])
    for transfer_am in (True, False):
        p = get_profile("ci", transfer_am=transfer_am, transfer_weight=0.7)
        torch.manual_seed(0)
        model = st.build_model(p, 4)
        st.fix_centres(model, centres, p)
        loss, stats = st.loss(p, centres)(model.eval(), (x, y))
        expect = 0.7 * stats["transfer"] + (stats["am"] if transfer_am else 0.0)
        assert loss.item() == pytest.approx(expect, rel=1e-5)
        assert stats["am"] > 0  # still logged


def _focal_am(cos, y, s=15.0, m=0.35, gamma=2.0):
    """UACTN's focal_am_loss.py form: -(1 - p_t)^gamma log p_t on s * (cos - m * onehot)."""
    logits = s * (cos - m * nn.functional.one_hot(y, cos.shape[1]))
    logp = logits.log_softmax(1).gather(1, y[:, None]).squeeze(1)
    return (-(1 - logp.exp()) ** gamma * logp).mean()


def test_shared_joint_is_one_network_on_sketches_and_single_views_with_focal_am():
    st = get_stage("joint")
    p = get_profile("ci", **TINY, joint="shared")
    model = st.build_model(p, 4)
    assert isinstance(model, SharedJointNet) and model.shape.net is model.sketch
    assert not any(isinstance(m, MultiViewNet) for m in model.modules())
    model.eval()
    xs, ys = torch.rand(3, 1, 32, 32), torch.tensor([0, 1, 2])
    xv, yv = torch.rand(2, 2, 1, 32, 32), torch.tensor([3, 1])
    one_view = model.shape.embed(xs[:, None])  # a shape of one view is that view's embedding
    assert torch.allclose(one_view, model.sketch.embed(xs), atol=1e-5)
    pooled = nn.functional.normalize(model.sketch.embed(xv.flatten(0, 1)).view(2, 2, -1).mean(1), dim=1)
    assert torch.allclose(model.shape.embed(xv), pooled, atol=1e-5)
    loss, _ = st.loss(p, None)(model, ((xs, ys), (xv, yv)))
    cos = model.sketch(torch.cat([xs, xv.flatten(0, 1)]))["logits"]
    assert loss.item() == pytest.approx(_focal_am(cos, torch.tensor([0, 1, 2, 3, 3, 1, 1])).item(), rel=1e-5)


def test_every_stage_trains_under_the_paper_variant_and_its_runs_load(tiny_dataset, tmp_path):
    from sbsr_lab.retrieval.runs import evaluate_method
    from sbsr_lab.train.runs import load_method

    p = get_profile("ci", **TINY, variant="paper")
    fit("teacher", p, tiny_dataset, tmp_path / "teacher", progress=False)
    fit("student", p, tiny_dataset, tmp_path / "student", from_run=tmp_path / "teacher", progress=False)
    fit("sketch-uncertainty", p, tiny_dataset, tmp_path / "unc", progress=False)
    fit("shape-transfer", p, tiny_dataset, tmp_path / "transfer", from_run=tmp_path / "unc", progress=False)
    fit("joint", p, tiny_dataset, tmp_path / "joint", progress=False)
    assert json.loads((tmp_path / "student" / "best.json").read_text())["profile"]["variant"] == "paper"
    for run in ("student", "transfer", "joint"):
        nets = load_method(tmp_path / run)
        assert nets.profile["head"] == "paper"
        ev = evaluate_method(tmp_path / run, tiny_dataset, device="cpu")
        assert 0.0 <= ev.metrics["mAP"] <= 1.0
    assert isinstance(load_method(tmp_path / "joint").sketch, SketchNet)
