"""Bad exports for the tests: one file per defect, derived from a clean REDCap raw export.

``derive(example, out_dir)`` copies the example with exactly one defect per file and says what the
workflow must do with it: stop in ``extract`` (an unreadable file) or raise the named query (record, field,
rule) in ``validate``, which makes ``validation_gate`` fail. Works on any clean raw export in the contract's
layout (the hand-made fixture or the synthetic example): records are chosen by what they hold.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# Text a Japanese abstractor might type (a note in the fusion partner, an agent's name in katakana).
JAPANESE_PARTNER = "CD74（再検査）"
JAPANESE_AGENT = "ロルラチニブ"


@dataclass(frozen=True)
class BadExport:
    name: str
    path: Path
    stage: str              # "extract": the export cannot be read; "validate": a query with severity error
    record_id: str          # the record the message and the query name ("" for the whole file)
    field: str              # the field they name ("" when none)
    rule: str = ""          # the query's rule (stage validate)
    form: str = ""
    instance: str = ""      # the query's instance, as written in queries.csv
    encoding: str = "utf-8-sig"
    message: str = ""       # a phrase the extraction's message must contain (stage extract)


def read_raw(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_raw(frame: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    frame.to_csv(path, index=False, lineterminator="\n", encoding=encoding, quoting=csv.QUOTE_MINIMAL)
    return path


def _patients(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["redcap_repeat_instrument"] == ""]


def _shift(date: str, days: int) -> str:
    return (pd.Timestamp(date) + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


def derive(example, out_dir) -> dict[str, BadExport]:
    """One bad export per defect of the extraction issue, written under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean = read_raw(example)
    patients = _patients(clean)
    first, second, third = patients.index[:3]
    rid = clean["record_id"]
    dead = patients[patients["vital_status"] == "1"].index[0]
    ta = clean[clean["redcap_repeat_instrument"] == "tumor_assessment"]
    alive_assessed = patients[(patients["vital_status"] == "0") & patients["record_id"].isin(ta["record_id"])]
    alive = alive_assessed.index[0]
    bad: dict[str, BadExport] = {}

    def variant(name, frame, **expected):
        bad[name] = BadExport(name=name, path=write_raw(frame, out / f"{name}.csv"), **expected)

    def with_value(row, column, value):
        frame = clean.copy()
        frame.loc[row, column] = value
        return frame

    variant("missing_column", clean.drop(columns="ecog_ps"), stage="validate", record_id="", field="ecog_ps",
            rule="missing_column", form="demographics")
    variant("impossible_date", with_value(first, "diagnosis_date", "2013-02-30"), stage="validate",
            record_id=rid[first], field="diagnosis_date", rule="date", form="demographics")
    variant("excel_serial_date", with_value(second, "criz_start_date", "41234"), stage="validate",
            record_id=rid[second], field="criz_start_date", rule="date", form="treatment")
    variant("unknown_code", with_value(first, "sex", "3"), stage="validate", record_id=rid[first], field="sex",
            rule="code", form="demographics")
    variant("missing_group", with_value(third, "fusion_gene", ""), stage="validate", record_id=rid[third],
            field="fusion_gene", rule="required", form="demographics")
    variant("death_before_start",
            with_value(dead, "death_date", _shift(clean.loc[dead, "criz_start_date"], -10)), stage="validate",
            record_id=rid[dead], field="criz_start_date", rule="after_death", form="treatment")
    variant("dead_without_death_date", with_value(dead, "death_date", ""), stage="validate",
            record_id=rid[dead], field="death_date", rule="dead_without_death_date", form="followup")
    duplicated = pd.concat([clean.loc[:second], clean.loc[[second]], clean.loc[second:].iloc[1:]])
    variant("duplicate_record", duplicated, stage="validate", record_id=rid[second], field="record_id",
            rule="duplicate_record")
    row = ta.index[0]
    duplicated = pd.concat([clean.loc[:row], clean.loc[[row]], clean.loc[row:].iloc[1:]])
    variant("duplicate_instance", duplicated, stage="validate", record_id=rid[row],
            field="redcap_repeat_instance", rule="duplicate_instance", form="tumor_assessment")
    variant("unknown_response_code", with_value(row, "ta_response", "6"), stage="validate",
            record_id=rid[row], field="ta_response", rule="code", form="tumor_assessment",
            instance=clean.loc[row, "redcap_repeat_instance"])
    last_ta = ta.loc[ta["record_id"] == rid[alive], "ta_date"].max()
    variant("last_contact_before_assessment", with_value(alive, "last_contact_date", _shift(last_ta, -20)),
            stage="validate", record_id=rid[alive], field="last_contact_date",
            rule="last_contact_before_event", form="followup")

    (out / "empty_file.csv").write_bytes(b"")
    bad["empty_file"] = BadExport("empty_file", out / "empty_file.csv", "extract", "", "", message="empty")

    # cut in the middle of a record's non-repeating row, as an interrupted download leaves it
    lines = clean.to_csv(index=False, lineterminator="\n").splitlines(keepends=True)
    cut_line = int(len(lines) * 0.6)
    while not lines[cut_line].split(",")[1] == "":  # a non-repeating row (blank instrument)
        cut_line += 1
    kept = "".join(lines[:cut_line]) + lines[cut_line][: len(lines[cut_line]) // 3]
    (out / "truncated_file.csv").write_text(kept)
    # named by its line only: the record_id of a malformed row may be an identifier
    bad["truncated_file"] = BadExport("truncated_file", out / "truncated_file.csv", "extract", "", "",
                                      message=f"line {cut_line + 1}")

    japanese = clean.copy()
    japanese.loc[first, "fusion_partner"] = JAPANESE_PARTNER
    therapies = clean.index[clean["redcap_repeat_instrument"] == "subsequent_therapy"]
    japanese.loc[therapies[0], "st_agent"] = JAPANESE_AGENT
    path = write_raw(japanese, out / "cp932.csv", encoding="cp932")
    bad["cp932"] = BadExport("cp932", path, "extract", "", "", message="export_encoding")
    return bad


# --- the same export in the other formats the extraction reads ------------------------------------------------

def to_label(raw_csv, dictionary, path) -> Path:
    """The label export of a raw export: REDCap writes each code's label (Checked/Unchecked, Complete...)."""
    frame = read_raw(raw_csv)
    status = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
    for column in frame.columns:
        name = column.split("___")[0]
        if column.endswith("_complete"):
            mapping = status
        elif name in dictionary and dictionary[name].is_checkbox:
            mapping = {"1": "Checked", "0": "Unchecked"}
        elif name in dictionary and dictionary[name].is_coded:
            mapping = dictionary[name].choices
        else:
            continue
        frame[column] = frame[column].map(lambda v, m=mapping: m.get(v, v))
    return write_raw(frame, Path(path))


def to_workbook(raw_csv, dictionary, path, *, excel_dates=("criz_start_date", "ta_date")) -> Path:
    """The workbook of a raw export: one sheet per form; codes and numbers as numeric cells, the
    ``excel_dates`` fields as true Excel date cells, other dates as text."""
    frame = read_raw(raw_csv)
    repeating = set(frame["redcap_repeat_instrument"]) - {""}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for form in dictionary.forms:
            rows = frame[frame["redcap_repeat_instrument"] == (form if form in repeating else "")]
            columns = ["record_id"] + (["redcap_repeat_instance"] if form in repeating else []) + \
                [c for c in dictionary.export_columns(form) if c in frame.columns]
            sheet = rows[columns].copy()
            for column in columns[1:]:
                name = column.split("___")[0]
                f = dictionary[name] if name in dictionary else None
                if column in excel_dates:
                    sheet[column] = pd.to_datetime(sheet[column].replace("", None))
                elif column.endswith("_complete") or column == "redcap_repeat_instance" or \
                        (f is not None and (f.is_coded or f.is_number)):
                    sheet[column] = pd.to_numeric(sheet[column].replace("", None))
            sheet.to_excel(writer, sheet_name=form, index=False)
    return Path(path)
