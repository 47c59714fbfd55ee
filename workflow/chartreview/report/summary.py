"""The results narrative (results/summary.md and .html) and the provenance record (results/provenance.json).

The narrative is written only from the endpoint result files, never recomputed, so every number in it
can be traced to results/endpoints/<name>.json and from there to the derived audit.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from chartreview import __version__
from chartreview.core.catalog import SENSITIVITY_ENDPOINTS, sensitivity_input
from chartreview.core.errors import InputError
from chartreview.core.escaping import html, markdown, markdown_inline
from chartreview.core.result_files import read_json, write_json
from chartreview.core.rounding import format_p, p_in_text, round_half_up
from chartreview.core.sensitivity import CONCLUSIONS, NO_TEST, Analysis, conclusion, read_analyses
from chartreview.derive.rules import rules_in_force

ASSUMPTIONS = (
    "The label of the published 11/16 vs. 17/37 comparison is lost in the public record; this workflow "
    "reads it as the proportion of patients whose first progression was intrathoracic only. "
    "That label is an assumption.",
    "The published CNS P value (0.914) is read as Gray's test on the cumulative incidence of CNS "
    "progression with death as a competing risk.",
    "The published count-based P values are reproduced by Pearson's chi-square test without continuity "
    "correction (R chisq.test(correct = FALSE)); Fisher's exact test and the Yates-corrected test do not "
    "reproduce them.",
    "The objective response rate is computed over all treated patients of a group, not an evaluable subset.",
)


# ---------------------------------------------------------------- formatting (as in the abstract)

def format_percent(percent: float | None) -> str:
    return "n/a" if percent is None else f"{round_half_up(percent, 0)}%"


def format_months(months: float | None) -> str:
    return "not reached" if months is None else round_half_up(months, 1)


def _decimals(value: float | str) -> int:
    """Decimals as published: "0.10" has two; a number has those of its shortest repr."""
    text = value if isinstance(value, str) else repr(float(value)).rstrip("0")
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


# ---------------------------------------------------------------- published against reproduced

class PublishedError(InputError):
    """A published entry of the config names no result its endpoint reports."""


# The response rates a published value can be compared with (fractions in the result, percent published).
RESPONSE_RATES = ("orr", "dcr")
# The survival value a published value can be compared with (months).
SURVIVAL_VALUES = ("median",)


@dataclass(frozen=True)
class Comparison:
    """One published result beside its reproduction."""
    name: str
    label: str
    unit: str
    test: str
    published: dict[str, float | str | None]
    reproduced: dict[str, float | None]
    published_p: float | str | None
    reproduced_p: float | None
    agrees: bool | None          # None: nothing published to compare
    note: str


def reproduced_values(endpoint: str, key: str, result: dict, groups: list[str]
                      ) -> tuple[dict[str, float | None], float | None]:
    """The reproduced per-group value (percent or months) and P of a published entry."""
    if endpoint in ("metastases", "progression"):
        block = result["sites" if endpoint == "metastases" else "patterns"][key]
        return {g: block[g]["percent"] for g in groups}, block["p"]
    if endpoint == "response":
        rates = {g: result["groups"][g][key] for g in groups}
        return {g: None if rate is None else 100 * rate for g, rate in rates.items()}, result["p"]
    if endpoint in ("pfs", "os"):
        return {g: result["groups"][g][key] for g in groups}, result["logrank"]["p"]
    if endpoint == "cns":
        return {g: None for g in groups}, result[key]["p"]
    raise ValueError(f"published entry names an endpoint without a comparison rule: {endpoint!r}")


def comparable_keys(endpoint: str, result: dict) -> list[str]:
    """The keys a published entry of ``endpoint`` can name (``reproduced_values`` reads them)."""
    if endpoint in ("metastases", "progression"):
        return list(result["sites" if endpoint == "metastases" else "patterns"])
    if endpoint == "response":
        return list(RESPONSE_RATES)
    if endpoint in ("pfs", "os"):
        return list(SURVIVAL_VALUES)
    if endpoint == "cns":
        return [key for key, value in result.items() if isinstance(value, dict) and "p" in value]
    return []


NOT_REACHED = "not reached"


def _agrees(published: float | str | None, reproduced: float | None) -> bool | None:
    """Whether the reproduced value rounds to the published one at the published precision."""
    if published is None:
        return None
    if published == NOT_REACHED:
        return reproduced is None
    if reproduced is None:
        return False
    if isinstance(published, str) and published.startswith("<"):
        return reproduced < float(published[1:])
    places = _decimals(published)
    return round_half_up(reproduced, places) == round_half_up(float(published), places)


def compare_published(published: dict, results: dict[str, dict], groups: list[str]) -> list[Comparison]:
    """Each published value rounded as published, set against the reproduced value."""
    rows = []
    for name, entry in published.items():
        keys = comparable_keys(entry["endpoint"], results[entry["endpoint"]])
        if entry["key"] not in keys:
            raise PublishedError(f"config key 'published.{name}.key': {entry['key']!r} is no result of endpoint "
                                 f"{entry['endpoint']} (its results: {', '.join(keys)})")
        values, p = reproduced_values(entry["endpoint"], entry["key"], results[entry["endpoint"]], groups)
        checks = [_agrees(entry["values"].get(g), values[g]) for g in groups] + [_agrees(entry["p"], p)]
        checks = [c for c in checks if c is not None]
        rows.append(Comparison(
            name=name, label=entry["label"], unit=entry["unit"], test=entry["test"],
            published=dict(entry["values"]), reproduced=values, published_p=entry["p"], reproduced_p=p,
            agrees=all(checks) if checks else None, note=entry["note"]))
    return rows


# ---------------------------------------------------------------- the results paragraph

def _counts(block: dict, group: str) -> str:
    return f"{block[group]['count']}/{block[group]['n']}"


def _differs(p: float | None, alpha: float = 0.05) -> bool:
    return p is not None and p < alpha


def results_paragraph(results: dict[str, dict], groups: list[str], alpha: float = 0.05) -> str:
    """The results paragraph in the abstract's style, every number read from the endpoint results."""
    ref, other = groups
    vs = " vs. "
    met = results["metastases"]
    brain, extra = met["sites"]["brain"], met["sites"]["extrathoracic"]
    response, pfs, os_ = results["response"], results["pfs"], results["os"]
    patterns = results["progression"]["patterns"]["intrathoracic_only"]
    cns = results["cns"]
    n = {g: response["groups"][g]["n"] for g in groups}

    def pct(block):
        return vs.join(format_percent(block[g]["percent"]) for g in groups)

    def did(block):
        if not _differs(block["p"], alpha):
            return "did not differ between the groups"
        higher, lower = sorted(groups, key=lambda g: block[g]["percent"], reverse=True)
        return f"was significantly higher in {higher}-positive than in {lower}-positive NSCLC patients"

    sentences = [
        f"We identified {n[ref]} patients with {ref}- and {n[other]} with {other}-positive NSCLC.",
        f"The baseline proportion of central nervous system (CNS) metastases {did(brain)} "
        f"({pct(brain)}, {p_in_text(brain['p'])}), and the proportion of extrathoracic metastases, "
        f"including CNS metastases, {did(extra)} ({pct(extra)}, {p_in_text(extra['p'])}).",
        f"Regarding the response to crizotinib ({ref} vs. {other}), ORR: "
        + vs.join(format_percent(None if response["groups"][g]["orr"] is None else 100 * response["groups"][g]["orr"])
                  for g in groups)
        + f", {p_in_text(response['p'])}; PFS: median "
        + vs.join(format_months(pfs["groups"][g]["median"]) for g in groups)
        + f" months, {p_in_text(pfs['logrank']['p'])}; median OS: "
        + vs.join(format_months(os_["groups"][g]["median"]) for g in groups)
        + f"{'' if all(os_['groups'][g]['median'] is None for g in groups) else ' months'}"
        + f", {p_in_text(os_['logrank']['p'])}.",
        "Intrathoracic-only progression at first progression (label assumed): "
        + vs.join(f"{format_percent(patterns[g]['percent'])} ({_counts(patterns, g)})" for g in groups)
        + f", {p_in_text(patterns['p'])}; the cumulative incidence of CNS progression with death as a "
        "competing risk " + ("differed" if _differs(cns["gray"]["p"], alpha) else "did not differ")
        + f" between the groups (Gray's test {p_in_text(cns['gray']['p'])}).",
    ]
    if "cause_specific" in cns:
        sentences.append(cns_hazard_ratios(cns, other, ref))
    weighted = weighting_sentence(results.get("weighting") or {}, other, ref)
    if weighted:
        sentences.append(weighted)
    return " ".join(sentences + treatment_sentences(results, groups) + tumour_sentences(results, groups))


# The response rates' other denominator (key ``secondary`` of the response result), in words.
DENOMINATOR_WORDS = {"all": "all patients", "measurable": "the patients with measurable disease"}


def tumour_sentences(results: dict[str, dict], groups: list[str]) -> list[str]:
    """The ORR over the other denominator and the best change in tumour size per group, each read from its
    result ("not available" where the export lacks the field)."""
    vs = " vs. "
    out = []
    other = (results.get("response") or {}).get("secondary")
    if other:
        words = DENOMINATOR_WORDS.get(other.get("denominator_key"), str(other.get("denominator_key")))
        if other.get("available", True):
            b = other["groups"]
            out.append(f"Over {words} ({vs.join(groups)}), ORR: "
                       + vs.join(f"{format_percent(None if b[g]['orr'] is None else 100 * b[g]['orr'])} "
                                 f"({b[g]['responders']}/{b[g]['n']})" for g in groups)
                       + f", {p_in_text(other['p'])}.")
        else:
            out.append(f"ORR over {words}: {other['reason']}.")
    size = results.get("tumor_size")
    if size:
        if not size.get("available", False):
            out.append(f"Best change in tumour size: {size.get('reason', 'not available')}.")
        else:
            per = size["groups"]
            excluded = size["excluded"]
            left_out = sum(x["n"] for x in excluded)
            reasons = "; ".join(f"{x['reason']}: {x['n']}" for x in excluded)
            out.append(f"The best change in tumour size from baseline ({vs.join(groups)}, median) was "
                       + vs.join("n/a" if per[g]["median"] is None else f"{round_half_up(per[g]['median'], 1)}%"
                                 for g in groups)
                       + f", Wilcoxon rank-sum {p_in_text(size['p'])}; "
                       + (f"{left_out} patients excluded ({reasons})." if left_out else "no patient excluded."))
    return out


def flow_text(flow: dict) -> str:
    """The patient flow in words: records exported, those not analysed by reason, and per group the
    patients analysed, evaluable for response, with measurable disease and with a change in tumour size."""
    def per_group(counts: dict) -> str:
        return ", ".join(f"{g} {n}" for g, n in counts.items())

    excluded = flow.get("excluded") or []
    parts = [f"Records exported: {flow['records_exported']}.",
             "Not in a configured group or without an index date: "
             + (f"{sum(x['n'] for x in excluded)} (" + "; ".join(f"{x['reason']}: {x['n']}" for x in excluded) + ")."
                if excluded else "none."),
             f"Analysed: {per_group(flow['analysed'])}."]
    if flow.get("response_evaluable") is not None:
        parts.append(f"Evaluable for response (best overall response not NE): {per_group(flow['response_evaluable'])}.")
    if "measurable_disease" in flow:
        parts.append("With measurable disease at baseline: " + (
            "not available (the export has no measurable_disease)." if flow["measurable_disease"] is None
            else f"{per_group(flow['measurable_disease'])}."))
    if flow.get("tumor_size") is not None:
        parts.append("With a baseline and a post-baseline sum of diameters (a change in tumour size): "
                     f"{per_group(flow['tumor_size'])}.")
    return " ".join(parts)


def treatment_sentences(results: dict[str, dict], groups: list[str]) -> list[str]:
    """Follow-up, duration of response, time to treatment discontinuation and to next treatment or death, and
    treatment beyond progression, each read from its result ("not available" where the export lacks it)."""
    vs = " vs. "
    out = []
    fu = results["os"].get("follow_up")
    if fu:
        out.append(f"Median follow-up {format_months(fu['overall']['median'])} months (reverse Kaplan-Meier; "
                   + vs.join(f"{g} {format_months(fu['groups'][g]['median'])}" for g in groups) + ").")
    parts = []
    for name, label in (("dor", "duration of response"), ("ttd", "time to treatment discontinuation"),
                        ("ttnt", "time to next treatment or death")):
        r = results.get(name)
        if r is None:
            continue
        if r.get("available") is False:
            parts.append(f"{label}: {r['reason']}")
            continue
        parts.append(f"{label}: median " + vs.join(format_months(r["groups"][g]["median"]) for g in groups)
                     + f" months, {p_in_text(r['logrank']['p'])}")
    if parts:
        out.append(f"Regarding the course of treatment ({vs.join(groups)}), " + "; ".join(parts) + ".")
    beyond = (results.get("ttd") or {}).get("beyond_progression")
    if beyond:
        b = beyond["groups"]
        out.append(f"Crizotinib was continued more than {beyond['grace_days']} days beyond the first progression in "
                   + vs.join(f"{b[g]['count']}/{b[g]['progressed']} ({format_percent(b[g]['percent'])})"
                             for g in groups) + " of the patients who progressed.")
    return out


def _ph_doubts(result: dict) -> list[str]:
    """The cox.zph tests of an endpoint's Cox models with P < 0.05, in words."""
    doubts = []
    for model, words in (("cox", "unadjusted"), ("cox_adjusted", "adjusted")):
        ph = (result.get(model) or {}).get("proportional_hazards") or {}
        for term, test in (ph.get("terms") or {}).items():
            if _differs(test.get("p")):
                doubts.append(f"{term} in the {words} model, {p_in_text(test['p'])}")
        if _differs((ph.get("global") or {}).get("p")):
            doubts.append(f"global test of the {words} model, {p_in_text(ph['global']['p'])}")
    return doubts


def survival_notes(results: dict[str, dict], groups: list[str]) -> list[str]:
    """Per time-to-event endpoint (every result with an RMST): the RMST per group with the difference and
    ratio, and a warning where the test of proportional hazards (cox.zph) has P < 0.05."""
    notes = []
    for name, result in results.items():
        rmst = result.get("rmst")
        if not rmst:
            continue
        label = name.upper()
        doubts = _ph_doubts(result)
        if doubts:
            notes.append(f"Warning: the proportional-hazards assumption of the {label} Cox models is doubtful "
                         f"(cox.zph: {'; '.join(doubts)}): the hazard ratio then averages a ratio that changes "
                         f"over time; read the restricted mean survival time below instead.")
        if rmst.get("tau") is None:
            notes.append(f"{label} restricted mean survival time: not estimable ({rmst['difference']['reason']}).")
            continue
        per = [rmst["groups"][g]["estimate"] for g in groups]
        text = (f"{label} restricted mean survival time to {format_months(rmst['tau'])} months "
                f"({groups[0]} vs. {groups[1]}): " + " vs. ".join(_rmst_value(v, 1) for v in per) + " months")
        diff, ratio = rmst["difference"], rmst["ratio"]
        if diff["estimate"] is None:
            text += f" ({diff['reason']})."
        else:
            text += (f"; difference {_rmst_value(diff['estimate'], 1)} months "
                     f"({_rmst_value(diff['ci'][0], 1)} to {_rmst_value(diff['ci'][1], 1)}), "
                     f"{p_in_text(diff['p'])}")
            if ratio["estimate"] is not None:
                text += (f"; ratio {_rmst_value(ratio['estimate'], 2)} "
                         f"({_rmst_value(ratio['ci'][0], 2)}–{_rmst_value(ratio['ci'][1], 2)}), "
                         f"{p_in_text(ratio['p'])}")
            text += "."
        notes.append(text)
    return notes


def _rmst_value(value: float | None, digits: int) -> str:
    return "n/a" if value is None else round_half_up(value, digits)


def cns_hazard_ratios(cns: dict, other: str, ref: str) -> str:
    """The sentence on the two hazard ratios of CNS progression, each named so they cannot be confused."""
    def ratio(block: dict, key: str) -> str:
        term = block["terms"][block["contrast"]] if "terms" in block else block
        if term[key] is None:
            return f"not estimable ({block['reason']})" if block.get("reason") else "not estimable"
        lo, hi = term[f"{key}_ci"]
        ci = "–".join("NR" if v is None else round_half_up(v, 2) for v in (lo, hi))
        return f"{round_half_up(term[key], 2)} (95% CI {ci}, {p_in_text(term['p'])})"

    adjusted = cns["fine_gray_adjusted"]
    covariates = ", ".join(adjusted["covariates"]) or "no covariate"
    excluded = adjusted["excluded_missing_covariates"]
    left_out = f"; {excluded} patients with a missing covariate left out" if excluded else ""
    return (f"For CNS progression ({other} vs. {ref}), the subdistribution HR (Fine-Gray) was "
            f"{ratio(cns['fine_gray'], 'shr')} unadjusted and {ratio(adjusted, 'shr')} adjusted for {covariates}"
            f"{left_out}; the cause-specific HR (competing events censored) was "
            f"{ratio(cns['cause_specific'], 'hr')} unadjusted and "
            f"{ratio(cns['cause_specific_adjusted'], 'hr')} adjusted.")


def weighting_sentence(result: dict, other: str, ref: str) -> str:
    """The weighted PFS and OS hazard ratios (robust CI and P) and the largest SMD after weighting in one
    sentence; "" when weighting was not requested."""
    if result.get("status") in (None, "not requested"):
        return ""
    covariates = ", ".join(result.get("covariates") or []) or "no covariate"
    if result["status"] != "done":
        return f"Inverse probability of treatment weighting by {covariates} was not estimable ({result['reason']})."

    def ratio(cox: dict) -> str:
        if cox["hr"] is None:
            return f"not estimable ({cox['reason']})" if cox.get("reason") else "not estimable"
        ci = "–".join("NR" if v is None else round_half_up(v, 2) for v in cox["hr_ci"])
        return f"{round_half_up(cox['hr'], 2)} (robust 95% CI {ci}, {p_in_text(cox['p'])})"

    balance = result["balance"]
    weighted = [v for v in balance["variables"] if v["smd_weighted"] is not None]
    largest = max(weighted, key=lambda v: v["smd_weighted"], default=None)
    if largest is None:
        worst = "no Table 1 characteristic had a standardized mean difference"
    else:
        before = largest["smd_unweighted"]
        unweighted = "" if before is None else f"; {round_half_up(before, 3)} unweighted"
        worst = (f"the largest standardized mean difference after weighting was "
                 f"{round_half_up(largest['smd_weighted'], 3)} ({largest['label']}{unweighted})")
    endpoints = result["endpoints"]
    return (f"With inverse probability of treatment weighting by {covariates} ({other} vs. {ref}), the weighted HR "
            f"was {ratio(endpoints['pfs']['cox'])} for PFS and {ratio(endpoints['os']['cox'])} for OS; {worst}.")


def tests_used(results: dict[str, dict]) -> list[str]:
    """The test named by each result, for the methods line under the paragraph."""
    lines = [
        f"Metastatic extent: {results['metastases']['test']}",
        f"Objective response: {results['response']['test']}",
        f"PFS and OS: {results['pfs']['logrank'].get('test', 'log-rank test')}",
        f"Progression patterns: {results['progression']['test']}",
        f"CNS progression: {results['cns']['gray'].get('test', 'Gray test')}",
    ]
    treatment = [results[n] for n in ("dor", "ttd", "ttnt") if n in results and results[n].get("available", True)]
    if treatment:
        lines.append(f"Duration of response, time to treatment discontinuation and to next treatment: "
                     f"{treatment[0]['logrank']['test']}")
    return lines


# ---------------------------------------------------------------- the sensitivity analyses

# A conclusion of core.sensitivity in the paragraph's words.
CONCLUSION_WORDS = {"differ": "the groups differed", "no difference": "no difference between the groups",
                    NO_TEST: "no test possible"}


def sensitivity_paragraph(analyses: list[Analysis], alpha: float) -> str:
    """Which conclusions hold under every sensitivity variant, which do not and under which rule ("" when no
    variant is configured); ``analyses``: the primary analysis first (``core.sensitivity.read_analyses``)."""
    primary, variants = analyses[0], analyses[1:]
    if not variants:
        return ""
    sentences = [f"{len(variants)} sensitivity analyses each change one derivation rule or test "
                 f"(results/tables/sensitivity.md; conclusions at alpha = {alpha:g}): "
                 + "; ".join(v.label for v in variants) + "."]
    held = [key for key in CONCLUSIONS if not any(key in v.changed for v in variants)]
    by_conclusion: dict[str, list[str]] = {}
    for key in held:
        by_conclusion.setdefault(conclusion(primary.results[key], alpha), []).append(CONCLUSIONS[key])
    if held:
        sentences.append("Held under every variant: " + "; ".join(
            f"{CONCLUSION_WORDS[said]} in {', '.join(names)}" for said, names in by_conclusion.items()) + ".")
    for key in CONCLUSIONS:
        changed = [v for v in variants if key in v.changed]
        if changed:
            under = "; ".join(f"{CONCLUSION_WORDS[conclusion(v.results[key], alpha)]} under \"{v.label}\" "
                              f"({p_in_text(v.results[key])})" for v in changed)
            sentences.append(f"Did not hold: {CONCLUSIONS[key]}: "
                             f"{CONCLUSION_WORDS[conclusion(primary.results[key], alpha)]} in the primary analysis "
                             f"({p_in_text(primary.results[key])}), {under}.")
    if len(held) == len(CONCLUSIONS):
        sentences.append("No variant changes a conclusion of the primary analysis.")
    return " ".join(sentences)


# ---------------------------------------------------------------- the derivation rules in force

def derivation_rules(config: dict) -> list[str]:
    """The rules that decided every response, event and censoring, in the words the audit uses."""
    return [f"{rule}: {words}." for rule, words in rules_in_force(config)]


# ---------------------------------------------------------------- rendering

def _value(value: float | str | None, unit: str, reproduced: bool = False) -> str:
    if value is None:  # a reproduced median that does not exist was not reached
        return "NR" if reproduced and unit == "months" else "–"
    if value == NOT_REACHED:
        return "NR"
    if unit == "months":
        return format_months(value)
    return format_percent(value) if unit == "%" else f"{value:g}"


def _published_rows(comparisons: list[Comparison], groups: list[str]) -> list[list[str]]:
    rows = []
    for c in comparisons:
        agree = {True: "yes", False: "NO", None: "–"}[c.agrees]
        rows.append([c.label]
                    + [f"{_value(c.published.get(g), c.unit)} / {_value(c.reproduced[g], c.unit, reproduced=True)}"
                       for g in groups]
                    + [f"{'–' if c.published_p is None else c.published_p} / {format_p(c.reproduced_p)}",
                       c.test, agree])
    return rows


def summary_document(results: dict[str, dict], flow: dict, config: dict,
                     sensitivity: list[Analysis] | None = None) -> dict:
    """Everything the summary says, as data rendered to Markdown and HTML alike; ``sensitivity``: the primary
    analysis and the sensitivity variants (``core.sensitivity.read_analyses``), or None for no such section."""
    groups = list(config["groups"])
    alpha = config["statistics"]["alpha"]
    comparisons = compare_published(config["published"], results, groups)
    header = ["Result"] + [f"{g}: published / reproduced" for g in groups] + ["P: published / reproduced",
                                                                               "Test", "Agrees"]
    return {
        "title": "Results summary",
        "paragraph": results_paragraph(results, groups, alpha),
        "survival_notes": survival_notes(results, groups),
        "sensitivity": sensitivity_paragraph(sensitivity, alpha) if sensitivity else "",
        "tests": tests_used(results),
        "flow": flow,
        "published_header": header,
        "published_rows": _published_rows(comparisons, groups),
        "notes": [f"{c.label}: {c.note}" for c in comparisons if c.note],
        "rules": derivation_rules(config),
        "assumptions": list(ASSUMPTIONS),
    }


def render_markdown(doc: dict) -> str:
    """The summary as Markdown; every value from the config or the results escaped for Markdown."""
    def table(header, rows):
        lines = ["| " + " | ".join(map(markdown_inline, header)) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(map(markdown_inline, r)) + " |" for r in rows]

    flow = doc["flow"]
    lines = [f"# {doc['title']}", "",
             "Generated by the chart-review workflow from results/endpoints/*.json; numbers are traced in "
             "results/derived/audit.html and results/provenance.json.", "",
             "## Results", "", markdown(doc["paragraph"]), "",
             "P values: " + markdown_inline("; ".join(doc["tests"])) + ".", "",
             *[line for note in doc["survival_notes"] for line in (markdown(note), "")],
             *(["## Sensitivity analyses", "", markdown(doc["sensitivity"]), ""] if doc["sensitivity"] else []),
             "## Patients", "", markdown(flow_text(flow)), "",
             "## Published and reproduced", ""]
    if doc["published_rows"]:
        lines += table(doc["published_header"], doc["published_rows"]) + [""]
        lines += [f"- {markdown(note)}" for note in doc["notes"]] + [""]
    else:
        lines += ["No published values are configured (config key `published`).", ""]
    lines += ["## Derivation rules in force", ""] + [f"- {markdown(rule)}" for rule in doc["rules"]] + [""]
    lines += ["## Assumptions", ""] + [f"- {a}" for a in doc["assumptions"]]
    return "\n".join(lines) + "\n"


def render_html(doc: dict) -> str:
    """The summary as HTML; every value HTML-escaped."""
    e = html
    flow = doc["flow"]

    def table(header, rows):
        head = "".join(f"<th>{e(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def items(values):
        return "<ul>" + "".join(f"<li>{e(v)}</li>" for v in values) + "</ul>"

    published = (table(doc["published_header"], doc["published_rows"]) + items(doc["notes"])
                 if doc["published_rows"] else "<p>No published values are configured.</p>")
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
             "table{border-collapse:collapse}td,th{border:1px solid #999;padding:.25em .5em;text-align:left}"
             "th{background:#eee}")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(doc['title'])}</title>"
            f"<style>{style}</style></head><body>\n<h1>{e(doc['title'])}</h1>\n"
            f"<h2>Results</h2>\n<p>{e(doc['paragraph'])}</p>\n<p>P values: {e('; '.join(doc['tests']))}.</p>\n"
            + "".join(f"<p>{e(note)}</p>\n" for note in doc["survival_notes"])
            + (f"<h2>Sensitivity analyses</h2>\n<p>{e(doc['sensitivity'])}</p>\n" if doc["sensitivity"] else "")
            + f"<h2>Patients</h2>\n<p>{e(flow_text(flow))}</p>\n"
            f"<h2>Published and reproduced</h2>\n{published}\n"
            f"<h2>Derivation rules in force</h2>\n{items(doc['rules'])}\n"
            f"<h2>Assumptions</h2>\n{items(doc['assumptions'])}\n</body></html>\n")


def write_summary(result_paths: dict[str, str], flow_path: str, config: dict, md_path: str, html_path: str,
                  sensitivity: list[Analysis] | None = None) -> None:
    results = {name: read_json(path) for name, path in result_paths.items()}
    doc = summary_document(results, read_json(flow_path), config, sensitivity)
    Path(md_path).write_text(render_markdown(doc), encoding="utf-8")
    Path(html_path).write_text(render_html(doc), encoding="utf-8")


def run_summary(inputs: dict, outputs: dict, **config) -> None:
    """What rule ``summary`` runs: one input per endpoint result (named after the endpoint) and ``flow`` ->
    ``outputs["md"]`` and ``outputs["html"]``, with each sensitivity variant's endpoint results (named
    ``sensitivity_input(variant, endpoint)``); ``config``: groups, time_unit_days, endpoints, published,
    sensitivity and statistics (alpha)."""
    variant_inputs = {sensitivity_input(v, e) for v in config["sensitivity"] for e in SENSITIVITY_ENDPOINTS}
    results = {name: path for name, path in inputs.items() if name != "flow" and name not in variant_inputs}
    labels = {variant: entry["label"] for variant, entry in config["sensitivity"].items()}
    analyses = read_analyses(inputs, labels, list(config["groups"]), config["statistics"]["alpha"])
    write_summary(results, inputs["flow"], config, outputs["md"], outputs["html"], analyses)


# ---------------------------------------------------------------- provenance

def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_version(repo: str | Path) -> dict | None:
    """The commit of the workflow's checkout and whether its tracked files differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout
    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": dirty}


def package_versions(lock_path: str | Path) -> dict[str, str | None]:
    """Installed versions of every package the lock pins (None when not installed)."""
    versions = {}
    for line in Path(lock_path).read_text().splitlines():
        if line and not line.startswith("#"):
            name = line.split("==")[0].strip()
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = None
    return dict(sorted(versions.items(), key=lambda kv: kv[0].lower()))


def provenance_record(*, export: str, dictionary: str, config_files: list[str], config: dict,
                      rules: dict, repo: str, lock: str) -> dict:
    """Inputs by SHA-256, the workflow's code version, the software and every rule's params; no timestamps."""
    canonical_config = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return {
        "inputs": {
            "export": {"path": export, "sha256": sha256_file(export)},
            "dictionary": {"path": dictionary, "sha256": sha256_file(dictionary)},
            "config_files": [{"path": p, "sha256": sha256_file(p)} for p in config_files],
            "config_effective_sha256": hashlib.sha256(canonical_config.encode()).hexdigest(),
        },
        "workflow": {"package": "chartreview", "version": __version__, "git": git_version(repo)},
        "software": {"python": platform.python_version(), "packages": package_versions(lock)},
        "config": config,
        "rules": rules,
    }


def run_provenance(inputs: dict, outputs: dict, *, config: dict, config_files: list[str], rules: dict,
                   repo) -> None:
    """What rule ``provenance`` runs: the record of ``inputs`` (export, dictionary, lock), the config and
    every rule's params -> ``outputs["provenance"]``."""
    record = provenance_record(export=inputs["export"], dictionary=inputs["dictionary"],
                               config_files=config_files, config=config, rules=rules, repo=repo,
                               lock=inputs["lock"])
    write_json(record, outputs["provenance"])
