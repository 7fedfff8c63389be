"""Evaluate query embeddings against gallery embeddings: metrics, per-class table, PR curve, JSON report.

Embeddings files (:func:`save_embeddings` / :func:`load_embeddings`) are one ``.safetensors`` file
each (no pickle; see :mod:`sbsr_lab.retrieval.store`):

* tensors: ``embeddings`` (N, d) float32 and ``labels`` (N,) int64;
* JSON metadata: ``{"format": "sbsr_lab.embeddings", "version": 1, "ids": [N strings],
  "class_names": [K strings] or null, "meta": {...free-form, e.g. model, split, run...}}``.
  When ``class_names`` is given, ``labels`` index into it.

:func:`evaluate_files` is what ``sbsr-lab evaluate QUERY GALLERY --out report.json`` calls.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
import torch
from torch import Tensor

from sbsr_lab.io import atomic_write_json
from sbsr_lab.retrieval.curves import RecallLevels, pr_curve_from_ranks, shrec_official_pr
from sbsr_lab.retrieval.metrics import METRIC_NAMES, metrics_from_ranks, per_class_from_ranks, summarize
from sbsr_lab.retrieval.ranking import (
    ArrayLike,
    LabelsLike,
    RetrievalError,
    Ties,
    as_embeddings,
    rank_relevant,
    similarity_matrix,
)
from sbsr_lab.retrieval.store import EmbeddingFileError, read_tensors, write_tensors

__all__ = [
    "EMBEDDINGS_FORMAT",
    "EmbeddingSet",
    "save_embeddings",
    "load_embeddings",
    "evaluate_similarity",
    "evaluate_embeddings",
    "evaluate_files",
    "metrics_table_text",
    "format_table",
    "format_report",
]

EMBEDDINGS_FORMAT = "sbsr_lab.embeddings"


@dataclass
class EmbeddingSet:
    """Embeddings read from a file: ``embeddings`` (N, d) float32, ``labels`` (N,) int64,
    ``ids`` (N strings), ``class_names`` (K strings or None), free-form ``meta``."""

    embeddings: Tensor
    labels: Tensor
    ids: list[str]
    class_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def label_names(self) -> list[Any]:
        """Labels as class names when known, else as integers (used to align two files)."""
        codes = self.labels.tolist()
        if self.class_names is None:
            return codes
        return [self.class_names[c] for c in codes]


def save_embeddings(
    path: str | os.PathLike[str],
    embeddings: ArrayLike,
    labels: LabelsLike,
    ids: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write (N, d) embeddings with their (N,) integer labels to ``path`` (``.safetensors``); return it.

    ids default to "0".."N-1"; ``class_names[label]`` names each label; ``meta`` is any JSON-able dict.
    """
    emb = as_embeddings(embeddings, "embeddings").float().cpu()
    n = emb.shape[0]
    lab = labels.detach().cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n or lab.dtype.kind not in "iu":
        raise RetrievalError(f"labels must be {n} integers (one per embedding), got shape {lab.shape} dtype {lab.dtype}")
    if class_names is not None and n and (lab.min() < 0 or lab.max() >= len(class_names)):
        raise RetrievalError(f"labels must index class_names (0..{len(class_names) - 1}), got range {lab.min()}..{lab.max()}")
    id_list = [str(i) for i in range(n)] if ids is None else [str(i) for i in ids]
    if len(id_list) != n:
        raise RetrievalError(f"ids has {len(id_list)} entries for {n} embeddings")
    header = {
        "format": EMBEDDINGS_FORMAT,
        "version": 1,
        "ids": id_list,
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "meta": meta or {},
    }
    return write_tensors(path, {"embeddings": emb, "labels": torch.from_numpy(lab.astype(np.int64))}, header)


def load_embeddings(path: str | os.PathLike[str]) -> EmbeddingSet:
    """Read a file written by :func:`save_embeddings` (checks format, version and consistency)."""
    tensors, header = read_tensors(path, EMBEDDINGS_FORMAT)
    if "embeddings" not in tensors or "labels" not in tensors:
        raise EmbeddingFileError(f"{path}: missing tensor 'embeddings' or 'labels'; re-export with save_embeddings")
    emb, lab = tensors["embeddings"], tensors["labels"]
    ids = header.get("ids") or []
    if emb.ndim != 2 or lab.shape != (emb.shape[0],) or len(ids) != emb.shape[0]:
        raise EmbeddingFileError(
            f"{path}: inconsistent sizes (embeddings {tuple(emb.shape)}, labels {tuple(lab.shape)}, {len(ids)} ids)"
        )
    return EmbeddingSet(emb, lab.long(), list(ids), header.get("class_names"), header.get("meta") or {})


def evaluate_similarity(
    similarity: ArrayLike,
    query_labels: LabelsLike,
    gallery_labels: LabelsLike,
    class_names: Sequence[str] | None = None,
    levels: RecallLevels = "shrec",
    chunk_size: int | None = None,
    ties: Ties = "shuffle",
) -> dict[str, Any]:
    """Full report from a (Q, N) similarity matrix (one sort); see :func:`evaluate_embeddings`."""
    start = time.perf_counter()
    rr = rank_relevant(similarity, query_labels, gallery_labels, chunk_size, ties=ties)
    per_query = metrics_from_ranks(rr)
    report = {
        "metrics": summarize(per_query),
        "per_class": per_class_from_ranks(rr, per_query, class_names),
        "pr": pr_curve_from_ranks(rr, levels).to_dict(),
        "pr_shrec_official": dict(zip(("recall_levels", "precision"), (a.tolist() for a in shrec_official_pr(rr)))),
        "num_queries": rr.num_queries,
        "num_gallery": rr.num_gallery,
        "num_classes": len(set(rr.query_codes.tolist())),
        "device": str(rr.device),
        "ties": ties,
    }
    report["seconds"] = time.perf_counter() - start
    return report


def evaluate_embeddings(
    query_emb: ArrayLike,
    query_labels: LabelsLike,
    gallery_emb: ArrayLike,
    gallery_labels: LabelsLike,
    class_names: Sequence[str] | None = None,
    metric: Literal["cosine", "euclidean"] = "cosine",
    levels: RecallLevels = "shrec",
    device: str | torch.device | None = None,
    chunk_size: int | None = None,
    ties: Ties = "shuffle",
) -> dict[str, Any]:
    """Evaluate (Q, d) query embeddings against (N, d) gallery embeddings; return a JSON-ready report.

    Keys: ``metrics`` (NN, FT, ST, E, DCG, mAP), ``per_class`` (rows, see
    :func:`~sbsr_lab.retrieval.metrics.per_class_table`), ``pr`` (interpolated and raw curves, see
    :class:`~sbsr_lab.retrieval.curves.PRCurve`), ``num_queries``, ``num_gallery``, ``num_classes``,
    ``metric``, ``device``, ``ties`` (how tied scores were ordered, :mod:`sbsr_lab.retrieval.ranking`) and
    ``seconds`` (wall time of the evaluation, similarity included).
    Labels are integer ids (named by ``class_names``) or names.
    """
    start = time.perf_counter()
    sim = similarity_matrix(query_emb, gallery_emb, metric=metric, device=device)
    report = evaluate_similarity(sim, query_labels, gallery_labels, class_names, levels, chunk_size, ties)
    report["metric"] = metric
    report["seconds"] = time.perf_counter() - start
    return report


def evaluate_files(
    query_path: str | os.PathLike[str],
    gallery_path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    metric: Literal["cosine", "euclidean"] = "cosine",
    levels: RecallLevels = "shrec",
    device: str | torch.device | None = None,
    ties: Ties = "shuffle",
) -> dict[str, Any]:
    """Evaluate two embeddings files; write the report as JSON to ``out`` when given.

    When both files carry ``class_names`` the labels are matched by name (the two files may number
    classes differently); otherwise the integer labels must agree.
    """
    queries, gallery = load_embeddings(query_path), load_embeddings(gallery_path)
    if queries.embeddings.shape[1] != gallery.embeddings.shape[1]:
        raise RetrievalError(
            f"{query_path} has dim {queries.embeddings.shape[1]} but {gallery_path} has dim "
            f"{gallery.embeddings.shape[1]}; embed both with the same model"
        )
    named = queries.class_names is not None and gallery.class_names is not None
    q_labels: LabelsLike = queries.label_names() if named else queries.labels
    g_labels: LabelsLike = gallery.label_names() if named else gallery.labels
    class_names = None if named else (gallery.class_names or queries.class_names)
    report = evaluate_embeddings(
        queries.embeddings, q_labels, gallery.embeddings, g_labels, class_names, metric, levels, device, ties=ties
    )
    report["query_file"], report["gallery_file"] = str(query_path), str(gallery_path)
    if out is not None:
        atomic_write_json(out, report)
    return report


# ------------------------------------------------------------------------------------------------
# text tables


def metrics_table_text(results: dict[str, dict[str, float]], digits: int = 3) -> str:
    """A plain-text table: one row per method (or model), the six SHREC metrics as columns, in [0, 1]."""
    width = max([10] + [len(name) + 2 for name in results])
    lines = [f"{'method':<{width}}" + "".join(f"{k:>8}" for k in METRIC_NAMES)]
    for name, m in results.items():
        lines.append(f"{name:<{width}}" + "".join(f"{m[k]:8.{digits}f}" for k in METRIC_NAMES))
    return "\n".join(lines)


def format_table(rows: list[dict[str, Any]], max_rows: int | None = None) -> str:
    """Per-class rows as a text table (class, queries, gallery, six metrics)."""
    cols = ("queries", "gallery") + METRIC_NAMES
    width = max([5] + [len(str(r["class"])) for r in rows]) + 2
    lines = [f"{'class':<{width}}" + "".join(f"{c:>8}" for c in cols)]
    shown = rows if max_rows is None else rows[:max_rows]
    for r in shown:
        cells = [f"{r['queries']:>8d}", f"{r['gallery']:>8d}"] + [f"{r[c]:>8.4f}" for c in METRIC_NAMES]
        lines.append(f"{str(r['class']):<{width}}" + "".join(cells))
    if len(shown) < len(rows):
        lines.append(f"... {len(rows) - len(shown)} more classes")
    return "\n".join(lines)


def format_report(report: dict[str, Any], max_classes: int | None = 20) -> str:
    """The metric table, the per-class table and a line of sizes, for printing."""
    sizes = (
        f"{report['num_queries']} queries x {report['num_gallery']} gallery items, "
        f"{report['num_classes']} classes, {report['seconds'] * 1e3:.1f} ms on {report['device']}"
    )
    return "\n\n".join([metrics_table_text({"all": report["metrics"]}, digits=4), format_table(report["per_class"], max_classes), sizes])
