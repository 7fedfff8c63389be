"""What a scan of a real benchmark found (:class:`BenchmarkIndex`) and the readable report on it.

The records are plain data: :mod:`sbsr_lab.data.benchmarks.layouts` fills them from the disk,
:func:`sbsr_lab.data.benchmarks.validation.validate` turns them into a :class:`ValidationReport`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LAYOUTS",
    "LAYOUT_TITLES",
    "BenchmarkShape",
    "BenchmarkSketch",
    "Problem",
    "BenchmarkIndex",
    "ValidationReport",
    "listing",
]

LAYOUTS: tuple[str, ...] = ("shrec13", "shrec14", "modelnet", "folder")
#: How reports name each layout.
LAYOUT_TITLES: dict[str, str] = {"shrec13": "SHREC'13", "shrec14": "SHREC'14", "modelnet": "ModelNet-style",
                                 "folder": "plain folder"}
_MAX_LISTED = 20


@dataclass(frozen=True)
class BenchmarkShape:
    """A gallery shape: unique ``id``, class name, mesh path; ``split`` only for ModelNet-style data."""

    id: str
    cls: str
    path: Path
    split: str | None = None


@dataclass(frozen=True)
class BenchmarkSketch:
    """A query sketch PNG: unique ``id``, class, ``split`` ("train", "test" or ``None`` = not split yet)."""

    id: str
    cls: str
    split: str | None
    path: Path


@dataclass(frozen=True)
class Problem:
    """Something found while scanning: ``level`` is "error" (unusable) or "warning"."""

    level: str
    message: str
    fix: str = ""


@dataclass
class BenchmarkIndex:
    """What :func:`scan_benchmark` found: classes, shapes and sketches, plus the problems seen.

    ``classes`` keeps the official order (the model ``.cla``) for SHREC, sorted names otherwise;
    classes with neither shapes nor sketches are listed in ``empty_classes`` instead.
    ``missing`` holds the files the class files promise but the disk lacks (paths relative to ``root``).
    """

    layout: str
    root: Path
    classes: list[str]
    shapes: list[BenchmarkShape]
    sketches: list[BenchmarkSketch]
    missing: list[str] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)

    def class_counts(self) -> dict[str, dict[str, int]]:
        """class -> {"shapes": n, "train": n, "test": n, "unsplit": n}."""
        out = {c: {"shapes": 0, "train": 0, "test": 0, "unsplit": 0} for c in self.classes}
        for s in self.shapes:
            out.setdefault(s.cls, {"shapes": 0, "train": 0, "test": 0, "unsplit": 0})["shapes"] += 1
        for k in self.sketches:
            row = out.setdefault(k.cls, {"shapes": 0, "train": 0, "test": 0, "unsplit": 0})
            row[k.split or "unsplit"] += 1
        return out

    def summary(self) -> str:
        """One line: layout, root, numbers of classes, shapes and sketches per split."""
        split = Counter(k.split or "unsplit" for k in self.sketches)
        parts = ", ".join(f"{split[s]} {s}" for s in ("train", "test", "unsplit") if split[s])
        return (
            f"{LAYOUT_TITLES.get(self.layout, self.layout)} at {self.root}: {len(self.classes)} classes, "
            f"{len(self.shapes)} shapes, {len(self.sketches)} sketches" + (f" ({parts})" if parts else "")
        )


@dataclass
class ValidationReport:
    """Errors (the data cannot be used) and warnings (it can, with caveats), as a readable text."""

    index: BenchmarkIndex
    errors: list[Problem]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors

    def __str__(self) -> str:
        lines = [self.index.summary()]
        for name in ("models", "model_cla", "sketches", "sketch_cla_train", "sketch_cla_test"):
            if name in self.index.sources:
                lines.append(f"  {name:<17}{self.index.sources[name]}")
        if self.errors:
            lines.append(f"ERRORS ({len(self.errors)}): the dataset cannot be used until these are fixed")
            lines += _format_problems(self.errors)
        if self.warnings:
            lines.append(f"WARNINGS ({len(self.warnings)})")
            lines += _format_problems(self.warnings)
        if not self.errors and not self.warnings:
            lines.append("OK: no problem found")
        return "\n".join(lines)


def _format_problems(problems: list[Problem]) -> list[str]:
    out = []
    for p in problems:
        first, *rest = p.message.splitlines()
        out.append(f"  - {first}")
        out += [f"    {r}" for r in rest]
        if p.fix:
            out.append(f"    fix: {p.fix}")
    return out


def listing(items: list[str], limit: int = _MAX_LISTED) -> str:
    """The first ``limit`` items, comma-separated, and how many more there are."""
    shown = ", ".join(items[:limit])
    return shown + (f", ... and {len(items) - limit} more" if len(items) > limit else "")
