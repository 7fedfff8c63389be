"""Learner notebooks run up to their first exercise: every cell before it runs, the exercise stub either
raises NotImplementedError itself or leaves its checker saying "not implemented yet"."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from sbsr_lab.course import STUB

REPO = Path(__file__).resolve().parents[1]
LEARNER = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"]))
        out.append(str(o.get("data", {}).get("text/plain", "")))
        out.append(str(o.get("evalue", "")))
    return "\n".join(out)


@pytest.mark.slow
@pytest.mark.parametrize("path", LEARNER, ids=[p.stem for p in LEARNER])
def test_learner_notebook_runs_to_its_first_exercise(path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and STUB in c.source), None)
    if first is None:
        pytest.skip(f"{path.name} has no exercise")
    checker = next((i for i in range(first + 1, len(nb.cells)) if nb.cells[i].cell_type == "code"), first)
    nb.cells = nb.cells[: checker + 1]
    monkeypatch.setenv("SBSR_PROFILE", os.environ.get("SBSR_PROFILE", "ci"))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
        raised = None
    except CellExecutionError as err:
        raised = err
    for cell in nb.cells[:first]:
        if cell.cell_type == "code":
            assert "Traceback" not in _text(cell) and not any(o.get("output_type") == "error" for o in cell.outputs), \
                f"{path.name}: a cell before the first exercise failed:\n{cell.source[:200]}"
    if raised is not None:  # a top-level stub raises when it runs
        assert "NotImplementedError" in str(raised)
    else:  # a stub inside a function: its checker must say it is not implemented, not crash
        verdict = _text(nb.cells[checker]).lower()
        assert "not implemented" in verdict and "❌" in verdict, verdict
