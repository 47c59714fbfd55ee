"""Balance of a characteristic between two groups: the standardized mean difference (SMD), as R's tableone.

standardized_mean_difference(values, second, weights=None, kind=...) returns the absolute SMD of one variable:
- continuous: Cohen's d with the pooled SD, |m1 - m2| / sqrt((s1^2 + s2^2) / 2) (tableone's StdDiff);
- categorical: the multinomial SMD of Yang and Dalton (2012), sqrt((p1 - p2)' S^+ (p1 - p2)) over the levels
  but the first, S = (S1 + S2) / 2 with S_g = diag(p_g) - p_g p_g' and S^+ its Moore-Penrose inverse with
  MASS::ginv's tolerance (tableone's StdDiffMulti / ExtractSmd).
With weights (e.g. inverse-probability weights) the means, variances and proportions are the weighted ones of
tableone's svyCreateTableOne: survey's svymean, and svyvar = n / (n - 1) * sum w (x - m)^2 / sum w (n the
patients of the group). Missing values are left out. R parity (formulae computed in R) is recorded under
tests/fixtures/categorical/ by tests/fixtures/r/categorical_reference.R.

Yang D, Dalton JE. A unified approach to measuring the effect size between two groups using SAS. SAS Global
Forum 2012, paper 335.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["KINDS", "Balance", "standardized_mean_difference"]

KINDS = ("continuous", "categorical")
# MASS::ginv drops singular values below this fraction of the largest
_GINV_TOLERANCE = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class Balance:
    """`smd` is None (with the reason) when the groups do not allow it."""

    smd: float | None
    method: str
    reason: str | None = None


METHODS = {
    "continuous": "standardized mean difference (Cohen's d, pooled SD)",
    "categorical": "standardized mean difference (Yang and Dalton, multinomial)",
}


def _inputs(values, second, weights):
    second = np.asarray(second)
    if second.dtype != bool:
        if not np.isin(second, (0, 1)).all():
            raise ValueError("the group indicator must be 0/1 or boolean")
        second = second.astype(bool)
    if weights is None:
        weights = np.ones(second.size)
    weights = np.asarray(weights, dtype=float)
    if weights.shape != second.shape or len(values) != second.size:
        raise ValueError("values, group indicator and weights must have one entry per patient")
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("weights must be finite and not negative")
    return second, weights


def _continuous(values, second: np.ndarray, weights: np.ndarray) -> Balance:
    values = pd.Series(values)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        values = pd.to_numeric(values.astype(object), errors="coerce")
    x = values.to_numpy(dtype=float, na_value=np.nan)
    seen = ~np.isnan(x) & (weights > 0)
    means, variances = [], []
    for in_group in (~second, second):
        sel = seen & in_group
        n, w = int(sel.sum()), weights[sel]
        if n < 2:
            return Balance(None, METHODS["continuous"], "a group has fewer than two values")
        mean = float(np.dot(w, x[sel]) / w.sum())
        means.append(mean)
        variances.append(float(np.dot(w, (x[sel] - mean) ** 2) / w.sum() * n / (n - 1)))
    pooled = (variances[0] + variances[1]) / 2
    if pooled <= 0:
        return Balance(None, METHODS["continuous"], "the variable is constant within each group")
    return Balance(abs(means[0] - means[1]) / float(np.sqrt(pooled)), METHODS["continuous"])


def _categorical(values, second: np.ndarray, weights: np.ndarray) -> Balance:
    values = pd.Series(values)
    if isinstance(values.dtype, pd.CategoricalDtype):  # every level, as R's table() of a factor
        codes, levels = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, levels = pd.factorize(values, sort=True)
    seen = codes >= 0
    k = max(len(levels), 1)
    proportions = []
    for in_group in (~second, second):
        sel = seen & in_group
        counts = np.bincount(codes[sel], weights=weights[sel], minlength=k)
        if counts.sum() <= 0:
            return Balance(None, METHODS["categorical"], "a group has no values")
        proportions.append(counts / counts.sum())
    p1, p2 = (p[1:] for p in proportions)
    if p1.size == 0:
        return Balance(0.0, METHODS["categorical"])  # one level: the distributions are the same
    covariance = (np.diag(p1) - np.outer(p1, p1) + np.diag(p2) - np.outer(p2, p2)) / 2
    inverse = np.linalg.pinv(covariance, rcond=_GINV_TOLERANCE, hermitian=True)
    difference = p1 - p2
    return Balance(float(np.sqrt(max(0.0, difference @ inverse @ difference))), METHODS["categorical"])


def standardized_mean_difference(values, second, weights=None, kind: str = "continuous") -> Balance:
    """The absolute SMD of `values` (one per patient; missing as NaN/None) between the patients with
    `second` false (the reference group) and true, optionally weighted (one non-negative weight per
    patient; a weight of 0 leaves the patient out). kind: continuous or categorical (see the module)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: use {' or '.join(KINDS)}")
    second, weights = _inputs(values, second, weights)
    if kind == "continuous":
        return _continuous(values, second, weights)
    return _categorical(values, second, weights)
