"""Time-to-event statistics for PFS and OS, agreeing with R's survival package to 1e-6.

- ``kaplan_meier``: product-limit estimate with Greenwood variance and log-transformed CI, as
  ``survival::survfit(conf.type = "log")`` (Kaplan & Meier 1958; Greenwood 1926).
- ``km_median``: median with CI as ``quantile.survfit`` (read where the curve and the bands cross
  0.5, the midpoint of a flat stretch at exactly 0.5).
- ``km_at``: survival with CI at landmark times as ``summary(fit, times = ...)``.
- ``logrank_test``: the log-rank test, ``survdiff(rho = 0)`` (Mantel 1966; Peto & Peto 1972).
- ``cox_regression``: Cox proportional hazards with Efron ties, Wald CI and P, as
  ``coxph(ties = "efron")`` (Cox 1972; Efron 1977); ``wald_test`` for a joint Wald test of terms.

The subgroup analyses and the content of results/endpoints/pfs.json and os.json are assembled
from these kernels in ``endpoints.time_to_event``.

Inputs are checked and risk sets counted by ``counting`` (one sort or hash, then ``np.bincount``/
``cumsum``, O(n log n)); Cox's Newton-Raphson iterations are O(n p^2), on rows merged by (time,
status, covariates) when the design is binary. Distinct times are exact float equality (R
additionally merges times closer than ~1e-8 relative, which months = days / 30.4375 never produce).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chartreview.core.numbers import finite_or_none
from chartreview.stats.counting import check_time_to_event, distinct_times, group_codes, risk_set_counts
from chartreview.stats.distributions import chi2_sf, norm_ppf, norm_sf

# quantile.survfit's tolerance for "exactly 0.5".
_QUANTILE_TOL = float(np.sqrt(np.finfo(float).eps))


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KaplanMeier:
    """One row per distinct time (event or censoring), as R ``summary(survfit, censored=TRUE)``.

    ``std_err`` is R's ``fit$std.err``: the Greenwood standard error of the cumulative hazard
    (-log survival); R's ``summary()`` prints ``std_err * survival`` instead. It is ``inf`` and the
    limits are NaN where survival reaches 0, as in R.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_level: float

    @property
    def n(self) -> int:
        return int(self.n_risk[0]) if len(self.n_risk) else 0

    @property
    def events(self) -> int:
        return int(self.n_event.sum())


@dataclass(frozen=True)
class Median:
    """Median survival and its CI limits; None where the curve (or band) does not reach 0.5."""

    estimate: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Rate:
    """Survival at a landmark time with its CI; None past the group's last follow-up time."""

    time: float
    estimate: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class LogRank:
    """Log-rank test; chisq/p are None (with a reason) when fewer than two groups have events."""

    chisq: float | None
    df: int
    p: float | None
    observed: np.ndarray
    expected: np.ndarray
    levels: tuple
    reason: str | None = None


@dataclass(frozen=True)
class CoxModel:
    """Cox model as R ``summary(coxph(...))``. Values are NaN when no fit exists (see ``reason``).

    ``infinite`` flags coefficients whose likelihood is monotone (R warns "coefficient may be
    infinite"); their numbers are the last iterate, not estimates, and ``reason`` says so.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    hr: np.ndarray
    hr_lower: np.ndarray
    hr_upper: np.ndarray
    z: np.ndarray
    p: np.ndarray
    n: int
    events: int
    loglik: tuple[float, float]
    wald_test: float
    wald_df: int
    wald_p: float
    lr_test: float
    lr_df: int
    lr_p: float
    score_test: float
    score_p: float
    conf_level: float
    iterations: int
    converged: bool
    infinite: tuple[bool, ...]
    var: np.ndarray
    reason: str | None = None
    # se, z, p, the CI and the Wald test from the robust (sandwich) variance; var is then the robust one
    robust: bool = False

    def term(self, name: str) -> dict:
        i = self.names.index(name)
        return {"coef": self.coef[i], "se": self.se[i], "hr": self.hr[i],
                "hr_lower": self.hr_lower[i], "hr_upper": self.hr_upper[i], "z": self.z[i],
                "p": self.p[i]}


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------------------------
def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, got {conf_level}")
    return float(norm_ppf(1 - (1 - conf_level) / 2))


def kaplan_meier(time, event, conf_level: float = 0.95, weights=None) -> KaplanMeier:
    """Kaplan-Meier estimate as R ``survfit(Surv(time, event) ~ 1, conf.type = "log")``.

    Greenwood variance of the cumulative hazard; limits ``S * exp(-+z * std_err)``, the upper
    capped at 1 (Kaplan & Meier, JASA 1958; Greenwood 1926).

    With case ``weights`` (e.g. inverse-probability weights) the counts are sums of weights and
    ``std_err`` is the infinitesimal-jackknife (robust) standard error, as
    ``survfit(..., weights = w)`` reports it by default in survival >= 3: the square root of
    sum_i (w_i dlogS(t)/dw_i)^2, with dlogS/dw_i = sum_{t_j <= t} (d_j Y_i(t_j) - n_j dN_i(t_j)) /
    (n_j (n_j - d_j)) (Efron 1981; Therneau, survival's "Validation" vignette).
    """
    time, event = check_time_to_event(time, event)
    z = _z(conf_level)
    if weights is not None:
        return _weighted_kaplan_meier(time, event, check_weights(weights, len(time)), z, conf_level)
    counts = risk_set_counts(time, event)
    utime, n_risk = counts.time, counts.n_risk
    n_event = counts.counts[0].astype(np.int64)
    n_censor = counts.n_leaving - n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - n_event / n_risk)
        greenwood = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0))
        std_err = np.sqrt(greenwood)
        s = np.where(survival > 0, survival, np.nan)  # R: no limits where survival is 0
        lower = np.exp(np.log(s) - z * std_err)
        upper = np.minimum(np.exp(np.log(s) + z * std_err), 1.0)
    return KaplanMeier(time=utime, n_risk=n_risk, n_event=n_event, n_censor=n_censor,
                       survival=survival, std_err=std_err, lower=lower, upper=upper,
                       conf_level=conf_level)


def check_weights(weights, n: int) -> np.ndarray:
    """Case weights: one per patient, finite and positive."""
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (n,):
        raise ValueError("weights must have one value per patient")
    if not (np.isfinite(weights).all() and (weights > 0).all()):
        raise ValueError("weights must be positive, finite and not missing")
    return weights


def _weighted_kaplan_meier(time, event, w, z, conf_level) -> KaplanMeier:
    counts = risk_set_counts(time, w, w * event)
    utime, index = counts.time, counts.index
    leaving, n_event = counts.counts
    n_risk = np.cumsum(leaving[::-1])[::-1]
    n_censor = leaving - n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - n_event / n_risk)
        # each patient's influence on log S: H(t) while at risk, then fixed at H(T_i) - delta_i g(T_i)
        c = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
        g = np.where(n_event > 0, 1.0 / (n_risk - n_event), 0.0)
        h = np.cumsum(c)
        fixed = h[index] - event * g[index]
        w2 = w * w
        still = np.cumsum(np.bincount(index, weights=w2, minlength=utime.size)[::-1])[::-1]
        after = np.concatenate((still[1:], [0.0]))  # sum of w^2 with T_i > t
        left = np.cumsum(np.bincount(index, weights=w2 * fixed * fixed, minlength=utime.size))
        std_err = np.sqrt(h * h * after + left)
        std_err = np.where(survival > 0, std_err, np.inf)
        s = np.where(survival > 0, survival, np.nan)
        lower = np.exp(np.log(s) - z * std_err)
        upper = np.minimum(np.exp(np.log(s) + z * std_err), 1.0)
    return KaplanMeier(time=utime, n_risk=n_risk, n_event=n_event, n_censor=n_censor,
                       survival=survival, std_err=std_err, lower=lower, upper=upper,
                       conf_level=conf_level)


def _find_quantile(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float | None:
    """R survival:::findq: the time where the cumulative ``y`` (1 - survival) reaches ``p``."""
    finite = ~np.isnan(y)
    if not finite.any() or y[finite].max() < p:
        return None
    xmax = x[-1]
    n_finite = int(finite.sum())
    monotone = finite[:n_finite].all() and np.all(y[1:n_finite] >= y[:n_finite - 1])
    if monotone:
        # non-decreasing (the curve, the lower band), NaN only at the end: O(n), no sorting
        keep = np.r_[True, y[1:] != y[:-1]]
        keep[n_finite + 1:] = False                                  # one NaN, as duplicated()
    else:
        _, first = np.unique(y, return_index=True, equal_nan=True)  # R: y[!duplicated(y)]
        keep = np.sort(first)
    x, y = x[keep], y[keep]
    last = y[-1]
    ok = ~np.isnan(y)
    xs, ys = x[ok], y[ok]
    if not monotone:
        order = np.argsort(ys, kind="stable")  # approx() sorts by y: the upper band can rise
        xs, ys = xs[order], ys[order]

    def smallest_at_or_above(shift: float) -> float | None:
        # approx(ys + shift, index, p, method = "constant", f = 1) with rule = 1
        a = ys + shift
        if p < a[0] or p > a[-1]:
            return None
        return float(xs[np.searchsorted(a, p, side="left")])

    x1 = smallest_at_or_above(tol)
    x2 = smallest_at_or_above(-tol)
    if not np.isnan(last) and abs(p - last) < tol:
        # the curve ends on a flat stretch at exactly p: midpoint to the last follow-up time
        return None if x1 is None else (x1 + float(xmax)) / 2
    if x1 is None or x2 is None:
        return None
    return (x1 + x2) / 2


def km_median(km: KaplanMeier) -> Median:
    """Median survival with CI exactly as R ``quantile.survfit(fit, 0.5)``.

    The estimate is where the curve first drops below 0.5, or the midpoint of a flat stretch at
    exactly 0.5 (to the last follow-up time when the curve ends at 0.5; ``print.survfit`` then
    shows the stretch's start instead). The CI limits are read the same way from the lower and
    upper bands. None: not reached.
    """
    x = np.concatenate(([0.0], km.time))

    def read(curve: np.ndarray) -> float | None:
        return _find_quantile(x, np.concatenate(([0.0], 1.0 - curve)), 0.5, _QUANTILE_TOL)

    return Median(estimate=read(km.survival), lower=read(km.lower), upper=read(km.upper))


def km_at(km: KaplanMeier, times: Iterable[float]) -> list[Rate]:
    """Survival with CI at ``times`` as R ``summary(fit, times = times)`` (``extend = FALSE``).

    Before the first time: 1 with CI (1, 1). After the group's last time (event or censoring) R
    returns no row: here the Rate has None throughout. None limits where survival is 0.
    """
    out = []
    last = km.time[-1] if len(km.time) else -np.inf
    for t in times:
        t = float(t)
        if not np.isfinite(t) or t > last:
            out.append(Rate(t, None, None, None))
            continue
        i = int(np.searchsorted(km.time, t, side="right")) - 1
        if i < 0:
            out.append(Rate(t, 1.0, 1.0, 1.0))
        else:
            out.append(Rate(t, float(km.survival[i]), finite_or_none(km.lower[i]),
                            finite_or_none(km.upper[i])))
    return out


# ---------------------------------------------------------------------------------------------
# Log-rank
# ---------------------------------------------------------------------------------------------
def logrank_test(time, event, group, levels: Sequence | None = None) -> LogRank:
    """Log-rank test of equal survival across groups, as R ``survdiff(Surv ~ group, rho = 0)``.

    Groups with no expected events are dropped and the first remaining one is the reference of
    the (k-1)-dimensional quadratic form, as survdiff does (Mantel 1966; Peto & Peto 1972).
    """
    time, event = check_time_to_event(time, event, group)
    levels, g = group_codes(group, levels)
    counts = risk_set_counts(time, event, group=g, n_groups=len(levels))
    died = counts.counts[0].T                                          # times x groups
    rows = died.sum(axis=1) > 0
    risk = counts.n_risk.T[rows].astype(float)
    died = died[rows]
    d = died.sum(axis=1)
    n = risk.sum(axis=1)
    observed = died.sum(axis=0)
    expected = (risk * (d / n)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n > 1, d * (n - d) / (n * (n - 1)), 0.0)
    var = np.diag((risk * w[:, None]).sum(axis=0)) - (risk * (w / n)[:, None]).T @ risk
    use = np.flatnonzero(expected > 0)
    df = len(use) - 1
    if df < 1:
        return LogRank(None, max(df, 0), None, observed, expected, levels,
                       reason="fewer than two groups with events: no test")
    diff = (observed - expected)[use][1:]
    v = var[np.ix_(use, use)][1:, 1:]
    try:
        chisq = float(diff @ np.linalg.solve(v, diff))
    except np.linalg.LinAlgError:  # R: "system is exactly singular"
        return LogRank(None, df, None, observed, expected, levels, reason="zero variance "
                       "(every event time removes its whole risk set): no test")
    return LogRank(chisq, df, float(chi2_sf(chisq, df)), observed, expected, levels)


# ---------------------------------------------------------------------------------------------
# Cox proportional hazards (Efron ties)
# ---------------------------------------------------------------------------------------------
# Hand-written: lifelines' CoxPHFitter differs from R coxph by up to 7e-7 relative on heavily tied
# data and has no infinite-coefficient check; this Newton-Raphson follows R's coxfit6.
class _EfronLikelihood:
    """Efron partial log-likelihood, score and information (R's coxfit6 sums).

    Rows carry frequency weights (identical rows merged, see ``_merge_identical_rows``); the
    Efron fractions l/d run over the tied event count d, so merged and expanded data give the
    same likelihood. Per distinct time only scalars are expanded over its events; everything else
    is O(rows x p^2) per call.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, X: np.ndarray, weight: np.ndarray,
                 case_weight: np.ndarray | None = None):
        utime, codes = distinct_times(time)
        order = np.argsort(codes, kind="stable")
        self.w = weight[order]
        self.event = event[order]
        mean = (X * weight[:, None]).sum(axis=0) / weight.sum()
        self.X = X[order] - mean  # centred like R: same coefficients, no overflow
        t = codes[order]
        self.starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
        self.size = np.diff(np.r_[self.starts, len(t)])            # rows per distinct time
        self.m = len(utime)
        self.d = np.rint(np.add.reduceat(self.w * self.event, self.starts)).astype(np.int64)
        # case weights (R coxph weights =): the Efron fractions run over the count of tied events, each
        # term weighted by their mean case weight (coxfit6's meanwt); frequency weights have mean 1
        self.order = order
        self.meanwt = None
        if case_weight is not None:
            self.w = self.w * case_weight[order]
            deadwt = np.add.reduceat(self.w * self.event, self.starts)
            self.meanwt = np.where(self.d > 0, deadwt / np.maximum(self.d, 1), 0.0)
        # one entry per event: its distinct time and its Efron fraction l/d, l = 0..d-1
        d = self.d
        first = np.repeat(np.cumsum(d) - d, d)
        self.frac = (np.arange(d.sum()) - first) / np.repeat(d, d)
        self.event_times = np.flatnonzero(d)                          # times with events
        self.event_starts = (np.cumsum(d) - d)[self.event_times]
        self.we = self.w * self.event
        self.x_events = self.we @ self.X

    def _per_time(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts, axis=0)

    def _by_time(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (one per event) over each distinct time's events."""
        out = np.zeros(self.m)
        out[self.event_times] = np.add.reduceat(values, self.event_starts)
        return out

    def __call__(self, beta: np.ndarray):
        eta = self.X @ beta
        eta = eta - eta.max()  # a constant shift leaves the partial likelihood unchanged
        rw = np.exp(eta) * self.w
        re = rw * self.event
        s0 = np.cumsum(self._per_time(rw)[::-1])[::-1]                  # risk set (time >= t)
        s1 = np.cumsum(self._per_time(self.X * rw[:, None])[::-1], axis=0)[::-1]
        e0 = self._per_time(re)                                          # tied events
        e1 = self._per_time(self.X * re[:, None])
        f = self.frac
        den = np.repeat(s0, self.d) - f * np.repeat(e0, self.d)
        loglik = float(eta @ self.we - np.log(den).sum())
        inv = 1.0 / den
        inv2 = inv * inv
        f_inv2 = f * inv2
        a, b = self._by_time(inv), self._by_time(f * inv)
        c, g, h = self._by_time(inv2), self._by_time(f_inv2), self._by_time(f * f_inv2)
        if self.meanwt is not None:
            den_weight = np.repeat(self.meanwt, self.d)
            loglik = float(eta @ self.we - (den_weight * np.log(den)).sum())
            a, b, c, g, h = (v * self.meanwt for v in (a, b, c, g, h))
        # score: sum over events of (S1 - f E1) / den
        score = self.x_events - (s1 * a[:, None] - e1 * b[:, None]).sum(axis=0)
        # information: sum of (S2 - f E2) / den minus the outer products of the score terms
        weight = rw * np.repeat(np.cumsum(a), self.size) - re * np.repeat(b, self.size)
        cross = s1.T @ (e1 * g[:, None])
        outer = s1.T @ (s1 * c[:, None]) - cross - cross.T + e1.T @ (e1 * h[:, None])
        info = (self.X * weight[:, None]).T @ self.X - outer
        return loglik, score, info


    def score_residuals(self, beta: np.ndarray) -> np.ndarray:
        """Each row's score residual (R ``residuals(fit, type = "score")``, per unit case weight), in
        the rows' original order: delta_i (x_i - mean_k xbar_k(T_i)) - r_i sum over event times t <= T_i
        of sum_k c_ik h_k (x_i - xbar_k), with the Efron terms k = 0..d-1 of each event time (xbar_k =
        (S1 - k/d E1) / (S0 - k/d E0), h_k = meanwt / (S0 - k/d E0)) and c_ik = 1 - k/d for an event
        tied at T_i, 1 otherwise (Therneau & Grambsch 2000, ch. 4)."""
        eta = self.X @ beta
        eta = eta - eta.max()
        risk = np.exp(eta)
        rw = risk * self.w
        re = rw * self.event
        s0 = np.cumsum(self._per_time(rw)[::-1])[::-1]
        s1 = np.cumsum(self._per_time(self.X * rw[:, None])[::-1], axis=0)[::-1]
        e0 = self._per_time(re)
        e1 = self._per_time(self.X * re[:, None])
        f = self.frac
        d_rep = np.repeat(self.d, self.d)
        den = np.repeat(s0, self.d) - f * np.repeat(e0, self.d)
        xbar = (np.repeat(s1, self.d, axis=0) - f[:, None] * np.repeat(e1, self.d, axis=0)) / den[:, None]
        meanwt = np.ones(self.m) if self.meanwt is None else self.meanwt
        hz = np.repeat(meanwt, self.d) / den
        # per distinct time: all k (at risk, no event then) and (1 - k/d)-weighted (tied events)
        hz_all, hzx_all = self._by_time(hz), self._by_time_matrix(hz[:, None] * xbar)
        down = 1.0 - f
        hz_dead, hzx_dead = self._by_time(down * hz), self._by_time_matrix((down * hz)[:, None] * xbar)
        xbar_mean = self._by_time_matrix(xbar / d_rep[:, None])
        cum_hz = np.cumsum(hz_all) - hz_all          # event times before t
        cum_hzx = np.cumsum(hzx_all, axis=0) - hzx_all
        t = np.repeat(np.arange(self.m), self.size)
        dead = self.event > 0
        at_t_hz = np.where(dead, hz_dead[t], hz_all[t])
        at_t_hzx = np.where(dead[:, None], hzx_dead[t], hzx_all[t])
        total_hz = cum_hz[t] + at_t_hz
        total_hzx = cum_hzx[t] + at_t_hzx
        resid = dead[:, None] * (self.X - xbar_mean[t]) - risk[:, None] * (self.X * total_hz[:, None] - total_hzx)
        out = np.empty_like(resid)
        out[self.order] = resid
        return out

    def _by_time_matrix(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((self.m, values.shape[1]))
        if len(values):
            out[self.event_times] = np.add.reduceat(values, self.event_starts, axis=0)
        return out


def _merge_identical_rows(time, event, X) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows with the same time, status and covariates merged into one with a frequency weight.

    With binary designs (group, subgroup, interaction) a million patients shrink to a few
    thousand rows; the Cox likelihood is unchanged. Designs with many distinct covariate values
    (age) are left as they are.
    """
    ones = np.ones(len(time))
    if len(time) < 10_000:
        return time, event, X, ones
    pattern = np.zeros(len(time), dtype=np.int64)
    values = []
    for j in range(X.shape[1]):
        codes, uniques = pd.factorize(X[:, j])
        if np.prod([len(v) for v in values]) * len(uniques) > 4096:
            return time, event, X, ones
        pattern = pattern * len(uniques) + codes
        values.append(np.asarray(uniques, dtype=float))
    patterns = int(np.prod([len(v) for v in values]))
    utime, tcode = distinct_times(time)
    key = (tcode * 2 + event.astype(np.int64)) * patterns + pattern
    size = len(utime) * 2 * patterns
    if size > 20 * len(time):
        _, first, count = np.unique(key, return_index=True, return_counts=True)
        return time[first], event[first], X[first], count.astype(float)
    count = np.bincount(key, minlength=size)
    cells = np.flatnonzero(count)
    # decode each occupied cell into its time, status and covariate values
    pattern, rest = cells % patterns, cells // patterns
    columns = []
    for v in reversed(values):
        columns.append(v[pattern % len(v)])
        pattern //= len(v)
    merged_X = np.column_stack(columns[::-1]) if columns else np.empty((len(cells), 0))
    return utime[rest // 2], (rest % 2).astype(float), merged_X, count[cells].astype(float)


def _empty_cox(names, n, events, conf_level, reason) -> CoxModel:
    nan = np.full(len(names), np.nan)
    return CoxModel(tuple(names), nan, nan, nan, nan, nan, nan, nan, n, events, (np.nan, np.nan),
                    np.nan, len(names), np.nan, np.nan, len(names), np.nan, np.nan, np.nan,
                    conf_level, 0, False, tuple(False for _ in names),
                    np.full((len(names), len(names)), np.nan), reason)


def cox_regression(time, event, X, names: Sequence[str], conf_level: float = 0.95, *,
                   max_iter: int = 50, eps: float = 1e-12, weights=None, robust: bool = False) -> CoxModel:
    """Cox proportional hazards regression as R ``coxph(Surv(time, event) ~ X, ties = "efron")``.

    Newton-Raphson with step halving from beta = 0 (R's coxfit6), iterated until the step is
    below 1e-9 relative or the log-likelihood changes by less than ``eps`` relative (tighter than
    R's 1e-9, so both sit on the same maximum).
    Wald SE, z, P and CI; Wald, likelihood-ratio and score tests of all coefficients.
    Rows with a missing value are dropped (R's na.omit). A coefficient whose remaining Newton
    step is not negligible at convergence is flagged infinite, as R's ``toler.inf`` check
    (Cox, JRSS B 1972; Efron, JASA 1977).

    ``weights``: case weights, as ``coxph(..., weights = w)`` (Efron's tied terms weighted by the
    mean weight of the tied events). ``robust``: the sandwich variance V (sum_i w_i^2 U_i U_i') V of
    ``coxph(..., robust = TRUE)``, U_i the score residuals, V the inverse information (Lin & Wei,
    JASA 1989; Binder 1992); se, z, P, CI and the Wald test are then robust, the likelihood-ratio
    and score tests are not.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    names = tuple(names)
    if X.shape != (len(time), len(names)):
        raise ValueError(f"X must be n x {len(names)} (one column per name)")
    z_crit = _z(conf_level)
    complete = ~(np.isnan(time) | np.isnan(event) | np.isnan(X).any(axis=1))
    if weights is not None:
        weights = check_weights(weights, len(complete))[complete]
    time, event, X = time[complete], event[complete], X[complete]
    time, event = check_time_to_event(time, event)
    n, events = len(time), int(event.sum())
    if events == 0:
        return _empty_cox(names, n, events, conf_level, "no events: no hazard ratio")
    constant = [nm for nm, lo, hi in zip(names, X.min(axis=0, initial=np.inf),
                                          X.max(axis=0, initial=-np.inf)) if lo == hi]
    if constant:
        return _empty_cox(names, n, events, conf_level,
                          f"no variation in {', '.join(constant)}: no hazard ratio")

    if weights is None and not robust:
        lik = _EfronLikelihood(*_merge_identical_rows(time, event, X))
    else:  # residuals are per patient: no merging
        lik = _EfronLikelihood(time, event, X, np.ones(n), weights)
    beta = np.zeros(len(names))
    loglik0, score0, info0 = lik(beta)
    try:
        score_test = float(score0 @ np.linalg.solve(info0, score0))
    except np.linalg.LinAlgError:
        return _empty_cox(names, n, events, conf_level, "singular information matrix")
    loglik, score, info = loglik0, score0, info0
    converged, iterations = False, 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (the count is reported after the loop)
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            break
        trial = beta + step
        new = lik(trial)
        halvings = 0
        # R halves the step when the likelihood gets worse; a tolerance keeps rounding noise at
        # the maximum from triggering it
        while not new[0] >= loglik - 1e-12 * abs(loglik) and halvings < 30:  # NaN: worse
            trial = (beta + trial) / 2
            new = lik(trial)
            halvings += 1
        small_step = np.all(np.abs(trial - beta) <= 1e-9 * (1 + np.abs(beta)))
        flat = abs(new[0] - loglik) <= eps * abs(loglik)
        beta = trial
        loglik, score, info = new
        if small_step or flat:
            converged = True
            break
    try:
        var = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return _empty_cox(names, n, events, conf_level, "singular information matrix")
    remaining = np.abs(var @ score)
    if robust:
        case = np.ones(n) if weights is None else weights
        scores = lik.score_residuals(beta) * case[:, None]
        var = var @ (scores.T @ scores) @ var
    infinite = (remaining > 1e-9) & (remaining > np.sqrt(1e-9) * np.abs(beta))
    # a variance that is not positive (information not positive definite) is no estimate either
    infinite |= ~(np.diag(var) > 0) | ~np.isfinite(beta)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.diag(var))
        z = beta / se
    wald = float(beta @ np.linalg.solve(var, beta)) if robust else float(beta @ info @ beta)
    lr = 2 * (loglik - loglik0)
    reason = None
    if not converged:
        reason = "Cox model did not converge: no hazard ratio"
    elif infinite.any():
        flagged = ", ".join(nm for nm, f in zip(names, infinite) if f)
        reason = f"coefficient may be infinite (monotone likelihood) for {flagged}: no hazard ratio"
    p = len(names)
    with np.errstate(over="ignore"):  # an infinite coefficient's HR overflows; it is flagged
        hr = np.exp(beta)
        hr_lower, hr_upper = np.exp(beta - z_crit * se), np.exp(beta + z_crit * se)
    return CoxModel(
        names=names, coef=beta, se=se, hr=hr, hr_lower=hr_lower, hr_upper=hr_upper, z=z,
        p=2 * norm_sf(np.abs(z)), n=n,
        events=events, loglik=(loglik0, loglik), wald_test=wald, wald_df=p,
        wald_p=float(chi2_sf(wald, p)), lr_test=lr, lr_df=p, lr_p=float(chi2_sf(lr, p)),
        score_test=score_test, score_p=float(chi2_sf(score_test, p)), conf_level=conf_level,
        iterations=iterations, converged=converged,
        infinite=tuple(bool(f) for f in (infinite | (not converged))), var=var, reason=reason, robust=robust)


def wald_test(model: CoxModel, terms: Sequence[str]) -> tuple[float, int, float]:
    """Wald chi-square of ``terms`` jointly (b' V^-1 b), its df and P."""
    idx = [model.names.index(t) for t in terms]
    b = model.coef[idx]
    stat = float(b @ np.linalg.solve(model.var[np.ix_(idx, idx)], b))
    return stat, len(idx), float(chi2_sf(stat, len(idx)))
