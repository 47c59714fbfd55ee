"""The sensitivity table (results/tables/sensitivity.<format>, the formats of the manuscript tables): one row
per analysis, the primary first, then each variant of config ``sensitivity``; one column per key result
(``core.sensitivity.key_results``). A cell whose conclusion at alpha differs from the primary analysis's is
marked, and the note says what the mark means. The .csv holds the values at full precision and, per row,
the results whose conclusion changed; the .md and .html are rounded as the manuscript tables.
"""

from __future__ import annotations

import pandas as pd

from chartreview.core.catalog import MANUSCRIPT_TABLE_FORMATS, MANUSCRIPT_TABLES
from chartreview.core.rounding import format_p, round_half_up
from chartreview.core.sensitivity import CONCLUSIONS, Analysis, read_analyses
from chartreview.tables.manuscript import format_ci, format_number, format_percent, write_table

TITLE = "Sensitivity analyses: key results under each derivation rule and test"
# The mark of a cell whose conclusion differs from the primary analysis's.
MARK = "†"


def _marked(text: str, key: str, analysis: Analysis) -> str:
    return f"{text} {MARK}" if key in analysis.changed else text


def _level(conf_level: float) -> str:
    return f"{round_half_up(100 * conf_level, 0)}%"


def sensitivity_frames(analyses: list[Analysis], groups: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table at full precision (one row per analysis) and formatted for the manuscript."""
    ref, other = groups
    level = analyses[0].results["conf_level"]
    raw_rows, rows = [], []
    for a in analyses:
        r = a.results
        raw = {"variant": a.variant, "label": a.label, **{f"n_{g}": r["n"][g] for g in groups},
               **{f"orr_{g}": r["orr"][g] for g in groups}, "orr_p": r["orr_p"],
               **{f"pfs_median_{g}": r["pfs_median"][g] for g in groups},
               "pfs_hr": r["pfs_hr"], "pfs_hr_lower": r["pfs_hr_ci"][0], "pfs_hr_upper": r["pfs_hr_ci"][1],
               "pfs_hr_p": r["pfs_hr_p"], "pfs_logrank_p": r["pfs_logrank_p"],
               **{f"os_median_{g}": r["os_median"][g] for g in groups}, "os_logrank_p": r["os_logrank_p"],
               "cns_gray_p": r["cns_gray_p"]}
        for g in groups:
            block = r["intrathoracic_only"][g]
            raw.update({f"intrathoracic_only_count_{g}": block["count"], f"intrathoracic_only_n_{g}": block["n"],
                        f"intrathoracic_only_percent_{g}": block["percent"]})
        raw["intrathoracic_only_p"] = r["intrathoracic_only_p"]
        raw["changed_conclusions"] = "; ".join(a.changed)
        raw_rows.append(raw)

        hr = "–" if r["pfs_hr"] is None else (f"{round_half_up(r['pfs_hr'], 2)} "
                                              f"({format_ci(*r['pfs_hr_ci'], 2, '–')})")
        if r["conf_level"] != level:  # a variant with its own confidence level says so
            hr += f" [{_level(r['conf_level'])} CI]"
        line = {"Analysis": a.label,
                **{f"n, {g}": str(r["n"][g]) for g in groups},
                **{f"ORR, {g}, %": format_percent(None if r["orr"][g] is None else 100 * r["orr"][g])
                   for g in groups},
                "ORR P": _marked(format_p(r["orr_p"]), "orr_p", a),
                **{f"Median PFS, {g}, months": format_number(r["pfs_median"][g]) for g in groups},
                f"PFS HR, {other} vs {ref} ({_level(level)} CI)": _marked(hr, "pfs_hr_p", a),
                "PFS log-rank P": _marked(format_p(r["pfs_logrank_p"]), "pfs_logrank_p", a),
                **{f"Median OS, {g}, months": format_number(r["os_median"][g]) for g in groups},
                "OS log-rank P": _marked(format_p(r["os_logrank_p"]), "os_logrank_p", a),
                "CNS progression, Gray's test P": _marked(format_p(r["cns_gray_p"]), "cns_gray_p", a)}
        for g in groups:
            block = r["intrathoracic_only"][g]
            line[f"Intrathoracic-only progression, {g}, n/N (%)"] = (
                f"{block['count']}/{block['n']} ({format_percent(block['percent'])})")
        line["Intrathoracic-only progression P"] = _marked(format_p(r["intrathoracic_only_p"]),
                                                           "intrathoracic_only_p", a)
        rows.append(line)
    return pd.DataFrame(raw_rows), pd.DataFrame(rows)


def sensitivity_note(alpha: float) -> str:
    """The footnote: what a row is and what the mark means."""
    return (f"Primary analysis: the configured derivation rules and tests (results/endpoints); each other row "
            f"changes one rule or test (config sensitivity; its derivation audit is "
            f"results/sensitivity/<variant>/derived/audit.csv). {MARK}: the conclusion at alpha = {alpha:g} "
            f"(the groups differ when P < {alpha:g}; no conclusion without a P) differs from the primary "
            f"analysis's; the PFS hazard ratio is marked by its Cox Wald P. NR: median not reached; ORR over all "
            f"patients of the group; intrathoracic-only progression among the patients whose PFS event is "
            f"progression (label assumed). Compared results: {', '.join(CONCLUSIONS.values())}.")


def run(inputs: dict, outputs: dict, *, groups, variants: dict, alpha: float) -> None:
    """What rule ``sensitivity_table`` runs: the endpoint results of the primary analysis (named by endpoint)
    and of each variant (``core.catalog.sensitivity_input``) -> the outputs named by format."""
    analyses = read_analyses(inputs, variants, list(groups), alpha)
    raw, fmt = sensitivity_frames(analyses, list(groups))
    # numbered after the manuscript tables, as the supplementary table that follows them
    write_table(TITLE, raw, fmt, sensitivity_note(alpha), {kind: outputs[kind] for kind in MANUSCRIPT_TABLE_FORMATS},
                len(MANUSCRIPT_TABLES) + 1)

