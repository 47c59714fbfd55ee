"""chartreview.stats.survival and chartreview.endpoints.time_to_event against R's survival package (recorded
fixtures) and on degenerate data.

The R values are in tests/fixtures/survival/<name>.expected.json, written by
tests/fixtures/r/survival_reference.R from tests/fixtures/survival/<name>.csv (format documented
there). Every CSV with a recorded expectation is a parity case, so new data sets need no test code.
"""

from __future__ import annotations

import json
import time as clock

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chartreview.core.result_files import time_key
from chartreview.endpoints import time_to_event as tte
from chartreview.stats import survival as sv
from chartreview.stats.counting import distinct_times
from support import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "survival"
DATASETS = sorted(p.name.removesuffix(".expected.json") for p in FIXTURES.glob("*.expected.json"))
RTOL, ATOL = 1e-6, 1e-12
COVARIATES = ["age", "ecog_2plus", "brain_metastases"]
SUBGROUPS = ["sex", "age_lt_65", "ecog", "line", "brain_metastases"]


# ---- helpers ---------------------------------------------------------------------------------
def assert_close(actual, expected, what: str) -> None:
    """Equal to R within 1e-6 relative (1e-12 absolute near zero); None/NaN match null/NA."""
    a = np.atleast_1d(np.asarray([np.nan if v is None else v for v in np.atleast_1d(actual)],
                                 dtype=float))
    e = np.atleast_1d(np.asarray([np.nan if v is None else v for v in np.atleast_1d(expected)],
                                 dtype=float))
    assert a.shape == e.shape, f"{what}: {a.shape} values, R has {e.shape}"
    assert np.array_equal(np.isnan(a), np.isnan(e)), f"{what}: missing differ\n{a}\n{e}"
    ok = ~np.isnan(e)
    np.testing.assert_allclose(a[ok], e[ok], rtol=RTOL, atol=ATOL, err_msg=what)


def load_csv(name: str) -> pd.DataFrame:
    """A fixture CSV as the derived data summarise_time_to_event reads."""
    d = pd.read_csv(FIXTURES / f"{name}.csv")
    labels = list(pd.unique(d["group"]))
    return pd.DataFrame({
        "group": pd.Categorical(d["group"], categories=labels),
        "months": d["time"].astype(float),
        "status": d["status"].astype("int8"),
        "age": d["age"].astype(float),
        "ecog_2plus": d["ecog_2plus"].astype("boolean"),
        "brain_metastases": d["brain_metastases"].astype(bool),
        "sex": pd.Categorical(d["sex"], categories=["Male", "Female"]),
        "age_lt_65": d["age_lt_65"].astype(bool),
        "criz_line": pd.Categorical(d["criz_line"], categories=["First", "Second",
                                                                 "Third or later"]),
    })


def load_expected(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.expected.json").read_text(), parse_constant=float)


@pytest.fixture(scope="module", params=DATASETS)
def case(request):
    name = request.param
    data = load_csv(name)
    expected = load_expected(name)
    labels = list(data["group"].cat.categories)
    result = tte.summarise_time_to_event(
        data, groups=labels, landmarks=expected["landmarks"], covariates=COVARIATES,
        subgroups=SUBGROUPS, conf_level=0.95)
    return name, data, expected, result


def test_at_least_three_parity_datasets():
    assert {"study_like", "heavy_ties", "not_reached", "flat_half"} <= set(DATASETS)


# ---- Kaplan-Meier ----------------------------------------------------------------------------
CURVE_KEYS = ["time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"]


def test_kaplan_meier_curve_matches_r(case):
    name, data, expected, result = case
    for label, eg in expected["groups"].items():
        sel = data["group"] == label
        km = sv.kaplan_meier(data.loc[sel, "months"], data.loc[sel, "status"])
        for key in CURVE_KEYS:
            assert_close(getattr(km, key), eg["curve"][key], f"{name} {label} curve {key}")
            # the JSON carries the same values (inf std_err and NaN limits at S = 0 -> null)
            got = np.array([np.nan if v is None else v
                            for v in result["groups"][label]["curve"][key]])
            want = np.where(np.isfinite(getattr(km, key)), getattr(km, key), np.nan)
            np.testing.assert_array_equal(got, want)
        km90 = sv.kaplan_meier(data.loc[sel, "months"], data.loc[sel, "status"], conf_level=0.9)
        assert_close(km90.lower, eg["conf_90"]["lower"], f"{name} {label} lower 90%")
        assert_close(km90.upper, eg["conf_90"]["upper"], f"{name} {label} upper 90%")
        assert result["groups"][label]["n"] == eg["n"]
        assert result["groups"][label]["events"] == eg["events"]


def test_median_and_ci_match_r_quantile_survfit(case):
    name, data, expected, result = case
    for label, eg in expected["groups"].items():
        got = result["groups"][label]
        assert_close([got["median"], *got["median_ci"]], eg["median"], f"{name} {label} median")
        sel = data["group"] == label
        med90 = sv.km_median(sv.kaplan_meier(data.loc[sel, "months"], data.loc[sel, "status"], 0.9))
        assert_close([med90.estimate, med90.lower, med90.upper], eg["conf_90"]["median"],
                     f"{name} {label} median 90%")


def test_flat_stretch_at_half_uses_the_midpoint():
    expected = load_expected("flat_half")
    # A: survival exactly 0.5 from 5 to the next event at 8 -> 6.5 (R print and quantile agree)
    assert expected["groups"]["A"]["median"][0] == 6.5
    # B ends at exactly 0.5 (time 4, last follow-up 9): quantile.survfit 6.5, print.survfit 4;
    # we follow quantile.survfit, the documented quantile rule
    assert expected["groups"]["B"]["median"][0] == 6.5
    assert expected["groups"]["B"]["median_print"][0] == 4
    km = sv.kaplan_meier([1, 2, 3, 4, 4.5, 6, 7, 9], [1, 1, 1, 1, 0, 0, 0, 0])
    assert sv.km_median(km).estimate == 6.5


def test_not_reached_is_none():
    expected = load_expected("not_reached")
    assert expected["groups"]["ROS1"]["median"] == [None, None, None]
    assert expected["groups"]["ALK"]["median"][2] is None and expected["groups"]["ALK"]["median"][0]


def r_findq(x, y, p, tol):
    """A literal port of R survival:::findq (approx(method = "constant", f = 1) included)."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    xmax = x[-1]
    seen, keep = set(), []
    for i, v in enumerate(y):  # duplicated(): NaN equals NaN
        key = "nan" if np.isnan(v) else v
        if key not in seen:
            seen.add(key)
            keep.append(i)
    x, y = x[keep], y[keep]
    idx = np.arange(1, len(y) + 1)

    def approx(xa):
        ok = ~np.isnan(xa)
        xa, ya = xa[ok], idx[ok]
        o = np.argsort(xa, kind="stable")
        xa, ya = xa[o], ya[o]
        if p < xa[0] or p > xa[-1]:
            return None
        return ya[np.flatnonzero(xa >= p)[0]]

    i1, i2 = approx(y + tol), approx(y - tol)
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        return None if i1 is None else (x[i1 - 1] + xmax) / 2
    return None if i1 is None or i2 is None else (x[i1 - 1] + x[i2 - 1]) / 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.5, 0.6, 0.9, 1.0]), min_size=1,
                max_size=12), st.booleans(), st.booleans())
def test_median_rule_equals_a_port_of_r_findq(values, monotone, nan_tail):
    y = np.array(sorted(values) if monotone else values)
    if nan_tail:
        y = np.r_[y, np.nan]
    y = np.r_[0.0, y]
    x = np.arange(len(y), dtype=float) * 1.5
    tol = sv._QUANTILE_TOL
    assert sv._find_quantile(x, y, 0.5, tol) == r_findq(x, y, 0.5, tol)


def test_landmark_rates_match_r_summary_times(case):
    name, data, expected, result = case
    for label, eg in expected["groups"].items():
        got = result["groups"][label]["rates"]
        for r in eg["rates"]:
            key = time_key(r["time"])
            assert_close([got[key]["estimate"], *got[key]["ci"]],
                         [r["estimate"], r["lower"], r["upper"]], f"{name} {label} rate {key}")


def test_landmark_keys_are_plain_numbers():
    assert [time_key(t) for t in (12, 6.0, 1.5)] == ["12", "6", "1.5"]


# ---- log-rank --------------------------------------------------------------------------------
def test_logrank_matches_r_survdiff(case):
    name, data, expected, result = case
    e = expected["logrank"]
    got = result["logrank"]
    assert_close([got["chisq"], got["p"]], [e["chisq"], e["p"]], f"{name} log-rank")
    assert got["df"] == e["df"]
    labels = expected["groups_order"]
    assert_close([got["observed"][lab] for lab in labels], e["observed"], f"{name} observed")
    assert_close([got["expected"][lab] for lab in labels], e["expected"], f"{name} expected")


# ---- Cox -------------------------------------------------------------------------------------
def assert_cox(model: sv.CoxModel, e: dict, what: str) -> None:
    assert model.reason is None, f"{what}: {model.reason}"
    for key in ("coef", "se", "hr", "hr_lower", "hr_upper", "z", "p"):
        assert_close(getattr(model, key), e[key], f"{what} {key}")
    assert (model.n, model.events) == (e["n"], e["events"])
    assert_close(model.loglik, e["loglik"], f"{what} loglik")
    for test in ("wald", "lr", "score"):
        assert_close([getattr(model, f"{test}_test"), getattr(model, f"{test}_p")],
                     [e[f"{test}_test"], e[f"{test}_p"]], f"{what} {test} test")


def test_cox_unadjusted_matches_r_coxph(case):
    name, data, expected, result = case
    labels = expected["groups_order"]
    x = (data["group"] == labels[1]).to_numpy(float)
    model = sv.cox_regression(data["months"], data["status"], x, ["group"])
    assert_cox(model, expected["cox"], f"{name} cox")
    model90 = sv.cox_regression(data["months"], data["status"], x, ["group"], conf_level=0.9)
    assert_close([model90.hr_lower[0], model90.hr_upper[0]],
                 [expected["cox_90"]["hr_lower"][0], expected["cox_90"]["hr_upper"][0]],
                 f"{name} cox 90% CI")
    e, got = expected["cox"], result["cox"]
    assert got["contrast"] == f"{labels[1]} vs {labels[0]}"
    assert_close([got["hr"], *got["hr_ci"], got["p"]],
                 [e["hr"][0], e["hr_lower"][0], e["hr_upper"][0], e["p"][0]], f"{name} cox json")


def test_cox_adjusted_matches_r_coxph(case):
    name, data, expected, result = case
    e = expected["cox_adjusted"]
    got = result["cox_adjusted"]
    assert got["covariates"] == COVARIATES
    assert (got["n"], got["events"]) == (e["n"], e["events"])
    terms = list(got["terms"].values())
    assert len(terms) == len(e["names"])
    for i, term in enumerate(terms):
        assert_close([term["coef"], term["se"], term["hr"], *term["hr_ci"], term["z"], term["p"]],
                     [e["coef"][i], e["se"][i], e["hr"][i], e["hr_lower"][i], e["hr_upper"][i],
                      e["z"][i], e["p"][i]], f"{name} adjusted {e['names'][i]}")
    data2, labels = load_csv(name), expected["groups_order"]
    ecog = data2["ecog_2plus"].astype("Float64").to_numpy(float, na_value=np.nan)
    X = np.column_stack([(data2["group"] == labels[1]).to_numpy(float), data2["age"], ecog,
                         data2["brain_metastases"].to_numpy(float)])
    assert_cox(sv.cox_regression(data2["months"], data2["status"], X, e["names"]), e,
               f"{name} adjusted")


def test_subgroups_match_r(case):
    name, data, expected, result = case
    got = result["subgroups"]
    assert [(s["variable"], s["level"]) for s in got] == \
        [(s["variable"], s["level"]) for s in expected["subgroups"]]
    for g, e in zip(got, expected["subgroups"]):
        what = f"{name} subgroup {e['variable']}={e['level']}"
        assert (g["n"], g["events"]) == (e["n"], e["events"]), what
        cox = e.get("cox")
        if cox is None:  # a group is empty in this level
            assert g["hr"] is None and "no " in g["reason"], what
        elif cox["warnings"]:  # R: infinite coefficient or no convergence
            assert g["hr"] is None and g["reason"], f"{what}: R warned {cox['warnings']}"
        else:
            assert g["reason"] is None, what
            assert_close([g["hr"], *g["hr_ci"], g["p"]],
                         [cox["hr"][0], cox["hr_lower"][0], cox["hr_upper"][0], cox["p"][0]], what)
        if e["interaction_warnings"]:
            assert g["interaction_p"] is None and g["interaction_reason"], what
        else:
            assert_close(g["interaction_p"], e["interaction_p"], f"{what} interaction")


def test_result_is_strict_json(case):
    _, _, _, result = case
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text)["unit"] == "months"


# ---- degenerate data -------------------------------------------------------------------------
def frame(times, status, groups, **extra) -> pd.DataFrame:
    n = len(times)
    base = {"group": pd.Categorical(groups, categories=["ROS1", "ALK"]), "months": times,
            "status": status, "age": np.linspace(40, 80, n),
            "ecog_2plus": [i % 3 == 0 for i in range(n)],
            "brain_metastases": [i % 2 == 0 for i in range(n)],
            "sex": pd.Categorical(["Male", "Female"] * (n // 2) + ["Male"] * (n % 2),
                                  categories=["Male", "Female"]),
            "age_lt_65": [i % 2 == 1 for i in range(n)],
            "criz_line": pd.Categorical(["First"] * n,
                                        categories=["First", "Second", "Third or later"])}
    base.update(extra)
    return pd.DataFrame(base)


def summarise(data, landmarks=(6, 12)):
    result = tte.summarise_time_to_event(data, groups=["ROS1", "ALK"], landmarks=landmarks,
                                         covariates=COVARIATES, subgroups=SUBGROUPS)
    json.dumps(result, allow_nan=False)  # always writable
    return result


def test_group_with_no_events():
    d = frame([3, 5.5, 7, 9, 2, 5, 6, 8], [0, 0, 0, 0, 1, 1, 0, 1], ["ROS1"] * 4 + ["ALK"] * 4)
    r = summarise(d, landmarks=(6, 10))
    assert r["groups"]["ROS1"]["median"] is None and "no events" in r["groups"]["ROS1"]["reason"]
    assert r["groups"]["ROS1"]["rates"]["6"] == {"estimate": 1.0, "ci": [1.0, 1.0]}
    assert r["groups"]["ROS1"]["rates"]["10"] == {"estimate": None, "ci": [None, None]}  # past 9
    assert r["cox"]["hr"] is None and "no events in ROS1" in r["cox"]["reason"]
    assert r["logrank"]["p"] is not None and 0 < r["logrank"]["p"] < 1


def test_all_censored():
    d = frame([1.0, 2, 3, 4, 5, 6], [0] * 6, ["ROS1", "ALK"] * 3)
    r = summarise(d, landmarks=(0.5, 3))
    assert r["logrank"]["chisq"] is None and r["logrank"]["p"] is None and r["logrank"]["reason"]
    assert r["cox"]["hr"] is None and r["cox"]["reason"]
    assert r["cox_adjusted"]["terms"]["ALK vs ROS1"]["hr"] is None and r["cox_adjusted"]["reason"]
    assert r["groups"]["ALK"]["rates"]["3"] == {"estimate": 1.0, "ci": [1.0, 1.0]}
    assert all(s["hr"] is None and s["reason"] for s in r["subgroups"])


def test_one_patient():
    km = sv.kaplan_meier([3.0], [1])
    assert km.survival.tolist() == [0.0] and np.isinf(km.std_err[0]) and np.isnan(km.lower[0])
    assert sv.km_median(km) == sv.Median(3.0, None, None)  # R: median 3, CI NA NA
    d = frame([3.0, 1, 2, 5], [1, 1, 0, 1], ["ROS1", "ALK", "ALK", "ALK"])
    r = summarise(d)
    assert r["groups"]["ROS1"]["n"] == 1 and r["groups"]["ROS1"]["curve"]["std_err"] == [None]
    assert r["groups"]["ROS1"]["curve"]["lower"] == [None]
    alone = summarise(frame([2.0], [1], ["ALK"]))  # a cohort of one
    assert alone["groups"]["ALK"]["median"] == 2.0 and alone["groups"]["ROS1"]["n"] == 0
    assert alone["logrank"]["p"] is None and alone["cox"]["hr"] is None
    assert alone["cox"]["reason"] == "no ROS1 patients: no hazard ratio"


def test_empty_group_and_subgroup_level():
    d = frame([1.0, 2, 3, 4], [1, 1, 0, 1], ["ALK"] * 4)
    r = summarise(d)
    assert r["groups"]["ROS1"]["n"] == 0 and r["groups"]["ROS1"]["reason"] == "no ROS1 patients"
    assert r["groups"]["ROS1"]["median"] is None
    assert r["logrank"]["p"] is None and r["cox"]["hr"] is None and "no ROS1" in r["cox"]["reason"]
    first = [s for s in r["subgroups"] if s["variable"] == "line"]
    assert [s["level"] for s in first] == ["first", "later"]
    assert first[1]["n"] == 0 and "no ROS1 or ALK patients with line = later" == first[1]["reason"]


def test_monotone_likelihood_is_flagged_not_estimated():
    # every event in ALK happens while ROS1 patients are still at risk, and ROS1 has none
    t = np.arange(1.0, 21.0)
    e = np.r_[np.zeros(10), np.ones(10)]
    x = np.r_[np.zeros(10), np.ones(10)]
    model = sv.cox_regression(t[::-1], e, x, ["ALK"])
    assert model.reason is not None
    assert "infinite" in model.reason or "converge" in model.reason
    assert model.infinite == (True,)


def test_bad_input_is_a_clear_error():
    d = frame([1.0, 2], [1, 2], ["ROS1", "ALK"])
    with pytest.raises(ValueError, match="status"):
        summarise(d)
    with pytest.raises(ValueError, match="months"):
        summarise(frame([1.0, -2], [1, 0], ["ROS1", "ALK"]))
    with pytest.raises(ValueError, match="unknown subgroup"):
        tte.summarise_time_to_event(frame([1.0, 2], [1, 0], ["ROS1", "ALK"]),
                                    groups=["ROS1", "ALK"], landmarks=[1], subgroups=["shoe_size"])


def test_missing_subgroup_column_is_named():
    d = frame([1.0, 2, 3, 4], [1, 0, 1, 1], ["ROS1", "ALK"] * 2).drop(columns="criz_line")
    with pytest.raises(ValueError, match="subgroup 'line' needs column 'criz_line'"):
        summarise(d)


def test_input_is_not_modified():
    d = load_csv("study_like")
    before = d.copy()
    summarise(d)
    pd.testing.assert_frame_equal(d, before)


# ---- cross-checks against lifelines and scikit-survival on random tied data ------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.booleans(), st.booleans()), min_size=2,
                max_size=60))
# observed equals expected exactly (2 and 2 in ROS1): the statistic is 0, lifelines' is 5e-32 of rounding
@example(rows=[(0, False, True), (0, True, True), (1, True, True), (2, True, False), (3, False, True),
               (3, True, False)])
def test_point_estimates_agree_with_lifelines_and_sksurv(rows):
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from sksurv.nonparametric import kaplan_meier_estimator

    t = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows], int)
    g = np.array(["ROS1" if r[2] else "ALK" for r in rows])
    km = sv.kaplan_meier(t, e)
    lf = KaplanMeierFitter().fit(t, e)
    np.testing.assert_allclose(km.survival, lf.survival_function_.loc[km.time].to_numpy().ravel(),
                               rtol=1e-12)
    if e.any():
        xs, ys = kaplan_meier_estimator(e.astype(bool), t)
        np.testing.assert_allclose(km.survival, ys, rtol=1e-12)
        np.testing.assert_array_equal(km.time, xs)
    lr = sv.logrank_test(t, e, g, levels=["ROS1", "ALK"])
    if lr.chisq is not None and len(set(g)) == 2:
        ref = logrank_test(t[g == "ROS1"], t[g == "ALK"], e[g == "ROS1"], e[g == "ALK"])
        np.testing.assert_allclose(lr.chisq, ref.test_statistic, rtol=1e-9, atol=1e-12)


def test_cox_reference_swap_flips_the_sign():
    d = load_csv("heavy_ties")
    x = (d["group"] == "ALK").to_numpy(float)
    a = sv.cox_regression(d["months"], d["status"], x, ["ALK"])
    b = sv.cox_regression(d["months"], d["status"], 1 - x, ["ROS1"])
    np.testing.assert_allclose(a.coef, -b.coef, rtol=1e-10)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-10)


def test_merging_identical_rows_leaves_the_cox_fit_unchanged(monkeypatch):
    # 75 copies of the heavy-ties data (11,250 rows): big enough for the merge, heavy ties
    d = load_csv("heavy_ties")
    t = np.tile(d["months"].to_numpy(), 75)
    e = np.tile(d["status"].to_numpy(), 75)
    X = np.tile(np.column_stack([(d["group"] == "ALK").to_numpy(float),
                                 d["brain_metastases"].to_numpy(float)]), (75, 1))
    merged = sv.cox_regression(t, e, X, ["ALK", "brain"])
    assert len(sv._merge_identical_rows(t, e.astype(float), X)[0]) < 1000
    monkeypatch.setattr(sv, "_merge_identical_rows", lambda t, e, X: (t, e, X, np.ones(len(t))))
    plain = sv.cox_regression(t, e, X, ["ALK", "brain"])
    for key in ("coef", "se", "p"):
        np.testing.assert_allclose(getattr(merged, key), getattr(plain, key), rtol=1e-9)
    np.testing.assert_allclose(merged.loglik, plain.loglik, rtol=1e-12)


def test_merging_with_many_distinct_times(monkeypatch):
    rng = np.random.default_rng(7)
    n = 12_000
    t = np.round(rng.exponential(10, n), 3)  # ~10,000 distinct times x 16 patterns: np.unique
    e = (rng.random(n) < 0.6).astype(float)
    X = (rng.random((n, 4)) < 0.4).astype(float)
    merged = sv.cox_regression(t, e, X, list("abcd"))
    monkeypatch.setattr(sv, "_merge_identical_rows", lambda t, e, X: (t, e, X, np.ones(len(t))))
    plain = sv.cox_regression(t, e, X, list("abcd"))
    np.testing.assert_allclose(merged.coef, plain.coef, rtol=1e-9)
    np.testing.assert_allclose(merged.se, plain.se, rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=200), st.booleans())
def test_distinct_times_equal_numpy_unique(values, presorted):
    t = np.array(sorted(values) if presorted else values, float) / 30.4375
    big = np.tile(t, 60_000 // len(t) + 1)  # also the hashing path (> 50,000 rows, repeats)
    for x in (t, big):
        u, inv = distinct_times(x)
        ru, rinv = np.unique(x, return_inverse=True)
        np.testing.assert_array_equal(u, ru)
        np.testing.assert_array_equal(inv, rinv)


# ---- scale -----------------------------------------------------------------------------------
def test_million_patients_kaplan_meier_and_logrank_are_fast():
    rng = np.random.default_rng(1)
    n = 1_000_000
    t = np.ceil(rng.exponential(400, n)) / 30.4375
    e = rng.random(n) < 0.7
    g = np.where(rng.random(n) < 0.4, "ROS1", "ALK")
    start = clock.perf_counter()
    for label in ("ROS1", "ALK"):
        km = sv.kaplan_meier(t[g == label], e[g == label])
        sv.km_median(km)
    lr = sv.logrank_test(t, e, pd.Categorical(g, categories=["ROS1", "ALK"]))
    elapsed = clock.perf_counter() - start
    assert lr.p is not None
    assert elapsed < 10, f"Kaplan-Meier + log-rank on 1M patients took {elapsed:.1f} s"
