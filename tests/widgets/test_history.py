"""Query history: round trip, CSV export, WAL + concurrent writers, schema versions and migration."""

import csv
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from sbsr_lab.widgets.history import SCHEMA_VERSION, HistoryError, QueryHistory, create_v1_schema

STROKES = [np.array([[0.1, 0.2], [0.30001, 0.4]], np.float32), np.array([[0.5, 0.5]], np.float32)]
RESULTS = [{"rank": 1, "id": "ring_000", "class": "ring", "score": 0.91}, {"rank": 2, "id": "bar_001", "class": "bar", "score": 0.5}]


def test_round_trip_and_listing(tmp_path):
    db = QueryHistory(tmp_path / "sub" / "h.sqlite", user="ada")
    assert db.schema_version() == SCHEMA_VERSION and len(db) == 0
    with sqlite3.connect(db.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    a = db.add(STROKES, "bundle:uactn", RESULTS, predicted_class="ring", uncertainty=0.03)
    b = db.add(STROKES[:1], "runs/x", RESULTS[:1], user="bob")
    assert b > a and len(db) == 2
    e = db.get(a)
    assert e.user == "ada" and e.model == "bundle:uactn" and e.top_ids == ["ring_000", "bar_001"]
    assert e.top_scores == [0.91, 0.5] and e.predicted_class == "ring" and e.uncertainty == pytest.approx(0.03)
    assert len(e.strokes) == 2 and e.strokes[1].shape == (1, 2)
    np.testing.assert_allclose(e.strokes[0], STROKES[0], atol=1e-4)
    assert e.created_at.endswith("+00:00") and "ada" in e.label()
    assert [x.id for x in db.recent()] == [b, a]
    assert [x.id for x in db.recent(user="bob")] == [b]
    with pytest.raises(HistoryError, match="No query #999"):
        db.get(999)


def test_export_csv_atomic(tmp_path):
    db = QueryHistory(tmp_path / "h.sqlite", user="ada")
    for _ in range(3):
        db.add(STROKES, "bundle:cfttsl", RESULTS)
    out = db.export_csv(tmp_path / "out" / "history.csv")
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3 and rows[0]["model"] == "bundle:cfttsl"
    assert json.loads(rows[0]["top_ids"]) == ["ring_000", "bar_001"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["history.csv"]  # no temporary file left


_WRITER = """
import sys
from sbsr_lab.widgets.history import QueryHistory
db = QueryHistory(sys.argv[1], user=sys.argv[2], timeout_s=30)
for i in range(int(sys.argv[3])):
    db.add([[[0.1, 0.1], [0.9, 0.9]]], "m", [{"id": f"s{i}", "score": 0.5}])
"""


def test_two_processes_and_threads_write_at_once(tmp_path):
    path = tmp_path / "h.sqlite"
    root = str(Path(__file__).resolve().parents[2])
    env = {"PYTHONPATH": root, "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"proc{j}", "40"], env=env,
                              stderr=subprocess.PIPE) for j in range(2)]
    db = QueryHistory(path, user="thread", timeout_s=30)
    errors = []

    def write():
        try:
            for _ in range(20):
                db.add(STROKES, "m", RESULTS)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    assert not errors
    assert len(db) == 2 * 40 + 2 * 20
    assert {e.user for e in db.recent(200)} == {"proc0", "proc1", "thread"}


def test_migrates_v1_to_v2(tmp_path):
    path = tmp_path / "old.sqlite"
    create_v1_schema(path)
    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO queries (user, time, strokes, model, results) VALUES (?, ?, ?, ?, ?)",
                    ("ada", 1_700_000_000.5, json.dumps([[[0.1, 0.9], [0.2, 0.8]]]), "uactn",
                     json.dumps([["ring_000", 0.9], ["bar_001", 0.4]])))
    db = QueryHistory(path)
    assert db.schema_version() == SCHEMA_VERSION
    e = db.recent()[0]
    assert e.user == "ada" and e.model == "uactn" and e.top_ids == ["ring_000", "bar_001"]
    assert e.top_scores == [0.9, 0.4] and e.created_at.startswith("2023-11-14T22:13:20.500")
    np.testing.assert_allclose(e.strokes[0], [[0.1, 0.2], [0.9, 0.8]])
    db.add(STROKES, "m", RESULTS)  # the migrated file takes new rows
    assert len(db) == 2
    with sqlite3.connect(path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "queries_v1" not in tables
    QueryHistory(path)  # opening again is a no-op
    assert len(db) == 2


def test_newer_or_corrupt_files_are_refused(tmp_path):
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer than this sbsr_lab"):
        QueryHistory(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="not a query history"):
        QueryHistory(junk)


def test_a_damaged_row_never_hides_the_rest_of_a_history(tmp_path):
    import sqlite3

    import numpy as np

    from sbsr_lab.widgets.history import HistoryError, QueryHistory

    db = QueryHistory(tmp_path / "h.sqlite", user="ada")
    strokes = [np.array([[0.1, 0.1], [0.9, 0.9]], np.float32)]
    ids = [db.add(strokes, "uactn", [{"id": "chair_000", "score": 0.9}]) for _ in range(3)]
    con = sqlite3.connect(tmp_path / "h.sqlite")
    con.execute("UPDATE queries SET strokes = '[[1]]' WHERE id = ?", (ids[0],))
    con.execute("UPDATE queries SET top_scores = 'not json' WHERE id = ?", (ids[1],))
    con.commit()
    con.close()
    assert [e.id for e in db.recent(10, user="ada")] == [ids[2]]
    with pytest.raises(HistoryError, match="damaged"):
        db.get(ids[0])


def test_a_rolling_history_keeps_each_learner_to_a_cap(tmp_path):
    import numpy as np

    from sbsr_lab.widgets.history import QueryHistory

    db = QueryHistory(tmp_path / "h.sqlite", user="ada")
    strokes = [np.array([[0.1, 0.1], [0.9, 0.9]], np.float32)]
    db.record_drawing("other", strokes, "uactn", [{"id": "a", "score": 0.5}], user="ben", keep=5)
    for i in range(12):
        db.record_drawing(f"d{i}", strokes, "uactn", [{"id": "a", "score": 0.5}], user="ada", keep=5)
    kept = db.recent(100, user="ada")
    assert [e.drawing for e in kept] == [f"d{i}" for i in range(11, 6, -1)]  # the newest five
    assert db.count("ben") == 1  # another learner's history is untouched


def test_record_answer_keeps_one_entry_per_drawing_and_model_and_names_non_shapes(tmp_path):
    """The one recording both front ends use: a model switch keeps both answers; a drawing the model did not
    recognise is stored as NOT_A_SHAPE; the front end gets its drawing id back."""
    from types import SimpleNamespace

    import numpy as np

    from sbsr_lab.widgets.history import NOT_A_SHAPE, QueryHistory, front_end_drawing

    db = QueryHistory(tmp_path / "h.sqlite", user="ada")
    strokes = [np.array([[0.1, 0.1], [0.9, 0.9]], np.float32)]

    def answer(cls, ood=False):
        return SimpleNamespace(results=[{"id": "a", "score": 0.5}], is_ood=ood, predicted_class=cls, uncertainty=0.1)

    db.record_answer("d1", strokes, "uactn", answer("chair"), user="ada")
    db.record_answer("d1", strokes, "uactn", answer("table"), user="ada")  # the same drawing, a later stroke
    db.record_answer("d1", strokes, "cfttsl", answer("chair"), user="ada")  # the model switched
    db.record_answer("d2", strokes, "uactn", answer("tree", ood=True), user="ada")
    got = [(front_end_drawing(e.drawing), e.model, e.predicted_class, e.queries) for e in db.recent(10, user="ada")]
    assert got == [("d2", "uactn", NOT_A_SHAPE, 1), ("d1", "cfttsl", "chair", 1), ("d1", "uactn", "table", 2)]
    assert front_end_drawing("plain") == "plain" and front_end_drawing(None) is None


def test_rows_belong_to_a_learner_not_to_the_typed_name(tmp_path):
    """v4: two identities with the same label and drawing id have a row each; a learner reads, lists and
    counts only its own rows (another's id reads as missing); the notebook's rows are ``local:<user>``."""
    from sbsr_lab.widgets.history import HistoryError, QueryHistory, learner_key

    db = QueryHistory(tmp_path / "h.sqlite", user="ada")
    strokes = [np.array([[0.1, 0.1], [0.9, 0.9]], np.float32)]
    a, b = learner_key("secret-a"), learner_key("secret-b")
    assert len(a) == 32 and a != b and ":" not in a
    ra = db.record_drawing("d1", strokes, "uactn", RESULTS, user="guest", learner=a)
    rb = db.record_drawing("d1", strokes, "uactn", RESULTS[:1], user="guest", learner=b)
    assert ra != rb and db.record_drawing("d1", strokes, "uactn", RESULTS, user="ana", learner=a) == ra
    assert db.get(ra).user == "ana" and db.get(ra).queries == 2 and db.get(rb).queries == 1  # the label follows
    assert [e.id for e in db.recent(learner=a)] == [ra] and db.count(learner=b) == 1 and db.count(user="guest") == 1
    assert db.get(ra, learner=a).learner == a
    with pytest.raises(HistoryError, match=f"No query #{ra}"):
        db.get(ra, learner=b)
    local = db.add(STROKES, "m", RESULTS)
    assert db.get(local).learner == "local:ada"
    assert [r["learner"] for r in db.learners()] == ["local:ada", b, a]


def test_a_byte_cap_drops_each_learners_oldest_drawings(tmp_path):
    from sbsr_lab.widgets.history import QueryHistory

    db = QueryHistory(tmp_path / "h.sqlite")
    rng = np.random.default_rng(0)
    big = [rng.uniform(0, 1, (60, 2)).astype(np.float32)]  # about 1 KB of strokes
    db.record_drawing("other", big, "uactn", RESULTS, user="ben", learner="b" * 32, keep_bytes=3000)
    ids = [db.record_drawing(f"d{i}", big, "uactn", RESULTS, user="ada", learner="a" * 32, keep_bytes=3000)
           for i in range(8)]
    kept = [e.id for e in db.recent(100, learner="a" * 32)]
    assert kept == ids[::-1][:len(kept)] and 2 <= len(kept) < 8  # the newest, oldest dropped first
    row = db.stored_bytes("a" * 32) / len(kept)
    assert db.stored_bytes("a" * 32) <= 3000 < db.stored_bytes("a" * 32) + 1.1 * row  # as many as fit
    assert db.count(learner="b" * 32) == 1  # another learner untouched
    huge = [rng.uniform(0, 1, (400, 2)).astype(np.float32)]  # one drawing over the cap alone is still kept
    last = db.record_drawing("huge", huge, "uactn", RESULTS, user="ada", learner="a" * 32, keep_bytes=3000)
    assert [e.id for e in db.recent(100, learner="a" * 32)] == [last]


def test_migrates_v3_to_v4_legacy_identities(tmp_path):
    """Rows of a v3 file (keyed by the typed name) become the legacy identity of that name, which no cookie
    can match (learner keys are hex); the teacher's summary lists them; the file takes new rows."""
    from sbsr_lab.widgets import history as h

    path = tmp_path / "v3.sqlite"
    con = sqlite3.connect(path)
    for stmt in filter(str.strip, (h._V2 + h._V3).split(";")):
        con.execute(stmt)
    for user, drawing in (("guest", "x"), ("guest", "y"), ("ada", "x")):
        con.execute("INSERT INTO queries (user, created_at, strokes, model, predicted_class, top_ids, top_scores, "
                    "drawing) VALUES (?, '2026-01-01T00:00:00+00:00', '[[[0.1,0.9],[0.2,0.8]]]', 'uactn', 'ring', "
                    "'[\"a\"]', '[0.5]', ?)", (user, drawing))
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    db = h.QueryHistory(path)
    assert db.schema_version() == SCHEMA_VERSION == 4
    assert {(e.user, e.learner) for e in db.recent()} == {("guest", "legacy:guest"), ("ada", "legacy:ada")}
    summary = {r["learner"]: r for r in db.learners()}
    assert summary["legacy:guest"]["entries"] == 2 and summary["legacy:guest"]["label"] == "guest"
    assert summary["legacy:ada"]["recent"][0]["predicted_class"] == "ring"
    key = h.learner_key("a browser's secret")
    new = db.record_drawing("x", STROKES, "uactn", RESULTS, user="guest", learner=key)  # same name and drawing id
    assert db.count(learner=key) == 1 and db.count(learner="legacy:guest") == 2 and db.get(new).learner == key
    with sqlite3.connect(path) as con:
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "queries_user_drawing" not in indexes and "queries_learner_drawing" in indexes
    h.QueryHistory(path)  # opening again is a no-op
    assert len(db) == 4
