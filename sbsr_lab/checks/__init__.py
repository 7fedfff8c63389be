"""Exercise checkers: each takes the learner's function, runs it on small inputs against the reference,
prints a friendly verdict (what is right, what is wrong, a hint) with :func:`verdict`, the one format of
every checker, and returns True or False.

Submodules by notebook topic: ``render`` (01, 08), ``losses`` (02-04, 07), ``retrieval`` (05), ``strokes`` (06).
``from sbsr_lab import checks; checks.render.check_look_at(my_look_at)``.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Callable

__all__ = ["render", "losses", "retrieval", "strokes", "PASS", "FAIL", "verdict", "CheckStop", "call_learner"]

_SUBMODULES = {"render", "losses", "retrieval", "strokes"}

#: The marks a verdict line starts with (:func:`sbsr_lab.course.checker_verdicts` and the grader read them).
PASS, FAIL = "\u2705", "\u274c"
_FIRST_WORD = re.compile(r"^[a-z]+(?=[ ,:;.])")


def _sentence(text: str) -> str:
    """``text`` as a sentence: stripped, a plain first word capitalised (not ``look_at`` or ``amount=0``),
    a full stop added when it ends without one."""
    text = " ".join(text.split())
    if not text:
        return ""
    text = _FIRST_WORD.sub(lambda m: m.group(0).capitalize(), text, count=1)
    return text if text.endswith((".", "!", "?")) else text + "."


def verdict(ok: bool, name: str, detail: str = "", hint: str = "") -> bool:
    """Print one checker verdict and return ``ok``: every checker's verdict comes from here, in one format.

    ``name``: the exercise (the function's name or the loss's); ``detail``: on a pass what the answer
    does right, on a fail what is wrong and on which input; ``hint`` (fails only): the learner's likely
    mistake when the checker recognised it, else the recipe.

    >>> verdict(True, "look_at", "your camera matrices match the renderer's")
    ✅ look_at: correct. Your camera matrices match the renderer's.
    True
    >>> verdict(False, "AM-softmax", "with s=15: got 1.2, expected 1.4", "the margin is missing")
    ❌ AM-softmax: not yet. With s=15: got 1.2, expected 1.4.
       Hint: The margin is missing.
    False
    """
    head = f"{PASS} {name}: correct." if ok else f"{FAIL} {name}: not yet."
    print(" ".join(part for part in (head, _sentence(detail)) if part))
    if hint and not ok:
        print(f"   Hint: {_sentence(hint)}")
    return ok


class CheckStop(Exception):
    """Raised inside a checker to end it with a failing verdict: ``detail`` says what is wrong, ``hint`` (optional)
    names the likely mistake (:func:`verdict`)."""

    def __init__(self, detail: str, hint: str = "") -> None:
        super().__init__(detail)
        self.detail, self.hint = detail, hint


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
