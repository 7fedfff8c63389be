"""``serve(config)``: bind the port, serve the page, load the engines in the background, stop cleanly.

    serve(AppConfig(host="127.0.0.1", port=8866))          # blocks until SIGTERM / SIGINT / Ctrl-C

SIGTERM or SIGINT closes the listening socket, cancels waiting queries, waits for running ones and
returns; the app starts no child process and writes no temporary folder.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Callable

import tornado.httpserver
import tornado.netutil

from sbsr_lab.errors import SbsrError
from sbsr_lab.widgets.server.config import AppConfig
from sbsr_lab.widgets.server.handlers import make_app
from sbsr_lab.widgets.server.network import app_url, teacher_url
from sbsr_lab.widgets.server.state import AppState

__all__ = ["serve"]


async def _serve(config: AppConfig, on_listening: Callable[[str, AppState], None] | None) -> int:
    state = AppState(config)
    try:
        sockets = tornado.netutil.bind_sockets(config.port, config.host, reuse_port=False)
    except OSError as err:
        state.close()
        raise SbsrError(f"Cannot listen on {config.host}:{config.port} ({err.strerror or err}). "
                        "Fix: pick another --port (or leave it out for a free one).") from None
    server = tornado.httpserver.HTTPServer(make_app(state), max_body_size=config.max_body,
                                           max_buffer_size=config.max_body, idle_connection_timeout=60,
                                           body_timeout=30, xheaders=False)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    fatal: list[str] = []

    def on_fatal(message: str) -> None:
        fatal.append(message)
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    if on_listening is not None:
        on_listening(app_url(config, port), state)
        print(f"sbsr-lab app: the teacher view is at {teacher_url(config, port)} (it lists every learner's "
              "drawings: keep this address to yourself)", flush=True)
    state.start_loading(on_fatal)
    try:
        await stop.wait()
    finally:
        server.stop()  # no new connections
        try:
            await asyncio.wait_for(server.close_all_connections(), timeout=5)
        except asyncio.TimeoutError:
            pass
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        state.close()
    if fatal:
        raise SbsrError(fatal[0])
    return 0


def serve(config: AppConfig, on_listening: Callable[[str, AppState], None] | None = None) -> int:
    """Serve the app until SIGTERM / SIGINT; ``on_listening(url, state)`` is called once the port is open
    (before the model is loaded). Raises :class:`SbsrError` when the port is taken or the model cannot load."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    return asyncio.run(_serve(config, on_listening))
