"""A classroom on one machine: N simulated people draw on `sbsr-lab app` at once (bounded in count and time).

    PYTHONPATH=. python benchmarks/classroom_load.py [--clients 30] [--queries 20] [--max-seconds 120]
    PYTHONPATH=. python benchmarks/classroom_load.py --url http://127.0.0.1:8866/   # a server already running

Without ``--url`` the app is started as ``sbsr-lab app`` (a child process, the packaged bundle, the history
in a temporary file) and stopped at the end. Each client is one person at a page: it loads the page (HTML,
JS, CSS, status), then draws people-style sketches (tests/data/people_sketches, strokes) one stroke at a
time -- a think/draw time between strokes -- and sends the stroke-end query the page sends (all strokes so
far, the drawing's id, its user name); like the page, it fetches the thumbnails it has not seen yet and
has one query in flight at a time. A drawing ends when its strokes are all drawn (the page's Clear /
new drawing), and the next one starts.

Measured: stroke end -> query answer latency (p50 / p95 / p99 over all queries, a 503 retried after its
Retry-After counts from the first send), the server's RSS (its process and children) once ready and the
peak while every client is drawing, so the memory per extra user, and whether the history lost anything:
each (user, drawing) has exactly one entry and its ``queries`` count equals the queries the client sent.
Like a browser, each client keeps the identity cookie the page sets (the server keys the history by it)
and reads its own history back with it.
Prints a table and, with ``--out``, writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = ROOT / "tests" / "data" / "people_sketches"


def people_sketches(limit: int | None = None) -> list[tuple[str, list[list[list[float]]]]]:
    """(class, strokes as [[x, y], ...] lists) of the hand-made people-style set."""
    sys.path.insert(0, str(ROOT))
    from sbsr_lab.data.stroke_io import load_strokes

    out = []
    for path in sorted(PEOPLE.glob("*/*.ndjson")):
        strokes = [[[round(float(x), 4), round(float(y), 4)] for x, y in s] for s in load_strokes(path)]
        out.append((path.parent.name, strokes))
    return out[:limit] if limit else out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


@dataclass
class ClientLog:
    user: str
    cookie: str = ""          # the identity cookie the page set (the history is this browser's)
    latencies_ms: list[float] = field(default_factory=list)
    drawings: dict[str, int] = field(default_factory=dict)   # drawing id -> queries recorded
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    problems: int = 0


async def _client(i: int, base: str, headers: dict[str, str], sketches: list, queries: int, think: tuple[float, float],
                  deadline: float, seed: int) -> ClientLog:
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError

    http = AsyncHTTPClient()
    rng = random.Random(seed + i)
    log = ClientLog(f"student{i:02d}")
    seen_thumbs: set[str] = set()

    async def get(path: str) -> Any:
        return await http.fetch(base + path, headers={**headers, "Cookie": log.cookie}, request_timeout=60)

    await asyncio.sleep(rng.uniform(0, think[1]))  # people arrive over a moment, not at one instant
    for path in ("", "static/app.js", "static/app.css", "api/status"):
        resp = await get(path)
        if not log.cookie:  # the page sets this browser's identity, kept as a browser keeps it
            log.cookie = "; ".join(c.split(";", 1)[0] for c in resp.headers.get_list("Set-Cookie"))
    sent = 0
    d = 0
    while sent < queries and time.monotonic() < deadline:
        cls, strokes = sketches[rng.randrange(len(sketches))]
        drawing = f"c{i:02d}d{d:03d}"
        d += 1
        for n in range(1, len(strokes) + 1):
            if sent >= queries or time.monotonic() >= deadline:
                break
            await asyncio.sleep(rng.uniform(*think))  # drawing the stroke
            body = json.dumps({"strokes": strokes[:n], "brush": 6, "user": log.user, "drawing": drawing, "k": 8})
            t0 = time.perf_counter()
            while True:
                try:
                    resp = await http.fetch(base + "api/query", method="POST", body=body,
                                            headers={**headers, "Content-Type": "application/json", "Cookie": log.cookie},
                                            request_timeout=60)
                    break
                except HTTPClientError as err:
                    if err.code == 503 and time.monotonic() < deadline:
                        log.retries += 1
                        await asyncio.sleep(float(err.response.headers.get("Retry-After", 1)) if err.response else 1)
                        continue
                    log.errors.append(f"{err.code}: {err.response.body[:200] if err.response else err}")
                    resp = None
                    break
            sent += 1
            if resp is None:
                continue
            data = json.loads(resp.body)
            log.latencies_ms.append(1e3 * (time.perf_counter() - t0))
            if "problem" in data:
                log.problems += 1
                continue
            log.drawings[drawing] = log.drawings.get(drawing, 0) + 1
            new = [r["thumb"] for r in data["results"] if r["thumb"] not in seen_thumbs]
            seen_thumbs.update(new)
            await asyncio.gather(*(get(t.lstrip("/")) for t in new))  # as a browser fetches uncached images
    return log


class RssSampler:
    """Samples the RSS of a process and its children every ``every_s`` seconds (psutil)."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        import psutil

        self.proc, self.every_s, self.peak, self.samples = psutil.Process(pid), every_s, 0, []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        import psutil

        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            r = self.rss()
            self.samples.append(r)
            self.peak = max(self.peak, r)
            self._stop.wait(self.every_s)

    def __enter__(self) -> "RssSampler":
        self._t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._t.join()


def history_check(base: str, headers: dict[str, str], logs: list[ClientLog]) -> dict[str, Any]:
    """Every drawing a client made has one history entry whose query count is what the client sent."""
    import urllib.request

    missing, wrong_count, extra = [], [], []
    entries = 0
    for log in logs:
        req = urllib.request.Request(base + "api/history", headers={**headers, "Cookie": log.cookie})
        with urllib.request.urlopen(req, timeout=30) as resp:
            got = {e["drawing"]: e["queries"] for e in json.loads(resp.read())["entries"]}
        entries += len(got)
        for drawing, n in log.drawings.items():
            if drawing not in got:
                missing.append(f"{log.user}/{drawing}")
            elif got[drawing] != n:
                wrong_count.append(f"{log.user}/{drawing}: {got[drawing]} != {n}")
        extra += [f"{log.user}/{d}" for d in got if d not in log.drawings]
    return {"entries": entries, "drawings": sum(len(lg.drawings) for lg in logs), "missing": missing,
            "wrong_count": wrong_count, "extra": extra, "ok": not (missing or wrong_count or extra)}


def run_load(url: str, pid: int | None, clients: int = 30, queries: int = 20, think: tuple[float, float] = (0.4, 2.0),
             max_seconds: float = 120.0, seed: int = 0, token: str | None = None) -> dict[str, Any]:
    """Run the simulated classroom against ``url``; ``pid``: the server's process for RSS (None: not measured)."""
    from tornado.httpclient import AsyncHTTPClient

    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}/"
    headers = {"X-Sbsr-Token": token} if token else {}
    sketches = people_sketches()
    sampler = RssSampler(pid) if pid else None
    rss_start = sampler.rss() if sampler else None
    deadline = time.monotonic() + max_seconds

    async def main() -> list[ClientLog]:
        AsyncHTTPClient.configure(None, max_clients=max(10, 2 * clients))
        return list(await asyncio.gather(*(_client(i, base, headers, sketches, queries, think, deadline, seed)
                                           for i in range(clients))))

    t0 = time.monotonic()
    if sampler:
        with sampler:
            logs = asyncio.run(main())
    else:
        logs = asyncio.run(main())
    wall = time.monotonic() - t0
    lat = [x for lg in logs for x in lg.latencies_ms]
    out: dict[str, Any] = {
        "clients": clients, "queries_per_client": queries, "think_s": list(think), "wall_s": round(wall, 1),
        "queries": len(lat), "queries_planned": clients * queries, "retries_503": sum(lg.retries for lg in logs),
        "errors": [e for lg in logs for e in lg.errors][:20], "problems": sum(lg.problems for lg in logs),
        "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1), "max_ms": round(max(lat), 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "history": history_check(base, headers, logs),
    }
    if sampler:
        out["rss_start_mb"] = round(rss_start / 2**20, 1)
        out["rss_peak_mb"] = round(sampler.peak / 2**20, 1)
        out["rss_per_extra_user_mb"] = round((sampler.peak - rss_start) / 2**20 / max(1, clients - 1), 2)
    return out


def _print(res: dict[str, Any]) -> None:
    print(f"{res['clients']} clients x {res['queries_per_client']} queries: {res['queries']} answered "
          f"in {res['wall_s']} s, {res['retries_503']} retried after 503, {len(res['errors'])} errors")
    print(f"stroke end -> answer: p50 {res['p50_ms']} ms, p95 {res['p95_ms']} ms, p99 {res['p99_ms']} ms, "
          f"max {res['max_ms']} ms")
    if "rss_start_mb" in res:
        print(f"server RSS: {res['rss_start_mb']} MB ready, {res['rss_peak_mb']} MB peak with all clients "
              f"({res['rss_per_extra_user_mb']} MB per extra user)")
    h = res["history"]
    print(f"history: {h['entries']} entries for {h['drawings']} drawings; missing {len(h['missing'])}, "
          f"wrong query counts {len(h['wrong_count'])}, extra {len(h['extra'])} -> {'OK' if h['ok'] else 'LOST'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running app (default: start one)")
    ap.add_argument("--token", help="its token, if it has one")
    ap.add_argument("--model", help="model spec for the started app")
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--queries", type=int, default=20, help="queries per client")
    ap.add_argument("--think", type=float, nargs=2, default=(0.4, 2.0), metavar=("MIN", "MAX"),
                    help="seconds between two stroke ends of one person (uniform)")
    ap.add_argument("--max-seconds", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="write the figures as JSON")
    args = ap.parse_args(argv)
    if args.url:
        res = run_load(args.url, None, args.clients, args.queries, tuple(args.think), args.max_seconds, args.seed,
                       args.token)
    else:
        sys.path.insert(0, str(ROOT))
        from sbsr_lab.widgets.app import start_app

        with tempfile.TemporaryDirectory(prefix="sbsr_load_") as tmp:
            t0 = time.monotonic()
            with start_app(model=args.model, history=str(Path(tmp) / "history.sqlite")) as app:
                page_s = time.monotonic() - t0
                st = app.wait_ready()
                ready_s = time.monotonic() - t0
                print(f"app: page served after {page_s:.1f} s, model ready after {ready_s:.1f} s "
                      f"(server's own count {st['ready_after_s']} s)")
                res = run_load(app.url, app.process.pid, args.clients, args.queries, tuple(args.think),
                               args.max_seconds, args.seed)
                res["page_served_s"], res["model_ready_s"] = round(page_s, 2), round(ready_s, 2)
    _print(res)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    return 0 if res["history"]["ok"] and not res["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
