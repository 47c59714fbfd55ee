"""One bad export per defect: the workflow stops with a clear message naming the record and field.

Each defect runs what the rules ``extract``, ``validate`` and ``validation_gate`` run (the package entry
points their scripts call, the message as the step runner shows it) and checks the exit code, the message
and queries.csv; one defect runs through Snakemake itself. A last test runs the example and looks for its
identifier values under results/.
"""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from chartreview.core.catalog import extracted_files
from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from chartreview.core.errors import InputError
from chartreview.extract import redcap as export
from chartreview.validate import queries
from support import CONFIG_FILE, DICTIONARY, EXAMPLE, FIXTURES, extraction_params
from support.bad_exports import JAPANESE_AGENT, JAPANESE_PARTNER, derive, read_raw

FIXTURE = FIXTURES / "exports" / "export_raw.csv"
CONFIG = with_defaults(yaml.safe_load(CONFIG_FILE.read_text()))
FORMS = load_dictionary(DICTIONARY).forms
SOURCES = {"fixture": FIXTURE, "example": EXAMPLE / "export_raw.csv"}
DEFECTS = ["missing_column", "impossible_date", "excel_serial_date", "unknown_code", "missing_group",
           "death_before_start", "dead_without_death_date", "duplicate_record", "duplicate_instance",
           "unknown_response_code", "last_contact_before_assessment", "empty_file", "truncated_file", "cp932"]


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return {source: derive(path, tmp_path_factory.mktemp(source)) for source, path in SOURCES.items()}


def run_workflow(export_path, results: Path, encoding="utf-8-sig"):
    """What the rules extract, validate and validation_gate run; the exit code and the message of the step
    that stops, as chartreview.core.steps shows it (test_steps runs the scripts themselves)."""
    extracted = extracted_files(results / "extracted", FORMS)
    try:
        export.run({"export": export_path, "dictionary": DICTIONARY}, extracted,
                   **{**extraction_params(CONFIG), "encoding": encoding})
    except InputError as exc:
        return 1, f"Extraction failed: {exc}"
    report = {"queries": results / "validation" / "queries.csv", "html": results / "validation" / "queries.html"}
    queries.run(extracted | {"dictionary": DICTIONARY}, report, repeating_forms=CONFIG["repeating_forms"],
                validation=CONFIG["validation"], window_days=CONFIG["endpoints"]["progression"]["window_days"])
    assert report["queries"].exists() and report["html"].exists()  # always written
    try:
        queries.gate(report, {"passed": results / "validation" / "passed.txt"})
    except queries.ValidationFailed as exc:
        return 1, str(exc)
    return 0, ""


def test_every_defect_has_a_bad_export(bad):
    for source in bad.values():
        assert sorted(source) == sorted(DEFECTS)


@pytest.mark.parametrize("source", list(SOURCES))
@pytest.mark.parametrize("defect", DEFECTS)
def test_a_bad_export_stops_with_its_record_and_field(defect, source, bad, tmp_path):
    case = bad[source][defect]
    before = case.path.read_bytes()
    code, message = run_workflow(case.path, tmp_path / "results", encoding=case.encoding)
    assert code == 1
    assert "Traceback" not in message
    assert case.path.read_bytes() == before  # the input is never modified
    if case.stage == "extract":
        assert message.startswith("Extraction failed: ") and str(case.path) in message
        assert case.message in message
        if case.record_id:
            assert f"record {case.record_id}" in message
        assert not (tmp_path / "results").exists()  # no partial result
        return
    queries = pd.read_csv(tmp_path / "results" / "validation" / "queries.csv", dtype=str, keep_default_na=False)
    match = queries[(queries["record_id"] == case.record_id) & (queries["field"] == case.field)
                    & (queries["rule"] == case.rule) & (queries["severity"] == "error")]
    assert len(match) >= 1, queries.to_string()
    if case.form:
        assert case.form in set(match["form"])
    if case.instance:
        assert case.instance in set(match["instance"])
    assert f"field {case.field}" in message and f"rule {case.rule}" in message
    if case.record_id:
        assert f"record {case.record_id}," in message
    assert "queries.html" in message
    assert not (tmp_path / "results" / "validation" / "passed.txt").exists()


@pytest.mark.parametrize("source", list(SOURCES))
def test_the_cp932_export_reads_with_the_setting(source, bad, tmp_path):
    case = bad[source]["cp932"]
    code, message = run_workflow(case.path, tmp_path / "results", encoding="cp932")
    assert code == 0, message
    tables = export.read_tables(extracted_files(tmp_path / "results" / "extracted", FORMS))
    assert JAPANESE_PARTNER in set(tables.patients["fusion_partner"].dropna())
    assert JAPANESE_AGENT in set(tables.subsequent_therapies["st_agent"])


def test_snakemake_stops_at_the_gate_and_logs_the_first_errors(bad, make_workflow):
    """One bad export through the workflow's own rules (extract, validate, validation_gate)."""
    case = bad["fixture"]["impossible_date"]
    workflow = make_workflow()
    done = workflow.run("--config", f"export={case.path}", f"dictionary={DICTIONARY}", "--",
                        "results/validation/passed.txt", cores=1, check=False, timeout=300)
    assert done.returncode != 0, done.stdout + done.stderr
    log = (workflow.workdir / "logs" / "validation_gate.log").read_text()
    assert "record CR-001, form demographics, field diagnosis_date, value '2013-02-30', rule date" in log
    assert "results/validation/queries.html" in log and "Traceback" not in log
    assert (workflow.workdir / "results" / "validation" / "queries.html").exists()  # written although it failed
    assert not (workflow.workdir / "results" / "validation" / "passed.txt").exists()
    assert "field diagnosis_date" in done.stdout + done.stderr  # show-failed-logs of the default profile


@pytest.mark.parametrize("source", list(SOURCES))
def test_no_identifier_value_reaches_results(source, tmp_path):
    dictionary = load_dictionary(DICTIONARY)
    raw = read_raw(SOURCES[source])
    secrets = sorted({v for c in dictionary.identifiers for v in raw[c] if v})
    assert len(secrets) >= 3 * 5
    results = tmp_path / "results"
    code, message = run_workflow(SOURCES[source], results)
    assert code == 0, message
    assert not any(s in message for s in secrets)
    files = [p for p in results.rglob("*") if p.is_file()]
    assert len(files) >= 10
    for path in files:
        if path.suffix == ".parquet":  # compressed: look at the values, not the bytes
            frame = pd.read_parquet(path)
            text = "\n".join(frame.astype(str).to_numpy().ravel()) + "\n".join(frame.columns)
        else:
            text = path.read_text(encoding="utf-8")
        found = [s for s in secrets if s in text]
        assert not found, f"{path}: {found[:3]}"
