"""The package's modules and the imports between them, read from the source (standard library only).

The rules digest the code a step runs through it (``code_version`` in workflow/rules/common.smk: a changed
module reruns the steps that import it), and the tests check the package's layering with it, so both read
the imports the same way.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(statement: tuple, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The package modules an import statement reads (a name imported from a package may be a module)."""
    is_from, base, level, aliases = statement[:4]
    if not is_from:
        names = list(aliases)
    else:
        base = base or ""
        if level:
            anchor = module.split(".")[: len(module.split(".")) - level + (1 if is_package else 0)]
            base = ".".join(anchor + ([base] if base else []))
        names = [f"{base}.{alias}" if f"{base}.{alias}" in known else base for alias in aliases]
    return sorted({n for n in names if n == "chartreview" or n.startswith("chartreview.")})


def _statements(text: bytes, path: Path) -> list[list]:
    """Every import statement of a module's source, in source order: [is ``from ... import``, module, level,
    imported names, enclosing function or None at module level, line]. Imports are statements, so only the
    statement lists (bodies, branches, handlers) are walked, not the expressions."""
    found = []

    def walk(statements, function, top):
        for node in statements:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                where = None if top else (function or "<not at module top>")
                is_from = isinstance(node, ast.ImportFrom)
                found.append([is_from, node.module if is_from else None, node.level if is_from else 0,
                              [alias.name for alias in node.names], where, node.lineno])
            inner = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            for field in node._fields:
                children = getattr(node, field)
                if isinstance(children, list) and children and isinstance(
                        children[0], (ast.stmt, ast.excepthandler, ast.match_case)):
                    walk(children, inner, False)

    walk(ast.parse(text, filename=str(path)).body, None, True)
    return found


def imports(package: Path = PACKAGE, cache: Path | None = None) -> list[tuple[str, str, str | None, int]]:
    """(importing module, imported module, enclosing function or None at module level, line) for every
    package-internal import; an import under an ``if`` or ``try`` at module level counts as not at the top.
    ``cache``: a file keeping each module's import statements by the digest of its source, so that a run
    parses only the modules changed since the last one (the rules ask for this at every parse of the
    workflow); it is rewritten when it does not match, and a cache that cannot be read or written is
    ignored."""
    return list(_imports(Path(package), cache))


# Read once per process: the rules ask for the closure of each step, and Snakemake parses the workflow once
# per run (and per cluster job).
@functools.cache
def _imports(package: Path, cache: Path | None = None) -> tuple[tuple[str, str, str | None, int], ...]:
    found = modules(package)
    known = set(found)
    stored = _read_cache(cache)
    kept, result = {}, []
    for module, path in found.items():
        text = path.read_bytes()
        key = hashlib.sha256(text).hexdigest()
        statements = stored[key] if key in stored else _statements(text, path)
        kept[key] = statements
        for statement in statements:
            for target in _imported(statement, module, path.name == "__init__.py", known):
                result.append((module, target, statement[4], statement[5]))
    if cache is not None and kept != stored:
        _write_cache(cache, kept)
    return tuple(result)


_CACHE_FORMAT = 1


def _read_cache(cache: Path | None) -> dict:
    content = read_kept(cache) if cache is not None else None
    if not isinstance(content, dict) or content.get("format") != _CACHE_FORMAT:
        return {}
    return content.get("modules", {})


def _write_cache(cache: Path, statements: dict) -> None:
    keep(cache, {"format": _CACHE_FORMAT, "modules": statements})


def read_kept(path: Path):
    """What a parse of the workflow kept in the JSON file ``path`` (``keep``); None when there is none or it
    cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def keep(path: Path, content) -> None:
    """``content`` as JSON to ``path`` for the next parse of the workflow, written whole and then renamed, so
    that a parse running at the same time (a cluster job) reads either file, never half of one; a file that
    cannot be written is not kept."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, path)


def closure(names, package: Path = PACKAGE, cache: Path | None = None) -> set[str]:
    """The package modules that the named modules import, directly or not, the named ones included; a
    module imports the __init__ of every package above it. ``cache``: as for ``imports``."""
    graph: dict[str, set[str]] = {}
    for source, target, _, _ in imports(package, cache):
        graph.setdefault(source, set()).add(target)
    pending, seen = set(names), set()
    while pending:
        module = pending.pop()
        seen.add(module)
        parts = module.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts))}
        pending |= (graph.get(module, set()) | parents) - seen
    return seen
