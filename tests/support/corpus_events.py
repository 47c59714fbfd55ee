"""Exports of a longitudinal REDCap project, with missing-data codes, and without identifier fields, derived
from a raw export in the contract's layout (the example, resources/example/export_raw.csv).

Each variant holds the same data as the raw export, written as REDCap writes it for that project or export
option, so that the workflow's results must be the raw export's byte for byte; ``conflicting_events`` holds
a form with different values in two events, which must stop the run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from chartreview.core.dictionary import DataDictionary
from support.bad_exports import read_raw, to_label, write_raw

EVENT = "redcap_event_name"
BASELINE, FOLLOW_UP = "baseline_arm_1", "follow_up_arm_1"
# the label export writes the event's label
EVENT_LABELS = {BASELINE: "Baseline (Arm 1: Arm 1)", FOLLOW_UP: "Follow-up (Arm 1: Arm 1)"}
BASELINE_FORMS = ("demographics", "treatment", "baseline")   # the rest of the forms are in the follow-up event
# blanks of the example that a missing-data code may stand for (no value either way), and the code
# number, text, date, coded field of the non-repeating forms, and a number of a repeating form
CODES_FOR_BLANKS = {"pack_years": "UNK", "fusion_partner": "NASK", "criz_end_date": "NA", "death_cause": "NA",
                    "ta_sld_mm": "NAV"}
AGE_FIELD = "age_at_start"


def _with_events(frame: pd.DataFrame, events: pd.Series) -> pd.DataFrame:
    """REDCap writes the event right after record_id."""
    frame = frame.copy()
    frame.insert(1, EVENT, events.to_numpy())
    return frame


def _columns_of(forms, dictionary: DataDictionary, frame: pd.DataFrame) -> list[str]:
    return [c for form in forms for c in dictionary.export_columns(form) if c in frame.columns]


def one_event(raw: pd.DataFrame) -> pd.DataFrame:
    return _with_events(raw, pd.Series(BASELINE, index=raw.index))


def two_events(raw: pd.DataFrame, dictionary: DataDictionary, *, first_assessment_at_baseline=False) -> pd.DataFrame:
    """Each record's baseline forms in ``baseline_arm_1``, follow-up and the repeating forms in
    ``follow_up_arm_1``, rows ordered as REDCap writes them (record, event, then instrument and instance).
    ``first_assessment_at_baseline``: each record's first tumor assessment in the baseline event, the others
    numbered from 1 again in the follow-up event."""
    non_repeating = raw["redcap_repeat_instrument"] == ""
    later_forms = [f for f in dictionary.forms if f not in BASELINE_FORMS]
    baseline = raw[non_repeating].copy()
    baseline[_columns_of(later_forms, dictionary, raw)] = ""
    follow_up = raw[non_repeating].copy()
    follow_up[_columns_of(BASELINE_FORMS, dictionary, raw)] = ""
    repeating = raw[~non_repeating].copy()
    event = pd.Series(FOLLOW_UP, index=repeating.index)
    if first_assessment_at_baseline:
        assessment = repeating["redcap_repeat_instrument"] == "tumor_assessment"
        number = pd.to_numeric(repeating["redcap_repeat_instance"], errors="coerce")
        lowest = number.where(assessment).groupby(repeating["record_id"]).transform("min")
        first = assessment & (number == lowest)
        event[first] = BASELINE
        later = assessment & ~first
        repeating.loc[later, "redcap_repeat_instance"] = (number[later] - 1).astype(int).astype(str)
    parts = [_with_events(baseline, pd.Series(BASELINE, index=baseline.index)).assign(_event=0, _row=0),
             _with_events(follow_up, pd.Series(FOLLOW_UP, index=follow_up.index)).assign(_event=1, _row=0),
             _with_events(repeating, event).assign(_event=(event == FOLLOW_UP).astype(int), _row=1)]
    frame = pd.concat(parts).assign(_record=lambda f: f["record_id"].map(
        {r: i for i, r in enumerate(dict.fromkeys(raw["record_id"]))}), _order=lambda f: f.index)
    # REDCap's order: record, event, the event's non-repeating row, then its instances in the export's order
    frame = frame.sort_values(["_record", "_event", "_row", "_order"], kind="stable")
    return frame.drop(columns=["_record", "_event", "_row", "_order"]).reset_index(drop=True)


def conflicting_events(raw: pd.DataFrame, dictionary: DataDictionary) -> tuple[pd.DataFrame, str]:
    """Two events where one record's demographics are also entered in the follow-up event, with another
    sex; returns the export and the record."""
    frame = two_events(raw, dictionary)
    at = frame.index[(frame[EVENT] == FOLLOW_UP) & (frame["redcap_repeat_instrument"] == "")][1]
    record = frame.loc[at, "record_id"]
    entered = frame[(frame["record_id"] == record) & (frame[EVENT] == BASELINE)
                    & (frame["redcap_repeat_instrument"] == "")].iloc[0]
    demographics = _columns_of(["demographics"], dictionary, frame)
    frame.loc[at, demographics] = entered[demographics].to_numpy()
    frame.loc[at, "sex"] = {"1": "2", "2": "1"}[entered["sex"]]
    return frame, record


def in_two_events(frame: pd.DataFrame, record: str, field: str, value: str) -> pd.DataFrame:
    """A one-event export of ``frame`` whose ``record`` has its non-repeating row also in the follow-up
    event, there with ``field`` holding ``value``."""
    frame = one_event(frame)
    at = frame.index[(frame["record_id"] == record) & (frame["redcap_repeat_instrument"] == "")][0]
    again = frame.loc[[at]].assign(**{EVENT: FOLLOW_UP, field: value})
    return pd.concat([frame.loc[:at], again, frame.loc[at:].iloc[1:]], ignore_index=True)


def with_missing_data_codes(raw: pd.DataFrame) -> pd.DataFrame:
    """Every blank of ``CODES_FOR_BLANKS``' fields on the rows of their form holds the code instead."""
    frame = raw.copy()
    for field, code in CODES_FOR_BLANKS.items():
        form_rows = frame["redcap_repeat_instrument"] == ("tumor_assessment" if field == "ta_sld_mm" else "")
        frame.loc[form_rows & (frame[field] == ""), field] = code
    return frame


def _whole_years(birth: str, on: str) -> str:
    b, d = pd.Timestamp(birth), pd.Timestamp(on)
    return str(d.year - b.year - ((d.month, d.day) < (b.month, b.day)))


def without_identifiers(raw: pd.DataFrame, dictionary: DataDictionary, *, age_field=True) -> pd.DataFrame:
    """REDCap's "Remove All Identifier Fields": no identifier column; with ``age_field``, the project's
    number field ``age_at_start`` (placed before demographics_complete) holds the age at crizotinib start."""
    frame = raw.drop(columns=dictionary.identifiers)
    if age_field:
        rows = frame["redcap_repeat_instrument"] == ""
        age = pd.Series("", index=frame.index)
        age[rows] = [_whole_years(b, s) for b, s in zip(raw.loc[rows, "birth_date"], raw.loc[rows, "criz_start_date"])]
        frame.insert(frame.columns.get_loc("demographics_complete"), AGE_FIELD, age)
    return frame


def dictionary_with_age_field(dictionary_csv, path) -> Path:
    """The data dictionary with the number field ``age_at_start`` at the end of the demographics form."""
    with open(dictionary_csv, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    last = max(i for i, r in enumerate(rows) if r[header.index("Form Name")] == "demographics")
    new = [""] * len(header)
    values = {"Variable / Field Name": AGE_FIELD, "Form Name": "demographics", "Field Type": "text",
              "Field Label": "Age at crizotinib start (years)", "Text Validation Type OR Show Slider Number": "integer",
              "Text Validation Min": "0", "Text Validation Max": "120"}
    for column, value in values.items():
        new[header.index(column)] = value
    rows.insert(last + 1, new)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return Path(path)


def derive(raw_csv, dictionary: DataDictionary, out_dir) -> dict[str, Path]:
    """The variants whose results must be the raw export's, written under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    raw = read_raw(raw_csv)
    paths = {"one_event": write_raw(one_event(raw), out / "one_event.csv"),
             "two_events": write_raw(two_events(raw, dictionary), out / "two_events.csv"),
             "missing_data_codes": write_raw(with_missing_data_codes(raw), out / "missing_data_codes.csv")}
    # the label export of two events, a first tumor assessment in each event: event labels, instances
    # numbered per event
    spread = write_raw(two_events(raw, dictionary, first_assessment_at_baseline=True), out / "spread_raw.csv")
    labels = read_raw(to_label(spread, dictionary, out / "spread_labels.csv"))
    labels[EVENT] = labels[EVENT].map(EVENT_LABELS)
    paths["two_events_labels"] = write_raw(labels, out / "two_events_labels.csv")
    return paths
