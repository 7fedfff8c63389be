"""Errors with messages a learner can act on: each names the problem, the file and the fix."""

from __future__ import annotations

__all__ = [
    "SbsrError",
    "ConfigError",
    "MeshError",
    "SketchError",
    "DatasetLayoutError",
    "CheckpointError",
    "DownloadError",
    "DiskFullError",
]


class SbsrError(Exception):
    """Base class of every error sbsr_lab raises on purpose (the CLI prints these without a traceback)."""


class ConfigError(SbsrError, KeyError, TypeError, ValueError):
    """An unknown profile or profile key, a value of the wrong type, or a malformed ``key=value`` override.

    It is also a KeyError, TypeError and ValueError, so ``except KeyError`` code keeps working.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MeshError(SbsrError, ValueError):
    """A mesh file that cannot be read or rendered (empty, NaN vertices, unsupported format, ...)."""


class SketchError(SbsrError, ValueError):
    """A sketch that cannot be used: blank, corrupt, unreadable or in an unsupported format."""


class DatasetLayoutError(SbsrError, FileNotFoundError):
    """A dataset folder that is missing files or is laid out differently from what was asked."""


class CheckpointError(SbsrError, ValueError):
    """A checkpoint that is missing, foreign (not written by sbsr_lab) or inconsistent."""


class DownloadError(SbsrError, OSError):
    """A download that failed, was corrupted, or cannot be done offline."""


class DiskFullError(SbsrError, OSError):
    """The disk filled up while writing; nothing was half-written (see :func:`sbsr_lab.io.atomic_path`)."""

    def __str__(self) -> str:  # OSError would print "[Errno 28] ..."
        return str(self.args[1]) if len(self.args) > 1 else super().__str__()
