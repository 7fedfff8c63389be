"""`sbsr-lab app`, the one-process web app: its JSON API over real HTTP on 127.0.0.1, its hardening
(token, Host check, body limit, no tracebacks, 503 when full), the history (one entry per drawing, exact
replay, export), each learner's privacy (an identity cookie per browser, another learner's entries 404,
per-learner caps, the teacher view behind its own token), a clean stop on SIGTERM/SIGINT, the CLI, and a
small classroom load run."""

import asyncio
import http.client
import importlib.util
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from sbsr_lab.widgets.history import SCHEMA_VERSION, QueryHistory, default_history_path, short_path
from sbsr_lab.widgets.server import AppConfig, AppState, is_loopback, make_app

ROOT = Path(__file__).resolve().parents[2]


def ring(seed=0):
    from tiny_bundle import class_strokes

    return [s.tolist() for s in class_strokes("ring", np.random.default_rng(seed))]


def cross(seed=0):
    from tiny_bundle import class_strokes

    return [s.tolist() for s in class_strokes("cross", np.random.default_rng(seed))]


class LiveApp:
    """The app's tornado application on a free loopback port, in a thread with its own event loop;
    the engines are loaded before the first request (synchronously)."""

    def __init__(self, config: AppConfig, load: bool = True) -> None:
        import tornado.httpserver
        import tornado.netutil

        self.state = AppState(config)
        if load:
            self.state._load_all(None)
            assert self.state.state == "ready", self.state.message
        self.sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = self.sockets[0].getsockname()[1]
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.server = tornado.httpserver.HTTPServer(make_app(self.state), max_body_size=config.max_body)
            self.server.add_sockets(self.sockets)
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(10)

    def request(self, method: str, path: str, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            if method == "POST" and headers is None:  # what the app's page sends
                headers = {"Content-Type": "application/json"}
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            raw = resp.read()
            hdrs = dict(resp.getheaders())
            if resp.msg.get_all("Set-Cookie"):  # every cookie set, one a line (a dict would keep the last)
                hdrs["Set-Cookie"] = "\n".join(resp.msg.get_all("Set-Cookie"))
            return resp.status, hdrs, raw
        finally:
            conn.close()

    def json(self, method: str, path: str, body=None, headers=None):
        status, hdrs, raw = self.request(method, path, body, headers)
        return status, json.loads(raw) if raw else None

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.state.close()


class Browser:
    """One browser at the app: keeps the cookies the server sets (its identity) and sends them back."""

    def __init__(self, app: LiveApp, cookies: dict[str, str] | None = None) -> None:
        self.app, self.cookies = app, dict(cookies or {})

    def request(self, method: str, path: str, body=None, headers=None):
        headers = dict(headers or ({"Content-Type": "application/json"} if method == "POST" else {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, hdrs, raw = self.app.request(method, path, body, headers)
        for line in filter(None, hdrs.get("Set-Cookie", "").split("\n")):
            name, value = line.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return status, hdrs, raw

    def json(self, method: str, path: str, body=None, headers=None):
        status, _, raw = self.request(method, path, body, headers)
        return status, json.loads(raw) if raw else None

    def query(self, strokes, **kw):
        return self.json("POST", "/api/query", {"strokes": strokes, **kw})

    def history(self) -> list[dict]:
        status, doc = self.json("GET", "/api/history")
        assert status == 200, doc
        return doc["entries"]


def browser(app: LiveApp) -> Browser:
    """A new browser that has opened the page (so it holds its identity cookie)."""
    b = Browser(app)
    assert b.request("GET", "/")[0] == 200 and "sbsr_learner" in b.cookies
    return b


@pytest.fixture(scope="module")
def live(tiny_bundle, tmp_path_factory):
    app = LiveApp(AppConfig(model=str(tiny_bundle.bundle), k=6, history=tmp_path_factory.mktemp("h") / "h.sqlite"))
    yield app
    app.close()


def query(live, strokes, **kw):
    return live.json("POST", "/api/query", {"strokes": strokes, **kw})


# -- the API ---------------------------------------------------------------------------------------------

def test_status_page_and_static_files(live):
    status, st = live.json("GET", "/api/status")
    assert status == 200 and st["state"] == "ready" and st["default"] == "uactn"
    assert [m["key"] for m in st["models"]] == ["uactn", "cfttsl"] and st["classes"] == ["ring", "cross", "bar"]
    assert st["history"] and not st["loading_more"]
    code, headers, page = live.request("GET", "/")
    assert code == 200 and b'src="/static/app.js"' in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]  # the page can only talk to this server
    assert b"http" not in page.replace(b"http://www.w3.org", b"")      # nothing from the internet
    code, _, js = live.request("GET", "/static/app.js")
    assert code == 200 and b"/api/query" in js and b"https://" not in js
    assert live.request("GET", "/static/../server/handlers.py")[0] in (403, 404)


def test_query_ring_and_cross(live):
    status, res = query(live, ring(1), user="ada", drawing="t-ring")
    assert status == 200 and res["predicted_class"] == "ring" and res["method"] == "uactn"
    assert len(res["results"]) == 6 and res["results"][0]["class"] == "ring"
    assert res["probabilities"][0][0] == "ring" and res["uncertainty"] > 0 and res["unknown"] in (None, False, True)
    code, headers, png = live.request("GET", res["results"][0]["thumb"])
    assert code == 200 and headers["Content-Type"] == "image/png" and png[:4] == b"\x89PNG"
    status, res = query(live, cross(2), model="cfttsl", user="ada", drawing="t-cross")
    assert status == 200 and res["predicted_class"] == "cross" and res["method"] == "cfttsl" and res["uncertainty"] is None


def test_each_result_shows_its_best_matching_view(live):
    import io

    from PIL import Image

    _, res = query(live, ring(5), user="ada", drawing="t-view")
    for r in res["results"]:
        assert r["best_view"] == f"/api/view/uactn/{r['id']}/{r['view']}"
    first = res["results"][0]
    code, headers, png = live.request("GET", first["best_view"])
    assert code == 200 and headers["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(png)) as im:
        assert im.size[0] == im.size[1]  # one view cut from the strip
    code, _, thumb = live.request("GET", first["thumb"])
    assert code == 200
    view_count = 4  # the tiny bundle's views per shape
    assert live.request("GET", f"/api/view/uactn/{first['id']}/{view_count}")[0] == 404  # no such view
    assert live.request("GET", f"/api/view/nosuch/{first['id']}/0")[0] == 404


def test_one_history_entry_per_drawing(live):
    bob, ada = browser(live), browser(live)
    ada.query(ring(2), user="ada", drawing="a-1")
    strokes = ring(3) + cross(3)
    for n in range(1, len(strokes) + 1):  # stroke ends of one drawing
        assert bob.query(strokes[:n], user="bob", drawing="b-1")[0] == 200
    bob.query(ring(4), user="bob", drawing="b-2")
    entries = {e["drawing"]: e for e in bob.history()}
    assert set(entries) == {"b-1", "b-2"}
    assert entries["b-1"]["queries"] == len(strokes) and len(entries["b-1"]["strokes"]) == len(strokes)
    assert entries["b-2"]["queries"] == 1 and entries["b-1"]["user"] == "bob"
    assert {e["drawing"] for e in ada.history()} == {"a-1"}


def test_replay_reproduces_the_recorded_query(live):
    cy = browser(live)
    status, first = cy.query(cross(5), user="cy", drawing="c-1", brush=10, model="cfttsl")
    assert status == 200
    _, entry = cy.json("GET", f"/api/history/{first['entry']}")
    assert entry["brush"] == 10 and entry["model"] == "cfttsl" and entry["queries"] == 1
    rows_before = QueryHistory(live.state.history.path).count()
    _, again = query(live, entry["strokes"], user="cy", brush=entry["brush"], model=entry["model"], record=False)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in entry["results"]]
    np.testing.assert_allclose([r["score"] for r in again["results"]], [r["score"] for r in entry["results"]], atol=1e-6)
    assert QueryHistory(live.state.history.path).count() == rows_before  # a replay records nothing
    # the recorded pen width matters: the same strokes with another pen give other scores
    _, thin = query(live, entry["strokes"], brush=2, model="cfttsl", record=False)
    assert [r["score"] for r in thin["results"]] != [r["score"] for r in entry["results"]]


def test_export_is_a_json_download_of_the_user(live, monkeypatch):
    """The caller's own drawings, oldest first, streamed a page at a time (chunked, never one big string)."""
    from sbsr_lab.widgets.server import handlers

    dee, other = browser(live), browser(live)
    other.query(ring(6), user="dee", drawing="d-0")  # the same name in another browser: not dee's
    for i in range(5):
        dee.query(ring(7 + i) if i % 2 == 0 else cross(7 + i), user="dee", drawing=f"d-{i + 1}")
    monkeypatch.setattr(handlers, "EXPORT_PAGE", 2)
    code, headers, raw = dee.request("GET", "/api/history/export?user=dee")
    doc = json.loads(raw)
    assert code == 200 and 'attachment; filename="sbsr_history_dee.json"' == headers["Content-Disposition"]
    assert headers.get("Transfer-Encoding") == "chunked"  # streamed, not one Content-Length body
    assert doc["format"] == "sbsr_lab.history" and doc["user"] == "dee"
    assert [e["drawing"] for e in doc["entries"]] == [f"d-{i}" for i in range(1, 6)]
    assert all(e["strokes"] and e["user"] == "dee" for e in doc["entries"])
    code, _, raw = dee.request("GET", "/api/history/export")  # no name given: the latest drawing's label
    assert code == 200 and json.loads(raw)["user"] == "dee"
    code, _, raw = browser(live).request("GET", "/api/history/export?user=dee")  # the name opens nothing
    assert code == 200 and json.loads(raw)["entries"] == []


# -- each learner's privacy ------------------------------------------------------------------------------

TEACHER = "teacher-key-0123456789"


def test_each_browser_gets_its_own_identity_cookie(live):
    """First contact sets a random secret in an HttpOnly, SameSite=Strict, Path=/ cookie (not Secure over
    http); a browser that sends it back keeps it; a request without it gets another one."""
    code, headers, _ = live.request("GET", "/")
    cookie = headers["Set-Cookie"]
    assert code == 200 and cookie.startswith("sbsr_learner=")
    attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs and "secure" not in attrs
    secret = cookie.split(";", 1)[0].split("=", 1)[1]
    assert len(secret) == 32 and "expires" not in cookie.lower()  # 192 random bits; gone with the browser session
    again = live.request("GET", "/", headers={"Cookie": f"sbsr_learner={secret}"})[1]
    assert "Set-Cookie" not in again
    other = live.request("GET", "/")[1]["Set-Cookie"].split(";", 1)[0]
    assert other != f"sbsr_learner={secret}"
    assert secret not in live.state.history.path.read_bytes().decode("latin-1")  # only its hash is stored


def test_two_learners_cannot_see_or_change_each_others_drawings(live):
    """Same typed name, same drawing id: two browsers still have two histories. Another learner's entry id
    is a 404, the same answer as an id that does not exist; posting their drawing id makes one's own entry."""
    ana, ben = browser(live), browser(live)
    _, a = ana.query(ring(21), user="guest", drawing="shared-id")
    _, b = ben.query(cross(21), user="guest", drawing="shared-id")
    assert a["entry"] != b["entry"]
    assert [e["id"] for e in ana.history()] == [a["entry"]] and [e["id"] for e in ben.history()] == [b["entry"]]
    code, doc = ben.json("GET", f"/api/history/{a['entry']}")
    missing_code, missing = ben.json("GET", "/api/history/987654321")
    assert code == missing_code == 404 and doc["error"].replace(str(a["entry"]), "N") == missing["error"].replace("987654321", "N")
    assert ana.json("GET", f"/api/history/{a['entry']}")[0] == 200
    ben.query(cross(22), user="guest", drawing="shared-id")  # ben's drawing "shared-id" again: his entry, not ana's
    (entry,) = ana.history()
    assert entry["queries"] == 1 and entry["predicted_class"] == "ring"
    assert [e["queries"] for e in ben.history()] == [2]
    for path in ("/api/history?user=guest", "/api/history/export?user=guest"):  # the name opens nothing
        code, doc = ben.json("GET", path)
        assert code == 200 and a["entry"] not in [e["id"] for e in doc["entries"]]


def test_no_cookie_or_a_forged_one_is_a_new_empty_identity(live):
    """No cookie: a new identity (no shared guest pool); a malformed cookie is replaced; a well-formed
    secret nobody was given, a legacy name or the stored hash of a learner open nobody's drawings."""
    from sbsr_lab.widgets.history import learner_key

    code, res = query(live, ring(23), user="zed", drawing="z-1")  # no cookie at all
    assert code == 200 and isinstance(res["entry"], int)
    code, headers, raw = live.request("GET", "/api/history?user=zed")
    assert code == 200 and json.loads(raw)["entries"] == [] and "sbsr_learner=" in headers["Set-Cookie"]
    assert live.json("GET", f"/api/history/{res['entry']}")[0] == 404
    owner = browser(live)
    _, mine = owner.query(ring(24), user="owner", drawing="o-1")
    stored = learner_key(owner.cookies["sbsr_learner"])
    for forged in ("../../etc", "x" * 500, "legacy:zed", "local:owner", stored, stored[:10], "A" * 32, "'; DROP TABLE queries"):
        b = Browser(live, {"sbsr_learner": forged})
        code, headers, raw = b.request("GET", "/api/history")
        assert code == 200 and json.loads(raw)["entries"] == [], forged
        assert b.json("GET", f"/api/history/{mine['entry']}")[0] == 404
        # malformed: replaced by a fresh secret; well-formed: kept (it is that browser's own, empty, identity)
        assert ("Set-Cookie" in headers) == (forged not in (stored, "A" * 32)), forged
    assert [e["id"] for e in owner.history()] == [mine["entry"]]


def test_teacher_view_needs_the_teacher_token(tiny_bundle, tmp_path):
    """``GET /api/class`` and ``/teacher``: 403 without the teacher token, even with the room token every
    learner has; with it: every learner's label, counts, bytes and latest answers, and no strokes."""
    app = LiveApp(AppConfig(model=str(tiny_bundle.bundle), history=tmp_path / "h.sqlite", token="room-token-1",
                            teacher_token=TEACHER))
    room = {"X-Sbsr-Token": "room-token-1"}
    try:
        ana, ben = Browser(app), Browser(app)
        for b in (ana, ben):
            assert b.request("GET", "/?token=room-token-1")[0] == 200 and {"sbsr_token", "sbsr_learner"} <= set(b.cookies)
        ana.query(ring(31), user="ana", drawing="a-1")
        ana.query(cross(31), user="ana", drawing="a-2")
        ben.query(ring(32), user="ben", drawing="b-1")
        for path in ("/api/class", "/teacher"):
            assert app.request("GET", path, headers=room)[0] == 403
            assert ana.request("GET", path)[0] == 403  # a learner (with the room token cookie)
            assert app.request("GET", path + "?key=wrong-key-0123456789", headers=room)[0] == 403
            assert app.request("GET", path, headers={**room, "X-Sbsr-Teacher": "room-token-1"})[0] == 403
        assert app.request("GET", f"/api/class?key={TEACHER}")[0] == 403  # the room token is still needed
        code, doc = app.json("GET", "/api/class", headers={**room, "X-Sbsr-Teacher": TEACHER})
        assert code == 200 and doc["caps"] == {"entries": 200, "bytes": 5 * 2**20}
        by_label = {row["label"]: row for row in doc["learners"]}
        assert set(by_label) == {"ana", "ben"} and by_label["ana"]["entries"] == 2 and by_label["ben"]["entries"] == 1
        assert [a["predicted_class"] for a in by_label["ana"]["recent"]] == ["cross", "ring"]
        assert by_label["ana"]["kind"] == "browser" and by_label["ana"]["bytes"] > 0
        assert "strokes" not in json.dumps(doc) and ana.cookies["sbsr_learner"] not in json.dumps(doc)
        teacher = Browser(app)
        code, headers, _ = teacher.request("GET", f"/teacher?key={TEACHER}&token=room-token-1")
        assert code == 302 and headers["Location"] == "/teacher"  # the secret leaves the address bar
        cookie = next(c for c in headers["Set-Cookie"].split("\n") if c.startswith("sbsr_teacher="))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        code, _, page = teacher.request("GET", "/teacher")
        assert code == 200 and b"/static/teacher.js" in page
        assert teacher.json("GET", "/api/class")[0] == 200
    finally:
        app.close()


def test_the_byte_cap_drops_each_learners_oldest_drawings(tiny_bundle, tmp_path):
    from sbsr_lab.widgets.history import learner_key

    app = LiveApp(AppConfig(model=str(tiny_bundle.bundle), history=tmp_path / "h.sqlite", max_learner_bytes=4096))
    try:
        ana, ben = browser(app), browser(app)
        ben.query(ring(40), user="ben", drawing="b-1")
        for i in range(12):
            assert ana.query(ring(41 + i), user="ana", drawing=f"a-{i}")[0] == 200
        kept = [e["drawing"] for e in ana.history()]
        assert 1 < len(kept) < 12 and kept == [f"a-{i}" for i in range(11, 11 - len(kept), -1)]  # the newest
        assert app.state.history.stored_bytes(learner_key(ana.cookies["sbsr_learner"])) <= 4096
        assert [e["drawing"] for e in ben.history()] == ["b-1"]  # another learner's history is untouched
    finally:
        app.close()


def test_a_history_from_before_identities_is_the_teachers_only(tiny_bundle, tmp_path):
    """A v3 file (rows keyed by the typed name) migrates: its rows become legacy identities that no browser
    can open, even typing the same name; the teacher view still lists them."""
    from sbsr_lab.widgets import history as h

    path = tmp_path / "v3.sqlite"
    con = sqlite3.connect(path)
    for stmt in filter(str.strip, (h._V2 + h._V3).split(";")):
        con.execute(stmt)
    for user in ("guest", "guest", "ada"):
        con.execute("INSERT INTO queries (user, created_at, strokes, model, predicted_class, top_ids, top_scores, drawing) "
                    "VALUES (?, '2026-01-01T00:00:00+00:00', '[[[0.1,0.9],[0.2,0.8]]]', 'uactn', 'ring', '[\"a\"]', "
                    "'[0.5]', ?)", (user, f"old-{user}-{secrets_hex()}"))
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    app = LiveApp(AppConfig(model=str(tiny_bundle.bundle), history=path, teacher_token=TEACHER))
    try:
        ada = browser(app)
        ada.query(ring(50), user="ada", drawing="old-ada-x")
        assert [e["drawing"] for e in ada.history()] == ["old-ada-x"]
        code, doc = ada.json("GET", "/api/history/export?user=guest")
        assert [e["drawing"] for e in doc["entries"]] == ["old-ada-x"]
        assert all(ada.json("GET", f"/api/history/{i}")[0] == 404 for i in (1, 2, 3))
        _, doc = app.json("GET", "/api/class", headers={"X-Sbsr-Teacher": TEACHER})
        rows = {(r["id"], r["kind"]): r["entries"] for r in doc["learners"]}
        assert rows[("legacy:guest", "legacy")] == 2 and rows[("legacy:ada", "legacy")] == 1
        assert sum(1 for kind in (k for _, k in rows) if kind == "browser") == 1
    finally:
        app.close()


def secrets_hex() -> str:
    import secrets

    return secrets.token_hex(4)


def test_mesh_of_a_result_and_a_bundle_without_meshes(live):
    _, res = query(live, ring(8), record=False)
    assert res["has_meshes"] and res["results"][0]["mesh"]
    status, mesh = live.json("GET", f"/api/mesh/uactn/{res['results'][0]['id']}")
    v = np.asarray(mesh["vertices"]).reshape(-1, 3)
    assert status == 200 and len(v) > 8 and np.linalg.norm(v, axis=1).max() == pytest.approx(1.0, abs=1e-3)
    assert max(mesh["faces"]) < len(v)
    model = live.state.models["cfttsl"]
    shapes, model.engine.shapes, model.has_meshes = model.engine.shapes, {}, False
    try:
        _, res = query(live, ring(8), model="cfttsl", record=False)
        assert res["has_meshes"] is False and res["results"][0]["mesh"] is False
        status, err = live.json("GET", f"/api/mesh/cfttsl/{res['results'][0]['id']}")
        assert status == 404 and "no 3D mesh" in err["error"]
    finally:
        model.engine.shapes, model.has_meshes = shapes, True


@pytest.mark.parametrize("body, status, words", [
    ({"strokes": []}, 200, "empty"),
    ({"strokes": [[[0.5, 0.5], [0.505, 0.5]]]}, 200, "only a dot"),
    ({"strokes": "ring"}, 400, "list of strokes"),
    ({"strokes": [[[0.1, 0.2, 0.3]]]}, 400, "[x, y] points"),
    ({"strokes": [[[0.1, "x"]]]}, 400, "not a list of [x, y] numbers"),
    ({"strokes": [[[0.1, 0.2], [0.5, 0.9]]], "model": "nope"}, 400, "offers: uactn, cfttsl"),
    ({"strokes": [[[0.1, 0.2], [0.5, 0.9]]], "k": 0}, 400, "'k'"),
    ({"strokes": [[[0.1, 0.2], [0.5, 0.9]]], "brush": 1000}, 400, "'brush'"),
    ({"strokes": [[[0.1, 0.2], [0.5, 0.9]]], "user": "<script>"}, 400, "user name"),
    ({"strokes": [[[0.1, 0.2], [0.5, 0.9]]], "drawing": "../x"}, 400, "'drawing'"),
])
def test_bad_queries_get_a_message(live, body, status, words):
    code, res = query(live, **{"strokes": body.pop("strokes")}, **body)
    assert code == status
    text = res.get("problem") or res.get("error")
    assert words in text and "Traceback" not in text


def test_nan_non_json_and_too_large_bodies(live):
    code, _, raw = live.request("POST", "/api/query", b'{"strokes": [[[NaN, 0.1], [0.5, 0.5]]]}')
    assert code == 400 and b"NaN" in raw
    code, _, raw = live.request("POST", "/api/query", b"not json")
    assert code == 400 and b"not JSON" in raw
    big = json.dumps({"strokes": [[[0.5, 0.5]] * 200_000]}).encode()  # > 2 MB
    try:
        code = live.request("POST", "/api/query", big)[0]
    except (ConnectionError, http.client.HTTPException):  # tornado may close before reading it all
        code = 413
    assert code == 413


def test_many_strokes_are_capped(live):
    rng = np.random.default_rng(0)
    strokes = [rng.uniform(0.1, 0.9, (40, 2)).round(4).tolist() for _ in range(400)]
    code, res = query(live, strokes, record=False)
    assert code == 200 and len(res["results"]) == 6


def test_server_errors_are_logged_not_shown(live, monkeypatch, caplog):
    engine = live.state.models["uactn"].engine

    def broken(*a, **k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(engine, "query", broken)
    with caplog.at_level("ERROR"):
        code, _, raw = live.request("POST", "/api/query", json.dumps({"strokes": ring(9)}).encode())
    assert code == 500 and b"secret" not in raw and b"Traceback" not in raw and b"log" in raw
    assert "secret internal detail" in caplog.text


def test_full_queue_answers_503_with_retry_after(tiny_bundle, tmp_path):
    app = LiveApp(AppConfig(model=str(tiny_bundle.bundle), history=False, workers=1, max_pending=1))
    engine = app.state.models["uactn"].engine
    real = engine.query
    engine.query = lambda *a, **k: (time.sleep(0.6), real(*a, **k))[1]
    try:
        codes, retry = [], []

        def one():
            status, headers, _ = app.request("POST", "/api/query", json.dumps({"strokes": ring(1)}).encode())
            codes.append(status)
            retry.append(headers.get("Retry-After"))

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(codes) == [200, 503, 503, 503] and "1" in retry
    finally:
        app.close()


def test_loading_state_answers_503_then_ready(tiny_bundle):
    app = LiveApp(AppConfig(model=str(tiny_bundle.bundle), history=False), load=False)
    try:
        _, st = app.json("GET", "/api/status")
        assert st["state"] == "loading" and st["message"] == "loading the model…"
        code, headers, _ = app.request("POST", "/api/query", json.dumps({"strokes": ring(1)}).encode())
        assert code == 503 and headers["Retry-After"] == "1"
        app.state.start_loading()
        assert app.state.wait_ready(120)
        assert app.json("POST", "/api/query", {"strokes": ring(1)})[0] == 200
    finally:
        app.close()


def test_token_and_host_checks(tiny_bundle):
    app = LiveApp(AppConfig(model=str(tiny_bundle.bundle), history=False, token="s3cret-token"))
    try:
        assert app.request("GET", "/")[0] == 403
        assert app.request("GET", "/api/status?token=wrong-token")[0] == 403
        code, headers, _ = app.request("GET", "/?token=s3cret-token")
        token_cookie = next(c for c in headers["Set-Cookie"].split("\n") if c.startswith("sbsr_token="))
        assert code == 200 and token_cookie.startswith("sbsr_token=s3cret-token;") and "HttpOnly" in token_cookie
        assert "SameSite=Strict" in token_cookie
        assert app.request("GET", "/api/status", headers={"Cookie": "sbsr_token=s3cret-token"})[0] == 200
        assert app.request("GET", "/static/app.js", headers={"X-Sbsr-Token": "s3cret-token"})[0] == 200
        code, _, raw = app.request("GET", "/api/status", headers={"X-Sbsr-Token": "s3cret-token",
                                                                  "Host": "evil.example:80"})
        assert code == 403 and b"localhost" in raw  # DNS rebinding: a loopback server answers only to loopback names
    finally:
        app.close()


def test_config_makes_a_token_off_loopback():
    assert AppConfig().token is None and is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    cfg = AppConfig(host="0.0.0.0")
    assert not is_loopback("0.0.0.0") and cfg.token and len(cfg.token) >= 20
    from sbsr_lab.errors import SbsrError

    assert AppConfig().teacher_token != AppConfig().teacher_token and len(AppConfig().teacher_token) >= 20
    for bad in (dict(k=0), dict(workers=0), dict(token="short"), dict(teacher_token="short"),
                dict(token="same-token-for-all", teacher_token="same-token-for-all"), dict(max_learner_bytes=10)):
        with pytest.raises(SbsrError):
            AppConfig(**bad)


# -- history file ----------------------------------------------------------------------------------------

def test_history_v2_file_migrates_to_v3(tmp_path):
    from sbsr_lab.widgets import history as h

    path = tmp_path / "v2.sqlite"
    con = sqlite3.connect(path)
    con.executescript(h._V2)
    con.execute("INSERT INTO queries (user, created_at, strokes, model, top_ids, top_scores) VALUES "
                "('ada', '2026-01-01T00:00:00+00:00', '[[[0.1,0.9],[0.2,0.8]]]', 'uactn', '[\"a\"]', '[0.5]')")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    db = QueryHistory(path)
    assert db.schema_version() == SCHEMA_VERSION == 4
    old = db.recent()[0]
    assert old.user == "ada" and old.drawing is None and old.queries == 1 and old.width is None
    assert old.learner == "legacy:ada"  # v4: the typed name's rows became a legacy identity
    a = db.record_drawing("x1", [[[0.1, 0.1], [0.9, 0.9]]], "uactn", [{"id": "s1", "score": 0.5}], user="ada", width=6)
    b = db.record_drawing("x1", [[[0.1, 0.1], [0.9, 0.9]], [[0.1, 0.9], [0.9, 0.1]]], "cfttsl",
                          [{"id": "s2", "score": 0.7}], user="ada", width=3)
    c = db.record_drawing("x1", [[[0.5, 0.1], [0.5, 0.9]]], "uactn", [{"id": "s3", "score": 0.1}], user="bob")
    assert a == b != c and db.count() == 3 and db.count("ada") == 2
    e = db.get(a)
    assert e.queries == 2 and e.model == "cfttsl" and e.width == 3 and len(e.strokes) == 2 and e.top_ids == ["s2"]


def test_default_history_path_is_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SBSR_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_history_path() == tmp_path / "xdg" / "sbsr_lab" / "query_history.sqlite"
    monkeypatch.setenv("SBSR_DATA", str(tmp_path / "d"))
    assert default_history_path() == tmp_path / "d" / "query_history.sqlite"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert short_path(tmp_path / "xdg" / "a.sqlite") in ("~/xdg/a.sqlite", "xdg/a.sqlite")


# -- the process: start, SIGTERM/SIGINT, CLI -----------------------------------------------------------

def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_server_cleanly(tiny_bundle, tmp_path, sig):
    import tempfile

    import psutil

    from sbsr_lab.widgets.app import start_app

    tmp_before = set(os.listdir(tempfile.gettempdir()))
    with start_app(model=str(tiny_bundle.bundle), history=str(tmp_path / "h.sqlite"), k=4) as app:
        st = app.wait_ready(120)
        assert st["state"] == "ready"
        assert app.status()["models"]
        proc = psutil.Process(app.process.pid)
        assert proc.children(recursive=True) == []  # one process: no kernels, no workers
        code, res = _post(app.port, {"strokes": ring(2), "user": "sig", "drawing": "s-1"})
        assert code == 200 and res["predicted_class"] == "ring"
        app.process.send_signal(sig)
        assert app.process.wait(20) == 0
        assert "stopped" in app.log_tail()
    assert app.process.returncode == 0 and _port_free(app.port)
    new = {n for n in set(os.listdir(tempfile.gettempdir())) - tmp_before if n.startswith("sbsr_app")}
    assert new == set()  # no temporary folder or file left (start_app's own log is removed by stop())
    assert QueryHistory(tmp_path / "h.sqlite").count("sig") == 1


def _post(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/query", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_cli_errors_are_one_line(tiny_bundle, capsys):
    from sbsr_lab.cli import main

    assert main(["app", "--no-browser", "--bundle", str(tiny_bundle.bundle / "missing")]) == 2
    err = capsys.readouterr().err
    assert "No model bundle" in err and "Traceback" not in err
    assert main(["app", "--no-browser", "--workers", "0", "--model", str(tiny_bundle.bundle)]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["app", "--no-browser", "--k", "0"]) == 2


def test_cli_prints_a_url_with_a_token_off_loopback(tiny_bundle, tmp_path):
    from sbsr_lab.widgets.app import start_app

    with start_app(host="0.0.0.0", model=str(tiny_bundle.bundle), history=str(tmp_path / "h.sqlite")) as app:
        assert app.token and f"?token={app.token}" in app.url and "anyone who can reach" in app.log_tail()
        conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
        conn.request("GET", "/api/status")
        assert conn.getresponse().status == 403
        conn.close()
        assert app.wait_ready(120)["state"] == "ready"  # with the token (AppServer sends it)
        # the teacher's own address: its key opens the class view; the room token alone does not
        teacher = app.teacher_url
        key = teacher.split("key=", 1)[1].split("&", 1)[0]
        assert "/teacher?key=" in teacher and f"token={app.token}" in teacher and key != app.token
        for headers, status in (({"X-Sbsr-Token": app.token}, 403), ({"X-Sbsr-Token": app.token, "X-Sbsr-Teacher": key}, 200)):
            conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
            conn.request("GET", "/api/class", headers=headers)
            assert conn.getresponse().status == status
            conn.close()


# -- the classroom load test, small ----------------------------------------------------------------------

def test_classroom_load_small(tiny_bundle, tmp_path):
    spec = importlib.util.spec_from_file_location("classroom_load", ROOT / "benchmarks" / "classroom_load.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    from sbsr_lab.widgets.app import start_app

    with start_app(model=str(tiny_bundle.bundle), history=str(tmp_path / "h.sqlite")) as app:
        app.wait_ready(120)
        res = mod.run_load(app.url, app.process.pid, clients=5, queries=5, think=(0.02, 0.1), max_seconds=60)
    assert res["queries"] == 25 and res["errors"] == [] and res["history"]["ok"], res
    assert res["history"]["entries"] == res["history"]["drawings"] >= 5
    assert res["p95_ms"] < 5000 and res["rss_start_mb"] > 50 and res["rss_peak_mb"] >= res["rss_start_mb"]
    assert mod.percentile([1, 2, 3, 4], 50) == 2.5 and mod.percentile([5], 99) == 5


def test_the_not_a_shape_verdict_is_the_engines_own(live, monkeypatch):
    """``unknown`` is QueryResult.is_ood (the detector's verdict), None for a model without a detector; the
    detector's fields pass through."""
    from sbsr_lab.serve.query import QueryEngine

    real = QueryEngine.query

    def flagged(self, *a, **kw):
        res = real(self, *a, **kw)
        res.ood = {"score": 0.1, "threshold": 0.4, "score_kind": "energy", "is_ood": True}
        return res

    monkeypatch.setattr(QueryEngine, "query", flagged)
    _, res = query(live, ring(11), record=False)
    assert res["unknown"] is True and res["ood"]["score_kind"] == "energy"

    def undetected(self, *a, **kw):
        res = real(self, *a, **kw)
        res.ood = None
        return res

    monkeypatch.setattr(QueryEngine, "query", undetected)
    _, res = query(live, ring(11), record=False)
    assert res["unknown"] is None and "ood" not in res


def test_cross_site_and_malformed_requests_are_refused_and_not_recorded(live):
    """A post from another web site (its Origin, a form's text/plain body, Sec-Fetch-Site cross-site) is
    refused before it is read; JSON nested 100,000 deep and a 20-digit history id answer 4xx, not 500;
    a stroke of 100,000 points is bounded (thinned before simplifying) and answered."""
    before = live.state.history.count("mallory")
    body = json.dumps({"strokes": ring(), "user": "mallory"}).encode()
    for headers in ({"Content-Type": "application/json", "Origin": "http://evil.example"},
                    {"Content-Type": "text/plain"}, {},
                    {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}):
        status, _, raw = live.request("POST", "/api/query", body, headers)
        assert status in (403, 415), (headers, status)
        assert "Traceback" not in raw.decode()
    own = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{live.port}", "Sec-Fetch-Site": "same-origin"}
    status, _, _ = live.request("POST", "/api/query", json.dumps({"strokes": ring(), "user": "alice"}).encode(), own)
    assert status == 200
    assert live.state.history.count("mallory") == before
    status, _, raw = live.request("POST", "/api/query", b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and b"nested" in raw
    status, _, _ = live.request("GET", "/api/history/" + "9" * 20)
    assert status == 404
    t = np.linspace(0, 2 * np.pi, 100_000)  # under the 2 MB body limit
    big = np.stack([0.5 + 0.3 * np.cos(t), 0.5 + 0.3 * np.sin(t)], 1).round(3).tolist()
    t0 = time.perf_counter()
    status, doc = query(live, [big], record=False)
    assert status == 200 and time.perf_counter() - t0 < 20, (status, doc)


def test_a_locked_history_never_holds_a_query(live):
    """Another process holding the history's write lock: the query is answered at once, unsaved, with a
    note (each query waited 10-29 s)."""
    import sqlite3

    con = sqlite3.connect(live.state.history.path, timeout=1, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.perf_counter()
        status, doc = query(live, ring(), user="ada")
        assert status == 200 and "history_error" in doc and time.perf_counter() - t0 < 3.0
    finally:
        con.execute("ROLLBACK")
        con.close()
