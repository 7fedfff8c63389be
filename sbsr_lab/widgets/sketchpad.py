"""``SketchPad``: draw strokes with the mouse or a finger in a notebook (ipycanvas), with undo and clear.

    pad = SketchPad(size=360)
    pad.on_stroke_end(lambda pad: print(len(pad.strokes)))
    pad.widget                      # display it
    pad.strokes                     # list of (N, 2) float32 arrays in [0, 1]^2 (x right, y down)
    pad.image(128)                  # (128, 128) float32, ink = 1, by sbsr_lab.data.strokes.strokes_to_image

The pad owns its strokes (no globals). The pure logic (stroke building, undo stack, coordinate
normalisation, caps) lives in methods the canvas callbacks call -- ``_start(x, y)``, ``_move(x, y)``,
``_end()`` in canvas pixels -- so it is tested without a browser by simulating events.

Caps keep the pad responsive on any input: a stroke is simplified (Ramer-Douglas-Peucker, 0.5 px)
when it ends or grows past ``max_points``, and :func:`sbsr_lab.data.strokes.cap_strokes` bounds the whole sketch.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from sbsr_lab.data.strokes import MAX_POINTS, MAX_STROKES, cap_strokes, simplify_strokes, strokes_to_image
from sbsr_lab.widgets.pen import BRUSH_RANGE, DEFAULT_BRUSH

__all__ = ["SketchPad"]

_SIMPLIFY_PX = 0.5       # RDP tolerance in canvas pixels


class SketchPad:
    """A square drawing canvas that records strokes; mouse and touch, undo, clear, brush width.

    Args:
        size: canvas side in screen pixels.
        brush_width: initial line width in canvas pixels (the slider changes it, 1..24).
        max_strokes, max_points: caps of :func:`cap_strokes` (a scribble of thousands of strokes
            never hangs the pad).
        build_ui: create the ipycanvas/ipywidgets controls (False: logic only, e.g. in a benchmark).
    """

    def __init__(self, size: int = 360, brush_width: float = DEFAULT_BRUSH, max_strokes: int = MAX_STROKES,
                 max_points: int = MAX_POINTS, build_ui: bool = True) -> None:
        self.size = int(size)
        self.brush_width = float(brush_width)
        self.max_strokes, self.max_points = max_strokes, max_points
        self._strokes: list[np.ndarray] = []      # finished strokes, canvas pixels (N, 2)
        self._widths: list[float] = []            # brush width of each finished stroke, canvas pixels
        self._current: list[tuple[float, float]] | None = None
        self._undo: list[tuple[list[np.ndarray], list[float]]] = []
        self._stroke_end: list[Callable[["SketchPad"], None]] = []
        self._change: list[Callable[["SketchPad"], None]] = []
        self.canvas: Any = None
        self.widget: Any = None
        if build_ui:
            self._build_ui()

    # -- public state -------------------------------------------------------------------------------
    @property
    def strokes(self) -> list[np.ndarray]:
        """Finished strokes as ``(N, 2)`` float32 arrays in [0, 1]^2 (x right, y down)."""
        return [(s / self.size).astype(np.float32) for s in self._strokes]

    @property
    def widths(self) -> list[float]:
        """Brush width of each stroke in canvas pixels."""
        return list(self._widths)

    @property
    def is_empty(self) -> bool:
        return not self._strokes

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def image(self, size: int = 128) -> np.ndarray:
        """The sketch as it is on the canvas (no re-centring): ``(size, size)`` float32, ink = 1."""
        if not self._strokes:
            return np.zeros((size, size), np.float32)
        base = self.brush_width * size / self.size
        return strokes_to_image(self.strokes, size=size, width=base,
                                widths=[w / self.brush_width for w in self._widths])

    @property
    def mean_brush(self) -> float:
        """Mean brush width of the strokes in canvas pixels (the current brush when empty)."""
        return float(np.mean(self._widths)) if self._widths else self.brush_width

    # -- callbacks --------------------------------------------------------------------------------------
    def on_stroke_end(self, callback: Callable[["SketchPad"], None]) -> None:
        """Call ``callback(pad)`` each time a stroke is finished (mouse up, touch end)."""
        self._stroke_end.append(callback)

    def on_change(self, callback: Callable[["SketchPad"], None]) -> None:
        """Call ``callback(pad)`` after any change of the strokes: stroke end, undo, clear, set_strokes."""
        self._change.append(callback)

    def _notify(self, stroke_end: bool) -> None:
        for cb in (self._stroke_end if stroke_end else []) + self._change:
            cb(self)

    # -- editing ------------------------------------------------------------------------------------------
    def _push_undo(self) -> None:
        self._undo.append((list(self._strokes), list(self._widths)))
        del self._undo[:-100]  # keep the last 100 states

    def undo(self, *_: Any) -> None:
        """Go back one change (a stroke, a clear or a replay)."""
        if not self._undo:
            return
        self._strokes, self._widths = self._undo.pop()
        self._current = None
        self.redraw()
        self._notify(stroke_end=False)

    def clear(self, *_: Any) -> None:
        """Remove every stroke (undoable)."""
        if not self._strokes:
            return
        self._push_undo()
        self._strokes, self._widths, self._current = [], [], None
        self.redraw()
        self._notify(stroke_end=False)

    def set_strokes(self, strokes: Sequence[Any], widths: Sequence[float] | None = None, notify: bool = True) -> None:
        """Replace the drawing with ``strokes`` in [0, 1]^2 (undoable); they are capped by :func:`cap_strokes`."""
        capped = cap_strokes(strokes, self.max_strokes, self.max_points)
        self._push_undo()
        self._strokes = [np.clip(s, 0, 1).astype(np.float64) * self.size for s in capped]
        if widths is None or len(widths) != len(capped):
            widths = [self.brush_width] * len(capped)
        self._widths = [float(w) for w in widths]
        self._current = None
        self.redraw()
        if notify:
            self._notify(stroke_end=False)

    # -- event logic (canvas pixels) -------------------------------------------------------------------------
    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        return float(min(max(x, 0.0), self.size)), float(min(max(y, 0.0), self.size))

    def _start(self, x: float, y: float) -> None:
        """Pointer down at canvas pixel ``(x, y)``: begin a stroke."""
        if self._current is not None:  # a lost "up" event: finish the previous stroke first
            self._end()
        self._current = [self._clamp(x, y)]
        cx, cy = self._current[0]
        self._paint(lambda c: c.fill_circle(cx, cy, self.brush_width / 2))

    def _move(self, x: float, y: float) -> None:
        """Pointer moved to ``(x, y)``: extend the stroke (ignored when no button is down)."""
        if self._current is None:
            return
        p = self._clamp(x, y)
        if p == self._current[-1]:
            return
        prev = self._current[-1]
        self._current.append(p)
        if len(self._current) > self.max_points:
            pts = simplify_strokes([np.asarray(self._current, np.float32)], _SIMPLIFY_PX * 4)[0]
            self._current = [tuple(map(float, q)) for q in pts]
        self._paint(lambda c: c.stroke_line(prev[0], prev[1], p[0], p[1]))

    def _end(self, *_: Any) -> None:
        """Pointer up (or left the canvas): finish the stroke, simplify it, notify listeners."""
        if self._current is None:
            return
        pts = np.asarray(self._current, dtype=np.float64)
        self._current = None
        if len(pts) > 2:
            pts = simplify_strokes([pts], _SIMPLIFY_PX)[0].astype(np.float64)
        self._push_undo()
        self._strokes.append(pts)
        self._widths.append(self.brush_width)
        if len(self._strokes) > self.max_strokes:
            self.set_strokes(self.strokes, notify=False)
            self._undo.pop()  # the capping is part of this stroke, not a separate step
        self._notify(stroke_end=True)

    # touch events give a list of (x, y) per finger: the first finger draws
    def _touch_start(self, touches: Sequence[Sequence[float]]) -> None:
        if touches:
            self._start(*touches[0][:2])

    def _touch_move(self, touches: Sequence[Sequence[float]]) -> None:
        if touches:
            self._move(*touches[0][:2])

    def _touch_end(self, touches: Sequence[Sequence[float]] | None = None) -> None:
        self._end()

    # -- drawing --------------------------------------------------------------------------------------------
    def _paint(self, draw: Callable[[Any], None]) -> None:
        """Run ``draw(canvas)`` as one batch of canvas commands (nothing without a canvas).

        ipycanvas routes all canvases through one manager that names the target canvas only when it
        changes; in Voila the first messages are sent before the page is ready and get lost (ipycanvas
        issue #342), so the target is named again at every batch.
        """
        if self.canvas is None:
            return
        from ipycanvas import canvas as ipycanvas_canvas
        from ipycanvas import hold_canvas

        manager = getattr(ipycanvas_canvas, "_CANVAS_MANAGER", None)
        if manager is not None:
            manager._current_canvas = None
        with hold_canvas():
            draw(self.canvas)

    def redraw(self) -> None:
        """Repaint the canvas from the strokes (after undo, clear, replay, and when the page is ready)."""
        def draw(c: Any) -> None:
            self._paper()
            for s, w in zip(self._strokes, self._widths):
                c.line_width = w
                if len(s) == 1 or np.ptp(s, axis=0).max() < 1e-6:
                    c.fill_circle(float(s[0, 0]), float(s[0, 1]), w / 2)
                else:
                    c.stroke_lines(s.tolist())
            c.line_width = self.brush_width

        self._paint(draw)

    def show_image(self, ink: np.ndarray) -> None:
        """Show a raster sketch ``(H, W)`` (ink = 1) on the canvas; it clears the strokes (undoable)."""
        if self._strokes:
            self._push_undo()
        self._strokes, self._widths, self._current = [], [], None
        if self.canvas is None:
            return
        from PIL import Image

        gray = (255 * (1 - np.clip(ink, 0, 1))).astype(np.uint8)
        rgb = np.asarray(Image.fromarray(gray).resize((self.size, self.size)).convert("RGB"))
        self._paint(lambda c: c.put_image_data(rgb, 0, 0))

    def _paper(self) -> None:
        c = self.canvas
        c.clear()
        c.fill_style = "white"
        c.fill_rect(0, 0, self.size, self.size)
        c.fill_style = c.stroke_style = "black"
        c.line_cap = c.line_join = "round"
        c.line_width = self.brush_width

    def _build_ui(self) -> None:
        import ipywidgets as W
        from ipycanvas import Canvas

        self.canvas = Canvas(width=self.size, height=self.size, sync_image_data=False,
                             layout=W.Layout(width=f"{self.size}px", height=f"{self.size}px",
                                             border="1px solid #999"))
        self.canvas.add_class("sbsr-sketchpad")
        self.canvas.on_client_ready(self.redraw)  # paint the paper (and any strokes) once the page is ready
        self.redraw()
        self.canvas.on_mouse_down(self._start)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(lambda x, y: self._end())
        self.canvas.on_mouse_out(lambda x, y: self._end())
        self.canvas.on_touch_start(self._touch_start)
        self.canvas.on_touch_move(self._touch_move)
        self.canvas.on_touch_end(self._touch_end)
        self.canvas.on_touch_cancel(self._touch_end)
        undo = W.Button(description="Undo", icon="undo", layout=W.Layout(width="90px"))
        clear = W.Button(description="Clear", icon="trash", layout=W.Layout(width="90px"))
        undo.on_click(self.undo)
        clear.on_click(self.clear)
        brush = W.FloatSlider(value=self.brush_width, min=BRUSH_RANGE[0], max=BRUSH_RANGE[1], step=1, description="brush",
                              readout_format=".0f", style={"description_width": "40px"},
                              layout=W.Layout(width="230px"))
        brush.observe(self._set_brush, names="value")
        self.buttons = {"undo": undo, "clear": clear, "brush": brush}
        self.widget = W.VBox([self.canvas, W.HBox([undo, clear, brush])])

    def _set_brush(self, change: dict[str, Any]) -> None:
        self.brush_width = float(change["new"])
        self._paint(lambda c: setattr(c, "line_width", self.brush_width))
