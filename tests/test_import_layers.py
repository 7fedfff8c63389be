"""The package's import graph: layers import downwards only, and no two modules import each other.

Every ``import sbsr_lab...`` counts, at module level, inside functions (lazy imports) and under
``TYPE_CHECKING``: a lazy import is still a dependency. The layers are those of docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sbsr_lab"

#: Lowest first. A module may import its own top-level package and anything in a lower layer or the
#: same one. Top-level packages/modules not listed are applications (layer above all): they may import
#: anything and nothing listed may import them.
LAYERS: list[set[str]] = [
    {"sbsr_lab", "errors", "io", "config", "similarity", "progress"},  # base
    {"render"},                      # meshes -> views; never imports data
    {"data"},                        # SynthShapes, sketch generator (uses render), strokes, datasets, benchmarks
    {"models", "losses"},
    {"train"},
    {"retrieval"},                   # metrics, ranking, curves, evaluation, reports
    {"serve"},                       # query engine, bundles, searchable galleries, calibration
]


def _modules() -> dict[str, Path]:
    mods = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rsplit(".", 1)[0] if "." in name else ""
    return name or None


def import_graph() -> dict[str, set[str]]:
    """``{module: the sbsr_lab modules it imports}`` (``from pkg import sub`` counts as ``pkg.sub``)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        deps: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(_resolve(a.name, mods) for a in node.names if a.name.split(".")[0] == "sbsr_lab")
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                if base.split(".")[0] != "sbsr_lab":
                    continue
                for a in node.names:
                    full = f"{base}.{a.name}"
                    deps.add(full if full in mods else _resolve(base, mods))
        deps.discard(None)
        deps.discard(mod)
        graph[mod] = {d for d in deps if d is not None}
    return graph


def _top(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _layer(top: str) -> int:
    return next((i for i, layer in enumerate(LAYERS) if top in layer), len(LAYERS))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_graph_sees_known_imports():
    graph = import_graph()
    assert "sbsr_lab.render" in graph["sbsr_lab.data.sketchgen.viewpoints"]
    assert "sbsr_lab.data.strokes" in graph["sbsr_lab.data.stroke_io"]
    assert "sbsr_lab.retrieval.fast_ranking" in graph["sbsr_lab.retrieval.ranking"]


def test_layers_import_downwards_only():
    bad = sorted(
        f"{mod} imports {dep}"
        for mod, deps in import_graph().items()
        for dep in deps
        if _top(dep) != _top(mod) and _layer(_top(dep)) > _layer(_top(mod))
    )
    assert not bad, "imports against the layer order (docs/architecture.md):\n" + "\n".join(bad)


def test_render_never_imports_data():
    bad = [m for m, deps in import_graph().items() if m.startswith("sbsr_lab.render")
           for d in deps if d.startswith("sbsr_lab.data")]
    assert not bad, bad


def test_no_circular_imports():
    cycles = _cycles(import_graph())
    assert not cycles, "modules that import each other (directly or in a ring): " + "; ".join(
        " <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("graph, want", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_cycle_finder(graph, want):
    assert _cycles(graph) == want
