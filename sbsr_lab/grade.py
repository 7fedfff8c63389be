"""Grade a class's notebooks: run each learner notebook, read its checkers' verdicts, write one CSV.

``sbsr-lab course grade FOLDER`` (nbgrader's autograde step, without its server or database)::

    FOLDER/
      ada/01_data_and_rendering.ipynb         a sub-folder per learner, or
      ben-01_data_and_rendering.ipynb         the learner's name, then "-" or "_", then the notebook's name
      grades.csv                              written: learner, notebook, exercise, title, verdict, message, seconds

Each notebook runs in a fresh kernel, under the ``ci`` profile (``SBSR_PROFILE=ci``), from the folder
it is in, with a time limit per notebook; cells that raise do not stop it (the later exercises are still
graded, as nbgrader does). Before it runs, its checker cells are replaced by the course's own (a
learner's edited checker cannot pass itself) and a first cell turns the network off in the kernel:
sockets may only reach this machine (the kernel's own channels), and the proxy variables point nowhere,
so no dataset or weights are downloaded. This is a guard against accidents, not a sandbox: run the
notebooks of people you do not trust in a container.

The verdict of an exercise (:func:`sbsr_lab.course.checker_verdicts`): ``pass``, ``fail``, ``error``
(its cell raised), ``not run`` (no verdict: e.g. its checker cell was deleted), ``timeout`` (the
notebook ran out of time before it), ``missing`` (the exercise is not in the notebook).

A class's grading survives its worst notebook and an interruption:

* ``grades.csv`` is rewritten (atomically) as each notebook finishes, and a run that finds one picks up
  where it stopped: notebooks already graded there keep their rows (``resume=False``, the CLI's
  ``--regrade``, grades everything again);
* a notebook that cannot be read or prepared (odd cell metadata, not JSON) gives its learner error rows and
  grading goes on;
* a symbolic link, or a file that resolves outside the folder, is not graded (error rows say why): a
  "submission" must not pull another file into the grades;
* each notebook runs in its own temporary copy of its folder, so it cannot edit the files of a learner
  graded after it;
* cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return) are written with a leading ``'`` (:func:`csv_safe`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from sbsr_lab.course import Exercise, checker_verdicts, exercises
from sbsr_lab.errors import SbsrError
from sbsr_lab.io import atomic_write_text

__all__ = ["NO_NETWORK_CELL", "Submission", "RunOutcome", "find_submissions", "run_notebook", "grade_folder",
           "GRADE_FIELDS", "csv_safe"]

GRADE_FIELDS = ["learner", "notebook", "exercise", "title", "verdict", "message", "seconds"]

#: Source of the cell put first in every graded notebook.
NO_NETWORK_CELL = '''\
# added by `sbsr-lab course grade`: no network while grading (sockets may only reach this machine)
import ipaddress as _ip, socket as _socket
def _sbsr_local_only(connect):
    def guarded(self, address, *args):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (_socket.AF_INET, _socket.AF_INET6):
            try:
                local = _ip.ip_address(host).is_loopback
            except ValueError:
                local = host == "localhost"
            if not local:
                raise OSError(f"no network while grading (tried {host})")
        return connect(self, address, *args)
    return guarded
_socket.socket.connect = _sbsr_local_only(_socket.socket.connect)
_socket.socket.connect_ex = _sbsr_local_only(_socket.socket.connect_ex)
del _sbsr_local_only'''

_DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, a download fails at once


@dataclass
class Submission:
    """One learner's notebook: who, which course notebook (its stem, e.g. ``01_data_and_rendering``), where."""

    learner: str
    notebook: str
    path: Path


@dataclass
class RunOutcome:
    """An executed notebook and how its run went."""

    nb: nbformat.NotebookNode
    seconds: float
    timed_out: bool = False
    errors: list[str] = field(default_factory=list)


def find_submissions(folder: str | Path, notebooks: list[str]) -> list[Submission]:
    """The learner notebooks in ``folder`` whose names match one of the course's ``notebooks`` (stems).

    ``folder/LEARNER/NN_name.ipynb`` (a sub-folder per learner) or ``folder/LEARNER-NN_name.ipynb``
    (also ``LEARNER_NN_name.ipynb``); checkpoints (``.ipynb_checkpoints``) are skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SbsrError(f"{folder} is not a folder; give the folder that holds the class's notebooks.")
    by_length = sorted(notebooks, key=len, reverse=True)
    found: list[Submission] = []
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if len(rel.parts) == 2 and path.stem in notebooks:
            found.append(Submission(rel.parts[0], path.stem, path))
        elif len(rel.parts) == 1:
            for stem in by_length:
                m = re.fullmatch(rf"(.+?)[-_]{re.escape(stem)}", path.stem)
                if m:
                    found.append(Submission(m.group(1), stem, path))
                    break
    return found


def _grading_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SBSR_PROFILE"] = "ci"
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env[key] = _DEAD_PROXY
    env["no_proxy"] = env["NO_PROXY"] = "localhost,127.0.0.1,::1"
    env["HF_HUB_OFFLINE"] = "1"
    env["PIP_NO_INDEX"] = "1"
    return env


def run_notebook(nb: nbformat.NotebookNode, cwd: str | Path, timeout: float = 600, kernel: str = "python3",
                 env: dict[str, str] | None = None) -> RunOutcome:
    """Execute every code cell of ``nb`` in a fresh kernel started in ``cwd``, within ``timeout`` seconds
    in all; cells that raise are recorded and the run goes on. ``env``: the kernel's environment
    (default: this process's). Returns the executed copy."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.from_dict(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    outcome = RunOutcome(nb, 0.0)
    start = time.perf_counter()
    with client.setup_kernel(env=env if env is not None else dict(os.environ), cwd=str(cwd)):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            left = timeout - (time.perf_counter() - start)
            if left <= 0:
                outcome.timed_out = True
                break
            client.timeout = max(1, int(left))
            try:
                client.execute_cell(cell, index)
            except (CellTimeoutError, TimeoutError):
                outcome.timed_out = True
                break
            except DeadKernelError as err:
                outcome.errors.append(f"cell {index}: the kernel died ({err})")
                break
            except CellExecutionError as err:  # not raised with allow_errors, kept for safety
                outcome.errors.append(f"cell {index}: {err}")
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    outcome.errors.append(f"cell {index}: {out.get('ename')}: {out.get('evalue')}")
    outcome.seconds = time.perf_counter() - start
    return outcome


def _prepare(nb: nbformat.NotebookNode, reference: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner's notebook with the course's checker cells and the no-network cell first."""
    nb = nbformat.from_dict(nb)
    theirs = {ex.number: ex for ex in exercises(nb)}
    for ref in exercises(reference):
        mine = theirs.get(ref.number)
        if mine is not None and mine.checker != mine.cell:
            nb.cells[mine.checker].source = reference.cells[ref.checker].source
    guard = nbformat.v4.new_code_cell(NO_NETWORK_CELL)
    guard.metadata["sbsr_lab"] = {"grading": True}
    nb.cells.insert(0, guard)
    for cell in nb.cells:  # stale outputs of the learner's own run must not count
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _rows(sub: Submission, reference: nbformat.NotebookNode, outcome: RunOutcome | None, problem: str = "") -> list[dict]:
    expected: list[Exercise] = exercises(reference)
    got = {ex.number: (verdict, message) for ex, verdict, message in checker_verdicts(outcome.nb)} if outcome else {}
    rows = []
    for ex in expected:
        verdict, message = got.get(ex.number, ("missing", "the exercise cell is not in the notebook"))
        if outcome is None:
            verdict, message = "error", problem
        elif outcome.timed_out and verdict in ("not run", "missing"):
            verdict, message = "timeout", f"the notebook did not finish within its time limit ({outcome.seconds:.0f} s)"
        rows.append({"learner": sub.learner, "notebook": sub.notebook, "exercise": ex.number, "title": ex.title,
                     "verdict": verdict, "message": message, "seconds": f"{outcome.seconds:.1f}" if outcome else ""})
    return rows


def csv_safe(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab or CR
    (OWASP's rule against formula injection, e.g. a learner named ``=HYPERLINK(...)``)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _write_grades(target: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=GRADE_FIELDS)
    writer.writeheader()
    writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in rows)
    atomic_write_text(target, buf.getvalue())


def _read_grades(target: Path) -> list[dict]:
    """Rows of an earlier (interrupted) run, as written; [] when there is none or it is not ours."""
    if not target.is_file():
        return []
    try:
        with target.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != GRADE_FIELDS:
                return []
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _outside(sub: Submission, folder: Path) -> str:
    """Why a submission is not graded (a link, or a file outside the folder), or ''."""
    if sub.path.is_symlink() or any(p.is_symlink() for p in sub.path.parents if folder in p.parents or p == folder):
        return f"{sub.path.name} is a symbolic link: not graded (submit the notebook file itself)"
    try:
        sub.path.resolve().relative_to(folder.resolve())
    except ValueError:
        return f"{sub.path.name} lies outside {folder}: not graded"
    return ""


def _run_in_copy(nb: nbformat.NotebookNode, sub: Submission, timeout: float, kernel: str,
                 env: dict[str, str]) -> RunOutcome:
    """Run the prepared notebook in a temporary copy of its folder (regular files only, no links), so that
    it cannot change what another learner handed in."""
    with tempfile.TemporaryDirectory(prefix="sbsr-grade-") as tmp:
        work = Path(tmp) / "work"
        source = sub.path.parent
        shutil.copytree(source, work, symlinks=True, ignore=lambda d, names: [  # no notebooks, links, grades
            n for n in names if (Path(d) / n).is_symlink() or n.endswith((".ipynb", ".csv")) or n.startswith(".")])
        return run_notebook(nb, work, timeout, kernel, env)


def grade_folder(folder: str | Path, course: str | Path = ".", out: str | Path | None = None,
                 timeout: float = 600, kernel: str = "python3", progress: bool = True, resume: bool = True) -> Path:
    """Run every learner notebook in ``folder`` and write ``grades.csv`` (``out``; default
    ``folder/grades.csv``): one row per learner and exercise of the course notebook (``course``:
    the course repository, whose ``notebooks/`` holds the learner notebooks). The CSV is rewritten as
    each notebook finishes; with ``resume`` the notebooks an earlier run already graded there are kept
    (module docstring). Returns the CSV's path."""
    course, folder = Path(course), Path(folder)
    refs = {p.stem: p for p in sorted((course / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    if not refs:
        raise SbsrError(f"{course / 'notebooks'} holds no course notebook (NN_name.ipynb); run this from the "
                        "course repository, or pass --course ROOT.")
    subs = find_submissions(folder, list(refs))
    if not subs:
        raise SbsrError(f"No learner notebook in {folder}: expected LEARNER/NN_name.ipynb or LEARNER-NN_name.ipynb "
                        f"with a course notebook's name ({', '.join(refs)}).")
    target = Path(out) if out is not None else folder / "grades.csv"
    rows: list[dict] = _read_grades(target) if resume else []
    done = {(r["learner"], r["notebook"]) for r in rows}
    env = _grading_env()
    for sub in subs:
        if (csv_safe(sub.learner), sub.notebook) in done:
            continue  # graded by an earlier run of this class
        reference = nbformat.read(refs[sub.notebook], as_version=4)
        problem = _outside(sub, folder)
        outcome = None
        if not problem:
            try:  # one learner's unreadable or odd notebook only gives that learner error rows
                prepared = _prepare(nbformat.read(sub.path, as_version=4), reference)
            except Exception as exc:  # noqa: BLE001 - reported in the CSV, grading goes on
                problem = f"cannot read {sub.path.name}: {type(exc).__name__}: {exc}"[:300]
            else:
                outcome = _run_in_copy(prepared, sub, timeout, kernel, env)
        new = _rows(sub, reference, outcome, problem)
        rows += new
        _write_grades(target, rows)  # as each notebook finishes: an interruption loses at most this one
        if progress:
            seconds = f"{outcome.seconds:6.1f} s" if outcome else "     - s"
            print(f"{sub.learner:<16} {sub.notebook:<32} {seconds}  {' '.join(r['verdict'] for r in new)}")
    return target
