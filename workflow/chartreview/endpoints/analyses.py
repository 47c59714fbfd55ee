"""One analysis per endpoint (results/endpoints/<name>.json); the manuscript tables are in tables.py.

analyse_endpoint(name, ...) turns the derived tables (results/derived/*.parquet) into the result of one
endpoint: metastases, response, pfs, os, cns, progression or baseline (Table 1). Numbers keep full
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

from chartreview.core.catalog import ENDPOINTS, METASTATIC_COMPOSITES, METASTATIC_SITES, PROGRESSION_PATTERNS, RESPONSES
from chartreview.core.errors import InputError
from chartreview.core.result_files import finite_or_none, time_key, write_json
from chartreview.endpoints.time_to_event import summarise_time_to_event
from chartreview.stats import categorical, competing_risks

__all__ = [
    "EndpointError",
    "analyse_endpoint",
]

# Table 1: column of the derived patients table -> (label, type)
BASELINE_VARIABLES = {
    "age": ("Age at crizotinib start, years", "continuous"),
    "sex": ("Sex", "categorical"),
    "smoking_status": ("Smoking status", "categorical"),
    "ecog_ps": ("ECOG performance status", "categorical"),
    "histology": ("Histology", "categorical"),
    "stage": ("Stage", "categorical"),
    "criz_line": ("Line of crizotinib", "categorical"),
}
CIF_METHOD = (
    "Aalen-Johansen cumulative incidence with Aalen's variance (cmprsk::cuminc); CI log(-log) transformed"
)
PATTERN_ASSUMPTION = (
    "The published label of the 11/16 vs 17/37 comparison is lost; this workflow reads it as "
    "intrathoracic-only progression at first progression (an assumption)."
)


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


def analyse_response(patients: pd.DataFrame, config: dict) -> dict:
    """Best overall response distribution; ORR and DCR over all patients of the group with
    Clopper-Pearson CIs; P of the ORR comparison (and of DCR and the BOR distribution)."""
    labels = _labels(config)
    statistics = config["statistics"]
    test, conf_level = statistics["categorical_test"], statistics["conf_level"]
    _require(patients, ["group", "best_overall_response", "responder", "disease_control"], "patients")
    group = _group_codes(patients, labels, "patients")
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
        "denominator": "all patients of the group (non-evaluable patients count as non-responders)",
        "groups": groups,
        "dcr_comparison": _test_dict(dcr),
        "bor_comparison": {
            **_test_dict(bor_test),
            "categories": [RESPONSES[i] for i in bor_columns],
        },
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
    """PFS or OS: Kaplan-Meier, medians, landmark rates, log-rank, Cox (time_to_event.summarise_time_to_event)."""
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
    )
    return {"endpoint": name, **result}


def _cif_curve(cif: competing_risks.CumulativeIncidence) -> dict:
    return {
        "time": [float(t) for t in cif.time],
        "cif": [float(v) for v in cif.estimate],
        "lower": [finite_or_none(v) for v in cif.lower],
        "upper": [finite_or_none(v) for v in cif.upper],
        "variance": [float(v) for v in cif.variance],
    }


def _at_risk(time: np.ndarray) -> dict:
    """Patients still followed (time >= t) at every distinct time, censored and competing times included:
    the numbers at risk under the cumulative-incidence plot."""
    ordered = np.sort(time)
    distinct = np.unique(ordered)
    n_risk = ordered.size - np.searchsorted(ordered, distinct, side="left")
    return {"time": [float(t) for t in distinct], "n_risk": [int(n) for n in n_risk]}


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
            "at_risk": _at_risk(time[sel]),
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
            "test": "Fine-Gray proportional subdistribution hazards, Wald test (cmprsk::crr)",
            "contrast": contrast,
            **fine_gray,
            "reason": fg_reason,
        },
    }


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


def analyse_baseline(patients: pd.DataFrame, config: dict) -> dict:
    """Table 1: overall and per group; continuous variables as median (IQR) with the Wilcoxon rank-sum
    P, categorical as n (%) with the configured test (levels empty in every group are left out of the
    test), and the missing counts."""
    labels = _labels(config)
    test = config["statistics"]["categorical_test"]
    _require(patients, ["group", *BASELINE_VARIABLES], "patients")
    group = _group_codes(patients, labels, "patients")
    variables = []
    for column, (label, kind) in BASELINE_VARIABLES.items():
        values = patients[column]
        missing = {"overall": int(values.isna().sum())}
        missing.update({g: int(values[group == g].isna().sum()) for g in labels})
        entry: dict[str, Any] = {"variable": column, "label": label, "type": kind}
        if kind == "continuous":
            numbers = pd.to_numeric(values.astype(object), errors="coerce").astype(float)

            def summary(v):
                s = categorical.summarise_continuous(v)
                return {"n": s.n, "median": s.median, "q1": s.q1, "q3": s.q3,
                        "min": s.minimum, "max": s.maximum}

            entry["overall"] = summary(numbers.to_numpy())
            entry["groups"] = {g: summary(numbers[group == g].to_numpy()) for g in labels}
            result = categorical.wilcoxon_rank_sum(
                numbers[group == labels[0]].to_numpy(), numbers[group == labels[1]].to_numpy()
            )
            entry.update({"missing": missing, "p": finite_or_none(result.p), "test": result.test,
                          "statistic": finite_or_none(result.statistic), "reason": result.reason})
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
            result = categorical.compare_proportions(by_group[:, used], test)
            entry.update({"missing": missing, **_test_dict(result)})
        variables.append(entry)
    return {
        "test_categorical": _configured_test_name(test),
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
    raise ValueError(f"unknown endpoint {name!r}; known: {', '.join(ENDPOINTS)}")


def _derived(inputs: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (pd.read_parquet(inputs["patients"]), pd.read_parquet(inputs["time_to_event"]),
            pd.read_parquet(inputs["progression_patterns"]))


def run(inputs: dict, outputs: dict, *, endpoint: str, settings: dict) -> None:
    """What rule ``endpoint`` runs: the derived tables of ``inputs`` (patients, time_to_event,
    progression_patterns) -> ``outputs["result"]``, the JSON result of ``endpoint``."""
    write_json(analyse_endpoint(endpoint, *_derived(inputs), settings), outputs["result"])


def run_every(inputs: dict, outputs: dict, *, settings: dict) -> None:
    """What rule ``sensitivity_endpoints`` runs: the derived tables of ``inputs``, read once -> the JSON result
    of every endpoint of ``settings`` (endpoint -> the config it reads), to ``outputs[endpoint]``."""
    tables = _derived(inputs)
    for endpoint, endpoint_settings in settings.items():
        write_json(analyse_endpoint(endpoint, *tables, endpoint_settings), outputs[endpoint])
