"""PART-SHREC14 from `data prepare` through training and evaluation, on a generated SHREC'14 tree.

The tree has one class of 56 models, one of 51 (both kept: "more than 50") and one of 50 (left out), so
the protocol's own settings (51 models, 20% test, seed 1234) are what is tested.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from torch.utils.data import DataLoader, Subset

from sbsr_lab.cli import main
from sbsr_lab.config import get_profile
from sbsr_lab.data.benchmarks import scan_benchmark
from sbsr_lab.data.benchmarks.prepare import prepare_benchmark
from sbsr_lab.data.datasets import MultiViewDataset
from sbsr_lab.data.manifest import MANIFEST_NAME, Manifest, load_manifest
from sbsr_lab.data.shape_split import SHAPE_SPLITS, ShapeSplit, get_shape_split, part_shrec14_split
from sbsr_lab.errors import CheckpointError, ConfigError, DatasetLayoutError
from sbsr_lab.retrieval.runs import evaluate_method, shape_counts
from sbsr_lab.train.checkpoint import read_checkpoint_meta
from sbsr_lab.train.fit import fit
from sbsr_lab.train.stage import Tagged, registered_stages

try:
    from . import fixtures_benchmarks as fx
except ImportError:
    import fixtures_benchmarks as fx

MODELS = {"airplane": 56, "chair": 51, "table": 50}
KEPT = ["airplane", "chair"]
TEST = {"airplane": 11, "chair": 10}  # round(0.2 * n)
PREPARE = ["--quiet", "data", "prepare", "shrec14", "--profile", "ci", "--set", "view_size=32", "--workers", "0"]
TRAIN = get_profile("ci", image_size=32, epochs=1, sketch_epochs=1, batch_size=8, num_views=4, train_views=2,
                    eval_batch_size=16, view_size=32, workers=0)


@pytest.fixture(scope="module")
def part(tmp_path_factory) -> Path:
    """A SHREC'14 tree prepared with ``--shape-split part-shrec14`` by the command line (views in place)."""
    root = tmp_path_factory.mktemp("shrec14")
    fx.make_shrec14(root, classes=tuple(MODELS), models_per_class=MODELS, train=3, test=2)
    assert main([*PREPARE, "--root", str(root), "--shape-split", "part-shrec14"]) == 0
    return root


def _unsplit_copy(part: Path, out: Path) -> Path:
    """The prepared collection copied to ``out`` with its shape split taken away (every shape in the gallery)."""
    shutil.copytree(part, out)
    plain = load_manifest(out)
    plain.shape_split = None
    for s in plain.shapes:
        s.params = {}
    plain.save(out)
    return out


def _ids(manifest: Manifest, part_name: str) -> set[str]:
    return {s.id for s in manifest.shapes_of(part_name)}


def test_the_default_is_the_published_protocol():
    assert get_shape_split("part-shrec14") == ShapeSplit("part-shrec14", "shrec14", 51, 0.2, 1234)
    assert get_shape_split("none") is None and get_shape_split(None) is None
    assert set(SHAPE_SPLITS) == {"part-shrec14"}
    with pytest.raises(ConfigError, match="choose one of none, part-shrec14"):
        get_shape_split("part-shrec13")


def test_prepare_keeps_classes_over_50_and_holds_a_fifth_out(part):
    m = load_manifest(part)
    assert m.classes == KEPT and m.shape_split == SHAPE_SPLITS["part-shrec14"].to_json()
    assert Counter(s.cls for s in m.shapes) == {c: MODELS[c] for c in KEPT}
    assert Counter(s.cls for s in m.shapes_of("test")) == TEST
    assert Counter(s.cls for s in m.shapes_of("train")) == {c: MODELS[c] - TEST[c] for c in KEPT}
    assert not _ids(m, "train") & _ids(m, "test") and len(m.shapes_of(None)) == len(m.shapes)
    # the sketches of the kept classes, with SHREC's own sketch split
    sketches = {(c, split): n for c in KEPT for split, n in (("train", 3), ("test", 2))}
    assert Counter((k.cls, k.split) for k in m.sketches) == sketches
    # exactly the draw of part_shrec14_split on the benchmark's models; the left-out class is not rendered
    index = scan_benchmark("shrec14", part)
    want = part_shrec14_split([s.id for s in index.shapes], [s.cls for s in index.shapes])
    assert sorted(_ids(m, "test")) == sorted(want["test"]) and sorted(_ids(m, "train")) == sorted(want["train"])
    table = [s.id for s in index.shapes if s.cls == "table"]
    assert not any(m.view_path(sid).exists() for sid in table) and all(m.view_path(s.id).is_file() for s in m.shapes)
    # deterministic: the same command again gives the same manifest (views reused)
    before = (part / MANIFEST_NAME).read_text()
    report = prepare_benchmark("shrec14", part, get_profile("ci", view_size=32), workers=0, progress=False,
                               shape_split="part-shrec14")
    assert (part / MANIFEST_NAME).read_text() == before
    assert (report.shapes_built, report.shapes_skipped, report.split_left_out) == (0, 107, ["table"])
    assert report.split_counts == {"train": 86, "test": 21} and "part-shrec14" in str(report)


def test_another_shape_split_on_a_prepared_folder_is_refused(part, tmp_path, capsys):
    before = (part / MANIFEST_NAME).read_text()
    capsys.readouterr()
    assert main([*PREPARE, "--root", str(part)]) == 2  # without --shape-split: refused, with the fix
    err = capsys.readouterr().err
    assert "no shape split" in err and "with --shape-split part-shrec14" in err and "another --out" in err
    with pytest.raises(DatasetLayoutError, match="prepared with the shape split"):
        prepare_benchmark("shrec14", part, get_profile("ci", view_size=32), workers=0, progress=False,
                          shape_split=ShapeSplit(seed=1))
    assert (part / MANIFEST_NAME).read_text() == before  # nothing rewritten
    # and the other way round: an unsplit folder is not split later
    fx.make_shrec14(tmp_path)
    prepare_benchmark("shrec14", tmp_path, get_profile("ci", view_size=32), workers=0, progress=False)
    with pytest.raises(DatasetLayoutError, match="without --shape-split"):
        prepare_benchmark("shrec14", tmp_path, get_profile("ci", view_size=32), workers=0, progress=False,
                          shape_split=ShapeSplit(min_models=2, test_fraction=0.5))


def test_shape_split_is_for_shrec14_and_must_keep_a_class(tmp_path):
    fx.make_shrec13(tmp_path / "s13")
    with pytest.raises(ConfigError, match="defined on the SHREC'14 benchmark"):
        prepare_benchmark("shrec13", tmp_path / "s13", get_profile("ci", view_size=32), workers=0, progress=False,
                          shape_split="part-shrec14")
    fx.make_shrec14(tmp_path / "s14")  # 2 models per class
    with pytest.raises(DatasetLayoutError, match="no class .* has the 51 models"):
        prepare_benchmark("shrec14", tmp_path / "s14", get_profile("ci", view_size=32), workers=0, progress=False,
                          shape_split="part-shrec14")
    assert not (tmp_path / "s14" / MANIFEST_NAME).exists()


def test_a_split_manifest_puts_every_shape_in_a_part(part):
    data = json.loads((part / MANIFEST_NAME).read_text())
    data["shapes"][0]["params"] = {}
    with pytest.raises(DatasetLayoutError, match="has split None under the shape split 'part-shrec14'"):
        Manifest.from_json(data)
    for rec in data["shapes"][1:]:
        rec["params"] = {"split": "train"}
    data["shapes"][0]["params"] = {"split": "train"}
    with pytest.raises(DatasetLayoutError, match="leaves 107 training and 0 test shapes"):
        Manifest.from_json(data)


def _shape_ids(item: Any) -> list[str] | None:
    """The ids of the shapes a loader or validation set of a stage reaches (None: it holds no shapes)."""
    if isinstance(item, DataLoader):
        return _shape_ids(item.dataset)
    if isinstance(item, Tagged):
        return _shape_ids(item.dataset)
    if isinstance(item, Subset):
        inner = item.dataset
        return [inner.ids[i] for i in item.indices] if isinstance(inner, MultiViewDataset) else _shape_ids(inner)
    return list(item.ids) if isinstance(item, MultiViewDataset) else None


class _Counts:
    """Stands in for a loss in ``Stage.attach_data``: keeps the class counts it is given (ssltkd's teacher)."""

    counts: list[int] | None = None

    def set_counts(self, counts: list[int]) -> None:
        self.counts = counts


def test_every_training_stage_sees_only_training_shapes(part):
    m = load_manifest(part)
    train, test = _ids(m, "train"), _ids(m, "test")
    assert {*MultiViewDataset(m, 32, 4, split="train").ids} == train
    assert {*MultiViewDataset(m, 32, 4, split="test").ids} == test
    stages_with_shapes = []
    for name, stage in registered_stages().items():
        loaders, val = stage.loaders(m, TRAIN)
        reached = [ids for item in [*loaders.values(), *val.values()] if (ids := _shape_ids(item)) is not None]
        if reached:
            stages_with_shapes.append(name)
        for ids in reached:
            assert set(ids) <= train, f"stage {name} reaches test shapes {sorted(set(ids) & test)[:3]}"
        loader_ids = [_shape_ids(v) for v in loaders.values() if _shape_ids(v) is not None]
        assert all(set(ids) == train for ids in loader_ids), name  # and every training shape
        rec = _Counts()
        stage.attach_data(rec, m)
        assert rec.counts in (None, [MODELS[c] - TEST[c] for c in KEPT]), name
    assert {"teacher", "joint", "cmic", "shape-transfer"} <= set(stages_with_shapes)


def test_training_and_evaluation_keep_to_their_parts(part, tmp_path, capsys):
    m = load_manifest(part)
    run = tmp_path / "joint"
    fit("joint", TRAIN, part, run, progress=False)
    assert read_checkpoint_meta(run)["shape_split"]["name"] == "part-shrec14"
    ev = evaluate_method(run, device="cpu")
    assert ev.shape_split == "part-shrec14"
    assert set(ev.gallery_ids) == _ids(m, "test") and ev.similarity.shape == (4, 21)
    assert shape_counts(m) == {"airplane": 45, "chair": 41}  # long tail: training shapes per class
    assert ev.map_per_group["classes"] == {"many": 0, "medium": 2, "few": 0}
    out = tmp_path / "eval.json"
    assert main(["--quiet", "evaluate", str(run), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["shape_split"] == "part-shrec14" and report["map_per_group"]["queries"]["medium"] == 4
    assert "test shapes of part-shrec14" in capsys.readouterr().out
    # the same run scored on the collection without the split (its gallery holds training shapes): refused
    unsplit = _unsplit_copy(part, tmp_path / "unsplit")
    with pytest.raises(CheckpointError, match="trained with the shape split"):
        evaluate_method(run, unsplit, device="cpu")
    assert evaluate_method(run, part, device="cpu").gallery_ids == ev.gallery_ids


def test_a_next_stage_refuses_a_from_run_of_another_shape_split(part, tmp_path):
    teacher = tmp_path / "teacher"
    fit("teacher", TRAIN, part, teacher, progress=False)
    unsplit = _unsplit_copy(part, tmp_path / "unsplit")
    with pytest.raises(CheckpointError, match="--from .* was trained with the shape split"):
        fit("student", TRAIN, unsplit, tmp_path / "student", from_run=teacher, progress=False)
