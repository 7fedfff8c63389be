"""Layout detection, scanning and validation on generated SHREC'13/'14, ModelNet-style and plain trees."""

from __future__ import annotations

import shutil

import pytest

from sbsr_lab.data.benchmarks import detect_layout, scan_benchmark, validate
from sbsr_lab.data.benchmarks.off import read_off
from sbsr_lab.errors import DatasetLayoutError

try:
    from . import fixtures_benchmarks as fx
except ImportError:
    import fixtures_benchmarks as fx


def _counts(index):
    return (len(index.classes), len(index.shapes), sum(k.split == "train" for k in index.sketches),
            sum(k.split == "test" for k in index.sketches))


@pytest.mark.parametrize(
    "layout, make",
    [("shrec13", fx.make_shrec13), ("shrec14", fx.make_shrec14), ("modelnet", fx.make_modelnet),
     ("folder", fx.make_plain_folder)],
)
def test_detect_scan_validate(tmp_path, layout, make):
    made = make(tmp_path)
    assert detect_layout(tmp_path) == layout
    index = scan_benchmark("auto", tmp_path)
    assert index.layout == layout
    assert _counts(index) == (len(made["classes"]), made["shapes"], made["train"], made["test"])
    assert index.classes == made["classes"]
    assert all(s.path.is_file() for s in index.shapes) and all(k.path.is_file() for k in index.sketches)
    assert len({s.id for s in index.shapes}) == len(index.shapes)
    assert len({k.id for k in index.sketches}) == len(index.sketches)
    report = validate(index)
    assert report.ok, str(report)


def test_shrec13_details(tmp_path):
    fx.make_shrec13(tmp_path)
    index = scan_benchmark("shrec13", tmp_path)
    shapes = {s.id: s for s in index.shapes}
    assert shapes["m0"].cls == "airplane" and shapes["m5"].cls == "table"
    assert shapes["m0"].path == tmp_path / "SHREC13_SBR_TARGET_MODELS" / "models" / "m0.off"
    assert len(read_off(shapes["m0"].path).faces) == 6  # the malformed model is readable
    first = index.sketches[0]
    assert (first.id, first.cls, first.split) == ("1", "airplane", "train")
    assert first.path.parent == tmp_path / "SHREC13_SBR_TRAINING_SKETCHES" / "airplane" / "train"
    assert index.sources["model_cla"] == "SHREC2013_Sketch_Evaluation/SHREC13_SBR_Model.cla"
    text = str(validate(index))
    assert "not the complete official SHREC'13 benchmark" in text and "official: 90, 1258, 4500, 2700" in text


def test_shrec13_combined_sketch_folder_and_nested_root(tmp_path):
    fx.make_shrec13(tmp_path / "downloads" / "SHREC13", combined_sketch_folder=True)
    assert detect_layout(tmp_path) == "shrec13"  # the official folders sit two levels down
    index = scan_benchmark("auto", tmp_path)
    assert _counts(index) == (3, 6, 6, 3)


def test_shrec14_padded_ids_and_doubled_folder(tmp_path):
    fx.make_shrec14(tmp_path)
    index = scan_benchmark("shrec14", tmp_path)
    assert index.shapes[0].id == "M000001" and index.shapes[0].cls == "airplane"
    assert index.sources["sketches"] == "SHREC14LSSTB_SKETCHES/SHREC14LSSTB_SKETCHES"


def test_shrec14_unpadded_cla_ids_match_files(tmp_path):
    fx.make_shrec14(tmp_path)
    cla = tmp_path / "SHREC14_Sketch_Evaluation" / "SHREC14_SBR_Model.cla"
    cla.write_text(fx.cla_text([("airplane", "0", ["1", "2"]), ("chair", "0", ["3", "4"]), ("table", "0", ["5", "6"])]))
    index = scan_benchmark("shrec14", tmp_path)
    assert [s.id for s in index.shapes] == ["M000001", "M000002", "M000003", "M000004", "M000005", "M000006"]
    assert validate(index).ok


def test_missing_files_are_listed(tmp_path):
    fx.make_shrec13(tmp_path)
    (tmp_path / "SHREC13_SBR_TARGET_MODELS" / "models" / "m3.off").unlink()
    (tmp_path / "SHREC13_SBR_TESTING_SKETCHES" / "chair" / "test" / "6.png").unlink()
    with pytest.raises(DatasetLayoutError) as info:
        validate(tmp_path)
    message = str(info.value)
    assert "2 files listed in the .cla files are missing" in message
    assert "SHREC13_SBR_TARGET_MODELS/models/m3.off" in message
    assert "SHREC13_SBR_TESTING_SKETCHES/chair/test/6.png" in message
    assert "fix:" in message
    lenient = validate(scan_benchmark("shrec13", tmp_path), strict=False)
    assert lenient.ok and len(lenient.index.shapes) == 5 and "missing" in str(lenient)


def test_sketch_class_without_models(tmp_path):
    fx.make_shrec13(tmp_path)
    cla = tmp_path / "SHREC2013_Sketch_Evaluation" / "SHREC13_SBR_Model.cla"
    cla.write_text(fx.cla_text([("airplane", "0", ["0", "1"]), ("chair", "0", ["2", "3", "4", "5"]),
                                ("table", "0", [])]))
    report = validate(tmp_path, raise_on_error=False)
    text = str(report)
    assert not report.ok
    assert "1 classes have sketches but no shape: table" in text
    assert "model files are not in" not in text  # all files still belong to a class


def test_missing_model_cla_and_sketch_cla(tmp_path):
    fx.make_shrec13(tmp_path)
    (tmp_path / "SHREC2013_Sketch_Evaluation" / "SHREC13_SBR_Model.cla").unlink()
    (tmp_path / "SHREC2013_Sketch_Evaluation" / "SHREC13_SBR_Sketch_Test.cla").unlink()
    report = validate(tmp_path, raise_on_error=False)
    text = str(report)
    assert "SHREC13_SBR_Model.cla not found" in text and "no 3D shapes found" in text
    assert "SHREC13_SBR_Sketch_Test.cla not found" in text and "labelled by their folder names" in text
    assert sum(k.split == "test" for k in report.index.sketches) == 3  # still found from the folders


def test_broken_cla_is_reported_with_line(tmp_path):
    fx.make_shrec14(tmp_path)
    cla = tmp_path / "SHREC14_Sketch_Evaluation" / "SHREC14_SBR_Model.cla"
    cla.write_text("PSB 1\n3 7\n\nairplane 0 2\n000001\n000002\n")
    with pytest.raises(DatasetLayoutError, match=r"SHREC14_SBR_Model.cla, line 2: the header declares 3 classes"):
        validate(tmp_path)


def test_no_sketches_and_no_test_split(tmp_path):
    fx.make_shrec13(tmp_path)
    shutil.rmtree(tmp_path / "SHREC13_SBR_TESTING_SKETCHES")
    (tmp_path / "SHREC2013_Sketch_Evaluation" / "SHREC13_SBR_Sketch_Test.cla").unlink()
    text = str(validate(tmp_path, raise_on_error=False))
    assert "no test sketches" in text
    shutil.rmtree(tmp_path / "SHREC13_SBR_TRAINING_SKETCHES")
    text = str(validate(tmp_path, raise_on_error=False))
    assert "no sketch folder found" in text and "no sketches found" in text


def test_modelnet_without_sketches_is_usable_with_warning(tmp_path):
    fx.make_modelnet(tmp_path)
    report = validate(tmp_path)
    assert report.ok and "no sketches found" in str(report)
    assert {s.split for s in report.index.shapes} == {"train", "test"}


def test_plain_folder_unsplit_and_empty_class(tmp_path):
    fx.make_plain_folder(tmp_path, classes=("cup", "lamp"))
    (tmp_path / "shapes" / "empty").mkdir()
    fx.write_sketch_png(tmp_path / "sketches" / "cup" / "loose.png", 7)
    report = validate(tmp_path)
    text = str(report)
    assert report.ok
    assert "1 sketches are not in train/ or test/" in text
    assert "declared classes have no shape and no sketch" in text and "empty" in text
    assert {k.id for k in report.index.sketches} >= {"cup_1", "lamp_1", "cup_loose"}
    assert {s.path.suffix for s in report.index.shapes} == {".off", ".obj", ".ply", ".glb"}


def test_empty_and_foreign_roots(tmp_path):
    with pytest.raises(DatasetLayoutError) as info:
        detect_layout(tmp_path)
    message = str(info.value)
    for name in ("shrec13", "shrec14", "modelnet", "folder", "it is empty", "sbsr-lab data fetch"):
        assert name in message
    (tmp_path / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(DatasetLayoutError, match="it contains: holiday.jpg"):
        scan_benchmark("auto", tmp_path)
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        detect_layout(tmp_path / "nope")
    with pytest.raises(ValueError, match="unknown benchmark layout"):
        scan_benchmark("shrec99", tmp_path)


def test_two_benchmarks_in_one_root(tmp_path):
    fx.make_shrec13(tmp_path / "a")
    fx.make_shrec14(tmp_path / "b")
    with pytest.raises(DatasetLayoutError, match="both SHREC'13 and SHREC'14"):
        detect_layout(tmp_path)
    assert detect_layout(tmp_path / "a") == "shrec13"
