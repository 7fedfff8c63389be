"""The pen of both front ends (the notebook's :class:`~sbsr_lab.widgets.sketchpad.SketchPad` and the app's
page): its width in pixels on a 360 px pad, and the line width a query rasterises it with.

    raster_width(DEFAULT_BRUSH, sketch_size=128)   # 2.0: the training sketches' line width (size / 64)
"""

from __future__ import annotations

__all__ = ["DEFAULT_BRUSH", "BRUSH_RANGE", "raster_width"]

#: Pen width in px on a 360 px pad that draws like the training sketches (their line width, size / 64).
DEFAULT_BRUSH = 6.0
#: Smallest and largest pen the pad's slider and the app accept (px on a 360 px pad).
BRUSH_RANGE = (1.0, 24.0)


def raster_width(brush: float, sketch_size: int) -> float:
    """Line width in px at the dataset's ``sketch_size`` for a pen of ``brush`` px on a 360 px pad: the
    training width (``sketch_size / 64``, at least 1) scaled by ``brush / DEFAULT_BRUSH``."""
    return max(1.0, sketch_size / 64) * brush / DEFAULT_BRUSH
