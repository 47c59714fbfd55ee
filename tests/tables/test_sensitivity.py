"""The sensitivity table and the summary's paragraph on it, from endpoint results shaped as
results/endpoints/*.json: the primary first, a conclusion that changes at alpha marked and named, every text
escaped for its format."""

import pandas as pd
import pytest

from chartreview.core.catalog import MANUSCRIPT_TABLE_FORMATS, sensitivity_input
from chartreview.core.result_files import write_json
from chartreview.core.sensitivity import read_analyses
from chartreview.report.summary import sensitivity_paragraph
from chartreview.tables import sensitivity

GROUPS = ["ROS1", "ALK"]


def share(count, n):
    return {"count": count, "n": n, "percent": 100 * count / n}


def endpoint_results(orr_p=0.987, pfs_p=0.232, cox_p=0.231, os_p=0.104, gray_p=0.914, intrathoracic_p=0.127,
                     responders=(18, 29)):
    """The parts of the endpoint results the sensitivity table reads."""
    return {
        "response": {"p": orr_p,
                     "groups": {g: {"n": n, "orr": r / n} for g, n, r in zip(GROUPS, (26, 42), responders)}},
        "pfs": {"conf_level": 0.95, "groups": {"ROS1": {"median": 10.9075}, "ALK": {"median": 10.7433}},
                "logrank": {"p": pfs_p}, "cox": {"hr": 1.4237, "hr_ci": [0.799, 2.537], "p": cox_p}},
        "os": {"groups": {"ROS1": {"median": None}, "ALK": {"median": 40.87}}, "logrank": {"p": os_p}},
        "cns": {"gray": {"p": gray_p}},
        "progression": {"patterns": {"intrathoracic_only": {"ROS1": share(11, 16), "ALK": share(17, 37),
                                                            "p": intrathoracic_p}}},
    }


@pytest.fixture
def inputs(tmp_path):
    """The primary analysis and three variants: one changes nothing, one makes ORR and PFS differ at 0.05,
    one has no Gray's test; files named as the rule names its inputs."""
    variants = {"unchanged": endpoint_results(),
                "confirmed": endpoint_results(orr_p=0.012, pfs_p=0.049, cox_p=0.03, responders=(10, 30)),
                "no_gray": endpoint_results(gray_p=None)}
    files = {}
    for variant, results in {"": endpoint_results(), **variants}.items():
        for endpoint, result in results.items():
            name = sensitivity_input(variant, endpoint) if variant else endpoint
            files[name] = tmp_path / "results" / f"{variant or 'primary'}_{endpoint}.json"
            files[name].parent.mkdir(exist_ok=True)
            write_json(result, files[name])
    return files


LABELS = {"unchanged": "=HYPERLINK(\"x\") <b>nothing</b> | changed", "confirmed": "RECIST 1.1 confirmed response",
          "no_gray": "No Gray's test"}


def test_the_table_marks_each_conclusion_that_changes_and_escapes_every_label(inputs, tmp_path):
    outputs = {kind: tmp_path / f"sensitivity.{kind}" for kind in MANUSCRIPT_TABLE_FORMATS}
    sensitivity.run(inputs, outputs, groups=GROUPS, variants=LABELS, alpha=0.05)
    raw = pd.read_csv(outputs["csv"], keep_default_na=False)
    assert list(raw["variant"]) == ["", "unchanged", "confirmed", "no_gray"]
    assert raw["label"][0] == "Primary analysis" and raw["label"][1].startswith("'=HYPERLINK")  # not a formula
    assert list(raw["changed_conclusions"]) == ["", "", "orr_p; pfs_logrank_p; pfs_hr_p", "cns_gray_p"]
    # a variant that changes nothing is the primary row, value for value
    assert raw.drop(columns=["variant", "label"]).iloc[0].equals(raw.drop(columns=["variant", "label"]).iloc[1])
    assert raw["orr_p"][2] == 0.012 and raw["orr_ROS1"][2] == pytest.approx(10 / 26)
    md = outputs["md"].read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert rows[1].startswith("| Primary analysis | 26 | 42 | 69 | 69 | 0.987 | 10.9 | 10.7 | 1.42 (0.80–2.54) | "
                              "0.232 | NR | 40.9 | 0.104 | 0.914 | 11/16 (69) | 17/37 (46) | 0.127 |")
    assert "&lt;b>nothing&lt;/b> \\| changed" in rows[2] and "†" not in rows[2]
    assert "| 0.012 † |" in rows[3] and "| 1.42 (0.80–2.54) † | 0.049 † |" in rows[3] and "| 0.104 |" in rows[3]
    assert "| – † |" in rows[4]
    assert "†: the conclusion at alpha = 0.05" in md
    html = outputs["html"].read_text()
    assert "&lt;b&gt;nothing&lt;/b&gt;" in html and "<b>" not in html


def test_the_summary_says_which_conclusions_hold_and_which_do_not(inputs):
    analyses = read_analyses(inputs, LABELS, GROUPS, 0.05)
    text = sensitivity_paragraph(analyses, 0.05)
    assert text.startswith("3 sensitivity analyses each change one derivation rule or test")
    assert ("Held under every variant: no difference between the groups in OS (log-rank test), "
            "intrathoracic-only progression.") in text
    assert ("Did not hold: objective response rate: no difference between the groups in the primary analysis "
            "(P=0.987), the groups differed under \"RECIST 1.1 confirmed response\" (P=0.012).") in text
    assert ("cumulative incidence of CNS progression (Gray's test): no difference between the groups in the "
            "primary analysis (P=0.914), no test possible under \"No Gray's test\" (P=–).") in text
    # no variant, no paragraph; variants that change nothing say so
    assert sensitivity_paragraph(analyses[:1], 0.05) == ""
    assert sensitivity_paragraph(analyses[:2], 0.05).endswith("No variant changes a conclusion of the primary "
                                                              "analysis.")
