"""Who may ask the app what: :class:`SecureHandler`, the base of every route.

* **Loopback by default**: on the loopback the ``Host`` header must name the loopback (no DNS rebinding);
  any other host needs the room token (``?token=``, the ``X-Sbsr-Token`` header or the ``sbsr_token``
  cookie that ``?token=`` sets), compared in constant time.
* **Changes come from the app's own page**: a POST must be JSON with no foreign ``Origin`` (a cross-site
  form cannot send JSON without the browser asking first, which is never allowed).
* **Each browser is its own learner**: a random secret in the ``sbsr_learner`` cookie (HttpOnly,
  SameSite=Strict; Secure over https); the history stores only its hash
  (:func:`~sbsr_lab.widgets.history.learner_key`).
* **The teacher** is told apart by the teacher token, not the room token (every learner has that one).
* **Answers**: strict security headers (a Content-Security-Policy that lets the page talk only to this
  server), JSON errors of one line, never a traceback.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from typing import Any

import tornado.web

from sbsr_lab.widgets.history import learner_key
from sbsr_lab.widgets.server.config import is_loopback
from sbsr_lab.widgets.server.state import AppState

__all__ = ["SecureHandler", "TOKEN_COOKIE", "LEARNER_COOKIE", "TEACHER_COOKIE"]

TOKEN_COOKIE = "sbsr_token"
LEARNER_COOKIE = "sbsr_learner"   # the browser's identity: secrets.token_urlsafe(24)
TEACHER_COOKIE = "sbsr_teacher"
_LEARNER_SECRET = re.compile(r"^[A-Za-z0-9_-]{32}$")     # what token_urlsafe(24) makes


class SecureHandler(tornado.web.RequestHandler):
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
