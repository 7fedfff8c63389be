"""`sbsr-lab course grade FOLDER`: a solved, a half-done, a broken and a too-slow notebook of a small course
give one CSV row per learner and exercise with the right verdict; checker cells edited by a learner are
replaced by the course's; the kernel cannot reach the network; verdicts forged in the learner's kernel are
not graded pass (the re-check in a fresh process decides); no process a notebook starts outlives grading."""

from __future__ import annotations

import _thread
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from sbsr_lab.course import build_course, exercises, inject_solutions
from sbsr_lab.errors import SbsrError
from sbsr_lab.grade import (GRADE_FIELDS, _prepare, find_submissions, grade_folder, recheck, recheck_job,
                             run_notebook)

CHECKER = '''from sbsr_lab.checks import CheckStop, call_learner, verdict
try:
    verdict(call_learner({fn}, 3) == {want}, "{fn}", "", "look at the formula again")
except CheckStop as stop:
    verdict(False, "{fn}", str(stop))'''

SOURCE = f'''# %% [markdown]
# # Demo course
#
# ## Exercise 1 — double

# %%
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


# %%
{CHECKER.format(fn="double", want=6)}

# %% [markdown]
# ## Exercise 2 — square

# %%
def square(x):
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION


# %%
{CHECKER.format(fn="square", want=9)}
'''


def _built_course(tmp_path_factory, name: str, notebook: str, source: str) -> Path:
    """A one-notebook course (``solutions/<notebook>.py`` = ``source``) with its learner notebook built."""
    root = tmp_path_factory.mktemp(name)
    (root / "solutions").mkdir()
    (root / "solutions" / f"{notebook}.py").write_text(source, encoding="utf-8")
    build_course(root)
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return _built_course(tmp_path_factory, "course", "01_demo", SOURCE)


def _learner(course: Path) -> nbformat.NotebookNode:
    return nbformat.read(course / "notebooks" / "01_demo.ipynb", as_version=4)


def _solved(course: Path) -> nbformat.NotebookNode:
    return inject_solutions(_learner(course), nbformat.read(course / "solutions" / "01_demo.ipynb", as_version=4))


def _class_folder(course: Path, folder: Path) -> None:
    (folder / "ada").mkdir(parents=True)
    nbformat.write(_solved(course), folder / "ada" / "01_demo.ipynb")            # solved, in a sub-folder
    half = _learner(course)                                                    # exercise 1 only
    ex1 = exercises(half)[0]
    half.cells[ex1.cell].source = "def double(x):\n    return x + x\n"
    nbformat.write(half, folder / "ben-01_demo.ipynb")
    broken = _solved(course)                                                   # exercise 1 does not parse,
    ex1, ex2 = exercises(broken)                                               # and its checker is "edited"
    broken.cells[ex1.cell].source = "def double(x)\n    return 2 * x\n"
    broken.cells[ex1.checker].source = 'print("\\u2705 double: correct.")'
    broken.cells[ex2.cell].source = "def square(x):\n    return x ** 2\n"
    nbformat.write(broken, folder / "cy_01_demo.ipynb")
    slow = _solved(course)                                                     # runs out of time before ex 2
    slow.cells.insert(exercises(slow)[1].cell, nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
    nbformat.write(slow, folder / "dan-01_demo.ipynb")
    (folder / ".ipynb_checkpoints").mkdir()
    nbformat.write(_learner(course), folder / ".ipynb_checkpoints" / "eve-01_demo.ipynb")  # skipped
    (folder / "notes-99_other.ipynb").write_text("{}")                                      # not a course notebook


def test_find_submissions_reads_folders_and_prefixes(course, tmp_path):
    _class_folder(course, tmp_path)
    subs = {(s.learner, s.notebook) for s in find_submissions(tmp_path, ["01_demo"])}
    assert subs == {("ada", "01_demo"), ("ben", "01_demo"), ("cy", "01_demo"), ("dan", "01_demo")}
    with pytest.raises(SbsrError, match="not a folder"):
        find_submissions(tmp_path / "missing", ["01_demo"])


@pytest.mark.slow
def test_grade_writes_one_row_per_learner_and_exercise(course, tmp_path):
    _class_folder(course, tmp_path)
    path = grade_folder(tmp_path, course, timeout=20, progress=False)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(rows[0]) == GRADE_FIELDS
    got = {(r["learner"], int(r["exercise"])): r["verdict"] for r in rows}
    assert got == {("ada", 1): "pass", ("ada", 2): "pass",
                   ("ben", 1): "pass", ("ben", 2): "fail",
                   ("cy", 1): "error", ("cy", 2): "pass",      # the edited checker did not count
                   ("dan", 1): "pass", ("dan", 2): "timeout"}
    ben2 = next(r for r in rows if r["learner"] == "ben" and r["exercise"] == "2")
    assert "Not implemented yet" in ben2["message"] and ben2["title"] == "Exercise 2 — square"
    cy1 = next(r for r in rows if r["learner"] == "cy" and r["exercise"] == "1")
    assert "SyntaxError" in cy1["message"]


@pytest.mark.slow
def test_the_cli_grades_and_the_kernel_has_no_network(course, tmp_path):
    (tmp_path / "ada").mkdir()
    nb = _solved(course)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import socket, urllib.request\n"
        "for call in (lambda: socket.create_connection(('93.184.216.34', 80), timeout=3),\n"
        "             lambda: urllib.request.urlopen('http://example.com', timeout=3)):\n"
        "    try:\n        call()\n        print('NETWORK REACHED')\n"
        "    except OSError as err:\n        print('refused:', err)\n"))
    nbformat.write(nb, tmp_path / "ada" / "01_demo.ipynb")
    out = tmp_path / "grades.csv"
    cli = [sys.executable, "-m", "sbsr_lab.cli", "course", "grade", str(tmp_path), "--root", str(course),
           "--timeout", "60", "--out", str(out)]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [r["verdict"] for r in csv.DictReader(out.open(encoding="utf-8"))] == ["pass", "pass"]
    # the same notebook, prepared as the grader does, run here to read the network cell's output
    ran = run_notebook(_prepare(nb, _learner(course)), tmp_path, 60)
    text = json.dumps(ran.nb.cells[-1].outputs)
    assert "NETWORK REACHED" not in text and text.count("refused") == 2
    assert "no network while grading" in text


def test_grade_without_notebooks_says_what_it_expects(course, tmp_path):
    with pytest.raises(SbsrError, match="No learner notebook"):
        grade_folder(tmp_path, course, progress=False)
    with pytest.raises(SbsrError, match="holds no course notebook"):
        grade_folder(tmp_path, tmp_path, progress=False)


def test_csv_cells_are_safe_for_spreadsheets():
    from sbsr_lab.grade import csv_safe

    assert [csv_safe(v) for v in ("=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "ada", 3)] == \
        ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "ada", "3"]


@pytest.mark.slow
def test_grading_survives_a_bad_notebook_links_and_an_interruption(course, tmp_path, monkeypatch):
    """An odd notebook gives its learner error rows only; a symlinked submission is not graded; grades are
    written as each notebook finishes and an interrupted run resumes; each notebook runs in its own copy."""
    import sbsr_lab.grade as grade

    cls = tmp_path / "class"
    cls.mkdir()
    nbformat.write(_solved(course), cls / "ada-01_demo.ipynb")
    (cls / "ben-01_demo.ipynb").write_text('{"cells": [{"cell_type": "code", "metadata": 7}], "nbformat": 4}')
    secret = tmp_path / "elsewhere.ipynb"
    nbformat.write(_solved(course), secret)
    (cls / "=HYPERLINK(1)-01_demo.ipynb").symlink_to(secret)
    vandal = _solved(course)  # tries to overwrite what the others handed in, next to it
    vandal.cells.append(nbformat.v4.new_code_cell("open('ada-01_demo.ipynb', 'w').write('gone')"))
    nbformat.write(vandal, cls / "zed-01_demo.ipynb")
    ran = []
    real = grade.run_notebook

    def interrupt_after_one(*args, **kwargs):
        if len(ran) == 1:
            raise KeyboardInterrupt
        ran.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(grade, "run_notebook", interrupt_after_one)
    with pytest.raises(KeyboardInterrupt):
        grade_folder(cls, course, timeout=60, progress=False)
    kept = list(csv.DictReader((cls / "grades.csv").open(encoding="utf-8")))
    assert {r["learner"] for r in kept} >= {"ada", "ben"}  # written as each notebook finished
    monkeypatch.setattr(grade, "run_notebook", real)
    path = grade_folder(cls, course, timeout=60, progress=False)  # resumes: the rest only
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    got = {(r["learner"], r["exercise"]): r["verdict"] for r in rows}
    assert got[("ada", "1")] == "pass" and got[("zed", "2")] == "pass"
    assert got[("ben", "1")] == "error" and got[("'=HYPERLINK(1)", "1")] == "error"
    linked = next(r for r in rows if r["learner"].startswith("'="))
    assert "symbolic link" in linked["message"]
    assert len(rows) == 8 and all(p != cls for p in ran)  # 4 learners x 2 exercises; never run in the class folder
    assert nbformat.read(cls / "ada-01_demo.ipynb", as_version=4).cells  # the vandal wrote into its own copy


# --- verdicts the learner's kernel cannot forge --------------------------------------------------------

FORGE_SOURCE = f'''# %% [markdown]
# # Forgery course
#
# ## Exercise 1 — double

# %%
from sbsr_lab import checks


# %%
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


# %%
{CHECKER.format(fn="double", want=6)}

# %% [markdown]
# ## Exercise 2 — choose up

# %%
def choose_up(scores, prior):
    ### BEGIN SOLUTION
    return max(scores, key=lambda name: scores[name] + (prior if name == "+Y" else 0.0))
    ### END SOLUTION


# %%
checks.render.check_choose_up(choose_up);
'''

#: learner -> (where: "before" = a cell before exercise 1, or an exercise number whose cell it replaces;
#: the learner's code; the exercises it makes the notebook show as passed). Every exercise is unsolved.
_FAKE = "print('\\u2705 choose_up: correct.') or True"
FORGERIES = {
    "printer": (1, "def double(x):\n    import os, sys, time\n    print('\\u2705 double: correct.')\n"
                   "    sys.stdout.flush()\n    time.sleep(1)\n"
                   "    os._exit(0)  # before the checker prints its verdict\n",
                {1}),
    "patcher": ("before", "import sbsr_lab.checks\nsbsr_lab.checks.verdict = "
                          "lambda ok, name, *a, **k: print(f'\\u2705 {name}: correct.') or True\n",
                {1, 2}),  # checks.render, imported after it, takes the fake too
    "printing": ("before", "import builtins\n_print = builtins.print\nbuiltins.print = "
                           "lambda *a, **k: _print(*(str(x).replace('\\u274c', '\\u2705') for x in a), **k)\n",
                 {1, 2}),
    "swapper": ("before", f"checks.render.check_choose_up = lambda fn: {_FAKE}\n", {2}),
    "shadow": ("before", "class checks:\n    class render:\n"
                         f"        check_choose_up = staticmethod(lambda fn: {_FAKE})\n",
               {2}),
    "hooker": ("before", "from IPython.display import clear_output\n\n\ndef _forge(*args):\n    clear_output()\n"
                         "    print('\\u2705 correct.')\n\n\nget_ipython().events.register('post_run_cell', _forge)\n",
               {1, 2}),
    "hider": (2, "def choose_up(scores, prior,\n"
                 "              _=__import__('sbsr_lab.checks.render', fromlist=['render']).__dict__.update(\n"
                 f"                  check_choose_up=lambda fn: {_FAKE})):\n"
                 "    raise NotImplementedError\n",
              {2}),
}


@pytest.fixture(scope="module")
def forge_course(tmp_path_factory) -> Path:
    return _built_course(tmp_path_factory, "forge_course", "01_forge", FORGE_SOURCE)


def _forge_class(course: Path, folder: Path) -> None:
    learner = nbformat.read(course / "notebooks" / "01_forge.ipynb", as_version=4)
    nbformat.write(inject_solutions(learner, nbformat.read(course / "solutions" / "01_forge.ipynb", as_version=4)),
                   folder / "honest-01_forge.ipynb")
    wrong = nbformat.from_dict(learner)
    ex1, ex2 = exercises(wrong)
    wrong.cells[ex1.cell].source = "def double(x):\n    return x + 1\n"
    wrong.cells[ex2.cell].source = "def choose_up(scores, prior):\n    return max(scores, key=scores.get)\n"
    nbformat.write(wrong, folder / "wrong-01_forge.ipynb")
    for name, (where, code, _) in FORGERIES.items():
        nb = nbformat.from_dict(learner)
        if where == "before":
            nb.cells.insert(exercises(nb)[0].cell, nbformat.v4.new_code_cell(code))
        else:
            nb.cells[exercises(nb)[where - 1].cell].source = code
        nbformat.write(nb, folder / f"{name}-01_forge.ipynb")


@pytest.mark.slow
def test_forged_verdicts_are_not_graded_pass(forge_course, tmp_path):
    """Each forgery makes the notebook *show* a pass (the message says the re-check overruled it), yet the
    grade is not pass; an honest correct notebook passes, an honest wrong one fails."""
    _forge_class(forge_course, tmp_path)
    path = grade_folder(tmp_path, forge_course, timeout=60, progress=False)
    rows = {(r["learner"], int(r["exercise"])): r for r in csv.DictReader(path.open(encoding="utf-8"))}
    verdicts = {key: r["verdict"] for key, r in rows.items()}
    assert verdicts[("honest", 1)] == verdicts[("honest", 2)] == "pass"
    assert verdicts[("wrong", 1)] == verdicts[("wrong", 2)] == "fail"
    for name, (_, _, shown) in FORGERIES.items():
        for number in (1, 2):
            assert verdicts[(name, number)] != "pass", (name, number, rows[(name, number)])
        for number in shown:  # the forgery worked in the kernel: the notebook's own output said pass
            assert rows[(name, number)]["message"].startswith("re-checked apart from the notebook"), (name, number)
    assert rows[("swapper", 2)]["verdict"] == "fail" and "Not implemented yet" in rows[("swapper", 2)]["message"]
    assert rows[("printer", 1)]["verdict"] == "error" and "without a verdict" in rows[("printer", 1)]["message"]


def test_recheck_runs_only_the_definitions_the_checker_needs(forge_course, tmp_path):
    """The re-check runs the course's checker on the learner's definitions in a fresh process: a top-level
    forgery is never run there, a helper and a constant the solution uses are; what a solution patches
    while the checker runs it is undone before the checker goes on."""
    learner = nbformat.read(forge_course / "notebooks" / "01_forge.ipynb", as_version=4)
    nb = nbformat.from_dict(learner)
    ex1, ex2 = exercises(nb)
    nb.cells[ex1.cell].source = ("FACTOR = 2\n\n\ndef _times(x, k):\n    return x * k\n\n\n"
                                 "def double(x):\n    return _times(x, FACTOR)\n\n\n"
                                 "print('\\u2705 double: correct.')\n")
    nb.cells[ex2.cell].source = ("def choose_up(scores, prior):\n    import sbsr_lab.checks.render as r\n"
                                 "    r.verdict = lambda ok, *a, **k: True  # while the checker runs it\n"
                                 "    return '+Y'\n")
    nb.cells.insert(ex1.cell, nbformat.v4.new_code_cell(FORGERIES["swapper"][1]))
    job = recheck_job(_prepare(nb, learner), learner)
    first = job["exercises"][0]
    assert "FACTOR = 2" in first["learner"] and "def _times" in first["learner"]
    assert "print" not in first["learner"] and first["names"] == ["double"]
    assert "check_choose_up =" not in job["exercises"][1]["learner"]
    got = recheck(_prepare(nb, learner), learner, tmp_path)
    assert got[1][0] == "pass" and got[2][0] == "fail"


@pytest.mark.slow
def test_course_solutions_pass_their_recheck_and_stubs_do_not(tmp_path):
    """Every exercise of the real course: its solution passes the re-check, its stub fails it (one process
    per notebook, as grading does): the re-check finds what each solution needs."""
    root = Path(__file__).resolve().parents[1]
    for ref_path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        reference = nbformat.read(ref_path, as_version=4)
        solved = inject_solutions(reference, nbformat.read(root / "solutions" / ref_path.name, as_version=4))
        numbers = {ex.number for ex in exercises(reference)}
        passed = recheck(_prepare(solved, reference), reference, tmp_path, timeout=300)
        assert {n: v[0] for n, v in passed.items()} == dict.fromkeys(numbers, "pass"), (ref_path.name, passed)
        stubs = recheck(_prepare(reference, reference), reference, tmp_path, timeout=300)
        assert {n: v[0] for n, v in stubs.items()} == dict.fromkeys(numbers, "fail"), (ref_path.name, stubs)


# --- no process outlives grading ------------------------------------------------------------------------

ESCAPE = '''import subprocess
# a process in a session of its own, and one orphaned at once (its shell exits) with an empty environment
own = subprocess.Popen(["sleep", "600"], start_new_session=True)
subprocess.run(["/bin/sh", "-c", "/bin/sleep 600 & echo $! > {orphan}"], start_new_session=True, env={{}})
open({own!r}, "w").write(str(own.pid))
'''


def _escaping(nb: nbformat.NotebookNode, tmp_path: Path, name: str) -> list[Path]:
    files = [tmp_path / f"{name}-own.pid", tmp_path / f"{name}-orphan.pid"]
    nb.cells.insert(0, nbformat.v4.new_code_cell(ESCAPE.format(own=str(files[0]), orphan=str(files[1]))))
    return files


def _gone(files: list[Path]) -> list[int]:
    """The pids written in ``files`` (which must exist) that still exist after a few seconds; those are killed."""
    pids = [int(f.read_text()) for f in files]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)
    left = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    for pid in left:  # do not leave them behind when the test fails
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_no_process_outlives_grading(course, tmp_path):
    """Processes a notebook starts in a new session, or orphans with an empty environment, are gone after
    grading, whether the notebook finished or timed out."""
    cls = tmp_path / "class"
    cls.mkdir()
    files = {}
    for learner in ("ada", "ben"):
        nb = _solved(course)
        files[learner] = _escaping(nb, tmp_path, learner)
        if learner == "ben":
            nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(120)"))
        nbformat.write(nb, cls / f"{learner}-01_demo.ipynb")
    path = grade_folder(cls, course, timeout=20, progress=False)
    got = {(r["learner"], r["exercise"]): r["verdict"] for r in csv.DictReader(path.open(encoding="utf-8"))}
    assert got == {("ada", "1"): "pass", ("ada", "2"): "pass", ("ben", "1"): "pass", ("ben", "2"): "pass"}
    assert all(f.exists() for fs in files.values() for f in fs)
    left = {learner: _gone(fs) for learner, fs in files.items()}
    assert left == {"ada": [], "ben": []}  # finished; timed out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_no_process_outlives_an_interrupted_run(course, tmp_path):
    """Ctrl-C while a cell runs: the kernel and what it started are gone too."""
    nb = _prepare(_solved(course), _learner(course))
    nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(120)"))
    files = _escaping(nb, tmp_path, "cy")

    def interrupt_once_started() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(f.exists() and f.read_text() for f in files):
            time.sleep(0.1)
        time.sleep(1)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_once_started, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_notebook(nb, tmp_path, 120)
    assert _gone(files) == []
