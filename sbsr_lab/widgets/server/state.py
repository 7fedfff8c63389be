"""What the app's handlers share: :class:`AppState`, the engines (loaded in the background), the query pool
and the history.

    state = AppState(AppConfig())
    state.start_loading()            # a daemon thread: the default method first, then the others
    state.wait_ready(120)            # True once the default method answers

Handlers run on the IOLoop thread; engines run on the pool's threads (``workers`` of them, torch threads =
cores / workers, so two workers on two cores use one thread each).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from sbsr_lab.errors import SbsrError
from sbsr_lab.widgets.history import QueryHistory, short_path
from sbsr_lab.widgets.pen import BRUSH_RANGE, DEFAULT_BRUSH
from sbsr_lab.widgets.results import view_png
from sbsr_lab.widgets.server.config import AppConfig

if TYPE_CHECKING:  # the engine (torch) loads in the background: the page is served before it
    from sbsr_lab.serve.query import QueryEngine

__all__ = ["AppState", "LoadedModel", "MESH_MAX_FACES", "MESH_DRAW_FACES"]

log = logging.getLogger("sbsr_lab.app")

HISTORY_LOCK_WAIT_S = 0.5   # longest a query waits for the history's write lock; then it is answered unsaved
MESH_MAX_FACES = 60_000     # a gallery mesh file with more faces is not sent
MESH_DRAW_FACES = 20_000    # the page draws every face: a larger mesh is decimated to this many


@dataclass
class LoadedModel:
    """One loaded method: its engine, and how the page names it."""

    key: str
    label: str
    engine: QueryEngine
    has_meshes: bool
    thumbs: dict[str, str | None] = field(default_factory=dict)  # id -> its thumbnail PNG
    strips: dict[str, str | None] = field(default_factory=dict)  # id -> its V rendered views side by side


class AppState:
    """Everything the handlers share (module docstring)."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.state = "loading"                 # loading -> ready | error
        self.message = "loading the model…"
        self.models: dict[str, LoadedModel] = {}
        self.method_keys: list[str] = []       # what the selector offers, in order
        self.default_key: str | None = None
        self.class_names: list[str] = []
        self.sketch_size = 128
        self.started = time.monotonic()
        self.ready_after_s: float | None = None
        cores = os.cpu_count() or 1
        self.workers = max(1, int(config.workers or min(2, cores)))
        self.torch_threads = max(1, cores // self.workers)
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sbsr-query")
        self.pending = 0                       # queries waiting or running (IOLoop thread only)
        self.served = 0
        self.history: QueryHistory | None = None
        self.history_error: str | None = None
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self.loading_more = True               # the selector's other methods are still loading
        self._stopping = threading.Event()
        self._loader: threading.Thread | None = None

    # -- loading ------------------------------------------------------------------------------------------
    def start_loading(self, on_fatal: Callable[[str], None] | None = None) -> threading.Thread:
        """Load the default engine, then the others, in a daemon thread (the page is served meanwhile)."""
        self._loader = threading.Thread(target=self._load_all, args=(on_fatal,), name="sbsr-load", daemon=True)
        self._loader.start()
        return self._loader

    def _load_all(self, on_fatal: Callable[[str], None] | None) -> None:
        try:
            self._open_history()
            # deferred: loading imports the engine (torch), which must not delay serving the page
            from sbsr_lab.widgets.server import loading

            loading.use_threads(self.torch_threads)
            plan = loading.plan_models(self.config)
            self.method_keys, self.default_key = list(plan.keys), plan.default
            for i, (key, model_spec, label) in enumerate(plan.loaders):
                if self._stopping.is_set():
                    break
                try:
                    self._add(key, label, loading.load_engine_for(model_spec, self.config, plan.bundle))
                except Exception as err:  # a broken second method must not stop the first from serving
                    if i == 0:
                        raise
                    log.exception("could not load %s", key)
                    self.method_keys.remove(key)
                    self.message = f"{label} could not be loaded ({err}); the others work."
                if i == 0:
                    self.state, self.message = "ready", "ready"
                    self.ready_after_s = time.monotonic() - self.started
                    self._loaded.set()
                    log.info("model %s ready after %.1f s", key, self.ready_after_s)
        except Exception as err:
            if not isinstance(err, SbsrError):
                log.exception("loading the model failed")
            self.state, self.message = "error", str(err) if isinstance(err, SbsrError) else \
                f"The model could not be loaded ({type(err).__name__}); the server log has the details."
            self._loaded.set()
            if on_fatal is not None:
                on_fatal(self.message)
        finally:
            self.loading_more = False

    def _add(self, key: str, label: str, engine: QueryEngine) -> None:
        thumbs = dict(zip(engine.index.ids, engine.index.thumbnails))
        views = engine.views
        strips = dict(zip(engine.index.ids, views.strips)) if views is not None and views.strips else {}
        with self._lock:
            self.models[key] = LoadedModel(key, label, engine, bool(engine.shapes), thumbs, strips)
            if not self.class_names:
                self.class_names, self.sketch_size = list(engine.class_names), int(engine.sketch_size)

    def _open_history(self) -> None:
        if self.config.history is False:
            return
        path = None if self.config.history in (None, True) else self.config.history
        try:
            # a short lock wait: a history held by another process must not hold a query worker for seconds
            self.history = QueryHistory(path, user="guest", timeout_s=HISTORY_LOCK_WAIT_S)
        except SbsrError as err:  # the app still answers queries; the page says why there is no history
            self.history_error = str(err)
            log.error("no history: %s", err)

    def wait_ready(self, timeout_s: float) -> bool:
        return self._loaded.wait(timeout_s) and self.state == "ready"

    # -- what a loaded model shows --------------------------------------------------------------------
    def mesh(self, key: str, shape_id: str) -> dict[str, Any] | None:
        """Vertices and faces of a gallery shape (flat lists, Y up), or None when there is no mesh."""
        # deferred: meshes imports trimesh and the renderer, not needed to serve the page
        from sbsr_lab.serve.meshes import flat_mesh, mesh_arrays

        source = self.models[key].engine.shapes.get(shape_id)
        arrays = mesh_arrays(source, MESH_MAX_FACES, MESH_DRAW_FACES) if source else None
        if arrays is None:
            return None
        vertices, faces = flat_mesh(*arrays)
        return {"id": shape_id, "vertices": vertices, "faces": faces}

    def thumbnail(self, key: str, shape_id: str) -> bytes | None:
        """The shape's thumbnail (a view strip's canonical view)."""
        return view_png(self.models[key].thumbs.get(shape_id), None)

    def best_view(self, key: str, shape_id: str, view: int) -> bytes | None:
        """View ``view`` of the shape's rendered view strip (the one closest to the sketch)."""
        return view_png(self.models[key].strips.get(shape_id), view)

    def status(self) -> dict[str, Any]:
        models = [{"key": k, "label": self.models[k].label, "has_meshes": self.models[k].has_meshes}
                  for k in self.method_keys if k in self.models]
        return {"state": self.state, "message": self.message, "models": models, "default": self.default_key,
                "classes": self.class_names, "k": self.config.k, "brush": DEFAULT_BRUSH,
                "brush_range": list(BRUSH_RANGE), "history": self.history is not None,
                "loading_more": self.loading_more and self.state == "ready",
                "history_error": self.history_error,
                "history_path": short_path(self.history.path) if self.history is not None else None,
                "ready_after_s": None if self.ready_after_s is None else round(self.ready_after_s, 2)}

    def close(self, loader_timeout_s: float = 60.0) -> None:
        """Cancel waiting queries, finish running ones, and let a model being loaded finish loading (a
        thread stopped inside torch at interpreter exit can abort the process)."""
        self._stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self._loader is not None and self._loader.is_alive():
            self._loader.join(loader_timeout_s)
