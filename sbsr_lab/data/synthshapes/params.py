"""Draw a generator's parameters from its random generator and record them for the manifest.

Every design decision of a SynthShape goes through a :class:`Params` so that the returned
dict says which shape was built: floats for continuous sizes (metres, radians), strings and
ints for structural variants (``variant`` is each class's main one). Small unrecorded jitter
(book widths, blob offsets) is drawn from ``Params.rng`` directly, after the recorded values.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

import numpy as np

__all__ = ["Params", "ParamValue"]

ParamValue = float | int | str
T = TypeVar("T", int, str)


class Params:
    """Recorder of drawn parameters: ``p.uniform("height", 0.7, 0.8)`` draws and stores ``height``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.values: dict[str, ParamValue] = {}

    def _store(self, name: str, value: ParamValue) -> None:
        if name in self.values:
            raise KeyError(f"parameter {name!r} drawn twice")
        self.values[name] = value

    def uniform(self, name: str, low: float, high: float) -> float:
        """A float in [low, high), rounded to 4 decimals (the value used is the value recorded)."""
        value = round(float(self.rng.uniform(low, high)), 4)
        self._store(name, value)
        return value

    def choice(self, name: str, options: Sequence[T], p: Sequence[float] | None = None) -> T:
        """One of ``options`` (strings or ints), with optional probabilities ``p``."""
        probs = None if p is None else np.asarray(p, float) / np.sum(p)
        value = options[int(self.rng.choice(len(options), p=probs))]
        self._store(name, value)
        return value

    def integer(self, name: str, low: int, high: int) -> int:
        """An int in [low, high] (both included)."""
        value = int(self.rng.integers(low, high + 1))
        self._store(name, value)
        return value

    def record(self, name: str, value: ParamValue) -> ParamValue:
        """Store a value derived from other parameters (e.g. a count computed from sizes)."""
        self._store(name, value)
        return value

    def flag(self, name: str, prob: float) -> bool:
        """True with probability ``prob``; recorded as 0/1."""
        value = bool(self.rng.random() < prob)
        self._store(name, int(value))
        return value
