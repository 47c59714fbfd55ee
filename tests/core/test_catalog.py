"""The catalog (chartreview.core.catalog) is the one statement of the workflow's names: it agrees with
itself, with the study's data dictionary and config, and the rules plan exactly the jobs and files it
names."""

from __future__ import annotations

import ast
import re
import sys

import pytest
import yaml

from chartreview.core import catalog
from chartreview.core.catalog import (
    BASELINE_EXTRATHORACIC,
    BASELINE_INTRATHORACIC,
    BASELINE_SITES,
    DERIVATION_SETTINGS,
    DOCUMENT_CATEGORIES,
    ENDPOINT_CATEGORIES,
    ENDPOINT_SETTINGS,
    ENDPOINTS,
    EXISTING_LESION,
    FIGURE_FORMATS,
    FIGURE_INPUT_FILES,
    MANUSCRIPT_TABLE_CATEGORIES,
    MANUSCRIPT_TABLES,
    METASTATIC_SITES,
    NEW_LESION,
    PANEL_CATEGORIES,
    PANEL_INPUTS,
    PANELS,
    PROGRESSION_BRAIN,
    PROGRESSION_EXTRATHORACIC,
    PROGRESSION_INTRATHORACIC,
    PROGRESSION_SITES,
    REPORT_CATEGORIES,
    RESPONSE_CODES,
    TIME_TO_EVENT_ENDPOINTS,
    settings_of,
)
from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from support import ROOT
from support.workflow import Workflow


def test_the_catalog_imports_only_the_standard_library():
    """common.smk imports it while Snakemake builds the DAG, before any environment is made."""
    tree = ast.parse((ROOT / "workflow" / "chartreview" / "core" / "catalog.py").read_text())
    imported = {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


@pytest.mark.parametrize("categories, names", [
    (ENDPOINT_CATEGORIES, ENDPOINTS),
    (MANUSCRIPT_TABLE_CATEGORIES, MANUSCRIPT_TABLES),
    (PANEL_CATEGORIES, PANELS),
    (DOCUMENT_CATEGORIES, ("queries", "audit", "summary", "provenance", "sensitivity_table", "sensitivity_audit")),
], ids=["endpoints", "manuscript tables", "panels", "documents"])
def test_each_name_has_a_report_category(categories, names):
    assert set(categories) == set(names)
    assert set(categories.values()) <= set(REPORT_CATEGORIES)


def test_every_report_category_holds_something():
    used = {*ENDPOINT_CATEGORIES.values(), *MANUSCRIPT_TABLE_CATEGORIES.values(), *PANEL_CATEGORIES.values(),
            *DOCUMENT_CATEGORIES.values()}
    assert used == set(REPORT_CATEGORIES)


def test_panels_read_named_files():
    assert set(PANEL_INPUTS) == set(PANELS)
    assert {name for names in PANEL_INPUTS.values() for name in names} == set(FIGURE_INPUT_FILES)
    endpoint_files = {name for name, path in FIGURE_INPUT_FILES.items() if path.startswith("results/endpoints/")}
    assert endpoint_files <= set(ENDPOINTS)
    assert all(FIGURE_INPUT_FILES[name] == f"results/endpoints/{name}.json" for name in endpoint_files)


def test_time_to_event_endpoints_are_endpoint_analyses():
    assert set(TIME_TO_EVENT_ENDPOINTS) <= set(ENDPOINTS)


def test_settings_of_nests_the_key_paths():
    config = {"groups": {"A": "1"}, "statistics": {"conf_level": 0.95, "categorical_test": "auto"},
              "endpoints": {"pfs": {"landmarks": [6], "censor_at_new_therapy": True}}}
    assert settings_of(config, ["groups", "statistics.conf_level", "endpoints.pfs.landmarks"]) == {
        "groups": {"A": "1"}, "statistics": {"conf_level": 0.95}, "endpoints": {"pfs": {"landmarks": [6]}}}
    with pytest.raises(KeyError):
        settings_of(config, ["statistics.missing"])


def test_every_endpoint_setting_is_a_config_key():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert set(ENDPOINT_SETTINGS) == set(ENDPOINTS)
    for paths in [*ENDPOINT_SETTINGS.values(), DERIVATION_SETTINGS]:
        settings_of(config, paths)  # a KeyError names a path the config does not have


def test_the_derivation_reads_no_landmark():
    """A landmark is read by its endpoint's analysis only; were it a derivation setting, changing it
    would rerun the derivation and everything after it."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    picked = settings_of(config, DERIVATION_SETTINGS)
    assert "landmarks" not in picked["endpoints"].get("pfs", {}) and "os" not in picked["endpoints"]
    # the ORR/DCR denominator is the response endpoint's, not the derivation's
    assert picked["endpoints"]["response"] == {k: v for k, v in config["endpoints"]["response"].items()
                                               if k != "denominator"}
    assert "endpoints.response.denominator" in ENDPOINT_SETTINGS["response"]


def test_the_data_dictionary_states_the_catalog_codes():
    dictionary = load_dictionary(ROOT / "resources" / "data_dictionary.csv")
    assert dictionary["met_site"].choices == BASELINE_SITES
    assert dictionary["pd_site"].choices == PROGRESSION_SITES
    assert dictionary["ta_response"].choices == {code: r for r, code in RESPONSE_CODES.items()}
    lesions = dictionary["pd_lesion"].choices
    assert (lesions[NEW_LESION], lesions[EXISTING_LESION]) == ("New lesion", "Existing lesion")
    assert PROGRESSION_SITES[PROGRESSION_BRAIN] == "Brain"
    # every site is intrathoracic or extrathoracic, never both
    assert sorted(BASELINE_INTRATHORACIC + BASELINE_EXTRATHORACIC, key=int) == list(BASELINE_SITES)
    assert sorted(PROGRESSION_INTRATHORACIC + PROGRESSION_EXTRATHORACIC, key=int) == list(PROGRESSION_SITES)
    assert list(METASTATIC_SITES.values()) == list(BASELINE_SITES.values())


def test_the_labels_are_stated_once():
    """One wording per key: a label that two statements spell differently fails here."""
    for name in ("METASTATIC_SITES", "METASTATIC_COMPOSITES", "PROGRESSION_PATTERNS"):
        assert all(isinstance(label, str) and label for label in getattr(catalog, name).values())
    shared = set(catalog.METASTATIC_COMPOSITES) & set(catalog.PROGRESSION_PATTERNS)
    assert all(catalog.METASTATIC_COMPOSITES[k] == catalog.PROGRESSION_PATTERNS[k] for k in shared)


# ------------------------------------------------------------------------ what the rules plan
@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """The jobs of a dry run of the whole workflow (rule -> wildcard values), their edges, and the files
    each rule makes."""
    workflow = Workflow(tmp_path_factory.mktemp("plan") / "checkout")
    nodes, edges = {}, set()
    for line in workflow.run("--dry-run", "--forceall", "--dag", cores=1).stdout.splitlines():
        if node := re.match(r'\s*(\d+)\[label = "(\w+)(?:\\n\w+: ([^"]+))?"', line):
            nodes[node[1]] = (node[2], node[3])
        elif edge := re.match(r"\s*(\d+) -> (\d+)", line):
            edges.add((edge[1], edge[2]))
    files: dict[str, set[str]] = {}
    for line in workflow.run("--dry-run", "--forceall", "--detailed-summary", cores=1).stdout.splitlines()[1:]:
        columns = line.split("\t")
        if len(columns) > 2 and columns[0].startswith("results/"):
            files.setdefault(columns[2], set()).add(columns[0])
    jobs: dict[str, set] = {}
    for rule, value in nodes.values():
        jobs.setdefault(rule, set()).add(value)
    return jobs, {(nodes[a], nodes[b]) for a, b in edges}, files


def test_the_rules_plan_one_job_per_catalog_name(plan):
    jobs, _, files = plan
    assert jobs["endpoint"] == set(ENDPOINTS)
    assert files["endpoint"] == {f"results/endpoints/{e}.json" for e in ENDPOINTS}
    assert files["tables"] == {f"results/tables/{t}.{ext}" for t in MANUSCRIPT_TABLES
                               for ext in ("csv", "md", "html", "docx")} | {"results/tables/tables.docx"}
    config = with_defaults(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    formats = config["figure_style"]["formats"]
    assert set(formats) <= set(FIGURE_FORMATS)
    # one job per configured figure: its figure and the stand-alone panels of its layout; one more job for
    # the panels no figure holds (love, while no figure shows the weighting)
    figures = {figure: [p for row in entry["layout"] for p in row] for figure, entry in config["figures"].items()}
    unplaced = [p for p in PANELS if not any(p in panels for panels in figures.values())]
    assert unplaced == ["love"]
    assert {rule for rule in jobs if rule.startswith("figure")} == {f"figure_{figure}" for figure in figures}
    assert jobs["panels_without_figure"] == {None}
    for figure, panels in figures.items():
        assert files[f"figure_{figure}"] == {f"results/figures/{figure}.{ext}" for ext in formats} | {
            f"results/figures/panels/{p}.{ext}" for p in panels for ext in formats}, figure
    assert files["panels_without_figure"] == {f"results/figures/panels/{p}.{ext}" for p in unplaced
                                              for ext in formats}
    assert {f for rule, made in files.items() for f in made if f.startswith("results/figures/panels/")} == {
        f"results/figures/panels/{p}.{ext}" for p in PANELS for ext in formats}
    assert {f for f in files["extract"] if f.endswith(".parquet") and "/raw/" not in f} == {
        f"results/extracted/{t}.parquet" for t in catalog.EXTRACTED_TABLES}
    assert {f for f in files["derive"] if f.endswith(".parquet")} == {
        f"results/derived/{t}.parquet" for t in catalog.DERIVED_TABLES}


def test_each_figure_job_reads_what_the_catalog_says(plan):
    jobs, edges, _ = plan
    makes = {"results/endpoints": "endpoint", "results/derived": "derive"}
    config = with_defaults(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    held = {f"figure_{figure}": [p for row in entry["layout"] for p in row]
            for figure, entry in config["figures"].items()}
    held["panels_without_figure"] = ["love"]
    assert set(held) == {rule for rule in jobs if rule.startswith(("figure_", "panels_"))}
    for rule, panels in held.items():
        upstream = {job for job, consumer in edges if consumer == (rule, None)}
        expected = set()
        for name in {name for panel in panels for name in PANEL_INPUTS[panel]}:
            folder, stem = FIGURE_INPUT_FILES[name].rsplit("/", 1)
            expected.add((makes[folder], stem.split(".")[0]) if makes[folder] == "endpoint" else ("derive", None))
        assert upstream == expected, rule


def test_a_panel_of_two_figures_is_drawn_alone_by_the_first(make_workflow):
    """Only one job may write a file: the first figure (config order) that holds a panel draws it alone (once,
    also when its layout holds it twice); one more job draws the panels no figure holds."""
    workflow = make_workflow()
    figures = '{"b": {"layout": [["km_pfs", "km_os"]]}, "a": {"layout": [["km_os", "love"], ["love"]]}}'
    done = workflow.run("--dry-run", "--forceall", "--detailed-summary", "--config", f"figures={figures}", cores=1)
    files: dict[str, set[str]] = {}
    for line in done.stdout.splitlines()[1:]:
        columns = line.split("\t")
        if len(columns) > 2 and columns[0].startswith("results/figures/"):
            files.setdefault(columns[2], set()).add(columns[0])

    def made(*stems):
        return {f"results/figures/{stem}.{ext}" for stem in stems for ext in ("pdf", "svg", "png", "tiff")}
    assert files["figure_b"] == made("b", "panels/km_pfs", "panels/km_os")
    assert files["figure_a"] == made("a", "panels/love")
    unplaced = [p for p in PANELS if p not in ("km_pfs", "km_os", "love")]
    assert files["panels_without_figure"] == made(*(f"panels/{p}" for p in unplaced))
