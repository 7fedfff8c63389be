"""GalleryIndex: exact torch search, faiss backends (when installed), save/load without pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sbsr_lab.errors import DatasetLayoutError
from sbsr_lab.retrieval import EmbeddingFileError, RetrievalError, similarity_matrix
from sbsr_lab.serve.index import GalleryIndex, faiss_available


def _gallery(n: int = 200, d: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, d)).astype(np.float32)
    labels = [f"class{i % 5}" for i in range(n)]
    ids = [f"shape_{i:04d}" for i in range(n)]
    thumbs = [f"views/shape_{i:04d}.png" for i in range(n)]
    return emb, labels, ids, thumbs, rng.standard_normal((7, d)).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_torch_search_is_exact(metric):
    emb, labels, ids, thumbs, queries = _gallery()
    index = GalleryIndex(emb, ids, labels, thumbs, metric=metric, chunk_size=3)
    scores, idx = index.search(queries, k=10)
    sim = similarity_matrix(queries, emb, metric=metric)
    want_scores, want_idx = torch.sort(sim, dim=1, descending=True, stable=True)
    assert idx.shape == (7, 10) and idx.dtype == torch.int64
    assert torch.equal(idx, want_idx[:, :10])
    torch.testing.assert_close(scores, want_scores[:, :10], rtol=1e-5, atol=1e-5)


def test_ties_inside_top_k_are_ordered_by_gallery_index():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    scores, idx = GalleryIndex(emb).search(np.array([1.0, 0.0]), k=3)
    assert idx.tolist() == [[0, 2, 3]] and scores.shape == (1, 3)


def test_records_describe_results_and_k_is_capped():
    emb, labels, ids, thumbs, queries = _gallery(n=6)
    index = GalleryIndex(emb, ids, labels, thumbs)
    scores, idx = index.search(queries[0], k=50)
    assert idx.shape == (1, 6)
    rec = index.records(idx[0], scores[0])
    assert rec[0]["id"] == ids[idx[0, 0]] and rec[0]["label"] == labels[idx[0, 0]]
    assert rec[0]["thumbnail"] == thumbs[idx[0, 0]] and rec[0]["score"] == pytest.approx(float(scores[0, 0]))


def test_save_load_roundtrip_without_pickle(tmp_path):
    emb, labels, ids, thumbs, queries = _gallery()
    index = GalleryIndex(emb, ids, labels, thumbs)
    path = index.save(tmp_path / "gallery.safetensors")
    raw = path.read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])  # safetensors: u64 size + JSON
    meta = json.loads(header["__metadata__"]["sbsr_lab"])
    assert meta["format"] == "sbsr_lab.gallery_index" and meta["ids"][:2] == ids[:2]
    loaded = GalleryIndex.load(path)
    assert loaded.ids == ids and loaded.labels == labels and loaded.thumbnails == thumbs
    for a, b in zip(index.search(queries, 5), loaded.search(queries, 5)):
        assert torch.equal(a, b)


def test_load_errors(tmp_path):
    with pytest.raises(DatasetLayoutError, match="no such file"):
        GalleryIndex.load(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    with pytest.raises(EmbeddingFileError, match="not a readable"):
        GalleryIndex.load(bad)


def test_constructor_errors():
    emb = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(RetrievalError, match="unique"):
        GalleryIndex(emb, ids=["a", "a", "b"])
    with pytest.raises(RetrievalError, match="labels"):
        GalleryIndex(emb, labels=[0, 1])
    with pytest.raises(RetrievalError, match="dim"):
        GalleryIndex(emb).search(np.zeros((2, 5)), 1)
    with pytest.raises(RetrievalError, match="backend"):
        GalleryIndex(emb, backend="annoy")


@pytest.mark.skipif(not faiss_available(), reason="faiss is not installed")
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_faiss_flat_agrees_with_torch(metric):
    emb, labels, ids, thumbs, queries = _gallery()
    exact = GalleryIndex(emb, metric=metric).search(queries, 8)
    flat = GalleryIndex(emb, metric=metric, backend="faiss").search(queries, 8)
    assert torch.equal(exact[1], flat[1])
    torch.testing.assert_close(exact[0], flat[0], rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not faiss_available(), reason="faiss is not installed")
@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_faiss_approximate_indexes_find_most_true_neighbours(kind, tmp_path):
    emb, labels, ids, thumbs, queries = _gallery(n=1000)
    exact = GalleryIndex(emb).search(queries, 10)[1]
    index = GalleryIndex(emb, backend="faiss", kind=kind, nprobe=16)
    approx = index.search(queries, 10)[1]
    overlap = np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(exact, approx)])
    assert overlap >= 0.7
    reloaded = GalleryIndex.load(index.save(tmp_path / "ivf.safetensors"), backend="faiss")
    assert reloaded.kind == kind and len(reloaded) == 1000


@pytest.mark.skipif(not faiss_available(), reason="faiss is not installed")
@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_saved_faiss_structure_is_reused_on_load_and_rebuilt_when_it_does_not_match(kind, tmp_path, monkeypatch):
    emb = torch.nn.functional.normalize(torch.randn(600, 16, generator=torch.Generator().manual_seed(3)), dim=1)
    queries = emb[:20] + 0.01
    index = GalleryIndex(emb, backend="faiss", kind=kind, nprobe=4)
    path = index.save(tmp_path / "g.safetensors")
    side = tmp_path / "g.safetensors.faiss"
    assert side.is_file()
    expected = index.search(queries, 5)

    builds = []
    original = GalleryIndex._build_faiss
    monkeypatch.setattr(GalleryIndex, "_build_faiss", lambda self: builds.append(1) or original(self))
    reloaded = GalleryIndex.load(path, backend="faiss")
    assert builds == []                                   # read with faiss's reader, not rebuilt
    got = reloaded.search(queries, 5)
    assert torch.equal(got[1], expected[1]) and torch.allclose(got[0], expected[0])

    side.write_bytes(side.read_bytes()[:-8] + b"tampered")  # checksum no longer matches: rebuilt, same answers
    again = GalleryIndex.load(path, backend="faiss")
    assert builds == [1]
    # (a rebuilt HNSW graph may differ with the thread schedule; each query's own row stays first)
    assert torch.equal(again.search(queries, 1)[1][:, 0], torch.arange(20))

    GalleryIndex(emb, backend="torch").save(path)        # a later save without a structure drops the stale one
    assert not side.exists()
