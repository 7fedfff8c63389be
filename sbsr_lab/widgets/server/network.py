"""The addresses people open: the app's (with the room token) and the teacher's, on the local network when
the app listens on every interface.

    app_url(AppConfig(host="0.0.0.0"), 8866)      # "http://192.168.1.20:8866/?token=..."
"""

from __future__ import annotations

import socket

from sbsr_lab.widgets.server.config import AppConfig

__all__ = ["app_url", "teacher_url", "lan_address"]


def app_url(config: AppConfig, port: int) -> str:
    """The address people open (with the token when there is one)."""
    host = config.host
    if host in ("0.0.0.0", "::", ""):
        host = lan_address() or socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/" + (f"?token={config.token}" if config.token else "")


def teacher_url(config: AppConfig, port: int) -> str:
    """The teacher view's address (with the teacher token, and the app token when there is one)."""
    base = app_url(config, port).split("?", 1)[0]
    return f"{base}teacher?key={config.teacher_token}" + (f"&token={config.token}" if config.token else "")


def lan_address() -> str | None:
    """This machine's address on the local network (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
    except OSError:
        return None
