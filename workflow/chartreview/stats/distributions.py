"""The normal and chi-square distribution functions the kernels use, as scipy.stats computes them, from
scipy.special alone: scipy.stats takes over a second to import, paid by every endpoint job.

Each gives the same float as its scipy.stats counterpart for every input (scipy.stats.norm's sf, cdf and ppf
call ndtr and ndtri; chi2.sf calls chdtrc, with 1 for a statistic at or below 0 and NaN for df <= 0), which
tests/stats/test_distributions.py checks against scipy.stats over many values.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def chi2_sf(x, df):
    """scipy.stats.chi2.sf(x, df)."""
    x, df = np.asarray(x, dtype=float), np.asarray(df, dtype=float)
    p = np.where(df > 0, special.chdtrc(df, np.where(x < 0, 0.0, x)), np.nan)
    return p[()]


def norm_sf(x):
    """scipy.stats.norm.sf(x)."""
    return special.ndtr(-np.asarray(x, dtype=float))[()]


def norm_cdf(x):
    """scipy.stats.norm.cdf(x)."""
    return special.ndtr(np.asarray(x, dtype=float))[()]


def norm_ppf(q):
    """scipy.stats.norm.ppf(q)."""
    return special.ndtri(np.asarray(q, dtype=float))[()]
