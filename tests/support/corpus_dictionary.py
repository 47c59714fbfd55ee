"""The data dictionary as REDCap writes it, made from the study's dictionary (resources/data_dictionary.csv).

- ``redcap_download``: the file of Data Dictionary > "Download the current Data Dictionary": all 18 columns
  under REDCap's header texts, a UTF-8 BOM, cells quoted as PHP's fputcsv quotes them (any cell with a space,
  quote, delimiter or line break), rich-text labels (``<div class="rich-text-field-label"><p>...</p></div>``,
  ``&nbsp;``, line breaks inside a cell), HTML section headers, descriptive fields (which no export has a
  column for), a calculated field and a date field bounded by "today". ``with_calc_column`` adds the
  calculated field's column to a raw export, where REDCap puts it.
- ``api_metadata``: the API's metadata export (content=metadata, format=csv): the same 18 columns under
  the API's names, no BOM.

Both keep every field, code and choice of the study's dictionary; their labels, made plain, are its labels.
"""

from __future__ import annotations

import csv
from pathlib import Path

from chartreview.core.dictionary import COLUMNS

from . import DICTIONARY

HEADERS = [header for _, header in COLUMNS]
API_NAMES = [name for name, _ in COLUMNS]
RICH_TEXT = '<div class="rich-text-field-label"><p>{}</p></div>'
# The calculated field added after criz_dose_mg: the daily dose in grams, as REDCap computes and exports it.
CALC_FIELD = "criz_dose_g"
CALC_AFTER = "criz_dose_mg"


def study_rows(dictionary: Path = DICTIONARY) -> list[dict[str, str]]:
    with open(dictionary, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def fputcsv_line(cells, delimiter: str = ",") -> str:
    """One CSV line as PHP's fputcsv writes it (REDCap's writer), without its line end."""
    def quoted(cell: str) -> str:
        if any(c in cell for c in (delimiter, '"', " ", "\t", "\r", "\n")):
            return '"' + cell.replace('"', '""') + '"'
        return cell
    return delimiter.join(quoted(str(cell)) for cell in cells)


def write_redcap_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool, eol: str,
                     delimiter: str = ",") -> Path:
    lines = [fputcsv_line(header, delimiter)] + [fputcsv_line(row, delimiter) for row in rows]
    path.write_bytes(("\ufeff" if bom else "").encode() + (eol.join(lines) + eol).encode("utf-8"))
    return path


def _blank_row(name: str, form: str, field_type: str, label: str, **more: str) -> dict[str, str]:
    row = dict.fromkeys(HEADERS, "")
    row.update({"Variable / Field Name": name, "Form Name": form, "Field Type": field_type, "Field Label": label})
    row.update(more)
    return row


def redcap_download_rows(dictionary: Path = DICTIONARY) -> list[dict[str, str]]:
    """The study's dictionary as REDCap's download holds it, with the additions described above."""
    rows = []
    for i, source in enumerate(study_rows(dictionary)):
        row = dict.fromkeys(HEADERS, "") | source
        name, label = row["Variable / Field Name"], row["Field Label"]
        if i % 3 == 1:      # rich text, as the online designer's editor saves it
            row["Field Label"] = RICH_TEXT.format(label.replace(" ", "&nbsp;", 1))
        elif i % 3 == 2:    # a label over two lines, with markup
            row["Field Label"] = f"<b>{label}</b>\r\n<br>"
        if name == "histology":   # choice labels hold markup too, and a no-break space
            row["Choices, Calculations, OR Slider Labels"] = (
                '1, <span style="font-weight:bold;">Adenocarcinoma</span> | 2, Squamous\u00a0cell carcinoma | '
                "3, Other")
        if name == "diagnosis_date":
            row["Text Validation Max"] = "today"
        if name == "sex":
            row["Section Header"] = '<div class="rich-text-field-label"><h3 style="text-align:center;">Patient' \
                                    '</h3>\n<p>From the chart at crizotinib start</p></div>'
        if name == "ta_date":
            rows.append(_blank_row("ta_instructions", "tumor_assessment", "descriptive",
                                   RICH_TEXT.format("Assess per <i>RECIST 1.1</i>:</p>\n<p>one row per visit.")))
        rows.append(row)
        if name == "record_id":
            rows.append(_blank_row("consent_note", "demographics", "descriptive", "",
                                   **{"Section Header": "<h4>Chart review</h4>"}))
        if name == CALC_AFTER:
            rows.append(_blank_row(CALC_FIELD, "treatment", "calc", "Daily dose (g)", **{
                "Choices, Calculations, OR Slider Labels": f"round([{CALC_AFTER}]/1000,3)",
                "Field Annotation": " @HIDDEN-SURVEY"}))
    return rows


def redcap_download(path: Path, *, delimiter: str = ",", dictionary: Path = DICTIONARY) -> Path:
    """The dictionary as downloaded from REDCap (BOM, CRLF line ends as a spreadsheet saves them again)."""
    rows = [[row[h] for h in HEADERS] for row in redcap_download_rows(dictionary)]
    return write_redcap_csv(path, HEADERS, rows, bom=True, eol="\r\n", delimiter=delimiter)


def api_metadata(path: Path, *, dictionary: Path = DICTIONARY) -> Path:
    """The API's metadata export of the study's dictionary, as format=csv returns it (LF, no BOM)."""
    rows = [[(dict.fromkeys(HEADERS, "") | row)[h] for h in HEADERS] for row in study_rows(dictionary)]
    return write_redcap_csv(path, API_NAMES, rows, bom=False, eol="\n")


def with_calc_column(export: Path, path: Path) -> Path:
    """``export`` (a raw export) with the calculated field's column after criz_dose_mg, as REDCap exports it:
    the computed number on the rows that hold the treatment form, blank on repeating forms' rows."""
    with open(export, newline="", encoding="utf-8-sig") as fh:
        table = list(csv.reader(fh))
    at = table[0].index(CALC_AFTER) + 1
    for i, row in enumerate(table):
        dose = row[at - 1]
        value = CALC_FIELD if i == 0 else (f"{round(float(dose) / 1000, 3):g}" if dose else "")
        row.insert(at, value)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(table)
    return path
