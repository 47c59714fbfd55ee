"""Running a model: the validation's own evaluation of a pandera model's checks finds the failures pandera's lazy
validation finds, in its order (the first of two queries on one cell is the one reported)."""

import numpy as np
import pandas as pd
import pyarrow
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chartreview.validate.contracts import (
    Assessments,
    ExportRows,
    PatientCourse,
    Patients,
    _failures_by_pandera,
    _pandera_order,
    _repeated,
    exported_schema,
    failures,
    seen_before,
    validation_settings,
)
from support import CONFIG_FILE

CONFIG = yaml.safe_load(CONFIG_FILE.read_text())
RNG = np.random.default_rng(16)


@pytest.mark.parametrize("n", [0, 5, 17, 1000, 20000])
@pytest.mark.parametrize("share", [0.05, 0.5, 0.95])
def test_failures_are_in_the_order_of_pandera_s_sort(n, share):
    whole_frame = RNG.random(n) < share
    contexts = pd.DataFrame({"schema_context": np.where(whole_frame, "DataFrameSchema", "Column").astype(object)})
    expected = contexts.sort_values("schema_context", ascending=False).index.to_numpy()  # what pandera does
    assert (_pandera_order(whole_frame) == expected).all()


def same_as_pandera(schema, frame):
    found = failures(schema, frame)
    pd.testing.assert_frame_equal(found, _failures_by_pandera(schema, frame))
    return found


def text(values, n):
    return pd.Series(RNG.choice(values, n), dtype=pd.ArrowDtype(pyarrow.string()))


def test_exported_text_with_many_bad_cells(dictionary):
    n = 3000
    frame = pd.DataFrame({c: text(["", "1", "2", "9", "x", "2019-02-30", "2019-02-28", "[masked]", "-5"], n)
                          for c in dictionary.export_columns("demographics")})
    frame = frame.drop(columns=["stage"])  # a missing column: one failure without a row
    found = same_as_pandera(exported_schema("demographics", dictionary, {"-5": "not known"}), frame)
    assert {"code", "date", "number", "identifier", "missing_data_code", "missing_column"} <= set(found["rule"])
    assert found.loc[found["rule"] == "missing_column", "field"].tolist() == ["stage"]


def test_rows_with_duplicates_and_checks_of_the_whole_frame(dictionary):
    n = 4000
    record = np.sort(RNG.integers(0, 300, n))
    rows = pd.DataFrame({
        "record_id": text(["1", "2", ""], n), "instrument": text(["", "tumor_assessment", "other"], n),
        "instance": text(["", "1", "2", "x"], n), "source": text(["line 2", "line 3"], n),
        "stray": text(["", "", "", "mrn"], n), "record": record,
        "repeated": pd.Series(record).duplicated().to_numpy()})
    with validation_settings(dictionary, CONFIG):
        found = same_as_pandera(ExportRows, rows)
    assert {"duplicate_record", "duplicate_instance", "instance", "unknown_instrument",
            "value_outside_form", "missing_record_id"} <= set(found["rule"])


def test_typed_tables_and_views_with_missing_values(dictionary):
    n = 2000
    dates = pd.Series(pd.to_datetime("2015-01-01") + pd.to_timedelta(RNG.integers(0, 2000, n), unit="D"))
    dates[RNG.random(n) < 0.2] = pd.NaT
    course = pd.DataFrame({
        "record_id": pd.Series([str(i) for i in range(n)], dtype=pd.StringDtype("pyarrow")),
        **{c: dates.sample(frac=1, random_state=i).reset_index(drop=True) for i, c in enumerate(
            ["diagnosis_date", "criz_start_date", "criz_end_date", "death_date", "last_contact_date",
             "latest_event_date"])},
        "dead": pd.array(RNG.choice([True, False, None], n), dtype="boolean"),
        "latest_event": pd.Series("", index=range(n), dtype=pd.StringDtype("pyarrow")),
        "post_baseline_assessments": RNG.integers(0, 3, n)})
    course = course[list(PatientCourse.to_schema().columns)]
    assessments = pd.DataFrame({
        "record_id": course["record_id"], "ta_response": pd.Categorical(RNG.choice(["PD", "SD", None], n)),
        "baseline": RNG.random(n) < 0.3, "site_within_window": RNG.random(n) < 0.5,
        "gap_days": np.where(RNG.random(n) < 0.3, np.nan, RNG.integers(0, 400, n))})
    with validation_settings(dictionary, CONFIG):
        assert len(same_as_pandera(PatientCourse, course)) > 100
        assert len(same_as_pandera(Assessments, assessments)) > 100


def test_a_table_that_breaks_its_contract_is_still_an_assertion(dictionary):
    with validation_settings(dictionary, CONFIG), pytest.raises(AssertionError, match="unexpected check failures"):
        failures(Patients, pd.DataFrame({"record_id": [1, 2], "sex": ["x", "y"]}))


# --- rows repeated in the export ------------------------------------------------------------------------------
TEXT = st.one_of(st.sampled_from(["", "1", "2", "10", "nan", "None", "tumor_assessment", "progression"]), st.none())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), TEXT, TEXT, TEXT), max_size=60), st.integers(1, 4),
       st.sampled_from(["arrow", "object", "category"]), st.booleans())
def test_a_row_is_repeated_when_an_earlier_row_has_its_record_instrument_event_and_instance(
        keys, pieces, kind, longitudinal):
    record = np.array([k[0] for k in keys], dtype=np.int64)
    columns = {"instrument": [k[1] for k in keys], "instance": [k[2] for k in keys]}
    if longitudinal:
        columns["event"] = [k[3] for k in keys]

    def column(values):  # text held as the extraction holds it (Arrow, in pieces), or as pandas would
        if kind == "object":
            return pd.Series(values, dtype=object)
        if kind == "category":
            return pd.Series(values, dtype="category")
        cut = np.linspace(0, len(values), pieces + 1).astype(int)
        return pd.Series(pd.arrays.ArrowStringArray(pyarrow.chunked_array(
            [pyarrow.array(values[a:b], pyarrow.string()) for a, b in zip(cut[:-1], cut[1:])], pyarrow.string())))

    rows = pd.DataFrame({name: column(values) for name, values in columns.items()})
    expected = pd.Series(list(zip(record, *(columns[c] for c in sorted(columns))))).duplicated().to_numpy()
    assert (_repeated(rows, record) == expected).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**62), 2**62) | st.integers(-3, 3), max_size=80))
def test_seen_before_is_pandas_duplicated(values):
    key = np.array(values, dtype=np.int64)
    assert (seen_before(key) == pd.Series(key, dtype=np.int64).duplicated().to_numpy()).all()
