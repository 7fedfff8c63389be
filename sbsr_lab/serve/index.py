"""A searchable gallery of shape embeddings: ids, labels and thumbnails alongside, saved without pickle.

Backends:

* ``"torch"`` (default): exact search, a chunked matrix product + ``topk`` on any torch device.
* ``"faiss"`` (when ``faiss`` is installed): ``kind="flat"`` is exact (``IndexFlatIP`` for cosine,
  ``IndexFlatL2`` for euclidean); ``kind="ivf"`` (inverted lists, ``nlist`` cells, ``nprobe`` visited)
  and ``kind="hnsw"`` (graph, ``hnsw_m`` links) are approximate, for galleries of 10^5+ items.

Scores are similarities, larger = closer: cosine in [-1, 1], or the negative euclidean distance.
Within the returned top k, equal scores are ordered by gallery index.

File format (``GalleryIndex.save``): one ``.safetensors`` file (see :mod:`sbsr_lab.retrieval.store`)
with tensors ``embeddings`` (N, d) float32 and ``labels`` (N,) int64 (codes into ``classes``), and
JSON metadata ``{"format": "sbsr_lab.gallery_index", "version": 1, "ids": [...], "classes": [...],
"thumbnails": [...], "metric": "cosine"}``. An approximate faiss structure (IVF, HNSW: minutes to build
at 10^6 shapes) is written beside it with faiss's own writer (``<name>.safetensors.faiss``, faiss's
binary format, no pickle) and its SHA-256, kind and parameters go into the JSON; :meth:`GalleryIndex.load`
reads it back only when all of them match, and otherwise rebuilds it from the embeddings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
import torch
from torch import Tensor

from sbsr_lab.retrieval.ranking import ArrayLike, RetrievalError, as_embeddings
from sbsr_lab.io import atomic_path, sha256_file
from sbsr_lab.retrieval.store import read_tensors, write_tensors
from sbsr_lab.similarity import l2_normalize

__all__ = ["GalleryIndex", "faiss_available"]

INDEX_FORMAT = "sbsr_lab.gallery_index"
Metric = Literal["cosine", "euclidean"]
Backend = Literal["torch", "faiss"]
FaissKind = Literal["flat", "ivf", "hnsw"]


def faiss_available() -> bool:
    """True when the optional ``faiss`` package imports."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class GalleryIndex:
    """Shape embeddings (N, d) with ``ids`` (N,), ``labels`` (N,) and ``thumbnails`` (N,) paths.

    Example::

        index = GalleryIndex(shape_emb, ids=shape_ids, labels=shape_classes)
        scores, idx = index.search(sketch_emb, k=10)      # (Q, 10), (Q, 10)
        index.save("gallery.safetensors"); GalleryIndex.load("gallery.safetensors")
    """

    def __init__(
        self,
        embeddings: ArrayLike,
        ids: Sequence[str] | None = None,
        labels: Sequence[Any] | np.ndarray | Tensor | None = None,
        thumbnails: Sequence[str | None] | None = None,
        metric: Metric = "cosine",
        backend: Backend = "torch",
        kind: FaissKind = "flat",
        device: str | torch.device | None = None,
        nlist: int | None = None,
        nprobe: int = 8,
        hnsw_m: int = 32,
        chunk_size: int = 1024,
        normalized: bool = False,
        _prebuilt: Any = None,
    ) -> None:
        """Args:
        embeddings: (N, d) gallery embeddings (numpy or torch); stored as float32.
        ids: N unique strings (default "0".."N-1"). labels: N class ids or names (optional).
        thumbnails: N image paths (or None) shown next to results (optional).
        metric: "cosine" (rows are L2-normalised once) or "euclidean".
        backend: "torch" (exact) or "faiss"; kind: faiss structure "flat" | "ivf" | "hnsw".
        device: torch backend device (default: the embeddings' device).
        nlist / nprobe: IVF cells (default min(4 sqrt(N), N / 39)) and cells visited per query.
        hnsw_m: HNSW links per node. chunk_size: queries per matrix product (torch backend).
        normalized: the rows are already unit length (cosine): keep them bit for bit.
        _prebuilt: a faiss index already holding these rows (used by :meth:`load`).
        """
        emb = as_embeddings(embeddings, "gallery embeddings").float()
        n = emb.shape[0]
        if metric not in ("cosine", "euclidean"):
            raise RetrievalError(f"unknown metric {metric!r}; choose 'cosine' or 'euclidean'")
        if backend not in ("torch", "faiss"):
            raise RetrievalError(f"unknown backend {backend!r}; choose 'torch' or 'faiss'")
        if kind not in ("flat", "ivf", "hnsw"):
            raise RetrievalError(f"unknown faiss kind {kind!r}; choose 'flat', 'ivf' or 'hnsw'")
        if backend == "faiss" and not faiss_available():
            raise RetrievalError("backend='faiss' needs the faiss package: pip install faiss-cpu (or use backend='torch')")
        self.metric: Metric = metric
        self.backend: Backend = backend
        self.kind: FaissKind = kind
        self.nprobe, self.hnsw_m, self.chunk_size = nprobe, hnsw_m, chunk_size
        self.nlist = nlist if nlist is not None else max(1, min(n // 39, int(4 * np.sqrt(n))))  # faiss wants >= 39 points per cell
        self.ids: list[str] = [str(i) for i in range(n)] if ids is None else [str(i) for i in ids]
        self.thumbnails: list[str | None] = [None] * n if thumbnails is None else [None if t is None else str(t) for t in thumbnails]
        self.classes: list[Any]
        self.label_codes: Tensor | None
        self._set_labels(labels, n)
        for name, seq in (("ids", self.ids), ("thumbnails", self.thumbnails)):
            if len(seq) != n:
                raise RetrievalError(f"{name} has {len(seq)} entries for {n} gallery embeddings; pass one per row")
        if len(set(self.ids)) != n:
            raise RetrievalError("ids must be unique (they name gallery shapes in results and files)")
        if metric == "cosine" and not normalized:
            emb = l2_normalize(emb)
        self.embeddings: Tensor = emb.to(device) if device is not None else emb
        self._faiss: Any = (_prebuilt if _prebuilt is not None else self._build_faiss()) if backend == "faiss" else None

    # -- construction helpers -------------------------------------------------------------------

    def _set_labels(self, labels: Sequence[Any] | np.ndarray | Tensor | None, n: int) -> None:
        if labels is None:
            self.classes, self.label_codes = [], None
            return
        arr = labels.detach().cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
        if arr.ndim != 1 or arr.shape[0] != n:
            raise RetrievalError(f"labels must be one per gallery row ({n}), got shape {arr.shape}")
        classes, codes = np.unique(arr, return_inverse=True)
        self.classes = [c.item() if hasattr(c, "item") else c for c in classes]
        self.label_codes = torch.from_numpy(codes.reshape(-1).astype(np.int64))

    def _build_faiss(self) -> Any:
        import faiss

        x = np.ascontiguousarray(self.embeddings.detach().cpu().numpy(), dtype=np.float32)
        n, d = x.shape
        inner = self.metric == "cosine"
        faiss_metric = faiss.METRIC_INNER_PRODUCT if inner else faiss.METRIC_L2
        if self.kind == "flat":
            index = faiss.IndexFlatIP(d) if inner else faiss.IndexFlatL2(d)
        elif self.kind == "ivf":
            quantizer = faiss.IndexFlatIP(d) if inner else faiss.IndexFlatL2(d)
            index = faiss.IndexIVFFlat(quantizer, d, self.nlist, faiss_metric)
            index.train(x)
            index.nprobe = min(self.nprobe, self.nlist)
        else:
            index = faiss.IndexHNSWFlat(d, self.hnsw_m, faiss_metric)
            index.hnsw.efSearch = max(64, 2 * self.hnsw_m)
        index.add(x)
        return index

    # -- queries ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def dim(self) -> int:
        """Embedding size d."""
        return int(self.embeddings.shape[1])

    @property
    def labels(self) -> list[Any]:
        """The label of every gallery row (empty list when the index has no labels)."""
        if self.label_codes is None:
            return []
        return [self.classes[c] for c in self.label_codes.tolist()]

    def search(self, query_embeddings: ArrayLike, k: int = 10) -> tuple[Tensor, Tensor]:
        """Top-k gallery rows for each query: ``(scores (Q, k) float32, indices (Q, k) int64)``.

        query_embeddings: (Q, d) or (d,). Scores are similarities (larger = closer). ``k`` is capped
        at the gallery size. Results are on the index device (torch backend) or the CPU (faiss).
        """
        q = query_embeddings
        if isinstance(q, (np.ndarray, Tensor)) and q.ndim == 1:
            q = q[None, :]
        qt = as_embeddings(q, "query embeddings").float()
        if qt.shape[1] != self.dim:
            raise RetrievalError(f"query embeddings have dim {qt.shape[1]} but the gallery has dim {self.dim}")
        if not isinstance(k, int) or k < 1:
            raise RetrievalError(f"k must be a positive integer, got {k!r}")
        k = min(k, len(self))
        if self.metric == "cosine":
            qt = l2_normalize(qt)
        if self._faiss is not None:
            scores, idx = self._search_faiss(qt, k)
        else:
            scores, idx = self._search_torch(qt, k)
        # equal scores: order by gallery index (stable sort by index, then by score)
        by_index = torch.argsort(idx, dim=1)
        idx, scores = idx.gather(1, by_index), scores.gather(1, by_index)
        by_score = torch.sort(scores, dim=1, descending=True, stable=True).indices
        return scores.gather(1, by_score), idx.gather(1, by_score)

    def _search_torch(self, q: Tensor, k: int) -> tuple[Tensor, Tensor]:
        q = q.to(self.embeddings.device)
        scores, idx = [], []
        for s in range(0, q.shape[0], self.chunk_size):
            block = q[s : s + self.chunk_size]
            if self.metric == "cosine":
                sim = block @ self.embeddings.T                       # (R, N)
            else:
                sim = -torch.cdist(block, self.embeddings)             # (R, N)
            top = torch.topk(sim, k, dim=1)
            scores.append(top.values)
            idx.append(top.indices)
        return torch.cat(scores), torch.cat(idx)

    def _search_faiss(self, q: Tensor, k: int) -> tuple[Tensor, Tensor]:
        x = np.ascontiguousarray(q.detach().cpu().numpy(), dtype=np.float32)
        dist, idx = self._faiss.search(x, k)
        scores = torch.from_numpy(dist)
        if self.metric == "euclidean":                                 # faiss returns squared L2
            scores = -torch.sqrt(torch.clamp(scores, min=0.0))
        idx_t = torch.from_numpy(idx.astype(np.int64))
        if bool((idx_t < 0).any()):  # approximate search found fewer than k: pad with worst scores
            scores = torch.where(idx_t < 0, torch.full_like(scores, -float("inf")), scores)
        return scores, idx_t

    def records(self, indices: Tensor | Sequence[int], scores: Tensor | Sequence[float] | None = None) -> list[dict[str, Any]]:
        """Describe gallery rows for display: ``[{"index", "id", "label", "thumbnail", "score"}]``."""
        idx = indices.tolist() if isinstance(indices, Tensor) else list(indices)
        sc = scores.tolist() if isinstance(scores, Tensor) else (list(scores) if scores is not None else [None] * len(idx))
        labels = self.labels
        return [
            {
                "index": i,
                "id": self.ids[i] if i >= 0 else None,
                "label": labels[i] if labels and i >= 0 else None,
                "thumbnail": self.thumbnails[i] if i >= 0 else None,
                "score": s,
            }
            for i, s in zip(idx, sc)
        ]

    # -- files ----------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index to ``path`` (``.safetensors`` + JSON header, no pickle); return the path."""
        tensors = {"embeddings": self.embeddings.float()}
        if self.label_codes is not None:
            tensors["labels"] = self.label_codes
        meta = {
            "format": INDEX_FORMAT,
            "version": 1,
            "ids": self.ids,
            "classes": self.classes,
            "thumbnails": self.thumbnails,
            "metric": self.metric,
            "kind": self.kind,
            "nlist": self.nlist,
            "nprobe": self.nprobe,
            "hnsw_m": self.hnsw_m,
        }
        path = Path(path)
        side = _faiss_path(path)
        if self._faiss is not None and self.kind != "flat":  # flat is rebuilt in a blink; IVF/HNSW are not
            import faiss

            with atomic_path(side) as tmp:
                faiss.write_index(self._faiss, str(tmp))
            meta["faiss"] = {"file": side.name, "sha256": sha256_file(side), "kind": self.kind,
                             "params": self._faiss_params()}
        written = write_tensors(path, tensors, meta)
        if "faiss" not in meta and side.exists():  # a stale structure of an earlier save must not be reused
            side.unlink()
        return written

    def _faiss_params(self) -> dict[str, Any]:
        """What the faiss structure was built with (checked again before a saved one is reused)."""
        return {"metric": self.metric, "nlist": self.nlist, "nprobe": self.nprobe, "hnsw_m": self.hnsw_m,
                "n": len(self), "d": self.dim}

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        backend: Backend = "torch",
        device: str | torch.device | None = None,
        kind: FaissKind | None = None,
    ) -> "GalleryIndex":
        """Read an index written by :meth:`save`; pick the backend (and faiss ``kind``) again here."""
        tensors, meta = read_tensors(path, INDEX_FORMAT)
        labels = None
        if "labels" in tensors:
            labels = [meta["classes"][c] for c in tensors["labels"].tolist()]
        kind = kind or meta.get("kind", "flat")
        rows, dim = tensors["embeddings"].shape if tensors["embeddings"].ndim == 2 else (-1, -1)
        prebuilt = _read_saved_faiss(Path(path), meta, kind, rows, dim) if backend == "faiss" else None
        return cls(
            tensors["embeddings"],
            ids=meta["ids"],
            labels=labels,
            thumbnails=meta["thumbnails"],
            metric=meta["metric"],
            backend=backend,
            kind=kind,
            device=device,
            nlist=meta.get("nlist"),
            nprobe=meta.get("nprobe", 8),
            hnsw_m=meta.get("hnsw_m", 32),
            normalized=True,  # saved rows are stored as searched (already unit length for cosine)
            _prebuilt=prebuilt,
        )


def _faiss_path(path: Path) -> Path:
    """Where :meth:`GalleryIndex.save` writes the faiss structure of ``path``."""
    return path.with_name(path.name + ".faiss")




def _read_saved_faiss(path: Path, meta: dict[str, Any], kind: str, rows: int, dim: int) -> Any:
    """The saved faiss structure of an index file, or None (then it is rebuilt).

    It is read only when the file recorded in the index's JSON is there, next to the index, with the
    recorded SHA-256, of the requested kind, with the parameters the JSON says the rows were indexed
    with, and holding the index's ``rows`` x ``dim`` embeddings.
    """
    info = meta.get("faiss")
    if not isinstance(info, dict) or info.get("kind") != kind:
        return None
    side = _faiss_path(path)
    if info.get("file") != side.name or not side.is_file() or info.get("sha256") != sha256_file(side):
        return None
    params = info.get("params") or {}
    expected = {"metric": meta.get("metric"), "nlist": meta.get("nlist"), "nprobe": meta.get("nprobe", 8),
                "hnsw_m": meta.get("hnsw_m", 32), "n": int(rows), "d": int(dim)}
    if params != expected:
        return None
    import faiss

    try:
        index = faiss.read_index(str(side))
    except RuntimeError:
        return None
    if index.ntotal != expected["n"] or index.d != expected["d"]:
        return None
    if kind == "ivf":
        index.nprobe = min(int(expected["nprobe"]), int(expected["nlist"]))
    return index
