"""Competing risks: cumulative incidence (Aalen-Johansen), Gray's K-sample test, the Fine-Gray model of the
subdistribution hazard and the Cox model of the cause-specific hazard.

Every function agrees with R's cmprsk 2.2 (cuminc, timepoints, crr) to a relative 1e-6; the R scripts and
their recorded values are under tests/fixtures/r/ and tests/fixtures/competing/. Status codes: 0 censored,
`cause` the event of interest, any other non-zero code a competing event.

Scikit-survival's cumulative_incidence_competing_risks raises when a cause code is absent from a group and
lifelines' AalenJohansenFitter jitters tied times, so the estimators are written here, vectorised over sorted
distinct times (O(n log n): one sort, then cumulative sums); inputs are checked and risk sets counted by
``counting``, as for Kaplan-Meier and Cox.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chartreview.core.numbers import finite_or_none
from chartreview.stats.counting import check_time_to_event, risk_set_counts
from chartreview.stats.distributions import chi2_sf, norm_ppf, norm_sf
from chartreview.stats.survival import CoxModel, cox_regression

__all__ = [
    "CumulativeIncidence",
    "TimepointEstimate",
    "GrayTest",
    "FineGrayModel",
    "cumulative_incidence",
    "cif_at",
    "gray_test",
    "fine_gray",
    "cause_specific_cox",
]


@dataclass(frozen=True)
class CumulativeIncidence:
    """A cumulative incidence curve as a step function: `estimate[i]` holds from `time[i]` on.

    `time` starts at 0 (estimate 0), then has every time at which the curve jumps, then the last follow-up
    time of the sample when it is later than the last jump: the times at which cmprsk::cuminc reports. The
    curve is not defined after `time[-1]`.
    """

    time: np.ndarray
    estimate: np.ndarray
    variance: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_level: float
    cause: int
    n: int
    events: int
    competing: int
    censored: int


@dataclass(frozen=True)
class TimepointEstimate:
    time: float
    estimate: float | None
    variance: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class GrayTest:
    statistic: float | None
    df: int
    p: float | None
    reason: str | None = None
    test: str = "Gray's test (rho = 0)"


@dataclass(frozen=True)
class FineGrayModel:
    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    shr: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p: np.ndarray
    variance: np.ndarray
    conf_level: float
    n: int
    events: int
    converged: bool
    iterations: int
    reason: str | None = None
    method: str = "Fine-Gray proportional subdistribution hazards (censoring-KM weights, Breslow ties)"


def _cause_counts(time, status, cause, group=None, n_groups=1):
    """Risk sets with the counts of the cause (d1) and of competing events (d2) at the distinct times."""
    return risk_set_counts(time, status == cause, (status != 0) & (status != cause), group=group,
                           n_groups=n_groups)


def _tie_factor(d, n):
    """1 - (d-1)/(n-1): the hypergeometric correction of Aalen's variance for d tied events among n at
    risk (1 when d <= 1, also when n == 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 1, 1.0 - (d - 1.0) / (n - 1.0), 1.0)


def _loglog_ci(estimate, variance, conf_level):
    """CI on the log(-log) scale from the Aalen variance: est^exp(±z·se/(est·log est)) (as tidycmprsk
    does with cuminc's variance); undefined (NaN) where the estimate is 0 or 1."""
    z = norm_ppf(0.5 + conf_level / 2.0)
    se = np.sqrt(np.maximum(variance, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = se / (estimate * np.log(estimate))  # negative for 0 < estimate < 1
        lower = estimate ** np.exp(-z * scale)
        upper = estimate ** np.exp(z * scale)
    undefined = (estimate <= 0) | (estimate >= 1)
    lower = np.where(undefined, np.nan, lower)
    upper = np.where(undefined, np.nan, upper)
    return lower, upper


def cumulative_incidence(time, status, cause=1, conf_level=0.95) -> CumulativeIncidence:
    """Aalen-Johansen cumulative incidence of `cause` with Aalen's variance, as R cmprsk::cuminc.

    F(t) = sum_{t_j <= t} S(t_j-) d1_j / n_j, with S the all-cause Kaplan-Meier, n_j at risk and d1_j the
    events of the cause at t_j (tied times counted together, censoring after events). The variance is the
    delta-method variance of F as a function of the cause-specific Nelson-Aalen increments, each with
    Aalen's variance and its correction for tied events, the increments of the two causes taken as
    uncorrelated (Aalen 1978; the estimator of cmprsk::cuminc, checked against it with ties):
        Var F(t) = sum_j S(t_j-)^2 V1_j - 2 S(t_j-) (F(t)-F_j) r_j V1_j + (F(t)-F_j)^2 r_j^2 (V1_j + V2_j),
    with r_j = n_j/(n_j - d_j), Vk_j = dk_j/n_j^2 (1 - (dk_j-1)/(n_j-1)) for the cause (k = 1) and the
    competing events (k = 2). The confidence interval is the log(-log) transform of that variance (see
    _loglog_ci), as tidycmprsk::cuminc reports it.
    """
    time, status = check_time_to_event(time, status, competing=True)
    n = time.size
    events = int((status == cause).sum())
    censored = int((status == 0).sum())
    if n == 0:
        empty = np.zeros(0)
        return CumulativeIncidence(empty, empty, empty, empty, empty, conf_level, cause, 0, 0, 0, 0)
    counts = _cause_counts(time, status, cause)
    utime, n_risk, (d1, d2) = counts.time, counts.n_risk, counts.counts
    d = d1 + d2
    surv = np.cumprod(1.0 - d / n_risk)
    s_prev = np.concatenate(([1.0], surv[:-1]))
    increment = s_prev * d1 / n_risk
    cif = np.cumsum(increment)

    n1 = n_risk * n_risk
    v1 = d1 / n1 * _tie_factor(d1, n_risk)
    v2 = d2 / n1 * _tie_factor(d2, n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        # no one is left after t_j when n_j == d_j: F(t) - F_j is 0 there, so the terms vanish
        r = np.where(n_risk > d, n_risk / (n_risk - d), 0.0)
    c = s_prev * r * v1
    vt = r * r * (v1 + v2)
    a_sum = np.cumsum(s_prev * s_prev * v1)
    b_sum = np.cumsum(c)
    c_sum = np.cumsum(c * cif)
    e_sum = np.cumsum(vt)
    g_sum = np.cumsum(vt * cif)
    h_sum = np.cumsum(vt * cif * cif)
    variance = a_sum - 2.0 * cif * b_sum + 2.0 * c_sum + cif * cif * e_sum - 2.0 * cif * g_sum + h_sum

    jumps = d1 > 0
    keep_time = [np.zeros(1), utime[jumps]]
    keep_est = [np.zeros(1), cif[jumps]]
    keep_var = [np.zeros(1), variance[jumps]]
    last = utime[-1]
    if not jumps.any() or utime[jumps][-1] < last:
        keep_time.append(np.array([last]))
        keep_est.append(np.array([cif[-1]]))
        # the variance is constant after the last jump of the curve
        keep_var.append(np.array([variance[jumps][-1] if jumps.any() else 0.0]))
    out_time = np.concatenate(keep_time)
    out_est = np.concatenate(keep_est)
    out_var = np.maximum(np.concatenate(keep_var), 0.0)
    if out_time.size > 1 and out_time[1] == 0.0:  # events at time 0: the curve starts at its first jump
        out_time, out_est, out_var = out_time[1:], out_est[1:], out_var[1:]
    lower, upper = _loglog_ci(out_est, out_var, conf_level)
    return CumulativeIncidence(
        out_time, out_est, out_var, lower, upper, conf_level, cause, n, events, n - events - censored, censored
    )


def cif_at(cif: CumulativeIncidence, times) -> list[TimepointEstimate]:
    """The curve at given times as cmprsk::timepoints: the value at the last reported time on or before
    each time; None after the last follow-up time of the sample (and before 0)."""
    times = np.atleast_1d(np.asarray(times, dtype=float))
    out = []
    if cif.time.size == 0:
        return [TimepointEstimate(float(t), None, None, None, None) for t in times]
    index = np.searchsorted(cif.time, times, side="right") - 1
    for t, i in zip(times, index):
        if i < 0 or t > cif.time[-1]:
            out.append(TimepointEstimate(float(t), None, None, None, None))
            continue
        out.append(
            TimepointEstimate(
                float(t),
                float(cif.estimate[i]),
                float(cif.variance[i]),
                finite_or_none(cif.lower[i]),
                finite_or_none(cif.upper[i]),
            )
        )
    return out


def gray_test(time, status, group, cause=1) -> GrayTest:
    """Gray's K-sample test of equal cumulative incidence of `cause` (rho = 0), from Gray RJ, Ann Stat
    1988;16:1141-54; the statistic and P of cmprsk::cuminc's $Tests (checked to 1e-6, ties included).

    Gray compares weighted averages of the subdistribution hazards dGamma_k = dF1_k / (1 - F1_k(t-)). With
    his weight K_k(t) = L(t) R_k(t), L = (1 - F0(t-))^rho = 1, the score of group k is
        z_k = int K_k (dGamma_k - dGamma0) = sum_t [d1_k(t) - R_k(t) d1.(t) / R.(t)],
    observed minus expected events of the cause in the subdistribution risk set
    R_k(t) = Y_k(t) (1 - F1_k(t-)) / S_k(t-) (Y_k at risk, S_k the all-cause Kaplan-Meier, F1_k the
    cumulative incidence of group k).

    Covariance: linearising Gamma_k = -log(1 - F1_k) and F1_k in the cause-specific martingales of each
    group r (Gray's asymptotic representation), with the quantities under the null estimated from the
    pooled sample (F0 with dF0 = d1. / h., h_r = Y_r / S_r(t-) the censoring-adjusted size):
        sigma_kl = sum_r sum_t w1_r(t) A_kr(t) A_lr(t) + w2_r(t) B_kr(t) B_lr(t),
        A_kr(t) = a_kr(t) + (1 - (1 - F0(t)) / S_r(t)) I_kr(t),    B_kr(t) = (1 - F0(t)) / S_r(t) I_kr(t),
        a_kr(t) = h_k(t) (delta_kr - h_r(t) / h.(t)),  I_kr(t) = sum_{s > t} a_kr(s) dF0(s) / (1 - F0(s-)),
    the variance of the cause's increments under the null, w1_r = S_r(t-) dF0 / Y_r, and of the competing
    increments as observed, w2_r = S_r(t-)^2 d2_r / Y_r^2 (each with the correction for tied events).
    statistic = z' sigma^-1 z over the first K-1 groups, chi-square with K-1 df; p None (with the reason)
    when sigma is singular (cmprsk reports -1). Vectorised over the pooled distinct times, O(n log n).
    """
    time, status = check_time_to_event(time, status, group, competing=True)
    labels, gindex = np.unique(np.asarray(group), return_inverse=True)
    df = int(labels.size - 1)
    if labels.size < 2:
        return GrayTest(None, max(df, 0), None, "fewer than two groups")
    if not (status == cause).any():
        return GrayTest(None, df, None, f"no event of cause {cause} in any group")
    counts = _cause_counts(time, status, cause, gindex, labels.size)
    y, (d1, d2) = counts.n_risk, counts.counts  # groups x pooled distinct times
    k = labels.size
    at_risk = y > 0
    safe_y = np.where(at_risk, y, 1.0)
    surv = np.cumprod(np.where(at_risk, 1.0 - (d1 + d2) / safe_y, 1.0), axis=1)
    surv_prev = np.hstack([np.ones((k, 1)), surv[:, :-1]])
    safe_surv_prev = np.where(at_risk, surv_prev, 1.0)  # S_r(t-) > 0 wherever Y_r(t) > 0
    cif1 = np.cumsum(np.where(at_risk, surv_prev * d1 / safe_y, 0.0), axis=1)
    cif1_prev = np.hstack([np.zeros((k, 1)), cif1[:, :-1]])

    # score
    r_sub = np.where(at_risk, y * (1.0 - cif1_prev) / safe_surv_prev, 0.0)
    r_total = r_sub.sum(axis=0)
    d1_total = d1.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(r_total > 0, r_sub * d1_total / r_total, 0.0)
    score = (d1 - expected).sum(axis=1)

    # pooled cumulative incidence under the null
    h = np.where(at_risk, y / safe_surv_prev, 0.0)
    h_total = h.sum(axis=0)  # > 0 at every pooled time: someone is at risk there
    df0 = d1_total / h_total
    f0 = np.cumsum(df0)
    f0_prev = np.concatenate(([0.0], f0[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        dgamma0 = np.where(1.0 - f0_prev > 0, df0 / (1.0 - f0_prev), 0.0)
    # a[k, r, t] for the first K-1 groups k
    share = h / h_total
    a = h[:-1, None, :] * (np.eye(k)[:-1, :, None] - share[None, :, :])
    a = np.where(at_risk[None, :, :], a, 0.0)
    weighted = a * dgamma0
    after = weighted.sum(axis=2, keepdims=True) - np.cumsum(weighted, axis=2)  # I_kr(t): sum over s > t

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(surv > 0, (1.0 - f0) / surv, 0.0)  # (1 - F0(t)) / S_r(t)
        ties1 = np.where(d1_total > 1, 1.0 - (d1_total - 1.0) / (h_total * surv_prev - 1.0), 1.0)
        w1 = np.where(at_risk, ties1 * surv_prev * d1_total / (h_total * safe_y), 0.0)
        w2 = np.where(at_risk & (surv > 0), _tie_factor(d2, y) * surv_prev**2 * d2 / safe_y**2, 0.0)
    t4 = np.where(surv > 0, 1.0 - ratio, 1.0)
    coef1 = a + t4[None, :, :] * after
    coef2 = ratio[None, :, :] * after
    sigma = np.einsum("irt,jrt,rt->ij", coef1, coef1, w1) + np.einsum("irt,jrt,rt->ij", coef2, coef2, w2)
    z = score[:-1]
    try:
        if np.linalg.matrix_rank(sigma) < sigma.shape[0]:
            raise np.linalg.LinAlgError
        statistic = float(z @ np.linalg.solve(sigma, z))
    except np.linalg.LinAlgError:
        return GrayTest(None, df, None, "the covariance of the score is singular (too few events)")
    p = float(chi2_sf(statistic, df))
    return GrayTest(statistic, df, p)


def _censoring_km_left(time, status):
    """Kaplan-Meier of the censoring distribution just before each time, G(t-), over the sorted distinct
    times (events at a tied time count as still at risk for censoring, as in survfit)."""
    counts = risk_set_counts(time, status == 0)
    utime, inverse, n_risk, (censored,) = counts.time, counts.index, counts.n_risk, counts.counts
    g = np.cumprod(1.0 - censored / n_risk)
    g_left = np.concatenate(([1.0], g[:-1]))
    if utime[0] == 0:
        # crr reads G at t * (1 - 100 eps), which at t = 0 is G(0), after the censorings at 0: matched
        g_left[0] = g[0]
    return utime, inverse, g_left, censored, n_risk


def _fine_gray_parts(beta, X, inverse, m, comp_mask, g_left):
    """Weighted risk-set sums at each distinct time: S0, S1 (p), S2 (p x p) of the subdistribution risk
    set {T_j >= t} plus competing-event subjects with T_j < t weighted G(t-)/G(T_j-)."""
    p = X.shape[1]
    eta = X @ beta
    e = np.exp(eta - eta.max())  # every ratio below is invariant to a common factor: no overflow
    xe = X * e[:, None]
    xxe = (X[:, :, None] * X[:, None, :]) * e[:, None, None]

    def by_time(values):
        columns = values.reshape(values.shape[0], -1).T
        return np.stack([np.bincount(inverse, weights=v, minlength=m) for v in columns], 1)

    ones_e = e[:, None]
    at = [by_time(ones_e), by_time(xe), by_time(xxe.reshape(-1, p * p))]
    comp_w = (comp_mask / g_left[inverse])[:, None]
    cm = [by_time(ones_e * comp_w), by_time(xe * comp_w), by_time(xxe.reshape(-1, p * p) * comp_w)]
    sums = []
    for a, c in zip(at, cm):
        still = a[::-1].cumsum(axis=0)[::-1]  # T_j >= t
        before = np.vstack([np.zeros((1, a.shape[1])), c.cumsum(axis=0)[:-1]])  # competing with T_j < t
        sums.append(still + g_left[:, None] * before)
    s0 = sums[0][:, 0]
    s1 = sums[1]
    s2 = sums[2].reshape(m, p, p)
    return s0, s1, s2, e, eta.max()


def fine_gray(time, status, X, names, cause=1, conf_level=0.95, max_iter=50, tol=1e-12) -> FineGrayModel:
    """Fine-Gray proportional subdistribution hazards model (Fine JP, Gray RJ, JASA 1999;94:496-509), as
    R cmprsk::crr (agrees to 1e-6 with crr run to convergence).

    Estimate: the root of Fine and Gray's weighted score
        U(b) = sum_i int [Z_i - S1(b,t)/S0(b,t)] w_i(t) dN_i(t),  S_k(b,t) = sum_j w_j(t) Y_j(t) Z_j^k e^{b Z_j},
    where Y_j(t) = 1 while T_j >= t and, after a competing event, for ever; the censoring-complete weights
    are w_j(t) = G(t-)/G(min(T_j, t)-) with G the Kaplan-Meier of the censoring distribution (1 in the
    ordinary risk set). Tied event times share S0 and S1 (Breslow, as crr). Newton-Raphson from 0 with
    step halving on the log pseudo-likelihood.
    Variance: their sandwich I^-1 Omega I^-1 with Omega = sum_i (eta_i + psi_i)^2, where
        eta_i = int [Z_i - Zbar(t)] w_i(t) dM_i(t),  dM_i = dN_i - Y_i e^{b Z_i} dLambda0,
        psi_i = int q(u)/pi(u) dM_i^c(u),  q(u) = -sum_j int_{t>=u} [Z_j - Zbar(t)] w_j(t) dM_j(t) 1(T_j < u),
    pi(u) the number still under observation at u and M^c the censoring martingale: the term for the
    estimated censoring distribution. No Python library fits this model, hence written here.
    """
    time, status = check_time_to_event(time, status, competing=True)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    names = tuple(names)
    n, p = X.shape
    if n != time.size or len(names) != p:
        raise ValueError("X must have one row per patient and one column per name")
    events = int((status == cause).sum())
    nan = np.full(p, np.nan)

    def failed(reason):
        return FineGrayModel(names, nan, nan, nan, nan, nan, nan, np.full((p, p), np.nan), conf_level, n,
                             events, False, 0, reason)

    if events == 0:
        return failed(f"no event of cause {cause}")
    if np.isnan(X).any():
        raise ValueError("covariates must not be missing")
    utime, inverse, g_left, censored, n_risk = _censoring_km_left(time, status)
    cause_mask = status == cause
    comp_mask = ((status != 0) & ~cause_mask).astype(float)
    d = np.bincount(inverse, weights=cause_mask, minlength=utime.size)
    xsum_events = np.stack([np.bincount(inverse, weights=X[:, j] * cause_mask, minlength=utime.size)
                            for j in range(p)], 1)

    def score_info(beta):
        s0, s1, s2, e, shift = _fine_gray_parts(beta, X, inverse, utime.size, comp_mask, g_left)
        ev = d > 0
        zbar = np.zeros_like(s1)
        zbar[ev] = s1[ev] / s0[ev, None]
        u = (xsum_events[ev] - d[ev, None] * zbar[ev]).sum(axis=0)
        info = (d[ev, None, None] * (s2[ev] / s0[ev, None, None]
                                     - zbar[ev][:, :, None] * zbar[ev][:, None, :])).sum(axis=0)
        loglik = float(xsum_events.sum(axis=0) @ beta - (d[ev] * (np.log(s0[ev]) + shift)).sum())
        return u, info, s0, zbar, e, loglik

    beta = np.zeros(p)
    converged = False
    iterations = 0
    u, info, *_, loglik = score_info(beta)
    for iterations in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError:
            if iterations == 1:
                return failed("the information matrix is singular (a covariate without variation?)")
            return failed("the estimate diverges (monotone likelihood, e.g. no event in one group)")
        for _ in range(30):  # step halving while the pseudo-likelihood does not increase
            u_new, info_new, *_, loglik_new = score_info(beta + step)
            if np.isfinite(loglik_new) and loglik_new >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
        beta = beta + step
        u, info, loglik = u_new, info_new, loglik_new
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    if not converged:
        return failed(f"Newton-Raphson did not converge in {max_iter} iterations (the estimate diverges?)")
    u, info, s0, zbar, e, _ = score_info(beta)
    try:
        info_inv = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return failed("the information matrix is singular")

    # eta_i: the score residual of patient i; dLambda0 = d / S0 (on the exp(eta - max) scale of e)
    ev = d > 0
    dlam = np.where(ev, d / np.where(ev, s0, 1.0), 0.0)
    zbar_dlam = zbar * dlam[:, None]
    cum_dlam = np.cumsum(dlam)
    cum_zbar_dlam = np.cumsum(zbar_dlam, axis=0)
    ti = inverse
    eta_res = cause_mask[:, None] * (X - zbar[ti]) - e[:, None] * (X * cum_dlam[ti, None] - cum_zbar_dlam[ti])
    # competing-event patients stay in the risk set after T_i with weight G(t-)/G(T_i-)
    g_dlam = g_left * dlam
    g_zbar_dlam = g_left[:, None] * zbar_dlam
    after_g_dlam = g_dlam[::-1].cumsum()[::-1]
    after_g_zbar_dlam = g_zbar_dlam[::-1].cumsum(axis=0)[::-1]
    nxt = np.minimum(ti + 1, utime.size - 1)
    has_next = (ti + 1) < utime.size
    tail0 = np.where(has_next, after_g_dlam[nxt], 0.0)
    tail1 = np.where(has_next[:, None], after_g_zbar_dlam[nxt], 0.0)
    comp_w = comp_mask * e / g_left[ti]
    eta_res -= comp_w[:, None] * (X * tail0[:, None] - tail1)

    # psi_i: the term for the estimated censoring distribution, q(u) / pi(u) integrated against the
    # censoring martingale of patient i; q(u) sums over competing-event patients with T_j < u the rest of
    # their weighted score after u
    comp_by_time0 = np.bincount(ti, weights=comp_w, minlength=utime.size)
    comp_by_time1 = np.stack([np.bincount(ti, weights=comp_w * X[:, j], minlength=utime.size) for j in range(p)], 1)
    before0 = np.concatenate(([0.0], comp_by_time0.cumsum()[:-1]))  # T_j < u
    before1 = np.vstack([np.zeros((1, p)), comp_by_time1.cumsum(axis=0)[:-1]])
    from_g_dlam = after_g_dlam  # s >= u
    from_g_zbar_dlam = after_g_zbar_dlam
    q = before1 * from_g_dlam[:, None] - before0[:, None] * from_g_zbar_dlam
    dlam_c = censored / n_risk
    q_over_pi = q / n_risk[:, None]
    cum_q_dlam_c = np.cumsum(q_over_pi * dlam_c[:, None], axis=0)
    psi = (status == 0)[:, None] * q_over_pi[ti] - cum_q_dlam_c[ti]
    omega = (eta_res + psi).T @ (eta_res + psi)
    var = info_inv @ omega @ info_inv
    se = np.sqrt(np.diag(var))
    z = norm_ppf(0.5 + conf_level / 2)
    shr = np.exp(beta)
    return FineGrayModel(
        names, beta, se, shr, np.exp(beta - z * se), np.exp(beta + z * se), 2 * norm_sf(np.abs(beta / se)),
        var, conf_level, n, events, converged, iterations,
    )


def cause_specific_cox(time, status, X, names, cause=1, conf_level=0.95) -> CoxModel:
    """Cox model of the cause-specific hazard of `cause`: every other event (competing or not) and
    censoring end follow-up as censored, as R ``coxph(Surv(time, status == cause) ~ X, ties = "efron")``
    (Prentice et al., Biometrics 1978;34:541-54; Putter, Fiocco & Geskus, Stat Med 2007;26:2389-430).

    Its hazard ratio compares the rate of the cause among patients still free of every event; the
    Fine-Gray subdistribution hazard ratio (``fine_gray``) compares the cumulative incidence. The two
    answer different questions and are reported side by side, labelled. Rows with a missing covariate are
    dropped (R's na.omit), as ``survival.cox_regression`` does.
    """
    time, status = check_time_to_event(time, status, competing=True)
    return cox_regression(time, (status == cause).astype(float), X, names, conf_level)
