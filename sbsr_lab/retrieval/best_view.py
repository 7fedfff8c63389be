"""From which side was the shape drawn? The rendered view of a gallery shape closest to a sketch.

    views = ShapeViews(view_embeddings, strips)        # (N, V, d) unit rows, one view strip per shape
    views.best(z, rows)                                # (k,) index of the view nearest the sketch, per row

The shape network pools its V views into one embedding; here each view is also embedded on its own
(the same backbone and head, no pooling), so ``argmax_v cos(z_sketch, e_{n,v})`` names the view of
shape n that matches the sketch best. A bundle keeps these per-view embeddings beside its gallery
(``<method>_views.safetensors``, tensor ``view_embeddings`` (N, V, d) float16) and one strip of the
rendered views per shape (``thumbs/views/<id>.png``, ``(s, V*s)``). Without them the canonical
thumbnail view (:data:`sbsr_lab.retrieval.report.THUMBNAIL_VIEW`) is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from sbsr_lab.models.protocol import PerViewNetwork, satisfies
from sbsr_lab.retrieval.store import EmbeddingFileError, read_tensors, write_tensors
from sbsr_lab.similarity import l2_normalize

__all__ = ["ShapeViews", "embed_views", "head_per_view", "best_views", "write_view_embeddings", "read_view_embeddings",
           "VIEWS_TENSOR"]

VIEWS_TENSOR = "view_embeddings"
VIEWS_FORMAT = "sbsr_lab.view_embeddings"


@torch.no_grad()
def embed_views(net: Any, dataset: Any, device: torch.device | str = "cpu", batch_size: int = 16) -> Tensor:
    """Unit embeddings of every view of every gallery shape on its own: ``(N, V, d)`` float32.

    A :class:`~sbsr_lab.models.protocol.PerViewNetwork` (``view_features``: ``(B, V, C, H, W) -> (B, V, F)``,
    and ``head``) runs its backbone once and the head per view; any other shape network embeds each view
    as a one-view stack.
    """
    out = []
    for x, _ in DataLoader(dataset, batch_size=batch_size):
        x = x.to(device)                                      # (B, V, 1, H, W)
        if satisfies(net, PerViewNetwork):
            out.append(head_per_view(net, net.view_features(x)).cpu())
        else:
            b, v = x.shape[:2]
            z = net.embed(x.flatten(0, 1)[:, None])           # (B*V, 1, 1, H, W) -> (B*V, d)
            out.append(l2_normalize(z.float()).view(b, v, -1).cpu())
    return torch.cat(out)


def head_per_view(net: Any, feats: Tensor) -> Tensor:
    """Per-view backbone features ``(B, V, F)`` through ``net.head`` one view at a time -> unit
    embeddings ``(B, V, d)`` float32 (a head returning ``(mu, log_var)`` gives its mu)."""
    z = net.head(feats.flatten(0, 1))                         # (B*V, d)
    z = z[0] if isinstance(z, tuple) else z
    return l2_normalize(z.float()).view(feats.shape[0], feats.shape[1], -1)


def best_views(z: Tensor, view_embeddings: Tensor) -> tuple[Tensor, Tensor]:
    """``z (d,)`` or ``(Q, d)`` sketch embeddings against ``(k, V, d)`` per-view embeddings ->
    ``(view index, cosine)``, each ``(k,)`` (or ``(Q, k)``): argmax over V of ``cos(z, e_v)``."""
    q = l2_normalize(z.float().reshape(-1, z.shape[-1]))                  # (Q, d)
    cos = torch.einsum("qd,kvd->qkv", q, view_embeddings.float())         # (Q, k, V)
    best, index = cos.max(dim=2)
    return (index[0], best[0]) if z.ndim == 1 else (index, best)


def write_view_embeddings(path: str | Path, view_embeddings: Tensor) -> Path:
    """Save ``(N, V, d)`` per-view embeddings as float16 safetensors (atomically)."""
    path = Path(path)
    write_tensors(path, {VIEWS_TENSOR: view_embeddings.detach().to(torch.float16).contiguous()},
                  {"format": VIEWS_FORMAT, "version": 1})
    return path


def read_view_embeddings(path: str | Path) -> Tensor:
    """Inverse of :func:`write_view_embeddings`: ``(N, V, d)`` float32 (shape checks: the bundle reader's)."""
    tensors, _ = read_tensors(path, VIEWS_FORMAT)
    if VIEWS_TENSOR not in tensors:
        raise EmbeddingFileError(f"{path} has no {VIEWS_TENSOR!r} tensor. Export the bundle again (`export_bundle`).")
    return tensors[VIEWS_TENSOR].float()


@dataclass
class ShapeViews:
    """Per-view embeddings of a gallery, row-aligned with its :class:`~sbsr_lab.serve.index.GalleryIndex`.

    ``embeddings``: ``(N, V, d)`` unit rows; ``strips``: per gallery row, a PNG of its V rendered views
    side by side (``(s, V*s)``), or None.
    """

    embeddings: Tensor
    strips: Sequence[str | None] | None = None

    @property
    def num_views(self) -> int:
        return int(self.embeddings.shape[1])

    def best(self, z: Tensor, rows: Sequence[int] | Tensor) -> list[int]:
        """The best view of each gallery row in ``rows`` for the sketch embedding ``z (d,)``."""
        rows_t = torch.as_tensor(rows, dtype=torch.long).reshape(-1)
        if rows_t.numel() == 0:
            return []
        index, _ = best_views(torch.as_tensor(z), self.embeddings[rows_t])
        return [int(i) for i in index]
