"""chartreview.endpoints.analyses on hand-built derived tables with the contract's columns (endpoint_helpers.py):
the JSON shapes of issue 5, the study's published counts and P values, degenerate groups and
deterministic JSON. The formatted tables are tested in test_tables.py."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from chartreview.core.catalog import (
    DERIVED_TABLES,
    ENDPOINT_SETTINGS,
    ENDPOINTS,
    METASTATIC_COMPOSITES,
    METASTATIC_SITES,
    PROGRESSION_PATTERNS,
    derived_files,
    primary_input,
    settings_of,
)
from chartreview.core.config import with_defaults
from chartreview.core.result_files import write_json
from chartreview.endpoints.analyses import (
    PATIENT_COLUMNS,
    EndpointError,
    _identical,
    analyse_endpoint,
    patient_columns,
    run_every,
)
from chartreview.endpoints.analyses import run as run_endpoint
from chartreview.stats import categorical, competing_risks
from chartreview.tables.manuscript import format_percent
from support import EXAMPLE
from support.endpoint_helpers import CONFIG, GROUPS, derived_tables, run, with_tumour_size
from support.pipeline import endpoint_results


@pytest.fixture(scope="module")
def derived():
    return derived_tables()


# -------------------------------------------------------------------------------------- endpoints


def test_metastases_reproduce_the_published_counts_and_p(derived):
    result = run("metastases", derived)
    assert result["test"] == "Pearson chi-square without continuity correction"
    assert list(result["sites"]) == [*METASTATIC_SITES, *METASTATIC_COMPOSITES]
    brain, extra = result["sites"]["brain"], result["sites"]["extrathoracic"]
    assert list(k for k in brain if k in GROUPS) == ["ROS1", "ALK"]  # config order, reference first
    assert brain["ROS1"] == {"count": 3, "n": 26, "percent": 100 * 3 / 26}
    assert brain["ALK"] == {"count": 12, "n": 42, "percent": 100 * 12 / 42}
    assert round(brain["p"], 2) == 0.10 and round(extra["p"], 3) == 0.003
    assert (format_percent(brain["ROS1"]["percent"]), format_percent(extra["ALK"]["percent"])) == ("12", "71")
    # a site no patient has: p is null with the reason
    liver = result["sites"]["liver"]
    assert liver["p"] is None and "no observations" in liver["reason"]


def test_metastases_with_fisher_names_the_test(derived):
    config = {**CONFIG, "statistics": {"categorical_test": "fisher"}}
    result = run("metastases", derived, config)
    assert result["test"] == "Fisher's exact test"
    assert result["sites"]["brain"]["test"] == "Fisher's exact test"
    assert round(result["sites"]["brain"]["p"], 3) == 0.136


def test_response(derived):
    result = run("response", derived)
    ros1, alk = result["groups"]["ROS1"], result["groups"]["ALK"]
    assert (ros1["n"], ros1["responders"], alk["n"], alk["responders"]) == (26, 18, 42, 29)
    assert ros1["orr"] == 18 / 26
    assert ros1["orr_ci"] == list(categorical.clopper_pearson(18, 26, 0.95))
    assert ros1["bor"] == {"CR": 1, "PR": 17, "SD": 6, "PD": 1, "NE": 1}
    assert ros1["disease_control"] == 24 and alk["dcr"] == 39 / 42
    assert result["test"] == "Pearson chi-square without continuity correction"
    assert round(result["p"], 3) == 0.987
    assert set(result) >= {"test", "p", "groups", "dcr_comparison", "bor_comparison"}


def test_progression_patterns(derived):
    result = run("progression", derived)
    assert result["progressed"] == {"ROS1": 16, "ALK": 37}
    assert list(result["patterns"]) == list(PROGRESSION_PATTERNS)
    intra = result["patterns"]["intrathoracic_only"]
    assert (intra["ROS1"]["count"], intra["ROS1"]["n"], intra["ALK"]["count"], intra["ALK"]["n"]) == (11, 16, 17, 37)
    assert round(intra["p"], 3) == 0.127
    unknown = result["patterns"]["unknown"]
    assert unknown["ROS1"]["count"] == 0 and unknown["p"] is None and unknown["reason"]
    assert "assumption" in result["assumption"]


def test_cns(derived):
    patients, tte, _ = derived
    result = run("cns", derived)
    assert result["unit"] == "months" and list(result["groups"]) == ["ROS1", "ALK"]
    cns = tte[tte["endpoint"] == "cns"]
    for g, block in result["groups"].items():
        status = cns.loc[cns["group"] == g, "status"]
        assert block["n"] == len(status)
        assert (block["events"], block["competing"], block["censored"]) == \
            (int((status == 1).sum()), int((status == 2).sum()), int((status == 0).sum()))
        assert list(block["cif"]) == ["6", "12", "24"]
        assert set(block["cif"]["12"]) == {"estimate", "ci", "variance"}
        assert set(block["curve"]) == {"time", "cif", "lower", "upper", "variance"}
        assert block["competing_curve"]["cif"][-1] > 0
        months = cns.loc[cns["group"] == g, "months"].to_numpy()
        at_risk = block["at_risk"]
        assert at_risk["time"] == sorted(set(months.tolist()))
        assert at_risk["n_risk"] == [int((months >= t).sum()) for t in at_risk["time"]]
        codes = cns.loc[cns["group"] == g, "status"].to_numpy()
        for key, code in (("n_event", 1), ("n_competing", 2), ("n_censor", 0)):
            assert at_risk[key] == [int(((months == t) & (codes == code)).sum()) for t in at_risk["time"]]
    gray = competing_risks.gray_test(cns["months"], cns["status"], cns["group"].astype(str))
    assert result["gray"]["stat"] == pytest.approx(gray.statistic, rel=1e-9)
    assert result["gray"]["p"] == pytest.approx(gray.p, rel=1e-9)
    assert result["gray"]["test"] == "Gray's test (rho = 0)"
    fg = result["fine_gray"]
    assert fg["contrast"] == "ALK vs ROS1" and fg["shr"] == pytest.approx(math.exp(fg["coef"]))
    assert fg["shr_ci"][0] < fg["shr"] < fg["shr_ci"][1] and fg["reason"] is None


def test_cns_without_events_in_a_group_gives_nulls_and_reasons(derived):
    patients, tte, patterns = derived
    tte = tte.copy()
    ros1_cns = (tte["endpoint"] == "cns") & (tte["group"] == "ROS1") & (tte["status"] == 1)
    tte.loc[ros1_cns, "status"] = 0
    result = analyse_endpoint("cns", patients, tte, patterns, CONFIG)
    assert result["groups"]["ROS1"]["events"] == 0
    assert result["groups"]["ROS1"]["cif"]["12"]["estimate"] == 0.0
    assert result["groups"]["ROS1"]["cif"]["12"]["ci"] == [None, None]
    assert result["fine_gray"]["shr"] is None and "ROS1" in result["fine_gray"]["reason"]
    assert result["gray"]["p"] is not None


def test_cns_timepoint_after_follow_up_is_null(derived):
    config = {**CONFIG, "endpoints": {**CONFIG["endpoints"], "cns": {"competing": ["death"], "timepoints": [600]}}}
    result = run("cns", derived, config)
    assert result["groups"]["ALK"]["cif"]["600"] == {"estimate": None, "ci": [None, None], "variance": None}


@pytest.mark.parametrize("name", ["pfs", "os"])
def test_survival_endpoints_call_the_survival_module(name, derived):
    result = run(name, derived)
    assert result["unit"] == "months" and result["endpoint"] == name
    assert list(result["groups"]) == ["ROS1", "ALK"]
    landmarks = [str(t) for t in CONFIG["endpoints"][name]["landmarks"]]
    assert list(result["groups"]["ROS1"]["rates"]) == landmarks
    assert {"chisq", "p"} <= set(result["logrank"])
    assert result["cox"]["contrast"] == "ALK vs ROS1"
    assert {"cox_adjusted", "subgroups"} <= set(result)


def test_baseline_table_one(derived):
    patients, *_ = derived
    result = run("baseline", derived)
    assert result["test_categorical"] == "Pearson chi-square without continuity correction"
    assert result["groups"] == {"ROS1": {"n": 26}, "ALK": {"n": 42}}
    variables = {v["variable"]: v for v in result["variables"]}
    age = variables["age"]
    assert age["type"] == "continuous" and age["missing"] == {"overall": 2, "ROS1": 1, "ALK": 1}
    expected = categorical.wilcoxon_rank_sum(patients.loc[patients.group == "ROS1", "age"],
                                             patients.loc[patients.group == "ALK", "age"])
    assert age["p"] == expected.p and age["test"] == expected.test
    assert age["overall"]["median"] == float(np.nanmedian(patients["age"]))
    smoking = variables["smoking_status"]
    assert smoking["levels"] == ["Never", "Former", "Current"] and smoking["missing"]["overall"] == 1
    assert sum(smoking["groups"]["ROS1"][lv]["count"] for lv in smoking["levels"]) == 25
    ecog = variables["ecog_ps"]  # levels 3 and 4 are empty: left out of the test, still listed
    assert ecog["levels"] == list("01234") and ecog["groups"]["ALK"]["4"]["count"] == 0
    assert ecog["p"] is not None and ecog["df"] == 2
    histology = variables["histology"]  # one level only: no test, a reason
    assert histology["p"] is None and histology["reason"]


def test_baseline_smd_per_row(derived):
    patients, *_ = derived
    variables = {v["variable"]: v for v in run("baseline", derived)["variables"]}
    ros1, alk = patients[patients.group == "ROS1"]["age"], patients[patients.group == "ALK"]["age"]
    d = abs(ros1.mean() - alk.mean()) / np.sqrt((ros1.var() + alk.var()) / 2)
    assert variables["age"]["smd"] == pytest.approx(d, rel=1e-12)
    assert variables["sex"]["smd"] is not None and variables["sex"]["smd_reason"] is None
    assert variables["histology"]["smd"] == 0.0  # one level in both groups


def test_table1_rows_labels_types_and_tests_come_from_the_config(derived):
    patients, *_ = derived
    config = {**CONFIG, "table1": [
        {"variable": "met_brain", "label": "Brain metastases", "type": "categorical", "test": "fisher"},
        {"variable": "ecog_ps", "label": "ECOG", "type": "categorical", "test": "none"},
        {"variable": "age", "label": "Age", "type": "continuous", "test": "default"},
        {"variable": "histology", "label": "Histology", "type": "categorical", "test": "auto"}]}
    result = run("baseline", derived, config)
    assert [(v["variable"], v["label"]) for v in result["variables"]] == [
        ("met_brain", "Brain metastases"), ("ecog_ps", "ECOG"), ("age", "Age"), ("histology", "Histology")]
    brain, ecog, age, histology = result["variables"]
    assert brain["test"] == categorical.TESTS["fisher"] and brain["test_configured"] == "fisher"
    assert round(brain["p"], 3) == 0.136  # the study README: Fisher's P of baseline CNS metastases
    assert ecog["p"] is None and ecog["test"] == "none" and "no test" in ecog["reason"]
    assert "test_configured" not in age and age["p"] is not None
    assert histology["p"] is None and histology["reason"]  # constant: a reason, not an error


def test_a_constant_continuous_row_gives_an_smd_reason(derived):
    patients, tte, patterns = derived
    flat = patients.assign(age=60.0)
    config = {**CONFIG, "table1": [{"variable": "age", "label": "Age", "type": "continuous", "test": "default"}]}
    (age,) = analyse_endpoint("baseline", flat, tte, patterns, config)["variables"]
    assert age["smd"] is None and "constant" in age["smd_reason"] and age["p"] is None


def test_every_endpoint_names_its_test(derived):
    for name in ENDPOINTS:
        result = run(name, derived)
        if result.get("available") is False:  # no rows of it (these derived tables have no ttd rows)
            assert "not available" in result["reason"], name
            continue
        assert '"test' in json.dumps(result), name


# ---------------------------------------------------------------------------------- bad input


def test_missing_column_is_named(derived):
    patients, tte, patterns = derived
    with pytest.raises(EndpointError, match=r"patients.parquet lacks column\(s\) met_liver"):
        analyse_endpoint("metastases", patients.drop(columns="met_liver"), tte, patterns, CONFIG)


def test_unknown_group_is_named(derived):
    patients, tte, patterns = derived
    bad = patients.copy()
    bad["group"] = bad["group"].astype(str)
    bad.loc[0, "group"] = "RET"
    with pytest.raises(EndpointError, match="RET"):
        analyse_endpoint("response", bad, tte, patterns, CONFIG)


def test_unknown_endpoint(derived):
    with pytest.raises(ValueError, match="unknown endpoint"):
        run("dfs", derived)


# ------------------------------------------------------------------------------------------ JSON


def test_write_json_is_deterministic_and_full_precision(tmp_path, derived):
    result = run("cns", derived)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_json(result, a)
    write_json(run("cns", derived), b)
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    assert text.endswith("}\n") and "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["gray"]["p"] == result["gray"]["p"]  # repr round-trips exactly
    write_json({"x": float("nan"), "y": np.float64(0.1), "z": np.int64(3), "w": (1, np.nan)}, a)
    assert json.loads(a.read_text()) == {"x": None, "y": 0.1, "z": 3, "w": [1, None]}


# ------------------------------------------------------------------------------------ the files


def _derived_files(derived, folder):
    paths = {}
    for name, table in zip(("patients", "time_to_event", "progression_patterns"), derived):
        paths[name] = str(folder / f"{name}.parquet")
        table.to_parquet(paths[name], index=False)
    return paths


def _settings(endpoint):
    return settings_of({**CONFIG, "groups": GROUPS}, ENDPOINT_SETTINGS[endpoint])


IPTW = {**CONFIG, "statistics": {**CONFIG["statistics"], "weighting": "iptw"}}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("config", [CONFIG, IPTW], ids=["default", "iptw"])
def test_a_job_reading_only_its_rows_and_columns_writes_the_result_of_the_whole_tables(endpoint, config, derived,
                                                                                       tmp_path):
    derived = with_tumour_size(derived)
    inputs = _derived_files(derived, tmp_path)
    settings = settings_of({**config, "groups": GROUPS}, ENDPOINT_SETTINGS[endpoint])
    run_endpoint(inputs, {"result": str(tmp_path / "result.json")}, endpoint=endpoint, settings=settings)
    whole = tmp_path / "whole.json"
    write_json(analyse_endpoint(endpoint, *derived, settings), whole)
    assert (tmp_path / "result.json").read_bytes() == whole.read_bytes()


@pytest.fixture(scope="module")
def example_derived(tmp_path_factory):
    """The example's derived files (the study's config with weighting on, so that every endpoint reads
    columns), by name."""
    workdir = tmp_path_factory.mktemp("example")
    endpoint_results(EXAMPLE / "export_raw.csv", workdir, config={"statistics": {"weighting": "iptw"}})
    return {t: str(workdir / path) for t, path in derived_files("results/derived").items() if t in DERIVED_TABLES}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_declared_patient_columns_give_the_result_of_the_whole_table_on_the_example(endpoint, example_derived,
                                                                                       tmp_path):
    config = with_defaults({"statistics": {"weighting": "iptw"}})
    settings = settings_of({**config, "groups": GROUPS}, ENDPOINT_SETTINGS[endpoint])
    run_endpoint(example_derived, {"result": str(tmp_path / "result.json")}, endpoint=endpoint, settings=settings)
    whole = tmp_path / "whole.json"
    tables = [pd.read_parquet(example_derived[t]) for t in ("patients", "time_to_event", "progression_patterns")]
    write_json(analyse_endpoint(endpoint, *tables, settings), whole)
    assert (tmp_path / "result.json").read_bytes() == whole.read_bytes()
    # the job read some of the columns, not all (weighting too: it is on)
    assert 0 < len(patient_columns(endpoint, settings)) < len(tables[0].columns)


def test_a_column_left_out_of_the_declaration_fails_the_job(derived, tmp_path, monkeypatch):
    inputs = _derived_files(derived, tmp_path)
    monkeypatch.setitem(PATIENT_COLUMNS, "response", ("group", "best_overall_response", "disease_control"))
    with pytest.raises(EndpointError, match="responder"):
        run_endpoint(inputs, {"result": str(tmp_path / "result.json")}, endpoint="response",
                     settings=_settings("response"))


def test_the_patient_columns_follow_the_config():
    settings = {e: settings_of({**IPTW, "groups": GROUPS}, ENDPOINT_SETTINGS[e]) for e in ENDPOINTS}
    table1 = [row["variable"] for row in CONFIG["table1"]]
    assert patient_columns("baseline", settings["baseline"]) == ("group", *table1)
    assert set(patient_columns("weighting", settings["weighting"])) == {
        "record_id", "group", *CONFIG["statistics"]["covariates"], *table1}
    assert patient_columns("weighting", _settings("weighting")) == ()  # not requested: reads nothing
    assert {"age_lt_65", "age", "ecog_2plus", "ecog_ps", "criz_line"} <= set(patient_columns("pfs", settings["pfs"]))
    assert patient_columns("cns", settings["cns"]) == ("record_id", "group", *CONFIG["statistics"]["covariates"])


def _frame(**columns):
    return pd.DataFrame(columns)


@pytest.mark.parametrize("a, b, same", [
    (_frame(x=[1.0, np.nan]), _frame(x=[1.0, np.nan]), True),                     # NaN equals NaN
    (_frame(x=[0.0, 1.0]), _frame(x=[-0.0, 1.0]), False),                         # a zero's sign
    (_frame(x=[1.0, 2.0]), _frame(x=[1, 2]), False),                              # the dtype
    (_frame(x=[1.0], y=[2.0]), _frame(y=[2.0], x=[1.0]), False),                  # the column order
    (_frame(x=pd.Categorical(["a", "b"], categories=["a", "b"])),
     _frame(x=pd.Categorical(["a", "b"], categories=["b", "a"])), False),         # the categories' order
    (_frame(x=pd.Categorical(["a", None], categories=["a", "b"])),
     _frame(x=pd.Categorical(["a", None], categories=["a", "b"])), True),
    (_frame(x=pd.array([True, None], dtype="boolean")), _frame(x=pd.array([True, None], dtype="boolean")), True),
    (_frame(x=pd.array([True, None], dtype="boolean")), _frame(x=pd.array([True, False], dtype="boolean")), False),
    (_frame(x=pd.array(["a", None], dtype="string")), _frame(x=pd.array(["a", "b"], dtype="string")), False),
])
def test_identical_data_are_exactly_the_same(a, b, same):
    assert _identical(a, b) is same


def _variant_files(derived, tmp_path):
    """The primary analysis's derived files and a variant's, whose responder flag of one patient and PFS of one
    patient differ (and a column no endpoint reads): results named primary_input(endpoint) for every endpoint."""
    (tmp_path / "primary").mkdir()
    primary = _derived_files(derived, tmp_path / "primary")
    patients, tte, patterns = (table.copy() for table in derived)
    patients.loc[0, "responder"] = not patients.loc[0, "responder"]
    patients["unread"] = 1
    tte.loc[tte.index[(tte["endpoint"] == "pfs").to_numpy()][0], "months"] += 1.0
    (tmp_path / "variant").mkdir()
    variant = _derived_files((patients, tte, patterns), tmp_path / "variant")
    marker = tmp_path / "primary" / "result.json"
    marker.write_text('{"copied": true}\n')  # not a result the analysis would write: a copy shows
    return primary, variant, (patients, tte, patterns), marker


def test_a_variant_copies_the_endpoints_whose_data_are_the_primary_analysis_s_and_analyses_the_others(derived,
                                                                                                   tmp_path):
    primary, variant, variant_tables, marker = _variant_files(derived, tmp_path)
    endpoints = ("metastases", "response", "pfs", "os", "cns", "progression", "baseline")
    outputs = {e: str(tmp_path / f"variant_{e}.json") for e in endpoints}
    inputs = {**variant, **{primary_input(t): path for t, path in primary.items()},
              **{primary_input(e): str(marker) for e in endpoints}}
    note = run_every(inputs, outputs, settings={e: _settings(e) for e in endpoints})
    assert note == ("copied from the primary analysis (the same config and derived data): metastases, os, cns, "
                    "progression, baseline; analysed: response, pfs")
    for endpoint in ("metastases", "os", "cns", "progression", "baseline"):
        assert (tmp_path / f"variant_{endpoint}.json").read_bytes() == marker.read_bytes(), endpoint
    for endpoint in ("response", "pfs"):
        expected = tmp_path / "expected.json"
        write_json(analyse_endpoint(endpoint, *variant_tables, _settings(endpoint)), expected)
        assert (tmp_path / f"variant_{endpoint}.json").read_bytes() == expected.read_bytes(), endpoint
    # without the primary analysis's derived tables among the inputs (a variant derived as the primary
    # analysis), a shared endpoint is copied whatever the data
    outputs = {"response": str(tmp_path / "shared.json")}
    run_every({**variant, primary_input("response"): str(marker)}, outputs,
              settings={"response": _settings("response")})
    assert (tmp_path / "shared.json").read_bytes() == marker.read_bytes()


def test_a_variant_copies_the_primary_results_it_shares_and_analyses_the_others(derived, tmp_path):
    inputs = _derived_files(derived, tmp_path)
    primary = tmp_path / "primary_pfs.json"
    primary.write_text('{"copied": true}\n')  # not a result the analysis would write: a copy shows
    outputs = {e: str(tmp_path / f"variant_{e}.json") for e in ("pfs", "metastases")}
    run_every({**inputs, primary_input("pfs"): str(primary)}, outputs,
              settings={e: _settings(e) for e in outputs})
    assert (tmp_path / "variant_pfs.json").read_bytes() == primary.read_bytes()
    expected = tmp_path / "expected.json"
    write_json(analyse_endpoint("metastases", *derived, _settings("metastases")), expected)
    assert (tmp_path / "variant_metastases.json").read_bytes() == expected.read_bytes()
