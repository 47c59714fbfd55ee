"""The package's import structure: imports at the top of a module only, no circle, and each stage imports
only the stages below it. Read from the source with ast, so a violation fails here before it bites."""

from __future__ import annotations

from pathlib import Path

from support import PACKAGE
from support.package import imports, modules, stage

# Stage subpackage -> the subpackages it may import (the root package holds only the version: anyone may).
ALLOWED = {
    "core": {"core"},
    "stats": {"core", "stats"},
    "extract": {"core", "extract"},
    "validate": {"core", "extract", "validate"},
    "derive": {"core", "derive"},
    "endpoints": {"core", "stats", "endpoints"},
    "tables": {"core", "tables"},
    "figures": {"core", "figures"},
    "report": {"core", "derive", "report"},
    "synthetic": {"core", "stats", "extract", "validate", "derive", "endpoints", "tables", "figures", "report",
                  "synthetic"},
}

def imports_not_at_top(package: Path = PACKAGE) -> list[str]:
    return [f"{source}:{line} imports {target} inside {where}"
            for source, target, where, line in imports(package)
            if where is not None]


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
