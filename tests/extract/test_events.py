"""Exports REDCap writes for a longitudinal project, with missing-data codes, or without identifier fields:
the same data as the raw example export gives its endpoint results byte for byte; a form with different
values in two events, or an export without birth dates and without an age field, stops the run."""

import pandas as pd
import pytest

from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from chartreview.extract.reading import ExportError
from chartreview.extract.redcap import extract
from chartreview.validate.queries import ValidationFailed
from support import DICTIONARY, EXAMPLE
from support import corpus_events as corpus
from support.bad_exports import read_raw, write_raw
from support.pipeline import endpoint_results, query_table

RAW = EXAMPLE / "export_raw.csv"
CODES = with_defaults()["missing_data_codes"]
TABLES = ("patients", "tumor_assessments", "progression_sites", "subsequent_therapies")


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary(DICTIONARY)


@pytest.fixture(scope="module")
def variants(dictionary, tmp_path_factory):
    return corpus.derive(RAW, dictionary, tmp_path_factory.mktemp("variants"))


@pytest.fixture(scope="module")
def raw_results(tmp_path_factory):
    return endpoint_results(RAW, tmp_path_factory.mktemp("raw"))


@pytest.mark.parametrize("variant", ["one_event", "two_events", "two_events_labels", "missing_data_codes"])
def test_the_same_data_as_redcap_writes_it_gives_the_raw_exports_results(variant, variants, raw_results, tmp_path):
    assert endpoint_results(variants[variant], tmp_path) == raw_results


def test_an_export_without_identifiers_reads_age_from_the_age_field(dictionary, raw_results, tmp_path):
    export = write_raw(corpus.without_identifiers(read_raw(RAW), dictionary), tmp_path / "export.csv")
    with_age = corpus.dictionary_with_age_field(DICTIONARY, tmp_path / "dictionary.csv")
    assert endpoint_results(export, tmp_path / "run", dictionary=with_age) == raw_results
    assert query_table(tmp_path / "run")["rule"].eq("form_incomplete").all()  # no identifier is missed


def test_an_export_without_birth_dates_and_without_an_age_field_is_refused(dictionary, tmp_path):
    export = write_raw(corpus.without_identifiers(read_raw(RAW), dictionary, age_field=False),
                       tmp_path / "export.csv")
    with pytest.raises(ExportError) as refused:
        endpoint_results(export, tmp_path / "run")
    message = str(refused.value)
    for phrase in (str(export), "'birth_date'", "Remove All Identifier Fields", "'age_at_start'"):
        assert phrase in message
    assert not (tmp_path / "run" / "results" / "extracted").exists()


def test_events_renumber_the_instances_and_merge_the_rows_as_one_event(dictionary, variants):
    raw = extract(RAW, dictionary, missing_data_codes=CODES)
    spread = extract(variants["two_events_labels"], dictionary, missing_data_codes=CODES)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(spread, name), getattr(raw, name), obj=name)
    # a query is found in REDCap by its line and event
    sources = spread.exported["tumor_assessment"]["source"]
    assert sources.str.endswith(", event Baseline (Arm 1: Arm 1)").any()
    assert sources.str.endswith(", event Follow-up (Arm 1: Arm 1)").any()
    assert spread.exported["followup"]["source"].str.endswith("event Follow-up (Arm 1: Arm 1)").all()


def test_a_one_event_export_is_read_as_without_events(dictionary, variants):
    raw = extract(RAW, dictionary)
    one = extract(variants["one_event"], dictionary)
    assert one.info.columns_unknown == ()
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(one, name), getattr(raw, name), obj=name)
    pd.testing.assert_series_equal(one.exported["demographics"]["source"], raw.exported["demographics"]["source"])


def test_a_form_with_different_values_in_two_events_stops_the_run(dictionary, tmp_path):
    frame, record = corpus.conflicting_events(read_raw(RAW), dictionary)
    with pytest.raises(ValidationFailed) as stopped:
        endpoint_results(write_raw(frame, tmp_path / "export.csv"), tmp_path)
    message = str(stopped.value)
    for phrase in (f"record {record}", "form demographics", "field sex", "rule form_in_two_events",
                   corpus.BASELINE, corpus.FOLLOW_UP):
        assert phrase in message
    errors = query_table(tmp_path).query("severity == 'error'")
    assert errors[["record_id", "form", "field", "rule"]].values.tolist() == [
        [record, "demographics", "sex", "form_in_two_events"]]


def test_missing_data_codes_are_missing_in_the_typed_tables_and_kept_in_the_exported_text(dictionary, variants):
    raw = extract(RAW, dictionary, missing_data_codes=CODES)
    coded = extract(variants["missing_data_codes"], dictionary, missing_data_codes=CODES)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(coded, name), getattr(raw, name), obj=name)
    for field, code in corpus.CODES_FOR_BLANKS.items():
        form = dictionary[field].form
        assert (coded.exported[form][field] == code).any(), field
    assert coded.info.missing_data_codes == CODES


def test_without_missing_data_codes_a_code_is_a_value(dictionary, variants):
    coded = extract(variants["missing_data_codes"], dictionary, missing_data_codes={})
    assert (coded.patients["fusion_partner"] == "NASK").any()   # text: kept as entered


def test_a_code_that_is_a_choice_of_the_field_is_that_choice(tmp_path):
    text = DICTIONARY.read_text(encoding="utf-8-sig").replace(
        '"1, Lung cancer | 2, Other | 3, Unknown"', '"1, Lung cancer | 2, Other | 3, Unknown | NA, Not applicable"')
    assert "NA, Not applicable" in text
    (tmp_path / "dictionary.csv").write_text(text, encoding="utf-8")
    with_na = load_dictionary(tmp_path / "dictionary.csv")
    frame = read_raw(RAW)
    alive = frame.index[(frame["redcap_repeat_instrument"] == "") & (frame["vital_status"] == "0")][0]
    frame.loc[alive, "death_cause"] = "NA"
    tables = extract(write_raw(frame, tmp_path / "export.csv"), with_na, missing_data_codes=CODES)
    patients = tables.patients.set_index("record_id")
    assert patients.loc[frame.loc[alive, "record_id"], "death_cause"] == "Not applicable"
