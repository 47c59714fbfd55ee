"""chartreview.stats.categorical against R's stats (recorded by tests/fixtures/r/categorical_reference.R), the
study's published P values, and the degenerate tables."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from chartreview.stats.categorical import (
    TESTS,
    clopper_pearson,
    compare_proportions,
    summarise_continuous,
    wilcoxon_rank_sum,
)
from support import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "categorical"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
RTOL = 1e-6


def tables():
    long = pd.read_csv(FIXTURES / "tables.csv")
    return {name: d.pivot(index="group", columns="category", values="count").to_numpy()
            for name, d in long.groupby("table", sort=False)}


TABLES = tables()


@pytest.mark.parametrize("name", sorted(TABLES))
def test_pearson_chi_square_matches_chisq_test(name):
    ref = EXPECTED["tables"][name]
    result = compare_proportions(TABLES[name], "chi2")
    assert result.test == "Pearson chi-square without continuity correction"
    assert result.statistic == pytest.approx(ref["chi2_statistic"], rel=RTOL)
    assert result.df == ref["chi2_df"]
    assert result.p == pytest.approx(ref["chi2_p"], rel=RTOL)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_yates_matches_chisq_test_default(name):
    ref = EXPECTED["tables"][name]
    result = compare_proportions(TABLES[name], "chi2_yates")
    if TABLES[name].shape == (2, 2):
        assert result.test == TESTS["chi2_yates"]
        assert result.statistic == pytest.approx(ref["yates_statistic"], rel=RTOL)
        assert result.p == pytest.approx(ref["yates_p"], rel=RTOL)
    else:  # as R, the correction applies only to 2x2 tables; the result says so
        assert result.test == TESTS["chi2"] and "only to 2x2" in result.reason
        assert result.p == pytest.approx(ref["chi2_p"], rel=RTOL)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_fisher_matches_fisher_test(name):
    result = compare_proportions(TABLES[name], "fisher")
    assert result.test == "Fisher's exact test"
    assert result.p == pytest.approx(EXPECTED["tables"][name]["fisher_p"], rel=RTOL)


def test_published_p_values_are_reproduced():
    """The study README: chi-square without correction gives 0.10, 0.003, 0.987, 0.127; Fisher gives
    0.136/0.0051/1.000/0.147 and Yates 0.179/0.0063/1.000/0.220."""
    names = ["published_brain", "published_extrathoracic", "published_orr", "published_pattern"]
    chi2 = [compare_proportions(TABLES[n], "chi2").p for n in names]
    fisher = [compare_proportions(TABLES[n], "fisher").p for n in names]
    yates = [compare_proportions(TABLES[n], "chi2_yates").p for n in names]
    assert [round(chi2[0], 2)] + [round(p, 3) for p in chi2[1:]] == [0.10, 0.003, 0.987, 0.127]
    assert [round(fisher[0], 3), round(fisher[1], 4), round(fisher[2], 3), round(fisher[3], 3)] == \
        [0.136, 0.0051, 1.000, 0.147]
    assert [round(yates[0], 3), round(yates[1], 4), round(yates[2], 3), round(yates[3], 3)] == \
        [0.179, 0.0063, 1.000, 0.220]


def test_auto_chooses_by_expected_counts():
    big = compare_proportions(TABLES["published_orr"], "auto")
    assert big.test == TESTS["chi2"] and "at least 5" in big.reason
    small = compare_proportions(TABLES["zero_cell"], "auto")
    assert small.test == TESTS["fisher"] and "below 5" in small.reason
    assert small.p == pytest.approx(EXPECTED["tables"]["zero_cell"]["fisher_p"], rel=RTOL)


@pytest.mark.parametrize("test", ["chi2", "chi2_yates", "fisher", "auto"])
def test_two_by_two_with_a_zero_cell_gives_a_p(test):
    result = compare_proportions([[0, 26], [5, 37]], test)
    assert result.p is not None and 0 < result.p <= 1


@pytest.mark.parametrize("test", ["chi2", "chi2_yates", "fisher", "auto"])
@pytest.mark.parametrize("table, why", [
    ([[0, 26], [0, 42]], "category has no observations"),
    ([[0, 0], [3, 39]], "group has no observations"),
    ([[0, 0], [0, 0]], "no observations"),
    ([[5, 21]], "at least two groups"),
])
def test_degenerate_tables_give_a_reason_not_an_error(test, table, why):
    result = compare_proportions(table, test)
    assert result.p is None and why in result.reason
    assert result.test in TESTS.values()


def test_bad_tables_and_tests_raise():
    with pytest.raises(ValueError, match="unknown categorical test"):
        compare_proportions([[1, 2], [3, 4]], "g-test")
    with pytest.raises(ValueError, match="whole counts"):
        compare_proportions([[1.5, 2], [3, 4]], "chi2")
    with pytest.raises(ValueError, match="whole counts"):
        compare_proportions([[-1, 2], [3, 4]], "chi2")


@pytest.mark.parametrize("index", range(len(EXPECTED["binomial"])))
def test_clopper_pearson_matches_binom_test(index):
    ref = EXPECTED["binomial"][index]
    lower, upper = clopper_pearson(int(ref["x"]), int(ref["n"]), ref["conf_level"])
    assert lower == pytest.approx(ref["lower"], rel=RTOL, abs=1e-12)
    assert upper == pytest.approx(ref["upper"], rel=RTOL, abs=1e-12)


def test_clopper_pearson_without_patients():
    assert clopper_pearson(0, 0) == (None, None)


@pytest.mark.parametrize("name", sorted(EXPECTED["samples"]))
def test_wilcoxon_rank_sum_matches_wilcox_test(name):
    samples = pd.read_csv(FIXTURES / "samples.csv")
    d = samples[samples["sample"] == name]
    ref = EXPECTED["samples"][name]
    result = wilcoxon_rank_sum(d.loc[d.group == "x", "value"], d.loc[d.group == "y", "value"])
    assert result.exact == ref["exact"]
    assert result.statistic == pytest.approx(ref["statistic"], rel=RTOL)
    assert result.p == pytest.approx(ref["p"], rel=RTOL)


def test_wilcoxon_degenerate():
    assert wilcoxon_rank_sum([], [1.0, 2.0]).p is None
    assert wilcoxon_rank_sum([np.nan], [1.0]).reason == "a group has no values"
    same = wilcoxon_rank_sum([3.0] * 60, [3.0] * 60)
    assert same.p is None and "same" in same.reason


def test_summarise_continuous_uses_r_type_7_quantiles():
    s = summarise_continuous([1.0, 2.0, 3.0, 4.0, np.nan])
    # R: quantile(c(1, 2, 3, 4), c(.25, .5, .75)) = 1.75, 2.5, 3.25
    assert (s.q1, s.median, s.q3, s.n, s.missing) == (1.75, 2.5, 3.25, 4, 1)
    empty = summarise_continuous([np.nan])
    assert empty.median is None and empty.missing == 1


FISHER_TABLES = {name: d.pivot(index="row", columns="column", values="count").to_numpy()
                 for name, d in pd.read_csv(FIXTURES / "fisher_tables.csv").groupby("table", sort=False)}


@pytest.mark.parametrize("name", sorted(EXPECTED["fisher"]))
def test_fisher_on_r_by_c_tables_matches_fisher_test(name):
    """Tables R answers with its default workspace and one it needs a larger workspace for (3 x 4, 300
    patients); 2 x 3 with 606 patients once gave 'too many tables to enumerate'."""
    result = compare_proportions(FISHER_TABLES[name], "fisher")
    assert result.test == TESTS["fisher"]
    assert result.p == pytest.approx(EXPECTED["fisher"][name]["p"], rel=RTOL)
    if name.startswith("empty"):
        assert "left out" in result.reason


def test_auto_takes_the_exact_test_of_a_large_sparse_table():
    table = [[150, 160, 180, 2], [40, 36, 40, 1]]
    result = compare_proportions(table, "auto")
    assert result.test == TESTS["fisher"] and result.p is not None and "below 5" in result.reason


def test_fisher_beyond_the_workspace_gives_a_reason():
    table = [[24, 20, 26, 22], [12, 5, 16, 8], [17, 8, 16, 17], [27, 16, 26, 40]]  # R: "LDKEY is too small"
    result = compare_proportions(table, "fisher")
    assert result.p is None and "larger workspace" in result.reason and "4 x 4" in result.reason


def test_a_registry_sized_table_gets_the_workspace_reason_at_once():
    """A million patients in a 2 x 3 table: R's fisher.test stops with "FEXACT error 40. Out of workspace";
    so does this test, at once, instead of enumerating for hours."""
    table = np.array([[260153, 103006, 19191], [420368, 166442, 30840]])
    started = time.perf_counter()
    result = compare_proportions(table, "fisher")
    assert result.p is None and "partial tables" in result.reason
    assert time.perf_counter() - started < 20
