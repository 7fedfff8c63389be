"""What ``sbsr-lab app`` serves and how: :class:`AppConfig`, checked when made, and the app's limits.

    AppConfig(host="0.0.0.0")            # off the loopback: a room token is generated (and printed in the URL)
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass

from sbsr_lab.errors import SbsrError

__all__ = ["AppConfig", "is_loopback", "MAX_K", "MAX_ENTRIES_PER_USER", "MAX_BYTES_PER_USER"]

MAX_K = 50                      # most shapes one query may ask for
MAX_ENTRIES_PER_USER = 200      # a learner's rolling history: older drawings go (bounds disk use and the export)
MAX_BYTES_PER_USER = 5 * 2**20  # ... and at most this many bytes of stored strokes per learner
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.x.y.z`` and ``::1``."""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class AppConfig:
    """What ``sbsr-lab app`` serves and how.

    Args:
        model: model spec (:mod:`sbsr_lab.serve.engine`): None = the bundle's UACTN, a method,
            ``bundle:METHOD``, a bundle folder or a run folder.
        bundle: bundle folder for method names (default: the packaged one).
        data: dataset a run folder's gallery is embedded from (default: the one it was trained on).
        gallery: a folder made by ``sbsr-lab index``: its shapes answer (only its model is served).
        k: shapes shown per query.
        history: the SQLite history file (default :func:`~sbsr_lab.widgets.history.default_history_path`);
            ``False``: keep no history.
        host, port: where to listen (port 0: a free one).
        token: required on every request; ``None``: generated when the host is not the loopback.
        teacher_token: opens the teacher view (``/teacher``, ``/api/class``); ``None``: generated (always,
            loopback or not: the view lists every learner). Must differ from ``token``, which every learner has.
        workers: query threads (default: 2, or 1 on one core).
        max_pending: queries waiting or running before new ones get 503.
        max_body: largest request body in bytes.
        max_learner_entries, max_learner_bytes: each learner's history keeps at most this many drawings and
            bytes of strokes (the oldest dropped first).
    """

    model: str | None = None
    bundle: str | None = None
    data: str | None = None
    gallery: str | None = None
    k: int = 8
    history: str | os.PathLike[str] | bool | None = None
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    workers: int | None = None
    max_pending: int = 48
    max_body: int = 2 * 1024 * 1024
    teacher_token: str | None = None
    max_learner_entries: int = MAX_ENTRIES_PER_USER
    max_learner_bytes: int = MAX_BYTES_PER_USER

    def __post_init__(self) -> None:
        if not 1 <= int(self.k) <= MAX_K:
            raise SbsrError(f"--k must be between 1 and {MAX_K}, got {self.k}.")
        if self.token is None and not is_loopback(self.host):
            self.token = secrets.token_urlsafe(18)
        if self.workers is not None and not 1 <= int(self.workers) <= 64:
            raise SbsrError(f"--workers must be between 1 and 64, got {self.workers}.")
        if self.max_pending < 1 or self.max_body < 1024:
            raise SbsrError("max_pending must be at least 1 and max_body at least 1024 bytes.")
        if self.token is not None and len(self.token) < 8:
            raise SbsrError("The app token must have at least 8 characters (or leave it out: one is generated).")
        if self.teacher_token is None:
            self.teacher_token = secrets.token_urlsafe(18)
        if len(self.teacher_token) < 16 or self.teacher_token == self.token:
            raise SbsrError("The teacher token must have at least 16 characters and differ from the app token "
                            "(every learner has that one); or leave it out: one is generated.")
        if self.max_learner_entries < 1 or self.max_learner_bytes < 1024:
            raise SbsrError("max_learner_entries must be at least 1 and max_learner_bytes at least 1024 bytes.")
