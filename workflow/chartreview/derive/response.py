"""Best overall response per RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-47), vectorised.

Works on one cohort's tumor assessments already restricted to the response window (after the index
date, on or before the first subsequent therapy) and sorted by patient, date and instance. Patients
are integer positions 0..n-1; dates are integer days. Every result refers back to the assessment rows
that decided it, so the audit can show them.

Unconfirmed (default): over the assessments up to and including the first PD, the best of
CR > PR > SD > PD > NE, where SD counts only at least ``sd_min_days`` after the index date (NE before).
Confirmed: the rules of the pharmaverse admiral packages (admiralonco's event objects cbor_cr, cbor_pr,
bor_sd, bor_pd, bor_ne, used with admiral::derive_extreme_event for the confirmed BOR):
a CR is confirmed by a later CR at least ``confirmation_min_days`` after it with only CR or NE between
and at most ``max_ne_between`` NE; a PR by a later CR or PR at least that long after it, with only
CR, PR or NE between, at most ``max_ne_between`` NE and no PR after a CR; an unconfirmed CR or PR
counts as SD when SD's minimum duration is met.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chartreview.core.catalog import RESPONSES

CR, PR, SD, PD, NE = range(len(RESPONSES))


@dataclass(frozen=True)
class BestOverallResponse:
    """Per patient: ``response`` (int8 position in RESPONSES); ``decided_by`` and ``confirmed_by``
    (assessment row indices, -1 when none); ``onset`` (row of the first CR/PR, -1 when none);
    ``n_assessments`` (assessments considered, up to and including the first PD)."""

    response: np.ndarray
    decided_by: np.ndarray
    confirmed_by: np.ndarray
    onset: np.ndarray
    n_assessments: np.ndarray


def first_per_patient(patient: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Row index of each patient's first row where ``mask`` holds (-1 if none); rows sorted by patient."""
    rows = np.flatnonzero(mask)
    who = patient[rows]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = who[1:] != who[:-1]
    out = np.full(n, -1, dtype=np.int64)
    out[who[first]] = rows[first]
    return out


def last_per_patient(patient: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Row index of each patient's last row where ``mask`` holds (-1 if none); rows sorted by patient."""
    rows = np.flatnonzero(mask)
    who = patient[rows]
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = who[:-1] != who[1:]
    out = np.full(n, -1, dtype=np.int64)
    out[who[last]] = rows[last]
    return out


def best_overall_response(patient: np.ndarray, day: np.ndarray, response: np.ndarray,
                          index_day: np.ndarray, n: int, *, sd_min_days: int = 42,
                          confirmation: bool = False, confirmation_min_days: int = 28,
                          max_ne_between: int = 1) -> BestOverallResponse:
    """RECIST 1.1 best overall response of n patients from their window's assessments.

    ``response`` holds positions in RESPONSES (-1 for a blank response, read as NE); rows are sorted
    by patient, then date. A patient without an assessment is NE (and stays in the denominator).
    """
    m = len(patient)
    response = np.where(response < 0, NE, response).astype(np.int8)
    # Only assessments up to and including the first PD count.
    first_pd = first_per_patient(patient, response == PD, n)
    cut = np.where(first_pd >= 0, first_pd, m)
    rows = np.flatnonzero(np.arange(m) <= cut[patient])
    p, d, r = patient[rows], day[rows], response[rows]
    sd_met = d - index_day[p] >= sd_min_days
    n_assessments = np.bincount(p, minlength=n).astype(np.int64)
    onset = first_per_patient(p, r <= PR, n)

    if not confirmation:
        effective = np.where((r == SD) & ~sd_met, NE, r).astype(np.int8)
        best = np.full(n, NE, dtype=np.int8)
        np.minimum.at(best, p, effective)
        decided = first_per_patient(p, effective == best[p], n)
        confirmed = np.full(n, -1, dtype=np.int64)
    else:
        confirmed_ok, partner = _confirmations(p, d, r, confirmation_min_days, max_ne_between)
        first_cr = first_per_patient(p, confirmed_ok & (r == CR), n)
        first_pr = first_per_patient(p, confirmed_ok & (r == PR), n)
        first_sd = first_per_patient(p, (r <= SD) & sd_met, n)
        first_pdr = first_per_patient(p, r == PD, n)
        first_any = first_per_patient(p, np.ones(len(p), dtype=bool), n)
        best = np.select([first_cr >= 0, first_pr >= 0, first_sd >= 0, first_pdr >= 0],
                         [CR, PR, SD, PD], NE).astype(np.int8)
        decided = np.select([first_cr >= 0, first_pr >= 0, first_sd >= 0, first_pdr >= 0],
                            [first_cr, first_pr, first_sd, first_pdr], first_any)
        by = np.where(first_cr >= 0, first_cr, first_pr)
        confirmed = np.where(by >= 0, partner[np.maximum(by, 0)], -1) if len(p) else np.full(n, -1)

    def back(local: np.ndarray) -> np.ndarray:
        # local row numbers (into the rows up to first PD) -> the caller's row numbers
        return np.where(local >= 0, rows[np.maximum(local, 0)], -1) if len(rows) else local

    return BestOverallResponse(response=best, decided_by=back(decided), confirmed_by=back(confirmed),
                               onset=back(onset), n_assessments=n_assessments)


def _confirmations(p: np.ndarray, d: np.ndarray, r: np.ndarray, min_days: int,
                   max_ne: int) -> tuple[np.ndarray, np.ndarray]:
    """For each CR/PR row: whether a later assessment confirms it, and that row (admiral's rules)."""
    m = len(p)
    ok = np.zeros(m, dtype=bool)
    partner = np.full(m, -1, dtype=np.int64)
    if m == 0:
        return ok, partner
    # One sorted key (patient, day) so a searchsorted finds the first row on or after a target date.
    base = d.min()
    span = int(d.max() - base) + min_days + 1
    key = p.astype(np.int64) * span + (d - base)

    def next_row(flag: np.ndarray) -> np.ndarray:
        """At each position, the first row at or after it where flag holds (m if none); length m+1."""
        pos = np.where(flag, np.arange(m), m)
        return np.append(np.minimum.accumulate(pos[::-1])[::-1], m)

    def last_row(flag: np.ndarray) -> np.ndarray:
        """At each position, the last row at or before it where flag holds (-1 if none)."""
        return np.maximum.accumulate(np.where(flag, np.arange(m), -1))

    def cumulative(flag: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(flag)])

    next_cr, next_crpr = next_row(r == CR), next_row(r <= PR)
    n_ne = cumulative(r == NE)
    n_not_cr_ne = cumulative((r != CR) & (r != NE))
    n_not_crpr_ne = cumulative(r > PR) - cumulative(r == NE)
    cand = np.flatnonzero(r <= PR)
    is_cr = r[cand] == CR
    start = np.maximum(np.searchsorted(key, key[cand] + min_days, side="left"), cand + 1)
    j = np.where(is_cr, next_cr[start], next_crpr[start])
    jj = np.minimum(j, m - 1)
    found = (j < m) & (p[jj] == p[cand])
    # Counts over the rows after the candidate up to and including the confirming one: (cand, j].
    ne_between = n_ne[jj + 1] - n_ne[cand + 1]
    bad = np.where(is_cr, n_not_cr_ne[jj + 1] - n_not_cr_ne[cand + 1],
                   n_not_crpr_ne[jj + 1] - n_not_crpr_ne[cand + 1])
    # "No PR after CR" as admiral states it: between the rows, the earliest CR date must be later than
    # the latest PR date (when both occur).
    first_cr = next_cr[cand + 1]
    last_pr = last_row(r == PR)[jj]
    both = (first_cr <= jj) & (last_pr > cand)
    pr_after_cr = both & (d[np.minimum(first_cr, m - 1)] <= d[np.maximum(last_pr, 0)])
    good = found & (ne_between <= max_ne) & (bad == 0) & (is_cr | ~pr_after_cr)
    ok[cand] = good
    partner[cand] = np.where(good, j, -1)
    return ok, partner
