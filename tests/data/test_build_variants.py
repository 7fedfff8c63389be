"""SynthShapes build variants of issue 16: long-tailed class sizes (``longtail=MAX:MIN``) and sketches
drawn from gallery shapes with their ``source`` recorded (``sketch_source="gallery"``, the instance level)."""

from __future__ import annotations

import json

import pytest

from sbsr_lab.config import get_profile
from sbsr_lab.data.build import build_synthshapes, shape_counts, sketch_counts
from sbsr_lab.data.longtail import longtail_counts
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.errors import ConfigError, DatasetLayoutError

SMALL = dict(classes=("mug", "bottle", "table"), shapes_per_class=3, sketches_per_class=6, sketch_size=32,
             view_size=32, rig="ring12")


def test_counts_follow_the_power_law_and_scale_the_sketches():
    p = get_profile("ci", **SMALL, longtail="6:2")
    assert list(shape_counts(p).values()) == longtail_counts(3, 6, 2) == [6, 3, 2]
    assert list(sketch_counts(p).values()) == [6, 3, 2]               # 6 * n / 6, at least 2
    balanced = get_profile("ci", **SMALL)
    assert set(shape_counts(balanced).values()) == {3} and set(sketch_counts(balanced).values()) == {6}


@pytest.mark.parametrize("bad", ["60", "4:60", "a:b", "0:0", "6:0"])
def test_a_bad_longtail_names_the_fix(bad):
    with pytest.raises(ConfigError, match="longtail=60:4"):
        get_profile("ci", longtail=bad)


def test_sketch_source_is_checked():
    with pytest.raises(ConfigError, match="held_out, gallery"):
        get_profile("ci", sketch_source="gallerie")


@pytest.fixture(scope="module")
def longtail_gallery(tmp_path_factory):
    root = tmp_path_factory.mktemp("lt")
    p = get_profile("ci", **SMALL, longtail="6:2", sketch_source="gallery")
    build_synthshapes(p, root, workers=0, progress=False)
    return p, root


def test_the_long_tailed_gallery_build_records_sources(longtail_gallery):
    p, root = longtail_gallery
    m = load_manifest(root)
    per_class = {c: [s.id for s in m.shapes if s.cls == c] for c in m.classes}
    assert [len(v) for v in per_class.values()] == [6, 3, 2]
    sketches = {c: [s for s in m.sketches if s.cls == c] for c in m.classes}
    assert [len(v) for v in sketches.values()] == [6, 3, 2]
    for c, recs in sketches.items():
        assert {r.split for r in recs} == {"train", "test"}            # every class has both splits
        for j, r in enumerate(sorted(recs, key=lambda r: r.id)):
            assert r.source == f"{c}_{j % len(per_class[c]):03d}" and r.source in per_class[c]
    raw = json.loads((root / "manifest.json").read_text())
    assert all("source" in s for s in raw["sketches"])


def test_a_folder_refuses_other_variant_settings(longtail_gallery):
    p, root = longtail_gallery
    with pytest.raises(DatasetLayoutError, match="sketch_source"):
        build_synthshapes(p.replace(sketch_source="held_out"), root, workers=0, progress=False)


def test_a_folder_built_before_the_new_keys_reads_as_their_defaults(tmp_path):
    """Folders written before ``longtail``/``sketch_source`` existed are still accepted by a default build."""
    p = get_profile("ci", **SMALL)
    build_synthshapes(p, tmp_path, workers=0, progress=False)
    raw = json.loads((tmp_path / "manifest.json").read_text())
    assert all("source" not in s for s in raw["sketches"])            # held-out sketches: no source
    for key in ("longtail", "sketch_source"):
        raw["profile"].pop(key)
    (tmp_path / "manifest.json").write_text(json.dumps(raw))
    report = build_synthshapes(p, tmp_path, workers=0, progress=False)
    assert report.shapes_built == 0 and report.sketches_built == 0


def test_a_source_outside_the_gallery_is_refused(tmp_path, longtail_gallery):
    _, root = longtail_gallery
    raw = json.loads((root / "manifest.json").read_text())
    raw["sketches"][0]["source"] = "nope_000"
    (tmp_path / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(DatasetLayoutError, match="source shape 'nope_000'"):
        load_manifest(tmp_path)
