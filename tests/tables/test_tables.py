"""chartreview.tables.manuscript on the results of the hand-built endpoint analyses: the formatting rules, the
formatted tables and their deterministic bytes."""

import json

import pandas as pd
import pytest

from chartreview.core.catalog import ENDPOINTS, MANUSCRIPT_TABLES
from chartreview.core.rounding import round_half_up
from chartreview.tables.manuscript import (
    format_p,
    format_percent,
    table_files,
    write_tables,
)
from support.endpoint_helpers import GROUPS, derived_tables, run, with_tumour_size


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


def test_response_rows_over_the_other_denominator(tmp_path, derived):
    patients, tte, patterns = derived
    primary_only = run("response", derived)
    # the hand-built patients have no measurable_disease: the rows over the primary denominator as before
    primary_only["secondary"] = {"denominator_key": "measurable", "available": False, "reason": "not available"}
    primary_only = json.loads(json.dumps(primary_only))
    write_tables({"response": primary_only}, table_files(tmp_path / "before"), list(GROUPS))
    patients = patients.assign(measurable_disease=pd.array([True] * len(patients), dtype="boolean"))
    patients.loc[patients.index[-1], "measurable_disease"] = False    # an ALK patient, PD or NE
    result = json.loads(json.dumps(run("response", (patients, tte, patterns))))
    write_tables({"response": result}, table_files(tmp_path), list(GROUPS))
    before, after = (pd.read_csv(d / "response.csv", dtype=str, keep_default_na=False) for d in
                     (tmp_path / "before", tmp_path))
    # the rows and columns over the primary denominator stay as they were (whole counts); two rows follow them
    assert list(after.columns) == list(before.columns)
    assert after.iloc[:7].equals(before.iloc[:7]) and before.loc[0, "ROS1_count"] == "1"
    assert after["measure"].tolist()[7:] == before["measure"].tolist()[7:] == ["orr_measurable", "dcr_measurable"]
    assert before.loc[7, "test"] == "not available" and before.loc[7, "ALK_count"] == ""
    other = result["secondary"]["groups"]
    orr = after.set_index("measure").loc["orr_measurable"]
    assert int(orr["ALK_count"]) == other["ALK"]["responders"] and float(orr["ALK_n"]) == 41
    assert float(orr["p"]) == pytest.approx(result["secondary"]["p"])
    assert float(orr["ROS1_lower"]) == pytest.approx(other["ROS1"]["orr_ci"][0])
    md = (tmp_path / "response.md").read_text()
    row = [line for line in md.splitlines() if line.startswith("| Objective response rate, patients with measurable")]
    alk = other["ALK"]
    assert row and f"| {alk['responders']}/41 ({round(100 * alk['orr'])}; " in row[0]
    assert "Left out of them: not measurable 1; measurable_disease blank 0." in md
    # an export without measurable_disease: the rows say why
    result["secondary"] = {"denominator_key": "measurable", "available": False, "reason": "not available: why"}
    write_tables({"response": result}, table_files(tmp_path / "without"), list(GROUPS))
    md = (tmp_path / "without" / "response.md").read_text()
    assert ("| Disease control rate, patients with measurable disease, % (95% CI) | not available: why | "
            "not available: why |  |") in md
    assert pd.read_csv(tmp_path / "without" / "response.csv")["measure"].tolist()[-2:] == ["orr_measurable",
                                                                                           "dcr_measurable"]


def tumour_size_result(derived) -> dict:
    return json.loads(json.dumps(run("tumor_size", with_tumour_size(derived))))


def test_tumour_size_table(tmp_path, derived):
    result = tumour_size_result(derived)
    write_tables({"tumor_size": result}, table_files(tmp_path), list(GROUPS))
    md = (tmp_path / "tumor_size.md").read_text()
    ros1, alk = result["groups"]["ROS1"], result["groups"]["ALK"]
    assert ros1["n"] == 25 and alk["n"] == 40
    assert "| Measure | ROS1 (n = 26) | ALK (n = 42) | P |" in md
    median = f"| Best change in sum of diameters, median % (IQR) | {round_half_up(ros1['median'], 1)} ("
    assert median in md and f"| {format_p(result['p'])} |" in md
    assert f"| Shrinkage by 30% or more, n (%) | {ros1['shrank_30']}/25 (" in md
    assert "|   no sum of diameters at the baseline assessment | 1 | 1 |  |" in md
    assert "|   no baseline assessment (none dated on or before criz_start_date) | 0 | 1 |  |" in md
    raw = pd.read_csv(tmp_path / "tumor_size.csv")
    best = raw.set_index("measure").loc["best_change"]
    assert best["ALK_median"] == pytest.approx(alk["median"]) and best["p"] == pytest.approx(result["p"])
    excluded = raw[raw["measure"] == "excluded"].set_index("reason")
    assert excluded.loc["no sum of diameters at the baseline assessment", "ROS1_count"] == 1
    # an export without ta_sld_mm
    gone = {"available": False, "reason": "ta_sld_mm is not in the export: not available"}
    write_tables({"tumor_size": gone}, table_files(tmp_path / "gone"), list(GROUPS))
    assert ("| Best change in sum of diameters | ta_sld_mm is not in the export: not available | "
            in (tmp_path / "gone" / "tumor_size.md").read_text())
