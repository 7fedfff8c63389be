"""Run the classroom app (``sbsr-lab app``) in a child process, for scripts, tests and benchmarks.

    from sbsr_lab.widgets.app import start_app
    with start_app(model="bundle:cfttsl") as app:      # `sbsr-lab app --no-browser` on 127.0.0.1
        app.wait_ready()                               # the model is loaded (the page is served before)
        print(app.url)

The server itself is :mod:`sbsr_lab.widgets.server` (one process, one model, a light page over a JSON
API); ``sbsr-lab app`` runs it in the foreground. Nothing here imports torch or ipywidgets.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

from sbsr_lab.errors import SbsrError

__all__ = ["METHOD_LABELS", "free_port", "AppServer", "start_app"]

class _MethodLabels(Mapping[str, str]):
    """The methods' display names, as each method declares them (``Method.label`` in its file under
    ``sbsr_lab/train/methods``), read from the registry when first asked (it loads torch: not at import)."""

    def _labels(self) -> dict[str, str]:
        from sbsr_lab.train.stage import method_labels  # deferred: the registry imports torch

        return method_labels()

    def __getitem__(self, method: str) -> str:
        return self._labels()[method]

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels())

    def __len__(self) -> int:
        return len(self._labels())


#: Display names of the methods (``METHOD_LABELS.get(method, method)``), from the method registry.
METHOD_LABELS: Mapping[str, str] = _MethodLabels()

_URL_LINE = "sbsr-lab app: the sketch demo is at "
_TEACHER_LINE = "sbsr-lab app: the teacher view is at "


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class AppServer:
    """A running app server (a child process); stop it with :meth:`stop` or use it as a context manager."""

    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", int(parts.port or 80)
        self.token = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("token")

    @property
    def teacher_url(self) -> str:
        """The teacher view's address (``/teacher?key=...``), as the app printed it after its own address."""
        deadline = time.monotonic() + 10
        while True:
            text = self.log_tail(1_000_000)
            if _TEACHER_LINE in text:
                return text.split(_TEACHER_LINE, 1)[1].split()[0]
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SbsrError(f"The app printed no teacher address:\n{self.log_tail()}")
            time.sleep(0.05)

    def __enter__(self) -> "AppServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def status(self) -> dict[str, Any] | None:
        """``GET /api/status`` (None when the server does not answer)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            conn.request("GET", "/api/status", headers={"X-Sbsr-Token": self.token} if self.token else {})
            resp = conn.getresponse()
            return json.loads(resp.read()) if resp.status == 200 else None
        except (OSError, ValueError):
            return None
        finally:
            conn.close()

    def wait_ready(self, timeout_s: float = 120.0) -> dict[str, Any]:
        """Wait until the model is loaded; returns the status. Raises :class:`SbsrError` on failure."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SbsrError(f"The app exited with code {self.process.returncode}:\n{self.log_tail()}")
            st = self.status()
            if st and st["state"] == "ready":
                return st
            if st and st["state"] == "error":
                raise SbsrError(f"The app could not load its model: {st['message']}")
            time.sleep(0.1)
        raise SbsrError(f"The app at {self.url} was not ready within {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 15.0) -> int | None:
        """SIGTERM (the server's clean stop), then SIGKILL if it does not end in ``timeout_s``; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        try:
            self.log.unlink()
        except OSError:
            pass
        return self.process.returncode

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_app(port: int | None = None, host: str = "127.0.0.1", model: str | None = None,
              bundle: str | None = None, data: str | None = None, k: int = 8, history: str | None = None,
              token: str | None = None, workers: int | None = None, timeout_s: float = 60.0,
              env: dict[str, str] | None = None) -> AppServer:
    """Start ``sbsr-lab app --no-browser`` in a child process and wait until its page answers
    (the model may still be loading: :meth:`AppServer.wait_ready`). Raises :class:`SbsrError` when it
    exits or does not answer within ``timeout_s``."""
    port = port or free_port("127.0.0.1" if host in ("0.0.0.0", "") else host)
    args = ["--port", str(port), "--host", host, "--k", str(k)]
    for flag, value in (("--model", model), ("--bundle", bundle), ("--data", data), ("--history", history),
                        ("--token", token), ("--workers", workers)):
        if value is not None:
            args += [flag, str(value)]
    child_env = dict(os.environ if env is None else env)
    repo = str(Path(__file__).resolve().parents[2])  # the folder holding sbsr_lab/, for a non-installed checkout
    child_env["PYTHONPATH"] = os.pathsep.join([repo, child_env["PYTHONPATH"]]) if child_env.get("PYTHONPATH") else repo
    fd, log_name = tempfile.mkstemp(prefix="sbsr_app_", suffix=".log")
    log = Path(log_name)
    with os.fdopen(fd, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "sbsr_lab.cli", "app", "--no-browser", *args],
                                stdout=out, stderr=subprocess.STDOUT, env=child_env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.is_file() else ""
        if _URL_LINE in text:
            url = text.split(_URL_LINE, 1)[1].split()[0]
            return AppServer(proc, url, log)
        if proc.poll() is not None:
            server = AppServer(proc, f"http://{host}:{port}/", log)
            tail = server.log_tail()
            server.stop()
            raise SbsrError(f"The app exited with code {proc.returncode}. Its log ends with:\n{tail}")
        time.sleep(0.05)
    server = AppServer(proc, f"http://{host}:{port}/", log)
    tail = server.log_tail()
    server.stop()
    raise SbsrError(f"The app did not print its address within {timeout_s:.0f} s. Its log ends with:\n{tail}")
