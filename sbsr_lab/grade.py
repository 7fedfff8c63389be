"""Grade a class's notebooks: run each learner notebook, re-check its exercises apart from it, write one CSV.

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

**A pass is re-checked where the learner's code cannot forge it.** What a notebook prints is written by
the learner's kernel, and code in that kernel can make a checker cell show ✅: print it and end the kernel
before the checker prints ❌, replace ``sbsr_lab.checks.verdict``, ``print`` or the checker function, define
``checks`` as something else, or clear the checker cell's output from an IPython hook and print a new one.
So the notebook's output only ever *lowers* a verdict (``fail``, ``error``, ``timeout``... stand as shown);
every exercise it shows as ``pass`` is checked again (:func:`recheck`) in a separate, fresh Python process
(``python -I``: this library first on ``sys.path``, the notebook's folder last, so a learner's
``sbsr_lab/`` folder shadows nothing):

* the child loads ``sbsr_lab.checks``, the checker modules and the course notebook's own imports *before*
  any learner code, and notes the state of every loaded module (attributes, ``builtins``, ``sys.stdout``,
  ``sys.path``, the code of the library's functions);
* of the learner's notebook it runs only *definitions*: the imports, functions, classes and variables that
  the exercise's names need (found with :mod:`symtable`, cells before the checker, in order). Other
  statements (``print(...)``, ``checks.verdict = ...``, ``builtins.print = ...``, an IPython hook, a
  training loop) are never run there. The state noted above is put back after these definitions, and
  again after every call of a learner function by the checker;
* the checker is the *course's* checker cell, run in a namespace of the course's imports (``checks`` is
  the library's, whatever the learner called ``checks``) plus the learner's exercise names. Its verdict is
  the *return value* of the checker calls in that cell (``check_*(...)``, ``verdict(...)``), not printed
  text: pass when every one returned ``True`` and the cell raised nothing;
* the child writes its result to a pipe opened by the grader, after a per-run random nonce it read on
  stdin; a line without the nonce, a second one, no line (e.g. the learner's code called ``os._exit``) or a
  child past its time limit is not a pass.

The grade is ``pass`` only when the notebook showed a pass *and* the re-check passed; otherwise the re-check's
verdict, with a message starting "re-checked apart from the notebook:". The re-check costs one process per
notebook with a pass (under a second; a few seconds where the checker needs torch).

Limits: this is not a sandbox. Learner code still runs in the child (a solution is learner code, and so
are the decorators, default values and class bodies of its definitions), and code that means harm can read
the child's memory (frames, ``gc``) to find the nonce, change objects in place that the state noted above
does not cover, or return an object that games a checker's own comparisons (a ``str`` subclass whose
``!=`` is always false). A solution that needs a value a notebook *computed* gets it by re-running the
assignments it depends on (they are run, not skipped), so depending on a long computation is slow and
depending on a cell's side effects (a file it wrote, a seed it set) may fail the re-check. Grade people you
do not trust in a container.

**No process outlives grading.** Every notebook runs in its own session (``jupyter_client`` starts the
kernel with ``start_new_session``; the re-check child too) with a per-run token in its environment, and
the grader is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``, Linux) while it runs: a process that a
notebook starts in a new session, or that double-forks and clears its environment, is re-parented to the
grader instead of ``init``. When the notebook finishes, times out or is interrupted (Ctrl-C), the grader
freezes (``SIGSTOP``) every process that carries the token, every process re-parented to it in that time
and all their descendants (read from ``/proc``, again until no new one appears), kills them (``SIGKILL``)
and reaps its own. Limits: without ``/proc`` (macOS) only the kernel's process group is killed; a grader
killed with ``SIGKILL`` (or ``SIGTERM``) cannot clean up; a process started *for* the notebook by
something outside its process tree (a service manager, ``at``, ``ssh localhost``) is not its descendant
and is not found; and the grader itself is the subreaper, so grade in a process of its own (the CLI does):
a process of another thread's that is orphaned, in a session of its own, while a notebook runs would be
ended with it.

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

import ast
import builtins
import csv
import io
import json
import os
import pkgutil
import re
import secrets
import shutil
import signal
import subprocess
import sys
import symtable
import tempfile
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sbsr_lab import checks
from sbsr_lab.checks import FAIL, PASS
from sbsr_lab.errors import SbsrError
from sbsr_lab.io import atomic_write_text

if TYPE_CHECKING:  # imported where used: the re-check process imports this module and needs neither
    import nbformat

    from sbsr_lab.course import Exercise

__all__ = ["NO_NETWORK_CELL", "Submission", "RunOutcome", "find_submissions", "run_notebook", "recheck", "recheck_job",
           "grade_folder", "GRADE_FIELDS", "csv_safe"]

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

#: The environment variable that marks every process a graded notebook (or its re-check) starts.
RUN_TOKEN_VAR = "SBSR_GRADE_RUN"

#: Longest re-check of one notebook's exercises (seconds; never more than the notebook's own limit).
RECHECK_TIMEOUT = 120.0

_PASS, _FAIL = PASS, FAIL  # a checker's verdict lines start with them (sbsr_lab.checks.verdict); bound here, at import


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
    #: exercise number -> (verdict, message) of :func:`recheck`, for the exercises the notebook showed as pass
    rechecked: dict[int, tuple[str, str]] | None = None


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


# --- no process outlives a graded notebook -------------------------------------------------------------

_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37


def _subreaper(value: int | None = None) -> int | None:
    """This process's "child subreaper" flag (Linux ``prctl``): read it, or set it to ``value``; None where
    there is no such call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        if value is None:
            flag = ctypes.c_int(0)
            return flag.value if prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 else None
        return value if prctl(_PR_SET_CHILD_SUBREAPER, value, 0, 0, 0) == 0 else None
    except (OSError, AttributeError):
        return None


def _proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """``(state, parent pid, session id, start time)`` of a process, from ``/proc/PID/stat``; None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        rest = data[data.rindex(b")") + 2:].split()  # after "pid (command) "
        return rest[0].decode(), int(rest[1]), int(rest[3]), int(rest[19])
    except (OSError, ValueError, IndexError):
        return None


def _proc_table() -> dict[int, tuple[str, int, int, int]]:
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (stat := _proc_stat(int(name))) is not None:
            table[int(name)] = stat
    return table


def _carries(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        return False


class _ProcessSweep:
    """While it is entered, this process is a child subreaper and :meth:`environ` marks the environment of
    what it starts; on exit, every marked process, every process re-parented to this one meanwhile (in a
    session of its own) and all their descendants are frozen, killed and, where they are ours, reaped."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self._marker = f"{RUN_TOKEN_VAR}={self.token}".encode()
        self._set_reaper = False
        self._before: set[int] = set()

    def environ(self, env: dict[str, str] | os._Environ) -> dict[str, str]:
        out = dict(env)
        out[RUN_TOKEN_VAR] = self.token
        return out

    def __enter__(self) -> _ProcessSweep:
        self._me, self._session = os.getpid(), os.getsid(0)
        self._proc = os.path.isdir("/proc")
        if self._proc:
            self._before = {pid for pid, stat in _proc_table().items() if stat[1] == self._me}
        self._set_reaper = _subreaper() == 0 and _subreaper(1) == 1
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._proc:
                self.kill()
        finally:
            if self._set_reaper:
                _subreaper(0)

    def _targets(self, table: dict[int, tuple[str, int, int, int]]) -> set[int]:
        roots = {pid for pid, (_, ppid, sid, _) in table.items()
                 if pid != self._me and ((ppid == self._me and pid not in self._before and sid != self._session)
                                         or _carries(pid, self._marker))}
        children: dict[int, list[int]] = {}
        for pid, (_, ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        found, stack = set(), list(roots)
        while stack:
            pid = stack.pop()
            if pid not in found and pid != self._me:
                found.add(pid)
                stack.extend(children.get(pid, ()))
        return found

    def kill(self) -> None:
        """Freeze the processes to end (again until no new one appears: a fork in between is caught), then
        kill them all and reap those that are this process's children."""
        frozen: dict[int, int] = {}
        for _ in range(50):
            table = _proc_table()
            new = self._targets(table) - frozen.keys()
            if not new:
                break
            for pid in new:
                try:
                    os.kill(pid, signal.SIGSTOP)
                    frozen[pid] = table[pid][3]
                except OSError:
                    pass
        for pid, started in frozen.items():
            stat = _proc_stat(pid)
            if stat is not None and stat[3] == started:  # the same process, not a reused pid
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # reap ours; the children of the killed come to us too
            mine = [pid for pid, (state, ppid, _, _) in _proc_table().items()
                    if ppid == self._me and pid not in self._before and (pid in frozen or state in ("Z", "X"))]
            if not mine:
                break
            for pid in mine:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            time.sleep(0.01)


def run_notebook(nb: nbformat.NotebookNode, cwd: str | Path, timeout: float = 600, kernel: str = "python3",
                 env: dict[str, str] | None = None) -> RunOutcome:
    """Execute every code cell of ``nb`` in a fresh kernel started in ``cwd``, within ``timeout`` seconds
    in all; cells that raise are recorded and the run goes on. ``env``: the kernel's environment
    (default: this process's). Whatever way the run ends (done, timed out, Ctrl-C), no process the kernel
    started is left (module docstring). Returns the executed copy."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.from_dict(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    outcome = RunOutcome(nb, 0.0)
    start = time.perf_counter()
    with _ProcessSweep() as sweep, \
            client.setup_kernel(env=sweep.environ(env if env is not None else os.environ), cwd=str(cwd)):
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
    # deferred (see the TYPE_CHECKING block): the re-check process imports this module without nbformat
    import nbformat

    from sbsr_lab.course import exercises

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


# --- re-checking an exercise apart from the learner's kernel -------------------------------------------

_RECORD = "__sbsr_grader_verdict__"   # the name the re-check gives its verdict recorder in the checker's namespace
_BUILTIN_NAMES = frozenset(dir(builtins))


def _python(source: str) -> str:
    """A cell's source as plain Python (IPython's ``%magics`` and ``!commands`` become calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - no IPython, or a cell it cannot read: the source as it is
        return source


def _names(source: str) -> tuple[set[str], set[str]]:
    """``(global names the code reads, at once or when its functions run; names it binds at its top level)``."""
    reads: set[str] = set()
    binds: set[str] = set()

    def visit(table: symtable.SymbolTable, top: bool) -> None:
        for sym in table.get_symbols():
            if top and (sym.is_assigned() or sym.is_imported()):
                binds.add(sym.get_name())
            if sym.is_referenced() and (top or sym.is_global()):
                reads.add(sym.get_name())
        for child in table.get_children():
            visit(child, False)

    visit(symtable.symtable(source, "<cell>", "exec"), True)
    return reads, binds


def _binds(node: ast.stmt) -> set[str]:
    """The names a *definition* binds (an import, ``def``, ``class``, or an assignment to plain names); empty
    for any other statement, which the re-check never runs."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Import):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {a.asname or a.name for a in node.names}  # "*" included: always run
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    else:
        return set()
    names: set[str] = set()
    for target in targets:
        for part in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
            part = part.value if isinstance(part, ast.Starred) else part
            if not isinstance(part, ast.Name):
                return set()  # e.g. `checks.verdict = ...`, `x[0] = ...`: not a definition
            names.add(part.id)
    return names


def _definitions(source: str) -> list[tuple[ast.stmt, set[str]]]:
    try:
        body = ast.parse(_python(source)).body
    except (SyntaxError, ValueError):
        return []
    return [(node, names) for node in body if (names := _binds(node))]


def _select(statements: list[tuple[ast.stmt, set[str]]], needed: set[str]) -> tuple[list[ast.stmt], set[str]]:
    """The definitions that bind a needed name, and those they need in turn (in their order)."""
    needed = set(needed)
    chosen = [False] * len(statements)
    grew = True
    while grew:
        grew = False
        for i, (node, names) in enumerate(statements):
            if not chosen[i] and ("*" in names or names & needed):
                chosen[i] = grew = True
                try:
                    needed |= _names(ast.unparse(node))[0]
                except (SyntaxError, ValueError):
                    pass
    return [node for (node, _), keep in zip(statements, chosen) if keep], needed


def _module_of(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


class _Record(ast.NodeTransformer):
    """Wrap each checker call of a checker cell (``check_*(...)``, ``verdict(...)``) in the verdict recorder."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name == "verdict" or name.startswith("check_"):
            return ast.copy_location(ast.Call(ast.Name(_RECORD, ast.Load()), [node], []), node)
        return node


def _code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def recheck_job(nb: nbformat.NotebookNode, reference: nbformat.NotebookNode,
                numbers: set[int] | None = None) -> dict:
    """What the re-check process runs for the exercises ``numbers`` (default: all) of the learner notebook
    ``nb``: per exercise the course's imports its checker uses, the learner's definitions its names need,
    the course's checker cell (calls wrapped in the recorder) and the names it takes from the learner;
    and what to import before any learner code."""
    # deferred (see the TYPE_CHECKING block): the re-check process imports this module without nbformat
    from sbsr_lab.course import exercises

    submodules = sorted(m.name for m in pkgutil.iter_modules(checks.__path__))
    mine = {ex.number: ex for ex in exercises(nb)}
    skip = {ex.checker for ex in mine.values()} | {
        i for i, c in enumerate(nb.cells) if {"checker", "grading"} & set(c.get("metadata", {}).get("sbsr_lab", {}))}
    learner = [(i, node, names) for i, src in _code_cells(nb) if i not in skip for node, names in _definitions(src)]
    course = [(i, node, names) for i, src in _code_cells(reference)
              for node, names in _definitions(src) if isinstance(node, (ast.Import, ast.ImportFrom))]
    preload: dict[str, None] = {"sbsr_lab.checks": None}
    imports: dict[str, None] = {}
    jobs = []
    for ref in exercises(reference):
        ex = mine.get(ref.number)
        if (numbers is not None and ref.number not in numbers) or ex is None or ex.checker == ex.cell \
                or ref.checker == ref.cell:
            continue
        checker = _python(reference.cells[ref.checker].source)
        try:
            reads, bound = _names(checker)
            tree = ast.fix_missing_locations(_Record().visit(ast.parse(checker)))
        except (SyntaxError, ValueError):
            continue
        trusted = [(node, names) for i, node, names in course if i < ref.checker and ("*" in names or names & reads)]
        given = set().union(*(names for _, names in trusted)) if trusted else set()
        needed = reads - bound - given - _BUILTIN_NAMES
        chosen, closure = _select([(node, names) for i, node, names in learner if i < ex.checker], needed)
        trusted_source = "\n".join(ast.unparse(node) for node, _ in trusted)
        for i, node, names in course:  # the course's imports of what the learner's definitions use: loaded first
            if i < ref.checker and names & closure:
                imports[ast.unparse(node)] = None
        for node in chosen:  # the library modules the learner imports, loaded before learner code runs
            if all(m == "sbsr_lab" or m.startswith("sbsr_lab.") for m in _module_of(node)) and _module_of(node):
                imports[ast.unparse(node)] = None
        text = checker + "\n" + trusted_source
        preload.update({f"sbsr_lab.checks.{m}": None for m in submodules if re.search(rf"\b{m}\b", text)})
        imports[trusted_source] = None
        jobs.append({"number": ref.number, "trusted": trusted_source, "checker": ast.unparse(tree),
                     "learner": "\n".join(ast.unparse(node) for node in chosen), "names": sorted(needed)})
    return {"preload": list(preload), "imports": [s for s in imports if s], "exercises": jobs}


def recheck(nb: nbformat.NotebookNode, reference: nbformat.NotebookNode, cwd: str | Path,
            numbers: set[int] | None = None, timeout: float = RECHECK_TIMEOUT,
            env: dict[str, str] | None = None) -> dict[int, tuple[str, str]]:
    """Check the exercises ``numbers`` of the learner notebook ``nb`` again with the course's checkers
    (``reference``: the course notebook), in a fresh process started in ``cwd`` (module docstring).
    Returns ``{number: (verdict, message)}``: ``pass``, ``fail``, ``error`` or ``timeout``."""
    # deferred (see the TYPE_CHECKING block): the re-check process imports this module without nbformat
    from sbsr_lab.course import exercises

    job = recheck_job(nb, reference, numbers)
    wanted = [ex["number"] for ex in job["exercises"]]
    results = {n: ("error", "the grader could not re-check it (no checker cell or no exercise cell)")
               for n in (numbers if numbers is not None else {ex.number for ex in exercises(reference)})}
    if not wanted:
        return results
    nonce = secrets.token_hex(16)
    read_end, write_end = os.pipe()
    job.update(fd=write_end, nonce=nonce)
    root = str(Path(__file__).resolve().parent.parent)
    code = f"import sys; sys.path.insert(0, {root!r}); from sbsr_lab.grade import _recheck_main; _recheck_main()"
    timed_out = False
    try:
        with _ProcessSweep() as sweep, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen([sys.executable, "-I", "-c", code], cwd=str(cwd), stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=err, pass_fds=(write_end,),
                                        env=sweep.environ(env if env is not None else os.environ),
                                        start_new_session=True)
            finally:
                os.close(write_end)
            try:
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(job).encode())
                proc.stdin.close()
            except OSError:  # it ended before reading its job: reported below
                pass
            try:
                status = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                status = None
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait()
            data = _read_available(read_end)
            err.seek(0)
            tail = err.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
    finally:
        os.close(read_end)
    lines = [line[len(nonce) + 1:] for line in data.decode("utf-8", "replace").splitlines()
             if line.startswith(nonce + "\t")]
    if len(lines) == 1:
        try:
            for number, verdict, message in json.loads(lines[0]):
                if number in results and verdict in ("pass", "fail", "error"):
                    results[number] = (verdict, str(message)[:500])
            return results
        except (ValueError, TypeError):
            pass
    if timed_out:
        why = ("timeout", f"the re-check did not finish within {timeout:.0f} s")
    else:
        last = f": {tail[-1][:200]}" if tail else ""
        why = ("error", f"the re-check ended without a verdict (exit status {status}){last}")
    return {n: why for n in results}


def _read_available(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


# The child's side. It runs in its own `python -I` process; everything below is careful to take what it
# uses before learner code runs (default arguments), so that a patched builtin cannot steer it.

_MISSING = object()


def _library(name: str) -> bool:
    return name == "sbsr_lab" or name.startswith("sbsr_lab.")


def _snapshot() -> tuple:
    modules = {name: (mod, dict(vars(mod))) for name, mod in list(sys.modules.items())
               if isinstance(mod, types.ModuleType)}
    functions = [(fn, fn.__code__, fn.__defaults__, fn.__kwdefaults__)
                 for name, (_, saved) in modules.items() if _library(name)
                 for fn in saved.values() if isinstance(fn, types.FunctionType)]
    lists = [(obj, list(obj)) for obj in (sys.path, sys.meta_path, sys.path_hooks)]
    lists += [(mod.__path__, list(mod.__path__)) for name, (mod, _) in modules.items()
              if _library(name) and isinstance(getattr(mod, "__path__", None), list)]
    return modules, functions, lists


def _restore(snapshot: tuple, drop_new: bool = False, _modules: dict = sys.modules,
             _module_type: type = types.ModuleType, _isinstance=isinstance, _list=list, _missing=_MISSING) -> None:
    """Put back what :func:`_snapshot` noted: every module attribute (``builtins``' and the library's exactly,
    new ones removed), the library's function code, ``sys.path`` and the import hooks; with ``drop_new``,
    forget library modules first imported since (a checker importing one gets a clean copy). Reads no
    global and calls no builtin by name: a learner's patch of either cannot steer it."""
    modules, functions, lists = snapshot
    for name, (mod, saved) in modules.items():
        if _modules.get(name) is not mod:
            _modules[name] = mod
        current = mod.__dict__
        for key, value in saved.items():
            if current.get(key, _missing) is not value:
                current[key] = value
        if name == "builtins" or name == "sbsr_lab" or name.startswith("sbsr_lab."):
            for key in [k for k in current if k not in saved]:
                if name == "builtins" or not _isinstance(current[key], _module_type):
                    del current[key]
    for fn, code, defaults, kwdefaults in functions:
        if fn.__code__ is not code or fn.__defaults__ is not defaults or fn.__kwdefaults__ is not kwdefaults:
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
    for obj, items in lists:
        if _list(obj) != items:
            obj[:] = items
    if drop_new:
        for name in [n for n in _modules if (n == "sbsr_lab" or n.startswith("sbsr_lab.")) and n not in modules]:
            del _modules[name]


def _verdict_value(value: object) -> bool:
    """A checker's return value as a verdict: ``True`` (or numpy's true) passes, anything else does not."""
    kind = type(value)
    return value is True or (kind.__module__ == "numpy" and kind.__name__ in ("bool_", "bool") and bool(value))


def _describe(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"[:300]
    except Exception:  # noqa: BLE001 - a learner's exception whose str() raises
        return type(exc).__name__


def _guarded(fn: object, snapshot: tuple) -> object:
    """The learner's function, putting the noted state back after every call (what it patched while the
    checker ran it is undone before the checker compares)."""
    if not isinstance(fn, types.FunctionType):
        return fn
    import functools

    @functools.wraps(fn)
    def guarded(*args: object, **kwargs: object) -> object:
        out, err = sys.stdout, sys.stderr
        try:
            return fn(*args, **kwargs)
        finally:
            _restore(snapshot)
            sys.stdout, sys.stderr = out, err

    return guarded


def _recheck_one(ex: dict, snapshot: tuple) -> list:
    import contextlib

    learner: dict = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(ex["learner"], "<your notebook>", "exec"), learner)  # noqa: S102 - the point of it
        problem = ""
    except BaseException as exc:  # noqa: BLE001 - SystemExit included: it is the learner's
        problem = f"running the notebook's definitions raised {_describe(exc)}"
    finally:
        _restore(snapshot, drop_new=True)
    if problem:
        return [ex["number"], "error", problem]
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(ex["trusted"], "<course imports>", "exec"), namespace)  # noqa: S102
    for name in ex["names"]:
        if name not in namespace and name in learner:
            namespace[name] = _guarded(learner[name], snapshot)
    verdicts: list[bool] = []

    def record(value: object, _append=verdicts.append, _value=_verdict_value) -> object:
        _append(_value(value))
        return value

    namespace[_RECORD] = record
    printed = io.StringIO()
    raised = ""
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(ex["checker"], "<course checker>", "exec"), namespace)  # noqa: S102
    except BaseException as exc:  # noqa: BLE001
        raised = _describe(exc)
    finally:
        _restore(snapshot)
    lines = [ln.strip() for ln in printed.getvalue().splitlines()]
    shown = [ln for ln in lines if ln.startswith((_PASS, _FAIL))]
    hints = [ln for ln in lines if ln and not ln.startswith((_PASS, _FAIL))]
    if raised:
        return [ex["number"], "error", raised]
    if not verdicts:
        return [ex["number"], "error", "the course's checker gave no verdict"]
    if all(verdicts):
        return [ex["number"], "pass", " | ".join(ln for ln in shown if ln.startswith(_PASS))[:500]]
    return [ex["number"], "fail", " | ".join([ln for ln in shown if ln.startswith(_FAIL)] + hints[:2])[:500]]


def _private(names: tuple[str, ...]) -> dict:
    """A private copy of this module's globals in which the functions ``names`` are fresh function objects
    bound to it: what the learner patches in ``sbsr_lab.grade`` (an attribute, a function's ``__code__``)
    does not reach them."""
    shared = vars(sys.modules[__name__])
    private = dict(shared)
    for name in names:
        fn = shared[name]
        copy = types.FunctionType(fn.__code__, private, fn.__name__, fn.__defaults__, fn.__closure__)
        copy.__kwdefaults__ = fn.__kwdefaults__
        private[name] = copy
    return private


def _recheck_main() -> None:
    """The re-check process (``python -I -c``): reads its job (:func:`recheck_job`, with a result pipe and a
    nonce) on stdin, writes ``nonce<TAB>[[number, verdict, message], ...]`` to the pipe and exits at once."""
    import importlib
    from json.encoder import encode_basestring_ascii as quote  # a C function: its code cannot be swapped

    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the job is read; nothing more comes
    fd, nonce = int(job.pop("fd")), str(job.pop("nonce"))
    os.set_inheritable(fd, False)
    write, leave, as_int, join = os.write, os._exit, int, ",".join
    exec(NO_NETWORK_CELL, {"__name__": "__sbsr_no_network__"})  # noqa: S102
    for name in job["preload"]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a checker that needs it fails with the reason
            pass
    for source in job["imports"]:
        try:
            exec(compile(source, "<course imports>", "exec"), {"__name__": "__sbsr_preload__"})  # noqa: S102
        except Exception:  # noqa: BLE001 - a learner's import that fails fails again, in its definitions
            pass
    # the learner's own modules (and PYTHONPATH's, which `-I` ignores), after everything else
    sys.path += [os.getcwd()] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    private = _private(("_restore", "_recheck_one", "_guarded", "_verdict_value", "_describe"))
    restore, check_one, describe = private["_restore"], private["_recheck_one"], private["_describe"]
    snapshot = _snapshot()
    results = []
    for ex in job["exercises"]:
        number = as_int(ex["number"])
        try:
            result = check_one(ex, snapshot)
        except BaseException as exc:  # noqa: BLE001
            result = [number, "error", f"the re-check failed: {describe(exc)}"]
        restore(snapshot)
        results.append(f"[{as_int(result[0])},{quote(result[1])},{quote(result[2])}]")
    write(fd, (nonce + "\t[" + join(results) + "]\n").encode())
    leave(0)  # no atexit handler or thread of the learner's runs after the result


def _rows(sub: Submission, reference: nbformat.NotebookNode, outcome: RunOutcome | None, problem: str = "") -> list[dict]:
    # deferred (see the TYPE_CHECKING block): the re-check process imports this module without nbformat
    from sbsr_lab.course import checker_verdicts, exercises

    expected: list[Exercise] = exercises(reference)
    got = {ex.number: (verdict, message) for ex, verdict, message in checker_verdicts(outcome.nb)} if outcome else {}
    rows = []
    for ex in expected:
        verdict, message = got.get(ex.number, ("missing", "the exercise cell is not in the notebook"))
        if outcome is None:
            verdict, message = "error", problem
        elif outcome.timed_out and verdict in ("not run", "missing"):
            verdict, message = "timeout", f"the notebook did not finish within its time limit ({outcome.seconds:.0f} s)"
        elif verdict == "pass":  # what the notebook showed can be forged: the re-check decides
            again, why = (outcome.rechecked or {}).get(ex.number, ("error", "the grader could not re-check it"))
            verdict, message = (again, why or message) if again == "pass" else \
                (again, f"re-checked apart from the notebook: {why}"[:500])
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


def _run_in_copy(nb: nbformat.NotebookNode, sub: Submission, reference: nbformat.NotebookNode, timeout: float,
                 kernel: str, env: dict[str, str]) -> RunOutcome:
    """Run the prepared notebook in a temporary copy of its folder (regular files only, no links), so that
    it cannot change what another learner handed in; then re-check there the exercises it showed as passed."""
    # deferred (see the TYPE_CHECKING block): the re-check process imports this module without nbformat
    from sbsr_lab.course import checker_verdicts

    with tempfile.TemporaryDirectory(prefix="sbsr-grade-") as tmp:
        work = Path(tmp) / "work"
        source = sub.path.parent
        shutil.copytree(source, work, symlinks=True, ignore=lambda d, names: [  # no notebooks, links, grades
            n for n in names if (Path(d) / n).is_symlink() or n.endswith((".ipynb", ".csv")) or n.startswith(".")])
        outcome = run_notebook(nb, work, timeout, kernel, env)
        passed = {ex.number for ex, verdict, _ in checker_verdicts(outcome.nb) if verdict == "pass"}
        limit = min(max(timeout, 30.0), RECHECK_TIMEOUT)
        outcome.rechecked = recheck(nb, reference, work, passed, limit, env) if passed else {}
        return outcome


def grade_folder(folder: str | Path, course: str | Path = ".", out: str | Path | None = None,
                 timeout: float = 600, kernel: str = "python3", progress: bool = True, resume: bool = True) -> Path:
    """Run every learner notebook in ``folder`` and write ``grades.csv`` (``out``; default
    ``folder/grades.csv``): one row per learner and exercise of the course notebook (``course``:
    the course repository, whose ``notebooks/`` holds the learner notebooks). The CSV is rewritten as
    each notebook finishes; with ``resume`` the notebooks an earlier run already graded there are kept
    (module docstring). Returns the CSV's path."""
    import nbformat

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
                outcome = _run_in_copy(prepared, sub, reference, timeout, kernel, env)
        new = _rows(sub, reference, outcome, problem)
        rows += new
        _write_grades(target, rows)  # as each notebook finishes: an interruption loses at most this one
        if progress:
            seconds = f"{outcome.seconds:6.1f} s" if outcome else "     - s"
            print(f"{sub.learner:<16} {sub.notebook:<32} {seconds}  {' '.join(r['verdict'] for r in new)}")
    return target
