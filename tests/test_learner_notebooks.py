"""Learner notebooks run up to their first exercise, which raises NotImplementedError (the stub)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from sbsr_lab.course import STUB

REPO = Path(__file__).resolve().parents[1]
LEARNER = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", LEARNER, ids=[p.stem for p in LEARNER])
def test_learner_notebook_runs_to_its_first_exercise(path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and STUB in c.source), None)
    if first is None:
        pytest.skip(f"{path.name} has no exercise")
    nb.cells = nb.cells[: first + 1]
    monkeypatch.setenv("SBSR_PROFILE", os.environ.get("SBSR_PROFILE", "ci"))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError, match="NotImplementedError"):
        client.execute()
    # every cell before the exercise ran without error
    for cell in nb.cells[:first]:
        if cell.cell_type == "code":
            assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), cell.source[:80]
