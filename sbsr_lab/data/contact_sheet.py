"""Contact sheet of a dataset: one row per class with gallery views and sketches ordered by noise.

``contact_sheet(manifest, "sheet.png")`` writes a PNG a person can scan in seconds to judge the data:
the first columns show a few gallery shapes (one rendered view each, in every rendered style), the
last columns the class's sketches at increasing noise levels (the noise is printed under each).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sbsr_lab.data.datasets import load_sketch_array, load_view_strip
from sbsr_lab.data.manifest import Manifest
from sbsr_lab.io import atomic_path

__all__ = ["contact_sheet"]


def _tile(array_u8: np.ndarray, tile: int, invert: bool = False) -> Image.Image:
    img = Image.fromarray(255 - array_u8 if invert else array_u8)
    return img.resize((tile, tile), Image.Resampling.BILINEAR)


def contact_sheet(manifest: Manifest, out: str | Path, shapes_per_row: int = 3, sketches_per_row: int = 5,
                  tile: int = 96, view: int = 1) -> Path:
    """Write the contact sheet of ``manifest`` to ``out`` (PNG, atomically); returns the path.

    Args:
        shapes_per_row: gallery shapes shown per class (each in every rendered style).
        sketches_per_row: sketches per class, picked evenly over the class's noise range.
        tile: side of one image in pixels.
        view: which view of the rig to show for the shapes.
    """
    styles = list(manifest.view_styles)
    label_w, pad, text_h = 90, 4, 14
    n_cols = shapes_per_row * len(styles) + sketches_per_row
    width = label_w + n_cols * (tile + pad) + pad
    row_h = tile + text_h + pad
    height = text_h + pad + len(manifest.classes) * row_h
    sheet = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(sheet)
    header = [f"shape/{s}" for s in styles for _ in range(shapes_per_row)] + ["sketch"] * sketches_per_row
    for c, name in enumerate(header):
        if c == 0 or header[c - 1] != name:
            draw.text((label_w + c * (tile + pad) + pad, 2), name, fill=0)
    for r, cls in enumerate(manifest.classes):
        y = text_h + pad + r * row_h
        draw.text((4, y + tile // 2 - 6), cls, fill=0)
        shapes = [s for s in manifest.shapes if s.cls == cls][:shapes_per_row]
        col = 0
        for style in styles:
            for rec in shapes:
                strip = load_view_strip(manifest.view_path(rec.id, style), manifest.num_views, manifest.view_size)
                sheet.paste(_tile(strip[view % len(strip)], tile), (label_w + col * (tile + pad) + pad, y))
                col += 1
            col += shapes_per_row - len(shapes)
        sketches = sorted((s for s in manifest.sketches if s.cls == cls), key=lambda s: s.noise or 0.0)
        if sketches:
            picks = np.unique(np.linspace(0, len(sketches) - 1, sketches_per_row).round().astype(int))
            for k, i in enumerate(picks):
                rec = sketches[i]
                arr = load_sketch_array(manifest.path(rec.png), tile)
                x = label_w + (col + k) * (tile + pad) + pad
                sheet.paste(_tile(arr, tile, invert=True), (x, y))
                draw.rectangle([x, y, x + tile - 1, y + tile - 1], outline=200)
                if rec.noise is not None:
                    draw.text((x + 2, y + tile + 1), f"noise {rec.noise:.2f} ({rec.split})", fill=0)
    out = Path(out)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out

