"""Course build: solution notebooks are the source, learner notebooks are generated from them.

Each notebook is authored once, as a jupytext ``py:percent`` script ``solutions/NN_name.py`` (easy to
review and diff). ``build_course()`` writes from it:

* ``solutions/NN_name.ipynb`` -- the complete notebook, outputs stripped (nbval runs it);
* ``notebooks/NN_name.ipynb`` -- the learner version: inside code cells, every block between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is replaced by a ``raise NotImplementedError`` line
  (nbgrader style), keeping the indentation. The checker cell that follows each exercise stays.

``check_course()`` lists the generated notebooks that are missing or out of date (a test runs it).
``sbsr-lab course build`` and ``sbsr-lab course check`` call these functions.

An *exercise* is a code cell holding a solution block; the next code cell is its *checker*, whose
printed verdict lines start with ✅ or ❌. :func:`exercises` finds them (with the title of the markdown
heading above), :func:`inject_solutions` puts the solutions back into a learner notebook (the tests run
every learner notebook end to end that way) and :func:`checker_verdicts` reads an executed notebook's
verdicts (``sbsr-lab course grade``, :mod:`sbsr_lab.grade`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from sbsr_lab.checks import FAIL, PASS  # the marks a checker's verdict line starts with (checks.verdict)
from sbsr_lab.errors import SbsrError
from sbsr_lab.io import atomic_write_text

__all__ = ["BEGIN", "END", "STUB", "strip_solutions", "learner_notebook", "build_course", "check_course",
           "CourseFile", "Exercise", "exercises", "inject_solutions", "checker_verdicts", "PASS", "FAIL"]

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
    _mark_exercises(nb)
    return nb


def _mark_exercises(nb: nbformat.NotebookNode) -> None:
    """Tag each exercise cell and its checker in the cell metadata (``sbsr_lab.exercise`` /
    ``sbsr_lab.checker`` = its number): Jupyter keeps cell metadata when a learner edits a cell, so a
    solved exercise is still found (nbgrader's grade ids do the same)."""
    for ex in exercises(nb):
        nb.cells[ex.cell].metadata["sbsr_lab"] = {"exercise": ex.number}
        nb.cells[ex.checker].metadata["sbsr_lab"] = {"checker": ex.number}


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


@dataclass
class Exercise:
    """An exercise of a notebook: its stub (or solution) cell, its checker cell and its title."""

    number: int
    title: str
    cell: int
    checker: int


_HEADING = re.compile(r"^#+\s*(.+?)\s*$", re.M)


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The exercises of a solution or learner notebook, in order.

    Exercise cells carry ``{"sbsr_lab": {"exercise": n}}`` in their metadata and their checkers
    ``{"sbsr_lab": {"checker": n}}`` (written by the course build); untagged notebooks fall back to the
    markers: a cell holding a solution block or its stub is an exercise, the next code cell its checker.
    The title is the last markdown heading above the exercise.
    """
    out: list[Exercise] = []
    title = ""
    tagged = any("exercise" in c.get("metadata", {}).get("sbsr_lab", {}) for c in nb.cells)
    checkers = {c.metadata["sbsr_lab"]["checker"]: i for i, c in enumerate(nb.cells)
                if "checker" in c.get("metadata", {}).get("sbsr_lab", {})}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            heads = _HEADING.findall(cell.source)
            title = heads[-1] if heads else title
        elif cell.cell_type != "code":
            continue
        elif tagged and "exercise" in cell.get("metadata", {}).get("sbsr_lab", {}):
            number = cell.metadata["sbsr_lab"]["exercise"]
            out.append(Exercise(number, title or f"Exercise {number}", index, checkers.get(number, index)))
        elif not tagged and (BEGIN in cell.source or STUB in cell.source):
            checker = next((j for j in range(index + 1, len(nb.cells)) if nb.cells[j].cell_type == "code"), index)
            out.append(Exercise(len(out) + 1, title or f"Exercise {len(out) + 1}", index, checker))
    return out


def inject_solutions(learner: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the ``learner`` notebook whose exercise cells hold the ``solution`` notebook's answers.

    Raises :class:`SbsrError` when the two do not have the same exercises.
    """
    nb = nbformat.from_dict(learner)
    mine, theirs = exercises(nb), exercises(solution)
    if len(mine) != len(theirs):
        raise SbsrError(f"The learner notebook has {len(mine)} exercises, the solution {len(theirs)}: "
                        "rebuild it with `sbsr-lab course build`.")
    for ex, sol in zip(mine, theirs):
        nb.cells[ex.cell].source = solution.cells[sol.cell].source
    return nb


def _output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        text = out.get("text", "")
        parts.append(text if isinstance(text, str) else "".join(text))
        data = out.get("data", {}).get("text/plain", "")
        parts.append(data if isinstance(data, str) else "".join(data))
    return "\n".join(parts)


def checker_verdicts(nb: nbformat.NotebookNode) -> list[tuple[Exercise, str, str]]:
    """``(exercise, verdict, message)`` for every exercise of an executed notebook.

    verdict: ``"pass"`` (every verdict line of its checker starts with ✅), ``"fail"`` (one starts with
    ❌), ``"error"`` (the exercise or checker cell raised), ``"not run"`` (no verdict printed, e.g. the
    notebook stopped earlier). message: the verdict lines, or the error.
    """
    out = []
    for ex in exercises(nb):
        cells = [nb.cells[ex.cell], nb.cells[ex.checker]]
        errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        lines = [ln.strip() for ln in _output_text(nb.cells[ex.checker]).splitlines()]
        verdicts = [ln for ln in lines if ln.startswith((PASS, FAIL))]
        hints = [ln for ln in lines if ln and not ln.startswith((PASS, FAIL))]
        if errors:
            err = errors[0]
            out.append((ex, "error", f"{err.get('ename', 'Error')}: {err.get('evalue', '')}"[:300]))
        elif not verdicts:
            out.append((ex, "not run", "the checker printed no verdict"))
        else:
            verdict = "fail" if any(v.startswith(FAIL) for v in verdicts) else "pass"
            message = " | ".join(verdicts + (hints[:2] if verdict == "fail" else []))
            out.append((ex, verdict, message[:500]))
    return out
