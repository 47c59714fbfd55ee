"""PFS and OS results: Kaplan-Meier per group, log-rank, Cox unadjusted/adjusted and by subgroup,
assembled as the endpoint result.

- ``SUBGROUPS``: the subgroup variables of the forest plot and how each one's levels are read from
  the derived patients table.
- ``subgroup_hazard_ratios``: per subgroup level the Cox HR (Efron) of the second group against
  the reference, with the Wald P of the group x subgroup interaction.
- ``summarise_time_to_event``: the whole content of results/endpoints/pfs.json and os.json (and of any
  time-to-event endpoint analysed the same way): Kaplan-Meier, log-rank, Cox with its test of
  proportional hazards (cox.zph), subgroups and the restricted mean survival time.

The statistics are the kernels of ``survival`` (R survival parity to 1e-6); this module only
selects the data they run on and turns their results into strict JSON (None where a value does
not exist, with a ``reason``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from chartreview.core.numbers import finite_or_none
from chartreview.core.result_files import time_key
from chartreview.stats.counting import check_time_to_event, group_codes
from chartreview.stats.proportional_hazards import cox_zph, zph_smooth
from chartreview.stats.restricted_mean import common_follow_up, restricted_mean, rmst_difference, rmst_ratio
from chartreview.stats.survival import (
    CoxModel,
    KaplanMeier,
    cox_regression,
    kaplan_meier,
    km_at,
    km_median,
    logrank_test,
    wald_test,
)

LOGRANK_TEST = "log-rank test (survdiff, rho = 0)"
COX_TEST = "Cox proportional hazards, Efron ties, Wald test and Wald confidence interval"
INTERACTION_TEST = "Wald test of the group x subgroup interaction term (Cox, Efron ties)"
PH_TEST = ("score test of proportional hazards on the scaled Schoenfeld residuals (survival::cox.zph, "
           "transform = \"km\", terms = TRUE; Grambsch & Therneau 1994)")
PH_SMOOTH = ("natural cubic spline (df = 4) fitted to the scaled Schoenfeld residuals against the "
             "Kaplan-Meier-transformed time, with a +-2 SE band (as survival's plot.cox.zph)")
RMST_METHOD = ("restricted mean survival time: area under the Kaplan-Meier curve up to tau, SE as "
               "print(survfit, rmean = tau), normal CI; difference with summed variances and ratio on "
               "the log scale by the delta method, z tests (survRM2)")
DEFAULT_TAU = "the smallest of the groups' largest follow-up times (default)"
# Residuals written for the residual plot; the test and the smooth use them all. Beyond this many
# events an evenly spaced subset (in time order) keeps the result file small.
PH_RESIDUALS_SHOWN = 2000


# ---------------------------------------------------------------------------------------------
# Subgroups
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubgroupHazardRatio:
    """HR of the second group against the reference within one level of a subgroup variable."""

    variable: str
    level: str
    n: int
    events: int
    group_n: dict
    group_events: dict
    hr: float | None
    hr_lower: float | None
    hr_upper: float | None
    p: float | None
    interaction_p: float | None
    reason: str | None = None
    interaction_reason: str | None = None


@dataclass(frozen=True)
class SubgroupDefinition:
    """How a subgroup variable's levels are read from the derived patients table."""

    label: str
    levels: tuple[str, ...]
    read: Callable[[pd.DataFrame], pd.Series]  # level label per row, NA when unknown
    columns: tuple[str, ...]  # the columns ``read`` may read (a fallback's too): those the job reads


def _from_flag(column: str, true_level: str, false_level: str, fallback=None):
    def read(d: pd.DataFrame) -> pd.Series:
        if column in d:
            flag = d[column].astype("boolean")
        elif fallback is not None:
            flag = fallback(d)
        else:
            raise ValueError(f"subgroup needs column '{column}', which the data lacks")
        return flag.map({True: true_level, False: false_level}).astype(object)
    return read


def _line(d: pd.DataFrame) -> pd.Series:
    line = d["criz_line"].astype(object)
    return line.where(line.isna(), np.where(line == "First", "first", "later"))


def _ecog_from_ps(d: pd.DataFrame) -> pd.Series:
    ps = pd.to_numeric(d["ecog_ps"].astype(object), errors="coerce")
    return (ps >= 2).astype("boolean").mask(ps.isna())


def _age_lt_65_from_age(d: pd.DataFrame) -> pd.Series:
    age = pd.to_numeric(d["age"], errors="coerce")
    return (age < 65).astype("boolean").mask(age.isna())


SUBGROUPS: dict[str, SubgroupDefinition] = {
    "sex": SubgroupDefinition("Sex", ("Male", "Female"), lambda d: d["sex"].astype(object), ("sex",)),
    "age_lt_65": SubgroupDefinition("Age", ("<65", ">=65"),
                                    _from_flag("age_lt_65", "<65", ">=65", _age_lt_65_from_age),
                                    ("age_lt_65", "age")),
    "ecog": SubgroupDefinition("ECOG performance status", ("0-1", "2+"),
                               _from_flag("ecog_2plus", "2+", "0-1", _ecog_from_ps), ("ecog_2plus", "ecog_ps")),
    "line": SubgroupDefinition("Crizotinib line", ("first", "later"), _line, ("criz_line",)),
    "brain_metastases": SubgroupDefinition("Baseline brain metastases", ("yes", "no"),
                                           _from_flag("brain_metastases", "yes", "no"), ("brain_metastases",)),
}


def subgroup_hazard_ratios(time, event, group, subgroups: dict[str, pd.Series], *,
                           levels: Sequence, conf_level: float = 0.95) -> list[SubgroupHazardRatio]:
    """Per level of each subgroup variable, the Cox HR (Efron) of ``levels[1]`` vs ``levels[0]``
    fitted within the level, and the interaction P: the Wald P of the group x subgroup term(s) in
    ``coxph(Surv ~ group * subgroup)`` over the patients whose subgroup is known.

    ``subgroups`` maps a variable name to a Series (one level label per patient, NA when
    unknown) that is Categorical with the levels in display order.
    """
    time, event = check_time_to_event(time, event, group)
    levels, g = group_codes(group, levels)
    ref, other = levels[0], levels[1]
    out = []
    for variable, values in subgroups.items():
        categories = list(pd.Series(values).cat.categories)
        codes = pd.Series(values).cat.codes.to_numpy()
        known = codes >= 0
        present = np.flatnonzero(np.bincount(codes[known], minlength=len(categories)))
        inter_p, inter_reason = _interaction_p(time[known], event[known], g[known],
                                               codes[known], present, conf_level)
        for k, level in enumerate(categories):
            mask = codes == k
            counts = np.bincount(g[mask], minlength=len(levels))
            died = np.bincount(g[mask], weights=event[mask], minlength=len(levels))
            gn = {lab: int(counts[i]) for i, lab in enumerate(levels)}
            ge = {lab: int(died[i]) for i, lab in enumerate(levels)}
            hr = lo = hi = p = None
            reason = None
            empty = [lab for lab in (ref, other) if gn[lab] == 0]
            if empty:
                reason = f"no {' or '.join(empty)} patients with {variable} = {level}"
            else:
                sel = mask & np.isin(g, (0, 1))
                model = cox_regression(time[sel], event[sel], (g[sel] == 1).astype(float),
                                       [other], conf_level)
                if model.reason:
                    reason = model.reason
                elif not np.isfinite([model.hr[0], model.hr_lower[0], model.hr_upper[0]]).all():
                    reason = "hazard ratio not estimable"
                else:
                    hr, lo, hi, p = (float(model.hr[0]), float(model.hr_lower[0]),
                                     float(model.hr_upper[0]), float(model.p[0]))
            out.append(SubgroupHazardRatio(variable, str(level), int(mask.sum()),
                                           int(event[mask].sum()), gn, ge, hr, lo, hi, p,
                                           inter_p, reason, inter_reason))
    return out


def _interaction_p(time, event, g, codes: np.ndarray, present: np.ndarray, conf_level):
    """Wald P of the group x subgroup terms of coxph(Surv ~ group * subgroup); the first level
    present is the subgroup's reference (the P does not depend on that choice)."""
    if len(present) < 2:
        return None, "fewer than two subgroup levels present: no interaction test"
    keep = g <= 1
    time, event, g, codes = time[keep], event[keep], g[keep], codes[keep]
    is_other = (g == 1).astype(float)
    dummies = [(codes == k).astype(float) for k in present[1:]]
    X = np.column_stack([is_other, *dummies, *[is_other * dm for dm in dummies]])
    names = ["group", *[f"level:{k}" for k in present[1:]],
             *[f"group:level:{k}" for k in present[1:]]]
    model = cox_regression(time, event, X, names, conf_level)
    if model.reason:
        return None, model.reason
    _, _, p = wald_test(model, names[1 + len(dummies):])
    return p, None


# ---------------------------------------------------------------------------------------------
# pfs.json / os.json
# ---------------------------------------------------------------------------------------------
def _design(data: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Covariate columns as R's model.matrix: numbers and flags as is, categories as dummies
    against their first level (named ``column=level``); missing stays NaN."""
    cols, names = [], []
    for c in columns:
        if c not in data:
            raise ValueError(f"covariate '{c}' is not a column of the derived patients table")
        s = data[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or \
                pd.api.types.is_string_dtype(s.dtype):
            cats = list(s.astype("category").cat.categories)
            for lv in cats[1:]:
                cols.append(np.where(s.isna(), np.nan, (s == lv).astype(float)))
                names.append(f"{c}={lv}")
        else:
            cols.append(s.astype("Float64").to_numpy(dtype=float, na_value=np.nan))
            names.append(c)
    return np.column_stack(cols) if cols else np.empty((len(data), 0)), names


def _no_term() -> dict:
    return {"coef": None, "se": None, "hr": None, "hr_ci": [None, None], "z": None, "p": None}


def _term(model: CoxModel, i: int) -> dict:
    if model.reason or model.infinite[i]:
        return _no_term()
    return {"coef": finite_or_none(model.coef[i]), "se": finite_or_none(model.se[i]),
            "hr": finite_or_none(model.hr[i]),
            "hr_ci": [finite_or_none(model.hr_lower[i]), finite_or_none(model.hr_upper[i])],
            "z": finite_or_none(model.z[i]), "p": finite_or_none(model.p[i])}


def _curve(km: KaplanMeier) -> dict:
    def floats(a):
        return [finite_or_none(v) for v in a]
    return {"time": floats(km.time), "n_risk": [int(v) for v in km.n_risk],
            "n_event": [int(v) for v in km.n_event], "n_censor": [int(v) for v in km.n_censor],
            "survival": floats(km.survival), "std_err": floats(km.std_err),
            "lower": floats(km.lower), "upper": floats(km.upper)}


def _check_data(data: pd.DataFrame, labels: list[str]) -> None:
    missing = [c for c in ("group", "months", "status") if c not in data]
    if missing:
        raise ValueError(f"time-to-event data lacks column(s) {', '.join(missing)}")
    months = pd.to_numeric(data["months"], errors="coerce")
    if months.isna().any() or (months < 0).any() or np.isinf(months).any():
        raise ValueError("time-to-event data: 'months' must be a non-negative number in every row")
    if not data["status"].isin([0, 1]).all():
        bad = data.loc[~data["status"].isin([0, 1]), "status"].iloc[0]
        raise ValueError(f"time-to-event data: 'status' must be 0 or 1 for PFS/OS, found {bad!r}")
    unknown = set(data["group"].dropna().astype(str)) - set(labels)
    if unknown or data["group"].isna().any():
        raise ValueError(f"time-to-event data: group values {sorted(unknown)} (or missing) are "
                         f"not among the configured groups {labels}")


KM_METHOD = ("Kaplan-Meier (Greenwood variance, log-transformed CI); curve std_err on the cumulative-hazard scale "
             "(R survfit std.err)")


def kaplan_meier_comparison(time: np.ndarray, event: np.ndarray, group: pd.Categorical, labels: Sequence[str],
                            landmarks: Sequence[float], conf_level: float) -> dict:
    """Per group Kaplan-Meier (curve, median with CI, landmark rates) and the log-rank test: the part of
    every time-to-event result that the Kaplan-Meier panels read (``time`` sorted ascending)."""
    result: dict[str, Any] = {"unit": "months", "conf_level": conf_level, "method": KM_METHOD, "groups": {}}
    for label in labels:
        sel = np.asarray(group == label)
        km = kaplan_meier(time[sel], event[sel], conf_level)
        med = km_median(km)
        reason = None
        if km.n == 0:
            reason = f"no {label} patients"
        elif km.events == 0:
            reason = f"no events in {label}: median not reached"
        result["groups"][label] = {
            "n": km.n, "events": km.events, "median": med.estimate,
            "median_ci": [med.lower, med.upper],
            "rates": {time_key(r.time): {"estimate": r.estimate, "ci": [r.lower, r.upper]}
                      for r in km_at(km, landmarks)},
            "curve": _curve(km), "reason": reason}

    lr = logrank_test(time, event, group, levels=labels)
    result["logrank"] = {"test": LOGRANK_TEST, "chisq": finite_or_none(lr.chisq), "df": lr.df,
                         "p": finite_or_none(lr.p),
                         "observed": {lab: finite_or_none(v) for lab, v in zip(labels, lr.observed)},
                         "expected": {lab: finite_or_none(v) for lab, v in zip(labels, lr.expected)},
                         "reason": lr.reason}
    return result


REVERSE_KM = ("reverse Kaplan-Meier (censoring as the event, survfit(Surv(time, 1 - status) ~ group)); "
              "median with its log-transformed CI")


def follow_up(time: np.ndarray, status: np.ndarray, group: pd.Categorical, labels: Sequence[str],
              conf_level: float) -> dict:
    """Median follow-up by the reverse Kaplan-Meier method (Schemper & Smith, Control Clin Trials 1996), per
    group and overall, and the simple median of the observed follow-up of the patients alive (censored)."""
    def block(sel: np.ndarray) -> dict:
        km = kaplan_meier(time[sel], 1.0 - status[sel], conf_level)
        med = km_median(km)
        alive = time[sel & (status == 0)]
        return {"n": int(sel.sum()), "censored": int(alive.size), "median": med.estimate,
                "median_ci": [med.lower, med.upper],
                "median_observed_alive": float(np.median(alive)) if alive.size else None,
                "reason": None if alive.size else "no patient censored: follow-up not estimable"}
    return {"method": REVERSE_KM, "unit": "months", "conf_level": conf_level,
            "overall": block(np.ones(time.size, dtype=bool)),
            "groups": {label: block(np.asarray(group == label)) for label in labels}}
def _proportional_hazards(time, event, X, model: CoxModel, terms: dict[str, list[int]],
                          reason: str | None, residuals: bool = False) -> dict:
    """The cox.zph block of one Cox model; with ``residuals`` the group term's scaled Schoenfeld
    residuals and their smooth (the residual plot)."""
    block: dict[str, Any] = {"test": PH_TEST}
    reason = reason or model.reason
    test = None if reason else cox_zph(time, event, X, model.coef, terms)
    reason = reason or test.reason
    block["terms"] = {t: {"chisq": None if reason else finite_or_none(test.chisq[i]),
                          "df": len(cols), "p": None if reason else finite_or_none(test.p[i])}
                      for i, (t, cols) in enumerate(terms.items())}
    block["global"] = {"chisq": None if reason else finite_or_none(test.global_chisq), "df": X.shape[1],
                       "p": None if reason else finite_or_none(test.global_p)}
    block["reason"] = reason
    if residuals:
        plot: dict[str, Any] = {"term": "group", "transform": "km", "time": [], "x": [], "beta": [],
                                "events": 0, "smooth_method": PH_SMOOTH, "smooth": None, "reason": reason}
        if not reason:
            beta = test.residuals[:, 0]
            shown = np.arange(len(beta))
            if len(beta) > PH_RESIDUALS_SHOWN:
                shown = np.unique(np.linspace(0, len(beta) - 1, PH_RESIDUALS_SHOWN).round().astype(np.int64))
            smooth = zph_smooth(test.x, beta, test.var[0, 0])
            plot.update({"time": [float(v) for v in test.time[shown]], "x": [float(v) for v in test.x[shown]],
                         "beta": [finite_or_none(v) for v in beta[shown]], "events": len(beta),
                         "coef": finite_or_none(model.coef[terms["group"][0]]),
                         "smooth": None if smooth.reason else {
                             key: [finite_or_none(v) for v in getattr(smooth, key)]
                             for key in ("x", "estimate", "lower", "upper")},
                         "reason": smooth.reason})
        block["residuals"] = plot
    return block


def _rmst(time, event, group: pd.Categorical, labels: list[str], tau: float | None, conf_level: float) -> dict:
    """RMST per group up to tau (the configured one, else the largest time every group reaches) and the
    difference and ratio of the second group against the reference."""
    codes = np.asarray(group.codes, dtype=np.int64)
    source = "configured (statistics.rmst_tau)"
    if tau is None:
        tau, source = common_follow_up(time, codes, len(labels)), DEFAULT_TAU
    block: dict[str, Any] = {"method": RMST_METHOD, "tau": tau, "tau_source": source,
                             "contrast": f"{labels[1]} vs {labels[0]}", "groups": {}}
    estimates, reasons = {}, {}
    for i, lab in enumerate(labels):
        sel = codes == i
        if tau is None:  # a group without patients
            reasons[lab] = None if sel.any() else f"no {lab} patients: no RMST"
        else:
            estimates[lab] = restricted_mean(kaplan_meier(time[sel], event[sel], conf_level), tau, conf_level)
            reasons[lab] = None if estimates[lab].reason is None else f"{lab}: {estimates[lab].reason}"
        r = estimates.get(lab)
        block["groups"][lab] = {"estimate": r and r.estimate, "se": r and r.se,
                                "ci": [r and r.lower, r and r.upper], "reason": reasons[lab]}
    missing = next((reasons[lab] for lab in labels[:2] if reasons[lab]), None)
    for key, se_key, compare in (("difference", "se", rmst_difference), ("ratio", "log_se", rmst_ratio)):
        if missing:
            block[key] = {"estimate": None, se_key: None, "ci": [None, None], "p": None, "reason": missing}
            continue
        c = compare(estimates[labels[0]], estimates[labels[1]], conf_level)
        block[key] = {"estimate": c.estimate, se_key: c.se, "ci": [c.lower, c.upper], "p": c.p, "reason": c.reason}
    return block


def summarise_time_to_event(data: pd.DataFrame, *, groups, landmarks: Sequence[float],
                            covariates: Sequence[str] = (), subgroups: Sequence[str] = (),
                            conf_level: float = 0.95, rmst_tau: float | None = None) -> dict:
    """The whole pfs.json / os.json content for one endpoint.

    ``data``: one row per patient with ``group`` (labels, reference first in ``groups``),
    ``months``, ``status`` (0/1) and the covariate and subgroup columns of the derived patients
    table. ``groups``: the group labels in order (or the config mapping label -> code).
    Per group Kaplan-Meier (curve, median with CI, landmark rates), log-rank, Cox HR of the
    second group vs the reference, Cox adjusted for ``covariates``, and subgroup HRs with the
    interaction P; for each Cox model the test of proportional hazards (cox.zph) and for the
    unadjusted one the scaled Schoenfeld residuals of the group term with their smooth; the RMST per
    group up to ``rmst_tau`` (None: the smallest of the groups' largest follow-up times) with the
    difference and ratio. Values that do not exist are None, with a ``reason`` where a fit is
    impossible.
    """
    labels = [str(g) for g in groups]
    if len(labels) < 2:
        raise ValueError("at least two groups are needed")
    unknown = [s for s in subgroups if s not in SUBGROUPS]
    if unknown:
        raise ValueError(f"unknown subgroup(s) {unknown}; known: {sorted(SUBGROUPS)}")
    _check_data(data, labels)
    # sorted once by time, every subset below is sorted too: no further sorting (results do not
    # depend on row order)
    data = data.sort_values("months", kind="stable").reset_index(drop=True)
    group = pd.Categorical(data["group"].astype(str), categories=labels)
    time = data["months"].to_numpy(dtype=float)
    event = data["status"].to_numpy(dtype=float)
    result = kaplan_meier_comparison(time, event, group, labels, landmarks, conf_level)
    ref, other = labels[0], labels[1]
    contrast = f"{other} vs {ref}"

    dummies = np.column_stack([(group == lab).astype(float) for lab in labels[1:]])
    group_names = [f"{lab} vs {ref}" for lab in labels[1:]]
    reason = _group_reason(group, event, labels[:2])
    cox = cox_regression(time, event, dummies, group_names, conf_level)
    term = _term(cox, 0) if reason is None else _no_term()
    result["cox"] = {"test": COX_TEST, "contrast": contrast, **term,
                     "n": cox.n, "events": cox.events, "reason": reason or cox.reason}
    group_columns = list(range(dummies.shape[1]))
    result["cox"]["proportional_hazards"] = _proportional_hazards(
        time, event, dummies, cox, {"group": group_columns}, reason, residuals=True)

    Xc, cov_names = _design(data, covariates)
    X = np.column_stack([dummies, Xc])
    adjusted = cox_regression(time, event, X, group_names + cov_names, conf_level)
    result["cox_adjusted"] = {
        "test": COX_TEST, "contrast": contrast, "covariates": list(covariates),
        "n": adjusted.n, "events": adjusted.events,
        "terms": {nm: _term(adjusted, i) for i, nm in enumerate(adjusted.names)},
        "reason": reason or adjusted.reason}
    terms = {"group": group_columns}
    for c in covariates:  # a category's dummies (named column=level) are one term
        terms[c] = [len(group_columns) + j for j, nm in enumerate(cov_names) if nm == c or nm.startswith(f"{c}=")]
    result["cox_adjusted"]["proportional_hazards"] = _proportional_hazards(
        time, event, X, adjusted, {t: cols for t, cols in terms.items() if cols}, reason)
    result["rmst"] = _rmst(time, event, group, labels, rmst_tau, conf_level)

    levels_by_variable = {}
    for name in subgroups:
        definition = SUBGROUPS[name]
        try:
            values = definition.read(data)
        except KeyError as missing:
            raise ValueError(f"subgroup '{name}' needs column {missing}, which the derived "
                             f"patients table lacks") from None
        levels_by_variable[name] = pd.Series(pd.Categorical(values, categories=definition.levels))
    rows = subgroup_hazard_ratios(time, event, group, levels_by_variable, levels=labels,
                                  conf_level=conf_level)
    result["subgroup_test"] = INTERACTION_TEST
    result["subgroups"] = [
        {"variable": r.variable, "label": SUBGROUPS[r.variable].label, "level": r.level,
         "n": r.n, "events": r.events,
         "groups": {lab: {"n": r.group_n[lab], "events": r.group_events[lab]} for lab in labels},
         "hr": r.hr, "hr_ci": [r.hr_lower, r.hr_upper], "p": r.p,
         "interaction_p": r.interaction_p, "reason": r.reason,
         "interaction_reason": r.interaction_reason}
        for r in rows]
    return result


def _group_reason(group: pd.Categorical, event: np.ndarray, labels: Sequence[str]) -> str | None:
    """Why the HR of labels[1] vs labels[0] does not exist, if it obviously does not."""
    for lab in labels:
        if not np.asarray(group == lab).any():
            return f"no {lab} patients: no hazard ratio"
    if event.sum() == 0:
        return "no events: no hazard ratio"
    for lab in labels:
        if event[np.asarray(group == lab)].sum() == 0:
            return f"no events in {lab}: hazard ratio not estimable"
    return None
