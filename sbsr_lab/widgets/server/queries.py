"""``POST /api/query``: the body checked field by field, then answered on a pool thread and recorded.

    req = parse_query(body, state)        # BadRequest names the field and the fix
    answer_query(state, req)              # the page's JSON (result_json) plus server_ms and the history entry

Caps: strokes are clipped to [0, 1]² and bounded by :func:`~sbsr_lab.data.strokes.cap_strokes`, the pen by
:data:`~sbsr_lab.widgets.pen.BRUSH_RANGE`, ``k`` by :data:`~sbsr_lab.widgets.server.config.MAX_K`; a
user name is only a label (letters, digits, spaces and ``. @ ' - _``, at most 40).
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sbsr_lab.data.strokes import cap_strokes, check_strokes
from sbsr_lab.errors import SbsrError
from sbsr_lab.widgets.pen import BRUSH_RANGE, DEFAULT_BRUSH, raster_width
from sbsr_lab.widgets.server.answers import result_json
from sbsr_lab.widgets.server.config import MAX_K
from sbsr_lab.widgets.server.state import AppState

__all__ = ["BadRequest", "QueryRequest", "parse_query", "answer_query", "USER_NAME", "BAD_USER_NAME"]

log = logging.getLogger("sbsr_lab.app")

USER_NAME = re.compile(r"^[\w .@'-]{1,40}$", re.UNICODE)   # a user name: a label, never a key
BAD_USER_NAME = "The user name may have up to 40 letters, digits, spaces and . @ ' - _"
_DRAWING = re.compile(r"^[A-Za-z0-9_-]{1,64}$")              # drawing ids made by the page


class BadRequest(SbsrError):
    """A request the page (or someone else) got wrong: answered 400 with the message."""


@dataclass
class QueryRequest:
    """A checked query: strokes ``(N, 2)`` float32 in [0, 1]², the pen (px on a 360 px pad), the model's key."""

    strokes: list[Any]
    brush: float
    model: str
    k: int
    user: str
    drawing: str
    record: bool
    learner: str = ""          # the history key of the caller (set by the handler from its cookie)


def parse_query(body: Any, state: AppState) -> QueryRequest:
    """Check a ``POST /api/query`` body; raises :class:`BadRequest` naming the field and the fix."""
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
    if not USER_NAME.match(user):
        raise BadRequest(BAD_USER_NAME)
    drawing = str(body.get("drawing") or secrets.token_hex(8))
    if not _DRAWING.match(drawing):
        raise BadRequest("'drawing' must be up to 64 letters, digits, '-' or '_'.")
    return QueryRequest(strokes, float(brush), str(model), int(k), user, drawing, bool(body.get("record", True)))


def answer_query(state: AppState, req: QueryRequest) -> dict[str, Any]:
    """One query (on a pool thread): the engine's answer as the page shows it; records the drawing, one entry
    per drawing and model as the widget records (:meth:`~sbsr_lab.widgets.history.QueryHistory.record_answer`)."""
    model = state.models[req.model]
    t0 = time.perf_counter()
    strokes = cap_strokes(req.strokes)
    result = model.engine.query(strokes, k=req.k, width=raster_width(req.brush, state.sketch_size))
    out = result_json(result, model)
    out["server_ms"] = round(1e3 * (time.perf_counter() - t0), 1)
    if req.record and state.history is not None:
        try:
            out["entry"] = state.history.record_answer(req.drawing, strokes, req.model, result, user=req.user,
                                                       width=req.brush, learner=req.learner,
                                                       keep=state.config.max_learner_entries,
                                                       keep_bytes=state.config.max_learner_bytes)
        except SbsrError as err:
            log.error("history: %s", err)
            out["history_error"] = "This query could not be saved in the history (the server log says why)."
    return out
