"""The distribution functions from scipy.special give scipy.stats's floats, bit for bit."""

from __future__ import annotations

import numpy as np
from scipy import stats

from chartreview.stats import distributions

EDGES = [0.0, -0.0, -1.0, -1e-17, 1e-300, 1e-12, 1e300, np.inf, -np.inf, np.nan]


def same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def test_chi2_sf_equals_scipy_stats():
    rng = np.random.default_rng(16)
    x = np.concatenate([rng.exponential(5, 20_000), rng.uniform(0, 200, 5_000), np.linspace(0, 60, 6001), EDGES])
    for df in (1, 2, 3, 4, 5, 6, 9, 12, 30, 0.5, 2.5, 0, -1, np.nan):
        assert same(distributions.chi2_sf(x, df), stats.chi2.sf(x, df)), df
    for value, df in [(3.84, 1), (0, 2), (-1e-12, 1), (12, 3), (np.float64(7.5), np.int64(2))]:
        assert same(distributions.chi2_sf(value, df), stats.chi2.sf(value, df))
        assert float(distributions.chi2_sf(value, df)) == float(stats.chi2.sf(value, df))


def test_normal_functions_equal_scipy_stats():
    rng = np.random.default_rng(61)
    z = np.concatenate([rng.normal(0, 3, 100_000), rng.uniform(-40, 40, 10_000), EDGES])
    assert same(distributions.norm_sf(z), stats.norm.sf(z))
    assert same(distributions.norm_cdf(z), stats.norm.cdf(z))
    q = np.concatenate([rng.uniform(0, 1, 100_000), [0, 1, 0.5, 0.9, 0.95, 0.975, 0.995, -0.1, 1.1, np.nan]])
    assert same(distributions.norm_ppf(q), stats.norm.ppf(q))
    for value in (1.96, -0.0, 0.0, 3, np.float64(-2.5), 0.975, 1 - (1 - 0.95) / 2, 0.5 + 0.9 / 2):
        assert same(distributions.norm_sf(value), stats.norm.sf(value))
        assert same(distributions.norm_cdf(value), stats.norm.cdf(value))
        assert same(distributions.norm_ppf(value), stats.norm.ppf(value))
