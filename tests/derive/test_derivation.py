"""Analysis datasets (issue 4): one hand-built patient per rule and switch, outputs and their contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from chartreview.core.catalog import EXTRACTED_TABLES, derived_files
from chartreview.derive.derivation import (
    DerivationError,
    derive,
    write_derived,
)
from support.derivation_helpers import DICTIONARY, Patient, build, config, synthetic


def run(*patients, **endpoints):
    return derive(build(list(patients)), DICTIONARY, config(**endpoints))


def row(derived, endpoint, record="P"):
    t = derived.time_to_event
    found = t[(t["record_id"] == record) & (t["endpoint"] == endpoint)]
    assert len(found) == 1
    return found.iloc[0]


def patient(derived, record="P"):
    p = derived.patients
    return p[p["record_id"] == record].iloc[0]


def day(offset, start="2013-01-01"):
    return pd.Timestamp(start) + pd.Timedelta(days=offset)


# --------------------------------------------------------------------------- best overall response
def test_death_before_first_assessment_is_pfs_event_and_ne_in_denominator():
    d = run(Patient("P", death=30, last=30))
    pfs = row(d, "pfs")
    assert (pfs["status"], pfs["days"], pfs["date"]) == (1, 30, day(30))
    assert pfs["reason"] == "death on 2013-01-31 without prior progression"
    assert patient(d)["best_overall_response"] == "NE"
    assert not patient(d)["responder"] and len(d.patients) == 1
    assert (row(d, "os")["status"], row(d, "os")["days"]) == (1, 30)
    assert (row(d, "cns")["status"], row(d, "cns")["reason"]) == (2, "death without CNS progression on 2013-01-31")


def test_pd_followed_by_scans_beyond_progression():
    d = run(Patient("P", ta=[(56, "SD"), (112, "PD"), (168, "PR"), (224, "CR")], end=300, last=320))
    assert patient(d)["best_overall_response"] == "SD"  # the CR after PD does not count
    pfs = row(d, "pfs")
    assert (pfs["status"], pfs["days"], pfs["reason"]) == (1, 112, "PD on assessment of 2013-04-23")
    assert patient(d)["treatment_beyond_progression"]
    assert patient(d)["progression_months"] == pytest.approx(112 / 30.4375)
    assert d.audit.frame().iloc[0]["pfs_source"] == "tumor_assessment #2 2013-04-23 PD"


def test_sd_before_day_42_followed_by_pd_gives_pd():
    d = run(Patient("P", ta=[(30, "SD"), (80, "PD")]))
    assert patient(d)["best_overall_response"] == "PD"
    assert not patient(d)["disease_control"]


def test_sd_before_day_42_and_nothing_else_is_ne():
    d = run(Patient("P", ta=[(41, "SD")]), Patient("Q", ta=[(42, "SD")]))
    assert patient(d)["best_overall_response"] == "NE"
    assert patient(d, "Q")["best_overall_response"] == "SD"  # day 42 is enough
    assert "SD before day 42" in d.audit.frame().iloc[0]["bor_decided_by"]


def test_sd_min_days_switch():
    d = run(Patient("P", ta=[(41, "SD")]), response={"sd_min_days": 28})
    assert patient(d)["best_overall_response"] == "SD"


CONFIRMATION_CASES = [
    # assessments, unconfirmed BOR, confirmed BOR
    ([(56, "PR"), (112, "PR")], "PR", "PR"),
    ([(56, "PR"), (112, "SD")], "PR", "SD"),            # unconfirmed PR falls back to SD
    ([(20, "PR")], "PR", "NE"),                         # ... but not before SD's 42 days
    ([(56, "PR"), (70, "PR")], "PR", "SD"),             # confirmation under 28 days apart
    ([(56, "CR"), (70, "NE"), (100, "CR")], "CR", "CR"),  # one NE between is allowed
    ([(56, "CR"), (70, "NE"), (80, "NE"), (100, "CR")], "CR", "SD"),  # two are not
    ([(56, "PR"), (100, "CR")], "CR", "PR"),            # PR followed by CR confirms PR
    ([(56, "CR"), (100, "PR")], "CR", "SD"),            # CR then PR: neither confirmed
    ([(56, "PR"), (70, "NE"), (90, "PR")], "PR", "PR"),  # PR confirmed across one NE
    ([(56, "PR"), (80, "CR"), (90, "PR")], "CR", "SD"),  # a PR after a CR in between: admiral rejects
    ([(56, "PR"), (70, "CR"), (84, "PR"), (100, "CR")], "CR", "SD"),  # PR after CR breaks both
    ([(56, "PR"), (84, "PD"), (120, "PR")], "PR", "SD"),  # nothing after the first PD confirms
    ([(56, "PR"), (84, "SD"), (120, "PR")], "PR", "SD"),  # SD between breaks the confirmation
    ([(56, "CR"), (84, "SD"), (120, "CR")], "CR", "SD"),  # ... of a CR too
]


@pytest.mark.parametrize("assessments,unconfirmed,confirmed", CONFIRMATION_CASES)
def test_confirmation_off(assessments, unconfirmed, confirmed):
    d = run(Patient("P", ta=assessments))
    assert patient(d)["best_overall_response"] == unconfirmed
    assert d.audit.frame().iloc[0]["bor_confirmed_by"] == ""


@pytest.mark.parametrize("assessments,unconfirmed,confirmed", CONFIRMATION_CASES)
def test_confirmation_on(assessments, unconfirmed, confirmed):
    d = run(Patient("P", ta=assessments), response={"confirmation": True})
    assert patient(d)["best_overall_response"] == confirmed
    if confirmed in ("CR", "PR"):
        assert d.audit.frame().iloc[0]["bor_confirmed_by"].startswith("tumor_assessment #")


def test_confirmation_min_days_switch():
    d = run(Patient("P", ta=[(56, "PR"), (70, "PR")]),
            response={"confirmation": True, "confirmation_min_days": 14})
    assert patient(d)["best_overall_response"] == "PR"
    assert d.audit.frame().iloc[0]["bor_confirmed_by"] == "tumor_assessment #2 2013-03-12 PR"


def test_no_assessment_at_all():
    d = run(Patient("P", last=200))
    assert patient(d)["best_overall_response"] == "NE"
    assert not patient(d)["responder"] and not patient(d)["disease_control"]
    pfs = row(d, "pfs")
    assert (pfs["status"], pfs["days"], pfs["reason"]) == (0, 0, "censored: no adequate assessment (day 0)")
    assert d.audit.frame().iloc[0]["bor_decided_by"] == "no assessment in the window"


def test_assessments_before_index_and_after_new_therapy_are_outside_the_response_window():
    d = run(Patient("P", ta=[(-5, "CR"), (0, "CR"), (60, "SD"), (130, "CR")], st=[100]))
    assert patient(d)["best_overall_response"] == "SD"
    assert np.isnan(patient(d)["response_onset_months"])


def test_response_onset_is_first_cr_or_pr():
    d = run(Patient("P", ta=[(45, "SD"), (90, "PR"), (150, "CR")]))
    assert patient(d)["response_onset_months"] == pytest.approx(90 / 30.4375)
    assert d.audit.frame().iloc[0]["response_onset"] == "tumor_assessment #2 2013-04-01 PR"


def test_a_therapy_dated_before_the_index_is_not_a_subsequent_therapy():
    d = run(Patient("P", ta=[(60, "SD"), (120, "PD")], st=[-30, 100]))
    assert row(d, "pfs")["reason"] == "censored: new therapy started 2013-04-11; last adequate assessment 2013-03-02"
    assert d.audit.frame().iloc[0]["first_subsequent_therapy"] == "subsequent_therapy #2 2013-04-11"


# --------------------------------------------------------------------------- PFS
def test_new_therapy_before_progression_censors_at_last_adequate_assessment():
    d = run(Patient("P", ta=[(56, "PR"), (112, "SD"), (140, "NE"), (180, "PD")], st=[150],
                    pd=[(180, "Liver", "New lesion")], last=300))
    pfs = row(d, "pfs")
    assert (pfs["status"], pfs["days"], pfs["date"]) == (0, 112, day(112))
    assert pfs["reason"] == "censored: new therapy started 2013-05-31; last adequate assessment 2013-04-23"
    assert "subsequent_therapy #1 2013-05-31" in d.audit.frame().iloc[0]["pfs_source"]
    assert len(d.progression_patterns) == 0


def test_pd_scan_after_new_therapy_is_ignored_for_pfs_unless_switched_off():
    spec = Patient("P", ta=[(56, "SD"), (180, "PD")], st=[150], last=300, death=300)
    on = row(run(spec), "pfs")
    assert (on["status"], on["days"]) == (0, 56)  # neither the PD at day 180 nor the death count
    off = row(run(spec, pfs={"censor_at_new_therapy": False}), "pfs")
    assert (off["status"], off["days"], off["reason"]) == (1, 180, "PD on assessment of 2013-06-30")


def test_new_therapy_without_adequate_assessment_censors_at_day_0():
    pfs = row(run(Patient("P", ta=[(20, "NE")], st=[50])), "pfs")
    assert (pfs["status"], pfs["days"]) == (0, 0)
    assert pfs["reason"] == "censored: new therapy started 2013-02-20; no adequate assessment before it (day 0)"


def test_censored_at_last_adequate_assessment_skips_ne():
    pfs = row(run(Patient("P", ta=[(56, "SD"), (112, "SD"), (168, "NE")], last=200)), "pfs")
    assert (pfs["status"], pfs["days"], pfs["reason"]) == (0, 112, "censored: last adequate assessment on 2013-04-23")


def test_progression_form_date_before_pd_scan_is_the_event():
    d = run(Patient("P", ta=[(56, "SD"), (120, "PD")], pd=[(110, "Bone", "New lesion")]))
    pfs = row(d, "pfs")
    assert (pfs["days"], pfs["reason"]) == (110, "progression recorded on 2013-04-21 (progression form)")
    assert d.progression_patterns.iloc[0]["first_progression_date"] == day(110)


def test_death_after_progression_is_not_the_pfs_event():
    pfs = row(run(Patient("P", ta=[(60, "PD")], death=90, last=90)), "pfs")
    assert (pfs["status"], pfs["days"]) == (1, 60)


# --------------------------------------------------------------------------- OS and CNS
def test_os_censored_at_last_contact():
    os_ = row(run(Patient("P", last=321)), "os")
    assert (os_["status"], os_["days"], os_["reason"]) == (0, 321, "censored: alive at last contact on 2013-11-18")
    assert os_["months"] == pytest.approx(321 / 30.4375)


def test_cns_progression_after_first_non_cns_progression():
    spec = Patient("P", ta=[(100, "PD")], pd=[(100, "Liver", "New lesion"), (200, "Brain", "New lesion")],
                   last=400)
    cns = row(run(spec), "cns")
    assert (cns["status"], cns["days"]) == (1, 200)
    assert cns["reason"] == "CNS progression on 2013-07-20 (progression site Brain)"


def test_competing_switch_non_cns_progression():
    spec = Patient("P", ta=[(100, "PD")], pd=[(100, "Liver", "New lesion"), (200, "Brain", "New lesion")],
                   last=400)
    d = run(spec, cns={"competing": ["death", "non_cns_progression"]})
    cns = row(d, "cns")
    assert (cns["status"], cns["days"], cns["reason"]) == (2, 100, "non-CNS progression on 2013-04-11 (competing)")
    assert d.audit.frame().iloc[0]["cns_source"] == "progression #1 2013-04-11 Liver (New lesion)"
    # A Brain row within the pattern window makes the first progression a CNS progression.
    near = Patient("Q", ta=[(100, "PD")], pd=[(100, "Liver", "New lesion"), (120, "Brain", "New lesion")])
    assert row(run(near, cns={"competing": ["death", "non_cns_progression"]}), "cns", "Q")["status"] == 1
    # A PD assessment without site rows is a first progression too; its assessment row decided.
    scan = run(Patient("S", ta=[(90, "PD")], pd=[(200, "Brain", "New lesion")]),
               cns={"competing": ["death", "non_cns_progression"]})
    assert (row(scan, "cns", "S")["status"], row(scan, "cns", "S")["days"]) == (2, 90)
    assert scan.audit.frame().iloc[0]["cns_source"] == "tumor_assessment #1 2013-04-01 PD"
    # Death need not compete: a death without CNS progression is then censored at last contact.
    dead = row(run(Patient("R", death=50, last=45), cns={"competing": ["non_cns_progression"]}), "cns", "R")
    assert (dead["status"], dead["days"]) == (0, 45)
    assert dead["reason"] == "censored: last contact on 2013-02-15 (death without CNS progression does not compete)"


def test_death_after_cns_progression():
    d = run(Patient("P", pd=[(100, "Brain", "New lesion")], death=300, last=300))
    cns, os_ = row(d, "cns"), row(d, "os")
    assert (cns["status"], cns["days"]) == (1, 100)
    assert (os_["status"], os_["days"]) == (1, 300)


def test_cns_censored_at_last_contact():
    cns = row(run(Patient("P", ta=[(60, "PD")], pd=[(60, "Lung", "New lesion")], last=250)), "cns")
    assert (cns["status"], cns["days"], cns["reason"]) == (0, 250, "censored: last contact on 2013-09-08")


# --------------------------------------------------------------------------- progression patterns
def test_progression_with_no_site_rows_is_unknown():
    d = run(Patient("P", ta=[(60, "SD"), (120, "PD")]))
    pattern = d.progression_patterns.iloc[0]
    assert pattern["unknown"] and pattern["sites"] == ""
    assert not pattern[["cns", "intrathoracic_only", "extrathoracic", "new_lesion", "existing_only"]].any()
    assert d.audit.frame().iloc[0]["progression_source"].startswith("no progression row from 2013-05-01")


def test_progression_pattern_sites_within_window():
    d = run(Patient("P", ta=[(120, "PD")], pd=[(120, "Lung", "Existing lesion"), (150, "Pleura", "Existing lesion"),
                                                (151, "Brain", "New lesion")]))
    pattern = d.progression_patterns.iloc[0]
    assert pattern["sites"] == "Pleura; Lung"  # the Brain row is 31 days later: outside the window
    assert pattern["intrathoracic_only"] and pattern["existing_only"]
    assert not (pattern["cns"] or pattern["extrathoracic"] or pattern["new_lesion"] or pattern["unknown"])
    wider = run(Patient("P", ta=[(120, "PD")], pd=[(120, "Lung", "Existing lesion"), (151, "Brain", "New lesion")]),
                progression={"window_days": 31}).progression_patterns.iloc[0]
    assert wider["cns"] and wider["extrathoracic"] and wider["new_lesion"] and not wider["intrathoracic_only"]


def test_death_is_not_a_progression_pattern():
    d = run(Patient("P", ta=[(60, "SD")], death=90, last=90))
    assert row(d, "pfs")["reason"].startswith("death")
    assert len(d.progression_patterns) == 0
    # A progression on the day of death comes first: death is an event only before progression.
    same_day = run(Patient("P", ta=[(60, "SD")], death=90, last=90, pd=[(90, "Brain", "New lesion")]))
    assert row(same_day, "pfs")["reason"] == "progression recorded on 2013-04-01 (progression form)"
    assert len(same_day.progression_patterns) == 1


# --------------------------------------------------------------------------- cohort and baseline
def test_groups_map_codes_through_the_dictionary_and_exclusions_are_counted():
    d = run(Patient("A", gene="ROS1"), Patient("B", gene="ALK"), Patient("C", gene=None), Patient("D", gene="ALK"))
    assert list(d.patients["group"]) == ["ROS1", "ALK", "ALK"]
    assert list(d.patients["group"].cat.categories) == ["ROS1", "ALK"]
    assert d.flow == {"records_exported": 4, "excluded": [{"reason": "fusion_gene blank", "n": 1}],
                      "analysed": {"ROS1": 1, "ALK": 2}, "response_evaluable": {"ROS1": 0, "ALK": 0},
                      "measurable_disease": {"ROS1": 1, "ALK": 2}, "tumor_size": {"ROS1": 0, "ALK": 0}}
    only = derive(build([Patient("A"), Patient("B", gene="ALK")]), DICTIONARY, {**config(), "groups": {"ROS1": 2}})
    assert only.flow["excluded"] == [{"reason": "fusion_gene ALK not among the configured groups", "n": 1}]
    assert set(only.time_to_event["record_id"]) == {"A"}


def test_group_code_unknown_to_the_dictionary_is_an_error():
    with pytest.raises(DerivationError, match="fusion_gene code 7"):
        derive(build([Patient("A")]), DICTIONARY, {**config(), "groups": {"ROS1": 7}})


def test_missing_config_key_and_unreadable_tables_are_clear_errors(tmp_path):
    from chartreview.derive.derivation import read_extracted

    broken = config()
    del broken["endpoints"]["cns"]
    with pytest.raises(DerivationError, match="config: the key 'cns'"):
        derive(build([Patient("A")]), DICTIONARY, broken)
    with pytest.raises(DerivationError, match="cannot read the extracted tables"):
        read_extracted({name: tmp_path / f"{name}.parquet" for name in ("patients", "tumor_assessments",
                                                                         "progression_sites", "subsequent_therapies")})


def test_blank_last_contact_is_an_error_naming_the_record():
    tables = build([Patient("A"), Patient("B")])
    tables.patients.loc[1, "last_contact_date"] = pd.NaT
    with pytest.raises(DerivationError, match="record\\(s\\) B: followup field last_contact_date"):
        derive(tables, DICTIONARY, config())


def test_baseline_composites_and_covariates():
    d = run(Patient("A", met=["Pleura"], ecog="2", age=70), Patient("B", met=["Brain", "Pericardium"]),
            Patient("C", met=["Distant lymph node"], ecog="0", age=64), Patient("D", met=[]))
    p = d.patients.set_index("record_id")
    assert list(p["met_extrathoracic"]) == [False, True, True, False]
    assert list(p["met_intrathoracic"]) == [True, True, False, False]
    assert list(p["brain_metastases"]) == [False, True, False, False]
    assert list(p["ecog_2plus"]) == [True, False, False, False]
    assert list(p["age_lt_65"]) == [False, True, True, True]
    assert d.audit.frame().set_index("record_id").loc["B", "baseline_sites"] == "Brain; Pericardium"


def test_swimmer_columns():
    d = run(Patient("A", end=100, last=200), Patient("B", end=None, last=200, death=250))
    p = d.patients.set_index("record_id")
    assert p.loc["A", "criz_months"] == pytest.approx(100 / 30.4375) and not p.loc["A", "criz_ongoing"]
    assert p.loc["B", "criz_months"] == pytest.approx(200 / 30.4375) and p.loc["B", "criz_ongoing"]
    assert np.isnan(p.loc["A", "death_months"]) and p.loc["B", "death_months"] == pytest.approx(250 / 30.4375)
    assert p.loc["B", "followup_months"] == pytest.approx(250 / 30.4375)


# --------------------------------------------------------------------------- contract and files
def test_output_dtypes_follow_the_contract():
    d = run(Patient("A", ta=[(60, "PD")], pd=[(60, "Brain", "New lesion")]), Patient("B", gene="ALK"))
    t = d.time_to_event
    assert list(t.columns) == ["record_id", "group", "endpoint", "days", "months", "status", "date", "reason"]
    assert str(t["record_id"].dtype) == "string" and str(t["reason"].dtype) == "string"
    assert list(t["endpoint"].cat.categories) == ["pfs", "os", "cns", "dor", "ttd", "ttnt"]
    assert t["days"].dtype == np.int64 and t["status"].dtype == np.int8 and t["months"].dtype == np.float64
    assert t["date"].dtype == "datetime64[ns]"
    assert (t["months"] == t["days"] / 30.4375).all()
    p = d.patients
    assert list(p["best_overall_response"].cat.categories) == ["CR", "PR", "SD", "PD", "NE"]
    assert p["age"].dtype == np.float64 and p["met_brain"].dtype == bool
    assert list(p["sex"].cat.categories) == ["Male", "Female"]
    g = d.progression_patterns
    assert str(g["record_id"].dtype) == "string" and list(g["group"].cat.categories) == ["ROS1", "ALK"]
    assert g["first_progression_date"].dtype == "datetime64[ns]" and g["cns"].dtype == bool
    assert list(g.columns) == ["record_id", "group", "first_progression_date", "sites", "cns",
                               "intrathoracic_only", "extrathoracic", "new_lesion", "existing_only", "unknown"]


def test_write_derived_is_deterministic_and_complete(tmp_path):
    tables = synthetic(300, seed=5)
    for out in (tmp_path / "a", tmp_path / "b"):
        write_derived(derive(tables, DICTIONARY, config()), derived_files(out))
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["audit.csv", "audit.html", "flow.json", "patients.parquet", "progression_patterns.parquet",
                     "time_to_event.parquet", "tumor_size_course.parquet"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    flow = json.loads((tmp_path / "a" / "flow.json").read_text())
    assert flow["records_exported"] == 300 and sum(flow["analysed"].values()) == 300
    back = pd.read_parquet(tmp_path / "a" / "time_to_event.parquet")
    responders = int(pd.read_parquet(tmp_path / "a" / "patients.parquet")["responder"].sum())
    assert len(back) == 5 * 300 + responders and str(back["endpoint"].dtype) == "category"
    audit = pd.read_csv(tmp_path / "a" / "audit.csv")
    assert len(audit) == 300 and {"pfs_source", "bor_decided_by", "cns_source"} <= set(audit.columns)
    html = (tmp_path / "a" / "audit.html").read_text()
    assert html.count("<section>") == 300 and "Rules in force" in html


def test_a_cohort_with_every_record_excluded_still_writes_its_files(tmp_path):
    d = run(Patient("A", gene=None), Patient("B", gene=None, ta=[(60, "PR")]))
    assert d.flow["analysed"] == {"ROS1": 0, "ALK": 0}
    assert d.flow["excluded"] == [{"reason": "fusion_gene blank", "n": 2}]
    write_derived(d, derived_files(tmp_path))
    assert len(pd.read_parquet(tmp_path / "time_to_event.parquet")) == 0


def test_rules_in_force_follow_the_switches():
    from chartreview.derive.rules import rules_in_force

    both = config(response={"confirmation": True}, cns={"competing": ["death", "non_cns_progression"]})
    words = dict(rules_in_force(both))
    assert "required (at least 28 days later" in words["Best overall response"]
    assert "competing (status 2): death, non cns progression" in words["CNS progression"]
    assert "not required" in dict(rules_in_force(config()))["Best overall response"]


def test_audit_html_of_a_large_cohort_says_it_is_truncated(tmp_path, monkeypatch):
    from chartreview.derive import audit
    monkeypatch.setattr(audit, "HTML_MAX_PATIENTS", 10)
    write_derived(derive(synthetic(50), DICTIONARY, config()), derived_files(tmp_path))
    html = (tmp_path / "audit.html").read_text()
    assert html.count("<section>") == 10 and "The cohort has 50 patients" in html


def test_no_free_text_reaches_the_derived_files(tmp_path):
    tables = build([Patient("A", st=[100])])
    tables.subsequent_therapies["st_agent"] = pd.array(["SECRET-AGENT-TEXT"], dtype="string")
    write_derived(derive(tables, DICTIONARY, config()), derived_files(tmp_path))
    for path in tmp_path.iterdir():
        assert b"SECRET-AGENT-TEXT" not in path.read_bytes(), path.name


# --------------------------------------------------------------------------- the rule
def _rule_workflow(make_workflow, tables):
    """The workflow with only rule derive, and typed extracted tables where rule extract leaves them."""
    workflow = make_workflow(rule_files=("derive",))
    extracted = workflow.workdir / "results" / "extracted"
    extracted.mkdir(parents=True)
    for name in EXTRACTED_TABLES:
        getattr(tables, name).to_parquet(extracted / f"{name}.parquet", index=False)
    (workflow.workdir / "results" / "validation").mkdir()
    (workflow.workdir / "results" / "validation" / "passed.txt").write_text("")
    return workflow


def test_rule_derive_writes_every_output_and_fails_cleanly_on_an_empty_group(make_workflow):
    workflow = _rule_workflow(make_workflow, build([Patient("A", ta=[(60, "PR")]), Patient("B", gene="ALK")]))
    workflow.run("results/derived/flow.json", cores=1, timeout=300)
    derived = workflow.workdir / "results" / "derived"
    assert sorted(p.name for p in derived.iterdir()) == [
        "audit.csv", "audit.html", "flow.json", "patients.parquet", "progression_patterns.parquet",
        "time_to_event.parquet", "tumor_size_course.parquet"]
    assert json.loads((derived / "flow.json").read_text())["analysed"] == {"ROS1": 1, "ALK": 1}
    # Every patient in one group (a group code is checked before any job): non-zero exit, one message
    # with the counts, no traceback, no output left behind.
    extracted = workflow.workdir / "results" / "extracted"
    build([Patient("A", ta=[(60, "PR")]), Patient("B")]).patients.to_parquet(extracted / "patients.parquet",
                                                                              index=False)
    failed = workflow.run("results/derived/flow.json", "--forceall", cores=1, check=False, timeout=300)
    assert failed.returncode != 0
    log = (workflow.workdir / "logs" / "derive.log").read_text()
    assert log == ("derive: config groups: no patient is analysed in group 'ALK' (fusion_gene code 1); analysed "
                   "per group: ROS1 2, ALK 0; of 2 records exported, excluded: none. Each group needs patients: "
                   "check the export's fusion_gene values and the codes of config key groups\n")
    assert list(derived.glob("*")) == []  # the directory too may be gone


def test_tables_read_from_parquet_derive_as_in_memory(tmp_path):
    # rule derive reads record_id of the repeating forms as Arrow text and looks it up in Arrow
    from chartreview.derive.derivation import read_extracted

    tables = synthetic(200, seed=3)
    paths = {}
    for name in EXTRACTED_TABLES:
        paths[name] = tmp_path / f"{name}.parquet"
        table = getattr(tables, name)
        if name == "tumor_assessments":  # a column derivation does not use is not read
            table = table.assign(tumor_assessment_complete=2)
        table.to_parquet(paths[name], index=False)
    read = read_extracted(paths)
    assert isinstance(read.tumor_assessments["record_id"].array, pd.arrays.ArrowStringArray)
    assert "tumor_assessment_complete" not in read.tumor_assessments
    expected, got = derive(tables, DICTIONARY, config()), derive(read, DICTIONARY, config())
    for name in ("patients", "time_to_event", "progression_patterns", "tumor_size_course"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name))
    pd.testing.assert_frame_equal(got.audit.frame(), expected.audit.frame())


def test_the_audit_written_piece_by_piece_is_the_audit_written_whole(tmp_path, monkeypatch):
    """A patient's audit row depends on that patient alone: the audit built and written in pieces of any size
    (a million patients' never whole in memory) gives the rows and the bytes of the whole one."""
    from chartreview.derive import audit as audit_module

    derived = derive(synthetic(300, seed=5), DICTIONARY, config())
    whole = derived.audit.frame()
    assert len(whole) == derived.audit.n > 250
    for size in (1, 7, 64, 299):
        pieces = list(derived.audit.chunks(size))
        assert [len(p) for p in pieces[:-1]] == [size] * (len(pieces) - 1)
        pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole)
    written, built, rows = {}, [], audit_module.Audit.rows
    monkeypatch.setattr(audit_module.Audit, "rows", lambda self, a, b: built.append(b - a) or rows(self, a, b))
    for size, shown in ((1000, 2000), (7, 2000), (7, 20), (64, 100)):
        monkeypatch.setattr(audit_module, "AUDIT_CHUNK_PATIENTS", size)
        monkeypatch.setattr(audit_module, "HTML_MAX_PATIENTS", shown)
        csv, page = tmp_path / f"{size}_{shown}.csv", tmp_path / f"{size}_{shown}.html"
        built.clear()
        audit_module.write_audit(derived, csv, page)
        assert max(built) == min(size, len(whole)) and sum(built) == len(whole)
        written[size, shown] = csv.read_bytes(), page.read_bytes()
    assert written[7, 2000] == written[1000, 2000]
    assert written[7, 20][0] == written[64, 100][0] == written[1000, 2000][0]
    assert written[7, 20][1].count(b"<section>") == 20 and b"The cohort has" in written[7, 20][1]
    assert written[7, 20][1].split(b"<h2>Per patient</h2>")[0] == written[1000, 2000][1].split(
        b"<h2>Per patient</h2>")[0]


def test_rows_of_a_record_outside_the_cohort_are_left_out_with_arrow_record_ids():
    from chartreview.derive.rows import rows_of

    table = pd.DataFrame({"record_id": pd.array(["B", "X", "A", None], dtype="string[pyarrow]"),
                          "instance": [1, 1, 1, 1],
                          "ta_date": pd.to_datetime(["2013-01-02", "2013-01-03", "2013-01-04", "2013-01-05"])})
    rows = rows_of(table, "ta_date", pd.Index(["A", "B"]), {})
    assert rows.patient.tolist() == [0, 1]
    assert rows.day.tolist() == [15709, 15707]
