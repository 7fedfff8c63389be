"""Plotly figures for retrieval: a ranked list, precision-recall curves, a speed comparison.

plotly is imported inside each function, so the rest of :mod:`sbsr_lab.retrieval` works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from sbsr_lab.retrieval.curves import PRCurve

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

__all__ = ["show_ranked_list", "show_pr_curves", "show_timings"]

_HIT, _MISS = "#2ca02c", "#d9d9d9"


def show_ranked_list(
    relevant: Sequence[bool] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
    title: str = "Ranked list",
    marks: Mapping[str, int] | None = None,
) -> "go.Figure":
    """A ranked list as a strip of boxes, rank 1 on the left: green = relevant, grey = not.

    relevant: (N,) relevance in rank order; scores: (N,) similarities printed under the boxes;
    marks: vertical cut-offs to draw, e.g. ``{"C": 3, "2C": 6}`` (a line after that many ranks).
    """
    import plotly.graph_objects as go

    rel = np.asarray(relevant, dtype=bool)
    n = rel.size
    ranks = np.arange(1, n + 1)
    text = [f"{s:.2f}" for s in scores] if scores is not None else None
    fig = go.Figure(
        go.Bar(
            x=ranks, y=np.ones(n), marker_color=[_HIT if r else _MISS for r in rel],
            marker_line_color="black", marker_line_width=1, text=text, textposition="inside",
            hovertext=[f"rank {i}: {'relevant' if r else 'not relevant'}" for i, r in zip(ranks, rel)],
            hoverinfo="text", showlegend=False,
        )
    )
    for name, cut in (marks or {}).items():
        fig.add_vline(x=cut + 0.5, line_dash="dash", line_color="#d62728")
        fig.add_annotation(x=cut + 0.5, y=1.12, text=name, showarrow=False, font_color="#d62728")
    fig.update_layout(
        title=title, height=190, margin=dict(l=20, r=20, t=45, b=35), bargap=0.08,
        yaxis=dict(visible=False, range=[0, 1.25]), xaxis=dict(title="rank", dtick=1 if n <= 40 else None),
        plot_bgcolor="white",
    )
    return fig


def show_pr_curves(curves: PRCurve | Mapping[str, PRCurve], raw: bool = False,
                   title: str = "Precision-recall (ours: best precision at recall >= r)") -> "go.Figure":
    """Interpolated PR curves (markers at the recall levels; our TREC-style curve, not the SHREC toolkit's:
    :func:`sbsr_lab.retrieval.curves.shrec_official_pr`); ``raw=True`` adds the raw curves dotted."""
    import plotly.graph_objects as go

    named = {"": curves} if isinstance(curves, PRCurve) else dict(curves)
    fig = go.Figure()
    for name, c in named.items():
        fig.add_trace(go.Scatter(x=c.recall_levels, y=c.precision, mode="lines+markers", name=name or "interpolated"))
        if raw:
            fig.add_trace(go.Scatter(x=c.raw_recall, y=c.raw_precision, mode="lines", line_dash="dot",
                                     name=f"{name} raw".strip()))
    fig.update_layout(
        title=title, xaxis=dict(title="recall", range=[0, 1.02]), yaxis=dict(title="precision", range=[0, 1.02]),
        height=380, width=520, margin=dict(l=50, r=20, t=45, b=45), showlegend=len(named) > 1 or raw,
    )
    return fig


def show_timings(seconds: Mapping[str, float], title: str = "Time to evaluate", note: str = "") -> "go.Figure":
    """Horizontal bars of wall times (log scale), labelled in ms or s."""
    import plotly.graph_objects as go

    names = list(seconds)
    values = [max(float(seconds[n]), 1e-6) for n in names]
    labels = [f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s" for v in values]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", text=labels, textposition="outside"))
    fig.update_layout(
        title=title + (f"<br><sup>{note}</sup>" if note else ""), xaxis=dict(type="log", title="seconds"),
        height=120 + 40 * len(names), margin=dict(l=20, r=60, t=60, b=45),
    )
    return fig

