"""Every learner notebook runs end to end (ci profile), twice:

* as handed out (every exercise a stub): Run All raises nowhere, and every checker says "not yet" with
  the friendly "not implemented" message (later cells fall back to the library where they use an answer);
* with the solutions' answers injected into the stub cells: Run All raises nowhere and every checker passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from sbsr_lab.course import checker_verdicts, exercises, inject_solutions
from sbsr_lab.grade import run_notebook

REPO = Path(__file__).resolve().parents[1]
LEARNER = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TIMEOUT = 900


def _env() -> dict[str, str]:
    return {**os.environ, "SBSR_PROFILE": "ci"}


def _errors(nb) -> list[str]:
    return [f"cell {i}: {o.get('ename')}: {o.get('evalue')}\n{nb.cells[i].source[:300]}"
            for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("path", LEARNER, ids=[p.stem for p in LEARNER])
def test_learner_notebook_runs_end_to_end_with_the_answers_injected(path):
    learner = nbformat.read(path, as_version=4)
    solution = nbformat.read(REPO / "solutions" / path.name, as_version=4)
    nb = inject_solutions(learner, solution)
    for ex in exercises(nb):  # the injected cells are the solutions', every other cell the learner's
        assert "NotImplementedError(\"Your turn" not in nb.cells[ex.cell].source
    assert [c.source for i, c in enumerate(nb.cells) if i not in {e.cell for e in exercises(nb)}] == \
        [c.source for i, c in enumerate(learner.cells) if i not in {e.cell for e in exercises(learner)}]
    outcome = run_notebook(nb, path.parent, TIMEOUT, env=_env())
    assert not outcome.timed_out, f"{path.name} did not finish in {TIMEOUT} s"
    assert _errors(outcome.nb) == [], "\n".join(_errors(outcome.nb))
    verdicts = checker_verdicts(outcome.nb)
    assert len(verdicts) == len(exercises(learner))
    for ex, verdict, message in verdicts:
        assert verdict == "pass", f"{path.name}, {ex.title}: {verdict}: {message}"


@pytest.mark.slow
@pytest.mark.parametrize("path", LEARNER, ids=[p.stem for p in LEARNER])
def test_learner_notebook_as_handed_out_runs_all_and_says_not_yet(path):
    nb = nbformat.read(path, as_version=4)
    if not exercises(nb):
        pytest.skip(f"{path.name} has no exercise")
    outcome = run_notebook(nb, path.parent, TIMEOUT, env=_env())
    assert not outcome.timed_out, f"{path.name} did not finish in {TIMEOUT} s"
    assert _errors(outcome.nb) == [], "\n".join(_errors(outcome.nb))
    for ex, verdict, message in checker_verdicts(outcome.nb):
        assert verdict == "fail" and "not implemented" in message.lower(), f"{path.name}, {ex.title}: {verdict}: {message}"
