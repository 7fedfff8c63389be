"""``sketch_demo()``: draw a sketch, get the 3D shapes of the same kind back, live.

    from sbsr_lab.widgets import sketch_demo
    sketch_demo()                              # the bundled model (UACTN), top 8
    sketch_demo("bundle:cfttsl", k=12)         # or a run folder: sketch_demo("runs/demo-default/student")

:class:`RetrievalDemo` is a thin layout over small parts, each in its own module:

* :class:`~sbsr_lab.widgets.sketchpad.SketchPad` -- the canvas (strokes, undo, clear, brush);
* :class:`~sbsr_lab.widgets.controls.ModelPicker` -- bundled methods or a run folder, loaded through
  :func:`sbsr_lab.serve.engine.load_engine` (the one loader), specs as
  :class:`~sbsr_lab.serve.engine.ModelSpec`;
* :class:`~sbsr_lab.widgets.panels.AnswerPanel` -- the verdict ("Looks like an airplane (87%)", or
  "This does not look like any class I know." when the out-of-distribution detector fires), the
  calibrated class probabilities and UACTN's sigma;
* :class:`~sbsr_lab.widgets.results.ResultGrid` -- the top-k shapes, kept in Python, each with the
  rendered view that matches the sketch best;
* :class:`~sbsr_lab.widgets.mesh_view.MeshView` -- the selected shape in 3D;
* :class:`~sbsr_lab.widgets.controls.HistoryPanel` -- one entry per drawing, replay, CSV export.

Everything a front-end draws is kept in synced traits (the answer's HTML, the mesh), so a view that
starts after the first query shows the current one. The gallery is queried when a stroke ends,
debounced (``debounce_s``, 150 ms): a quick second stroke cancels the pending query. Tests pass
``schedule=lambda run: run()`` to query at once.

History: one entry per drawing (:meth:`~sbsr_lab.widgets.history.QueryHistory.record_drawing`): a
drawing starts on a clear pad, each of its stroke-end queries replaces the entry (the half-drawn
guesses are dropped, the count is kept), and a replay reproduces the entry's strokes, pen width,
model and results. Test sketches and replays are not recorded; drawing on top of one starts a new drawing.
"""

from __future__ import annotations

import contextlib
import html
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from sbsr_lab.config import PROFILES, get_profile
from sbsr_lab.data.build import default_root
from sbsr_lab.data.manifest import load_manifest
from sbsr_lab.data.stroke_io import load_sketch_image, load_strokes
from sbsr_lab.data.strokes import sketch_problem
from sbsr_lab.errors import SbsrError, SketchError
from sbsr_lab.serve.engine import ModelSpec
from sbsr_lab.serve.meshes import mesh_arrays
from sbsr_lab.serve.query import QueryEngine
from sbsr_lab.serve.result import QueryResult
from sbsr_lab.widgets.app import METHOD_LABELS
from sbsr_lab.widgets.controls import HistoryPanel, ModelPicker, spec_text
from sbsr_lab.widgets.history import QueryHistory, short_path
from sbsr_lab.widgets.mesh_view import MeshView
from sbsr_lab.widgets.panels import AnswerPanel
from sbsr_lab.widgets.pen import raster_width
from sbsr_lab.widgets.results import ResultGrid, thumbnail_png, view_png
from sbsr_lab.widgets.sketchpad import SketchPad

__all__ = ["Debouncer", "RetrievalDemo", "sketch_demo"]


class Debouncer:
    """Call ``fn()`` once, ``delay_s`` after the last of a burst of :meth:`__call__` (threading.Timer)."""

    def __init__(self, fn: Callable[[], None], delay_s: float = 0.15) -> None:
        self.fn, self.delay_s = fn, float(delay_s)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay_s, self.fn)
            self._timer.daemon = True
            self._timer.start()

    @property
    def pending(self) -> bool:
        with self._lock:
            return self._timer is not None and self._timer.is_alive()

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None


def _new_drawing() -> str:
    return "nb-" + secrets.token_hex(6)


class RetrievalDemo:
    """The live retrieval demo; :attr:`widget` is the one ``VBox`` to display (module docstring).

    Args:
        model: a model spec (:class:`~sbsr_lab.serve.engine.ModelSpec`, or its text: None = the bundled
            UACTN, ``"cfttsl"``/``"bundle:cfttsl"``, a run folder, a bundle folder), or a ``QueryEngine``.
        bundle: bundle folder for method names (default: the packaged one).
        data: dataset folder whose test sketches the picker offers (default: the model's own dataset).
        gallery: a folder made by ``sbsr-lab index`` (your own meshes): searched instead of the model's gallery.
        k: number of shapes shown.
        history: True (default file: :func:`~sbsr_lab.widgets.history.default_history_path`, under the
            user's data folder), False (no history), a path or a :class:`QueryHistory`.
        user: user name stored with each drawing (default: the login name).
        debounce_s: wait after a stroke ends before querying (a new stroke restarts the wait).
        schedule: replaces the debouncer: ``schedule(run)`` must call ``run()`` later or now (tests).
        pad_size: canvas side in pixels.
        auto_3d: show the top result in 3D after each query.
        threads: torch CPU threads for one query (1: a single small image gains nothing from more, and
            on a busy CPU extra threads spin against other processes).
    """

    def __init__(self, model: Any = None, bundle: str | Path | None = None, data: str | Path | None = None,
                 k: int = 8, history: bool | str | Path | QueryHistory = True, user: str | None = None,
                 debounce_s: float = 0.15, schedule: Callable[[Callable[[], None]], None] | None = None,
                 pad_size: int = 360, auto_3d: bool = True, threads: int | None = 1,
                 gallery: str | Path | None = None) -> None:
        import ipywidgets as W

        self.k, self.data, self.auto_3d, self.threads = int(k), data, auto_3d, threads
        self.engine: QueryEngine | None = None
        self.spec: ModelSpec | None = None
        self.last_result: QueryResult | None = None
        self.last_timing: dict[str, float] = {}
        self.selected: str | None = None
        self.drawing = _new_drawing()          # history entry id of the drawing on the pad
        self.source: str | None = None         # "test sketch <id>" / "replay #<id>" while the pad shows one
        self._query_lock = threading.Lock()
        self._test_sketches: list[Any] = []
        self._manifest: Any = None
        self._rows: dict[str, int] = {}        # gallery id -> row of the engine's index
        self.replay_matches: bool | None = None  # did the last replay give the recorded answer?
        self.history: QueryHistory | None = self._open_history(history, user)

        self.pad = SketchPad(size=pad_size)
        self._debouncer = Debouncer(self.query_now, debounce_s)
        self._schedule = schedule or (lambda run: self._debouncer())
        self.pad.on_change(self._pad_changed)

        self.status = W.HTML()
        self.status.add_class("sbsr-status")
        self.sketch_label = W.HTML()
        self.sketch_label.add_class("sbsr-sketch-source")
        self.picker = ModelPicker(bundle, on_pick=self.set_model, data=data, gallery=gallery)
        self.answer = AnswerPanel()
        self.grid = ResultGrid(self.k, on_select=lambda r: self.select(r["id"]))
        self.view3d = MeshView(size=340)
        self.history_panel = HistoryPanel(self.history, user, on_replay=self.replay, on_export=self.export_history)
        self.sketch_box = W.Dropdown(description="test sketch", options=[("(none)", -1)], value=-1,
                                     layout=W.Layout(width="320px"))
        self.sketch_box.observe(self._on_sketch_box, names="value")
        self.widget = W.VBox([
            W.HTML("<b>Draw a shape</b>: the gallery is searched each time you lift the pen."),
            self.picker.widget, self.sketch_box,
            W.HBox([W.VBox([self.pad.widget, self.sketch_label]), self.answer.widget]),
            self.status,
            self.grid.widget,
            W.HBox([self.view3d, self.history_panel.widget], layout=W.Layout(flex_flow="row wrap")),
        ])
        self.widget.add_class("sbsr-demo")
        self.set_model(model)

    # -- parts, for code that reads them --------------------------------------------------------------
    @property
    def bundle(self) -> str | Path | None:
        return self.picker.bundle

    @property
    def model_spec(self) -> str:
        """The current model as the history writes it (``bundle:METHOD`` or the run folder)."""
        return spec_text(self.spec) if self.spec is not None else ""

    @property
    def user_box(self) -> Any:
        return self.history_panel.user_box

    @property
    def shown_results(self) -> list[dict[str, Any]]:
        """What the grid shows now (kept in Python by :class:`ResultGrid`)."""
        return list(self.grid.results)

    @property
    def status_text(self) -> str:
        """The status line as plain text (no HTML)."""
        import re

        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))

    # -- model ------------------------------------------------------------------------------------------
    def set_model(self, model: Any, requery: bool = True) -> bool:
        """Switch to another model; on failure keep the old one and show why. Returns success."""
        try:
            if isinstance(model, QueryEngine):
                spec = self.picker.add_engine(model)
            else:
                spec = self.picker.resolve(model)
            engine = self.picker.load(spec)
        except SbsrError as err:
            self._message(f"Cannot load the model: {err}", error=True)
            self.picker.sync(self.spec)
            return False
        self.engine, self.spec = engine, spec
        self._rows = {sid: i for i, sid in enumerate(engine.index.ids)}
        self.picker.sync(spec)
        self._load_test_sketches()
        self.answer.clear(engine.class_names)
        self._message(f"Model: <b>{html.escape(METHOD_LABELS.get(engine.method, engine.method))}</b>, gallery of "
                      f"{len(engine.index)} shapes. Draw something.")
        if requery and not self.pad.is_empty:  # the same drawing, the new model (a test sketch stays unrecorded)
            self.query_now()
        return True

    # -- drawing ----------------------------------------------------------------------------------------
    def _pad_changed(self, pad: SketchPad) -> None:
        """A person changed the pad: a clear pad, or a change to a test sketch or a replay, starts a new drawing."""
        if pad.is_empty or self.source is not None:
            self.drawing = _new_drawing()
        if self.source is not None and not pad.is_empty:
            self.sketch_label.value = (f"<i>your strokes on top of {html.escape(self.source)}: a new drawing "
                                       "(Clear to start your own)</i>")
        elif pad.is_empty:
            self.sketch_label.value = ""
        self.source = None
        self._schedule(self.query_now)

    def draw(self, strokes: Any) -> QueryResult | None:
        """Put ``strokes`` on the pad as a person's new drawing and query at once (recorded like one drawn
        by hand, without waiting for the debouncer); returns the ``QueryResult``."""
        self.source, self.drawing, self.sketch_label.value = None, _new_drawing(), ""
        self.pad.set_strokes(strokes, notify=False)
        return self.query_now()

    def _width(self, brush: float) -> float:
        """The query's line width for a pen of ``brush`` px (:func:`~sbsr_lab.widgets.pen.raster_width`)."""
        return raster_width(brush, self.engine.sketch_size)

    # -- querying ---------------------------------------------------------------------------------------
    def query_now(self, sketch: Any = None, record: bool = True) -> QueryResult | None:
        """Query the gallery with the pad's strokes (or ``sketch``: strokes, file path or ink image) and
        show the results. Returns the ``QueryResult``, or None with a message for an unusable sketch."""
        with self._query_lock:
            t0 = time.perf_counter()
            if self.engine is None:
                self._message("No model loaded: pick one above (or train one with `sbsr-lab demo`).", error=True)
                return None
            strokes = None
            if sketch is None:
                strokes = self.pad.strokes
                problem = sketch_problem(strokes)
                if problem:
                    self._clear_results()
                    self._message(problem, error=True)
                    return None
                sketch, width = strokes, self._width(self.pad.mean_brush)
            else:
                width = None
            try:
                with _torch_threads(self.threads):
                    result = self.engine.query(sketch, k=self.k, width=width)
            except SketchError as err:
                self._clear_results()
                self._message(str(err), error=True)
                return None
            t1 = time.perf_counter()
            self._show_result(result)
            t2 = time.perf_counter()
            self.last_result = result
            self.last_timing = {"query_ms": 1e3 * (t1 - t0), "ui_ms": 1e3 * (t2 - t1), "total_ms": 1e3 * (t2 - t0)}
            sigma = "" if result.uncertainty is None else f", uncertainty σ = {result.uncertainty:.3f}"
            self._message(f"<b>{html.escape(result.label)}</b>{sigma}. "
                          f"Answered in {self.last_timing['total_ms']:.0f} ms.")
            if record and self.history is not None and strokes is not None and self.source is None:
                try:
                    self.history.record_answer(self.drawing, strokes, self.model_spec, result,
                                               user=self.history_panel.user, width=self.pad.mean_brush)
                    self.history_panel.refresh()
                except SbsrError as err:
                    self._message(f"(history not saved: {html.escape(str(err))})", error=True, append=True)
        if self.auto_3d and result.results:
            self.select(result.results[0]["id"])
        return result

    def _show_result(self, result: QueryResult) -> None:
        index, views = self.engine.index, getattr(self.engine, "views", None)
        images = []
        for r in result.results:
            row = self._rows.get(r["id"])
            thumb = index.thumbnails[row] if row is not None and index.thumbnails else None
            strip = views.strips[row] if views is not None and views.strips and row is not None else None
            best = view_png(strip, r["view"]) if strip and r.get("view") is not None else None
            images.append((thumbnail_png(thumb), best))
        self.grid.show(result.results, images)
        self.answer.show(result)

    def _clear_results(self) -> None:
        self.grid.clear()
        self.answer.clear(self.engine.class_names if self.engine is not None else [])
        self.view3d.clear()
        self.last_result = None

    # -- 3D view ------------------------------------------------------------------------------------------
    def select(self, shape_id: str) -> bool:
        """Show gallery shape ``shape_id`` in the 3D view; False (with a note) when its mesh is not available."""
        self.selected = shape_id
        source = (self.engine.shapes if self.engine is not None else {}).get(shape_id)
        arrays = None
        if source is not None:
            try:
                arrays = mesh_arrays(source)
            except (SbsrError, OSError, ValueError) as err:  # a broken mesh file must not break the demo
                self._message(f"(cannot show {html.escape(shape_id)} in 3D: {html.escape(str(err))})",
                              error=True, append=True)
        if arrays is None:
            self.view3d.show([], [], title=shape_id, note="no 3D mesh for this shape (its views are shown above)")
            return False
        v, f = arrays
        self.view3d.show(v, f, title=shape_id)
        return True

    # -- test sketches --------------------------------------------------------------------------------------
    def _load_test_sketches(self) -> None:
        """Offer the test sketches of the model's dataset (only when its classes match the model's)."""
        candidates = [str(self.data)] if self.data else _dataset_candidates(self.spec, self.bundle)
        self._manifest, self._test_sketches = None, []
        for root in candidates:
            try:
                m = load_manifest(root)
            except (SbsrError, OSError, ValueError):
                continue
            if list(m.classes) == list(self.engine.class_names):
                self._manifest, self._test_sketches = m, m.sketches_of("test")
                break
        options = [("(none)", -1)] + [(f"{s.id} ({s.cls}" + (f", noise {s.noise:.2f})" if s.noise is not None else ")"), i)
                                      for i, s in enumerate(self._test_sketches)]
        self._resetting = True
        try:
            self.sketch_box.options = options
            self.sketch_box.value = -1
        finally:
            self._resetting = False

    @property
    def test_sketches(self) -> list[Any]:
        """The picker's sketches (``SketchRecord`` of the model's dataset, test split)."""
        return list(self._test_sketches)

    def _on_sketch_box(self, change: dict[str, Any]) -> None:
        if getattr(self, "_resetting", False) or change["new"] is None or change["new"] < 0:
            return
        try:
            self.query_test_sketch(change["new"])
        finally:  # the picker goes back to "(none)": picking the same sketch again works, no stale value
            self._resetting = True
            try:
                self.sketch_box.value = -1
            finally:
                self._resetting = False

    def query_test_sketch(self, i: int) -> QueryResult | None:
        """Put test sketch ``i`` into the pad (its strokes, else its image) and query with it (not recorded)."""
        rec = self._test_sketches[i]
        self.source = f"test sketch {rec.id}"
        self.sketch_label.value = (f"<b>test sketch: {html.escape(rec.id)}</b> ({html.escape(rec.cls)}) "
                                   "— draw on a clear pad to make your own")
        if rec.strokes:
            self.pad.set_strokes(load_strokes(self._manifest.path(rec.strokes)), notify=False)
            return self.query_now(record=False)
        png = self._manifest.path(rec.png)
        self.pad.show_image(load_sketch_image(png, self.pad.size))
        return self.query_now(sketch=png, record=False)

    # -- history --------------------------------------------------------------------------------------------
    @staticmethod
    def _open_history(history: bool | str | Path | QueryHistory, user: str | None) -> QueryHistory | None:
        if history is False or history is None:
            return None
        if isinstance(history, QueryHistory):
            return history
        try:
            return QueryHistory(None if history is True else history, user=user)
        except SbsrError as err:
            print(f"sbsr_lab: query history disabled: {err}")
            return None

    def replay(self, entry_id: int) -> QueryResult | None:
        """Reproduce a recorded drawing exactly: its strokes with its pen width, its model, its query.

        Says whether the answer is the recorded one (same shapes and scores) and returns the ``QueryResult``.
        """
        if self.history is None:
            return None
        entry = self.history.get(entry_id)
        if entry.model != self.model_spec and not self.set_model(entry.model, requery=False):
            return None
        brush = entry.brush  # the recorded pen, not the current one
        self.source = f"replay #{entry.id}"
        self.pad.set_strokes(entry.strokes, widths=[brush] * len(entry.strokes), notify=False)
        self.sketch_label.value = (f"<b>replay of drawing #{entry.id}</b> ({html.escape(entry.user)}, "
                                   f"pen {brush:g} px) — draw on a clear pad to make your own")
        result = self.query_now(record=False)
        if result is None:
            return None
        same = ([r["id"] for r in result.results] == entry.top_ids and
                np.allclose([r["score"] for r in result.results], entry.top_scores, atol=1e-5))
        note = ("the same shapes and scores as recorded" if same else
                "the answer differs from the recorded one (the model changed since?)")
        self._message(f"Replayed drawing #{entry.id} ({html.escape(entry.model)}, pen {brush:g} px): {note}.",
                      append=True, error=not same)
        self.replay_matches = same
        return result

    def export_history(self, path: str | Path) -> Path | None:
        """Export the history to CSV (atomic) and say where (short path)."""
        if self.history is None or not str(path).strip():
            self._message("No history to export.", error=True)
            return None
        out = self.history.export_csv(Path(str(path)).expanduser())
        self._message(f"History exported to {html.escape(short_path(out))}.")
        return out

    # -- messages -------------------------------------------------------------------------------------------
    def _message(self, text: str, error: bool = False, append: bool = False) -> None:
        """Show ``text`` (HTML: callers escape what comes from outside) in the status line."""
        color = "#b00020" if error else "#222"
        line = f'<span style="color:{color}">{text}</span>'
        self.status.value = (self.status.value + " " + line) if append else line


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (None: leave the setting alone)."""
    import torch

    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _dataset_candidates(spec: ModelSpec | None, bundle: str | Path | None) -> list[str]:
    """Dataset folders a model may come from: a run's recorded data, else the default folder of its profile."""
    out: list[str] = []
    for candidate in (spec, None):  # a notebook's engine falls back to the bundle's profile
        try:
            meta = ModelSpec.parse(candidate, bundle).meta()
            break
        except (SbsrError, OSError):  # no such model: set_model has said why
            continue
    else:
        return []
    out.append(str(meta.get("data") or ""))
    profile = meta.get("profile") or {}
    if profile.get("name") in PROFILES:
        out.append(str(default_root(get_profile(profile["name"]))))
    return [p for p in out if p]


def sketch_demo(model: Any = None, bundle: str | Path | None = None, data: str | Path | None = None, k: int = 8,
                history: bool | str | Path = True, user: str | None = None, gallery: str | Path | None = None,
                **kwargs: Any):
    """The live demo widget (a ``VBox``); see :class:`RetrievalDemo` for the arguments.

    The :class:`RetrievalDemo` object is reachable as ``widget.demo``.
    """
    demo = RetrievalDemo(model, bundle=bundle, data=data, k=k, history=history, user=user, gallery=gallery, **kwargs)
    demo.widget.demo = demo
    return demo.widget
