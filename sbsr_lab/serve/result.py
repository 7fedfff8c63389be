"""The answer to one sketch, :class:`QueryResult`: the one result type that ``sbsr-lab query``, the notebook
widget and the app all read (torch-free, so the app's server can read it before the engine loads).

    result = engine.query(strokes, k=8)                 # sbsr_lab.serve.query.QueryEngine
    result.label                                        # "Looks like a chair (87%)", or "not a shape" words
    result.is_ood, result.results[0]["id"], result.to_json()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["QueryResult", "UNSURE"]

#: Below this probability of the top class, the answer also names the runner-up.
UNSURE: float = 0.6


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


@dataclass
class QueryResult:
    """The answer to one sketch: top-k shapes, class probabilities and (UACTN) the uncertainty.

    ``probabilities`` are calibrated (``softmax(s * cos / T)`` with the model's temperature, 1 when it has
    no calibration); ``ood`` is ``{"score", "score_kind", "threshold", "is_ood"}`` of the out-of-distribution
    detector (:mod:`sbsr_lab.serve.calibration`), ``None`` for a model without one. ``uncertainty``
    (UACTN's sigma) is noise within the known classes, not whether the drawing is of one.
    """

    method: str
    predicted_class: str
    probabilities: dict[str, float]
    uncertainty: float | None
    results: list[dict[str, Any]]          # [{"rank", "id", "class", "score"(, "view")}], best first
    embedding: np.ndarray = field(repr=False)
    seconds: float = 0.0
    ood: dict[str, Any] | None = None
    temperature: float = 1.0

    @property
    def is_ood(self) -> bool:
        """True when the drawing does not look like any class the model knows."""
        return bool(self.ood and self.ood["is_ood"])

    @property
    def runner_up(self) -> tuple[str, float] | None:
        """The second most probable class and its probability when the model is unsure (the top class
        below :data:`UNSURE` probability), else None."""
        ranked = sorted(self.probabilities.items(), key=lambda kv: -kv[1])
        if len(ranked) < 2 or ranked[0][1] >= UNSURE:
            return None
        return ranked[1][0], float(ranked[1][1])

    @property
    def label(self) -> str:
        """A friendly one-line answer: "Looks like an airplane (87%)", with the runner-up when unsure
        ("Looks like a bench (48%), or maybe a table (35%)"), or "This does not look like any class I know"."""
        if self.is_ood:
            return "This does not look like any class I know."
        cls = self.predicted_class
        text = f"Looks like {_article(cls)} {cls} ({self.probabilities[cls]:.0%})"
        second = self.runner_up
        if second is not None:
            text += f", or maybe {_article(second[0])} {second[0]} ({second[1]:.0%})"
        return text

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` output of ``sbsr-lab query``."""
        return {"method": self.method, "predicted_class": self.predicted_class, "label": self.label,
                "uncertainty": self.uncertainty, "probabilities": self.probabilities, "temperature": self.temperature,
                "ood": self.ood, "results": self.results}
