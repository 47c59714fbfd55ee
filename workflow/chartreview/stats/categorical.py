"""Comparisons of proportions and distributions between groups, as R's stats package computes them.

compare_proportions: Pearson chi-square (chisq.test), with Yates' correction for 2x2 tables, Fisher's exact
test (fisher.test), or `auto`; clopper_pearson: the exact binomial interval (binom.test); wilcoxon_rank_sum:
wilcox.test(x, y) with R's defaults; plus the summaries of a Table 1. R parity is recorded under
tests/fixtures/categorical/ by tests/fixtures/r/categorical_reference.R.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = [
    "TESTS",
    "CategoricalTest",
    "RankSumTest",
    "ContinuousSummary",
    "compare_proportions",
    "clopper_pearson",
    "wilcoxon_rank_sum",
    "summarise_continuous",
]

TESTS = {
    "chi2": "Pearson chi-square without continuity correction",
    "chi2_yates": "Pearson chi-square with Yates' continuity correction",
    "fisher": "Fisher's exact test",
}
# fisher.test's tolerance when it sums the probabilities of tables as or less likely than the observed one
_FISHER_RELATIVE_ERROR = 1 + 1e-7
# above this many tables, a 2 x c exact test is not enumerated (a table that large wants chi-square anyway)
_FISHER_MAX_TABLES = 2_000_000


@dataclass(frozen=True)
class CategoricalTest:
    """`test` is the spelled-out name of the test actually used; p is None (with the reason) when the
    table does not allow the test."""

    test: str
    statistic: float | None
    df: int | None
    p: float | None
    reason: str | None = None


@dataclass(frozen=True)
class RankSumTest:
    test: str
    statistic: float | None  # R's W: the rank sum of x minus n_x (n_x + 1) / 2
    p: float | None
    exact: bool
    reason: str | None = None


@dataclass(frozen=True)
class ContinuousSummary:
    n: int
    missing: int
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None


def _table(table) -> np.ndarray:
    table = np.asarray(table, dtype=float)
    if table.ndim != 2:
        raise ValueError("the table must be two-dimensional: groups x categories")
    if (table < 0).any() or np.isnan(table).any() or (table != np.round(table)).any():
        raise ValueError("the table must hold non-negative whole counts")
    return table


def _degenerate(table: np.ndarray) -> str | None:
    if table.shape[0] < 2 or table.shape[1] < 2:
        return "the table needs at least two groups and two categories"
    if table.sum() == 0:
        return "no observations"
    if (table.sum(axis=1) == 0).any():
        return "a group has no observations"
    if (table.sum(axis=0) == 0).any():
        return "a category has no observations in any group, so there is nothing to compare"
    return None


def _expected(table: np.ndarray) -> np.ndarray:
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()


def _pearson(table: np.ndarray, yates: bool) -> CategoricalTest:
    """Pearson's chi-square test of independence (R chisq.test); Yates' correction as R applies it:
    |O - E| reduced by min(0.5, |O - E|)."""
    expected = _expected(table)
    diff = np.abs(table - expected)
    if yates:
        diff = diff - np.minimum(0.5, diff)
    statistic = float((diff**2 / expected).sum())
    df = (table.shape[0] - 1) * (table.shape[1] - 1)
    p = float(stats.chi2.sf(statistic, df))
    return CategoricalTest(TESTS["chi2_yates" if yates else "chi2"], statistic, df, p)


def _log_table_probability(x: np.ndarray, col: np.ndarray, n: float) -> np.ndarray:
    """Log hypergeometric probability of the first rows `x` (last axis: columns) of 2 x c tables with
    column sums `col` and first-row sum sum(x), up to a constant: sum_j log C(col_j, x_j)."""
    return (special.gammaln(col + 1) - special.gammaln(x + 1) - special.gammaln(col - x + 1)).sum(axis=-1)


def _fisher(table: np.ndarray) -> CategoricalTest:
    """Fisher's exact test, two-sided as R fisher.test: the summed probability of every table with the
    observed margins that is no more likely than the observed one (relative tolerance 1e-7). 2 x c and
    r x 2 tables are enumerated exactly."""
    if table.shape[0] != 2 and table.shape[1] == 2:
        table = table.T
    if table.shape[0] != 2:
        return CategoricalTest(TESTS["fisher"], None, None, None, "the exact test is implemented for 2 x c tables")
    if table.shape == (2, 2):
        # the conditional maximum-likelihood odds ratio is fisher.test's estimate; the P value only needs
        # the hypergeometric distribution of the first cell
        a, b = table[0]
        c, d = table[1]
        row1, col1, n = a + b, a + c, a + b + c + d
        support = np.arange(max(0.0, row1 + col1 - n), min(row1, col1) + 1)
        dist = stats.hypergeom(int(n), int(col1), int(row1))
        logp = dist.logpmf(support)
        observed = dist.logpmf(a)
        keep = logp <= observed + math.log(_FISHER_RELATIVE_ERROR)
        p = float(np.exp(logp[keep] - logp.max()).sum() / np.exp(logp - logp.max()).sum())
        return CategoricalTest(TESTS["fisher"], None, None, min(1.0, p))
    col = table.sum(axis=0)
    row1 = table[0].sum()
    n = table.sum()
    ranges = [np.arange(0, c + 1) for c in col]
    count = math.prod(len(r) for r in ranges)
    if count > _FISHER_MAX_TABLES:
        return CategoricalTest(
            TESTS["fisher"], None, None, None, f"too many tables to enumerate ({count}); use the chi-square test"
        )
    grid = np.array(list(itertools.product(*ranges)), dtype=float)
    grid = grid[grid.sum(axis=1) == row1]
    logp = _log_table_probability(grid, col, n)
    observed = _log_table_probability(table[0], col, n)
    top = logp.max()
    keep = logp <= observed + math.log(_FISHER_RELATIVE_ERROR)
    p = float(np.exp(logp[keep] - top).sum() / np.exp(logp - top).sum())
    return CategoricalTest(TESTS["fisher"], None, None, min(1.0, p))


def compare_proportions(table, test: str = "chi2") -> CategoricalTest:
    """Compare the distribution of categories between groups (rows: groups, columns: categories).

    test: "chi2" (Pearson, no continuity correction: R chisq.test(correct = FALSE)), "chi2_yates" (R's
    default continuity correction; 2x2 tables only, larger tables get the uncorrected test as in R),
    "fisher" (R fisher.test) or "auto" (chi2 when every expected count is at least 5, otherwise Fisher).
    A table with an empty group or category returns p = None and the reason, never raises.
    """
    if test not in (*TESTS, "auto"):
        raise ValueError(f"unknown categorical test {test!r}: use chi2, chi2_yates, fisher or auto")
    table = _table(table)
    reason = _degenerate(table)
    if reason is not None:
        name = TESTS["chi2" if test == "auto" else test]
        return CategoricalTest(name, None, None, None, reason)
    if test == "auto":
        if (_expected(table) >= 5).all():
            result = _pearson(table, yates=False)
            why = "every expected count is at least 5"
        else:
            result = _fisher(table)
            why = "an expected count is below 5"
        return CategoricalTest(result.test, result.statistic, result.df, result.p, result.reason or why)
    if test == "fisher":
        return _fisher(table)
    if test == "chi2_yates" and table.shape != (2, 2):
        result = _pearson(table, yates=False)
        return CategoricalTest(
            result.test, result.statistic, result.df, result.p, "Yates' correction applies only to 2x2 tables"
        )
    return _pearson(table, yates=test == "chi2_yates")


def clopper_pearson(x: int, n: int, conf_level: float = 0.95) -> tuple[float | None, float | None]:
    """Clopper-Pearson exact confidence interval of a binomial proportion (R binom.test's interval)."""
    if n <= 0:
        return (None, None)
    if not 0 <= x <= n:
        raise ValueError(f"x = {x} must lie between 0 and n = {n}")
    alpha = 1.0 - conf_level
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
    return (lower, upper)


def wilcoxon_rank_sum(x, y) -> RankSumTest:
    """Wilcoxon rank-sum (Mann-Whitney) test, two-sided, as R wilcox.test(x, y) with its defaults: the
    exact distribution when both samples have fewer than 50 values and there are no ties, otherwise the
    normal approximation with continuity correction and the tie-corrected variance. Missing values are
    dropped."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x = x[~np.isnan(x)]
    y = y[~np.isnan(y)]
    name = "Wilcoxon rank-sum test"
    if x.size == 0 or y.size == 0:
        return RankSumTest(name, None, None, False, "a group has no values")
    nx, ny = x.size, y.size
    ranks = stats.rankdata(np.concatenate([x, y]))
    w = float(ranks[:nx].sum() - nx * (nx + 1) / 2)
    _, counts = np.unique(ranks, return_counts=True)
    ties = bool((counts > 1).any())
    if nx < 50 and ny < 50 and not ties:
        dist = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
        return RankSumTest(f"{name} (exact)", w, float(min(1.0, dist.pvalue)), True)
    z = w - nx * ny / 2
    n = nx + ny
    sigma = math.sqrt(nx * ny / 12 * ((n + 1) - (counts**3 - counts).sum() / (n * (n - 1))))
    if sigma == 0:
        return RankSumTest(name, w, None, False, "every value is the same")
    z = (z - math.copysign(0.5, z) if z != 0 else 0.0) / sigma
    p = float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))
    return RankSumTest(f"{name} (normal approximation with continuity correction)", w, min(1.0, p), False)


def summarise_continuous(values) -> ContinuousSummary:
    """Median and interquartile range (R quantile type 7), with the count of missing values."""
    values = np.asarray(values, dtype=float)
    missing = int(np.isnan(values).sum())
    values = values[~np.isnan(values)]
    if values.size == 0:
        return ContinuousSummary(0, missing, None, None, None, None, None)
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return ContinuousSummary(
        int(values.size), missing, float(median), float(q1), float(q3), float(values.min()), float(values.max())
    )
