"""Time-to-event derivations per patient, vectorised: PFS, OS, CNS progression with competing events,
and the progression pattern at first progression, each with the row that decided it and the reason in
words. The rules are stated in ``derivation``'s docstring; inputs are a form's rows as arrays sorted by
patient, date and instance (``rows.Rows``), dates as int days (``texts.NEVER`` when blank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chartreview.derive.response import NE, PD, first_per_patient, last_per_patient
from chartreview.derive.rows import Rows
from chartreview.derive.texts import NEVER, cat, choose, iso

# PFS event kinds and CNS status kinds: which rule decided, for the reasons and the audit.
PFS_CENSORED, PFS_PD_ASSESSMENT, PFS_PD_FORM, PFS_DEATH = range(4)


def at(values: np.ndarray, rows: np.ndarray, missing) -> np.ndarray:
    """values[rows] with ``missing`` where rows is -1."""
    if len(values) == 0:
        return np.full(len(rows), missing)
    return np.where(rows >= 0, values[np.maximum(rows, 0)], missing)


@dataclass(frozen=True)
class Endpoint:
    """One time-to-event endpoint for every patient: date (days), status, kind, deciding row."""

    day: np.ndarray
    status: np.ndarray
    kind: np.ndarray      # endpoint-specific: which rule decided
    row: np.ndarray       # deciding row in the form named by kind (-1 when none)


def derive_pfs(n, index_day, therapy_day, death_day, ta: Rows, pr: Rows, *, censor_at_new_therapy: bool) -> Endpoint:
    """PFS: first PD assessment / progression row / death within the window, else last adequate assessment."""
    limit = therapy_day if censor_at_new_therapy else np.full(n, NEVER)
    resp = ta.codes["response"]
    ta_in = (ta.day > index_day[ta.patient]) & (ta.day <= limit[ta.patient])
    pr_in = (pr.day > index_day[pr.patient]) & (pr.day <= limit[pr.patient])
    pd_ta = first_per_patient(ta.patient, ta_in & (resp == PD), n)
    pd_pr = first_per_patient(pr.patient, pr_in, n)
    day_ta, day_pr = at(ta.day, pd_ta, NEVER), at(pr.day, pd_pr, NEVER)
    progression = np.minimum(day_ta, day_pr)
    death = (death_day != NEVER) & (death_day <= limit) & (death_day < progression)
    adequate = last_per_patient(ta.patient, ta_in & (resp >= 0) & (resp != NE), n)
    censor = np.where(adequate >= 0, at(ta.day, adequate, NEVER), index_day)
    kind = np.select([death, progression == NEVER, day_ta <= day_pr],
                     [PFS_DEATH, PFS_CENSORED, PFS_PD_ASSESSMENT], PFS_PD_FORM)
    day = np.select([kind == PFS_DEATH, kind == PFS_CENSORED], [death_day, censor], progression)
    row = np.select([kind == PFS_PD_ASSESSMENT, kind == PFS_PD_FORM, kind == PFS_CENSORED],
                    [pd_ta, pd_pr, adequate], -1)
    return Endpoint(day, (kind != PFS_CENSORED).astype(np.int8), kind.astype(np.int8), row)


def derive_os(death_day, last_contact_day) -> Endpoint:
    dead = death_day != NEVER
    return Endpoint(np.where(dead, death_day, last_contact_day), dead.astype(np.int8),
                    dead.astype(np.int8), np.full(len(dead), -1))


def derive_dor(onset_day, pfs: Endpoint) -> Endpoint:
    """Duration of response: from the response onset to the PFS event, censored as PFS is (the rows of
    responders only are kept). A progression row dated before the onset ends the response on its first day."""
    return Endpoint(np.maximum(pfs.day, onset_day), pfs.status, pfs.kind, pfs.row)


# Time to treatment discontinuation kinds.
TTD_CENSORED, TTD_END, TTD_DEATH = range(3)


def derive_ttd(end_day, death_day, last_contact_day) -> Endpoint:
    """Crizotinib end (any reason); a death without an end date ends it too; else censored at last contact."""
    ended = end_day != NEVER
    died = ~ended & (death_day != NEVER)
    kind = np.select([ended, died], [TTD_END, TTD_DEATH], TTD_CENSORED).astype(np.int8)
    day = np.select([ended, died], [end_day, death_day], last_contact_day)
    return Endpoint(day, (kind != TTD_CENSORED).astype(np.int8), kind, np.full(len(day), -1))


# Time to next treatment or death kinds.
TTNT_CENSORED, TTNT_THERAPY, TTNT_DEATH = range(3)


def derive_ttnt(therapy_day, therapy_row, death_day, last_contact_day) -> Endpoint:
    """The first subsequent therapy after the index date or death, whichever first; else last contact."""
    therapy = (therapy_day != NEVER) & (therapy_day <= death_day)
    died = ~therapy & (death_day != NEVER)
    kind = np.select([therapy, died], [TTNT_THERAPY, TTNT_DEATH], TTNT_CENSORED).astype(np.int8)
    day = np.select([therapy, died], [therapy_day, death_day], last_contact_day)
    return Endpoint(day, (kind != TTNT_CENSORED).astype(np.int8), kind, np.where(therapy, therapy_row, -1))


# CNS kinds; the non-CNS progression is decided by a progression row or by a PD assessment.
CNS_CENSORED, CNS_BRAIN, CNS_DEATH, CNS_NON_CNS, CNS_NON_CNS_PD, CNS_CENSORED_DEATH = range(6)


def derive_cns(n, index_day, death_day, last_contact_day, ta: Rows, pr: Rows, *, brain: int,
               competing: tuple, window_days: int) -> Endpoint:
    """CNS progression with competing risks (status 1 CNS, 2 competing, 0 censored)."""
    after = pr.day > index_day[pr.patient]
    brain_row = first_per_patient(pr.patient, after & (pr.codes["site"] == brain), n)
    cns = at(pr.day, brain_row, NEVER)
    first_ta = first_per_patient(ta.patient, (ta.day > index_day[ta.patient]) & (ta.codes["response"] == PD), n)
    first_pr = first_per_patient(pr.patient, after, n)
    first_day = np.minimum(at(ta.day, first_ta, NEVER), at(pr.day, first_pr, NEVER))
    non_cns = np.zeros(n, dtype=bool)
    if "non_cns_progression" in competing:
        non_cns = (first_day != NEVER) & ((cns == NEVER) | (cns > first_day + window_days))
    competing_death = death_day if "death" in competing else np.full(n, NEVER)
    competing = np.minimum(np.where(non_cns, first_day, NEVER), competing_death)
    event = (cns != NEVER) & (cns <= competing)
    other = ~event & (competing != NEVER)
    censor_at_death = ~event & ~other & (death_day != NEVER)
    by_form = at(pr.day, first_pr, NEVER) == first_day  # else a PD assessment came first
    by_non_cns = other & non_cns & (first_day <= competing_death)
    kind = np.select([event, by_non_cns & by_form, by_non_cns, other, censor_at_death],
                     [CNS_BRAIN, CNS_NON_CNS, CNS_NON_CNS_PD, CNS_DEATH, CNS_CENSORED_DEATH], CNS_CENSORED)
    day = np.select([event, other], [cns, competing], last_contact_day)
    # the deciding row: the Brain progression row, or the first progression row or PD assessment
    row = np.select([kind == CNS_BRAIN, kind == CNS_NON_CNS, kind == CNS_NON_CNS_PD],
                    [brain_row, first_pr, first_ta], -1)
    status = np.select([event, other], [1, 2], 0).astype(np.int8)
    return Endpoint(day, status, kind.astype(np.int8), row)


@dataclass(frozen=True)
class Patterns:
    progressed: np.ndarray      # bool per patient: PFS event is progression
    first_day: np.ndarray
    site_bits: np.ndarray       # bit i set: dictionary pd_site label i among the sites
    new_lesion: np.ndarray
    existing_only: np.ndarray
    rows: np.ndarray            # indices of the progression rows in the window (sorted by patient)


def derive_patterns(n, pfs: Endpoint, pr: Rows, *, window_days: int, new: int, existing: int) -> Patterns:
    progressed = (pfs.kind == PFS_PD_ASSESSMENT) | (pfs.kind == PFS_PD_FORM)
    first = np.where(progressed, pfs.day, NEVER)
    start = first[pr.patient]
    in_window = (start != NEVER) & (pr.day >= start) & (pr.day <= start + window_days)
    rows = np.flatnonzero(in_window & (pr.codes["site"] >= 0))
    who, site, lesion = pr.patient[rows], pr.codes["site"][rows], pr.codes["lesion"][rows]
    bits = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(bits, who, np.left_shift(1, site.astype(np.int64)))
    n_rows = np.bincount(who, minlength=n)
    new_lesion = np.bincount(who, weights=lesion == new, minlength=n) > 0
    existing_only = (n_rows > 0) & (np.bincount(who, weights=lesion != existing, minlength=n) == 0)
    return Patterns(progressed, first, bits, new_lesion, existing_only, rows)


# --------------------------------------------------------------------------- reasons
def pfs_reasons(pfs: Endpoint, therapy_day: np.ndarray, *, censor_at_new_therapy: bool) -> pa.Array:
    date, started = iso(pfs.day), iso(therapy_day)
    new_therapy = (pfs.kind == PFS_CENSORED) & censor_at_new_therapy & (therapy_day != NEVER)
    no_adequate = (pfs.kind == PFS_CENSORED) & (pfs.row < 0)
    return choose(
        [pfs.kind == PFS_PD_ASSESSMENT, pfs.kind == PFS_PD_FORM, pfs.kind == PFS_DEATH,
         new_therapy & no_adequate, new_therapy, no_adequate],
        [cat("PD on assessment of ", date), cat("progression recorded on ", date, " (progression form)"),
         cat("death on ", date, " without prior progression"),
         cat("censored: new therapy started ", started, "; no adequate assessment before it (day 0)"),
         cat("censored: new therapy started ", started, "; last adequate assessment ", date),
         "censored: no adequate assessment (day 0)"],
        cat("censored: last adequate assessment on ", date))


def os_reasons(os_: Endpoint) -> pa.Array:
    date = iso(os_.day)
    return choose([os_.status == 1], [cat("death on ", date)], cat("censored: alive at last contact on ", date))


def cns_reasons(cns: Endpoint) -> pa.Array:
    date = iso(cns.day)
    return choose(
        [cns.kind == CNS_BRAIN, cns.kind == CNS_DEATH, (cns.kind == CNS_NON_CNS) | (cns.kind == CNS_NON_CNS_PD),
         cns.kind == CNS_CENSORED_DEATH],
        [cat("CNS progression on ", date, " (progression site Brain)"),
         cat("death without CNS progression on ", date),
         cat("non-CNS progression on ", date, " (competing)"),
         cat("censored: last contact on ", date, " (death without CNS progression does not compete)")],
        cat("censored: last contact on ", date))


def dor_reasons(dor: Endpoint, onset_day: np.ndarray, pfs_reason: pa.Array) -> pa.Array:
    """The PFS reason after the response onset ('response from 2014-03-02; PD on assessment of ...')."""
    early = (dor.status == 1) & (dor.day == onset_day)
    return cat("response from ", iso(onset_day), "; ",
               choose([early], [cat(pfs_reason, " (on or before the response onset: duration 0)")], pfs_reason))


def ttd_reasons(ttd: Endpoint, reason_label: pa.Array) -> pa.Array:
    """'crizotinib ended 2015-04-01 (Toxicity)'; the reason label is '' when the export has none."""
    date = iso(ttd.day)
    label = pc.if_else(pc.equal(reason_label, ""), "", cat(" (", reason_label, ")"))
    return choose([ttd.kind == TTD_END, ttd.kind == TTD_DEATH],
                  [cat("crizotinib ended ", date, label), cat("death on ", date, " without a crizotinib end date")],
                  cat("censored: on crizotinib at last contact on ", date))


def ttnt_reasons(ttnt: Endpoint) -> pa.Array:
    date = iso(ttnt.day)
    return choose([ttnt.kind == TTNT_THERAPY, ttnt.kind == TTNT_DEATH],
                  [cat("subsequent therapy started ", date), cat("death on ", date, " before any subsequent therapy")],
                  cat("censored: no subsequent therapy at last contact on ", date))
