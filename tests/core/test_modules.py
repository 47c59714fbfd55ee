"""The package's import graph read through the cache the rules use, and what the workflow's parse imports."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chartreview.core import modules
from chartreview.core.modules import closure, imports
from support import ROOT


def _package(root):
    """A small package: a imports b at its top, c inside a function; b its package (d is no module)."""
    package = root / "chartreview"
    (package / "stage").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "stage" / "__init__.py").write_text("")
    (package / "stage" / "a.py").write_text("from chartreview.stage import b\n\n\ndef f():\n    from . import c\n")
    (package / "stage" / "b.py").write_text("from . import d\n")
    (package / "stage" / "c.py").write_text("")
    return package


def test_cached_imports_equal_a_fresh_read_and_follow_a_changed_module(tmp_path):
    package = _package(tmp_path)
    cache = tmp_path / "cache" / "imports.json"
    fresh = imports(package)
    assert ("chartreview.stage.a", "chartreview.stage.c", "f", 5) in fresh
    assert imports(package, cache) == fresh
    written = cache.read_bytes()
    modules._imports.cache_clear()
    assert imports(package, cache) == fresh  # read back from the cache, which is left as it is
    assert cache.read_bytes() == written
    assert closure({"chartreview.stage.b"}, package, cache) == {
        "chartreview", "chartreview.stage", "chartreview.stage.b"}

    # the same file changed (same size, same modification time): its new imports count, not the cached ones
    b = package / "stage" / "b.py"
    stat = b.stat()
    b.write_text("from . import c\n")
    os.utime(b, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    modules._imports.cache_clear()
    assert "chartreview.stage.c" in closure({"chartreview.stage.b"}, package, cache)
    assert imports(package, cache) == imports(package)


def test_an_unreadable_cache_is_read_again(tmp_path):
    package = _package(tmp_path)
    cache = tmp_path / "imports.json"
    cache.write_text("{not json", encoding="utf-8")
    assert imports(package, cache) == imports(package)
    assert cache.read_text(encoding="utf-8").startswith('{"format"')


def test_the_workflow_parse_imports_no_heavy_library():
    """common.smk imports these at every parse (and the figure style check runs for the shipped font):
    matplotlib, pandas, scipy or pandera there would cost seconds before any job."""
    code = (
        "import sys\n"
        "from chartreview.core import catalog, config, dictionary, escaping, modules\n"
        "from chartreview.figures.settings import check_figure_style\n"
        "check_figure_style({})\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(','.join(sorted(loaded & {'matplotlib', 'pandas', 'scipy', 'pandera', 'numpy'})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "workflow"), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == ""


@pytest.mark.parametrize(("module", "unused"), [
    ("chartreview.endpoints.analyses", {"matplotlib", "pandera", "scipy.stats", "scipy.interpolate", "scipy.optimize"}),
    ("chartreview.report.summary", {"matplotlib", "pandas", "pandera", "scipy"}),
    # most panels and figures read JSON only: the few that read parquet import pandas themselves
    ("chartreview.figures.assembly", {"pandas", "pandera", "scipy"}),
])
def test_a_step_imports_no_library_it_does_not_use(module, unused):
    """Every job starts a Python process: a library imported and not used costs up to a second each time
    (scipy.stats, pandera); a function that needs one imports it itself."""
    code = f"import sys, {module}\nprint(','.join(sorted(m for m in {sorted(unused)!r} if m in sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "workflow"), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == ""
