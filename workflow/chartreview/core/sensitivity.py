"""The key results of an analysis (the primary or a sensitivity variant) read from its endpoint results, and
the conclusions they support at the configured alpha: what the sensitivity table lists and the results
summary states, in one place.

Only reads result dicts (the content of results/endpoints/<name>.json and
results/sensitivity/<variant>/endpoints/<name>.json); nothing is recomputed.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chartreview.core.catalog import SENSITIVITY_ENDPOINTS, primary_input, sensitivity_input
from chartreview.core.result_files import read_json

# Each comparison whose conclusion ("the groups differ" or not, at alpha) is checked across the variants:
# key -> its name in the table's footnote and the summary.
CONCLUSIONS = {
    "orr_p": "objective response rate",
    "pfs_logrank_p": "PFS (log-rank test)",
    "pfs_hr_p": "PFS hazard ratio (Cox)",
    "os_logrank_p": "OS (log-rank test)",
    "cns_gray_p": "cumulative incidence of CNS progression (Gray's test)",
    "intrathoracic_only_p": "intrathoracic-only progression",
}
# A conclusion where no test was possible (a result without P).
NO_TEST = "no test"
PRIMARY_LABEL = "Primary analysis"


@dataclass(frozen=True)
class Analysis:
    """One analysis of the sensitivity table: the primary (variant "") or a variant of config sensitivity."""
    variant: str
    label: str
    results: dict           # key_results
    changed: list[str]      # the keys of CONCLUSIONS whose conclusion differs from the primary analysis's


def key_results(results: Mapping[str, dict], groups: list[str]) -> dict:
    """The key results of one analysis, per group where they are: n, ORR, median PFS and OS, the PFS hazard
    ratio of the second group against the first with its CI, intrathoracic-only progression, and the P of
    every comparison of ``CONCLUSIONS``."""
    response, pfs, os_ = results["response"], results["pfs"], results["os"]
    cox = pfs.get("cox") or {}
    intrathoracic = results["progression"]["patterns"]["intrathoracic_only"]
    return {
        "n": {g: response["groups"][g]["n"] for g in groups},
        "orr": {g: response["groups"][g]["orr"] for g in groups},
        "pfs_median": {g: pfs["groups"][g]["median"] for g in groups},
        "pfs_hr": cox.get("hr"),
        "pfs_hr_ci": list(cox.get("hr_ci") or [None, None]),
        "conf_level": pfs["conf_level"],
        "os_median": {g: os_["groups"][g]["median"] for g in groups},
        "intrathoracic_only": {g: dict(intrathoracic[g]) for g in groups},
        "orr_p": response["p"],
        "pfs_logrank_p": pfs["logrank"]["p"],
        "pfs_hr_p": cox.get("p"),
        "os_logrank_p": os_["logrank"]["p"],
        "cns_gray_p": results["cns"]["gray"]["p"],
        "intrathoracic_only_p": intrathoracic["p"],
    }


def conclusion(p: float | None, alpha: float) -> str:
    """"differ" (P below alpha), "no difference", or ``NO_TEST`` when no P exists."""
    if p is None:
        return NO_TEST
    return "differ" if p < alpha else "no difference"


def changed_conclusions(primary: Mapping, variant: Mapping, alpha: float) -> list[str]:
    """The keys of ``CONCLUSIONS`` whose conclusion under ``variant`` (key results) differs from the
    primary analysis's, in ``CONCLUSIONS`` order."""
    return [key for key in CONCLUSIONS if conclusion(variant[key], alpha) != conclusion(primary[key], alpha)]


def read_analyses(inputs: Mapping[str, str], variants: Mapping[str, str], groups: list[str],
                  alpha: float) -> list[Analysis]:
    """The primary analysis and each variant (name -> label, in config order) with its key results and the
    conclusions it changes. ``inputs``: the primary analysis's endpoint results named by endpoint, a
    variant's named ``sensitivity_input(variant, endpoint)``."""
    primary = key_results({e: read_json(inputs[e]) for e in SENSITIVITY_ENDPOINTS}, groups)
    found = [Analysis("", PRIMARY_LABEL, primary, [])]
    for variant, label in variants.items():
        results = key_results({e: read_json(inputs[sensitivity_input(variant, e)]) for e in SENSITIVITY_ENDPOINTS},
                              groups)
        found.append(Analysis(variant, label, results, changed_conclusions(primary, results, alpha)))
    return found


def copy_primary(inputs: Mapping[str, str], outputs: Mapping[str, str], **settings) -> str:
    """What a variant's step runs when its result is the primary analysis's: each output copied from the
    input named ``primary_input(<its name>)`` (``settings``, the variant's config, are those of the primary
    analysis). Returns the line for the log."""
    for name, path in outputs.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(inputs[primary_input(name)], path)
    return f"copied from the primary analysis (the same config): {', '.join(outputs)}"
