"""The shared input check and risk-set counting of the time-to-event kernels (stats.counting)."""

from pathlib import Path

import numpy as np
import pytest

from chartreview.stats import competing_risks, survival
from chartreview.stats.counting import check_time_to_event, group_codes, risk_set_counts


def test_risk_sets_and_counts_at_distinct_times():
    time = [3.0, 1.0, 2.0, 2.0, 5.0, 2.0]
    event = [1, 0, 1, 0, 1, 1]
    c = risk_set_counts(time, np.asarray(event, float))
    assert list(c.time) == [1.0, 2.0, 3.0, 5.0]
    assert list(c.n_risk) == [6, 5, 2, 1] and list(c.n_leaving) == [1, 3, 1, 1]
    assert list(c.counts[0]) == [0, 2, 1, 1]
    assert list(c.time[c.index]) == time


def test_counts_by_group_add_up_to_the_pooled_counts():
    rng = np.random.default_rng(3)
    time = rng.integers(0, 30, 500) / 30.4375
    event = (rng.random(500) < 0.6).astype(float)
    group = rng.integers(0, 3, 500)
    pooled = risk_set_counts(time, event)
    by_group = risk_set_counts(time, event, group=group, n_groups=3)
    assert by_group.n_risk.shape == (3, len(pooled.time))
    np.testing.assert_array_equal(by_group.n_risk.sum(axis=0), pooled.n_risk)
    np.testing.assert_array_equal(by_group.counts[0].sum(axis=0), pooled.counts[0])
    np.testing.assert_array_equal(by_group.n_risk[:, 0], np.bincount(group, minlength=3))


@pytest.mark.parametrize("time, outcome, group, competing, message", [
    ([1.0, 2.0], [1], None, False, "same length"),
    ([1.0, -2.0], [1, 0], None, False, "non-negative"),
    ([1.0, np.inf], [1, 0], None, False, "finite"),
    ([1.0, np.nan], [1, 0], None, True, "not missing"),
    ([1.0, 2.0], [1, 2], None, False, "event must be 0 .censored. or 1"),
    ([1.0, 2.0], [1, -1], None, True, "positive cause code"),
    ([1.0, 2.0], [1, 0], ["a"], False, "group must have the same length"),
])
def test_one_input_check_with_clear_messages(time, outcome, group, competing, message):
    with pytest.raises(ValueError, match=message):
        check_time_to_event(time, outcome, group, competing=competing)


def test_every_time_to_event_kernel_uses_the_one_check():
    with pytest.raises(ValueError, match="non-negative"):
        survival.kaplan_meier([-1.0, 2.0], [1, 0])
    with pytest.raises(ValueError, match="non-negative"):
        survival.logrank_test([-1.0, 2.0], [1, 0], ["a", "b"])
    with pytest.raises(ValueError, match="non-negative"):
        survival.cox_regression([-1.0, 2.0], [1, 0], [0.0, 1.0], ["x"])
    with pytest.raises(ValueError, match="non-negative"):
        competing_risks.gray_test([-1.0, 2.0], [1, 0], ["a", "b"])
    with pytest.raises(ValueError, match="non-negative"):
        competing_risks.fine_gray([-1.0, 2.0], [1, 0], [0.0, 1.0], ["x"])


def test_group_codes_follow_r_factor_levels():
    levels, codes = group_codes(["b", "a", "b"])
    assert levels == ("a", "b") and list(codes) == [1, 0, 1]
    levels, codes = group_codes(["ROS1", "ALK"], ["ROS1", "ALK"])
    assert levels == ("ROS1", "ALK") and list(codes) == [0, 1]
    with pytest.raises(ValueError, match="outside the given levels"):
        group_codes(["RET"], ["ROS1", "ALK"])


def test_kernels_import_nothing_that_writes_files():
    for module in Path(survival.__file__).parent.glob("*.py"):
        assert "result_files" not in module.read_text(encoding="utf-8"), module.name
