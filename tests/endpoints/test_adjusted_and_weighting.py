"""The CNS endpoint's adjusted Fine-Gray and cause-specific Cox models, and the weighting endpoint (IPTW), on
hand-built derived tables (endpoint_helpers.py): labels, the patients left out for a missing covariate, the
kernels' values, and reasons in place of estimates in degenerate cases."""

import json

import numpy as np
import pytest

from chartreview.endpoints.analyses import analyse_endpoint
from chartreview.stats import competing_risks, survival, weighting
from support.endpoint_helpers import CONFIG, derived_tables, run

COVARIATES = ["age", "ecog_2plus", "brain_metastases"]
AGE_ONLY = {**CONFIG, "statistics": {**CONFIG["statistics"], "covariates": ["age"]}}
IPTW = {**CONFIG, "statistics": {**CONFIG["statistics"], "weighting": "iptw"}}


@pytest.fixture(scope="module")
def derived():
    return derived_tables()


def _cns_arrays(derived):
    patients, tte, _ = derived
    cns = tte[tte["endpoint"] == "cns"].merge(patients[["record_id", *COVARIATES]], on="record_id")
    x = (cns["group"].astype(str) == "ALK").to_numpy(float)
    X = np.column_stack([x, cns[COVARIATES].astype("Float64").to_numpy(float, na_value=np.nan)])
    known = ~np.isnan(X).any(axis=1)
    assert not known.all()  # the helper tables have patients of unknown age
    return cns["months"].to_numpy(float), cns["status"].to_numpy(), X, known


def test_cns_reports_both_hazard_ratios_labelled(derived):
    result = run("cns", derived, AGE_ONLY)
    assert result["fine_gray"]["label"] == "subdistribution HR (Fine-Gray)"
    assert result["fine_gray_adjusted"]["label"] == "subdistribution HR (Fine-Gray), adjusted"
    assert result["cause_specific"]["label"] == "cause-specific HR"
    assert result["cause_specific_adjusted"]["label"] == "cause-specific HR, adjusted"
    assert "shr" in result["fine_gray_adjusted"]["terms"]["ALK vs ROS1"]
    assert "hr" in result["cause_specific"] and "shr" not in result["cause_specific"]
    time, status, X, known = _cns_arrays(derived)
    names = ["ALK vs ROS1", "age"]
    X = X[:, :2]
    fg = competing_risks.fine_gray(time[known], status[known], X[known], names)
    term = result["fine_gray_adjusted"]["terms"]["ALK vs ROS1"]
    assert term["shr"] == pytest.approx(fg.shr[0], rel=1e-12) and term["p"] == pytest.approx(fg.p[0], rel=1e-12)
    cs = competing_risks.cause_specific_cox(time, status, X[:, :1], names[:1])
    assert result["cause_specific"]["hr"] == pytest.approx(cs.hr[0], rel=1e-12)
    assert result["cause_specific"]["covariates"] == [] and result["fine_gray_adjusted"]["covariates"] == ["age"]


def test_covariate_level_without_cns_progression_gives_reasons(derived):
    """No patient with ECOG 2+ has CNS progression in the helper tables: the likelihood of both adjusted
    models is monotone in ecog_2plus, so they say so instead of reporting a number."""
    result = run("cns", derived)
    assert "monotone likelihood) for ecog_2plus" in result["cause_specific_adjusted"]["reason"]
    assert "diverges" in result["fine_gray_adjusted"]["reason"]
    assert result["fine_gray_adjusted"]["terms"]["ALK vs ROS1"]["shr"] is None


def test_patients_with_a_missing_covariate_are_left_out_and_counted(derived):
    patients, tte, patterns = derived
    patients = patients.copy()
    already = int(patients["age"].isna().sum())
    patients["ecog_2plus"] = patients["ecog_2plus"].astype("boolean")
    patients.loc[patients.index[patients["age"].notna()][:3], "ecog_2plus"] = None
    missing = already + 3
    result = analyse_endpoint("cns", patients, tte, patterns, CONFIG)
    n = len(patients)
    for key in ("fine_gray_adjusted", "cause_specific_adjusted"):
        assert result[key]["excluded_missing_covariates"] == missing and result[key]["n"] == n - missing
    assert result["cause_specific"]["excluded_missing_covariates"] == 0 and result["cause_specific"]["n"] == n
    weighted = analyse_endpoint("weighting", patients, tte, patterns, IPTW)
    assert weighted["excluded_missing_covariates"] == missing and weighted["propensity_model"]["n"] == n - missing


def test_covariate_aliased_with_the_group_gives_a_reason(derived):
    """brain_metastases equal to the group indicator (constant within each group): no adjusted model, and
    the propensity model is separated by it."""
    patients, tte, patterns = derived
    patients = patients.copy()
    patients["brain_metastases"] = patients["group"].astype(str) == "ALK"
    result = analyse_endpoint("cns", patients, tte, patterns, CONFIG)
    for key in ("fine_gray_adjusted", "cause_specific_adjusted"):
        assert "aliased" in result[key]["reason"] and result[key]["terms"]["ALK vs ROS1"]["p"] is None
    assert result["cause_specific"]["reason"] is None  # the unadjusted model does not read covariates
    weighted = analyse_endpoint("weighting", patients, tte, patterns, IPTW)
    assert weighted["status"] == "not estimable" and "separation" in weighted["reason"]
    assert weighted["propensity_model"]["separation"] == ["brain_metastases"] and "weights" not in weighted


def test_no_cns_progression_in_a_group_gives_reasons(derived):
    patients, tte, patterns = derived
    tte = tte.copy()
    tte.loc[(tte["endpoint"] == "cns") & (tte["group"] == "ROS1") & (tte["status"] == 1), "status"] = 0
    result = analyse_endpoint("cns", patients, tte, patterns, CONFIG)
    for key in ("fine_gray_adjusted", "cause_specific", "cause_specific_adjusted"):
        assert "no CNS progression in ROS1" in result[key]["reason"]


def test_weighting_is_not_requested_by_default(derived):
    assert run("weighting", derived) == {"weighting": "none", "status": "not requested", "test": None,
                                         "reason": "statistics.weighting is none"}


def test_weighting_endpoint(derived):
    patients, tte, patterns = derived
    result = analyse_endpoint("weighting", patients, tte, patterns, IPTW)
    assert result["status"] == "done" and result["indicated_group"] == "ALK"
    assert list(result["propensity_model"]["terms"]) == ["(Intercept)", *COVARIATES]
    treated = (patients["group"].astype(str) == "ALK").to_numpy(float)
    X = patients[COVARIATES].astype("Float64").to_numpy(float, na_value=np.nan)
    known = ~np.isnan(X).any(axis=1)
    patients, treated, X = patients[known], treated[known], X[known]
    assert result["excluded_missing_covariates"] == int((~known).sum()) > 0
    model = weighting.propensity_score(treated, X, COVARIATES)
    assert result["propensity_model"]["terms"]["age"]["coef"] == pytest.approx(model.coef[1], rel=1e-12)
    w = weighting.stabilised_weights(treated, model.score, CONFIG["statistics"]["weight_trim"]).weights
    weights = result["weights"]
    assert weights["trim"] == [0.01, 0.99] and weights["overall"]["sum"] == pytest.approx(w.sum())
    assert set(weights["groups"]) == {"ROS1", "ALK"}
    pfs = tte[tte["endpoint"] == "pfs"].set_index("record_id").loc[patients["record_id"]]
    cox = survival.cox_regression(pfs["months"], pfs["status"], treated, ["g"], weights=w, robust=True)
    block = result["endpoints"]["pfs"]["cox"]
    assert block["hr"] == pytest.approx(cox.hr[0], rel=1e-12) and block["robust_se"] == pytest.approx(cox.se[0])
    assert set(result["endpoints"]["pfs"]["groups"]["ROS1"]) >= {"median", "median_ci", "weighted_n"}
    # nothing per patient: no list as long as the cohort
    text = json.dumps(result)
    assert all(len(v) < len(patients) for v in _lists(result))
    assert "record" not in text


def test_weighting_untruncated(derived):
    config = {**IPTW, "statistics": {**IPTW["statistics"], "weight_trim": None}}
    result = run("weighting", derived, config)
    assert result["weights"]["trim"] is None and result["weights"]["truncated_high"] == 0
    assert "not truncated" in result["weights"]["method"]


def _lists(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _lists(v)
    elif isinstance(value, list):
        yield value
