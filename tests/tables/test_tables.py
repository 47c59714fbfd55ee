"""chartreview.tables.manuscript on the results of the hand-built endpoint analyses: the formatting rules, the
formatted tables and their deterministic bytes."""

import json

import pandas as pd
import pytest

from chartreview.core.catalog import ENDPOINTS, MANUSCRIPT_TABLES
from chartreview.tables.manuscript import (
    format_p,
    format_percent,
    table_files,
    write_tables,
)
from support.endpoint_helpers import GROUPS, derived_tables, run


@pytest.fixture(scope="module")
def derived():
    return derived_tables()


def test_formatting_rules():
    assert format_p(0.0004) == "<0.001" and format_p(0.0997) == "0.100" and format_p(None) == "–"
    assert format_p(0.0025) == "0.003"  # half up, as a reader expects
    assert format_percent(12.5) == "13" and format_percent(100 * 3 / 26) == "12"


def test_write_tables(tmp_path, derived):
    results = {name: json.loads(json.dumps(run(name, derived), allow_nan=True)) for name in ENDPOINTS}
    write_tables(results, table_files(tmp_path), list(GROUPS))
    written = sorted(tmp_path.iterdir())
    expected = sorted(f"{t}.{e}" for t in MANUSCRIPT_TABLES for e in ("csv", "md", "html", "docx"))
    assert sorted(p.name for p in written) == expected
    metastases = (tmp_path / "metastases.md").read_text()
    assert "| Brain | 3/26 (12) | 12/42 (29) | 0.100 |" in metastases
    assert "| Extrathoracic (CNS included) | 9/26 (35) | 30/42 (71) | 0.003 |" in metastases
    raw = pd.read_csv(tmp_path / "metastases.csv")
    assert raw.loc[raw.key == "brain", "p"].iloc[0] == pytest.approx(results["metastases"]["sites"]["brain"]["p"])
    response = (tmp_path / "response.md").read_text()
    assert "18/26 (69; 48–86)" in response and "0.987" in response
    survival = (tmp_path / "survival.md").read_text()
    assert "Progression-free survival" in survival and "1 (reference)" in survival
    html = (tmp_path / "baseline.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "Wilcoxon" in html
    again = tmp_path / "again"
    write_tables(results, table_files(again), list(GROUPS))
    for path in written:
        assert path.read_bytes() == (again / path.name).read_bytes()


def test_median_not_reached_is_nr(tmp_path, derived):
    results = {"pfs": run("pfs", derived)}
    results["pfs"]["groups"]["ROS1"]["median"] = None
    results["pfs"]["groups"]["ROS1"]["median_ci"] = [4.2, None]
    write_tables(results, table_files(tmp_path), list(GROUPS))
    assert "| NR (4.2–NR) |" in (tmp_path / "survival.md").read_text()
