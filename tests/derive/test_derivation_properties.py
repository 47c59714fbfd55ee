"""Property tests (hypothesis) of the analysis datasets on generated patients.

Besides the invariants of issue 4 (event on or after the index, censoring never after last contact, PFS
never beyond OS, status codes in their sets), the vectorised derivation is compared with a plain
per-patient reading of the rules written here, one patient at a time, under random switches.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chartreview.derive.derivation import derive
from support.derivation_helpers import DICTIONARY, Patient, build, config

RESPONSES = ["CR", "PR", "SD", "PD", "NE"]
SITES = list(DICTIONARY["pd_site"].choices.values())
LESIONS = list(DICTIONARY["pd_lesion"].choices.values())
INTRA = {"Pleura", "Lung", "Contralateral lung", "Thoracic lymph node"}


@st.composite
def patients(draw, i):
    # Days on a 14-day grid so that ties (same-day PD and death, confirmation exactly 28 days later) occur.
    last = 14 * draw(st.integers(0, 40)) + draw(st.sampled_from([0, 0, 5]))
    day = st.integers(-1, last // 14).map(lambda k: 14 * k)
    ta = draw(st.lists(st.tuples(day, st.sampled_from(RESPONSES)), max_size=8))
    pd_rows = draw(st.lists(st.tuples(day, st.sampled_from(SITES), st.sampled_from(LESIONS)), max_size=5))
    therapies = draw(st.lists(day, max_size=2))
    death = draw(st.one_of(st.none(), st.sampled_from([last, last, last + 14, last + 30])))
    end = draw(st.one_of(st.none(), st.integers(1, max(last, 1))))
    return Patient(f"R{i:03d}", gene=draw(st.sampled_from(["ROS1", "ALK"])),
                   start=draw(st.sampled_from(["2011-03-01", "2016-02-29", "2020-12-31"])),
                   ta=ta, pd=pd_rows, st=therapies, last=last, death=death, end=end)


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 8))
    return [draw(patients(i)) for i in range(n)]


switches = st.fixed_dictionaries({
    "response": st.fixed_dictionaries({"sd_min_days": st.sampled_from([0, 28, 42]),
                                       "confirmation": st.booleans(),
                                       "confirmation_min_days": st.sampled_from([0, 28])}),
    "pfs": st.fixed_dictionaries({"censor_at_new_therapy": st.booleans()}),
    "cns": st.fixed_dictionaries({"competing": st.sampled_from([["death"], ["death", "non_cns_progression"],
                                                                 ["non_cns_progression"]])}),
    "progression": st.fixed_dictionaries({"window_days": st.sampled_from([0, 30])}),
})

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- invariants
@SETTINGS
@given(cohorts(), switches)
def test_invariants(specs, endpoints):
    d = derive(build(specs), DICTIONARY, config(**endpoints))
    t = d.time_to_event.merge(build(specs).patients[["record_id", "criz_start_date", "last_contact_date"]],
                              on="record_id")
    per_patient = t["endpoint"].value_counts()
    for endpoint in ("pfs", "os", "cns", "ttd", "ttnt"):                   # one row each; DoR for responders
        assert per_patient[endpoint] == len(specs)
    responders = d.patients["best_overall_response"].isin(["CR", "PR"]).sum()
    assert per_patient.get("dor", 0) == responders
    assert (t["date"] >= t["criz_start_date"]).all()                       # event or censoring on/after index
    from_index = t[t["endpoint"] != "dor"]                                 # DoR counts from the response onset
    assert (from_index["days"] == (from_index["date"] - from_index["criz_start_date"]).dt.days).all()
    censored = t[t["status"] == 0]
    assert (censored["date"] <= censored["last_contact_date"]).all()       # censoring never after last contact
    wide = t.pivot(index="record_id", columns="endpoint", values="date")
    assert (wide["pfs"] <= wide["os"]).all()                               # PFS never beyond OS
    assert (wide["ttnt"] <= wide["os"]).all()                              # nor the next treatment
    if "dor" in wide:  # DoR ends as PFS does, or at its onset when a progression came before the response
        assert (wide["dor"].dropna() >= wide.loc[wide["dor"].notna(), "pfs"]).all()
        assert (t.loc[t["endpoint"] == "dor", "days"] >= 0).all()
    assert set(t.loc[t["endpoint"] != "cns", "status"]) <= {0, 1}
    assert set(t.loc[t["endpoint"] == "cns", "status"]) <= {0, 1, 2}
    assert d.patients["best_overall_response"].notna().all()


# --------------------------------------------------------------------------- per-patient reference
def reference_bor(p: Patient, r: dict) -> str:
    therapy = min((d for d in p.st if d > 0), default=None)
    window = sorted((d, i, resp) for i, (d, resp) in enumerate(p.ta) if d > 0 and (therapy is None or d <= therapy))
    rows = []
    for a in window:
        rows.append(a)
        if a[2] == "PD":
            break
    sd_ok = lambda d: d >= r["sd_min_days"]  # noqa: E731
    rank = RESPONSES.index
    if not r["confirmation"]:
        eff = ["NE" if resp == "SD" and not sd_ok(d) else resp for d, _, resp in rows]
        return min(eff, key=rank) if eff else "NE"
    confirmed = set()
    for i, (d, _, resp) in enumerate(rows):
        if resp not in ("CR", "PR"):
            continue
        accept = ("CR",) if resp == "CR" else ("CR", "PR")
        j = next((k for k in range(i + 1, len(rows))
                  if rows[k][2] in accept and rows[k][0] >= d + r["confirmation_min_days"]), None)
        if j is None:
            continue
        between = [x[2] for x in rows[i + 1:j + 1]]
        allowed = {"CR", "NE"} if resp == "CR" else {"CR", "PR", "NE"}
        if not set(between) <= allowed or between.count("NE") > 1:
            continue
        dates = [x[0] for x in rows[i + 1:j + 1]]
        cr_dates = [x for x, v in zip(dates, between) if v == "CR"]
        pr_dates = [x for x, v in zip(dates, between) if v == "PR"]
        if resp == "PR" and cr_dates and pr_dates and min(cr_dates) <= max(pr_dates):
            continue  # admiral: no PR after a CR
        confirmed.add(resp)
    for best in ("CR", "PR"):
        if best in confirmed:
            return best
    if any(resp in ("CR", "PR", "SD") and sd_ok(d) for d, _, resp in rows):
        return "SD"
    return "PD" if any(resp == "PD" for _, _, resp in rows) else "NE"


def reference_pfs(p: Patient, r: dict) -> tuple[int, int, str]:
    """(day, status, kind) with kind in assessment|form|death|censored."""
    therapy = min((d for d in p.st if d > 0), default=None)
    limit = therapy if (r["censor_at_new_therapy"] and therapy is not None) else float("inf")
    pd_ta = min((d for d, resp in p.ta if 0 < d <= limit and resp == "PD"), default=None)
    pd_form = min((d for d, _, _ in p.pd if 0 < d <= limit), default=None)
    progression = min((x for x in (pd_ta, pd_form) if x is not None), default=None)
    if p.death is not None and p.death <= limit and (progression is None or p.death < progression):
        return p.death, 1, "death"
    if progression is not None:
        return progression, 1, "assessment" if progression == pd_ta else "form"
    adequate = [d for d, resp in p.ta if 0 < d <= limit and resp != "NE"]
    return (max(adequate) if adequate else 0), 0, "censored"


def reference_cns(p: Patient, r: dict, window: int) -> tuple[int, int]:
    brain = min((d for d, site, _ in p.pd if d > 0 and site == "Brain"), default=None)
    first = min([d for d, resp in p.ta if d > 0 and resp == "PD"] + [d for d, _, _ in p.pd if d > 0], default=None)
    competing = []
    if "death" in r["competing"] and p.death is not None:
        competing.append(p.death)
    if "non_cns_progression" in r["competing"] and first is not None and (brain is None or brain > first + window):
        competing.append(first)
    if brain is not None and (not competing or brain <= min(competing)):
        return brain, 1
    if competing:
        return min(competing), 2
    return p.last, 0


def reference_pattern(p: Patient, day: int, window: int) -> dict:
    rows = [(site, lesion) for d, site, lesion in p.pd if day <= d <= day + window]
    sites = {s for s, _ in rows}
    return {"sites": "; ".join(s for s in SITES if s in sites), "cns": "Brain" in sites,
            "intrathoracic_only": bool(sites) and sites <= INTRA, "extrathoracic": bool(sites - INTRA),
            "new_lesion": any(lesion == "New lesion" for _, lesion in rows),
            "existing_only": bool(rows) and all(lesion == "Existing lesion" for _, lesion in rows),
            "unknown": not sites}


@SETTINGS
@given(cohorts(), switches)
def test_vectorised_derivation_equals_the_per_patient_reading_of_the_rules(specs, endpoints):
    cfg = config(**endpoints)
    d = derive(build(specs), DICTIONARY, cfg)
    ep = cfg["endpoints"]
    rules = {**ep["response"], **ep["pfs"], **ep["cns"]}
    window = ep["progression"]["window_days"]
    t = d.time_to_event.set_index(["endpoint", "record_id"])
    bor = d.patients.set_index("record_id")["best_overall_response"]
    patterns = d.progression_patterns.set_index("record_id")
    for p in specs:
        assert bor[p.id] == reference_bor(p, rules), p
        day, status, kind = reference_pfs(p, rules)
        got = t.loc[("pfs", p.id)]
        assert (got["days"], got["status"]) == (day, status), p
        os_day = p.death if p.death is not None else p.last
        assert (t.loc[("os", p.id)]["days"], t.loc[("os", p.id)]["status"]) == (os_day, int(p.death is not None))
        cns = t.loc[("cns", p.id)]
        assert (cns["days"], cns["status"]) == reference_cns(p, rules, window), p
        if kind in ("assessment", "form"):
            expected = reference_pattern(p, day, window)
            got_pattern = patterns.loc[p.id]
            assert got_pattern["first_progression_date"] == pd.Timestamp(p.start) + pd.Timedelta(days=day)
            assert {k: got_pattern[k] for k in expected} == expected, p
        else:
            assert p.id not in patterns.index
