"""What every time-to-event kernel starts from: the input check, the group codes, and the risk sets and
event counts at the distinct times (the counting-process quantities Y(t) and dN(t) of Andersen, Borgan,
Gill & Keiding, Statistical Models Based on Counting Processes, 1993).

Kaplan-Meier, log-rank and Cox (``survival``) and the cumulative incidence, Gray's test and Fine-Gray
(``competing_risks``) all read their data through ``check_time_to_event`` and count through
``risk_set_counts``, vectorised: one sort (or hash) of the times, then ``np.bincount`` and reversed
cumulative sums, O(n log n). Distinct times are exact float equality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RiskSetCounts", "check_time_to_event", "group_codes", "distinct_times", "risk_set_counts"]


def check_time_to_event(time, outcome, group=None, *, competing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The input check of every time-to-event kernel; returns ``time`` (float) and ``outcome``.

    ``time``: finite, non-negative, one per patient. ``outcome``: the event indicator, 0 (censored)
    or 1 (event), returned as float; with ``competing`` the status, 0 (censored) or a positive cause
    code, returned as int. ``group``, when given, must have one value per patient.
    """
    name = "status" if competing else "event"
    time = np.asarray(time, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    if time.ndim != 1 or time.shape != outcome.shape:
        raise ValueError(f"time and {name} must be one-dimensional arrays of the same length")
    if not np.isfinite(time).all() or (time < 0).any():
        raise ValueError("time must be non-negative, finite and not missing")
    if np.isnan(outcome).any():
        raise ValueError(f"{name} must not be missing")
    if competing:
        if (outcome < 0).any() or (outcome != np.floor(outcome)).any():
            raise ValueError("status must be 0 (censored) or a positive cause code")
        outcome = outcome.astype(np.int64)
    elif not np.isin(outcome, (0.0, 1.0)).all():
        raise ValueError("event must be 0 (censored) or 1 (event)")
    if group is not None and len(group) != len(time):
        raise ValueError("group must have the same length as time")
    return time, outcome


def group_codes(group, levels: Sequence | None = None) -> tuple[tuple, np.ndarray]:
    """The group levels and each patient's code (0 = the first level), as R ``factor()``: the given
    ``levels``, else a Categorical's categories, else the sorted distinct values."""
    group = pd.Series(group) if not isinstance(group, pd.Series) else group
    if levels is None:
        if isinstance(group.dtype, pd.CategoricalDtype):
            levels = list(group.cat.categories)
        else:
            levels = sorted(pd.unique(group.dropna()))
    codes = pd.Categorical(group, categories=list(levels)).codes
    if (codes < 0).any():
        raise ValueError("group has values outside the given levels, or missing values")
    return tuple(levels), codes.astype(np.int64)


def distinct_times(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct times and each row's index into them (``np.unique(return_inverse=True)``).

    Months from whole days repeat a lot: hashing (pandas factorize, O(n)) then sorting only the
    distinct values is then ~8x faster than sorting every row; for mostly distinct times the
    plain sort is faster. Both give identical results.
    """
    if len(time) > 1 and np.all(time[1:] >= time[:-1]):  # already sorted: O(n)
        new = np.r_[True, time[1:] != time[:-1]]
        return time[new], np.cumsum(new) - 1
    sample = time[:: max(1, len(time) // 10_000)]
    if len(time) > 50_000 and len(np.unique(sample)) < 0.5 * len(sample):
        codes, uniques = pd.factorize(time, sort=True)
        return np.asarray(uniques, dtype=float), codes.astype(np.int64)
    return np.unique(time, return_inverse=True)


@dataclass(frozen=True)
class RiskSetCounts:
    """Counts at each distinct time t (ascending), per group when counted by group (then every count
    array is groups x times).

    ``n_risk``: patients with time >= t, Y(t); ``n_leaving``: patients with time == t; ``counts``: per
    indicator given, the patients with time == t for whom it is 1, dN(t) (float, whole numbers).
    """

    time: np.ndarray
    index: np.ndarray
    n_risk: np.ndarray
    n_leaving: np.ndarray
    counts: tuple[np.ndarray, ...]


def risk_set_counts(time, *indicators, group: np.ndarray | None = None, n_groups: int = 1) -> RiskSetCounts:
    """Risk sets and event counts at the distinct times, overall or by group code (0..n_groups-1):
    the Y(t) and dN(t) of the counting-process formulation (Andersen et al. 1993), each indicator
    (event, cause, censoring, ...) counted at the time it happens."""
    utime, index = distinct_times(np.asarray(time, dtype=float))
    m = len(utime)
    if group is None:
        cell, shape = index, (m,)
    else:
        cell, shape = np.asarray(group, dtype=np.int64) * m + index, (n_groups, m)
    size = int(np.prod(shape))
    leaving = np.bincount(cell, minlength=size).reshape(shape)
    counts = tuple(np.bincount(cell, weights=w, minlength=size).reshape(shape) for w in indicators)
    n_risk = np.cumsum(leaving[..., ::-1], axis=-1)[..., ::-1]
    return RiskSetCounts(utime, index, n_risk, leaving, counts)
