"""PSB ``.cla`` class files (Princeton Shape Benchmark format, used by every SHREC sketch track).

Format (whitespace separated, blank lines anywhere between blocks)::

    PSB 1                        <- magic and version
    90 1258                      <- number of classes, number of ids in all classes

    airplane 0 14                <- class name, parent class name ("0" = none), number of ids
    1                            <- one id per line (SHREC'13 model "1" is file m1.off)
    17
    ...

Class blocks keep their file order (it defines the class indices of the official evaluation code).
Ids are kept as strings exactly as written (SHREC'14 writes zero-padded ids).

    >>> cf = read_cla("SHREC2013_Sketch_Evaluation/SHREC13_SBR_Model.cla")   # doctest: +SKIP
    >>> cf.names[:2], cf.class_of["1"]                                      # doctest: +SKIP
    (['airplane', 'alarm_clock'], 'airplane')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sbsr_lab.errors import DatasetLayoutError
from sbsr_lab.io import atomic_write_text

__all__ = ["ClaClass", "ClassFile", "read_cla", "parse_cla", "write_cla", "format_cla"]

_NO_PARENT = "0"


@dataclass(frozen=True)
class ClaClass:
    """One class block: its name, its parent's name (``None`` for a top-level class) and its ids."""

    name: str
    parent: str | None
    ids: tuple[str, ...]


@dataclass
class ClassFile:
    """A parsed ``.cla`` file: classes in file order (empty parent-only classes included)."""

    classes: list[ClaClass]
    version: int = 1
    path: str | None = None
    _class_of: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._class_of = {i: c.name for c in self.classes for i in c.ids}

    @property
    def names(self) -> list[str]:
        """Class names in file order."""
        return [c.name for c in self.classes]

    @property
    def class_of(self) -> dict[str, str]:
        """id -> class name."""
        return self._class_of

    @property
    def parents(self) -> dict[str, str | None]:
        """class name -> parent class name (``None`` when top-level)."""
        return {c.name: c.parent for c in self.classes}

    @property
    def num_ids(self) -> int:
        """Number of ids over all classes."""
        return sum(len(c.ids) for c in self.classes)

    def ids(self) -> list[str]:
        """All ids, class by class, in file order."""
        return [i for c in self.classes for i in c.ids]

    def counts(self) -> dict[str, int]:
        """class name -> number of ids."""
        return {c.name: len(c.ids) for c in self.classes}

    def __getitem__(self, name: str) -> ClaClass:
        for c in self.classes:
            if c.name == name:
                return c
        raise KeyError(f"class {name!r} is not in {self.path or 'this .cla file'}")


def _error(source: str, number: int | None, problem: str, fix: str = "") -> DatasetLayoutError:
    where = f"{source}, line {number}" if number else source
    fix = fix or "the file is damaged or not a PSB .cla file: extract it again from the official archive"
    return DatasetLayoutError(f"{where}: {problem}; {fix}")


def _is_count(token: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts '²' and '١', which ``int`` then refuses or misreads)."""
    return token.isascii() and token.isdigit() and len(token) <= 12


def parse_cla(text: str, source: str = "<string>") -> ClassFile:
    """Parse the text of a ``.cla`` file (see the module docstring); errors name ``source`` and the line."""
    lines = [(n, line.split()) for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1)]
    lines = [(n, tokens) for n, tokens in lines if tokens]
    if not lines:
        raise _error(source, None, "the file is empty")
    n, tokens = lines[0]
    if len(tokens) != 2 or tokens[0] != "PSB" or not _is_count(tokens[1]):
        raise _error(source, n, f"bad header {' '.join(tokens)!r}, expected 'PSB 1'")
    version = int(tokens[1])
    if len(lines) < 2:
        raise _error(source, None, "no 'numClasses numModels' line after the header")
    n, tokens = lines[1]
    if len(tokens) != 2 or not all(_is_count(t) for t in tokens):
        raise _error(source, n, f"expected 'numClasses numModels', got {' '.join(tokens)!r}")
    num_classes, num_models = int(tokens[0]), int(tokens[1])

    classes: list[ClaClass] = []
    seen: dict[str, str] = {}
    i = 2
    while i < len(lines):
        n, tokens = lines[i]
        if len(tokens) < 3 or not _is_count(tokens[-1]):
            hint = f" (the count of class {classes[-1].name!r} may be too small)" if classes and len(tokens) == 1 else ""
            raise _error(source, n, f"expected a class line 'name parent count', got {' '.join(tokens)!r}{hint}",
                         "fix the count of the class above or remove the stray line")
        name, parent, count = " ".join(tokens[:-2]), tokens[-2], int(tokens[-1])
        if any(c.name == name for c in classes):
            raise _error(source, n, f"class {name!r} appears twice", "merge the two blocks into one")
        ids: list[str] = []
        for j in range(count):
            if i + 1 + j >= len(lines):
                raise _error(
                    source, n, f"class {name!r} declares {count} ids but the file ends after {len(ids)}",
                    "the file is truncated: extract it again",
                )
            m, id_tokens = lines[i + 1 + j]
            if len(id_tokens) != 1:
                raise _error(
                    source, m,
                    f"class {name!r} declares {count} ids but line {m} is {' '.join(id_tokens)!r} "
                    f"after {len(ids)} ids (count mismatch?)",
                    f"fix the count on line {n} or the ids below it",
                )
            model_id = id_tokens[0]
            if model_id in seen:
                raise _error(source, m, f"id {model_id!r} is in class {seen[model_id]!r} and again in {name!r}",
                             "an id may belong to one class only")
            seen[model_id] = name
            ids.append(model_id)
        classes.append(ClaClass(name, None if parent == _NO_PARENT else parent, tuple(ids)))
        i += 1 + count

    if len(classes) != num_classes:
        raise _error(source, lines[1][0], f"the header declares {num_classes} classes but the file has {len(classes)}",
                     "fix the header counts or restore the missing class blocks")
    total = sum(len(c.ids) for c in classes)
    if total != num_models:
        raise _error(source, lines[1][0], f"the header declares {num_models} ids but the class blocks list {total}",
                     "fix the header counts or restore the missing ids")
    return ClassFile(classes=classes, version=version, path=source)


def read_cla(path: str | os.PathLike[str]) -> ClassFile:
    """Read a PSB ``.cla`` file; raises :class:`DatasetLayoutError` naming the file and line on any problem."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise DatasetLayoutError(f"{path}: no such .cla file; check the dataset root") from None
    return parse_cla(text, source=str(path))


def format_cla(cf: ClassFile) -> str:
    """The text of ``cf`` in PSB format (what :func:`write_cla` writes)."""
    out = [f"PSB {cf.version}", f"{len(cf.classes)} {cf.num_ids}", ""]
    for c in cf.classes:
        if any(ch.isspace() for ch in c.name):
            raise ValueError(f"class name {c.name!r} contains whitespace, which the .cla format cannot store")
        out.append(f"{c.name} {c.parent or _NO_PARENT} {len(c.ids)}")
        out.extend(c.ids)
        out.append("")
    return "\n".join(out) + "\n"


def write_cla(path: str | os.PathLike[str], cf: ClassFile) -> None:
    """Write ``cf`` as a PSB ``.cla`` file, atomically."""
    atomic_write_text(path, format_cla(cf))
