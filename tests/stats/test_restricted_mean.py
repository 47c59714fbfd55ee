"""chartreview.stats.restricted_mean against R's survival (per group, summary(survfit, rmean = tau)) and the
survRM2 formulae computed in R from those values (recorded fixtures, tests/fixtures/ph_rmst/), and on
degenerate data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chartreview.stats import restricted_mean as rm
from chartreview.stats import survival as sv
from chartreview.stats.counting import group_codes
from support.ph_rmst import DATASETS, read_case


def same(actual, expected, what):
    if expected is None:
        assert actual is None, f"{what}: {actual}, R has none"
    else:
        assert actual is not None, f"{what}: none, R has {expected}"
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("name", DATASETS)
def test_rmst_and_contrasts_match_r(name):
    d, expected = read_case(name)
    labels = list(pd.unique(d["group"]))
    _, codes = group_codes(d["group"], labels)
    assert rm.common_follow_up(d["time"], codes, len(labels)) == expected["rmst_default_tau"]
    for r in expected["rmst"]:
        per = {}
        for label in labels:
            sel = (d["group"] == label).to_numpy()
            per[label] = rm.restricted_mean(sv.kaplan_meier(d["time"][sel], d["status"][sel]), r["tau"])
            for key in ("estimate", "se", "lower", "upper"):
                same(getattr(per[label], key), r["groups"][label][key], f"{name} tau={r['tau']} {label} {key}")
            assert (per[label].reason is None) == (r["groups"][label]["estimate"] is not None)
        for contrast, key, se_key in ((rm.rmst_difference, "difference", "se"), (rm.rmst_ratio, "ratio", "log_se")):
            c = contrast(per[labels[0]], per[labels[1]])
            for field, r_field in (("estimate", "estimate"), ("se", se_key), ("lower", "lower"), ("upper", "upper"),
                                   ("p", "p")):
                same(getattr(c, field), r[key][r_field], f"{name} tau={r['tau']} {key} {field}")


def test_tau_beyond_follow_up_is_a_reason_unless_the_curve_reached_zero():
    censored_last = sv.kaplan_meier([1, 2, 5], [1, 0, 0])
    r = rm.restricted_mean(censored_last, 6)
    assert r.estimate is None and "beyond the last follow-up time (5)" in r.reason
    ended = sv.kaplan_meier([1, 2, 5], [1, 0, 1])
    assert rm.restricted_mean(ended, 9).estimate == pytest.approx(1 + 4 * 2 / 3)
    assert rm.rmst_difference(r, rm.restricted_mean(ended, 6)).reason == r.reason


def test_tau_before_the_first_time_and_a_single_patient():
    one = sv.kaplan_meier([4.0], [1])
    r = rm.restricted_mean(one, 2.5)
    assert (r.estimate, r.se, r.lower, r.upper) == (2.5, 0.0, 2.5, 2.5)
    full = rm.restricted_mean(one, 4.0)
    assert (full.estimate, full.se) == (4.0, 0.0)
    diff = rm.rmst_difference(r, full)
    assert diff.estimate == 1.5 and diff.p is None and "standard error 0" in diff.reason
    assert rm.restricted_mean(sv.kaplan_meier([], []), 3).reason == "no patients"


def test_common_follow_up_needs_every_group():
    assert rm.common_follow_up([1, 5, 3, 9], [0, 0, 1, 1], 2) == 5
    assert rm.common_follow_up([1, 5], [0, 0], 2) is None


def test_bad_tau_is_refused():
    with pytest.raises(ValueError, match="tau"):
        rm.restricted_mean(sv.kaplan_meier([1.0], [1]), 0)
