"""PSB .cla reader/writer against hand-written files in the official syntax."""

from __future__ import annotations

import pytest

from sbsr_lab.data.benchmarks.psb import ClaClass, ClassFile, parse_cla, read_cla, write_cla
from sbsr_lab.errors import DatasetLayoutError

try:
    from . import fixtures_benchmarks as fx
except ImportError:
    import fixtures_benchmarks as fx

# A PSB-style hierarchy: "vehicle" is a parent-only class with no model of its own.
PSB_TEXT = (
    "PSB 1\r\n"
    "3 5\r\n"
    "\r\n"
    "vehicle 0 0\r\n"
    "\r\n"
    "airplane vehicle 3\r\n"
    "1\r\n"
    "17\r\n"
    "4\r\n"
    "\r\n"
    "chair 0 2\r\n"
    "000002\r\n"
    "9\r\n"
)


def test_read_hierarchy_and_ids(tmp_path):
    cf = read_cla(fx.write_text(tmp_path / "Model.cla", PSB_TEXT))
    assert cf.names == ["vehicle", "airplane", "chair"]
    assert cf.parents == {"vehicle": None, "airplane": "vehicle", "chair": None}
    assert cf.class_of == {"1": "airplane", "17": "airplane", "4": "airplane", "000002": "chair", "9": "chair"}
    assert cf.ids() == ["1", "17", "4", "000002", "9"]
    assert cf.counts() == {"vehicle": 0, "airplane": 3, "chair": 2}
    assert cf["chair"].ids == ("000002", "9")


def test_write_then_read_roundtrip(tmp_path):
    cf = ClassFile([ClaClass("plant", None, ()), ClaClass("tree", "plant", ("3", "5")), ClaClass("cup", None, ("7",))])
    write_cla(tmp_path / "x.cla", cf)
    text = (tmp_path / "x.cla").read_text()
    assert text.startswith("PSB 1\n3 3\n\nplant 0 0\n\ntree plant 2\n3\n5\n")
    back = read_cla(tmp_path / "x.cla")
    assert back.classes == cf.classes


def test_fixture_generator_text_is_readable():
    cf = parse_cla(fx.cla_text([("a", "0", ["1", "2"]), ("b", "0", ["3"])]))
    assert cf.class_of == {"1": "a", "2": "a", "3": "b"}


@pytest.mark.parametrize(
    "text, needle",
    [
        ("PSB 2x\n1 1\n\na 0 1\n1\n", "bad header"),
        ("PCB 1\n1 1\n\na 0 1\n1\n", "bad header"),
        ("", "empty"),
        ("PSB 1\n", "numClasses"),
        ("PSB 1\n2 2\n\na 0 1\n1\n", "declares 2 classes but the file has 1"),
        ("PSB 1\n1 3\n\na 0 2\n1\n2\n", "declares 3 ids but the class blocks list 2"),
        ("PSB 1\n2 3\n\na 0 3\n1\n2\n\nb 0 1\n3\n", "count mismatch"),
        ("PSB 1\n2 3\n\na 0 1\n1\n2\n\nb 0 1\n3\n", "may be too small"),
        ("PSB 1\n1 3\n\na 0 3\n1\n2\n", "truncated"),
        ("PSB 1\n2 2\n\na 0 1\n1\n\nb 0 1\n1\n", "again in 'b'"),
        ("PSB 1\n2 2\n\na 0 1\n1\n\na 0 1\n2\n", "appears twice"),
    ],
)
def test_errors(tmp_path, text, needle):
    path = fx.write_text(tmp_path / "bad.cla", text)
    with pytest.raises(DatasetLayoutError) as info:
        read_cla(path)
    assert needle in str(info.value) and str(path) in str(info.value)
