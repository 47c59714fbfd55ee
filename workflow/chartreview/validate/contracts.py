"""Validation of the extracted tables: pandera contracts, each failure turned into a data query.

Three layers, each validated lazily (every problem at once) and each failure turned into one data query
(record, form, instance, field, value, rule, severity, message):

1. the export's rows (``ExportRows``): one non-repeating row per record, unique instances, known
   instruments;
2. the exported text of each form (``exported_schema``, built from the data dictionary's field types):
   real calendar dates written YYYY-MM-DD, numbers, codes among the dictionary's choices, every column
   present. The value quoted is what the abstractor entered (identifiers masked);
3. the typed tables (``Patients``, ``TumorAssessments``, ``ProgressionSites``, ``SubsequentTherapies``:
   the contract "Extracted tables", field by field as in the data dictionary) with required fields and
   ranges, and the rules across fields and forms on narrow views (``PatientCourse``, ``RecordDates``,
   ``Assessments``).

The rules, their severity and their wording for the abstractors are in ``RULES``; the report of the
queries and the gate that stops the run are in ``chartreview.validate.queries``.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute
import pyarrow.parquet as pq
from pandera.engines import pandas_engine
from pandera.typing import Series

from chartreview.core.catalog import (
    DATA_ACCESS_GROUP,
    EXTRACTED_TABLES,
    FORM_TABLES,
    OPTIONAL_ANALYSIS_FIELDS,
    QUERY_COLUMNS,
)
from chartreview.core.datasets import ExtractedTables
from chartreview.core.dictionary import DataDictionary
from chartreview.extract.deidentify import MASKED
from chartreview.extract.events import EVENT_CONFLICTS
from chartreview.extract.missing_codes import codes_of, is_code
from chartreview.extract.text import STRING, field_choices, parse_dates, parse_instances, parse_numbers


@dataclass(frozen=True)
class Rule:
    severity: str   # "error" stops the workflow before derivation; "warning" is reported only
    text: str       # what is wrong, for the abstractor


RULES = {
    # structure of the export
    "missing_column": Rule("error", "the export has no column for this field"),
    "unknown_column": Rule("warning", "the data dictionary has no such field; its values were not read"),
    "missing_record_id": Rule("error", "a row without record_id"),
    "duplicate_record": Rule("error", "more than one non-repeating row for this record (in one event)"),
    "duplicate_instance": Rule("error", "this instance of the repeating form appears more than once"),
    "unknown_instrument": Rule("error", "an instrument (form) the data dictionary does not know, or not "
                                        "exported as a repeating form"),
    "instance": Rule("error", "redcap_repeat_instance must be a whole number from 1 on a repeating form's "
                              "row and blank on the non-repeating row"),
    "orphan_record": Rule("error", "repeating-form rows for a record that has no non-repeating row"),
    "form_in_two_events": Rule("error", "this form holds different values for this field in two events of "
                                        "the record; keep the form's values in one event"),
    "value_outside_form": Rule("error", "a value in a field of another form on this row (REDCap leaves "
                                        "it blank); it was not read"),
    # fields
    "identifier": Rule("error", "holds a patient identifier (a name, MRN or birth date), masked here: remove "
                                "it from this field in REDCap"),
    # free text is not analysed: the masked entry is lost, no number is, so the run goes on
    "identifier_in_text": Rule("warning", "free text holding a patient identifier (a name, MRN or birth date): "
                                          "the entry was masked and not read; remove the identifier in REDCap"),
    "date": Rule("error", "not a real calendar date written YYYY-MM-DD"),
    "number": Rule("error", "not a number"),
    "code": Rule("error", "not one of the data dictionary's codes for this field"),
    "required": Rule("error", "required field is blank"),
    "range": Rule("error", "outside the allowed range"),
    # across fields and forms
    "diagnosis_after_start": Rule("error", "diagnosis_date is after criz_start_date"),
    "end_before_start": Rule("error", "criz_end_date is before criz_start_date"),
    "dead_without_death_date": Rule("error", "vital_status is Dead but death_date is blank"),
    "death_date_while_alive": Rule("error", "death_date is filled but vital_status is not Dead"),
    "after_death": Rule("error", "date after the death_date of the record"),
    "last_contact_before_event": Rule("error", "last_contact_date is before a date of treatment, "
                                               "assessment, progression or subsequent therapy"),
    # warnings: reported, the run goes on
    "pd_without_site": Rule("warning", "PD assessment without a progression-site row within the window"),
    "no_post_baseline_assessment": Rule("warning", "no tumor assessment after criz_start_date"),
    "response_at_baseline": Rule("warning", "a time-point response on an assessment dated on or before "
                                            "criz_start_date (a baseline assessment, not a response assessment): "
                                            "it is not read"),
    "optional_column_missing": Rule("warning", "the export has no column for this optional field: the "
                                               "analysis that reads it reports it as not available"),
    "assessment_gap": Rule("warning", "gap between consecutive tumor assessments longer than allowed"),
    "form_incomplete": Rule("warning", "form not marked Complete"),
    "missing_data_code": Rule("warning", "a missing-data code: read as missing"),
}
TYPE_RULES = ("identifier", "identifier_in_text", "date", "number", "code")


# --- the settings the checks read ------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    dictionary: DataDictionary
    repeating_forms: tuple[str, ...]
    age_range: tuple[int, int]
    max_assessment_gap_days: int
    progression_window_days: int
    records: dict = field(default_factory=dict)   # record numbers of the tables' rows, computed once
    missing_data_codes: dict = field(default_factory=dict)  # code -> meaning, as the extraction read them

    @classmethod
    def from_config(cls, dictionary: DataDictionary, config: dict) -> Settings:
        checks = config["validation"]
        return cls(dictionary, tuple(config["repeating_forms"]), tuple(checks["age_range"]),
                   checks["max_assessment_gap_days"], config["endpoints"]["progression"]["window_days"])


_SETTINGS: contextvars.ContextVar[Settings] = contextvars.ContextVar("validation_settings")


def settings() -> Settings:
    """The settings of the validation running now (the models' checks read the dictionary and config)."""
    return _SETTINGS.get()


@contextlib.contextmanager
def validation_settings(dictionary: DataDictionary, config: dict):
    """Run the models with the data dictionary and config, e.g. ``Patients.validate(df, lazy=True)``."""
    token = _SETTINGS.set(Settings.from_config(dictionary, config))
    try:
        yield settings()
    finally:
        _SETTINGS.reset(token)


def _within(series: pd.Series, low, high) -> pd.Series:
    return series.isna() | ((low is None or series >= low) & (high is None or series <= high))


def _not_after(earlier: pd.Series, later: pd.Series) -> pd.Series:
    """``earlier <= later``, true when either date is missing (missing dates are queried elsewhere)."""
    return earlier.isna() | later.isna() | (earlier <= later)


# --- 1. the export's rows ----------------------------------------------------------------------------------

ExportedText = Series[Annotated[pd.ArrowDtype, pyarrow.string()]]   # as exported, blank = ""


class ExportRows(pa.DataFrameModel):
    """One row per row of the export: the REDCap flat layout."""
    record_id: ExportedText
    instrument: ExportedText       # blank on the non-repeating row
    instance: ExportedText         # redcap_repeat_instance
    source: ExportedText           # "line 12" or "sheet treatment, row 5"
    stray: ExportedText            # the first field with a value outside the row's form ("": none)
    record: Series[np.int64]       # the record's number, in order of first appearance
    repeated: Series[bool]         # its (record, instrument, instance) is on an earlier row of the export

    @pa.check("record_id", name="missing_record_id")
    def record_id_present(cls, record_id: Series) -> Series[bool]:
        return record_id != ""

    @pa.check("instrument", name="unknown_instrument")
    def known_instrument(cls, instrument: Series) -> Series[bool]:
        return instrument.isin(("",) + settings().repeating_forms)

    @pa.check("stray", name="value_outside_form")
    def values_in_their_form(cls, stray: Series) -> Series[bool]:
        return stray == ""

    @pa.dataframe_check(name="instance")
    def instance_as_layout(cls, rows: pd.DataFrame) -> Series[bool]:
        repeating = (rows["instrument"] != "").to_numpy(dtype=bool)
        blank = (rows["instance"] == "").to_numpy(dtype=bool)
        return pd.Series(np.where(repeating, parse_instances(rows["instance"]).notna(), blank), index=rows.index)

    @pa.dataframe_check(name="duplicate_record")
    def one_non_repeating_row(cls, rows: pd.DataFrame) -> Series[bool]:
        return ~((rows["instrument"] == "") & rows["repeated"])

    @pa.dataframe_check(name="duplicate_instance")
    def unique_instance(cls, rows: pd.DataFrame) -> Series[bool]:
        return ~((rows["instrument"] != "") & rows["repeated"])

    @pa.dataframe_check(name="orphan_record")
    def record_has_non_repeating_row(cls, rows: pd.DataFrame) -> Series[bool]:
        record = rows["record"].to_numpy()
        with_row = np.zeros(record.max() + 1 if len(record) else 0, dtype=bool)
        with_row[record[(rows["instrument"] == "").to_numpy(dtype=bool)]] = True
        blank = (rows["record_id"] == "").to_numpy(dtype=bool)    # queried as missing_record_id
        # a record's first row is where the numbers (in order of first appearance) reach a new one
        later = record <= np.maximum.accumulate(np.r_[-1, record[:-1]])
        return pd.Series(with_row[record] | blank | later, index=rows.index)


# --- 2. the exported text of a form ------------------------------------------------------------------------

def _is_date(text: pd.Series) -> pd.Series:
    return (text == "") | (text == MASKED) | parse_dates(text).notna()


def _is_number(text: pd.Series) -> pd.Series:
    return (text == "") | (text == MASKED) | parse_numbers(text).notna()


def _one_of(allowed: list[str], name: str) -> pa.Check:
    return pa.Check(lambda text: text.isin(allowed), name=name)


_NOT_MASKED = pa.Check(lambda text: text != MASKED, name="identifier")
_NOT_MASKED_TEXT = pa.Check(lambda text: text != MASKED, name="identifier_in_text")


def _or_code(check, codes: list[str]):
    """A check of the exported text that also lets a missing-data code through (queried on its own)."""
    return (lambda text: check(text) | text.isin(codes)) if codes else check


def exported_schema(form: str, dictionary: DataDictionary,
                    missing_data_codes: dict[str, str] | None = None) -> pa.DataFrameSchema:
    """The data dictionary's statement of a form's exported text: each column present, of its type; a
    missing-data code (code -> meaning) is reported as such, not as a wrong type. An identifier column may
    be absent (REDCap's "Remove All Identifier Fields"; the extraction refuses an export it needs)."""
    columns = {}
    for column in dictionary.export_columns(form):
        name = column.split("___")[0]
        f = dictionary[name] if name in dictionary else None
        choices = field_choices(column, dictionary)
        codes = codes_of(column, dictionary, missing_data_codes or {})
        if f is not None and f.identifier:   # masked by the extraction, which kept whether it is of its type
            check = _one_of(["", MASKED], name="date" if f.is_date else "code")
            checks = [check, pa.Check(lambda text: text != "", name="required")] if f.required else [check]
            # the typed tables do not hold it to say it is required
            columns[column] = pa.Column(checks=checks, nullable=False, required=False)
            continue
        elif choices:
            check = _one_of(["", MASKED] + list(choices) + codes, name="code")
        elif f is not None and f.is_date:
            check = pa.Check(_or_code(_is_date, codes), name="date")
        elif f is not None and f.is_number:
            check = pa.Check(_or_code(_is_number, codes), name="number")
        else:
            check = None
        checks = [check] if check else []
        if codes:
            checks.append(pa.Check(lambda text, column=column: ~is_code(text, column, dictionary,
                                                                        missing_data_codes),
                                   name="missing_data_code"))
        # an identifier typed into another field was masked by the extraction: one query, not also its type's
        if not (f is not None and f.identifier):
            checks.append(_NOT_MASKED if check is not None else _NOT_MASKED_TEXT)
        columns[column] = pa.Column(checks=checks, nullable=False)
    return pa.DataFrameSchema(columns, name=form)


# --- 3. the typed tables: the contract "Extracted tables" ----------------------------------------------------

Category = Series[pd.CategoricalDtype]   # labels of the dictionary's choices, in dictionary order
Date = Series[pa.DateTime]
Flag = Series[bool]                      # one checkbox choice
YesNo = Series[pd.BooleanDtype]
Text = Series[Annotated[pd.StringDtype, "pyarrow", pd.NA]]   # pandas "string", in Arrow memory
Status = Series[pd.Int64Dtype]           # <form>_complete: 0 Incomplete, 1 Unverified, 2 Complete


def required(**kwargs):
    return pa.Field(nullable=False, **kwargs)


def optional(**kwargs):
    return pa.Field(nullable=True, **kwargs)


class _Table(pa.DataFrameModel):
    @classmethod
    def _dictionary_range(cls, value: Series) -> Series[bool]:
        f = settings().dictionary[value.name]
        return _within(value, f.minimum, f.maximum)

    @classmethod
    def _complete(cls, status: Series) -> Series[bool]:
        return status == 2


class Patients(_Table):
    """One row per record (unique record_id: checked on ExportRows); identifiers dropped, age kept."""
    record_id: Text = required()
    age: Series[pd.Int64Dtype] = optional()                 # whole years at criz_start_date (blank when
                                                            # birth_date or criz_start_date is: queried there)
    # demographics
    sex: Category = required()                              # 1 Male, 2 Female
    smoking_status: Category = required()                   # 0 Never, 1 Former, 2 Current
    pack_years: Series[float] = optional()                  # 0 to 200
    ecog_ps: Category = required()                          # 0 to 4
    histology: Category = required()                        # 1 Adenocarcinoma, 2 Squamous, 3 Other
    stage: Category = required()                            # 1 IIIB .. 5 Postoperative recurrence
    diagnosis_date: Date = required()
    fusion_gene: Category = required()                      # 1 ALK, 2 ROS1: defines the group
    fusion_method: Flag = pa.Field(alias=r"fusion_method___\d+", regex=True)  # 1 FISH .. 4 NGS
    fusion_partner: Text = optional()
    demographics_complete: Status = optional()
    # treatment
    criz_start_date: Date = required()                      # the index date
    criz_line: Category = required()                        # 1 First, 2 Second, 3 Third or later
    criz_dose_mg: Series[float] = required()
    criz_end_date: Date = optional()                        # blank while ongoing
    criz_end_reason: Category = required()                  # 1 Progression .. 5 Ongoing
    treatment_complete: Status = optional()
    # baseline
    met_site: Flag = pa.Field(alias=r"met_site___\d+", regex=True)  # 1 Brain .. 9 Other extrathoracic
    brain_met_symptomatic: YesNo = optional()
    prior_brain_rt: YesNo = optional()
    measurable_disease: YesNo = required()
    baseline_complete: Status = optional()
    # followup
    last_contact_date: Date = required()
    vital_status: Category = required()                     # 0 Alive, 1 Dead
    death_date: Date = optional()                           # exactly when Dead
    death_cause: Category = optional()                      # 1 Lung cancer, 2 Other, 3 Unknown
    followup_complete: Status = optional()
    # the site (REDCap's data access group; only in an export that has them)
    data_access_group: Category | None = pa.Field(nullable=True, alias=DATA_ACCESS_GROUP)

    @pa.check("pack_years", "criz_dose_mg", name="range")
    def in_dictionary_range(cls, value: Series) -> Series[bool]:
        return cls._dictionary_range(value)

    @pa.check("age", name="range")
    def age_in_range(cls, age: Series) -> Series[bool]:
        return _within(age, *settings().age_range)

    @pa.check("demographics_complete", "treatment_complete", "baseline_complete", "followup_complete",
              name="form_incomplete")
    def complete(cls, status: Series) -> Series[bool]:
        return cls._complete(status)


class TumorAssessments(_Table):
    """One row per RECIST 1.1 time-point assessment; (record_id, instance) unique: checked on ExportRows."""
    record_id: Text = required()
    instance: Series[pd.Int64Dtype] = optional()             # blank when not a whole number: queried on ExportRows
    ta_date: Date = required()
    ta_response: Category = optional()                      # 1 CR .. 5 NE; blank only at baseline (ResponseAssessments)
    ta_sld_mm: Series[float] = optional()
    ta_modality: Category = required()                      # 1 CT, 2 MRI, 3 PET-CT
    tumor_assessment_complete: Status = optional()

    @pa.check("ta_sld_mm", name="range")
    def in_dictionary_range(cls, value: Series) -> Series[bool]:
        return cls._dictionary_range(value)

    @pa.check("tumor_assessment_complete", name="form_incomplete")
    def complete(cls, status: Series) -> Series[bool]:
        return cls._complete(status)


class ResponseAssessments(pa.DataFrameModel):
    """The tumor assessments after criz_start_date (or of an unknown date): each holds a response. The
    baseline assessment, dated on or before it, has none."""
    ta_response: Category = required()


class ProgressionSites(_Table):
    """One row per site of a progression event."""
    record_id: Text = required()
    instance: Series[pd.Int64Dtype] = optional()
    pd_date: Date = required()
    pd_site: Category = required()                          # 1 Brain .. 10 Other extrathoracic
    pd_lesion: Category = required()                        # 1 Existing lesion, 2 New lesion
    progression_complete: Status = optional()

    @pa.check("progression_complete", name="form_incomplete")
    def complete(cls, status: Series) -> Series[bool]:
        return cls._complete(status)


class SubsequentTherapies(_Table):
    """One row per therapy after crizotinib."""
    record_id: Text = required()
    instance: Series[pd.Int64Dtype] = optional()
    st_start_date: Date = required()
    st_agent: Text = required()
    subsequent_therapy_complete: Status = optional()

    @pa.check("subsequent_therapy_complete", name="form_incomplete")
    def complete(cls, status: Series) -> Series[bool]:
        return cls._complete(status)


MODELS = {"patients": Patients, "tumor_assessments": TumorAssessments, "progression_sites": ProgressionSites,
          "subsequent_therapies": SubsequentTherapies}


# --- rules across fields and forms, on narrow views ------------------------------------------------------------

class PatientCourse(pa.DataFrameModel):
    """Per record: the dates of the course and what the repeating forms add to them."""
    record_id: Text
    diagnosis_date: Date = optional()
    criz_start_date: Date = optional()
    criz_end_date: Date = optional()
    dead: YesNo = optional()
    death_date: Date = optional()
    last_contact_date: Date = optional()
    latest_event_date: Date = optional()       # latest date of treatment, assessment, progression, therapy
    latest_event: Text = optional()            # which date it is, in words (where after last contact)
    post_baseline_assessments: Series[int]

    @pa.dataframe_check(name="diagnosis_after_start")
    def diagnosis_before_start(cls, course: pd.DataFrame) -> Series[bool]:
        return _not_after(course["diagnosis_date"], course["criz_start_date"])

    @pa.dataframe_check(name="end_before_start")
    def start_before_end(cls, course: pd.DataFrame) -> Series[bool]:
        return _not_after(course["criz_start_date"], course["criz_end_date"])

    @pa.dataframe_check(name="dead_without_death_date")
    def death_date_when_dead(cls, course: pd.DataFrame) -> Series[bool]:
        return ~(course["dead"].fillna(False) & course["death_date"].isna())

    @pa.dataframe_check(name="death_date_while_alive")
    def no_death_date_when_alive(cls, course: pd.DataFrame) -> Series[bool]:
        return course["dead"].fillna(True) | course["death_date"].isna()

    @pa.dataframe_check(name="last_contact_before_event")
    def last_contact_last(cls, course: pd.DataFrame) -> Series[bool]:
        return _not_after(course["latest_event_date"], course["last_contact_date"])

    @pa.dataframe_check(name="no_post_baseline_assessment")
    def assessed_after_start(cls, course: pd.DataFrame) -> Series[bool]:
        return course["criz_start_date"].isna() | (course["post_baseline_assessments"] > 0)


class RecordDates(pa.DataFrameModel):
    """The dates of the records that have a death date, one per row, beside it."""
    record_id: Category
    form: Category
    instance: Series[pd.Int64Dtype] = optional()
    field: Category
    date: Date
    death_date: Date = optional()

    @pa.dataframe_check(name="after_death")
    def not_after_death(cls, dates: pd.DataFrame) -> Series[bool]:
        return _not_after(dates["date"], dates["death_date"])


class Assessments(pa.DataFrameModel):
    """Tumor assessments beside what the warnings need."""
    record_id: Text
    ta_response: Category = optional()
    baseline: Series[bool]                   # dated on or before criz_start_date
    site_within_window: Series[bool]         # a progression-site row within the window of ta_date
    gap_days: Series[float] = optional()     # days since the record's previous assessment

    @pa.dataframe_check(name="pd_without_site")
    def pd_has_site(cls, assessments: pd.DataFrame) -> Series[bool]:
        return (assessments["ta_response"] != "PD") | assessments["site_within_window"]

    @pa.dataframe_check(name="response_at_baseline")
    def no_response_at_baseline(cls, assessments: pd.DataFrame) -> Series[bool]:
        return ~assessments["baseline"] | assessments["ta_response"].isna()

    @pa.dataframe_check(name="assessment_gap")
    def gap_in_range(cls, assessments: pd.DataFrame) -> Series[bool]:
        return _within(assessments["gap_days"], None, settings().max_assessment_gap_days)


# --- running a model and turning its failures into queries --------------------------------------------------------

CHECK_RULES = {"not_nullable": "required", "column_in_dataframe": "missing_column"}
# The field a rule on a view names in its query.
VIEW_FIELDS = {
    "diagnosis_after_start": "diagnosis_date", "end_before_start": "criz_end_date",
    "dead_without_death_date": "death_date", "death_date_while_alive": "death_date",
    "last_contact_before_event": "last_contact_date", "no_post_baseline_assessment": "criz_start_date",
    "pd_without_site": "ta_response", "response_at_baseline": "ta_response", "assessment_gap": "ta_date",
    "instance": "redcap_repeat_instance",
    "duplicate_record": "record_id", "duplicate_instance": "redcap_repeat_instance",
    "orphan_record": "record_id", "unknown_instrument": "redcap_repeat_instrument",
    "missing_record_id": "record_id",
}


def failures(schema, frame: pd.DataFrame) -> pd.DataFrame:
    """Run a pandera model or schema over a frame: one row per failing (row, field, rule).

    The model's own checks (and nullability) are evaluated as pandera's lazy validation evaluates them, and a
    row is made only for a failing cell; pandera's report of every failure case (a frame of each failing
    row's every column, then sorted) costs minutes for a million patients. What this does not cover (a
    wrong dtype, a check that does not return a row-for-row mask) goes to pandera itself."""
    schema = schema.to_schema() if isinstance(schema, type) else schema
    cases = _evaluate(schema, frame)
    if cases is None:
        return _failures_by_pandera(schema, frame)
    index, column, check, dataframe_level, missing = cases
    if not len(index) and not len(missing):
        return _NO_FAILURES.copy()
    rule = pd.Series(check, dtype=object).map(lambda c: CHECK_RULES.get(c, c))
    if not rule.isin(list(RULES)).all():  # the extraction broke its own contract: pandera says how
        return _failures_by_pandera(schema, frame)
    field = np.where(rule.isin(list(VIEW_FIELDS)), rule.map(VIEW_FIELDS).to_numpy(dtype=object), column)
    at = pd.array(np.concatenate([index, np.zeros(len(missing), dtype=np.int64)]), dtype="Int64")
    at[len(index):] = pd.NA  # a missing column is no row's
    out = pd.DataFrame({"index": at, "field": np.concatenate([field, missing]),
                        "rule": np.concatenate([rule.to_numpy(dtype=object),
                                                np.full(len(missing), "missing_column", dtype=object)])})
    # pandera lists the failures of the whole frame first, each column's after, in the order of its
    # (unstable) quicksort of that: kept, as the first of two queries on one cell is the one reported
    order = _pandera_order(np.concatenate([dataframe_level, np.ones(len(missing), dtype=bool)]))
    return out.iloc[order].drop_duplicates().reset_index(drop=True)


def _pandera_order(dataframe_level: np.ndarray) -> np.ndarray:
    """The order pandera gives failure cases: sorted by their context ("DataFrameSchema" before "Column")
    with pandas' descending quicksort, i.e. the reversed argsort of the reversed keys (a bool array sorts
    as the strings do)."""
    keys = dataframe_level[::-1]
    return (np.arange(len(keys))[::-1][keys.argsort(kind="quicksort")])[::-1]


def _evaluate(schema: pa.DataFrameSchema, frame: pd.DataFrame):
    """The failing cells of ``frame`` under ``schema``, in the order pandera collects them: per column
    its nullability and its checks, then the checks of the whole frame (each failing row once per
    non-missing column, column by column); then the columns missing. None for what only pandera covers."""
    if schema.unique or schema.strict or schema.coerce or schema.parsers or schema.index is not None \
            or schema.dtype is not None or schema.add_missing_columns or schema.drop_invalid_rows:
        return None
    index, column, check, dataframe_level, missing = [], [], [], [], []

    def found(labels, name, check_name, whole_frame):
        index.append(np.asarray(labels, dtype=np.int64))
        column.append(np.full(len(labels), name, dtype=object))
        check.append(np.full(len(labels), check_name, dtype=object))
        dataframe_level.append(np.full(len(labels), whole_frame, dtype=bool))

    for name, spec in schema.columns.items():
        if spec.unique or spec.coerce or spec.parsers or spec.default is not None:
            return None
        if spec.regex:
            names = list(frame.columns[frame.columns.astype(str).str.match(name)])
            if not names:
                return None
        elif name in frame:
            names = [name]
        else:
            if spec.required:
                missing.append(name)
            continue
        for c in names:
            series = frame[c]
            if spec.dtype is not None and not np.all(spec.dtype.check(pandas_engine.Engine.dtype(series.dtype),
                                                                        series)):
                return None  # per value for some types (text)
            if not spec.nullable and series.hasnans:
                found(series.index[series.isna().to_numpy()], c, "not_nullable", False)
            for one in spec.checks:
                labels = _failing(one, series)
                if labels is None:
                    return None
                found(labels, c, _check_name(one), False)
    for one in schema.checks:
        labels = _failing(one, frame)
        if labels is None:
            return None
        rows = frame.loc[labels]
        if one.ignore_na and len(rows):  # pandera lets a row of missing values pass
            rows = rows[~rows.isna().all(axis="columns").to_numpy()]
        for c in frame.columns:
            found(rows.index[rows[c].notna().to_numpy()], c, _check_name(one), True)
    def cat(parts, dtype):
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    return (cat(index, np.int64), cat(column, object), cat(check, object), cat(dataframe_level, bool),
            np.array(missing, dtype=object))


def _check_name(check: pa.Check) -> str:
    return check.error if check.error is not None else check.name if check.name is not None else str(check)


def _failing(check: pa.Check, values):
    """Index labels of the values (a column, or the rows of a frame) that fail a check, as pandera runs
    it (missing values of a column left out when the check ignores them); None when the check's output is
    not a mask of the values."""
    backend = check.get_backend(values)(check)
    checked = backend.preprocess(values, None)
    output = backend.apply(checked)
    if not isinstance(output, pd.Series) or not output.index.equals(checked.index) or check.groupby is not None \
            or check.raise_warning or check.n_failure_cases is not None:
        return None
    return checked.index[~output.to_numpy(dtype=bool)]


_NO_FAILURES = pd.DataFrame({"index": pd.Series([], dtype="Int64"), "field": [], "rule": []})


def _failures_by_pandera(schema, frame: pd.DataFrame) -> pd.DataFrame:
    """Run a pandera model or schema lazily: one row per failing (row, field, rule)."""
    try:
        with warnings.catch_warnings():  # pandera 0.35 concatenates empty frames: pandas warns about its code
            warnings.simplefilter("ignore", FutureWarning)
            schema.validate(frame, lazy=True, inplace=True)  # no copy of ten million rows
        return _NO_FAILURES.copy()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    rule = cases["check"].astype(str).map(lambda c: CHECK_RULES.get(c, c))
    dataframe_level = rule.isin(list(VIEW_FIELDS)) | cases["column"].isna()
    missing = rule == "missing_column"
    field = cases["column"].astype(object).where(~dataframe_level, rule.map(VIEW_FIELDS))
    field = field.where(~missing, cases["failure_case"])
    unexpected = ~rule.isin(list(RULES))
    if unexpected.any():  # a dtype or schema failure means the extraction broke its own contract
        raise AssertionError(f"{schema}: unexpected check failures {cases[unexpected].head().to_dict()}")
    out = pd.DataFrame({"index": pd.array(cases["index"], dtype="Int64"), "field": field, "rule": rule})
    return out.drop_duplicates().reset_index(drop=True)


def _text(values: pd.Series) -> pd.Series:
    """Typed values as an abstractor would write them."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    if pd.api.types.is_float_dtype(values):
        return values.map(lambda v: np.format_float_positional(v, trim="-"), na_action="ignore")
    return values.astype("string")


def _form_of(field: str) -> str:
    dictionary = settings().dictionary
    name = field.split("___")[0]
    if name.endswith("_complete") and name[: -len("_complete")] in dictionary.forms:
        return name[: -len("_complete")]
    return dictionary[name].form if name in dictionary else dictionary.fields[0].form  # age: demographics


def _queries(found: pd.DataFrame, *, record_id, form, value_of, instance=None, field=None,
             detail=None, detail_prefix: str = "") -> pd.DataFrame:
    """Queries for failures found on a frame's rows (``found["index"]`` = row position).

    record_id, instance, detail, field (and form unless a name) are per-row arrays of the frame;
    ``value_of(field, form)`` gives the per-row text to quote for a field (None: no value).
    """
    found = found[found["index"].notna()]
    at = found["index"].astype(np.int64).to_numpy()

    def pick(values) -> np.ndarray:
        if values is None:
            return np.full(len(at), "", dtype=object)
        if callable(values):
            return _text(values(at)).astype(object).to_numpy()
        if isinstance(values, pd.Series):  # only the failing rows are converted
            return _text(values.iloc[at]).astype(object).to_numpy()
        return np.asarray(values, dtype=object)[at]

    fields = pick(field) if field is not None else found["field"].to_numpy(dtype=object)
    if isinstance(form, str):
        forms = np.full(len(at), form, dtype=object)
    elif form is None:
        names, where = np.unique(fields.astype(str), return_inverse=True)
        forms = np.array([_form_of(f) for f in names], dtype=object)[where] if len(at) else fields
    else:
        forms = pick(form)
    values = np.full(len(at), "", dtype=object)
    for f, fo in set(zip(fields, forms)):
        where = (fields == f) & (forms == fo)
        source = value_of(f, fo)
        if source is not None:
            values[where] = _text(pd.Series(source).iloc[at[where]]).astype(object).to_numpy()
    return pd.DataFrame({"record_id": pick(record_id), "form": forms,
                         "instance": pd.array(pick(instance) if instance is not None else [pd.NA] * len(at),
                                              dtype="Int64"),
                         "field": fields, "value": values, "rule": found["rule"].to_numpy(),
                         "detail": detail_prefix + pd.Series(pick(detail), dtype=object).fillna("")})


def _instances(text: pd.Series):
    """redcap_repeat_instance of the rows at some positions (for their queries only)."""
    return lambda at: parse_instances(text.iloc[at])


def records_numbered(record_ids: list[pd.Series], ids: pd.Index) -> list[np.ndarray]:
    """Each row's record as its position in ``ids``, for several columns of record ids: each run of equal ids
    is looked up once (tables are sorted by record, so ten million rows hold about a million runs), and the
    runs of every column in one look-up (Arrow builds its hash of a million ids anew for each)."""
    values = [pa_array(record_id) for record_id in record_ids]
    starts = []
    for column in values:
        changes = pyarrow.compute.not_equal(column[1:], column[:-1]).to_numpy(zero_copy_only=False)
        starts.append(np.flatnonzero(np.r_[True, changes]) if len(column) else np.zeros(0, dtype=np.int64))
    kind = next((column.type for column in values if len(column)), pyarrow.string())
    firsts = pyarrow.concat_arrays([column.take(pyarrow.array(at)).cast(kind) for column, at in zip(values, starts)])
    # ids are unique: the position of the match, -1 for none (as pandas' get_indexer)
    at = pyarrow.compute.index_in(firsts, value_set=pyarrow.array(ids, type=kind)).fill_null(-1).to_numpy()
    numbered, offset = [], 0
    for column, runs in zip(values, starts):
        codes = at[offset:offset + len(runs)].astype(np.int64)
        numbered.append(np.repeat(codes, np.diff(np.r_[runs, len(column)])))
        offset += len(runs)
    return numbered


def pa_array(values: pd.Series) -> pyarrow.Array:
    """A column as one Arrow array (no copy for Arrow-backed text)."""
    array = pyarrow.array(values.array) if not isinstance(values.dtype, pd.CategoricalDtype) else \
        pyarrow.array(values.astype(str))
    return array.combine_chunks() if isinstance(array, pyarrow.ChunkedArray) else array


def _record_codes(tables: ExtractedTables, table: pd.DataFrame) -> np.ndarray:
    """Each row's record number (export order); cached per table for the validation running now."""
    cache = settings().records
    if id(table) not in cache:  # every table's at once: one look-up of the ids
        every = [getattr(tables, name) for name in EXTRACTED_TABLES]
        every += [] if any(t is table for t in every) else [table]
        for one, codes in zip(every, records_numbered([t["record_id"] for t in every], cache["ids"])):
            cache[id(one)] = codes
    return cache[id(table)]


def _per_record(tables: ExtractedTables, column: str) -> np.ndarray:
    """A patients' column by record number (the record's first non-repeating row; missing without one)."""
    p = tables.patients
    values = p[column].to_numpy()
    out = np.full(len(settings().records["ids"]), np.datetime64("NaT"), dtype="datetime64[ns]")
    codes = _record_codes(tables, p)
    first = ~pd.Series(codes).duplicated().to_numpy()
    out[codes[first]] = values[first]
    return out


def _column_queries(form: str, fields: list[str], rule: str) -> pd.DataFrame:
    """Queries about a whole column of the export."""
    return pd.DataFrame({"record_id": "", "form": form, "instance": pd.array([pd.NA] * len(fields), dtype="Int64"),
                         "field": fields, "value": "", "rule": rule, "detail": ""})


def _record_dates(tables: ExtractedTables) -> pd.DataFrame:
    """The dates of every record that has a death date (only those can follow it), one per row."""
    dictionary = settings().dictionary
    death = _per_record(tables, "death_date")
    columns: dict[str, list] = {"record": [], "instance": [], "field": [], "date": []}
    fields = []
    for name in EXTRACTED_TABLES:
        table = getattr(tables, name)
        codes = _record_codes(tables, table)
        instance = table["instance"].to_numpy(dtype=float, na_value=np.nan) if "instance" in table \
            else np.full(len(table), np.nan)
        for f in table.columns:
            if f in dictionary and dictionary[f].is_date:
                dates = table[f].to_numpy()
                kept = ~np.isnat(dates) & ~np.isnat(death[codes])
                columns["record"].append(codes[kept])
                columns["instance"].append(instance[kept])
                columns["field"].append(np.full(kept.sum(), len(fields)))
                columns["date"].append(dates[kept])
                fields.append(f)
    record = np.concatenate(columns["record"])
    field = np.concatenate(columns["field"])
    forms = list(dict.fromkeys(dictionary[f].form for f in fields))
    form_of_field = np.array([forms.index(dictionary[f].form) for f in fields], dtype=np.int64)
    return pd.DataFrame({
        "record_id": pd.Categorical.from_codes(record, categories=settings().records["ids"]),
        "form": pd.Categorical.from_codes(form_of_field[field], categories=forms),
        "instance": _whole(np.concatenate(columns["instance"])),
        "field": pd.Categorical.from_codes(field, categories=fields),
        "date": np.concatenate(columns["date"]).astype("datetime64[ns]"), "death_date": death[record]})


def _whole(numbers: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers held as floats (NaN: missing) as Int64."""
    missing = np.isnan(numbers)
    return pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype(np.int64), missing)


# Dates that last contact must not precede: treatment, assessments, progression, subsequent therapy.
EVENT_DATES = {"patients": ["criz_start_date", "criz_end_date"], "tumor_assessments": ["ta_date"],
               "progression_sites": ["pd_date"], "subsequent_therapies": ["st_start_date"]}


def _course(tables: ExtractedTables) -> pd.DataFrame:
    p = tables.patients
    n = len(settings().records["ids"])
    ta = tables.tumor_assessments
    codes = _record_codes(tables, ta)
    after = ta["ta_date"].to_numpy() > _per_record(tables, "criz_start_date")[codes]
    post = np.bincount(codes[after], minlength=n)
    latest = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    for name, fields in EVENT_DATES.items():
        table = getattr(tables, name)
        for f in (f for f in fields if f in table):  # a field the export lacks (st_start_date) bounds nothing
            per_record = table[f].groupby(_record_codes(tables, table)).max()
            latest[per_record.index] = np.fmax(latest[per_record.index], per_record.to_numpy())
    position = _record_codes(tables, p)
    # an export (and dictionary) without criz_end_date is analysed: its end bounds nothing, and the time to
    # treatment discontinuation says "not available"
    end = p["criz_end_date"] if "criz_end_date" in p else pd.Series(pd.NaT, index=p.index, dtype="datetime64[ns]")
    course = pd.DataFrame({
        "record_id": p["record_id"], "diagnosis_date": p["diagnosis_date"],
        "criz_start_date": p["criz_start_date"], "criz_end_date": end,
        "dead": (p["vital_status"] == "Dead").astype("boolean").where(p["vital_status"].notna()),
        "death_date": p["death_date"], "last_contact_date": p["last_contact_date"],
        "latest_event_date": latest[position], "post_baseline_assessments": post[position]})
    course["latest_event"] = _describe_latest(tables, course, latest)
    return course


def _describe_latest(tables: ExtractedTables, course: pd.DataFrame, latest: np.ndarray) -> pd.Series:
    """The latest event in words ("ta_date 2015-01-05 of tumor_assessment instance 6"), for the records
    whose last contact precedes it (the query's detail); blank for the others."""
    words = pd.Series("", index=course.index, dtype=STRING)
    before = (course["last_contact_date"] < course["latest_event_date"]).to_numpy()
    records = np.unique(_record_codes(tables, tables.patients)[before])
    described: dict[int, str] = {}
    for name, fields in EVENT_DATES.items():
        table = getattr(tables, name)
        codes = _record_codes(tables, table)
        for f in (f for f in fields if f in table):
            dates = table[f].to_numpy()
            hits = np.flatnonzero(np.isin(codes, records) & (dates == latest[codes]))
            for i in hits:  # one per queried record
                instance = f" of {_form_of(f)} instance {table['instance'].iloc[i]}" if "instance" in table else ""
                described.setdefault(int(codes[i]), f"{f} {pd.Timestamp(dates[i]):%Y-%m-%d}{instance}")
    if before.any():
        words[before] = [described.get(int(r), "") for r in _record_codes(tables, tables.patients)[before]]
    return words


def _assessments(tables: ExtractedTables) -> pd.DataFrame:
    ta = tables.tumor_assessments
    codes = _record_codes(tables, ta)
    days = ta["ta_date"].to_numpy().astype("datetime64[D]").astype(np.int64)   # NaT: the smallest int64
    dated = ~ta["ta_date"].isna().to_numpy()
    span = np.int64(1 << 24)  # days of a record's dates, well apart from the next record's
    # a progression-site row within the window of a PD assessment: the nearest site date of the record
    sites = tables.progression_sites
    site_days = sites["pd_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    site_dated = ~sites["pd_date"].isna().to_numpy()
    site_keys = np.sort(_record_codes(tables, sites)[site_dated] * span + site_days[site_dated] + span // 2)
    pd_rows = np.flatnonzero((ta["ta_response"] == "PD").to_numpy() & dated)
    keys = codes[pd_rows] * span + days[pd_rows] + span // 2
    within = np.zeros(len(ta), dtype=bool)
    if len(site_keys):
        at = np.searchsorted(site_keys, keys)
        window = settings().progression_window_days
        for neighbour in (np.clip(at - 1, 0, len(site_keys) - 1), np.clip(at, 0, len(site_keys) - 1)):
            within[pd_rows] |= np.abs(site_keys[neighbour] - keys) <= window
    within[~(ta["ta_response"] == "PD").to_numpy()] = True
    # days since the record's previous assessment
    order = np.flatnonzero(dated)
    order = order[np.argsort(codes[order] * span + days[order], kind="stable")]
    gap_days = np.full(len(ta), np.nan)
    same = codes[order][1:] == codes[order][:-1]
    gap_days[order[1:][same]] = (days[order][1:] - days[order][:-1])[same]
    return pd.DataFrame({"record_id": ta["record_id"], "ta_response": ta["ta_response"],
                         "baseline": _baseline(tables), "site_within_window": within, "gap_days": gap_days})


def _baseline(tables: ExtractedTables) -> np.ndarray:
    """Whether each tumor assessment is dated on or before its record's criz_start_date (a baseline
    assessment; false when either date is blank)."""
    ta = tables.tumor_assessments
    start = _per_record(tables, "criz_start_date")[_record_codes(tables, ta)]
    return ta["ta_date"].to_numpy() <= start


class ExportMaterial:
    """The validation's material of the export: the export's rows and each form's exported text (see
    ``ExtractedTables``), held in memory or read from the files ``extract.redcap.write_tables`` wrote when a
    check needs them: the rows and a form's text for their own checks, one at a time, and single columns for
    the queries on the typed tables. A million patients' text (over 2 GB in memory) is never held at once."""

    def __init__(self, rows: pd.DataFrame | str | Path, exported: Mapping[str, pd.DataFrame | str | Path]):
        self._rows, self._exported = rows, dict(exported)

    @classmethod
    def of(cls, tables: ExtractedTables) -> ExportMaterial:
        return cls(tables.rows, tables.exported)

    def rows(self) -> pd.DataFrame:
        return self._read(self._rows)

    def forms(self) -> list[str]:
        return list(self._exported)

    def columns(self, form: str) -> list[str]:
        held = self._exported[form]
        return list(held.columns) if isinstance(held, pd.DataFrame) else pq.ParquetFile(held).schema_arrow.names

    def text(self, form: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A form's exported text: every column, or those of ``columns`` it has."""
        if columns is not None:
            wanted = set(columns)
            columns = [c for c in self.columns(form) if c in wanted]
        return self._read(self._exported[form], columns)

    def rows_of(self, form: str, name: str):
        """A column of a form's exported text at some row positions, read only when there are some."""
        return lambda at: self.column(form, name).iloc[at] if len(at) else \
            pd.Series([], dtype=pd.ArrowDtype(pyarrow.string()))

    def column(self, form: str, name: str, rows: int | None = None) -> pd.Series | None:
        """One column of a form's exported text, if the form has it (and ``rows`` rows, if given)."""
        held = self._exported.get(form)
        if held is None:
            return None
        if isinstance(held, pd.DataFrame):
            return held[name] if name in held.columns and rows in (None, len(held)) else None
        file = pq.ParquetFile(held)
        if name not in file.schema_arrow.names or rows not in (None, file.metadata.num_rows):
            return None
        return self._read(held, columns=[name])[name]

    @staticmethod
    def _read(held, columns=None) -> pd.DataFrame:
        if isinstance(held, pd.DataFrame):
            return held if columns is None else held[columns]
        return pd.read_parquet(held, columns=columns, dtype_backend="pyarrow")


def validate(tables: ExtractedTables, dictionary: DataDictionary, config: dict, *,
             material: ExportMaterial | None = None) -> pd.DataFrame:
    """Every data query of the extracted tables: record_id, form, instance, field, value, rule, severity,
    message (deterministic order: record as in the export, form and field as in the dictionary). The export's
    rows and exported text come from ``material`` if given (e.g. read from their files when needed), else
    from ``tables``."""
    with validation_settings(dictionary, config):
        if tables.info:  # the missing-data codes the extraction read as missing
            settings().missing_data_codes.update(tables.info.missing_data_codes)
        return _validate(tables, dictionary, material or ExportMaterial.of(tables))


def _validate(tables: ExtractedTables, dictionary: DataDictionary, material: ExportMaterial) -> pd.DataFrame:
    found, missing = _structure_queries(tables, material)
    found += _exported_text_queries(tables, dictionary, material, missing)
    found += _typed_queries(tables, dictionary, material)
    found = [f for f in found if len(f)]
    queries = pd.concat(found, ignore_index=True) if found else pd.DataFrame(
        columns=[c for c in QUERY_COLUMNS if c not in ("severity", "message")] + ["detail"])
    return _finish(queries, tables, dictionary, missing)


def _structure_queries(tables: ExtractedTables, material: ExportMaterial) -> tuple[list[pd.DataFrame], set]:
    """1. The export's rows; and the columns the export lacks or the dictionary does not know. Numbers the
    records in order of their first appearance in the export (``settings().records["ids"]``)."""
    rows = material.rows()
    record, ids = pd.factorize(rows["record_id"])
    settings().records["ids"] = pd.Index(np.asarray(ids, dtype=object))
    rows = rows.assign(record=record.astype(np.int64, copy=False), repeated=_repeated(rows, record))
    del record, ids
    as_exported = {"record_id": rows["record_id"], "redcap_repeat_instrument": rows["instrument"],
                   "redcap_repeat_instance": rows["instance"]}
    fails = failures(ExportRows, rows)
    stray = fails["rule"] == "value_outside_form"   # the query names the field, not the view's column
    fails.loc[stray, "field"] = rows["stray"].iloc[fails.loc[stray, "index"].astype(int).to_numpy()].to_numpy()
    found = [_queries(fails, record_id=rows["record_id"], form=rows["instrument"],
                      instance=_instances(rows["instance"]), value_of=lambda f, _: as_exported.get(f),
                      detail=rows["source"])]
    info = tables.info
    if info and info.columns_unknown:
        found.append(_column_queries("", list(info.columns_unknown), "unknown_column"))
    return found, set(info.columns_missing) if info else set()


def _repeated(rows: pd.DataFrame, record: np.ndarray) -> np.ndarray:
    """Whether each row's (record, instrument, instance), and event, is on an earlier row of the export (the
    codes of a row's key are let go on return: ten million rows)."""
    instrument = _codes(rows["instrument"])
    if "event" in rows:  # a longitudinal export: a record has a non-repeating row per event
        event = _codes(rows["event"])
        instrument = instrument * (event.max(initial=0) + 1) + event
        del event
    instance = _codes(rows["instance"])
    key = (record.astype(np.int64) * (instrument.max(initial=0) + 1) + instrument) \
        * (instance.max(initial=0) + 1) + instance
    del instrument, instance
    return seen_before(key)


def _codes(values: pd.Series) -> np.ndarray:
    """A code per row, equal for equal values (a blank and a missing value each their own): Arrow text by
    Arrow's dictionary encoding, chunk by chunk (its chunks share one dictionary), other columns by pandas."""
    arrow_text = isinstance(values.dtype, pd.ArrowDtype) or (
        isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow")
    if not arrow_text:
        return pd.factorize(values, use_na_sentinel=False)[0].astype(np.int64)
    encoded = pyarrow.compute.dictionary_encode(pyarrow.array(values.array), null_encoding="encode")
    chunks = encoded.chunks if isinstance(encoded, pyarrow.ChunkedArray) else [encoded]
    return np.concatenate([chunk.indices.to_numpy(zero_copy_only=False).astype(np.int64) for chunk in chunks]
                          or [np.zeros(0, dtype=np.int64)])


def seen_before(key: np.ndarray) -> np.ndarray:
    """Whether each key is on an earlier position (pandas' ``duplicated``), by a stable sort: an export's keys
    come nearly in order, which the sort takes in about one pass, ten times faster than a hash table."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    seen = np.zeros(len(key), dtype=bool)
    seen[order[1:]] = ordered[1:] == ordered[:-1]
    return seen


def _exported_text_queries(tables: ExtractedTables, dictionary: DataDictionary, material: ExportMaterial,
                           missing: set) -> list:
    """2. The exported text of each form, one form at a time (``missing`` gains the columns found missing)."""
    found = []
    codes = tables.info.missing_data_codes if tables.info else {}
    for form in material.forms():
        schema = exported_schema(form, dictionary, codes)
        # the columns checked; the others (record_id, instance, source) only for the rows queried
        wanted = list(schema.columns)
        if EVENT_CONFLICTS in material.columns(form):
            wanted += ["record_id", "source", EVENT_CONFLICTS]
        text = material.text(form, columns=wanted)
        found.append(_event_conflict_queries(form, text))
        fails = failures(schema, text)
        absent = fails["rule"] == "missing_column"
        optional = absent & fails["field"].isin(list(OPTIONAL_ANALYSIS_FIELDS))
        found.append(_column_queries(form, list(fails.loc[absent & ~optional, "field"]), "missing_column"))
        found.append(_column_queries(form, list(fails.loc[optional, "field"]), "optional_column_missing"))
        missing |= set(fails.loc[absent, "field"])
        instance = material.rows_of(form, "instance")
        found.append(_queries(fails[~absent], record_id=material.rows_of(form, "record_id"),
                              instance=lambda at, instance=instance: parse_instances(instance(at)), form=form,
                              value_of=lambda f, _, text=text: text.get(f), detail=material.rows_of(form, "source")))
    return found


def _event_conflict_queries(form: str, text: pd.DataFrame) -> pd.DataFrame:
    """A longitudinal export's form that holds different values in two events of a record: one query per
    field, the detail naming the events and their lines (the form's source)."""
    if EVENT_CONFLICTS not in text.columns:
        return pd.DataFrame()
    picked = text.loc[(text[EVENT_CONFLICTS] != "").to_numpy(dtype=bool), ["record_id", "source", EVENT_CONFLICTS]]
    picked = picked.astype(str).assign(field=lambda p: p[EVENT_CONFLICTS].str.split(", ")).explode("field")
    return pd.DataFrame({"record_id": picked["record_id"].to_numpy(dtype=object), "form": form,
                         "instance": pd.array([pd.NA] * len(picked), dtype="Int64"),
                         "field": picked["field"].to_numpy(dtype=object), "value": "", "rule": "form_in_two_events",
                         "detail": picked["source"].to_numpy(dtype=object)})


def _typed_queries(tables: ExtractedTables, dictionary: DataDictionary, material: ExportMaterial) -> list:
    """3. The typed tables, and the rules across fields and forms on their views."""
    def as_entered(table: pd.DataFrame):
        def value_of(field: str, form: str):  # the exported text where it is row for row the table's
            text = material.column(form, field, len(table))
            if text is not None:
                return text
            return table[field] if field in table.columns else None
        return value_of

    def source_of(name: str):
        form = dictionary.forms[0] if name == "patients" else {t: f for f, t in FORM_TABLES.items()}[name]
        if form not in material.forms():
            return None
        return material.rows_of(form, "source")

    found = []
    for name, model in MODELS.items():
        table = getattr(tables, name)
        found.append(_queries(failures(model, table), record_id=table["record_id"], form=None,
                              instance=table.get("instance"), value_of=as_entered(table), detail=source_of(name)))
    course = _course(tables)
    found.append(_queries(failures(PatientCourse, course), record_id=course["record_id"], form=None,
                          value_of=as_entered(tables.patients), detail=course["latest_event"]))
    dates = _record_dates(tables)
    found.append(_queries(failures(RecordDates, dates), record_id=dates["record_id"], form=dates["form"],
                          instance=dates["instance"], field=dates["field"], value_of=lambda f, fo: dates["date"],
                          detail=dates["death_date"], detail_prefix="death_date "))
    ta = tables.tumor_assessments
    responses = ta[["ta_response"]][~_baseline(tables)]   # the index keeps each row's position for its query
    found.append(_queries(failures(ResponseAssessments, responses), record_id=ta["record_id"],
                          instance=ta["instance"], form="tumor_assessment", value_of=as_entered(ta),
                          detail=source_of("tumor_assessments")))
    found.append(_queries(failures(Assessments, _assessments(tables)), record_id=ta["record_id"],
                          instance=ta["instance"], form="tumor_assessment", value_of=as_entered(ta),
                          detail=source_of("tumor_assessments")))
    return found


def _finish(queries: pd.DataFrame, tables: ExtractedTables, dictionary: DataDictionary,
            missing: set) -> pd.DataFrame:
    for column in ("record_id", "form", "field", "value", "detail"):
        queries[column] = queries[column].astype(object).where(queries[column].notna(), "").astype(str)
    queries["instance"] = pd.array(queries["instance"], dtype="Int64")
    # a missing column is one query, not one per record; a mistyped value is not also "required"
    queries = queries[~queries["field"].isin(missing) | queries["rule"].isin(["missing_column",
                                                                              "optional_column_missing"])]
    # an optional field's column missing from the export is not also missing from its typed table
    optional = queries["field"].isin(list(OPTIONAL_ANALYSIS_FIELDS))
    queries = queries[~(optional & (queries["rule"] == "missing_column"))]
    key = ["record_id", "form", "instance", "field"]
    typed = pd.MultiIndex.from_frame(queries.loc[queries["rule"].isin(TYPE_RULES), key].astype(str))
    shadowed = pd.MultiIndex.from_frame(queries[key].astype(str)).isin(typed) & (queries["rule"] == "required")
    queries = queries[~shadowed].copy()
    identifiers = queries["field"].isin(dictionary.identifiers)
    queries.loc[identifiers & (queries["value"] != ""), "value"] = MASKED
    queries = queries.drop_duplicates(key + ["rule"])
    queries["severity"] = queries["rule"].map(lambda r: RULES[r].severity)
    queries["message"] = _messages(queries, dictionary)
    return _sort(queries, tables, dictionary)[QUERY_COLUMNS].reset_index(drop=True)


def _messages(queries: pd.DataFrame, dictionary: DataDictionary) -> pd.Series:
    text = queries["rule"].map(lambda r: RULES[r].text)
    codes = settings().missing_data_codes
    coded = queries["rule"] == "missing_data_code"
    text.loc[coded] = ("missing-data code " + queries.loc[coded, "value"] + " ("
                       + queries.loc[coded, "value"].map(codes).fillna("") + "): read as missing")
    # a required field the typed table holds as missing, yet not blank: it holds a missing-data code
    text = text.where(~((queries["rule"] == "required") & (queries["value"] != "")),
                      "required field holds a missing-data code, not a value")
    serial = (queries["rule"] == "date") & queries["value"].str.fullmatch(r"\d{1,6}(\.\d+)?")
    text = text.where(~serial, "an Excel serial number, not a date: write the date as YYYY-MM-DD")
    ranges = queries["rule"] == "range"
    if ranges.any():
        bounds = queries.loc[ranges, "field"].map(lambda f: _bounds(f, dictionary))
        text.loc[ranges] = text.loc[ranges] + " " + bounds
    detail = queries["detail"].where(queries["detail"] == "", " (" + queries["detail"] + ")")
    return text + detail


def _bounds(field: str, dictionary: DataDictionary) -> str:
    low, high = (settings().age_range if field == "age" else
                 (dictionary[field].minimum, dictionary[field].maximum))
    return f"{low:g} to {high:g}" if low is not None and high is not None else ""


def _sort(queries: pd.DataFrame, tables: ExtractedTables, dictionary: DataDictionary) -> pd.DataFrame:
    record = settings().records["ids"].get_indexer(queries["record_id"])
    forms = {f: i for i, f in enumerate(dictionary.forms)}
    fields = {"record_id": -2, "age": -1}
    for form in dictionary.forms:
        for c in dictionary.export_columns(form):
            fields.setdefault(c, len(fields))
    key = pd.DataFrame({
        "record": record,
        "form": queries["form"].map(forms).fillna(-1),
        "instance": queries["instance"].astype("Float64").fillna(0),
        "field": queries["field"].map(fields).fillna(len(fields)),
        "severity": (queries["severity"] != "error").astype(int),
        "rule": queries["rule"], "value": queries["value"]}, index=queries.index)
    order = key.sort_values(list(key.columns), kind="stable").index
    return queries.loc[order]
