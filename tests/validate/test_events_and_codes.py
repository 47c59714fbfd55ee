"""The queries of a longitudinal export and of missing-data codes: what they name and their severity."""

import pandas as pd
import pytest

from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from chartreview.extract.redcap import extract
from chartreview.validate.contracts import validate
from support import DICTIONARY, FIXTURES
from support.bad_exports import read_raw, write_raw
from support.corpus_events import CODES_FOR_BLANKS, FOLLOW_UP, in_two_events, one_event, with_missing_data_codes

FIXTURE = FIXTURES / "exports" / "export_raw.csv"
CONFIG = with_defaults()
CODES = CONFIG["missing_data_codes"]


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary(DICTIONARY)


def queries_of(frame: pd.DataFrame, dictionary, tmp_path, codes=CODES) -> pd.DataFrame:
    path = write_raw(frame, tmp_path / "export.csv")
    return validate(extract(path, dictionary, missing_data_codes=codes), dictionary, CONFIG)


def test_each_code_is_one_warning_naming_its_meaning(dictionary, tmp_path):
    queries = queries_of(with_missing_data_codes(read_raw(FIXTURE)), dictionary, tmp_path)
    coded = queries[queries["rule"] == "missing_data_code"]
    assert set(coded["severity"]) == {"warning"} and not (queries["severity"] == "error").any()
    assert set(coded["field"]) == {f for f, code in CODES_FOR_BLANKS.items()
                                   if (read_raw(FIXTURE)[f] == "").any()}
    for q in coded.itertuples():
        assert q.value == CODES_FOR_BLANKS[q.field]
        assert q.message.startswith(f"missing-data code {q.value} ({CODES[q.value]}): read as missing (line ")


def test_a_code_in_a_required_field_is_an_error_that_says_so(dictionary, tmp_path):
    frame = read_raw(FIXTURE)
    frame.loc[0, "ecog_ps"] = "UNK"
    queries = queries_of(frame, dictionary, tmp_path)
    found = queries[queries["field"] == "ecog_ps"].set_index("rule")
    assert sorted(found.index) == ["missing_data_code", "required"]
    assert found.loc["required", "severity"] == "error" and found.loc["required", "value"] == "UNK"
    assert "missing-data code" in found.loc["required", "message"]


def test_without_codes_a_code_is_a_wrong_value(dictionary, tmp_path):
    frame = read_raw(FIXTURE)
    frame.loc[0, "pack_years"] = "UNK"
    queries = queries_of(frame, dictionary, tmp_path, codes={})
    assert queries[["field", "value", "rule", "severity"]].values.tolist() == [["pack_years", "UNK", "number",
                                                                                 "error"]]


def test_a_code_that_is_a_choice_is_no_query(tmp_path):
    text = DICTIONARY.read_text(encoding="utf-8-sig").replace('"1, Male | 2, Female"', '"1, Male | 2, Female | NA, NA"')
    (tmp_path / "dictionary.csv").write_text(text, encoding="utf-8")
    dictionary = load_dictionary(tmp_path / "dictionary.csv")
    frame = read_raw(FIXTURE)
    frame.loc[0, "sex"] = "NA"
    assert queries_of(frame, dictionary, tmp_path).empty


def test_a_record_with_its_row_twice_in_one_event_is_a_duplicate(dictionary, tmp_path):
    frame = one_event(read_raw(FIXTURE))
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    queries = queries_of(frame, dictionary, tmp_path)
    assert queries[["record_id", "rule"]].values.tolist() == [[frame.loc[0, "record_id"], "duplicate_record"]]


def test_a_form_in_two_events_names_the_events_and_their_lines(dictionary, tmp_path):
    frame = in_two_events(read_raw(FIXTURE), "CR-002", "smoking_status", "2")
    queries = queries_of(frame, dictionary, tmp_path)
    assert queries[["record_id", "form", "field", "rule", "severity"]].values.tolist() == [
        ["CR-002", "demographics", "smoking_status", "form_in_two_events", "error"]]
    line = frame.index[(frame["record_id"] == "CR-002") & (frame["redcap_event_name"] == FOLLOW_UP)][0] + 2
    assert queries["message"][0].endswith(f"(line {line - 1}, event baseline_arm_1; line {line}, event {FOLLOW_UP})")
