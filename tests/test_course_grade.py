"""`sbsr-lab course grade FOLDER`: a solved, a half-done, a broken and a too-slow notebook of a small course
give one CSV row per learner and exercise with the right verdict; checker cells edited by a learner are
replaced by the course's; the kernel cannot reach the network."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sbsr_lab.course import build_course, exercises, inject_solutions
from sbsr_lab.errors import SbsrError
from sbsr_lab.grade import GRADE_FIELDS, _prepare, find_submissions, grade_folder, run_notebook

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


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    (root / "solutions").mkdir()
    (root / "solutions" / "01_demo.py").write_text(SOURCE, encoding="utf-8")
    build_course(root)
    return root


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
