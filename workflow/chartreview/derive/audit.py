"""The derivation audit: per patient, each derived value beside the source rows that decided it.

A reviewer checks a patient against the chart from one row: the group and its fusion_gene, the index
date, the first subsequent therapy, the baseline sites, the best overall response with the deciding
(and confirming) assessment, PFS, OS and CNS with the date, status, reason and the deciding row, and
the progression pattern with every progression row in its window, and the tumour size's baseline
assessment and best change with the reason in words. Source rows are named by form,
REDCap instance, date and coded value (never an identifier; record_id is the study code).

The CSV holds every patient. The HTML is self-contained and shows the rules, the flow, summary counts
and the per-patient audit; above HTML_MAX_PATIENTS patients it shows the first ones and says that the
CSV holds the rest (a browser cannot open a million-patient page).
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from chartreview.core.catalog import RESPONSES, TIME_TO_EVENT_ENDPOINTS
from chartreview.core.escaping import csv_frame, html
from chartreview.derive import events as ev
from chartreview.derive import texts as tx
from chartreview.derive import tumor_size as tum
from chartreview.derive.response import NE, SD
from chartreview.derive.rows import Rows, choice_labels, days_of, met_flag
from chartreview.derive.rules import rules_in_force

HTML_MAX_PATIENTS = 2000


def _describe(form: str, rows: Rows, which: np.ndarray, values: pa.Array | None, *,
              picked: bool = False) -> pa.Array:
    """'tumor_assessment #3 2014-03-02 PD' for the rows ``which`` ('' where which is -1); ``values``: one per
    row of ``rows``, or with ``picked`` one per entry of ``which``."""
    r = np.maximum(which, 0)
    if len(rows.day) == 0:
        return tx.at_rows(pa.array([], type=pa.string()), which)
    parts = [form + " #", rows.instance[r], " ", tx.iso(rows.day[r])]
    if values is not None:
        parts += [" ", values if picked else values.take(pa.array(r))]
    return pc.if_else(pa.array(which >= 0), tx.cat(*parts), "")


# Patients per piece of the audit that write_audit builds and writes at a time: a million patients' audit is
# over a gigabyte of text, never whole in memory.
AUDIT_CHUNK_PATIENTS = 50_000
# Fields of the per-patient results that index rows of a form, not patients: a patient range keeps them whole.
ROW_FIELDS = frozenset({"rows", "course"})


def _patients(result, which: slice):
    """A per-patient result (``Endpoint``, ``BestOverallResponse``, ``Patterns``, ``TumorSize``) for the
    patients ``which``."""
    return replace(result, **{f.name: getattr(result, f.name)[which] for f in fields(result)
                              if f.name not in ROW_FIELDS})


class Audit:
    """One row per analysed patient: each derived value, its date and reason, and its source rows.

    Built patient range by patient range: ``rows(start, stop)`` is the audit of those patients (row for row
    as the patients table), ``frame()`` every patient's; a patient's row depends on that patient alone.
    ``categories``: the progression pattern categories, as derivation names the boolean columns of ``prog``;
    ``treatment``: duration of response, time to treatment discontinuation and to next treatment, each as
    (endpoint, start day, which patients have a row); ``end_reason``: criz_end_reason's labels (null without).
    """

    def __init__(self, out, patients, dictionary, rules, index_day, therapy_row, st, ta, pr, bor, pfs, os_, cns,
                 patterns, tte, site_text, prog, size, *, categories: tuple, treatment: dict, end_reason: pa.Array):
        n = self.n = len(out)
        self.out, self.rules, self.index_day, self.therapy_row = out, rules, index_day, therapy_row
        self.st, self.ta, self.pr, self.bor, self.pfs, self.os_, self.cns = st, ta, pr, bor, pfs, os_, cns
        self.patterns, self.site_text, self.size, self.treatment = patterns, site_text, size, treatment
        self.end_reason, self.categories = end_reason, categories
        # per row of the forms, once for every piece
        self.response = tx.labels_of(ta.codes["response"], RESPONSES)
        site = tx.labels_of(pr.codes["site"], choice_labels(dictionary, "pd_site"))
        lesion = tx.labels_of(pr.codes["lesion"], choice_labels(dictionary, "pd_lesion"))
        self.pr_value = pc.if_else(pc.equal(lesion, ""), site, tx.cat(site, " (", lesion, ")")) if len(site) else site
        self.pattern_patient = pr.patient[patterns.rows]
        # per patient, from the patients table (which the audit does not keep)
        self.death_day = days_of(patients["death_date"])
        self.last_contact = days_of(patients["last_contact_date"])
        self.end_day = days_of(patients["criz_end_date"]) if "criz_end_date" in patients else np.full(n, tx.NEVER)
        self.fusion_gene = pa.array(patients["fusion_gene"].astype("string").array, type=pa.string())
        self.met_labels = list(dictionary["met_site"].choices.values())
        # the progressed patients, and their category flags (the rows of prog, in patient order)
        self.progressed = np.flatnonzero(patterns.progressed)
        self.category_flags = prog[list(categories)].to_numpy(dtype=bool)
        # each endpoint's rows of the long table, spread over the patients (-1 where a patient has none)
        which = tte["endpoint"].cat.codes.to_numpy()
        self.position = {e: np.full(n, -1, dtype=np.int64) for e in TIME_TO_EVENT_ENDPOINTS}
        for i, e in enumerate(TIME_TO_EVENT_ENDPOINTS):
            self.position[e][np.flatnonzero(treatment[e][2]) if e in treatment else np.arange(n)] = \
                np.flatnonzero(which == i)
        self.tte_reason = pa.array(tte["reason"].array, type=pa.string())
        self.tte_status = tte["status"].to_numpy()

    def frame(self) -> pd.DataFrame:
        """The audit of every patient."""
        return self.rows(0, self.n)

    def chunks(self, size: int | None = None):
        """The audit in pieces of ``size`` patients (AUDIT_CHUNK_PATIENTS), in order (one empty piece for no
        patient)."""
        size = size or AUDIT_CHUNK_PATIENTS
        for start in range(0, max(self.n, 1), size):
            yield self.rows(start, min(start + size, self.n))

    def rows(self, start: int, stop: int) -> pd.DataFrame:
        """The audit of the patients ``start`` to ``stop`` (exclusive)."""
        s, m = slice(start, stop), stop - start
        rules, ta, pr, st = self.rules, self.ta, self.pr, self.st
        response, pr_value = self.response, self.pr_value
        pfs, os_, cns, bor = (_patients(r, s) for r in (self.pfs, self.os_, self.cns, self.bor))
        patterns, size = _patients(self.patterns, s), _patients(self.size, s)
        death_day, last_contact, end_day = self.death_day[s], self.last_contact[s], self.end_day[s]
        index_day, therapy_row = self.index_day[s], self.therapy_row[s]
        out = self.out.iloc[s]

        def followup(field: str, day: np.ndarray) -> pa.Array:
            return pc.if_else(pa.array(day != tx.NEVER), tx.cat("followup " + field + " ", tx.iso(day)), "")

        def kind_row(endpoint, *kinds) -> np.ndarray:
            return np.where(np.isin(endpoint.kind, kinds), endpoint.row, -1)

        therapy = _describe("subsequent_therapy", st, therapy_row, None)
        pfs_source = tx.choose(
            [pfs.kind == ev.PFS_PD_ASSESSMENT, pfs.kind == ev.PFS_PD_FORM, pfs.kind == ev.PFS_DEATH],
            [_describe("tumor_assessment", ta, kind_row(pfs, ev.PFS_PD_ASSESSMENT), response),
             _describe("progression", pr, kind_row(pfs, ev.PFS_PD_FORM), pr_value),
             followup("death_date", death_day)],
            _describe("tumor_assessment", ta, kind_row(pfs, ev.PFS_CENSORED), response))
        new_therapy = (pfs.kind == ev.PFS_CENSORED) & rules.censor_at_new_therapy & (therapy_row >= 0)
        with_therapy = pc.if_else(pc.equal(pfs_source, ""), therapy, tx.cat(pfs_source, " | ", therapy))
        pfs_source = pc.if_else(pa.array(new_therapy), with_therapy, pfs_source)
        os_source = tx.choose([os_.status == 1], [followup("death_date", death_day)],
                              followup("last_contact_date", last_contact))
        cns_source = tx.choose(
            [cns.kind == ev.CNS_BRAIN, cns.kind == ev.CNS_NON_CNS, cns.kind == ev.CNS_NON_CNS_PD,
             cns.kind == ev.CNS_DEATH],
            [_describe("progression", pr, kind_row(cns, ev.CNS_BRAIN), pr_value),
             _describe("progression", pr, kind_row(cns, ev.CNS_NON_CNS), pr_value),
             _describe("tumor_assessment", ta, kind_row(cns, ev.CNS_NON_CNS_PD), response),
             followup("death_date", death_day)],
            followup("last_contact_date", last_contact))

        inside = (self.pattern_patient >= start) & (self.pattern_patient < stop)
        rows = self.patterns.rows[inside]
        pattern_source = tx.join_per_patient(self.pattern_patient[inside] - start,
                                             _describe("progression", pr, rows, pr_value), m)
        no_rows = patterns.progressed & (pattern_source.to_numpy(zero_copy_only=False) == "")
        window_end = np.where(patterns.progressed, patterns.first_day + rules.window_days, tx.NEVER)
        pattern_source = pc.if_else(pa.array(no_rows), tx.cat("no progression row from ", tx.iso(patterns.first_day),
                                                              " to ", tx.iso(window_end)), pattern_source)
        flags = np.zeros((m, len(self.categories)), dtype=bool)
        first, last = np.searchsorted(self.progressed, [start, stop])
        flags[self.progressed[first:last] - start] = self.category_flags[first:last]
        met = np.column_stack([out[met_flag(label)].to_numpy(dtype=bool) for label in self.met_labels])
        ongoing = end_day == tx.NEVER
        position = {e: self.position[e][s] for e in TIME_TO_EVENT_ENDPOINTS}
        status = {e: np.where(position[e] >= 0, self.tte_status[np.maximum(position[e], 0)], -1)
                  if len(self.tte_status) else np.full(m, -1) for e in TIME_TO_EVENT_ENDPOINTS}
        reason = {e: tx.at_rows(self.tte_reason, position[e]) for e in TIME_TO_EVENT_ENDPOINTS}
        endpoint = {"pfs": (pfs, pfs_source), "os": (os_, os_source), "cns": (cns, cns_source)}
        treatment = {e: (_patients(result, s), start_day[s], has_row[s])
                     for e, (result, start_day, has_row) in self.treatment.items()}
        ttd, ttnt = treatment["ttd"][0], treatment["ttnt"][0]
        end_reason = self.end_reason[start:stop]
        with_reason = pc.if_else(pc.is_null(end_reason), "",
                                 tx.cat(" (criz_end_reason ", end_reason.fill_null(""), ")"))
        sources = {
            "dor": pfs_source,
            "ttd": tx.choose([ttd.kind == ev.TTD_END, ttd.kind == ev.TTD_DEATH],
                             [tx.cat(tx.cat("treatment criz_end_date ", tx.iso(end_day)), with_reason),
                              followup("death_date", death_day)], followup("last_contact_date", last_contact)),
            "ttnt": tx.choose([ttnt.kind == ev.TTNT_THERAPY, ttnt.kind == ev.TTNT_DEATH],
                              [therapy, followup("death_date", death_day)],
                              followup("last_contact_date", last_contact)),
        }

        cols = {
            "record_id": pa.array(out["record_id"].array, type=pa.string()),
            "group": tx.labels_of(out["group"].cat.codes.to_numpy(), list(out["group"].cat.categories)),
            "fusion_gene": self.fusion_gene[start:stop],
            "index_date": tx.iso(index_day),
            "first_subsequent_therapy": therapy,
            "baseline_sites": tx.flags_text(met, self.met_labels, "none"),
            "met_extrathoracic": out["met_extrathoracic"].to_numpy(),
            "met_intrathoracic": out["met_intrathoracic"].to_numpy(),
            "best_overall_response": tx.labels_of(bor.response, RESPONSES),
            "bor_assessments": bor.n_assessments,
            "bor_decided_by": _bor_decided(ta, bor, response, rules),
            "bor_confirmed_by": _describe("tumor_assessment", ta, bor.confirmed_by, response),
            "response_onset": _describe("tumor_assessment", ta, bor.onset, response),
        }
        for e, (result, source) in endpoint.items():
            cols[f"{e}_status"] = status[e]
            cols[f"{e}_days"] = result.day - index_day
            cols[f"{e}_date"] = tx.iso(result.day)
            cols[f"{e}_reason"] = reason[e]
            cols[f"{e}_source"] = source
        for e, (result, start_day, has_row) in treatment.items():
            # a patient without a row (not a responder; a field the export lacks): status -1, no days, no date
            cols[f"{e}_status"] = status[e]
            days = pd.array(np.where(has_row, result.day - start_day, 0), dtype="Int64")
            days[~has_row] = pd.NA
            cols[f"{e}_days"] = days
            cols[f"{e}_date"] = pc.if_else(pa.array(has_row), tx.iso(result.day), "")
            cols[f"{e}_reason"] = reason[e]
            cols[f"{e}_source"] = pc.if_else(pa.array(has_row), sources[e], "")
        cols["progression_sites"] = pc.if_else(pa.array(patterns.progressed), self.site_text[start:stop], "")
        cols["progression_categories"] = tx.flags_text(flags, self.categories)
        cols["progression_source"] = pattern_source
        cols["criz_months"] = out["criz_months"].to_numpy()
        cols["criz_source"] = tx.choose(
            [ongoing], [tx.cat("ongoing: followup last_contact_date ", tx.iso(last_contact))],
            tx.cat("treatment criz_end_date ", tx.iso(end_day)))
        cols.update(_tumor_size(ta, size))
        return pd.DataFrame({k: pd.arrays.ArrowStringArray(v) if isinstance(v, pa.Array) else v
                             for k, v in cols.items()})


def _formatted(values: np.ndarray, template: str) -> pa.Array:
    """Numbers in words through ``template`` ('' for NaN), formatting each distinct value once."""
    unique, inverse = np.unique(np.round(values, 1), return_inverse=True)
    texts = ["" if np.isnan(u) else template.format(u) for u in unique]
    return pa.array(texts, type=pa.string()).take(pa.array(inverse.reshape(-1).astype(np.int64)))


def _tumor_size(ta, size) -> dict:
    """The tumour size's baseline assessment, best assessment, change and the reason in words."""
    n = len(size.reason)
    mm = ta.numbers.get(tum.SLD)

    def sums(which):  # formats only the sums shown, not every assessment's
        values = _formatted(mm[np.maximum(which, 0)], "{:g} mm") if mm is not None and len(mm) else None
        return _describe("tumor_assessment", ta, which, values, picked=True)

    baseline, best = sums(size.baseline), sums(size.best)
    change = _formatted(size.change, "{:+.1f}%")
    reasons = pa.array([""] + [tum.EXCLUSIONS[code] for code in sorted(tum.EXCLUSIONS)], type=pa.string())
    excluded = tx.cat("excluded from the tumour size: ", reasons.take(pa.array(size.reason.astype(np.int64))))
    included = tx.cat("best change ", change, ": the smallest sum in the response window (", best,
                      ") against the baseline (", baseline, ", the last assessment on or before the index date)")
    return {"tumor_size_baseline": baseline if n else pa.array([], pa.string()),
            "best_sld_change_percent": size.change,
            "tumor_size_reason": pc.if_else(pa.array(size.reason == tum.INCLUDED), included, excluded)}


def _bor_decided(ta, bor, response, rules) -> pa.Array:
    text = _describe("tumor_assessment", ta, bor.decided_by, response)
    early_sd = (bor.response == NE) & (ev.at(ta.codes["response"], bor.decided_by, -1) == SD)
    text = pc.if_else(pa.array(early_sd), tx.cat(text, f" (SD before day {rules.sd_min_days} counts as NE)"), text)
    return pc.if_else(pa.array(bor.decided_by >= 0), text, "no assessment in the window")


# --------------------------------------------------------------------------- files
def write_audit(derived, csv_path, html_path) -> None:
    """audit.csv (every patient, AUDIT_CHUNK_PATIENTS at a time through pyarrow's writer, which keeps a million
    rows fast; a text cell a spreadsheet would run as a formula neutralised) and audit.html, from the same
    pieces."""
    summary, schema, writer = AuditSummary(list(derived.flow["analysed"])), None, None
    options = pacsv.WriteOptions(quoting_style="needed")
    try:
        for piece in derived.audit.chunks():
            summary.add(piece)
            table = pa.Table.from_pandas(csv_frame(piece), preserve_index=False, schema=schema)
            if writer is None:
                schema = table.schema
                writer = pacsv.CSVWriter(str(csv_path), schema, write_options=options)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    Path(html_path).write_text(audit_html(derived, summary), encoding="utf-8")


class AuditSummary:
    """What audit.html shows of the whole audit, added up piece by piece: the patients, the best overall
    response by group, each endpoint's status counts, and the first HTML_MAX_PATIENTS patients."""

    def __init__(self, groups: list[str]):
        self.groups, self.n, self.bor, self.status, self.shown = groups, 0, None, None, []

    def add(self, piece: pd.DataFrame) -> None:
        bor = pd.crosstab(piece["best_overall_response"].astype(str), piece["group"].astype(str)).reindex(
            index=list(RESPONSES), columns=self.groups, fill_value=0)
        status = pd.DataFrame({e: piece[f"{e}_status"].value_counts().reindex([0, 1, 2], fill_value=0)
                               for e in TIME_TO_EVENT_ENDPOINTS if f"{e}_status" in piece})
        self.bor = bor if self.bor is None else self.bor + bor
        self.status = status if self.status is None else self.status + status
        if self.n < HTML_MAX_PATIENTS:
            self.shown.append(piece.head(HTML_MAX_PATIENTS - self.n))
        self.n += len(piece)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html(str(v))}</td>" for v in row) + "</tr>"
                   for row in frame.astype(str).itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# (title, value column, source column, words before the source value)
PATIENT_ITEMS = (
    ("Group", "group", "fusion_gene", "demographics fusion_gene "),
    ("Index date", "index_date", None, "treatment criz_start_date"),
    ("First subsequent therapy", None, "first_subsequent_therapy", ""),
    ("Baseline sites", "baseline_sites", None, "baseline met_site"),
    ("Extrathoracic at baseline", "met_extrathoracic", None, "baseline met_site"),
    ("Best overall response", "best_overall_response", "bor_decided_by", ""),
    ("Confirmed by", None, "bor_confirmed_by", ""),
    ("Response onset", None, "response_onset", ""),
    ("PFS", "pfs", "pfs_source", ""), ("OS", "os", "os_source", ""), ("CNS progression", "cns", "cns_source", ""),
    ("Duration of response", "dor", "dor_source", ""), ("Time to treatment discontinuation", "ttd", "ttd_source", ""),
    ("Time to next treatment or death", "ttnt", "ttnt_source", ""),
    ("Progression pattern", "progression_categories", "progression_source", ""),
    ("Progression sites", "progression_sites", None, ""),
    ("Crizotinib months", "criz_months", "criz_source", ""),
    ("Tumour size baseline", None, "tumor_size_baseline", ""),
    ("Best change in tumour size", "best_sld_change_percent", "tumor_size_reason", ""),
)


def _patient_block(row: dict, endpoints: list) -> str:
    lines = []
    for title, value, source, words in PATIENT_ITEMS:
        if value in TIME_TO_EVENT_ENDPOINTS:
            shown = "" if row[value + "_status"] < 0 else (
                f"status {row[value + '_status']}, day {row[value + '_days']} ({row[value + '_date']}): "
                f"{row[value + '_reason']}")
        elif value == "criz_months":
            shown = f"{row[value]:.2f}"
        elif value == "best_sld_change_percent":
            shown = "" if pd.isna(row[value]) else f"{row[value]:+.1f}%"
        else:
            shown = "" if value is None else str(row[value])
        src = "" if source is None or row[source] == "" else words + str(row[source])
        src = words if source is None and shown else src
        if shown or src:
            lines.append(f"<tr><th>{html(title)}</th><td>{html(shown)}</td>"
                         f"<td class='src'>{html(src)}</td></tr>")
    return (f"<section><h3>{html(str(row['record_id']))} ({html(str(row['group']))})</h3>"
            f"<table class='patient'><thead><tr><th>Derived</th><th>Value</th><th>Decided by</th></tr></thead>"
            f"<tbody>{''.join(lines)}</tbody></table></section>")


CSS = """body{font-family:sans-serif;margin:2em;max-width:75em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:0.2em 0.5em;
text-align:left;vertical-align:top;font-size:0.9em}thead th{background:#eee}td.src{color:#555}
section h3{margin:1.2em 0 0.2em;font-size:1em}.note{background:#fff6d5;padding:0.5em}"""


def audit_html(derived, summary: AuditSummary) -> str:
    """Self-contained, deterministic HTML (no timestamp): rules, flow, counts, per-patient audit; ``summary``:
    the audit's, added up piece by piece as write_audit writes it."""
    rules, flow = derived.rules, derived.flow
    endpoints = list(derived.time_to_event["endpoint"].cat.categories)
    rule_rows = pd.DataFrame(rules_in_force(rules), columns=["Rule", "In force"])
    flow_rows = pd.DataFrame([("Records exported", flow["records_exported"])]
                             + [(f"Excluded: {e['reason']}", e["n"]) for e in flow["excluded"]]
                             + [(f"Analysed: {g}", k) for g, k in flow["analysed"].items()],
                             columns=["", "n"])
    bor = summary.bor
    bor.index.name = "Best overall response"
    status = summary.status.rename(index={0: "0 censored", 1: "1 event", 2: "2 competing event"})
    status.index.name = "Status"
    shown = pd.concat(summary.shown) if len(summary.shown) > 1 else summary.shown[0]
    note = ""
    if summary.n > HTML_MAX_PATIENTS:
        note = (f"<p class='note'>The cohort has {summary.n} patients: this page shows the first "
                f"{HTML_MAX_PATIENTS} in export order; audit.csv beside it holds every patient with the "
                f"same columns.</p>")
    blocks = "".join(_patient_block(row, endpoints) for row in shown.to_dict("records"))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>Derivation audit</title>"
        f"<style>{CSS}</style></head><body>\n<h1>Derivation audit</h1>\n"
        "<p>For each analysed patient, every derived value beside the source rows of the chart-review "
        "export that decided it (form, REDCap instance, date and coded value). record_id is the study "
        "code; no patient identifier appears here.</p>\n"
        f"<h2>Rules in force</h2>\n{_table(rule_rows)}\n<h2>Patient flow</h2>\n{_table(flow_rows)}\n"
        f"<h2>Best overall response by group</h2>\n{_table(bor.reset_index())}\n"
        f"<h2>Time-to-event status counts</h2>\n{_table(status.reset_index())}\n"
        f"<h2>Per patient</h2>\n{note}{blocks}\n</body></html>\n")
