"""Query history in SQLite: who drew what, when, with which model, and what came back.

    from sbsr_lab.widgets.history import QueryHistory
    db = QueryHistory()                                 # <data root>/query_history.sqlite
    row_id = db.add(strokes, model="uactn", results=result.results, user="ada")
    db.recent(10)[0].strokes                            # replay: strokes back into a SketchPad
    db.export_csv("history.csv")                        # atomic
    db.record_drawing("d-17", strokes, "uactn", result.results, user="ada", width=2.0)  # one row per drawing

One row per query, or per drawing (table ``queries``): user name, UTC time (ISO 8601), strokes
(QuickDraw-style JSON, 0..1 floats rounded to 1e-4), model, predicted class, uncertainty, top-k ids and
scores (JSON lists); v3 adds the drawing id, the line width and how many queries the drawing made; v4 adds
the *learner*, the identity that owns the row.
:meth:`QueryHistory.record_drawing` keeps ONE row per ``(learner, drawing)``: each new query of the same
drawing replaces the row's strokes, model and results (so the row holds the latest complete query and
replays it exactly) and counts itself in ``queries``; the half-drawn guesses before it are dropped.

Learners and labels: the ``user`` column is only a *label* (the name typed, shown to the teacher and in
exports); rows belong to ``learner``. The classroom app keys each browser by a secret cookie and stores
only a hash of it (:func:`learner_key`: 32 hex digits); the notebook widget, one learner per kernel, uses
the local identity ``local:<user>`` (the default when no learner is given); rows of files older than v4
were keyed by the typed name and become ``legacy:<name>``. A hash has no ``:``, so no cookie can ever
name a local or legacy identity. Per learner, :meth:`QueryHistory.record_drawing` can keep at most
``keep`` rows and ``keep_bytes`` bytes of strokes (oldest dropped first).

Two writers at once are safe: the file is in WAL mode, every connection waits up to ``timeout_s``
for a lock (``PRAGMA busy_timeout``), and writes are short ``BEGIN IMMEDIATE`` transactions.
The schema is versioned with ``PRAGMA user_version``; opening an older file migrates it in place
(v1 -> v2 -> v3 -> v4) inside one transaction. Only the standard library is needed (plus numpy for strokes).
"""

from __future__ import annotations

import contextlib
import csv
import getpass
import hashlib
import io
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from sbsr_lab.errors import SbsrError
from sbsr_lab.io import atomic_write_text
from sbsr_lab.serve.result import QueryResult
from sbsr_lab.widgets.pen import DEFAULT_BRUSH

__all__ = ["SCHEMA_VERSION", "HistoryEntry", "QueryHistory", "HistoryError", "default_history_path",
           "user_data_dir", "short_path", "create_v1_schema", "learner_key", "LEGACY_PREFIX", "LOCAL_PREFIX"]

SCHEMA_VERSION = 4
HISTORY_FILE = "query_history.sqlite"

# v1 (first release): results as one JSON list of [id, score] pairs, time as UNIX seconds.
_V1 = """
CREATE TABLE IF NOT EXISTS queries (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user    TEXT NOT NULL,
    time    REAL NOT NULL,
    strokes TEXT NOT NULL,
    model   TEXT NOT NULL,
    results TEXT NOT NULL
);
"""
# v2: ISO time, ids and scores apart, predicted class and uncertainty, an index for per-user listings.
_V2 = """
CREATE TABLE IF NOT EXISTS queries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    strokes         TEXT NOT NULL,
    model           TEXT NOT NULL,
    predicted_class TEXT,
    uncertainty     REAL,
    top_ids         TEXT NOT NULL,
    top_scores      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queries_user_time ON queries (user, created_at);
"""
# v3: one row per drawing (drawing id unique per user; NULL for single queries), the line width, query count.
_V3 = """
ALTER TABLE queries ADD COLUMN drawing TEXT;
ALTER TABLE queries ADD COLUMN width REAL;
ALTER TABLE queries ADD COLUMN queries INTEGER NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX IF NOT EXISTS queries_user_drawing ON queries (user, drawing) WHERE drawing IS NOT NULL;
"""
# v4: rows belong to a learner (an identity), no longer to the typed name (now only a label). Rows of older
# files become the legacy identity of their name, which no cookie can match (learner_key has no ':').
_V4 = """
ALTER TABLE queries ADD COLUMN learner TEXT NOT NULL DEFAULT '';
UPDATE queries SET learner = 'legacy:' || user;
DROP INDEX IF EXISTS queries_user_drawing;
CREATE UNIQUE INDEX IF NOT EXISTS queries_learner_drawing ON queries (learner, drawing) WHERE drawing IS NOT NULL;
CREATE INDEX IF NOT EXISTS queries_learner_id ON queries (learner, id);
"""
LEGACY_PREFIX = "legacy:"   # rows of a v1-v3 file: keyed by the name typed then; no cookie matches them
LOCAL_PREFIX = "local:"     # the notebook widget's rows: one learner per kernel, named by its user
_CSV_FIELDS = ["id", "user", "created_at", "model", "predicted_class", "uncertainty", "top_ids", "top_scores",
               "strokes"]


#: The class recorded for a drawing the model did not recognise (the page and the widget show "not a shape").
NOT_A_SHAPE = "(not a shape)"


def drawing_key(drawing: str, model: str) -> str:
    """The history's key of ``drawing`` answered by ``model``: one entry per drawing *and* model, so that
    switching the model keeps the other model's answer. Drawing ids made by the front ends hold no ``@``."""
    return f"{drawing}@{model}"


def front_end_drawing(key: str | None) -> str | None:
    """The front end's drawing id of a history key (:func:`drawing_key`); keys without a model stay as they are."""
    return key.rsplit("@", 1)[0] if key and "@" in key else key


class HistoryError(SbsrError, OSError):
    """A history database that cannot be opened, is newer than this sbsr_lab, or is corrupt."""


def default_history_path() -> Path:
    """``$SBSR_DATA/query_history.sqlite`` when ``SBSR_DATA`` is set, else in the user's data folder
    (``platformdirs.user_data_dir("sbsr_lab")``, e.g. ``~/.local/share/sbsr_lab/query_history.sqlite``),
    never inside a course repository checkout."""
    if os.environ.get("SBSR_DATA"):
        return Path(os.environ["SBSR_DATA"]) / HISTORY_FILE
    return user_data_dir() / HISTORY_FILE


def user_data_dir() -> Path:
    """The platform's per-user data folder for sbsr_lab (platformdirs when installed, else the XDG rule)."""
    try:
        import platformdirs

        return Path(platformdirs.user_data_dir("sbsr_lab", appauthor=False))
    except ImportError:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        return Path(base) / "sbsr_lab"


def short_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a person reads it: relative to the working folder when inside it, ``~/...`` under home."""
    p = Path(path).expanduser().resolve()
    for base, prefix in ((Path.cwd().resolve(), ""), (Path.home().resolve(), "~/")):
        try:
            rel = p.relative_to(base)
        except ValueError:
            continue
        return prefix + str(rel) if str(rel) != "." else (prefix.rstrip("/") or ".")
    return str(p)


def learner_key(secret: str) -> str:
    """The history's key of a browser's secret (its cookie): 32 hex digits of SHA-256, so that the file (and
    the teacher view) never holds a secret that would let someone act as that learner."""
    return hashlib.sha256(b"sbsr_lab.learner:" + secret.encode("utf-8")).hexdigest()[:32]


def _local(user: str) -> str:
    return LOCAL_PREFIX + user


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return os.environ.get("USER", "anonymous")


def strokes_to_json(strokes: Sequence[Any]) -> str:
    """Strokes ``[(N, 2)]`` in [0, 1]^2 -> compact JSON ``[[[x...], [y...]], ...]`` (4 decimals)."""
    out = []
    for s in strokes:
        a = np.round(np.asarray(s, dtype=np.float64).reshape(-1, 2), 4)
        out.append([a[:, 0].tolist(), a[:, 1].tolist()])
    return json.dumps(out, separators=(",", ":"))


def strokes_from_json(text: str) -> list[np.ndarray]:
    """Inverse of :func:`strokes_to_json`: ``(N, 2)`` float32 arrays."""
    return [np.stack([np.asarray(x, np.float32), np.asarray(y, np.float32)], axis=1) for x, y in json.loads(text)]


@dataclass
class HistoryEntry:
    """One stored query."""

    id: int
    user: str
    created_at: str                 # ISO 8601, UTC
    model: str
    strokes: list[np.ndarray]       # (N, 2) float32 in [0, 1]^2
    top_ids: list[str]
    top_scores: list[float]
    predicted_class: str | None = None
    uncertainty: float | None = None
    drawing: str | None = None      # the drawing id (one row per drawing), None for single queries
    width: float | None = None      # pen width of the drawing (the app's brush, px on a 360 px pad)
    queries: int = 1                # queries this drawing made (the row keeps the latest)
    learner: str | None = None      # the identity owning the row (see the module's docstring)

    @property
    def brush(self) -> float:
        """The pen the drawing was made with (px on a 360 px pad; rows from before pen widths: the default)."""
        return self.width if self.width is not None else DEFAULT_BRUSH

    def label(self) -> str:
        """One line for a list widget: time, user, model, predicted class."""
        when = self.created_at.replace("T", " ")[:19]
        guess = f" -> {self.predicted_class}" if self.predicted_class else ""
        return f"#{self.id} {when} {self.user} [{self.model}]{guess}"


def create_v1_schema(path: str | os.PathLike[str]) -> None:
    """Create an empty history file in the old v1 layout (for migration tests and old files)."""
    con = sqlite3.connect(path)
    try:
        con.executescript(_V1)
        con.execute("PRAGMA user_version = 1")
        con.commit()
    finally:
        con.close()


class QueryHistory:
    """The query history database (a SQLite file), safe for concurrent writers.

    Args:
        path: the SQLite file (default :func:`default_history_path`); folders are created.
        user: default user name for :meth:`add` (default: the login name).
        timeout_s: how long a writer waits for another one's lock before failing.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, user: str | None = None,
                 timeout_s: float = 10.0) -> None:
        self.path = Path(path) if path is not None else default_history_path()
        self.user = user or _default_user()
        self.timeout_s = float(timeout_s)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"Cannot create the folder of the query history {self.path} ({exc}). "
                               "Fix: pass QueryHistory(path=...) in a writable folder.") from exc
        self._migrate()

    # -- connections ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A short-lived connection (one per operation, so threads and processes never share one)."""
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(f"Cannot open the query history {self.path} ({exc}). "
                               "Fix: check the path and its permissions.") from exc
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            con.execute("PRAGMA synchronous = NORMAL")  # WAL: no corruption on a crash, one fsync less per query
            if write:
                con.execute("BEGIN IMMEDIATE")  # take the write lock now: no deadlock on upgrade
            yield con
            if write:
                con.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise HistoryError(f"The query history {self.path} failed: {exc}. Fix: if the file is corrupt, "
                               "move it away (a new one is created).") from exc
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the file (0 = empty)."""
        with self._connect() as con:
            return int(con.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Create the schema, or bring an older file up to :data:`SCHEMA_VERSION` (one transaction)."""
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            con.close()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"{self.path} is not a query history database ({exc}). "
                               "Fix: move it away or pass another path.") from exc
        if str(mode).lower() != "wal":  # e.g. a network file system
            raise HistoryError(f"{self.path}: SQLite refused WAL mode ({mode}); concurrent writers would "
                               "block each other. Fix: keep the history on a local disk.")
        with self._connect(write=True) as con:  # re-read the version under the write lock
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise HistoryError(f"{self.path} has schema v{version}, newer than this sbsr_lab (v{SCHEMA_VERSION}). "
                                   "Fix: upgrade sbsr_lab, or use another history file.")
            if version == 0:
                for stmt in filter(str.strip, (_V2 + _V3 + _V4).split(";")):  # not executescript: it would COMMIT
                    con.execute(stmt)
            elif version == 1:
                _migrate_v1_to_v2(con)
            if version in (1, 2):
                for stmt in filter(str.strip, _V3.split(";")):
                    con.execute(stmt)
            if version in (1, 2, 3):
                for stmt in filter(str.strip, _V4.split(";")):
                    con.execute(stmt)
            if version != SCHEMA_VERSION:
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- writing --------------------------------------------------------------------------------------
    def add(self, strokes: Sequence[Any], model: str, results: Sequence[dict[str, Any]], user: str | None = None,
            predicted_class: str | None = None, uncertainty: float | None = None,
            created_at: str | None = None, learner: str | None = None) -> int:
        """Store one query; ``results`` are ``[{"id", "score", ...}]`` best first. Returns the row id.
        ``learner``: the owning identity (default: the local identity of ``user``)."""
        user = user or self.user
        row = (user, created_at or _now_iso(), strokes_to_json(strokes), model, predicted_class,
               None if uncertainty is None else float(uncertainty),
               json.dumps([str(r["id"]) for r in results]),
               json.dumps([round(float(r["score"]), 6) for r in results]), learner or _local(user))
        with self._connect(write=True) as con:
            cur = con.execute("INSERT INTO queries (user, created_at, strokes, model, predicted_class, uncertainty, "
                              "top_ids, top_scores, learner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cur.lastrowid)

    def record_drawing(self, drawing: str, strokes: Sequence[Any], model: str, results: Sequence[dict[str, Any]],
                       user: str | None = None, predicted_class: str | None = None,
                       uncertainty: float | None = None, width: float | None = None,
                       keep: int | None = None, learner: str | None = None, keep_bytes: int | None = None) -> int:
        """Store the latest query of drawing ``drawing`` of ``learner``: the first call inserts a row, later
        ones replace its strokes, width, model, results, label and time and add 1 to ``queries``. Returns the
        row id. ``learner``: the owning identity (default: the local identity of ``user``, the label).
        ``keep``: at most this many rows per learner; ``keep_bytes``: at most this many bytes of stored strokes
        per learner. A drawing past either cap deletes that learner's oldest rows (a rolling history: one
        client cannot fill the disk); the row just written is always kept."""
        user = user or self.user
        learner = learner or _local(user)
        row = (user, _now_iso(), strokes_to_json(strokes), model, predicted_class,
               None if uncertainty is None else float(uncertainty),
               json.dumps([str(r["id"]) for r in results]),
               json.dumps([round(float(r["score"]), 6) for r in results]),
               str(drawing), None if width is None else float(width), learner)
        with self._connect(write=True) as con:
            con.execute(
                "INSERT INTO queries (user, created_at, strokes, model, predicted_class, uncertainty, top_ids, "
                "top_scores, drawing, width, learner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (learner, drawing) WHERE drawing IS NOT NULL DO UPDATE SET created_at = excluded.created_at, "
                "user = excluded.user, strokes = excluded.strokes, model = excluded.model, "
                "predicted_class = excluded.predicted_class, uncertainty = excluded.uncertainty, "
                "top_ids = excluded.top_ids, top_scores = excluded.top_scores, width = excluded.width, "
                "queries = queries + 1", row)
            found = int(con.execute("SELECT id FROM queries WHERE learner = ? AND drawing = ?",
                                    (learner, row[8])).fetchone()[0])
            if keep is not None:
                con.execute("DELETE FROM queries WHERE learner = ? AND id != ? AND id NOT IN (SELECT id FROM queries "
                            "WHERE learner = ? ORDER BY id DESC LIMIT ?)", (learner, found, learner, int(keep)))
            if keep_bytes is not None:  # newest first, the row just written counted first; drop what runs over
                con.execute("DELETE FROM queries WHERE id IN (SELECT id FROM (SELECT id, SUM(length(strokes)) OVER "
                            "(ORDER BY id = ? DESC, id DESC) AS total FROM queries WHERE learner = ?) WHERE total > ? "
                            "AND id != ?)", (found, learner, int(keep_bytes), found))
        return found

    def record_answer(self, drawing: str, strokes: Sequence[Any], model: str, result: QueryResult,
                      user: str | None = None, width: float | None = None, keep: int | None = None,
                      learner: str | None = None, keep_bytes: int | None = None) -> int:
        """Record a :class:`~sbsr_lab.serve.result.QueryResult` the way both front ends (the app and the
        widget) do: one entry per drawing and model (:func:`drawing_key`), a drawing the model did not
        recognise as :data:`NOT_A_SHAPE`. Returns the row id (:meth:`record_drawing`)."""
        return self.record_drawing(drawing_key(drawing, model), strokes, model, result.results, user=user,
                                   predicted_class=NOT_A_SHAPE if result.is_ood else result.predicted_class,
                                   uncertainty=result.uncertainty, width=width, keep=keep, learner=learner,
                                   keep_bytes=keep_bytes)

    def clear(self, user: str | None = None, learner: str | None = None) -> int:
        """Delete the rows labelled ``user`` / of ``learner`` (all rows when both are None); returns how many."""
        where, args = _where(user, learner)
        with self._connect(write=True) as con:
            return con.execute(f"DELETE FROM queries {where}", args).rowcount

    # -- reading --------------------------------------------------------------------------------------
    _COLUMNS = ("id, user, created_at, model, strokes, top_ids, top_scores, predicted_class, uncertainty, "
                "drawing, width, queries, learner")

    @staticmethod
    def _entry(row: Sequence[Any]) -> HistoryEntry | None:
        """The entry of a row, or None for a damaged row (strokes or results that are not what we write)."""
        try:
            return HistoryEntry(int(row[0]), str(row[1]), str(row[2]), str(row[3]), strokes_from_json(row[4]),
                                [str(i) for i in json.loads(row[5])], [float(s) for s in json.loads(row[6])],
                                row[7], None if row[8] is None else float(row[8]), row[9],
                                None if row[10] is None else float(row[10]), int(row[11]), row[12])
        except (TypeError, ValueError, KeyError, IndexError, RecursionError):
            return None

    def recent(self, limit: int = 50, user: str | None = None, learner: str | None = None) -> list[HistoryEntry]:
        """The latest ``limit`` queries (labelled ``user`` / of ``learner`` if given), newest first. Damaged
        rows (written by something else, or cut short) are left out: one bad row never hides a learner's history."""
        where, args = _where(user, learner)
        with self._connect() as con:
            rows = con.execute(f"SELECT {self._COLUMNS} FROM queries {where} ORDER BY id DESC LIMIT ?",
                               (*args, int(limit))).fetchall()
        return [e for e in map(self._entry, rows) if e is not None]

    def get(self, entry_id: int, learner: str | None = None) -> HistoryEntry:
        """One query by id (raises :class:`HistoryError` if there is none, if its row is damaged, or if
        ``learner`` is given and the row is another learner's: the same answer as no such row)."""
        with self._connect() as con:
            row = con.execute(f"SELECT {self._COLUMNS} FROM queries WHERE id = ?", (int(entry_id),)).fetchone()
        if row is not None and learner is not None and row[12] != learner:
            row = None
        entry = None if row is None else self._entry(row)
        if entry is None:
            raise HistoryError(f"No query #{entry_id} in {self.path}" + (" (its row is damaged)." if row else "."))
        return entry

    def __len__(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM queries").fetchone()[0])

    def count(self, user: str | None = None, learner: str | None = None) -> int:
        """Rows (labelled ``user`` / of ``learner`` if given)."""
        where, args = _where(user, learner)
        with self._connect() as con:
            return int(con.execute(f"SELECT COUNT(*) FROM queries {where}", args).fetchone()[0])

    def stored_bytes(self, learner: str) -> int:
        """Bytes of strokes stored for ``learner`` (what ``keep_bytes`` bounds)."""
        with self._connect() as con:
            return int(con.execute("SELECT COALESCE(SUM(length(strokes)), 0) FROM queries WHERE learner = ?",
                                   (learner,)).fetchone()[0])

    def entries_after(self, after_id: int, limit: int, learner: str) -> tuple[list[HistoryEntry], int | None]:
        """Up to ``limit`` rows of ``learner`` with ids above ``after_id``, oldest first, and the last row id
        read (None when there is none): a page of a streamed export (damaged rows left out)."""
        with self._connect() as con:
            rows = con.execute(f"SELECT {self._COLUMNS} FROM queries WHERE learner = ? AND id > ? ORDER BY id LIMIT ?",
                               (learner, int(after_id), int(limit))).fetchall()
        return [e for e in map(self._entry, rows) if e is not None], (int(rows[-1][0]) if rows else None)

    def learners(self, limit: int = 500, recent: int = 5) -> list[dict[str, Any]]:
        """The teacher's summary: per learner (most recently active first, at most ``limit``) its key, its
        latest label and the labels it used, its row count, its bytes of strokes, its first and last times,
        and its ``recent`` latest answers (time, label, model, predicted class, uncertainty; no strokes)."""
        out = []
        with self._connect() as con:
            groups = con.execute("SELECT learner, COUNT(*), COALESCE(SUM(length(strokes)), 0), MAX(id), MIN(created_at), "
                                 "MAX(created_at) FROM queries GROUP BY learner ORDER BY MAX(id) DESC LIMIT ?",
                                 (int(limit),)).fetchall()
            for learner, n, size, _last_id, first, last in groups:
                answers = con.execute("SELECT id, user, created_at, model, predicted_class, uncertainty FROM queries "
                                      "WHERE learner = ? ORDER BY id DESC LIMIT ?", (learner, int(recent))).fetchall()
                labels = [r[0] for r in con.execute("SELECT user FROM queries WHERE learner = ? GROUP BY user "
                                                    "ORDER BY MAX(id) DESC LIMIT 10", (learner,))]
                out.append({"learner": learner, "label": answers[0][1] if answers else None, "labels": labels,
                            "entries": int(n), "bytes": int(size), "first": first, "last": last,
                            "recent": [{"id": int(r[0]), "user": r[1], "created_at": r[2], "model": r[3],
                                        "predicted_class": r[4], "uncertainty": r[5]} for r in answers]})
        return out

    def export_csv(self, path: str | os.PathLike[str], user: str | None = None) -> Path:
        """Write every query (of ``user``) oldest first to a CSV file, atomically; returns its path."""
        where, args = ("WHERE user = ?", (user,)) if user else ("", ())
        with self._connect() as con:
            rows = con.execute(f"SELECT id, user, created_at, model, predicted_class, uncertainty, top_ids, "
                               f"top_scores, strokes FROM queries {where} ORDER BY id", args).fetchall()
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(_CSV_FIELDS)
        writer.writerows(rows)
        atomic_write_text(path, buf.getvalue())
        return Path(path)


def _where(user: str | None, learner: str | None) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause of rows labelled ``user`` and of ``learner`` (either may be None: any)."""
    parts, args = [], []
    for column, value in (("user", user), ("learner", learner)):
        if value:
            parts.append(f"{column} = ?")
            args.append(value)
    return ("WHERE " + " AND ".join(parts) if parts else ""), tuple(args)


def _migrate_v1_to_v2(con: sqlite3.Connection) -> None:
    """v1 rows (UNIX time, ``results`` = [[id, score], ...]) -> the v2 table, inside the caller's transaction."""
    con.execute("ALTER TABLE queries RENAME TO queries_v1")
    for stmt in filter(str.strip, _V2.split(";")):
        con.execute(stmt)
    for rid, user, t, strokes, model, results in con.execute(
            "SELECT id, user, time, strokes, model, results FROM queries_v1 ORDER BY id").fetchall():
        pairs = json.loads(results)
        when = datetime.fromtimestamp(float(t), tz=timezone.utc).isoformat(timespec="milliseconds")
        con.execute("INSERT INTO queries (id, user, created_at, strokes, model, predicted_class, uncertainty, top_ids, "
                    "top_scores) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
                    (rid, user, when, strokes, model, json.dumps([str(p[0]) for p in pairs]),
                     json.dumps([float(p[1]) for p in pairs])))
    con.execute("DROP TABLE queries_v1")
