"""The whole workflow, run as a user runs it, in a copy of the repository (the session's shared run,
``example_run`` in tests/conftest.py).

Shows: a clean run completes and `snakemake -n` then has nothing to do; no identifier of the example export
reaches results/ or logs/; the report builds; changing a setting, the export or the package's code plans exactly
the rules that depend on it. (Two clean runs give byte-identical results/: test_reproducibility.py, run on the
other xdist worker while the shared run is made.)
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from chartreview.core.catalog import PANELS, SENSITIVITY_ENDPOINTS
from chartreview.core.sensitivity import key_results
from support import ROOT
from support.workflow import Workflow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_run(example_run):
    return example_run


def test_nothing_left_to_do_after_a_run(first_run):
    assert first_run.planned() == {}


def test_no_identifier_reaches_results_or_logs(first_run):
    with open(ROOT / "resources" / "example" / "export_raw.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    patients = [r for r in rows if r["mrn"]]
    assert len(patients) == 68
    # a birth date that is also some clinical date of the export may legitimately appear; no other may
    clinical_dates = {v for r in rows for k, v in r.items() if k.endswith("_date") and k != "birth_date"}
    needles = {v for r in patients for v in (r["mrn"], r["patient_name"])}
    needles |= {r["birth_date"] for r in patients if r["birth_date"] not in clinical_dates}
    assert len(needles) > 2 * 68
    found = []
    for folder in ("results", "logs"):
        for path in (first_run.workdir / folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [(str(path.relative_to(first_run.workdir)), n) for n in needles if n.encode() in data]
    assert not found, f"identifier values found: {found[:10]}"


def test_report_builds(first_run):
    first_run.run("--report", "report.html")
    page = (first_run.workdir / "report.html").read_text(errors="replace")
    for category in ("Data quality", "Cohort", "Response", "Survival", "CNS", "Progression patterns",
                     "Provenance", "Sensitivity"):
        assert category in page, category
    # each stand-alone panel has its own caption, also where one job draws several panels
    assert page.count("Drawn alone at journal width") == len(PANELS)
    assert page.count("Best change in tumour size: one bar per patient") == 2  # the panel and figure 6


def test_changing_pfs_landmarks_plans_only_what_reads_them(first_run):
    config = first_run.workdir / "config" / "config.yaml"
    original = config.read_text()
    assert "landmarks: [6, 12, 24]" in original
    try:
        config.write_text(original.replace("landmarks: [6, 12, 24]", "landmarks: [6, 12, 18, 24]", 1))
        planned = first_run.planned()
    finally:
        config.write_text(original)
    for upstream in ("extract", "validate", "validation_gate", "derive", "sensitivity_derive"):
        assert upstream not in planned, planned
    assert planned.get("endpoint") == 1, planned        # the PFS analysis, no other endpoint
    # each sensitivity variant's analyses are one job, and they report the PFS landmarks too
    variants = yaml.safe_load(original)["sensitivity"]
    assert planned.get("sensitivity_endpoints") == len(variants), planned
    # the figures that show a PFS panel (Kaplan-Meier, forest, proportional hazards), no other
    assert {rule for rule in planned if rule.startswith("figure_")} == {
        "figure_figure1", "figure_figure2", "figure_figure7"}, planned
    every = first_run.planned("--forceall")
    assert sum(planned.values()) <= 0.4 * sum(every.values()), (planned, every)


def test_changing_the_export_reruns_everything(first_run):
    export = first_run.workdir / "resources" / "example" / "export_raw.csv"
    original = export.read_bytes()
    assert original.count(b",Entrectinib,") == 1
    try:
        export.write_bytes(original.replace(b",Entrectinib,", b",entrectinib,"))
        planned = first_run.planned()
    finally:
        export.write_bytes(original)
    for rule in ("extract", "validate", "validation_gate", "derive", "endpoint", "figure_figure1", "summary"):
        assert rule in planned, planned


@pytest.mark.parametrize("module, reruns, keeps", [
    ("stats/competing_risks", "endpoint", "derive"),   # a kernel: imported by endpoints
    ("stats/survival", "endpoint", "derive"),
    ("derive/events", "derive", "extract"),
    ("figures/style", "figure_figure1", "endpoint"),
])
def test_changing_package_code_reruns_the_rules_that_import_it(first_run, module, reruns, keeps):
    path = first_run.workdir / "workflow" / "chartreview" / f"{module}.py"
    original = path.read_text()
    try:
        path.write_text(original + "\n# a change\n")
        planned = first_run.planned()
    finally:
        path.write_text(original)
    assert reruns in planned and keeps not in planned, planned


def test_the_example_reproduces_every_published_value(first_run):
    """The study's published numbers, read from the run itself: each agrees at its published precision."""
    import json

    summary = (first_run.workdir / "results" / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| ") and line.endswith(" |")][1:]
    assert len(rows) == 7, rows
    assert all(line.endswith("| yes |") for line in rows), rows
    results = {name: json.loads((first_run.workdir / "results" / "endpoints" / f"{name}.json").read_text())
               for name in ("metastases", "response", "pfs", "os", "progression", "cns")}
    brain = results["metastases"]["sites"]["brain"]
    assert (brain["ROS1"]["count"], brain["ROS1"]["n"], brain["ALK"]["count"], brain["ALK"]["n"]) == (3, 26, 12, 42)
    assert [results["response"]["groups"][g]["responders"] for g in ("ROS1", "ALK")] == [18, 29]
    assert results["progression"]["progressed"] == {"ROS1": 16, "ALK": 37}
    assert [round(results["pfs"]["groups"][g]["median"], 1) for g in ("ROS1", "ALK")] == [10.9, 10.7]
    assert round(results["pfs"]["logrank"]["p"], 3) == 0.232 and round(results["cns"]["gray"]["p"], 3) == 0.914
    assert results["os"]["groups"]["ROS1"]["median"] is None and results["os"]["groups"]["ALK"]["median"] is not None


# ------------------------------------------------------------------------------------ sensitivity analyses
def _sensitivity_table(workdir: Path) -> pd.DataFrame:
    return pd.read_csv(workdir / "results" / "tables" / "sensitivity.csv", keep_default_na=False,
                       float_precision="round_trip")


def _endpoint_results(directory: Path) -> dict[str, dict]:
    return {e: json.loads((directory / f"{e}.json").read_text()) for e in SENSITIVITY_ENDPOINTS}


def test_the_sensitivity_table_lists_the_primary_analysis_as_the_main_results_then_every_variant(first_run):
    variants = yaml.safe_load((first_run.workdir / "config" / "config.yaml").read_text())["sensitivity"]
    assert len(variants) == 5
    table = _sensitivity_table(first_run.workdir)
    assert list(table["variant"]) == ["", *variants]
    assert list(table["label"]) == ["Primary analysis", *(entry["label"] for entry in variants.values())]
    main = key_results(_endpoint_results(first_run.workdir / "results" / "endpoints"), ["ROS1", "ALK"])
    primary = table.iloc[0]
    for key in ("orr_p", "pfs_logrank_p", "pfs_hr_p", "os_logrank_p", "cns_gray_p", "intrathoracic_only_p"):
        assert primary[key] == main[key], key  # exactly: the primary row is read from results/endpoints
    assert [primary["n_ROS1"], primary["n_ALK"]] == [26, 42]
    assert [primary["orr_ROS1"], primary["pfs_median_ALK"], primary["pfs_hr"]] == [
        main["orr"]["ROS1"], main["pfs_median"]["ALK"], main["pfs_hr"]]
    assert primary["os_median_ROS1"] == "" and main["os_median"]["ROS1"] is None  # not reached
    # each variant's audit has the primary analysis's layout
    header = (first_run.workdir / "results" / "derived" / "audit.csv").read_text().splitlines()[0]
    for variant in variants:
        audit = first_run.workdir / "results" / "sensitivity" / variant / "derived" / "audit.csv"
        assert audit.read_text().splitlines()[0] == header, variant
    summary = (first_run.workdir / "results" / "summary.md").read_text()
    assert "## Sensitivity analyses" in summary and "Held under every variant:" in summary


def test_adding_a_variant_plans_only_its_jobs_and_a_variant_that_changes_nothing_is_the_primary(first_run, tmp_path):
    run = Workflow(tmp_path / "repo", copy=True)  # a copy of the finished run: its outputs and their records
    for name in ("results", "logs", "benchmarks", ".snakemake"):
        shutil.copytree(first_run.workdir / name, run.workdir / name, symlinks=True, dirs_exist_ok=True)
    config = run.workdir / "config" / "config.yaml"
    config.write_text(config.read_text().replace("\nsensitivity:\n", "\nsensitivity:\n  unchanged:\n"
                                                 "    label: Nothing changed\n", 1))
    assert run.planned() == {"sensitivity_derive": 1, "sensitivity_endpoints": 1, "sensitivity_table": 1,
                             "summary": 1, "provenance": 1, "all": 1}
    run.run("--scheduler", "greedy")
    table = _sensitivity_table(run.workdir).set_index("variant")
    assert table.index[1] == "unchanged"
    assert table.drop(columns="label").loc["unchanged"].equals(table.drop(columns="label").loc[""])
    for endpoint in SENSITIVITY_ENDPOINTS:
        variant = run.workdir / "results" / "sensitivity" / "unchanged" / "endpoints" / f"{endpoint}.json"
        assert variant.read_bytes() == (run.workdir / "results" / "endpoints" / f"{endpoint}.json").read_bytes()
