"""Real-looking pages from a drawing's strokes: the ways people's drawings reach a sketch search.

A drawing made by a person rarely arrives as clean black strokes on white. It is a small grey scan
with anti-aliased hair lines (TU-Berlin's PNGs shrunk to 150 px), light pencil on textured paper, a
thick marker, chalk on a board, a phone photo under uneven light; it has a frame round it, a ground
line under it, shading hatched beside it, a signature in the corner, or it runs off the page. This
module draws those pages from strokes so that the front end (:mod:`sbsr_lab.data.sketch_image`) and
the models can be measured on them (``benchmarks/real_drawings.py``) and tested (the answer must not
change). They are never training data for the real development set: they take its strokes only to
*measure*.

Every variant is a function ``(strokes, rng) -> page`` where ``strokes`` are polylines in [0, 1]²
(x right, y down; the drawing is first fitted into a page-sized box) and ``page`` is a ``(H, W)``
float32 grey image in [0, 1], **paper light, ink dark** (like a scan). :data:`VARIANTS` names them.

>>> import numpy as np
>>> page = render_variant("pencil", [np.array([[0.1, 0.1], [0.9, 0.9]])], np.random.default_rng(0))
>>> page.shape, page.dtype
((600, 600), dtype('float32'))
"""

from __future__ import annotations

import io
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from sbsr_lab.data.strokes import check_strokes, normalize_strokes

__all__ = ["VARIANTS", "EXTRAS", "render_variant", "draw_page", "to_png_bytes"]

Strokes = list[np.ndarray]
Page = np.ndarray


def draw_page(strokes: Sequence[Any], side: int, pen: float, ink: float = 0.0, paper: float = 1.0,
              margin: float = 0.12, height: int | None = None, extra: Sequence[Any] = (),
              supersample: int = 4) -> Page:
    """Strokes (fitted into the page with ``margin``) -> ``(height or side, side)`` grey page, anti-aliased.

    ``pen`` is the line width in page pixels (may be below 1: a hair line comes out light grey, as a
    shrunk scan does); ``ink`` and ``paper`` are the two grey levels; ``extra`` are further strokes
    already in page coordinates [0, 1]² (a frame, a ground line), drawn with the same pen.
    """
    h = height or side
    fitted = normalize_strokes(check_strokes(strokes), margin=margin)
    if h != side:  # keep the drawing's aspect on a non-square page: centre it vertically
        fitted = [np.stack([s[:, 0], (s[:, 1] - 0.5) * side / h + 0.5], 1) for s in fitted]
    ss = supersample
    big = Image.new("L", (side * ss, h * ss), 0)
    draw = ImageDraw.Draw(big)
    w = max(1, int(round(pen * ss)))
    for s in list(fitted) + [np.asarray(e, dtype=np.float64).reshape(-1, 2) for e in extra]:
        pts = [(float(x) * side * ss, float(y) * h * ss) for x, y in s]
        if len(pts) == 1:
            pts = pts * 2
        draw.line(pts, fill=255, width=w, joint="curve")
        r = w / 2
        for x, y in (pts[0], pts[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    cover = np.asarray(big.reduce(ss), dtype=np.float32) / 255.0  # ink coverage per pixel
    return (paper + (ink - paper) * cover).astype(np.float32)


def to_png_bytes(page: Page, jpeg_quality: int | None = None) -> bytes:
    """A grey page in [0, 1] -> PNG bytes (or JPEG at ``jpeg_quality``)."""
    im = Image.fromarray(np.clip(page * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    buf = io.BytesIO()
    if jpeg_quality is None:
        im.save(buf, "PNG")
    else:
        im.save(buf, "JPEG", quality=int(jpeg_quality))
    return buf.getvalue()


def _jpeg(page: Page, quality: int) -> Page:
    return np.asarray(Image.open(io.BytesIO(to_png_bytes(page, quality))).convert("L"), dtype=np.float32) / 255.0


def _blur(page: Page, radius: float) -> Page:
    im = Image.fromarray(np.clip(page * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    return np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) / 255.0


def _paper_texture(shape: tuple[int, int], rng: np.random.Generator, amount: float) -> Page:
    """Smooth fibre-like noise of standard deviation ~``amount``."""
    noise = rng.normal(0.0, 1.0, size=shape).astype(np.float32)
    im = Image.fromarray(np.clip(noise * 40 + 128, 0, 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(1.2))
    n = np.asarray(im, dtype=np.float32) - 128.0
    return n / max(float(n.std()), 1e-6) * amount


def _mix(page: Page, over: Page) -> Page:
    """Darken ``page`` by another grey layer (multiply, as ink over ink)."""
    return (page * over).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# extras a person adds around a drawing (page coordinates, the drawing fitted with margin 0.12)
# ---------------------------------------------------------------------------------------------

def _frame(rng: np.random.Generator) -> list[np.ndarray]:
    m = rng.uniform(0.03, 0.07)
    j = lambda: rng.uniform(-0.006, 0.006)  # noqa: E731 -- a hand-drawn frame is not quite straight
    return [np.array([[m + j(), m + j()], [1 - m + j(), m + j()], [1 - m + j(), 1 - m + j()],
                      [m + j(), 1 - m + j()], [m + j(), m + j()]])]


def _ground(strokes: Strokes, rng: np.random.Generator) -> list[np.ndarray]:
    """A ground line under the drawing, wider than it on both sides."""
    fitted = normalize_strokes(strokes, margin=0.12)
    pts = np.concatenate(fitted)
    y = float(pts[:, 1].max()) + rng.uniform(0.0, 0.02)
    x0, x1 = float(pts[:, 0].min()), float(pts[:, 0].max())
    span = x1 - x0
    xs = np.linspace(max(0.02, x0 - rng.uniform(0.1, 0.3) * span), min(0.98, x1 + rng.uniform(0.1, 0.3) * span), 24)
    return [np.stack([xs, y + rng.normal(0, 0.002, xs.size)], 1)]


def _shading(strokes: Strokes, rng: np.random.Generator) -> list[np.ndarray]:
    """Hatching the way people shade: short parallel strokes at 30-60 degrees, a few pen widths apart,
    in a cast shadow at the drawing's foot and over one side of it."""
    fitted = normalize_strokes(strokes, margin=0.12)
    pts = np.concatenate(fitted)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    w, h = x1 - x0, y1 - y0
    angle = np.radians(rng.uniform(30, 60)) * (1 if rng.random() < 0.5 else -1)
    step = rng.uniform(0.02, 0.035)
    out = []
    length = rng.uniform(0.04, 0.07)
    dx, dy = np.cos(angle) * length, -np.sin(abs(angle)) * length
    for x in np.arange(x0 + 0.15 * w, x1 + 0.1 * w, step):  # the shadow at the foot
        out.append(np.array([[x, y1 + 0.01], [x + dx, y1 + 0.01 + dy]]))
    side = x0 + 0.05 * w if rng.random() < 0.5 else x1 - 0.25 * w  # one side of the object
    for y in np.arange(y0 + 0.35 * h, y1 - 0.05 * h, step):
        for x in np.arange(side, side + 0.2 * w, 2.5 * length * abs(np.cos(angle)) + 1e-3):
            out.append(np.array([[x, y], [x + dx, y + dy]]))
    return out


def _signature(rng: np.random.Generator) -> list[np.ndarray]:
    """A small cursive scribble in a bottom corner."""
    t = np.linspace(0, 1, 60)
    x0 = 0.78 if rng.random() < 0.5 else 0.04
    xs = x0 + 0.16 * t
    ys = 0.95 + 0.012 * np.sin(t * 2 * np.pi * rng.uniform(4, 7)) - 0.01 * t
    return [np.stack([xs, ys], 1)]


# ---------------------------------------------------------------------------------------------
# the variants
# ---------------------------------------------------------------------------------------------

def _clean(strokes: Strokes, rng: np.random.Generator) -> Page:
    return draw_page(strokes, 600, pen=4.0)


def _small_scan(strokes: Strokes, rng: np.random.Generator) -> Page:
    """TU-Berlin style: a hair line drawn on a large canvas, shrunk to 100-180 px (grey, sub-pixel lines)."""
    side = int(rng.integers(100, 181))
    return draw_page(strokes, side, pen=side / 1111 * rng.uniform(2.0, 3.5), margin=rng.uniform(0.03, 0.1))


def _large_page(strokes: Strokes, rng: np.random.Generator) -> Page:
    side = int(rng.integers(900, 1201))
    return draw_page(strokes, side, pen=rng.uniform(2.0, 4.0), margin=rng.uniform(0.1, 0.3),
                     height=int(side * rng.uniform(0.7, 1.0)))


def _pencil(strokes: Strokes, rng: np.random.Generator) -> Page:
    """Light graphite on textured paper: ink at 0.55-0.75 grey, broken by the paper's grain, 2-3 px."""
    side = 600
    page = draw_page(strokes, side, pen=rng.uniform(1.5, 3.0), ink=0.0, paper=1.0)
    cover = 1.0 - page
    grain = np.clip(1.0 + _paper_texture(page.shape, rng, 0.35), 0.2, 1.6)  # graphite catches on fibres
    level = rng.uniform(0.25, 0.45)  # how dark the pencil gets
    paper = 0.93 + _paper_texture(page.shape, rng, 0.015)
    return np.clip(paper * (1.0 - level * cover * grain), 0, 1).astype(np.float32)


def _marker(strokes: Strokes, rng: np.random.Generator) -> Page:
    side = 600
    return draw_page(strokes, side, pen=rng.uniform(10.0, 16.0), ink=rng.uniform(0.0, 0.2), margin=0.15)


def _chalk(strokes: Strokes, rng: np.random.Generator) -> Page:
    """Light chalk on a dark board: broken, textured, light ink on dark paper."""
    side = 600
    cover = 1.0 - draw_page(strokes, side, pen=rng.uniform(5.0, 8.0))
    grain = np.clip(0.75 + _paper_texture(cover.shape, rng, 0.3), 0.0, 1.0)
    board = rng.uniform(0.15, 0.3) + _paper_texture(cover.shape, rng, 0.02)
    return np.clip(board + cover * grain * (0.9 - board), 0, 1).astype(np.float32)


def _photo(strokes: Strokes, rng: np.random.Generator) -> Page:
    """A phone photo of a pen drawing: grey paper, a light gradient, noise, slight blur, JPEG."""
    side = 800
    page = draw_page(strokes, side, pen=rng.uniform(3.0, 5.0), ink=0.15, margin=rng.uniform(0.15, 0.3))
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    light = 0.78 + 0.15 * (np.cos(rng.uniform(0, 2 * np.pi)) * xx + np.sin(rng.uniform(0, 2 * np.pi)) * yy) / 1.4
    page = page * light + rng.normal(0, 0.02, page.shape).astype(np.float32)
    return _jpeg(_blur(np.clip(page, 0, 1), 1.0), 70)


def _blurred(strokes: Strokes, rng: np.random.Generator) -> Page:
    return _blur(draw_page(strokes, 400, pen=3.0), rng.uniform(1.5, 3.0))


def _jpeg_low(strokes: Strokes, rng: np.random.Generator) -> Page:
    return _jpeg(draw_page(strokes, 300, pen=2.0), int(rng.integers(15, 35)))


def _ruled(strokes: Strokes, rng: np.random.Generator) -> Page:
    """A pen drawing on ruled school paper: light blue-grey lines every ~4 % of the page, a margin line."""
    side = 700
    page = draw_page(strokes, side, pen=3.0, ink=0.1)
    rules = np.ones_like(page)
    gap = int(side * rng.uniform(0.035, 0.05))
    for y in range(int(rng.integers(0, gap)), side, gap):
        rules[y:y + 2] = 0.78
    xm = int(side * 0.08)
    rules[:, xm:xm + 2] = 0.72
    return _mix(page, rules) * 0.97


def _tinted(strokes: Strokes, rng: np.random.Generator) -> Page:
    """Coloured paper (as grey: a mid-light tint) with a dark pen."""
    return draw_page(strokes, 500, pen=3.0, ink=0.1, paper=rng.uniform(0.55, 0.75))


def _framed(strokes: Strokes, rng: np.random.Generator) -> Page:
    return draw_page(strokes, 600, pen=3.0, margin=rng.uniform(0.14, 0.2), extra=_frame(rng))


def _ground_line(strokes: Strokes, rng: np.random.Generator) -> Page:
    return draw_page(strokes, 600, pen=3.0, extra=_ground(strokes, rng))


def _shaded(strokes: Strokes, rng: np.random.Generator) -> Page:
    return draw_page(strokes, 600, pen=3.0, extra=_shading(strokes, rng))


def _signed(strokes: Strokes, rng: np.random.Generator) -> Page:
    return draw_page(strokes, 600, pen=3.0, extra=_signature(rng))


def _cut_off(strokes: Strokes, rng: np.random.Generator) -> Page:
    """The page edge cuts 5-10 % off one side of the drawing."""
    page = draw_page(strokes, 600, pen=3.0, margin=0.05)
    cut = int(600 * (0.05 + rng.uniform(0.05, 0.1)))
    side = int(rng.integers(0, 4))
    return np.ascontiguousarray(np.rot90(np.rot90(page, side)[:, cut:], -side))


#: name -> (strokes, rng) -> grey page (paper light). The first is the plain page others are compared with.
VARIANTS: dict[str, Callable[[Strokes, np.random.Generator], Page]] = {
    "clean": _clean,
    "small_scan": _small_scan,
    "large_page": _large_page,
    "pencil": _pencil,
    "marker": _marker,
    "chalk": _chalk,
    "photo": _photo,
    "blurred": _blurred,
    "jpeg": _jpeg_low,
    "ruled": _ruled,
    "tinted": _tinted,
    "frame": _framed,
    "ground_line": _ground_line,
    "shading": _shaded,
    "signature": _signed,
    "cut_off": _cut_off,
}

#: The variants that add marks a person adds (frame, ground line, shading, a signature, the page edge).
EXTRAS: tuple[str, ...] = ("frame", "ground_line", "shading", "signature", "cut_off")


def render_variant(name: str, strokes: Sequence[Any], rng: np.random.Generator) -> Page:
    """Draw ``strokes`` as the page variant ``name`` (one of :data:`VARIANTS`): ``(H, W)`` float32, paper light."""
    if name not in VARIANTS:
        raise KeyError(f"unknown drawing variant {name!r}; choose one of {', '.join(VARIANTS)}")
    return VARIANTS[name](check_strokes(strokes), rng)
