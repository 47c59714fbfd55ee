"""Best percentage change in tumour size (sum of target lesion diameters, ``ta_sld_mm``), vectorised.

The baseline is each patient's last tumor assessment dated on or before the index date (it is not a
response assessment); the best change is from its sum to the smallest sum among the assessments of the
response window (after the index date, on or before the first subsequent therapy), the earliest on a tie.
A patient without a baseline sum or without a sum in the window is excluded with the reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chartreview.core.catalog import TUMOR_SIZE_EXCLUSIONS, TUMOR_SIZE_NOT_EXPORTED
from chartreview.derive.response import first_per_patient, last_per_patient
from chartreview.derive.rows import Rows

SLD = "ta_sld_mm"
INCLUDED = 0  # the code of a patient with a best change; the others are EXCLUSIONS'
EXCLUSIONS, NOT_EXPORTED = TUMOR_SIZE_EXCLUSIONS, TUMOR_SIZE_NOT_EXPORTED


@dataclass(frozen=True)
class TumorSize:
    """Per patient: ``baseline`` and ``best`` (rows of ``ta``, -1 when none), ``baseline_mm``,
    ``best_mm`` and ``change`` (percent; NaN when excluded), ``reason`` (code of EXCLUSIONS, 0 included);
    per row of ``ta``: ``course`` (the rows shown over time: the baseline and the window's measured
    assessments of included patients)."""

    baseline: np.ndarray
    best: np.ndarray
    baseline_mm: np.ndarray
    best_mm: np.ndarray
    change: np.ndarray
    reason: np.ndarray
    course: np.ndarray


def best_change(n: int, index_day: np.ndarray, therapy_day: np.ndarray, ta: Rows) -> TumorSize:
    """Baseline, best post-baseline sum and its percentage change for n patients (rows of ``ta`` sorted
    by patient, date, instance)."""
    m = len(ta.patient)
    if SLD not in ta.numbers:
        none = np.full(n, -1, dtype=np.int64)
        return TumorSize(none, none, np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan),
                         np.full(n, NOT_EXPORTED, dtype=np.int8), np.zeros(m, dtype=bool))
    sld = ta.numbers[SLD]
    on_or_before = ta.day <= index_day[ta.patient]
    baseline = last_per_patient(ta.patient, on_or_before, n)
    baseline_mm = np.where(baseline >= 0, sld[np.maximum(baseline, 0)] if m else np.nan, np.nan)
    measured = ~on_or_before & (ta.day <= therapy_day[ta.patient]) & ~np.isnan(sld)
    smallest = np.full(n, np.inf)
    np.minimum.at(smallest, ta.patient[measured], sld[measured])
    best = first_per_patient(ta.patient, measured & (sld == smallest[ta.patient]), n)
    best_mm = np.where(best >= 0, smallest, np.nan)
    reason = np.select([baseline < 0, np.isnan(baseline_mm), baseline_mm == 0, best < 0],
                       [1, 2, 3, 4], INCLUDED).astype(np.int8)
    included = reason == INCLUDED
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(included, (best_mm - baseline_mm) / baseline_mm * 100.0, np.nan)
    course = included[ta.patient] & (measured | (np.arange(m) == baseline[ta.patient]))
    return TumorSize(baseline, best, baseline_mm, best_mm, change, reason, course)
