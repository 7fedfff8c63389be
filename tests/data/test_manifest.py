import json

import pytest

from sbsr_lab.data.manifest import Manifest, ShapeRecord, SketchRecord, load_manifest
from sbsr_lab.errors import DatasetLayoutError


def _manifest():
    m = Manifest(name="toy", classes=["a", "b"], view_styles=["shaded", "depth"])
    m.shapes = [ShapeRecord("a_000", "a", "shapes/a/a_000.ply", {"h": 1.0}), ShapeRecord("b_000", "b", "shapes/b/b_000.ply")]
    m.sketches = [SketchRecord("a_s000", "a", "train", "sketches/a/a_s000.png", None, 0.25),
                  SketchRecord("b_s000", "b", "test", "sketches/b/b_s000.png")]
    return m


def test_save_and_load_round_trip(tmp_path):
    m = _manifest()
    m.save(tmp_path)
    back = load_manifest(tmp_path)
    assert back.to_json() == m.to_json()
    assert back.class_index("b") == 1
    assert [s.id for s in back.sketches_of("test")] == ["b_s000"]
    assert back.view_path("a_000") == tmp_path / "views" / "shaded_128" / "a_000.png"
    assert back.view_path("a_000", "depth").parent.name == "depth_128"
    with pytest.raises(KeyError, match="not in this dataset"):
        back.class_index("zebra")


def test_missing_empty_foreign_and_broken_folders(tmp_path):
    with pytest.raises(DatasetLayoutError, match="does not exist.*sbsr-lab data build"):
        load_manifest(tmp_path / "nope")
    with pytest.raises(DatasetLayoutError, match="folder is empty"):
        load_manifest(tmp_path)
    (tmp_path / "random.txt").write_text("x")
    with pytest.raises(DatasetLayoutError, match="holds random.txt"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetLayoutError, match="not valid JSON"):
        load_manifest(tmp_path)
    d = _manifest().to_json()
    d["version"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(d))
    with pytest.raises(DatasetLayoutError, match="version 99"):
        load_manifest(tmp_path)
    d = _manifest().to_json()
    del d["shapes"][0]["mesh"]
    (tmp_path / "manifest.json").write_text(json.dumps(d))
    with pytest.raises(DatasetLayoutError, match="missing the key 'mesh'"):
        load_manifest(tmp_path)
    d = _manifest().to_json()
    d["sketches"][0]["class"] = "zebra"
    (tmp_path / "manifest.json").write_text(json.dumps(d))
    with pytest.raises(DatasetLayoutError, match="zebra"):
        load_manifest(tmp_path)
