"""Course build: solution notebooks are the source, learner notebooks are generated from them.

Each notebook is authored once, as a jupytext ``py:percent`` script ``solutions/NN_name.py`` (easy to
review and diff). ``build_course()`` writes from it:

* ``solutions/NN_name.ipynb`` -- the complete notebook, outputs stripped (nbval runs it);
* ``notebooks/NN_name.ipynb`` -- the learner version: inside code cells, every block between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is replaced by a ``raise NotImplementedError`` line
  (nbgrader style), keeping the indentation. The checker cell that follows each exercise stays.

``check_course()`` lists the generated notebooks that are missing or out of date (a test runs it).
``sbsr-lab course build`` and ``sbsr-lab course check`` call these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from sbsr_lab.errors import SbsrError
from sbsr_lab.io import atomic_write_text

__all__ = ["BEGIN", "END", "STUB", "strip_solutions", "learner_notebook", "build_course", "check_course",
           "CourseFile"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = 'raise NotImplementedError("Your turn: replace this line with your solution.")'

_BEGIN_RE = re.compile(r"^(\s*)" + re.escape(BEGIN) + r"\s*$")
_END_RE = re.compile(r"^\s*" + re.escape(END) + r"\s*$")


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block by an indented stub.

    >>> print(strip_solutions("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION\\n"))
    def f():
        raise NotImplementedError("Your turn: replace this line with your solution.")
    <BLANKLINE>
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        begin = _BEGIN_RE.match(line.rstrip("\n"))
        if begin:
            if inside:
                raise SbsrError(f"{where}, line {number}: nested {BEGIN!r}; close the first block with {END!r}.")
            inside = True
            out.append(f"{begin.group(1)}{STUB}\n")
        elif _END_RE.match(line.rstrip("\n")):
            if not inside:
                raise SbsrError(f"{where}, line {number}: {END!r} without a matching {BEGIN!r}.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SbsrError(f"{where}: {BEGIN!r} is never closed; add {END!r} after the solution.")
    return "".join(out)


def _read_solution(path: Path) -> nbformat.NotebookNode:
    import jupytext

    nb = jupytext.read(path)
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    nb.metadata.pop("jupytext", None)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index:03d}"  # stable ids keep the generated files diff-friendly
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def learner_notebook(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of ``solution`` with the solution blocks of its code cells stripped."""
    nb = nbformat.from_dict(solution)
    exercises = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = strip_solutions(cell.source, where=f"{name}, cell {index}")
            exercises += 1
    nb.metadata["sbsr_lab"] = {"learner": True, "exercises": exercises}
    return nb


@dataclass
class CourseFile:
    """One source script and the two notebooks generated from it."""

    source: Path
    solution: Path
    learner: Path


def _course_files(root: Path) -> list[CourseFile]:
    solutions = root / "solutions"
    if not solutions.is_dir():
        raise SbsrError(f"{root} has no solutions/ folder; run this from the course repository root (or pass --root).")
    files = []
    for src in sorted(solutions.glob("[0-9][0-9]_*.py")):
        files.append(CourseFile(src, src.with_suffix(".ipynb"), root / "notebooks" / f"{src.stem}.ipynb"))
    return files


def _render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def _expected(cf: CourseFile) -> tuple[str, str]:
    solution = _read_solution(cf.source)
    return _render(solution), _render(learner_notebook(solution, cf.source.name))


def build_course(root: str | Path = ".") -> list[Path]:
    """Write every solution and learner notebook from ``root/solutions/NN_*.py``; returns the files written."""
    root = Path(root)
    written = []
    for cf in _course_files(root):
        solution_text, learner_text = _expected(cf)
        for path, text in ((cf.solution, solution_text), (cf.learner, learner_text)):
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                atomic_write_text(path, text)
                written.append(path)
    return written


def check_course(root: str | Path = ".") -> list[str]:
    """Problems with the generated notebooks (missing / out of date); empty when all are in sync."""
    problems = []
    for cf in _course_files(Path(root)):
        solution_text, learner_text = _expected(cf)
        for path, text in ((cf.solution, solution_text), (cf.learner, learner_text)):
            if not path.exists():
                problems.append(f"{path} is missing: run `sbsr-lab course build`.")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"{path} is out of date with {cf.source.name}: run `sbsr-lab course build`.")
    return problems
