"""Tumour size (best percentage change of the sum of diameters) and the response denominators, on
hand-built patients: the baseline is the last assessment on or before the index date."""

from __future__ import annotations

import dataclasses

from chartreview.core.config import with_defaults
from chartreview.derive.derivation import derive
from chartreview.endpoints.analyses import analyse_response, analyse_tumor_size
from support.derivation_helpers import DICTIONARY, Patient, build, config

SETTINGS = with_defaults({})


def run(*patients, tables=None):
    return derive(tables or build(list(patients)), DICTIONARY, config())


def by_id(derived, record):
    patients = derived.patients.set_index(derived.patients["record_id"].astype(str))
    audit = derived.audit.frame()
    audit = audit.set_index(audit["record_id"].astype(str))
    return patients.loc[record], audit.loc[record]


def test_best_change_from_the_last_assessment_on_or_before_the_index_date():
    d = run(Patient("P", ta=[(-30, None, 50.0), (0, None, 40.0), (56, "PR", 24.0), (112, "PR", 20.0),
                             (168, "PD", 30.0)]))
    patient, audit = by_id(d, "P")
    assert patient["baseline_sld_mm"] == 40.0
    assert patient["best_sld_change_percent"] == -50.0
    assert str(patient["best_overall_response"]) == "PR"  # the baseline is no response assessment
    assert "tumor_assessment #2 2013-01-01 40 mm" in audit["tumor_size_baseline"]
    assert audit["tumor_size_reason"].startswith("best change -50.0%: the smallest sum in the response window "
                                                 "(tumor_assessment #4 2013-04-23 20 mm)")
    course = d.tumor_size_course
    assert list(course["days"]) == [0, 56, 112, 168] and list(course["baseline"]) == [True, False, False, False]
    assert list(course["best"]) == [False, False, True, False]


def test_a_patient_without_a_baseline_sum_is_excluded_with_the_reason():
    d = run(Patient("P", ta=[(-7, None, None), (56, "PR", 20.0)]), Patient("Q", gene="ALK",
                                                                          ta=[(-7, None, 40.0), (56, "SD", 36.0)]))
    patient, audit = by_id(d, "P")
    assert patient["tumor_size_excluded"] == "no sum of diameters at the baseline assessment"
    assert audit["tumor_size_reason"] == "excluded from the tumour size: no sum of diameters at the baseline assessment"
    result = analyse_tumor_size(d.patients, SETTINGS)
    assert result["excluded"] == [{"reason": "no sum of diameters at the baseline assessment", "n": 1}]
    assert result["groups"]["ROS1"]["n"] == 0 and result["groups"]["ALK"]["n"] == 1
    assert result["groups"]["ALK"]["median"] == -10.0
    assert d.flow["tumor_size"] == {"ROS1": 0, "ALK": 1}


def test_an_assessment_after_the_index_date_is_no_baseline():
    d = run(Patient("P", ta=[(3, "SD", 40.0), (56, "PR", 20.0)]))
    patient, audit = by_id(d, "P")
    assert patient["tumor_size_excluded"] == "no baseline assessment (none dated on or before criz_start_date)"
    assert audit["tumor_size_baseline"] == ""
    assert len(d.tumor_size_course) == 0


def test_a_patient_without_measurable_disease_leaves_the_measurable_denominator_only():
    d = run(Patient("A", ta=[(56, "PR")]), Patient("B", ta=[(56, "PR")], measurable=False),
            Patient("C", gene="ALK", ta=[(56, "SD")]))
    result = analyse_response(d.patients, SETTINGS)
    assert result["primary_denominator"] == "all"
    assert (result["groups"]["ROS1"]["n"], result["groups"]["ROS1"]["responders"]) == (2, 2)
    measurable = result["secondary"]
    assert measurable["denominator_key"] == "measurable" and measurable["available"]
    assert (measurable["groups"]["ROS1"]["n"], measurable["groups"]["ROS1"]["responders"]) == (1, 1)
    assert measurable["excluded"]["ROS1"] == {"not measurable": 1, "measurable_disease blank": 0}
    chosen = analyse_response(d.patients, with_defaults({"endpoints": {"response": {"denominator": "measurable"}}}))
    assert chosen["primary_denominator"] == "measurable" and chosen["groups"]["ROS1"]["n"] == 1
    assert chosen["secondary"]["groups"]["ROS1"]["n"] == 2
    assert d.flow["measurable_disease"] == {"ROS1": 1, "ALK": 1}


def test_without_the_optional_fields_the_endpoints_say_not_available():
    tables = build([Patient("A", ta=[(-5, None, 40.0), (56, "PR", 20.0)]), Patient("B", gene="ALK", ta=[(56, "SD")])])
    tables = dataclasses.replace(tables, tumor_assessments=tables.tumor_assessments.drop(columns="ta_sld_mm"),
                                 patients=tables.patients.drop(columns="measurable_disease"))
    d = run(tables=tables)
    size = analyse_tumor_size(d.patients, SETTINGS)
    assert size["available"] is False and "ta_sld_mm is not in the export" in size["reason"]
    response = analyse_response(d.patients, with_defaults({"endpoints": {"response": {"denominator": "measurable"}}}))
    assert response["primary_denominator"] == "all" and "measurable_disease is not in the export" in response["note"]
    assert response["secondary"] == {"denominator_key": "measurable", "available": False,
                                     "reason": response["secondary"]["reason"]}
    assert d.flow["measurable_disease"] is None
