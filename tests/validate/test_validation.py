"""Validation: every rule of the pandera contracts raises its query, with record, form, instance, field,
value and rule; the query report and the gate."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from chartreview.core.catalog import extracted_files
from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from chartreview.extract.redcap import extract, read_tables, write_tables
from chartreview.validate.contracts import (
    MODELS,
    QUERY_COLUMNS,
    RULES,
    ExportMaterial,
    ResponseAssessments,
    validate,
    validation_settings,
)
from chartreview.validate.queries import (
    FIRST_ERRORS,
    ValidationFailed,
    gate,
    write_query_report,
)
from support import ROOT
from support.bad_exports import read_raw, to_label, write_raw
from support.corpus_events import in_two_events

FIXTURE = ROOT / "tests" / "fixtures" / "exports" / "export_raw.csv"
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary(ROOT / "resources" / "data_dictionary.csv")


@pytest.fixture(scope="module")
def clean():
    return read_raw(FIXTURE)


def queries_of(frame, dictionary, tmp_path, config=CONFIG):
    codes = with_defaults(config)["missing_data_codes"]
    return validate(extract(write_raw(frame, tmp_path / "export.csv"), dictionary, missing_data_codes=codes),
                    dictionary, config)


def row(frame, record, instrument="", instance=""):
    match = frame[(frame["record_id"] == record) & (frame["redcap_repeat_instrument"] == instrument)
                  & (frame["redcap_repeat_instance"] == instance)]
    assert len(match) == 1
    return match.index[0]


def edit(frame, record, column, value, instrument="", instance=""):
    frame = frame.copy()
    frame.loc[row(frame, record, instrument, instance), column] = value
    return frame


def only(queries, **expected):
    """The one query matching ``expected`` (column -> value)."""
    match = queries
    for column, value in expected.items():
        match = match[match[column].astype(str) == str(value)]
    assert len(match) == 1, f"{expected} in\n{queries.to_string()}"
    return match.iloc[0]


def test_the_clean_fixture_raises_no_query(clean, dictionary, tmp_path):
    queries = queries_of(clean, dictionary, tmp_path)
    assert list(queries.columns) == QUERY_COLUMNS
    assert queries.empty


def test_the_typed_tables_hold_their_contract(dictionary):
    tables = extract(FIXTURE, dictionary)
    with validation_settings(dictionary, CONFIG):
        for name, model in MODELS.items():
            model.validate(getattr(tables, name), lazy=True)


# --- one test per rule --------------------------------------------------------------------------------------
# (name, edit of the clean fixture, the query it must raise)

def drop_rows(frame, record, instrument, instances):
    keep = ~((frame["record_id"] == record) & (frame["redcap_repeat_instrument"] == instrument)
             & frame["redcap_repeat_instance"].isin(instances))
    return frame[keep]


def append(frame, **values):
    new = pd.DataFrame([{c: values.get(c, "") for c in frame.columns}])
    return pd.concat([frame, new], ignore_index=True)


CASES = {
    "missing_column": (lambda f: f.drop(columns="histology"),
                       dict(record_id="", form="demographics", field="histology", rule="missing_column")),
    "optional_column_missing": (lambda f: f.drop(columns="ta_sld_mm"),
                                dict(record_id="", form="tumor_assessment", field="ta_sld_mm",
                                     rule="optional_column_missing", severity="warning")),
    "unknown_column": (lambda f: f.assign(home_address="12 Some Street"),
                       dict(record_id="", field="home_address", rule="unknown_column", severity="warning",
                            value="")),
    "missing_record_id": (lambda f: edit(f, "CR-001", "record_id", "", "tumor_assessment", "3"),
                          dict(record_id="", form="tumor_assessment", field="record_id",
                               rule="missing_record_id")),
    "duplicate_record": (lambda f: pd.concat([f, f.loc[[row(f, "CR-004")]]], ignore_index=True),
                         dict(record_id="CR-004", field="record_id", rule="duplicate_record")),
    "duplicate_instance": (lambda f: edit(f, "CR-003", "redcap_repeat_instance", "1", "progression", "2"),
                           dict(record_id="CR-003", form="progression", instance="1",
                                field="redcap_repeat_instance", rule="duplicate_instance")),
    "unknown_instrument": (lambda f: edit(f, "CR-004", "redcap_repeat_instrument", "adverse_event",
                                          "subsequent_therapy", "1"),
                           dict(record_id="CR-004", form="adverse_event", field="redcap_repeat_instrument",
                                value="adverse_event", rule="unknown_instrument")),
    "instance_blank": (lambda f: edit(f, "CR-005", "redcap_repeat_instance", "", "tumor_assessment", "1"),
                       dict(record_id="CR-005", form="tumor_assessment", field="redcap_repeat_instance",
                            rule="instance")),
    "instance_fraction": (lambda f: edit(f, "CR-005", "redcap_repeat_instance", "1.5", "tumor_assessment",
                                         "1"),
                          dict(record_id="CR-005", field="redcap_repeat_instance", value="1.5",
                               rule="instance")),
    "orphan_record": (lambda f: append(f, record_id="CR-999", redcap_repeat_instrument="tumor_assessment",
                                       redcap_repeat_instance="1", ta_date="2014-03-07", ta_response="2",
                                       ta_modality="1", tumor_assessment_complete="2"),
                      dict(record_id="CR-999", field="record_id", rule="orphan_record")),
    "value_outside_form": (lambda f: edit(f, "CR-002", "ta_date", "2012-07-27"),
                           dict(record_id="CR-002", form="", field="ta_date", rule="value_outside_form")),
    "value_outside_form_repeating": (lambda f: edit(f, "CR-003", "vital_status", "1", "tumor_assessment", "2"),
                                     dict(record_id="CR-003", form="tumor_assessment", field="vital_status",
                                          rule="value_outside_form")),
    # a name, MRN or birth date typed into another field: masked by the extraction, one query quoting it masked
    "identifier_in_a_date": (lambda f: edit(f, "CR-004", "criz_end_date", f.loc[row(f, "CR-004"), "mrn"]),
                             dict(record_id="CR-004", form="treatment", field="criz_end_date", value="[masked]",
                                  rule="identifier")),
    "identifier_in_free_text": (lambda f: edit(f, "CR-004", "st_agent", "per " + f.loc[row(f, "CR-004"),
                                                                                     "patient_name"].upper(),
                                               "subsequent_therapy", "1"),
                                dict(record_id="CR-004", form="subsequent_therapy", instance="1", field="st_agent",
                                     value="[masked]", rule="identifier_in_text")),
    "identifier_of_another_record": (lambda f: edit(f, "CR-003", "fusion_partner", f.loc[row(f, "CR-001"), "mrn"]),
                                     dict(record_id="CR-003", form="demographics", field="fusion_partner",
                                          value="[masked]", rule="identifier_in_text")),
    "date_impossible": (lambda f: edit(f, "CR-004", "criz_end_date", "2019-04-31"),
                        dict(record_id="CR-004", form="treatment", field="criz_end_date", value="2019-04-31",
                             rule="date")),
    "date_other_format": (lambda f: edit(f, "CR-003", "pd_date", "16/08/2016", "progression", "1"),
                          dict(record_id="CR-003", form="progression", instance="1", field="pd_date",
                               value="16/08/2016", rule="date")),
    "date_excel_serial": (lambda f: edit(f, "CR-001", "ta_date", "41705", "tumor_assessment", "1"),
                          dict(record_id="CR-001", form="tumor_assessment", instance="1", field="ta_date",
                               value="41705", rule="date")),
    "number": (lambda f: edit(f, "CR-002", "pack_years", "twenty"),
               dict(record_id="CR-002", form="demographics", field="pack_years", value="twenty", rule="number")),
    "code": (lambda f: edit(f, "CR-001", "ecog_ps", "5"),
             dict(record_id="CR-001", form="demographics", field="ecog_ps", value="5", rule="code")),
    "code_response": (lambda f: edit(f, "CR-003", "ta_response", "PD", "tumor_assessment", "3"),
                      dict(record_id="CR-003", form="tumor_assessment", instance="3", field="ta_response",
                           value="PD", rule="code")),
    "code_checkbox": (lambda f: edit(f, "CR-002", "met_site___4", "2"),
                      dict(record_id="CR-002", form="baseline", field="met_site___4", value="2", rule="code")),
    "code_yesno": (lambda f: edit(f, "CR-002", "measurable_disease", "Y"),
                   dict(record_id="CR-002", form="baseline", field="measurable_disease", value="Y", rule="code")),
    "required": (lambda f: edit(f, "CR-005", "criz_line", ""),
                 dict(record_id="CR-005", form="treatment", field="criz_line", value="", rule="required")),
    "required_group": (lambda f: edit(f, "CR-004", "fusion_gene", ""),
                       dict(record_id="CR-004", form="demographics", field="fusion_gene", rule="required")),
    "required_repeating": (lambda f: edit(f, "CR-004", "st_agent", "", "subsequent_therapy", "1"),
                           dict(record_id="CR-004", form="subsequent_therapy", instance="1", field="st_agent",
                                rule="required")),
    "range_pack_years": (lambda f: edit(f, "CR-004", "pack_years", "250"),
                         dict(record_id="CR-004", form="demographics", field="pack_years", value="250",
                              rule="range")),
    "range_age": (lambda f: edit(f, "CR-003", "birth_date", "2000-01-01"),
                  dict(record_id="CR-003", form="demographics", field="age", value="16", rule="range")),
    "diagnosis_after_start": (lambda f: edit(f, "CR-003", "diagnosis_date", "2016-03-02"),
                              dict(record_id="CR-003", form="demographics", field="diagnosis_date",
                                   value="2016-03-02", rule="diagnosis_after_start")),
    "end_before_start": (lambda f: edit(f, "CR-004", "criz_end_date", "2019-01-31"),
                         dict(record_id="CR-004", form="treatment", field="criz_end_date", value="2019-01-31",
                              rule="end_before_start")),
    "dead_without_death_date": (lambda f: edit(f, "CR-005", "death_date", ""),
                                dict(record_id="CR-005", form="followup", field="death_date",
                                     rule="dead_without_death_date")),
    "death_date_while_alive": (lambda f: edit(f, "CR-003", "death_date", "2018-06-30"),
                               dict(record_id="CR-003", form="followup", field="death_date", value="2018-06-30",
                                    rule="death_date_while_alive")),
    "after_death": (lambda f: edit(f, "CR-002", "st_start_date", "2013-05-01", "subsequent_therapy", "1"),
                    dict(record_id="CR-002", form="subsequent_therapy", instance="1", field="st_start_date",
                         value="2013-05-01", rule="after_death")),
    "last_contact_before_event": (lambda f: edit(f, "CR-003", "last_contact_date", "2017-03-10"),
                                  dict(record_id="CR-003", form="followup", field="last_contact_date",
                                       value="2017-03-10", rule="last_contact_before_event")),
    "pd_without_site": (lambda f: drop_rows(f, "CR-003", "progression", ["1"]),
                        dict(record_id="CR-003", form="tumor_assessment", instance="3", field="ta_response",
                             value="4", rule="pd_without_site", severity="warning")),
    "no_post_baseline_assessment": (lambda f: edit(f, "CR-005", "ta_date", "2020-10-20", "tumor_assessment",
                                                   "1"),
                                    dict(record_id="CR-005", form="treatment", field="criz_start_date",
                                         rule="no_post_baseline_assessment", severity="warning")),
    # the fixture's CR-004 has a baseline scan (dated before criz_start_date) with a sum of diameters only
    "response_at_baseline": (lambda f: edit(f, "CR-004", "ta_response", "5", "tumor_assessment", "1"),
                             dict(record_id="CR-004", form="tumor_assessment", instance="1", field="ta_response",
                                  value="5", rule="response_at_baseline", severity="warning")),
    "required_response_after_start": (lambda f: edit(f, "CR-004", "ta_response", "", "tumor_assessment", "2"),
                                      dict(record_id="CR-004", form="tumor_assessment", instance="2",
                                           field="ta_response", value="", rule="required")),
    "assessment_gap": (lambda f: drop_rows(f, "CR-001", "tumor_assessment", ["2", "3", "4"]),
                       dict(record_id="CR-001", form="tumor_assessment", instance="5", field="ta_date",
                            value="2014-11-03", rule="assessment_gap", severity="warning")),
    "form_incomplete": (lambda f: edit(f, "CR-002", "baseline_complete", "1"),
                        dict(record_id="CR-002", form="baseline", field="baseline_complete", value="1",
                             rule="form_incomplete", severity="warning")),
    "missing_data_code": (lambda f: edit(f, "CR-002", "pack_years", "UNK"),
                          dict(record_id="CR-002", form="demographics", field="pack_years", value="UNK",
                               rule="missing_data_code", severity="warning")),
    "form_in_two_events": (lambda f: in_two_events(f, "CR-003", "ecog_ps", "3"),
                           dict(record_id="CR-003", form="demographics", field="ecog_ps",
                                rule="form_in_two_events")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rule(case, clean, dictionary, tmp_path):
    change, expected = CASES[case]
    queries = queries_of(change(clean), dictionary, tmp_path)
    query = only(queries, **expected)
    assert query["severity"] == expected.get("severity", RULES[query["rule"]].severity)
    assert query["message"]
    # the defect raises errors about this record only
    errors = queries[queries["severity"] == "error"]
    assert set(errors["record_id"]) <= {expected["record_id"]}, queries.to_string()
    if case != "after_death":  # a therapy after death is also after last contact
        assert len(errors) == (query["severity"] == "error"), queries.to_string()


def test_every_rule_has_a_case():
    assert {c["rule"] for _, c in CASES.values()} == set(RULES)


def test_a_baseline_assessment_without_a_response_is_no_query(clean, dictionary, tmp_path):
    # a scan dated on criz_start_date itself is a baseline scan: a sum of diameters and no response
    start = clean.loc[row(clean, "CR-001"), "criz_start_date"]
    frame = append(clean, record_id="CR-001", redcap_repeat_instrument="tumor_assessment",
                   redcap_repeat_instance="7", ta_date=start, ta_sld_mm="44", ta_modality="1",
                   tumor_assessment_complete="2")
    baseline = clean.loc[row(clean, "CR-004", "tumor_assessment", "1")]
    assert baseline["ta_response"] == "" and baseline["ta_date"] <= clean.loc[row(clean, "CR-004"), "criz_start_date"]
    assert queries_of(frame, dictionary, tmp_path).empty
    # the same scan a day after the start is a response assessment: its blank response is an error
    later = edit(frame, "CR-001", "ta_date", str((pd.Timestamp(start) + pd.Timedelta(days=1)).date()),
                 "tumor_assessment", "7")
    assert only(queries_of(later, dictionary, tmp_path), record_id="CR-001", instance="7")["rule"] == "required"


def test_an_excel_serial_is_called_one(clean, dictionary, tmp_path):
    queries = queries_of(edit(clean, "CR-002", "diagnosis_date", "41234"), dictionary, tmp_path)
    assert "Excel serial" in only(queries, field="diagnosis_date")["message"]


def test_a_range_query_states_the_range(clean, dictionary, tmp_path):
    queries = queries_of(edit(clean, "CR-004", "pack_years", "250"), dictionary, tmp_path)
    assert "0 to 200" in only(queries, field="pack_years")["message"]


def test_after_death_names_every_date_after_death(clean, dictionary, tmp_path):
    # death before crizotinib start: every later date of the record is queried, the start first
    queries = queries_of(edit(clean, "CR-005", "death_date", "2020-10-25"), dictionary, tmp_path)
    after = queries[queries["rule"] == "after_death"]
    assert after.iloc[0]["field"] == "criz_start_date"
    assert set(after["field"]) == {"criz_start_date", "criz_end_date", "ta_date", "last_contact_date"}
    assert "death_date 2020-10-25" in after.iloc[0]["message"]


def test_last_contact_query_names_the_latest_event(clean, dictionary, tmp_path):
    queries = queries_of(edit(clean, "CR-001", "last_contact_date", "2014-12-01"), dictionary, tmp_path)
    assert "ta_date 2015-01-05 of tumor_assessment instance 6" in only(queries, field="last_contact_date")["message"]


def test_a_mistyped_required_value_is_one_query(clean, dictionary, tmp_path):
    queries = queries_of(edit(clean, "CR-001", "criz_start_date", "2014-13-01"), dictionary, tmp_path)
    assert queries["rule"].tolist() == ["date"]


def test_a_missing_column_is_one_query_not_one_per_record(clean, dictionary, tmp_path):
    queries = queries_of(clean.drop(columns="last_contact_date"), dictionary, tmp_path)
    assert queries[["field", "rule"]].values.tolist() == [["last_contact_date", "missing_column"]]


def test_an_identifier_query_masks_the_value(clean, dictionary, tmp_path):
    queries = queries_of(edit(clean, "CR-002", "birth_date", "1949-02-30"), dictionary, tmp_path)
    query = only(queries, field="birth_date")
    assert query["rule"] == "date" and query["value"] == "[masked]" and query["record_id"] == "CR-002"
    assert not queries.apply(lambda c: c.astype(str).str.contains("1949-02-30")).any().any()
    blank = queries_of(edit(clean, "CR-002", "birth_date", ""), dictionary, tmp_path)
    assert only(blank, field="birth_date")["rule"] == "required"


def test_a_label_export_with_an_unknown_label_quotes_it(clean, dictionary, tmp_path):
    label = read_raw(to_label(FIXTURE, dictionary, tmp_path / "label.csv"))
    label.loc[0, "histology"] = "Large cell"
    queries = validate(extract(write_raw(label, tmp_path / "bad.csv"), dictionary), dictionary, CONFIG)
    only(queries, record_id="CR-001", field="histology", value="Large cell", rule="code")


@pytest.mark.parametrize("setting, value, rule, expected", [
    ("age_range", [18, 60], "range", {"CR-002", "CR-005"}),          # aged 62 and 79
    ("max_assessment_gap_days", 60, "assessment_gap", {"CR-001", "CR-004"}),
    ("window_days", 0, "pd_without_site", set()),                     # every site is dated on its scan
])
def test_the_config_settings_are_used(setting, value, rule, expected, clean, dictionary, tmp_path):
    config = yaml.safe_load(yaml.safe_dump(CONFIG))
    if setting == "window_days":
        config["endpoints"]["progression"]["window_days"] = value
        frame = edit(clean, "CR-003", "pd_date", "2016-08-20", "progression", "1")  # 4 days after the PD scan
        queries = queries_of(frame, dictionary, tmp_path, config)
        assert set(queries.loc[queries["rule"] == rule, "record_id"]) == {"CR-003"}
        return
    config["validation"][setting] = value
    queries = queries_of(clean, dictionary, tmp_path, config)
    assert set(queries.loc[queries["rule"] == rule, "record_id"]) == expected


def test_queries_are_in_the_exports_order_and_deterministic(clean, dictionary, tmp_path):
    frame = edit(clean, "CR-004", "sex", "9")
    frame = edit(frame, "CR-001", "ta_response", "7", "tumor_assessment", "2")
    frame = edit(frame, "CR-001", "stage", "8")
    frame = edit(frame, "CR-002", "followup_complete", "0")
    queries = queries_of(frame, dictionary, tmp_path)
    assert queries[["record_id", "field"]].values.tolist() == [
        ["CR-001", "stage"], ["CR-001", "ta_response"], ["CR-002", "followup_complete"], ["CR-004", "sex"]]
    write_query_report(queries, tmp_path / "a.csv", tmp_path / "a.html")
    write_query_report(queries_of(frame, dictionary, tmp_path), tmp_path / "b.csv", tmp_path / "b.html")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_the_export_read_from_its_files_when_needed_gives_the_same_queries(clean, dictionary, tmp_path):
    # rule validate reads the export's rows and each form's text from the extraction's files, a form and a
    # column at a time: queries of every layer, their values, instances and lines as from the tables in memory
    frame = edit(clean, "CR-004", "sex", "9")
    frame = edit(frame, "CR-001", "ta_response", "7", "tumor_assessment", "2")
    frame = edit(frame, "CR-001", "ta_sld_mm", "-3", "tumor_assessment", "2")
    frame = edit(frame, "CR-002", "diagnosis_date", "2031-02-30")
    frame = edit(frame, "CR-002", "redcap_repeat_instance", "x", "tumor_assessment", "1")
    frame = edit(frame, "CR-003", "criz_dose_mg", "")
    codes = with_defaults(CONFIG)["missing_data_codes"]
    tables = extract(write_raw(frame, tmp_path / "export.csv"), dictionary, missing_data_codes=codes)
    files = extracted_files(tmp_path / "extracted", dictionary.forms)
    write_tables(tables, files)
    material = ExportMaterial(files["rows"], {form: files[f"exported_{form}"] for form in tables.exported})
    from_files = validate(read_tables(files, exported=False), dictionary, CONFIG, material=material)
    in_memory = validate(tables, dictionary, CONFIG)
    assert {"code", "range", "date", "instance", "required"} <= set(in_memory["rule"])
    pd.testing.assert_frame_equal(from_files, in_memory)


def test_the_gate_does_not_import_the_validation(tmp_path):
    # rule validation_gate reads queries.csv only: pandera and the checks (over a second) stay unimported
    code = "import sys; import chartreview.validate.gate; print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "workflow")})
    assert "chartreview.validate.gate" in done.stdout
    assert "'pandera'" not in done.stdout and "chartreview.validate.contracts" not in done.stdout


@pytest.mark.parametrize("severities", [["warning", "error", "error"], ["warning"], []])
def test_the_gate_runs_without_pandas(tmp_path, severities):
    # pandas takes longer to import than the gate takes to run, on the serial head of every run
    rows = [{**dict.fromkeys(QUERY_COLUMNS, ""), "record_id": f"R{i}", "field": "sex", "value": "=1+1",
             "rule": "code", "severity": severity, "message": "not a code"} for i, severity in enumerate(severities)]
    write_query_report(pd.DataFrame(rows, columns=QUERY_COLUMNS), tmp_path / "q.csv", tmp_path / "q.html")
    code = ("import sys\nfrom chartreview.validate.gate import gate, ValidationFailed\n"
            f"try:\n    gate({{'queries': {str(tmp_path / 'q.csv')!r}, 'html': 'q.html'}}, "
            f"{{'passed': {str(tmp_path / 'passed.txt')!r}}})\n"
            "except ValidationFailed as failure:\n    print(failure)\n"
            "print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT / "workflow")})
    assert done.stdout.splitlines()[-1] == "False", done.stdout
    errors = severities.count("error")
    if errors:
        assert f"found {errors} error(s) and 1 warning(s)" in done.stdout
        assert "record R1, form -, field sex, value \"'=1+1\", rule code: not a code" in done.stdout
    else:
        assert (tmp_path / "passed.txt").read_text() == f"validation passed: 0 errors, {len(severities)} warning(s)\n"


# --- the report and the gate -----------------------------------------------------------------------------

def test_the_html_report_is_self_contained_and_escapes_values(clean, dictionary, tmp_path):
    queries = queries_of(edit(clean, "CR-001", "sex", "<b>2</b>"), dictionary, tmp_path)
    write_query_report(queries, tmp_path / "q.csv", tmp_path / "q.html")
    html = (tmp_path / "q.html").read_text()
    assert "&lt;b&gt;2&lt;/b&gt;" in html and "<b>2</b>" not in html
    assert "CR-001" in html and "1 error(s) and 0 warning(s)" in html
    assert "<script" not in html and "http" not in html and "<link" not in html
    csv = pd.read_csv(tmp_path / "q.csv", dtype=str, keep_default_na=False)
    assert csv.values.tolist() == [["CR-001", "demographics", "", "sex", "<b>2</b>", "code", "error",
                                    queries.loc[0, "message"]]]


def test_a_clean_export_writes_an_empty_query_list(clean, dictionary, tmp_path):
    write_query_report(queries_of(clean, dictionary, tmp_path), tmp_path / "q.csv", tmp_path / "q.html")
    assert (tmp_path / "q.csv").read_text() == ",".join(QUERY_COLUMNS) + "\n"
    assert "No queries" in (tmp_path / "q.html").read_text()


def report_files(directory: Path) -> dict:
    """The gate's named inputs: the query report as the tests write it."""
    return {"queries": directory / "q.csv", "html": directory / "q.html"}


def test_the_gate_stops_on_errors_and_prints_the_first(clean, dictionary, tmp_path):
    frame = edit(clean, "CR-003", "diagnosis_date", "2016-02-30")
    frame = edit(frame, "CR-002", "baseline_complete", "0")
    write_query_report(queries_of(frame, dictionary, tmp_path), tmp_path / "q.csv", tmp_path / "q.html")
    with pytest.raises(ValidationFailed) as failure:
        gate(report_files(tmp_path), {"passed": tmp_path / "passed.txt"})
    printed = str(failure.value)
    assert "1 error(s) and 1 warning(s)" in printed
    assert ("record CR-003, form demographics, field diagnosis_date, value '2016-02-30', rule date"
            in printed)
    assert str(tmp_path / "q.html") in printed and "Traceback" not in printed
    assert "baseline_complete" not in printed  # warnings are in the report, not in the failure message
    assert not (tmp_path / "passed.txt").exists()


def test_the_gate_passes_warnings(clean, dictionary, tmp_path):
    frame = edit(clean, "CR-002", "baseline_complete", "0")
    write_query_report(queries_of(frame, dictionary, tmp_path), tmp_path / "q.csv", tmp_path / "q.html")
    gate(report_files(tmp_path), {"passed": tmp_path / "passed.txt"})
    assert (tmp_path / "passed.txt").read_text() == "validation passed: 0 errors, 1 warning(s)\n"


def test_the_gate_prints_at_most_the_first_errors(clean, dictionary, tmp_path):
    frame = clean.copy()
    frame.loc[frame["redcap_repeat_instrument"] == "tumor_assessment", "ta_modality"] = "9"
    write_query_report(queries_of(frame, dictionary, tmp_path), tmp_path / "q.csv", tmp_path / "q.html")
    with pytest.raises(ValidationFailed) as failure:
        gate(report_files(tmp_path), {"passed": tmp_path / "passed.txt"})
    assert "22 error(s)" in str(failure.value)
    assert str(failure.value).count("rule code") == FIRST_ERRORS


def test_the_models_state_the_dictionarys_fields_and_required_flags(dictionary):
    """The typed-table models and the data dictionary say the same: every non-identifier field, required
    exactly when the dictionary says so (identifiers are checked on the exported text)."""
    stated = {}
    for model in MODELS.values():
        for name, column in model.to_schema().columns.items():
            stated[name.split("___")[0]] = column.nullable
    # ta_response is required on the assessments after criz_start_date; a baseline scan has none
    stated.update({name: column.nullable for name, column in ResponseAssessments.to_schema().columns.items()})
    for f in dictionary.fields:
        if f.identifier or f.name == dictionary.record_id:
            continue
        assert f.name in stated, f.name
        if not f.is_checkbox:
            assert stated[f.name] == (not f.required), f.name
