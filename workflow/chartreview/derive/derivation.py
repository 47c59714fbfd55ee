"""Analysis datasets: per patient, what counts as a response, an event or a censoring (issue 4).

Rules (every switch is a key under ``endpoints`` in the config; the defaults are in the config schema):

- Cohort: ``groups`` maps a group label to a ``fusion_gene`` code; the extracted column holds the
  dictionary's labels, so codes are mapped through the dictionary. Other records are excluded and
  counted with the reason in ``flow``.
- Index date ``criz_start_date``; durations are date differences in days (no +1); months are days /
  ``time_unit_days``.
- Response window: assessments after the index date and on or before the first subsequent therapy
  (the first started after the index date).
  Best overall response: see ``response.py`` (RECIST 1.1; ``endpoints.response``).
- PFS: the event is the earliest of the first PD assessment in the window, the first ``pd_date`` after
  the index and on or before the first subsequent therapy, and death on or before that therapy when it
  comes before progression. Otherwise censored at the last adequate assessment (response not NE) in the
  window, or at day 0 when there is none. ``endpoints.pfs.censor_at_new_therapy: false`` lifts the
  subsequent-therapy limit for PFS only (PD, progression rows and death after a new therapy count);
  the response window keeps it.
- OS: death, otherwise censored at ``last_contact_date``.
- CNS progression: status 1 at the first progression row with site Brain after the index (also after a
  first non-CNS progression), 2 at a competing event listed in ``endpoints.cns.competing`` (death;
  ``non_cns_progression``: the first progression, PD assessment or progression row, when no Brain row
  is dated within ``endpoints.progression.window_days`` of it), else 0 at last contact (also a death
  when death does not compete). A CNS progression on the day of a competing event is status 1.
- Progression patterns: for patients whose PFS event is progression, the sites of the progression rows
  dated from the first progression to ``endpoints.progression.window_days`` later.
- Baseline: each ``met_site`` flag, and the composites extrathoracic (brain included) and intrathoracic.
- Tumour size: the baseline is the last tumor assessment dated on or before the index date (not a
  response assessment); the best percentage change of ``ta_sld_mm`` from it to the smallest sum in the
  response window (``tumor_size``). A patient without either sum is excluded from it with the reason.
- Flow: records exported, excluded with the reasons, analysed per group, and per group the patients
  evaluable for response (best overall response not NE), with measurable disease at baseline
  (``measurable_disease`` = Yes; null when the export lacks the field) and with a tumour size change.

Vectorised: the repeating forms become numpy arrays sorted by patient, date and instance; each rule is
a handful of array operations, so a million patients take seconds. This module holds the cohort, the
orchestration, the tables and the files; ``response`` the best overall response, ``events`` PFS, OS, CNS
and progression patterns with their reasons, ``audit`` the audit, ``rules`` the rules in force,
``rows`` the source rows as arrays, ``texts`` the vectorised strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chartreview.core.catalog import (
    BASELINE_EXTRATHORACIC,
    BASELINE_INTRATHORACIC,
    DATA_ACCESS_GROUP,
    EXISTING_LESION,
    EXTRACTED_TABLES,
    GROUP_FIELD,
    NEW_LESION,
    PROGRESSION_BRAIN,
    PROGRESSION_EXTRATHORACIC,
    PROGRESSION_INTRATHORACIC,
    PROGRESSION_PATTERNS,
    RESPONSES,
    TIME_TO_EVENT_ENDPOINTS,
    TREATMENT_ENDPOINT_FIELDS,
    primary_input,
)
from chartreview.core.datasets import DerivedTables, ExtractedTables
from chartreview.core.dictionary import load_dictionary
from chartreview.core.result_files import write_json
from chartreview.core.sensitivity import copy_primary
from chartreview.derive.audit import Audit, write_audit
from chartreview.derive.events import (
    Endpoint,
    Patterns,
    at,
    cns_reasons,
    derive_cns,
    derive_dor,
    derive_os,
    derive_patterns,
    derive_pfs,
    derive_ttd,
    derive_ttnt,
    dor_reasons,
    os_reasons,
    pfs_reasons,
    ttd_reasons,
    ttnt_reasons,
)
from chartreview.derive.response import PR, SD, BestOverallResponse, best_overall_response, first_per_patient
from chartreview.derive.rows import Rows, choice_labels, days_of, label_codes, met_flag, rows_of
from chartreview.derive.rules import DerivationError, Rules
from chartreview.derive.texts import NEVER, bits_text, labels_of
from chartreview.derive.tumor_size import EXCLUSIONS, INCLUDED, SLD, TumorSize, best_change

# The audit lists the patterns with CNS first, the one the CNS endpoint reads; then the catalog's order.
AUDIT_PATTERNS = ("cns", *(pattern for pattern in PROGRESSION_PATTERNS if pattern != "cns"))
CARRIED = ("sex", "smoking_status", "ecog_ps", "histology", "stage", "criz_line")


def _positions(dictionary, name: str, codes) -> list[int]:
    return [i for i, code in enumerate(dictionary[name].choices) if code in codes]


# --------------------------------------------------------------------------- cohort
def select_cohort(patients: pd.DataFrame, dictionary, rules: Rules) -> tuple[pd.DataFrame, pd.Series, dict]:
    """Analysed patients (in export order), their group, and the flow counts with exclusion reasons."""
    gene_labels = dictionary["fusion_gene"].choices
    group_of = {}
    for group, code in rules.groups.items():
        if str(code) not in gene_labels:
            raise DerivationError(
                f"config groups: {group!r} maps to fusion_gene code {code!r}, which the data dictionary "
                f"({dictionary.path}) does not define (codes: {', '.join(gene_labels)})")
        group_of[gene_labels[str(code)]] = group
    gene = patients["fusion_gene"].astype(object)
    group = gene.map(group_of)
    no_start = patients["criz_start_date"].isna()
    reason = pd.Series(np.where(gene.isna(), "fusion_gene blank", "fusion_gene " + gene.astype(str)
                                + " not among the configured groups"), index=patients.index)
    reason[no_start & group.notna()] = "criz_start_date blank (no index date)"
    excluded = group.isna() | no_start
    counts = reason[excluded].value_counts(sort=False)
    flow = {"records_exported": int(len(patients)),
            "excluded": [{"reason": str(r), "n": int(counts[r])} for r in sorted(counts.index)],
            "analysed": {g: int((group[~excluded] == g).sum()) for g in rules.groups}}
    kept = patients.loc[~excluded].reset_index(drop=True)
    groups = pd.Categorical(group[~excluded].to_numpy(), categories=list(rules.groups))
    if kept["record_id"].duplicated().any():
        dup = kept["record_id"][kept["record_id"].duplicated()].iloc[0]
        raise DerivationError(f"record {dup}: more than one demographics row (record_id must be unique)")
    blank = kept["last_contact_date"].isna()
    if blank.any():
        ids = ", ".join(map(str, kept["record_id"][blank].head(5)))
        raise DerivationError(f"record(s) {ids}: followup field last_contact_date is blank; OS and CNS "
                              "censoring need it (rule: censored at last contact). Validation should have "
                              "stopped this export: correct the chart review and re-export.")
    return kept, pd.Series(groups), flow


# --------------------------------------------------------------------------- derive
def derive(tables, dictionary, config: dict) -> DerivedTables:
    """The analysis datasets of issue 4 from the typed extracted tables (see the module docstring)."""
    rules = Rules.from_config(config)
    patients, group, flow = select_cohort(tables.patients, dictionary, rules)
    n = len(patients)
    cohort = pd.Index(patients["record_id"])
    site_labels, lesion_labels = choice_labels(dictionary, "pd_site"), choice_labels(dictionary, "pd_lesion")
    # ta_response codes 1..5 are CR, PR, SD, PD, NE (input contract): positions follow the codes
    response_labels = tuple(dictionary["ta_response"].choices[str(code)] for code in range(1, 6))
    ta = rows_of(tables.tumor_assessments, "ta_date", cohort, {"response": ("ta_response", response_labels)},
                 numbers=(SLD,))
    pr = rows_of(tables.progression_sites, "pd_date", cohort,
                 {"site": ("pd_site", site_labels), "lesion": ("pd_lesion", lesion_labels)})
    # an export without a field of the treatment endpoints (TREATMENT_ENDPOINT_FIELDS) derives the others:
    # that endpoint gets no rows and its result says "not available"
    available = {"ttd": TREATMENT_ENDPOINT_FIELDS["ttd"] in patients,
                 "ttnt": TREATMENT_ENDPOINT_FIELDS["ttnt"] in tables.subsequent_therapies}
    st = rows_of(tables.subsequent_therapies if available["ttnt"] else
                 pd.DataFrame({"record_id": [], "st_start_date": pd.Series([], dtype="datetime64[ns]")}),
                 "st_start_date", cohort, {})
    del tables  # the rows are arrays now: the rule's caller holds no other reference, so the tables go
    index_day = days_of(patients["criz_start_date"])
    death_day = days_of(patients["death_date"])
    last_contact = days_of(patients["last_contact_date"])
    end_day = days_of(patients["criz_end_date"]) if available["ttd"] else np.full(n, NEVER)
    # the first subsequent therapy started after the index date (an earlier one is a prior line)
    therapy_row = first_per_patient(st.patient, st.day > index_day[st.patient], n)
    therapy_day = at(st.day, therapy_row, NEVER)

    # Response window: after the index date, on or before the first subsequent therapy.
    window = np.flatnonzero((ta.day > index_day[ta.patient]) & (ta.day <= therapy_day[ta.patient]))
    bor_local = best_overall_response(ta.patient[window], ta.day[window], ta.codes["response"][window],
                                      index_day, n, sd_min_days=rules.sd_min_days,
                                      confirmation=rules.confirmation,
                                      confirmation_min_days=rules.confirmation_min_days)
    bor = BestOverallResponse(
        bor_local.response, *(at(window, r, -1) for r in (bor_local.decided_by, bor_local.confirmed_by,
                                                          bor_local.onset)), bor_local.n_assessments)
    pfs = derive_pfs(n, index_day, therapy_day, death_day, ta, pr,
                     censor_at_new_therapy=rules.censor_at_new_therapy)
    os_ = derive_os(death_day, last_contact)
    brain = _positions(dictionary, "pd_site", (PROGRESSION_BRAIN,))[0]
    cns = derive_cns(n, index_day, death_day, last_contact, ta, pr, brain=brain, competing=rules.cns_competing,
                     window_days=rules.window_days)
    new = _positions(dictionary, "pd_lesion", (NEW_LESION,))[0]
    existing = _positions(dictionary, "pd_lesion", (EXISTING_LESION,))[0]
    patterns = derive_patterns(n, pfs, pr, window_days=rules.window_days, new=new, existing=existing)
    size = best_change(n, index_day, therapy_day, ta)

    onset_day = at(ta.day, bor.onset, NEVER)
    dor = derive_dor(onset_day, pfs)
    ttd = derive_ttd(end_day, death_day, last_contact)
    ttnt = derive_ttnt(therapy_day, therapy_row, death_day, last_contact)

    out = patient_table(patients, group, dictionary, rules, index_day, death_day, last_contact, end_day,
                        ta, bor, pfs, os_, patterns, size)
    flow.update(flow_of_analysed(out, rules))
    end_reason = labels_of(label_codes(patients["criz_end_reason"], choice_labels(dictionary, "criz_end_reason")),
                           choice_labels(dictionary, "criz_end_reason")) \
        if "criz_end_reason" in patients and "criz_end_reason" in dictionary else pa.nulls(n, pa.string())
    reasons = {"pfs": pfs_reasons(pfs, therapy_day, censor_at_new_therapy=rules.censor_at_new_therapy),
               "os": os_reasons(os_), "cns": cns_reasons(cns)}
    reasons["dor"] = dor_reasons(dor, onset_day, reasons["pfs"])
    reasons["ttd"] = ttd_reasons(ttd, end_reason.fill_null(""))
    reasons["ttnt"] = ttnt_reasons(ttnt)
    everyone = np.ones(n, dtype=bool)
    rows = {"pfs": everyone, "os": everyone, "cns": everyone, "dor": out["responder"].to_numpy(dtype=bool),
            "ttd": everyone & available["ttd"], "ttnt": everyone & available["ttnt"]}
    starts = {e: onset_day if e == "dor" else index_day for e in TIME_TO_EVENT_ENDPOINTS}
    tte = time_to_event_table(out, starts, {"pfs": pfs, "os": os_, "cns": cns, "dor": dor, "ttd": ttd,
                                            "ttnt": ttnt}, reasons, rows, rules.time_unit_days)
    del reasons  # the long table holds them now; the audit reads them there
    site_text = bits_text(patterns.site_bits, site_labels)
    prog = pattern_table(out, dictionary, pfs, patterns, site_text, brain)
    audit = Audit(out, patients, dictionary, rules, index_day, therapy_row, st, ta, pr, bor, pfs,
                  os_, cns, patterns, tte, site_text, prog, size, categories=AUDIT_PATTERNS,
                  treatment={"dor": (dor, onset_day, rows["dor"]), "ttd": (ttd, index_day, rows["ttd"]),
                             "ttnt": (ttnt, index_day, rows["ttnt"])},
                  end_reason=end_reason)
    del patients  # the extracted table: the audit keeps only the columns it shows
    course = tumor_size_course(out, index_day, ta, size, rules.time_unit_days)
    return DerivedTables(out, tte, prog, audit, flow, rules.as_dict(), course)


def patient_table(patients, group, dictionary, rules: Rules, index_day, death_day, last_contact, end_day,
                  ta: Rows, bor: BestOverallResponse, pfs: Endpoint, os_: Endpoint,
                  patterns: Patterns, size: TumorSize) -> pd.DataFrame:
    """One row per analysed patient: characteristics, baseline sites, response, covariates, swimmer,
    tumour size."""
    unit = rules.time_unit_days
    cols: dict = {"record_id": patients["record_id"].astype("string").array, "group": group.array,
                  "age": patients["age"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)}
    for column in CARRIED:
        if column not in patients:
            raise DerivationError(f"patients table: the column {column} is missing")
        cols[column] = patients[column].array
    if "criz_end_reason" in patients:  # the ttd result tabulates it ("not available" without it)
        cols["criz_end_reason"] = patients["criz_end_reason"].array
    if DATA_ACCESS_GROUP in patients:  # the site, when the export has data access groups
        cols[DATA_ACCESS_GROUP] = patients[DATA_ACCESS_GROUP].array
    met_labels = dictionary["met_site"].choices
    for code, label in met_labels.items():
        cols[met_flag(label)] = _flag(patients, f"met_site___{code}")
    cols["met_extrathoracic"] = np.logical_or.reduce(
        [cols[met_flag(met_labels[c])] for c in BASELINE_EXTRATHORACIC if c in met_labels])
    cols["met_intrathoracic"] = np.logical_or.reduce(
        [cols[met_flag(met_labels[c])] for c in BASELINE_INTRATHORACIC if c in met_labels])
    cols["best_overall_response"] = pd.Categorical.from_codes(bor.response.astype(np.int64),
                                                              categories=list(RESPONSES))
    cols["responder"] = bor.response <= PR
    cols["disease_control"] = bor.response <= SD
    ecog = label_codes(patients["ecog_ps"], choice_labels(dictionary, "ecog_ps"))
    two_plus = np.array([int(code) >= 2 for code in dictionary["ecog_ps"].choices] + [False])
    cols["ecog_2plus"] = two_plus[ecog]  # a blank ECOG (-1) reads the trailing False
    cols["age_lt_65"] = cols["age"] < 65
    cols["brain_metastases"] = cols["met_brain"]
    ongoing = end_day == NEVER
    criz_stop = np.where(ongoing, last_contact, end_day)
    cols["criz_months"] = (criz_stop - index_day) / unit
    cols["criz_ongoing"] = ongoing
    onset_day = at(ta.day, bor.onset, NEVER)
    cols["response_onset_months"] = np.where(onset_day != NEVER, onset_day - index_day, np.nan) / unit
    cols["progression_months"] = np.where(patterns.progressed, pfs.day - index_day, np.nan) / unit
    cols["treatment_beyond_progression"] = patterns.progressed & (criz_stop > pfs.day)
    # crizotinib after the first progression (to its end, or to last contact while ongoing): the ttd result
    # counts treatment beyond progression past its configured grace
    after = np.where(patterns.progressed, criz_stop - pfs.day, np.nan)
    cols["criz_after_progression_days"] = after
    cols["criz_after_progression_months"] = after / unit
    cols["death_months"] = np.where(death_day != NEVER, death_day - index_day, np.nan) / unit
    cols["followup_months"] = (os_.day - index_day) / unit
    if "measurable_disease" in patients:  # optional: the response endpoint says when it is not available
        cols["measurable_disease"] = patients["measurable_disease"].astype("boolean").array
    cols["baseline_sld_mm"] = size.baseline_mm
    cols["best_sld_change_percent"] = size.change
    reasons = pa.array([""] + [EXCLUSIONS[code] for code in sorted(EXCLUSIONS)], type=pa.string())
    excluded = reasons.take(pa.array(size.reason.astype(np.int64)))
    cols["tumor_size_excluded"] = pd.arrays.ArrowStringArray(
        pc.if_else(pa.array(size.reason == INCLUDED), pa.scalar(None, pa.string()), excluded))
    return pd.DataFrame(cols)


def flow_of_analysed(out: pd.DataFrame, rules: Rules) -> dict:
    """The flow's stages after the analysed patients, per group: evaluable for response (best overall
    response not NE), with measurable disease at baseline (None when the export lacks the field) and
    with a tumour size change (a baseline and a post-baseline sum)."""
    group = out["group"]

    def per_group(flags) -> dict:
        return {g: int(np.asarray(flags)[(group == g).to_numpy()].sum()) for g in rules.groups}

    measurable = (per_group(out["measurable_disease"].fillna(False).to_numpy(dtype=bool))
                  if "measurable_disease" in out else None)
    return {"response_evaluable": per_group(out["best_overall_response"].astype(str) != "NE"),
            "measurable_disease": measurable,
            "tumor_size": per_group(out["tumor_size_excluded"].isna())}


def tumor_size_course(out: pd.DataFrame, index_day, ta: Rows, size: TumorSize, unit: float) -> pd.DataFrame:
    """One row per sum of diameters shown over time (patients with a best change): the baseline and the
    response window's measured assessments, with the percentage change from the baseline."""
    rows = np.flatnonzero(size.course)
    who = ta.patient[rows]
    days = ta.day[rows] - index_day[who]
    mm = ta.numbers[SLD][rows] if SLD in ta.numbers else np.empty(0)
    ids = pa.array(out["record_id"].array, type=pa.string())
    return pd.DataFrame({
        "record_id": pd.arrays.ArrowStringArray(ids.take(pa.array(who))),
        "group": pd.Categorical.from_codes(out["group"].cat.codes.to_numpy()[who], dtype=out["group"].dtype),
        "best_overall_response": out["best_overall_response"].array.take(who),
        "days": days.astype(np.int64),
        "months": days / unit,
        "sld_mm": mm,
        "change_percent": (mm - size.baseline_mm[who]) / size.baseline_mm[who] * 100.0,
        "baseline": rows == size.baseline[who],
        "best": rows == size.best[who],
    }, copy=False)  # fresh arrays: no copy into 2-D blocks (millions of rows)


def pattern_table(out: pd.DataFrame, dictionary, pfs: Endpoint, patterns: Patterns, site_text: pa.Array,
                  brain: int) -> pd.DataFrame:
    """One row per patient whose PFS event is progression: first date, sites and pattern categories."""
    sel = np.flatnonzero(patterns.progressed)
    bits = patterns.site_bits[sel]
    intra = sum(1 << i for i in _positions(dictionary, "pd_site", PROGRESSION_INTRATHORACIC))
    extra = sum(1 << i for i in _positions(dictionary, "pd_site", PROGRESSION_EXTRATHORACIC))
    return pd.DataFrame({
        "record_id": out["record_id"].array.take(sel),
        "group": out["group"].array.take(sel),
        "first_progression_date": pfs.day[sel].astype("datetime64[D]").astype("datetime64[ns]"),
        "sites": pd.arrays.ArrowStringArray(site_text.take(pa.array(sel))),
        "cns": ((bits >> brain) & 1) == 1,
        "intrathoracic_only": (bits != 0) & ((bits & ~intra) == 0),
        "extrathoracic": (bits & extra) != 0,
        "new_lesion": patterns.new_lesion[sel],
        "existing_only": patterns.existing_only[sel],
        "unknown": bits == 0}, copy=False)


def _flag(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table:
        raise DerivationError(f"patients table: the checkbox column {column} is missing")
    return table[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def time_to_event_table(out: pd.DataFrame, starts: dict, endpoints: dict, reasons: dict, rows: dict,
                        unit: float) -> pd.DataFrame:
    """Long form: one row per patient and endpoint, endpoints in TIME_TO_EVENT_ENDPOINTS order, patients in
    cohort order; ``rows``: per endpoint, which patients have a row (duration of response: responders);
    ``starts``: per endpoint, the day its time counts from (the index date; the response onset for DoR)."""
    names = TIME_TO_EVENT_ENDPOINTS
    keep = [np.flatnonzero(rows[e]) for e in names]
    patient = np.concatenate(keep)
    day = np.concatenate([endpoints[e].day[k] for e, k in zip(names, keep)])
    days = day - np.concatenate([starts[e][k] for e, k in zip(names, keep)])
    ids = pa.array(out["record_id"].array, type=pa.string())
    return pd.DataFrame({
        "record_id": pd.arrays.ArrowStringArray(ids.take(pa.array(patient))),
        "group": pd.Categorical.from_codes(out["group"].cat.codes.to_numpy()[patient], dtype=out["group"].dtype),
        "endpoint": pd.Categorical.from_codes(np.repeat(np.arange(len(names)), [len(k) for k in keep]),
                                              categories=list(names)),
        "days": days.astype(np.int64),
        "months": days / unit,
        "status": np.concatenate([endpoints[e].status[k] for e, k in zip(names, keep)]).astype(np.int8),
        "date": day.astype("datetime64[D]").astype("datetime64[ns]"),
        "reason": pd.arrays.ArrowStringArray(pa.concat_arrays([
            reasons[e] if len(k) == len(reasons[e]) else reasons[e].take(pa.array(k))  # every patient: no copy
            for e, k in zip(names, keep)])),
    }, copy=False)  # fresh arrays: no copy into 2-D blocks (millions of rows)


# --------------------------------------------------------------------------- files
def write_derived(derived: DerivedTables, paths: Mapping[str, str | Path]) -> None:
    """Each derived file to its named path: patients, time_to_event, progression_patterns (parquet),
    tumor_size_course, audit_csv, audit_html and flow (JSON) (the outputs of rule ``derive``)."""
    for path in paths.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    derived.patients.to_parquet(paths["patients"], index=False)
    derived.time_to_event.to_parquet(paths["time_to_event"], index=False)
    derived.progression_patterns.to_parquet(paths["progression_patterns"], index=False)
    derived.tumor_size_course.to_parquet(paths["tumor_size_course"], index=False)
    write_audit(derived, paths["audit_csv"], paths["audit_html"])
    write_json(derived.flow, paths["flow"])


def read_extracted(paths: Mapping[str, str | Path]) -> ExtractedTables:
    """The four typed tables (``paths``: table name -> parquet file; other names are ignored).

    Reads only what derivation needs, not the validation's material that ``extract.redcap.read_tables`` adds.
    """
    try:
        return ExtractedTables(**{name: _read_table(paths[name], READ_COLUMNS.get(name)) for name in EXTRACTED_TABLES})
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DerivationError(f"cannot read the extracted tables ({exc})") from None


# The columns derivation reads of each repeating form (those the file has; the patients table is read whole).
READ_COLUMNS = {
    "tumor_assessments": ("record_id", "instance", "ta_date", "ta_response", SLD),
    "progression_sites": ("record_id", "instance", "pd_date", "pd_site", "pd_lesion"),
    "subsequent_therapies": ("record_id", "instance", TREATMENT_ENDPOINT_FIELDS["ttnt"]),
}


def _read_table(path, columns: tuple | None) -> pd.DataFrame:
    """A parquet table; with ``columns``, only those it has, and record_id kept as Arrow text (the rows are
    looked up in the cohort in Arrow): millions of Python strings would cost seconds and gigabytes."""
    if columns is None:
        return pd.read_parquet(path)
    names = pq.read_schema(path).names
    table = pd.read_parquet(path, columns=[c for c in columns if c in names and c != "record_id"])
    record_id = pq.read_table(path, columns=["record_id"])["record_id"].combine_chunks()
    table.insert(0, "record_id", pd.arrays.ArrowStringArray(record_id))
    return table


def require_every_group(flow: dict, groups: Mapping[str, int]) -> None:
    """Every comparison sets one group against the other: a group without an analysed patient stops the
    run here, before any endpoint is computed (the derivation itself works on one group, as its tests do)."""
    empty = [g for g, n in flow["analysed"].items() if n == 0]
    if empty:
        analysed = ", ".join(f"{g} {n}" for g, n in flow["analysed"].items())
        dropped = "; ".join(f"{x['reason']}: {x['n']}" for x in flow["excluded"]) or "none"
        raise DerivationError(
            f"config groups: no patient is analysed in group {empty[0]!r} ({GROUP_FIELD} code "
            f"{groups[empty[0]]}); analysed per group: {analysed}; of {flow['records_exported']} records "
            f"exported, excluded: {dropped}. Each group needs patients: check the export's {GROUP_FIELD} "
            f"values and the codes of config key groups")


def run(inputs: Mapping[str, str | Path], outputs: Mapping[str, str | Path], **config) -> str:
    """What rule ``derive`` runs: the extracted tables and the dictionary of ``inputs`` -> the files of
    ``outputs`` (names as in ``write_derived``); ``config``: the config keys derivation reads. Nothing is
    written on an error. Returns the line for the log."""
    derived = derive(read_extracted(inputs), load_dictionary(inputs["dictionary"]), config)
    require_every_group(derived.flow, config["groups"])
    write_derived(derived, outputs)
    return f"derive: {derived.flow}"


def run_variant(inputs: Mapping[str, str | Path], outputs: Mapping[str, str | Path], **config) -> str:
    """What rule ``sensitivity_derive`` runs: as ``run``, with the variant's ``config``; a variant whose
    derivation config is the primary analysis's gets the primary analysis's derived files as inputs (named
    ``primary_input(name)``) and copies them. Returns the line for the log."""
    if primary_input("patients") in inputs:
        return copy_primary(inputs, outputs)
    return run(inputs, outputs, **config)
