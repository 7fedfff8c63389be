"""`sbsr-lab query` and `sbsr-lab app` on the session's tiny ring/cross/bar bundle; bad input exits 2."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "widgets"))
from tiny_bundle import class_strokes, tiny_bundle_for_session  # noqa: E402

from sbsr_lab.cli import main  # noqa: E402
from sbsr_lab.data.stroke_io import sketch_record, write_ndjson, write_svg  # noqa: E402
from sbsr_lab.data.strokes import normalize_strokes, strokes_to_image  # noqa: E402
from sbsr_lab.io import save_png  # noqa: E402


@pytest.fixture(scope="module")
def tb(tmp_path_factory):
    return tiny_bundle_for_session(tmp_path_factory)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def ring_strokes():
    return normalize_strokes(class_strokes("ring", np.random.default_rng(5)))  # as QuickDraw files are


def test_query_ndjson_json(tb, tmp_path, capsys):
    path = tmp_path / "ring.ndjson"
    write_ndjson(path, [sketch_record(ring_strokes(), "ring", "1")])
    code, out, _ = run(capsys, "query", path, "--k", 4, "--model", tb.bundle, "--json")
    assert code == 0
    doc = json.loads(out)
    assert {"predicted_class", "uncertainty", "results"} <= set(doc)
    assert doc["predicted_class"] == "ring" and doc["uncertainty"] > 0
    assert len(doc["results"]) == 4 and all({"id", "class", "score"} <= set(r) for r in doc["results"])
    assert [r["score"] for r in doc["results"]] == sorted((r["score"] for r in doc["results"]), reverse=True)
    assert doc["results"][0]["class"] == "ring"


def test_query_png_and_svg_text(tb, tmp_path, capsys):
    strokes = normalize_strokes(class_strokes("cross", np.random.default_rng(3)))
    png, svg = tmp_path / "cross.png", tmp_path / "cross.svg"
    save_png(png, 1 - strokes_to_image(strokes, 128, width=4.0))  # 1 px at the 32 px sketch size
    write_svg(svg, strokes)
    for path in (png, svg):
        code, out, _ = run(capsys, "query", path, "--model", "bundle:cfttsl", "--bundle", tb.bundle, "--k", 3)
        assert code == 0 and "looks like a cross" in out and "cfttsl" in out
        assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 3


def test_query_with_a_run_folder(tb, tmp_path, capsys):
    path = tmp_path / "ring.ndjson"
    write_ndjson(path, [sketch_record(ring_strokes(), "ring", "1")])
    code, out, _ = run(capsys, "query", path, "--model", tb.runs / "student", "--json")
    assert code == 0 and len(json.loads(out)["results"]) == 10 and json.loads(out)["uncertainty"] is None


def test_huge_stroke_file_is_capped(tb, tmp_path, capsys):
    rng = np.random.default_rng(0)
    many = ring_strokes() + [0.5 + 0.3 * (rng.random((3, 2)) - 0.5) for _ in range(20_000)]
    path = tmp_path / "scribble.ndjson"
    write_ndjson(path, [sketch_record(many, "scribble", "1")])
    code, out, _ = run(capsys, "query", path, "--model", tb.bundle, "--json")
    assert code == 0 and len(json.loads(out)["results"]) == 10


@pytest.mark.parametrize("case, message", [
    ("unsupported", "unsupported sketch format"),
    ("missing", "not found"),
    ("corrupt_png", "cannot read the image"),
    ("blank_png", "draw something first"),
    ("corrupt_ndjson", "not valid JSON"),
    ("empty_ndjson", "draw something first"),
    ("dot", "only a dot"),
    ("bad_svg", "not a valid SVG"),
])
def test_bad_sketch_files_exit_2_without_traceback(tb, tmp_path, capsys, case, message):
    path = {"unsupported": tmp_path / "s.txt", "missing": tmp_path / "nope.png", "corrupt_png": tmp_path / "c.png",
            "blank_png": tmp_path / "b.png", "corrupt_ndjson": tmp_path / "c.ndjson",
            "empty_ndjson": tmp_path / "e.ndjson", "dot": tmp_path / "d.ndjson", "bad_svg": tmp_path / "b.svg"}[case]
    if case == "unsupported":
        path.write_text("hello")
    elif case == "corrupt_png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    elif case == "blank_png":
        save_png(path, np.ones((32, 32)))
    elif case == "corrupt_ndjson":
        path.write_text('{"drawing": [[[1, 2], [3')
    elif case == "empty_ndjson":
        path.write_text('{"word": "x", "drawing": []}\n')
    elif case == "dot":
        write_ndjson(path, [sketch_record([np.array([[0.5, 0.5]])], "dot", "1")])
    elif case == "bad_svg":
        path.write_text("<svg><path d='M 1 1 L")
    code, _, err = run(capsys, "query", path, "--model", tb.bundle)
    assert code == 2 and message in err and "Traceback" not in err


def test_missing_model_exits_2(tmp_path, capsys):
    path = tmp_path / "ring.ndjson"
    write_ndjson(path, [sketch_record(ring_strokes(), "ring", "1")])
    code, _, err = run(capsys, "query", path, "--model", tmp_path / "no_run")
    assert code == 2 and "No model" in err
    code, _, err = run(capsys, "query", path, "--bundle", tmp_path / "no_bundle")
    assert code == 2 and "No model bundle" in err
    code, _, err = run(capsys, "query", path, "--model", "bundle:joint", "--bundle", tmp_path / "no_bundle")
    assert code == 2 and "No model bundle" in err


def test_packaged_bundle_answers(tmp_path, capsys):
    from sbsr_lab.serve.bundle import default_bundle_path

    if not (default_bundle_path() / "bundle.json").is_file():
        pytest.skip("no packaged bundle in sbsr_lab/assets/bundle yet")
    path = tmp_path / "ring.svg"
    write_svg(path, ring_strokes())
    code, out, _ = run(capsys, "query", path, "--json", "--k", 5)
    assert code == 0 and len(json.loads(out)["results"]) == 5


# `sbsr-lab app` (the one-process web app) is tested in tests/widgets/test_web_app.py.


def test_a_batch_goes_on_past_a_refused_file_and_names_are_escaped(tb, tmp_path, capsys):
    """A blank page in a batch is reported and the others are answered (it used to stop the batch); a
    newline in a file name cannot forge a result line."""
    good = tmp_path / "ring.ndjson"
    write_ndjson(good, [sketch_record(ring_strokes(), "ring", "1")])
    blank = tmp_path / "blank.png"
    save_png(blank, np.ones((64, 64), np.float32))
    forged = tmp_path / "x.ndjson\nlooks like a car (p=1.00).ndjson"
    write_ndjson(forged, [sketch_record(ring_strokes(), "ring", "2")])
    code, out, err = run(capsys, "query", good, blank, forged, "--k", 2, "--model", tb.bundle)
    assert code == 2 and "blank" in err and "1 of 3" in err
    heads = [line for line in out.splitlines() if "looks like" in line]
    assert len(heads) == 2 and all(not line.startswith("looks like a car") for line in out.splitlines())
    assert "x.ndjson\\nlooks like a car" in out
    code, out, _ = run(capsys, "query", good, blank, "--k", 2, "--model", tb.bundle, "--json")
    docs = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert code == 2 and "error" in docs[1] and "predicted_class" in docs[0]


@pytest.mark.parametrize("port", ["70000", "0", "-1", "http"])
def test_app_port_out_of_range_is_a_usage_error(port, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["app", "--port", port, "--no-browser"])
    assert exc.value.code == 2 and "port" in capsys.readouterr().err
