"""The classroom app behind ``sbsr-lab app``: one process, one model, a light page over a small JSON API.

    from sbsr_lab.widgets.server import AppConfig, serve
    serve(AppConfig(host="127.0.0.1", port=8866))          # blocks until SIGTERM / SIGINT / Ctrl-C

Every page a browser opens is a static page (``sbsr_lab/widgets/web/``: HTML, CSS, JS; nothing from the
internet) that draws on a canvas and sends the *strokes* (``[[x, y], ...]`` per stroke, in [0, 1]²) to
``POST /api/query``; the server checks them (:func:`~sbsr_lab.data.strokes.sketch_problem`,
:func:`~sbsr_lab.data.strokes.cap_strokes`), rasterises them with the one rasteriser through the
:class:`~sbsr_lab.serve.query.QueryEngine` and answers JSON. A page costs the server nothing but its
requests, so a room of users shares one copy of the model.

Design:

* **Start fast**: the port is bound and the page served before torch is imported; the engines load in a
  background thread (the page shows "loading the model…" from ``GET /api/status``) -- the default
  method first, then the bundle's other methods for the model selector.
* **Bounded work**: queries run on a pool of ``workers`` threads (torch threads = cores / workers, so two
  workers on two cores use one thread each); at most ``max_pending`` queries wait or run, the next ones
  get ``503`` with ``Retry-After`` (the page retries). Request bodies are capped at ``max_body`` bytes.
* **Safe on a network**: loopback by default; any other host needs a token (generated, printed in the
  URL, checked on every request; a cookie after the first visit). On loopback the ``Host`` header must
  name the loopback (no DNS rebinding). Tracebacks go to the log, clients get one line. A strict
  Content-Security-Policy: the page can only talk to this server.
* **History**: one row per drawing (:meth:`~sbsr_lab.widgets.history.QueryHistory.record_drawing`): the
  page names each drawing (a new id at Clear / New drawing) and each stroke-end query of it replaces the
  row, so the row always holds the latest complete query (strokes, pen width, model, results) and
  replays exactly; the half-drawn guesses before it are only counted.
* **Each learner's history is private**: every browser gets its own identity, a random secret in the
  ``sbsr_learner`` cookie (HttpOnly, SameSite=Strict, Path=/; Secure over https; a session cookie, so a
  shared computer forgets it when the browser closes), set on first contact; a request without it (or
  with a malformed one) gets a fresh identity, never a shared "guest" pool. The history stores only a hash
  of the secret (:func:`~sbsr_lab.widgets.history.learner_key`). A learner lists, replays and exports only
  their own drawings; another learner's entry id answers 404, as an id that does not exist. The name typed
  in the page is only a label stored with the entries. Per learner at most ``max_learner_entries`` drawings
  and ``max_learner_bytes`` bytes of strokes are kept, the oldest dropped first; the export is streamed a
  page of entries at a time.
* **Teacher view** (``/teacher``, ``GET /api/class``): every learner's label, entry count, stored bytes and
  latest answers (no strokes), behind a *teacher* token (``AppConfig.teacher_token``, generated at each
  start and printed by ``sbsr-lab app`` as the teacher's address). It is not the room token: on a network
  every learner holds the room token (it is in the address they open), so it cannot tell the teacher apart.
* **Clean stop**: SIGTERM or SIGINT closes the listening socket, cancels waiting queries, waits for running
  ones and returns; the app starts no child process and writes no temporary folder.

API (all JSON; errors are ``{"error": "..."}``): ``GET /api/status``; ``POST /api/query`` with
``{"strokes", "brush", "model", "k", "user", "drawing", "record"}``; ``GET /api/thumb/METHOD/ID``;
``GET /api/view/METHOD/ID/N`` (rendered view N of a shape: each result's ``best_view``, the view closest
to the sketch, :mod:`sbsr_lab.retrieval.best_view`); ``GET /api/mesh/METHOD/ID``; ``GET /api/history`` (the
caller's drawings); ``GET /api/history/ID`` (one of them; 404 otherwise); ``GET /api/history/export?user=LABEL``
(a JSON download of the caller's drawings); ``GET /teacher?key=TEACHER_TOKEN`` and ``GET /api/class`` (the
teacher view; 403 without the teacher token).
"""

from __future__ import annotations

import asyncio
import hmac
import io
import ipaddress
import json
import logging
import math
import os
import re
import secrets
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import tornado.httpserver
import tornado.netutil
import tornado.web

from sbsr_lab.errors import SbsrError
from sbsr_lab.widgets.history import front_end_drawing
from sbsr_lab.widgets.results import view_png

if TYPE_CHECKING:  # the engine (torch) loads in the background: the page is served before it
    from sbsr_lab.serve.query import QueryResult

__all__ = ["AppConfig", "AppState", "make_app", "serve", "is_loopback", "teacher_url", "DEFAULT_BRUSH", "WEB_DIR"]

log = logging.getLogger("sbsr_lab.app")

WEB_DIR = Path(__file__).resolve().parent / "web"
DEFAULT_BRUSH = 6.0           # pen width in px on a 360 px pad: the training line width (the notebook pad's unit)
BRUSH_RANGE = (1.0, 24.0)
MAX_K = 50
MAX_ENTRIES_PER_USER = 200  # a learner's rolling history: older drawings go (bounds disk use and the export)
MAX_BYTES_PER_USER = 5 * 2**20  # ... and at most this many bytes of stored strokes per learner
EXPORT_PAGE = 25            # entries read and sent at a time by the streamed export
HISTORY_LOCK_WAIT_S = 0.5  # longest a query waits for the history's write lock; then it is answered unsaved
TOKEN_COOKIE = "sbsr_token"
LEARNER_COOKIE = "sbsr_learner"   # the browser's identity: secrets.token_urlsafe(24)
TEACHER_COOKIE = "sbsr_teacher"
_LEARNER_SECRET = re.compile(r"^[A-Za-z0-9_-]{32}$")     # what token_urlsafe(24) makes
_NAME = re.compile(r"^[\w .@'-]{1,40}$", re.UNICODE)     # user names
_DRAWING = re.compile(r"^[A-Za-z0-9_-]{1,64}$")           # drawing ids made by the page
_SHAPE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.x.y.z`` and ``::1``."""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class AppConfig:
    """What ``sbsr-lab app`` serves and how.

    Args:
        model: model spec (:mod:`sbsr_lab.serve.engine`): None = the bundle's UACTN, a method,
            ``bundle:METHOD``, a bundle folder or a run folder.
        bundle: bundle folder for method names (default: the packaged one).
        data: dataset a run folder's gallery is embedded from (default: the one it was trained on).
        gallery: a folder made by ``sbsr-lab index``: its shapes answer (only its model is served).
        k: shapes shown per query.
        history: the SQLite history file (default :func:`~sbsr_lab.widgets.history.default_history_path`);
            ``False``: keep no history.
        host, port: where to listen (port 0: a free one).
        token: required on every request; ``None``: generated when the host is not the loopback.
        teacher_token: opens the teacher view (``/teacher``, ``/api/class``); ``None``: generated (always,
            loopback or not: the view lists every learner). Must differ from ``token``, which every learner has.
        workers: query threads (default: 2, or 1 on one core).
        max_pending: queries waiting or running before new ones get 503.
        max_body: largest request body in bytes.
        max_learner_entries, max_learner_bytes: each learner's history keeps at most this many drawings and
            bytes of strokes (the oldest dropped first).
    """

    model: str | None = None
    bundle: str | None = None
    data: str | None = None
    gallery: str | None = None
    k: int = 8
    history: str | os.PathLike[str] | bool | None = None
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    workers: int | None = None
    max_pending: int = 48
    max_body: int = 2 * 1024 * 1024
    teacher_token: str | None = None
    max_learner_entries: int = MAX_ENTRIES_PER_USER
    max_learner_bytes: int = MAX_BYTES_PER_USER

    def __post_init__(self) -> None:
        if not 1 <= int(self.k) <= MAX_K:
            raise SbsrError(f"--k must be between 1 and {MAX_K}, got {self.k}.")
        if self.token is None and not is_loopback(self.host):
            self.token = secrets.token_urlsafe(18)
        if self.workers is not None and not 1 <= int(self.workers) <= 64:
            raise SbsrError(f"--workers must be between 1 and 64, got {self.workers}.")
        if self.max_pending < 1 or self.max_body < 1024:
            raise SbsrError("max_pending must be at least 1 and max_body at least 1024 bytes.")
        if self.token is not None and len(self.token) < 8:
            raise SbsrError("The app token must have at least 8 characters (or leave it out: one is generated).")
        if self.teacher_token is None:
            self.teacher_token = secrets.token_urlsafe(18)
        if len(self.teacher_token) < 16 or self.teacher_token == self.token:
            raise SbsrError("The teacher token must have at least 16 characters and differ from the app token "
                            "(every learner has that one); or leave it out: one is generated.")
        if self.max_learner_entries < 1 or self.max_learner_bytes < 1024:
            raise SbsrError("max_learner_entries must be at least 1 and max_learner_bytes at least 1024 bytes.")


# -- the service: engines, pool, history ---------------------------------------------------------------

@dataclass
class _Model:
    """One loaded method: its engine, and how the page names it."""

    key: str
    label: str
    engine: Any
    has_meshes: bool
    thumbs: dict[str, str | None] = field(default_factory=dict)
    strips: dict[str, str | None] = field(default_factory=dict)  # id -> its V rendered views side by side


class AppState:
    """Everything the handlers share: the config, the engines (loaded in the background), the query pool
    and the history. Handlers run on the IOLoop thread; engines run on the pool's threads."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.state = "loading"                 # loading -> ready | error
        self.message = "loading the model…"
        self.models: dict[str, _Model] = {}
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
        self.history = None
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
            import torch

            torch.set_num_threads(self.torch_threads)
            from sbsr_lab.serve.engine import ModelSpec
            from sbsr_lab.widgets.app import METHOD_LABELS

            model = self.config.model
            if self.config.gallery is not None and model is None:  # the gallery's own method answers
                from sbsr_lab.serve.gallery import read_gallery

                model = f"bundle:{read_gallery(self.config.gallery)['method']}"
            spec = ModelSpec.parse(model, self.config.bundle).resolved()
            if spec.kind == "bundle" and self.config.gallery is not None:
                first = spec.method or "uactn"
                self.method_keys = [first]
                loaders = [(first, f"bundle:{first}", METHOD_LABELS.get(first, first))]
            elif spec.kind == "bundle":
                from sbsr_lab.serve.engine import bundle_methods

                others = [m for m in bundle_methods(spec.bundle_path) if m != spec.method]
                first = spec.method or "uactn"
                keys = [first, *others]
                self.method_keys = sorted(keys, key=lambda m: (m != first, m))
                loaders = [(m, f"bundle:{m}", METHOD_LABELS.get(m, m)) for m in keys]
            else:
                first = spec.path.name if spec.path is not None else "run"
                self.method_keys = [first]
                loaders = [(first, str(spec.path), f"run {first}")]
            self.default_key = first
            for i, (key, model_spec, label) in enumerate(loaders):
                if self._stopping.is_set():
                    break
                try:
                    self._load_one(key, model_spec, label, spec)
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

    def _load_one(self, key: str, model_spec: str, label: str, spec: Any) -> None:
        from sbsr_lab.serve.engine import load_engine

        engine = load_engine(model_spec, self.config.data, spec.bundle_path if spec.kind == "bundle" else None,
                             gallery=self.config.gallery)
        engine.sketch_net.eval()
        thumbs = dict(zip(engine.index.ids, engine.index.thumbnails))
        views = getattr(engine, "views", None)
        strips = dict(zip(engine.index.ids, views.strips)) if views is not None and views.strips else {}
        with self._lock:
            self.models[key] = _Model(key, label, engine, bool(engine.shapes), thumbs, strips)
            if not self.class_names:
                self.class_names, self.sketch_size = list(engine.class_names), int(engine.sketch_size)

    def _open_history(self) -> None:
        if self.config.history is False:
            return
        from sbsr_lab.widgets.history import QueryHistory

        path = None if self.config.history in (None, True) else self.config.history
        try:
            # a short lock wait: a history held by another process must not hold a query worker for seconds
            self.history = QueryHistory(path, user="guest", timeout_s=HISTORY_LOCK_WAIT_S)
        except SbsrError as err:  # the app still answers queries; the page says why there is no history
            self.history_error = str(err)
            log.error("no history: %s", err)

    def wait_ready(self, timeout_s: float) -> bool:
        return self._loaded.wait(timeout_s) and self.state == "ready"

    # -- queries ----------------------------------------------------------------------------------------
    def raster_width(self, brush: float) -> float:
        """Line width in px at the dataset's sketch size for a pen ``brush`` (px on a 360 px pad)."""
        return max(1.0, self.sketch_size / 64) * brush / DEFAULT_BRUSH

    def run_query(self, req: "_QueryRequest") -> dict[str, Any]:
        """One query (on a pool thread): the engine's answer as the page shows it; records the drawing."""
        from sbsr_lab.data.strokes import cap_strokes

        model = self.models[req.model]
        t0 = time.perf_counter()
        strokes = cap_strokes(req.strokes)
        result = model.engine.query(strokes, k=req.k, width=self.raster_width(req.brush))
        out = _result_json(result, model)
        out["server_ms"] = round(1e3 * (time.perf_counter() - t0), 1)
        if req.record and self.history is not None:
            try:  # one entry per drawing and model, as the widget records (QueryHistory.record_answer)
                out["entry"] = self.history.record_answer(req.drawing, strokes, req.model, result, user=req.user,
                                                          width=req.brush, learner=req.learner,
                                                          keep=self.config.max_learner_entries,
                                                          keep_bytes=self.config.max_learner_bytes)
            except SbsrError as err:
                log.error("history: %s", err)
                out["history_error"] = "This query could not be saved in the history (the server log says why)."
        return out

    def mesh(self, key: str, shape_id: str) -> dict[str, Any] | None:
        """Vertices and faces of a gallery shape (flat lists, Y up), or None when there is no mesh."""
        model = self.models[key]
        source = model.engine.shapes.get(shape_id)
        if not source:
            return None
        arrays = _mesh_arrays(tuple(sorted((k, str(v)) for k, v in source.items())))
        if arrays is None:
            return None
        v, f = arrays
        return {"id": shape_id, "vertices": v, "faces": f}

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
                "history_path": _short(self.history.path) if self.history is not None else None,
                "ready_after_s": None if self.ready_after_s is None else round(self.ready_after_s, 2)}

    def close(self, loader_timeout_s: float = 60.0) -> None:
        """Cancel waiting queries, finish running ones, and let a model being loaded finish loading (a
        thread stopped inside torch at interpreter exit can abort the process)."""
        self._stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self._loader is not None and self._loader.is_alive():
            self._loader.join(loader_timeout_s)


def _short(path: Any) -> str:
    from sbsr_lab.widgets.history import short_path

    return short_path(path)


def _result_json(result: "QueryResult", model: _Model) -> dict[str, Any]:
    """``QueryResult.to_json()`` plus what the page needs: thumbnail URLs, and ``unknown``, the engine's own
    "not a shape" verdict (:attr:`QueryResult.is_ood`; ``None`` for a model without a detector)."""
    data = result.to_json()
    probs = data.get("probabilities") or {}
    out: dict[str, Any] = {
        "method": model.key, "predicted_class": data.get("predicted_class"),
        "probabilities": sorted(([c, float(p)] for c, p in probs.items()), key=lambda cp: -cp[1]),
        "uncertainty": data.get("uncertainty"),
        "results": [{**r, "thumb": f"/api/thumb/{model.key}/{r['id']}", "mesh": model.has_meshes,
                     **({"best_view": f"/api/view/{model.key}/{r['id']}/{int(r['view'])}"}
                        if r.get("view") is not None and model.strips.get(r["id"]) else {})}
                    for r in data.get("results", [])],
        "has_meshes": model.has_meshes,
        "unknown": None if result.ood is None else result.is_ood,
    }
    for key in ("ood", "temperature"):
        if data.get(key) is not None and _jsonable(data[key]):
            out[key] = data[key]
    return out


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


@lru_cache(maxsize=128)
def _mesh_arrays(source_key: tuple) -> tuple[list[float], list[int]] | None:
    """Flat vertex (3V) and face (3F) lists of a gallery mesh, Y up, centred and scaled to unit radius."""
    import numpy as np

    from sbsr_lab.serve.gallery import shape_mesh

    mesh = shape_mesh(dict(source_key), max_faces=60_000)
    if mesh is None:
        return None
    if len(mesh.faces) > 20_000:  # the page draws every face: keep it light
        mesh = mesh.simplify_quadric_decimation(face_count=20_000)
    v = np.asarray(mesh.vertices, np.float64)
    v = v - (v.max(0) + v.min(0)) / 2
    v = v / max(float(np.linalg.norm(v, axis=1).max()), 1e-9)
    return np.round(v, 4).reshape(-1).tolist(), np.asarray(mesh.faces, np.int64).reshape(-1).tolist()


# -- request parsing -----------------------------------------------------------------------------------

class BadRequest(SbsrError):
    """A request the page (or someone else) got wrong: answered 400 with the message."""


@dataclass
class _QueryRequest:
    strokes: list[Any]
    brush: float
    model: str
    k: int
    user: str
    drawing: str
    record: bool
    learner: str = ""          # the history key of the caller (set by the handler from its cookie)


def parse_query(body: dict[str, Any], state: AppState) -> _QueryRequest:
    """Check a ``POST /api/query`` body; raises :class:`BadRequest` naming the field and the fix."""
    import numpy as np

    from sbsr_lab.data.strokes import check_strokes

    if not isinstance(body, dict):
        raise BadRequest("The query must be a JSON object with 'strokes'.")
    raw = body.get("strokes")
    if not isinstance(raw, list):
        raise BadRequest("'strokes' must be a list of strokes, each a list of [x, y] points in [0, 1].")
    strokes = []
    for i, s in enumerate(raw):
        try:
            a = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError):
            raise BadRequest(f"Stroke {i} is not a list of [x, y] numbers.") from None
        if a.size == 0:
            continue
        if a.ndim != 2 or a.shape[1] != 2:
            raise BadRequest(f"Stroke {i} must be a list of [x, y] points, got shape {list(a.shape)}.")
        if not np.isfinite(a).all():
            raise BadRequest(f"Stroke {i} has NaN or infinite coordinates.")
        strokes.append(np.clip(a, 0.0, 1.0).astype(np.float32))  # a pen that left the canvas a little
    strokes = check_strokes(strokes)
    brush = body.get("brush", DEFAULT_BRUSH)
    if not isinstance(brush, (int, float)) or not math.isfinite(brush) or not BRUSH_RANGE[0] <= brush <= BRUSH_RANGE[1]:
        raise BadRequest(f"'brush' must be a number between {BRUSH_RANGE[0]:g} and {BRUSH_RANGE[1]:g} (px on a "
                         f"360 px pad), got {brush!r}.")
    model = body.get("model") or state.default_key
    if model not in state.models:
        offered = ", ".join(state.method_keys) or "none yet"
        raise BadRequest(f"No model {model!r} here; this server offers: {offered}.")
    k = body.get("k", state.config.k)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise BadRequest(f"'k' must be a whole number between 1 and {MAX_K}, got {k!r}.")
    user = str(body.get("user") or "guest").strip() or "guest"
    if not _NAME.match(user):
        raise BadRequest("The user name may have up to 40 letters, digits, spaces and . @ ' - _")
    drawing = str(body.get("drawing") or secrets.token_hex(8))
    if not _DRAWING.match(drawing):
        raise BadRequest("'drawing' must be up to 64 letters, digits, '-' or '_'.")
    return _QueryRequest(strokes, float(brush), str(model), int(k), user, drawing, bool(body.get("record", True)))


# -- handlers ------------------------------------------------------------------------------------------

class _Base(tornado.web.RequestHandler):
    """Host and token checks, security headers, JSON errors without tracebacks, the caller's identity."""

    _learner: str | None = None

    @property
    def app_state(self) -> AppState:
        return self.application.settings["sbsr_state"]

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")

    def prepare(self) -> None:
        cfg = self.app_state.config
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            self._same_origin_json()
        if is_loopback(cfg.host):  # a page on another site cannot reach us through a rebound DNS name
            name = self.request.host_name
            if not is_loopback(name):
                raise tornado.web.HTTPError(403, "This app answers only to localhost / 127.0.0.1 (it listens on "
                                                 "the loopback). Fix: open it as http://127.0.0.1:PORT/, or serve "
                                                 "with --host 0.0.0.0 (then with a token).")
        if cfg.token:
            given = self.get_query_argument("token", None)
            candidate = given or self.request.headers.get("X-Sbsr-Token") or self.get_cookie(TOKEN_COOKIE)
            if not candidate or not hmac.compare_digest(candidate.encode(), cfg.token.encode()):
                raise tornado.web.HTTPError(403, reason="token needed")
            if given:
                self.set_cookie(TOKEN_COOKIE, cfg.token, httponly=True, samesite="Strict", path="/")

    def learner(self) -> str:
        """The history key of this browser: the hash of its ``sbsr_learner`` cookie. A request without the
        cookie, or with one that is not a secret this server makes (any other form), gets a new random
        secret (set in the answer): a new learner with an empty history. A well-formed secret that nobody
        was given is just that: a new, empty identity (it matches a learner only by being their secret)."""
        if self._learner is None:
            secret = self.get_cookie(LEARNER_COOKIE)
            if not secret or not _LEARNER_SECRET.match(secret):
                secret = secrets.token_urlsafe(24)
                self.set_cookie(LEARNER_COOKIE, secret, httponly=True, samesite="Strict", path="/",
                                secure=self.request.protocol == "https")
            from sbsr_lab.widgets.history import learner_key

            self._learner = learner_key(secret)
        return self._learner

    def is_teacher(self) -> bool:
        """Whether the request carries the teacher token (``?key=``, the ``X-Sbsr-Teacher`` header or the
        ``sbsr_teacher`` cookie, which ``?key=`` sets: HttpOnly, SameSite=Strict)."""
        expected = self.app_state.config.teacher_token
        given = self.get_query_argument("key", None)
        candidate = given or self.request.headers.get("X-Sbsr-Teacher") or self.get_cookie(TEACHER_COOKIE)
        if not expected or not candidate or not hmac.compare_digest(candidate.encode(), expected.encode()):
            return False
        if given:
            self.set_cookie(TEACHER_COOKIE, expected, httponly=True, samesite="Strict", path="/",
                            secure=self.request.protocol == "https")
        return True

    def need_teacher(self) -> None:
        if not self.is_teacher():
            raise tornado.web.HTTPError(403, "The teacher view needs the teacher's address that `sbsr-lab app` "
                                             "printed when it started (it holds the teacher token).")

    def _same_origin_json(self) -> None:
        """A request that changes something must come from this app's own page: JSON (a cross-site form
        cannot send ``application/json`` without the browser asking first, which we never allow), and an
        ``Origin`` (when the browser sends one) equal to this server's. A cross-site post is refused with
        403 before it is read or recorded."""
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise tornado.web.HTTPError(415, "Send the query as JSON (Content-Type: application/json).")
        origin = self.request.headers.get("Origin")
        site = self.request.headers.get("Sec-Fetch-Site", "")
        own = f"{self.request.protocol}://{self.request.host}"
        if (origin is not None and origin != own) or site == "cross-site":
            raise tornado.web.HTTPError(403, "Requests from another web site are refused: use the app's own page.")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        messages = {403: "Forbidden: open the full address that `sbsr-lab app` printed (it holds the token).",
                    404: "Not found.", 405: "Method not allowed.", 413: "The request is too large.",
                    400: "Bad request.", 415: "Send JSON."}
        msg = messages.get(status_code, "The server could not answer this (its log has the details).")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError) and exc.log_message and status_code < 500:
            msg = exc.log_message
        if status_code == 503:  # send_error cleared the headers: loading or busy, the page retries
            self.set_header("Retry-After", "1")
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": msg}))

    def send_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data, allow_nan=False))

    def body_json(self) -> Any:
        try:
            return json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise tornado.web.HTTPError(400, "The request body is not JSON.") from None
        except RecursionError:  # JSON nested 100,000 deep
            raise tornado.web.HTTPError(400, "The request body is nested too deeply to be a query.") from None

    def need_ready(self) -> None:
        st = self.app_state
        if st.state != "ready":
            raise tornado.web.HTTPError(503, "loading the model…" if st.state == "loading" else st.message)


class PageHandler(_Base):
    def get(self) -> None:
        self.learner()  # the browser's identity from its first visit on
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish((WEB_DIR / "index.html").read_bytes())


class StaticHandler(_Base, tornado.web.StaticFileHandler):
    """The page's CSS and JS (the token is checked like everywhere else)."""


class StatusHandler(_Base):
    def get(self) -> None:
        self.send_json(self.app_state.status())


class QueryHandler(_Base):
    async def post(self) -> None:
        st = self.app_state
        self.need_ready()
        try:
            req = parse_query(self.body_json(), st)
            from sbsr_lab.data.strokes import sketch_problem

            problem = sketch_problem(req.strokes)
        except SbsrError as err:  # BadRequest and SketchError: the message says what to fix
            self.send_json({"error": str(err)}, 400)
            return
        if problem:
            self.send_json({"problem": problem})
            return
        if req.record:
            req.learner = self.learner()
        if st.pending >= st.config.max_pending:
            self.set_header("Retry-After", "1")
            self.send_json({"error": "The server is busy: trying again in a moment.", "busy": True}, 503)
            return
        st.pending += 1
        try:
            out = await asyncio.get_running_loop().run_in_executor(st.pool, st.run_query, req)
        except SbsrError as err:
            self.send_json({"error": str(err)}, 400)
            return
        except asyncio.CancelledError:
            raise
        finally:
            st.pending -= 1
        st.served += 1
        out["drawing"] = req.drawing
        self.send_json(out)


class ThumbHandler(_Base):
    def get(self, key: str, shape_id: str) -> None:
        self.need_ready()
        st = self.app_state
        if key not in st.models or not _SHAPE_ID.match(shape_id):
            raise tornado.web.HTTPError(404)
        data = st.thumbnail(key, shape_id)
        if data is None:
            raise tornado.web.HTTPError(404, "This shape has no thumbnail.")
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(data)


class ViewHandler(_Base):
    def get(self, key: str, shape_id: str, view: str) -> None:
        self.need_ready()
        st = self.app_state
        if key not in st.models or not _SHAPE_ID.match(shape_id):
            raise tornado.web.HTTPError(404)
        data = st.best_view(key, shape_id, int(view))
        if data is None:
            raise tornado.web.HTTPError(404, "This shape has no such rendered view.")
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(data)


class MeshHandler(_Base):
    async def get(self, key: str, shape_id: str) -> None:
        self.need_ready()
        st = self.app_state
        if key not in st.models or not _SHAPE_ID.match(shape_id):
            raise tornado.web.HTTPError(404)
        mesh = await asyncio.get_running_loop().run_in_executor(st.pool, st.mesh, key, shape_id)
        if mesh is None:
            self.send_json({"error": "This model's bundle has no 3D mesh for this shape."}, 404)
            return
        self.set_header("Cache-Control", "max-age=3600")
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(mesh))


def _entry_json(e: Any) -> dict[str, Any]:
    return {"id": e.id, "user": e.user, "created_at": e.created_at, "model": e.model,
            "predicted_class": e.predicted_class, "uncertainty": e.uncertainty, "drawing": front_end_drawing(e.drawing),
            "brush": e.width if e.width is not None else DEFAULT_BRUSH, "queries": e.queries,
            "strokes": [[[round(float(x), 4), round(float(y), 4)] for x, y in s] for s in e.strokes],
            "results": [{"rank": i + 1, "id": sid, "score": sc} for i, (sid, sc) in enumerate(zip(e.top_ids, e.top_scores))]}


class HistoryHandler(_Base):
    """The caller's own drawings: the list, one entry, the export. Rows are found by the caller's identity
    (:meth:`_Base.learner`), never by a name given in the request; another learner's entry is a 404."""

    def _history(self) -> Any:
        st = self.app_state
        if st.history is None:
            raise tornado.web.HTTPError(404, st.history_error or "This server keeps no history.")
        return st.history

    def _label(self) -> str | None:
        """The ``user`` argument: only a label (the export's name), never a key to anyone's drawings."""
        label = (self.get_query_argument("user", "") or "").strip()
        if label and not _NAME.match(label):
            raise tornado.web.HTTPError(400, "The user name may have up to 40 letters, digits, spaces and . @ ' - _")
        return label or None

    async def get(self, what: str | None = None) -> None:
        db = self._history()
        learner = self.learner()
        loop = asyncio.get_running_loop()
        if what is None:
            entries = await loop.run_in_executor(None, lambda: db.recent(100, learner=learner))
            self.send_json({"user": entries[0].user if entries else None, "entries": [_entry_json(e) for e in entries]})
        elif what == "export":
            await self._export(db, learner)
        elif what.isdigit():
            from sbsr_lab.widgets.history import HistoryError

            if len(what) > 18:  # beyond SQLite's 64-bit integers: no such entry (was a 500)
                raise tornado.web.HTTPError(404, f"No drawing #{what[:20]} in your history.")
            try:  # another learner's entry: the same answer as none (its existence is not revealed)
                entry = await loop.run_in_executor(None, lambda: db.get(int(what), learner=learner))
            except HistoryError:
                raise tornado.web.HTTPError(404, f"No drawing #{what} in your history.") from None
            self.send_json(_entry_json(entry))
        else:
            raise tornado.web.HTTPError(404)

    async def _export(self, db: Any, learner: str) -> None:
        """The caller's drawings, oldest first, as one JSON document streamed ``EXPORT_PAGE`` entries at a
        time (never built whole in memory; at most the learner's cap of entries)."""
        from tornado.iostream import StreamClosedError

        loop = asyncio.get_running_loop()
        label = self._label()
        if label is None:  # the name of the latest drawing
            latest = await loop.run_in_executor(None, lambda: db.recent(1, learner=learner))
            label = latest[0].user if latest else "guest"
        head = {"format": "sbsr_lab.history", "version": 1, "user": label,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", label)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Disposition", f'attachment; filename="sbsr_history_{safe}.json"')
        self.write(json.dumps(head)[:-1] + ', "entries": [')
        after, sent, cap = 0, 0, self.app_state.config.max_learner_entries
        try:
            while sent < cap:
                n = min(EXPORT_PAGE, cap - sent)
                entries, last = await loop.run_in_executor(None, lambda: db.entries_after(after, n, learner))
                if last is None:
                    break
                if entries:
                    self.write(("," if sent else "") + ",".join(json.dumps(_entry_json(e), allow_nan=False)
                                                                for e in entries))
                    sent += len(entries)
                    await self.flush()
                after = last
            self.finish("]}")
        except StreamClosedError:  # the browser went away: nothing more to send
            pass


class TeacherPageHandler(_Base):
    def get(self) -> None:
        self.need_teacher()
        if self.get_query_argument("key", None):  # the cookie holds it now: an address without the secret
            self.redirect("/teacher", permanent=False)
            return
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((WEB_DIR / "teacher.html").read_bytes())


class ClassHandler(_Base):
    """``GET /api/class``: every learner's label, entry count, stored bytes and latest answers (the teacher)."""

    async def get(self) -> None:
        self.need_teacher()
        st = self.app_state
        if st.history is None:
            raise tornado.web.HTTPError(404, st.history_error or "This server keeps no history.")
        rows = await asyncio.get_running_loop().run_in_executor(None, st.history.learners)
        from sbsr_lab.widgets.history import LEGACY_PREFIX, LOCAL_PREFIX

        learners = []
        for r in rows:
            key = r.pop("learner")
            kind = "legacy" if key.startswith(LEGACY_PREFIX) else "notebook" if key.startswith(LOCAL_PREFIX) else "browser"
            r["id"] = key if kind != "browser" else key[:10]  # a hash: a short name for the row, not a secret
            r["kind"] = kind
            learners.append(r)
        self.send_json({"learners": learners, "caps": {"entries": st.config.max_learner_entries,
                                                       "bytes": st.config.max_learner_bytes}})


def make_app(state: AppState) -> tornado.web.Application:
    """The tornado application of ``state`` (handlers above; no debug, no tracebacks to clients)."""
    return tornado.web.Application([
        (r"/", PageHandler),
        (r"/static/(.*)", StaticHandler, {"path": str(WEB_DIR)}),
        (r"/api/status", StatusHandler),
        (r"/api/query", QueryHandler),
        (r"/api/thumb/([A-Za-z0-9_-]+)/([^/]+)", ThumbHandler),
        (r"/api/view/([A-Za-z0-9_-]+)/([^/]+)/([0-9]{1,2})", ViewHandler),
        (r"/api/mesh/([A-Za-z0-9_-]+)/([^/]+)", MeshHandler),
        (r"/api/history", HistoryHandler),
        (r"/api/history/([A-Za-z0-9]+)", HistoryHandler),
        (r"/teacher", TeacherPageHandler),
        (r"/api/class", ClassHandler),
    ], sbsr_state=state, debug=False, serve_traceback=False, autoreload=False, compress_response=True,
        static_hash_cache=True)


# -- serving -------------------------------------------------------------------------------------------

def app_url(config: AppConfig, port: int) -> str:
    """The address people open (with the token when there is one)."""
    host = config.host
    if host in ("0.0.0.0", "::", ""):
        host = _lan_address() or socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/" + (f"?token={config.token}" if config.token else "")


def teacher_url(config: AppConfig, port: int) -> str:
    """The teacher view's address (with the teacher token, and the app token when there is one)."""
    base = app_url(config, port).split("?", 1)[0]
    return f"{base}teacher?key={config.teacher_token}" + (f"&token={config.token}" if config.token else "")


def _lan_address() -> str | None:
    """This machine's address on the local network (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
    except OSError:
        return None


async def _serve(config: AppConfig, on_listening: Callable[[str, AppState], None] | None) -> int:
    state = AppState(config)
    try:
        sockets = tornado.netutil.bind_sockets(config.port, config.host, reuse_port=False)
    except OSError as err:
        state.close()
        raise SbsrError(f"Cannot listen on {config.host}:{config.port} ({err.strerror or err}). "
                        "Fix: pick another --port (or leave it out for a free one).") from None
    server = tornado.httpserver.HTTPServer(make_app(state), max_body_size=config.max_body,
                                           max_buffer_size=config.max_body, idle_connection_timeout=60,
                                           body_timeout=30, xheaders=False)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    fatal: list[str] = []

    def on_fatal(message: str) -> None:
        fatal.append(message)
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    if on_listening is not None:
        on_listening(app_url(config, port), state)
        print(f"sbsr-lab app: the teacher view is at {teacher_url(config, port)} (it lists every learner's "
              "drawings: keep this address to yourself)", flush=True)
    state.start_loading(on_fatal)
    try:
        await stop.wait()
    finally:
        server.stop()  # no new connections
        try:
            await asyncio.wait_for(server.close_all_connections(), timeout=5)
        except asyncio.TimeoutError:
            pass
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        state.close()
    if fatal:
        raise SbsrError(fatal[0])
    return 0


def serve(config: AppConfig, on_listening: Callable[[str, AppState], None] | None = None) -> int:
    """Serve the app until SIGTERM / SIGINT; ``on_listening(url, state)`` is called once the port is open
    (before the model is loaded). Raises :class:`SbsrError` when the port is taken or the model cannot load."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    return asyncio.run(_serve(config, on_listening))
