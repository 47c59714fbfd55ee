"""Comparisons of proportions and distributions between groups, as R's stats package computes them.

compare_proportions: Pearson chi-square (chisq.test), with Yates' correction for 2x2 tables, Fisher's exact
test (fisher.test), or `auto`; clopper_pearson: the exact binomial interval (binom.test); wilcoxon_rank_sum:
wilcox.test(x, y) with R's defaults; plus the summaries of a Table 1. R parity is recorded under
tests/fixtures/categorical/ by tests/fixtures/r/categorical_reference.R.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from chartreview.stats.distributions import chi2_sf, norm_cdf, norm_sf

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
# The most partial tables (stage-wise paths or column fillings) the exact test builds at once. R's FEXACT has
# a workspace too: tables that exceed this one also exceed R's default workspace (fisher.test stops there).
_FISHER_MAX_PATHS = 20_000_000
# ... and more than this many completions of the last two columns in all (a registry-sized table would take
# hours: R's FEXACT refuses such tables for its workspace too)
_FISHER_MAX_COMPLETIONS = 10 * _FISHER_MAX_PATHS
# Past path values within this many log units are one value (they differ by rounding only).
_FISHER_PAST_DIGITS = 9



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
    p = float(chi2_sf(statistic, df))
    return CategoricalTest(TESTS["chi2_yates" if yates else "chi2"], statistic, df, p)


class _BeyondWorkspace(Exception):
    """The network of the exact test outgrows _FISHER_MAX_PATHS."""


def _fillings(caps: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Every column x with 0 <= x_i <= caps[k, i] and sum(x) = total, for every node k (a row of caps):
    (the node of each filling, the fillings), nodes in order."""
    m, r = caps.shape
    later = np.cumsum(caps[:, ::-1], axis=1)[:, ::-1]  # later[k, i]: room in rows i.. of node k
    node = np.arange(m)
    used = np.zeros(m, dtype=np.int64)
    cells: list[np.ndarray] = []
    for i in range(r - 1):
        low = np.maximum(0, total - used - later[node, i + 1])
        high = np.minimum(caps[node, i], total - used)
        count = np.maximum(high - low + 1, 0)
        size = int(count.sum())
        if size > _FISHER_MAX_PATHS:
            raise _BeyondWorkspace
        parent = np.repeat(np.arange(node.size), count)
        offset = np.arange(size) - (np.cumsum(count) - count)[parent]
        cells = [c[parent] for c in cells] + [low[parent] + offset]
        node, used = node[parent], used[parent] + cells[-1]
    cells.append(total - used)
    return node, np.stack(cells, axis=1)


def _even(caps: np.ndarray, totals: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """min sum_i log x_i! over x_i <= caps[k, i], sum x = totals[k]: the most even filling (exact: the
    function is separable and convex)."""
    low = np.zeros(totals.shape, dtype=np.int64)
    high = caps.max(axis=1)
    while (low < high).any():  # the highest level L with sum min(caps, L) <= total
        mid = (low + high + 1) // 2
        fits = np.minimum(caps, mid[:, None]).sum(axis=1) <= totals
        low, high = np.where(fits, mid, low), np.where(fits, high, mid - 1)
    x = np.minimum(caps, low[:, None])
    left = totals - x.sum(axis=1)  # one more each to `left` cells whose cap exceeds the level
    return lf[x].sum(axis=1) + left * (lf[np.minimum(low + 1, lf.size - 1)] - lf[low])


def _concentrated(caps: np.ndarray, totals: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """max sum_i log x_i! over x_i <= caps[k, i], sum x = totals[k]: the largest caps filled first (it
    majorizes every other filling, and the function is Schur-convex)."""
    caps = -np.sort(-caps, axis=1)
    before = np.cumsum(caps, axis=1) - caps
    x = np.clip(totals[:, None] - before, 0, caps)
    return lf[x].sum(axis=1)


def _future_bounds(rows: np.ndarray, cols: np.ndarray, lf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the value (sum_j log c_j! - sum_ij log x_ij!) of the completions of each node (remaining
    row sums `rows`, columns `cols`): the columns filled independently of the row sums, and the rows of the
    column sums, relax the table; the tighter of the two bounds is kept."""
    k = rows.shape[0]
    col_caps = np.broadcast_to(cols, (k, cols.size))
    least = np.maximum(sum(_even(rows, np.full(k, c), lf) for c in cols),
                       sum(_even(col_caps, rows[:, i], lf) for i in range(rows.shape[1])))
    most = np.minimum(sum(_concentrated(rows, np.full(k, c), lf) for c in cols),
                      sum(_concentrated(col_caps, rows[:, i], lf) for i in range(rows.shape[1])))
    base = lf[cols].sum()
    return base - most, base - least


def _distinct_nodes(nodes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `nodes` and the position of each row among them; a row is read as one integer
    when it fits (numpy's unique over rows is many times slower)."""
    if (n + 1) ** nodes.shape[1] < 2**62:
        powers = (n + 1) ** np.arange(nodes.shape[1], dtype=np.int64)
        keys, where = np.unique(nodes @ powers, return_inverse=True)
        return (keys[:, None] // powers) % (n + 1), where.reshape(-1)
    distinct, where = np.unique(nodes, axis=0, return_inverse=True)
    return distinct, where.reshape(-1)


def _merge(node: np.ndarray, past: np.ndarray, weight: np.ndarray):
    """Paths that reach the same node with the same past value become one, their weights added."""
    key = np.round(past, _FISHER_PAST_DIGITS)
    order = np.lexsort((key, node))
    node, key, past, weight = node[order], key[order], past[order], weight[order]
    first = np.ones(node.size, dtype=bool)
    first[1:] = (node[1:] != node[:-1]) | (key[1:] != key[:-1])
    starts = np.flatnonzero(first)
    return node[starts], past[starts], np.add.reduceat(weight, starts) if starts.size else weight


def _fisher_network(table: np.ndarray) -> float:
    """Two-sided P of Fisher's exact test of an r x c table without empty rows or columns, by the network
    algorithm of Mehta and Patel (1983) as R's FEXACT: columns are added one at a time; a node is the
    multiset of the row sums still to fill, a path's past value the log probability of the columns filled.
    A path is settled as soon as bounds on its completions put all of them at or below the observed
    table's probability (its whole mass counts) or all above it (none counts); paths to one node with one
    past value are merged. The last two columns are enumerated per node and each remaining path's share
    read off the node's sorted completions."""
    x = table.astype(np.int64)
    if x.shape[0] > x.shape[1]:
        x = x.T
    x = x[:, np.argsort(-x.sum(axis=0), kind="stable")]  # large columns first: the last two are the small ones
    rows, cols = x.sum(axis=1), x.sum(axis=0)
    n = int(rows.sum())
    lf = special.gammaln(np.arange(n + 2, dtype=float) + 1)  # lf[k] = log k!
    log_total = lf[n] - lf[rows].sum()  # log of the sum of exp(value) over every table with these margins
    threshold = lf[cols].sum() - lf[x].sum() + math.log(_FISHER_RELATIVE_ERROR)
    nodes = np.sort(rows)[None, :]
    node, past, weight = np.zeros(1, dtype=np.int64), np.zeros(1), np.ones(1)
    p = 0.0
    for j in range(cols.size - 2):
        of, fill = _fillings(nodes, int(cols[j]))
        value = lf[cols[j]] - lf[fill].sum(axis=1)
        children, child = _distinct_nodes(np.sort(nodes[of] - fill, axis=1), n)
        # every path times every filling of its node
        count = np.bincount(of, minlength=nodes.shape[0])
        start = np.cumsum(count) - count
        reps = count[node]
        size = int(reps.sum())
        if size > _FISHER_MAX_PATHS:
            raise _BeyondWorkspace
        path = np.repeat(np.arange(node.size), reps)
        filling = start[node][path] + np.arange(size) - (np.cumsum(reps) - reps)[path]
        node, past, weight = child[filling], past[path] + value[filling], weight[path]
        low, high = _future_bounds(children, cols[j + 1:], lf)
        totals = lf[children.sum(axis=1)] - lf[children].sum(axis=1)
        every = past + high[node] <= threshold
        p += float((weight[every] * np.exp(past[every] + totals[node[every]] - log_total)).sum())
        open_ = ~every & (past + low[node] <= threshold)
        held, node = np.unique(node[open_], return_inverse=True)  # only the nodes that paths still reach
        nodes = children[held]
        node, past, weight = _merge(node.reshape(-1), past[open_], weight[open_])
        if node.size == 0:
            return p
    return p + _last_two_columns(nodes, node, past, weight, cols[-2:], lf, threshold, log_total)


def _last_two_columns(nodes, node, past, weight, cols, lf, threshold, log_total) -> float:
    """The probability of the paths' completions at or below the threshold, the last two columns enumerated
    node by node (in batches), sorted, and summed within each node (no cancellation across nodes)."""
    used = np.unique(node)
    if nodes.shape[1] == 2:  # two rows: a node (a, b) has min(a, c) - max(0, c - b) + 1 completions
        a, b = nodes[used, 0], nodes[used, 1]
        if int(np.maximum(np.minimum(a, cols[0]) - np.maximum(0, cols[0] - b) + 1, 0).sum()) > _FISHER_MAX_COMPLETIONS:
            raise _BeyondWorkspace
    p = 0.0
    enumerated = 0
    # the paths in node order, so that each batch of nodes finds its paths by bisection
    by_node = np.argsort(node, kind="stable")
    sorted_node = node[by_node]
    batch = max(1, _FISHER_MAX_PATHS // 4 // max(1, _fillings(nodes[used[:1]], int(cols[0]))[0].size))
    for begin in range(0, used.size, batch):
        ids = used[begin:begin + batch]
        of, fill = _fillings(nodes[ids], int(cols[0]))
        enumerated += of.size
        if enumerated > _FISHER_MAX_COMPLETIONS:
            raise _BeyondWorkspace
        value = lf[cols].sum() - lf[fill].sum(axis=1) - lf[nodes[ids][of] - fill].sum(axis=1)
        order = np.lexsort((value, of))
        of, value = of[order], value[order]
        count = np.bincount(of, minlength=ids.size)
        start = np.cumsum(count) - count
        top = value[start + count - 1]  # each node's most likely completion
        cumulative = np.zeros((ids.size, int(count.max())))
        cumulative[of, np.arange(of.size) - start[of]] = np.exp(value - top[of])
        cumulative = np.cumsum(cumulative, axis=1)
        # the paths of these nodes, and how many of their node's completions lie at or below the threshold
        mine = by_node[np.searchsorted(sorted_node, ids[0]):np.searchsorted(sorted_node, ids[-1], side="right")]
        q_node = np.searchsorted(ids, node[mine])
        limit = threshold - past[mine]
        tags = np.concatenate([np.zeros(of.size, dtype=np.int8), np.ones(q_node.size, dtype=np.int8)])
        merged = np.lexsort((tags, np.concatenate([value, limit]), np.concatenate([of, q_node])))
        below = np.cumsum(tags[merged] == 0)[tags[merged] == 1] - start[np.concatenate([of, q_node])[merged][
            tags[merged] == 1]]
        q_order = merged[tags[merged] == 1] - of.size
        held = np.zeros(q_node.size, dtype=np.int64)
        held[q_order] = below
        share = np.where(held > 0, cumulative[q_node, np.maximum(held - 1, 0)], 0.0)
        p += float((weight[mine] * share * np.exp(past[mine] + top[q_node] - log_total)).sum())
    return p


def _fisher(table: np.ndarray) -> CategoricalTest:
    """Fisher's exact test, two-sided as R fisher.test: the summed probability of every table with the
    observed margins that is no more likely than the observed one (relative tolerance 1e-7). A 2 x 2 table
    reads the hypergeometric distribution of its first cell; larger tables take the network algorithm.
    Empty rows and columns are left out, as R does."""
    from scipy import stats  # slow to import: only the exact test needs it
    empty = (table.sum(axis=1) == 0).sum() + (table.sum(axis=0) == 0).sum()
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    left_out = "a group or category with no observations is left out, as R's fisher.test does" if empty else None
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
        return CategoricalTest(TESTS["fisher"], None, None, min(1.0, p), left_out)
    try:
        p = _fisher_network(table)
    except _BeyondWorkspace:
        return CategoricalTest(TESTS["fisher"], None, None, None, (
            f"the exact test of this {table.shape[0]} x {table.shape[1]} table with {int(table.sum())} "
            f"observations needs more than {_FISHER_MAX_PATHS:,} partial tables at once (R's fisher.test "
            "needs a larger workspace for it too); use the chi-square test"))
    return CategoricalTest(TESTS["fisher"], None, None, max(0.0, min(1.0, p)), left_out)


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
    if test == "fisher" and reason is not None and min(
            (table.sum(axis=1) > 0).sum(), (table.sum(axis=0) > 0).sum()) >= 2:
        reason = None  # R's fisher.test leaves empty rows and columns out
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
    from scipy import stats  # slow to import: only the interval needs it
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
    from scipy import stats  # slow to import: only the rank-sum test needs it
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
    p = float(2 * min(norm_cdf(z), norm_sf(z)))
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
