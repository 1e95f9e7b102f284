"""The package's import graph, from an AST walk of every module (imports inside functions and
``TYPE_CHECKING`` blocks included): no module reaches itself again through its imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: the jaxseq modules it imports}``; ``from jaxseq.a import b`` counts as an
    import of ``jaxseq.a.b`` where that is a module, else of ``jaxseq.a``."""
    modules = {_module_name(p): p for p in (ROOT / "jaxseq").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxseq"):
                base = node.module or ""
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    edges.add(target if target in modules else base)
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_the_package_and_finds_a_planted_circle():
    graph = import_graph()
    assert "jaxseq.app.compare" in graph and "jaxseq.app.backtest" in graph["jaxseq.app.compare"]
    planted = {k: set(v) for k, v in graph.items()}
    planted["jaxseq.metrics"].add("jaxseq.app.compare")  # compare -> ... -> metrics -> compare
    assert any("jaxseq.metrics" in group for group in cycles(planted))


def test_no_import_circle_in_the_package():
    assert cycles(import_graph()) == []
