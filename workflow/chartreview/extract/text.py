"""Typing of exported text: a REDCap export's text -> the values of the data contract's typed tables.

Dates, numbers, repeat instances, coded choices, checkboxes and form statuses read from the text as exported;
an entry not of its field's type becomes missing. The extraction types its tables with these, and the
validation (``chartreview.validate.contracts``) uses them to tell which entries failed typing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from chartreview.core.dictionary import DataDictionary, Field
from chartreview.extract.deidentify import MASKED

# REDCap's codes and label-export texts for checkboxes and the form status.
CHECKBOX_CHOICES = {"1": "Checked", "0": "Unchecked"}
COMPLETE_CHOICES = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
TEXT = pd.ArrowDtype(pa.string())  # exported text: compact and fast for ten million rows
# The typed tables' text (record_id, free text): pandas "string", kept in Arrow memory for the same reason.
STRING = pd.StringDtype("pyarrow")


def as_string(text: pd.Series) -> pd.Series:
    """Exported text -> the typed tables' text (``STRING``), its Arrow memory taken as it is: ``astype``
    would make a Python string of every value on the way."""
    if isinstance(text.dtype, pd.ArrowDtype) and pa.types.is_string(text.dtype.pyarrow_dtype):
        return pd.Series(pd.arrays.ArrowStringArray(text.array.__arrow_array__()), index=text.index, name=text.name)
    return text.astype(STRING)


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
    return as_string(text).where((text != "") & (text != MASKED), None)  # a masked entry is missing


def whole_years(start: pd.Series, end: pd.Series) -> pd.Series:
    """Age in whole years at ``end`` (birthday not yet reached in the end year counts one less)."""
    years = end.dt.year - start.dt.year
    before_birthday = (end.dt.month * 100 + end.dt.day) < (start.dt.month * 100 + start.dt.day)
    return (years - before_birthday.astype(int)).astype("Int64")
