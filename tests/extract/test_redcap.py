"""Extraction: raw CSV, label CSV and workbook give the contract's typed, de-identified tables."""

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chartreview.core.catalog import extracted_files
from chartreview.core.dictionary import load_dictionary
from chartreview.extract import redcap as export
from chartreview.extract.deidentify import MASKED
from chartreview.extract.reading import ExportError
from chartreview.extract.redcap import extract, read_tables, write_tables
from chartreview.extract.text import parse_dates, whole_years
from support import CONFIG_FILE, DICTIONARY, ROOT, extraction_params
from support.bad_exports import (
    JAPANESE_AGENT,
    JAPANESE_PARTNER,
    read_raw,
    to_label,
    to_workbook,
    write_raw,
)

FIXTURE = ROOT / "tests" / "fixtures" / "exports" / "export_raw.csv"
EXAMPLE = ROOT / "resources" / "example"
TABLE_NAMES = ("patients", "tumor_assessments", "progression_sites", "subsequent_therapies")


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary(ROOT / "resources" / "data_dictionary.csv")


@pytest.fixture(scope="module")
def tables(dictionary):
    return extract(FIXTURE, dictionary)

STUDY = yaml.safe_load(CONFIG_FILE.read_text())
# what rule extract passes from the config
READING = extraction_params(STUDY)


def assert_same_tables(a, b):
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


# --- the contract "Extracted tables" ---------------------------------------------------------------------

def test_patients_hold_every_non_identifier_field_of_the_non_repeating_forms(tables, dictionary):
    forms = ["demographics", "treatment", "baseline", "followup"]
    expected = ["record_id", "age"] + [c for f in forms for c in dictionary.export_columns(f)
                                       if c not in dictionary.identifiers]
    assert list(tables.patients.columns) == expected
    assert tables.patients["record_id"].tolist() == ["CR-001", "CR-002", "CR-003", "CR-004", "CR-005"]


def test_repeating_tables_columns_and_order(tables):
    ta = tables.tumor_assessments
    assert list(ta.columns) == ["record_id", "instance", "ta_date", "ta_response", "ta_sld_mm", "ta_modality",
                                "tumor_assessment_complete"]
    assert list(tables.progression_sites.columns) == ["record_id", "instance", "pd_date", "pd_site",
                                                      "pd_lesion", "progression_complete"]
    assert list(tables.subsequent_therapies.columns) == ["record_id", "instance", "st_start_date", "st_agent",
                                                         "subsequent_therapy_complete"]
    assert len(ta) == 22 and len(tables.progression_sites) == 5 and len(tables.subsequent_therapies) == 3
    # sorted by record (export order), then instance
    assert ta[["record_id", "instance"]].equals(ta[["record_id", "instance"]].sort_values(["record_id", "instance"]))



@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([1.0, 2.0, 3.0, -0.0, 0.0, np.nan])), max_size=12))
def test_rows_already_in_record_then_instance_order_are_those_a_stable_sort_leaves_in_place(rows):
    """The split sorts a form's rows only when they are not already as the sort puts them (records in order of
    first appearance, then instance, a missing instance last): both ways must agree on every arrangement."""
    record = np.array([r for r, _ in rows], dtype=np.int32)
    instance = np.array([i for _, i in rows], dtype=float)
    stable = np.lexsort((instance, record))
    assert export._in_record_order(record, instance) == bool((stable == np.arange(len(rows))).all())

def test_types(tables, dictionary):
    p = tables.patients
    assert p["record_id"].dtype == "string"
    assert p["age"].dtype == "Int64"
    assert p["criz_start_date"].dtype == "datetime64[ns]"
    assert p["pack_years"].dtype == np.float64
    assert p["fusion_partner"].dtype == "string"
    assert p["measurable_disease"].dtype == "boolean"
    assert p["met_site___1"].dtype == bool and p["fusion_method___4"].dtype == bool
    assert p["demographics_complete"].dtype == "Int64"
    for name in ("sex", "smoking_status", "ecog_ps", "histology", "stage", "fusion_gene", "criz_line",
                 "criz_end_reason", "vital_status", "death_cause"):
        assert list(p[name].cat.categories) == list(dictionary[name].choices.values()), name
    assert list(tables.tumor_assessments["ta_response"].cat.categories) == ["CR", "PR", "SD", "PD", "NE"]
    assert list(tables.progression_sites["pd_site"].cat.categories)[:2] == ["Brain", "Liver"]
    assert tables.tumor_assessments["instance"].dtype == "Int64"


def test_values(tables):
    p = tables.patients.set_index("record_id")
    assert p.loc["CR-001", "sex"] == "Female" and p.loc["CR-002", "sex"] == "Male"
    assert p.loc["CR-002", "pack_years"] == 20.5 and np.isnan(p.loc["CR-001", "pack_years"])
    assert p.loc["CR-001", "criz_start_date"] == pd.Timestamp("2014-01-10")
    assert pd.isna(p.loc["CR-001", "criz_end_date"]) and pd.isna(p.loc["CR-001", "death_cause"])
    assert p.loc["CR-001", "met_site___1"] and not p.loc["CR-001", "met_site___2"]
    assert p.loc["CR-005", "brain_met_symptomatic"] is np.True_ or p.loc["CR-005", "brain_met_symptomatic"]
    assert pd.isna(p.loc["CR-002", "brain_met_symptomatic"])
    assert pd.isna(p.loc["CR-003", "fusion_partner"])
    assert p.loc["CR-002", "vital_status"] == "Dead" and p.loc["CR-002", "death_cause"] == "Lung cancer"
    assert p["age"].tolist() == [57, 62, 45, 56, 79]  # whole years at criz_start_date
    ta = tables.tumor_assessments
    assert ta.loc[ta["record_id"] == "CR-002", "ta_response"].tolist() == ["SD", "PD", "PD"]


def test_whole_years_counts_a_birthday_only_once_reached():
    birth = pd.Series(pd.to_datetime(["1960-03-15", "1960-03-15", "1960-03-15", "1960-02-29", "1960-02-29"]))
    at = pd.Series(pd.to_datetime(["2020-03-14", "2020-03-15", "2020-12-31", "2021-02-28", "2021-03-01"]))
    assert whole_years(birth, at).tolist() == [59, 60, 60, 60, 61]


def test_parse_dates_accepts_only_real_dates_written_yyyy_mm_dd():
    text = pd.Series(["2013-02-28", "2013-02-30", "41234", "2013-2-3", "03/02/2013", "", "2012-02-29 "])
    parsed = parse_dates(text)
    assert parsed.iloc[0] == pd.Timestamp("2013-02-28")
    assert parsed.iloc[1:].isna().all()


# --- de-identification ------------------------------------------------------------------------------------

def test_identifiers_are_dropped_from_the_tables_and_masked_in_the_exported_text(tables, dictionary):
    raw = read_raw(FIXTURE)
    secrets = {v for c in dictionary.identifiers for v in raw[c] if v}
    assert secrets
    for name in TABLE_NAMES:
        frame = getattr(tables, name)
        assert not set(dictionary.identifiers) & set(frame.columns)
        assert not secrets & set(frame.astype(str).to_numpy().ravel())
    for form, text in tables.exported.items():
        assert not secrets & set(text.astype(str).to_numpy().ravel()), form
    assert set(tables.exported["demographics"]["birth_date"]) == {MASKED}


def test_written_tables_hold_no_identifier_and_read_back_identical(tables, dictionary, tmp_path):
    files = extracted_files(tmp_path, dictionary.forms)
    write_tables(tables, files)
    back = read_tables(files)
    assert_same_tables(tables, back)
    assert back.info == tables.info
    for form, text in tables.exported.items():
        pd.testing.assert_frame_equal(back.exported[form], text, check_dtype=False, obj=form)
    assert_same_tables(tables, read_tables(files, exported=False))
    raw = read_raw(FIXTURE)
    secrets = [v for c in dictionary.identifiers for v in raw[c] if v]
    for path in tmp_path.rglob("*"):
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            cells = set(frame.astype(str).to_numpy().ravel()) | set(frame.columns)
            assert not set(secrets) & cells, path
        elif path.is_file():
            assert not any(s in path.read_text() for s in secrets), path


# --- formats ----------------------------------------------------------------------------------------------

def test_raw_label_and_workbook_give_identical_tables(tables, dictionary, tmp_path):
    label = extract(to_label(FIXTURE, dictionary, tmp_path / "label.csv"), dictionary)
    workbook_path = to_workbook(FIXTURE, dictionary, tmp_path / "export.xlsx")
    workbook = extract(workbook_path, dictionary)
    assert label.info.format == "label CSV" and workbook.info.format == "xlsx workbook"
    assert_same_tables(tables, label)
    assert_same_tables(tables, workbook)
    # the workbook holds true Excel date cells, numeric codes and text dates
    sheet = openpyxl.load_workbook(workbook_path)["treatment"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("criz_start_date") + 1).is_date
    assert isinstance(sheet.cell(2, header.index("criz_line") + 1).value, int)
    assert isinstance(sheet.cell(2, header.index("criz_end_date") + 1).value, (str, type(None)))


@pytest.mark.skipif(not (EXAMPLE / "export_raw.csv").exists(), reason="the synthetic example is not there yet")
def test_example_raw_label_and_workbook_give_identical_tables(dictionary):
    raw = extract(EXAMPLE / "export_raw.csv", dictionary)
    assert raw.info.records == 68
    assert_same_tables(raw, extract(EXAMPLE / "export_label.csv", dictionary))
    assert_same_tables(raw, extract(EXAMPLE / "export.xlsx", dictionary))


def test_utf8_with_and_without_bom_read_alike(tables, dictionary, tmp_path):
    with_bom = write_raw(read_raw(FIXTURE), tmp_path / "bom.csv", encoding="utf-8-sig")
    assert with_bom.read_bytes().startswith(b"\xef\xbb\xbf")
    assert_same_tables(tables, extract(with_bom, dictionary))


def test_cp932_needs_the_setting_and_then_keeps_the_japanese_text(dictionary, tmp_path):
    frame = read_raw(FIXTURE)
    frame.loc[0, "fusion_partner"] = JAPANESE_PARTNER
    frame.loc[frame["redcap_repeat_instrument"] == "subsequent_therapy", "st_agent"] = JAPANESE_AGENT
    path = write_raw(frame, tmp_path / "sjis.csv", encoding="cp932")
    with pytest.raises(ExportError) as failure:
        extract(path, dictionary)
    message = str(failure.value)
    assert "sjis.csv" in message and "'utf-8-sig'" in message and "export_encoding" in message
    assert "line 2" in message and "CR-001" not in message  # a record_id may be an MRN: the line only
    tables = extract(path, dictionary, encoding="cp932")
    assert tables.patients.loc[0, "fusion_partner"] == JAPANESE_PARTNER
    assert set(tables.subsequent_therapies["st_agent"]) == {JAPANESE_AGENT}


# --- unreadable exports -----------------------------------------------------------------------------------

HEADER = FIXTURE.read_text().splitlines()[0]


@pytest.mark.parametrize("content, phrase", [
    (b"", "empty"),
    (b"\n\n", "empty"),
    ((HEADER + "\n").encode(), "no records"),
    (b"patient,sex\nA,1\n", "no 'record_id' column"),
    (b"record_id,sex\n1,1\n", "no 'redcap_repeat_instrument' column"),
    ((HEADER + "\nCR-001,,,SYN\n").encode(), "line 2: 4 fields where the header has 56"),
    ((HEADER + '\nCR-001,,,"SYN\n').encode(), "line 2"),
])
def test_an_unreadable_export_names_the_file_and_what_is_wrong(content, phrase, dictionary, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(ExportError) as failure:
        extract(path, dictionary)
    assert str(path) in str(failure.value) and phrase in str(failure.value)


def test_an_unknown_encoding_names_the_setting(dictionary):
    with pytest.raises(ExportError, match="export_encoding"):
        extract(FIXTURE, dictionary, encoding="no-such-codec")


def test_a_row_message_never_quotes_an_identifier(dictionary, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines[:-1] + [lines[1] + ",extra"]) + "\n")  # patient row with a field too many
    with pytest.raises(ExportError) as failure:
        extract(path, dictionary)
    assert "SYN-" not in str(failure.value) and "SYNTHETIC" not in str(failure.value)
    assert "CR-001" not in str(failure.value)  # a record_id may be an MRN: named by its line
    assert f"line {len(lines)}" in str(failure.value)


def test_run_fails_with_the_file_named_and_writes_nothing(dictionary, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    out = tmp_path / "results" / "extracted"
    inputs = {"export": empty, "dictionary": DICTIONARY}
    with pytest.raises(ExportError, match="empty.csv"):
        export.run(inputs, extracted_files(out, dictionary.forms), **READING)
    assert not out.exists()
    assert empty.read_bytes() == b""  # the input is never modified


def test_run_writes_the_named_files_and_says_what_it_read(dictionary, tmp_path):
    files = extracted_files(tmp_path, dictionary.forms)
    note = export.run({"export": FIXTURE, "dictionary": DICTIONARY}, files, **READING)
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == sorted(f"{n}.parquet" for n in TABLE_NAMES)
    assert all(Path(path).is_file() for path in files.values())
    assert "5 records in 35 rows" in note and "raw CSV" in note


def test_the_written_tables_are_byte_identical_run_to_run(dictionary, tmp_path):
    for run_dir in ("a", "b"):
        write_tables(extract(FIXTURE, dictionary), extracted_files(tmp_path / run_dir, dictionary.forms))
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 4 + 7 + 2  # typed tables; the exported text of each form, the rows, export.json
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
