"""Table 1 balance before and after inverse probability weighting (the weighting endpoint's balance block), the
love plot in both states, the weighting sentence of the narrative and the manuscript table weighting; on the
confounded data set of tests/fixtures/weighting/ and on the example run with weighting on."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from chartreview.core.config import with_defaults
from chartreview.endpoints.analyses import analyse_endpoint
from chartreview.figures import panels
from chartreview.report import summary
from chartreview.stats import balance, weighting
from chartreview.tables.manuscript import _table_weighting, format_ci
from support import EXAMPLE, FIXTURES
from support.pipeline import endpoint_results

COVARIATES = ["age", "ecog_2plus", "brain_metastases"]
GROUPS = ["ROS1", "ALK"]
TABLE1 = [{"variable": "age", "label": "Age, years", "type": "continuous"},
          {"variable": "ecog_label", "label": "ECOG PS", "type": "categorical"},
          {"variable": "brain_metastases", "label": "Brain metastases", "type": "categorical"}]
BASE = with_defaults()
IPTW = {**BASE, "groups": {"ROS1": 2, "ALK": 1}, "table1": TABLE1,
        "statistics": {**BASE["statistics"], "weighting": "iptw", "covariates": COVARIATES}}


@pytest.fixture(scope="module")
def constructed():
    """The confounded data set as derived tables (400 patients; age, ECOG and brain metastases drive both the
    group and the outcomes)."""
    data = pd.read_csv(FIXTURES / "weighting" / "constructed.csv")
    ids = [f"c{i}" for i in range(len(data))]
    patients = pd.DataFrame({"record_id": ids, "group": pd.Categorical(data["group"], categories=GROUPS),
                             **{c: data[c] for c in COVARIATES},
                             "ecog_label": np.where(data["ecog_2plus"] > 0, "2+", "0-1")})
    tte = pd.concat([pd.DataFrame({"record_id": ids, "group": patients["group"], "endpoint": name,
                                   "months": data[f"{name}_months"], "status": data[f"{name}_status"]})
                     for name in ("pfs", "os")], ignore_index=True)
    return patients, tte


@pytest.fixture(scope="module")
def weighted(constructed):
    patients, tte = constructed
    return analyse_endpoint("weighting", patients, tte, None, IPTW)


def test_balance_block_is_the_smd_of_stats_balance_with_the_stabilised_weights(constructed, weighted):
    patients, _ = constructed
    second = (patients["group"] == "ALK").to_numpy()
    model = weighting.propensity_score(second.astype(float), patients[COVARIATES].to_numpy(float), COVARIATES)
    w = weighting.stabilised_weights(second.astype(float), model.score, BASE["statistics"]["weight_trim"]).weights
    block = weighted["balance"]
    assert [v["variable"] for v in block["variables"]] == [row["variable"] for row in TABLE1]
    for v, row in zip(block["variables"], TABLE1):
        values = patients[row["variable"]]
        assert v["smd_weighted"] == pytest.approx(
            balance.standardized_mean_difference(values, second, w, kind=row["type"]).smd, rel=1e-12)
        assert v["smd_unweighted"] == pytest.approx(
            balance.standardized_mean_difference(values, second, kind=row["type"]).smd, rel=1e-12)
    age = block["variables"][0]["groups"]
    for g, in_group in (("ROS1", ~second), ("ALK", second)):
        x, wg = patients["age"].to_numpy(float)[in_group], w[in_group]
        mean = np.average(x, weights=wg)
        assert age[g]["weighted_mean"] == pytest.approx(mean, rel=1e-12)
        n = in_group.sum()
        assert age[g]["weighted_sd"] == pytest.approx(np.sqrt(np.average((x - mean) ** 2, weights=wg) * n / (n - 1)))
    ecog = block["variables"][1]["groups"]["ALK"]["weighted_percent"]
    expected = 100 * w[second & (patients["ecog_2plus"] > 0).to_numpy()].sum() / w[second].sum()
    assert ecog["2+"] == pytest.approx(expected, rel=1e-12) and sum(ecog.values()) == pytest.approx(100)
    assert block["max_smd_weighted"] == max(v["smd_weighted"] for v in block["variables"])


def test_weighting_balances_the_confounders(weighted):
    for v in weighted["balance"]["variables"]:
        assert v["smd_weighted"] < v["smd_unweighted"], v["variable"]
    assert weighted["balance"]["max_smd_unweighted"] > 0.2 > 0.1 > weighted["balance"]["max_smd_weighted"]


def svg_texts(path) -> str:
    root = ET.parse(path).getroot()
    return " ".join("".join(node.itertext()) for node in root.iter("{http://www.w3.org/2000/svg}text"))


def test_love_plot_draws_both_states(tmp_path, weighted):
    on = tmp_path / "on.json"
    on.write_text(json.dumps(weighted))
    off = tmp_path / "off.json"
    off.write_text(json.dumps({"weighting": "none", "status": "not requested", "test": None,
                               "reason": "statistics.weighting is none"}))
    for name, path in (("on", on), ("off", off)):
        panels.render_panel("love", {"weighting": path}, {"svg": tmp_path / f"{name}.svg"}, GROUPS)
    drawn = svg_texts(tmp_path / "on.svg")
    assert all(row["label"] in drawn for row in TABLE1) and "SMD 0.1" in drawn and "IPTW weighted" in drawn
    said = svg_texts(tmp_path / "off.svg")
    assert "not requested" in said and "SMD" not in said


def test_the_narrative_names_the_weighted_hazard_ratios_only_when_weighting_is_on(weighted):
    sentence = summary.weighting_sentence(weighted, "ALK", "ROS1")
    pfs = weighted["endpoints"]["pfs"]["cox"]
    assert sentence.startswith("With inverse probability of treatment weighting by age, ecog_2plus, brain_metastases")
    assert f"P={summary.format_p(pfs['p'])}) for PFS" in sentence and "robust 95% CI" in sentence
    largest = max(weighted["balance"]["variables"], key=lambda v: v["smd_weighted"])
    assert f"after weighting was {summary.round_half_up(largest['smd_weighted'], 3)} ({largest['label']}" in sentence
    off = {"weighting": "none", "status": "not requested", "test": None, "reason": "statistics.weighting is none"}
    assert summary.weighting_sentence(off, "ALK", "ROS1") == ""
    assert summary.weighting_sentence({}, "ALK", "ROS1") == ""


def test_the_weighting_table_in_both_states(weighted):
    raw, table = _table_weighting(weighted, GROUPS)
    assert table["Characteristic"].str.startswith("Age, years, mean (standard deviation)").any()
    assert list(table.columns[-2:]) == ["HR (95% CI, robust)", "P"] and table.iloc[-1]["P"] != ""
    assert raw["smd_weighted"].iloc[:-2].notna().all() and raw["variable"].iloc[-2:].tolist() == ["pfs", "os"]
    _, off = _table_weighting({"status": "not requested"}, GROUPS)
    assert len(off) == 1 and off.iloc[0]["ROS1, weighted"].startswith("not requested")


def test_a_ci_with_a_negative_bound_reads_from_to():
    assert format_ci(-24.94, 3.4) == "\u221224.9 to 3.4"
    assert format_ci(-5, -1.25) == "\u22125.0 to \u22121.3"
    assert format_ci(0.8, 2.6) == "0.8\u20132.6" and format_ci(None, 2.6) == "NR\u20132.6"
    assert format_ci(-0.04, 1.0) == "0.0\u20131.0"  # rounds to zero: no minus sign


def test_the_example_weighted_writes_no_per_patient_value(tmp_path):
    results = endpoint_results(EXAMPLE / "export_raw.csv", tmp_path,
                               config={"statistics": {"weighting": "iptw"}})
    result = json.loads(results["weighting"])
    assert result["status"] == "done" and len(result["balance"]["variables"]) == len(BASE["table1"])
    patients = pd.read_parquet(tmp_path / "results/derived/patients.parquet")

    def lists(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from lists(v)
        elif isinstance(value, list):
            yield value
            for v in value:
                yield from lists(v)

    def strings(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
        elif isinstance(value, str):
            yield value

    assert all(len(v) < len(patients) // 2 for v in lists(result))
    # the example's record ids are 1, 2, ...: ECOG levels "0" to "4" are the only strings that may equal one
    levels = {lv for v in result["balance"]["variables"] for lv in v.get("levels", [])}
    assert not (set(strings(result)) - levels) & set(patients["record_id"].astype(str))
    assert "record" not in results["weighting"].decode()
