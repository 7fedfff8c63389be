"""Course machinery: learner notebooks are generated from the solutions and stay in sync."""

from pathlib import Path

import nbformat
import pytest

from sbsr_lab.course import BEGIN, END, STUB, build_course, check_course, learner_notebook, strip_solutions
from sbsr_lab.errors import SbsrError

REPO = Path(__file__).resolve().parents[1]


def test_strip_solutions_keeps_indentation_and_code_around():
    src = f"def f(x):\n    '''doc'''\n    {BEGIN}\n    y = x + 1\n    return y\n    {END}\n\nprint(1)\n"
    out = strip_solutions(src)
    assert out == f"def f(x):\n    '''doc'''\n    {STUB}\n\nprint(1)\n"
    assert strip_solutions("a = 1\n") == "a = 1\n"


@pytest.mark.parametrize("bad, msg", [
    (f"{BEGIN}\nx\n", "never closed"),
    (f"x\n{END}\n", "without a matching"),
    (f"{BEGIN}\n{BEGIN}\n{END}\n", "nested"),
])
def test_strip_solutions_rejects_broken_markers(bad, msg):
    with pytest.raises(SbsrError, match=msg):
        strip_solutions(bad)


def test_learner_notebook_only_touches_code_cells():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"text {BEGIN}"),
                nbformat.v4.new_code_cell(f"{BEGIN}\nanswer = 42\n{END}"),
                nbformat.v4.new_code_cell("check(answer)")]
    out = learner_notebook(nb)
    assert out.cells[0].source == nb.cells[0].source
    assert out.cells[1].source == STUB + "\n" or out.cells[1].source == STUB
    assert "42" not in out.cells[1].source and out.cells[2].source == "check(answer)"
    assert out.metadata["sbsr_lab"]["exercises"] == 1
    assert "42" in nb.cells[1].source  # the solution notebook is not modified


def test_build_course_on_a_tmp_course(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "01_demo.py").write_text(
        "# %% [markdown]\n# # Demo\n\n# %%\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n# %%\nprint(f())\n"
    )
    assert len(check_course(tmp_path)) == 2
    written = build_course(tmp_path)
    assert sorted(p.name for p in written) == ["01_demo.ipynb", "01_demo.ipynb"]
    assert check_course(tmp_path) == []
    learner = nbformat.read(tmp_path / "notebooks" / "01_demo.ipynb", as_version=4)
    assert "return 1" not in learner.cells[1].source and "NotImplementedError" in learner.cells[1].source
    assert build_course(tmp_path) == []  # nothing to rewrite
    (tmp_path / "solutions" / "01_demo.py").write_text("# %%\nprint(2)\n")
    assert any("out of date" in p for p in check_course(tmp_path))


def test_repository_notebooks_are_in_sync():
    problems = check_course(REPO)
    assert problems == [], "\n".join(problems)
