"""chartreview.stats.weighting and the weighted Kaplan-Meier and Cox kernels against R (glm, survfit with
weights, coxph with weights and robust = TRUE; recorded by tests/fixtures/r/weighting_reference.R), and the
degenerate cases of the propensity model."""

import json

import numpy as np
import pandas as pd
import pytest

from chartreview.stats import survival, weighting
from support import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "weighting"
DATASETS = sorted(p.stem for p in FIXTURES.glob("*.csv"))
COVARIATES = ["age", "ecog_2plus", "brain_metastases"]
RTOL = 1e-6


def close(actual, expected, rtol=RTOL):
    actual = np.array([np.nan if v is None else v for v in np.atleast_1d(actual)], dtype=float)
    expected = np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-12, equal_nan=True)


@pytest.fixture(scope="module", params=DATASETS)
def case(request):
    data = pd.read_csv(FIXTURES / f"{request.param}.csv")
    expected = json.loads((FIXTURES / f"{request.param}.expected.json").read_text())
    treated = (data["group"] == expected["other"]).to_numpy(dtype=float)
    model = weighting.propensity_score(treated, data[COVARIATES].to_numpy(dtype=float), COVARIATES)
    return data, expected, treated, model


def test_two_datasets_with_reference_values():
    assert set(DATASETS) >= {"example", "constructed"}


def test_propensity_score_matches_glm(case):
    _, expected, _, model = case
    ref = expected["propensity"]
    assert model.reason is None and model.converged
    assert list(model.names) == ref["names"]
    for key in ("coef", "se", "z", "p", "deviance", "null_deviance"):
        close(getattr(model, key), ref[key])
    close(model.score, ref["score"])


def test_stabilised_weights_and_their_truncation_match_r(case):
    _, expected, treated, model = case
    close(weighting.stabilised_weights(treated, model.score, None).weights, expected["weights"])
    truncated = weighting.stabilised_weights(treated, model.score, (0.01, 0.99))
    close(truncated.weights, expected["truncated"])
    close(truncated.bounds, expected["bounds"])
    raw = np.asarray(expected["weights"])
    assert truncated.truncated_low == int((raw < expected["bounds"][0]).sum()) >= 1
    assert truncated.truncated_high == int((raw > expected["bounds"][1]).sum()) >= 1


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_weighted_kaplan_meier_and_robust_cox_match_survival(case, endpoint):
    data, expected, treated, _ = case
    w = np.asarray(expected["truncated"])
    time, event = data[f"{endpoint}_months"].to_numpy(float), data[f"{endpoint}_status"].to_numpy(float)
    block = expected["endpoints"][endpoint]
    for group, ref in block["km"].items():
        sel = (data["group"] == group).to_numpy()
        km = survival.kaplan_meier(time[sel], event[sel], weights=w[sel])
        close(km.time, ref["time"])
        close(km.n_risk, ref["n_risk"])
        close(km.n_event, ref["n_event"])
        close(km.survival, ref["survival"])
        close(km.lower, ref["lower"])
        close(km.upper, ref["upper"])
        # survfit's std.err with weights is on the survival scale; ours is on the log scale of its CI
        with np.errstate(invalid="ignore"):
            on_survival_scale = np.where(km.survival > 0, km.std_err * km.survival, 0.0)
        close(on_survival_scale, ref["std_err_survival_scale"])
        median = survival.km_median(km)
        close([median.estimate, median.lower, median.upper], [ref["median"], ref["median_lower"], ref["median_upper"]])
    ref = block["cox"]
    cox = survival.cox_regression(time, event, treated, ["group"], weights=w, robust=True)
    assert cox.reason is None and cox.robust
    close(cox.coef, ref["coef"])
    close(cox.se, ref["robust_se"])
    close([cox.hr[0], cox.hr_lower[0], cox.hr_upper[0]], [ref["hr"], ref["lower"], ref["upper"]])
    close([cox.z[0], cox.p[0], cox.wald_test], [ref["z"], ref["p"], ref["robust_wald"]])
    naive = survival.cox_regression(time, event, treated, ["group"], weights=w)
    close(naive.se, ref["naive_se"])


def test_unit_weights_give_the_unweighted_estimates():
    """Weights of 1: the curve and HR of the unweighted kernels (the Efron terms then have mean weight 1)."""
    rng = np.random.default_rng(3)
    time = np.ceil(rng.exponential(10, 200))
    event = (rng.random(200) < 0.7).astype(float)
    x = (rng.random(200) < 0.5).astype(float)
    plain, weighted = survival.kaplan_meier(time, event), survival.kaplan_meier(time, event, weights=np.ones(200))
    np.testing.assert_allclose(weighted.survival, plain.survival, rtol=1e-12)
    cox = survival.cox_regression(time, event, x, ["x"])
    cox_w = survival.cox_regression(time, event, x, ["x"], weights=np.ones(200))
    np.testing.assert_allclose([cox_w.coef[0], cox_w.se[0]], [cox.coef[0], cox.se[0]], rtol=1e-10)


# ----------------------------------------------------------------------------- degenerate cases


def test_complete_separation_is_named_not_fitted():
    age = np.arange(40.0, 60.0)
    treated = (age >= 50).astype(float)
    model = weighting.propensity_score(treated, age[:, None], ["age"])
    assert model.score is None and model.separated == ("age",)
    assert "separation" in model.reason and "age" in model.reason


def test_covariate_constant_within_a_group_is_quasi_complete_separation():
    """No patient of the reference group has brain metastases: P(other | brain) = 1, no MLE (glm would
    report a huge coefficient)."""
    rng = np.random.default_rng(5)
    treated = np.repeat([0.0, 1.0], 30)
    brain = np.where(treated > 0, rng.random(60) < 0.4, False).astype(float)
    age = rng.normal(60, 8, 60)
    model = weighting.propensity_score(treated, np.column_stack([age, brain]), ["age", "brain_metastases"])
    assert model.separated == ("brain_metastases",)
    assert "quasi-complete" in model.reason


def test_no_separation_when_the_groups_overlap():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(80, 2))
    treated = (rng.random(80) < 0.5).astype(float)
    assert weighting.separation(treated, X, ["a", "b"]) == ()


def test_constant_covariate_and_empty_group_give_reasons():
    treated = np.array([0.0, 1.0] * 10)
    model = weighting.propensity_score(treated, np.ones((20, 1)), ["ecog_2plus"])
    assert model.score is None and "ecog_2plus aliased" in model.reason
    model = weighting.propensity_score(np.ones(20), np.arange(20.0)[:, None], ["age"])
    assert "empty" in model.reason


def test_bad_input_raises():
    with pytest.raises(ValueError, match="missing"):
        weighting.propensity_score(np.array([0.0, 1.0]), np.array([[np.nan], [1.0]]), ["age"])
    with pytest.raises(ValueError, match="strictly between"):
        weighting.stabilised_weights(np.array([0.0, 1.0]), np.array([0.0, 0.5]))
    with pytest.raises(ValueError, match="quantiles"):
        weighting.stabilised_weights(np.array([0.0, 1.0]), np.array([0.5, 0.5]), (0.9, 0.1))
    with pytest.raises(ValueError, match="positive"):
        survival.kaplan_meier([1.0, 2.0], [1, 0], weights=[1.0, -1.0])


def test_weight_summary():
    summary = weighting.weight_summary(np.array([1.0, 1.0, 2.0, 4.0]))
    assert (summary.n, summary.sum, summary.minimum, summary.maximum) == (4, 8.0, 1.0, 4.0)
    assert summary.median == 1.5 and summary.effective_n == pytest.approx(64 / 22)
