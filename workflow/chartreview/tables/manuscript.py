"""The manuscript tables (results/tables/<table>.{csv,md,html,docx}) from the endpoint results.

write_tables() turns the endpoint results of chartreview.endpoints.analyses (the content of
results/endpoints/<name>.json) into one table per MANUSCRIPT_TABLES entry: a .csv at full precision (one row per
table row) and the formatted .md, .html and .docx, and all the tables in one numbered Word document.
The formatting rounds for the manuscript: percentages to whole numbers, P to 3 decimals or "<0.001",
medians to 1 decimal and "NR" when not reached (half up, as a reader expects).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chartreview.core.catalog import (
    ENDPOINTS,
    MANUSCRIPT_TABLE_FORMATS,
    MANUSCRIPT_TABLES,
    RESPONSES,
)
from chartreview.core.escaping import html, markdown, markdown_inline, write_csv
from chartreview.core.result_files import read_json
from chartreview.core.rounding import format_p, round_half_up
from chartreview.tables.word import WordTable, write_docx

__all__ = ["write_table", "write_tables"]


def format_percent(x) -> str:
    return "–" if x is None else round_half_up(x, 0)


def format_number(x, digits: int = 1, missing: str = "NR") -> str:
    return missing if x is None else round_half_up(x, digits)


MINUS = "\u2212"


def format_ci(lo, hi, digits: int = 1, missing: str = "NR", scale: float = 1.0) -> str:
    """'0.8–2.6'; with a negative bound '−24.9 to 3.4' (an en dash after a minus sign reads as a range of
    negatives), the minus sign typeset as U+2212."""
    def one(v):
        if v is None:
            return missing
        text = round_half_up(v * scale, digits)
        return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.0"

    low, high = one(lo), one(hi)
    if low.startswith("-") or high.startswith("-"):
        return f"{low.replace('-', MINUS)} to {high.replace('-', MINUS)}"
    return f"{low}–{high}"


def _n_percent(block: dict) -> str:
    return f"{block['count']}/{block['n']} ({format_percent(block['percent'])})"


def _table_baseline(result: dict, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw_rows, rows = [], []
    head = {g: result["groups"][g]["n"] for g in labels}
    for v in result["variables"]:
        if v["type"] == "continuous":
            line = {"Characteristic": f"{v['label']}, median (IQR)",
                    "Overall": _median_iqr(v["overall"])}
            line.update({f"{g} (n = {head[g]})": _median_iqr(v["groups"][g]) for g in labels})
            line["P"] = format_p(v["p"])
            line["SMD"] = _smd(v)
            rows.append(line)
            raw = {"variable": v["variable"], "level": "", "statistic": "median"}
            for scope, block in [("overall", v["overall"])] + [(g, v["groups"][g]) for g in labels]:
                raw.update({f"{scope}_median": block["median"], f"{scope}_q1": block["q1"],
                            f"{scope}_q3": block["q3"], f"{scope}_n": block["n"]})
            raw.update({"p": v["p"], "test": v["test"], "smd": v.get("smd")})
            raw_rows.append(raw)
        else:
            line = {"Characteristic": f"{v['label']}, n (%)", "Overall": "",
                    **{f"{g} (n = {head[g]})": "" for g in labels}, "P": format_p(v["p"]), "SMD": _smd(v)}
            rows.append(line)
            for lv in v["levels"]:
                o = v["overall"][lv]
                line = {"Characteristic": f"  {lv}", "Overall": f"{o['count']} ({format_percent(o['percent'])})"}
                line.update({f"{g} (n = {head[g]})":
                             f"{v['groups'][g][lv]['count']} ({format_percent(v['groups'][g][lv]['percent'])})"
                             for g in labels})
                line["P"] = ""
                line["SMD"] = ""
                rows.append(line)
                raw = {"variable": v["variable"], "level": lv, "statistic": "count"}
                raw.update({"overall_count": o["count"], "overall_n": o["n"], "overall_percent": o["percent"]})
                for g in labels:
                    b = v["groups"][g][lv]
                    raw.update({f"{g}_count": b["count"], f"{g}_n": b["n"], f"{g}_percent": b["percent"]})
                raw.update({"p": v["p"], "test": v["test"], "smd": v.get("smd")})
                raw_rows.append(raw)
        if v["missing"]["overall"]:
            line = {"Characteristic": "  Missing", "Overall": str(v["missing"]["overall"]),
                    **{f"{g} (n = {head[g]})": str(v["missing"][g]) for g in labels}, "P": "", "SMD": ""}
            rows.append(line)
    return pd.DataFrame(raw_rows), pd.DataFrame(rows)


def _smd(v: dict) -> str:
    """The standardized mean difference to 3 decimals, as tableone prints it."""
    return "–" if v.get("smd") is None else round_half_up(v["smd"], 3)


def _baseline_note(result: dict) -> str:
    """The rows whose test is set in config key table1, and what SMD means."""
    other = [f"{v['label']}: {v['test']}" for v in result["variables"] if "test_configured" in v]
    tests = f" Tests set per row: {'; '.join(other)}." if other else ""
    return (f"{tests} SMD: standardized mean difference of the groups (continuous: Cohen's d with the pooled SD; "
            "categorical: Yang and Dalton's multinomial SMD), as R's tableone.")


def _median_iqr(block: dict) -> str:
    if block["median"] is None:
        return "–"
    median, q1, q3 = (round_half_up(block[k], 1) for k in ("median", "q1", "q3"))
    return f"{median} ({q1}–{q3})"


def _table_counts(blocks: dict, labels: list[str], names: dict, heading: str,
                  n_head: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw_rows, rows = [], []
    for key, block in blocks.items():
        line = {heading: names.get(key, key)}
        line.update({f"{g} (n = {n_head[g]}), n (%)": _n_percent(block[g]) for g in labels})
        line["P"] = format_p(block["p"])
        rows.append(line)
        raw = {"key": key, "label": names.get(key, key)}
        for g in labels:
            raw.update({f"{g}_count": block[g]["count"], f"{g}_n": block[g]["n"],
                        f"{g}_percent": block[g]["percent"]})
        raw.update({"p": block["p"], "test": block["test"], "reason": block["reason"]})
        raw_rows.append(raw)
    return pd.DataFrame(raw_rows), pd.DataFrame(rows)


def _table_response(result: dict, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw_rows, rows = [], []
    head = {g: f"{g} (n = {result['groups'][g]['n']})" for g in labels}
    for r in RESPONSES:
        rows.append({"Response": r, **{head[g]: f"{result['groups'][g]['bor'][r]} "
                                                 f"({format_percent(result['groups'][g]['bor_percent'][r])})"
                                       for g in labels}, "P": ""})
        raw_rows.append({"measure": r, **{f"{g}_count": result["groups"][g]["bor"][r] for g in labels},
                         **{f"{g}_percent": result["groups"][g]["bor_percent"][r] for g in labels}})
    level = int(round(100 * result["conf_level"]))
    for key, label, count_key, comparison in (
        ("orr", "Objective response rate (CR + PR)", "responders", result),
        ("dcr", "Disease control rate (CR + PR + SD)", "disease_control", result["dcr_comparison"]),
    ):
        line, raw = _rate_row(result["groups"], comparison, key, count_key, labels, head)
        rows.append({"Response": f"{label}, % ({level}% CI)", **line})
        raw_rows.append({"measure": key, **raw})
    _other_denominator_rows(result.get("secondary"), labels, head, level, rows, raw_rows)
    return pd.DataFrame(raw_rows), pd.DataFrame(rows)


# The response rates over the other denominator, in words (endpoints.response.denominator: the primary one).
DENOMINATOR_WORDS = {"all": "all patients", "measurable": "patients with measurable disease"}


def _other_denominator_rows(other: dict | None, labels: list[str], head: dict, level: int, rows: list,
                            raw_rows: list) -> None:
    """ORR and DCR over the denominator that is not the primary one (measure ``orr_<denominator>`` and
    ``dcr_<denominator>``), each group's own n in its cells; "not available" when the export lacks the field."""
    if not other:
        return
    words = DENOMINATOR_WORDS[other["denominator_key"]]
    for key, label, count_key in (("orr", "Objective response rate", "responders"),
                                  ("dcr", "Disease control rate", "disease_control")):
        line = {"Response": f"{label}, {words}, % ({level}% CI)"}
        raw = {"measure": f"{key}_{other['denominator_key']}"}
        if not other.get("available", True):
            line.update({head[g]: other["reason"] for g in labels})
            line["P"] = ""
            rows.append(line)
            # blank counts, not missing ones: the count columns of the other rows stay whole numbers
            raw_rows.append({**raw, **{f"{g}_count": "" for g in labels}, "test": other["reason"]})
            continue
        comparison = other if key == "orr" else other["dcr_comparison"]
        cells, values = _rate_row(other["groups"], comparison, key, count_key, labels, head)
        rows.append({**line, **cells})
        raw_rows.append({**raw, **values})


def _rate_row(groups: dict, comparison: dict, key: str, count_key: str, labels: list[str],
              head: dict) -> tuple[dict, dict]:
    """The cells of one rate (``key``: orr or dcr) per group, "count/n (%; CI)", and its P; and the same at
    full precision for the CSV."""
    line, raw = {}, {}
    for g in labels:
        b = groups[g]
        lo, hi = b[f"{key}_ci"]
        value = None if b[key] is None else 100 * b[key]
        line[head[g]] = f"{b[count_key]}/{b['n']} ({format_percent(value)}; {format_ci(lo, hi, 0, '–', 100)})"
        raw.update({f"{g}_count": b[count_key], f"{g}_n": b["n"], f"{g}_{key}": b[key],
                    f"{g}_lower": lo, f"{g}_upper": hi})
    line["P"] = format_p(comparison["p"])
    raw.update({"p": comparison["p"], "test": comparison["test"]})
    return line, raw


def _response_note(result: dict) -> str:
    note = f"P: {result['test']}; CI: {result['ci_method']}; denominator: {result['denominator']}."
    other = result.get("secondary")
    if other and other.get("available", True):
        note += f" Rows over {DENOMINATOR_WORDS[other['denominator_key']]}: {other['denominator']}."
        excluded = other.get("excluded")
        if excluded:
            counts = {reason: sum(per[reason] for per in excluded.values()) for reason in next(iter(excluded.values()))}
            note += " Left out of them: " + "; ".join(f"{reason} {n}" for reason, n in counts.items()) + "."
    return note


def _table_tumor_size(result: dict, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best percentage change in the sum of diameters per group: patients with a change, median (IQR),
    range, shrinkage by 30% or more and growth by 20% or more (n/patients with a change), and the patients
    without a change by reason; "not available" when the export lacks ta_sld_mm."""
    if not result.get("available", False):
        return (pd.DataFrame([{"measure": "best_change", "reason": result.get("reason", "not available")}]),
                pd.DataFrame([{"Measure": "Best change in sum of diameters",
                               **{g: result.get("reason", "not available") for g in labels}}]))
    groups = result["groups"]
    head = {g: f"{g} (n = {groups[g]['patients']})" for g in labels}

    def number(x) -> str:
        return format_number(x, 1, "–")

    shrank, grew = result["thresholds"]["shrank"], result["thresholds"]["grew"]
    rows = [
        {"Measure": "Patients with a baseline and a post-baseline sum, n", **{head[g]: str(groups[g]["n"])
                                                                             for g in labels}, "P": ""},
        {"Measure": "Best change in sum of diameters, median % (IQR)",
         **{head[g]: "–" if groups[g]["median"] is None else
            f"{number(groups[g]['median'])} ({number(groups[g]['q1'])} to {number(groups[g]['q3'])})"
            for g in labels}, "P": format_p(result["p"])},
        {"Measure": "  Range, %", **{head[g]: "–" if groups[g]["min"] is None else
                                     f"{number(groups[g]['min'])} to {number(groups[g]['max'])}"
                                     for g in labels}, "P": ""},
    ]
    raw_rows = [{"measure": "best_change", **{f"{g}_{k}": groups[g][key] for g in labels for k, key in (
        ("patients", "patients"), ("n", "n"), ("median", "median"), ("q1", "q1"), ("q3", "q3"), ("min", "min"),
        ("max", "max"))}, "p": result["p"], "test": result["test"], "statistic": result["statistic"],
        "reason": result["reason"]}]
    for key, label in (("shrank_30", f"Shrinkage by {-shrank}% or more, n (%)"),
                       ("grew_20", f"Growth by {grew}% or more, n (%)")):
        rows.append({"Measure": label, **{head[g]: f"{groups[g][key]}/{groups[g]['n']} ("
                                                   f"{format_percent(_percent(groups[g][key], groups[g]['n']))})"
                                          for g in labels}, "P": ""})
        raw_rows.append({"measure": key, **{f"{g}_{k}": v for g in labels for k, v in (
            ("count", groups[g][key]), ("n", groups[g]["n"]),
            ("percent", _percent(groups[g][key], groups[g]["n"])))}})
    if result["excluded"]:
        rows.append({"Measure": "Without a best change, n", **{head[g]: "" for g in labels}, "P": ""})
    for entry in result["excluded"]:
        reason = entry["reason"]
        rows.append({"Measure": f"  {reason}", **{head[g]: str(groups[g]["excluded"].get(reason, 0))
                                                  for g in labels}, "P": ""})
        raw_rows.append({"measure": "excluded", "reason": reason,
                         **{f"{g}_count": groups[g]["excluded"].get(reason, 0) for g in labels}})
    return pd.DataFrame(raw_rows), pd.DataFrame(rows)


def _percent(count: int, n: int) -> float | None:
    return 100.0 * count / n if n else None


def _table_survival(results: dict, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw_rows, rows = [], []
    for name, title in (("pfs", "Progression-free survival"), ("os", "Overall survival"),
                        ("dor", "Duration of response"), ("ttd", "Time to treatment discontinuation"),
                        ("ttnt", "Time to next treatment or death")):
        if name not in results:
            continue
        r = results[name]
        if r.get("available") is False:
            rows.append({"Endpoint": title, "Group": "", "n": "", "Events": "", "Median, months (95% CI)": r["reason"]})
            raw_rows.append({"endpoint": name, "n": "", "events": "", "reason": r["reason"]})
            continue
        cox, adj = r.get("cox", {}), r.get("cox_adjusted", {})
        adj_term = (adj.get("terms") or {}).get(cox.get("contrast"), {}) if adj else {}
        for i, g in enumerate(labels):
            b = r["groups"][g]
            lo, hi = b["median_ci"]
            line = {"Endpoint": title if i == 0 else "", "Group": g, "n": b["n"], "Events": b["events"],
                    "Median, months (95% CI)": f"{format_number(b['median'])} ({format_ci(lo, hi)})"}
            raw = {"endpoint": name, "group": g, "n": b["n"], "events": b["events"], "median": b["median"],
                   "median_lower": lo, "median_upper": hi}
            # landmarks differ between PFS and OS, so the rates share one cell
            cells = []
            for t, rate in b["rates"].items():
                est = rate["estimate"]
                cells.append(f"{t} mo: " + (
                    "–" if est is None else f"{format_percent(100 * est)} ({format_ci(*rate['ci'], 0, '–', 100)})"
                ))
                raw.update({f"rate_{t}": est, f"rate_{t}_lower": rate["ci"][0], f"rate_{t}_upper": rate["ci"][1]})
            line["Rates, % (95% CI)"] = "; ".join(cells)
            first = i == 0
            line["Log-rank P"] = format_p(r["logrank"]["p"]) if first else ""
            if "cox" not in r:  # the endpoints of the treatment course have no hazard ratio
                rows.append(line)
                raw.update({"logrank_chisq": r["logrank"]["chisq"], "logrank_p": r["logrank"]["p"]})
                raw_rows.append(raw)
                continue
            line["HR (95% CI)"] = (f"{_hr(cox)}" if not first else "1 (reference)")
            line["P (Cox)"] = format_p(cox.get("p")) if not first else ""
            if first:
                line["Adjusted HR (95% CI)"] = "1 (reference)"
            else:
                line["Adjusted HR (95% CI)"] = _hr(adj_term) if adj_term else "–"
            raw.update({"logrank_chisq": r["logrank"]["chisq"], "logrank_p": r["logrank"]["p"],
                        "hr": cox.get("hr"), "hr_lower": (cox.get("hr_ci") or [None, None])[0],
                        "hr_upper": (cox.get("hr_ci") or [None, None])[1], "hr_p": cox.get("p"),
                        "adjusted_hr": adj_term.get("hr"), "adjusted_hr_p": adj_term.get("p")})
            _rmst_cells(r, g, first, line, raw)
            rows.append(line)
            raw_rows.append(raw)
        if name == "os" and "follow_up" in r:
            _follow_up_rows(r["follow_up"], labels, rows, raw_rows)
    return pd.DataFrame(raw_rows), pd.DataFrame(rows).fillna("")


def _follow_up_rows(fu: dict, labels: list[str], rows: list, raw_rows: list) -> None:
    """Median follow-up (reverse Kaplan-Meier) per group and overall, with the observed median among the alive."""
    for i, (scope, b) in enumerate([*((g, fu["groups"][g]) for g in labels), ("Overall", fu["overall"])]):
        lo, hi = b["median_ci"]
        rows.append({"Endpoint": "Median follow-up (reverse Kaplan-Meier)" if i == 0 else "", "Group": scope,
                     "n": b["n"], "Events": "",
                     "Median, months (95% CI)": f"{format_number(b['median'])} ({format_ci(lo, hi)})",
                     "Rates, % (95% CI)": f"observed median among the alive: "
                                          f"{format_number(b['median_observed_alive'], missing='–')}"})
        raw_rows.append({"endpoint": "follow_up", "group": scope, "n": b["n"], "events": "", "median": b["median"],
                         "median_lower": lo, "median_upper": hi,
                         "median_observed_alive": b["median_observed_alive"]})


def _table_treatment(ttd: dict, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reasons crizotinib ended, and treatment beyond progression, per group."""
    raw_rows, rows = [], []
    reasons = ttd.get("end_reasons") or {}
    if ttd.get("available") is False or not reasons.get("available"):
        why = ttd.get("reason") if ttd.get("available") is False else reasons.get("reason", "not available")
        return pd.DataFrame([{"measure": "criz_end_reason", "reason": why}]), \
            pd.DataFrame([{"Measure": "Reason crizotinib ended", **{g: why for g in labels}}])
    head = {g: f"{g} (n = {reasons['groups'][g]['n']}), n (%)" for g in labels}
    rows.append({"Measure": "Reason crizotinib ended", **{head[g]: "" for g in labels}})
    for lv in reasons["levels"]:
        line = {"Measure": f"  {lv}"}
        raw = {"measure": "criz_end_reason", "level": lv}
        for g in labels:
            c = reasons["groups"][g]["counts"][lv]
            line[head[g]] = f"{c['count']} ({format_percent(c['percent'])})"
            raw.update({f"{g}_count": c["count"], f"{g}_percent": c["percent"]})
        rows.append(line)
        raw_rows.append(raw)
    bp = ttd["beyond_progression"]
    line = {"Measure": f"Treated beyond first progression (> {bp['grace_days']} days), n/progressed (%)"}
    raw = {"measure": "beyond_progression", "level": f"grace {bp['grace_days']} days"}
    dur = {"Measure": "  Crizotinib after first progression, median months (95% CI)"}
    raw_dur = {"measure": "beyond_progression_duration", "level": "median months"}
    for g in labels:
        b = bp["groups"][g]
        line[head[g]] = f"{b['count']}/{b['progressed']} ({format_percent(b['percent'])})"
        lo, hi = b["median_ci"]
        dur[head[g]] = "–" if not b["count"] else f"{format_number(b['median_months'])} ({format_ci(lo, hi)})"
        raw.update({f"{g}_count": b["count"], f"{g}_n": b["progressed"], f"{g}_percent": b["percent"]})
        raw_dur.update({f"{g}_median": b["median_months"], f"{g}_lower": lo, f"{g}_upper": hi})
    rows += [line, dur]
    raw_rows += [raw, raw_dur]
    return pd.DataFrame(raw_rows), pd.DataFrame(rows)


def _rmst_cells(result: dict, group: str, first: bool, line: dict, raw: dict) -> None:
    """The proportional-hazards P (cox.zph, group term) and the RMST columns of one group's row: the RMST
    per group, and on the other group's row the difference and ratio against the reference."""
    ph = ((result.get("cox") or {}).get("proportional_hazards") or {}).get("terms", {}).get("group") or {}
    rmst = result.get("rmst")
    line["PH test P"] = format_p(ph.get("p")) if first else ""
    raw["ph_p"] = ph.get("p")
    if not rmst:
        return
    own, diff, ratio = rmst["groups"][group], rmst["difference"], rmst["ratio"]
    line["RMST horizon, months"] = format_number(rmst["tau"], missing="–") if first else ""
    line["RMST, months (95% CI)"] = ("–" if own["estimate"] is None else
                                     f"{format_number(own['estimate'])} ({format_ci(*own['ci'], 1, '–')})")
    if first:
        line["RMST difference, months (95% CI)"] = line["RMST ratio (95% CI)"] = line["P (RMST difference)"] = ""
    else:
        line["RMST difference, months (95% CI)"] = ("–" if diff["estimate"] is None else
                                                    f"{format_number(diff['estimate']).replace('-', MINUS)} "
                                                    f"({format_ci(*diff['ci'], 1, '–')})")
        line["RMST ratio (95% CI)"] = _hr({"hr": ratio["estimate"], "hr_ci": ratio["ci"]})
        line["P (RMST difference)"] = format_p(diff["p"])
    raw.update({"rmst_tau": rmst["tau"], "rmst": own["estimate"], "rmst_lower": own["ci"][0],
                "rmst_upper": own["ci"][1], "rmst_difference": None if first else diff["estimate"],
                "rmst_difference_lower": None if first else diff["ci"][0],
                "rmst_difference_upper": None if first else diff["ci"][1],
                "rmst_difference_p": None if first else diff["p"],
                "rmst_ratio": None if first else ratio["estimate"],
                "rmst_ratio_lower": None if first else ratio["ci"][0],
                "rmst_ratio_upper": None if first else ratio["ci"][1], "rmst_ratio_p": None if first else ratio["p"]})


def _hr(term: dict) -> str:
    if not term or term.get("hr") is None:
        return "–"
    lo, hi = term.get("hr_ci") or term.get("shr_ci") or [None, None]
    return f"{round_half_up(term['hr'], 2)} ({format_ci(lo, hi, 2, '–')})"


def _table_cns(result: dict, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw_rows, rows = [], []
    gray, fg = result["gray"], result["fine_gray"]
    for i, g in enumerate(labels):
        b = result["groups"][g]
        line = {"Group": g, "n": b["n"], "CNS progression": b["events"],
                "Competing event": b["competing"], "Censored": b["censored"]}
        raw = {"group": g, "n": b["n"], "events": b["events"], "competing": b["competing"],
               "censored": b["censored"]}
        for t, point in b["cif"].items():
            est = point["estimate"]
            line[f"{t}-month cumulative incidence, % (95% CI)"] = (
                "–" if est is None else f"{format_percent(100 * est)} ({format_ci(*point['ci'], 0, '–', 100)})"
            )
            raw.update({f"cif_{t}": est, f"cif_{t}_lower": point["ci"][0], f"cif_{t}_upper": point["ci"][1]})
        line["Gray's test P"] = format_p(gray["p"]) if i == 0 else ""
        line.update(_cns_ratio("Subdistribution HR (Fine-Gray)", "shr", fg, i))
        line["P (Fine-Gray)"] = format_p(fg["p"]) if i else ""
        raw.update({"gray_stat": gray["stat"], "gray_p": gray["p"], "shr": fg["shr"],
                    "shr_lower": fg["shr_ci"][0], "shr_upper": fg["shr_ci"][1], "shr_p": fg["p"]})
        # the adjusted subdistribution HR and the cause-specific HRs, when the result has them
        for key, heading, prefix, ratio in CNS_MODELS:
            if key not in result:
                continue
            block = result[key]
            term = block["terms"][block["contrast"]] if "terms" in block else block
            line.update(_cns_ratio(heading, ratio, term, i))
            line[f"P ({heading})"] = format_p(term["p"]) if i else ""
            raw.update({prefix: term[ratio], f"{prefix}_lower": term[f"{ratio}_ci"][0],
                        f"{prefix}_upper": term[f"{ratio}_ci"][1], f"{prefix}_p": term["p"]})
            if "terms" in block:
                raw[f"{prefix}_n"] = block["n"]
                raw[f"{prefix}_excluded_missing_covariates"] = block["excluded_missing_covariates"]
        rows.append(line)
        raw_rows.append(raw)
    return pd.DataFrame(raw_rows), pd.DataFrame(rows)


# (result key, column heading, raw column prefix, ratio key) of the CNS models beside the Fine-Gray SHR
CNS_MODELS = (
    ("fine_gray_adjusted", "Subdistribution HR (Fine-Gray), adjusted", "adjusted_shr", "shr"),
    ("cause_specific", "Cause-specific HR", "cause_specific_hr", "hr"),
    ("cause_specific_adjusted", "Cause-specific HR, adjusted", "adjusted_cause_specific_hr", "hr"),
)


def _cns_ratio(heading: str, ratio: str, term: dict, row: int) -> dict:
    column = f"{heading} (95% CI)"
    if row == 0:
        return {column: "1 (reference)"}
    if term[ratio] is None:
        return {column: "–"}
    return {column: f"{round_half_up(term[ratio], 2)} ({format_ci(*term[f'{ratio}_ci'], 2, '–')})"}


def _table_weighting(result: dict, labels: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1 balance before and after IPTW (weighted mean (SD) or weighted %, SMD unweighted and weighted),
    then the weighted PFS and OS (median per group, HR with robust CI and P); one row saying so when weighting
    was not requested or the propensity model does not exist."""
    pair = labels[:2]
    columns = ["Characteristic", *(f"{g}, weighted" for g in pair), "SMD unweighted", "SMD weighted",
               "HR (95% CI, robust)", "P"]
    if result.get("status") != "done":
        words = ("not requested (statistics.weighting: none)" if result.get("status") == "not requested"
                 else f"not estimable: {result.get('reason')}")
        return (pd.DataFrame([{"status": result.get("status"), "reason": result.get("reason")}]),
                pd.DataFrame([{"Characteristic": "Inverse probability of treatment weighting",
                               columns[1]: words}]).reindex(columns=columns).fillna(""))
    rows, raw_rows = [], []

    def smd(value):
        return "–" if value is None else round_half_up(value, 3)

    for v in result["balance"]["variables"]:
        head = {"Characteristic": v["label"] + (", mean (standard deviation)" if v["type"] == "continuous" else ", %"),
                "SMD unweighted": smd(v["smd_unweighted"]), "SMD weighted": smd(v["smd_weighted"])}
        raw = {"variable": v["variable"], "level": "", "smd_unweighted": v["smd_unweighted"],
               "smd_weighted": v["smd_weighted"]}
        if v["type"] == "continuous":
            for g in pair:
                b = v["groups"][g]
                sd = "–" if b["weighted_sd"] is None else round_half_up(b["weighted_sd"], 1)
                head[f"{g}, weighted"] = ("–" if b["weighted_mean"] is None else
                                          f"{round_half_up(b['weighted_mean'], 1)} ({sd})")
                raw.update({f"{g}_weighted_mean": b["weighted_mean"], f"{g}_weighted_sd": b["weighted_sd"]})
            rows.append(head)
            raw_rows.append(raw)
            continue
        rows.append(head)
        for lv in v["levels"]:
            line = {"Characteristic": f"  {lv}"}
            level_raw = {**raw, "level": lv}
            for g in pair:
                percent = v["groups"][g]["weighted_percent"][lv]
                line[f"{g}, weighted"] = format_percent(percent)
                level_raw[f"{g}_weighted_percent"] = percent
            rows.append(line)
            raw_rows.append(level_raw)
    for name, title in (("pfs", "Progression-free survival"), ("os", "Overall survival")):
        block = result["endpoints"][name]
        cox = block["cox"]
        line = {"Characteristic": f"{title}, weighted median, months (95% CI)",
                "HR (95% CI, robust)": "–" if cox["hr"] is None else _hr(cox), "P": format_p(cox["p"])}
        raw = {"variable": name, "level": "", "hr": cox["hr"], "hr_lower": cox["hr_ci"][0],
               "hr_upper": cox["hr_ci"][1], "robust_se": cox["robust_se"], "p": cox["p"]}
        for g in pair:
            b = block["groups"][g]
            line[f"{g}, weighted"] = f"{format_number(b['median'])} ({format_ci(*b['median_ci'])})"
            raw.update({f"{g}_median": b["median"], f"{g}_median_lower": b["median_ci"][0],
                        f"{g}_median_upper": b["median_ci"][1]})
        rows.append(line)
        raw_rows.append(raw)
    return pd.DataFrame(raw_rows), pd.DataFrame(rows).reindex(columns=columns).fillna("")


def _weighting_note(result: dict) -> str:
    if result.get("status") != "done":
        return "Inverse probability of treatment weighting is set by config statistics.weighting (none | iptw)."
    w = result["weights"]
    return (f"Stabilised inverse probability of treatment weights of {result['indicated_group']} against "
            f"{result['reference_group']} from a logistic propensity model of {', '.join(result['covariates'])}; "
            f"{w['method']}. Patients with a missing covariate left out: {result['excluded_missing_covariates']}. "
            "SMD: absolute standardized mean difference (continuous: Cohen's d with the pooled SD; categorical: "
            "Yang and Dalton's multinomial SMD), unweighted and weighted, as R's tableone; below 0.1 is commonly "
            "read as balanced. Weighted Kaplan-Meier medians; HR: weighted Cox model, Efron ties, robust "
            "(sandwich) SE, Wald CI and P.")


TABLE_TITLES = {
    "baseline": "Table 1. Patient characteristics at the start of crizotinib",
    "metastases": "Metastatic extent at the start of crizotinib",
    "response": "Best overall response to crizotinib (RECIST 1.1)",
    "survival": "Progression-free and overall survival",
    "cns": "CNS progression with competing events",
    "progression": "Progression patterns at first progression",
    "treatment": "Crizotinib discontinuation and treatment beyond progression",
    "tumor_size": "Best change in tumour size from baseline",
    "weighting": "Balance and outcomes after inverse probability of treatment weighting",
}


def _tables(results: dict, labels: list[str]) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, str]]:
    tables = {}
    if "baseline" in results:
        raw, fmt = _table_baseline(results["baseline"], labels)
        tables["baseline"] = (raw, fmt, f"Categorical: {results['baseline']['test_categorical']}; continuous: "
                                        "Wilcoxon rank-sum test." + _baseline_note(results["baseline"]))
    if "metastases" in results:
        m = results["metastases"]
        raw, fmt = _table_counts(m["sites"], labels, {k: v["label"] for k, v in m["sites"].items()}, "Site",
                                 {g: m["groups"][g]["n"] for g in labels})
        tables["metastases"] = (raw, fmt, f"P: {m['test']}.")
    if "response" in results:
        r = results["response"]
        raw, fmt = _table_response(r, labels)
        tables["response"] = (raw, fmt, _response_note(r))
    if "pfs" in results or "os" in results:
        raw, fmt = _table_survival(results, labels)
        tables["survival"] = (raw, fmt, "Kaplan-Meier medians and rates (log-transformed CI); log-rank test; "
                                        "Cox hazard ratios (Efron ties, Wald CI) against the reference group; "
                                        "PH test: cox.zph score test of proportional hazards for the group "
                                        "(unadjusted model, Kaplan-Meier time scale); RMST: restricted mean "
                                        "survival time up to the horizon (the smallest of the groups' largest "
                                        "follow-up times unless configured), difference and ratio against the "
                                        "reference group with normal CI and z test (ratio on the log scale). "
                                        "Duration of response counts from the response onset, among responders; "
                                        "follow-up by the reverse Kaplan-Meier method.")
    if "cns" in results:
        raw, fmt = _table_cns(results["cns"], labels)
        competing = " and ".join(str(c).replace("_", "-") for c in results["cns"]["competing"])
        note = (f"Competing events: {competing}. {results['cns']['method']}; Gray's test; "
                "Fine-Gray subdistribution hazard ratio (SHR) against the reference group.")
        if "cause_specific" in results["cns"]:
            adjusted = results["cns"]["fine_gray_adjusted"]
            note += (" The subdistribution HR (Fine-Gray) compares the cumulative incidence of CNS progression; "
                     "the cause-specific HR (Cox, Efron ties, competing events censored) compares its rate among "
                     "patients free of any event. Adjusted for "
                     f"{', '.join(adjusted['covariates']) or 'no covariate'}; patients with a missing covariate "
                     f"left out of the adjusted models: {adjusted['excluded_missing_covariates']}.")
        tables["cns"] = (raw, fmt, note)
    if "ttd" in results:
        raw, fmt = _table_treatment(results["ttd"], labels)
        tables["treatment"] = (raw, fmt, "Reasons as recorded (criz_end_reason), over all patients of the group; "
                                         "treatment beyond progression among the patients whose PFS event is "
                                         "progression, its duration by Kaplan-Meier (still on crizotinib: "
                                         "censored).")
    if "progression" in results:
        p = results["progression"]
        raw, fmt = _table_counts(p["patterns"], labels, {k: v["label"] for k, v in p["patterns"].items()},
                                 "Pattern", p["progressed"])
        tables["progression"] = (raw, fmt, f"Among patients whose PFS event is radiological progression. "
                                           f"P: {p['test']}. {p['assumption']}")
    if "tumor_size" in results:
        t = results["tumor_size"]
        raw, fmt = _table_tumor_size(t, labels)
        note = ("Percentage change of the sum of target lesion diameters (ta_sld_mm) "
                f"{t['definition']}; negative: shrinkage. P: {t['test']}." if t.get("available", False) else
                "The best change in tumour size needs the sum of target lesion diameters (ta_sld_mm).")
        tables["tumor_size"] = (raw, fmt, note)
    if "weighting" in results:
        raw, fmt = _table_weighting(results["weighting"], labels)
        tables["weighting"] = (raw, fmt, _weighting_note(results["weighting"]))
    return tables


def _markdown(title: str, table: pd.DataFrame, note: str) -> str:
    lines = [f"# {title}", "", "| " + " | ".join(markdown_inline(c) for c in table.columns) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(markdown_inline(v) for v in row) + " |")
    lines += ["", markdown(note), ""]
    return "\n".join(lines)


def _html(title: str, table: pd.DataFrame, note: str) -> str:
    head = "".join(f"<th>{html(c)}</th>" for c in table.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html(v)}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html(title)}</title>\n<style>\nbody {{ font-family: sans-serif; font-size: 10pt; }}\n"
        "table { border-collapse: collapse; }\nth, td { padding: 2px 8px; text-align: left; "
        "border-bottom: 1px solid #ccc; white-space: pre; }\n</style>\n</head>\n<body>\n"
        f"<h1>{html(title)}</h1>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
        f"<p>{html(note)}</p>\n</body>\n</html>\n"
    )




def write_tables(results: dict[str, dict], paths: dict[str, dict[str, str | Path]], groups=None,
                 document: str | Path | None = None) -> None:
    """Manuscript tables from the endpoint results, each to its files of ``paths`` (table -> {"csv", "md",
    "html", "docx"} -> path; a table without a "docx" path gets no Word file): the .csv at full precision,
    one row per table row, and the formatted .md, .html and .docx, each value escaped for its format (a text
    cell a spreadsheet would run as a formula neutralised). ``document``: the Word document of all the
    tables, numbered in the order of MANUSCRIPT_TABLES (a table's own .docx bears the same number)."""
    labels = list(groups) if groups is not None else _group_labels(results)
    tables = sorted(_tables(results, labels).items(), key=lambda item: MANUSCRIPT_TABLES.index(item[0]))
    numbered = [write_table(TABLE_TITLES[name], raw, fmt, note, paths[name], number)
                for number, (name, (raw, fmt, note)) in enumerate(tables, start=1)]
    # weighting off: its table is written (the rule's outputs are fixed) but left out of the journal's document
    if (results.get("weighting") or {}).get("status") == "not requested":
        numbered = [t for t, (name, _) in zip(numbered, tables) if name != "weighting"]
    if document is not None and numbered:
        Path(document).parent.mkdir(parents=True, exist_ok=True)
        write_docx(document, numbered)


def write_table(title: str, raw: pd.DataFrame, fmt: pd.DataFrame, note: str, paths: dict[str, str | Path],
                number: int) -> WordTable:
    """One table to its files (format -> path): ``raw`` to the .csv at full precision, ``fmt`` with its title
    and note to the .md, .html and (with a "docx" path) the Word file numbered ``number``, each value escaped
    for its format; returns the table as the Word document of all the tables holds it."""
    files = {kind: Path(path) for kind, path in paths.items()}
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(raw, files["csv"], float_format=None)
    files["md"].write_text(_markdown(title, fmt, note), encoding="utf-8")
    files["html"].write_text(_html(title, fmt, note), encoding="utf-8")
    table = WordTable(number, title, fmt, (note,))
    if "docx" in files:
        write_docx(files["docx"], [table])
    return table


def table_files(directory) -> dict[str, dict[str, Path]]:
    """Table -> {"csv", "md", "html", "docx"} -> file under ``directory``, as rule ``tables`` lays them out."""
    return {name: {kind: Path(directory) / f"{name}.{kind}" for kind in MANUSCRIPT_TABLE_FORMATS}
            for name in MANUSCRIPT_TABLES}


def run(inputs: dict, outputs: dict, *, groups) -> None:
    """What rule ``tables`` runs: one input per endpoint result (named after the endpoint) -> the outputs
    named ``<table>_<csv|md|html|docx>``, and ``tables_docx``, all the tables in one Word document."""
    results = {name: read_json(path) for name, path in inputs.items()}
    paths = {name: {kind: outputs[f"{name}_{kind}"] for kind in MANUSCRIPT_TABLE_FORMATS} for name in MANUSCRIPT_TABLES}
    write_tables(results, paths, groups, outputs["tables_docx"])


def _group_labels(results: dict) -> list[str]:
    for name in ENDPOINTS:
        if name in results:  # every result lists the groups in the order of the config's reference first
            return list(results[name]["progressed" if name == "progression" else "groups"])
    raise ValueError("no endpoint result to read the groups from")
