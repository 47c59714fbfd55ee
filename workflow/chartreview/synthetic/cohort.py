"""The synthetic cohort: latent trajectories of SYNTHETIC patients, in days from the crizotinib start.

No record describes a real person. The cohort follows the published study (crizotinib in ROS1- vs
ALK-rearranged NSCLC, Translational Lung Cancer Research 2023, doi 10.21037/tlcr-23-10) through the
targets in ``resources/calibration_targets.yaml``; ``synth`` renders it as a REDCap export.

How a cohort is made (vectorised over a chunk of patients; no per-patient Python loop):

1. Latent trajectory per patient, in days from the crizotinib start: group, baseline sites, the PFS
   event type (radiological progression, death, or censoring: ongoing, lost to follow-up, switch for
   toxicity) and time, response, progression sites, CNS progression (at or after the first
   progression), treatment beyond progression, subsequent therapies, death. Counts that the targets
   fix are allocated exactly (``round(rate * group size)`` of a chunk); the PFS times of each group
   are scaled so that the Kaplan-Meier median falls on the target day.
2. Tuning (the example only): the P values cannot be set by construction. A tuning step ``k``
   moves a few event days (PFS stage: progression/death days, each on its side of the group's
   median day; CNS stage: death and later-CNS-progression offsets) without touching counts or
   medians. ``calibration.search_tuning`` greedily accepts the steps that bring each P value
   closer to its target; the accepted steps are recorded in the targets file with the seed, and
   generation replays them (no statistics needed to generate).
3. Timeline: the absolute day of every event and the crizotinib start date (``timeline``), and the
   endpoints the derivation rules will read from the rendered export (``outcomes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPOCH = np.datetime64("1970-01-01", "D")
START_FROM = np.datetime64("2011-01-01", "D")     # crizotinib starts in the study period
START_TO = np.datetime64("2021-03-31", "D")
ONGOING_FROM = np.datetime64("2015-01-01", "D")   # patients still on crizotinib started late
DATA_CUTOFF = np.datetime64("2022-06-30", "D")    # end of the chart review
# Longest first-progression day and post-progression survival: with the later offsets (at most
# ~1100 days of subsequent therapies) every date stays before the cutoff even for a 2011 start.
MAX_PFS_DAY, MAX_PPD = 2400, 1700

# PFS event types
PFS_PD, PFS_DEATH, CENS_ONGOING, CENS_LOST, CENS_TOXICITY = 0, 1, 2, 3, 4

# Design choices not fixed by the publication: counts per group of the reference cohort (26 ROS1,
# 42 ALK); a registry of another size gets the same proportions.
DESIGN = {
    "pfs_death":          {"ROS1": 1, "ALK": 1},   # death before any progression
    "lost":               {"ROS1": 2, "ALK": 1},   # censored: lost to follow-up on crizotinib
    "toxicity_switch":    {"ROS1": 1, "ALK": 0},   # censored: new therapy after toxicity, no progression
    "cns_first":          {"ROS1": 2, "ALK": 5},   # brain among the sites of the first progression
    "cns_later":          {"ROS1": 2, "ALK": 2},   # brain progression after a first non-CNS progression
    "dead_after_pd":      {"ROS1": 7, "ALK": 22},
    "lost_after_pd":      {"ROS1": 1, "ALK": 2},
    "beyond_progression": {"ROS1": 4, "ALK": 8},   # crizotinib continued after the first PD, more scans
}


class SynthError(ValueError):
    """The generator cannot do what was asked (bad arguments or a missed calibration target)."""


@dataclass(frozen=True)
class Design:
    """Per-group counts of the reference cohort: targets (published) and design choices (DESIGN)."""
    groups: dict            # label -> fusion_gene code, reference first
    size: dict              # label -> patients of the reference cohort
    counts: dict            # name -> {label: count}
    median_pfs_days: dict   # label -> target day of the Kaplan-Meier median

    @classmethod
    def from_targets(cls, targets: dict) -> Design:
        unit = float(targets["time_unit_days"])
        counts = {name: dict(v) for name, v in targets["counts"].items() if name != "patients"}
        counts.update({name: dict(v) for name, v in DESIGN.items()})
        return cls(groups=dict(targets["groups"]), size=dict(targets["counts"]["patients"]), counts=counts,
                   median_pfs_days={g: int(round(m * unit)) for g, m in targets["median_pfs_months"].items()})

    def k(self, name: str, group: str, n_group: int) -> int:
        """The count for a group of n_group patients, proportional to the reference cohort."""
        return int(round(self.counts[name][group] * n_group / self.size[group]))


# ----------------------------------------------------------------------------------------------
# Latent trajectories
# ----------------------------------------------------------------------------------------------

def _pick(rng: np.random.Generator, members: np.ndarray, k: int, preference: np.ndarray | None = None) -> np.ndarray:
    """Flag exactly k of the members, at random (members with a higher preference first)."""
    idx = np.flatnonzero(members)
    if k > idx.size:
        raise SynthError(f"cannot allocate {k} patients among {idx.size}")
    score = rng.random(idx.size) + (2.0 * preference[idx] if preference is not None else 0.0)
    out = np.zeros(members.size, dtype=bool)
    out[idx[np.argsort(-score, kind="stable")[:k]]] = True
    return out


def _uniform_int(rng: np.random.Generator, lo, hi, n: int) -> np.ndarray:
    """Integers uniform on [lo, hi] (arrays allowed)."""
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    return np.floor(lo + rng.random(n) * (hi - lo + 1)).astype(np.int64)


def km_median_days(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median as R's survfit reads it (midpoint of a flat stretch at exactly 0.5);
    NaN when not reached. Used only to place the median during generation."""
    event = np.asarray(event).astype(np.int64)
    order = np.lexsort((-event, time))
    t, e = time[order], event[order].astype(bool)
    uniq, first = np.unique(t, return_index=True)
    d = np.add.reduceat(e.astype(np.int64), first)
    n_risk = t.size - first
    surv = np.cumprod(1.0 - d / n_risk)
    ev_t, ev_s = uniq[d > 0], surv[d > 0]
    below = np.flatnonzero(ev_s <= 0.5 + 1e-12)
    if below.size == 0:
        return float("nan")
    i = below[0]
    if abs(ev_s[i] - 0.5) < 1e-12 and i + 1 < ev_t.size:
        return (ev_t[i] + ev_t[i + 1]) / 2.0
    return float(ev_t[i])


def draw_latent(n: int, rng: np.random.Generator, design: Design) -> dict:
    """Latent trajectories of n patients (days from the crizotinib start), counts allocated exactly."""
    labels = list(design.groups)
    total = sum(design.size.values())
    n_group = {g: int(round(n * design.size[g] / total)) for g in labels[:-1]}
    n_group[labels[-1]] = n - sum(n_group.values())
    group = np.repeat(np.arange(len(labels)), [n_group[g] for g in labels])
    rng.shuffle(group)
    L: dict = {"n": n, "group": group, "labels": labels}
    members = {g: group == i for i, g in enumerate(labels)}

    def alloc(name, within, preference=None):
        out = np.zeros(n, dtype=bool)
        for g in labels:
            out |= _pick(rng, within & members[g], design.k(name, g, n_group[g]), preference)
        return out

    everyone = np.ones(n, dtype=bool)
    # baseline metastases: extrathoracic (brain included), brain among them
    ext = alloc("baseline_extrathoracic_metastases", everyone)
    brain = np.zeros(n, dtype=bool)
    for g in labels:
        k = design.k("baseline_brain_metastases", g, n_group[g])
        brain |= _pick(rng, ext & members[g], k)
    L["met"] = met = np.zeros((n, 10), dtype=bool)   # columns 1..9 used
    met[:, 1] = brain
    met[:, 2] = ext & (rng.random(n) < 0.15)
    met[:, 3] = ext & (rng.random(n) < 0.5)
    met[:, 4] = ext & (rng.random(n) < 0.12)
    met[:, 7] = ext & (rng.random(n) < 0.25)
    met[:, 9] = ext & (rng.random(n) < 0.08)
    none_yet = ext & ~met[:, [1, 2, 3, 4, 7, 9]].any(axis=1)
    met[none_yet, 3] = True
    met[:, 5] = rng.random(n) < 0.35
    met[:, 6] = rng.random(n) < 0.3
    met[:, 8] = rng.random(n) < 0.05
    L["ext"], L["brain"] = ext, brain

    # PFS event type
    pd_ = alloc("pfs_progression_events", everyone)
    death = alloc("pfs_death", ~pd_)
    tox = alloc("toxicity_switch", ~pd_ & ~death)
    lost = alloc("lost", ~pd_ & ~death & ~tox)
    L["pfs_type"] = pfs_type = np.full(n, CENS_ONGOING, dtype=np.int64)
    pfs_type[pd_], pfs_type[death], pfs_type[tox], pfs_type[lost] = PFS_PD, PFS_DEATH, CENS_TOXICITY, CENS_LOST
    L["responder"] = responder = alloc("responders", ~death)
    L["cr"] = responder & (rng.random(n) < 0.1)
    L["onset"] = np.where(rng.random(n) < 0.7, 1, 2)    # responding from the 1st or 2nd assessment

    # progression sites and later events
    io_only = alloc("intrathoracic_only_first_progression", pd_)
    L["io_only"] = io_only
    L["cns_first"] = alloc("cns_first", pd_ & ~io_only, brain.astype(float))
    L["cns_later"] = alloc("cns_later", pd_ & ~L["cns_first"])
    L["dead_after_pd"] = alloc("dead_after_pd", pd_)
    L["lost_after_pd"] = alloc("lost_after_pd", pd_ & ~L["dead_after_pd"])
    L["tbp"] = alloc("beyond_progression", pd_)
    L["n_post"] = np.where(L["tbp"], 1 + rng.integers(0, 3, n), 0)

    # event and censoring days (before the median is placed)
    day = np.zeros(n, dtype=np.float64)
    # ROS1 responders' progression has the longer tail (as in the crizotinib trials)
    tail = np.where(group == 0, 0.65, 0.5)
    day = np.where(pd_ & responder, np.maximum(100, rng.lognormal(np.log(420), tail, n)), day)
    day = np.where(pd_ & ~responder, np.maximum(45, rng.lognormal(np.log(170), 0.6, n)), day)
    day = np.where(death, rng.uniform(40, 420, n), day)
    day = np.where(lost, rng.uniform(110, 700, n), day)
    day = np.where(tox, rng.uniform(110, 230, n), day)
    ongoing = pfs_type == CENS_ONGOING
    # place each group's KM median on its target day: scale its times (order preserved); the ongoing
    # patients are censored beyond every target (at least 15 months of follow-up), so they count
    # only in the risk sets
    for g in labels:
        m = members[g] & ~ongoing
        t = np.where(members[g] & ongoing, 1e6, day)[members[g]]
        e = (pd_ | death)[members[g]]
        if e.sum() == 0:
            continue
        med = km_median_days(np.round(t), e)
        if np.isfinite(med):
            day[m] = day[m] * design.median_pfs_days[g] / med
    L["pfs_day"] = np.round(day).astype(np.int64)
    L["pfs_day"] = np.where(pd_ & responder, np.maximum(L["pfs_day"], 90), L["pfs_day"])
    L["pfs_day"] = np.where(pd_ & ~responder, np.maximum(L["pfs_day"], 40), L["pfs_day"])
    L["pfs_day"] = np.minimum(L["pfs_day"], MAX_PFS_DAY)

    # offsets after the first progression
    L["ppd"] = np.minimum(rng.lognormal(np.log(np.where(group == 0, 700, 480)), 0.75, n), MAX_PPD).astype(np.int64)
    L["later_after"] = _uniform_int(rng, 90, 500, n)
    L["criz_gap"] = _uniform_int(rng, 0, 14, n)          # last PD scan to crizotinib end (TBP)
    L["st_gap"] = _uniform_int(rng, 7, 28, n)            # crizotinib end to the next therapy
    L["no_st"] = rng.random(n) < 0.08                    # best supportive care after progression
    L["st2_gap"] = np.where(rng.random(n) < 0.5, _uniform_int(rng, 150, 600, n), -1)
    L["st3_gap"] = np.where((L["st2_gap"] > 0) & (rng.random(n) < 0.5), _uniform_int(rng, 150, 500, n), -1)
    L["lost_gap"] = _uniform_int(rng, 30, 300, n)
    L["contact_gap"] = _uniform_int(rng, 14, 90, n)
    L["death_gap"] = _uniform_int(rng, 10, 60, n)        # last assessment to death (PFS death)
    L["tox_end_gap"] = _uniform_int(rng, 7, 40, n)
    L["u_start"] = rng.random(n)
    L["ongoing_tail"] = _uniform_int(rng, 0, 30, n)      # last contact before the cutoff
    L["ongoing_scan"] = _uniform_int(rng, 0, 50, n)      # last scan before the last contact
    L["rng_state"] = rng.integers(0, 2**63 - 1)          # for the rendering draws
    return L


def timeline(L: dict) -> dict:
    """Absolute days (from the crizotinib start) of every event of the latent trajectories."""
    t = dict(L)
    pfs_type, pfs_day = L["pfs_type"], L["pfs_day"]
    pd_ = pfs_type == PFS_PD
    tbp = L["tbp"]
    n_post = L["n_post"]
    # treatment beyond progression: scans every 8 weeks after the first PD, the last one PD
    post_last = np.where(tbp, pfs_day + 56 * n_post, -1)
    later_day = np.where(tbp, post_last, np.where(L["cns_later"], pfs_day + L["later_after"], -1))
    has_later = pd_ & (tbp | L["cns_later"])
    # crizotinib stops at the progression, or at the end of treatment beyond progression
    criz_end = np.where(tbp, post_last + L["criz_gap"], pfs_day)
    st1 = np.where(pd_ & ~L["no_st"], criz_end + L["st_gap"], -1)
    # a later CNS progression without more crizotinib scans happens under the next therapy
    st1 = np.where(pd_ & L["cns_later"] & ~tbp & (st1 < 0), criz_end + L["st_gap"], st1)
    dead_pd = pd_ & L["dead_after_pd"]
    floor_death = np.maximum.reduce([criz_end + 30, np.where(has_later, later_day + 30, 0), st1 + 30])
    death = np.where(dead_pd, np.maximum(pfs_day + L["ppd"], floor_death), -1)
    # the PFS-death patients: last scan some days before death
    death = np.where(pfs_type == PFS_DEATH, pfs_day, death)
    st2 = np.where((st1 >= 0) & (L["st2_gap"] > 0), st1 + L["st2_gap"], -1)
    st3 = np.where((st2 >= 0) & (L["st3_gap"] > 0), st2 + L["st3_gap"], -1)
    st2 = np.where((death >= 0) & (st2 >= death), -1, st2)
    st3 = np.where((st2 < 0) | ((death >= 0) & (st3 >= death)), -1, st3)
    # toxicity switch: crizotinib stopped after the last adequate scan, next therapy soon after
    tox = pfs_type == CENS_TOXICITY
    criz_end = np.where(tox, pfs_day + L["tox_end_gap"], criz_end)
    st1 = np.where(tox, criz_end + L["st_gap"], st1)
    criz_end = np.where(pfs_type == PFS_DEATH, death, criz_end)
    needed = np.maximum.reduce([criz_end, later_day, st1, st2, st3, pfs_day])
    lost = (pfs_type == CENS_LOST) | (pd_ & L["lost_after_pd"])
    lost_contact = np.where(pfs_type == CENS_LOST, pfs_day + L["contact_gap"], needed + L["lost_gap"])
    criz_end = np.where(pfs_type == CENS_LOST, lost_contact, criz_end)   # transferred elsewhere
    dead = death >= 0
    ongoing = pfs_type == CENS_ONGOING
    # last day that must fit before the cutoff
    last_fixed = np.where(dead, death, np.where(lost, lost_contact, needed + 30))
    span = int((DATA_CUTOFF - START_FROM).astype(np.int64))
    last_fixed = np.minimum(last_fixed, span)
    lo = np.where(ongoing, (ONGOING_FROM - EPOCH).astype(np.int64), (START_FROM - EPOCH).astype(np.int64))
    hi = np.minimum((START_TO - EPOCH).astype(np.int64), (DATA_CUTOFF - EPOCH).astype(np.int64) - last_fixed)
    hi = np.where(ongoing, (START_TO - EPOCH).astype(np.int64), np.maximum(hi, lo))
    start = np.floor(lo + L["u_start"] * (hi - lo + 1)).astype(np.int64)
    to_cutoff = (DATA_CUTOFF - EPOCH).astype(np.int64) - start
    last_contact = np.where(dead, death, np.where(lost, lost_contact, to_cutoff - L["ongoing_tail"]))
    # ongoing: still on crizotinib, censored at the last scan before the last contact
    pfs_day = np.where(ongoing, last_contact - L["ongoing_scan"], pfs_day)
    criz_end = np.where(ongoing, -1, criz_end)
    t.update(pfs_day=pfs_day, start=start, criz_end=criz_end, st1=st1, st2=st2, st3=st3, death=death,
             later_day=later_day, has_later=has_later, last_contact=last_contact, lost=lost, dead=dead,
             post_last=post_last)
    return t


def outcomes(T: dict) -> dict:
    """PFS, OS and CNS progression as the derivation rules of issue 4 read the rendered export."""
    pfs_type = T["pfs_type"]
    pfs_event = np.isin(pfs_type, (PFS_PD, PFS_DEATH)).astype(np.int64)
    os_time = np.where(T["dead"], T["death"], T["last_contact"])
    cns_time = np.where(T["cns_first"], T["pfs_day"],
                        np.where(T["cns_later"], T["later_day"], os_time))
    cns_status = np.where(T["cns_first"] | T["cns_later"], 1, np.where(T["dead"], 2, 0))
    return {"group": T["group"], "pfs_time": T["pfs_day"], "pfs_event": pfs_event,
            "os_time": os_time, "os_event": T["dead"].astype(np.int64),
            "cns_time": cns_time, "cns_status": cns_status}


def tune(L: dict, seed: int, pfs_steps=(), cns_steps=()) -> dict:
    """Apply the tuning steps in order. PFS step k re-draws the event day of a few patients on the same
    side of their group's median day (medians and counts unchanged); CNS step k re-draws a few
    death and later-progression offsets (PFS unchanged). The steps are those a greedy search
    (calibration.search_tuning) accepted; applying them needs no statistics."""
    L = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in L.items()}
    for k in pfs_steps:
        L["pfs_day"] = tune_pfs(L, np.random.default_rng([seed, 101, int(k)]))
    for k in cns_steps:
        rng = np.random.default_rng([seed, 202, int(k)])
        idx = np.flatnonzero(L["dead_after_pd"] | L["cns_later"])
        chosen = rng.choice(idx, size=min(int(rng.integers(1, 4)), idx.size), replace=False)
        L["ppd"][chosen] = np.minimum(rng.lognormal(np.log(500), 0.9, chosen.size), MAX_PPD).astype(np.int64)
        L["later_after"][chosen] = _uniform_int(rng, 90, 700, chosen.size)
    return L


def tune_pfs(L: dict, rng: np.random.Generator) -> np.ndarray:
    pfs_day = L["pfs_day"].copy()
    T = timeline(L)
    o = outcomes(T)
    movable = np.isin(L["pfs_type"], (PFS_PD, PFS_DEATH))
    medians = np.array([km_median_days(o["pfs_time"][L["group"] == i], o["pfs_event"][L["group"] == i])
                        for i in range(len(L["labels"]))])
    target = medians[L["group"]]
    movable &= np.abs(pfs_day - target) > 1
    idx = np.flatnonzero(movable)
    chosen = rng.choice(idx, size=min(int(rng.integers(1, 4)), idx.size), replace=False)
    low = np.where(L["responder"][chosen], 90, 40)
    below = pfs_day[chosen] < target[chosen]
    lo = np.where(below, low, np.floor(target[chosen]) + 2)
    hi = np.where(below, np.ceil(target[chosen]) - 2, 2.5 * target[chosen])
    # a small multiplicative move keeps the shape of the distribution
    moved = np.round(pfs_day[chosen] * np.exp(rng.normal(0, 0.35, chosen.size)))
    pfs_day[chosen] = np.clip(moved, lo, hi).astype(np.int64)
    return pfs_day


def chunk_cohort(n: int, seed: int, chunk: int, design: Design, codes: dict,
                 tuning: dict | None = None) -> dict:
    """Timeline of one chunk of n patients (chunk index seeds its random stream)."""
    rng = np.random.default_rng([seed, chunk])
    L = draw_latent(n, rng, design)
    L["codes"] = codes
    if tuning:
        L = tune(L, seed, tuning.get("pfs", ()), tuning.get("cns", ()))
    return timeline(L)
