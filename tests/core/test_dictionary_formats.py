"""The data dictionary as REDCap writes it: the downloaded CSV (18 columns under REDCap's header texts, BOM,
CRLF, rich-text HTML, descriptive and calculated fields, any of REDCap's delimiters) and the API's metadata
CSV give the study's fields and, through the whole analysis, the raw export's endpoint results byte for
byte. Anything else stops with one DictionaryError naming the file and what to export instead."""

import json

import openpyxl
import pytest

from chartreview.core.dictionary import (
    COLUMNS,
    WHAT_TO_EXPORT,
    DictionaryError,
    load_dictionary,
    parse_choices,
    plain_text,
)
from chartreview.core.errors import InputError
from support import DICTIONARY, EXAMPLE
from support import corpus_dictionary as corpus
from support.pipeline import endpoint_results, query_table

RAW_EXPORT = EXAMPLE / "export_raw.csv"
STUDY = load_dictionary(DICTIONARY)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """The raw export's endpoint results and queries with the study's dictionary, computed once."""
    workdir = tmp_path_factory.mktemp("raw")
    return endpoint_results(RAW_EXPORT, workdir), query_table(workdir)


# --------------------------------------------------------------------------- the whole analysis
def test_the_dictionary_as_redcap_downloads_it_gives_the_raw_exports_results(raw, tmp_path):
    dictionary = corpus.redcap_download(tmp_path / "Crizotinib_DataDictionary_2025-01-31.csv")
    export = corpus.with_calc_column(RAW_EXPORT, tmp_path / "export_with_calc.csv")
    assert endpoint_results(export, tmp_path / "run", dictionary=dictionary) == raw[0]
    # the calculated field's column is read as a number and raises no query (no missing or unknown column)
    queries = query_table(tmp_path / "run")
    assert queries.equals(raw[1]) and not queries["field"].isin(["criz_dose_g", "consent_note"]).any()


def test_the_apis_metadata_gives_the_raw_exports_results(raw, tmp_path):
    dictionary = corpus.api_metadata(tmp_path / "metadata.csv")
    assert endpoint_results(RAW_EXPORT, tmp_path / "run", dictionary=dictionary) == raw[0]
    assert query_table(tmp_path / "run").equals(raw[1])


# --------------------------------------------------------------------------- the fields each layout gives
def test_the_apis_metadata_gives_the_studys_fields(tmp_path):
    assert load_dictionary(corpus.api_metadata(tmp_path / "metadata.csv")).fields == STUDY.fields


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|", "^"])
def test_the_download_gives_the_studys_fields_with_plain_labels_in_any_delimiter(delimiter, tmp_path):
    path = corpus.redcap_download(tmp_path / "dictionary.csv", delimiter=delimiter)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in path.read_bytes()
    downloaded = load_dictionary(path)
    assert [downloaded[f.name] for f in STUDY.fields] == list(STUDY.fields)  # labels made plain are the study's
    assert [f.name for f in downloaded.fields if f.name not in STUDY] == ["consent_note", "criz_dose_g",
                                                                          "ta_instructions"]
    assert downloaded["ta_instructions"].label == "Assess per RECIST 1.1: one row per visit."


def test_descriptive_fields_have_no_export_column_and_a_calculated_field_a_number_column(tmp_path):
    downloaded = load_dictionary(corpus.redcap_download(tmp_path / "dictionary.csv"))
    columns = [c for form in downloaded.forms for c in downloaded.export_columns(form)]
    assert "consent_note" not in columns and "ta_instructions" not in columns
    assert downloaded.export_columns("treatment")[2:4] == ["criz_dose_mg", "criz_dose_g"]
    calc = downloaded["criz_dose_g"]
    assert calc.is_number and not calc.is_coded and calc.choices == {}  # the formula is no choice
    assert downloaded.forms == STUDY.forms and downloaded.record_id == "record_id"


def _dictionary(tmp_path, *rows, header=None, name="dictionary.csv"):
    """A dictionary CSV of REDCap's download layout: the record id field, then ``rows`` (cells by header)."""
    header = header or [h for _, h in COLUMNS]
    lines = [dict.fromkeys(header, "") | {"Variable / Field Name": "record_id", "Form Name": "demographics",
                                          "Field Type": "text", "Field Label": "Study code"}]
    lines += [dict.fromkeys(header, "") | row for row in rows]
    body = [[line[h] for h in header] for line in lines]
    return corpus.write_redcap_csv(tmp_path / name, header, body, bom=True, eol="\n")


def _field(name, field_type, **cells):
    return {"Variable / Field Name": name, "Form Name": "demographics", "Field Type": field_type,
            "Field Label": name} | cells


def test_file_sql_notes_and_slider_fields_are_read_as_redcap_exports_them(tmp_path):
    dictionary = load_dictionary(_dictionary(
        tmp_path, _field("pathology_report", "file"), _field("signature", "file", **{
            "Text Validation Type OR Show Slider Number": "signature"}),
        _field("site", "sql", **{"Choices, Calculations, OR Slider Labels": "select value from redcap_data"}),
        _field("comments", "notes"), _field("pain", "slider", **{
            "Choices, Calculations, OR Slider Labels": "None | Moderate | Worst",
            "Text Validation Type OR Show Slider Number": "number"})))
    for name in ("pathology_report", "signature", "site", "comments"):   # a file name or text
        f = dictionary[name]
        assert f.is_exported and not (f.is_number or f.is_coded or f.is_date) and f.choices == {}, name
    assert dictionary["pain"].is_number and dictionary["pain"].choices == {}
    assert dictionary.export_columns("demographics") == ["pathology_report", "signature", "site", "comments",
                                                         "pain", "demographics_complete"]


def test_a_date_fields_bounds_are_not_read_as_numbers(tmp_path):
    dictionary = load_dictionary(_dictionary(tmp_path, _field("seen", "text", **{
        "Text Validation Type OR Show Slider Number": "date_ymd", "Text Validation Min": "1900-01-01",
        "Text Validation Max": "today"})))
    assert dictionary["seen"].is_date and dictionary["seen"].minimum is dictionary["seen"].maximum is None


def test_an_older_dictionary_without_the_last_columns_is_read(tmp_path):
    header = [h for _, h in COLUMNS][:16]   # REDCap 4 to 6: no "Matrix Ranking?", no "Field Annotation"
    dictionary = load_dictionary(_dictionary(tmp_path, _field("age", "text"), header=header))
    assert [f.name for f in dictionary.fields] == ["record_id", "age"]


# --------------------------------------------------------------------------- labels and choices
@pytest.mark.parametrize(("label", "plain"), [
    ('<div class="rich-text-field-label"><p>Stage at&nbsp;crizotinib start</p></div>',
     "Stage at crizotinib start"),
    ("<p>First line</p>\r\n<p>second line<br>third</p>", "First line second line third"),
    ('<span style="color:#e03e2d;"><b>Pack</b>-years</span>', "Pack-years"),
    ("ECOG < 2 &amp; PS &gt; 0", "ECOG < 2 & PS > 0"),
    ("&amp;lt;b&amp;gt;", "&lt;b&gt;"),                 # entities decoded once, not twice
    ("Dose<style>p {color: red}</style> (mg)", "Dose (mg)"),
    ("Plain label", "Plain label"),
])
def test_labels_are_plain_text(label, plain):
    assert plain_text(label) == plain


@pytest.mark.parametrize(("text", "choices"), [
    ("1, Male | 2, Female", {"1": "Male", "2": "Female"}),
    ("1, No|2, Yes, confirmed|3, Yes, not confirmed", {"1": "No", "2": "Yes, confirmed", "3": "Yes, not confirmed"}),
    ("1, CT\n2, MRI\r\n3, PET-CT", {"1": "CT", "2": "MRI", "3": "PET-CT"}),   # line breaks, as REDCap reads them
    ("1, CT \\n 2, MRI", {"1": "CT", "2": "MRI"}),                        # REDCap's stored separator
    ("Yes | No", {"Yes": "Yes", "No": "No"}),                             # no comma: the choice is its code
    ("1, <b>ALK</b> | 2, ROS1&nbsp;fusion", {"1": "ALK", "2": "ROS1 fusion"}),
    ("1&#44;5, one&#44; five", {"1,5": "one, five"}),
])
def test_choices_are_read_as_redcap_reads_them(text, choices):
    assert parse_choices(text) == choices


# --------------------------------------------------------------------------- refusals
def _refused(path) -> str:
    with pytest.raises(DictionaryError) as caught:
        load_dictionary(path)
    message = str(caught.value)
    assert isinstance(caught.value, InputError) and str(path) in message and "\n" not in message
    return message


def test_an_excel_workbook_is_refused_saying_what_to_export(tmp_path):
    workbook = openpyxl.Workbook()
    for row in corpus.study_rows():
        workbook.active.append(list(row.values()))
    workbook.save(tmp_path / "dictionary.xlsx")
    message = _refused(tmp_path / "dictionary.xlsx")
    assert "spreadsheet workbook" in message and WHAT_TO_EXPORT in message
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert "spreadsheet workbook" in _refused(tmp_path / "old.xls")


def test_the_apis_json_and_xml_are_refused_asking_for_csv(tmp_path):
    (tmp_path / "metadata.json").write_text(json.dumps([{"field_name": "record_id"}]))
    assert "is JSON (the API's format=json)" in _refused(tmp_path / "metadata.json")
    (tmp_path / "metadata.xml").write_text('<?xml version="1.0" encoding="UTF-8" ?>\n<records></records>\n')
    assert "is XML" in _refused(tmp_path / "metadata.xml")


def test_a_header_of_neither_layout_is_refused_without_quoting_the_first_line(tmp_path):
    (tmp_path / "other.csv").write_text("1,SMITH John,1947-06-02\n2,DOE Jane,1950-01-01\n")
    message = _refused(tmp_path / "other.csv")
    assert "neither REDCap's data dictionary" in message and "names none of their columns" in message
    assert "SMITH" not in message and "1947" not in message and WHAT_TO_EXPORT in message


def test_the_export_given_as_the_dictionary_is_named_as_such(tmp_path):
    assert "this is a data export, not the dictionary" in _refused(RAW_EXPORT)


def test_a_header_without_a_used_column_names_it(tmp_path):
    header = [h for _, h in COLUMNS if h != "Identifier?"]
    assert "(REDCap's data dictionary) lacks the column(s) ['Identifier?']" in _refused(
        _dictionary(tmp_path, header=header))
    api = [name for name, _ in COLUMNS if name != "field_type"]
    (tmp_path / "metadata.csv").write_text(",".join(api) + "\nrecord_id,demographics\n")
    assert "(the API's metadata) lacks the column(s) ['field_type']" in _refused(tmp_path / "metadata.csv")


def test_a_dictionary_not_in_utf8_is_refused(tmp_path):
    path = tmp_path / "dictionary.csv"
    path.write_bytes(DICTIONARY.read_bytes().replace(b"Pack-years", "Paquets-année".encode("cp1252")))
    assert "is not UTF-8 text" in _refused(path) and "'CSV UTF-8'" in _refused(path)


@pytest.mark.parametrize(("content", "phrase"), [
    (b"", "is empty"),
    (b"\xef\xbb\xbf \r\n", "is empty"),
    (",".join(f'"{h}"' for _, h in COLUMNS).encode() + b"\r\n", "has a header but no fields"),
    (",".join(name for name, _ in COLUMNS).encode() + b'\nrecord_id,demographics,,text,"Study code\n'
     + b"x" * 140_000 + b"\n", "line 2: the data dictionary cannot be read as CSV from there (a cell longer than"),
])
def test_an_unreadable_dictionary_is_refused(content, phrase, tmp_path):
    (tmp_path / "dictionary.csv").write_bytes(content)
    assert phrase in _refused(tmp_path / "dictionary.csv")


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    assert "does not exist (config key 'dictionary')" in _refused(tmp_path / "nowhere.csv")
    assert "cannot be read (Is a directory)" in _refused(tmp_path)


@pytest.mark.parametrize(("row", "phrase"), [
    (_field("stage", "select"), "line 3: field 'stage' has the field type 'select', which is none of REDCap's"),
    (_field("record_id", "text"), "line 3: field 'record_id' is stated twice"),
    (_field("sex", "radio"), "line 3: coded field 'sex' has no choices"),
    (_field("sex", "radio", **{"Choices, Calculations, OR Slider Labels": "1, Male | 1, Female"}),
     "line 3: coded field 'sex' states a code twice"),
    (_field("dose", "text", **{"Text Validation Type OR Show Slider Number": "number", "Text Validation Min": "low"}),
     "line 3: number field 'dose' has a non-numeric validation min 'low'"),
    (_field("dose", "text", **{"Form Name": ""}), "line 3: a field without its form name"),
])
def test_a_field_redcap_would_not_write_is_refused_naming_its_line(row, phrase, tmp_path):
    assert phrase in _refused(_dictionary(tmp_path, row))


def test_a_line_number_counts_the_line_breaks_inside_cells(tmp_path):
    rows = [_field("age", "text", **{"Field Label": "<p>Age</p>\n<p>at start</p>"}), _field("bad", "select")]
    assert "line 5: field 'bad'" in _refused(_dictionary(tmp_path, *rows))


def test_the_workflow_stops_at_parse_time_with_the_message_and_no_traceback(make_workflow, tmp_path):
    workbook = openpyxl.Workbook()
    workbook.save(tmp_path / "dictionary.xlsx")
    done = make_workflow().run("--list-rules", "--config", f"dictionary={tmp_path / 'dictionary.xlsx'}",
                               check=False, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert (f"config key 'dictionary': {tmp_path / 'dictionary.xlsx'}: the data dictionary is a spreadsheet "
            f"workbook" in output), output
    assert "Traceback" not in output
