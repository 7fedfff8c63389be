"""`sbsr-lab query --figure`: one picture of the sketch, the answer and the top-k shapes; bad paths refused."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "widgets"))
from tiny_bundle import class_strokes, tiny_bundle_for_session  # noqa: E402

from sbsr_lab.cli import main  # noqa: E402
from sbsr_lab.data.stroke_io import sketch_record, write_ndjson  # noqa: E402
from sbsr_lab.data.strokes import normalize_strokes, strokes_to_image  # noqa: E402
from sbsr_lab.io import save_png  # noqa: E402
from sbsr_lab.serve.figure import result_figure  # noqa: E402
from sbsr_lab.serve.result import QueryResult  # noqa: E402


@pytest.fixture(scope="module")
def tb(tmp_path_factory):
    return tiny_bundle_for_session(tmp_path_factory)


def _ring(tmp_path: Path) -> Path:
    path = tmp_path / "ring.ndjson"
    write_ndjson(path, [sketch_record(normalize_strokes(class_strokes("ring", np.random.default_rng(5))), "ring", "1")])
    return path


def test_the_figure_shows_the_sketch_and_one_tile_per_shape(tmp_path):
    thumb = tmp_path / "strip.png"
    strip = np.zeros((20, 60, 3), np.uint8)
    strip[:, 20:40] = (200, 0, 0)  # the canonical view (1 of 3) is red
    Image.fromarray(strip).save(thumb)
    sketch = np.zeros((32, 32), np.float32)
    sketch[16, 4:28] = 1.0  # one horizontal line of ink
    result = QueryResult("uactn", "ring", {"ring": 0.9, "bar": 0.1}, None,
                         [{"rank": 1, "id": "a", "class": "ring", "score": 0.8},
                          {"rank": 2, "id": "b", "class": "bar", "score": 0.5}], np.zeros(4))
    im = np.asarray(result_figure(sketch, result, [str(thumb), None], tile=64))
    assert im.shape == (34 + 64 + 30 + 8, 3 * (64 + 8) + 8, 3)
    sketch_tile = im[34:34 + 64, 8:8 + 64]
    assert sketch_tile[32, 10:54].max() < 100 and sketch_tile[5, 5].min() > 240  # black ink on white
    first = im[34 + 10:34 + 54, 80 + 10:80 + 54]
    assert (first[..., 0] > 150).all() and (first[..., 1] < 60).all()  # the canonical view of the strip
    second = im[34 + 10:34 + 54, 152 + 10:152 + 54]
    assert (second > 200).all()  # a missing thumbnail: a light tile
    with pytest.raises(ValueError, match="2 results but 1 thumbnails"):
        result_figure(sketch, result, [None])


def test_query_figure_writes_a_png_of_the_answer(tb, tmp_path, capsys):
    out = tmp_path / "answer.png"
    assert main(["query", str(_ring(tmp_path)), "--k", "3", "--model", str(tb.bundle), "--figure", str(out)]) == 0
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] == 4 * (128 + 8) + 8
    assert "ring" in capsys.readouterr().out


@pytest.mark.parametrize("figure, why", [("answer.jpg", "name a .png file"), ("missing/answer.png", "does not exist"),
                                         ("{sketch}", "the sketch itself")])
def test_query_figure_refuses_a_bad_path_before_loading_a_model(tb, tmp_path, capsys, figure, why):
    sketch = tmp_path / "ring.png"  # a PNG sketch, so that naming it as the figure is the only mistake
    save_png(sketch, 1.0 - strokes_to_image(normalize_strokes(class_strokes("ring", np.random.default_rng(5))), 128))
    before = sketch.read_bytes()
    target = str(sketch) if figure == "{sketch}" else str(tmp_path / figure)
    assert main(["query", str(sketch), "--model", str(tb.bundle), "--figure", target]) == 2
    assert why in capsys.readouterr().err
    assert sketch.read_bytes() == before  # the sketch is untouched


def test_query_figure_wants_one_sketch(tb, tmp_path, capsys):
    a = _ring(tmp_path)
    b = tmp_path / "two.ndjson"
    b.write_bytes(a.read_bytes())
    assert main(["query", str(a), str(b), "--model", str(tb.bundle), "--figure", str(tmp_path / "x.png")]) == 2
    assert "one sketch" in capsys.readouterr().err
