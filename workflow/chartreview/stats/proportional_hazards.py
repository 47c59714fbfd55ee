"""The proportional-hazards assumption of a Cox model, agreeing with R's survival package (>= 3) to 1e-6.

- ``cox_zph``: the score test of Grambsch & Therneau (Biometrika 1994;81:515-26) of a time-varying
  coefficient beta(t) = beta + theta g(t), per term and global, as ``survival::cox.zph(fit,
  transform = "km", terms = TRUE)``, with the scaled Schoenfeld residuals it plots.
- ``zph_smooth``: the smooth of the scaled residuals that ``plot.cox.zph`` draws: a natural cubic
  spline (df = 4, intercept) fitted by least squares, with its +-2 SE band.

Hand-written: lifelines' ``proportional_hazard_test`` is the approximate test of survival < 3 (the
information approximated from the model variance), which differs from cox.zph's exact score test.
Everything is vectorised: sums per distinct time by ``np.add.reduceat`` and reversed cumulative sums,
O(n p^2) after one sort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from chartreview.stats.counting import check_time_to_event, distinct_times
from chartreview.stats.distributions import chi2_sf

__all__ = ["ProportionalHazardsTest", "ResidualSmooth", "cox_zph", "zph_smooth"]


@dataclass(frozen=True)
class ProportionalHazardsTest:
    """``cox.zph``'s table and residuals. ``chisq``/``df``/``p`` per term (in ``terms`` order), then the
    global test. ``time``, ``x`` (the transformed time) and ``residuals`` (events x terms: the scaled
    Schoenfeld residuals, beta(t) estimates) are per event in time order; ``var`` is cox.zph's ``var``
    (used for the smooth's band). None/empty with a ``reason`` when there is no test."""

    terms: tuple[str, ...]
    chisq: tuple[float | None, ...]
    df: tuple[int, ...]
    p: tuple[float | None, ...]
    global_chisq: float | None
    global_df: int
    global_p: float | None
    transform: str
    time: np.ndarray
    x: np.ndarray
    residuals: np.ndarray
    var: np.ndarray
    reason: str | None = None


@dataclass(frozen=True)
class ResidualSmooth:
    """The smooth of one term's scaled residuals at ``x`` (evenly spaced over the transformed times)."""

    x: np.ndarray
    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    reason: str | None = None


def _no_test(terms, df, reason) -> ProportionalHazardsTest:
    empty = np.empty(0)
    return ProportionalHazardsTest(tuple(terms), tuple(None for _ in terms), tuple(df), tuple(None for _ in terms),
                                   None, int(sum(df)), None, "km", empty, empty,
                                   np.empty((0, len(terms))), np.empty((0, 0)), reason)


def cox_zph(time, event, X, coef, terms: Mapping[str, Sequence[int]]) -> ProportionalHazardsTest:
    """Test of proportional hazards as R ``cox.zph(coxph(..., ties = "efron"), transform = "km")``.

    ``X``: the model's design (n x p, rows with a missing value are dropped as coxph drops them);
    ``coef``: its fitted coefficients (``CoxModel.coef``); ``terms``: term name -> its columns of
    ``X`` (a factor's dummies form one term, as ``terms = TRUE``). The score test of theta = 0 in
    beta(t) = beta + theta g(t), g = 1 - KM(t-) of all patients centred on its mean over the events,
    with the exact 2p x 2p information at the fitted beta (Grambsch & Therneau 1994; Therneau &
    Grambsch, Modeling Survival Data, 2000, section 6.2). Efron ties, as the fit.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    coef = np.asarray(coef, dtype=float)
    names = tuple(terms)
    columns = [np.asarray(terms[t], dtype=np.int64) for t in names]
    df = [len(c) for c in columns]
    p = X.shape[1]
    if sorted(np.concatenate(columns).tolist()) != list(range(p)) or coef.shape != (p,):
        raise ValueError("terms must share out the columns of X, and coef have one value per column")
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    complete = ~(np.isnan(time) | np.isnan(event) | np.isnan(X).any(axis=1))
    time, event, X = time[complete], event[complete], X[complete]
    time, event = check_time_to_event(time, event)
    if not np.isfinite(coef).all():
        return _no_test(names, df, "no Cox fit: no test of proportional hazards")
    if event.sum() < 2:
        return _no_test(names, df, "fewer than two events: no test of proportional hazards")

    order = np.argsort(time, kind="stable")     # R: order(y[, 1]), ties in row order
    time, event, X = time[order], event[order], X[order]
    utime, index = distinct_times(time)
    m = len(utime)
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])

    def per_time(values):
        return np.add.reduceat(values, starts, axis=0)

    d = np.rint(per_time(event)).astype(np.int64)
    # the "km" transform: 1 - KM(t-) of all patients, centred on its mean over the events
    n_risk = np.cumsum(np.bincount(index, minlength=m)[::-1])[::-1]
    surv = np.cumprod(1.0 - d / n_risk)
    km_left = 1.0 - np.r_[1.0, surv[:-1]]
    g = km_left - km_left[index][event == 1].mean()

    X = X - X.mean(axis=0)
    eta = X @ coef
    risk = np.exp(eta - eta.max())
    died = risk * event
    s0 = np.cumsum(per_time(risk)[::-1])[::-1]
    s1 = np.cumsum(per_time(X * risk[:, None])[::-1], axis=0)[::-1]
    e0, e1 = per_time(died), per_time(X * died[:, None])
    # Efron: the d tied events of a time leave the denominators in steps l/d, l = 0..d-1
    at = np.flatnonzero(d)
    first = np.repeat(np.cumsum(d[at]) - d[at], d[at])
    frac = (np.arange(d.sum()) - first) / np.repeat(d[at], d[at])
    den = np.repeat(s0[at], d[at]) - frac * np.repeat(e0[at], d[at])
    cut = np.cumsum(d[at]) - d[at]

    def by_time(values):
        out = np.zeros(m)
        out[at] = np.add.reduceat(values, cut)
        return out

    a, b = by_time(1 / den), by_time(frac / den)
    c, gg, h = by_time(den ** -2), by_time(frac / den ** 2), by_time(frac ** 2 / den ** 2)
    mean_sum = s1 * a[:, None] - e1 * b[:, None]            # sum over l of the Efron means
    score = per_time(X * event[:, None]) - mean_sum          # per time

    def information(w):
        """Sum over the event times of w(t) times the Efron information at t."""
        row = risk * np.cumsum(w * a)[index] - died * (w * b)[index]
        cross = s1.T @ (e1 * (w * gg)[:, None])
        outer = s1.T @ (s1 * (w * c)[:, None]) - cross - cross.T + e1.T @ (e1 * (w * h)[:, None])
        return (X * row[:, None]).T @ X - outer

    i11, i12, i22 = information(np.ones(m)), information(g), information(g * g)
    imat = np.block([[i11, i12], [i12.T, i22]])
    u = np.r_[np.zeros(p), g @ score]
    try:
        chisq = [float(u[k] @ np.linalg.solve(imat[np.ix_(k, k)], u[k]))
                 for k in (np.r_[np.arange(p), cols + p] for cols in columns)]
        global_chisq = float(u @ np.linalg.solve(imat, u))
    except np.linalg.LinAlgError:
        return _no_test(names, df, "singular information matrix: no test of proportional hazards")
    if not np.isfinite([*chisq, global_chisq]).all():
        return _no_test(names, df, "singular information matrix: no test of proportional hazards")

    # scaled Schoenfeld residuals, one per event in time order; a factor's columns are combined with
    # its coefficients into one per term, as cox.zph(terms = TRUE)
    deaths = event == 1
    schoen = X[deaths] - (mean_sum / np.maximum(d, 1)[:, None])[index[deaths]]
    combine = np.zeros((p, len(names)))
    for i, cols in enumerate(columns):
        combine[cols, i] = 1.0 if len(cols) == 1 else coef[cols]
    vmean = combine.T @ (i11 / d.sum()) @ combine
    residuals = np.linalg.solve(vmean, (schoen @ combine).T).T
    residuals += np.array([coef[cols[0]] if len(cols) == 1 else 1.0 for cols in columns])
    return ProportionalHazardsTest(
        terms=names, chisq=tuple(chisq), df=tuple(df),
        p=tuple(float(chi2_sf(x, k)) for x, k in zip(chisq, df)),
        global_chisq=global_chisq, global_df=p, global_p=float(chi2_sf(global_chisq, p)),
        transform="km", time=time[deaths], x=km_left[index][deaths], residuals=residuals,
        var=np.linalg.inv(vmean))


def _natural_spline_basis(x: np.ndarray, interior: np.ndarray, boundary: tuple[float, float]) -> np.ndarray:
    """A basis of the natural cubic splines with these knots (the space of R ``ns(intercept = TRUE)``:
    cubic B-splines whose second derivative is 0 at both boundary knots)."""
    from scipy.interpolate import BSpline  # slow to import: only the smooth needs it
    knots = np.r_[[boundary[0]] * 4, interior, [boundary[1]] * 4]
    n_basis = len(knots) - 4
    design = BSpline.design_matrix(np.clip(x, *boundary), knots, 3).toarray()
    second = np.array([[BSpline(knots, np.eye(n_basis)[j], 3)(bk, nu=2) for j in range(n_basis)]
                       for bk in boundary])
    q, _ = np.linalg.qr(second.T, mode="complete")       # R: qr.qty of the constraints, first 2 dropped
    return design @ q[:, 2:]


def zph_smooth(x, y, var: float, df: int = 4, n_points: int = 40) -> ResidualSmooth:
    """The smooth of ``plot.cox.zph``: least squares on a natural cubic spline basis (``ns(df = 4,
    intercept = TRUE)``, knots at the quantiles of the transformed times and the plotted points) of
    one term's scaled residuals ``y`` against the transformed times ``x``, at ``n_points`` evenly
    spaced points, with the band +-2 sqrt(var * s(x)) (``var``: that term's diagonal of cox.zph's
    ``var``; Grambsch & Therneau 1994). A reason instead when the fit is singular (fewer than ``df``
    distinct times), as R skips the plot.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    nothing = np.empty(0)
    if len(x) == 0 or len(np.unique(x)) < df:
        return ResidualSmooth(nothing, nothing, nothing, nothing,
                              f"fewer than {df} distinct event times: no smooth")
    grid = np.linspace(x.min(), x.max(), n_points)
    both = np.r_[grid, x]
    interior = np.quantile(both, np.arange(1, df - 1) / (df - 1))   # R quantile type 7
    basis = _natural_spline_basis(both, interior, (both.min(), both.max()))
    at_grid, at_x = basis[:n_points], basis[n_points:]
    q, r = np.linalg.qr(at_x)
    diagonal = np.abs(np.diag(r))
    if diagonal.min() <= 1e-7 * diagonal.max():       # R qr()'s rank tolerance
        return ResidualSmooth(nothing, nothing, nothing, nothing, "singular spline fit: no smooth")
    estimate = at_grid @ np.linalg.solve(r, q.T @ y)
    r_inv = np.linalg.inv(r)
    spread = ((at_grid @ r_inv) ** 2).sum(axis=1)
    band = 2 * np.sqrt(var * spread)
    return ResidualSmooth(grid, estimate, estimate - band, estimate + band)
