"""The results narrative, the published-vs-reproduced table and the provenance record."""

import hashlib
import json
import subprocess

import pytest
import yaml

from chartreview.core.config import with_defaults
from chartreview.report import summary as report
from support import ROOT

GROUPS = ["ROS1", "ALK"]


def share(count, n):
    return {"count": count, "n": n, "percent": 100 * count / n}


@pytest.fixture
def results():
    """Endpoint results shaped as results/endpoints/*.json, with the study's published counts."""
    return {
        "metastases": {"test": "Pearson chi-square without continuity correction", "sites": {
            "brain": {"ROS1": share(3, 26), "ALK": share(12, 42), "p": 0.09964},
            "extrathoracic": {"ROS1": share(9, 26), "ALK": share(30, 42), "p": 0.002966},
        }},
        "response": {"test": "Pearson chi-square without continuity correction", "p": 0.98705, "groups": {
            "ROS1": {"n": 26, "responders": 18, "orr": 18 / 26},
            "ALK": {"n": 42, "responders": 29, "orr": 29 / 42},
        }},
        "pfs": {"unit": "months", "groups": {"ROS1": {"median": 10.93}, "ALK": {"median": 10.71}},
                "logrank": {"chisq": 1.43, "p": 0.2321, "test": "log-rank test"}},
        "os": {"unit": "months", "groups": {"ROS1": {"median": None}, "ALK": {"median": 38.2}},
               "logrank": {"chisq": 2.0, "p": 0.157, "test": "log-rank test"}},
        "progression": {"test": "Pearson chi-square without continuity correction",
                        "progressed": {"ROS1": 16, "ALK": 37},
                        "patterns": {"intrathoracic_only": {"ROS1": share(11, 16), "ALK": share(17, 37),
                                                            "p": 0.1266}}},
        "cns": {"gray": {"stat": 0.0117, "p": 0.9139, "test": "Gray's test"}},
    }


@pytest.fixture
def config():
    return with_defaults(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))


def test_format_p_as_in_tables():
    assert report.format_p(0.98705) == "0.987"
    assert report.format_p(0.0004) == "<0.001"
    assert report.format_p(0.001) == "0.001"
    assert report.format_p(None) == "–"


def test_paragraph_reads_like_the_abstract(results):
    text = report.results_paragraph(results, GROUPS)
    assert "We identified 26 patients with ROS1- and 42 with ALK-positive NSCLC." in text
    assert "ORR: 69% vs. 69%, P=0.987" in text
    assert "PFS: median 10.9 vs. 10.7 months, P=0.232" in text
    assert "median OS: not reached vs. 38.2 months" in text
    assert "(12% vs. 29%, P=0.100)" in text
    assert ("was significantly higher in ALK-positive than in ROS1-positive NSCLC patients "
            "(35% vs. 71%, P=0.003)") in text
    assert "69% (11/16) vs. 46% (17/37), P=0.127" in text
    assert "Gray's test P=0.914" in text


def test_published_values_agree_when_rounded_as_published(results, config):
    rows = {c.name: c for c in report.compare_published(config["published"], results, GROUPS)}
    assert rows["baseline_cns_metastases"].agrees is True
    assert rows["baseline_extrathoracic_metastases"].agrees is True
    assert rows["objective_response_rate"].agrees is True
    assert rows["median_pfs"].agrees is True
    assert rows["intrathoracic_only_progression"].agrees is True
    assert rows["cns_progression_cumulative_incidence"].agrees is True
    # only "not reached" (ROS1) was published for OS, and it is not reached here either
    assert rows["median_os"].agrees is True
    assert rows["baseline_cns_metastases"].published_p == "0.10"


def test_a_changed_result_no_longer_agrees(results, config):
    results["pfs"]["logrank"]["p"] = 0.2336
    results["response"]["groups"]["ALK"]["orr"] = 30 / 42
    results["os"]["groups"]["ROS1"]["median"] = 51.0
    results["metastases"]["sites"]["brain"]["p"] = 0.106
    rows = {c.name: c for c in report.compare_published(config["published"], results, GROUPS)}
    assert rows["median_pfs"].agrees is False
    assert rows["objective_response_rate"].agrees is False
    assert rows["median_os"].agrees is False
    assert rows["baseline_cns_metastases"].agrees is False    # 0.106 is not 0.10 at two decimals


def test_summary_states_rules_and_assumptions(results, config, tmp_path):
    paths = {}
    for name, obj in results.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(obj))
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({"records_exported": 68, "excluded": [], "analysed": {"ROS1": 26, "ALK": 42}}))
    config["endpoints"]["response"]["sd_min_days"] = 56
    md, html = tmp_path / "summary.md", tmp_path / "summary.html"
    report.write_summary({k: str(v) for k, v in paths.items()}, str(flow), config, str(md), str(html))
    text = md.read_text()
    assert "SD counts from day 56" in text
    assert "That label is an assumption." in text
    assert "| Median progression-free survival | 10.9 / 10.9 | 10.7 / 10.7 | 0.232 / 0.232 |" in text
    assert "| Median overall survival | NR / NR | – / 38.2 | – / 0.157 |" in text
    assert "| Baseline CNS metastases | 12% / 12% | 29% / 29% | 0.10 / 0.100 |" in text
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "ORR: 69% vs. 69%, P=0.987" in page


def test_provenance_is_deterministic_and_hashes_inputs(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("record_id\n1\n")
    args = dict(export=str(export), dictionary=str(ROOT / "resources" / "data_dictionary.csv"),
                config_files=[str(ROOT / "config" / "config.yaml")], config={"a": 1},
                rules={"derive": {"derive": {"x": 1}}}, repo=str(ROOT), lock=str(ROOT / "requirements.lock"))
    first = report.provenance_record(**args)
    assert first == report.provenance_record(**args)
    assert first["inputs"]["export"]["sha256"] == hashlib.sha256(b"record_id\n1\n").hexdigest()
    assert first["software"]["packages"]["lifelines"] == "0.30.3"
    export.write_text("record_id\n2\n")
    assert report.provenance_record(**args)["inputs"]["export"]["sha256"] != first["inputs"]["export"]["sha256"]


def test_git_version_reports_a_dirty_checkout(tmp_path):
    def git(*a):
        subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "f").write_text("1")
    git("add", "f")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    clean = report.git_version(tmp_path)
    assert clean["dirty"] is False and len(clean["commit"]) == 40
    (tmp_path / "f").write_text("2")
    assert report.git_version(tmp_path)["dirty"] is True
    assert report.git_version(tmp_path / "nonexistent") is None


def test_a_rate_that_is_not_estimable_reads_n_a_and_agrees_with_nothing(results, config):
    results["response"]["groups"]["ALK"]["orr"] = None  # no patient to divide by
    assert "ORR: 69% vs. n/a, P=0.987" in report.results_paragraph(results, GROUPS)
    rows = {c.name: c for c in report.compare_published(config["published"], results, GROUPS)}
    assert rows["objective_response_rate"].reproduced == {"ROS1": pytest.approx(100 * 18 / 26), "ALK": None}
    assert rows["objective_response_rate"].agrees is False


def test_a_published_key_no_result_has_is_one_message_naming_the_config_key(results, config):
    config["published"]["median_pfs"]["key"] = "medain"
    with pytest.raises(report.PublishedError) as error:
        report.compare_published(config["published"], results, GROUPS)
    assert str(error.value) == ("config key 'published.median_pfs.key': 'medain' is no result of endpoint pfs "
                                "(its results: median)")


def with_tumour_results(results):
    results["response"]["secondary"] = {
        "denominator_key": "measurable", "available": True, "p": 0.8959, "groups": {
            "ROS1": {"n": 26, "responders": 18, "orr": 18 / 26}, "ALK": {"n": 41, "responders": 29, "orr": 29 / 41}}}
    results["tumor_size"] = {
        "available": True, "groups": {"ROS1": {"median": -49.2063}, "ALK": {"median": -57.7778}}, "p": 0.56524,
        "excluded": [{"reason": "no sum of diameters at the baseline assessment", "n": 2},
                     {"reason": "no baseline assessment (none dated on or before criz_start_date)", "n": 1}]}
    return results


def test_paragraph_gives_the_other_denominator_and_the_tumour_size(results):
    text = report.results_paragraph(with_tumour_results(results), GROUPS)
    assert ("Over the patients with measurable disease (ROS1 vs. ALK), ORR: 69% (18/26) vs. 71% (29/41), "
            "P=0.896.") in text
    assert ("The best change in tumour size from baseline (ROS1 vs. ALK, median) was -49.2% vs. -57.8%, "
            "Wilcoxon rank-sum P=0.565; 3 patients excluded (no sum of diameters at the baseline assessment: 2; "
            "no baseline assessment (none dated on or before criz_start_date): 1).") in text


def test_paragraph_says_what_is_not_available(results):
    results["response"]["secondary"] = {"denominator_key": "measurable", "available": False,
                                        "reason": "measurable_disease is not in the export: not available"}
    results["tumor_size"] = {"available": False, "reason": "ta_sld_mm is not in the export: not available"}
    text = report.results_paragraph(results, GROUPS)
    assert ("ORR over the patients with measurable disease: measurable_disease is not in the export: "
            "not available.") in text
    assert "Best change in tumour size: ta_sld_mm is not in the export: not available." in text


FLOW = {"records_exported": 71, "excluded": [{"reason": "fusion_gene 3 not among the configured groups", "n": 2},
                                             {"reason": "criz_start_date blank (no index date)", "n": 1}],
        "analysed": {"ROS1": 26, "ALK": 42}, "response_evaluable": {"ROS1": 25, "ALK": 42},
        "measurable_disease": {"ROS1": 26, "ALK": 41}, "tumor_size": {"ROS1": 25, "ALK": 41}}


def test_patients_section_gives_every_stage_of_the_flow():
    assert report.flow_text(FLOW) == (
        "Records exported: 71. Not in a configured group or without an index date: 3 (fusion_gene 3 not among "
        "the configured groups: 2; criz_start_date blank (no index date): 1). Analysed: ROS1 26, ALK 42. "
        "Evaluable for response (best overall response not NE): ROS1 25, ALK 42. With measurable disease at "
        "baseline: ROS1 26, ALK 41. With a baseline and a post-baseline sum of diameters (a change in tumour "
        "size): ROS1 25, ALK 41.")
    without = report.flow_text({**FLOW, "excluded": [], "measurable_disease": None})
    assert "index date: none." in without and "With measurable disease at baseline: not available" in without


def test_the_new_values_are_escaped_in_markdown_and_html(results, config, tmp_path):
    hostile = "<img src=x onerror=alert(1)> *bold* [link](x)"
    results = with_tumour_results(results)
    results["tumor_size"]["excluded"] = [{"reason": hostile, "n": 2}]
    flow = {**FLOW, "excluded": [{"reason": hostile, "n": 2}]}
    paths = {}
    for name, obj in results.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(obj))
    (tmp_path / "flow.json").write_text(json.dumps(flow))
    md, html = tmp_path / "summary.md", tmp_path / "summary.html"
    report.write_summary({k: str(v) for k, v in paths.items()}, str(tmp_path / "flow.json"), config, str(md),
                         str(html))
    text, page = md.read_text(), html.read_text()
    assert hostile not in text and "<img" not in text and "\\*bold\\* \\[link\\](x)" in text
    assert text.count("&lt;img src=x onerror=alert(1)> \\*bold\\* \\[link\\](x)") == 2  # paragraph and patients
    assert "<img" not in page and page.count("&lt;img src=x onerror=alert(1)&gt; *bold*") == 2
    assert "With a baseline and a post-baseline sum of diameters" in text and "ROS1 25, ALK 41" in page


def render_caption(name: str, config: dict, panel: str | None = None, **wildcards) -> str:
    """The caption as Snakemake renders it; a stand-alone panel's is figure.rst after a line that sets the
    panel (common.smk, panel_caption)."""
    from types import SimpleNamespace

    import jinja2
    text = (ROOT / "workflow" / "report" / name).read_text()
    template = jinja2.Template(text if panel is None else f'{{% set panel = "{panel}" %}}\n{text}')
    snakemake = SimpleNamespace(config=config, wildcards=SimpleNamespace(**wildcards), params=SimpleNamespace())
    return " ".join(template.render(snakemake=snakemake).split())


@pytest.mark.parametrize("panel, words", [("waterfall", "Best change in tumour size: one bar per patient"),
                                          ("spider", "Change in tumour size over time: one line per patient")])
def test_figure_caption_of_the_tumour_size_panels(panel, words, config):
    text = render_caption("figure.rst", config, panel=panel)
    assert text.startswith(words) and "-30% and +20%" in text and "by reason" in text


def test_endpoint_and_table_captions_of_the_tumour_size(config):
    text = render_caption("endpoint.rst", config, endpoint="tumor_size")
    assert text.startswith("Best percentage change in the sum of target lesion diameters")
    assert "results/endpoints/tumor_size.json" in text
    assert "Wilcoxon rank-sum" in render_caption("table_tumor_size.rst", config)
    assert "over the patients of the group with measurable disease at baseline" in render_caption(
        "table_response.rst", config)
