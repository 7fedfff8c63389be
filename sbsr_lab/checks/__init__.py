"""Exercise checkers: each takes the learner's function, runs it on small inputs against the reference,
prints a friendly verdict (what is right, what is wrong, a hint) and returns True or False.

Submodules by notebook topic: ``render`` (01, 08), ``losses`` (02-04, 07), ``retrieval`` (05), ``strokes`` (06).
``from sbsr_lab import checks; checks.render.check_look_at(my_look_at)``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable

__all__ = ["render", "losses", "retrieval", "strokes", "verdict", "CheckStop", "call_learner"]

_SUBMODULES = {"render", "losses", "retrieval", "strokes"}


def verdict(ok: bool, name: str, detail: str = "", hint: str = "") -> bool:
    """Print one checker verdict and return ``ok``.

    >>> verdict(True, "look_at")
    ✅ look_at: correct.
    True
    """
    if ok:
        print(f"✅ {name}: correct." + (f" {detail}" if detail else ""))
    else:
        print(f"❌ {name}: not yet. {detail}".rstrip())
        if hint:
            print(f"   Hint: {hint}")
    return ok


class CheckStop(Exception):
    """Raised inside a checker to end it with a message for the learner."""


def call_learner(fn: Callable[..., object], *args: object) -> object:
    """Run the learner's function; turn a stub or a crash into a :class:`CheckStop` with a clear message."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise CheckStop("Not implemented yet: replace `raise NotImplementedError` with your code.") from None
    except Exception as exc:  # the learner's bug: report it, do not crash the notebook
        raise CheckStop(f"Your function raised {type(exc).__name__}: {exc}") from None


def __getattr__(name: str) -> ModuleType:
    if name in _SUBMODULES:
        return importlib.import_module(f"sbsr_lab.checks.{name}")
    raise AttributeError(f"module 'sbsr_lab.checks' has no attribute {name!r}")
