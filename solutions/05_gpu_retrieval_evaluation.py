# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · GPU retrieval evaluation: the SHREC metrics, exact and fast
#
# A retrieval model is judged by how it **ranks** the gallery for each query. The SHREC sketch tracks
# score that ranking with six numbers, NN, FT, ST, E, DCG and mAP, plus a precision-recall curve.
# The original scripts walk each ranked list in a loop; here the same definitions run as a handful of
# tensor operations, on the CPU or the GPU, and give exactly the same numbers.
#
# This notebook uses synthetic embeddings only (no dataset, no training), so it runs anywhere in seconds.
#
# **What you will learn**
# - what each SHREC metric measures, read off a ranked list of a single query;
# - how to compute the metrics for thousands of queries at once with sorts and cumulative sums;
# - how to search a large gallery quickly: exact search in torch, and approximate search with faiss.

# %%
# %load_ext autoreload
# %autoreload 2
import time

import numpy as np
import torch

from sbsr_lab.checks import retrieval as check_retrieval
from sbsr_lab.notebook import setup, show_source
from sbsr_lab.retrieval import (
    evaluate_similarity, format_table, loop_metrics, metrics_table_text, per_query_metrics, precision_recall_curve,
    retrieval_metrics, similarity_matrix,
)
from sbsr_lab.retrieval.plots import show_pr_curves, show_ranked_list, show_timings
from sbsr_lab.serve.index import GalleryIndex, faiss_available

P, DATA, DEVICE = setup()            # seeds numpy and torch; the profile sizes the timing problems below
SEED = P.seed

# %% [markdown]
# ## Every metric is read off one ranked list
# One sketch of a *chair*, a gallery of 12 shapes, 4 of which are chairs (so **C = 4**). The model
# gives each shape a similarity; sorting them (largest first) gives the ranked list below.
# Green boxes are chairs (relevant), grey boxes are not. The dashed lines mark the top C and top 2C.

# %%
similarity = np.array([[0.91, 0.35, 0.72, 0.10, 0.88, 0.55, 0.40, 0.67, 0.20, 0.72, 0.05, 0.30]])
gallery = np.array(["chair", "table", "chair", "lamp", "table", "chair", "lamp", "bed", "bed", "table", "mug", "chair"])
query = np.array(["chair"])

order = np.argsort(-similarity[0], kind="stable")   # ranked list: largest similarity first
relevant = gallery[order] == query[0]
C = int((gallery == query[0]).sum())
show_ranked_list(relevant, similarity[0, order], title="Ranked list of one chair sketch", marks={"C": C, "2C": 2 * C})

# %% [markdown]
# Reading the list from the left:
#
# * **NN** (nearest neighbour): is rank 1 relevant? Here yes, so NN = 1.
# * **FT** (first tier): the fraction of the C chairs found in the top C. **ST** (second tier): the same
#   in the top 2C (capped at the gallery size), still divided by C.
# * **E** (E-measure): the F-measure of the top 32 results, P = hits/32, R = hits/C. It is small for
#   small classes because 32 results hold mostly non-chairs.
# * **DCG**: relevant items count 1/log2(rank) (rank 1 counts 1), normalised by the best possible score.
# * **AP** (average precision): the precision at the rank of each chair, averaged over the C chairs.
#   mAP is its mean over all queries.
#
# Two shapes share the similarity 0.72: **ties are broken by gallery index** (the smaller index first),
# which is what a *stable* sort does. Below, each number by hand, next to the library's.

# %%
hits = np.cumsum(relevant)                           # hits[i] = relevant items in the top i + 1
ranks = np.arange(1, len(relevant) + 1)
discount = np.where(ranks == 1, 1.0, 1.0 / np.log2(np.maximum(ranks, 2)))   # 1, 1/log2 2, 1/log2 3, ...
h32 = hits[min(32, len(relevant)) - 1]
p32, r32 = h32 / 32, h32 / C
by_hand = {
    "NN": float(relevant[0]),
    "FT": hits[C - 1] / C,
    "ST": hits[min(2 * C, len(relevant)) - 1] / C,
    "E": 2 * p32 * r32 / (p32 + r32) if p32 + r32 > 0 else 0.0,
    "DCG": (relevant * discount).sum() / discount[:C].sum(),
    "AP": (relevant * hits / ranks).sum() / C,
}
library = {k: round(float(v[0]), 4) for k, v in per_query_metrics(similarity, query, gallery).items()}
print("by hand:", {k: round(float(v), 4) for k, v in by_hand.items()})
print("library:", library)

# %% [markdown]
# ## Many queries: synthetic embeddings with a known difficulty
# To look at curves and speed we need many queries. `make_embeddings` scatters 32-d vectors around one
# random centre per class; `noise` controls how much the classes overlap. Two "models" below: a good one
# (noise 0.9) and a weak one (noise 1.4). Class sizes are skewed, as in SHREC'14.

# %%
def make_embeddings(num_classes, gallery_size, queries_per_class, noise, dim=32, seed=0):
    """Query and gallery embeddings around shared class centres; returns (q, q_labels, g, g_labels)."""
    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(0.0, 0.8, num_classes)
    sizes = np.maximum(1, np.round(sizes / sizes.sum() * gallery_size)).astype(int)
    g_labels = np.repeat(np.arange(num_classes), sizes)
    q_labels = np.repeat(np.arange(num_classes), queries_per_class)
    centres = rng.standard_normal((num_classes, dim)) / np.sqrt(dim) * 3
    g = centres[g_labels] + noise * rng.standard_normal((len(g_labels), dim)) / np.sqrt(dim) * 3
    q = centres[q_labels] + noise * rng.standard_normal((len(q_labels), dim)) / np.sqrt(dim) * 3
    return q.astype(np.float32), q_labels, g.astype(np.float32), g_labels


CLASS_NAMES = list(P.classes)        # the profile's SynthShapes classes, as in the other notebooks
models = {}
for name, noise in [("good (noise 0.9)", 0.9), ("weak (noise 1.4)", 1.4)]:
    q, ql, g, gl = make_embeddings(len(CLASS_NAMES), 240, 10, noise)
    models[name] = similarity_matrix(q, g), ql, gl      # cosine similarity, (Q, N)
    print(metrics_table_text({name: retrieval_metrics(*models[name])}, digits=4))

# %% [markdown]
# ## Precision-recall curves show the whole ranking at once
# For each query, the interpolated precision at recall r is the best precision reached at any recall
# of at least r; it is read at the SHREC recall levels 0.05, 0.10, ..., 1.0 and averaged over queries.
# The dotted curves are the raw ones: mean precision@k against mean recall@k for every cut-off k.
# A better model's curve lies above and to the right.

# %%
curves = {name: precision_recall_curve(*m) for name, m in models.items()}
show_pr_curves(curves, raw=True)

# %% [markdown]
# ## The per-class table tells you *where* the model fails
# Averages hide classes. The table averages each metric over the queries of one class; `gallery` is C.
# Small classes get low E (their top 32 cannot be full of hits), and a class that overlaps a
# neighbour gets a low FT.

# %%
report = evaluate_similarity(*models["weak (noise 1.4)"], class_names=CLASS_NAMES)
print(format_table(sorted(report["per_class"], key=lambda r: r["mAP"])))

# %% [markdown]
# ## Exercise 1 · Vectorised first and second tier
# Write `my_ft_st(similarity, query_labels, gallery_labels)` for **all queries at once**, without a
# Python loop over queries: `similarity` is a (Q, N) tensor, the labels are (Q,) and (N,) int64
# tensors; return `(ft, st)`, two (Q,) tensors.
#
# Recipe: a **stable** descending sort gives the ranked gallery indices; comparing their labels with
# each query's label gives a (Q, N) relevance matrix; its cumulative sum counts hits in every top-k;
# read it at k = C and k = min(2C, N) with `gather`.

# %%
def my_ft_st(similarity: torch.Tensor, query_labels: torch.Tensor, gallery_labels: torch.Tensor):
    ### BEGIN SOLUTION
    order = torch.sort(similarity, dim=1, descending=True, stable=True).indices   # (Q, N)
    relevant = (gallery_labels[order] == query_labels[:, None]).double()           # (Q, N)
    hits = relevant.cumsum(dim=1)                                                  # (Q, N)
    c = (gallery_labels[None, :] == query_labels[:, None]).sum(dim=1)              # (Q,)
    two_c = torch.clamp(2 * c, max=similarity.shape[1])
    ft = hits.gather(1, (c - 1)[:, None])[:, 0] / c
    st = hits.gather(1, (two_c - 1)[:, None])[:, 0] / c
    return ft, st
    ### END SOLUTION


# %%
check_retrieval.check_ft_st(my_ft_st);

# %% [markdown]
# ## Exercise 2 · Vectorised average precision
# Write `my_ap(similarity, query_labels, gallery_labels)` returning AP for every query, shape (Q,):
# the precision `hits / rank` at each relevant rank (ranks start at 1), summed and divided by C.

# %%
def my_ap(similarity: torch.Tensor, query_labels: torch.Tensor, gallery_labels: torch.Tensor):
    ### BEGIN SOLUTION
    order = torch.sort(similarity, dim=1, descending=True, stable=True).indices
    relevant = (gallery_labels[order] == query_labels[:, None]).double()           # (Q, N)
    ranks = torch.arange(1, similarity.shape[1] + 1, dtype=relevant.dtype, device=similarity.device)
    precision = relevant.cumsum(dim=1) / ranks                                      # precision@k
    return (relevant * precision).sum(dim=1) / relevant.sum(dim=1)
    ### END SOLUTION


# %%
AP_OK = check_retrieval.check_ap(my_ap)
# the cells below time and compare your AP; until it passes they use the library's
ap = my_ap if AP_OK else (lambda similarity, q, g: per_query_metrics(similarity, q, g)["AP"])

# %% [markdown]
# ## Loop, vectorised, GPU: the same numbers, very different times
# The SHREC scripts walk each query's ranked list in a loop. `loop_metrics` does the same in Python
# (timed on a few queries and extrapolated); your vectorised AP and the library's `retrieval_metrics`
# process all queries at once. Sizes follow the profile: `ci` is tiny; `full` is SHREC'14 size
# (5,130 x 8,987). The library computes all six metrics from the 1-based ranks of the relevant items
# of every query; the code reads like the definitions above:

# %%
from sbsr_lab.retrieval.metrics import metrics_from_ranks

show_source(metrics_from_ranks)

# %%
SIZES = {"ci": (12, 600, 25), "default": (60, 3000, 30), "full": (171, 8987, 30)}
classes, gallery_size, per_class = SIZES.get(P.name, SIZES["ci"])
q, ql, g, gl = make_embeddings(classes, gallery_size, per_class, noise=1.0, dim=64)
sim = similarity_matrix(q, g)
ql_t, gl_t = torch.from_numpy(ql), torch.from_numpy(gl)
print(f"{sim.shape[0]} queries x {sim.shape[1]} gallery shapes")


def timed(fn, repeats=3):
    """Best wall time of a few runs, in seconds (GPU work synchronised)."""
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


sample = np.arange(0, sim.shape[0], max(1, sim.shape[0] // 10))[:10]
timings = {
    "Python loop (extrapolated)": timed(lambda: loop_metrics(sim, ql, gl, queries=sample), 1) / len(sample) * sim.shape[0],
    ("your vectorised AP (CPU)" if AP_OK else "library AP (CPU)"): timed(lambda: ap(sim, ql_t, gl_t)),
    "bare torch.sort (CPU)": timed(lambda: torch.sort(sim, dim=1, descending=True)),
    "retrieval_metrics (CPU)": timed(lambda: retrieval_metrics(sim, ql, gl)),
}
if DEVICE.type == "cuda":
    sim_gpu = sim.to(DEVICE)
    retrieval_metrics(sim_gpu, ql, gl)                   # warm-up
    timings["retrieval_metrics (GPU)"] = timed(lambda: retrieval_metrics(sim_gpu, ql, gl))
show_timings(timings, note=f"{sim.shape[0]} x {sim.shape[1]}, all six metrics")

# %% [markdown]
# All of them agree: the loop on its sampled queries, your AP (once it passes) and the library's.

# %%
looped = loop_metrics(sim, ql, gl, queries=sample)["AP"]
print("max |loop - library| :", np.abs(looped - per_query_metrics(sim, ql, gl)["AP"].numpy()[sample]).max())
print("max |yours - library|:", (ap(sim, ql_t, gl_t) - per_query_metrics(sim, ql, gl)["AP"]).abs().max().item())

# %% [markdown]
# ## Big galleries: exact search in torch, approximate search with faiss
# For a live demo we need the top k for one sketch, not the whole ranking. `GalleryIndex` keeps the
# shape embeddings with their ids, labels and thumbnails; `search(queries, k)` returns scores and
# indices. The default backend is exact (a matrix product and `topk`). With faiss installed,
# `kind="flat"` is exact too, while `"ivf"` (visit a few clusters) and `"hnsw"` (walk a graph) trade a
# little recall for speed on galleries of 10^5+ shapes. *Recall@10* below is the fraction of the exact
# top 10 that each index finds.

# %%
BIG = {"ci": 5_000, "default": 50_000, "full": 500_000}.get(P.name, 5_000)
rng = np.random.default_rng(SEED)
centres = rng.standard_normal((200, 64)).astype(np.float32)          # embeddings cluster by class
big_gallery = centres[rng.integers(0, 200, BIG)] + 0.5 * rng.standard_normal((BIG, 64)).astype(np.float32)
queries = centres[rng.integers(0, 200, 200)] + 0.5 * rng.standard_normal((200, 64)).astype(np.float32)

exact_index = GalleryIndex(big_gallery, ids=[f"shape_{i}" for i in range(BIG)])
exact_top = exact_index.search(queries, k=10)[1]
results = {"torch (exact)": timed(lambda: exact_index.search(queries, k=10))}
recalls = {"torch (exact)": 1.0}
if faiss_available():
    for kind in ("flat", "ivf", "hnsw"):
        index = GalleryIndex(big_gallery, backend="faiss", kind=kind, nprobe=16)
        top = index.search(queries, k=10)[1]
        results[f"faiss {kind}"] = timed(lambda: index.search(queries, k=10))
        recalls[f"faiss {kind}"] = float(np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(exact_top, top)]))
else:
    print("faiss is not installed (pip install faiss-cpu): showing the exact torch search only")
for name in results:
    print(f"{name:<16} {results[name] * 1e3:8.2f} ms for 200 queries   recall@10 {recalls[name]:.3f}")
show_timings(results, title="Top-10 search", note=f"{BIG} gallery shapes, 200 queries")

# %% [markdown]
# Each result comes with what a demo needs to show it:

# %%
scores, idx = exact_index.search(queries[:1], k=3)
exact_index.records(idx[0], scores[0])

# %% [markdown]
# ## Exercises to go further
# 1. ★ Break a tie on purpose: give two gallery shapes the same similarity and check which one
#    `retrieval_metrics` ranks first. What would an unstable sort do to FT on quantised scores?
# 2. ★★ Rewrite `my_ap` so that memory stays bounded: process the queries in chunks of 256 rows.
# 3. ★★ Compute the E-measure for every query without a loop, and compare with `per_query_metrics(...)["E"]`.
# 4. ★★★ Move the similarity to the GPU (`sim.cuda()`) and time your vectorised AP there. Which step dominates?
