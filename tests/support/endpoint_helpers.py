"""Hand-built derived tables with the contract's columns for the endpoint and table tests: two groups
with the study's published counts (metastases, response, progression patterns) and random times."""

import numpy as np
import pandas as pd

from chartreview.core.catalog import METASTATIC_SITES, RESPONSES
from chartreview.core.config import with_defaults
from chartreview.endpoints.analyses import analyse_endpoint

CONFIG = with_defaults()  # the study's settings, as the schema states them
GROUPS = CONFIG["groups"]
N = {"ROS1": 26, "ALK": 42}


def flags(counts: dict[str, int]) -> np.ndarray:
    """True for the first `count` patients of each group (ROS1 rows first)."""
    return np.concatenate([np.arange(N[g]) < counts[g] for g in N])


def derived_patients() -> pd.DataFrame:
    n = sum(N.values())
    rng = np.random.default_rng(3)
    group = pd.Categorical(["ROS1"] * N["ROS1"] + ["ALK"] * N["ALK"], categories=list(GROUPS))
    bor = ["CR"] * 1 + ["PR"] * 17 + ["SD"] * 6 + ["PD"] * 1 + ["NE"] * 1 \
        + ["CR"] * 2 + ["PR"] * 27 + ["SD"] * 10 + ["PD"] * 2 + ["NE"] * 1
    d = pd.DataFrame({
        "record_id": pd.array([str(i + 1) for i in range(n)], dtype="string"),
        "group": group,
        "age": np.round(rng.normal(60, 10, n), 0),
        "sex": pd.Categorical(rng.choice(["Male", "Female"], n), categories=["Male", "Female"]),
        "smoking_status": pd.Categorical(rng.choice(["Never", "Former", "Current"], n, p=[.7, .2, .1]),
                                         categories=["Never", "Former", "Current"]),
        "ecog_ps": pd.Categorical(rng.choice(["0", "1", "2"], n, p=[.4, .5, .1]), categories=list("01234")),
        "histology": pd.Categorical(["Adenocarcinoma"] * n,
                                    categories=["Adenocarcinoma", "Squamous cell carcinoma", "Other"]),
        "stage": pd.Categorical(rng.choice(["IVA", "IVB", "Postoperative recurrence"], n),
                                categories=["IIIB", "IIIC", "IVA", "IVB", "Postoperative recurrence"]),
        "criz_line": pd.Categorical(rng.choice(["First", "Second"], n),
                                    categories=["First", "Second", "Third or later"]),
        "best_overall_response": pd.Categorical(bor, categories=list(RESPONSES)),
    })
    d.loc[[3, 40], "age"] = np.nan
    d.loc[[5], "smoking_status"] = np.nan
    for site in METASTATIC_SITES:
        d[f"met_{site}"] = False
    d["met_brain"] = flags({"ROS1": 3, "ALK": 12})
    d["met_bone"] = flags({"ROS1": 6, "ALK": 22})
    d["met_extrathoracic"] = flags({"ROS1": 9, "ALK": 30})
    d["met_intrathoracic"] = flags({"ROS1": 10, "ALK": 19})
    d["responder"] = d["best_overall_response"].isin(["CR", "PR"]).to_numpy()
    d["disease_control"] = d["best_overall_response"].isin(["CR", "PR", "SD"]).to_numpy()
    d["ecog_2plus"] = (d["ecog_ps"].astype(str) == "2").to_numpy()
    d["age_lt_65"] = (d["age"] < 65).to_numpy()
    d["brain_metastases"] = d["met_brain"]
    return d


def derived_time_to_event(patients: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = len(patients)
    rows = []
    for endpoint in ("pfs", "os", "cns"):
        days = rng.integers(20, 1500, n).astype("int64")
        if endpoint == "cns":
            status = rng.choice([0, 1, 2], n, p=[0.5, 0.2, 0.3])
        else:
            status = rng.choice([0, 1], n, p=[0.3, 0.7])
        rows.append(pd.DataFrame({
            "record_id": patients["record_id"], "group": patients["group"],
            "endpoint": endpoint, "days": days, "months": days / 30.4375,
            "status": status.astype("int8"), "date": pd.Timestamp("2015-01-01") + pd.to_timedelta(days, "D"),
            "reason": pd.array(["hand-built"] * n, dtype="string")}))
    out = pd.concat(rows, ignore_index=True)
    out["endpoint"] = pd.Categorical(out["endpoint"], categories=["pfs", "os", "cns"])
    return out


def derived_patterns(patients: pd.DataFrame) -> pd.DataFrame:
    progressed = {"ROS1": 16, "ALK": 37}
    parts = []
    for g, k in progressed.items():
        ids = patients.loc[patients["group"] == g, "record_id"].iloc[:k]
        intra = np.arange(k) < {"ROS1": 11, "ALK": 17}[g]
        new = np.arange(k) < {"ROS1": 12, "ALK": 21}[g]
        parts.append(pd.DataFrame({
            "record_id": ids.to_numpy(), "group": g,
            "first_progression_date": pd.Timestamp("2016-01-01"),
            "sites": np.where(intra, "Pleura", "Liver; Brain"),
            "cns": ~intra & (np.arange(k) % 2 == 0), "intrathoracic_only": intra, "extrathoracic": ~intra,
            "new_lesion": new, "existing_only": ~new, "unknown": np.zeros(k, dtype=bool)}))
    out = pd.concat(parts, ignore_index=True)
    out["group"] = pd.Categorical(out["group"], categories=list(GROUPS))
    return out


def derived_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """patients, time_to_event and progression_patterns."""
    patients = derived_patients()
    return patients, derived_time_to_event(patients), derived_patterns(patients)


def with_tumour_size(derived: tuple) -> tuple:
    """The derived tables with a best change in tumour size per patient (-100% to +40% in row order), three
    patients without one (1 ROS1, 2 ALK) by the derivation's reasons."""
    patients, tte, patterns = derived
    n = len(patients)
    change = pd.Series(np.linspace(-100.0, 40.0, n), index=patients.index)
    excluded = pd.Series([None] * n, index=patients.index, dtype=object)
    excluded.iloc[[0, 30, 31]] = ["no sum of diameters at the baseline assessment",
                                  "no baseline assessment (none dated on or before criz_start_date)",
                                  "no sum of diameters at the baseline assessment"]
    change[excluded.notna()] = np.nan
    return patients.assign(best_sld_change_percent=change, tumor_size_excluded=excluded), tte, patterns


def run(name, derived, config=CONFIG):
    patients, tte, patterns = derived
    return analyse_endpoint(name, patients, tte, patterns, config)
