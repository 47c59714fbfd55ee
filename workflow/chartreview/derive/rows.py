"""A repeating form's rows as arrays, and the dates and dictionary labels they are read with.

The bottom of the derivation (with ``texts`` and ``response``): ``events``, ``audit`` and ``derivation``
read the source rows through these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chartreview.derive.texts import NEVER


@dataclass(frozen=True)
class Rows:
    """One repeating form's rows of analysed patients as arrays sorted by patient, date, instance."""

    patient: np.ndarray   # position in the cohort
    day: np.ndarray       # days since 1970-01-01
    instance: np.ndarray  # REDCap repeat instance (-1 when blank)
    codes: dict           # column -> int16 positions in that field's dictionary labels (-1 blank)
    numbers: dict = field(default_factory=dict)  # number column -> float64 (NaN blank); absent if not exported


def days_of(values) -> np.ndarray:
    """Dates -> int64 days since 1970-01-01, NEVER for a blank date."""
    v = np.asarray(values)
    if not np.issubdtype(v.dtype, np.datetime64):
        v = pd.to_datetime(pd.Series(values), errors="raise").to_numpy(dtype="datetime64[ns]")
    d = v.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(v), NEVER, d)


def label_codes(series: pd.Series, labels: tuple) -> np.ndarray:
    """Positions of a coded column's labels in ``labels`` (-1 blank or unknown), via the categories."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        lookup = np.array([labels.index(c) if c in labels else -1 for c in series.cat.categories] + [-1],
                          dtype=np.int16)
        return lookup[series.cat.codes.to_numpy()]
    return pd.Categorical(series, categories=list(labels)).codes.astype(np.int16)


def rows_of(table: pd.DataFrame, date_column: str, cohort: pd.Index, coded: dict, numbers: tuple = ()) -> Rows:
    """The rows of analysed patients with a date, sorted by patient, date, instance; ``numbers``: number
    columns to carry (one the table lacks is left out)."""
    pos = _positions_in(cohort, table["record_id"]) if len(table) else np.empty(0, np.int64)
    day = days_of(table[date_column]) if len(table) else np.empty(0, np.int64)
    instance = (table["instance"].astype("Float64").fillna(-1).to_numpy(dtype=np.int64)
                if len(table) else np.empty(0, np.int64))
    keep = np.flatnonzero((pos >= 0) & (day != NEVER))
    rows = keep if _is_sorted(pos[keep], day[keep], instance[keep]) else \
        keep[np.lexsort((instance[keep], day[keep], pos[keep]))]
    codes = {name: (label_codes(table[column], labels)[rows] if len(table) else np.empty(0, np.int16))
             for name, (column, labels) in coded.items()}
    carried = {name: table[name].to_numpy(dtype=float, na_value=np.nan)[rows] if len(table) else np.empty(0)
               for name in numbers if name in table}
    return Rows(pos[rows].astype(np.int64), day[rows], instance[rows], codes, carried)


def _positions_in(cohort: pd.Index, record_id: pd.Series) -> np.ndarray:
    """Each row's position in the cohort (-1 outside it); record_id as Arrow text is looked up in Arrow,
    without a Python string per row."""
    if isinstance(record_id.array, pd.arrays.ArrowStringArray):
        found = pc.index_in(pa.array(record_id.array), value_set=pa.array(cohort.astype(str), type=pa.string()))
        return found.fill_null(-1).to_numpy().astype(np.int64)
    return cohort.get_indexer(record_id)


def _is_sorted(*keys: np.ndarray) -> bool:
    """Whether rows are already in lexicographic order of keys (the export usually is): skips a sort."""
    if len(keys[0]) < 2:
        return True
    undecided = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        a, b = key[:-1], key[1:]
        if (undecided & (a > b)).any():
            return False
        undecided &= a == b
    return True


def choice_labels(dictionary, name: str) -> tuple:
    """A coded field's labels in the dictionary's order (the positions that ``Rows.codes`` hold)."""
    return tuple(dictionary[name].choices.values())


def met_flag(label: str) -> str:
    """'Contralateral lung' -> 'met_contralateral_lung'."""
    return "met_" + label.lower().replace(" ", "_").replace("-", "_")
