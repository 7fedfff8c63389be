"""sbsr_lab.retrieval: rank a gallery, score the ranking the SHREC way, report experiments.

* :mod:`~sbsr_lab.retrieval.ranking` -- similarity from embeddings; one sort -> ranks of relevant items.
* :mod:`~sbsr_lab.retrieval.metrics` -- NN, FT, ST, E, DCG, mAP (vectorised, any device), per-class table.
* :mod:`~sbsr_lab.retrieval.curves`  -- precision-recall curves (raw and interpolated).
* :mod:`~sbsr_lab.retrieval.evaluate` -- embeddings files and JSON reports (``sbsr-lab evaluate``).
* :mod:`~sbsr_lab.retrieval.runs`, ``compare``, ``report`` -- trained methods evaluated, compared, reported.
* :mod:`~sbsr_lab.retrieval.plots`   -- plotly figures (ranked list, PR curves, timings).

Answering a sketch (query engine, bundles, searchable galleries) is :mod:`sbsr_lab.serve`, one layer up.
"""

from sbsr_lab.retrieval.curves import (
    ELEVEN_POINT_RECALL_LEVELS,
    SHREC_RECALL_LEVELS,
    PRCurve,
    interpolated_precision,
    pr_curve_from_ranks,
    precision_recall_curve,
)
from sbsr_lab.retrieval.evaluate import (
    EmbeddingSet,
    evaluate_embeddings,
    evaluate_files,
    evaluate_similarity,
    metrics_table_text,
    format_report,
    format_table,
    load_embeddings,
    save_embeddings,
)
from sbsr_lab.retrieval.metrics import (
    METRIC_NAMES,
    loop_metrics,
    metrics_from_ranks,
    per_class_from_ranks,
    per_class_table,
    per_query_metrics,
    retrieval_metrics,
    summarize,
)
from sbsr_lab.retrieval.ranking import RelevantRanks, RetrievalError, rank_relevant, similarity_matrix
from sbsr_lab.retrieval.store import EmbeddingFileError

__all__ = [
    "METRIC_NAMES",
    "SHREC_RECALL_LEVELS",
    "ELEVEN_POINT_RECALL_LEVELS",
    "RetrievalError",
    "EmbeddingFileError",
    "RelevantRanks",
    "rank_relevant",
    "similarity_matrix",
    "retrieval_metrics",
    "per_query_metrics",
    "per_class_table",
    "metrics_from_ranks",
    "per_class_from_ranks",
    "summarize",
    "loop_metrics",
    "PRCurve",
    "precision_recall_curve",
    "pr_curve_from_ranks",
    "interpolated_precision",
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
