"""The engine's structure: its stages import only from the stages before them.

Walks the AST of every module of engine/ (`reesens`) and kernels/ (`reesens.kernels`),
imports inside functions included, and fails on an import cycle between modules and on an
import of a later stage. A sub-package's `__init__` that only documents its stage imports
nothing.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the stages of a run, in data-flow order; each imports only from the ones before it
STAGES = ("kernels", "core", "study", "design", "evaluate", "methods", "store", "execute",
          "runs", "present", "interface")
INTERFACE = ("reesens", "reesens.commands", "reesens.cli",
             "reesens.__main__")  # the API and the command line


def modules() -> dict[str, Path]:
    """{dotted module name: file} of every module of reesens."""
    found = {}
    for folder, package in (("engine", "reesens"), ("kernels", "reesens.kernels")):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts
                     if p != "__init__"]
            found[".".join([package, *parts])] = path
    return found


def stage(module: str) -> str:
    """The stage a module belongs to: its sub-package of reesens, kernels, or interface."""
    if module in INTERFACE:
        return "interface"
    return module.split(".")[1]


def imports(module: str, path: Path, known) -> list[tuple[str, int]]:
    """[(imported reesens module, line)] of every import statement in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(head + ([base] if base else []))
            # each name: a module of its own, else a name in the module `base`
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module and target.startswith("reesens"):
                found.append((target, node.lineno))
    return found


def graph():
    known = modules()
    return known, {m: imports(m, p, known) for m, p in known.items()}


def test_every_module_is_in_a_stage():
    known, _ = graph()
    assert len(known) > 30
    assert {stage(m) for m in known} <= set(STAGES)
    for m in known:  # stages hold modules, and a method may be a package of its own
        assert m.count(".") <= 2 or m.startswith(("reesens.kernels", "reesens.methods.")), m


def test_every_package_is_installed():
    """pyproject.toml lists every package of engine/ and kernels/: an installed reesens
    (not only an editable one) has every module."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {m for m, path in modules().items() if path.name == "__init__.py"}
    assert found == listed


def test_no_module_imports_a_later_stage():
    known, edges = graph()
    late = [f"{known[m].relative_to(ROOT)}:{line} imports {target} ({stage(target)} comes "
            f"after {stage(m)})"
            for m, targets in edges.items() for target, line in targets
            if STAGES.index(stage(target)) > STAGES.index(stage(m))]
    assert not late, "\n".join(late)


def test_no_import_cycles():
    """Tarjan's strongly connected components over every import (function level too)."""
    _, edges = graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w, _ in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    assert not cycles, cycles


@pytest.mark.parametrize("text, expected", [
    ("from reesens.runs import grid\n", ["reesens.runs.grid"]),
    ("def f():\n    from reesens.present.report import write_report\n",
     ["reesens.present.report"]),
    ("import reesens.kernels.woods\n", ["reesens.kernels.woods"]),
    ("from . import layout\n", ["reesens.store.layout"]),
    ("from reesens.store import cube, integrity\n", ["reesens.store.cube", "reesens.store.integrity"]),
    ("from reesens.store.ownership import StoreError, entries\n",
     ["reesens.store.ownership", "reesens.store.ownership"]),
])
def test_imports_are_found(tmp_path, text, expected):
    """The walk sees module-level, function-level, absolute and relative imports."""
    known, _ = graph()
    path = tmp_path / "probe.py"
    path.write_text(text)
    assert [t for t, _ in imports("reesens.store.probe", path, known)] == expected
