"""Rank a gallery for every query and record where the relevant items land.

Everything in :mod:`sbsr_lab.retrieval` is computed from one object, :class:`RelevantRanks`: for each
query, the 1-based ranks of the gallery items of its class in the ranked list (descending similarity,
ties broken by :data:`Ties`: a seeded shuffle by default, the gallery index on request).

**Ties.** The official SHREC code breaks ties by gallery index. With exactly tied scores (a collapsed
model that gives every shape the same score) that lets the gallery's *order* decide the numbers: a
long-tailed gallery listed largest class first gives constant scores mAP 0.132, the same gallery
reversed 0.250. The default (``ties="shuffle"``) ranks the gallery in a seeded random order
(``seed``, default 0) before the stable sort, so tied items are ordered at random: scores without ties
rank exactly as before, and tied scores give one draw of the tie-aware expectation (McSherry & Najork
2008), which over many queries is the chance value whatever the gallery's order. ``ties="index"`` is
the official rule, to compare with published SHREC numbers. The six SHREC metrics (:mod:`sbsr_lab.retrieval.metrics`), the
precision-recall curve and the per-class table are all cheap functions of those ranks, so the
gallery is sorted once.

The reference ranking is :func:`sorted_positions`: a stable descending ``torch.sort`` of each row,
then the relevance mask read in that order (used on CUDA/MPS and for other dtypes). On the CPU
(float32/float64, float16/bfloat16 upcast exactly) :func:`rank_relevant` takes the fast path of
:mod:`sbsr_lab.retrieval.fast_ranking`, which gives exactly the same ranks without an argsort.

Memory is bounded by chunking over queries: a chunk holds ``rows x N`` sorted values or keys (a few
bytes each), so the SHREC'14 problem (5,130 x 8,987) runs in a few hundred MB besides the
similarity matrix itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from sbsr_lab.errors import SbsrError
from sbsr_lab.retrieval.fast_ranking import relevant_positions
from sbsr_lab.similarity import cosine_similarity, euclidean_similarity

__all__ = [
    "Ties",
    "TIES",
    "RetrievalError",
    "ArrayLike",
    "LabelsLike",
    "RelevantRanks",
    "rank_relevant",
    "sorted_positions",
    "similarity_matrix",
    "as_similarity",
    "as_embeddings",
    "encode_labels",
]

#: A similarity matrix or an embedding matrix: numpy array or torch tensor.
ArrayLike = Union[np.ndarray, Tensor]
#: Labels: integer array/tensor, or a sequence of class names (any hashable, sortable values).
LabelsLike = Union[np.ndarray, Tensor, Sequence[Any]]
#: How tied scores are ordered (module docstring): a seeded shuffle (default) or the gallery index (official).
Ties = Literal["shuffle", "index"]
TIES: tuple[str, ...] = ("shuffle", "index")

_CPU_CHUNK_BYTES = 16 << 20     # CPU path: ~8 bytes per element (sorted copy, keys on fallback)
_DEVICE_CHUNK_BYTES = 512 << 20  # torch path: ~24 bytes per element (values, indices, masks)


class RetrievalError(SbsrError, ValueError):
    """Inputs to retrieval evaluation that cannot be evaluated (shapes, empty, NaN, unknown classes)."""


@dataclass(frozen=True)
class RelevantRanks:
    """Where each query's relevant gallery items land in its ranked list, stored flat (CSR-like).

    With Q queries, N gallery items and T = sum over queries of C (the query's class size):

    * ``ranks``  (T,) int64 -- 1-based ranks of the relevant items, ascending within each query;
    * ``query``  (T,) int64 -- the query row of each entry (non-decreasing);
    * ``counts`` (Q,) int64 -- C, the number of gallery items of each query's class (>= 1);
    * ``query_codes`` (Q,) int64 -- class code of each query, an index into ``classes``;
    * ``classes`` -- the sorted distinct labels of queries and gallery;
    * ``num_gallery`` -- N.

    All tensors live on the similarity matrix's device.
    """

    ranks: Tensor
    query: Tensor
    counts: Tensor
    query_codes: Tensor
    classes: list[Any]
    num_gallery: int

    @property
    def num_queries(self) -> int:
        """Q."""
        return int(self.counts.numel())

    @property
    def device(self) -> torch.device:
        """Device of the tensors."""
        return self.ranks.device

    @property
    def float_dtype(self) -> torch.dtype:
        """The dtype the metrics are computed in: float64 (float32 on MPS, which has no float64)."""
        return torch.float32 if self.device.type == "mps" else torch.float64

    @property
    def offsets(self) -> Tensor:
        """(Q + 1,) int64: entries of query ``i`` are ``offsets[i]:offsets[i + 1]``."""
        zero = torch.zeros(1, dtype=torch.int64, device=self.device)
        return torch.cat([zero, torch.cumsum(self.counts, 0)])

    @property
    def hits(self) -> Tensor:
        """(T,) int64: 1-based position of each entry among its query's relevant items (k in P@k)."""
        start = self.offsets[:-1]
        return torch.arange(self.ranks.numel(), device=self.device) - start[self.query] + 1


# ------------------------------------------------------------------------------------------------
# input checking


def as_similarity(similarity: ArrayLike) -> Tensor:
    """Check a (Q, N) similarity matrix and return it as a floating torch tensor (no copy if possible).

    numpy arrays are wrapped with ``torch.from_numpy`` (shared memory). float16/bfloat16 are upcast
    to float32 (exact, so ties are kept); integer or boolean matrices become float64.
    Raises :class:`RetrievalError` for non-2-D, empty or NaN input.
    """
    if isinstance(similarity, np.ndarray):
        if similarity.dtype.kind not in "fiub":
            raise RetrievalError(f"similarity has dtype {similarity.dtype}; pass a numeric (Q, N) matrix")
        sim = torch.from_numpy(np.ascontiguousarray(similarity))
    elif isinstance(similarity, Tensor):
        sim = similarity.detach()
    else:
        raise RetrievalError(
            f"similarity must be a numpy array or a torch tensor of shape (Q, N), got {type(similarity).__name__}"
        )
    if sim.ndim != 2:
        raise RetrievalError(f"similarity must be 2-D (queries x gallery), got shape {tuple(sim.shape)}")
    if sim.shape[0] == 0 or sim.shape[1] == 0:
        raise RetrievalError(f"similarity is empty (shape {tuple(sim.shape)}): need at least one query and one gallery item")
    if sim.dtype in (torch.float16, torch.bfloat16):
        sim = sim.float()
    elif not sim.is_floating_point():
        sim = sim.double()
    # one reduction instead of a (Q, N) mask: the sum is NaN if any entry is (or if +inf meets -inf)
    if bool(torch.isnan(sim.sum())) and bool(torch.isnan(sim).any()):
        raise RetrievalError("similarity contains NaN: check the embeddings (zero vectors, overflow) before ranking")
    return sim


def _labels_to_numpy(labels: LabelsLike, name: str, expected: int, other: str) -> np.ndarray:
    if isinstance(labels, Tensor):
        arr = labels.detach().cpu().numpy()
    else:
        arr = np.asarray(labels)
    if arr.ndim != 1:
        raise RetrievalError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != expected:
        raise RetrievalError(
            f"{name} has {arr.shape[0]} entries but the similarity matrix has {expected} {other}; "
            "pass one label per row (queries) / column (gallery)"
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise RetrievalError(f"{name} are floats that are not whole numbers; pass integer class ids or names")
        arr = arr.astype(np.int64)
    return arr


def encode_labels(
    query_labels: LabelsLike, gallery_labels: LabelsLike, num_queries: int, num_gallery: int
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Map query and gallery labels to shared integer codes.

    Returns ``(query_codes (Q,), gallery_codes (N,), classes)`` where ``classes`` are the sorted
    distinct labels (python ints or strings) and codes index into it. Raises
    :class:`RetrievalError` for wrong lengths and for query classes that have no gallery item
    (C = 0 makes FT, ST, DCG and AP undefined).
    """
    q = _labels_to_numpy(query_labels, "query_labels", num_queries, "rows (queries)")
    g = _labels_to_numpy(gallery_labels, "gallery_labels", num_gallery, "columns (gallery items)")
    try:
        classes, codes = np.unique(np.concatenate([q, g]), return_inverse=True)
    except TypeError as exc:  # mixed types that cannot be sorted
        raise RetrievalError(f"labels cannot be compared ({exc}); use integer ids or strings, not a mix") from exc
    codes = codes.reshape(-1).astype(np.int64)
    qc, gc = codes[:num_queries], codes[num_queries:]
    present = np.zeros(len(classes), dtype=bool)
    present[gc] = True
    missing = ~present[qc]
    if missing.any():
        absent = sorted({classes[c].item() if hasattr(classes[c], "item") else classes[c] for c in qc[missing]})
        shown = ", ".join(repr(a) for a in absent[:5]) + (" ..." if len(absent) > 5 else "")
        raise RetrievalError(
            f"{int(missing.sum())} queries belong to {len(absent)} classes absent from the gallery ({shown}); "
            "FT/ST/DCG/AP divide by the class size, so drop those queries or add their shapes to the gallery"
        )
    return qc, gc, [c.item() if hasattr(c, "item") else c for c in classes]


# ------------------------------------------------------------------------------------------------
# ranking


def _default_chunk(num_gallery: int, on_cpu: bool) -> int:
    per_row = (8 if on_cpu else 24) * num_gallery
    budget = _CPU_CHUNK_BYTES if on_cpu else _DEVICE_CHUNK_BYTES
    return max(1, budget // per_row)


def sorted_positions(sim: Tensor, qcodes: Tensor, gcodes: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """The reference ranking: (rows, 0-based positions) of every relevant item, row-major, ranks ascending.

    Each row of ``sim`` (Q, N) is sorted by ``torch.sort(descending=True, stable=True)`` (so ties keep
    gallery order); the relevance mask ``qcodes[i] == gcodes[j]`` is read in that order. ``chunk``
    rows at a time, on ``sim``'s device.
    """
    rows_out, pos_out = [], []
    for s in range(0, sim.shape[0], chunk):
        block = sim[s : s + chunk]
        _, order = torch.sort(block, dim=1, descending=True, stable=True)   # (R, N)
        mask = qcodes[s : s + chunk, None] == gcodes[None, :]               # (R, N) relevance by column
        relevant = mask.gather(1, order)                                    # (R, N) relevance by rank
        r, p = relevant.nonzero(as_tuple=True)
        rows_out.append(r + s)
        pos_out.append(p)
    return torch.cat(rows_out), torch.cat(pos_out)


def rank_relevant(
    similarity: ArrayLike,
    query_labels: LabelsLike,
    gallery_labels: LabelsLike,
    chunk_size: int | None = None,
    ties: Ties = "shuffle",
    seed: int = 0,
) -> RelevantRanks:
    """Rank the gallery for every query and return the ranks of the relevant items.

    similarity: (Q, N), larger = more similar (numpy or torch; computed on the tensor's device);
    query_labels: (Q,); gallery_labels: (N,) -- integer ids or class names.
    chunk_size: queries per chunk (default: chosen from a memory budget, see the module docstring).
    Ranking is descending similarity (a stable sort of -similarity); ``ties="shuffle"`` (default) orders
    tied items by a random permutation of the gallery drawn from ``seed``, ``ties="index"`` by gallery
    index (the official SHREC rule). See the module docstring.
    """
    sim = as_similarity(similarity)
    q, n = sim.shape
    if n >= 2**30:
        raise RetrievalError(f"gallery of {n} items is too large (limit 2**30)")
    qc, gc, classes = encode_labels(query_labels, gallery_labels, q, n)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise RetrievalError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    if ties not in TIES:
        raise RetrievalError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    if ties == "shuffle":  # the gallery in a seeded random order: ties no longer follow the listing
        perm = np.random.default_rng([int(seed), 1729]).permutation(n)
        sim = sim.index_select(1, torch.from_numpy(perm).to(sim.device))
        gc = gc[perm]
    device = sim.device
    on_cpu = device.type == "cpu" and sim.dtype in (torch.float32, torch.float64)
    chunk = chunk_size or _default_chunk(n, on_cpu)
    if on_cpu:
        rows, pos = relevant_positions(sim, qc, gc, chunk, exact=sorted_positions)  # same ranks, faster
    else:
        rows, pos = sorted_positions(
            sim, torch.from_numpy(qc).to(device, torch.int32), torch.from_numpy(gc).to(device, torch.int32), chunk
        )
    counts_per_class = np.bincount(gc, minlength=len(classes))
    counts = torch.from_numpy(counts_per_class[qc].astype(np.int64))
    return RelevantRanks(
        ranks=(pos + 1).to(device),
        query=rows.to(device),
        counts=counts.to(device),
        query_codes=torch.from_numpy(qc).to(device),
        classes=classes,
        num_gallery=n,
    )


# ------------------------------------------------------------------------------------------------
# similarity from embeddings


def as_embeddings(x: ArrayLike, name: str) -> Tensor:
    """Check a non-empty (count, dim) embedding matrix and return it as a floating tensor (half types
    and integers become float32). ``name`` names it in the :class:`RetrievalError`."""
    t = torch.from_numpy(np.asarray(x)) if not isinstance(x, Tensor) else x.detach()
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise RetrievalError(f"{name} must be a non-empty (count, dim) matrix, got shape {tuple(t.shape)}")
    if not t.is_floating_point() or t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t


def similarity_matrix(
    queries: ArrayLike,
    gallery: ArrayLike,
    metric: Literal["cosine", "euclidean"] = "cosine",
    device: str | torch.device | None = None,
) -> Tensor:
    """Similarity between query and gallery embeddings, (Q, d) x (N, d) -> (Q, N); larger = closer.

    ``cosine`` (default) is in [-1, 1]; ``euclidean`` is the negative euclidean distance. Both come
    from :mod:`sbsr_lab.similarity`. Computed on ``device`` (default: the queries' device).
    """
    qt, gt = as_embeddings(queries, "query embeddings"), as_embeddings(gallery, "gallery embeddings")
    if qt.shape[1] != gt.shape[1]:
        raise RetrievalError(
            f"query embeddings have dim {qt.shape[1]} but gallery embeddings have dim {gt.shape[1]}; "
            "embed both with models that share the embedding size"
        )
    dev = torch.device(device) if device is not None else qt.device
    dtype = torch.promote_types(qt.dtype, gt.dtype)
    qt, gt = qt.to(dev, dtype), gt.to(dev, dtype)
    if metric == "cosine":
        return cosine_similarity(qt, gt)
    if metric == "euclidean":
        return euclidean_similarity(qt, gt)
    raise RetrievalError(f"unknown metric {metric!r}; choose 'cosine' or 'euclidean'")
