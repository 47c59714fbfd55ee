"""The package's modules and the imports between them (``chartreview.core.modules``, which the rules'
code digests read too), and what the tests add to them: a module's stage and its third-party imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from chartreview.core.modules import closure, imports, modules

__all__ = ["closure", "imports", "modules", "stage", "third_party_imports"]


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def third_party_imports(path: Path) -> set[str]:
    """The top-level names of the modules outside the package and the standard library that a file imports,
    anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return {name for name in found if name != "chartreview" and name not in sys.stdlib_module_names}
