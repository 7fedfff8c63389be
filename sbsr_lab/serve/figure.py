"""One picture of a retrieval result: the sketch as the network sees it, the answer, and the top-k shapes.

    image = result_figure(engine.prepare(sketch), result, engine.thumbnails_of(result))
    image.save("result.png")                  # or: sbsr-lab query SKETCH --figure result.png

The sketch tile is the network's input (ink = 1 drawn black on white, so what the front end kept is what
you see); each shape tile is the gallery thumbnail's canonical view with its rank, class and cosine score.
Drawn with Pillow alone (no plotting library), so the CLI can write it on a machine without a display.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sbsr_lab.io import open_image
from sbsr_lab.serve.result import QueryResult
from sbsr_lab.serve.thumbnails import strip_view

__all__ = ["result_figure", "thumbnail_tile"]

_CAPTION = 30  # px under each tile for its caption
_HEADER = 34   # px above the tiles for the answer


def thumbnail_tile(path: str | None, side: int) -> Image.Image:
    """The canonical view of a gallery thumbnail (a single image or a view strip ``(s, V*s)``) as an RGB
    ``side`` x ``side`` tile; a light grey tile when the file is missing."""
    if not path or not Path(path).is_file():
        return Image.new("RGB", (side, side), (235, 235, 235))
    with open_image(io.BytesIO(Path(path).read_bytes())) as im:  # bounded against hostile files
        view = strip_view(im) or im
        return view.convert("RGB").resize((side, side), Image.Resampling.LANCZOS)


def _sketch_tile(image: np.ndarray, side: int) -> Image.Image:
    """The network input ``(H, W)`` float in [0, 1], ink = 1, as black ink on white."""
    ink = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if ink.ndim != 2:
        raise ValueError(f"result_figure: the query image must be (H, W), got shape {ink.shape}")
    grey = Image.fromarray(np.round(255.0 * (1.0 - ink)).astype(np.uint8), mode="L")
    return grey.resize((side, side), Image.Resampling.LANCZOS).convert("RGB")


def result_figure(query_image: np.ndarray, result: QueryResult, thumbnails: Sequence[str | None],
                  tile: int = 128) -> Image.Image:
    """The sketch, the answer (:attr:`QueryResult.label`) and the top-k shapes side by side, as one RGB image.

    ``query_image (H, W)`` is the network's input (ink = 1, :meth:`QueryEngine.prepare`); ``thumbnails`` one
    path (or None) per entry of ``result.results``, in the same order; ``tile`` the side of each tile in px.
    Width ``(k + 1) * (tile + 8) + 8`` px, height ``tile + 30 + 34 + 8`` px.
    """
    if len(thumbnails) != len(result.results):
        raise ValueError(f"result_figure: {len(result.results)} results but {len(thumbnails)} thumbnails")
    gap = 8
    k = len(result.results)
    width = (k + 1) * (tile + gap) + gap
    height = _HEADER + tile + _CAPTION + gap
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    draw.text((gap, 10), result.label, fill=(150, 30, 30) if result.is_ood else (20, 20, 20), font=font)
    x = gap
    canvas.paste(_sketch_tile(query_image, tile), (x, _HEADER))
    draw.rectangle((x, _HEADER, x + tile - 1, _HEADER + tile - 1), outline=(60, 60, 60))
    draw.text((x, _HEADER + tile + 6), "your sketch", fill=(20, 20, 20), font=font)
    for r, thumb in zip(result.results, thumbnails):
        x += tile + gap
        canvas.paste(thumbnail_tile(thumb, tile), (x, _HEADER))
        draw.rectangle((x, _HEADER, x + tile - 1, _HEADER + tile - 1), outline=(200, 200, 200))
        caption = f"{r['rank']}. {r.get('class') or '?'}  {float(r['score']):.2f}"
        draw.text((x, _HEADER + tile + 6), caption, fill=(20, 20, 20), font=font)
    return canvas
