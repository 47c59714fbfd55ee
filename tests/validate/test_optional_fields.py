"""An export without an optional field runs through extract -> validate -> derive -> endpoints: the analysis
that reads the field says "not available", the others are computed, and no step stops with a traceback."""

import json

import pandas as pd
import pytest

from support import DICTIONARY, FIXTURES
from support.bad_exports import read_raw, write_raw
from support.pipeline import endpoint_results, query_table

FIXTURE = FIXTURES / "exports" / "export_raw.csv"


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    return {name: json.loads(text) for name, text in
            endpoint_results(FIXTURE, tmp_path_factory.mktemp("complete")).items()}


def run_without(column: str, workdir, dictionary=DICTIONARY) -> dict:
    export = write_raw(read_raw(FIXTURE).drop(columns=column), workdir / "export.csv")
    return {name: json.loads(text) for name, text in
            endpoint_results(export, workdir / "run", dictionary=dictionary).items()}


def test_the_fixture_has_a_tumour_size_change_and_measurable_disease(complete):
    assert complete["tumor_size"]["available"] is True
    assert complete["response"]["secondary"]["available"] is True


def test_without_ta_sld_mm_the_tumour_size_is_not_available(tmp_path, complete):
    results = run_without("ta_sld_mm", tmp_path)
    assert results["tumor_size"]["available"] is False
    assert "not available" in results["tumor_size"]["reason"] and "ta_sld_mm" in results["tumor_size"]["reason"]
    assert results["response"] == complete["response"]
    queries = query_table(tmp_path / "run")
    assert queries[["field", "rule", "severity"]].values.tolist() == [
        ["ta_sld_mm", "optional_column_missing", "warning"]]


def test_without_measurable_disease_the_other_denominator_is_not_available(tmp_path, complete):
    results = run_without("measurable_disease", tmp_path)
    secondary = results["response"]["secondary"]
    assert secondary["available"] is False and "not available" in secondary["reason"]
    # the primary denominator (all patients) is computed as before
    assert {k: v for k, v in results["response"].items() if k != "secondary"} == \
        {k: v for k, v in complete["response"].items() if k != "secondary"}
    assert results["tumor_size"] == complete["tumor_size"]


def test_a_dictionary_without_criz_end_date_gives_ttd_not_available(tmp_path, complete):
    dictionary = pd.read_csv(DICTIONARY, dtype=str, keep_default_na=False)
    dictionary = dictionary[dictionary.iloc[:, 0] != "criz_end_date"]
    path = tmp_path / "dictionary.csv"
    dictionary.to_csv(path, index=False, lineterminator="\n")
    results = run_without("criz_end_date", tmp_path, dictionary=path)
    assert results["ttd"]["available"] is False
    assert results["ttd"]["reason"] == "not available: the export has no criz_end_date field"
    assert query_table(tmp_path / "run").empty
    for name in ("response", "pfs", "os", "ttnt", "tumor_size"):
        assert results[name] == complete[name], name
