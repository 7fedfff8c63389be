"""``sketch_demo()``: draw a sketch, get the 3D shapes of the same kind back, live.

    from sbsr_lab.widgets import sketch_demo
    sketch_demo()                              # the bundled model (UACTN), top 8
    sketch_demo("bundle:cfttsl", k=12)         # or a run folder: sketch_demo("runs/demo-default/student")

One widget (a ``VBox``): a :class:`~sbsr_lab.widgets.sketchpad.SketchPad`; the top-k gallery shapes
(thumbnail, class, cosine score); a plotly 3D view of the selected shape; the predicted class
probabilities; UACTN's uncertainty as a gauge; a model selector (bundled methods or any run folder);
a picker of the benchmark's test sketches; and the query history (replay, export to CSV).

The gallery is queried when a stroke ends, debounced (``debounce_s``, 150 ms): a quick second
stroke cancels the pending query. Tests pass ``schedule=lambda run: run()`` to query at once.
"""

from __future__ import annotations

import base64
import contextlib
import io
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from sbsr_lab.data.strokes import sketch_problem
from sbsr_lab.errors import SbsrError, SketchError
from sbsr_lab.retrieval.engine import ModelSpec, bundle_methods, load_engine
from sbsr_lab.widgets.app import METHOD_LABELS
from sbsr_lab.widgets.history import QueryHistory
from sbsr_lab.widgets.sketchpad import DEFAULT_BRUSH, SketchPad

__all__ = ["Debouncer", "RetrievalDemo", "sketch_demo"]

_RUN_OPTION = "__run__"
_BLANK_PNG = base64.b64decode(  # 1x1 white pixel for empty tiles
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAG7buVgAAAABJRU5ErkJggg==")


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


@lru_cache(maxsize=512)
def _png_bytes(path: str | None) -> bytes:
    """PNG bytes of a thumbnail; a view strip ``(H, V*H)`` is cut down to its second view (as bundles do)."""
    if not path or not Path(path).is_file():
        return _BLANK_PNG
    data = Path(path).read_bytes()
    from sbsr_lab.io import open_image

    with open_image(io.BytesIO(data)) as im:  # bounded: a hostile thumbnail cannot allocate gigabytes
        w, h = im.size
        if w < 2 * h:
            return data
        out = io.BytesIO()
        im.crop((h, 0, 2 * h, h)).save(out, format="PNG")
    return out.getvalue()


@lru_cache(maxsize=64)
def _mesh_arrays(source_key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
    """Vertices (V, 3) and faces (F, 3) of a gallery shape, or None when its mesh is not available."""
    source = dict(source_key)
    if "mesh" in source:
        if not Path(source["mesh"]).is_file():
            return None
        from sbsr_lab.data.meshes import load_mesh

        mesh = load_mesh(source["mesh"])
    elif "class" in source:
        from sbsr_lab.data.synthshapes import make_shape

        mesh = make_shape(source["class"], int(source["index"]), int(source.get("seed", 0)))[0]
    else:
        return None
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


class RetrievalDemo:
    """The live retrieval demo; :attr:`widget` is the one ``VBox`` to display.

    Args:
        model: a model spec (see :mod:`sbsr_lab.retrieval.engine`): None = the bundled UACTN,
            ``"cfttsl"``/``"bundle:cfttsl"``, a run folder, a bundle folder, or a ``QueryEngine``.
        bundle: bundle folder for method names (default: the packaged one).
        data: dataset folder whose test sketches the picker offers (default: the model's own dataset).
        k: number of shapes shown.
        history: True (default file under the data root), False (no history), a path or a :class:`QueryHistory`.
        user: user name stored with each query (default: the login name).
        debounce_s: wait after a stroke ends before querying (a new stroke restarts the wait).
        schedule: replaces the debouncer: ``schedule(run)`` must call ``run()`` later or now (tests).
        pad_size: canvas side in pixels.
        auto_3d: show the top result in 3D after each query.
        threads: torch CPU threads for one query (1: a single small image gains nothing from more, and
            on a busy CPU extra threads spin against other processes: 7 ms vs 200 ms measured on 2 shared cores).
    """

    def __init__(self, model: Any = None, bundle: str | Path | None = None, data: str | Path | None = None,
                 k: int = 8, history: bool | str | Path | QueryHistory = True, user: str | None = None,
                 debounce_s: float = 0.15, schedule: Callable[[Callable[[], None]], None] | None = None,
                 pad_size: int = 360, auto_3d: bool = True, threads: int | None = 1) -> None:
        import ipywidgets as W

        self.k, self.bundle, self.data, self.auto_3d, self.threads = int(k), bundle, data, auto_3d, threads
        self.engine: Any = None
        self.model_spec: str = ""
        self.last_result: Any = None
        self.last_timing: dict[str, float] = {}
        self.selected: str | None = None
        self._query_lock = threading.Lock()
        self._sigma_max = 0.05
        self._test_sketches: list[Any] = []
        self._manifest: Any = None
        self._engines: dict[str, Any] = {}   # model spec -> loaded QueryEngine (switching back is instant)
        self.history: QueryHistory | None = self._open_history(history, user)

        self.pad = SketchPad(size=pad_size)
        self._debouncer = Debouncer(self.query_now, debounce_s)
        self._schedule = schedule or (lambda run: self._debouncer())
        self.pad.on_change(lambda pad: self._schedule(self.query_now))

        self.status = W.HTML()
        self.status.add_class("sbsr-status")
        self._build_results()
        self._build_figures()
        self._build_controls(user)
        self.widget = W.VBox([
            W.HTML("<b>Draw a shape</b>: the gallery is searched each time you lift the pen."),
            self.controls,
            W.HBox([self.pad.widget, W.VBox([self.prob_fig, self.gauge_fig])]),
            self.status,
            self.grid,
            W.HBox([self.view3d, self.history_panel]),
        ])
        self.widget.add_class("sbsr-demo")
        self.set_model(model)

    # -- model ------------------------------------------------------------------------------------------
    def set_model(self, model: Any) -> bool:
        """Switch to another model spec; on failure keep the old one and show why. Returns success."""
        from sbsr_lab.retrieval.query import QueryEngine

        if isinstance(model, QueryEngine):
            spec = f"engine:{model.method}"
            self._engines[spec] = model
        try:
            if not isinstance(model, QueryEngine):
                ms = ModelSpec.parse(model, self.bundle).resolved()
                if ms.kind == "bundle" and ms.path is not None and ms.path != ModelSpec.parse(None, self.bundle).path:
                    self.bundle = str(ms.path)  # a bundle folder: offer all its methods
                spec = f"bundle:{ms.method}" if ms.kind == "bundle" else str(ms.path)
                model = ms
            engine = self._engines.get(spec) or load_engine(model, str(self.data) if self.data else None)
        except SbsrError as err:
            self._message(f"Cannot load the model: {err}", error=True)
            return False
        spec = spec or f"bundle:{engine.method}"
        self._engines[spec] = engine
        self.engine, self.model_spec = engine, spec
        self._sync_model_selector()
        self._load_test_sketches()
        self._reset_probabilities()
        self._message(f"Model: <b>{METHOD_LABELS.get(engine.method, engine.method)}</b>, gallery of "
                      f"{len(engine.index)} shapes. Draw something.")
        if not self.pad.is_empty:
            self.query_now()
        return True

    # -- querying ---------------------------------------------------------------------------------------
    def query_now(self, sketch: Any = None, record: bool = True) -> Any:
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
                sketch = strokes
                # the training line width (strokes_to_image's default), scaled by the brush
                width = max(1.0, self.engine.sketch_size / 64) * self.pad.mean_brush / DEFAULT_BRUSH
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
            self._message(f"Looks like a <b>{result.predicted_class}</b> "
                          f"({100 * result.probabilities[result.predicted_class]:.0f}%){sigma}. "
                          f"Answered in {self.last_timing['total_ms']:.0f} ms.")
            if record and self.history is not None and strokes is not None:
                try:
                    self.history.add(strokes, self.model_spec, result.results, user=self.user_box.value or None,
                                     predicted_class=result.predicted_class, uncertainty=result.uncertainty)
                    self._refresh_history()
                except SbsrError as err:
                    self._message(f"(history not saved: {err})", error=True, append=True)
        if self.auto_3d and result.results:
            self.select(result.results[0]["id"])
        return result

    # -- results ----------------------------------------------------------------------------------------
    def _build_results(self) -> None:
        import ipywidgets as W

        self._tiles = []
        for i in range(self.k):
            image = W.Image(value=_BLANK_PNG, format="png", layout=W.Layout(width="96px", height="96px"))
            caption = W.HTML()
            button = W.Button(description="3D", layout=W.Layout(width="96px"))
            button.on_click(lambda _b, i=i: self._select_tile(i))
            tile = W.VBox([image, caption, button], layout=W.Layout(display="none", border="1px solid #ddd",
                                                                      padding="2px", align_items="center"))
            self._tiles.append((tile, image, caption, button))
        self.grid = W.GridBox([t[0] for t in self._tiles],
                              layout=W.Layout(grid_template_columns="repeat(auto-fill, 104px)", grid_gap="4px"))
        self.grid.add_class("sbsr-results")

    def _show_result(self, result: Any) -> None:
        thumbs = dict(zip(self.engine.index.ids, self.engine.index.thumbnails))
        for i, (tile, image, caption, button) in enumerate(self._tiles):
            if i < len(result.results):
                r = result.results[i]
                image.value = _png_bytes(thumbs.get(r["id"]))
                caption.value = (f'<div class="sbsr-result" data-rank="{r["rank"]}" data-class="{r["class"]}" '
                                 f'data-id="{r["id"]}" style="font-size:12px;text-align:center">'
                                 f'#{r["rank"]} <b>{r["class"]}</b><br>{r["score"]:.3f}</div>')
                tile.layout.display = "flex"
            else:
                caption.value = ""
                tile.layout.display = "none"
        classes = list(result.probabilities)
        bars = self.prob_fig.data[0]
        if not self._bars_sent:  # updates made before the page showed the figure are lost: send y again
            bars.y = None
            self._bars_sent = True
        with self.prob_fig.batch_update():
            bars.x = [result.probabilities[c] for c in classes]
            bars.y = classes
            bars.text = [f"{100 * result.probabilities[c]:.0f}%" for c in classes]
        gauge = self.gauge_fig.data[0]
        with self.gauge_fig.batch_update():
            if result.uncertainty is None:
                gauge.value = 0
                self.gauge_fig.layout.title.text = f"uncertainty: n/a ({result.method} has none)"
            else:
                self._sigma_max = max(self._sigma_max, 1.25 * result.uncertainty)
                gauge.value = result.uncertainty
                gauge.gauge.axis.range = [0, self._sigma_max]
                self.gauge_fig.layout.title.text = "uncertainty σ (UACTN)"

    def _clear_results(self) -> None:
        for tile, image, caption, _ in self._tiles:
            caption.value = ""
            tile.layout.display = "none"
        self._reset_probabilities()
        self.last_result = None

    @property
    def shown_results(self) -> list[dict[str, str]]:
        """What the grid shows now: ``[{"rank", "class", "id"}]`` read back from the tiles."""
        import re

        out = []
        for tile, _, caption, _ in self._tiles:
            m = re.search(r'data-rank="(\d+)" data-class="([^"]*)" data-id="([^"]*)"', caption.value)
            if m and tile.layout.display != "none":
                out.append({"rank": m.group(1), "class": m.group(2), "id": m.group(3)})
        return out

    # -- 3D view ------------------------------------------------------------------------------------------
    def _select_tile(self, i: int) -> None:
        if self.last_result is not None and i < len(self.last_result.results):
            self.select(self.last_result.results[i]["id"])

    def select(self, shape_id: str) -> bool:
        """Show gallery shape ``shape_id`` in the 3D view; False (with a note) when its mesh is not available."""
        self.selected = shape_id
        source = (self.engine.shapes if self.engine is not None else {}).get(shape_id)
        arrays = None
        if source is not None:
            try:
                arrays = _mesh_arrays(tuple(sorted(source.items())))
            except Exception as err:  # a broken mesh file must not break the demo
                self._message(f"(cannot show {shape_id} in 3D: {err})", error=True, append=True)
        trace = self.view3d.data[0]
        with self.view3d.batch_update():
            if arrays is None:
                trace.x = trace.y = trace.z = trace.i = trace.j = trace.k = []
                self.view3d.layout.title.text = f"{shape_id}: no 3D mesh available"
                return False
            v, f = arrays
            trace.x, trace.y, trace.z = v[:, 0], v[:, 2], v[:, 1]  # plotly's z is up; our meshes are Y-up
            trace.i, trace.j, trace.k = f[:, 0], f[:, 1], f[:, 2]
            self.view3d.layout.title.text = shape_id
        return True

    # -- figures ------------------------------------------------------------------------------------------
    def _build_figures(self) -> None:
        import plotly.graph_objects as go

        small = dict(l=10, r=10, t=40, b=10)
        self.prob_fig = go.FigureWidget(go.Bar(x=[], y=[], orientation="h", marker_color="#4c78a8", textposition="auto"),
                                        layout=dict(title="class probabilities", height=240, width=360, margin=small,
                                                    xaxis=dict(range=[0, 1]), yaxis=dict(type="category")))
        self.gauge_fig = go.FigureWidget(go.Indicator(mode="gauge+number", value=0, number=dict(valueformat=".3f"),
                                                      gauge=dict(axis=dict(range=[0, self._sigma_max]),
                                                                 bar=dict(color="#e45756"))),
                                         layout=dict(title="uncertainty σ (UACTN)", height=200, width=360, margin=small))
        self.view3d = go.FigureWidget(go.Mesh3d(x=[], y=[], z=[], i=[], j=[], k=[], color="#8fa8c8", flatshading=True,
                                                lighting=dict(ambient=0.45, diffuse=0.8)),
                                      layout=dict(title="click 3D under a result", height=360, width=420,
                                                  margin=dict(l=0, r=0, t=30, b=0), scene=dict(aspectmode="data")))

    def _reset_probabilities(self) -> None:
        names = self.engine.class_names if self.engine is not None else []
        self._bars_sent = False
        with self.prob_fig.batch_update():
            self.prob_fig.data[0].x = [0.0] * len(names)
            self.prob_fig.data[0].y = names
        self.gauge_fig.data[0].value = 0

    # -- controls -----------------------------------------------------------------------------------------
    def _build_controls(self, user: str | None) -> None:
        import ipywidgets as W

        self.model_box = W.Dropdown(description="model", layout=W.Layout(width="300px"))
        self.run_box = W.Text(placeholder="runs/demo-default/shape-transfer", description="run folder",
                              layout=W.Layout(width="360px", display="none"))
        load = W.Button(description="Load", layout=W.Layout(width="70px", display="none"))
        self._run_widgets = (self.run_box, load)
        self.model_box.observe(self._on_model_box, names="value")
        load.on_click(lambda _b: self.set_model(self.run_box.value.strip()))
        self.sketch_box = W.Dropdown(description="test sketch", options=[("(none)", -1)], value=-1,
                                     layout=W.Layout(width="320px"))
        self.sketch_box.observe(lambda ch: self.query_test_sketch(ch["new"]) if ch["new"] >= 0 else None,
                                names="value")
        self.controls = W.VBox([W.HBox([self.model_box, self.run_box, load]), self.sketch_box])

        self.user_box = W.Text(value=(self.history.user if self.history is not None else user) or "", description="user",
                               layout=W.Layout(width="240px"))
        self.history_box = W.Select(options=[], rows=8, layout=W.Layout(width="420px"))
        replay = W.Button(description="Replay", icon="repeat")
        replay.on_click(lambda _b: self.history_box.value is not None and self.replay(self.history_box.value))
        self.csv_box = W.Text(value=str(self.history.path.with_suffix(".csv")) if self.history is not None else "",
                              description="CSV", layout=W.Layout(width="420px"))
        export = W.Button(description="Export CSV", icon="download")
        export.on_click(lambda _b: self.export_history(self.csv_box.value))
        title = W.HTML("<b>Query history</b>" + ("" if self.history is not None else " (off)"))
        self.history_panel = W.VBox([title, self.user_box, self.history_box, W.HBox([replay, export]), self.csv_box])
        self._refresh_history()

    def _sync_model_selector(self) -> None:
        options = [(METHOD_LABELS.get(m, m), f"bundle:{m}") for m in bundle_methods(self.bundle)]
        current = self.model_spec
        if current and current not in [v for _, v in options]:
            options.append((f"run: {current}", current))
        options.append(("other run folder...", _RUN_OPTION))
        self._syncing = True
        try:
            self.model_box.options = options
            self.model_box.value = current if current else _RUN_OPTION
        finally:
            self._syncing = False

    def _on_model_box(self, change: dict[str, Any]) -> None:
        if getattr(self, "_syncing", False):
            return
        show = "flex" if change["new"] == _RUN_OPTION else "none"
        for w in self._run_widgets:
            w.layout.display = show
        if change["new"] not in (None, _RUN_OPTION) and change["new"] != self.model_spec:
            self.set_model(change["new"])

    # -- test sketches --------------------------------------------------------------------------------------
    def _load_test_sketches(self) -> None:
        """Offer the test sketches of the model's dataset (only when its classes match the model's)."""
        from sbsr_lab.data.manifest import load_manifest

        candidates = [str(self.data)] if self.data else _dataset_candidates(self.model_spec, self.bundle)
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
        self.sketch_box.options = options
        self.sketch_box.value = -1

    @property
    def test_sketches(self) -> list[Any]:
        """The picker's sketches (``SketchRecord`` of the model's dataset, test split)."""
        return list(self._test_sketches)

    def query_test_sketch(self, i: int) -> Any:
        """Put test sketch ``i`` into the pad (its strokes, else its image) and query with it."""
        rec = self._test_sketches[i]
        if rec.strokes:
            from sbsr_lab.data.stroke_io import load_strokes

            self.pad.set_strokes(load_strokes(self._manifest.path(rec.strokes)), notify=False)
            return self.query_now(record=False)
        from sbsr_lab.data.stroke_io import load_sketch_image

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

    def _refresh_history(self) -> None:
        if self.history is None:
            return
        self.history_box.options = [(e.label(), e.id) for e in self.history.recent(50)]

    def replay(self, entry_id: int) -> Any:
        """Put a past query's strokes back into the pad and run it again with the current model."""
        if self.history is None:
            return None
        entry = self.history.get(entry_id)
        self.pad.set_strokes(entry.strokes, notify=False)
        return self.query_now(record=False)

    def export_history(self, path: str | Path) -> Path | None:
        """Export the history to CSV (atomic) and say where."""
        if self.history is None or not str(path).strip():
            self._message("No history to export.", error=True)
            return None
        out = self.history.export_csv(path)
        self._message(f"History exported to {out}.")
        return out

    # -- messages -------------------------------------------------------------------------------------------
    def _message(self, text: str, error: bool = False, append: bool = False) -> None:
        color = "#b00020" if error else "#222"
        html = f'<span style="color:{color}">{text}</span>'
        self.status.value = (self.status.value + " " + html) if append else html


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


def _dataset_candidates(spec: str, bundle: str | Path | None) -> list[str]:
    """Dataset folders a model may come from: a run's recorded data, else the default folder of its profile."""
    from sbsr_lab.config import PROFILES, get_profile
    from sbsr_lab.data.build import default_root

    out: list[str] = []
    for candidate in (spec or None, None):  # a ready engine ("engine:...") falls back to the bundle's profile
        try:
            meta = ModelSpec.parse(candidate, bundle).meta()
            break
        except SbsrError:  # no such model: set_model has said why
            continue
    else:
        return []
    out.append(str(meta.get("data") or ""))
    profile = meta.get("profile") or {}
    if profile.get("name") in PROFILES:
        out.append(str(default_root(get_profile(profile["name"]))))
    return [p for p in out if p]


def sketch_demo(model: Any = None, bundle: str | Path | None = None, data: str | Path | None = None, k: int = 8,
                history: bool | str | Path = True, user: str | None = None, **kwargs: Any):
    """The live demo widget (a ``VBox``); see :class:`RetrievalDemo` for the arguments.

    The :class:`RetrievalDemo` object is reachable as ``widget.demo``.
    """
    demo = RetrievalDemo(model, bundle=bundle, data=data, k=k, history=history, user=user, **kwargs)
    demo.widget.demo = demo
    return demo.widget
