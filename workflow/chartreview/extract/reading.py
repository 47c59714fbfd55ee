"""Reading a REDCap export as text: the file -> its header and its rows as text, nothing typed.

A flat CSV (raw codes or the label export) in the configured encoding, its header of variable names or of
field labels (matched with the data dictionary's labels in the order REDCap writes them), its delimiter
(configured or found from the header), its records streamed as batches of text (a value holding a line
break found by a scan of the file, so that every row is named by its line); or an ``.xlsx`` workbook, one
sheet per form or one sheet holding the flat export, refused before parsing beyond its size limits. Files
of other formats named .csv are refused saying what they are. An export that cannot be read raises
``ExportError``, naming the file and the line, never a cell's value.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from chartreview.core.catalog import SOURCE
from chartreview.core.dictionary import DataDictionary, plain_text
from chartreview.core.errors import InputError
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
QUOTED_CHOICE = re.compile(r"(.*) \(choice='(.*)'\)")
# The CSV delimiters REDCap writes (the API's csvDelimiter), and their names in the config and messages.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DELIMITER_NAMES = {name: delimiter for delimiter, name in DELIMITERS.items()}
HEADER_LIMIT = 1 << 20  # characters of a header whose quote is never closed
SCAN_CHUNK = 1 << 26    # bytes per step of the scan for line breaks inside values
COUNT_CHUNK = 1 << 24   # bytes per step of counting the lines
NEWLINE, QUOTE, CARRIAGE_RETURN = ord("\n"), ord('"'), ord("\r")
ZIP, OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xlsx; encrypted workbook or .xls


class ExportError(InputError):
    """The export cannot be read at all (the message names the file, and the record and field if any)."""


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
    # a byte-order mark left at the start (a file saved twice with one) is not part of the first name
    return next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter), [])


def read_header(path: Path, encoding: str, setting: str, dictionary: DataDictionary) -> tuple[str, str, list[str]]:
    """A CSV export's header: its text (see ``_first_record``), its delimiter (``setting``, see
    ``choose_delimiter``) and its entries, white space stripped. A file of another format, or without a
    header, is refused."""
    _refuse_other_formats(path)
    text = _first_record(path, encoding)
    delimiter = choose_delimiter(text, setting, dictionary)
    header = [h.strip() for h in _split_header(text, delimiter)]
    if not any(header):
        raise ExportError(f"{path}: the export is empty (no header line); export the project again from REDCap")
    return text, delimiter, header


def header_key(text: str) -> str:
    """A header's text as compared with the dictionary: made plain text as the dictionary's labels are
    (REDCap strips their tags and entities), case folded; an older server's quoted checkbox choice
    (``(choice='FISH')``) read as a newer one's (``(choice=FISH)``)."""
    text = plain_text(text)
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


def no_record_id(path: Path, header: list[str], dictionary: DataDictionary, text: str | None,
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


def read_csv(path: Path, encoding: str, columns: list[str], header_text: str, delimiter: str,
             read: Callable[[Iterator[pa.RecordBatch], np.ndarray | None], object]) -> tuple[object, bool]:
    """The CSV's records after the header ``header_text`` as batches of text (see ``_csv_batches``), handed
    to ``read(batches, starts)``, which takes them all; returns what ``read`` returns and whether a quoted value
    holds a line break. ``starts``: the line each record starts on, None when each record is the line after
    the one before."""
    header_lines = max(header_text.count("\n"), 1)

    def counted(starts, multiline):
        records = [0]

        def batches():
            for batch in _csv_batches(path, encoding, columns, header_lines, delimiter, starts, multiline):
                records[0] += batch.num_rows
                yield batch
        return read(batches(), starts), records[0]
    # Read as if each record were one line, the fast way, then check: a value holding a line break (which
    # this reader may take in its stride or not) or a skipped blank line makes the lines outnumber the
    # records; the file is then read again knowing the line each record starts on.
    try:
        result, records = counted(None, False)
        found = None if _line_count(path) == header_lines + records else _record_lines(path)
    except _LineBreaksInValues as error:
        found = error.found
    multiline = False
    if found is not None:
        starts, multiline = found
        result, _ = counted(starts, multiline)
    return result, multiline


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
