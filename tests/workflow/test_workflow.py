"""The whole workflow, run as a user runs it, in a copy of the repository.

Shows: a clean run completes and `snakemake -n` then has nothing to do; two clean runs give byte-identical
results/; no identifier of the example export reaches results/ or logs/; the report builds; changing a
setting, the export or the package's code plans exactly the rules that depend on it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
COPIED = ["Snakefile", "config", "resources", "workflow", "requirements.lock", "pyproject.toml"]

pytestmark = pytest.mark.slow


def copy_repository(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    proc = subprocess.run([SNAKEMAKE, "--cores", "2", *args], cwd=workdir, capture_output=True, text=True,
                          env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def digest_tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def planned_rules(workdir: Path, *args: str) -> dict[str, int]:
    """Rule -> number of jobs that a dry run plans."""
    out = snakemake(workdir, "--dry-run", *args).stdout
    table = re.search(r"Job stats:\n(.*?)\n\n", out + "\n\n", re.S)
    if table is None:
        return {}
    counts = {}
    for line in table.group(1).splitlines()[2:]:
        name, _, count = line.rpartition(" ")
        if name.strip() and name.strip() != "total":
            counts[name.strip()] = int(count)
    return counts


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    workdir = copy_repository(tmp_path_factory.mktemp("run") / "repo")
    snakemake(workdir)
    return workdir


def test_nothing_left_to_do_after_a_run(first_run):
    assert planned_rules(first_run) == {}


def test_two_clean_runs_are_byte_identical(first_run, tmp_path):
    second = copy_repository(tmp_path / "repo")
    snakemake(second)
    first, again = digest_tree(first_run / "results"), digest_tree(second / "results")
    assert first.keys() == again.keys()
    differing = sorted(k for k in first if first[k] != again[k])
    assert not differing, f"files differ between two clean runs: {differing}"
    assert any(k.endswith(".png") for k in first) and any(k.endswith(".pdf") for k in first)


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
        for path in (first_run / folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [(str(path.relative_to(first_run)), n) for n in needles if n.encode() in data]
    assert not found, f"identifier values found: {found[:10]}"


def test_report_builds(first_run):
    snakemake(first_run, "--report", "report.html")
    page = (first_run / "report.html").read_text(errors="replace")
    for category in ("Data quality", "Cohort", "Response", "Survival", "CNS", "Progression patterns",
                     "Provenance"):
        assert category in page, category


def test_changing_pfs_landmarks_plans_only_what_reads_them(first_run):
    config = first_run / "config" / "config.yaml"
    original = config.read_text()
    assert "landmarks: [6, 12, 24]" in original
    try:
        config.write_text(original.replace("landmarks: [6, 12, 24]", "landmarks: [6, 12, 18, 24]", 1))
        planned = planned_rules(first_run)
    finally:
        config.write_text(original)
    for upstream in ("extract", "validate", "validation_gate", "derive"):
        assert upstream not in planned, planned
    assert planned.get("endpoint") == 1, planned        # the PFS analysis, no other endpoint
    assert sum(planned.values()) <= 10, planned


def test_changing_the_export_reruns_everything(first_run):
    export = first_run / "resources" / "example" / "export_raw.csv"
    original = export.read_bytes()
    assert original.count(b",Entrectinib,") == 1
    try:
        export.write_bytes(original.replace(b",Entrectinib,", b",entrectinib,"))
        planned = planned_rules(first_run)
    finally:
        export.write_bytes(original)
    for rule in ("extract", "validate", "validation_gate", "derive", "endpoint", "figure", "summary"):
        assert rule in planned, planned


@pytest.mark.parametrize("module, reruns, keeps", [
    ("stats/competing_risks", "endpoint", "derive"),   # imported by endpoints
    ("derive/events", "derive", "extract"),
    ("figures/style", "figure", "endpoint"),
])
def test_changing_package_code_reruns_the_rules_that_import_it(first_run, module, reruns, keeps):
    path = first_run / "workflow" / "chartreview" / f"{module}.py"
    original = path.read_text()
    try:
        path.write_text(original + "\n# a change\n")
        planned = planned_rules(first_run)
    finally:
        path.write_text(original)
    assert reruns in planned and keeps not in planned, planned


def test_the_example_reproduces_every_published_value(first_run):
    """Issue 3's promise, read from the run itself: every published value agrees at its published precision."""
    import json

    summary = (first_run / "results" / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith("| ") and line.endswith(" |")][1:]
    assert len(rows) == 7, rows
    assert all(line.endswith("| yes |") for line in rows), rows
    results = {name: json.loads((first_run / "results" / "endpoints" / f"{name}.json").read_text())
               for name in ("metastases", "response", "pfs", "os", "progression", "cns")}
    brain = results["metastases"]["sites"]["brain"]
    assert (brain["ROS1"]["count"], brain["ROS1"]["n"], brain["ALK"]["count"], brain["ALK"]["n"]) == (3, 26, 12, 42)
    assert [results["response"]["groups"][g]["responders"] for g in ("ROS1", "ALK")] == [18, 29]
    assert results["progression"]["progressed"] == {"ROS1": 16, "ALK": 37}
    assert [round(results["pfs"]["groups"][g]["median"], 1) for g in ("ROS1", "ALK")] == [10.9, 10.7]
    assert round(results["pfs"]["logrank"]["p"], 3) == 0.232 and round(results["cns"]["gray"]["p"], 3) == 0.914
    assert results["os"]["groups"]["ROS1"]["median"] is None and results["os"]["groups"]["ALK"]["median"] is not None
