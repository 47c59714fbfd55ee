"""The cox.zph and RMST blocks of summarise_time_to_event (the pfs/os result of every time-to-event endpoint
analysed that way) against the recorded R values, with the configured and default tau and degenerate data;
the survival table and the narrative that show them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from chartreview.endpoints import time_to_event as tte
from chartreview.report.summary import survival_notes
from chartreview.tables.manuscript import _table_survival
from support import FIXTURES

COVARIATES = ["age", "ecog_2plus", "brain_metastases"]


def load(name: str) -> tuple[pd.DataFrame, dict]:
    csv = FIXTURES / "survival" / f"{name}.csv"
    if not csv.exists():
        csv = FIXTURES / "ph_rmst" / f"{name}.csv"
    d = pd.read_csv(csv)
    labels = list(pd.unique(d["group"]))
    data = pd.DataFrame({"group": pd.Categorical(d["group"], categories=labels), "months": d["time"],
                         "status": d["status"], "age": d["age"].astype(float),
                         "ecog_2plus": d["ecog_2plus"].astype("boolean"),
                         "brain_metastases": d["brain_metastases"].astype(bool)})
    return data, json.loads((FIXTURES / "ph_rmst" / f"{name}.expected.json").read_text(), parse_constant=float)


def summarise(data, **kwargs):
    return tte.summarise_time_to_event(data, groups=list(data["group"].cat.categories), landmarks=[6],
                                       covariates=COVARIATES, **kwargs)


@pytest.mark.parametrize("name", ["heavy_ties", "constant_in_group", "single_patient"])
def test_result_carries_r_cox_zph_and_rmst(name):
    data, expected = load(name)
    result = summarise(data)
    ph, adjusted = result["cox"]["proportional_hazards"], result["cox_adjusted"]["proportional_hazards"]
    np.testing.assert_allclose(ph["terms"]["group"]["chisq"], expected["zph"]["chisq"][0], rtol=1e-6)
    np.testing.assert_allclose([adjusted["terms"][t]["p"] for t in ["group", *COVARIATES]],
                               expected["zph_adjusted"]["p"], rtol=1e-6)
    np.testing.assert_allclose(adjusted["global"]["chisq"], expected["zph_adjusted"]["global"]["chisq"], rtol=1e-6)
    residuals = ph["residuals"]
    assert residuals["events"] == len(expected["zph"]["time"]) == len(residuals["beta"])
    np.testing.assert_allclose(residuals["smooth"]["estimate"], expected["zph"]["smooth"][0]["estimate"], rtol=1e-6)
    rmst, want = result["rmst"], expected["rmst"][0]
    assert rmst["tau"] == expected["rmst_default_tau"] and "default" in rmst["tau_source"]
    for label, group in want["groups"].items():
        np.testing.assert_allclose(rmst["groups"][label]["estimate"], group["estimate"], rtol=1e-6)
    np.testing.assert_allclose([rmst["difference"]["estimate"], *rmst["difference"]["ci"], rmst["ratio"]["p"]],
                               [want["difference"][k] for k in ("estimate", "lower", "upper")] + [want["ratio"]["p"]],
                               rtol=1e-6)
    json.dumps(result, allow_nan=False)


def test_configured_tau_and_tau_beyond_follow_up():
    data, expected = load("not_reached")
    twelve = next(r for r in expected["rmst"] if r["tau"] == 12)
    result = summarise(data, rmst_tau=12)
    assert result["rmst"]["tau"] == 12 and result["rmst"]["tau_source"].startswith("configured")
    np.testing.assert_allclose(result["rmst"]["ratio"]["ci"], [twelve["ratio"]["lower"], twelve["ratio"]["upper"]],
                               rtol=1e-6)
    late = summarise(data, rmst_tau=500)["rmst"]
    assert late["groups"]["ROS1"]["estimate"] is None
    assert late["groups"]["ROS1"]["reason"].startswith("ROS1: tau = 500 is beyond the last follow-up time")
    assert late["difference"]["reason"] == late["groups"]["ROS1"]["reason"] and late["ratio"]["p"] is None


def test_no_events_gives_reasons_not_a_crash():
    data = pd.DataFrame({"group": pd.Categorical(["A", "A", "B", "B"], categories=["A", "B"]),
                         "months": [1.0, 2.0, 3.0, 4.0], "status": [0, 0, 0, 0], "age": [50.0, 60, 70, 65],
                         "ecog_2plus": [True, False, True, False], "brain_metastases": [True, False, False, True]})
    result = summarise(data)
    assert result["cox"]["proportional_hazards"]["reason"] == "no events: no hazard ratio"
    assert result["cox"]["proportional_hazards"]["residuals"]["beta"] == []
    assert result["rmst"]["tau"] == 2.0 and result["rmst"]["groups"]["B"]["estimate"] == 2.0
    assert result["rmst"]["difference"]["p"] is None and "standard error 0" in result["rmst"]["difference"]["reason"]


def test_residuals_are_thinned_evenly_beyond_the_limit(monkeypatch):
    monkeypatch.setattr(tte, "PH_RESIDUALS_SHOWN", 10)
    data, expected = load("heavy_ties")
    plot = summarise(data)["cox"]["proportional_hazards"]["residuals"]
    assert len(plot["beta"]) == 10 and plot["events"] == len(expected["zph"]["time"])
    assert plot["time"][0] == expected["zph"]["time"][0] and plot["time"][-1] == expected["zph"]["time"][-1]


def test_table_and_narrative_show_rmst_and_warn_on_non_proportional_hazards():
    data, _ = load("study_like")
    result = {"endpoint": "pfs", **summarise(data)}
    raw, table = _table_survival({"pfs": result}, ["ROS1", "ALK"])
    assert table.loc[1, "RMST difference, months (95% CI)"] == "\u22127.8 (\u221215.2 to \u22120.3)"
    assert table.loc[0, "PH test P"] == "0.284" and raw.loc[1, "rmst_ratio_p"] == result["rmst"]["ratio"]["p"]
    notes = survival_notes({"pfs": result}, ["ROS1", "ALK"])
    assert notes == ["Warning: the proportional-hazards assumption of the PFS Cox models is doubtful (cox.zph: "
                     "ecog_2plus in the adjusted model, P=0.014): the hazard ratio then averages a ratio that "
                     "changes over time; read the restricted mean survival time below instead.",
                     "PFS restricted mean survival time to 37.8 months (ROS1 vs. ALK): 17.1 vs. 9.3 months; "
                     "difference -7.8 months (-15.2 to -0.3), P=0.041; ratio 0.55 (0.33–0.90), P=0.018."]
