"""Synthetic chart-review exports: the calibrated 68-patient example and registries of any size.

Every patient written here is SYNTHETIC: names read "SYNTHETIC Patient 001", MRNs "SYN-0000001",
and no record describes a real person. The cohort (latent trajectories, calibrated to the published
study through ``resources/calibration_targets.yaml``) comes from ``synth_cohort``; this module renders
it and writes it:

- Rendering: REDCap rows consistent with the derivation rules of issue 4 (tumor assessments about
  every 8 weeks, later 12, with jitter; one progression row per site; dates before death and last
  contact), vectorised over a chunk of patients.
- Writing: the REDCap flat CSV (raw codes), its label variant, and an .xlsx workbook, reproducible
  byte for byte; the raw CSV streamed chunk by chunk.
- The generator (``generate``) and the command line, which checks the calibration targets.

Command: ``python -m chartreview.synthetic --patients 68 --seed 20230410 --out resources/example/``
(see resources/example/README.md).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from chartreview.core.catalog import BASELINE_SITES, FORM_TABLES, PROGRESSION_SITES, RESPONSE_CODES, RESPONSES
from chartreview.core.dictionary import DataDictionary, load_dictionary
from chartreview.synthetic import calibration
from chartreview.synthetic.cohort import (
    CENS_LOST,
    CENS_ONGOING,
    CENS_TOXICITY,
    EPOCH,
    PFS_DEATH,
    PFS_PD,
    Design,
    SynthError,
    _uniform_int,
    chunk_cohort,
)

REPEATING = tuple(FORM_TABLES)
INSTRUMENT_ORDER = {"": 0, **{form: order for order, form in enumerate(REPEATING, start=1)}}

# RECIST time-point responses (dictionary codes)
CR, PR, SD, PD, NE = (int(RESPONSE_CODES[response]) for response in RESPONSES)
# progression site codes
_SITE_CODE = {label: int(code) for code, label in PROGRESSION_SITES.items()}
BRAIN, LIVER, BONE, ADRENAL, PLEURA, LUNG, CONTRA_LUNG, THORACIC_LN, DISTANT_LN, OTHER_EXTRA = (
    _SITE_CODE[label] for label in ("Brain", "Liver", "Bone", "Adrenal", "Pleura", "Lung", "Contralateral lung",
                                    "Thoracic lymph node", "Distant lymph node", "Other extrathoracic"))
# baseline met_site code of the same organ as a progression site (for existing vs new lesions)
BASELINE_OF_SITE = {_SITE_CODE[label]: int(code) for code, label in BASELINE_SITES.items()
                    if label in _SITE_CODE}

SUBSEQUENT_AGENTS = {  # (agent, probability) for the first and the later lines
    "ALK": ([("Alectinib", 0.75), ("Brigatinib", 0.10), ("Carboplatin + pemetrexed", 0.15)],
            [("Lorlatinib", 0.5), ("Brigatinib", 0.2), ("Cisplatin + pemetrexed", 0.3)]),
    "ROS1": ([("Entrectinib", 0.35), ("Lorlatinib", 0.15), ("Carboplatin + pemetrexed", 0.5)],
             [("Lorlatinib", 0.4), ("Cisplatin + pemetrexed", 0.4), ("Entrectinib", 0.2)]),
}
# Japanese approval dates: before them the chart shows a platinum doublet instead.
APPROVED = {"Alectinib": "2014-09-26", "Brigatinib": "2021-04-01", "Lorlatinib": "2018-11-16",
            "Entrectinib": "2020-02-21"}
PARTNERS = {"ALK": [("EML4", 0.9), ("KIF5B", 0.05), ("KLC1", 0.05)],
            "ROS1": [("CD74", 0.45), ("EZR", 0.15), ("SDC4", 0.15), ("SLC34A2", 0.1), ("TPM3", 0.05),
                     ("GOPC", 0.1)]}


# ----------------------------------------------------------------------------------------------
# Rendering: REDCap rows
# ----------------------------------------------------------------------------------------------

def _choice(rng: np.random.Generator, options: list[tuple], n: int) -> np.ndarray:
    values, p = zip(*options)
    return np.asarray(values)[rng.choice(len(values), size=n, p=np.asarray(p) / sum(p))]


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-patient row counts: the patient of each row and the row's 1-based index within it."""
    patient = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    k = np.arange(patient.size) - starts[patient] + 1
    return patient, k


def _n_visits(anchor: np.ndarray) -> np.ndarray:
    """Assessments up to a day: every 8 weeks in the first year, every 12 weeks after."""
    m = np.where(anchor <= 365, np.round(anchor / 56), 6 + np.round((anchor - 365) / 84))
    return np.maximum(1, m).astype(np.int64)


def render(T: dict, dd: DataDictionary, first_record: int, total: int) -> dict:
    """The REDCap rows of one chunk: {"": main rows, form: repeating rows}, each a dict of column ->
    (numpy values, missing mask or None), plus "_patient" and "_instance" for ordering."""
    n = T["n"]
    rng = np.random.default_rng(T["rng_state"])
    labels = T["labels"]
    group = T["group"]
    label_of = np.asarray(labels)[group]
    start = T["start"]
    pfs_type = T["pfs_type"]
    width = max(3, len(str(total)))
    numbers = np.char.zfill((np.arange(n) + first_record).astype(str), width)
    record_id = (np.arange(n) + first_record).astype(str)
    main: dict = {}

    def put(table, name, values, missing=None):
        table[name] = (values, missing)

    # --- demographics
    age = np.clip(np.round(rng.normal(60, 11, n)), 27, 86).astype(np.int64)
    birth = start - age * 365 - np.floor(age / 4).astype(np.int64) - _uniform_int(rng, 1, 360, n)
    put(main, "record_id", record_id)
    put(main, "mrn", np.char.add("SYN-", np.char.zfill((np.arange(n) + first_record).astype(str), 7)))
    put(main, "patient_name", np.char.add("SYNTHETIC Patient ", numbers))
    put(main, "birth_date", birth)
    ros1 = label_of == "ROS1"
    put(main, "sex", np.where(rng.random(n) < np.where(ros1, 0.6, 0.52), 2, 1))
    smoking = _choice(rng, [(0, 0.68), (1, 0.27), (2, 0.05)], n)
    put(main, "smoking_status", smoking)
    packs = np.where(smoking == 0, 0, np.clip(np.round(rng.lognormal(np.log(20), 0.7, n)), 1, 120)).astype(np.int64)
    put(main, "pack_years", packs, (smoking > 0) & (rng.random(n) < 0.3))
    put(main, "ecog_ps", _choice(rng, [(0, 0.4), (1, 0.5), (2, 0.08), (3, 0.02)], n))
    put(main, "histology", _choice(rng, [(1, 0.94), (2, 0.02), (3, 0.04)], n))
    stage = np.where(T["ext"], _choice(rng, [(4, 0.8), (5, 0.2)], n),
                     _choice(rng, [(3, 0.55), (5, 0.25), (1, 0.12), (2, 0.08)], n))
    put(main, "stage", stage)
    line = _choice(rng, [(1, 0.55), (2, 0.35), (3, 0.10)], n)
    diag = np.where(line == 1, start - _uniform_int(rng, 14, 60, n), start - _uniform_int(rng, 120, 1200, n))
    put(main, "diagnosis_date", diag)
    put(main, "fusion_gene", np.asarray([T["codes"][g] for g in labels])[group])
    fish = rng.random(n) < np.where(ros1, 0.1, 0.6)
    ihc = rng.random(n) < np.where(ros1, 0.05, 0.8)
    rtpcr = rng.random(n) < np.where(ros1, 0.7, 0.1)
    ngs = rng.random(n) < np.where(ros1, 0.35, 0.15)
    none = ~(fish | ihc | rtpcr | ngs)
    ihc |= none & ~ros1
    rtpcr |= none & ros1
    for code, flag in zip("1234", (fish, ihc, rtpcr, ngs)):
        put(main, f"fusion_method___{code}", flag.astype(np.int64))
    partner = np.where(ros1, _choice(rng, PARTNERS["ROS1"], n), _choice(rng, PARTNERS["ALK"], n))
    put(main, "fusion_partner", partner, rng.random(n) < 0.35)
    # --- treatment
    put(main, "criz_start_date", start)
    put(main, "criz_line", line)
    put(main, "criz_dose_mg", _choice(rng, [(500, 0.85), (400, 0.1), (250, 0.05)], n))
    criz_end = T["criz_end"]
    put(main, "criz_end_date", start + criz_end, criz_end < 0)
    reason = np.select([pfs_type == CENS_ONGOING, pfs_type == PFS_DEATH, pfs_type == CENS_TOXICITY,
                        pfs_type == CENS_LOST], [5, 3, 2, 4], 1)
    put(main, "criz_end_reason", reason)
    # --- baseline
    met = T["met"]
    for code in range(1, 10):
        put(main, f"met_site___{code}", met[:, code].astype(np.int64))
    brain = T["brain"]
    put(main, "brain_met_symptomatic", (brain & (rng.random(n) < 0.3)).astype(np.int64), rng.random(n) < 0.02)
    put(main, "prior_brain_rt", (brain & (rng.random(n) < 0.4)).astype(np.int64))
    measurable = T["responder"] | (rng.random(n) < 0.9)
    put(main, "measurable_disease", measurable.astype(np.int64))
    # --- follow-up
    dead = T["dead"]
    put(main, "last_contact_date", start + T["last_contact"])
    put(main, "vital_status", dead.astype(np.int64))
    put(main, "death_date", start + T["death"], ~dead)
    put(main, "death_cause", _choice(rng, [(1, 0.85), (2, 0.07), (3, 0.08)], n), ~dead)
    for form in ("demographics", "treatment", "baseline", "followup"):
        put(main, f"{form}_complete", np.where(rng.random(n) < 0.015, 1, 2))
    main["_patient"] = np.arange(n)
    main["_instance"] = np.zeros(n, dtype=np.int64)

    return {"": main, "tumor_assessment": _assessments(T, rng, measurable),
            "progression": _progressions(T, rng), "subsequent_therapy": _therapies(T, rng, ros1)}


def _assessments(T: dict, rng: np.random.Generator, measurable: np.ndarray) -> dict:
    pfs_type, pfs_day, start = T["pfs_type"], T["pfs_day"], T["start"]
    is_pd = pfs_type == PFS_PD
    # scans up to the PFS day (PD, or the last adequate scan), or before death for the PFS deaths
    anchor = np.where(pfs_type == PFS_DEATH, pfs_day - T["death_gap"], pfs_day)
    m = np.where(anchor < 28, 0, _n_visits(anchor))
    p, k = _segments(m)
    mp, ap = m[p], anchor[p]
    jitter = rng.integers(-7, 8, p.size)
    day = np.where(k == mp, ap, np.clip(np.round(k * ap / mp) + jitter, 1, ap - 1)).astype(np.int64)
    event_row = is_pd[p] & (k == mp)
    responder, onset = T["responder"][p], T["onset"][p]
    n_pre = np.where(is_pd, m - 1, m)[p]
    onset = np.minimum(onset, np.maximum(n_pre, 1))
    resp = np.where(responder & (k >= onset), np.where(T["cr"][p] & (k >= onset + 2), CR, PR), SD)
    ne = (rng.random(p.size) < 0.03) & (k < mp) & ~(responder & (k >= onset))
    resp = np.where(ne, NE, resp)
    resp = np.where(event_row, PD, resp)
    # treatment beyond progression: more scans, the last one PD
    n_post = np.where(is_pd & T["tbp"], T["n_post"], 0)
    q, j = _segments(n_post)
    post_day = pfs_day[q] + 56 * j + np.where(j < n_post[q], rng.integers(-5, 6, q.size), 0)
    post_resp = np.where(j == n_post[q], PD, SD)
    patient = np.concatenate([p, q])
    day = np.concatenate([day, post_day])
    resp = np.concatenate([resp, post_resp])
    order = np.lexsort((day, patient))
    patient, day, resp = patient[order], day[order], resp[order]
    _, inst = _segments(np.bincount(patient, minlength=T["n"]))
    baseline_mm = np.round(rng.uniform(25, 110, T["n"]))
    base = baseline_mm[patient]
    factor = np.select([resp == CR, resp == PR, resp == SD, resp == PD],
                       [np.zeros(patient.size), rng.uniform(0.35, 0.68, patient.size),
                        rng.uniform(0.75, 1.12, patient.size), rng.uniform(1.22, 1.6, patient.size)], 0.0)
    sld = np.round(base * factor).astype(np.int64)
    sld_missing = (resp == NE) | ~measurable[patient] | (rng.random(patient.size) < 0.02)
    table = {"record_id": None, "ta_date": (start[patient] + day, None), "ta_response": (resp, None),
             "ta_sld_mm": (sld, sld_missing),
             "ta_modality": (_choice(rng, [(1, 0.85), (2, 0.1), (3, 0.05)], patient.size), None),
             "tumor_assessment_complete": (np.where(rng.random(patient.size) < 0.01, 1, 2), None),
             "_patient": patient, "_instance": inst}
    return _with_baseline_scans(table, T, baseline_mm, measurable)


def _with_baseline_scans(table: dict, T: dict, base: np.ndarray, measurable: np.ndarray) -> dict:
    """A baseline scan per patient before crizotinib start (up to 4 weeks before, none dated after it): the
    sum of diameters near the latent baseline the later sums are drawn from, no response (it is not a response
    assessment). Its draws come from their own stream, so every value drawn before stays as it was; it is
    instance 1 and shifts the later instances by one."""
    rng = np.random.default_rng([int(T["rng_state"]), 0xBA5E])
    n, start = T["n"], T["start"]
    patient = np.arange(n)
    day = -rng.integers(0, 29, n)
    sld = np.round(base * rng.uniform(0.95, 1.05, n)).astype(np.int64)
    blank = ~measurable | (rng.random(n) < 0.02)
    merged = {"record_id": None}
    rows = {"ta_date": (start + day, None), "ta_response": (np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)),
            "ta_sld_mm": (sld, blank), "ta_modality": (_choice(rng, [(1, 0.9), (3, 0.1)], n), None),
            "tumor_assessment_complete": (np.where(rng.random(n) < 0.01, 1, 2), None)}
    for name, (values, missing) in rows.items():
        old_values, old_missing = table[name]
        old_missing = np.zeros(len(old_values), dtype=bool) if old_missing is None else old_missing
        merged[name] = (np.concatenate([values, old_values]), np.concatenate([missing if missing is not None
                                                                            else np.zeros(n, dtype=bool),
                                                                            old_missing]))
    merged["_patient"] = np.concatenate([patient, table["_patient"]])
    merged["_instance"] = np.concatenate([np.ones(n, dtype=np.int64), table["_instance"] + 1])
    return merged


def _progressions(T: dict, rng: np.random.Generator) -> dict:
    n, start = T["n"], T["start"]
    pfs_type, pfs_day = T["pfs_type"], T["pfs_day"]
    pd_ = pfs_type == PFS_PD
    io_only, cns_first = T["io_only"], T["cns_first"]
    sites = np.zeros((n, 11), dtype=bool)
    intra = np.array([LUNG, THORACIC_LN, PLEURA, CONTRA_LUNG])
    first_intra = intra[rng.choice(4, size=n, p=[0.45, 0.25, 0.2, 0.1])]
    second_intra = intra[rng.choice(4, size=n, p=[0.25, 0.35, 0.25, 0.15])]
    rows = np.arange(n)
    sites[rows, first_intra] = pd_ & (io_only | (rng.random(n) < 0.35))
    sites[rows, second_intra] |= pd_ & io_only & (rng.random(n) < 0.3)
    ext = pd_ & ~io_only
    sites[:, BRAIN] = cns_first
    sites[:, LIVER] = ext & (rng.random(n) < 0.25)
    sites[:, BONE] = ext & (rng.random(n) < 0.45)
    sites[:, ADRENAL] = ext & (rng.random(n) < 0.12)
    sites[:, DISTANT_LN] = ext & (rng.random(n) < 0.2)
    sites[:, OTHER_EXTRA] = ext & (rng.random(n) < 0.08)
    extra_cols = [BRAIN, LIVER, BONE, ADRENAL, DISTANT_LN, OTHER_EXTRA]
    sites[ext & ~sites[:, extra_cols].any(axis=1), BONE] = True
    p1, s1 = np.nonzero(sites)
    d1 = pfs_day[p1]
    # later progression: brain for the later-CNS patients, one other site at the end of TBP
    later = T["has_later"]
    other_later = np.array([LUNG, BONE, LIVER, THORACIC_LN])[rng.choice(4, size=n)]
    s2_site = np.where(T["cns_later"], BRAIN, other_later)
    p2 = np.flatnonzero(later)
    s2 = s2_site[p2]
    d2 = T["later_day"][p2]
    patient = np.concatenate([p1, p2])
    site = np.concatenate([s1, s2])
    day = np.concatenate([d1, d2])
    order = np.lexsort((site, day, patient))
    patient, site, day = patient[order], site[order], day[order]
    _, inst = _segments(np.bincount(patient, minlength=n))
    # existing lesion where the organ was involved at baseline (primary lung and nodes mostly existing)
    baseline_code = np.zeros(11, dtype=np.int64)
    for s, b in BASELINE_OF_SITE.items():
        baseline_code[s] = b
    had = T["met"][patient, baseline_code[site]] & (baseline_code[site] > 0)
    primary = np.isin(site, (LUNG, THORACIC_LN)) & (rng.random(patient.size) < 0.8)
    lesion = np.where(had | primary, 1, 2)
    return {"record_id": None, "pd_date": (start[patient] + day, None), "pd_site": (site, None),
            "pd_lesion": (lesion, None),
            "progression_complete": (np.where(rng.random(patient.size) < 0.01, 1, 2), None),
            "_patient": patient, "_instance": inst}


def _therapies(T: dict, rng: np.random.Generator, ros1: np.ndarray) -> dict:
    n, start = T["n"], T["start"]
    days = np.stack([T["st1"], T["st2"], T["st3"]], axis=1)
    p, line = np.nonzero(days >= 0)
    day = days[p, line]
    first = np.where(ros1, _choice(rng, SUBSEQUENT_AGENTS["ROS1"][0], n), _choice(rng, SUBSEQUENT_AGENTS["ALK"][0], n))
    later2 = np.where(ros1, _choice(rng, SUBSEQUENT_AGENTS["ROS1"][1], n), _choice(rng, SUBSEQUENT_AGENTS["ALK"][1], n))
    later3 = np.where(ros1, _choice(rng, SUBSEQUENT_AGENTS["ROS1"][1], n), _choice(rng, SUBSEQUENT_AGENTS["ALK"][1], n))
    agents = np.stack([first, later2, later3], axis=1)
    # no repeat of the previous line's agent; a platinum doublet after a platinum doublet is docetaxel
    platinum = np.char.endswith(agents.astype(str), "pemetrexed")
    repeat = np.zeros_like(platinum)
    repeat[:, 1:] = (agents[:, 1:] == agents[:, :-1]) | (platinum[:, 1:] & platinum[:, :-1])
    agents = np.where(repeat & platinum, "Docetaxel", np.where(repeat, "Carboplatin + pemetrexed", agents))
    agent = agents[p, line]
    date = start[p] + day
    for name, approved in APPROVED.items():
        too_early = (agent == name) & (date < (np.datetime64(approved, "D") - EPOCH).astype(np.int64))
        agent = np.where(too_early, "Carboplatin + pemetrexed", agent)
    return {"record_id": None, "st_start_date": (date, None), "st_agent": (agent.astype(object), None),
            "subsequent_therapy_complete": (np.where(rng.random(p.size) < 0.01, 1, 2), None),
            "_patient": p, "_instance": line.astype(np.int64) + 1}


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------

def flat_columns(dd: DataDictionary) -> list[str]:
    """The REDCap flat export's header."""
    cols = [dd.record_id, "redcap_repeat_instrument", "redcap_repeat_instance"]
    for form in dd.forms:
        cols += dd.export_columns(form)
    return cols


def _arrow_type(dd: DataDictionary, column: str) -> pa.DataType:
    if column in (dd.record_id, "redcap_repeat_instrument"):
        return pa.string()
    if column == "redcap_repeat_instance" or column.endswith("_complete") or "___" in column:
        return pa.int64()
    f = dd[column]
    if f.is_date:
        return pa.date32()
    if f.is_coded or f.is_number:
        return pa.int64()
    return pa.string()


def _arrow_column(values, missing, typ: pa.DataType) -> pa.Array:
    if typ == pa.date32():
        return pa.array(np.asarray(values, dtype=np.int32), type=pa.date32(), mask=missing)
    if typ == pa.int64():
        return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=missing)
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), mask=missing)


def to_arrow(rows: dict, dd: DataDictionary) -> pa.Table:
    """One chunk's rows as the flat export (raw codes), sorted by record, instrument, instance.

    Each field belongs to one kind of row, so its column is built by scattering that kind's values
    into their sorted positions (numpy), never by sorting the wide table."""
    columns = flat_columns(dd)
    types = {c: _arrow_type(dd, c) for c in columns}
    kinds = list(rows)
    sizes = [rows[k]["_patient"].size for k in kinds]
    patient = np.concatenate([rows[k]["_patient"] for k in kinds])
    form = np.repeat([INSTRUMENT_ORDER[k] for k in kinds], sizes)
    instance = np.concatenate([rows[k]["_instance"] for k in kinds])
    order = np.lexsort((instance, form, patient))
    total = order.size
    position = np.empty(total, dtype=np.int64)
    position[order] = np.arange(total)
    offsets = np.cumsum([0] + sizes)
    owner = {}
    for i, k in enumerate(kinds):
        for c in rows[k]:
            if not c.startswith("_") and rows[k][c] is not None and c != dd.record_id:
                owner[c] = i
    record_ids = pa.array(rows[""]["record_id"][0].astype(object), type=pa.string())
    instruments = pa.array([None if not k else k for k in sorted(INSTRUMENT_ORDER, key=INSTRUMENT_ORDER.get)],
                           type=pa.string())
    form_sorted = form[order]
    arrays = []
    for c in columns:
        if c == dd.record_id:
            arrays.append(record_ids.take(pa.array(patient[order])))
        elif c == "redcap_repeat_instrument":
            arrays.append(instruments.take(pa.array(form_sorted)))
        elif c == "redcap_repeat_instance":
            arrays.append(pa.array(instance[order], type=pa.int64(), mask=form_sorted == 0))
        elif c in owner:
            i = owner[c]
            values, missing = rows[kinds[i]][c]
            values = np.asarray(values)
            dest = position[offsets[i]:offsets[i + 1]]
            full = np.zeros(total, dtype=values.dtype) if values.dtype != object else np.full(total, "", dtype=object)
            full[dest] = values
            blank = np.ones(total, dtype=bool)
            blank[dest] = False if missing is None else missing
            arrays.append(_arrow_column(full, blank, types[c]))
        else:
            arrays.append(pa.nulls(total, types[c]))
    return pa.Table.from_arrays(arrays, names=columns)


CSV_OPTIONS = dict(quoting_style="none", quoting_header="none", delimiter=",")


def write_csv_chunk(table: pa.Table, sink, header: bool) -> None:
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=header, **CSV_OPTIONS))


def to_labels(table: pa.Table, dd: DataDictionary) -> pa.Table:
    """The label-export variant: coded values as the dictionary's labels."""
    complete = {0: "Incomplete", 1: "Unverified", 2: "Complete"}
    arrays = []
    for name in table.column_names:
        col = table.column(name)
        mapping = None
        if name.endswith("_complete"):
            mapping = complete
        elif "___" in name:
            mapping = {0: "Unchecked", 1: "Checked"}
        elif name in dd and dd[name].is_coded:
            mapping = {int(code): label for code, label in dd[name].choices.items()}
        if mapping is None:
            arrays.append(col)
            continue
        values = col.to_numpy(zero_copy_only=False)
        valid = ~np.asarray(col.is_null())
        out = np.empty(len(values), dtype=object)
        out[valid] = [mapping[int(v)] for v in values[valid]]
        arrays.append(pa.array(out, type=pa.string(), mask=~valid))
    return pa.Table.from_arrays(arrays, names=table.column_names)


XLSX_EPOCH = (1980, 1, 1, 0, 0, 0)
FIXED_TIME = "2023-01-01T00:00:00Z"


def write_xlsx(table: pa.Table, dd: DataDictionary, path: Path) -> None:
    """One sheet per form (record_id, redcap_repeat_instance for repeating forms, the form's columns),
    raw codes, dates as text; fixed timestamps inside the zip so the file is reproducible."""
    from openpyxl import Workbook  # third-party, slow to import: only the .xlsx export needs it

    frame = table.to_pandas(date_as_object=True)
    wb = Workbook(write_only=True)
    wb.properties.creator = "chartreview.synthetic (SYNTHETIC data)"
    wb.properties.title = "SYNTHETIC chart-review export: no real patient"
    wb.properties.subject = "SYNTHETIC data"
    wb.properties.description = ("Every patient in this workbook is synthetic (chartreview.synthetic); "
                                 "no record describes a real person.")
    for form in dd.forms:
        rows = frame[frame["redcap_repeat_instrument"].fillna("") == (form if form in REPEATING else "")]
        cols = [dd.record_id] + (["redcap_repeat_instance"] if form in REPEATING else []) + dd.export_columns(form)
        ws = wb.create_sheet(form)
        ws.append(cols)
        for values in rows[cols].itertuples(index=False):
            ws.append([_cell(v) for v in values])
    buffer = io.BytesIO()
    wb.save(buffer)
    _reproducible_zip(buffer.getvalue(), path)


def _cell(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _reproducible_zip(data: bytes, path: Path) -> None:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + FIXED_TIME.encode() + rb"\g<3>", content)
            fixed = zipfile.ZipInfo(info.filename, date_time=XLSX_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, content)
    path.write_bytes(out.getvalue())


# ----------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------

FORMATS = ("raw", "label", "xlsx")
FILE_NAMES = {"raw": "export_raw.csv", "label": "export_label.csv", "xlsx": "export.xlsx"}
SMALL = 5000   # label and xlsx variants only up to this many patients (they are built in memory)


def generate(out_dir, patients: int, seed: int, *, dictionary, targets: dict,
             formats=FORMATS, chunk_size: int = 20_000, tuning: dict | None = None) -> dict[str, Path]:
    """Write a synthetic export of `patients` patients to out_dir; returns {format: path}.

    Streams the raw CSV chunk by chunk (bounded memory); the label CSV and the workbook are built in
    memory, so only for up to SMALL patients."""
    dd = dictionary if isinstance(dictionary, DataDictionary) else load_dictionary(dictionary)
    formats = tuple(formats)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise SynthError(f"unknown format(s) {sorted(unknown)}; choose from {list(FORMATS)}")
    if patients < 1:
        raise SynthError(f"--patients must be at least 1, not {patients}")
    if patients > SMALL and set(formats) - {"raw"}:
        raise SynthError(f"the label and xlsx variants are made for up to {SMALL} patients; "
                         f"use --formats raw for {patients}")
    design = Design.from_targets(targets)
    codes = {g: int(c) for g, c in targets["groups"].items()}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {f: out_dir / FILE_NAMES[f] for f in formats}
    whole = []
    sink = open(paths["raw"], "wb") if "raw" in paths else None
    try:
        for chunk, first in enumerate(range(0, patients, chunk_size)):
            n = min(chunk_size, patients - first)
            T = chunk_cohort(n, seed, chunk, design, codes, tuning if chunk == 0 else None)
            table = to_arrow(render(T, dd, first + 1, patients), dd)
            if sink is not None:
                write_csv_chunk(table, sink, header=chunk == 0)
            if set(formats) - {"raw"}:
                whole.append(table)
    finally:
        if sink is not None:
            sink.close()
    if whole:
        table = pa.concat_tables(whole)
        if "label" in paths:
            with open(paths["label"], "wb") as fh:
                write_csv_chunk(to_labels(table, dd), fh, header=True)
        if "xlsx" in paths:
            write_xlsx(table, dd, paths["xlsx"])
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chartreview.synthetic",
        description="Write a SYNTHETIC chart-review export (REDCap flat CSV raw/label, .xlsx).")
    parser.add_argument("--patients", type=int, default=None,
                        help="number of patients (default: the reference cohort of the targets, 68)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the example's)")
    parser.add_argument("--out", default="resources/example/", help="output directory")
    parser.add_argument("--formats", default=None,
                        help="comma-separated subset of raw,label,xlsx (default: all up to "
                             f"{SMALL} patients, else raw)")
    parser.add_argument("--chunk-size", type=int, default=20_000, help="patients per chunk")
    parser.add_argument("--targets", default="resources/calibration_targets.yaml")
    parser.add_argument("--dictionary", default="resources/data_dictionary.csv")
    parser.add_argument("--config", default="config/config.yaml", help="workflow config (derivation rules)")
    parser.add_argument("--check", choices=("auto", "yes", "no"), default="auto",
                        help="check the calibration targets after generating (auto: when the cohort is "
                             "the reference size)")
    parser.add_argument("--search-tuning", action="store_true",
                        help="search the tuning candidates that meet the P-value targets for this seed "
                             "and print them (to record in the targets file)")
    args = parser.parse_args(argv)
    try:
        targets = calibration.load_targets(args.targets)
        example = targets["example"]
        patients = args.patients or sum(targets["counts"]["patients"].values())
        seed = example["seed"] if args.seed is None else args.seed
        reference = patients == sum(targets["counts"]["patients"].values())
        if args.search_tuning:
            found = calibration.search_tuning(seed, targets)
            print(f"seed {seed}: tuning: {{pfs: {found['pfs']}, cns: {found['cns']}}}")
            return 0
        tuning = None
        if reference and seed == example["seed"]:
            tuning = example["tuning"]
        formats = (args.formats.split(",") if args.formats else
                   (list(FORMATS) if patients <= SMALL else ["raw"]))
        check = args.check == "yes" or (args.check == "auto" and reference)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        # write next to the destination and move into place only after the check passed: a missed
        # target leaves no miscalibrated export behind
        with tempfile.TemporaryDirectory(dir=out, prefix=".synth-") as tmp:
            paths = generate(tmp, patients, seed, dictionary=args.dictionary, targets=targets,
                             formats=formats, chunk_size=args.chunk_size, tuning=tuning)
            elapsed = time.perf_counter() - began
            if check:
                source = paths.get("raw") or next(iter(paths.values()))
                report = calibration.check_targets(source, args.dictionary, targets, args.config)
            for path in paths.values():
                os.replace(path, out / path.name)
        print(f"wrote {', '.join(str(out / p.name) for p in paths.values())} "
              f"({patients} SYNTHETIC patients, seed {seed}) in {elapsed:.1f} s", file=sys.stderr)
        if check:
            print(report.replace(str(source), str(out / source.name)), file=sys.stderr)
    except (SynthError, calibration.CalibrationError) as exc:
        print(f"chartreview.synthetic: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
