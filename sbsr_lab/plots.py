"""Figures for the notebooks: 3D meshes and camera rigs (plotly), image grids and strokes (matplotlib).

Every function returns the figure, so a notebook cell ending in ``show_...(...)`` displays it and a
test can inspect it without a browser.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["show_mesh", "show_rig", "show_images", "show_views", "show_strokes", "show_curve", "show_class_means"]


def show_mesh(mesh, title: str = "", color: str = "#8fa8c8", height: int = 380):
    """Interactive 3D view of a ``trimesh.Trimesh`` (plotly ``Mesh3d``, Y up)."""
    import plotly.graph_objects as go

    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    fig = go.Figure(go.Mesh3d(x=v[:, 0], y=v[:, 2], z=v[:, 1], i=f[:, 0], j=f[:, 1], k=f[:, 2],
                              color=color, flatshading=True, lighting=dict(ambient=0.45, diffuse=0.8),
                              name=title or "mesh"))
    fig.update_layout(title=title, height=height, margin=dict(l=0, r=0, t=30 if title else 0, b=0),
                      scene=dict(aspectmode="data", xaxis_title="x", yaxis_title="z", zaxis_title="y (up)"))
    return fig


def show_rig(cameras: Sequence, mesh=None, title: str = "camera rig", height: int = 420):
    """Cameras as points with their viewing directions toward the target, around an optional mesh."""
    import plotly.graph_objects as go

    eyes = np.array([c.eye for c in cameras], dtype=float)
    targets = np.array([c.target for c in cameras], dtype=float)
    fig = show_mesh(mesh, height=height) if mesh is not None else go.Figure()
    fig.add_trace(go.Scatter3d(x=eyes[:, 0], y=eyes[:, 2], z=eyes[:, 1], mode="markers+text",
                               text=[str(i) for i in range(len(eyes))], marker=dict(size=4, color="crimson"),
                               name="cameras"))
    xs, ys, zs = [], [], []
    for e, t in zip(eyes, targets):
        d = e + 0.35 * (t - e) / max(np.linalg.norm(t - e), 1e-9)
        xs += [e[0], d[0], None]
        ys += [e[2], d[2], None]
        zs += [e[1], d[1], None]
    fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color="crimson"), name="view direction"))
    fig.update_layout(title=title, height=height, scene=dict(aspectmode="data"))
    return fig


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, cols: int = 6,
                size: float = 1.6, invert: bool = False, cmap: str = "gray", suptitle: str = ""):
    """Grid of images ``(H, W)`` or ``(H, W, 3)``; ``invert=True`` shows ink = 1 images as black on white."""
    import matplotlib.pyplot as plt

    n = len(images)
    cols = max(1, min(cols, n))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * (size + (0.25 if titles else 0))),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        arr = np.asarray(img, dtype=np.float32)
        if arr.ndim == 3 and arr.shape[2] == 3 and arr.min() < 0:  # normals in [-1, 1]
            arr = (arr + 1) / 2
        ax.imshow(1 - arr if invert else arr, cmap=cmap, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    plt.close(fig)
    return fig


def show_views(views: dict[str, np.ndarray], max_views: int = 6, size: float = 1.4):
    """Rows = styles, columns = views, from :func:`sbsr_lab.render.render_views` output."""
    import matplotlib.pyplot as plt

    styles = list(views)
    n = min(max_views, len(next(iter(views.values()))))
    fig, axes = plt.subplots(len(styles), n, figsize=(n * size, len(styles) * size), squeeze=False)
    for r, style in enumerate(styles):
        for c in range(n):
            arr = np.asarray(views[style][c], dtype=np.float32)
            if arr.ndim == 3:
                arr = (arr + 1) / 2
            axes[r, c].imshow(arr, cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if c == 0:
                axes[r, c].set_ylabel(style, fontsize=9)
            if r == 0:
                axes[r, c].set_title(f"view {c}", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def show_strokes(stroke_sets: Sequence[Sequence[np.ndarray]], titles: Sequence[str] | None = None,
                 cols: int = 5, size: float = 2.0, order_colours: bool = True):
    """Polylines in [0, 1]^2 (y down); colours follow drawing order when ``order_colours``."""
    import matplotlib.pyplot as plt

    n = len(stroke_sets)
    cols = max(1, min(cols, n))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, strokes in enumerate(stroke_sets):
        ax = axes.flat[i]
        cmap = plt.get_cmap("viridis")
        for j, s in enumerate(strokes):
            s = np.asarray(s)
            colour = cmap(j / max(1, len(strokes) - 1)) if order_colours else "black"
            ax.plot(s[:, 0], s[:, 1], "-", color=colour, linewidth=1.2)
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)
        ax.set_aspect("equal")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def show_curve(xs: Sequence[float], ys: dict[str, Sequence[float]], xlabel: str, ylabel: str, title: str = "",
               height: int = 360):
    """Line chart of one or more series (plotly), e.g. training curves or precision-recall."""
    import plotly.graph_objects as go

    fig = go.Figure([go.Scatter(x=list(xs), y=list(v), mode="lines+markers", name=k) for k, v in ys.items()])
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title=ylabel, height=height,
                      margin=dict(l=40, r=10, t=40 if title else 10, b=40))
    return fig


def project_2d(points: np.ndarray) -> np.ndarray:
    """(N, d) -> (N, 2): the points on their two principal axes (PCA through an SVD of the centred points)."""
    x = np.asarray(points, dtype=np.float64)
    x = x - x.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    out = x @ vt[:2].T
    return np.pad(out, ((0, 0), (0, 2 - out.shape[1]))) if out.shape[1] < 2 else out


def show_class_means(panels: dict[str, tuple[np.ndarray, np.ndarray]], class_names: Sequence[str],
                     title: str = "Class means of the two modalities", height: int = 380):
    """One panel per method: each class's mean sketch embedding (circle) joined to its mean shape
    embedding (square), both modalities projected together on their two principal axes.

    ``panels``: method -> (sketch means (K, d), shape means (K, d)), rows in ``class_names`` order
    (rows of NaN, for a class missing from one modality, are skipped). Short lines = a small gap.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels))
    for col, (method, (ms, mt)) in enumerate(panels.items(), start=1):
        ms, mt = np.asarray(ms, dtype=np.float64), np.asarray(mt, dtype=np.float64)
        keep = np.isfinite(ms).all(1) & np.isfinite(mt).all(1)
        names = [n for n, k in zip(class_names, keep) if k]
        xy = project_2d(np.concatenate([ms[keep], mt[keep]]))
        s, g = xy[: len(names)], xy[len(names):]
        lines = np.full((3 * len(names), 2), np.nan)
        lines[0::3], lines[1::3] = s, g
        first = col == 1
        fig.add_trace(go.Scatter(x=lines[:, 0], y=lines[:, 1], mode="lines", line=dict(color="#bbbbbb"),
                                 name="gap", showlegend=first, legendgroup="gap"), row=1, col=col)
        fig.add_trace(go.Scatter(x=s[:, 0], y=s[:, 1], mode="markers+text", text=names, textposition="top center",
                                 marker=dict(symbol="circle", size=9, color="#d62728"), name="sketches",
                                 showlegend=first, legendgroup="sketches"), row=1, col=col)
        fig.add_trace(go.Scatter(x=g[:, 0], y=g[:, 1], mode="markers", text=names,
                                 marker=dict(symbol="square", size=9, color="#1f77b4"), name="shapes",
                                 showlegend=first, legendgroup="shapes"), row=1, col=col)
    fig.update_layout(title=title, height=height, margin=dict(l=30, r=10, t=70, b=30))
    return fig
