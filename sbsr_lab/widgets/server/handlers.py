"""The app's routes: the page, its static files and the JSON API (``make_app(state)``, the list at the end).

Every handler is a :class:`~sbsr_lab.widgets.server.security.SecureHandler` (host, token and origin checks
first); the work is :mod:`~sbsr_lab.widgets.server.queries` (a query), :class:`AppState` (thumbnails,
views, meshes, status) and the history; the JSON is :mod:`~sbsr_lab.widgets.server.answers`.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import tornado.web
from tornado.iostream import StreamClosedError

from sbsr_lab.data.strokes import sketch_problem
from sbsr_lab.errors import SbsrError
from sbsr_lab.widgets.history import HistoryError, QueryHistory
from sbsr_lab.widgets.server.answers import entry_json, learner_json
from sbsr_lab.widgets.server.queries import BAD_USER_NAME, USER_NAME, answer_query, parse_query
from sbsr_lab.widgets.server.security import SecureHandler
from sbsr_lab.widgets.server.state import AppState

__all__ = ["make_app", "WEB_DIR", "EXPORT_PAGE"]

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
EXPORT_PAGE = 25            # entries read and sent at a time by the streamed export
_SHAPE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class PageHandler(SecureHandler):
    def get(self) -> None:
        self.learner()  # the browser's identity from its first visit on
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish((WEB_DIR / "index.html").read_bytes())


class StaticHandler(SecureHandler, tornado.web.StaticFileHandler):
    """The page's CSS and JS (the token is checked like everywhere else)."""


class StatusHandler(SecureHandler):
    def get(self) -> None:
        self.send_json(self.app_state.status())


class QueryHandler(SecureHandler):
    async def post(self) -> None:
        st = self.app_state
        self.need_ready()
        try:
            req = parse_query(self.body_json(), st)
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
            out = await asyncio.get_running_loop().run_in_executor(st.pool, answer_query, st, req)
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


class _PngHandler(SecureHandler):
    """A shape's image from a loaded model (404 for an unknown model or id, or a shape without it)."""

    def send_png(self, key: str, shape_id: str, image: Callable[[AppState], bytes | None], missing: str) -> None:
        self.need_ready()
        st = self.app_state
        if key not in st.models or not _SHAPE_ID.match(shape_id):
            raise tornado.web.HTTPError(404)
        data = image(st)
        if data is None:
            raise tornado.web.HTTPError(404, missing)
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "max-age=3600")
        self.finish(data)


class ThumbHandler(_PngHandler):
    def get(self, key: str, shape_id: str) -> None:
        self.send_png(key, shape_id, lambda st: st.thumbnail(key, shape_id), "This shape has no thumbnail.")


class ViewHandler(_PngHandler):
    def get(self, key: str, shape_id: str, view: str) -> None:
        self.send_png(key, shape_id, lambda st: st.best_view(key, shape_id, int(view)),
                      "This shape has no such rendered view.")


class MeshHandler(SecureHandler):
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


class HistoryHandler(SecureHandler):
    """The caller's own drawings: the list, one entry, the export. Rows are found by the caller's identity
    (:meth:`SecureHandler.learner`), never by a name given in the request; another learner's entry is a 404."""

    def _history(self) -> QueryHistory:
        st = self.app_state
        if st.history is None:
            raise tornado.web.HTTPError(404, st.history_error or "This server keeps no history.")
        return st.history

    def _label(self) -> str | None:
        """The ``user`` argument: only a label (the export's name), never a key to anyone's drawings."""
        label = (self.get_query_argument("user", "") or "").strip()
        if label and not USER_NAME.match(label):
            raise tornado.web.HTTPError(400, BAD_USER_NAME)
        return label or None

    async def get(self, what: str | None = None) -> None:
        db = self._history()
        learner = self.learner()
        loop = asyncio.get_running_loop()
        if what is None:
            entries = await loop.run_in_executor(None, lambda: db.recent(100, learner=learner))
            self.send_json({"user": entries[0].user if entries else None, "entries": [entry_json(e) for e in entries]})
        elif what == "export":
            await self._export(db, learner)
        elif what.isdigit():
            if len(what) > 18:  # beyond SQLite's 64-bit integers: no such entry (was a 500)
                raise tornado.web.HTTPError(404, f"No drawing #{what[:20]} in your history.")
            try:  # another learner's entry: the same answer as none (its existence is not revealed)
                entry = await loop.run_in_executor(None, lambda: db.get(int(what), learner=learner))
            except HistoryError:
                raise tornado.web.HTTPError(404, f"No drawing #{what} in your history.") from None
            self.send_json(entry_json(entry))
        else:
            raise tornado.web.HTTPError(404)

    async def _export(self, db: QueryHistory, learner: str) -> None:
        """The caller's drawings, oldest first, as one JSON document streamed ``EXPORT_PAGE`` entries at a
        time (never built whole in memory; at most the learner's cap of entries)."""
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
                    self.write(("," if sent else "") + ",".join(json.dumps(entry_json(e), allow_nan=False)
                                                                for e in entries))
                    sent += len(entries)
                    await self.flush()
                after = last
            self.finish("]}")
        except StreamClosedError:  # the browser went away: nothing more to send
            pass


class TeacherPageHandler(SecureHandler):
    def get(self) -> None:
        self.need_teacher()
        if self.get_query_argument("key", None):  # the cookie holds it now: an address without the secret
            self.redirect("/teacher", permanent=False)
            return
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((WEB_DIR / "teacher.html").read_bytes())


class ClassHandler(SecureHandler):
    """``GET /api/class``: every learner's label, entry count, stored bytes and latest answers (the teacher)."""

    async def get(self) -> None:
        self.need_teacher()
        st = self.app_state
        if st.history is None:
            raise tornado.web.HTTPError(404, st.history_error or "This server keeps no history.")
        rows = await asyncio.get_running_loop().run_in_executor(None, st.history.learners)
        self.send_json({"learners": [learner_json(r) for r in rows],
                        "caps": {"entries": st.config.max_learner_entries, "bytes": st.config.max_learner_bytes}})


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
