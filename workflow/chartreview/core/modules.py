"""The package's modules and the imports between them, read from the source (standard library only).

The rules digest the code a step runs through it (``code_version`` in workflow/rules/common.smk: a changed
module reruns the steps that import it), and the tests check the package's layering with it, so both read
the imports the same way.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


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
    return list(_imports(Path(package)))


# Read once per process: the rules ask for the closure of each step, and Snakemake parses the workflow once
# per run (and per cluster job).
@functools.cache
def _imports(package: Path) -> tuple[tuple[str, str, str | None, int], ...]:
    found = modules(package)
    known = set(found)
    result = []
    for module, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top = {id(node) for node in tree.body}

        def visit(node, function, module=module, path=path, top=top):
            for child in ast.iter_child_nodes(node):
                inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    where = None if id(child) in top else (function or "<not at module top>")
                    for target in _imported(child, module, path.name == "__init__.py", known):
                        result.append((module, target, where, child.lineno))
                visit(child, inner, module, path, top)

        visit(tree, None)
    return tuple(result)


def closure(names, package: Path = PACKAGE) -> set[str]:
    """The package modules that the named modules import, directly or not, the named ones included; a
    module imports the __init__ of every package above it."""
    graph: dict[str, set[str]] = {}
    for source, target, _, _ in imports(package):
        graph.setdefault(source, set()).add(target)
    pending, seen = set(names), set()
    while pending:
        module = pending.pop()
        seen.add(module)
        parts = module.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts))}
        pending |= (graph.get(module, set()) | parents) - seen
    return seen
