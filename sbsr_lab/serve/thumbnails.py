"""Gallery thumbnails: one view out of a view strip ``(s, V*s)``, the one place that knows the strip layout.

A bundle or gallery stores each shape's thumbnail as a strip of its V rendered views side by side (or as one
image); the widget's result tiles, the app and ``sbsr-lab query --figure`` all show one view of it.
"""

from __future__ import annotations

from PIL import Image

from sbsr_lab.retrieval.report import THUMBNAIL_VIEW

__all__ = ["strip_view"]


def strip_view(im: Image.Image, view: int | None = None) -> Image.Image | None:
    """View ``view`` of a strip ``(s, V*s)`` (None: the canonical :data:`THUMBNAIL_VIEW`); a single image (fewer
    than two square views side by side) is returned as it is; None when the strip has no such view."""
    w, h = im.size
    n = w // h if h else 0
    if n < 2:
        return im
    v = THUMBNAIL_VIEW if view is None else int(view)
    if not 0 <= v < n:
        return None
    return im.crop((v * h, 0, (v + 1) * h, h))
