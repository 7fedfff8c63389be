"""Split ``data build`` / ``data prepare`` across machines or a job array: ``--shard I/N``.

    sbsr-lab data build --profile full --root /shared/synth --shard 3/8     # one of 8 array tasks
    sbsr-lab data merge --root /shared/synth                                # once all 8 have finished

Shard I of N does the jobs (shapes, sketches, views) whose index in the full job list has
``index % N == I``: a deterministic share, and each job's output is the same file a single build writes
(every job is seeded by its class and index). It then writes ``manifest-parts/part-I-of-N.json``
(atomically) with what it made; the merge (``data merge``, or the same command without ``--shard``)
checks that every part is there, with the same data settings, and writes ``manifest.json``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Sequence, TypeVar

from sbsr_lab.errors import DatasetLayoutError
from sbsr_lab.io import atomic_write_json

__all__ = ["PARTS_DIR", "parse_shard", "take_shard", "part_path", "write_part", "read_parts", "clear_parts"]

PARTS_DIR = "manifest-parts"
T = TypeVar("T")
_PART = re.compile(r"part-(\d+)-of-(\d+)\.json$")


def parse_shard(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"3/8"`` -> ``(3, 8)`` (shards count from 0); None stays None."""
    if text is None or isinstance(text, tuple):
        shard = text
    else:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not m:
            raise DatasetLayoutError(f"--shard {text!r}: expected I/N, e.g. --shard 0/8 (I from 0 to N-1).")
        shard = (int(m.group(1)), int(m.group(2)))
    if shard is not None and not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
        raise DatasetLayoutError(f"--shard {shard[0]}/{shard[1]}: I must be in 0..N-1 and N >= 1, e.g. --shard 0/8.")
    return shard


def take_shard(items: Sequence[T], shard: tuple[int, int] | None) -> list[int]:
    """Indices of ``items`` that shard ``(I, N)`` does: ``index % N == I`` (all of them without a shard)."""
    if shard is None:
        return list(range(len(items)))
    i, n = shard
    return [k for k in range(len(items)) if k % n == i]


def part_path(root: str | Path, shard: tuple[int, int]) -> Path:
    return Path(root) / PARTS_DIR / f"part-{shard[0]}-of-{shard[1]}.json"


def write_part(root: str | Path, shard: tuple[int, int], settings: dict[str, Any], items: dict[str, Any]) -> Path:
    """Record shard ``(I, N)``'s results ``items`` (JSON-ready) made with ``settings``; atomic."""
    path = part_path(root, shard)
    atomic_write_json(path, {"shard": shard[0], "of": shard[1], "settings": settings, "items": items}, indent=None)
    return path


def read_parts(root: str | Path, settings: dict[str, Any], command: str) -> list[dict[str, Any]] | None:
    """Every shard's part in shard order, or None when ``root`` holds no parts.

    Raises :class:`DatasetLayoutError` naming the missing shards (and the command that makes them), parts
    of different N, or parts made with other data settings than ``settings``.
    """
    folder = Path(root) / PARTS_DIR
    files = sorted(folder.glob("part-*-of-*.json")) if folder.is_dir() else []
    if not files:
        return None
    found = {tuple(map(int, _PART.search(f.name).groups())): f for f in files if _PART.search(f.name)}
    counts = sorted({n for _, n in found})
    if len(counts) > 1:
        raise DatasetLayoutError(f"{folder} holds parts of {' and '.join(map(str, counts))} shards; keep the parts "
                                 "of one --shard I/N split (delete the others) and merge again.")
    n = counts[0]
    missing = [i for i in range(n) if (i, n) not in found]
    if missing:
        names = ", ".join(f"{i}/{n}" for i in missing)
        raise DatasetLayoutError(
            f"{root}: shard{'s' if len(missing) > 1 else ''} {names} of the --shard split {'are' if len(missing) > 1 else 'is'} "
            f"missing (no {PARTS_DIR}/part-{missing[0]}-of-{n}.json). Fix: run `{command} --shard {missing[0]}/{n}`"
            f"{' (and the others)' if len(missing) > 1 else ''} with the same settings, then merge again.")
    parts = []
    for i in range(n):
        path = found[(i, n)]
        try:
            part = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DatasetLayoutError(f"{path}: unreadable part ({e}). Fix: run that shard again.") from None
        if part.get("settings") != settings:
            diff = sorted(k for k in set(settings) | set(part.get("settings") or {})
                          if (part.get("settings") or {}).get(k) != settings.get(k))
            raise DatasetLayoutError(f"{path} was made with other settings ({', '.join(diff)}). Fix: run every shard "
                                     "with the same profile and --set options, or delete the part and run it again.")
        parts.append(part)
    return parts


def clear_parts(root: str | Path) -> None:
    """Remove the parts once ``manifest.json`` holds their records."""
    shutil.rmtree(Path(root) / PARTS_DIR, ignore_errors=True)
