"""Embeddings files and evaluation reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sbsr_lab.retrieval import (
    EmbeddingFileError,
    RetrievalError,
    evaluate_embeddings,
    evaluate_files,
    format_report,
    load_embeddings,
    retrieval_metrics,
    save_embeddings,
    similarity_matrix,
)
from sbsr_lab.retrieval.store import write_tensors


def _clustered(n_per_class: int, classes: int, d: int = 8, noise: float = 0.8, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, d))
    labels = np.repeat(np.arange(classes), n_per_class)
    return (centres[labels] + noise * rng.standard_normal((len(labels), d))).astype(np.float32), labels


def test_save_load_embeddings_roundtrip(tmp_path):
    emb, labels = _clustered(4, 3)
    path = save_embeddings(tmp_path / "q.safetensors", emb, labels, ids=[f"s{i}" for i in range(12)],
                           class_names=["bed", "car", "mug"], meta={"model": "student"})
    es = load_embeddings(path)
    assert torch.equal(es.embeddings, torch.from_numpy(emb)) and es.labels.tolist() == labels.tolist()
    assert es.ids[3] == "s3" and es.class_names == ["bed", "car", "mug"] and es.meta == {"model": "student"}
    assert es.label_names()[:5] == ["bed"] * 4 + ["car"]


def test_save_embeddings_rejects_bad_labels(tmp_path):
    emb, labels = _clustered(2, 2)
    with pytest.raises(RetrievalError, match="labels"):
        save_embeddings(tmp_path / "x.safetensors", emb, labels[:-1])
    with pytest.raises(RetrievalError, match="class_names"):
        save_embeddings(tmp_path / "x.safetensors", emb, labels, class_names=["only"])


def test_foreign_file_is_rejected(tmp_path):
    path = write_tensors(tmp_path / "idx.safetensors", {"embeddings": torch.zeros(2, 2)}, {"format": "sbsr_lab.gallery_index", "version": 1})
    with pytest.raises(EmbeddingFileError, match="expected 'sbsr_lab.embeddings'"):
        load_embeddings(path)


def test_report_contents_match_the_metric_functions():
    qe, ql = _clustered(3, 4, seed=1)
    ge, gl = _clustered(5, 4, seed=1)
    report = evaluate_embeddings(qe, ql, ge, gl, class_names=["a", "b", "c", "d"])
    want = retrieval_metrics(similarity_matrix(qe, ge), ql, gl)
    assert report["metrics"] == pytest.approx(want)
    assert [r["class"] for r in report["per_class"]] == ["a", "b", "c", "d"]
    assert len(report["pr"]["precision"]) == 20 and len(report["pr"]["raw_recall"]) == 20
    assert report["num_queries"] == 12 and report["num_gallery"] == 20 and report["num_classes"] == 4
    json.dumps(report)  # JSON-ready
    text = format_report(report)
    assert "mAP" in text and "12 queries x 20 gallery items" in text


def test_evaluate_files_aligns_classes_by_name(tmp_path):
    qe, ql = _clustered(3, 3, seed=2)
    ge, gl = _clustered(4, 3, seed=2)
    names = ["bed", "car", "mug"]
    # the query file numbers its classes in another order: names must be matched, not codes
    perm = np.array([2, 0, 1])
    q_names = [names[c] for c in perm]
    inverse = np.argsort(perm)
    save_embeddings(tmp_path / "q.safetensors", qe, inverse[ql], class_names=q_names)
    save_embeddings(tmp_path / "g.safetensors", ge, gl, class_names=names)
    report = evaluate_files(tmp_path / "q.safetensors", tmp_path / "g.safetensors", out=tmp_path / "r.json")
    want = retrieval_metrics(similarity_matrix(qe, ge), ql, gl)
    assert report["metrics"] == pytest.approx(want)
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["metrics"] == pytest.approx(want) and saved["gallery_file"].endswith("g.safetensors")


def test_evaluate_files_dimension_mismatch(tmp_path):
    save_embeddings(tmp_path / "q.safetensors", np.zeros((2, 3)), [0, 1])
    save_embeddings(tmp_path / "g.safetensors", np.ones((2, 4)), [0, 1])
    with pytest.raises(RetrievalError, match="same model"):
        evaluate_files(tmp_path / "q.safetensors", tmp_path / "g.safetensors")
