"""The JSON the page reads: a query's answer, a history entry, a row of the teacher's class view.

    result_json(engine.query(strokes), state.models["uactn"])   # what POST /api/query answers
    entry_json(history.get(7))                                   # GET /api/history/7
"""

from __future__ import annotations

import json
from typing import Any

from sbsr_lab.serve.result import QueryResult
from sbsr_lab.widgets.history import LEGACY_PREFIX, LOCAL_PREFIX, HistoryEntry, front_end_drawing
from sbsr_lab.widgets.server.state import LoadedModel

__all__ = ["result_json", "entry_json", "learner_json"]


def result_json(result: QueryResult, model: LoadedModel) -> dict[str, Any]:
    """A :class:`~sbsr_lab.serve.result.QueryResult` as the page shows it: the class probabilities best
    first, each result with its thumbnail URL (and its best view's, when the gallery has view strips),
    and ``unknown``, the engine's own "not a shape" verdict (:attr:`QueryResult.is_ood`; ``None`` for a
    model without a detector). ``ood`` and ``temperature`` are added when they are valid JSON."""
    out: dict[str, Any] = {
        "method": model.key, "predicted_class": result.predicted_class,
        "probabilities": sorted(([c, float(p)] for c, p in result.probabilities.items()), key=lambda cp: -cp[1]),
        "uncertainty": result.uncertainty,
        "results": [_shape_json(r, model) for r in result.results],
        "has_meshes": model.has_meshes,
        "unknown": None if result.ood is None else result.is_ood,
    }
    for key, value in (("ood", result.ood), ("temperature", result.temperature)):
        if value is not None and _jsonable(value):
            out[key] = value
    return out


def _shape_json(r: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    """One ranked shape (``{"rank", "id", "class", "score"(, "view")}``) with the URLs the page fetches."""
    out = {**r, "thumb": f"/api/thumb/{model.key}/{r['id']}", "mesh": model.has_meshes}
    if r.get("view") is not None and model.strips.get(r["id"]):
        out["best_view"] = f"/api/view/{model.key}/{r['id']}/{int(r['view'])}"
    return out


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def entry_json(e: HistoryEntry) -> dict[str, Any]:
    """One drawing of the history as the page replays it (strokes rounded to 4 decimals, its pen)."""
    return {"id": e.id, "user": e.user, "created_at": e.created_at, "model": e.model,
            "predicted_class": e.predicted_class, "uncertainty": e.uncertainty, "drawing": front_end_drawing(e.drawing),
            "brush": e.brush, "queries": e.queries,
            "strokes": [[[round(float(x), 4), round(float(y), 4)] for x, y in s] for s in e.strokes],
            "results": [{"rank": i + 1, "id": sid, "score": sc} for i, (sid, sc) in enumerate(zip(e.top_ids, e.top_scores))]}


def learner_json(row: dict[str, Any]) -> dict[str, Any]:
    """A row of :meth:`~sbsr_lab.widgets.history.QueryHistory.learners` for the teacher: its kind (``browser``,
    ``notebook`` or ``legacy``) and an id; a browser's key is a hash, shown short (a name, not a secret)."""
    row = dict(row)
    key = row.pop("learner")
    kind = "legacy" if key.startswith(LEGACY_PREFIX) else "notebook" if key.startswith(LOCAL_PREFIX) else "browser"
    row["id"] = key if kind != "browser" else key[:10]
    row["kind"] = kind
    return row
