"""Shared fixtures of the test suite.

Test folders mirror the package's subpackages (tests/core, tests/extract, ..., tests/synthetic);
tests/workflow holds what spans the whole DAG. Tests marked ``slow`` run Snakemake on whole exports:
``make unit`` leaves them out, ``make test`` runs everything. Shared paths and the one way to run the
workflow (``support.workflow.Workflow``) are in tests/support/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chartreview.core.dictionary import DataDictionary, load_dictionary
from support import CONFIG_FILE, DICTIONARY, ROOT
from support.workflow import Workflow, shared_run

# The test files that take longest (whole-workflow runs, many Snakemake processes), longest first. With
# --dist loadfile and --no-loadscope-reorder (pyproject.toml) pytest-xdist hands whole files to its workers
# in collection order, so these start first, side by side on the two workers, and the short files fill in
# around them instead of one long file running alone at the end.
LONGEST_FIRST = (
    "workflow/test_workflow.py",
    "workflow/test_reproducibility.py",
    "workflow/test_hostile_input.py",
)


def pytest_collection_modifyitems(config, items):
    missing = [name for name in LONGEST_FIRST if not (ROOT / "tests" / name).is_file()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names no test file: {missing}")
    rank = {ROOT / "tests" / name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path, len(rank)))  # stable: the other files keep their order


@pytest.fixture
def study_config() -> dict:
    """config/config.yaml as a fresh dict (a test may change it)."""
    return yaml.safe_load(CONFIG_FILE.read_text())


@pytest.fixture(scope="session")
def dictionary() -> DataDictionary:
    return load_dictionary(DICTIONARY)


@pytest.fixture
def make_workflow(tmp_path_factory):
    """Work directories holding the workflow: ``make_workflow()`` links the checkout,
    ``make_workflow(copy=True)`` copies it (a test may edit it), ``make_workflow(rule_files=("derive",))``
    includes only those rule files (to run one stage on inputs the test puts under results/)."""
    def make(**options) -> Workflow:
        return Workflow(Path(tmp_path_factory.mktemp("workflow")) / "checkout", **options)
    return make


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Workflow:
    """The whole workflow run once on the example, in a copy of the checkout, shared by every test file and
    every xdist worker (the first to ask runs it; its test files are scheduled first, see below). Tests read
    its results/ and logs/ and may change its config, export or code only for a dry run, restoring them; a
    test that runs jobs works on a copy. Only tests/workflow/test_workflow.py makes such changes (its tests
    run one after the other), so a reader on the other worker sees results/ as the run left them."""
    return shared_run(tmp_path_factory, "example")
