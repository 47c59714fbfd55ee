"""The workflow's names, stated once: extracted and derived tables, endpoints, manuscript tables, figure
panels, report categories, and the data dictionary's codes the derivation relies on.

Standard library only: workflow/rules/common.smk imports it while Snakemake builds the DAG, and the
package's modules import it, so rules and code cannot name different things.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# ------------------------------------------------------------------------------- report categories
REPORT_CATEGORIES = ("Cohort", "Response", "Survival", "CNS", "Progression patterns", "Data quality",
                     "Provenance", "Sensitivity")
# The report category of each document that is not an endpoint result, a table or a figure.
DOCUMENT_CATEGORIES = {"queries": "Data quality", "audit": "Cohort", "summary": "Provenance",
                       "provenance": "Provenance", "sensitivity_table": "Sensitivity",
                       "sensitivity_audit": "Sensitivity"}

# ---------------------------------------------------------------------------------------- tables
# Typed table of each repeating form of the export (results/extracted/<table>.parquet).
FORM_TABLES = {"tumor_assessment": "tumor_assessments", "progression": "progression_sites",
               "subsequent_therapy": "subsequent_therapies"}
EXTRACTED_TABLES = ("patients", *FORM_TABLES.values())
# The column of the exported text and rows that says where a row is in the export ("line 12", "sheet
# treatment, row 5"): queries cite it.
SOURCE = "source"
# A patient's site in a multi-centre review: REDCap's data access group, a column of the extracted and
# derived patients tables when the export has one (a Table 1 variable or a stratum).
DATA_ACCESS_GROUP = "data_access_group"
# The columns of the data-query report (results/validation/queries.csv), in order.
QUERY_COLUMNS = ["record_id", "form", "instance", "field", "value", "rule", "severity", "message"]
# Analysis datasets (results/derived/<table>.parquet).
DERIVED_TABLES = ("patients", "time_to_event", "progression_patterns", "tumor_size_course")
# Optional fields of the data dictionary an analysis reads: an export (or a dictionary) without one is
# analysed, and that analysis says "not available" (a missing column of another field stops the run).
OPTIONAL_ANALYSIS_FIELDS = {"ta_sld_mm": "tumor_size", "measurable_disease": "response"}
# Why a patient has no best change in tumour size, by code (derived column tumor_size_excluded holds the words).
TUMOR_SIZE_EXCLUSIONS = {
    1: "no baseline assessment (none dated on or before criz_start_date)",
    2: "no sum of diameters at the baseline assessment",
    3: "baseline sum of diameters 0 mm (a percentage change is undefined)",
    4: "no sum of diameters after criz_start_date in the response window",
    5: "ta_sld_mm is not in the export",
}
TUMOR_SIZE_NOT_EXPORTED = 5


# The files each step writes, by name (the named outputs of its rule, and what its code writes to).
def extracted_files(directory: str, forms: Iterable[str]) -> dict[str, str]:
    """Rule extract (``directory``: results/extracted): the typed tables, and under raw/ the validation's
    material: the exported text of each form, the export's rows and what was read."""
    return {**{name: f"{directory}/{name}.parquet" for name in EXTRACTED_TABLES},
            **{f"exported_{form}": f"{directory}/raw/{form}.parquet" for form in forms},
            "rows": f"{directory}/raw/rows.parquet", "export_info": f"{directory}/raw/export.json"}


def derived_files(directory: str) -> dict[str, str]:
    """Rule derive (``directory``: results/derived): the analysis datasets, the audit and the patient flow."""
    return {**{name: f"{directory}/{name}.parquet" for name in DERIVED_TABLES},
            "audit_csv": f"{directory}/audit.csv", "audit_html": f"{directory}/audit.html",
            "flow": f"{directory}/flow.json"}


# Rule endpoint: one JSON result per endpoint.
ENDPOINT_RESULT = "results/endpoints/{endpoint}.json"

# ------------------------------------------------------------------------------------- endpoints
# The time-to-event endpoints of the derivation, in the row order of time_to_event.parquet.
TIME_TO_EVENT_ENDPOINTS = ("pfs", "os", "cns", "dor", "ttd", "ttnt")
# Endpoints of the treatment course whose rows exist only when the export holds their field (an export without
# it gets a result saying "not available"); duration of response has rows for responders only.
TREATMENT_ENDPOINT_FIELDS = {"ttd": "criz_end_date", "ttnt": "st_start_date"}
# The endpoint analyses (results/endpoints/<endpoint>.json).
ENDPOINTS = ("metastases", "response", "pfs", "os", "cns", "progression", "baseline", "dor", "ttd", "ttnt",
             "tumor_size",
             "weighting")
# The rows of the time-to-event table each endpoint analysis reads (the others read none of it).
TIME_TO_EVENT_ROWS = {"pfs": ("pfs",), "os": ("os",), "cns": ("cns",), "dor": ("dor",), "ttd": ("ttd",),
                      "ttnt": ("ttnt",), "weighting": ("pfs", "os")}
# The derived tables each endpoint analysis reads: the inputs of its job (the patients table's columns it reads
# are endpoints.analyses.patient_columns).
ENDPOINT_TABLES = {
    endpoint: ("patients", *(("time_to_event",) if endpoint in TIME_TO_EVENT_ROWS else ()),
               *(("progression_patterns",) if endpoint == "progression" else ()))
    for endpoint in ENDPOINTS
}
ENDPOINT_CATEGORIES = {
    "metastases": "Cohort",
    "baseline": "Cohort",
    "response": "Response",
    "pfs": "Survival",
    "os": "Survival",
    "cns": "CNS",
    "progression": "Progression patterns",
    "dor": "Response",
    "ttd": "Survival",
    "ttnt": "Survival",
    "tumor_size": "Response",
    "weighting": "Survival",
}
# The config each endpoint analysis reads, and nothing else, as key paths: the rule passes only these
# as a param, so a change reruns only the endpoints that read it.
_CATEGORICAL = ("groups", "statistics.categorical_test")
_SURVIVAL = ("groups", "statistics.conf_level", "statistics.covariates", "statistics.subgroups",
             "statistics.rmst_tau")
ENDPOINT_SETTINGS = {
    "metastases": _CATEGORICAL,
    "progression": _CATEGORICAL,
    "baseline": (*_CATEGORICAL, "table1"),
    "response": ("groups", "statistics.categorical_test", "statistics.conf_level", "endpoints.response.denominator"),
    "pfs": (*_SURVIVAL, "endpoints.pfs.landmarks", "time_unit_days"),
    "os": (*_SURVIVAL, "endpoints.os.landmarks", "time_unit_days"),
    "cns": ("groups", "statistics.conf_level", "endpoints.cns", "time_unit_days", "statistics.covariates"),
    "dor": ("groups", "statistics.conf_level", "endpoints.dor.landmarks"),
    "ttd": ("groups", "statistics.conf_level", "endpoints.ttd.landmarks",
            "endpoints.ttd.beyond_progression_grace_days"),
    "ttnt": ("groups", "statistics.conf_level", "endpoints.ttnt.landmarks"),
    "tumor_size": ("groups",),
    "weighting": ("groups", "statistics.conf_level", "statistics.covariates", "statistics.weighting",
                  "statistics.weight_trim", "table1"),
}
# The config rule extract reads: the name of each of its params (the keyword of ``extract.redcap.run``) -> its
# config key. The key file of the pseudonyms (config key record_id_pseudonym_key) is an input, not a param:
# a new key reruns the extraction.
EXTRACTION_SETTINGS = {"encoding": "export_encoding", "delimiter": "export_delimiter",
                       "xlsx_max_inflated_mb": "xlsx_max_inflated_mb",
                       "xlsx_max_compression_ratio": "xlsx_max_compression_ratio",
                       "repeating_forms": "repeating_forms", "missing_data_codes": "missing_data_codes",
                       "record_id_pseudonym": "record_id_pseudonym"}
# The config the derivation reads: e.g. the PFS landmarks are not in it, so changing them does not
# rerun the derivation.
DERIVATION_SETTINGS = ("groups", "time_unit_days", "endpoints.response.sd_min_days", "endpoints.response.confirmation",
                       "endpoints.response.confirmation_min_days", "endpoints.pfs.censor_at_new_therapy",
                       "endpoints.cns.competing", "endpoints.progression.window_days")


def settings_of(config: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """The part of `config` at the dotted key paths, nested as in the config ("statistics.conf_level"
    -> {"statistics": {"conf_level": ...}})."""
    picked: dict[str, Any] = {}
    for path in paths:
        *parents, leaf = path.split(".")
        source, target = config, picked
        for key in parents:
            source, target = source[key], target.setdefault(key, {})
        target[leaf] = source[leaf]
    return picked


# --------------------------------------------------------------------------- sensitivity analyses
# Each variant of config `sensitivity` is derived and analysed on its own under this folder ({variant}: its
# name); the primary analysis stays in results/derived and results/endpoints.
SENSITIVITY_DIRECTORY = "results/sensitivity/{variant}"
SENSITIVITY_RESULT = SENSITIVITY_DIRECTORY + "/endpoints/{endpoint}.json"
# The sensitivity table (results/tables/sensitivity.<format>, the formats of the manuscript tables) and the
# endpoint results its key results are read from.
SENSITIVITY_TABLE = "sensitivity"
SENSITIVITY_ENDPOINTS = ("response", "pfs", "os", "cns", "progression")
# The config a variant may override (the rest is the primary analysis's).
SENSITIVITY_OVERRIDES = ("endpoints", "statistics")


def sensitivity_input(variant: str, endpoint: str) -> str:
    """The name of a variant's endpoint result among the named inputs of the steps that read every variant (the
    primary analysis's results are named by their endpoint)."""
    return f"{variant}/{endpoint}"


def primary_input(name: str) -> str:
    """The name of the primary analysis's file ``name`` (a derived file, or an endpoint's result) among the
    inputs of a variant's step that copies it: a variant with the primary analysis's derivation config copies
    the derived files, and the result of each endpoint whose config it shares, instead of computing them again."""
    return f"primary/{name}"


# ------------------------------------------------------------------------------ manuscript tables
MANUSCRIPT_TABLES = ("baseline", "metastases", "response", "survival", "cns", "progression", "treatment",
                     "tumor_size", "weighting")
MANUSCRIPT_TABLE_FORMATS = ("csv", "md", "html", "docx")  # the files of each manuscript table
# Every manuscript table in one Word document, numbered in the order of MANUSCRIPT_TABLES (for the journal).
MANUSCRIPT_TABLES_DOCX = "results/tables/tables.docx"
MANUSCRIPT_TABLE_CATEGORIES = {
    "baseline": "Cohort",
    "metastases": "Cohort",
    "response": "Response",
    "survival": "Survival",
    "cns": "CNS",
    "progression": "Progression patterns",
    "treatment": "Survival",
    "tumor_size": "Response",
    "weighting": "Survival",
}

# ---------------------------------------------------------------------------------------- figures
PANELS = ("km_pfs", "km_os", "cif_cns", "metastases", "patterns", "swimmer", "forest", "flow", "km_dor", "km_ttd",
          "km_ttnt", "waterfall", "spider", "ph_pfs", "ph_os", "love")
# The figure formats config figure_style.formats may list (its default: pdf, svg, png, tiff).
FIGURE_FORMATS = ("pdf", "svg", "png", "tiff", "eps")
# The file behind each named input of a panel (the named inputs of the figure rules).
FIGURE_INPUT_FILES = {
    **{name: ENDPOINT_RESULT.format(endpoint=name) for name in ("pfs", "os", "cns", "metastases", "progression",
                                                                    "dor", "ttd", "ttnt", "tumor_size",
                                                                    "weighting")},
    **{name: derived_files("results/derived")[name] for name in ("patients", "flow", "tumor_size_course")},
}
# Which inputs each panel reads.
PANEL_INPUTS: dict[str, tuple[str, ...]] = {
    "km_pfs": ("pfs",),
    "km_os": ("os",),
    "cif_cns": ("cns",),
    "metastases": ("metastases",),
    "patterns": ("progression",),
    "swimmer": ("patients",),
    "forest": ("pfs",),
    "flow": ("flow",),
    "km_dor": ("dor",),
    "km_ttd": ("ttd",),
    "km_ttnt": ("ttnt",),
    "waterfall": ("tumor_size", "tumor_size_course"),
    "spider": ("tumor_size", "tumor_size_course"),
    "ph_pfs": ("pfs",),
    "ph_os": ("os",),
    "love": ("weighting",),
}
# An assembled figure takes the category of its first panel.
PANEL_CATEGORIES = {
    "km_pfs": "Survival",
    "km_os": "Survival",
    "forest": "Survival",
    "swimmer": "Response",
    "cif_cns": "CNS",
    "metastases": "Cohort",
    "flow": "Cohort",
    "patterns": "Progression patterns",
    "km_dor": "Response",
    "km_ttd": "Survival",
    "km_ttnt": "Survival",
    "waterfall": "Response",
    "spider": "Response",
    "ph_pfs": "Survival",
    "ph_os": "Survival",
    "love": "Survival",
}

# ------------------------------------------------------------------ codes of the data dictionary
# The study's data dictionary (resources/data_dictionary.csv) states these codes; the derivation's
# rules are written against them (tests check the two agree).
# The field whose code puts a patient in a group (config key groups: group label -> code).
GROUP_FIELD = "fusion_gene"
# RECIST time-point responses, best first; ta_response codes 1 to 5 in this order.
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
RESPONSE_CODES = {response: str(code) for code, response in enumerate(RESPONSES, start=1)}
# Metastatic sites at crizotinib start (met_site).
BASELINE_SITES = {"1": "Brain", "2": "Liver", "3": "Bone", "4": "Adrenal", "5": "Pleura",
                  "6": "Contralateral lung", "7": "Distant lymph node", "8": "Pericardium",
                  "9": "Other extrathoracic"}
BASELINE_INTRATHORACIC = ("5", "6", "8")
BASELINE_EXTRATHORACIC = ("1", "2", "3", "4", "7", "9")
# Sites of a progression (pd_site).
PROGRESSION_SITES = {"1": "Brain", "2": "Liver", "3": "Bone", "4": "Adrenal", "5": "Pleura", "6": "Lung",
                     "7": "Contralateral lung", "8": "Thoracic lymph node", "9": "Distant lymph node",
                     "10": "Other extrathoracic"}
PROGRESSION_INTRATHORACIC = ("5", "6", "7", "8")
PROGRESSION_EXTRATHORACIC = ("1", "2", "3", "4", "9", "10")
PROGRESSION_BRAIN = "1"
# pd_lesion
NEW_LESION, EXISTING_LESION = "2", "1"


def site_key(label: str) -> str:
    """'Contralateral lung' -> 'contralateral_lung' (the derived column is met_<key>)."""
    return label.lower().replace(" ", "_").replace("-", "_")


# Baseline metastatic sites as the results, tables and figures name them, and the two composites.
METASTATIC_SITES = {site_key(label): label for label in BASELINE_SITES.values()}
METASTATIC_COMPOSITES = {"extrathoracic": "Extrathoracic (CNS included)", "intrathoracic": "Intrathoracic"}
# The columns of the derived patients table a Table 1 row can show (config key table1), besides met_<site_key>
# of each met_site label of the data dictionary; never record_id or group.
TABLE1_COLUMNS = ("age", "sex", "smoking_status", "ecog_ps", "histology", "stage", "criz_line", DATA_ACCESS_GROUP,
                  "met_extrathoracic", "met_intrathoracic", "best_overall_response", "responder",
                  "disease_control", "ecog_2plus", "age_lt_65", "brain_metastases", "criz_months", "criz_ongoing",
                  "response_onset_months", "progression_months", "treatment_beyond_progression", "death_months",
                  "followup_months")
TABLE1_TESTS = {"categorical": ("default", "chi2", "chi2_yates", "fisher", "auto", "none"),
                "continuous": ("default", "wilcoxon", "none")}
# Categories of the progression pattern at first progression (columns of progression_patterns).
PROGRESSION_PATTERNS = {
    "intrathoracic_only": "Intrathoracic only",
    "extrathoracic": "Extrathoracic (CNS included)",
    "cns": "CNS",
    "new_lesion": "New lesion",
    "existing_only": "Existing lesions only",
    "unknown": "Sites not recorded",
}
