"""Serve the live demo as a standalone page with Voila (``sbsr-lab app``).

    from sbsr_lab.widgets.app import start_app
    with start_app(port=8866, model="bundle:cfttsl") as app:   # Voila on 127.0.0.1, in a subprocess
        print(app.url)

Model specs (``model``) are those of :mod:`sbsr_lab.retrieval.engine`. Nothing here imports ipywidgets.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sbsr_lab.errors import SbsrError

__all__ = ["METHOD_LABELS", "free_port", "write_app_notebook", "AppServer", "start_app"]

#: Display names of the methods.
METHOD_LABELS: dict[str, str] = {"cfttsl": "CFTTSL (teacher-student)", "uactn": "UACTN (uncertainty)",
                                 "joint": "Joint baseline"}


# -- the Voila app ---------------------------------------------------------------------------------------

def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def write_app_notebook(folder: str | os.PathLike[str], **demo_kwargs: Any) -> Path:
    """Write ``sbsr_demo.ipynb`` into ``folder``: one cell that shows ``sketch_demo(**demo_kwargs)``.

    ``demo_kwargs`` must be plain values (str, int, float, bool, None): they are written as Python literals.
    """
    import nbformat

    args = ", ".join(f"{k}={v!r}" for k, v in demo_kwargs.items() if v is not None)
    cell = ("from sbsr_lab.widgets import sketch_demo\n"
            f"sketch_demo({args})")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(folder) / "sbsr_demo.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


class AppServer:
    """A running Voila server (a subprocess); stop it with :meth:`stop` or use it as a context manager."""

    def __init__(self, process: subprocess.Popen, url: str, folder: tempfile.TemporaryDirectory, log: Path) -> None:
        self.process, self.url, self._folder, self.log = process, url, folder, log

    def __enter__(self) -> "AppServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate Voila (and its kernels) and remove the temporary folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        self._folder.cleanup()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_app(port: int | None = None, host: str = "127.0.0.1", model: str | None = None,
              bundle: str | None = None, data: str | None = None, k: int = 10, history: str | None = None,
              timeout_s: float = 60.0) -> AppServer:
    """Start Voila serving the demo on ``http://host:port/`` and wait until it answers.

    The notebook and Voila's log live in a temporary folder removed by :meth:`AppServer.stop`.
    Raises :class:`SbsrError` when Voila is missing or does not start in ``timeout_s`` seconds.
    """
    try:
        import voila  # noqa: F401
    except ImportError as exc:
        raise SbsrError("The app needs Voila: pip install voila (or pip install 'sbsr_lab[course]').") from exc
    port = port or free_port(host)
    folder = tempfile.TemporaryDirectory(prefix="sbsr_app_")
    nb = write_app_notebook(folder.name, model=model, bundle=bundle, data=data, k=k, history=history)
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[2])  # the folder holding sbsr_lab/, for a non-installed checkout
    env["PYTHONPATH"] = os.pathsep.join([repo, env["PYTHONPATH"]]) if env.get("PYTHONPATH") else repo
    env.setdefault("SBSR_DATA", _data_root_here())
    log = Path(folder.name) / "voila.log"
    cmd = [sys.executable, "-m", "voila", str(nb), f"--port={port}", f"--Voila.ip={host}", "--no-browser",
           "--theme=light", "--show_tracebacks=True"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder.name)
    server = AppServer(proc, f"http://{host}:{port}/", folder, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise SbsrError(f"Voila exited with code {proc.returncode}. Its log ends with:\n{tail}")
        if _answers(host, port):
            return server
        time.sleep(0.25)
    tail = server.log_tail()
    server.stop()
    raise SbsrError(f"Voila did not answer on {server.url} within {timeout_s:.0f} s. Its log ends with:\n{tail}")


def _answers(host: str, port: int) -> bool:
    """True once the server answers HTTP at all (a static path: asking for the page would start a kernel)."""
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("HEAD", "/voila/static/")
        return conn.getresponse().status > 0
    except OSError:
        return False
    finally:
        conn.close()


def _data_root_here() -> str:
    from sbsr_lab.config import default_data_root

    return default_data_root()

