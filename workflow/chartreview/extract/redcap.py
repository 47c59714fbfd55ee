"""Extraction: a REDCap chart-review export -> typed, de-identified tables.

Reads the REDCap flat CSV (raw codes or the label export) or an ``.xlsx`` workbook with one sheet per form,
drops the identifier fields of the data dictionary (after computing age at crizotinib start from the birth
date) and returns the typed tables of the data contract (``patients``, ``tumor_assessments``,
``progression_sites``, ``subsequent_therapies``).

Beside the typed tables it keeps what the validation needs to quote an abstractor's entry that failed typing:
the exported text of every form (codes, identifiers masked) and one row per export row (record, instrument,
instance and where it is in the file). Nothing here judges the data: a value that cannot be typed becomes
missing in the typed table and is reported by ``chartreview.validate.contracts``. Only an export that cannot be read
at all raises ``ExportError``.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from chartreview.core.catalog import DATA_ACCESS_GROUP, EXTRACTED_TABLES, FORM_TABLES
from chartreview.core.datasets import ExportInfo, ExtractedTables
from chartreview.core.dictionary import DataDictionary, Field, load_dictionary
from chartreview.core.errors import InputError
from chartreview.extract import events, missing_codes
from chartreview.extract.deidentify import MASKED, deidentify, read_pseudonym_key
from chartreview.extract.events import EVENT

INSTRUMENT = "redcap_repeat_instrument"
INSTANCE = "redcap_repeat_instance"
# REDCap's other columns: read (the data access group: the site of a multi-centre review) or known and
# left unread (survey identifier and timestamps: nothing the analysis needs, and an identifier may be one)
REDCAP_DATA_ACCESS_GROUP = "redcap_data_access_group"
SURVEY_IDENTIFIER = "redcap_survey_identifier"
TIMESTAMP = "{form}_timestamp"  # a survey's completion time, or "[not completed]"
# The header of an export with field labels as the header ("CSV / Microsoft Excel (labels)"): REDCap's own
# columns, each form's survey timestamp (before its fields) and status (after them).
REDCAP_COLUMN_LABELS = {EVENT: "Event Name", INSTRUMENT: "Repeat Instrument", INSTANCE: "Repeat Instance",
                        REDCAP_DATA_ACCESS_GROUP: "Data Access Group", SURVEY_IDENTIFIER: "Survey Identifier"}
TIMESTAMP_LABEL = "Survey Timestamp"
COMPLETE_LABEL = "Complete?"
TAG = re.compile(r"<[^>]*>")
QUOTED_CHOICE = re.compile(r"(.*) \(choice='(.*)'\)")
# The CSV delimiters REDCap writes (the API's csvDelimiter), and their names in the config and messages.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DELIMITER_NAMES = {name: delimiter for delimiter, name in DELIMITERS.items()}
HEADER_LIMIT = 1 << 20  # characters of a header whose quote is never closed
SCAN_CHUNK = 1 << 26    # bytes per step of the scan for line breaks inside values
COUNT_CHUNK = 1 << 24   # bytes per step of counting the lines
NEWLINE, QUOTE, CARRIAGE_RETURN = ord("\n"), ord('"'), ord("\r")
ZIP, OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xlsx; encrypted workbook or .xls
SOURCE = "source"  # where a row is in the export: "line 12" or "sheet treatment, row 5"
REPEATING_FORMS = tuple(FORM_TABLES)
# REDCap's codes and label-export texts for checkboxes and the form status.
CHECKBOX_CHOICES = {"1": "Checked", "0": "Unchecked"}
COMPLETE_CHOICES = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
# An identifier in the exported text: present and of its type, or present but not of its type.
MASKED_INVALID = "[masked: not of its type]"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
AGE = "_age"  # computed from the birth date before the identifiers are masked
BIRTH_DATE = "birth_date"
AGE_FIELD = "age_at_start"  # the project's age field, read in an export without birth dates
TEXT = pd.ArrowDtype(pa.string())  # exported text: compact and fast for ten million rows
# The typed tables' text (record_id, free text): pandas "string", kept in Arrow memory for the same reason.
STRING = pd.StringDtype("pyarrow")


class ExportError(InputError):
    """The export cannot be read at all (the message names the file, and the record and field if any)."""


# --- typing of exported text (also used by the validation to tell which entries fail) -------------------

def _by_unique(text: pd.Series, convert) -> np.ndarray:
    """Apply ``convert`` to the distinct values only: exports repeat few distinct dates and codes."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    converted = np.asarray(convert(pd.Series(list(uniques) + [None], dtype=object)))
    return converted[np.where(codes < 0, len(uniques), codes)]  # missing text stays missing


def parse_dates(text: pd.Series) -> pd.Series:
    """Text -> datetime64[ns]; NaT unless a real calendar date written YYYY-MM-DD."""
    def convert(uniques: pd.Series) -> np.ndarray:
        exact = uniques.astype("string").str.fullmatch(DATE_PATTERN).fillna(False).astype(bool)
        return pd.to_datetime(uniques.where(exact), format="%Y-%m-%d", errors="coerce").to_numpy("datetime64[ns]")
    return pd.Series(_by_unique(text, convert), index=text.index, dtype="datetime64[ns]")


def parse_numbers(text: pd.Series) -> pd.Series:
    """Text -> float64; NaN unless a finite decimal number."""
    def convert(uniques: pd.Series) -> np.ndarray:
        numbers = pd.to_numeric(uniques, errors="coerce").astype(float).to_numpy()
        return np.where(np.isfinite(numbers), numbers, np.nan)
    return pd.Series(_by_unique(text, convert), index=text.index, dtype=float)


def parse_instances(text: pd.Series) -> pd.Series:
    """redcap_repeat_instance -> Int64; missing unless a whole number from 1 on."""
    number = parse_numbers(text).to_numpy()
    whole = (number >= 1) & (number % 1 == 0)  # false for NaN
    return pd.Series(pd.arrays.IntegerArray(np.where(whole, number, 0).astype(np.int64), ~whole),
                     index=text.index)


def code_positions(text: pd.Series, codes) -> np.ndarray:
    """Position of each value among ``codes`` (-1 when blank or not a code)."""
    position = {code: i for i, code in enumerate(codes)}
    found, uniques = pd.factorize(text, use_na_sentinel=True)
    return np.array([position.get(u, -1) for u in uniques] + [-1], dtype=np.int64)[found]


def parse_codes(text: pd.Series, choices: dict[str, str]) -> pd.Categorical:
    """Codes -> Categorical of the choices' labels in dictionary order; missing unless a known code."""
    return pd.Categorical.from_codes(code_positions(text, choices), categories=list(choices.values()))


def field_choices(column: str, dictionary: DataDictionary) -> dict[str, str] | None:
    """Code -> label of a coded export column (checkbox columns and ``<form>_complete`` included)."""
    if column.endswith("_complete") and column[: -len("_complete")] in dictionary.forms:
        return COMPLETE_CHOICES
    name = column.split("___")[0]
    if name not in dictionary:
        return None
    f = dictionary[name]
    if f.is_checkbox:
        return CHECKBOX_CHOICES
    return f.choices if f.is_coded else None


def type_column(text: pd.Series, column: str, dictionary: DataDictionary) -> pd.Series | pd.Categorical:
    """One exported column -> its type in the contract "Extracted tables" (missing when not of it)."""
    name = column.split("___")[0]
    if field_choices(column, dictionary) is COMPLETE_CHOICES:
        status = pd.Series(code_positions(text, ["0", "1", "2"]), index=text.index).astype("Int64")
        return status.where(status >= 0)
    f: Field = dictionary[name]
    if f.is_checkbox:
        return pd.Series((text == "1").to_numpy(dtype=bool, na_value=False), index=text.index)
    if f.field_type in ("yesno", "truefalse"):
        yes = pd.Series(code_positions(text, ["0", "1"]), index=text.index).astype("Int64")
        return yes.where(yes >= 0).astype("boolean")
    if f.is_coded:
        return pd.Series(parse_codes(text, f.choices), index=text.index)
    if f.is_date:
        return parse_dates(text)
    if f.is_number:
        return parse_numbers(text)
    return text.astype(STRING).where((text != "") & (text != MASKED), None)  # a masked entry is missing


def whole_years(start: pd.Series, end: pd.Series) -> pd.Series:
    """Age in whole years at ``end`` (birthday not yet reached in the end year counts one less)."""
    years = end.dt.year - start.dt.year
    before_birthday = (end.dt.month * 100 + end.dt.day) < (start.dt.month * 100 + start.dt.day)
    return (years - before_birthday.astype(int)).astype("Int64")


# --- reading ------------------------------------------------------------------------------------------------

def _check_encoding(encoding: str, path: Path) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ExportError(f"{path}: unknown encoding {encoding!r} in the config key `export_encoding` "
                          f"(e.g. utf-8-sig, cp932, latin-1)") from None


def _pyarrow_encoding(encoding: str, path: Path) -> str:
    name = _check_encoding(encoding, path)
    return "utf8" if name in ("utf-8", "utf-8-sig") else encoding  # pyarrow skips a UTF-8 BOM itself


def _decode_failure(path: Path, encoding: str) -> ExportError:
    """Locate the first byte that does not decode, to name its line."""
    data = path.read_bytes()
    try:
        data.decode(encoding)
        where = ""
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = f", line {line}"   # not its record_id: it may be an MRN
    return ExportError(
        f"{path}{where}: the file cannot be decoded as {encoding!r}. Set the config key `export_encoding` to "
        f"the file's encoding (cp932 for CSV files saved by Excel in Japan), e.g. "
        f"--config export_encoding=cp932")


def _refuse_other_formats(path: Path) -> None:
    """Files that are not a flat CSV although named .csv: one message saying what they are and what to give."""
    with path.open("rb") as fh:
        head = fh.read(64)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    instead = "export the project from REDCap as 'CSV / Microsoft Excel (raw data)' or '(labels)' instead"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        feature, instead = "UTF-16 text (Excel's 'Unicode Text')", "save it from Excel as 'CSV UTF-8' instead"
    elif text.startswith((b"<?xml", b"<ODM", b"<records")):  # not "<": a label header may start with a tag
        feature = "an XML file (CDISC ODM, or the API's XML format)"
    elif text[:1] in (b"{", b"["):
        feature = "a JSON file (the API's JSON format)"
    elif head.startswith((ZIP, OLE2)):
        feature, instead = "an Excel workbook", "give the CSV export instead, or name an .xlsx workbook *.xlsx"
    else:
        return
    raise ExportError(f"{path}: {feature}, not a REDCap flat CSV export; {instead}")


def _first_record(path: Path, encoding: str) -> str:
    """The header's text: the first line, and the next ones while a quoted field label is open."""
    _check_encoding(encoding, path)
    try:
        with path.open(encoding=encoding, newline="") as fh:
            text = fh.readline()
            while text.count('"') % 2 and len(text) < HEADER_LIMIT:
                line = fh.readline()
                if not line:
                    break
                text += line
    except UnicodeDecodeError:
        raise _decode_failure(path, encoding) from None
    return text


def _split_header(text: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(text), delimiter=delimiter), [])


def header_key(text: str) -> str:
    """A header's text as compared with the dictionary: HTML tags and entities removed (REDCap strips them),
    white space collapsed, case folded; an older server's quoted checkbox choice (``(choice='FISH')``)
    read as a newer one's (``(choice=FISH)``)."""
    text = " ".join(TAG.sub("", html.unescape(text)).split())
    quoted = QUOTED_CHOICE.fullmatch(text)
    if quoted:
        text = f"{quoted[1]} (choice={quoted[2]})"
    return text.casefold()


def export_layout(dictionary: DataDictionary) -> list[tuple[str, str, str]]:
    """Every column REDCap can write for the dictionary, in the order it writes them: (column, header text
    of an export whose header holds the field labels, form; "" for REDCap's own columns)."""
    rid = dictionary.record_id
    layout = [(rid, dictionary[rid].label, dictionary[rid].form)]
    layout += [(column, text, "") for column, text in REDCAP_COLUMN_LABELS.items()]
    for form in dictionary.forms:
        *columns, complete = dictionary.export_columns(form)
        layout.append((TIMESTAMP.format(form=form), TIMESTAMP_LABEL, form))  # before the form's fields
        for column in columns:
            name, _, code = column.partition("___")
            f = dictionary[name]
            layout.append((column, f"{f.label} (choice={f.choices[code]})" if f.is_checkbox else f.label, form))
        layout.append((complete, COMPLETE_LABEL, form))  # after them
    return layout


def _in_order(expected: list[str], found: list[str]) -> list[int | None]:
    """For each of ``found``, the position in ``expected`` it matches in a longest common subsequence of the
    two (None where it matches none): the alignment that keeps the most entries in order."""
    codes = {key: i for i, key in enumerate(dict.fromkeys(expected + found))}
    a = np.array([codes[k] for k in expected], dtype=np.int64)
    b = np.array([codes[k] for k in found], dtype=np.int64)
    common = np.zeros((len(a) + 1, len(b) + 1), dtype=np.int32)
    for i in range(1, len(a) + 1):  # one row at a time: the best of up, diagonal, then left as a running max
        common[i, 1:] = np.maximum.accumulate(np.maximum(common[i - 1, 1:], common[i - 1, :-1] + (b == a[i - 1])))
    match: list[int | None] = [None] * len(b)
    i, j = len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1] and common[i, j] == common[i - 1, j - 1] + 1:
            match[j - 1] = i - 1
            i, j = i - 1, j - 1
        elif common[i - 1, j] >= common[i, j - 1]:
            i -= 1
        else:
            j -= 1
    return match


def header_columns(header: list[str], dictionary: DataDictionary) -> tuple[list[str | None], bool]:
    """The column each header entry names, and whether the header held field labels rather than variable
    names. A header of labels is matched with the dictionary's labels in order, since REDCap writes the
    columns in dictionary order: a label two fields share is told apart by where it stands, each
    "Complete?" belongs to the form of the field before it and each "Survey Timestamp" to the form of the
    field after it. None for a label that matches no column."""
    if dictionary.record_id in header:
        return list(header), False
    layout = export_layout(dictionary)
    keys = [header_key(text) for text in header]
    generic = {header_key(COMPLETE_LABEL): "{form}_complete", header_key(TIMESTAMP_LABEL): TIMESTAMP}
    specific = [entry for entry in layout if header_key(entry[1]) not in generic]
    names: list[str | None] = [None] * len(header)
    forms: list[str] = [""] * len(header)
    for j, i in enumerate(_in_order([header_key(text) for _, text, _ in specific], keys)):
        if i is not None and keys[j] not in generic:
            names[j], _, forms[j] = specific[i]
    for j, key in enumerate(keys):
        if key in generic:
            near = reversed(forms[:j]) if generic[key] != TIMESTAMP else iter(forms[j + 1:])
            form = next((f for f in near if f), "")
            column = generic[key].format(form=form)
            if form and column not in names:
                names[j] = column
    return names, True


def choose_delimiter(text: str, setting: str, dictionary: DataDictionary) -> str:
    """The delimiter of the header line: the configured one, or (``auto``) the one that finds the
    record-id column (its name, or its label in a label-header export), else the one giving most columns."""
    if setting != "auto":
        return DELIMITER_NAMES.get(setting, setting)
    rid = dictionary.record_id
    keys = {header_key(rid), header_key(dictionary[rid].label)}
    width = {d: len(_split_header(text, d)) for d in DELIMITERS}
    finding = [d for d in DELIMITERS if keys & {header_key(h) for h in _split_header(text, d)}]
    return max(finding or DELIMITERS, key=width.get)  # a tie keeps the order of DELIMITERS (comma first)


def _no_record_id(path: Path, header: list[str], dictionary: DataDictionary, text: str | None,
                  delimiter: str | None) -> ExportError:
    """What was found where the record-id column was expected: a delimiter other than the configured one,
    a file REDCap writes for another purpose, or else the header's size and the dictionary columns it names
    (only those: the first line of a file without a header is a patient's row)."""
    rid = dictionary.record_id
    if delimiter is not None:
        fits = choose_delimiter(text, "auto", dictionary)
        if fits != delimiter and rid in header_columns([h.strip() for h in _split_header(text, fits)], dictionary)[0]:
            return ExportError(
                f"{path}: the header line is not {DELIMITERS[delimiter]}-delimited as the config key "
                f"`export_delimiter` says (read so, it has {len(header)} column(s)) but "
                f"{DELIMITERS[fits]}-delimited: set `export_delimiter` to auto or {DELIMITERS[fits]}")
    names = header_columns(header, dictionary)[0]
    known = [written for written, name in zip(header, names) if name is not None and name in
             {column for column, _, _ in export_layout(dictionary)}]
    found = (f"{'read as ' + DELIMITERS[delimiter] + '-delimited, ' if delimiter else ''}its header has "
             f"{len(header)} column(s), {len(known)} of them known to the data dictionary"
             f"{': ' + str(known[:3]) if known else ''}")
    if "NOHDRS" in path.name.upper():
        found += ("; REDCap's SPSS, SAS, R and Stata exports write their data without a header: export "
                  "'CSV / Microsoft Excel (raw data)' instead")
    elif {"field_name", "value"} <= set(header):
        found += ("; this is an EAV export (one row per value, the API's type=eav): export the flat layout "
                  "(type=flat, or 'CSV / Microsoft Excel (raw data)') instead")
    return ExportError(f"{path}: no {rid!r} column (the first column of a REDCap export; "
                       f"{dictionary[rid].label!r} where the header holds field labels); is this the chart-review "
                       f"export? {found[0].upper()}{found[1:]}")


def _record_lines(path: Path) -> tuple[np.ndarray, bool] | None:
    """The file line each CSV record starts on (the header first; blank lines, which the reader skips, left
    out), and whether a quoted value holds a line break. A line break is inside a value when an odd number
    of quotes precedes it (REDCap quotes a value holding a quote or a line break and doubles its quotes).
    None when the file leaves a quote open (the reader then reports the row)."""
    ends, lines, after_cr = [], [], []
    parity = breaks_seen = size = 0
    last = 0
    in_values = False
    buffer = np.empty(SCAN_CHUNK, dtype=np.uint8)
    with path.open("rb") as fh:
        while n := fh.readinto(buffer):
            chunk = buffer[:n]
            breaks = np.flatnonzero(chunk == NEWLINE)
            quotes = np.flatnonzero(chunk == QUOTE)
            outside = (np.searchsorted(quotes, breaks) + parity) % 2 == 0
            in_values |= not outside.all()
            before = np.where(breaks > 0, chunk[np.maximum(breaks - 1, 0)], last)
            ends.append(breaks[outside] + size)
            lines.append(np.flatnonzero(outside) + breaks_seen + 1)  # the line each such break ends
            after_cr.append(before[outside] == CARRIAGE_RETURN)
            parity = (parity + len(quotes)) % 2
            breaks_seen += len(breaks)
            size += n
            last = int(chunk[-1])
    if parity:
        return None
    ends, lines, after_cr = (np.concatenate(a) if a else np.zeros(0, np.int64) for a in (ends, lines, after_cr))
    gap = ends - np.concatenate([[-1], ends[:-1]])
    blank = (gap == 1) | ((gap == 2) & after_cr.astype(bool))
    starts = np.concatenate([[1], lines[:-1] + 1])[~blank].astype(np.int64)
    if size > (int(ends[-1]) + 1 if len(ends) else 0):  # a last record without a line break
        starts = np.append(starts, (int(lines[-1]) if len(lines) else 0) + 1)
    return starts, in_values


def _line_count(path: Path) -> int:
    """The file's lines (a last one without a line break counted)."""
    count, last = 0, NEWLINE
    buffer = np.empty(COUNT_CHUNK, dtype=np.uint8)
    with path.open("rb") as fh:
        while n := fh.readinto(buffer):
            count += int(np.count_nonzero(buffer[:n] == NEWLINE))
            last = int(buffer[n - 1])
    return count + (last != NEWLINE)


class _LineBreaksInValues(Exception):
    """A quoted value holds a line break: the file is read again with the reader that allows them in any
    block of the file, which only such a file pays for."""

    def __init__(self, found: tuple[np.ndarray, bool]):
        super().__init__()
        self.found = found


def _breaks_in_values(path: Path) -> None:
    """Raise _LineBreaksInValues when that explains a row the fast reader could not read."""
    found = _record_lines(path)
    if found is not None and found[1]:
        raise _LineBreaksInValues(found)


def _csv_batches(path: Path, encoding: str, columns: list[str], header_lines: int, delimiter: str,
                 starts: np.ndarray | None, multiline: bool) -> Iterator[pa.RecordBatch]:
    """The rows of the CSV as batches of text (blank = ""), streamed so that only the split tables are ever
    whole in memory; a row with a wrong number of fields stops the read. ``starts``: the line each record
    starts on when records are not one line each (see ``_record_lines``)."""
    invalid: list = []

    def keep_invalid(row) -> str:
        invalid.append(row)
        return "skip"

    def reader(use_threads: bool):
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=_pyarrow_encoding(encoding, path), use_threads=use_threads,
                                           block_size=1 << 24, column_names=columns, skip_rows=header_lines),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=multiline,
                                             invalid_row_handler=keep_invalid),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                                 strings_can_be_null=False))
    try:
        for batch in reader(use_threads=True):
            if invalid:
                break
            yield batch
        if invalid and not multiline:
            _breaks_in_values(path)
        if invalid:  # again on one thread, which numbers the rows
            invalid.clear()
            for _ in reader(use_threads=False):
                if invalid:
                    break
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if "UTF8" in str(exc) or isinstance(exc, UnicodeDecodeError):
            raise _decode_failure(path, encoding) from None
        if not multiline:
            _breaks_in_values(path)
        # pyarrow's message may quote a row, hence an identifier: not passed on
        raise ExportError(f"{path}: not a readable CSV file ({type(exc).__name__}); "
                          f"export the project again from REDCap") from None
    if invalid:
        row = invalid[0]
        number = row.number
        if number and starts is not None:  # the reader counts records, after the header's lines
            number = int(starts[number - header_lines]) if number - header_lines < len(starts) else None
        line = f"line {number}" if number else "a line"   # not its record_id: it may be an MRN
        end = "; the file looks truncated" if row.actual_columns < row.expected_columns else ""
        raise ExportError(f"{path}, {line}: {row.actual_columns} fields where the header has "
                          f"{row.expected_columns}{end}; export the project again from REDCap")


def _cell_text(values: pd.Series) -> pd.Series:
    """Workbook cells -> export text: dates as YYYY-MM-DD, whole numbers without ".0", blank as ""."""
    def one(v) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, (pd.Timestamp,)) or hasattr(v, "strftime"):
            return v.strftime("%Y-%m-%d")
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)
    return values.map(one).astype(object)


def check_workbook_size(path: Path, max_inflated_mb: float | None, max_compression_ratio: float | None) -> None:
    """Refuse, before any parsing, a workbook that is no zip archive or that would inflate beyond the limits
    (an .xlsx is a zip archive of XML; a few MB can inflate to gigabytes)."""
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        with path.open("rb") as fh:
            head = fh.read(len(OLE2))
        what = ("an encrypted (password-protected) workbook or an Excel 97-2003 .xls file" if head == OLE2
                else "not an .xlsx workbook (not a zip archive)")
        raise ExportError(f"{path}: {what}; save it from Excel as an .xlsx workbook without a password, or "
                          f"give the REDCap CSV export") from None
    packed = path.stat().st_size
    sizes = f"the workbook ({packed / 1e6:.1f} MB) inflates to {inflated / 1e6:,.1f} MB"
    if max_inflated_mb is not None and inflated > max_inflated_mb * 1e6:
        raise ExportError(f"{path}: {sizes}, above the config key `xlsx_max_inflated_mb` ({max_inflated_mb} "
                          f"MB); give the REDCap CSV export, or raise the key if the workbook is genuine")
    if max_compression_ratio is not None and inflated > max_compression_ratio * max(packed, 1):
        raise ExportError(f"{path}: {sizes}, {inflated / max(packed, 1):,.0f} times its size, above the config key "
                          f"`xlsx_max_compression_ratio` ({max_compression_ratio}); a workbook saved by Excel "
                          f"inflates about ten times. Give the REDCap CSV export, or raise the key if the "
                          f"workbook is genuine")


def read_workbook_text(path: Path, dictionary: DataDictionary,
                       repeating_forms) -> tuple[list[str], pa.Table, list[str]]:
    """The workbook as the flat export's header, table of text (columns in header order) and each row's
    source. Two layouts: one sheet per form, named as the form, or one sheet holding the flat export (the
    CSV export opened in Excel and saved as .xlsx)."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a damaged file; their text may quote a cell
        raise ExportError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}); save it again "
                          f"from Excel, or give the REDCap CSV export") from None
    sheets = {name: sheet for name, sheet in sheets.items() if not sheet.empty}
    if not sheets:
        raise ExportError(f"{path}: the workbook has no sheet with data")
    texts = {}
    for name, sheet in sheets.items():
        text = pd.DataFrame({i: _cell_text(sheet[c]) for i, c in enumerate(sheet.columns)})
        header = [h.strip() for h in text.iloc[0]]
        text = text.iloc[1:]
        text = text[text.ne("").any(axis=1)]  # Excel leaves formatted empty rows
        texts[name] = (header, text, [f"sheet {name}, row {i + 1}" for i in text.index])
    if len(texts) == 1:
        name, (header, text, source) = next(iter(texts.items()))
        if INSTRUMENT in header_columns(header, dictionary)[0] or name not in dictionary.forms:
            return header, pa.Table.from_arrays([pa.array(text[i], pa.string()) for i in text.columns],
                                                names=[str(i) for i in text.columns]), source
    rid = dictionary.record_id
    forms = dictionary.forms
    frames = []
    non_repeating: pd.DataFrame | None = None
    for position, (name, (header, text, source)) in enumerate(texts.items(), start=1):
        if name not in forms:
            # named by position: a sheet's name is typed by a person and may be a patient's
            raise ExportError(
                f"{path}, sheet {position} of {len(texts)}: its name is not a form of the data dictionary. A "
                f"workbook holds either one sheet "
                f"per form, named as the form ({', '.join(forms)}), or a single sheet holding the flat export "
                f"({rid}, {INSTRUMENT}, ...: the CSV export saved from Excel)")
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise ExportError(f"{path}, sheet {name!r}: the header repeats the column(s) {duplicated}")
        text = text.set_axis(header, axis=1)
        if rid not in text.columns:
            raise ExportError(f"{path}, sheet {name!r}: no {rid!r} column")
        text[SOURCE] = source
        if name in repeating_forms:
            text[INSTRUMENT] = name
            frames.append(text)
            continue
        # non-repeating sheets side by side: one flat row per record (a repeated record stays repeated)
        text["_occurrence"] = text.groupby(rid).cumcount()
        text = text.drop(columns=[INSTANCE], errors="ignore")
        if non_repeating is None:
            non_repeating = text
        else:
            # a left join keeps the first sheet's record order (an outer join would sort the record ids)
            merged = non_repeating.merge(text, on=[rid, "_occurrence"], how="left", suffixes=("", "_r"))
            merged[SOURCE] = merged[SOURCE].fillna(merged.pop(f"{SOURCE}_r"))
            keys = pd.MultiIndex.from_frame(non_repeating[[rid, "_occurrence"]])
            only_here = text[~pd.MultiIndex.from_frame(text[[rid, "_occurrence"]]).isin(keys)]
            non_repeating = pd.concat([merged, only_here], ignore_index=True)
    if non_repeating is not None:
        non_repeating = non_repeating.drop(columns="_occurrence")
        non_repeating[INSTRUMENT] = ""
        frames.insert(0, non_repeating)
    flat = pd.concat(frames, ignore_index=True, sort=False).fillna("")
    if INSTANCE not in flat.columns:
        flat[INSTANCE] = ""
    source = flat.pop(SOURCE).tolist()
    return list(flat.columns), pa.Table.from_pandas(flat.astype(str), preserve_index=False), source


# --- from text to tables ----------------------------------------------------------------------------------

def _label_export(parts: list[pd.DataFrame], dictionary: DataDictionary) -> bool:
    """A label export writes more labels than codes in its coded columns."""
    codes = labels = 0
    for frame, column in ((part, column) for part in parts for column in part.columns):
        choices = field_choices(column, dictionary)
        if not choices:
            continue
        counts = frame[column].value_counts()
        only_codes = set(choices) - set(choices.values())
        only_labels = set(choices.values()) - set(choices)
        codes += int(counts[counts.index.isin(only_codes)].sum())
        labels += int(counts[counts.index.isin(only_labels)].sum())
    return labels > codes


def _labels_to_codes(text: pd.Series, choices: dict[str, str]) -> pd.Series:
    to_code = {label: code for code, label in choices.items()}
    codes, uniques = pd.factorize(text)
    mapped = np.array([to_code.get(u, u) for u in uniques] + [""], dtype=object)
    return pd.Series(mapped[codes], index=text.index, dtype=TEXT)


def _mask_identifiers(frame: pd.DataFrame, dictionary: DataDictionary) -> None:
    for name in dictionary.identifiers:
        if name in frame.columns:
            text = frame[name]
            valid = parse_dates(text).notna() if dictionary[name].is_date else pd.Series(True, index=text.index)
            frame[name] = pd.Series(np.where(text == "", "", np.where(valid, MASKED, MASKED_INVALID)),
                                    index=text.index, dtype=TEXT)


def _trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_trim_whitespace(column)


def _text_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow text -> pandas text without copying into Python strings."""
    return table.to_pandas(types_mapper=lambda t: TEXT if t == pa.string() else None)


def _line_sources(starts: np.ndarray | None):
    """Where the CSV's data rows from ``offset`` on are: "line N". Row i is line i + 2 (the header first)
    unless records span lines (a line break inside a quoted value) or blank lines were skipped; ``starts``,
    the line each record starts on, then says."""
    def sources(offset: int, n: int) -> pa.Array:
        lines = np.arange(offset + 2, offset + n + 2) if starts is None else starts[offset + 1:offset + n + 1]
        return pc.binary_join_element_wise("line ", pc.cast(pa.array(lines), pa.string()), "")
    return sources


def _instrument_names(instrument: pa.Array, forms: list[str]) -> pa.Array:
    """The repeating form of each row by its name: the label export writes the form's label, which REDCap
    makes from the name ("Tumor Assessment" for tumor_assessment)."""
    for value in pc.unique(instrument).to_pylist():
        name = re.sub(r"[^0-9a-z]+", "_", value.casefold()).strip("_")
        if value not in forms and name in forms:
            instrument = pc.if_else(pc.equal(instrument, value), name, instrument)
    return instrument


def _stray_values(batch, instrument, form_columns: dict[str, list[str]], blank) -> pa.Array:
    """Per row, the first field holding a value outside the row's form (REDCap leaves those blank): the
    split would drop it, so the validation queries it."""
    stray = blank
    known = pc.is_in(instrument, value_set=pa.array(list(form_columns), pa.string()))
    for which, names in form_columns.items():
        elsewhere = pc.and_(known, pc.not_equal(instrument, which))
        for name in names:
            outside = pc.and_(elsewhere, pc.greater(pc.utf8_length(batch.column(name)), 0))
            if pc.any(outside).as_py():
                stray = pc.if_else(pc.and_(outside, pc.equal(stray, "")), name, stray)
    return stray


def _split_by_form(batches, columns: list[str], form_columns: dict[str, list[str]], source, rid: str,
                   forms: list[str], attributes: list[str]):
    """The export's rows (record_id, instrument, instance, source, stray) and, per instrument ("" for the
    non-repeating row), its rows' text with that instrument's columns (the non-repeating row's with the
    record's ``attributes`` too, which REDCap writes on every row), in record order (first appearance)
    then instance order. Split as the batches are read: only the parts are ever whole in memory.
    ``source(offset, n)``: where rows offset to offset + n are in the file."""
    keys, split, offset = [], {which: [] for which in form_columns}, 0
    for batch in batches:
        n = batch.num_rows
        blank = pa.repeat(pa.scalar("", pa.string()), n)
        instrument = _instrument_names(_trimmed(batch[INSTRUMENT]), forms) if INSTRUMENT in columns else blank
        keys.append(pa.table({
            "record_id": _trimmed(batch[rid]),
            "event": _trimmed(batch[EVENT]) if EVENT in columns else blank, "instrument": instrument,
            "instance": _trimmed(batch[INSTANCE]) if INSTANCE in columns else blank,
            "source": source(offset, n),
            "stray": _stray_values(batch, instrument, form_columns, blank)}))
        row = pa.array(np.arange(offset, offset + n))
        for which, names in form_columns.items():
            names = names + attributes if which == "" else names
            chosen = pa.Table.from_arrays([row] + [batch.column(c) for c in names], names=["_row"] + names)
            split[which].append(chosen.filter(pc.equal(instrument, which)))
        offset += n
    if offset == 0:
        return pd.DataFrame(), {}
    keys = events.number_instances(pa.concat_tables(keys))
    rows = _text_frame(keys)
    record_order = pd.factorize(rows["record_id"])[0]
    instance = parse_numbers(rows["instance"]).to_numpy()
    parts: dict[str, pd.DataFrame] = {}
    for which, names in form_columns.items():
        names = names + attributes if which == "" else names
        table = pa.concat_tables(split.pop(which))
        at = table["_row"].to_numpy()
        order = np.lexsort((instance[at], record_order[at]))
        part = pa.Table.from_arrays(
            keys.select(["record_id", "instance", "source", "event"]).take(pa.array(at[order])).columns
            + [_trimmed(c) for c in table.select(names).take(pa.array(order)).columns],
            names=["record_id", "instance", SOURCE, "event"] + names)
        parts[which] = _text_frame(part)
    return rows, parts


def extract(export_path, dictionary: DataDictionary, *, encoding: str = "utf-8-sig",
            repeating_forms=REPEATING_FORMS, delimiter: str = "auto", xlsx_max_inflated_mb: float | None = None,
            xlsx_max_compression_ratio: float | None = None, missing_data_codes: Mapping[str, str] | None = None,
            pseudonym_key: bytes | None = None) -> ExtractedTables:
    """Read a REDCap export into the contract's typed tables: a flat CSV (raw or labels, its header of
    variable names or field labels, delimited by ``delimiter``: one of DELIMITERS, their names or "auto")
    or an .xlsx workbook (by extension; refused beyond the two size limits, None for none).
    ``missing_data_codes`` (code -> meaning) are read as missing (none unless given); ``pseudonym_key``:
    replace every record_id by its keyed pseudonym (``deidentify.pseudonyms``)."""
    path = Path(export_path)
    if not path.is_file():
        raise ExportError(f"{path}: the export does not exist (config key `export`)")
    if path.stat().st_size == 0:
        raise ExportError(f"{path}: the export is empty (0 bytes); export the project again from REDCap")
    repeating_forms = tuple(repeating_forms)
    rid = dictionary.record_id
    if path.suffix.lower() == ".xlsx":
        check_workbook_size(path, xlsx_max_inflated_mb, xlsx_max_compression_ratio)
        header, workbook, cells = read_workbook_text(path, dictionary, repeating_forms)
        kind, encoding, text, delimiter = "xlsx workbook", "", None, None

        def source(offset: int, n: int) -> pa.Array:
            return pa.array(cells[offset:offset + n], pa.string())
    else:
        _refuse_other_formats(path)
        text = _first_record(path, encoding)
        delimiter = choose_delimiter(text, delimiter, dictionary)
        header = [h.strip() for h in _split_header(text, delimiter)]
        if not any(header):
            raise ExportError(f"{path}: the export is empty (no header line); export the project again from REDCap")
        kind = "CSV" if delimiter == "," else f"CSV ({DELIMITERS[delimiter]}-delimited)"
    names, label_header = header_columns(header, dictionary)
    if rid not in names:
        raise _no_record_id(path, header, dictionary, text, delimiter)
    duplicated = sorted({h for h in names if h is not None and names.count(h) > 1})
    if duplicated:
        raise ExportError(f"{path}: the header repeats the column(s) {duplicated}")
    # the reader's column names: unique, also for labels that match no column
    columns = [name if name is not None else f"\0column {i + 1}" for i, name in enumerate(names)]
    for column in (INSTRUMENT, INSTANCE):
        if column not in columns and repeating_forms:
            raise ExportError(f"{path}: no {column!r} column; export the project from REDCap as a flat "
                              f"CSV with its repeating instruments")
    expected = [rid] + [c for form in dictionary.forms for c in dictionary.export_columns(form)]
    known = set(expected) | {INSTRUMENT, INSTANCE, EVENT, REDCAP_DATA_ACCESS_GROUP, SURVEY_IDENTIFIER} | \
        {TIMESTAMP.format(form=form) for form in dictionary.forms}
    # their values are not read (could identify); a label that matches no column is named as written
    unknown = tuple(dict.fromkeys(name or written for name, written in zip(names, header)
                                  if name not in known))
    missing = tuple(c for c in expected if c not in columns)
    non_repeating = [f for f in dictionary.forms if f not in repeating_forms]
    missing_data_codes = {str(code): str(meaning) for code, meaning in (missing_data_codes or {}).items()}
    age_field = age_source(path, dictionary, columns, non_repeating)
    form_columns = {which: [c for f in (non_repeating if which == "" else [which])
                            for c in dictionary.export_columns(f) if c in columns]
                    for which in ("", *repeating_forms)}
    attributes = [REDCAP_DATA_ACCESS_GROUP] if REDCAP_DATA_ACCESS_GROUP in columns else []

    def split(batches, source):
        return _split_by_form(batches, columns, form_columns, source, rid, dictionary.forms, attributes)
    if path.suffix.lower() == ".xlsx":
        rows, parts = split([workbook.rename_columns(columns)], source)
    else:
        header_lines = max(text.count("\n"), 1)

        def read(starts, multiline):
            return split(_csv_batches(path, encoding, columns, header_lines, delimiter, starts, multiline),
                         _line_sources(starts))
        # Read as if each row were one line, the fast way, then check: a value holding a line break (which
        # this reader may take in its stride or not) or a skipped blank line makes the lines outnumber the
        # rows; the file is then read again knowing the line each row starts on.
        try:
            rows, parts = read(None, False)
            found = None if _line_count(path) == header_lines + len(rows) else _record_lines(path)
        except _LineBreaksInValues as error:
            found = error.found
        multiline = False
        if found is not None:
            starts, multiline = found
            rows, parts = read(starts, multiline)
        if multiline:
            kind += " with line breaks in values"
    if rows.empty:
        raise ExportError(f"{path}: the export has a header but no records")
    parts[""], cited = events.merge_events(parts[""], dictionary, non_repeating, SOURCE)
    for form in dictionary.forms:
        parts[form] = parts["" if form in non_repeating else form]
    parts.pop("", None)
    distinct = {id(p): p for p in parts.values()}.values()

    labels = _label_export(list(distinct), dictionary)
    kind = ("label " if labels else "raw ") + kind if kind.startswith("CSV") else kind + (" (labels)" if labels else "")
    if label_header:
        kind += ", field labels as header"
    for part in distinct:
        if labels:
            for column in part.columns:
                choices = field_choices(column, dictionary)
                if choices:
                    part[column] = _labels_to_codes(part[column], choices)
        # age needs the birth date, an identifier: computed before the identifiers are masked
        if BIRTH_DATE in part.columns and "criz_start_date" in part.columns:
            part[AGE] = whole_years(parse_dates(part[BIRTH_DATE]), parse_dates(part["criz_start_date"]))
    # each record's identifiers masked wherever else they were typed, then the identifier fields themselves
    deidentify(distinct, rows, dictionary, path=path, pseudonym_key=pseudonym_key)
    for part in distinct:
        _mask_identifiers(part, dictionary)

    exported: dict[str, pd.DataFrame] = {}
    typed: dict[str, pd.DataFrame] = {}
    for form in dictionary.forms:
        part = parts[form]
        exported[form] = part[["record_id", "instance", SOURCE] +
                              [c for c in dictionary.export_columns(form) if c in part.columns]]
        typed[form] = pd.DataFrame({
            column: type_column(missing_codes.as_blank(part[column], column, dictionary, missing_data_codes)
                                if column in part.columns else
                                pd.Series("", index=part.index, dtype=TEXT), column, dictionary)
            for column in dictionary.export_columns(form) if column not in dictionary.identifiers})
    exported.update(events.cite_events(exported, cited, SOURCE))

    base = parts[dictionary.forms[0]]
    age = base[AGE] if AGE in base.columns else pd.Series(pd.NA, index=base.index, dtype="Int64")
    if age_field:  # no birth date in the export: the project's age field, in completed years
        years = typed[dictionary[age_field].form][age_field]
        age = pd.Series(np.floor(years), index=base.index).astype("Int64")
    patients = pd.DataFrame({"record_id": base["record_id"].astype(STRING), "age": age})
    patients = pd.concat([patients] + [typed[f] for f in dictionary.forms if f not in repeating_forms], axis=1)
    if REDCAP_DATA_ACCESS_GROUP in base.columns:  # only then: an export without it gives the same tables
        group = base[REDCAP_DATA_ACCESS_GROUP].astype(object).where(base[REDCAP_DATA_ACCESS_GROUP] != "")
        patients[DATA_ACCESS_GROUP] = pd.Categorical(group, categories=sorted(group.dropna().unique()))
    tables = {}
    for form in repeating_forms:
        text = exported[form]
        tables[FORM_TABLES.get(form, form)] = pd.concat(
            [pd.DataFrame({"record_id": text["record_id"].astype(STRING),
                           "instance": parse_instances(text["instance"])}),
             typed[form]], axis=1)
    info = ExportInfo(source=path.name, format=kind, encoding=encoding, columns_missing=missing,
                      columns_unknown=unknown, records=rows["record_id"].nunique(), rows=len(rows),
                      missing_data_codes=missing_data_codes)
    return ExtractedTables(patients=patients, exported=exported, rows=rows, info=info,
                           **{name: tables.get(name, _empty_table(form, dictionary))
                              for form, name in FORM_TABLES.items()})


def age_source(path: Path, dictionary: DataDictionary, columns, non_repeating) -> str | None:
    """Where age at crizotinib start comes from: the birth date (None), or, in an export without it (REDCap's
    "Remove All Identifier Fields" leaves it out), the project's number field ``AGE_FIELD`` on a
    non-repeating form; neither stops."""
    if BIRTH_DATE not in dictionary or BIRTH_DATE in columns:
        return None
    if AGE_FIELD in dictionary and AGE_FIELD in columns and dictionary[AGE_FIELD].is_number \
            and dictionary[AGE_FIELD].form in non_repeating:
        return AGE_FIELD
    raise ExportError(
        f"{path}: no {BIRTH_DATE!r} column, and age at crizotinib start is computed from it (REDCap's export "
        f"option \"Remove All Identifier Fields\" leaves it out). Export with the identifier fields (the "
        f"extraction drops them once age is computed), or add to the project a number field {AGE_FIELD!r} "
        f"(age in whole years at crizotinib start), declare it in the data dictionary and export it")


def _empty_table(form: str, dictionary: DataDictionary) -> pd.DataFrame:
    text = pd.Series([], dtype=TEXT)
    columns = {"record_id": pd.Series([], dtype=STRING), "instance": pd.Series([], dtype="Int64")}
    for column in dictionary.export_columns(form):
        columns[column] = type_column(text, column, dictionary)
    return pd.DataFrame(columns)


# --- files --------------------------------------------------------------------------------------------------

def write_tables(tables: ExtractedTables, paths: Mapping[str, str | Path]) -> None:
    """Each typed table, the exported text of each form, the export's rows and ``export.json`` to its named
    file (names as in ``core.catalog.extracted_files``)."""
    for path in paths.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    for name in EXTRACTED_TABLES:
        getattr(tables, name).to_parquet(paths[name], index=False)
    for form, text in tables.exported.items():
        text.to_parquet(paths[f"exported_{form}"], index=False)
    tables.rows.to_parquet(paths["rows"], index=False)
    info = dict(tables.info.__dict__) if tables.info else {}
    info["forms"] = list(tables.exported)
    Path(paths["export_info"]).write_text(json.dumps(info, indent=2) + "\n")


def _read_typed(path: Path) -> pd.DataFrame:
    """A typed table as written, its text in Arrow memory (pandas would make Python strings of it)."""
    return pq.read_table(path).to_pandas(types_mapper={pa.string(): STRING, pa.large_string(): STRING}.get)


def read_tables(paths: Mapping[str, str | Path], *, exported: bool = True) -> ExtractedTables:
    """The tables written by ``write_tables`` (``paths``: name -> file, as ``core.catalog.extracted_files``);
    ``exported=False`` leaves out the validation's material (the exported text and the export's rows),
    which only the validation reads."""
    info_path = Path(paths["export_info"]) if "export_info" in paths else None
    info = json.loads(info_path.read_text()) if info_path and info_path.exists() else None
    forms = info.pop("forms") if info and exported else []
    if info:
        info.pop("forms", None)
    return ExtractedTables(
        patients=_read_typed(paths["patients"]),
        **{name: _read_typed(paths[name]) for name in FORM_TABLES.values()},
        exported={form: pd.read_parquet(paths[f"exported_{form}"], dtype_backend="pyarrow") for form in forms},
        rows=pd.read_parquet(paths["rows"], dtype_backend="pyarrow") if exported else pd.DataFrame(),
        info=ExportInfo(**{k: tuple(v) if isinstance(v, list) else v for k, v in info.items()}) if info else None)


# --- entry point of the workflow's script --------------------------------------------------------------------

def run(inputs: Mapping[str, str | Path], outputs: Mapping[str, str | Path], *, encoding: str,
        repeating_forms, delimiter: str, xlsx_max_inflated_mb: float, xlsx_max_compression_ratio: float,
        missing_data_codes: Mapping[str, str], record_id_pseudonym: bool) -> str:
    """What rule ``extract`` runs: the export (``inputs["export"]``, read with ``inputs["dictionary"]``) ->
    the files of ``outputs`` (names as in ``core.catalog.extracted_files``). With ``record_id_pseudonym``, the
    key of the pseudonyms is the file ``inputs["pseudonym_key"]``. Returns the line for the log; an unreadable
    export or dictionary raises (ExportError, DictionaryError) before anything is written."""
    dictionary = load_dictionary(inputs["dictionary"])
    key = read_pseudonym_key(inputs.get("pseudonym_key", "")) if record_id_pseudonym else None
    tables = extract(inputs["export"], dictionary, encoding=encoding, repeating_forms=repeating_forms,
                     delimiter=delimiter, xlsx_max_inflated_mb=xlsx_max_inflated_mb,
                     xlsx_max_compression_ratio=xlsx_max_compression_ratio,
                     missing_data_codes=missing_data_codes, pseudonym_key=key)
    write_tables(tables, outputs)
    info = tables.info
    read_as = f"{info.format}, {info.encoding}" if info.encoding else info.format
    return (f"Extracted {info.source} ({read_as}): {info.records} records in {info.rows} rows; "
            f"{len(tables.tumor_assessments)} tumor assessments, {len(tables.progression_sites)} progression "
            f"sites, {len(tables.subsequent_therapies)} subsequent therapies. Identifier fields dropped: "
            f"{', '.join(dictionary.identifiers)}{'; record_ids replaced by keyed pseudonyms' if key else ''}.")
