"""One analysis per endpoint (results/endpoints/<name>.json); the manuscript tables are in tables.py.

analyse_endpoint(name, ...) turns the derived tables (results/derived/*.parquet) into the result of one
endpoint: metastases, response, pfs, os, cns, progression, baseline (Table 1) or weighting (IPTW). Numbers keep full
precision; groups are keyed by their labels in config order (reference first); a value that does not
exist is None (null in JSON), with a `reason` where a test or a fit is impossible; every comparison names
its test. Rounding for the manuscript is left to chartreview.tables.manuscript.

tableone is not used: its non-normal test is Kruskal-Wallis (not R's exact or continuity-corrected
Wilcoxon rank-sum) and its chi-square applies Yates' correction to 2x2 tables, so it cannot give the
configured tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from chartreview.core.catalog import (
    DERIVED_TABLES,
    ENDPOINT_TABLES,
    ENDPOINTS,
    METASTATIC_COMPOSITES,
    METASTATIC_SITES,
    PROGRESSION_PATTERNS,
    RESPONSES,
    TIME_TO_EVENT_ROWS,
    TREATMENT_ENDPOINT_FIELDS,
    TUMOR_SIZE_EXCLUSIONS,
    TUMOR_SIZE_NOT_EXPORTED,
    primary_input,
)
from chartreview.core.errors import InputError
from chartreview.core.result_files import finite_or_none, time_key, write_json
from chartreview.core.sensitivity import copy_primary
from chartreview.endpoints.time_to_event import (
    COX_TEST,
    SUBGROUPS,
    _design,
    follow_up,
    kaplan_meier_comparison,
    summarise_time_to_event,
)
from chartreview.stats import balance, categorical, competing_risks, survival, weighting
from chartreview.stats.survival import kaplan_meier, km_median
from chartreview.stats.weighting import aliased_columns

__all__ = [
    "EndpointError",
    "analyse_endpoint",
]

# How the two hazard ratios of CNS progression are named wherever they appear, so they are not confused.
SUBDISTRIBUTION_HR = "subdistribution HR (Fine-Gray)"
CAUSE_SPECIFIC_HR = "cause-specific HR"
FINE_GRAY_TEST = "Fine-Gray proportional subdistribution hazards, Wald test (cmprsk::crr)"
CAUSE_SPECIFIC_TEST = f"{COX_TEST}; every other event censored (coxph(Surv(time, status == 1) ~ ...))"
CIF_METHOD = (
    "Aalen-Johansen cumulative incidence with Aalen's variance (cmprsk::cuminc); CI log(-log) transformed"
)
PATTERN_ASSUMPTION = (
    "The published label of the 11/16 vs 17/37 comparison is lost; this workflow reads it as "
    "intrathoracic-only progression at first progression (an assumption)."
)


NOT_EXPORTED_REASON = TUMOR_SIZE_EXCLUSIONS[TUMOR_SIZE_NOT_EXPORTED]


class EndpointError(InputError):
    """The derived tables do not allow the analysis (a missing column, an unknown group)."""


# ----------------------------------------------------------------------------------------- helpers


def _labels(config: dict) -> list[str]:
    groups = config["groups"]
    return [str(g) for g in groups]


def _require(table: pd.DataFrame, columns, table_name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise EndpointError(
            f"results/derived/{table_name}.parquet lacks column(s) {', '.join(missing)} "
            f"(see the derived-table contract)"
        )


def _group_codes(table: pd.DataFrame, labels: list[str], table_name: str) -> pd.Series:
    """The group column as a Categorical with the configured labels in order (reference first)."""
    group = table["group"]
    if not isinstance(group.dtype, pd.CategoricalDtype):
        group = group.astype("category")
    group = group.cat.rename_categories([str(c) for c in group.cat.categories])
    present = group.cat.categories[np.bincount(group.cat.codes[group.cat.codes >= 0],
                                               minlength=len(group.cat.categories)) > 0]
    unknown = sorted(set(present) - set(labels))
    if unknown or group.isna().any():
        raise EndpointError(
            f"results/derived/{table_name}.parquet: group value(s) {unknown or ['<missing>']} are not among "
            f"the configured groups {labels}"
        )
    return group.cat.set_categories(labels)


def _flag(values: pd.Series) -> pd.Series:
    """A boolean column as nullable boolean (missing stays missing)."""
    return values.astype("boolean")


def _count_block(flags: pd.Series, group: pd.Series, labels: list[str], test: str) -> dict:
    """count, n and percent per group of a yes/no column, and the comparison of the groups."""
    flags = _flag(flags)
    block: dict[str, Any] = {}
    rows = []
    for g in labels:
        values = flags[group == g].dropna()
        n = int(values.size)
        count = int(values.sum())
        block[g] = {"count": count, "n": n, "percent": 100.0 * count / n if n else None}
        rows.append([count, n - count])
    result = categorical.compare_proportions(rows, test)
    block.update(_test_dict(result))
    return block


def _test_dict(result: categorical.CategoricalTest) -> dict:
    return {
        "p": finite_or_none(result.p),
        "test": result.test,
        "statistic": finite_or_none(result.statistic),
        "df": result.df,
        "reason": result.reason,
    }


def _configured_test_name(test: str) -> str:
    if test == "auto":
        return (
            f"{categorical.TESTS['chi2']} when every expected count is at least 5, otherwise "
            f"{categorical.TESTS['fisher']}"
        )
    return categorical.TESTS[test]


# ------------------------------------------------------------------------------------- endpoints


def analyse_metastases(patients: pd.DataFrame, config: dict) -> dict:
    """Baseline metastatic extent: count, n and percent per group for each site and the composites, with
    the configured test per site."""
    labels = _labels(config)
    test = config["statistics"]["categorical_test"]
    reported = {**METASTATIC_SITES, **METASTATIC_COMPOSITES}
    columns = [f"met_{site}" for site in reported]
    _require(patients, ["group", *columns], "patients")
    group = _group_codes(patients, labels, "patients")
    sites = {}
    for site, label in reported.items():
        sites[site] = {"label": label, **_count_block(patients[f"met_{site}"], group, labels, test)}
    return {
        "test": _configured_test_name(test),
        "groups": {g: {"n": int((group == g).sum())} for g in labels},
        "sites": sites,
    }


DENOMINATORS = {
    "all": "all patients of the group (non-evaluable patients count as non-responders)",
    "measurable": "patients of the group with measurable disease at baseline (measurable_disease = Yes; "
                  "non-evaluable patients among them count as non-responders)",
}


def analyse_response(patients: pd.DataFrame, config: dict) -> dict:
    """Best overall response distribution; ORR and DCR with Clopper-Pearson CIs; P of the ORR comparison
    (and of DCR and the BOR distribution), over the primary denominator (``endpoints.response.denominator``:
    all treated patients or those with measurable disease); the other denominator under ``secondary``."""
    _require(patients, ["group", "best_overall_response", "responder", "disease_control"], "patients")
    chosen = config.get("endpoints", {}).get("response", {}).get("denominator", "all")
    measurable = "measurable_disease" in patients.columns
    not_available = ("measurable_disease is not in the export (or the data dictionary): the rates over the "
                     "patients with measurable disease are not available")
    primary = chosen if measurable else "all"
    result = _response_over(patients, config, primary)
    result["primary_denominator"] = primary
    if chosen != primary:
        result["note"] = f"the configured denominator is {chosen!r}, but {not_available}"
    other = "measurable" if primary == "all" else "all"
    if other == "measurable" and not measurable:
        result["secondary"] = {"denominator_key": other, "available": False, "reason": not_available}
    else:
        result["secondary"] = {"denominator_key": other, "available": True,
                               **_response_over(patients, config, other)}
    return result


def _response_over(patients: pd.DataFrame, config: dict, denominator: str) -> dict:
    """The response result over one denominator: all patients, or those with measurable disease."""
    labels = _labels(config)
    statistics = config["statistics"]
    test, conf_level = statistics["categorical_test"], statistics["conf_level"]
    group = _group_codes(patients, labels, "patients")
    excluded = None
    if denominator == "measurable":
        kept = _flag(patients["measurable_disease"]).fillna(False).to_numpy(dtype=bool)
        excluded = {g: {"not measurable": int(((group == g).to_numpy() & ~kept
                                                & patients["measurable_disease"].notna().to_numpy()).sum()),
                        "measurable_disease blank": int(((group == g).to_numpy()
                                                         & patients["measurable_disease"].isna().to_numpy()).sum())}
                    for g in labels}
        patients, group = patients[kept], group[kept]
    bor = patients["best_overall_response"].astype(object)
    groups = {}
    bor_table = []
    for g in labels:
        sel = group == g
        n = int(sel.sum())
        responders = int(_flag(patients.loc[sel, "responder"]).fillna(False).sum())
        control = int(_flag(patients.loc[sel, "disease_control"]).fillna(False).sum())
        counts = {r: int((bor[sel] == r).sum()) for r in RESPONSES}
        bor_table.append([counts[r] for r in RESPONSES])
        groups[g] = {
            "n": n,
            "responders": responders,
            "orr": responders / n if n else None,
            "orr_ci": list(categorical.clopper_pearson(responders, n, conf_level)),
            "disease_control": control,
            "dcr": control / n if n else None,
            "dcr_ci": list(categorical.clopper_pearson(control, n, conf_level)),
            "bor": counts,
            "bor_percent": {r: 100.0 * c / n if n else None for r, c in counts.items()},
        }
    orr = categorical.compare_proportions(
        [[groups[g]["responders"], groups[g]["n"] - groups[g]["responders"]] for g in labels], test
    )
    dcr = categorical.compare_proportions(
        [[groups[g]["disease_control"], groups[g]["n"] - groups[g]["disease_control"]] for g in labels], test
    )
    bor_columns = [i for i in range(len(RESPONSES)) if any(row[i] for row in bor_table)]
    bor_test = categorical.compare_proportions([[row[i] for i in bor_columns] for row in bor_table], test)
    return {
        "test": orr.test,
        "p": finite_or_none(orr.p),
        "statistic": finite_or_none(orr.statistic),
        "df": orr.df,
        "reason": orr.reason,
        "conf_level": conf_level,
        "ci_method": "Clopper-Pearson exact",
        "denominator": DENOMINATORS[denominator],
        "groups": groups,
        "dcr_comparison": _test_dict(dcr),
        "bor_comparison": {
            **_test_dict(bor_test),
            "categories": [RESPONSES[i] for i in bor_columns],
        },
        **({"excluded": excluded} if excluded is not None else {}),
    }


def analyse_tumor_size(patients: pd.DataFrame, config: dict) -> dict:
    """Best percentage change in tumour size per group: the patients with a change, median (IQR) and
    range, how many shrank by at least 30% or grew by at least 20% (RECIST's PR and PD thresholds), the
    Wilcoxon rank-sum P, and the patients excluded by reason (counts, never who)."""
    labels = _labels(config)
    _require(patients, ["group"], "patients")
    group = _group_codes(patients, labels, "patients")
    columns = ("best_sld_change_percent", "tumor_size_excluded")
    if any(c not in patients.columns for c in columns):
        return {"available": False, "reason": "the derived patients table has no tumour size (derivation "
                                               "of an earlier version): not available"}
    reason = patients["tumor_size_excluded"].astype(object)
    if reason.eq(NOT_EXPORTED_REASON).all() and len(reason):
        return {"available": False, "reason": "ta_sld_mm is not in the export (or the data dictionary): the "
                                               "change in tumour size is not available",
                "groups": {g: {"n": int((group == g).sum())} for g in labels}}
    change = patients["best_sld_change_percent"].to_numpy(dtype=float)
    groups = {}
    for g in labels:
        sel = (group == g).to_numpy()
        values = change[sel & ~np.isnan(change)]
        s = categorical.summarise_continuous(values)
        counts = reason[sel].dropna().value_counts()
        groups[g] = {"patients": int(sel.sum()), "n": s.n, "median": s.median, "q1": s.q1, "q3": s.q3,
                     "min": s.minimum, "max": s.maximum,
                     "shrank_30": int((values <= -30).sum()), "grew_20": int((values >= 20).sum()),
                     "excluded": {str(r): int(counts[r]) for r in sorted(counts.index)}}
    result = categorical.wilcoxon_rank_sum(change[(group == labels[0]).to_numpy() & ~np.isnan(change)],
                                           change[(group == labels[1]).to_numpy() & ~np.isnan(change)])
    overall = reason.dropna().value_counts()
    return {
        "available": True,
        "unit": "percent change of the sum of target lesion diameters (ta_sld_mm) from baseline",
        "definition": "from the last assessment dated on or before criz_start_date (baseline) to the smallest "
                      "sum in the response window (after criz_start_date, on or before the first subsequent "
                      "therapy)",
        "thresholds": {"shrank": -30, "grew": 20},
        "groups": groups,
        "excluded": [{"reason": str(r), "n": int(overall[r])} for r in sorted(overall.index)],
        "test": result.test, "p": finite_or_none(result.p), "statistic": finite_or_none(result.statistic),
        "reason": result.reason,
    }


def _time_to_event(name: str, patients: pd.DataFrame, time_to_event: pd.DataFrame) -> pd.DataFrame:
    """One endpoint's rows of the time-to-event table with the patient's derived columns (hash lookup
    by record_id, not a sorting merge: a million patients take a second)."""
    _require(time_to_event, ["record_id", "endpoint", "months", "status"], "time_to_event")
    _require(patients, ["record_id", "group"], "patients")
    rows = time_to_event[time_to_event["endpoint"].astype(str) == name]
    ids = pd.Index(patients["record_id"])
    if not ids.is_unique:
        duplicate = patients.loc[ids.duplicated(), "record_id"].iloc[0]
        raise EndpointError(f"results/derived/patients.parquet: record {duplicate} appears more than once")
    position = ids.get_indexer(rows["record_id"])
    if (position < 0).any():
        missing = rows["record_id"].iloc[int(np.argmax(position < 0))]
        raise EndpointError(
            f"results/derived/time_to_event.parquet: {name} row of record {missing} has no row in "
            f"results/derived/patients.parquet"
        )
    if pd.Index(rows["record_id"]).has_duplicates:
        raise EndpointError(f"results/derived/time_to_event.parquet: a record has more than one {name} row")
    data = patients.iloc[position].reset_index(drop=True)
    for column in rows.columns:
        if column not in ("record_id", "group"):
            data[column] = rows[column].to_numpy()
    return data


def analyse_survival(name: str, patients: pd.DataFrame, time_to_event: pd.DataFrame, config: dict) -> dict:
    """PFS or OS: Kaplan-Meier, medians, landmark rates, log-rank, Cox with its proportional-hazards test, RMST
    (time_to_event.summarise_time_to_event)."""
    labels = _labels(config)
    statistics = config["statistics"]
    data = _time_to_event(name, patients, time_to_event)
    _group_codes(data, labels, "patients")
    result = summarise_time_to_event(
        data,
        groups=labels,
        landmarks=config["endpoints"][name]["landmarks"],
        covariates=statistics["covariates"],
        subgroups=statistics["subgroups"],
        conf_level=statistics["conf_level"],
        rmst_tau=statistics["rmst_tau"],
    )
    if name == "os":
        ordered = data.sort_values("months", kind="stable")
        result["follow_up"] = follow_up(ordered["months"].to_numpy(dtype=float),
                                        ordered["status"].to_numpy(dtype=float),
                                        pd.Categorical(ordered["group"].astype(str), categories=labels), labels,
                                        statistics["conf_level"])
    return {"endpoint": name, **result}


# What each endpoint of the treatment course measures, in words (the result's ``definition``).
TREATMENT_DEFINITIONS = {
    "dor": "duration of response: among responders (best overall response CR or PR), from the first CR/PR "
           "assessment to PD or death, censored as PFS is",
    "ttd": "time to treatment discontinuation: from crizotinib start to criz_end_date (any reason; a death "
           "without an end date counts), censored at last contact while on crizotinib",
    "ttnt": "time to next treatment or death: from crizotinib start to the first subsequent therapy "
            "(st_start_date) or death, censored at last contact",
}


def analyse_treatment_course(name: str, patients: pd.DataFrame, time_to_event: pd.DataFrame, config: dict) -> dict:
    """Duration of response, time to treatment discontinuation or time to next treatment or death:
    Kaplan-Meier per group (median with CI, landmark rates), log-rank P; for ttd also the reasons of
    discontinuation and the treatment beyond progression. An export without the endpoint's field
    (TREATMENT_ENDPOINT_FIELDS) has no rows of it: the result says it is not available."""
    labels = _labels(config)
    conf_level = config["statistics"]["conf_level"]
    settings = config["endpoints"][name]
    _require(time_to_event, ["endpoint"], "time_to_event")
    has_rows = bool((time_to_event["endpoint"].astype(str) == name).any())
    if name in TREATMENT_ENDPOINT_FIELDS and not has_rows:
        return {"endpoint": name, "available": False, "definition": TREATMENT_DEFINITIONS[name],
                "reason": f"not available: the export has no {TREATMENT_ENDPOINT_FIELDS[name]} field"}
    data = _time_to_event(name, patients, time_to_event).sort_values("months", kind="stable")
    group = _group_codes(data, labels, "patients") if len(data) else \
        pd.Series(pd.Categorical([], categories=labels))
    time = data["months"].to_numpy(dtype=float)
    result = {"endpoint": name, "available": True, "definition": TREATMENT_DEFINITIONS[name],
              **kaplan_meier_comparison(time, data["status"].to_numpy(dtype=float),
                                        pd.Categorical(group.astype(object), categories=labels), labels,
                                        settings["landmarks"], conf_level)}
    if name == "ttd":
        result["end_reasons"] = _end_reasons(patients, labels)
        result["beyond_progression"] = _beyond_progression(patients, labels, settings, conf_level)
    return result


def _end_reasons(patients: pd.DataFrame, labels: list[str]) -> dict:
    """criz_end_reason per group (count and percent of the group's patients), labels as the dictionary's."""
    if "criz_end_reason" not in patients:
        return {"available": False, "reason": "not available: the export has no criz_end_reason field"}
    group = _group_codes(patients, labels, "patients")
    values = patients["criz_end_reason"]
    levels = _categorical_levels(values)
    codes = _level_codes(values, levels)
    out: dict[str, Any] = {"available": True, "levels": levels, "groups": {}}
    for g in labels:
        sel = (group == g).to_numpy()
        n = int(sel.sum())
        counts = np.bincount(codes[sel & (codes >= 0)], minlength=len(levels))
        out["groups"][g] = {"n": n, "missing": int((codes[sel] < 0).sum()),
                            "counts": {lv: {"count": int(c), "percent": 100.0 * int(c) / n if n else None}
                                       for lv, c in zip(levels, counts)}}
    return out


def _beyond_progression(patients: pd.DataFrame, labels: list[str], settings: dict, conf_level: float) -> dict:
    """Patients treated with crizotinib beyond their first progression: crizotinib ended (or last contact while
    on it) more than the grace days after the first progression; the median duration of crizotinib after
    the first progression among them (Kaplan-Meier, ongoing censored; and the observed median)."""
    grace = settings["beyond_progression_grace_days"]
    _require(patients, ["group", "criz_after_progression_days", "criz_after_progression_months", "criz_ongoing"],
             "patients")
    group = _group_codes(patients, labels, "patients")
    days = patients["criz_after_progression_days"].to_numpy(dtype=float)
    months = patients["criz_after_progression_months"].to_numpy(dtype=float)
    ongoing = patients["criz_ongoing"].to_numpy(dtype=bool)
    progressed = ~np.isnan(days)
    beyond = progressed & (np.nan_to_num(days, nan=-1.0) > grace)
    groups = {}
    for g in labels:
        sel = (group == g).to_numpy()
        n_progressed, n_beyond = int((sel & progressed).sum()), int((sel & beyond).sum())
        treated = sel & beyond
        km = kaplan_meier(months[treated], (~ongoing[treated]).astype(float), conf_level)
        med = km_median(km)
        groups[g] = {"progressed": n_progressed, "count": n_beyond,
                     "percent": 100.0 * n_beyond / n_progressed if n_progressed else None,
                     "ongoing": int((treated & ongoing).sum()),
                     "median_months": med.estimate, "median_ci": [med.lower, med.upper],
                     "median_observed_months": float(np.median(months[treated])) if n_beyond else None}
    return {"grace_days": grace,
            "definition": f"crizotinib ended (or still taken at last contact) more than {grace} days after the "
                          "first progression (the PFS event); duration from the first progression to the end "
                          "of crizotinib, Kaplan-Meier with patients still on crizotinib censored",
            "groups": groups}


def _cif_curve(cif: competing_risks.CumulativeIncidence) -> dict:
    return {
        "time": [float(t) for t in cif.time],
        "cif": [float(v) for v in cif.estimate],
        "lower": [finite_or_none(v) for v in cif.lower],
        "upper": [finite_or_none(v) for v in cif.upper],
        "variance": [float(v) for v in cif.variance],
    }


def _at_risk(time: np.ndarray, status: np.ndarray) -> dict:
    """Patients still followed (time >= t) at every distinct time, censored and competing times included,
    and the events (cause 1), competing events and censorings at that time: the risk table under the
    cumulative-incidence plot (numbers at risk, or the cumulative counts of a KMunicate-style table)."""
    ordered = np.sort(time)
    distinct, index = np.unique(time, return_inverse=True)
    n_risk = ordered.size - np.searchsorted(ordered, distinct, side="left")

    def count(selected):
        return [int(n) for n in np.bincount(index[selected], minlength=distinct.size)]

    return {"time": [float(t) for t in distinct], "n_risk": [int(n) for n in n_risk],
            "n_event": count(status == 1), "n_competing": count(status == 2), "n_censor": count(status == 0)}


def _cif_points(cif: competing_risks.CumulativeIncidence, times) -> dict:
    return {
        time_key(p.time): {"estimate": p.estimate, "ci": [p.lower, p.upper], "variance": p.variance}
        for p in competing_risks.cif_at(cif, times)
    }


def analyse_cns(patients: pd.DataFrame, time_to_event: pd.DataFrame, config: dict) -> dict:
    """CNS progression with competing events: cumulative incidence per group (cause 1) and of the
    competing events (cause 2), at the configured timepoints; Gray's test; Fine-Gray SHR of the second
    group against the reference."""
    labels = _labels(config)
    statistics = config["statistics"]
    conf_level = statistics["conf_level"]
    settings = config["endpoints"]["cns"]
    timepoints = settings["timepoints"]
    data = _time_to_event("cns", patients, time_to_event)
    group = _group_codes(data, labels, "patients")
    time = data["months"].to_numpy(dtype=float)
    status = data["status"].to_numpy()
    bad = ~np.isin(status, [0, 1, 2])
    if bad.any():
        raise EndpointError(
            f"results/derived/time_to_event.parquet: cns status must be 0, 1 or 2; record "
            f"{data['record_id'].iloc[int(np.argmax(bad))]} has {status[bad][0]!r}"
        )
    groups = {}
    for g in labels:
        sel = (group == g).to_numpy()
        cif = competing_risks.cumulative_incidence(time[sel], status[sel], 1, conf_level)
        other = competing_risks.cumulative_incidence(time[sel], status[sel], 2, conf_level)
        groups[g] = {
            "n": cif.n,
            "events": cif.events,
            "competing": cif.competing,
            "censored": cif.censored,
            "cif": _cif_points(cif, timepoints),
            "competing_cif": _cif_points(other, timepoints),
            "curve": _cif_curve(cif),
            "competing_curve": _cif_curve(other),
            "at_risk": _at_risk(time[sel], status[sel]),
        }
    gray = competing_risks.gray_test(time, status, group.cat.codes.to_numpy(), cause=1)
    contrast = f"{labels[1]} vs {labels[0]}"
    x = (group == labels[1]).to_numpy(dtype=float)
    fg_reason = None
    for g in labels:
        if groups[g]["n"] == 0:
            fg_reason = f"no {g} patients"
    if fg_reason is None and not (status == 1).any():
        fg_reason = "no CNS progression in any group"
    if fg_reason is None:
        for g in labels:
            if groups[g]["events"] == 0:
                fg_reason = f"no CNS progression in {g}: subdistribution hazard ratio not estimable"
    if fg_reason is None:
        model = competing_risks.fine_gray(time, status, x[:, None], [contrast], 1, conf_level)
        fg_reason = model.reason
        fine_gray = {
            "coef": finite_or_none(model.coef[0]),
            "se": finite_or_none(model.se[0]),
            "shr": finite_or_none(model.shr[0]),
            "shr_ci": [finite_or_none(model.lower[0]), finite_or_none(model.upper[0])],
            "p": finite_or_none(model.p[0]),
        }
    else:
        fine_gray = {"coef": None, "se": None, "shr": None, "shr_ci": [None, None], "p": None}
    covariates = list(statistics["covariates"])
    return {
        "unit": "months",
        "conf_level": conf_level,
        "event": "CNS progression (cause 1)",
        "competing": list(settings["competing"]),
        "method": CIF_METHOD,
        "groups": groups,
        "gray": {
            "test": "Gray's test (rho = 0)",
            "stat": finite_or_none(gray.statistic),
            "df": gray.df,
            "p": finite_or_none(gray.p),
            "reason": gray.reason,
        },
        "fine_gray": {
            "test": FINE_GRAY_TEST,
            "contrast": contrast,
            **fine_gray,
            "reason": fg_reason,
            "label": SUBDISTRIBUTION_HR,
        },
        "fine_gray_adjusted": _cns_model("fine_gray", data, time, status, group, labels, covariates, conf_level),
        "cause_specific": _cns_model("cause_specific", data, time, status, group, labels, [], conf_level),
        "cause_specific_adjusted": _cns_model("cause_specific", data, time, status, group, labels, covariates,
                                              conf_level),
    }


def _cns_model(kind: str, data: pd.DataFrame, time, status, group, labels, covariates, conf_level) -> dict:
    """The Fine-Gray ("fine_gray") or cause-specific Cox ("cause_specific") model of CNS progression on the
    group indicator and ``covariates``: patients with a missing covariate dropped and counted; a term per
    column (``column=level`` for a category), None with the reason where the model does not exist."""
    contrast = f"{labels[1]} vs {labels[0]}"
    x = (group == labels[1]).to_numpy(dtype=float)
    Xc, cov_names = _design(data, covariates)
    complete = ~np.isnan(Xc).any(axis=1)
    names = [contrast, *cov_names]
    X = np.column_stack([x, Xc])[complete]
    t, st, g = time[complete], status[complete], group[complete]
    label = SUBDISTRIBUTION_HR if kind == "fine_gray" else CAUSE_SPECIFIC_HR
    ratio = "shr" if kind == "fine_gray" else "hr"
    block: dict[str, Any] = {
        "label": f"{label}, adjusted" if covariates else label,
        "test": FINE_GRAY_TEST if kind == "fine_gray" else CAUSE_SPECIFIC_TEST,
        "contrast": contrast, "covariates": list(covariates),
        "n": int(complete.sum()), "events": int((st == 1).sum()),
        "excluded_missing_covariates": int((~complete).sum()),
    }
    reason = None
    for lab in labels[:2]:
        sel = np.asarray(g == lab)
        if not sel.any():
            reason = f"no {lab} patients" + (" with every covariate known" if covariates else "")
        elif not (st[sel] == 1).any() and reason is None:
            reason = f"no CNS progression in {lab}: {label} not estimable"
    if reason is None and covariates:
        aliased = aliased_columns(np.column_stack([np.ones(len(t)), X]), ["(Intercept)", *names])
        if aliased:
            reason = (f"{', '.join(aliased)} aliased with the group or the other covariates (constant, or "
                      f"constant within each group): no {label}")
    terms = {nm: {"coef": None, "se": None, ratio: None, f"{ratio}_ci": [None, None], "p": None} for nm in names}
    if reason is None:
        if kind == "fine_gray":
            model = competing_risks.fine_gray(t, st, X, names, 1, conf_level)
            ratios, lower, upper = model.shr, model.lower, model.upper
            reason = model.reason
        else:
            model = competing_risks.cause_specific_cox(t, st, X, names, 1, conf_level)
            ratios, lower, upper = model.hr, model.hr_lower, model.hr_upper
            reason = model.reason
        if reason is None:
            terms = {nm: {"coef": finite_or_none(model.coef[i]), "se": finite_or_none(model.se[i]),
                          ratio: finite_or_none(ratios[i]),
                          f"{ratio}_ci": [finite_or_none(lower[i]), finite_or_none(upper[i])],
                          "p": finite_or_none(model.p[i])}
                     for i, nm in enumerate(names)}
    if covariates:
        block["terms"] = terms
    else:
        block.update(terms[contrast])
    block["reason"] = reason
    return block


WEIGHTED_KM = ("Kaplan-Meier weighted by the stabilised IPTW weights (survfit(..., weights = w)); CI "
               "log-transformed from the infinitesimal-jackknife (robust) variance, as survfit reports it")
WEIGHTED_COX = ("Cox proportional hazards weighted by the stabilised IPTW weights, Efron ties, robust "
                "(sandwich) SE, Wald test and CI (coxph(Surv ~ group, weights = w, robust = TRUE))")


def _summary_dict(summary: weighting.WeightSummary) -> dict:
    return {"n": summary.n, "sum": summary.sum, "mean": finite_or_none(summary.mean),
            "min": finite_or_none(summary.minimum), "q1": finite_or_none(summary.q1),
            "median": finite_or_none(summary.median), "q3": finite_or_none(summary.q3),
            "max": finite_or_none(summary.maximum), "effective_n": summary.effective_n}


def analyse_weighting(patients: pd.DataFrame, time_to_event: pd.DataFrame, config: dict) -> dict:
    """Inverse probability of treatment weighting (statistics.weighting: iptw) for PFS and OS: the
    propensity of the second group given the configured covariates (logistic regression), stabilised
    weights (truncated at statistics.weight_trim), their summary per group (never per patient), weighted
    Kaplan-Meier medians and the weighted Cox HR with robust CI and P. "not requested" when weighting is
    none; a reason where the propensity model does not exist (separation, an empty group)."""
    labels = _labels(config)
    statistics = config["statistics"]
    method = statistics["weighting"]
    if method == "none":
        return {"weighting": "none", "status": "not requested", "test": None,
                "reason": "statistics.weighting is none"}
    conf_level = statistics["conf_level"]
    trim = statistics["weight_trim"]
    covariates = list(statistics["covariates"])
    _require(patients, ["record_id", "group", *covariates], "patients")
    group = _group_codes(patients, labels, "patients")
    treated = (group == labels[1]).to_numpy(dtype=float)
    in_pair = (group.isin(labels[:2])).to_numpy()
    Xc, names = _design(patients, covariates)
    complete = in_pair & ~np.isnan(Xc).any(axis=1)
    result: dict[str, Any] = {
        "weighting": method, "status": "done", "test": WEIGHTED_COX, "conf_level": conf_level,
        "covariates": covariates,
        "indicated_group": labels[1], "reference_group": labels[0],
        "n": int(in_pair.sum()), "excluded_missing_covariates": int((in_pair & ~complete).sum()),
    }
    model = weighting.propensity_score(treated[complete], Xc[complete], names)
    result["propensity_model"] = {
        "method": model.method, "outcome": f"P({labels[1]} | covariates)", "n": model.n,
        "terms": {nm: {"coef": finite_or_none(model.coef[i]), "se": finite_or_none(model.se[i]),
                       "z": finite_or_none(model.z[i]), "p": finite_or_none(model.p[i])}
                  for i, nm in enumerate(model.names)},
        "deviance": finite_or_none(model.deviance), "null_deviance": finite_or_none(model.null_deviance),
        "converged": model.converged, "iterations": model.iterations,
        "separation": list(model.separated), "reason": model.reason,
    }
    if model.reason is not None:
        result.update(status="not estimable", reason=model.reason)
        return result
    stabilised = weighting.stabilised_weights(treated[complete], model.score, trim)
    weights = np.full(len(patients), np.nan)
    weights[complete] = stabilised.weights
    used_group = group[complete]
    result["weights"] = {
        "method": stabilised.method, "trim": None if stabilised.trim is None else list(stabilised.trim),
        "bounds": None if stabilised.bounds is None else list(stabilised.bounds),
        "truncated_low": stabilised.truncated_low, "truncated_high": stabilised.truncated_high,
        "marginal": stabilised.marginal,
        "overall": _summary_dict(weighting.weight_summary(stabilised.weights)),
        "groups": {g: _summary_dict(weighting.weight_summary(stabilised.weights[np.asarray(used_group == g)]))
                   for g in labels[:2]},
    }
    result["balance"] = _weighted_balance(patients[complete], used_group, labels, stabilised.weights,
                                          config.get("table1", ()))
    ids = pd.Index(patients["record_id"])
    result["endpoints"] = {}
    for name in ("pfs", "os"):
        data = _time_to_event(name, patients, time_to_event)
        w = weights[ids.get_indexer(data["record_id"])]
        keep = ~np.isnan(w)
        time = data["months"].to_numpy(dtype=float)[keep]
        event = data["status"].to_numpy(dtype=float)[keep]
        g = _group_codes(data, labels, "patients")[keep]
        w = w[keep]
        groups = {}
        for lab in labels[:2]:
            sel = np.asarray(g == lab)
            km = survival.kaplan_meier(time[sel], event[sel], conf_level, weights=w[sel])
            med = survival.km_median(km)
            groups[lab] = {"n": int(sel.sum()), "events": int(event[sel].sum()),
                           "weighted_n": float(w[sel].sum()), "weighted_events": float((w * event)[sel].sum()),
                           "median": med.estimate, "median_ci": [med.lower, med.upper]}
        x = np.asarray(g == labels[1], dtype=float)
        cox = survival.cox_regression(time, event, x, [f"{labels[1]} vs {labels[0]}"], conf_level,
                                      weights=w, robust=True)
        ok = cox.reason is None and not cox.infinite[0]
        result["endpoints"][name] = {
            "unit": "months", "km_method": WEIGHTED_KM, "groups": groups,
            "cox": {"test": WEIGHTED_COX, "contrast": f"{labels[1]} vs {labels[0]}", "n": cox.n,
                    "events": cox.events,
                    "coef": finite_or_none(cox.coef[0]) if ok else None,
                    "robust_se": finite_or_none(cox.se[0]) if ok else None,
                    "hr": finite_or_none(cox.hr[0]) if ok else None,
                    "hr_ci": [finite_or_none(cox.hr_lower[0]), finite_or_none(cox.hr_upper[0])] if ok
                    else [None, None],
                    "z": finite_or_none(cox.z[0]) if ok else None, "p": finite_or_none(cox.p[0]) if ok else None,
                    "reason": cox.reason},
        }
    return result


# An SMD below this is commonly read as balance (Austin, Stat Med 2009;28:3083-107); drawn on the love plot.
BALANCE_THRESHOLD = 0.1


def _weighted_balance(patients: pd.DataFrame, group: pd.Series, labels: list[str], weights: np.ndarray,
                      rows) -> dict:
    """Balance of each Table 1 row (config key table1) among the weighted patients (those with every
    covariate): the SMD unweighted and weighted by the stabilised weights (stats.balance, as tableone's
    svyCreateTableOne), and per group the weighted mean and SD (continuous) or weighted percent per level
    (categorical); missing values left out. Summaries per group only, never per patient."""
    _require(patients, [row["variable"] for row in rows], "patients")
    inside = group.isin(labels[:2]).to_numpy()
    second = (group == labels[1]).to_numpy()
    variables = []
    for row in rows:
        column, kind = row["variable"], row["type"]
        values = patients[column].reset_index(drop=True)
        entry: dict[str, Any] = {"variable": column, "label": row["label"], "type": kind}
        if kind == "continuous":
            values = pd.to_numeric(values.astype(object), errors="coerce").astype(float)
            x = values.to_numpy()
            groups = {}
            for g in labels[:2]:
                sel = (group == g).to_numpy() & ~np.isnan(x) & (weights > 0)
                w, n = weights[sel], int(sel.sum())
                mean = float(np.dot(w, x[sel]) / w.sum()) if n else None
                # svyvar's n / (n - 1) correction, as stats.balance
                sd = (float(np.sqrt(np.dot(w, (x[sel] - mean) ** 2) / w.sum() * n / (n - 1))) if n > 1
                      else None)
                groups[g] = {"n": n, "weighted_n": float(w.sum()), "weighted_mean": mean, "weighted_sd": sd}
        else:
            levels = _categorical_levels(values)
            codes = _level_codes(values, levels)
            values = pd.Series(pd.Categorical.from_codes(codes, levels))
            entry["levels"] = levels
            groups = {}
            for g in labels[:2]:
                sel = (group == g).to_numpy() & (codes >= 0)
                totals = np.bincount(codes[sel], weights=weights[sel], minlength=len(levels))
                total = float(totals.sum())
                groups[g] = {"n": int(sel.sum()), "weighted_n": total,
                             "weighted_percent": {lv: 100.0 * float(t) / total if total > 0 else None
                                                  for lv, t in zip(levels, totals)}}
        before = balance.standardized_mean_difference(values[inside], second[inside], kind=kind)
        after = balance.standardized_mean_difference(values[inside], second[inside], weights[inside], kind=kind)
        entry.update({"smd_unweighted": finite_or_none(before.smd), "smd_weighted": finite_or_none(after.smd),
                      "smd_method": after.method, "smd_reason": after.reason or before.reason, "groups": groups})
        variables.append(entry)
    after = [v["smd_weighted"] for v in variables if v["smd_weighted"] is not None]
    before = [v["smd_unweighted"] for v in variables if v["smd_unweighted"] is not None]
    return {"population": "patients with every covariate of the propensity model (the weighted patients)",
            "threshold": BALANCE_THRESHOLD,
            "max_smd_unweighted": max(before) if before else None,
            "max_smd_weighted": max(after) if after else None,
            "variables": variables}


def analyse_progression(patients: pd.DataFrame, progression_patterns: pd.DataFrame, config: dict) -> dict:
    """Progression patterns among the patients whose PFS event is radiological progression: count, n,
    percent and P per category."""
    labels = _labels(config)
    test = config["statistics"]["categorical_test"]
    _require(progression_patterns, ["record_id", "group", *PROGRESSION_PATTERNS], "progression_patterns")
    _require(patients, ["group"], "patients")
    group = _group_codes(progression_patterns, labels, "progression_patterns")
    all_group = _group_codes(patients, labels, "patients")
    progressed = {g: int((group == g).sum()) for g in labels}
    patterns = {
        key: {"label": label, **_count_block(progression_patterns[key], group, labels, test)}
        for key, label in PROGRESSION_PATTERNS.items()
    }
    n_all = {g: int((all_group == g).sum()) for g in labels}
    progressed_test = categorical.compare_proportions(
        [[progressed[g], n_all[g] - progressed[g]] for g in labels], test
    )
    return {
        "test": _configured_test_name(test),
        "progressed": progressed,
        "patients": n_all,
        "progressed_comparison": _test_dict(progressed_test),
        "patterns": patterns,
        "assumption": PATTERN_ASSUMPTION,
    }


def _categorical_levels(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories]
    present = values.dropna().unique()
    try:
        return [str(v) for v in sorted(present)]
    except TypeError:
        return sorted(str(v) for v in present)


def _level_codes(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Position of each value among `levels` (-1 when missing)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        as_text = values.cat.rename_categories([str(c) for c in values.cat.categories])
        return as_text.cat.set_categories(levels).cat.codes.to_numpy().astype(np.int64)
    text = values.map(lambda v: str(v), na_action="ignore")
    return pd.Categorical(text, categories=levels).codes.astype(np.int64)


def _smd(values: pd.Series, group: pd.Series, labels: list[str], kind: str) -> dict:
    """The standardized mean difference of the second group against the reference (missing values out)."""
    inside = group.isin(labels[:2]).to_numpy()
    result = balance.standardized_mean_difference(values[inside].reset_index(drop=True),
                                                  (group[inside] == labels[1]).to_numpy(), kind=kind)
    return {"smd": finite_or_none(result.smd), "smd_method": result.method, "smd_reason": result.reason}


def _no_test(kind: str) -> dict:
    return {"p": None, "test": "none", "statistic": None, **({} if kind == "continuous" else {"df": None}),
            "reason": "no test configured for this row (table1 test: none)"}


def analyse_baseline(patients: pd.DataFrame, config: dict) -> dict:
    """Table 1: the rows of config key table1, overall and per group; continuous variables as median (IQR)
    with the Wilcoxon rank-sum P, categorical as n (%) with the row's test (by default the configured
    categorical test; levels empty in every group are left out of the test), the missing counts, and the
    standardized mean difference (stats.balance, as tableone)."""
    labels = _labels(config)
    default_test = config["statistics"]["categorical_test"]
    rows = config["table1"]
    _require(patients, ["group", *(row["variable"] for row in rows)], "patients")
    group = _group_codes(patients, labels, "patients")
    variables = []
    for row in rows:
        column, label, kind = row["variable"], row["label"], row["type"]
        test = row.get("test", "default")
        values = patients[column]
        missing = {"overall": int(values.isna().sum())}
        missing.update({g: int(values[group == g].isna().sum()) for g in labels})
        entry: dict[str, Any] = {"variable": column, "label": label, "type": kind}
        if test != "default":
            entry["test_configured"] = test
        if kind == "continuous":
            numbers = pd.to_numeric(values.astype(object), errors="coerce").astype(float)

            def summary(v):
                s = categorical.summarise_continuous(v)
                return {"n": s.n, "median": s.median, "q1": s.q1, "q3": s.q3,
                        "min": s.minimum, "max": s.maximum}

            entry["overall"] = summary(numbers.to_numpy())
            entry["groups"] = {g: summary(numbers[group == g].to_numpy()) for g in labels}
            if test == "none":
                compared = _no_test(kind)
            else:
                result = categorical.wilcoxon_rank_sum(
                    numbers[group == labels[0]].to_numpy(), numbers[group == labels[1]].to_numpy()
                )
                compared = {"p": finite_or_none(result.p), "test": result.test,
                            "statistic": finite_or_none(result.statistic), "reason": result.reason}
            entry.update({"missing": missing, **compared})
            entry.update(_smd(numbers, group, labels, kind))
        else:
            levels = _categorical_levels(values)
            entry["levels"] = levels
            # counts per group and level from integer codes (no per-value string comparisons)
            codes = _level_codes(values, levels)
            valid = codes >= 0
            k = len(levels)
            by_group = np.bincount(group.cat.codes.to_numpy()[valid] * k + codes[valid],
                                   minlength=len(labels) * k).reshape(len(labels), k)

            def counts(row, levels=levels):
                n = int(row.sum())
                return {lv: {"count": int(c), "n": n, "percent": 100.0 * int(c) / n if n else None}
                        for lv, c in zip(levels, row)}

            entry["overall"] = counts(by_group.sum(axis=0))
            entry["groups"] = {g: counts(by_group[i]) for i, g in enumerate(labels)}
            used = by_group.sum(axis=0) > 0
            if test == "none":
                compared = _no_test(kind)
            else:
                result = categorical.compare_proportions(by_group[:, used], default_test if test == "default" else test)
                compared = _test_dict(result)
            entry.update({"missing": missing, **compared})
            entry.update(_smd(pd.Series(pd.Categorical.from_codes(codes, levels)), group, labels, kind))
        variables.append(entry)
    return {
        "test_categorical": _configured_test_name(default_test),
        "test_continuous": "Wilcoxon rank-sum",
        "overall": {"n": int(len(patients))},
        "groups": {g: {"n": int((group == g).sum())} for g in labels},
        "variables": variables,
    }


def analyse_endpoint(
    name: str,
    patients: pd.DataFrame,
    time_to_event: pd.DataFrame | None,
    progression_patterns: pd.DataFrame | None,
    config: dict,
) -> dict:
    """The result of one endpoint (the content of results/endpoints/<name>.json).

    config: at least `groups` (label -> code, reference first), `statistics` (the keys the endpoint
    uses) and, for pfs, os and cns, `endpoints.<name>`; the rule passes only what the endpoint uses.
    """
    if name == "metastases":
        return analyse_metastases(patients, config)
    if name == "response":
        return analyse_response(patients, config)
    if name in ("pfs", "os"):
        return analyse_survival(name, patients, time_to_event, config)
    if name == "cns":
        return analyse_cns(patients, time_to_event, config)
    if name == "progression":
        return analyse_progression(patients, progression_patterns, config)
    if name == "baseline":
        return analyse_baseline(patients, config)
    if name in TREATMENT_DEFINITIONS:
        return analyse_treatment_course(name, patients, time_to_event, config)
    if name == "tumor_size":
        return analyse_tumor_size(patients, config)
    if name == "weighting":
        return analyse_weighting(patients, time_to_event, config)
    raise ValueError(f"unknown endpoint {name!r}; known: {', '.join(ENDPOINTS)}")


# The time-to-event table's columns the endpoints use (of their rows, catalog.TIME_TO_EVENT_ROWS): the reasons, days
# and dates of a million patients' six endpoints are never read as text.
TIME_TO_EVENT_COLUMNS = ("record_id", "endpoint", "months", "status")
# The columns of the derived patients table each endpoint reads whatever its config (an optional one only where
# the table has it); patient_columns adds those its config names. A job reads no other column: an analysis that
# needs one fails (a missing column), and a variant compares exactly these with the primary analysis's.
PATIENT_COLUMNS = {
    "metastases": ("group", *(f"met_{site}" for site in {**METASTATIC_SITES, **METASTATIC_COMPOSITES})),
    "response": ("group", "best_overall_response", "responder", "disease_control", "measurable_disease"),
    "pfs": ("record_id", "group"),
    "os": ("record_id", "group"),
    "cns": ("record_id", "group"),
    "progression": ("group",),
    "baseline": ("group",),
    "dor": ("record_id", "group"),
    "ttd": ("record_id", "group", "criz_end_reason", "criz_after_progression_days", "criz_after_progression_months",
            "criz_ongoing"),
    "ttnt": ("record_id", "group"),
    "tumor_size": ("group", "best_sld_change_percent", "tumor_size_excluded"),
    "weighting": ("record_id", "group"),
}


def patient_columns(endpoint: str, settings: dict) -> tuple[str, ...]:
    """The columns of the derived patients table ``endpoint`` reads under ``settings`` (its config, as the rule
    passes it): PATIENT_COLUMNS, the variables of table1 (baseline, weighting), the covariates (pfs, os, cns,
    weighting) and the columns of the subgroups (pfs, os); none for weighting when it is not requested."""
    statistics = settings.get("statistics", {})
    if endpoint == "weighting" and statistics.get("weighting") == "none":
        return ()
    configured = [
        *(row["variable"] for row in settings.get("table1", ())),
        *statistics.get("covariates", ()),
        *(c for name in statistics.get("subgroups", ()) if name in SUBGROUPS for c in SUBGROUPS[name].columns),
    ]
    return tuple(dict.fromkeys([*PATIENT_COLUMNS[endpoint], *configured]))


Tables = tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]


def _derived(inputs: dict, settings: dict) -> Tables:
    """The derived tables the endpoints of ``settings`` (endpoint -> its config) read, each file read once: the
    patients with the columns they read (patient_columns, those the table has); the time-to-event rows of those
    endpoints (TIME_TO_EVENT_ROWS) with the columns they use; the progression patterns (None for a table no
    endpoint of them reads)."""
    import pyarrow.parquet as pq

    tables = {table for endpoint in settings for table in ENDPOINT_TABLES[endpoint]}
    present = pq.read_schema(inputs["patients"]).names
    wanted = {c for endpoint, s in settings.items() for c in patient_columns(endpoint, s)}
    patients = pd.read_parquet(inputs["patients"], columns=[c for c in present if c in wanted])
    time_to_event = None
    if "time_to_event" in tables:
        rows = sorted({e for endpoint in settings for e in TIME_TO_EVENT_ROWS.get(endpoint, ())})
        present = pq.read_schema(inputs["time_to_event"]).names
        columns = [c for c in TIME_TO_EVENT_COLUMNS if c in present]
        time_to_event = pd.read_parquet(inputs["time_to_event"], columns=columns,
                                        filters=[("endpoint", "in", rows)] if "endpoint" in present else None)
    patterns = pd.read_parquet(inputs["progression_patterns"]) if "progression_patterns" in tables else None
    return patients, time_to_event, patterns


def _endpoint_data(endpoint: str, tables: Tables, settings: dict) -> Tables:
    """What ``endpoint`` reads of ``tables`` (``_derived``): the patients' columns of patient_columns, its rows of
    the time-to-event table, the progression patterns (None for a table it does not read)."""
    patients, time_to_event, patterns = tables
    reads = ENDPOINT_TABLES[endpoint]
    patients = patients[[c for c in patient_columns(endpoint, settings) if c in patients.columns]]
    if "time_to_event" in reads and "endpoint" in time_to_event.columns:
        rows = time_to_event["endpoint"].isin(TIME_TO_EVENT_ROWS[endpoint]).to_numpy()
        if not rows.all():  # rule endpoint reads only its rows: no copy of a million of them
            time_to_event = time_to_event[rows].reset_index(drop=True)
    return (patients, time_to_event if "time_to_event" in reads else None,
            patterns if "progression_patterns" in reads else None)


def _identical(a: pd.DataFrame | None, b: pd.DataFrame | None) -> bool:
    """Whether two tables hold exactly the same data: column names in order, index, dtypes (a category's
    categories in order), values; a missing value equals a missing value, and a float zero's sign counts."""
    if a is None or b is None:
        return a is b
    if list(a.columns) != list(b.columns) or not a.index.equals(b.index):
        return False
    for column in a.columns:
        x, y = a[column], b[column]
        if x.dtype != y.dtype:
            return False
        if isinstance(x.dtype, pd.CategoricalDtype):
            # dtypes of unordered categories compare equal in any order; the analyses list them in their order
            categories = x.cat.categories
            same = (categories.dtype == y.cat.categories.dtype and categories.equals(y.cat.categories)
                    and np.array_equal(x.cat.codes.to_numpy(), y.cat.codes.to_numpy()))
        elif isinstance(x.dtype, np.dtype) and x.dtype.kind == "f":
            u, v = x.to_numpy(), y.to_numpy()
            same = np.array_equal(u, v, equal_nan=True) and np.array_equal(np.signbit(u), np.signbit(v))
        else:
            same = x.equals(y)
        if not same:
            return False
    return True


def run(inputs: dict, outputs: dict, *, endpoint: str, settings: dict) -> None:
    """What rule ``endpoint`` runs: the derived tables of ``inputs`` (ENDPOINT_TABLES) -> ``outputs["result"]``,
    the JSON result of ``endpoint``."""
    data = _endpoint_data(endpoint, _derived(inputs, {endpoint: settings}), settings)
    write_json(analyse_endpoint(endpoint, *data, settings), outputs["result"])


def run_every(inputs: dict, outputs: dict, *, settings: dict) -> str:
    """What rule ``sensitivity_endpoints`` runs: the derived tables of ``inputs``, read once -> the JSON result
    of every endpoint of ``settings`` (endpoint -> the config it reads), to ``outputs[endpoint]``. An endpoint
    whose primary analysis's result is among the inputs (``primary_input(endpoint)``: the same config) gets a
    copy of it when the primary analysis's derived tables are not among the inputs (the variant's are the
    primary analysis's), or when they are (``primary_input(table)``) and what the endpoint reads of them
    (``_endpoint_data``) is identical to what it reads of the variant's. Returns the line for the log: which
    endpoints were copied and which analysed."""
    shared = [endpoint for endpoint in settings if primary_input(endpoint) in inputs]
    primary_files = {t: inputs[primary_input(t)] for t in DERIVED_TABLES if primary_input(t) in inputs}
    # the variant's tables: what every endpoint reads when some are compared, else what the analysed ones read
    read = {e: s for e, s in settings.items() if primary_files or e not in shared}
    tables = _derived(inputs, read) if read else None
    copied = shared
    if primary_files and shared:
        primary = _derived(primary_files, {e: settings[e] for e in shared})
        copied = [e for e in shared if all(_identical(a, b) for a, b in zip(
            _endpoint_data(e, tables, settings[e]), _endpoint_data(e, primary, settings[e])))]
    copy_primary(inputs, {endpoint: outputs[endpoint] for endpoint in copied})
    analysed = [endpoint for endpoint in settings if endpoint not in copied]
    for endpoint in analysed:
        data = _endpoint_data(endpoint, tables, settings[endpoint])
        write_json(analyse_endpoint(endpoint, *data, settings[endpoint]), outputs[endpoint])
    return (f"copied from the primary analysis (the same config and derived data): {', '.join(copied) or 'none'}; "
            f"analysed: {', '.join(analysed) or 'none'}")
