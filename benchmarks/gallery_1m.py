"""Benchmark: a gallery of 1,000,000 shapes: exact search vs faiss IVF and HNSW, side by side in one run.

    PYTHONPATH=. python benchmarks/gallery_1m.py                 # 10^6 x 128, the figures of the README
    PYTHONPATH=. python benchmarks/gallery_1m.py --n 100000      # a quicker look

The embeddings are synthetic but shaped like real ones: unit vectors around 2,000 "class" directions
(several shapes of a class close together, classes spread over the sphere), float32, d = 128; the
queries are other draws from the same mixture (sketches land near, not on, the shapes).

For each index (``GalleryIndex`` with backend ``torch`` = exact, and faiss ``ivf`` / ``hnsw``) one run
prints build time, the resident memory it added, query latency (one query at a time, as the live demo
asks: p50 / p95 ms over ``--queries``), batched throughput, recall@10 against the exact top 10, and the
time to save and to load the index again (faiss's own writer and reader for IVF/HNSW: no rebuild).
Targets (issue 18): recall@10 >= 0.95 at <= 5 ms per query on 2 CPU cores. On a CUDA machine the
torch backend's exact search is also timed on the GPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sbsr_lab.serve.index import GalleryIndex, faiss_available


def rss_mib() -> float:
    """Current resident memory of this process in MiB (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_gallery(n: int, q: int, d: int = 128, clusters: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(gallery (n, d), queries (q, d)) float32 unit rows around ``clusters`` directions."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(count: int, spread: float) -> np.ndarray:
        out = np.empty((count, d), dtype=np.float32)
        for s in range(0, count, 200_000):  # in blocks: no float64 temporaries of the whole gallery
            m = min(200_000, count - s)
            block = centres[rng.integers(0, clusters, m)] + spread * rng.standard_normal((m, d)).astype(np.float32)
            out[s:s + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    return draw(n, 0.08), draw(q, 0.10)


def latency_ms(index: GalleryIndex, queries: torch.Tensor, k: int) -> tuple[float, float]:
    """p50 and p95 of one-query searches, in ms."""
    times = []
    for row in queries:
        t0 = time.perf_counter()
        index.search(row[None], k)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def recall_at(found: torch.Tensor, exact: torch.Tensor) -> float:
    """Mean fraction of the exact top k that an index found (both (Q, k) indices)."""
    hits = [len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, exact)]
    return float(np.mean(hits)) / exact.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="gallery size")
    parser.add_argument("--queries", type=int, default=200, help="queries timed one at a time (and for recall)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--nprobe", type=int, default=16, help="IVF cells visited per query")
    parser.add_argument("--hnsw-m", type=int, default=32, help="HNSW links per node")
    parser.add_argument("--skip-hnsw", action="store_true", help="HNSW takes minutes to build at 10^6")
    args = parser.parse_args()

    base = rss_mib()
    gallery, queries = make_gallery(args.n, args.queries)
    g, q = torch.from_numpy(gallery), torch.from_numpy(queries)
    print(f"gallery {args.n:,} x {gallery.shape[1]} float32 ({gallery.nbytes / 2**20:.0f} MiB), {args.queries} queries, "
          f"k={args.k}; torch {torch.__version__}, {torch.get_num_threads()} threads; faiss "
          f"{'available' if faiss_available() else 'NOT installed'}")
    settings = [("exact (torch)", dict(backend="torch"))]
    if faiss_available():
        settings.append((f"faiss IVF (nprobe {args.nprobe})", dict(backend="faiss", kind="ivf", nprobe=args.nprobe)))
        if not args.skip_hnsw:
            settings.append((f"faiss HNSW (M {args.hnsw_m})", dict(backend="faiss", kind="hnsw", hnsw_m=args.hnsw_m)))

    exact_idx = None
    header = f"{'index':<26}{'build s':>9}{'+MiB':>8}{'p50 ms':>9}{'p95 ms':>9}{'q/s batch':>11}{'recall@10':>11}{'save s':>8}{'load s':>8}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in settings:
            before = rss_mib()
            t0 = time.perf_counter()
            index = GalleryIndex(g, normalized=True, **kw)
            build = time.perf_counter() - t0
            added = rss_mib() - before
            p50, p95 = latency_ms(index, q, args.k)
            t0 = time.perf_counter()
            _, found = index.search(q, args.k)
            batch_qps = len(q) / (time.perf_counter() - t0)
            if exact_idx is None:
                exact_idx = found
            recall = recall_at(found, exact_idx)
            path = Path(tmp) / f"{kw.get('kind', 'flat')}.safetensors"
            t0 = time.perf_counter()
            index.save(path)
            save_s = time.perf_counter() - t0
            del index
            t0 = time.perf_counter()
            GalleryIndex.load(path, backend=kw["backend"])
            load_s = time.perf_counter() - t0
            rows.append((name, build, added, p50, p95, batch_qps, recall, save_s, load_s))
            print(f"  done: {name}", flush=True)
    print("\n" + header)
    for name, build, added, p50, p95, qps, recall, save_s, load_s in rows:
        print(f"{name:<26}{build:>9.1f}{added:>8.0f}{p50:>9.2f}{p95:>9.2f}{qps:>11.0f}{recall:>11.3f}{save_s:>8.1f}{load_s:>8.1f}")
    print()
    for name, _, _, p50, p95, _, recall, _, _ in rows[1:]:
        ok = recall >= 0.95 and p95 <= 5.0
        print(f"  {name}: recall@10 {recall:.3f} (target >= 0.95), p95 {p95:.2f} ms (target <= 5 ms)  {'OK' if ok else 'MISSED'}")
    if torch.cuda.is_available():
        gpu = GalleryIndex(g, normalized=True, backend="torch", device="cuda")
        gpu.search(q[:1], args.k)
        torch.cuda.synchronize()
        p50, p95 = latency_ms(gpu, q.cuda(), args.k)
        t0 = time.perf_counter()
        gpu.search(q.cuda(), args.k)
        torch.cuda.synchronize()
        print(f"  exact on {torch.cuda.get_device_name()}: p50 {p50:.2f} ms, p95 {p95:.2f} ms per query, "
              f"{len(q) / (time.perf_counter() - t0):.0f} queries/s batched")
    else:
        print("  GPU: not available here (the torch backend's exact 1M search on CUDA runs in benchmarks/gpu_check.sh)")
    print(f"  process RSS {rss_mib():.0f} MiB (started at {base:.0f} MiB)")


if __name__ == "__main__":
    main()
