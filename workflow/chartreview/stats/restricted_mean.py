"""Restricted mean survival time (RMST), agreeing with R's survival package and the survRM2 formulae to 1e-6.

- ``restricted_mean``: the area under the Kaplan-Meier curve up to tau with its SE, as
  ``print(survfit(...), rmean = tau)`` (survival's ``survmean``), and a normal CI, as survRM2's
  ``rmst1``.
- ``common_follow_up``: the default tau, the smallest of the groups' largest follow-up times.
- ``rmst_difference`` and ``rmst_ratio``: the contrasts of two groups of survRM2's ``rmst2``
  (Uno et al., J Clin Oncol 2014;32:2380-5; Royston & Parmar, BMC Med Res Methodol 2013;13:152).

Hand-written: lifelines' ``restricted_mean_survival_time(return_variance=True)`` gives the variance of
the truncated survival time itself, not the variance of the estimate; scikit-survival has no RMST.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chartreview.stats.distributions import norm_ppf, norm_sf
from chartreview.stats.survival import KaplanMeier

__all__ = ["RestrictedMean", "RestrictedMeanContrast", "common_follow_up", "restricted_mean",
           "rmst_difference", "rmst_ratio"]


@dataclass(frozen=True)
class RestrictedMean:
    """RMST of one group up to ``tau`` with its SE and normal CI; None with a ``reason`` when tau is
    beyond the group's follow-up (and its curve has not reached 0) or the group is empty."""

    tau: float
    estimate: float | None
    se: float | None
    lower: float | None
    upper: float | None
    reason: str | None = None


@dataclass(frozen=True)
class RestrictedMeanContrast:
    """Difference or ratio of two RMSTs (other against reference) with CI and P; for the ratio ``se``
    is the SE of its logarithm. None with a ``reason`` when it does not exist."""

    estimate: float | None
    se: float | None
    lower: float | None
    upper: float | None
    p: float | None
    reason: str | None = None


def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, got {conf_level}")
    return float(norm_ppf(1 - (1 - conf_level) / 2))


def restricted_mean(km: KaplanMeier, tau: float, conf_level: float = 0.95) -> RestrictedMean:
    """Restricted mean survival time up to ``tau``: the area under the Kaplan-Meier curve ``km`` from 0
    to tau, with the SE of ``survival:::survmean`` (Greenwood-type: the sum over event times t <= tau of
    d / (n (n - d)) times the squared area from t to tau; 0 where n = d) and the normal CI estimate
    +- z SE of survRM2 (Irwin 1949; Karrison 1987; Royston & Parmar 2013).

    A tau before the first time gives tau with SE 0 (R's summary refuses it; the area is exact). A tau
    beyond the group's last time is refused unless the curve has reached 0 there (the area is then
    fixed, as survRM2 allows); R would carry the last value on instead.
    """
    tau = float(tau)
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau}")
    z = _z(conf_level)
    if km.n == 0:
        return RestrictedMean(tau, None, None, None, None, "no patients")
    last = float(km.time[-1])
    if tau > last and km.survival[-1] > 0:
        return RestrictedMean(tau, None, None, None, None,
                              f"tau = {tau:g} is beyond the last follow-up time ({last:g}): RMST not "
                              "estimable without extrapolating the curve")
    keep = km.time <= tau
    times = np.r_[km.time[keep], tau]
    surv = np.r_[1.0, km.survival[keep]]                        # survival over each interval
    rectangles = np.diff(np.r_[0.0, times]) * surv
    with np.errstate(divide="ignore", invalid="ignore"):
        n, d = km.n_risk[keep], km.n_event[keep]
        hazard_var = np.where(n - d == 0, 0.0, d / (n * (n - d)))
    area_after = np.cumsum(rectangles[1:][::-1])[::-1]            # from each time in keep to tau
    estimate = float(rectangles.sum())
    se = float(np.sqrt((hazard_var * area_after ** 2).sum()))
    return RestrictedMean(tau, estimate, se, estimate - z * se, estimate + z * se)


def common_follow_up(time, group_codes, n_groups: int) -> float | None:
    """The largest time at which every group still has patients at risk: the smallest of the groups'
    largest follow-up times (event or censoring); None when a group has no patients."""
    time = np.asarray(time, dtype=float)
    codes = np.asarray(group_codes, dtype=np.int64)
    if len(time) == 0 or np.bincount(codes, minlength=n_groups).min() == 0:
        return None
    largest = np.full(n_groups, -np.inf)
    np.maximum.at(largest, codes, time)
    return float(largest.min())


def _missing(reference: RestrictedMean, other: RestrictedMean) -> str | None:
    for r in (reference, other):
        if r.estimate is None:
            return r.reason
    return None


def rmst_difference(reference: RestrictedMean, other: RestrictedMean,
                    conf_level: float = 0.95) -> RestrictedMeanContrast:
    """Difference of RMSTs (other - reference) with SE sqrt(se1^2 + se0^2), normal CI and the P of
    the z test, as survRM2 ``rmst2`` (Uno et al. 2014)."""
    z = _z(conf_level)
    reason = _missing(reference, other)
    if reason:
        return RestrictedMeanContrast(None, None, None, None, None, reason)
    diff = other.estimate - reference.estimate
    se = float(np.hypot(other.se, reference.se))
    if se == 0:
        return RestrictedMeanContrast(diff, 0.0, diff, diff, None, "standard error 0 in both groups: no test")
    return RestrictedMeanContrast(diff, se, diff - z * se, diff + z * se,
                                  float(2 * norm_sf(abs(diff / se))))


def rmst_ratio(reference: RestrictedMean, other: RestrictedMean, conf_level: float = 0.95) -> RestrictedMeanContrast:
    """Ratio of RMSTs (other / reference), CI and P on the log scale with the delta-method SE
    sqrt(se1^2 / rmst1^2 + se0^2 / rmst0^2), as survRM2 ``rmst2`` (Uno et al. 2014)."""
    z = _z(conf_level)
    reason = _missing(reference, other)
    if reason:
        return RestrictedMeanContrast(None, None, None, None, None, reason)
    if reference.estimate <= 0 or other.estimate <= 0:
        return RestrictedMeanContrast(None, None, None, None, None, "an RMST of 0: no ratio")
    log_ratio = float(np.log(other.estimate / reference.estimate))
    se = float(np.hypot(other.se / other.estimate, reference.se / reference.estimate))
    ratio = float(np.exp(log_ratio))
    if se == 0:
        return RestrictedMeanContrast(ratio, 0.0, ratio, ratio, None, "standard error 0 in both groups: no test")
    return RestrictedMeanContrast(ratio, se, float(np.exp(log_ratio - z * se)), float(np.exp(log_ratio + z * se)),
                                  float(2 * norm_sf(abs(log_ratio / se))))
