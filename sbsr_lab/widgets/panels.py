"""The answer panel of the live demo: class probabilities as bars, UACTN's sigma as a gauge, and the verdict.

    panel = AnswerPanel()
    panel.show(result)          # a QueryResult: calibrated probabilities, sigma (or None), the OOD verdict
    panel.widget                # an ipywidgets.HTML whose ``value`` is the whole picture (SVG, no JavaScript)

The state lives in Python (``panel.probabilities``, ``panel.sigma``, ``panel.verdict``) and is drawn into
the widget's ``value`` trait, so a front-end that starts after the first query (a slow page, a re-opened
notebook) renders the current answer from the trait, not from update messages it has missed.
"""

from __future__ import annotations

import html
import math

from sbsr_lab.serve.result import QueryResult

__all__ = ["AnswerPanel"]


def _arc(cx: float, cy: float, r: float, a0: float, a1: float) -> str:
    """SVG path of a half-circle arc from angle ``a0`` to ``a1`` (radians, 0 = the left end)."""
    x0, y0 = cx - r * math.cos(a0), cy - r * math.sin(a0)
    x1, y1 = cx - r * math.cos(a1), cy - r * math.sin(a1)
    return f"M {x0:.2f} {y0:.2f} A {r} {r} 0 0 1 {x1:.2f} {y1:.2f}"


class AnswerPanel:
    """Bars of the (calibrated) class probabilities, the sigma gauge and the verdict, in one HTML widget.

    Args:
        width: width of the bar chart in pixels.
        sigma_max: initial top of the gauge's scale (it grows to 1.25 x the largest sigma seen).
    """

    def __init__(self, width: int = 360, sigma_max: float = 0.05) -> None:
        import ipywidgets as W

        self.width, self.sigma_max = int(width), float(sigma_max)
        self.probabilities: list[tuple[str, float]] = []   # best first
        self.sigma: float | None = None
        self.method: str = ""
        self.verdict: str = ""
        self.is_ood: bool = False
        self.widget = W.HTML(layout=W.Layout(width=f"{self.width + 20}px"))
        self.widget.add_class("sbsr-answer")
        self.clear()

    def show(self, result: QueryResult) -> None:
        """Draw ``result`` (a :class:`~sbsr_lab.serve.result.QueryResult`)."""
        self.probabilities = sorted(result.probabilities.items(), key=lambda kv: -kv[1])
        self.sigma, self.method = result.uncertainty, result.method
        self.verdict, self.is_ood = result.label, result.is_ood  # "Looks like an airplane (87%)" or the OOD line
        if self.sigma is not None:
            self.sigma_max = max(self.sigma_max, 1.25 * self.sigma)
        self._render()

    def clear(self, classes: list[str] | None = None) -> None:
        """No answer (yet): empty bars for ``classes``, an empty gauge."""
        self.probabilities = [(c, 0.0) for c in classes or []]
        self.sigma, self.verdict, self.is_ood = None, "", False
        self._render(empty=True)

    # -- drawing ------------------------------------------------------------------------------------
    def _bars(self) -> str:
        row, label_w = 20, 92
        h = max(30, row * len(self.probabilities) + 6)
        span = self.width - label_w - 48
        parts = [f'<svg class="sbsr-chart" width="{self.width}" height="{h}" viewBox="0 0 {self.width} {h}">']
        dim = ' opacity="0.45"' if self.is_ood else ""
        for i, (cls, p) in enumerate(self.probabilities):
            y = 3 + i * row
            w = max(1.0, p * span)
            fill = "#2f6db0" if i == 0 and p > 0 else "#8fb3dc"
            parts.append(
                f'<g class="bar" data-class="{html.escape(cls)}" data-p="{p:.4f}"{dim}>'
                f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="13">{html.escape(cls)}</text>'
                f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" rx="2" fill="{fill}"/>'
                f'<text x="{label_w + w + 5:.1f}" y="{y + 14}" font-size="12" fill="#3c4655">{p:.0%}</text></g>')
        parts.append("</svg>")
        return "".join(parts)

    def _gauge(self, empty: bool) -> str:
        cx, cy, r = 110, 100, 80
        parts = ['<svg class="sbsr-gauge" width="220" height="120" viewBox="0 0 220 120">',
                 f'<path d="{_arc(cx, cy, r, 0, math.pi)}" stroke="#e3e8ef" stroke-width="16" fill="none"/>']
        if self.sigma is not None:
            f = min(1.0, self.sigma / self.sigma_max)
            parts.append(f'<path class="gauge-value" data-sigma="{self.sigma:.4f}" '
                         f'd="{_arc(cx, cy, r, 0, max(0.001, f * math.pi))}" stroke="#e45756" stroke-width="16" fill="none"/>')
            parts.append(f'<text x="{cx}" y="{cy - 8}" text-anchor="middle" font-size="22">σ = {self.sigma:.3f}</text>')
            parts.append(f'<text x="{cx - r}" y="{cy + 16}" text-anchor="middle" font-size="11">0</text>'
                         f'<text x="{cx + r}" y="{cy + 16}" text-anchor="middle" font-size="11">{self.sigma_max:.2f}</text>')
        else:
            parts.append(f'<text x="{cx}" y="{cy - 12}" text-anchor="middle" font-size="15" fill="#8792a2">'
                         f'{"no query yet" if empty else "n/a"}</text>')
        parts.append("</svg>")
        return "".join(parts)

    def _render(self, empty: bool = False) -> None:
        if self.sigma is not None:
            note = "σ rises when a drawing is noisy or ambiguous (within the classes the model knows)."
        elif empty:
            note = ""
        else:
            note = f"{html.escape(self.method)} has no uncertainty estimate: pick UACTN to see σ."
        colour = "#b00020" if self.is_ood else "#1d2430"
        verdict = (f'<div class="sbsr-verdict" data-ood="{str(self.is_ood).lower()}" '
                   f'style="font-size:15px;color:{colour};margin-bottom:4px">{html.escape(self.verdict)}</div>'
                   if self.verdict else "")
        ood_note = ('<div style="font-size:12px;color:#5b6573">The probabilities are shown dimmed: the drawing is '
                    'unlike the training sketches of every class, so the model\'s pick means little.</div>'
                    if self.is_ood else "")
        self.widget.value = (
            f"{verdict}<div style='font-size:12px;color:#5b6573'>class probabilities (calibrated)</div>"
            f"{self._bars()}{ood_note}<div style='font-size:12px;color:#5b6573;margin-top:6px'>uncertainty σ (UACTN)</div>"
            f"{self._gauge(empty)}<div class='sbsr-gauge-note' style='font-size:12px;color:#5b6573'>{note}</div>")
