"""Extraction: a REDCap chart-review export -> typed, de-identified tables, and their files.

Reads the export as text (``extract.reading``: a flat CSV, raw codes or the label export, or an ``.xlsx``
workbook), splits its rows by form, reads a label export's labels as codes, computes age at crizotinib start
from the birth date, drops the identifier fields of the data dictionary and types the rest
(``extract.text``) into the tables of the data contract (``patients``, ``tumor_assessments``,
``progression_sites``, ``subsequent_therapies``). ``write_tables`` and ``read_tables`` are their files;
``run`` is what rule ``extract`` runs.

Beside the typed tables it keeps what the validation needs to quote an abstractor's entry that failed typing:
the exported text of every form (codes, identifiers masked) and one row per export row (record, instrument,
instance and where it is in the file). Nothing here judges the data: a value that cannot be typed becomes
missing in the typed table and is reported by ``chartreview.validate.contracts``. Only an export that cannot be read
at all raises ``ExportError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chartreview.core.catalog import (
    DATA_ACCESS_GROUP,
    EXTRACTED_TABLES,
    FORM_TABLES,
    OPTIONAL_ANALYSIS_FIELDS,
    SOURCE,
)
from chartreview.core.datasets import ExportInfo, ExtractedTables
from chartreview.core.dictionary import DataDictionary, load_dictionary
from chartreview.extract import events, missing_codes
from chartreview.extract.deidentify import MASKED, deidentify, read_pseudonym_key
from chartreview.extract.events import EVENT
from chartreview.extract.reading import (
    DELIMITERS,
    INSTANCE,
    INSTRUMENT,
    REDCAP_DATA_ACCESS_GROUP,
    SURVEY_IDENTIFIER,
    TIMESTAMP,
    ExportError,
    check_workbook_size,
    header_columns,
    no_record_id,
    read_csv,
    read_header,
    read_workbook_text,
)
from chartreview.extract.text import (
    STRING,
    TEXT,
    as_string,
    field_choices,
    parse_dates,
    parse_instances,
    parse_numbers,
    type_column,
    whole_years,
)

REPEATING_FORMS = tuple(FORM_TABLES)
# An identifier in the exported text: present and of its type, or present but not of its type.
MASKED_INVALID = "[masked: not of its type]"
AGE = "_age"  # computed from the birth date before the identifiers are masked
BIRTH_DATE = "birth_date"
AGE_FIELD = "age_at_start"  # the project's age field, read in an export without birth dates


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


def _bounds(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's value offsets into its data, and the data, as numpy (no copy)."""
    offsets = np.frombuffer(chunk.buffers()[1], np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = chunk.buffers()[2]
    return offsets, np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


def _may_need_trimming(chunk: pa.Array) -> bool:
    """Whether a value may start or end with white space: its first or last byte is a control character, a
    space or not ASCII (every character ``utf8_trim_whitespace`` trims is one of these)."""
    if chunk.type != pa.string() or chunk.null_count:
        return True
    offsets, data = _bounds(chunk)
    filled = offsets[1:] > offsets[:-1]
    ends = data[np.concatenate([offsets[:-1][filled], offsets[1:][filled] - 1])]
    return bool(((ends <= 0x20) | (ends >= 0x7F)).any())


def _trimmed(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """White space around each value trimmed; most columns have none, and are returned as they are."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return pc.utf8_trim_whitespace(column) if any(_may_need_trimming(c) for c in chunks) else column


def _filled(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Per value: not blank (a null counts as blank)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    filled = []
    for chunk in chunks:
        if chunk.type == pa.string() and not chunk.null_count:
            offsets, _ = _bounds(chunk)
            filled.append(offsets[1:] > offsets[:-1])
        else:
            filled.append(pc.fill_null(pc.greater(pc.utf8_length(chunk), 0), False).to_numpy(zero_copy_only=False))
    return np.concatenate(filled) if filled else np.zeros(0, dtype=bool)


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
    forms = list(form_columns)
    form = pc.index_in(instrument, value_set=pa.array(forms, pa.string())).fill_null(-1).to_numpy()
    known = form >= 0
    stray = np.full(len(form), -1, dtype=np.int64)
    names = [name for names in form_columns.values() for name in names]
    for which, columns in enumerate(form_columns.values()):
        elsewhere = known & (form != which)
        if not elsewhere.any():
            continue
        for name in columns:
            outside = elsewhere & _filled(batch.column(name))
            if outside.any():
                stray = np.where(outside & (stray < 0), names.index(name), stray)
    if (stray < 0).all():
        return blank
    return pa.array(np.array(names + [""], dtype=object)[stray], pa.string())


def _in_record_order(record: np.ndarray, instance: np.ndarray) -> bool:
    """Whether rows are already as a stable sort by record then instance (missing instances last) puts
    them: then no sort is needed (a sort's order of ten million rows is a peak of its own)."""
    later_record = record[1:] > record[:-1]
    same_record = record[1:] == record[:-1]
    in_instance_order = (instance[1:] >= instance[:-1]) | np.isnan(instance[1:])
    return bool((later_record | (same_record & in_instance_order)).all())


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
    record_order = pd.factorize(rows["record_id"])[0].astype(np.int32)
    instance = parse_numbers(rows["instance"]).to_numpy()
    parts: dict[str, pd.DataFrame] = {}
    for which, names in form_columns.items():
        names = names + attributes if which == "" else names
        table = pa.concat_tables(split.pop(which))
        at = table["_row"].to_numpy()
        # an export lists each record's rows together, in instance order: nothing to reorder then
        in_order = _in_record_order(record_order[at], instance[at])
        order = slice(None) if in_order else np.lexsort((instance[at], record_order[at]))
        # a column at a time, each let go once copied: the form's text is never whole twice in memory
        pending = {name: table.column(name) for name in names}
        del table
        text = []
        for name in names:
            column = pending.pop(name)
            text.append(_trimmed(pa.chunked_array([column.combine_chunks()]) if in_order
                                 else column.take(pa.array(order))))
            del column
        part = pa.Table.from_arrays(
            keys.select(["record_id", "instance", "source", "event"]).take(pa.array(at[order])).columns + text,
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
        text, delimiter, header = read_header(path, encoding, delimiter, dictionary)
        kind = "CSV" if delimiter == "," else f"CSV ({DELIMITERS[delimiter]}-delimited)"
    names, label_header = header_columns(header, dictionary)
    if rid not in names:
        raise no_record_id(path, header, dictionary, text, delimiter)
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
        (rows, parts), multiline = read_csv(path, encoding, columns, text, delimiter,
                                            lambda batches, starts: split(batches, _line_sources(starts)))
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
            for column in dictionary.export_columns(form) if column not in dictionary.identifiers
            # an optional field's column the export lacks stays out, as when the dictionary lacks it: the
            # analysis that reads it says "not available" instead of finding every value blank
            and (column in part.columns or column not in OPTIONAL_ANALYSIS_FIELDS)})
    exported.update(events.cite_events(exported, cited, SOURCE))

    base = parts[dictionary.forms[0]]
    age = base[AGE] if AGE in base.columns else pd.Series(pd.NA, index=base.index, dtype="Int64")
    if age_field:  # no birth date in the export: the project's age field, in completed years
        years = typed[dictionary[age_field].form][age_field]
        age = pd.Series(np.floor(years), index=base.index).astype("Int64")
    patients = pd.DataFrame({"record_id": as_string(base["record_id"]), "age": age})
    # each form's typed columns taken into its table as they are, not copied (a million patients' peak)
    patients = pd.concat([patients] + [typed.pop(f) for f in dictionary.forms if f not in repeating_forms], axis=1,
                         copy=False)
    if REDCAP_DATA_ACCESS_GROUP in base.columns:  # only then: an export without it gives the same tables
        group = base[REDCAP_DATA_ACCESS_GROUP].astype(object).where(base[REDCAP_DATA_ACCESS_GROUP] != "")
        patients[DATA_ACCESS_GROUP] = pd.Categorical(group, categories=sorted(group.dropna().unique()))
    tables = {}
    for form in dict.fromkeys(repeating_forms):
        text = exported[form]
        tables[FORM_TABLES.get(form, form)] = pd.concat(
            [pd.DataFrame({"record_id": as_string(text["record_id"]),
                           "instance": parse_instances(text["instance"])}),
             typed.pop(form)], axis=1, copy=False)
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
    frames = [(getattr(tables, name), paths[name]) for name in EXTRACTED_TABLES]
    frames += [(text, paths[f"exported_{form}"]) for form, text in tables.exported.items()]
    frames.append((tables.rows, paths["rows"]))
    # two files at a time: Arrow encodes and compresses outside the interpreter lock, and each file is
    # written exactly as alone
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(frame.to_parquet, path, index=False) for frame, path in frames]:
            done.result()
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
