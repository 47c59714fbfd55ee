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
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from chartreview.core.catalog import EXTRACTED_TABLES, FORM_TABLES
from chartreview.core.datasets import ExportInfo, ExtractedTables
from chartreview.core.dictionary import DataDictionary, Field, load_dictionary
from chartreview.core.errors import InputError
from chartreview.extract import events, missing_codes
from chartreview.extract.deidentify import MASKED, deidentify, read_pseudonym_key
from chartreview.extract.events import EVENT

INSTRUMENT = "redcap_repeat_instrument"
INSTANCE = "redcap_repeat_instance"
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
    """Locate the first byte that does not decode, to name its line and record."""
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


def _read_header(path: Path, encoding: str) -> list[str]:
    _check_encoding(encoding, path)
    try:
        with path.open(encoding=encoding, newline="") as fh:
            header = next(csv.reader(io.StringIO(fh.readline())), [])
    except UnicodeDecodeError:
        raise _decode_failure(path, encoding) from None
    header = [h.strip() for h in header]
    if not any(header):
        raise ExportError(f"{path}: the export is empty (no header line); export the project again from REDCap")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ExportError(f"{path}: the header repeats the column(s) {duplicated}")
    return header


def read_csv_batches(path: Path, encoding: str) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """The header and the rows of the flat CSV as batches of text (blank = ""), streamed so that only the
    split tables are ever whole in memory; a row with a wrong number of fields stops the read."""
    header = _read_header(path, encoding)
    return header, _csv_batches(path, encoding, header)


def _csv_batches(path: Path, encoding: str, header: list[str]) -> Iterator[pa.RecordBatch]:
    invalid: list = []

    def keep_invalid(row) -> str:
        invalid.append(row)
        return "skip"

    def reader(use_threads: bool):
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=_pyarrow_encoding(encoding, path), use_threads=use_threads,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=keep_invalid),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=False))
    try:
        for batch in reader(use_threads=True):
            if invalid:
                break
            yield batch
        if invalid:  # again on one thread, which numbers the lines
            invalid.clear()
            for _ in reader(use_threads=False):
                if invalid:
                    break
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if "UTF8" in str(exc) or isinstance(exc, UnicodeDecodeError):
            raise _decode_failure(path, encoding) from None
        # pyarrow's message may quote a row, hence an identifier: not passed on
        raise ExportError(f"{path}: not a readable CSV file ({type(exc).__name__}); "
                          f"export the project again from REDCap") from None
    if invalid:
        row = invalid[0]
        line = f"line {row.number}" if row.number else "a line"   # not its record_id: it may be an MRN
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


def read_workbook_text(path: Path, dictionary: DataDictionary, repeating_forms) -> tuple[pa.Table, list[str]]:
    """The workbook (one sheet per form) as the flat export's table of text, and each row's source."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a damaged file; its message holds no cell value
        raise ExportError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    rid = dictionary.record_id
    frames = []
    non_repeating: pd.DataFrame | None = None
    for name, sheet in sheets.items():
        sheet = sheet.rename(columns=lambda c: str(c).strip())
        if rid not in sheet.columns:
            raise ExportError(f"{path}, sheet {name!r}: no {rid!r} column")
        text = pd.DataFrame({c: _cell_text(sheet[c]) for c in sheet.columns})
        text = text[text.ne("").any(axis=1)]  # Excel leaves formatted empty rows
        text[SOURCE] = [f"sheet {name}, row {i + 2}" for i in text.index]
        if name in repeating_forms or name not in dictionary.forms:
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
    if not frames:
        raise ExportError(f"{path}: the workbook has no sheet")
    flat = pd.concat(frames, ignore_index=True, sort=False).fillna("")
    if INSTANCE not in flat.columns:
        flat[INSTANCE] = ""
    source = flat.pop(SOURCE).tolist()
    return pa.Table.from_pandas(flat.astype(str), preserve_index=False), source


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


def _line_sources(offset: int, n: int) -> pa.Array:
    # data row i of the CSV is line i + 2 of the file (header first; no line breaks inside values)
    return pc.binary_join_element_wise("line ", pc.cast(pa.array(np.arange(offset + 2, offset + n + 2)),
                                                        pa.string()), "")


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


def _split_by_form(batches, columns: list[str], form_columns: dict[str, list[str]], source, rid: str):
    """The export's rows (record_id, instrument, instance, source, stray) and, per instrument ("" for the
    non-repeating row), its rows' text with that instrument's columns, in record order (first appearance)
    then instance order. Split as the batches are read: only the parts are ever whole in memory."""
    keys, split, offset = [], {which: [] for which in form_columns}, 0
    for batch in batches:
        n = batch.num_rows
        blank = pa.repeat(pa.scalar("", pa.string()), n)
        instrument = _trimmed(batch[INSTRUMENT]) if INSTRUMENT in columns else blank
        keys.append(pa.table({
            "record_id": _trimmed(batch[rid]),
            "event": _trimmed(batch[EVENT]) if EVENT in columns else blank, "instrument": instrument,
            "instance": _trimmed(batch[INSTANCE]) if INSTANCE in columns else blank,
            "source": pa.array(source[offset:offset + n], pa.string()) if source is not None
            else _line_sources(offset, n),
            "stray": _stray_values(batch, instrument, form_columns, blank)}))
        row = pa.array(np.arange(offset, offset + n))
        for which, names in form_columns.items():
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
            repeating_forms=REPEATING_FORMS, missing_data_codes: Mapping[str, str] | None = None,
            pseudonym_key: bytes | None = None) -> ExtractedTables:
    """Read a REDCap export (raw CSV, label CSV or .xlsx by extension) into the contract's typed tables;
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
        workbook, source = read_workbook_text(path, dictionary, repeating_forms)
        kind, encoding, columns, batches = "xlsx workbook", "", workbook.column_names, [workbook]
    else:
        (columns, batches), source, kind = read_csv_batches(path, encoding), None, "CSV"
    if rid not in columns:
        raise ExportError(f"{path}: no {rid!r} column (the first column of a REDCap export); is this the "
                          f"chart-review export? Its header starts with {columns[:3]}")
    for column in (INSTRUMENT, INSTANCE):
        if column not in columns and repeating_forms:
            raise ExportError(f"{path}: no {column!r} column; export the project from REDCap as a flat "
                              f"CSV with its repeating instruments")
    expected = [rid] + [c for form in dictionary.forms for c in dictionary.export_columns(form)]
    known = set(expected) | {INSTRUMENT, INSTANCE, EVENT}
    unknown = tuple(c for c in columns if c not in known)   # their values are not read (could identify)
    missing = tuple(c for c in expected if c not in columns)
    non_repeating = [f for f in dictionary.forms if f not in repeating_forms]
    missing_data_codes = {str(code): str(meaning) for code, meaning in (missing_data_codes or {}).items()}
    age_field = age_source(path, dictionary, columns, non_repeating)
    form_columns = {which: [c for f in (non_repeating if which == "" else [which])
                            for c in dictionary.export_columns(f) if c in columns]
                    for which in ("", *repeating_forms)}

    rows, parts = _split_by_form(batches, columns, form_columns, source, rid)
    if rows.empty:
        raise ExportError(f"{path}: the export has a header but no records")
    parts[""], cited = events.merge_events(parts[""], dictionary, non_repeating, SOURCE)
    for form in dictionary.forms:
        parts[form] = parts["" if form in non_repeating else form]
    parts.pop("", None)
    distinct = {id(p): p for p in parts.values()}.values()

    labels = _label_export(list(distinct), dictionary)
    kind = ("label " if labels else "raw ") + kind if kind == "CSV" else kind + (" (labels)" if labels else "")
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
        repeating_forms, missing_data_codes: Mapping[str, str], record_id_pseudonym: bool,
        record_id_pseudonym_key: str) -> str:
    """What rule ``extract`` runs: the export (``inputs["export"]``, read with ``inputs["dictionary"]``) ->
    the files of ``outputs`` (names as in ``core.catalog.extracted_files``). Returns the line for the log; an unreadable
    export or dictionary raises (ExportError, DictionaryError) before anything is written."""
    dictionary = load_dictionary(inputs["dictionary"])
    key = read_pseudonym_key(record_id_pseudonym_key) if record_id_pseudonym else None
    tables = extract(inputs["export"], dictionary, encoding=encoding, repeating_forms=repeating_forms,
                     missing_data_codes=missing_data_codes, pseudonym_key=key)
    write_tables(tables, outputs)
    info = tables.info
    read_as = f"{info.format}, {info.encoding}" if info.encoding else info.format
    return (f"Extracted {info.source} ({read_as}): {info.records} records in {info.rows} rows; "
            f"{len(tables.tumor_assessments)} tumor assessments, {len(tables.progression_sites)} progression "
            f"sites, {len(tables.subsequent_therapies)} subsequent therapies. Identifier fields dropped: "
            f"{', '.join(dictionary.identifiers)}{'; record_ids replaced by keyed pseudonyms' if key else ''}.")
