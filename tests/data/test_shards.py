"""``data build --shard I/N`` + ``data merge``: the same manifest and files as one build; clear errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from sbsr_lab.cli import main
from sbsr_lab.config import get_profile
from sbsr_lab.data.build import build_synthshapes
from sbsr_lab.data.shards import PARTS_DIR, parse_shard, take_shard
from sbsr_lab.errors import DatasetLayoutError

# ci, smaller: 3 classes, 2 shapes and 3 sketches each (the files of a real ci build, fewer of them)
SMALL = dict(classes=("airplane", "chair", "mug"), shapes_per_class=2, sketches_per_class=3, view_size=32,
             sketch_size=32)


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shards")
    profile = get_profile("ci", **SMALL)
    build_synthshapes(profile, tmp / "one", workers=0, progress=False)
    for i in range(2):
        report = build_synthshapes(profile, tmp / "two", workers=0, progress=False, shard=f"{i}/2")
        assert report.shapes_built == 3 and report.sketches_built in (4, 5)  # 6 shapes, 9 sketches split 2 ways
        assert not (tmp / "two" / "manifest.json").exists()
    assert sorted(p.name for p in (tmp / "two" / PARTS_DIR).iterdir()) == ["part-0-of-2.json", "part-1-of-2.json"]
    return tmp, profile


def test_two_shards_and_merge_equal_one_build(builds, capsys):
    tmp, profile = builds
    sets = [a for k, v in SMALL.items() for a in ("--set", f"{k}={','.join(v) if isinstance(v, tuple) else v}")]
    assert main(["--quiet", "data", "merge", "--profile", "ci", *sets, "--root", str(tmp / "two")]) == 0
    assert not (tmp / "two" / PARTS_DIR).exists()
    one, two = _files(tmp / "one"), _files(tmp / "two")
    assert one == two  # every mesh, view strip, sketch PNG/ndjson and manifest.json byte for byte
    manifest = json.loads((tmp / "two" / "manifest.json").read_text())
    assert len(manifest["shapes"]) == 6 and len(manifest["sketches"]) == 9


def test_a_missing_shard_is_named(builds):
    tmp, profile = builds
    root = tmp / "three"
    build_synthshapes(profile, root, workers=0, progress=False, shard="0/3")
    build_synthshapes(profile, root, workers=0, progress=False, shard="2/3")
    with pytest.raises(DatasetLayoutError, match=r"shard 1/3 .*missing.*--shard 1/3"):
        build_synthshapes(profile, root, workers=0, progress=False)  # a plain build would merge: refused
    assert not (root / "manifest.json").exists()
    other = get_profile("ci", **{**SMALL, "seed": 1})
    with pytest.raises(DatasetLayoutError, match="other settings"):
        build_synthshapes(other, root, workers=0, progress=False, shard="1/3")
        build_synthshapes(other, root, workers=0, progress=False)


def test_merge_without_parts_and_bad_shards_are_clear(tmp_path, capsys):
    assert main(["data", "merge", "--profile", "ci", "--root", str(tmp_path)]) == 2
    assert "no manifest-parts" in capsys.readouterr().err
    for bad in ("3/3", "1", "a/b", "0/0"):
        with pytest.raises(DatasetLayoutError, match="--shard"):
            parse_shard(bad)
    assert take_shard(list(range(7)), (1, 3)) == [1, 4] and take_shard(list(range(3)), None) == [0, 1, 2]


# -- data prepare --shard ---------------------------------------------------------------------------------

def test_prepare_shards_and_merge_equal_one_prepare(tmp_path):
    from sbsr_lab.data.benchmarks.prepare import prepare_benchmark

    try:
        from . import fixtures_benchmarks as fx
    except ImportError:
        import fixtures_benchmarks as fx

    raw = tmp_path / "raw"
    fx.make_shrec14(raw)  # 6 shapes in 3 classes: M000001, 3, 5 in shard 0 (index % 2)
    (raw / "SHREC14LSSTB_TARGET_MODELS" / "M000003.off").write_text("this is not a mesh\n")  # one failure
    profile = get_profile("ci", view_size=32)

    def prepare(out: str, **kw):
        return prepare_benchmark("shrec14", raw, profile, workers=0, progress=False, out=tmp_path / out, **kw)

    with pytest.warns(RuntimeWarning, match="M000003"):
        prepare("one")
    parts = [prepare("two", shard=f"{i}/2") for i in range(2)]
    assert [r.shapes_built for r in parts] == [2, 3] and not (tmp_path / "two" / "manifest.json").exists()
    (tmp_path / "two" / PARTS_DIR / "part-1-of-2.json").rename(tmp_path / "part1")
    with pytest.raises(DatasetLayoutError, match=r"shard 1/2 .*missing.*--shard 1/2"):
        prepare("two")
    (tmp_path / "part1").rename(tmp_path / "two" / PARTS_DIR / "part-1-of-2.json")
    with pytest.warns(RuntimeWarning, match="M000003"):  # the merge reports the shard's failure, renders nothing
        merged = prepare("two")
    assert merged.shapes_built == 5 and not (tmp_path / "two" / PARTS_DIR).exists()
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
