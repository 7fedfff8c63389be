"""Build the course website (``make book``): MkDocs + mkdocs-material + mkdocs-jupyter + mkdocstrings.

    python docs/book/build.py                      # execute the solution notebooks under ci, build build/book/
    python docs/book/build.py --execute none       # the notebooks as they are (no outputs): seconds
    python docs/book/build.py --site DIR --work DIR

It stages the pages in ``--work`` (default ``build/book_src``): the README as the home page, the pages
of ``docs/``, the solution notebooks (executed under ``SBSR_PROFILE=ci`` into ``build/book_executed``,
re-executed only when a notebook changed) and one API page per package (mkdocstrings reads the
docstrings), then runs ``mkdocs build --strict`` (warnings are errors) with ``docs/book/mkdocs.yml``.
The site needs nothing from the internet; serve it locally (``python -m http.server -d build/book``),
as search runs in a web worker, or open single pages from ``file://``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>", re.I)
CONFIG = Path(__file__).resolve().parent / "mkdocs.yml"
#: API pages: (page, title, modules documented on it)
API = [
    ("config", "Profiles", ["sbsr_lab.config"]),
    ("data", "Data", ["sbsr_lab.data.synthshapes", "sbsr_lab.data.strokes", "sbsr_lab.data.datasets"]),
    ("render", "Rendering", ["sbsr_lab.render"]),
    ("models", "Models", ["sbsr_lab.models.mvcnn", "sbsr_lab.models.heads", "sbsr_lab.models.protocol"]),
    ("losses", "Losses", ["sbsr_lab.losses"]),
    ("train", "Training", ["sbsr_lab.train.fit", "sbsr_lab.train.stage", "sbsr_lab.train.methods", "sbsr_lab.train.runs"]),
    ("retrieval", "Retrieval", ["sbsr_lab.retrieval.metrics"]),
    ("serve", "Serving", ["sbsr_lab.serve.query", "sbsr_lab.serve.result", "sbsr_lab.serve.index"]),
    ("course", "Course tools", ["sbsr_lab.notebook", "sbsr_lab.course", "sbsr_lab.grade", "sbsr_lab.checks"]),
]


def _title(nb_path: Path) -> str:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return nb_path.stem


def execute_notebooks(cache: Path, timeout: int = 900) -> list[Path]:
    """Run each ``solutions/NN_*.ipynb`` under the ci profile into ``cache``; reuse a result whose
    source notebook has not changed (its SHA-256 is kept beside it)."""
    import nbformat
    from nbclient import NotebookClient

    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        target, stamp = cache / src.name, cache / f"{src.stem}.sha256"
        if not (target.is_file() and stamp.is_file() and stamp.read_text().strip() == digest):
            start = time.perf_counter()
            nb = nbformat.read(src, as_version=4)
            os.environ["SBSR_PROFILE"] = "ci"
            os.environ["SBSR_REALDATA"] = "none"  # no renders of the real dev meshes in a published site (licence)
            os.environ["PLOTLY_RENDERER"] = "notebook"  # figures as HTML with plotly.js inline: no CDN
            NotebookClient(nb, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(src.parent)}}).execute()
            nbformat.write(nb, target)
            stamp.write_text(digest)
            print(f"executed {src.name} in {time.perf_counter() - start:.0f} s", flush=True)
        out.append(target)
    return out


def _static_copy(src: Path, dst: Path) -> None:
    """Copy a notebook for the site with nothing that needs the internet: live widgets (their views need
    a kernel and a widget manager from a CDN) leave only their text, and scripts that outputs load from
    other hosts go (plotly's figures ask for MathJax from a CDN; they use no LaTeX)."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            html = data.get("text/html")
            if html:
                text = "".join(html) if isinstance(html, list) else html
                data["text/html"] = _EXTERNAL_SCRIPT.sub("", text)
            if "application/vnd.jupyter.widget-view+json" in data:
                data.pop("application/vnd.jupyter.widget-view+json")
                data["text/plain"] = "(a live widget: run the notebook in Jupyter to use it)"
    nbformat.write(nb, dst)


def stage(work: Path, notebooks: list[Path]) -> None:
    """Write every page into ``work`` (emptied first)."""
    if work.exists():
        shutil.rmtree(work)
    (work / "notebooks").mkdir(parents=True)
    (work / "api").mkdir()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = readme.replace("](docs/", "](").replace("](benchmarks/README.md)", "](benchmarks.md)")
    (work / "index.md").write_text(readme, encoding="utf-8")
    shutil.copy2(ROOT / "benchmarks" / "README.md", work / "benchmarks.md")  # the speed figures' table
    for page in sorted((ROOT / "docs").iterdir()):
        if page.suffix == ".md":  # links that leave docs/ on GitHub point at the book's own copies
            text = page.read_text(encoding="utf-8").replace("](../benchmarks/README.md)", "](benchmarks.md)")
            (work / page.name).write_text(text, encoding="utf-8")
        elif page.suffix in (".png", ".svg"):
            shutil.copy2(page, work / page.name)
    for nb in notebooks:
        _static_copy(nb, work / "notebooks" / nb.name)
    lines = ["# API reference", "", "Generated from the docstrings of the library (mkdocstrings).", ""]
    for page, title, modules in API:
        body = [f"# {title}", ""] + [f"::: {m}\n" for m in modules]
        (work / "api" / f"{page}.md").write_text("\n".join(body), encoding="utf-8")
        lines.append(f"* [{title}]({page}.md): " + ", ".join(f"`{m}`" for m in modules))
    (work / "api" / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs = [p.name for p in sorted(work.glob("*.md")) if p.name != "index.md"]
    nav = ["nav:", "  - Home: index.md", "  - Course:"]
    nav += [f"      - \"{_title(nb)}\": notebooks/{nb.name}" for nb in notebooks]
    nav += ["  - Docs:"] + [f"      - {d[:-3].replace('_', ' ').capitalize()}: {d}" for d in docs]
    nav += ["  - API reference:", "      - api/index.md"] + [f"      - {t}: api/{p}.md" for p, t, _ in API]
    config = CONFIG.read_text(encoding="utf-8")
    config += f"\ndocs_dir: {work}\n" + "\n".join(nav) + "\n"
    (work.parent / f"{work.name}.mkdocs.yml").write_text(config, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", choices=["all", "none"], default="all")
    parser.add_argument("--site", default=str(ROOT / "build" / "book"), help="output folder (default build/book)")
    parser.add_argument("--work", default=str(ROOT / "build" / "book_src"), help="staging folder")
    args = parser.parse_args(argv)
    work, site = Path(args.work).resolve(), Path(args.site).resolve()
    if args.execute == "all":
        notebooks = execute_notebooks(ROOT / "build" / "book_executed")
    else:
        notebooks = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    stage(work, notebooks)
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "-f",
           str(work.parent / f"{work.name}.mkdocs.yml"), "-d", str(site)]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    print(f"mkdocs build: {time.perf_counter() - start:.0f} s -> {site}/index.html")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
