"""``ResultGrid``: the top-k shapes of a query as tiles (thumbnail, class, score, the view that matches best).

    grid = ResultGrid(k=8, on_select=lambda r: print(r["id"]))
    grid.show(result.results, images)       # images: per result, (thumbnail PNG, best-view PNG or None)
    grid.results                            # what is shown, kept in Python: [{"rank", "id", "class", "score", ...}]

Each tile shows the shape's thumbnail, its class and cosine score, and under it the rendered view of
that shape closest to the sketch (``result["view"]``, :mod:`sbsr_lab.retrieval.best_view`), so a learner
sees from which side the model thinks the shape was drawn. A "3D" button calls ``on_select(result)``.
"""

from __future__ import annotations

import base64
import html
import io
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

from sbsr_lab.io import open_image

__all__ = ["ResultGrid", "thumbnail_png", "view_png", "BLANK_PNG"]

BLANK_PNG = base64.b64decode(  # 1x1 white pixel for empty tiles
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAG7buVgAAAABJRU5ErkJggg==")


@lru_cache(maxsize=2048)
def view_png(path: str | None, view: int | None) -> bytes | None:
    """PNG bytes of view ``view`` of a view strip ``(s, V*s)`` (None: the file itself when it is one view,
    else the canonical :data:`~sbsr_lab.retrieval.report.THUMBNAIL_VIEW`); None when there is no such file."""
    # deferred: serve.thumbnails imports retrieval.report, which imports torch, and the app's server imports this
    # module before torch loads
    from sbsr_lab.serve.thumbnails import strip_view

    if not path or not Path(path).is_file():
        return None
    data = Path(path).read_bytes()
    with open_image(io.BytesIO(data)) as im:  # bounded: a hostile thumbnail cannot allocate gigabytes
        crop = strip_view(im, view)
        if crop is None:
            return None
        if crop is im:
            return data
        out = io.BytesIO()
        crop.save(out, format="PNG")
    return out.getvalue()


def thumbnail_png(path: str | None) -> bytes:
    """The thumbnail of a gallery shape (its canonical view), a blank pixel when the file is missing."""
    return view_png(path, None) or BLANK_PNG


class ResultGrid:
    """Tiles of the top-k results; the shown results are kept in :attr:`results` (module docstring).

    Args:
        k: number of tiles.
        on_select: called with a result dict when its "3D" button is pressed.
        tile_px: side of the thumbnails in pixels.
    """

    def __init__(self, k: int = 8, on_select: Callable[[dict[str, Any]], None] | None = None,
                 tile_px: int = 96) -> None:
        import ipywidgets as W

        self.k, self.on_select = int(k), on_select
        self.results: list[dict[str, Any]] = []
        self._tiles = []
        side = f"{tile_px}px"
        for i in range(self.k):
            image = W.Image(value=BLANK_PNG, format="png", layout=W.Layout(width=side, height=side))
            caption = W.HTML()
            best = W.Image(value=BLANK_PNG, format="png", layout=W.Layout(width=f"{tile_px // 2}px",
                                                                          height=f"{tile_px // 2}px"))
            best_caption = W.HTML()
            button = W.Button(description="3D", layout=W.Layout(width=side))
            button.on_click(lambda _b, i=i: self._clicked(i))
            tile = W.VBox([image, caption, W.HBox([best, best_caption]), button],
                          layout=W.Layout(display="none", border="1px solid #ddd", padding="2px",
                                          align_items="center", width=f"{tile_px + 12}px"))
            self._tiles.append((tile, image, caption, best, best_caption))
        self.widget = W.GridBox([t[0] for t in self._tiles],
                                layout=W.Layout(grid_template_columns=f"repeat(auto-fill, {tile_px + 16}px)",
                                                grid_gap="4px"))
        self.widget.add_class("sbsr-results")

    def show(self, results: Sequence[dict[str, Any]], images: Sequence[tuple[bytes, bytes | None]]) -> None:
        """Show ``results`` (best first); ``images[i]`` = (thumbnail PNG, best-view PNG or None)."""
        self.results = [dict(r) for r in results[: self.k]]
        for i, (tile, image, caption, best, best_caption) in enumerate(self._tiles):
            if i >= len(self.results):
                tile.layout.display = "none"
                continue
            r = self.results[i]
            thumb, view = images[i]
            image.value = thumb
            caption.value = (f'<div style="font-size:12px;text-align:center">#{r["rank"]} '
                             f'<b>{html.escape(str(r["class"]))}</b><br>{float(r["score"]):.3f}</div>')
            if view is not None and r.get("view") is not None:
                best.value, best.layout.display = view, "flex"
                best_caption.value = (f'<div style="font-size:11px;line-height:1.1">drawn from<br>view '
                                      f'{int(r["view"]) + 1}</div>')
            else:
                best.layout.display = "none"
                best_caption.value = ""
            tile.layout.display = "flex"

    def clear(self) -> None:
        """No results shown."""
        self.show([], [])

    def _clicked(self, i: int) -> None:
        if i < len(self.results) and self.on_select is not None:
            self.on_select(self.results[i])
