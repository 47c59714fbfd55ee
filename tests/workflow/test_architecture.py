"""The package's import structure: imports at the top of a module only, no circle, and each stage imports
only the stages below it. Read from the source with ast, so a violation fails here before it bites."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "workflow" / "chartreview"

# Stage subpackage -> the subpackages it may import (the root package holds only the version: anyone may).
ALLOWED = {
    "core": {"core"},
    "stats": {"core", "stats"},
    "extract": {"core", "extract"},
    "validate": {"core", "extract", "validate"},
    "derive": {"core", "extract", "derive"},
    "endpoints": {"core", "stats", "endpoints"},
    "tables": {"core", "endpoints", "tables"},
    "figures": {"core", "stats", "figures"},
    "report": {"core", "derive", "report"},
    "synthetic": {"core", "stats", "extract", "validate", "derive", "endpoints", "tables", "figures", "report",
                  "synthetic"},
}

# Entry points being rewritten on another branch; remove each entry once its imports are at the top.
IMPORTS_IN_FUNCTIONS_ALLOWED = {
    ("chartreview.extract.redcap", "run"),
    ("chartreview.validate.queries", "run"),
    ("chartreview.derive.derivation", "run"),
    ("chartreview.derive.derivation", "read_extracted"),
}


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The package modules an import statement reads (a name imported from a package may be a module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
            base = ".".join(anchor + ([base] if base else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    return sorted({n for n in names if n == "chartreview" or n.startswith("chartreview.")})


def imports(package: Path = PACKAGE) -> list[tuple[str, str, str | None, int]]:
    """(importing module, imported module, enclosing function or None at module level, line) for every
    package-internal import; an import under an ``if`` or ``try`` at module level counts as not at the top."""
    found = modules(package)
    known = set(found)
    result = []
    for module, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top = {id(node) for node in tree.body}

        def visit(node, function):
            for child in ast.iter_child_nodes(node):
                inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    where = None if id(child) in top else (function or "<not at module top>")
                    for target in _imported(child, module, path.name == "__init__.py", known):
                        result.append((module, target, where, child.lineno))
                visit(child, inner)

        visit(tree, None)
    return result


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imports_not_at_top(package: Path = PACKAGE) -> list[str]:
    return [f"{source}:{line} imports {target} inside {where}"
            for source, target, where, line in imports(package)
            if where is not None and (source, where) not in IMPORTS_IN_FUNCTIONS_ALLOWED]


def circles(package: Path = PACKAGE) -> list[list[str]]:
    """The import circles between package modules (each as a path back to its start)."""
    graph: dict[str, set[str]] = {m: set() for m in modules(package)}
    for source, target, _, _ in imports(package):
        if target != source:
            graph[source].add(target)
    found, state, stack = [], {}, []

    def walk(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                walk(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            walk(m)
    return found


def upward_imports(package: Path = PACKAGE) -> list[str]:
    bad = []
    for source, target, _, line in imports(package):
        if stage(target) is not None and stage(target) not in ALLOWED.get(stage(source), set()):
            bad.append(f"{source}:{line} ({stage(source)}) imports {target} ({stage(target)})")
    return bad


def test_every_module_is_in_a_stage_of_the_layer_table():
    assert {stage(m) for m in modules()} - {None} == set(ALLOWED)


def test_package_imports_are_at_the_top_of_a_module():
    assert imports_not_at_top() == []


def test_no_import_circle_between_package_modules():
    assert circles() == []


def test_imports_point_down_the_stages():
    assert upward_imports() == []


def test_the_checks_see_a_circle_a_lazy_import_and_an_upward_import(tmp_path):
    package = tmp_path / "chartreview"
    for sub in ("core", "stats"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "core" / "a.py").write_text("from chartreview.core import b\n")
    (package / "core" / "b.py").write_text("def f():\n    from chartreview.core.a import x\n")
    (package / "core" / "c.py").write_text("from chartreview.stats import d\n")
    (package / "stats" / "d.py").write_text("import numpy\n")
    assert circles(package) == [["chartreview.core.a", "chartreview.core.b", "chartreview.core.a"]]
    assert imports_not_at_top(package) == ["chartreview.core.b:2 imports chartreview.core.a inside f"]
    assert upward_imports(package) == ["chartreview.core.c:1 (core) imports chartreview.stats.d (stats)"]
