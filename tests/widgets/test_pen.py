"""widgets/pen.py: the pen of both front ends (the notebook pad and the app's page) and its raster width."""

from __future__ import annotations

from sbsr_lab.widgets.history import HistoryEntry
from sbsr_lab.widgets.pen import BRUSH_RANGE, DEFAULT_BRUSH, raster_width


def test_the_default_pen_draws_the_training_line_width():
    assert raster_width(DEFAULT_BRUSH, 128) == 2.0          # size / 64
    assert raster_width(DEFAULT_BRUSH, 32) == 1.0           # never thinner than one pixel
    assert raster_width(2 * DEFAULT_BRUSH, 128) == 4.0
    assert BRUSH_RANGE[0] <= DEFAULT_BRUSH <= BRUSH_RANGE[1]


def test_a_history_entry_replays_with_its_own_pen_or_the_default():
    entry = HistoryEntry(1, "ana", "2024-01-01T00:00:00", "bundle:uactn", [], [], [])
    assert entry.brush == DEFAULT_BRUSH                     # rows from before pen widths were stored
    entry.width = 3.0
    assert entry.brush == 3.0
