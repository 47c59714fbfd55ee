"""Typed extracted tables for the derivation tests, from compact hand-made patient specs or at scale.

The tables follow the "Extracted tables" contract (/tmp/contracts.md): record_id string, dates
datetime64[ns], coded fields Categorical with the dictionary's labels, checkboxes bool, yesno nullable
boolean, numbers float64, text string, <form>_complete Int64.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from support import DICTIONARY as DICTIONARY_PATH

DICTIONARY = load_dictionary(DICTIONARY_PATH)
START = pd.Timestamp("2013-01-01")
PATIENT_FORMS = ("demographics", "treatment", "baseline", "followup")


@dataclass(frozen=True)
class Tables:
    """Stands in for export.ExtractedTables (derive only reads these four attributes)."""

    patients: pd.DataFrame
    tumor_assessments: pd.DataFrame
    progression_sites: pd.DataFrame
    subsequent_therapies: pd.DataFrame


@dataclass
class Patient:
    """One patient; every date is a day offset from ``start`` (the index date)."""

    id: str
    gene: str | None = "ROS1"
    start: str = "2013-01-01"
    ta: list = field(default_factory=list)        # (day, response label[, sum of diameters mm; 30])
    pd: list = field(default_factory=list)        # (day, site label, lesion label)
    st: list = field(default_factory=list)        # day of each subsequent therapy start
    last: int = 400                               # last contact
    death: int | None = None
    end: int | None = None                        # crizotinib end (None: ongoing)
    met: list = field(default_factory=list)       # baseline site labels
    ecog: str = "1"
    age: int = 60
    sex: str = "Female"
    measurable: bool | None = True                # measurable_disease


def _cat(values, name):
    return pd.Categorical(values, categories=list(DICTIONARY[name].choices.values()))


def _date(start: pd.Timestamp, day) -> pd.Timestamp:
    return pd.NaT if day is None else start + pd.Timedelta(days=int(day))


def build(specs: list[Patient]) -> Tables:
    dd = DICTIONARY
    starts = [pd.Timestamp(s.start) for s in specs]
    cols: dict = {"record_id": pd.array([s.id for s in specs], dtype="string"),
                  "age": pd.array([s.age for s in specs], dtype="Int64")}
    for form in PATIENT_FORMS:
        for f in dd.fields_of(form):
            if f.identifier or f.name == dd.record_id:
                continue
            if f.is_checkbox:
                for code, label in f.choices.items():
                    chosen = [(label in s.met) if f.name == "met_site" else code == "1" for s in specs]
                    cols[f"{f.name}___{code}"] = np.array(chosen, dtype=bool)
            elif f.is_date:
                cols[f.name] = pd.to_datetime(pd.Series([pd.NaT] * len(specs))).to_numpy()
            elif f.field_type == "yesno":
                cols[f.name] = pd.array([False] * len(specs), dtype="boolean")
            elif f.is_coded:
                cols[f.name] = _cat([list(f.choices.values())[0]] * len(specs), f.name)
            elif f.is_number:
                cols[f.name] = np.full(len(specs), 10.0)
            else:
                cols[f.name] = pd.array([pd.NA] * len(specs), dtype="string")
        cols[f"{form}_complete"] = pd.array([2] * len(specs), dtype="Int64")
    patients = pd.DataFrame(cols)
    patients["fusion_gene"] = _cat([s.gene for s in specs], "fusion_gene")
    patients["sex"] = _cat([s.sex for s in specs], "sex")
    patients["ecog_ps"] = _cat([s.ecog for s in specs], "ecog_ps")
    patients["criz_start_date"] = pd.to_datetime(starts)
    patients["diagnosis_date"] = pd.to_datetime([st - pd.Timedelta(days=30) for st in starts])
    patients["criz_end_date"] = pd.to_datetime([_date(st, s.end) for st, s in zip(starts, specs)])
    patients["criz_end_reason"] = _cat(["Ongoing" if s.end is None else "Progression" for s in specs],
                                       "criz_end_reason")
    patients["last_contact_date"] = pd.to_datetime([_date(st, s.last) for st, s in zip(starts, specs)])
    patients["death_date"] = pd.to_datetime([_date(st, s.death) for st, s in zip(starts, specs)])
    patients["vital_status"] = _cat(["Alive" if s.death is None else "Dead" for s in specs], "vital_status")
    patients["measurable_disease"] = pd.array([s.measurable for s in specs], dtype="boolean")
    patients["death_cause"] = _cat([None if s.death is None else "Lung cancer" for s in specs], "death_cause")

    def repeating(rows, columns):
        frame = pd.DataFrame(rows, columns=["record_id", "instance"] + columns)
        frame["record_id"] = frame["record_id"].astype("string")
        frame["instance"] = frame["instance"].astype("Int64")
        return frame

    ta = repeating([(s.id, i + 1, _date(st, a[0]), a[1], a[2] if len(a) > 2 else 30.0)
                    for st, s in zip(starts, specs) for i, a in enumerate(s.ta)],
                   ["ta_date", "ta_response", "ta_sld_mm"])
    ta["ta_date"] = pd.to_datetime(ta["ta_date"])
    ta["ta_response"] = _cat(ta["ta_response"], "ta_response")
    ta["ta_sld_mm"] = ta["ta_sld_mm"].astype(float)
    ta["ta_modality"] = _cat(["CT"] * len(ta), "ta_modality")
    ta["tumor_assessment_complete"] = pd.array([2] * len(ta), dtype="Int64")
    pr = repeating([(s.id, i + 1, _date(st, d), site, lesion) for st, s in zip(starts, specs)
                    for i, (d, site, lesion) in enumerate(s.pd)], ["pd_date", "pd_site", "pd_lesion"])
    pr["pd_date"] = pd.to_datetime(pr["pd_date"])
    pr["pd_site"] = _cat(pr["pd_site"], "pd_site")
    pr["pd_lesion"] = _cat(pr["pd_lesion"], "pd_lesion")
    pr["progression_complete"] = pd.array([2] * len(pr), dtype="Int64")
    st = repeating([(s.id, i + 1, _date(st_, d)) for st_, s in zip(starts, specs)
                    for i, d in enumerate(s.st)], ["st_start_date"])
    st["st_start_date"] = pd.to_datetime(st["st_start_date"])
    st["st_agent"] = pd.array(["agent"] * len(st), dtype="string")
    st["subsequent_therapy_complete"] = pd.array([2] * len(st), dtype="Int64")
    return Tables(patients, ta, pr, st)


def config(**endpoints) -> dict:
    """The workflow config with its schema defaults, with overrides such as response={"confirmation": True}."""
    return with_defaults({"endpoints": endpoints})


# --------------------------------------------------------------------------- at scale
def _cat_codes(codes: np.ndarray, name: str) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(DICTIONARY[name].choices.values()))


def synthetic(n: int, seed: int = 1, assessments: float = 7.0, progression_rows: float = 3.0) -> Tables:
    """A typed cohort of n patients built with numpy (about ``assessments`` + ``progression_rows`` rows
    per patient), valid under issue 2's cross-form rules: every date after the index and on or before
    last contact, death (if any) on or after last contact."""
    rng = np.random.default_rng(seed)
    ids = pd.array(np.char.add("S", np.arange(n).astype(str).astype("U8")).astype(object), dtype="string")
    start = (np.datetime64("2011-01-01") + rng.integers(0, 3700, n)).astype("datetime64[D]")
    last = rng.integers(30, 2000, n)
    dead = rng.random(n) < 0.5
    death = np.where(dead, last + rng.integers(0, 30, n), -1)

    def events(mean: float):
        k = rng.poisson(mean, n)
        who = np.repeat(np.arange(n), k)
        day = rng.integers(1, last[who] + 1)
        order = np.lexsort((day, who))
        who, day = who[order], day[order]
        first = np.r_[0, np.cumsum(k)[:-1]]
        instance = np.arange(len(who)) - np.repeat(first, k) + 1
        return who, day, instance

    tw, td, ti = events(assessments)
    pw, pdays, pi = events(progression_rows)
    sw, sd, si = events(0.3)
    nd = lambda d: pd.to_datetime(pd.Series(d)).to_numpy(dtype="datetime64[ns]")  # noqa: E731
    end_known = rng.random(n) < 0.8
    patients = pd.DataFrame({
        "record_id": ids, "age": pd.array(rng.integers(25, 90, n), dtype="Int64"),
        "sex": _cat_codes(rng.integers(0, 2, n), "sex"),
        "smoking_status": _cat_codes(rng.integers(0, 3, n), "smoking_status"),
        "ecog_ps": _cat_codes(rng.integers(0, 5, n), "ecog_ps"),
        "histology": _cat_codes(rng.integers(0, 3, n), "histology"),
        "stage": _cat_codes(rng.integers(0, 5, n), "stage"),
        "fusion_gene": _cat_codes(rng.integers(0, 2, n), "fusion_gene"),
        "criz_start_date": nd(start),
        "criz_line": _cat_codes(rng.integers(0, 3, n), "criz_line"),
        "criz_end_date": nd(np.where(end_known, start + rng.integers(1, last + 1),
                                     np.datetime64("NaT"))),
        "last_contact_date": nd(start + last),
        "vital_status": _cat_codes(dead.astype(np.int8), "vital_status"),
        "death_date": nd(np.where(dead, start + death, np.datetime64("NaT"))),
    })
    for code in DICTIONARY["met_site"].choices:
        patients[f"met_site___{code}"] = rng.random(n) < 0.2
    ta = pd.DataFrame({"record_id": ids[tw], "instance": pd.array(ti, dtype="Int64"),
                       "ta_date": nd(start[tw] + td),
                       "ta_response": _cat_codes(rng.integers(0, 5, len(tw)), "ta_response")})
    pr = pd.DataFrame({"record_id": ids[pw], "instance": pd.array(pi, dtype="Int64"),
                       "pd_date": nd(start[pw] + pdays),
                       "pd_site": _cat_codes(rng.integers(0, 10, len(pw)), "pd_site"),
                       "pd_lesion": _cat_codes(rng.integers(0, 2, len(pw)), "pd_lesion")})
    st = pd.DataFrame({"record_id": ids[sw], "instance": pd.array(si, dtype="Int64"),
                       "st_start_date": nd(start[sw] + sd)})
    return Tables(patients, ta, pr, st)
