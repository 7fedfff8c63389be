"""Calibration of the displayed probabilities (temperature, ECE) and the out-of-distribution detector:
formulas recomputed by hand, the scribble generator, the bundle fields (hostile values refused), and the
detector on the session's tiny bundle (scribbles, random strokes, blank)."""

import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sbsr_lab.data.scribbles import ALL_KINDS, DOODLE_KINDS, SCRIBBLE_KINDS, make_scribble, scribble_set
from sbsr_lab.data.strokes import sketch_problem
from sbsr_lab.errors import CheckpointError, SketchError
from sbsr_lab.serve.calibration import (AUROC_TOLERANCE, OOD_SCORES, Calibration, auroc, choose_threshold,
                                            expected_calibration_error, fit_calibration, fit_temperature, ood_scores,
                                            reliability_bins)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))
from tiny_bundle import class_strokes, tiny_bundle_for_session  # noqa: E402


@pytest.fixture(scope="module")
def tb(tmp_path_factory):
    return tiny_bundle_for_session(tmp_path_factory)


# -- temperature and ECE -------------------------------------------------------------------------------------

@pytest.mark.parametrize("t_true", [0.5, 2.5])
def test_temperature_fit_recovers_a_known_temperature(t_true):
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.normal(0, 3, (20_000, 6)))
    probs = torch.softmax(logits / t_true, 1).numpy()
    labels = torch.tensor([rng.choice(6, p=p) for p in probs])  # labels drawn from softmax(logits / T)
    assert fit_temperature(logits, labels) == pytest.approx(t_true, rel=0.05)


def test_ece_by_hand():
    # conf 0.90 right and 0.88 wrong share bin (13/15, 14/15]; 0.95 wrong in (14/15, 1]; 0.58 right in (8/15, 9/15]
    conf = [0.90, 0.95, 0.58, 0.88]
    probs = torch.tensor([[c, 1 - c] for c in conf], dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1])
    expected = 2 / 4 * abs(0.5 - 0.89) + 1 / 4 * abs(0 - 0.95) + 1 / 4 * abs(1 - 0.58)
    assert expected_calibration_error(probs, labels) == pytest.approx(expected, abs=1e-12)
    b = reliability_bins(probs, labels)
    assert b["count"].tolist() == [0] * 8 + [1] + [0] * 4 + [2, 1]
    assert b["accuracy"][13] == 0.5 and b["confidence"][13] == pytest.approx(0.89)
    # perfectly calibrated on average in one bin -> 0; a bin edge belongs to the bin below
    assert expected_calibration_error(torch.tensor([[0.6, 0.4]] * 5, dtype=torch.float64),
                                      torch.tensor([0, 0, 0, 1, 1])) == pytest.approx(0.0, abs=1e-12)
    edge = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    assert reliability_bins(edge, torch.tensor([0]))["count"][14] == 1


def test_temperature_lowers_the_ece_of_overconfident_logits():
    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(0, 4, (4000, 5)))
    labels = torch.tensor([rng.choice(5, p=p) for p in torch.softmax(logits / 3.0, 1).numpy()])
    cal = fit_calibration(logits / 15, labels, torch.zeros(3, 5), am_scale=15.0)
    assert cal.temperature == pytest.approx(3.0, rel=0.08)
    assert cal.ece_before > 0.15 and cal.ece_after < 0.03


# -- OOD scores and the threshold ----------------------------------------------------------------------------

def test_the_simplest_score_near_the_best_auroc_is_kept():
    """feature_knn wins only by more than AUROC_TOLERANCE; near-ties go to max_cosine."""
    rng, g = np.random.default_rng(0), torch.Generator().manual_seed(0)  # no test leans on the global torch seed
    val_cos = torch.from_numpy(rng.uniform(0.5, 0.9, (200, 4)))
    val_cos[:, 0] = 0.95  # every validation sketch is close to a centre
    labels = torch.zeros(200, dtype=torch.long)
    scrib_cos = torch.from_numpy(rng.uniform(0.0, 0.3, (100, 4)))  # far from every centre: max_cosine separates
    feats_v, feats_s = torch.randn(200, 8, generator=g), torch.randn(100, 8, generator=g)  # tell nothing apart
    ref = torch.randn(50, 8, generator=g)
    cal = fit_calibration(val_cos, labels, scrib_cos, 15.0, val_features=feats_v, scribble_features=feats_s, reference=ref)
    assert cal.auroc["max_cosine"] == 1.0 and cal.ood_score == "max_cosine" and cal.reference is None
    # now the features separate perfectly and the cosines barely: feature_knn must win. The references are 10
    # tight groups of 5 in the first four dimensions (a validation sketch's 5th neighbour is in its own group,
    # cosine ~1); the scribbles lie in the other four (cosine 0 to every reference)
    near = torch.cat([torch.full((200, 1), 0.6), torch.zeros(200, 3)], 1).double()
    scrib_near = torch.cat([torch.full((100, 1), 0.6), torch.zeros(100, 3)], 1).double()
    centres = torch.randn(10, 4, generator=g)
    ref = torch.cat([centres.repeat_interleave(5, 0) + 0.01 * torch.randn(50, 4, generator=g), torch.zeros(50, 4)], 1)
    good_v = torch.cat([centres[rng.integers(0, 10, 200)] + 0.01 * torch.randn(200, 4, generator=g),
                        torch.zeros(200, 4)], 1)
    good_s = torch.cat([torch.zeros(100, 4), torch.randn(100, 4, generator=g)], 1)
    cal = fit_calibration(near, labels, scrib_near, 15.0, val_features=good_v, scribble_features=good_s, reference=ref)
    assert cal.ood_score == "feature_knn" and cal.auroc["feature_knn"] > cal.auroc["max_cosine"] + AUROC_TOLERANCE
    assert OOD_SCORES[0] == "max_cosine"

def test_ood_scores_by_hand():
    cos = torch.tensor([[0.9, 0.1, -0.2], [0.3, 0.2, 0.25]], dtype=torch.float64)
    s = ood_scores(cos, am_scale=10.0, temperature=2.0)
    assert s["max_cosine"].tolist() == [0.9, 0.3]
    want = [2.0 * math.log(sum(math.exp(10 * c / 2.0) for c in row)) for row in cos.tolist()]
    assert s["energy"].tolist() == pytest.approx(want)


def test_auroc_and_threshold():
    assert auroc([3, 4, 5], [0, 1, 2]) == 1.0 and auroc([0, 1], [2, 3]) == 0.0
    assert auroc([1, 1], [1, 1]) == 0.5
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    p, n = rng.normal(1, 1, 50), rng.normal(0, 1, 70)
    assert auroc(p, n) == pytest.approx(roc_auc_score([1] * 50 + [0] * 70, np.concatenate([p, n])))
    # separable: the threshold lies in the gap (its middle cut), nothing flagged among positives
    t = choose_threshold(np.array([0.8, 0.9, 0.95]), np.array([0.1, 0.2, 0.3]))
    assert 0.3 < t < 0.8
    # overlapping: at most 5% of 100 positives are flagged
    pos, neg = rng.normal(1, 0.3, 100), rng.normal(0, 0.5, 100)
    t = choose_threshold(pos, neg, max_false_alarm=0.05)
    assert (pos < t).mean() <= 0.05 and (neg < t).mean() > 0.7


def test_calibration_json_round_trip_and_hostile_values():
    cal = Calibration(1.7, "energy", 12.5, 0.2, 0.05, {"energy": 0.9, "max_cosine": 0.8}, 120, 280)
    assert Calibration.from_json(json.loads(json.dumps(cal.to_json())), "c") == cal
    good = cal.to_json()
    for key, value in [("temperature", 0.0), ("temperature", float("nan")), ("temperature", "2"), ("temperature", True),
                       ("temperature", 1e9), ("ood_score", "sigma"), ("ood_score", None), ("ood_threshold", float("inf")),
                       ("ece_before", 2.0), ("auroc", {"other": 0.5}), ("auroc", {"energy": 1.5}), ("auroc", []),
                       ("n_val", -1), ("n_val", 1.5)]:
        bad = dict(good, **{key: value})
        with pytest.raises(ValueError, match=key):
            Calibration.from_json(bad, "methods.uactn.calibration")
    with pytest.raises(ValueError):
        Calibration.from_json(dict(good, ood_score="max_cosine", ood_threshold=3.0), "c")  # cosines are <= 1
    with pytest.raises(ValueError):
        Calibration.from_json([1, 2], "c")


def test_feature_knn_by_hand_and_reference_files(tmp_path):
    from sbsr_lab.serve.calibration import feature_knn_score, read_reference, write_reference

    ref = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    feats = torch.tensor([[2.0, 0.0], [0.0, -1.0]])
    # row 0: cosines 1, 0, 0.6 -> 2nd nearest 0.6; row 1: 0, -1, -0.8 -> 2nd nearest -0.8
    assert feature_knn_score(feats, ref, k=2).tolist() == pytest.approx([0.6, -0.8])
    assert feature_knn_score(feats, ref, k=9).tolist() == pytest.approx([0.0, -1.0])  # k capped at R
    write_reference(tmp_path / "r.safetensors", ref * 3)
    assert torch.allclose(read_reference(tmp_path / "r.safetensors"), ref, atol=1e-3)
    from safetensors.torch import save_file

    for name, tensors in [("nan", {"reference": torch.tensor([[float("nan"), 1.0]])}),
                          ("two", {"reference": ref, "x": ref.clone()}), ("flat", {"reference": torch.ones(3)})]:
        save_file(tensors, str(tmp_path / f"{name}.safetensors"))
        with pytest.raises(ValueError):
            read_reference(tmp_path / f"{name}.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(ValueError):
        read_reference(tmp_path / "junk.safetensors")


# -- the scribble generator --------------------------------------------------------------------------------

def test_scribbles_are_seeded_in_the_canvas_and_of_every_kind():
    a, b = list(scribble_set(2 * len(SCRIBBLE_KINDS), seed=3)), list(scribble_set(2 * len(SCRIBBLE_KINDS), seed=3))
    assert [k for k, _ in a] == [k for k, _ in b] and all(
        all(np.array_equal(x, y) for x, y in zip(sa, sb)) for (_, sa), (_, sb) in zip(a, b))
    assert list(scribble_set(2, seed=4))[0][1][0].tolist() != a[0][1][0].tolist()
    assert {k for k, _ in a} == set(SCRIBBLE_KINDS) and "blank" in ALL_KINDS and "blank" not in SCRIBBLE_KINDS
    for kind, strokes in a:
        assert strokes and all(s.ndim == 2 and s.shape[1] == 2 and s.dtype == np.float32 for s in strokes)
        pts = np.concatenate(strokes)
        assert pts.min() >= 0 and pts.max() <= 1 and sketch_problem(strokes) is None, kind
    with pytest.raises(ValueError, match="Unknown scribble kind"):
        make_scribble("unicorn", np.random.default_rng(0))


def test_doodles_are_held_out_drawn_and_on_the_canvas():
    """Doodles (smiley, star, ...) are never among the kinds a detector is fitted or trained on; each is
    a few strokes of one object somewhere on the canvas, not a canvas-filling mess."""
    assert not set(DOODLE_KINDS) & set(SCRIBBLE_KINDS) and set(DOODLE_KINDS) <= set(ALL_KINDS)
    got = list(scribble_set(24, seed=5, kinds=DOODLE_KINDS))
    assert [k for k, _ in got[:6]] == list(DOODLE_KINDS)
    for kind, strokes in got:
        pts = np.concatenate(strokes)
        assert sketch_problem(strokes) is None and pts.min() >= 0 and pts.max() <= 1, kind
        span = pts.max(0) - pts.min(0)
        assert 0.15 < span.max() < 0.95, (kind, span)  # one object of some size, not the whole canvas
        assert 1 <= len(strokes) <= 40 and all(len(s) >= 8 for s in strokes), kind


def test_blank_is_refused_before_the_network(tb):
    from sbsr_lab.serve.engine import load_engine

    blank = make_scribble("blank", np.random.default_rng(0))
    assert blank == [] and "draw something first" in sketch_problem(blank)
    engine = load_engine(tb.bundle)
    with pytest.raises(SketchError, match="draw something first"):
        engine.query(blank)


# -- the detector on the tiny bundle -----------------------------------------------------------------------

def test_exported_bundle_holds_a_calibration_per_method(tb):
    desc = json.loads((tb.bundle / "bundle.json").read_text())
    for method in ("cfttsl", "uactn"):
        cal = Calibration.from_json(desc["methods"][method]["calibration"], method)
        assert cal.n_val > 0 and cal.n_scribbles > 0 and cal.ece_after <= cal.ece_before + 1e-6
        simplest_near_best = next(k for k in OOD_SCORES if cal.auroc[k] >= max(cal.auroc.values()) - AUROC_TOLERANCE)
        assert cal.ood_score == simplest_near_best


@pytest.mark.parametrize("method", ["cfttsl", "uactn"])
def test_threshold_separates_scribbles_from_sketches(tb, method):
    from sbsr_lab.data.manifest import load_manifest
    from sbsr_lab.serve.calibration import ood_report
    from sbsr_lab.serve.engine import load_engine

    engine = load_engine(f"bundle:{method}", bundle=tb.bundle)
    report = ood_report(engine, engine.calibration, load_manifest(tb.data), n_scribbles=140)
    # held-out scribbles (another seed) are caught far more often than test sketches are flagged
    assert report["fpr_test_sketches"] <= 0.1
    assert report["tpr_scribbles"] >= report["fpr_test_sketches"] + 0.2
    assert report["auroc_test"][engine.calibration.ood_score] > 0.6
    assert set(report["tpr_doodles_per_kind"]) == set(DOODLE_KINDS) and 0 <= report["tpr_doodles"] <= 1
    assert sum(report["n_per_kind"].values()) == 140 and list(report["n_per_kind"]) == list(report["tpr_per_kind"])


def test_query_result_says_not_a_shape(tb):
    from sbsr_lab.serve.engine import load_engine

    engine = load_engine(tb.bundle)
    ring = engine.query(class_strokes("ring", np.random.default_rng(11)), k=3)
    assert not ring.is_ood and ring.label.startswith("Looks like a ring (")
    doc = ring.to_json()
    assert doc["ood"]["is_ood"] is False and doc["ood"]["score"] >= doc["ood"]["threshold"]
    assert doc["temperature"] == engine.calibration.temperature and doc["label"] == ring.label
    # probabilities are the calibrated softmax: recompute from the cosines
    image = __import__("sbsr_lab.serve.query", fromlist=["x"]).prepare_query_image(
        class_strokes("ring", np.random.default_rng(11)), engine.sketch_size, engine.image_size)
    _, cos, _, _ = engine.class_cosines(torch.from_numpy(image)[None, None])
    want = torch.softmax(engine.am_scale * cos.double() / engine.temperature, 1)[0]
    assert list(ring.probabilities.values()) == pytest.approx(want.tolist(), abs=1e-6)
    flagged = [engine.query(s, k=3) for _, s in scribble_set(42, seed=9, kinds=("mess", "random_strokes", "text"))]
    assert any(r.is_ood for r in flagged)
    r = next(r for r in flagged if r.is_ood)
    assert r.label == "This does not look like any class I know." and r.to_json()["ood"]["is_ood"] is True


def test_uncalibrated_bundle_still_loads(tb, tmp_path):
    from sbsr_lab.serve.engine import load_engine

    old = tmp_path / "old"
    shutil.copytree(tb.bundle, old)
    desc = json.loads((old / "bundle.json").read_text())
    for m in desc["methods"].values():
        del m["calibration"]
    (old / "bundle.json").write_text(json.dumps(desc))
    res = load_engine(old).query(class_strokes("cross", np.random.default_rng(1)), k=2)
    assert res.ood is None and res.temperature == 1.0 and not res.is_ood


@pytest.mark.parametrize("value", [{"temperature": -1}, "hot", {"temperature": 1.0, "ood_score": "sigma"},
                                   {"ood_score": "feature_knn", "reference": "../../etc/passwd"},
                                   {"ood_score": "feature_knn", "reference": 7},
                                   {"ood_score": "feature_knn", "reference": "uactn_gallery.safetensors"}])
def test_bundle_with_a_hostile_calibration_is_refused(tb, tmp_path, value):
    from sbsr_lab.serve.bundle import load_bundle_engine, read_bundle
    from sbsr_lab.serve.engine import load_engine

    bad = tmp_path / "bad"
    shutil.copytree(tb.bundle, bad)
    desc = json.loads((bad / "bundle.json").read_text())
    desc["methods"]["uactn"]["calibration"] = value if not isinstance(value, dict) else dict(
        desc["methods"]["uactn"]["calibration"], **value)
    (bad / "bundle.json").write_text(json.dumps(desc))
    for load in (read_bundle, lambda p: load_bundle_engine("uactn", p), load_engine):
        with pytest.raises(CheckpointError, match="calibration"):
            load(bad)


def test_run_folder_calibration_is_cached(tb):
    from sbsr_lab.serve.engine import load_engine

    cache = tb.runs / "student" / "calibration.json"
    engine = load_engine(tb.runs / "student")
    assert cache.is_file() and engine.calibration is not None
    doc = json.loads(cache.read_text())
    assert Calibration.from_json(doc["calibration"], "c") == engine.calibration
    doc["calibration"]["temperature"] = 0.123  # a cache for the same checkpoints is used as is
    cache.write_text(json.dumps(doc))
    assert load_engine(tb.runs / "student").calibration.temperature == 0.123
    doc["key"] = "other checkpoints"
    cache.write_text(json.dumps(doc))  # stale: computed again
    assert load_engine(tb.runs / "student").calibration.temperature == engine.calibration.temperature
    # a cache fitted by an older fitting rule is stale too: the rule's version is part of the key
    import sbsr_lab.serve.calibration as C

    key = json.loads(cache.read_text())["key"]
    monkey = pytest.MonkeyPatch()
    monkey.setattr(C, "CALIBRATION_VERSION", C.CALIBRATION_VERSION + 1)
    try:
        load_engine(tb.runs / "student")
        assert json.loads(cache.read_text())["key"] != key
    finally:
        monkey.undo()


def test_training_scribbles_are_framed_like_queries_and_seeded():
    from sbsr_lab.data.scribbles import TRAIN_SCRIBBLE_SEED, ScribbleDataset
    from sbsr_lab.serve.query import prepare_query_image

    n = len(SCRIBBLE_KINDS) + 2
    ds = ScribbleDataset(n, TRAIN_SCRIBBLE_SEED, sketch_size=64, image_size=32)
    assert len(ds) == n and ds.images.shape == (n, 32, 32) and ds.images.dtype == torch.uint8
    x, y = ds[0]
    assert x.shape == (1, 32, 32) and y == -1 and 0 <= x.min() and x.max() <= 1
    assert ds.kinds[: len(SCRIBBLE_KINDS)] == list(SCRIBBLE_KINDS)
    first = next(iter(scribble_set(9, TRAIN_SCRIBBLE_SEED)))[1]
    assert np.abs(x[0].numpy() - prepare_query_image(first, 64, 32)).max() < 1 / 255 + 1e-6  # the query path's image
    again = ScribbleDataset(n, TRAIN_SCRIBBLE_SEED, 64, 32)
    assert torch.equal(again.images, ds.images) and not torch.equal(ScribbleDataset(n, 7, 64, 32).images, ds.images)
    with pytest.raises(ValueError, match="n >= 1"):
        ScribbleDataset(0, 1, 64, 32)


def test_an_unsure_answer_names_the_runner_up():
    from sbsr_lab.serve.result import UNSURE, QueryResult

    def result(probs: dict[str, float], ood: bool = False) -> QueryResult:
        top = max(probs, key=probs.get)
        return QueryResult("uactn", top, probs, None, [], np.zeros(2, np.float32),
                           ood={"score": 0.0, "score_kind": "max_cosine", "threshold": 0.5, "is_ood": ood})

    sure = result({"chair": 0.9, "table": 0.07, "bench": 0.03})
    assert sure.runner_up is None and sure.label == "Looks like a chair (90%)"
    unsure = result({"bench": 0.48, "airplane": 0.35, "table": 0.17})
    assert unsure.runner_up == ("airplane", 0.35)
    assert unsure.label == "Looks like a bench (48%), or maybe an airplane (35%)"
    assert result({"bench": UNSURE, "table": 1 - UNSURE}).runner_up is None  # at the bar: sure enough
    assert result({"bench": 0.5, "table": 0.5}, ood=True).label.startswith("This does not look like")


def test_symbols_are_trained_kinds_of_one_object_each():
    """The symbols (card suits, ticks and crosses, chevrons, musical notes, stars, hearts, stick figures, arrows)
    are fitted and trained on; each is drawn at some size somewhere on the canvas, not filling it."""
    symbols = ("suits", "marks", "chevrons", "notes", "star", "heart", "stick_figure", "arrow")
    assert set(symbols) <= set(SCRIBBLE_KINDS) and not set(symbols) & set(DOODLE_KINDS)
    for kind, strokes in scribble_set(80, seed=6, kinds=symbols):
        pts = np.concatenate(strokes)
        span = pts.max(0) - pts.min(0)
        assert sketch_problem(strokes) is None and 0.15 < span.max() < 0.95, (kind, span)
        assert 1 <= len(strokes) <= 30 and all(len(s) >= 8 for s in strokes), kind
