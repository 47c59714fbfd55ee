"""chartreview.stats.competing_risks against R's cmprsk (recorded by tests/fixtures/r/competing_reference.R), and
its degenerate cases."""

import json
import time as clock

import numpy as np
import pandas as pd
import pytest

from chartreview.stats.competing_risks import (
    cause_specific_cox,
    cif_at,
    cumulative_incidence,
    fine_gray,
    gray_test,
)
from support import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "competing"
DATASETS = sorted(p.stem for p in FIXTURES.glob("*.csv"))
RTOL = 1e-6


def load(name):
    data = pd.read_csv(FIXTURES / f"{name}.csv")
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return data, expected


def close(actual, expected, rtol=RTOL):
    """Relative agreement, with None/null and NaN treated alike."""
    actual = np.array([np.nan if v is None else v for v in np.atleast_1d(actual)], dtype=float)
    expected = np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-12, equal_nan=True)


def test_at_least_three_datasets_with_reference_values():
    assert len(DATASETS) >= 3
    for name in DATASETS:
        assert (FIXTURES / f"{name}.expected.json").is_file(), (
            f"run Rscript tests/fixtures/r/competing_reference.R ({name})")


@pytest.mark.parametrize("name", DATASETS)
def test_cumulative_incidence_matches_cuminc(name):
    data, expected = load(name)
    checked = 0
    for group, block in expected["groups"].items():
        sel = (data["group"] == group).to_numpy()
        for cause in (1, 2):
            cif = cumulative_incidence(data["time"][sel], data["status"][sel], cause, expected["conf_level"])
            ref = block["causes"].get(str(cause))
            if ref is None:  # cuminc has no curve for a cause absent from the group: the CIF is 0
                assert not (data["status"][sel] == cause).any()
                assert np.all(cif.estimate == 0) and np.all(cif.variance == 0)
                continue
            close(cif.time, ref["time"])
            close(cif.estimate, ref["estimate"])
            close(cif.variance, ref["variance"])
            close(cif.lower, ref["lower"])
            close(cif.upper, ref["upper"])
            points = cif_at(cif, ref["at"]["time"])
            close([p.estimate for p in points], ref["at"]["estimate"])
            close([p.variance for p in points], ref["at"]["variance"])
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("name", DATASETS)
def test_gray_test_matches_cuminc(name):
    data, expected = load(name)
    for ref in expected["gray"]:
        result = gray_test(data["time"], data["status"], data["group"], cause=ref["cause"])
        assert result.df == ref["df"]
        close(result.statistic, ref["stat"])
        close(result.p, ref["p"])


@pytest.mark.parametrize("name", DATASETS)
def test_fine_gray_matches_crr(name):
    data, expected = load(name)
    groups = list(dict.fromkeys(data["group"]))
    columns = {"group": (data["group"] == groups[1]).astype(float).to_numpy() if len(groups) > 1 else None,
               "x": data["x"].to_numpy(dtype=float)}
    assert expected["fine_gray"]
    for ref in expected["fine_gray"].values():
        X = np.column_stack([columns[n] for n in ref["names"]])
        model = fine_gray(data["time"], data["status"], X, ref["names"])
        assert model.converged and ref["converged"]
        for key, attribute in (("coef", "coef"), ("se", "se"), ("shr", "shr"), ("lower", "lower"),
                               ("upper", "upper"), ("p", "p")):
            close(getattr(model, attribute), ref[key])


def test_example_gray_p_reproduces_the_published_value():
    """The study's CNS comparison is Gray's test: on the example's derived CNS endpoint cmprsk and this
    module agree, and the P rounds to the published 0.914."""
    data, expected = load("example_cns")
    ref = next(r for r in expected["gray"] if r["cause"] == 1)
    p = gray_test(data["time"], data["status"], data["group"]).p
    assert p == pytest.approx(ref["p"], rel=RTOL)
    assert round(p, 3) == 0.914


ADJUSTED = FIXTURES / "adjusted"
COVARIATES = ["age", "ecog_2plus", "brain_metastases"]


@pytest.mark.parametrize("name", ["example_cns", "constructed"])
def test_adjusted_fine_gray_and_cause_specific_cox_match_crr_and_coxph(name):
    """crr(time, status, cbind(group, covariates)) and coxph(Surv(time, status == 1) ~ group + covariates),
    unadjusted and adjusted, patients with a missing covariate dropped (na.omit)."""
    data = pd.read_csv(ADJUSTED / f"{name}.csv")
    expected = json.loads((ADJUSTED / f"{name}.expected.json").read_text())
    data["group"] = (data["group"] == expected["other"]).astype(float)
    complete = data.dropna()
    assert len(complete) == expected["n_complete"] and (name == "example_cns" or len(complete) < len(data))
    for key, frame in (("crr", data), ("crr_adjusted", complete)):
        ref = expected[key]
        model = fine_gray(frame["time"], frame["status"], frame[ref["names"]].to_numpy(), ref["names"])
        assert model.converged and model.n == ref["n"]
        for attribute in ("coef", "se", "shr", "lower", "upper", "p"):
            close(getattr(model, attribute), ref[attribute])
    for key in ("cause_specific", "cause_specific_adjusted"):
        ref = expected[key]
        model = cause_specific_cox(data["time"], data["status"], data[ref["names"]].to_numpy(), ref["names"])
        assert model.reason is None and (model.n, model.events) == (ref["n"], ref["events"])
        for attribute, r in (("coef", "coef"), ("se", "se"), ("hr", "hr"), ("hr_lower", "lower"),
                             ("hr_upper", "upper"), ("p", "p")):
            close(getattr(model, attribute), ref[r])


def test_cause_specific_cox_censors_competing_events():
    """The cause-specific HR is the Cox HR of the cause with competing events as censorings."""
    data, _ = load("realistic")
    x = (data["group"] == "ALK").to_numpy(float)
    model = cause_specific_cox(data["time"], data["status"], x, ["ALK"], cause=2)
    from chartreview.stats.survival import cox_regression
    direct = cox_regression(data["time"], (data["status"] == 2).astype(float), x, ["ALK"])
    assert model.coef[0] == direct.coef[0] and model.events == int((data["status"] == 2).sum())


def test_adjusted_models_with_a_cause_without_events_or_a_degenerate_covariate():
    time = np.arange(1.0, 21.0)
    status = np.tile([0, 2], 10)
    X = np.column_stack([np.repeat([0.0, 1.0], 10), np.arange(20.0)])
    assert cause_specific_cox(time, status, X, ["g", "age"]).reason == "no events: no hazard ratio"
    assert fine_gray(time, status, X, ["g", "age"]).reason == "no event of cause 1"
    status = np.tile([1, 2, 0, 1], 5)
    constant = np.column_stack([X[:, 0], np.ones(20)])
    assert "no variation in ecog" in cause_specific_cox(time, status, constant, ["g", "ecog"]).reason
    assert "singular" in fine_gray(time, status, constant, ["g", "ecog"]).reason
    # a covariate constant within one group only: both models still exist
    rng = np.random.default_rng(11)
    g = np.repeat([0.0, 1.0], 40)
    within = np.column_stack([g, np.where(g > 0, rng.integers(0, 3, 80), 0.0)])
    time, status = rng.exponential(10, 80), rng.choice([0, 1, 2], 80)
    assert cause_specific_cox(time, status, within, ["g", "x"]).reason is None
    assert fine_gray(time, status, within, ["g", "x"]).reason is None


# ----------------------------------------------------------------------------- degenerate cases


def test_group_without_events():
    time = np.array([1.0, 3, 5, 7, 9, 11, 2, 4, 6, 8, 10, 12])
    status = np.array([0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 1, 2])
    group = np.array(["a"] * 6 + ["b"] * 6)
    cif = cumulative_incidence(time[:6], status[:6])
    assert cif.events == 0 and cif.censored == 6
    assert list(cif.time) == [0.0, 11.0] and list(cif.estimate) == [0.0, 0.0]
    assert np.isnan(cif.lower).all()  # the log(-log) interval does not exist at 0
    point = cif_at(cif, [2.0, 12.0])
    assert point[0].estimate == 0.0 and point[0].lower is None
    assert point[1].estimate is None  # after the last follow-up, as cmprsk::timepoints
    # cmprsk::cuminc(time, status, group)$Tests: stat 1.902666252791656, p 0.167780183919606
    result = gray_test(time, status, group)
    assert result.statistic == pytest.approx(1.902666252791656, rel=RTOL)
    assert result.p == pytest.approx(0.167780183919606, rel=RTOL)
    model = fine_gray(time, status, (group == "b").astype(float), ["b"])
    assert model.reason is not None and np.isnan(model.coef).all()


def test_gray_test_without_overlap_is_singular_not_an_error():
    """Group a is followed only before group b's events: cmprsk reports stat -1; here p is None."""
    time = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    status = np.array([0, 0, 0, 0, 1, 2, 1, 0])
    result = gray_test(time, status, np.array(["a"] * 4 + ["b"] * 4))
    assert result.p is None and "singular" in result.reason


def test_all_censored():
    time = np.arange(1.0, 11.0)
    status = np.zeros(10, dtype=int)
    group = np.repeat(["a", "b"], 5)
    cif = cumulative_incidence(time, status)
    assert np.all(cif.estimate == 0)
    result = gray_test(time, status, group)
    assert result.p is None and "no event" in result.reason
    model = fine_gray(time, status, (group == "b").astype(float), ["b"])
    assert model.reason == "no event of cause 1"


def test_cause_absent_in_one_group():
    data, expected = load("absent_cause")
    ros1 = (data["group"] == "ROS1").to_numpy()
    assert not (data["status"][ros1] == 1).any()
    cif = cumulative_incidence(data["time"][ros1], data["status"][ros1], 1)
    assert np.all(cif.estimate == 0)
    result = gray_test(data["time"], data["status"], data["group"])
    assert result.p is not None and result.p < 0.05
    model = fine_gray(data["time"], data["status"], (~ros1).astype(float), ["ALK"])
    assert model.reason is not None and "diverges" in model.reason


def test_one_patient():
    # cmprsk::cuminc(2, 1): estimate 1 and variance 1 at time 2 (Aalen's variance with one at risk)
    cif = cumulative_incidence([2.0], [1])
    assert list(cif.time) == [0.0, 2.0]
    assert list(cif.estimate) == [0.0, 1.0] and list(cif.variance) == [0.0, 1.0]
    assert gray_test([2.0], [1], ["a"]).reason == "fewer than two groups"
    model = fine_gray([2.0], [1], [[1.0]], ["x"])
    assert model.reason is not None


def test_small_cases_agree_with_cmprsk_by_hand():
    # values printed by cmprsk::cuminc for these data (see the module docstring)
    cif = cumulative_incidence([2.0, 3.0], [1, 1])
    assert list(cif.estimate) == [0.0, 0.5, 1.0] and list(cif.variance) == [0.0, 0.25, 0.25]
    cif = cumulative_incidence([2.0, 2.0], [1, 1])
    assert list(cif.estimate) == [0.0, 1.0] and list(cif.variance) == [0.0, 0.0]
    cif = cumulative_incidence([2.0, 2.0, 2.0], [1, 2, 0])
    assert cif.estimate[-1] == pytest.approx(1 / 3) and cif.variance[-1] == pytest.approx(1 / 9)


def test_ties_are_exact_not_jittered():
    """Tied times give one jump (not one per patient, as a jittering estimator would)."""
    cif = cumulative_incidence([1.0, 1.0, 1.0, 2.0], [1, 1, 2, 0])
    assert list(cif.time) == [0.0, 1.0, 2.0]
    assert cif.estimate[1] == pytest.approx(0.5)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="non-negative"):
        cumulative_incidence([-1.0], [1])
    with pytest.raises(ValueError, match="same length"):
        cumulative_incidence([1.0, 2.0], [1])


def test_scale_is_n_log_n():
    """CIF and Gray's test on 200,000 patients in well under the time a per-patient loop would take."""
    rng = np.random.default_rng(1)
    n = 200_000
    time = np.round(rng.exponential(20, n), 2)
    status = rng.choice([0, 1, 2], n, p=[0.3, 0.3, 0.4])
    group = rng.choice(["ROS1", "ALK"], n)
    began = clock.perf_counter()
    cumulative_incidence(time, status)
    result = gray_test(time, status, group)
    assert result.p is not None
    assert clock.perf_counter() - began < 10.0
