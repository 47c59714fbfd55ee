"""Every layout REDCap (or Excel) writes for the example project gives the raw export's endpoint results,
byte for byte; what cannot be read stops with one message naming the file, the feature and what to give."""

import json
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from chartreview.core.catalog import DATA_ACCESS_GROUP
from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from chartreview.extract.reading import ExportError, header_columns
from chartreview.extract.redcap import extract
from chartreview.validate.contracts import validate
from support import DICTIONARY, EXAMPLE
from support import corpus_layouts as layouts
from support.pipeline import endpoint_results

RAW = EXAMPLE / "export_raw.csv"


@pytest.fixture(scope="module")
def dictionary():
    return load_dictionary(DICTIONARY)


@pytest.fixture(scope="module")
def raw_results(tmp_path_factory):
    return endpoint_results(RAW, tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="module")
def raw_tables(dictionary):
    return extract(RAW, dictionary)


# layout -> (how it is made, what extraction says it read)
LAYOUTS = {
    # the UI's labels export of a project with data access groups and surveys
    "labels": (lambda d, out: layouts.labels_export(RAW, d, out / "labels.csv"),
               "label CSV, field labels as header"),
    "labels, older server": (lambda d, out: layouts.labels_export(RAW, d, out / "old.csv", quoted_choices=True,
                                                                  redcap_columns=False),
                             "label CSV, field labels as header"),
    "labels with raw header": (lambda d, out: layouts.labels_with_raw_header(RAW, d, out / "labels_raw.csv"),
                               "label CSV"),
    "raw with label header": (lambda d, out: layouts.raw_with_label_header(RAW, d, out / "raw_labels.csv"),
                              "raw CSV, field labels as header"),
    "raw with group, survey and timestamp columns": (
        lambda d, out: layouts.raw_with_redcap_columns(RAW, d, out / "dag.csv"), "raw CSV"),
    "semicolon": (lambda d, out: layouts.delimited(RAW, out / "semicolon.csv", ";"), "raw CSV (semicolon-delimited)"),
    "tab": (lambda d, out: layouts.delimited(RAW, out / "tab.csv", "\t"), "raw CSV (tab-delimited)"),
    "pipe": (lambda d, out: layouts.delimited(RAW, out / "pipe.csv", "|"), "raw CSV (pipe-delimited)"),
    "line breaks in values": (lambda d, out: layouts.with_line_breaks(RAW, out / "lines.csv")[0],
                              "raw CSV with line breaks in values"),
    "one-sheet workbook saved by Excel": (
        lambda d, out: layouts.excel_flat_workbook(RAW, out / "export_raw.xlsx"), "xlsx workbook"),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_gives_the_raw_exports_endpoint_results(layout, dictionary, raw_results, raw_tables, tmp_path):
    make, read_as = LAYOUTS[layout]
    export = make(dictionary, tmp_path)
    run = tmp_path / "run"
    assert endpoint_results(export, run) == raw_results
    info = json.loads((run / "results/extracted/raw/export.json").read_text())
    assert info["format"] == read_as
    assert info["columns_unknown"] == [] and info["columns_missing"] == []
    assert (info["records"], info["rows"]) == (raw_tables.info.records, raw_tables.info.rows)
    # the site, when exported, is carried to the analysis dataset; a survey identifier is in no output
    extracted = pd.read_parquet(run / "results/extracted/patients.parquet")
    derived = pd.read_parquet(run / "results/derived/patients.parquet")
    assert (DATA_ACCESS_GROUP in derived) == (DATA_ACCESS_GROUP in extracted) == ("group" in layout or
                                                                                 layout == "labels")
    written = b"".join(p.read_bytes() for p in run.rglob("*") if p.is_file())
    assert layouts.SURVEY_ID.encode() not in written


# --- the label header ----------------------------------------------------------------------------------

def test_a_label_shared_by_columns_is_told_apart_by_where_it_stands(dictionary):
    header = layouts.label_header(["record_id", "redcap_repeat_instrument", "redcap_repeat_instance",
                                   "demographics_timestamp", "sex", "demographics_complete",
                                   "criz_start_date", "treatment_complete", "followup_timestamp",
                                   "vital_status", "followup_complete"], dictionary)
    assert header.count("Complete?") == 3 and header.count("Survey Timestamp") == 2
    names, labels = header_columns(header, dictionary)
    assert labels and names == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance",
                                "demographics_timestamp", "sex", "demographics_complete", "criz_start_date",
                                "treatment_complete", "followup_timestamp", "vital_status", "followup_complete"]


def test_labels_with_html_and_a_label_the_dictionary_lacks(dictionary):
    names, _ = header_columns(["Study code", "Repeat Instrument", "Repeat Instance", "<b>Sex</b>",
                               "Method of  fusion detection (choice='FISH')", "A question added since",
                               "Complete?"], dictionary)
    assert names == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "sex",
                     "fusion_method___1", None, "demographics_complete"]


def test_a_label_matching_no_column_is_reported_as_written_and_not_read(dictionary, tmp_path):
    path = layouts.labels_export(RAW, dictionary, tmp_path / "labels.csv", redcap_columns=False)
    lines = path.read_text().split("\n")
    header = lines[0].split(",")
    at = header.index("Fusion partner")
    header[at] = "Fusion partner (renamed since)"
    path.write_text("\n".join([",".join(header)] + lines[1:]))
    tables = extract(path, dictionary)
    assert tables.info.columns_unknown == ("Fusion partner (renamed since)",)
    assert tables.info.columns_missing == ("fusion_partner",)


# --- REDCap's own columns ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [layouts.raw_with_redcap_columns, layouts.labels_export])
def test_the_data_access_group_is_a_patient_attribute_and_the_survey_columns_are_known(make, dictionary, tmp_path):
    tables = extract(make(RAW, dictionary, tmp_path / "export.csv"), dictionary)
    sites = tables.patients[DATA_ACCESS_GROUP]
    named = layouts.SITES if make is layouts.labels_export else {s: s for s in layouts.SITES}
    assert isinstance(sites.dtype, pd.CategoricalDtype)
    assert list(sites.cat.categories) == sorted(named.values())
    assert sites.isna().sum() == sum(1 for r in range(len(sites)) if r % 5 == 4)  # records in no group
    assert sites.iloc[0] == named["site_kyoto"]
    assert tables.info.columns_unknown == ()  # no "unknown_column" query for REDCap's own columns


def test_without_data_access_groups_the_tables_have_no_such_column(raw_tables):
    assert DATA_ACCESS_GROUP not in raw_tables.patients.columns


def test_a_second_byte_order_mark_is_not_part_of_the_first_column(dictionary, raw_tables, tmp_path):
    path = tmp_path / "saved_twice.csv"
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + RAW.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    tables = extract(path, dictionary)
    pd.testing.assert_frame_equal(tables.patients, raw_tables.patients)
    pd.testing.assert_frame_equal(tables.tumor_assessments, raw_tables.tumor_assessments)


# --- delimiters ---------------------------------------------------------------------------------------------

def test_a_delimiter_can_be_set(dictionary, raw_tables, tmp_path):
    path = layouts.delimited(RAW, tmp_path / "semicolon.csv", ";")
    for setting in (";", "semicolon"):
        pd.testing.assert_frame_equal(extract(path, dictionary, delimiter=setting).patients, raw_tables.patients)


def test_a_wrong_delimiter_says_what_was_found(dictionary, tmp_path):
    path = layouts.delimited(RAW, tmp_path / "semicolon.csv", ";")
    with pytest.raises(ExportError) as failure:
        extract(path, dictionary, delimiter="comma")
    message = str(failure.value)
    assert message == (f"{path}: the header line is not comma-delimited as the config key `export_delimiter` "
                       f"says (read so, it has 1 column(s)) but semicolon-delimited: set `export_delimiter` to "
                       f"auto or semicolon")
    assert "no 'record_id' column" not in message


# --- line breaks in values --------------------------------------------------------------------------------

def test_a_query_after_values_with_line_breaks_cites_the_right_line(dictionary, tmp_path):
    path, line = layouts.with_line_breaks(RAW, tmp_path / "lines.csv", invalid_date_after=True)
    assert line > 798 + 10  # the line breaks moved the row down
    queries = validate(extract(path, dictionary), dictionary, with_defaults())
    bad = queries[(queries["field"] == "ta_date") & (queries["value"] == "2012-02-30")]
    assert len(bad) == 1 and bad["message"].iloc[0].endswith(f"(line {line})")


def test_blank_lines_do_not_shift_the_lines_cited(dictionary, tmp_path):
    text = RAW.read_text().split("\n")
    record, _, rest = text[10].split(",", 2)
    text[10] = f"{record},tumour,{rest}"  # an instrument no form has
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(text[:5] + ["", ""] + text[5:]))
    rows = extract(path, dictionary).rows
    assert rows.loc[rows["instrument"] == "tumour", "source"].tolist() == ["line 13"]


# --- workbooks ------------------------------------------------------------------------------------------------

def test_a_sheet_that_is_no_form_is_named_by_its_position_never_by_its_name(dictionary, tmp_path):
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"record_id": ["1"], "sex": ["1"]}).to_excel(writer, sheet_name="demographics", index=False)
        pd.DataFrame({"record_id": ["1"], "note": ["x"]}).to_excel(writer, sheet_name="export", index=False)
    with pytest.raises(ExportError) as failure:
        extract(path, dictionary)
    message = str(failure.value)
    # a sheet's name is typed by a person and may be a patient's: never quoted
    assert message.startswith(f"{path}, sheet 2 of 2: its name is not a form of the data dictionary")
    assert "'export'" not in message
    assert "one sheet per form" in message and "single sheet holding the flat export" in message


def _zip_bomb(path: Path, inflated_mb: int) -> Path:
    """A workbook-named zip of ~1.7 MB holding a sheet of ``inflated_mb`` MB of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            zeros = bytes(1_000_000)
            for _ in range(inflated_mb):
                sheet.write(zeros)
    return path


def test_a_workbook_that_inflates_far_beyond_its_size_is_refused_before_parsing(dictionary, tmp_path):
    path = _zip_bomb(tmp_path / "export.xlsx", 380)
    assert 1.5e6 < path.stat().st_size < 2e6
    for limits, key in (({"xlsx_max_compression_ratio": 100}, "xlsx_max_compression_ratio"),
                        ({"xlsx_max_inflated_mb": 300}, "xlsx_max_inflated_mb")):
        start = time.perf_counter()
        with pytest.raises(ExportError) as failure:
            extract(path, dictionary, **limits)
        assert time.perf_counter() - start < 0.5
        message = str(failure.value)
        assert str(path) in message and "inflates to 380.0 MB" in message and f"`{key}`" in message
    defaults = with_defaults()
    assert defaults["xlsx_max_inflated_mb"] >= 1000 and defaults["xlsx_max_compression_ratio"] < 380 / 1.6


def test_a_damaged_workbook_names_no_text_of_the_library(dictionary, tmp_path):
    good = layouts.excel_flat_workbook(RAW, tmp_path / "good.xlsx")
    sheet = openpyxl.load_workbook(good).active  # as Excel saves the CSV: one sheet, dates as date cells
    header = [c.value for c in sheet[1]]
    assert sheet.title == "export_raw" and "redcap_repeat_instrument" in header
    assert sheet.cell(2, header.index("criz_start_date") + 1).is_date
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b'sheetId="1"', b'sheetId="SYNTHETIC Patient 001"')
            target.writestr(item, data)
    with pytest.raises(ExportError) as failure:
        extract(damaged, dictionary)
    message = str(failure.value)
    assert re.fullmatch(re.escape(f"{damaged}: not a readable .xlsx workbook (") + r"\w+" +
                        re.escape("); save it again from Excel, or give the REDCap CSV export"), message)


# --- what is not a flat CSV export --------------------------------------------------------------------------

@pytest.mark.parametrize("content, feature", [
    (b'<?xml version="1.0" encoding="UTF-8" ?>\n<ODM></ODM>\n', "an XML file (CDISC ODM"),
    (b'[{"record_id": "1"}]', "a JSON file"),
    ("record_id,sex\n1,1\n".encode("utf-16"), "UTF-16 text"),
    (b"PK\x03\x04" + bytes(40), "an Excel workbook"),
    (b"record,field_name,value\n1,sex,1\n", "an EAV export"),
])
def test_what_is_not_a_flat_csv_is_named_with_what_to_export_instead(content, feature, dictionary, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(ExportError) as failure:
        extract(path, dictionary)
    message = str(failure.value)
    assert message.startswith(str(path)) and feature in message and "instead" in message


def test_the_header_less_csv_of_a_statistics_package_export_says_what_to_export(dictionary, tmp_path):
    path = tmp_path / "CRIZ_DATA_NOHDRS_2024-01-01_1200.csv"
    path.write_text("\n".join(RAW.read_text().split("\n")[1:]))
    with pytest.raises(ExportError, match=r"without a header: export 'CSV / Microsoft Excel \(raw data\)'") as failure:
        extract(path, dictionary)
    message = str(failure.value)  # the first line is a patient's row: none of it is quoted
    assert "56 column(s), 0 of them known to the data dictionary" in message
    assert "SYN-" not in message and "SYNTHETIC" not in message
