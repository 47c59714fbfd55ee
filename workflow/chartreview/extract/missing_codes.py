"""REDCap's missing-data codes: an abstractor's "UNK" or "NASK" entered where the chart holds no value.

A project may define missing-data codes (REDCap's standard list is NI, INV, UNK, NASK, ASKU, NAV, MSK, NA,
NAVU, NP, QS, QI, TRC, UNC, DER, PINF, NINF, OTH; the config key ``missing_data_codes`` holds the project's
codes and their meanings). A code is read as missing in the typed tables, whatever the field's type; the
exported text keeps it, and the validation reports it as the query ``missing_data_code``. In a coded field
whose choices hold the code (a radio with the choice ``NA``), it is that choice, not missing.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from chartreview.core.dictionary import DataDictionary


def codes_of(column: str, dictionary: DataDictionary, codes: Mapping[str, str]) -> list[str]:
    """The missing-data codes an export column can hold: none for a form status, an identifier (its text
    is masked) or a column the dictionary does not know; in a coded field, the codes not among its choices."""
    name = column.split("___")[0]
    if not codes or name not in dictionary or dictionary[name].identifier:
        return []
    f = dictionary[name]
    if column != name and not f.is_checkbox:  # "<form>_complete" and the like
        return []
    choices = {"0", "1"} if f.is_checkbox else set(f.choices) if f.is_coded else set()
    return [code for code in codes if code not in choices]


def is_code(text: pd.Series, column: str, dictionary: DataDictionary, codes: Mapping[str, str]) -> pd.Series:
    """Per value of an exported column: a missing-data code (false for blank and for a choice)."""
    found = codes_of(column, dictionary, codes)
    if not found:
        return pd.Series(False, index=text.index)
    return pd.Series(text.isin(found).to_numpy(dtype=bool, na_value=False), index=text.index)


def as_blank(text: pd.Series, column: str, dictionary: DataDictionary, codes: Mapping[str, str]) -> pd.Series:
    """The exported column with its missing-data codes blank, for typing (unchanged when it holds none)."""
    coded = is_code(text, column, dictionary, codes)
    return text.where(~coded, "") if coded.any() else text
