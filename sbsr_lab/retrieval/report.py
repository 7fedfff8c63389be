"""An HTML report of evaluated methods that opens offline: metrics, PR curves, per-class table,
a grid of queries with their top results, and UACTN's uncertainty against the injected noise."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
import numpy as np
import torch

from sbsr_lab.data.datasets import load_sketch_array, load_view_strip
from sbsr_lab.data.manifest import Manifest
from sbsr_lab.io import atomic_write_text
from sbsr_lab.retrieval.best_view import best_views
from sbsr_lab.retrieval.metrics import METRIC_NAMES
from sbsr_lab.retrieval.runs import MethodEvaluation

__all__ = ["write_report", "shape_thumbnail", "THUMBNAIL_VIEW"]

#: The view of a shape's strip shown as its thumbnail (report, bundle, notebooks): the second view of the
#: ring rig, a three-quarter view (the first looks straight at the front).
THUMBNAIL_VIEW = 1


def shape_thumbnail(manifest: Manifest, shape_id: str, size: int = 64) -> np.ndarray:
    """The thumbnail of a gallery shape: view :data:`THUMBNAIL_VIEW` of its view strip, ``(size, size)`` uint8."""
    return load_view_strip(manifest.view_path(shape_id), manifest.num_views, size)[THUMBNAIL_VIEW]


def _png_data_uri(image: np.ndarray) -> str:
    from PIL import Image

    u8 = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _query_grid(ev: MethodEvaluation, manifest: Manifest, k: int = 6, per_class: int = 1) -> str:
    """HTML table: a query sketch per class, then its top-k gallery shapes (green = right class)."""
    rows = []
    labels = ev.query_labels.numpy()
    by_id = {s.id: s for s in manifest.sketches}
    for c, cls in enumerate(ev.class_names):
        for qi in np.flatnonzero(labels == c)[:per_class]:
            rec = by_id[ev.query_ids[qi]]
            cells = [f'<td><img src="{_png_data_uri(1 - load_sketch_array(manifest.path(rec.png), 64) / 255)}" '
                     f'width="64"><br><small>{html.escape(cls)}</small></td>']
            order = np.argsort(-ev.similarity[qi].numpy(), kind="stable")[:k]
            best = _best_views(ev, qi, order)
            for gi, v in zip(order, best):
                gid = ev.gallery_ids[gi]
                view = shape_thumbnail(manifest, gid, 64) / 255
                ok = int(ev.gallery_labels[gi]) == c
                colour = "#2a9d3a" if ok else "#d62828"
                under = ""
                if v is not None:  # the rendered view of this shape nearest the sketch
                    seen = load_view_strip(manifest.view_path(gid), ev.view_embeddings.shape[1], 40)[v] / 255
                    under = (f'<br><img class="best-view" data-view="{v}" src="{_png_data_uri(seen)}" width="40" '
                             f'title="the view nearest the sketch"><small> view {v + 1}</small>')
                cells.append(f'<td style="border:3px solid {colour}"><img src="{_png_data_uri(view)}" width="64">'
                             f'<br><small>{html.escape(ev.class_names[int(ev.gallery_labels[gi])])} '
                             f'{float(ev.similarity[qi, gi]):.2f}</small>{under}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table class='grid'>" + "".join(rows) + "</table>"


def _best_views(ev: MethodEvaluation, qi: int, order: np.ndarray) -> list[int | None]:
    """For query ``qi``, the best-matching view of each gallery shape in ``order`` (None without per-view embeddings)."""
    if ev.query_embeddings is None or ev.view_embeddings is None:
        return [None] * len(order)
    index, _ = best_views(ev.query_embeddings[qi], ev.view_embeddings[torch.as_tensor(order, dtype=torch.long)])
    return [int(v) for v in index]


def write_report(path: str | Path, evaluations: dict[str, MethodEvaluation], manifest: Manifest,
                 title: str = "sbsr_lab results", extra: dict | None = None) -> Path:
    """Write a self-contained HTML report (plotly.js inlined once, images embedded); returns the path."""
    import plotly.graph_objects as go

    figs = []
    pr = go.Figure([go.Scatter(x=ev.pr_recall, y=ev.pr_precision, mode="lines+markers", name=f"{name} (ours)")
                    for name, ev in evaluations.items()])
    for name, ev in evaluations.items():  # the SHREC toolkit's curve beside ours, dashed
        official = getattr(ev, "pr_official", None)
        if official:
            pr.add_trace(go.Scatter(x=official["recall_levels"], y=official["precision"], mode="lines",
                                    line_dash="dash", name=f"{name} (SHREC toolkit)"))
    pr.update_layout(title="Precision-recall, test sketches vs the whole gallery: ours = best precision at recall "
                           "&gt;= r; SHREC toolkit = CalAvgPerf/InterpolatePerf (what SHREC papers plot)",
                     xaxis_title="recall", yaxis_title="precision", yaxis_range=[0, 1.02], height=460)
    figs.append(pr)
    unc = [(name, ev) for name, ev in evaluations.items() if ev.sigma is not None]
    for name, ev in unc:
        labels, noise, sigma = ev.query_labels.numpy(), ev.query_noise.numpy(), ev.sigma.numpy()
        ids = np.asarray(ev.query_ids)
        traces = []
        for k in np.unique(labels):  # one trace per class, so the class offsets of sigma show
            m = labels == k
            traces.append(go.Scatter(x=noise[m], y=sigma[m], mode="markers", text=ids[m].tolist(),
                                     name=ev.class_names[k] if ev.class_names else str(k),
                                     marker=dict(size=6, opacity=0.75)))
        f = go.Figure(traces)
        rho, within = ev.spearman_sigma_noise, ev.spearman_sigma_noise_within_class
        within_txt = "" if within is None else f", within class {within:.3f}"
        f.update_layout(title=f"{name}: predicted uncertainty vs injected sketch noise (Spearman {rho:.3f}{within_txt})",
                        xaxis_title="injected noise level", yaxis_title="predicted sigma (mean over d)", height=420)
        figs.append(f)
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]

    # instance level (where sources are recorded) after the six SHREC metrics; "-" where a method has none
    names = list(METRIC_NAMES) + [k for k in ("inst_top1", "inst_top10")
                                  if any(k in ev.metrics for ev in evaluations.values())]
    def flag_cell(ev: MethodEvaluation) -> str:  # at chance or collapsed (collapse.py): not a result
        flag = getattr(ev, "flag", None)
        return f"<td class='flag'>{html.escape(flag['reason'])}: not a result</td>" if flag and flag["flagged"] else "<td></td>"

    metric_rows = "".join(
        "<tr><th>" + html.escape(name) + "</th>"
        + "".join(f"<td>{ev.metrics[k]:.3f}</td>" if k in ev.metrics else "<td>-</td>" for k in names)
        + flag_cell(ev) + "</tr>"
        for name, ev in evaluations.items())
    metrics_html = ("<table><tr><th>method</th>" + "".join(f"<th>{k}</th>" for k in names) + "<th>flag</th></tr>"
                    + metric_rows + "</table>")
    grouped = {name: ev.map_per_group for name, ev in evaluations.items() if getattr(ev, "map_per_group", None)}
    if grouped:  # long tail: mAP of the many / medium / few classes
        first = next(iter(grouped.values()))
        head = "".join(f"<th>{g} ({first['classes'][g]} classes, {first['queries'][g]} queries)</th>"
                       for g in ("many", "medium", "few"))
        rows = "".join("<tr><th>" + html.escape(name) + "</th>" + "".join(
            "<td>-</td>" if g[k] is None else f"<td>{g[k]:.3f}</td>" for k in ("many", "medium", "few")) + "</tr>"
            for name, g in grouped.items())
        th = first.get("thresholds", {})
        metrics_html += (f"<h3>Long tail: mAP per group (shapes per class: many &gt;= {th.get('many')}, "
                         f"few &lt; {th.get('few')})</h3><table><tr><th>method</th>{head}</tr>{rows}</table>")
    per_class = []
    for name, ev in evaluations.items():
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v)) if not isinstance(v, float) else f'{v:.3f}'}</td>"
                                        for v in row.values()) + "</tr>" for row in ev.per_class)
        head = "".join(f"<th>{html.escape(str(k))}</th>" for k in (ev.per_class[0].keys() if ev.per_class else []))
        per_class.append(f"<details><summary>{html.escape(name)}: per-class table</summary><table><tr>{head}</tr>{rows}</table></details>")
    styled = [(name, ev) for name, ev in evaluations.items() if getattr(ev, "per_style", None)]
    per_style = ""
    if styled:  # one row per method, top-1 / mAP per drawing style (the manifest's sketch styles)
        styles = sorted({s for _, ev in styled for s in ev.per_style})
        head = "".join(f"<th>{html.escape(s)} (n={styled[0][1].per_style.get(s, {}).get('queries', 0)})</th>" for s in styles)
        rows = "".join("<tr><th>" + html.escape(name) + "</th>" + "".join(
            f"<td>{ev.per_style[s]['NN']:.3f} / {ev.per_style[s]['mAP']:.3f}</td>" if s in ev.per_style else "<td></td>"
            for s in styles) + "</tr>" for name, ev in styled)
        per_style = f"<h2>Per drawing style (top-1 / mAP)</h2><table><tr><th>method</th>{head}</tr>{rows}</table>"
    grids = "".join(f"<h3>{html.escape(name)}: queries and their top results</h3>{_query_grid(ev, manifest)}"
                    for name, ev in evaluations.items())
    extra_html = ""
    if extra:
        extra_html = "<pre style='white-space:pre-wrap'>" + html.escape("\n".join(f"{k}: {v}" for k, v in extra.items())) + "</pre>"
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} table{{border-collapse:collapse;margin:8px 0}}
td,th{{padding:3px 8px;border:1px solid #ddd;text-align:center}} .grid td{{padding:2px}}</style></head><body>
<h1>{html.escape(title)}</h1>{extra_html}<h2>Metrics</h2>{metrics_html}{per_style}
{''.join(parts)}<h2>Per class</h2>{''.join(per_class)}<h2>Queries</h2>{grids}</body></html>"""
    atomic_write_text(path, doc)
    return Path(path)
