"""The files REDCap (and Excel) write for one project, made from its raw export and data dictionary.

Each function takes the raw export as text (``read_raw``) and writes one layout of the same data: the UI's
"CSV / Microsoft Excel (labels)" export (field labels as the header, labels as values; an older server's
quoted checkbox choices), labels with the raw header, raw values with the label header, REDCap's data
access group, survey identifier and survey timestamp columns, each CSV delimiter, values holding line
breaks, and the raw CSV opened in Excel and saved as a one-sheet workbook. The shapes follow REDCap's
own exports as its validation suite and REDCapR's test data show them; the header labels are built here
from the dictionary, independently of the extraction's reading of them.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pandas as pd

from support.bad_exports import read_raw, write_raw

INSTRUMENT, INSTANCE = "redcap_repeat_instrument", "redcap_repeat_instance"
DAG, SURVEY = "redcap_data_access_group", "redcap_survey_identifier"
STATUS = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
CHECKBOX = {"1": "Checked", "0": "Unchecked"}
# Data access groups (unique name -> label) given to the records in turn; every fifth record has none.
SITES = {"site_kyoto": "Kyoto University Hospital", "site_osaka": "Osaka General", "site_kobe": "Kobe Medical"}
SURVEY_FORMS = ("demographics", "tumor_assessment", "followup")  # forms filled in as surveys
SURVEY_ID = "SYN-SURVEY-PARTICIPANT"  # a survey identifier: must be in no output
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def form_label(form: str) -> str:
    """REDCap's label of a form made from its name (each word's first letter upper case)."""
    return " ".join(word[:1].upper() + word[1:] for word in form.split("_"))


def _field_of(column: str, dictionary):
    name = column.split("___")[0]
    return dictionary[name] if name in dictionary else None


def with_redcap_columns(frame: pd.DataFrame, dictionary) -> pd.DataFrame:
    """The export of a project with data access groups and surveys: the group of each record on all its
    rows, the survey identifier, and before each survey form's fields its timestamp (a date-time, or
    ``[not completed]`` on a row where the form is filled in but the survey was not)."""
    out = frame.copy()
    records = pd.factorize(out["record_id"])[0]
    names = list(SITES)
    group = [("" if r % 5 == 4 else names[r % len(names)]) for r in records]
    out.insert(out.columns.get_loc(INSTANCE) + 1, DAG, group)
    out.insert(out.columns.get_loc(DAG) + 1, SURVEY, [SURVEY_ID if r % 2 else "" for r in records])
    for form in SURVEY_FORMS:
        first = next(c for c in dictionary.export_columns(form) if c in out.columns)
        on_rows = out[INSTRUMENT] == (form if form in set(out[INSTRUMENT]) else "")
        stamp = [("[not completed]" if i % 3 == 0 else f"2023-0{1 + i % 9}-1{i % 10} 09:{10 + i % 50}")
                 for i in range(len(out))]
        out.insert(out.columns.get_loc(first), f"{form}_timestamp", [s if on else "" for s, on in zip(stamp, on_rows)])
    return out


def label_values(frame: pd.DataFrame, dictionary) -> pd.DataFrame:
    """The values as a label export writes them: choice labels, Checked/Unchecked, form status labels,
    the repeating form's label and the data access group's label."""
    out = frame.copy()
    for column in out.columns:
        f = _field_of(column, dictionary)
        if column.endswith("_complete") and column[: -len("_complete")] in dictionary.forms:
            mapping = STATUS
        elif f is not None and f.is_checkbox:
            mapping = CHECKBOX
        elif f is not None and f.is_coded:
            mapping = f.choices
        elif column == INSTRUMENT:
            mapping = {form: form_label(form) for form in dictionary.forms}
        elif column == DAG:
            mapping = SITES
        else:
            continue
        out[column] = out[column].map(lambda v, m=mapping: m.get(v, v))
    return out


def label_header(columns: list[str], dictionary, *, quoted_choices: bool = False) -> list[str]:
    """The header of a label export: each column's field label, REDCap's own columns' names for people,
    ``Complete?`` for each form's status, ``<label> (choice=<choice label>)`` for each checkbox column
    (``(choice='<choice label>')`` on older servers)."""
    own = {INSTRUMENT: "Repeat Instrument", INSTANCE: "Repeat Instance", DAG: "Data Access Group",
           SURVEY: "Survey Identifier", "redcap_event_name": "Event Name"}
    header = []
    for column in columns:
        f = _field_of(column, dictionary)
        if column in own:
            header.append(own[column])
        elif column.endswith("_timestamp"):
            header.append("Survey Timestamp")
        elif column.endswith("_complete") and f is None:
            header.append("Complete?")
        elif f.is_checkbox:
            choice = f.choices[column.split("___")[1]]
            header.append(f"{f.label} (choice='{choice}')" if quoted_choices else f"{f.label} (choice={choice})")
        else:
            header.append(f.label)
    return header


def write(frame: pd.DataFrame, path: Path, *, header: list[str] | None = None, delimiter: str = ",") -> Path:
    """The frame as REDCap writes a CSV: values quoted only when they must be, ``\\n`` line ends."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header or list(frame.columns))
        writer.writerows(frame.itertuples(index=False, name=None))
    return Path(path)


def labels_export(raw, dictionary, path, *, quoted_choices=False, redcap_columns=True) -> Path:
    """The UI's "CSV / Microsoft Excel (labels)" export."""
    frame = read_raw(raw)
    if redcap_columns:
        frame = with_redcap_columns(frame, dictionary)
    return write(label_values(frame, dictionary), path,
                 header=label_header(list(frame.columns), dictionary, quoted_choices=quoted_choices))


def labels_with_raw_header(raw, dictionary, path) -> Path:
    """Labels as values under the header of variable names (the API's rawOrLabel=label)."""
    return write_raw(label_values(read_raw(raw), dictionary), Path(path))


def raw_with_label_header(raw, dictionary, path) -> Path:
    """Codes as values under the header of field labels (the API's rawOrLabelHeaders=label)."""
    frame = read_raw(raw)
    return write(frame, path, header=label_header(list(frame.columns), dictionary))


def raw_with_redcap_columns(raw, dictionary, path) -> Path:
    return write_raw(with_redcap_columns(read_raw(raw), dictionary), Path(path))


def delimited(raw, path, delimiter: str) -> Path:
    """The raw export with another delimiter (the API's csvDelimiter)."""
    return write(read_raw(raw), path, delimiter=delimiter)


def with_line_breaks(raw, path, *, invalid_date_after: bool = False) -> tuple[Path, int | None]:
    """The raw export with line breaks inside the free-text fusion partner of every record that has one
    (each quoted, as REDCap writes it). With ``invalid_date_after``: the last tumor assessment row also
    holds a date that is not a date; returned with the file line that row starts on, counted here."""
    frame = read_raw(raw)
    partner = frame["fusion_partner"] != ""
    frame.loc[partner, "fusion_partner"] = frame.loc[partner, "fusion_partner"] + "\n(fusion variant\r\nnot typed)"
    marker = None
    if invalid_date_after:
        row = frame.index[frame[INSTRUMENT] == "tumor_assessment"][-1]
        marker = "2012-02-30"
        frame.loc[row, "ta_date"] = marker
    path = write(frame, path)
    if marker is None:
        return path, None
    text = path.read_bytes().decode()
    return path, text[: text.index(marker)].count("\n") + 1


def excel_flat_workbook(raw, path, sheet: str = "export_raw") -> Path:
    """The raw CSV opened in Excel and saved as .xlsx: one sheet (named as the file), numbers as numeric
    cells, dates as date cells, blanks as empty cells."""
    frame = read_raw(raw)
    book = openpyxl.Workbook(write_only=True)
    worksheet = book.create_sheet(sheet)
    worksheet.append(list(frame.columns))

    def cell(value: str):
        if value == "":
            return None
        if DATE.fullmatch(value):
            return pd.Timestamp(value).to_pydatetime()
        if NUMBER.fullmatch(value):
            return float(value) if "." in value else int(value)
        return value
    for row in frame.itertuples(index=False, name=None):
        worksheet.append([cell(v) for v in row])
    book.save(path)
    return Path(path)
