"""Frame any sketch -- a PNG page, a photo of paper, strokes from the pad -- exactly like a training sketch.

Training sketches (SynthShapes) are strokes fitted into ``[m, 1 - m]²`` of the canvas (their
bounding box centred, aspect kept; the generator draws m uniformly in [0.04, 0.12], so
:data:`TRAINING_MARGIN` = 0.08 is its mean) and rasterised by
:func:`sbsr_lab.data.strokes.strokes_to_image` with a line ``size / 64`` px wide. A person's drawing
arrives in other ways: small and off-centre on a 600x450 page, drawn with a 7 px marker, scanned or
photographed on grey paper under uneven light. Everything goes through one path here:

* strokes (pad, ``.ndjson``, ``.svg``): :func:`frame_strokes` = fit the bounding box + rasterise;
* images (``.png``/``.jpg`` or an array): :func:`frame_sketch` =
  grey (alpha composited on white) -> polarity (dark ink on light paper or the reverse, decided from
  the grey-level histogram) -> binary ink (:func:`binarize_ink`: the paper's shading is divided out,
  then a threshold halfway to the ink level, above the paper's noise) -> specks removed
  (:func:`remove_specks`: connected components smaller than a pen dot or than a small fraction of
  the ink) -> cropped to the ink and padded to a square -> **traced back into strokes** (skeleton ->
  polylines, :func:`sbsr_lab.data.sketchgen.tracing.trace_strokes`, the same tracer that turns the
  generator's line drawings into strokes) -> :func:`frame_strokes`.

Tracing the centre lines and redrawing them is what brings any pen to the training width: a 7 px
marker line and a 1 px pencil line both come out ``size / 64`` px wide, framed like the strokes
they were drawn from. :func:`load_framed_sketch` does it for a file of any supported kind.

>>> # img = load_framed_sketch("my_chair.png", 128)   # (128, 128) float32, ink = 1
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from sbsr_lab.data.page_marks import remove_page_marks
from sbsr_lab.data.stroke_io import IMAGE_SUFFIXES, STROKE_SUFFIXES, load_strokes, read_ndjson
from sbsr_lab.data.strokes import check_strokes, normalize_strokes, strokes_to_image
from sbsr_lab.errors import SketchError
from sbsr_lab.io import open_image

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "TRAINING_MARGIN",
    "frame_strokes",
    "frame_drawing",
    "frame_sketch",
    "load_framed_sketch",
    "sketch_to_strokes",
    "binarize_ink",
    "ink_contrast",
    "remove_specks",
    "remove_strays",
    "remove_page_edges",
    "estimate_pen_width",
    "to_grey",
]

#: Margin of a framed sketch: the mean of the generator's uniform draw in [0.04, 0.12].
TRAINING_MARGIN: float = 0.08

_WORK_SIDE = 512        # images are traced at most this big (the output is 128-256 px)
_PHOTO_SIDE = 1600      # larger photos are shrunk (area average) before binarising
_SMALL_SIDE = 400       # smaller images are enlarged (bilinear) before binarising


# ---------------------------------------------------------------------------------------------
# strokes
# ---------------------------------------------------------------------------------------------

def frame_strokes(strokes: Sequence[Any], size: int, width: float | None = None,
                  widths: Sequence[float] | None = None, margin: float = TRAINING_MARGIN) -> np.ndarray:
    """Strokes anywhere on any canvas -> ``(size, size)`` float32, ink = 1, framed like training sketches.

    The strokes' bounding box is fitted into ``[margin, 1 - margin]²`` (centred, aspect kept,
    :func:`~sbsr_lab.data.strokes.normalize_strokes`), then rasterised by
    :func:`~sbsr_lab.data.strokes.strokes_to_image` (line ``width`` px, default ``size / 64``,
    ``widths`` per-stroke multipliers). Raises :class:`SketchError` when there are no strokes.
    """
    strokes = check_strokes(strokes)
    if not strokes:
        raise SketchError("The sketch is empty (no strokes): draw something first.")
    return strokes_to_image(normalize_strokes(strokes, margin=margin), size=size, width=width, widths=widths)


def frame_drawing(strokes: Sequence[Any], size: int, width: float | None = None,
                  widths: Sequence[float] | None = None) -> np.ndarray:
    """A person's drawing as strokes -> ``(size, size)`` float32, ink = 1: :func:`frame_strokes` after
    the marks that are not the object (a frame, a ground line, hatching, a signature) are taken out
    (:func:`sbsr_lab.data.page_marks.remove_page_marks`). Every query path frames strokes with this."""
    kept, kept_widths = remove_page_marks(check_strokes(strokes), widths)
    return frame_strokes(kept, size, width=width, widths=kept_widths)


# ---------------------------------------------------------------------------------------------
# images: grey, binary ink, specks
# ---------------------------------------------------------------------------------------------

def to_grey(image: "PILImage.Image | np.ndarray") -> np.ndarray:
    """A PIL image or an array -> ``(H, W)`` float32 grey in [0, 1].

    Transparent pixels (RGBA, LA, palette with transparency) become white paper; colour is averaged
    to luminance; integer arrays are divided by their type's maximum (uint8: 255).
    """
    from PIL import Image

    if isinstance(image, Image.Image):
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
            arr = np.asarray(image, dtype=np.float32)
            return _scale_to_unit(arr)
        return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255.0)
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] in (2, 4):  # grey/colour + alpha: composite on white
        alpha = _unit(arr[..., -1:])
        arr = _unit(arr[..., :-1]) * alpha + (1.0 - alpha)
    elif arr.ndim == 3 and arr.shape[2] in (1, 3):
        arr = _unit(arr)
    elif arr.ndim == 2:
        arr = _unit(arr)
    else:
        raise SketchError(
            f"A sketch image must be (H, W), (H, W, 3) or (H, W, 4); got shape {arr.shape}. "
            "Fix: pass a grey or RGB(A) image."
        )
    if arr.ndim == 3:
        arr = arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32) if arr.shape[2] == 3 else arr[..., 0]
    if not np.isfinite(arr).all():
        raise SketchError("The sketch image has NaN or infinite pixels. Fix: pass finite values in [0, 1].")
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def _unit(a: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.float32) / np.float32(np.iinfo(a.dtype).max)
    if a.dtype == bool:
        return a.astype(np.float32)
    return a.astype(np.float32)


def _scale_to_unit(a: np.ndarray) -> np.ndarray:
    hi = float(a.max(initial=0.0))
    return np.clip(a / (65535.0 if hi > 255 else 255.0 if hi > 1 else 1.0), 0, 1).astype(np.float32)


def _dark_ink(grey: np.ndarray) -> bool:
    """Is the ink darker than the paper? Paper is the bulk of the histogram (its median); ink is the
    thin tail on one side of it. Ties (no tail at all) go to dark ink unless the paper itself is dark."""
    med = float(np.median(grey))
    lo, hi = np.quantile(grey, [0.003, 0.997])
    below, above = med - float(lo), float(hi) - med
    if abs(below - above) < 1e-3:
        return med >= 0.5
    return below > above


def _paper(grey: np.ndarray) -> np.ndarray:
    """The paper's brightness under the drawing, lines removed: a grey-level closing (max then min
    filter, :func:`scipy.ndimage.grey_closing`) over a window of 6 % of the longer side, on a lightly
    smoothed copy (noise does not lift it). A closing erases dark lines thinner than the window and
    keeps what is smooth or wide exactly -- light gradients, vignetting and the hard edge of a shadow
    stay in the paper, so none of them becomes ink. ``(H, W)``."""
    from scipy.ndimage import gaussian_filter, grey_closing

    win = max(9, int(round(0.06 * max(grey.shape))))
    return grey_closing(gaussian_filter(grey, 1.0), size=(win, win), mode="reflect")


def _is_clean_page(grey: np.ndarray) -> bool:
    """White, noiseless paper (a drawing program's export): median > 0.85, robust noise < 0.02."""
    med = float(np.median(grey))
    return med > 0.85 and 1.4826 * float(np.median(np.abs(grey - med))) < 0.02


def ink_contrast(grey: np.ndarray) -> np.ndarray:
    """Grey ``(H, W)`` in [0, 1] -> ink contrast ``(H, W)`` in [0, 1]: how much darker than the paper
    under it each pixel is, relative to that paper (``1 - grey / paper``), after the polarity is
    made dark-on-light (:func:`_dark_ink`).

    The paper is the page's median on a clean page (so filled areas stay ink) and the grey-level
    closing :func:`_paper` otherwise (grey or tinted paper, uneven light and shadows divided out);
    lines printed across the page (ruled paper) are paper too (:func:`_rulings`).
    Off a clean page the contrast is smoothed a little (Gaussian, sigma 1 px) so that a pencil line
    broken by the paper's grain reads as one line.
    """
    from scipy.ndimage import gaussian_filter

    grey = np.asarray(grey, dtype=np.float32)
    if not _dark_ink(grey):
        grey = 1.0 - grey
    clean = _is_clean_page(grey)
    paper = np.full_like(grey, np.median(grey)) if clean else _paper(grey)
    paper = np.minimum(paper, _rulings(grey, paper))
    contrast = np.clip(1.0 - grey / np.maximum(paper, 0.02), 0.0, 1.0)
    return contrast if clean else gaussian_filter(contrast, 1.0)


def _rulings(grey: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """The paper's brightness along the lines printed across the page (ruled or squared paper, a margin
    line): a row (column) whose lightest fifth is still darker than the paper, but by less than half of
    it, is a printed line; its paper is that lightest fifth. Elsewhere ``paper`` is returned unchanged.
    A pen line is darker than half the paper and is never taken for a ruling. ``(H, W)``."""
    out = paper.copy()
    for axis in (1, 0):
        line = np.quantile(grey, 0.8, axis=axis)  # (H,) per row or (W,) per column
        base = np.median(paper, axis=axis)
        ruled = (line < base - 0.03) & (line > 0.5 * base)
        if ruled.any():
            level = np.where(ruled, line, np.inf)
            out = np.minimum(out, level[:, None] if axis == 1 else level[None, :])
    return out


def binarize_ink(grey: np.ndarray) -> np.ndarray:
    """Grey ``(H, W)`` in [0, 1] -> boolean ink mask: ink is found by its contrast to the page, never
    by a fixed grey level, so light pencil, grey anti-aliased hair lines and blurred lines are ink.

    1. contrast to the paper (:func:`ink_contrast`: polarity, paper shading divided out, smoothed);
    2. the paper's noise: the robust spread of the lower half of the contrast; nothing within
       5 of its standard deviations (and 0.06) of the paper is ink (JPEG and sensor noise, grain);
    3. the ink's own level: the 90th percentile of the contrast above that floor. A pixel is ink when
       it reaches half that level, or a quarter of it while connected to such a pixel (hysteresis,
       :func:`skimage.filters.apply_hysteresis_threshold`): a line keeps its light stretches, and a
       faint drawing is as much ink as a dark one.
    """
    from skimage.filters import apply_hysteresis_threshold

    contrast = ink_contrast(grey)
    paper = contrast[contrast <= np.median(contrast)]
    noise = 1.4826 * float(np.median(np.abs(paper - np.median(paper))))
    floor = max(float(np.median(paper)) + 5.0 * noise, 0.06)
    inked = contrast[contrast > floor]
    if inked.size == 0:
        return np.zeros(contrast.shape, dtype=bool)
    level = float(np.quantile(inked, 0.9))
    high = max(0.5 * level, floor)
    low = max(0.5 * high, floor)
    return apply_hysteresis_threshold(contrast, low, high)


def estimate_pen_width(ink: np.ndarray) -> float:
    """Line width in pixels of a boolean ink mask: ink area / skeleton length (a line of width w and
    length L has area ~ w L and a skeleton of ~ L pixels). 1.0 for an empty mask."""
    from skimage.morphology import skeletonize

    area = int(ink.sum())
    if area == 0:
        return 1.0
    length = int(skeletonize(ink).sum())
    return max(1.0, area / max(length, 1))


def remove_specks(ink: np.ndarray, pen_width: float | None = None, fraction: float = 0.002) -> np.ndarray:
    """Drop the connected components (8-connected) of a boolean ink mask that are specks.

    A component is a speck when its area is below half a pen dot (``0.5 * pen_width²``, at least 3 px)
    or below ``fraction`` of all the ink; dots a person draws are pen dots and stay.
    ``pen_width`` defaults to :func:`estimate_pen_width` of the largest components.
    """
    from scipy.ndimage import label

    ink = np.asarray(ink, dtype=bool)
    labels, n = label(ink, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return ink
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    areas[0] = 0
    if pen_width is None:
        order = np.argsort(areas)[::-1]
        big = order[: max(1, int(np.searchsorted(np.cumsum(areas[order]), 0.8 * areas.sum()) + 1))]
        pen_width = estimate_pen_width(np.isin(labels, big))
    keep_min = max(3.0, 0.5 * pen_width * pen_width, fraction * float(areas.sum()))
    keep = areas >= keep_min
    keep[0] = False
    return keep[labels]


def remove_page_edges(ink: np.ndarray, ratio: float = 3.0) -> np.ndarray:
    """Drop what a scan or photo shows beyond the paper: components that touch the image border and
    are much thicker than the pen (ink area / skeleton length above ``ratio`` x the pen width of the
    other components), such as a dark scanner bed along one side or the desk around the page."""
    from scipy.ndimage import find_objects, label

    ink = np.asarray(ink, dtype=bool)
    labels, n = label(ink, structure=np.ones((3, 3), dtype=bool))
    if n <= 1:
        return ink
    h, w = ink.shape
    edge = [i + 1 for i, b in enumerate(find_objects(labels))
            if b[0].start == 0 or b[1].start == 0 or b[0].stop == h or b[1].stop == w]
    inner = ink & ~np.isin(labels, edge)
    if not edge or not inner.any():
        return ink
    pen = estimate_pen_width(inner)
    out = ink.copy()
    for i in edge:
        comp = labels == i
        if estimate_pen_width(comp) > ratio * pen:
            out &= ~comp
    return out


def remove_strays(ink: np.ndarray, major: float = 0.05, reach: float = 0.25) -> np.ndarray:
    """Drop small marks far from the drawing (a smudge, the corner of a shadow, a stray dot), which
    would otherwise stretch the crop: the drawing's core is the bounding box of its components of at
    least ``major`` of the ink (and the largest one); a smaller component is kept only when its own
    bounding box comes within ``reach`` x the core's longer side of that core."""
    from scipy.ndimage import find_objects, label

    ink = np.asarray(ink, dtype=bool)
    labels, n = label(ink, structure=np.ones((3, 3), dtype=bool))
    if n <= 1:
        return ink
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    boxes = find_objects(labels)
    big = (areas >= major * areas.sum()) | (areas == areas.max())
    y0 = min(b[0].start for b, m in zip(boxes, big) if m)
    y1 = max(b[0].stop for b, m in zip(boxes, big) if m)
    x0 = min(b[1].start for b, m in zip(boxes, big) if m)
    x1 = max(b[1].stop for b, m in zip(boxes, big) if m)
    pad = reach * max(y1 - y0, x1 - x0)
    near = np.array([b[0].start < y1 + pad and b[0].stop > y0 - pad and b[1].start < x1 + pad and b[1].stop > x0 - pad
                     for b in boxes])
    keep = np.concatenate([[False], big | near])
    return keep[labels]


def _pool_max(ink: np.ndarray, k: int) -> np.ndarray:
    """Shrink a boolean mask by ``k`` keeping every line (a block is ink if any of its pixels is)."""
    if k <= 1:
        return ink
    h, w = ink.shape
    ph, pw = -h % k, -w % k
    padded = np.pad(ink, ((0, ph), (0, pw)))
    return padded.reshape((h + ph) // k, k, (w + pw) // k, k).any(axis=(1, 3))


def sketch_to_strokes(image: "PILImage.Image | np.ndarray", source: str = "the sketch image") -> list[np.ndarray]:
    """A sketch image (page, scan, photo, or an ink = 1 array) -> its strokes (centre lines) in [0, 1]².

    Binarise (:func:`binarize_ink`), remove specks, page edges and strays (:func:`remove_specks`,
    :func:`remove_page_edges`, :func:`remove_strays`), crop to the ink, pad to a
    square, shrink to at most 512 px (max-pooling keeps thin lines), trace the skeleton
    (:func:`~sbsr_lab.data.sketchgen.tracing.trace_strokes`, spurs shorter than a pen width dropped).
    The strokes keep the drawing's aspect; their position in [0, 1]² is that of the cropped square.
    Raises :class:`SketchError` when no ink is found.
    """
    # deferred: the sketchgen package loads trimesh and the renderer; reading a sketch file stays light
    from sbsr_lab.data.sketchgen.tracing import trace_strokes

    grey = to_grey(image)
    if grey.ndim != 2 or min(grey.shape) < 3:
        raise SketchError(f"{source}: the image is {grey.shape}; a sketch needs at least 3x3 pixels.")
    grey = _work_size(grey)
    ink = binarize_ink(grey)
    ink = remove_strays(remove_page_edges(remove_specks(ink)))
    if not ink.any():
        raise SketchError(f"{source}: the sketch is blank (no ink found). Fix: draw something first.")
    ys, xs = np.nonzero(ink)
    crop = ink[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    h, w = crop.shape
    side = max(h, w) + 4  # 2 px of paper all round so the skeleton does not touch the border
    square = np.zeros((side, side), dtype=bool)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = crop
    pen = estimate_pen_width(crop)
    k = int(np.ceil(side / _WORK_SIDE))
    work = _pool_max(square, k)
    strokes = trace_strokes(work.astype(np.float32), min_length_px=max(3, int(round(pen / k))))
    strokes, _ = remove_page_marks(strokes)  # a frame, a ground line, hatching, a signature
    if not strokes:  # only dots: keep their centres as dots
        from scipy.ndimage import center_of_mass, label

        labels, n = label(work)
        cms = center_of_mass(work, labels, range(1, n + 1))
        strokes = [np.array([[(x + 0.5) / work.shape[1], (y + 0.5) / work.shape[0]]], dtype=np.float32)
                   for y, x in cms]
    return strokes


def _work_size(grey: np.ndarray) -> np.ndarray:
    """Bring a page to a working size: area-shrink images larger than ``_PHOTO_SIDE`` (phone photos)
    by an integer factor; enlarge (bilinear) images smaller than ``_SMALL_SIDE`` (a 150 px scan) by an
    integer factor, so that sub-pixel grey lines become lines the skeleton can follow."""
    from scipy.ndimage import zoom

    up = int(np.ceil(_SMALL_SIDE / max(grey.shape)))
    if up > 1:
        return np.clip(zoom(grey, up, order=1, mode="nearest", grid_mode=True), 0.0, 1.0).astype(np.float32)
    k = int(np.ceil(max(grey.shape) / _PHOTO_SIDE))
    if k <= 1:
        return grey
    h, w = (grey.shape[0] // k) * k, (grey.shape[1] // k) * k
    return grey[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def frame_sketch(image: "PILImage.Image | np.ndarray", size: int, width: float | None = None,
                 source: str = "the sketch image") -> np.ndarray:
    """Any sketch image -> ``(size, size)`` float32, ink = 1, framed and drawn like a training sketch.

    ``image``: a PIL image or an array -- black ink on white paper, white on black, an ink = 1 array,
    a photo or scan of paper (grey, uneven light, JPEG noise); any page size, position and pen.
    It is traced back into strokes (:func:`sketch_to_strokes`) and those are framed with
    :func:`frame_strokes` (margin :data:`TRAINING_MARGIN`, line ``width`` px, default ``size / 64``).
    Raises :class:`SketchError` for a blank image.
    """
    return frame_strokes(sketch_to_strokes(image, source), size, width=width)


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------

def _open_image(path: Path) -> "PILImage.Image":
    """Open and decode an image file with a pixel bound (:func:`sbsr_lab.io.open_image`: huge JPEGs are
    decoded reduced, other huge images and decompression bombs are refused with a :class:`SketchError`)."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(open_image(path))  # phone photos: upright as the camera saw them


def load_framed_sketch(path: str | os.PathLike[str], size: int, width: float | None = None) -> np.ndarray:
    """A sketch file (``.png``/``.jpg``/``.jpeg``, ``.ndjson`` first record, ``.svg``) -> ``(size, size)``
    float32, ink = 1, framed like training sketches (:func:`frame_sketch` / :func:`frame_strokes`).

    An ndjson record's per-stroke ``widths`` are kept. Raises :class:`SketchError` naming the file for
    a missing, corrupt, unsupported or blank sketch.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES + STROKE_SUFFIXES:
        raise SketchError(
            f"{p}: unsupported sketch format {p.suffix or '(no suffix)'!r}. "
            f"Fix: use one of {', '.join(IMAGE_SUFFIXES + STROKE_SUFFIXES)}."
        )
    if not p.is_file():
        raise SketchError(f"{p}: sketch file not found. Fix: check the path (cwd is {os.getcwd()}).")
    if suffix in IMAGE_SUFFIXES:
        return frame_sketch(_open_image(p), size, width=width, source=str(p))
    strokes = load_strokes(p)
    widths = None
    if suffix == ".ndjson":
        w = read_ndjson(p, limit=1)[0].get("widths")
        if isinstance(w, list) and len(w) == len(strokes):
            widths = [float(x) for x in w]
    return frame_drawing(strokes, size, width=width, widths=widths)


def frame_line_image(lines: np.ndarray, size: int, width: float | None = None,
                     margin: float = TRAINING_MARGIN, supersample: int = 2) -> np.ndarray | None:
    """A rendered line image ``(H, W)`` (ink = 1, e.g. :func:`~sbsr_lab.data.sketchgen.styles.style_lines`) ->
    ``(size, size)`` float32, ink = 1, framed and drawn like a query drawing, without tracing it into strokes.

    The ink is thinned to its centre line (``skimage.morphology.skeletonize``); every pair of neighbouring
    centre-line pixels is a short segment, sampled densely enough to leave no gap at the new scale, fitted
    into ``[margin, 1 - margin]²`` as :func:`frame_strokes` fits strokes, drawn ``width`` px wide (default
    ``size / 64``, the training sketches' pen) on a ``supersample`` x finer canvas and box-filtered down (2x:
    the network sees it at 96 px; 4x as :func:`strokes_to_image` costs 3x the time). No Python walk of the
    skeleton: several times faster than tracing, for the many views of ``sbsr-lab index``. ``None`` when
    there is no ink.
    """
    from skimage.morphology import skeletonize

    skel = skeletonize(np.asarray(lines) > 0.5)
    ys, xs = np.nonzero(skel)
    if len(ys) == 0:
        return None
    padded = np.pad(skel, 1)
    here = np.stack([xs, ys], 1).astype(np.float64)
    starts, steps = [here], [np.zeros((len(xs), 2))]
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):  # each pair of 8-neighbours once
        pair = padded[ys + 1 + dy, xs + 1 + dx]
        starts.append(here[pair])
        steps.append(np.tile([float(dx), float(dy)], (int(pair.sum()), 1)))
    p0, d = np.concatenate(starts) + 0.5, np.concatenate(steps)  # pixel centres, (x right, y down)
    lo, hi = p0.min(0), (p0 + d).max(0)
    extent = float((hi - lo).max())
    scale = (1.0 - 2.0 * margin) / extent if extent > 1e-9 else 0.0
    ss = int(supersample)
    big = size * ss
    n = max(1, int(np.ceil(scale * big * 1.5)))  # samples per segment: <= 1 canvas px apart
    t = np.linspace(0.0, 1.0, n + 1)[:, None, None]
    pts = (p0[None] + t * d[None]).reshape(-1, 2)
    ix = np.clip(np.round(((pts - (lo + hi) / 2.0) * scale + 0.5) * big - 0.5).astype(np.int64), 0, big - 1)
    canvas = np.zeros((big, big), dtype=bool)
    canvas[ix[:, 1], ix[:, 0]] = True
    r = max(0.5, (float(width) if width is not None else max(1.0, size / 64.0)) * ss / 2.0)
    ri = int(np.floor(r + 0.5))
    pen = np.zeros_like(canvas)  # the pen's disk around each sample: the union of the canvas shifted by its offsets
    for dy in range(-ri, ri + 1):
        for dx in range(-ri, ri + 1):
            if dx * dx + dy * dy <= r * r + 0.25:
                pen[max(0, dy):big + min(0, dy), max(0, dx):big + min(0, dx)] |= \
                    canvas[max(0, -dy):big - max(0, dy), max(0, -dx):big - max(0, dx)]
    canvas = pen
    return canvas.reshape(size, ss, size, ss).mean(axis=(1, 3)).astype(np.float32)
