"""Files of embeddings without pickle: one ``.safetensors`` file whose header carries JSON metadata.

Layout of every file written here::

    <name>.safetensors
      tensors:  whatever the format needs, e.g. "embeddings" (N, d) float32, "labels" (N,) int64
      metadata: {"sbsr_lab": "<JSON object>"}   # JSON with at least {"format": ..., "version": 1}

The JSON can be read without torch: ``safetensors.safe_open(path, "np").metadata()["sbsr_lab"]``.
Writes are atomic (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from torch import Tensor

from sbsr_lab.errors import DatasetLayoutError, SbsrError
from sbsr_lab.io import atomic_path

__all__ = ["EmbeddingFileError", "write_tensors", "read_tensors", "META_KEY"]

META_KEY = "sbsr_lab"


class EmbeddingFileError(SbsrError, ValueError):
    """An embeddings or index file that is corrupt, foreign, or of another format/version."""


def write_tensors(path: str | os.PathLike[str], tensors: dict[str, Tensor], meta: dict[str, Any]) -> Path:
    """Write ``tensors`` (contiguous CPU copies) and JSON ``meta`` to ``path`` atomically; return the path."""
    from safetensors.torch import save_file

    path = Path(path)
    cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(cpu, str(tmp), metadata={META_KEY: json.dumps(meta)})
    return path


def read_tensors(path: str | os.PathLike[str], expected_format: str, max_version: int = 1) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read a file written by :func:`write_tensors`; check its ``format`` and ``version``.

    Raises :class:`DatasetLayoutError` when the file is missing and :class:`EmbeddingFileError`
    when it is not a safetensors file, lacks the sbsr_lab metadata, or holds another format.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise DatasetLayoutError(f"{path}: no such file; write it with save_embeddings / GalleryIndex.save first")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise EmbeddingFileError(f"{path}: not a readable safetensors file ({exc}); re-export it") from exc
    if META_KEY not in header:
        raise EmbeddingFileError(
            f"{path}: safetensors file without sbsr_lab metadata; write it with sbsr_lab.retrieval.save_embeddings"
        )
    try:
        meta = json.loads(header[META_KEY])
    except json.JSONDecodeError as exc:
        raise EmbeddingFileError(f"{path}: the sbsr_lab metadata is not valid JSON ({exc}); re-export the file") from exc
    if meta.get("format") != expected_format:
        raise EmbeddingFileError(
            f"{path}: holds format {meta.get('format')!r}, expected {expected_format!r} (wrong file?)"
        )
    if not isinstance(meta.get("version"), int) or meta["version"] > max_version:
        raise EmbeddingFileError(
            f"{path}: format version {meta.get('version')!r} is newer than this sbsr_lab reads ({max_version}); upgrade sbsr_lab"
        )
    return tensors, meta
