"""Fuzzing the file readers (issue 18): OFF, PSB .cla, QuickDraw ndjson, SVG and PNG/JPEG.

Whatever the bytes, a reader returns or raises the library's own error (MeshError, DatasetLayoutError,
SketchError: :mod:`sbsr_lab.errors`), within hypothesis' deadline; huge declared sizes allocate nothing.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sbsr_lab.data.benchmarks.off import parse_off, read_off
from sbsr_lab.data.benchmarks.psb import parse_cla
from sbsr_lab.data.stroke_io import load_strokes, quickdraw_to_strokes, read_ndjson, read_svg
from sbsr_lab.errors import DatasetLayoutError, MeshError, SbsrError, SketchError
from sbsr_lab.io import MAX_IMAGE_PIXELS, open_image

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])

# text made of the tokens these formats use, so that the fuzzer gets past the first line often
_OFF_TOKENS = st.sampled_from(["OFF", "COFF", "NOFF", "3", "4", "0", "1", "-1", "2", "1e308", "nan", "inf", "0.5",
                               "-2.5", "#", "x", "99999999999", "\n", "\n", " ", "\t", "\ufeff"])
_CLA_TOKENS = st.sampled_from(["PSB", "1", "0", "2", "3", "-1", "chair", "table", "a b", "\n", "\n", " ", "²", "١",
                               "99999999999999999999", "\ufeff"])


def _joined(tokens) -> st.SearchStrategy[str]:
    return st.lists(tokens, max_size=60).map(" ".join) | st.text(max_size=200)


@FUZZ
@given(text=_joined(_OFF_TOKENS))
@example(text="OFF\n1000000000000 1000000000000 0\n")
@example(text="OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 99\n")
@example(text="OFF\n3 1 0\n0 0 nan\n1 0 0\n0 1 0\n3 0 1 2\n")
@example(text="OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n99999999999 0 1 2\n")
@example(text="OFF 3 1 0 0 0 0 1 0 0 0 1 0 3 0 1 2")
def test_fuzz_off(text):
    try:
        vertices, faces = parse_off(text, "fuzz.off")
    except MeshError:
        return
    assert vertices.ndim == 2 and vertices.shape[1] == 3 and np.isfinite(vertices).all()
    assert faces.ndim == 2 and faces.shape[1] == 3 and 0 <= faces.min() and faces.max() < len(vertices)


@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_off_bytes(tmp_path, data):
    path = tmp_path / "m.off"
    path.write_bytes(data)
    try:
        read_off(path)
    except MeshError:
        pass


@FUZZ
@given(text=_joined(_CLA_TOKENS))
@example(text="PSB 1\n1 99999999999999999999\nchair 0 99999999999999999999\na\n")
@example(text="PSB 1\n1 1\nchair 0 ²\na\n")
@example(text="PSB ١\n1 1\nchair 0 1\na\n")
def test_fuzz_cla(text):
    try:
        cf = parse_cla(text, "fuzz.cla")
    except DatasetLayoutError:
        return
    assert sum(len(c.ids) for c in cf.classes) == cf.num_ids


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                     lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                     max_leaves=30)
_DRAWING = st.lists(st.lists(st.lists(st.integers(-10**12, 10**12) | st.floats(), max_size=6), max_size=3), max_size=4)


@FUZZ
@given(record=st.dictionaries(st.sampled_from(["drawing", "word", "widths", "key_id"]), _JSON | _DRAWING, max_size=4),
       raw=st.binary(max_size=80))
@example(record={"drawing": [[[0, 1e308], [0, 1e308]]]}, raw=b"")
@example(record={"drawing": [[[0, 1], [0]]]}, raw=b"")
@example(record={"drawing": [[[float("nan"), 1], [0, 1]]]}, raw=b"")
def test_fuzz_ndjson(tmp_path, record, raw):
    path = tmp_path / "s.ndjson"
    path.write_bytes(json.dumps(record).encode() + b"\n" + raw)
    try:
        recs = read_ndjson(path)
        quickdraw_to_strokes(recs[0]["drawing"], "fuzz")
        load_strokes(path)
    except SketchError:
        pass


_SVG_D = st.lists(st.sampled_from(list("MLHVCSQTAZmlhvcsqtaz") + ["0", "1", "-5", "1e308", "nan", ",", " ", ".5",
                                                                   "1e-308", "99999"]), max_size=40).map(" ".join)


@FUZZ
@given(d=_SVG_D, box=st.sampled_from(['viewBox="0 0 100 100"', 'viewBox="0 0 0 0"', 'width="0" height="x"', "",
                                      'viewBox="nan 1 2"', 'width="1e308" height="1e308"']),
       tail=st.sampled_from(["", '<polyline points="0,0 1,1 nan,2"/>', '<line x1="0" y1="0" x2="x"/>',
                             '<polygon points=""/>', "<g><path/></g>"]))
def test_fuzz_svg(tmp_path, d, box, tail):
    path = tmp_path / "s.svg"
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" {box}><path d="{d}"/>{tail}</svg>')
    try:
        strokes = read_svg(path)
    except SketchError:
        return
    for s in strokes:
        assert np.isfinite(s).all()


@FUZZ
@given(data=st.binary(max_size=400))
def test_fuzz_svg_bytes(tmp_path, data):
    path = tmp_path / "s.svg"
    path.write_bytes(b"<svg " + data)
    try:
        read_svg(path)
    except SketchError:
        pass


def test_svg_entity_expansion_is_refused(tmp_path):
    lol = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10 if i else "lol"}">' for i in range(9))
    path = tmp_path / "bomb.svg"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE svg [{lol}]><svg><text>&l8;</text></svg>')
    t0 = time.perf_counter()
    with pytest.raises(SketchError):
        read_svg(path)
    assert time.perf_counter() - t0 < 5


def _png(width: int, height: int, idat: bytes | None = None, mode: int = 0) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    body = idat if idat is not None else zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _valid_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((24, 32)) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@FUZZ
@given(data=st.binary(max_size=300), flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
       width=st.integers(0, 2**31 - 1), height=st.integers(0, 2**31 - 1))
@example(data=b"", flips=[], width=30000, height=30000)
@example(data=b"", flips=[], width=12000, height=12000)
@example(data=b"", flips=[], width=0, height=5)
def test_fuzz_png(tmp_path, data, flips, width, height):
    """Random bytes, a valid PNG with bytes flipped, and headers of any size: SketchError or a small image."""
    valid = bytearray(_valid_png())
    for pos, value in flips:
        if pos < len(valid):
            valid[pos] = value
    for i, blob in enumerate((data, bytes(valid), _png(width, height))):
        path = tmp_path / f"{i}.png"
        path.write_bytes(blob)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no DecompressionBombWarning either
                im = open_image(path)
        except SketchError:
            continue
        assert im.size[0] * im.size[1] <= MAX_IMAGE_PIXELS


def test_huge_png_is_refused_before_decoding(tmp_path):
    from PIL import Image

    big = tmp_path / "big.png"
    im = Image.new("L", (12000, 12000), 255)
    im.paste(0, (5000, 5000, 7000, 5100))
    im.save(big, optimize=True)
    del im
    assert big.stat().st_size < 400_000  # a small file ...
    with pytest.raises(SketchError, match=r"12000x12000 pixels .*nothing was decoded.*Fix: shrink it"):
        open_image(big)
    (tmp_path / "bomb.png").write_bytes(_png(30000, 30000))
    with pytest.raises(SketchError, match="too large to decode safely.*Fix"):
        open_image(tmp_path / "bomb.png")


def test_huge_jpeg_is_decoded_reduced(tmp_path):
    from PIL import Image

    path = tmp_path / "photo.jpg"
    Image.new("RGB", (10000, 8000), "white").save(path, quality=40)
    im = open_image(path)
    assert im.size == (2500, 2000) and im.size[0] * im.size[1] <= MAX_IMAGE_PIXELS


def test_query_of_a_huge_png_stays_small(tmp_path):
    """The 168 KB 12000x12000 PNG of the issue: loading it as a sketch fails fast, in little memory."""
    from PIL import Image

    big = tmp_path / "big.png"
    Image.new("L", (12000, 12000), 255).save(big, optimize=True)
    code = ("import resource, sys\n"
            "from sbsr_lab.data.sketch_image import load_framed_sketch\n"
            "from sbsr_lab.errors import SketchError\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n    load_framed_sketch(sys.argv[1], 96)\nexcept SketchError as e:\n    print('refused', e)\n"
            "print('grew_mb', (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)\n")
    out = subprocess.run([sys.executable, "-c", code, str(big)], capture_output=True, text=True, timeout=120).stdout
    assert "refused" in out and "12000x12000" in out
    assert float(out.split("grew_mb")[1]) < 100, out


def test_triangle_soup_is_bounded(tmp_path):
    """Random triangles (no shared edges) over max_faces: an even subset is kept, in bounded time, with a warning."""
    from sbsr_lab.data.meshes import SOUP_FACES, load_mesh

    rng = np.random.default_rng(0)
    nv, nf = 20_000, 250_000
    buf = io.StringIO()
    buf.write(f"OFF\n{nv} {nf} 0\n")
    np.savetxt(buf, rng.uniform(-1, 1, (nv, 3)), fmt="%.5f")
    np.savetxt(buf, np.column_stack([np.full(nf, 3), rng.integers(0, nv, (nf, 3))]), fmt="%d")
    path = tmp_path / "soup.off"
    path.write_text(buf.getvalue())
    t0 = time.perf_counter()
    with pytest.warns(UserWarning, match="triangle soup.*kept every 13th face"):
        mesh = load_mesh(path)
    assert len(mesh.faces) <= SOUP_FACES and time.perf_counter() - t0 < 120


def test_too_many_faces_is_refused(monkeypatch, tmp_path):
    import trimesh

    import sbsr_lab.data.meshes as meshes

    monkeypatch.setattr(meshes, "MAX_FILE_FACES", 100)
    box = trimesh.creation.icosphere(subdivisions=3)
    with pytest.raises(MeshError, match="more than the 100 sbsr_lab renders; simplify it first"):
        meshes.check_mesh(box, "ico", max_faces=50)


def test_every_reader_error_is_an_sbsr_error():
    for cls in (MeshError, DatasetLayoutError, SketchError):
        assert issubclass(cls, SbsrError)
    assert resource  # imported for the subprocess check's symmetry


def test_page_scan_png_is_decoded_then_shrunk_and_keeps_its_lines(tmp_path):
    """A 600 dpi A4 scan (4960 x 7016, 35 MP) is not refused: decoded, then reduced by an integer factor."""
    from PIL import Image

    path = tmp_path / "scan.png"
    page = Image.new("L", (4960, 7016), 255)
    page.paste(0, (1000, 3000, 4000, 3008))   # an 8 px line across the page
    page.save(path)
    del page
    im = open_image(path)
    assert im.size == (2480, 3508) and im.size[0] * im.size[1] <= MAX_IMAGE_PIXELS
    row = np.asarray(im.convert("L"))[1502]
    assert row[600:1900].max() < 40        # the line is still there, dark


def test_ndjson_is_read_a_record_at_a_time_and_bounded(tmp_path):
    """A query reads the first record of an ndjson, not the whole file (a 473 MB file took 2.2 GB); a line
    longer than MAX_NDJSON_LINE_BYTES and a 5000-digit coordinate are clear errors (exit 1 before)."""
    import json
    import tracemalloc

    from sbsr_lab.data.stroke_io import MAX_NDJSON_LINE_BYTES, load_strokes, read_ndjson
    from sbsr_lab.errors import SketchError

    good = json.dumps({"word": "chair", "drawing": [[[10, 200, 200], [10, 10, 200]]]})
    big = tmp_path / "many.ndjson"
    with big.open("w") as f:
        f.write(good + "\n")
        for _ in range(2000):
            f.write(json.dumps({"word": "x", "drawing": [[list(range(2000)), list(range(2000))]]}) + "\n")
    assert big.stat().st_size > 15_000_000
    tracemalloc.start()
    strokes = load_strokes(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(strokes) == 1 and peak < 2_000_000, peak
    assert len(read_ndjson(big, limit=3)) == 3
    long_line = tmp_path / "long.ndjson"
    long_line.write_bytes(b'{"drawing": [[[' + b"1, " * (MAX_NDJSON_LINE_BYTES // 3 + 10) + b"1]]]}\n")
    with pytest.raises(SketchError, match="longer than"):
        load_strokes(long_line)
    digits = tmp_path / "digits.ndjson"
    digits.write_text('{"drawing": [[[1, ' + "9" * 5000 + '], [1, 2]]]}\n')
    with pytest.raises(SketchError, match="number"):
        load_strokes(digits)
    huge = tmp_path / "huge.ndjson"
    huge.write_text('{"drawing": [[[1, ' + "9" * 400 + '], [1, 2]]]}\n')  # parses as an int, too big for a float
    with pytest.raises(SketchError, match="huge|non-numeric|finite"):
        load_strokes(huge)


def test_svg_sketches_are_bounded_in_size_and_points(tmp_path):
    from sbsr_lab.data.stroke_io import MAX_SVG_BYTES, MAX_SVG_NUMBERS, read_svg
    from sbsr_lab.errors import SketchError

    many = tmp_path / "many.svg"
    many.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><path d="M0 0 '
                    + "L1 1 " * (MAX_SVG_NUMBERS // 2 + 5) + '"/></svg>')
    with pytest.raises(SketchError, match="more than"):
        read_svg(many)
    big = tmp_path / "big.svg"
    big.write_text('<svg xmlns="http://www.w3.org/2000/svg">' + "<g/>" * (MAX_SVG_BYTES // 4 + 10) + "</svg>")
    with pytest.raises(SketchError, match="MB"):
        read_svg(big)
