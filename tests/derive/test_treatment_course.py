"""Duration of response, time to treatment discontinuation, time to next treatment or death and treatment
beyond progression: one hand-built patient per rule, through the derivation and the endpoint analysis."""

from __future__ import annotations

import pandas as pd

from chartreview.core.catalog import ENDPOINT_SETTINGS, settings_of
from chartreview.derive.derivation import derive
from chartreview.endpoints.analyses import analyse_endpoint
from support.derivation_helpers import DICTIONARY, Patient, build, config


def derived_of(*patients, tables=None, **endpoints):
    return derive(tables or build(list(patients)), DICTIONARY, config(**endpoints))


def row(derived, endpoint, record="P"):
    t = derived.time_to_event
    found = t[(t["record_id"] == record) & (t["endpoint"] == endpoint)]
    return None if found.empty else found.iloc[0]


def result(derived, endpoint, **endpoints):
    settings = settings_of({**config(**endpoints), "groups": {"ROS1": 2, "ALK": 1}}, ENDPOINT_SETTINGS[endpoint])
    return analyse_endpoint(endpoint, derived.patients, derived.time_to_event, derived.progression_patterns,
                            settings)


def test_responder_who_dies_without_progression_has_death_as_the_end_of_response():
    d = derived_of(Patient("P", ta=[(56, "PR"), (112, "PR"), (168, "SD")], death=250, last=250, end=250))
    dor = row(d, "dor")
    assert (dor["status"], dor["days"]) == (1, 250 - 56)  # from the first PR to death
    assert dor["reason"] == "response from 2013-02-26; death on 2013-09-08 without prior progression"
    audit = d.audit.frame().iloc[0]
    assert audit["dor_status"] == 1 and audit["dor_days"] == 194


def test_non_responder_has_no_duration_of_response_row():
    d = derived_of(Patient("P", ta=[(56, "SD"), (112, "PD")]), Patient("Q", ta=[(56, "PR"), (112, "PD")]))
    assert row(d, "dor") is None and row(d, "dor", "Q")["days"] == 56
    assert d.audit.frame().set_index("record_id").loc["P", "dor_status"] == -1


def test_a_pr_confirmed_only_under_confirmation_is_a_response_only_then():
    # PR at day 56 and SD at day 70: no confirmation 28 days later, so with confirmation on the BOR is SD
    unconfirmed = Patient("P", ta=[(56, "PR"), (70, "SD"), (168, "PD")])
    confirmed = Patient("Q", ta=[(56, "PR"), (90, "PR"), (168, "PD")])
    off = derived_of(unconfirmed, confirmed)
    on = derived_of(unconfirmed, confirmed, response={"confirmation": True})
    assert row(off, "dor")["days"] == 112 and row(on, "dor") is None
    assert row(on, "dor", "Q")["days"] == 112 and row(on, "dor", "Q")["status"] == 1
    assert result(on, "dor")["groups"]["ROS1"]["n"] == 1 and result(off, "dor")["groups"]["ROS1"]["n"] == 2


def test_discontinuation_for_toxicity_then_death():
    tables = build([Patient("P", ta=[(56, "SD")], end=90, st=[120], death=300, last=300)])
    tables.patients["criz_end_reason"] = pd.Categorical(["Toxicity"], categories=tables.patients[
        "criz_end_reason"].cat.categories)
    d = derived_of(tables=tables)
    ttd, ttnt = row(d, "ttd"), row(d, "ttnt")
    assert (ttd["status"], ttd["days"]) == (1, 90)
    assert ttd["reason"] == "crizotinib ended 2013-04-01 (Toxicity)"
    assert (ttnt["status"], ttnt["days"], ttnt["reason"]) == (1, 120, "subsequent therapy started 2013-05-01")
    assert row(d, "os")["days"] == 300
    reasons = result(d, "ttd")["end_reasons"]["groups"]["ROS1"]
    assert reasons["counts"]["Toxicity"] == {"count": 1, "percent": 100.0} and reasons["counts"]["Death"]["count"] == 0


def test_death_without_an_end_date_ends_treatment_and_an_ongoing_patient_is_censored():
    d = derived_of(Patient("P", ta=[(56, "SD")], death=200, last=200), Patient("Q", ta=[(56, "SD")], last=500))
    assert (row(d, "ttd")["status"], row(d, "ttd")["days"]) == (1, 200)
    assert (row(d, "ttd", "Q")["status"], row(d, "ttd", "Q")["days"]) == (0, 500)
    assert row(d, "ttnt")["reason"] == "death on 2013-07-20 before any subsequent therapy"
    assert (row(d, "ttnt", "Q")["status"], row(d, "ttnt", "Q")["days"]) == (0, 500)


def test_subsequent_therapy_before_progression_is_the_next_treatment_and_censors_pfs():
    d = derived_of(Patient("P", ta=[(56, "PR"), (112, "PR"), (200, "PD")], end=140, st=[150], last=400))
    assert (row(d, "ttnt")["status"], row(d, "ttnt")["days"]) == (1, 150)
    pfs = row(d, "pfs")
    assert (pfs["status"], pfs["days"]) == (0, 112)  # the PD after the new therapy does not count
    dor = row(d, "dor")
    assert (dor["status"], dor["days"]) == (0, 112 - 56)  # censored as PFS is
    # with the switch off, the PD after the new therapy ends PFS and the response alike
    off = derived_of(Patient("P", ta=[(56, "PR"), (112, "PR"), (200, "PD")], end=140, st=[150], last=400),
                     pfs={"censor_at_new_therapy": False})
    assert (row(off, "dor")["status"], row(off, "dor")["days"]) == (1, 200 - 56)


def test_treatment_beyond_progression_counts_past_the_grace():
    beyond = Patient("P", ta=[(56, "SD"), (112, "PD"), (168, "PD")], pd=[(112, "Lung", "Existing lesion")],
                     end=112 + 60, last=400)
    stopped = Patient("Q", ta=[(56, "SD"), (112, "PD")], pd=[(112, "Lung", "Existing lesion")], end=112 + 20,
                      last=400)
    d = derived_of(beyond, stopped)
    bp = result(d, "ttd")["beyond_progression"]
    assert bp["grace_days"] == 28
    assert (bp["groups"]["ROS1"]["progressed"], bp["groups"]["ROS1"]["count"]) == (2, 1)
    assert bp["groups"]["ROS1"]["median_observed_months"] == 60 / 30.4375
    wide = result(d, "ttd", ttd={"beyond_progression_grace_days": 60})["beyond_progression"]
    assert wide["groups"]["ROS1"]["count"] == 0 and wide["groups"]["ROS1"]["median_months"] is None


def test_an_export_without_st_start_date_or_criz_end_reason_says_not_available():
    tables = build([Patient("P", ta=[(56, "PR"), (112, "PD")], end=112, st=[130], last=400)])
    tables = type(tables)(tables.patients.drop(columns=["criz_end_reason"]), tables.tumor_assessments,
                          tables.progression_sites, tables.subsequent_therapies.drop(columns=["st_start_date"]))
    d = derived_of(tables=tables)
    assert row(d, "ttnt") is None and row(d, "ttd")["reason"] == "crizotinib ended 2013-04-23"
    ttnt = result(d, "ttnt")
    assert ttnt == {"endpoint": "ttnt", "available": False, "definition": ttnt["definition"],
                    "reason": "not available: the export has no st_start_date field"}
    assert result(d, "ttd")["end_reasons"] == {"available": False,
                                                "reason": "not available: the export has no criz_end_reason field"}
