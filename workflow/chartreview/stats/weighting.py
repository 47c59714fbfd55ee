"""Inverse-probability-of-treatment weighting (IPTW) for confounding: the propensity score, the stabilised
weights and their summary. The weighted Kaplan-Meier and the weighted Cox model with robust variance are
``survival.kaplan_meier(weights=)`` and ``survival.cox_regression(weights=, robust=True)``.

- ``propensity_score``: logistic regression of the group on the covariates by iteratively reweighted least
  squares, as R ``glm(group ~ covariates, family = binomial)`` (Wald SE from the inverse information);
  statsmodels is not in the lock and sklearn's LogisticRegression is penalised, hence written here (a
  Newton iteration on p + 1 columns, O(n p^2)).
- ``separation``: whether the groups are (quasi-)completely separated by the covariates, the linear
  program of Konis (2007, safeBinaryRegression): a direction b with s_i x_i'b >= 0 for every patient and
  > 0 for some (s_i = +-1 by group) exists iff the maximum likelihood estimate does not.
- ``stabilised_weights``: P(A = a) / P(A = a | X) (Robins, Hernan & Brumback, Epidemiology 2000;11:550-60;
  Xu et al., Value Health 2010;13:273-7), optionally truncated at quantiles of the weights (Cole & Hernan,
  Am J Epidemiol 2008;168:656-64).
- ``weight_summary``: per group the distribution of the weights and Kish's effective sample size.

Arrays in, small records out; no file I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chartreview.stats.distributions import norm_sf

__all__ = [
    "PropensityModel",
    "StabilisedWeights",
    "WeightSummary",
    "propensity_score",
    "separation",
    "stabilised_weights",
    "weight_summary",
]

# R glm.fit's "fitted probabilities numerically 0 or 1" threshold
_EPS = 10 * np.finfo(float).eps


@dataclass(frozen=True)
class PropensityModel:
    """Logistic regression of the group indicator on the covariates; ``score`` is each patient's fitted
    probability of the indicated group. Values are NaN (and ``score`` None) when no fit exists (``reason``)."""

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    n: int
    deviance: float
    null_deviance: float
    converged: bool
    iterations: int
    score: np.ndarray | None
    separated: tuple[str, ...] = ()
    reason: str | None = None
    method: str = "logistic regression, maximum likelihood by IRLS (R glm, binomial, logit link); Wald SE"


@dataclass(frozen=True)
class StabilisedWeights:
    weights: np.ndarray
    marginal: float                    # P(A = 1), the numerator for the indicated group
    trim: tuple[float, float] | None   # quantiles at which the weights were truncated
    bounds: tuple[float, float] | None  # the weights at those quantiles
    truncated_low: int
    truncated_high: int
    method: str


@dataclass(frozen=True)
class WeightSummary:
    n: int
    sum: float
    mean: float
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    effective_n: float  # Kish: (sum w)^2 / sum w^2


def _deviance(y, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, np.log(mu), np.log1p(-mu))
    return float(-2 * terms.sum())


def separation(treated, X, names: Sequence[str]) -> tuple[str, ...]:
    """The covariates that (quasi-)completely separate the groups, () when none do (Konis 2007).

    Maximises (sum_i s_i x_i)'b over -1 <= b <= 1 subject to s_i x_i'b >= 0 (x_i with the intercept,
    s_i = 1 in the indicated group, -1 otherwise): the maximum is 0 unless a separating direction exists;
    the covariates with a non-zero component of that direction are returned ("(Intercept)" alone: one
    group is empty). Rows are merged first (identical rows give identical constraints); columns scaled
    to unit range so the tolerance is relative.
    """
    from scipy import optimize  # slow to import: only this check needs it
    y = np.asarray(treated, dtype=float)
    X1 = np.column_stack([np.ones(y.size), np.asarray(X, dtype=float).reshape(y.size, -1)])
    span = X1.max(axis=0) - X1.min(axis=0)
    X1 = X1 / np.where(span > 0, span, 1.0)
    sign = np.where(y > 0, 1.0, -1.0)
    # identical rows merged by hashing (np.unique(axis=0) sorts rows lexicographically: 20x slower)
    merged = pd.DataFrame(sign[:, None] * X1).value_counts(sort=False)
    rows = np.array(merged.index.tolist(), dtype=float).reshape(len(merged), X1.shape[1])
    count = merged.to_numpy(dtype=float)
    c = count @ rows
    result = optimize.linprog(-c, A_ub=-rows, b_ub=np.zeros(len(rows)), bounds=[(-1, 1)] * X1.shape[1],
                              method="highs")
    if result.status != 0 or -result.fun <= 1e-8 * max(1.0, float(np.abs(c).sum())):
        return ()
    labels = ("(Intercept)", *names)
    found = tuple(nm for nm, b in zip(labels, result.x) if abs(b) > 1e-9 and nm != "(Intercept)")
    return found or ("(Intercept)",)


def propensity_score(treated, X, names: Sequence[str], *, max_iter: int = 100, tol: float = 1e-14
                     ) -> PropensityModel:
    """Propensity score P(A = 1 | X) by logistic regression, as R ``glm(a ~ X, family = binomial)`` (run
    there with ``epsilon = 1e-14`` to sit on the same maximum).

    IRLS from glm's start (mu = (y + 0.5) / 2), until the deviance changes by less than ``tol``
    relative. Checked before fitting: both groups present, no missing value, no covariate aliased with the
    others; after fitting: (quasi-)complete separation (``separation``), then the MLE does not exist and
    the reason names the covariates.
    """
    y = np.asarray(treated, dtype=float)
    X = np.asarray(X, dtype=float).reshape(y.size, -1)
    names = tuple(names)
    labels = ("(Intercept)", *names)
    n, k = y.size, len(labels)
    nan = np.full(k, np.nan)

    def failed(reason, separated=()):
        return PropensityModel(labels, nan, nan, nan, nan, n, np.nan, np.nan, False, 0, None, separated, reason)

    if X.shape[1] != len(names):
        raise ValueError("X must have one column per name")
    if np.isnan(X).any() or np.isnan(y).any():
        raise ValueError("the propensity model's data must not be missing")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("treated must be 0 or 1")
    if n == 0 or y.min() == y.max():
        return failed("one group is empty: no propensity score")
    X1 = np.column_stack([np.ones(n), X])
    aliased = aliased_columns(X1, labels)
    if aliased:
        return failed(f"{', '.join(aliased)} aliased with the other covariates (e.g. constant): "
                      "no propensity score")
    null_deviance = _deviance(y, np.full(n, y.mean()))
    mu = (y + 0.5) / 2
    eta = np.log(mu / (1 - mu))
    deviance = _deviance(y, mu)
    beta = np.zeros(k)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported after the loop)
        w = mu * (1 - mu)
        if not (w > 0).all():  # fitted probabilities of exactly 0 or 1: separation, checked below
            break
        z = eta + (y - mu) / w
        xtw = X1.T * w
        beta = np.linalg.solve(xtw @ X1, xtw @ z)
        eta = X1 @ beta
        mu = 1 / (1 + np.exp(-eta))
        new = _deviance(y, mu)
        if abs(new - deviance) / (abs(new) + 0.1) < tol:
            deviance = new
            converged = True
            break
        deviance = new
    extreme = bool(((mu < _EPS) | (mu > 1 - _EPS)).any())
    if not converged or extreme or not np.isfinite(beta).all():
        separated = separation(y, X, names)
        if separated:
            return failed(f"perfect or quasi-complete separation of the groups by {', '.join(separated)}: "
                          "the maximum likelihood estimate does not exist, no propensity score", separated)
        if not converged:
            return failed(f"the logistic regression did not converge in {max_iter} iterations")
    separated = separation(y, X, names)
    if separated:  # converged to a large coefficient, as glm may: still no estimate
        return failed(f"perfect or quasi-complete separation of the groups by {', '.join(separated)}: "
                      "the maximum likelihood estimate does not exist, no propensity score", separated)
    w = mu * (1 - mu)
    var = np.linalg.inv((X1.T * w) @ X1)
    se = np.sqrt(np.diag(var))
    zval = beta / se
    return PropensityModel(labels, beta, se, zval, 2 * norm_sf(np.abs(zval)), n, deviance, null_deviance,
                           converged, iterations, mu)


def aliased_columns(X, names: Sequence[str]) -> tuple[str, ...]:
    """Columns that are linear combinations of the columns before them (R's model fits report such a
    coefficient as NA, aliased): by a pivot-free QR, a column whose diagonal element is negligible against
    its norm. ``X`` as given (include the intercept column when the model has one)."""
    X = np.asarray(X, dtype=float)
    if X.size == 0:
        return ()
    norms = np.linalg.norm(X, axis=0)
    scaled = X / np.where(norms > 0, norms, 1.0)
    r = np.linalg.qr(scaled, mode="r")
    diag = np.abs(np.diag(r))
    return tuple(nm for nm, d, norm in zip(names, diag, norms) if norm == 0 or d < 1e-7)


def stabilised_weights(treated, score, trim: Sequence[float] | None = (0.01, 0.99)) -> StabilisedWeights:
    """Stabilised inverse-probability-of-treatment weights: P(A = 1) / e(x) in the indicated group
    (``treated`` = 1), P(A = 0) / (1 - e(x)) in the other, e the propensity score, P(A) the observed share
    (Robins, Hernan & Brumback 2000). With ``trim`` = (lower, upper) quantiles, weights beyond the weights'
    quantiles (R's default type 7) are set to them (truncation, Cole & Hernan 2008); ``None``: untruncated.
    """
    a = np.asarray(treated, dtype=float)
    e = np.asarray(score, dtype=float)
    if a.shape != e.shape or a.ndim != 1:
        raise ValueError("treated and score must be one-dimensional arrays of the same length")
    if not ((e > 0) & (e < 1)).all():
        raise ValueError("propensity scores must lie strictly between 0 and 1")
    marginal = float(a.mean())
    w = np.where(a > 0, marginal / e, (1 - marginal) / (1 - e))
    method = "stabilised inverse probability of treatment weights, P(A = a) / P(A = a | X)"
    if trim is None:
        return StabilisedWeights(w, marginal, None, None, 0, 0, method + "; not truncated")
    lower_q, upper_q = (float(q) for q in trim)
    if not 0 <= lower_q < upper_q <= 1:
        raise ValueError("trim must be two quantiles 0 <= lower < upper <= 1")
    low, high = (float(v) for v in np.quantile(w, [lower_q, upper_q]))
    truncated = np.clip(w, low, high)
    return StabilisedWeights(truncated, marginal, (lower_q, upper_q), (low, high), int((w < low).sum()),
                             int((w > high).sum()),
                             method + f"; truncated at their {lower_q:g} and {upper_q:g} quantiles")


def weight_summary(weights) -> WeightSummary:
    """The distribution of a set of weights (quantiles as R's default type 7) and Kish's effective sample
    size (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    if w.size == 0:
        nan = float("nan")
        return WeightSummary(0, 0.0, nan, nan, nan, nan, nan, nan, 0.0)
    q = np.quantile(w, [0, 0.25, 0.5, 0.75, 1])
    return WeightSummary(int(w.size), float(w.sum()), float(w.mean()), float(q[0]), float(q[1]), float(q[2]),
                         float(q[3]), float(q[4]), float(w.sum() ** 2 / (w * w).sum()))
