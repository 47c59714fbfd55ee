"""The bundles of tables that pass between the stages: what extraction hands to validation and derivation
(``ExtractedTables``), and what derivation hands to the analyses (``DerivedTables``). Each table's columns
are stated by its pandera model (``validate.contracts``); the names of the tables by ``core.catalog``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ExportInfo:
    source: str                        # the export's file name
    format: str                        # "raw CSV", "label CSV" or "xlsx workbook"
    encoding: str
    columns_missing: tuple[str, ...]   # dictionary columns the export lacks
    columns_unknown: tuple[str, ...]   # export columns the dictionary does not know (values not kept)
    records: int
    rows: int
    missing_data_codes: dict = field(default_factory=dict)   # code -> meaning, read as missing


@dataclass(frozen=True)
class ExtractedTables:
    patients: pd.DataFrame
    tumor_assessments: pd.DataFrame
    progression_sites: pd.DataFrame
    subsequent_therapies: pd.DataFrame
    # form -> exported text of that form's rows (codes; identifiers masked), row for row as the typed table
    # of the form (patients for the non-repeating forms); columns record_id, instance, source, fields.
    exported: dict[str, pd.DataFrame] = field(default_factory=dict)
    # one row per export row: record_id, instrument, instance (text as exported), source, stray (the first
    # field with a value outside the row's form, "" for none)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: ExportInfo | None = None


@dataclass(frozen=True)
class DerivedTables:
    patients: pd.DataFrame
    time_to_event: pd.DataFrame
    progression_patterns: pd.DataFrame
    audit: Any                         # derive.audit.Audit: the audit, built patient range by patient range
    flow: dict
    rules: dict = field(default_factory=dict)
    tumor_size_course: pd.DataFrame = field(default_factory=pd.DataFrame)
