"""Per-view embeddings: the view of a gallery shape nearest a sketch (bundle, engine, report)."""

import re
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))
from tiny_bundle import tiny_bundle_for_session  # noqa: E402

from sbsr_lab.retrieval.best_view import best_views, read_view_embeddings, write_view_embeddings  # noqa: E402


@pytest.fixture(scope="module")
def tb(tmp_path_factory):
    return tiny_bundle_for_session(tmp_path_factory)


def test_best_views_is_the_argmax_of_the_cosines():
    g = torch.Generator().manual_seed(0)
    views = torch.nn.functional.normalize(torch.randn(5, 7, 16, generator=g), dim=2)
    z = torch.randn(16, generator=g)
    index, cos = best_views(z, views)
    zn = z / z.norm()
    for n in range(5):  # brute force, one shape at a time
        sims = [float(views[n, v] @ zn) for v in range(7)]
        assert int(index[n]) == max(range(7), key=sims.__getitem__) and float(cos[n]) == pytest.approx(max(sims), abs=1e-5)
    qi, _ = best_views(torch.stack([z, -z]), views)
    assert qi.shape == (2, 5) and torch.equal(qi[0], index)


def test_view_embeddings_round_trip(tmp_path):
    views = torch.nn.functional.normalize(torch.randn(3, 4, 8), dim=2)
    out = read_view_embeddings(write_view_embeddings(tmp_path / "v.safetensors", views))
    assert out.shape == (3, 4, 8) and torch.allclose(out, views, atol=1e-3)


def test_bundle_keeps_and_checks_per_view_embeddings(tb, tmp_path):
    import json
    import shutil

    from sbsr_lab.errors import CheckpointError
    from sbsr_lab.serve.bundle import read_bundle
    from sbsr_lab.serve.engine import load_engine

    desc = read_bundle(tb.bundle)
    assert desc["methods"]["uactn"]["views"] == "uactn_views.safetensors" and desc["view_strips"] == "thumbs/views"
    engine = load_engine("bundle:uactn", bundle=tb.bundle)
    assert engine.views.embeddings.shape == (len(engine.index), 4, 128)
    assert all(p is not None and Path(p).is_file() for p in engine.views.strips)
    bad = tmp_path / "bundle"
    shutil.copytree(tb.bundle, bad)
    write_view_embeddings(bad / "uactn_views.safetensors", torch.zeros(len(engine.index) - 1, 4, 128))
    with pytest.raises(CheckpointError, match="per-view embeddings"):
        read_bundle(bad)
    d = json.loads((bad / "bundle.json").read_text())
    d["methods"]["uactn"]["views"] = "../outside.safetensors"
    (bad / "bundle.json").write_text(json.dumps(d))
    with pytest.raises(CheckpointError, match="outside the bundle"):
        read_bundle(bad)
    del d["methods"]["uactn"]["views"]   # an older bundle: no views, the canonical thumbnail stays
    (bad / "bundle.json").write_text(json.dumps(d))
    assert load_engine("bundle:uactn", bundle=bad).views is None


def test_report_grid_shows_the_best_view(tb, tmp_path):
    from sbsr_lab.data.manifest import load_manifest
    from sbsr_lab.retrieval.report import write_report
    from sbsr_lab.retrieval.runs import evaluate_method

    ev = evaluate_method(tb.runs / "shape-transfer", tb.data, device="cpu")
    assert ev.view_embeddings.shape == (len(ev.gallery_ids), 4, 128) and ev.query_embeddings.shape[0] == len(ev.query_ids)
    text = write_report(tmp_path / "r.html", {"uactn": ev}, load_manifest(tb.data)).read_text()
    shown = [int(v) for v in re.findall(r'class="best-view" data-view="(\d+)"', text)]
    assert len(shown) == 3 * 6  # one query per class, top 6
    qi = int(torch.nonzero(ev.query_labels == 0)[0])  # the first row: the first query of class 0, its top 6
    order = torch.argsort(-ev.similarity[qi], stable=True)[:6]
    z = ev.query_embeddings[qi] / ev.query_embeddings[qi].norm()
    expect = [int(torch.argmax(ev.view_embeddings[g].float() @ z)) for g in order]
    assert shown[:6] == expect


@pytest.mark.parametrize("net_kind", ["mean", "max", "shared", "paper-head"])
def test_one_pass_gives_the_pooled_and_the_per_view_embeddings_of_two_passes(net_kind):
    """evaluate_method embeds the gallery once for both: the same numbers as embed_shapes then embed_views."""
    from torch.utils.data import TensorDataset

    from sbsr_lab.models.mvcnn import MultiViewNet
    from sbsr_lab.models.sketchnet import SketchNet
    from sbsr_lab.retrieval.best_view import embed_views
    from sbsr_lab.retrieval.runs import embed_shapes, embed_shapes_and_views
    from sbsr_lab.models import SharedViews

    torch.manual_seed(0)
    if net_kind == "shared":  # pools the views' embeddings, not their features: the two-pass fallback
        net = SharedViews(SketchNet("compact", embed_dim=16, num_classes=3))
    else:
        net = MultiViewNet("compact", embed_dim=16, num_classes=3, pooling="max" if net_kind == "max" else "mean",
                           head="paper" if net_kind == "paper-head" else "mlp")
    net.eval()
    data = TensorDataset(torch.rand(7, 4, 1, 32, 32), torch.zeros(7))
    z, views = embed_shapes_and_views(net, data, batch_size=3, show=False)
    assert z.shape == (7, 16) and views.shape == (7, 4, 16)
    torch.testing.assert_close(z, embed_shapes(net, data, batch_size=3, show=False), atol=1e-5, rtol=0)
    torch.testing.assert_close(views, embed_views(net, data, batch_size=3), atol=1e-5, rtol=0)
    assert not torch.allclose(views[:, 0], views[:, 1])  # each view really its own
