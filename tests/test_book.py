"""`make book`: the course website builds with MkDocs in strict mode (warnings are errors) and has a page per
notebook, per docs page and per API section, the API pages filled from the docstrings.

The test builds from the solution notebooks as committed (no outputs: `--execute none`) to stay well under a
minute; `make book` executes them under the ci profile first."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_book(site: Path, work: Path) -> float:
    """Build the site into ``site`` (notebooks not executed); returns the seconds it took."""
    pytest.importorskip("mkdocs", reason="the book extra is not installed (pip install -e '.[book]')")
    pytest.importorskip("mkdocs_jupyter", reason="the book extra is not installed (pip install -e '.[book]')")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "book" / "build.py"), "--execute", "none",
                           "--site", str(site), "--work", str(work)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return time.perf_counter() - start


@pytest.mark.slow
def test_book_builds_strict_with_every_page(tmp_path):
    site = tmp_path / "site"
    seconds = build_book(site, tmp_path / "src")
    print(f"book built in {seconds:.0f} s")
    notebooks = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    for stem in notebooks:
        page = site / "notebooks" / f"{stem}.html"
        assert page.is_file(), page
    assert "What you will learn" in (site / "notebooks" / "05_gpu_retrieval_evaluation.html").read_text(encoding="utf-8")
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert (site / f"{doc.stem}.html").is_file(), doc
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "What is verified and what is not" in home and 'href="architecture.html"' in home
    losses = (site / "api" / "losses.html").read_text(encoding="utf-8")
    assert "AMSoftmaxLoss" in losses and "CosFace" in losses          # a class and its docstring
    models = (site / "api" / "models.html").read_text(encoding="utf-8")
    assert "MultiViewNet" in models and "view pooling" in models
    assert (site / "api" / "course.html").is_file() and (site / "search" / "search_index.json").is_file()


def test_the_site_copy_of_a_notebook_needs_no_internet(tmp_path):
    """A widget view needs a kernel and a widget manager from a CDN: the site keeps only its text; scripts
    from other hosts in an output (plotly asks for MathJax from a CDN) are dropped."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "docs" / "book" / "build.py")
    book = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("demo")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "VBox()"})]
    figure = nbformat.v4.new_code_cell("fig")
    figure.outputs = [nbformat.v4.new_output("display_data", data={"text/html": (
        '<div> <script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/3.2.2/es5/tex-svg.min.js"></script>'
        '<script>Plotly.newPlot("x")</script></div>')})]
    nb.cells = [cell, figure]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, tmp_path / "in.ipynb")
    book._static_copy(tmp_path / "in.ipynb", tmp_path / "out.ipynb")
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "widgets" not in out.metadata
    html = out.cells[1].outputs[0]["data"]["text/html"]
    assert "cdnjs" not in html and "Plotly.newPlot" in html      # the figure stays, its CDN script goes
    assert list(out.cells[0].outputs[0]["data"]) == ["text/plain"] and "live widget" in out.cells[0].outputs[0]["data"]["text/plain"]
