"""Notebook 06's rasteriser checker: a minimal polyline rasteriser passes, the usual mistakes fail with
the hint that names them."""

import numpy as np

from sbsr_lab.checks.strokes import check_rasterize, ink_agreement


def minimal_rasterize(strokes, size):
    """The notebook's answer, written here again: about 2 samples per pixel along each segment."""
    img = np.zeros((size, size), np.float32)
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=float) * size - 0.5
        if len(pts) == 1:
            pts = np.vstack([pts, pts])
        for a, b in zip(pts[:-1], pts[1:]):
            n = int(np.ceil(2 * np.abs(b - a).max())) + 1
            p = np.rint(a + np.linspace(0, 1, n)[:, None] * (b - a)).astype(int)
            p = p[((p >= 0) & (p < size)).all(1)]
            img[p[:, 1], p[:, 0]] = 1.0
    return img


def test_a_minimal_rasteriser_passes(capsys):
    assert check_rasterize(minimal_rasterize)
    assert "✅" in capsys.readouterr().out


def _fails_with(fn, words, capsys):
    assert not check_rasterize(fn)
    out = capsys.readouterr().out
    assert "❌" in out and all(w in out for w in words), out


def test_usual_mistakes_fail_with_their_hint(capsys):
    _fails_with(lambda s, n: minimal_rasterize(s, n).T, ["swapped"], capsys)
    _fails_with(lambda s, n: minimal_rasterize(s, n)[::-1], ["upside down"], capsys)
    _fails_with(lambda s, n: 255 * minimal_rasterize(s, n), ["255"], capsys)
    _fails_with(lambda s, n: np.zeros((n, n)), ["empty"], capsys)
    _fails_with(lambda s, n: np.zeros((n, n + 1)), ["shape"], capsys)

    def points_only(strokes, size):
        img = np.zeros((size, size))
        for s in strokes:
            p = np.clip(np.rint(np.asarray(s) * size - 0.5).astype(int), 0, size - 1)
            img[p[:, 1], p[:, 0]] = 1
        return img

    _fails_with(points_only, ["every segment"], capsys)

    def stub(strokes, size):
        raise NotImplementedError

    _fails_with(stub, ["Not implemented yet"], capsys)


def test_ink_agreement_is_one_for_the_same_image():
    img = np.zeros((16, 16)); img[4, 2:12] = 1
    assert ink_agreement(img, img) == (1.0, 1.0)
    assert ink_agreement(np.zeros((16, 16)), img)[1] == 0.0
