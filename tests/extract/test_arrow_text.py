"""Extraction's short cuts over the export's Arrow text give what Arrow's and pandas' own operations give."""

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from chartreview.extract.redcap import _filled, _stray_values, _trimmed
from chartreview.extract.text import STRING, TEXT, as_string

# white space of every kind Arrow trims (ASCII, control separators, no-break and ideographic spaces), and none
VALUES = ["", "1", " 2", "3 ", "\t4", "5\r", "\x1c6", "7\x1f", "\u00a08", "9\u3000", "é", "a b", "\u2003", " "]
COLUMNS = {
    "array": pa.array(VALUES),
    "slice": pa.array(VALUES).slice(3, 7),
    "chunks": pa.chunked_array([VALUES[:5], VALUES[5:]]),
    "clean": pa.array(["1", "", "22", "2024-01-31", "a b"]),
    "no chunks": pa.chunked_array([], pa.string()),
    "nulls": pa.array([" a", None, ""]),
}


@pytest.mark.parametrize("name", COLUMNS)
def test_trimmed_and_filled_as_arrow_computes_them(name):
    column = COLUMNS[name]
    assert _trimmed(column).to_pylist() == pc.utf8_trim_whitespace(column).to_pylist()
    assert _filled(column).tolist() == pc.fill_null(pc.greater(pc.utf8_length(column), 0), False).to_pylist()


def test_a_column_without_white_space_around_its_values_is_kept_as_it_is():
    assert _trimmed(COLUMNS["clean"]) is COLUMNS["clean"]


@pytest.mark.parametrize("chunked", [False, True])
def test_stray_value_is_the_first_field_filled_outside_the_rows_form(chunked):
    text = {"a": ["x", "q", "y", "", "s"], "b": ["p", "z", "w", "", "t"], "c": ["", "", "v", "u", ""]}
    batch = (pa.Table.from_batches([pa.record_batch({k: v[:2] for k, v in text.items()}),
                                    pa.record_batch({k: v[2:] for k, v in text.items()})])
             if chunked else pa.record_batch(text))
    instrument = pa.array(["", "f", "g", "f", "f"])  # "g": a form not read, whose fields are not queried
    blank = pa.array([""] * 5)
    stray = _stray_values(batch, instrument, {"": ["a"], "f": ["b", "c"]}, blank)
    assert stray.to_pylist() == ["b", "a", "", "", "a"]
    assert _stray_values(batch, pa.array(["g"] * 5), {"": ["a"], "f": ["b", "c"]}, blank) is blank


def test_exported_text_becomes_the_typed_tables_text_unchanged():
    text = pd.Series(["P1", "", "[masked]", "é"], dtype=TEXT, name="record_id")
    typed = as_string(text)
    assert typed.dtype == STRING and typed.name == "record_id"
    pd.testing.assert_series_equal(typed, text.astype(STRING))
