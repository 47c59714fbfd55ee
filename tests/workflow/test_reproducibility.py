"""Two clean runs of the whole workflow on the example, in two copies of the checkout, give byte-identical
results/. The second run is made here while the session's shared run (the ``example_run`` fixture, read by
tests/workflow/test_workflow.py) is made on the other xdist worker."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from support.workflow import Workflow

pytestmark = pytest.mark.slow


def digest_tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_two_clean_runs_are_byte_identical(request, tmp_path):
    second = Workflow(tmp_path / "repo", copy=True)
    second.run()
    first_run = request.getfixturevalue("example_run")  # asked for after this run: the two runs overlap
    first, again = digest_tree(first_run.workdir / "results"), digest_tree(second.workdir / "results")
    assert first.keys() == again.keys()
    differing = sorted(k for k in first if first[k] != again[k])
    assert not differing, f"files differ between two clean runs: {differing}"
    assert any(k.endswith(".png") for k in first) and any(k.endswith(".pdf") for k in first)
