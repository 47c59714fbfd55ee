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
from support import CONFIG_FILE, DICTIONARY
from support.workflow import Workflow


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
