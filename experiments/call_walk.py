"""How often following ``jaxseq compare`` through the code climbs back to a module it left.

An AST walk of the package (no import of it): every function and method, and the calls in its
body that resolve to another jaxseq function (``module.f(...)`` through an imported module,
``f(...)`` imported by name or defined in the same module). From the command's handler
(``cmd_compare``, or any ``--root module:function``), each function is entered at its
first call, depth first in call order; a call *climbs back* when it enters a module that is on
the call stack below its caller (``compare -> workflow -> compare``), counted once per
distinct call; a *return* is an entry into a module the walk had entered and left before.
Also reported: the functions reached and the modules they lie in.

Run: ``python experiments/call_walk.py [--source DIR]`` (``--source``: another checkout,
e.g. an older commit's ``git worktree``); prints JSON.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = "jaxseq.app.cli.commands:cmd_compare"


def modules(source: Path) -> dict[str, ast.Module]:
    out = {}
    for path in sorted((source / "jaxseq").rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(), str(path))
    return out


def functions(tree: ast.Module) -> dict[str, ast.AST]:
    """Top-level functions and methods (``Class.method``) of one module."""
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    out[f"{node.name}.{item.name}"] = item
    return out


def names_in(tree: ast.AST, known: set[str]) -> dict[str, str]:
    """What each imported name in ``tree`` (module level and inside functions) refers to:
    ``{local name: "module"}`` or ``{local name: "module:function"}``."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    out[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxseq"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                local = alias.asname or alias.name
                out[local] = full if full in known else f"{node.module}:{alias.name}"
    return out


def call_graph(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    known = set(trees)
    defined = {m: functions(t) for m, t in trees.items()}
    graph: dict[str, set[str]] = {}
    for module, tree in trees.items():
        imported = names_in(tree, known)
        for fname, node in defined[module].items():
            edges: set[str] = set()
            for call in ast.walk(node):
                if not isinstance(call, ast.Call):
                    continue
                target = None
                f = call.func
                if isinstance(f, ast.Name):
                    if f.id in defined[module]:
                        target = f"{module}:{f.id}"
                    elif ":" in imported.get(f.id, ""):
                        target = imported[f.id]
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                    ref = imported.get(f.value.id)
                    if ref is not None and ":" not in ref:
                        target = f"{ref}:{f.attr}"
                if target is not None:
                    mod, name = target.split(":")
                    if name in defined.get(mod, {}):
                        edges.add(target)
            graph[f"{module}:{fname}"] = edges
    return graph


def walk(graph: dict[str, set[str]], root: str) -> dict:
    """Depth first from ``root``, in call order, each function entered once (where it is
    first called): calls into a module already on the call stack below the caller
    (*climbs back*), and entries into a module the walk had entered and left before
    (*returns*)."""
    import sys

    sys.setrecursionlimit(10_000)
    seen: set[str] = set()
    climbs: set[tuple[str, str]] = set()
    entered: set[str] = set()
    returns = 0

    def visit(function: str, stack: list[str]) -> None:
        nonlocal returns
        seen.add(function)
        here = function.split(":")[0]
        for callee in sorted(graph.get(function, ())):
            there = callee.split(":")[0]
            if there != here:
                if there in stack[:-1]:
                    climbs.add((function, callee))
                if there in entered and there not in stack:
                    returns += 1
                entered.add(there)
            if callee not in seen:
                visit(callee, stack + [there] if there != here else stack)

    entered.add(root.split(":")[0])
    visit(root, [root.split(":")[0]])
    return {
        "root": root,
        "functions_reached": len(seen),
        "modules_reached": len({f.split(":")[0] for f in seen}),
        "climbs_back": len(climbs),
        "returns_to_modules_left": returns,
        "calls": sorted(f"{a} -> {b}" for a, b in climbs),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--root", default=ROOT)
    args = parser.parse_args(argv)
    print(json.dumps(walk(call_graph(modules(Path(args.source))), args.root), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
