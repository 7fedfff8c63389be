"""The fast CPU path of :func:`sbsr_lab.retrieval.ranking.rank_relevant`: the same ranks, without an argsort.

Why it exists: the metrics need only the C ranks of each query's relevant items, and on a CPU
sorting the values (numpy's SIMD sort) and counting with ``searchsorted`` is much faster than a
stable argsort of every row plus a gather (the reference, :func:`~sbsr_lab.retrieval.ranking.sorted_positions`).

* Main path: sort each row's *values*; a relevant item's rank is 1 + the number of strictly larger
  values, plus the equal values at smaller gallery indices (ties are broken by gallery index).
* Chunks with many ties (quantised scores): an exact sort that carries the index. For float32 each
  similarity is packed with its gallery index and a relevance bit into one int64 key whose ascending
  order is "similarity descending, then gallery index ascending"; the relevance bit is read off the
  sorted keys (no gather). For float64 the reference ranking is used.

Tests check that it gives exactly the reference's ranks (``tests/retrieval/test_retrieval_metrics.py``).
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import torch
from torch import Tensor

__all__ = ["relevant_positions", "ExactRanking"]

#: The reference ranking's signature: ``(sim (R, N), qcodes (R,), gcodes (N,), chunk) -> (rows, positions)``.
ExactRanking = Callable[[Tensor, Tensor, Tensor, int], tuple[Tensor, Tensor]]


def _packed_key_positions(sim: np.ndarray, low_words: np.ndarray, qcodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fallback for tie-heavy float32 chunks: sort packed int64 keys; return (rows, 0-based positions).

    key = (~ordered(sim) << 32) | (2 * gallery_index + relevant); ascending key order is descending
    similarity, then ascending gallery index, and the relevance bit rides along (no gather).
    """
    rows, n = sim.shape
    bits = (sim + np.float32(0.0)).view(np.int32)        # + 0.0 turns -0.0 into +0.0 (they tie)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)          # int32 order == float order
    keys = np.empty((rows, n), dtype=np.int64)
    halves = keys.view(np.int32).reshape(rows, n, 2)      # little-endian: [..., 0] low, [..., 1] high
    np.invert(ordered, out=halves[..., 1])                # larger similarity -> smaller key
    halves[..., 0] = low_words[qcodes]
    keys.sort(axis=1)
    relevant = keys.view(np.uint8)[:, ::8] & 1            # lowest byte of each key holds the bit
    return np.nonzero(relevant)


class _CpuRanker:
    """Ranks of the relevant items on the CPU, one chunk of query rows at a time.

    Main path (no full argsort): sort each row's *values* (numpy SIMD sort), then for each relevant
    item count the strictly larger values with ``searchsorted``: rank = 1 + #larger. An item whose
    value occurs more than once in its row also counts the equal values at smaller gallery indices.
    Chunks with many such ties (quantised scores) fall back to an exact sort that carries the index:
    packed int64 keys for float32, the reference ``exact`` ranking for float64.
    """

    def __init__(self, sim: Tensor, qcodes: np.ndarray, gcodes: np.ndarray, exact: ExactRanking,
                 tie_fallback: float = 8.0) -> None:
        self.sim, self.arr, self.qcodes, self.gcodes, self.exact = sim, sim.numpy(), qcodes, gcodes, exact
        self.n = self.arr.shape[1]
        self.tie_fallback = tie_fallback                   # fall back when tied hits > this x rows
        self.members = np.argsort(gcodes, kind="stable")   # gallery indices grouped by class
        self.sizes = np.bincount(gcodes, minlength=int(max(qcodes.max(), gcodes.max())) + 1)
        self.class_start = np.cumsum(self.sizes) - self.sizes
        self._low_words: np.ndarray | None = None

    def low_words(self) -> np.ndarray:
        """Low 32 bits of the packed keys, per class: 2 * j + [gallery j has that class], (K, N) int32."""
        if self._low_words is None:
            low = np.empty((len(self.sizes), self.n), dtype=np.int32)
            low[:] = 2 * np.arange(self.n, dtype=np.int32)
            low[self.gcodes, np.arange(self.n)] += 1
            self._low_words = low
        return self._low_words

    def chunk(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, 0-based positions) of the relevant items of queries ``start:stop``, row-major order."""
        block, qc = self.arr[start:stop], self.qcodes[start:stop]
        r_count, n = block.shape
        c = self.sizes[qc]                                             # (R,) C per row
        row = np.repeat(np.arange(r_count), c)                         # (T,) row of each relevant item
        within = np.arange(row.size) - np.repeat(np.cumsum(c) - c, c)  # (T,) index among the row's items
        cols = self.members[self.class_start[qc][row] + within]        # (T,) gallery index
        vals = block[row, cols]                                        # (T,) their similarity
        padded = np.full((r_count, int(c.max())), np.inf, dtype=block.dtype)
        padded[row, within] = vals
        ascending = torch.from_numpy(np.sort(block, axis=1))          # (R, N) values only
        pv = torch.from_numpy(padded)
        above = torch.searchsorted(ascending, pv, right=True).numpy()[row, within]
        below = torch.searchsorted(ascending, pv).numpy()[row, within]
        pos = (n - above).astype(np.int64)                             # strictly larger values
        tied = np.nonzero(above - below > 1)[0]
        if tied.size > self.tie_fallback * r_count:
            return self._exact_chunk(start, stop)
        for t in np.array_split(tied, max(1, tied.size * n // (1 << 22))):  # ~4M comparisons per step
            if t.size:
                same = block[row[t]] == vals[t, None]                 # (t, N)
                pos[t] += (same & (np.arange(n) < cols[t, None])).sum(1)
        order = np.lexsort((pos, row))                                 # row-major, ranks ascending
        return row[order], pos[order]

    def _exact_chunk(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        if self.arr.dtype == np.float32 and sys.byteorder == "little":
            return _packed_key_positions(self.arr[start:stop], self.low_words(), self.qcodes[start:stop])
        r, p = self.exact(self.sim[start:stop], torch.from_numpy(self.qcodes[start:stop]),
                          torch.from_numpy(self.gcodes), stop - start)
        return r.numpy(), p.numpy()


def relevant_positions(
    sim: Tensor, qcodes: np.ndarray, gcodes: np.ndarray, chunk: int, exact: ExactRanking, tie_fallback: float = 8.0
) -> tuple[Tensor, Tensor]:
    """(rows, 0-based positions) of every relevant item, for a CPU float32/float64 ``sim`` (Q, N).

    Chunks of ``chunk`` query rows run on a few threads. ``exact`` is the reference ranking
    (:func:`sbsr_lab.retrieval.ranking.sorted_positions`), used for float64 chunks with more than
    ``tie_fallback`` tied relevant items per row (0: on any tie; ``inf``: never). The result is the
    same as ``exact(sim, qcodes, gcodes, chunk)``, in the same order.
    """
    ranker = _CpuRanker(sim, qcodes, gcodes, exact, tie_fallback)
    q = sim.shape[0]
    starts = range(0, q, chunk)

    def work(s: int) -> tuple[np.ndarray, np.ndarray]:
        r, p = ranker.chunk(s, min(s + chunk, q))
        return r + s, p

    workers = max(1, min(torch.get_num_threads(), len(starts)))
    if workers == 1:
        parts = [work(s) for s in starts]
    else:
        with ThreadPoolExecutor(workers) as pool:  # numpy's sort releases the GIL
            parts = list(pool.map(work, starts))
    rows = torch.from_numpy(np.concatenate([r for r, _ in parts]).astype(np.int64, copy=False))
    pos = torch.from_numpy(np.concatenate([p for _, p in parts]).astype(np.int64, copy=False))
    return rows, pos
