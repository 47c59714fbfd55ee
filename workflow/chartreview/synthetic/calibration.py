"""Calibration of the synthetic example: the targets file, the check, and the tuning search.

The check reads the generated export the way the workflow does (``extract.redcap.extract`` ->
``derivation.derive``) and computes every target with the workflow's statistics
(``survival.kaplan_meier``/``km_median``/``logrank_test``, ``competing_risks.gray_test``), so a
passing check means ``make run`` reproduces the published numbers. A missed target raises
``CalibrationError`` naming it (e.g. ``pfs_logrank_p: 0.241 instead of 0.232``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from chartreview.core.config import with_defaults
from chartreview.core.dictionary import DataDictionary, load_dictionary
from chartreview.core.rounding import round_half_up
from chartreview.derive.derivation import derive
from chartreview.extract.redcap import extract
from chartreview.stats import survival
from chartreview.stats.competing_risks import gray_test
from chartreview.synthetic import cohort as synth_cohort

TUNING_CANDIDATES = 5_000   # search budget per stage
# The search stops only when a P value is this far inside its rounding interval (half-width 0.0005),
# so that the tiny differences allowed between implementations (1e-6) cannot flip the rounding.
TUNING_TOLERANCE = 0.0003


class CalibrationError(ValueError):
    """A calibration target is missed, or the targets file is unusable (the message names the target)."""


@dataclass(frozen=True)
class Result:
    """One checked target: its name, the expected and the reproduced value."""
    target: str
    expected: object
    observed: object

    @property
    def met(self) -> bool:
        return self.expected == self.observed


def load_targets(path) -> dict:
    path = Path(path)
    try:
        targets = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(f"{path}: the calibration targets file does not exist") from None
    required = ("groups", "time_unit_days", "criz_start", "counts", "median_pfs_months", "pfs_logrank_p",
                "median_os_reached", "os_logrank_p_min", "cns_gray_p", "example")
    missing = [k for k in required if k not in (targets or {})]
    if missing:
        raise CalibrationError(f"{path}: the targets file lacks {missing}")
    return targets


def rounded(x: float | None, decimals: int) -> float | None:
    """x rounded as the workflow prints it (``round_half_up``: 1.005 -> 1.01), to compare with a
    published number; None when there is no value."""
    if x is None or not np.isfinite(x):
        return None
    return float(round_half_up(x, decimals))


# ----------------------------------------------------------------------------- statistics
def statistics_backend() -> dict:
    """The workflow's own statistics, as the endpoint analyses use them (R survival/cmprsk to 1e-6)."""
    def median(time, event):
        est = survival.km_median(survival.kaplan_meier(time, event)).estimate
        return None if est is None or not np.isfinite(est) else float(est)

    return {"median": median,
            "logrank": lambda t, e, g: float(survival.logrank_test(t, e, g).p),
            "gray": lambda t, s, g: float(gray_test(t, s, g, cause=1).p),
            "source": "chartreview.stats.survival kaplan_meier/km_median/logrank_test, "
                      "chartreview.stats.competing_risks.gray_test"}


# ----------------------------------------------------------------------------- the check
def reproduce(export_path, dictionary, targets: dict, config: dict, backend: dict | None = None) -> list[Result]:
    """Every target as the workflow reproduces it from the export."""
    dd = dictionary if isinstance(dictionary, DataDictionary) else load_dictionary(dictionary)
    backend = backend or statistics_backend()
    config = with_defaults(dict(config, groups=dict(targets["groups"]), time_unit_days=targets["time_unit_days"]))
    tables = extract(export_path, dd, repeating_forms=tuple(config["repeating_forms"]))
    derived = derive(tables, dd, config)
    labels = list(targets["groups"])
    patients = derived.patients
    group = patients["group"].astype(str).to_numpy()
    results: list[Result] = []

    def per_group(name, values):
        for g in labels:
            results.append(Result(f"counts.{name}.{g}", int(targets["counts"][name][g]), int(values(g))))

    per_group("patients", lambda g: (group == g).sum())
    starts = tables.patients["criz_start_date"]
    lo, hi = (np.datetime64(str(targets["criz_start"][k])) for k in ("from", "to"))
    inside = bool(((starts >= lo) & (starts <= hi)).all())
    results.append(Result("criz_start", f"{lo}..{hi}", f"{lo}..{hi}" if inside else
                          f"{starts.min().date()}..{starts.max().date()}"))
    per_group("baseline_brain_metastases", lambda g: patients.loc[group == g, "met_brain"].sum())
    per_group("baseline_extrathoracic_metastases", lambda g: patients.loc[group == g, "met_extrathoracic"].sum())
    per_group("responders", lambda g: patients.loc[group == g, "responder"].sum())
    patterns = derived.progression_patterns
    pgroup = patterns["group"].astype(str).to_numpy()
    per_group("pfs_progression_events", lambda g: (pgroup == g).sum())
    per_group("intrathoracic_only_first_progression",
              lambda g: patterns.loc[pgroup == g, "intrathoracic_only"].sum())

    tte = derived.time_to_event
    def endpoint(name):
        rows = tte[tte["endpoint"].astype(str) == name]
        return (rows["months"].to_numpy(float), rows["status"].to_numpy(np.int64),
                rows["group"].astype(str).to_numpy())

    t, s, g = endpoint("pfs")
    for label in labels:
        m = backend["median"](t[g == label], s[g == label])
        results.append(Result(f"median_pfs_months.{label}", float(targets["median_pfs_months"][label]),
                              rounded(m, 1)))
    results.append(Result("pfs_logrank_p", float(targets["pfs_logrank_p"]), rounded(backend["logrank"](t, s, g), 3)))
    t, s, g = endpoint("os")
    for label in labels:
        m = backend["median"](t[g == label], s[g == label])
        results.append(Result(f"median_os_reached.{label}", bool(targets["median_os_reached"][label]),
                              m is not None))
    p_min = float(targets["os_logrank_p_min"])
    p = backend["logrank"](t, s, g)
    results.append(Result("os_logrank_p_min", f">= {p_min}", f">= {p_min}" if p >= p_min else f"{p:.3g}"))
    t, s, g = endpoint("cns")
    results.append(Result("cns_gray_p", float(targets["cns_gray_p"]), rounded(backend["gray"](t, s, g), 3)))
    return results


def check_targets(export_path, dictionary, targets, config="config/config.yaml") -> str:
    """Check every calibration target on an export; returns a short report, raises CalibrationError
    naming each missed target."""
    if not isinstance(targets, dict):
        targets = load_targets(targets)
    if not isinstance(config, dict):
        config = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    backend = statistics_backend()
    results = reproduce(export_path, dictionary, targets, config, backend)
    missed = [r for r in results if not r.met]
    if missed:
        raise CalibrationError(
            f"{export_path}: {len(missed)} calibration target(s) missed: "
            + "; ".join(f"{r.target}: {r.observed} instead of {r.expected}" for r in missed))
    return (f"{export_path}: all {len(results)} calibration targets met "
            f"(extract.redcap.extract -> derive.derivation.derive -> {backend['source']})")


# ----------------------------------------------------------------------------- the tuning search
def search_tuning(seed: int, targets: dict, budget: int = TUNING_CANDIDATES) -> dict:
    """Greedy deterministic search for the tuning steps of the example (see synth_cohort.tune): PFS steps are
    accepted while they bring the log-rank P closer to its target (medians kept), until it rounds
    right; then CNS steps likewise for Gray's P (OS medians and OS log-rank as targeted). Returns
    {"pfs": [steps], "cns": [steps]} to record in the targets file."""
    backend = statistics_backend()
    design = synth_cohort.Design.from_targets(targets)
    labels = np.asarray(list(targets["groups"]))
    n = sum(targets["counts"]["patients"].values())
    unit = float(targets["time_unit_days"])
    base = synth_cohort.draw_latent(n, np.random.default_rng([seed, 0]), design)
    base["codes"] = {g: int(c) for g, c in targets["groups"].items()}

    def pfs_distance(L):
        o = synth_cohort.outcomes(synth_cohort.timeline(L))
        t, e, g = o["pfs_time"] / unit, o["pfs_event"], labels[o["group"]]
        if any(rounded(backend["median"](t[g == x], e[g == x]), 1) != float(targets["median_pfs_months"][x])
               for x in labels):
            return np.inf
        return abs(backend["logrank"](t, e, g) - float(targets["pfs_logrank_p"]))

    def cns_distance(L):
        o = synth_cohort.outcomes(synth_cohort.timeline(L))
        g = labels[o["group"]]
        t, e = o["os_time"] / unit, o["os_event"]
        os_missed = sum((backend["median"](t[g == x], e[g == x]) is not None)
                        != bool(targets["median_os_reached"][x]) for x in labels)
        os_missed += backend["logrank"](t, e, g) < float(targets["os_logrank_p_min"])
        p = backend["gray"](o["cns_time"] / unit, o["cns_status"], g)
        return os_missed + abs(p - float(targets["cns_gray_p"]))

    steps = {"pfs": [], "cns": []}
    for stage, distance in (("pfs", pfs_distance), ("cns", cns_distance)):
        current = synth_cohort.tune(base, seed, steps["pfs"], steps["cns"])
        best = distance(current)
        for k in range(1, budget + 1):
            if best < TUNING_TOLERANCE:
                break
            candidate = synth_cohort.tune(current, seed, *(([k], []) if stage == "pfs" else ([], [k])))
            d = distance(candidate)
            if d < best:
                current, best = candidate, d
                steps[stage].append(k)
        if best >= TUNING_TOLERANCE:
            name = "pfs_logrank_p" if stage == "pfs" else "cns_gray_p"
            raise CalibrationError(f"seed {seed}: the tuning search found no {stage} steps meeting {name} "
                                   f"within {budget} candidates")
    return steps
