"""chartreview.stats.balance against tableone's standardized-mean-difference formulae computed in R
(tests/fixtures/r/categorical_reference.R), weighted and unweighted, and its degenerate inputs."""

import json

import numpy as np
import pandas as pd
import pytest

from chartreview.stats.balance import standardized_mean_difference
from support import FIXTURES

DATA = pd.read_csv(FIXTURES / "categorical" / "balance.csv", keep_default_na=False, na_values=["NA"])
EXPECTED = json.loads((FIXTURES / "categorical" / "expected.json").read_text())["balance"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_smd_matches_the_formulae_in_r(name):
    d = DATA[DATA["sample"] == name]
    weights = None if name.endswith("unweighted") else d["weight"].to_numpy()
    result = standardized_mean_difference(d["value"], d["second"].to_numpy(), weights, d["kind"].iloc[0])
    assert result.smd == pytest.approx(EXPECTED[name]["smd"], rel=1e-6)
    assert result.reason is None


def test_two_levels_reduce_to_the_difference_of_proportions():
    values = ["a"] * 3 + ["b"] * 7 + ["a"] * 6 + ["b"] * 4
    second = np.repeat([0, 1], 10)
    p1, p2 = 0.3, 0.6
    expected = abs(p1 - p2) / np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert standardized_mean_difference(values, second, kind="categorical").smd == pytest.approx(expected)


def test_equal_weights_change_nothing_and_a_zero_weight_leaves_a_patient_out():
    rng = np.random.default_rng(5)
    x, second = rng.normal(size=50), rng.random(50) < 0.5
    plain = standardized_mean_difference(x, second).smd
    assert standardized_mean_difference(x, second, np.full(50, 3.0)).smd == pytest.approx(plain)
    w = np.ones(50)
    w[0] = 0
    assert standardized_mean_difference(x, second, w).smd == pytest.approx(
        standardized_mean_difference(x[1:], second[1:]).smd)


def test_degenerate_groups_give_a_reason():
    constant = standardized_mean_difference([5.0] * 6, [0, 0, 0, 1, 1, 1])
    assert constant.smd is None and "constant within each group" in constant.reason
    lonely = standardized_mean_difference([1.0, 2.0, 3.0, np.nan], [0, 0, 0, 1])
    assert lonely.smd is None and "fewer than two" in lonely.reason
    one_level = standardized_mean_difference(["x"] * 4, [0, 0, 1, 1], kind="categorical")
    assert one_level.smd == 0.0
    empty = standardized_mean_difference(["x", None], [0, 1], kind="categorical")
    assert empty.smd is None and "no values" in empty.reason
    with pytest.raises(ValueError, match="weights"):
        standardized_mean_difference([1.0, 2.0], [0, 1], [1.0, -1.0])
