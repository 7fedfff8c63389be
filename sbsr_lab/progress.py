"""Progress bars that suit where the output goes: a tqdm bar on a terminal or in Jupyter, else one line.

Under a non-terminal (CI logs, ``make demo > log``) a tqdm bar writes a carriage-return frame per
update; there :func:`progress` prints nothing while the loop runs and one line when it ends, and
:func:`note` prints plain lines.

    for batch in progress(loader, total=len(loader), desc="teacher 1/10"):
        ...
    note("teacher epoch 1/10: loss 1.23")
"""

from __future__ import annotations

import sys
import time
from typing import Any, Iterable, Iterator, TextIO, TypeVar

__all__ = ["progress", "note", "interactive"]

T = TypeVar("T")


def interactive(stream: TextIO | None = None) -> bool:
    """True on a terminal, or in a Jupyter kernel writing to its own stderr (where tqdm shows a widget)."""
    stream = stream if stream is not None else sys.stderr
    if stream is sys.stderr and "ipykernel" in sys.modules and _in_jupyter_kernel():
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _in_jupyter_kernel() -> bool:
    """True inside a running Jupyter kernel (not merely a process that imported ipykernel, e.g. under nbval)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class _Lines:
    """The non-terminal stand-in for a tqdm bar: silent while iterating, one summary line at the end."""

    def __init__(self, iterable: Iterable[T], total: int | None, desc: str, stream: TextIO, summary: bool) -> None:
        self.iterable, self.total, self.desc, self.stream, self.summary = iterable, total, desc, stream, summary
        self.postfix = ""

    def __iter__(self) -> Iterator[T]:
        t0, n = time.perf_counter(), 0
        for item in self.iterable:
            n += 1
            yield item
        if self.summary:
            total = f"/{self.total}" if self.total is not None else ""
            extra = f", {self.postfix}" if self.postfix else ""
            print(f"{self.desc}: {n}{total} done in {time.perf_counter() - t0:.1f} s{extra}", file=self.stream, flush=True)

    def set_postfix(self, **kwargs: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in kwargs.items())

    def update(self, n: int = 1) -> None:  # tqdm's manual mode: counted by the summary of iteration only
        pass

    def close(self) -> None:
        pass


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", enabled: bool = True,
             stream: TextIO | None = None, leave: bool = False, summary: bool = True) -> Any:
    """``iterable`` with a progress display: tqdm when :func:`interactive`, else at most one line at the end.

    ``enabled=False`` shows nothing. ``summary=False`` drops the end line (a caller that prints its own
    line per epoch, such as :func:`~sbsr_lab.train.fit.fit`). Has ``set_postfix`` as tqdm does.
    """
    stream = stream if stream is not None else sys.stderr
    if enabled and interactive(stream):
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, leave=leave, file=None if stream is sys.stderr else stream)
    return _Lines(iterable, total, desc, stream, summary and enabled)


def note(message: str, stream: TextIO | None = None) -> None:
    """Print one line (default: to stdout) without breaking a running bar (``tqdm.write`` on a terminal)."""
    stream = stream if stream is not None else sys.stdout
    if interactive(stream):
        from tqdm.auto import tqdm

        tqdm.write(message, file=stream)
    else:
        print(message, file=stream, flush=True)
