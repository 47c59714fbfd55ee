import functools
import hashlib
import os
import sys
from pathlib import Path

from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError
from snakemake.io import report as report_file

PACKAGE = Path(workflow.basedir) / "workflow" / "chartreview"
# the rules read the names of this checkout's package, not of one installed elsewhere
sys.path.insert(0, str(PACKAGE.parent))
from chartreview.core.catalog import (
    DERIVATION_SETTINGS,
    DOCUMENT_CATEGORIES,
    ENDPOINT_CATEGORIES,
    ENDPOINT_SETTINGS,
    ENDPOINT_RESULT,
    ENDPOINT_TABLES,
    ENDPOINTS,
    EXTRACTED_TABLES,
    EXTRACTION_SETTINGS,
    FIGURE_INPUT_FILES,
    MANUSCRIPT_TABLE_CATEGORIES,
    MANUSCRIPT_TABLE_FORMATS,
    MANUSCRIPT_TABLES,
    MANUSCRIPT_TABLES_DOCX,
    PANEL_CATEGORIES,
    PANEL_INPUTS,
    PANELS,
    SENSITIVITY_DIRECTORY,
    SENSITIVITY_ENDPOINTS,
    SENSITIVITY_RESULT,
    SENSITIVITY_TABLE,
    derived_files,
    extracted_files,
    primary_input,
    sensitivity_input,
    settings_of,
)
from chartreview.core.config import (
    ConfigError,
    apply_overrides,
    check_preconditions,
    check_schema,
    command_line_config,
    variant_config,
)
from chartreview.core.dictionary import DictionaryError, load_dictionary
from chartreview.core.escaping import UnsafeConfigText, check_config_shown
from chartreview.core.modules import closure, modules

# Every check of the config runs here, before any job: a failure is one message naming the key. Snakemake
# shows config text as it is (its report's captions and data, the terminal): check_config_shown.
try:
    apply_overrides(
        config,
        [load_configfile(f) for f in workflow.config_settings.configfiles]
        + [command_line_config(workflow.config_settings.config_args or [])],
    )
    check_schema(config, cache=Path(".snakemake") / "chartreview" / "validated_config.json")
    check_config_shown(config, workflow.configfiles)
except (ConfigError, UnsafeConfigText) as _error:
    raise WorkflowError(str(_error)) from None

# The figures' font is looked up now, not when the first figure job falls back to another font. A font other
# than matplotlib's own needs matplotlib, which Snakemake's own environment may lack (--use-conda): then the
# figure jobs stop on the same message.
from chartreview.figures.settings import FigureStyleError, check_figure_style

try:
    check_figure_style(config["figure_style"])
except FigureStyleError as _error:
    raise WorkflowError(str(_error)) from None
except ImportError:
    pass

# the key of the pseudonyms is read only when they are asked for
_FILE_KEYS = ("export", "dictionary") + (("record_id_pseudonym_key",) if config["record_id_pseudonym"] else ())
for _key in _FILE_KEYS:
    if not Path(config[_key]).is_file():
        raise WorkflowError(
            f"config key '{_key}': the file {config[_key]!r} does not exist "
            f"(set it in config/config.yaml or with --config {_key}=path)"
        )

# The forms of the data dictionary name files of rules extract and validate. The catalog and
# core.dictionary are standard library only, so Snakemake's own environment can read them.
try:
    _dictionary = load_dictionary(config["dictionary"])
    check_preconditions(config, _dictionary)
except DictionaryError as _error:
    raise WorkflowError(f"config key 'dictionary': {_error}") from None
except ConfigError as _error:
    raise WorkflowError(str(_error)) from None
FORMS = _dictionary.forms


# Cheap steps run on the submitting host under a cluster executor.
localrules:
    validation_gate,
    tables,
    summary,
    provenance,
    sensitivity_table,


# Group label -> fusion_gene code, reference first: every step takes the order of its groups as
# "the other group against the first", so it must not hang on the key order of a YAML file.
GROUP_CODES = {
    config["reference_group"]: config["groups"][config["reference_group"]],
    **config["groups"],
}
GROUPS = list(GROUP_CODES)
# The files rules extract and derive write, by name (their named outputs, and what later rules read).
EXTRACTED_FILES = extracted_files("results/extracted", FORMS)
DERIVED_FILES = derived_files("results/derived")
FIGURES = list(config["figures"])
# The files of every figure and panel (config figure_style.formats, of catalog.FIGURE_FORMATS).
FIGURE_OUTPUT_FORMATS = list(config["figure_style"]["formats"])
# The report shows one file of each figure: the PNG preview, else a format a browser shows, else the first.
REPORT_FORMAT = next((ext for ext in ("png", "svg", "pdf") if ext in FIGURE_OUTPUT_FORMATS), FIGURE_OUTPUT_FORMATS[0])


# Panels of each configured figure, in reading order.
FIGURE_PANELS = {name: [panel for row in entry["layout"] for panel in row] for name, entry in config["figures"].items()}
# The stand-alone panels each figure's job draws: those of its layout that no figure before it (config order)
# holds, so that one job writes each panel's files; and the panels no figure holds.
FIGURE_PANELS_ALONE = {}
for _figure, _panels in FIGURE_PANELS.items():
    _drawn = {panel for panels in FIGURE_PANELS_ALONE.values() for panel in panels}
    FIGURE_PANELS_ALONE[_figure] = [p for p in dict.fromkeys(_panels) if p not in _drawn]
PANELS_WITHOUT_FIGURE = [p for p in PANELS if not any(p in panels for panels in FIGURE_PANELS.values())]


def figure_outputs(stem, name="{ext}", caption="../report/figure.rst", **shown):
    """The named outputs stem.<format>, one per configured format, named ``name``; the report's file is marked
    with Snakemake's report() (its name here: the parser reads "report" at a line's start as the directive)."""
    return {
        name.format(ext=ext): (
            report_file(f"{stem}.{ext}", caption=caption, **shown) if ext == REPORT_FORMAT else f"{stem}.{ext}"
        )
        for ext in FIGURE_OUTPUT_FORMATS
    }


def panel_outputs(panels):
    """The named outputs <panel>_<format> of the stand-alone panels a job draws, each panel shown in the report
    with its own caption (panel_caption)."""
    return {
        name: path
        for panel in panels
        for name, path in figure_outputs(
            f"results/figures/panels/{panel}",
            name=f"{panel}_{{ext}}",
            caption=panel_caption(panel),
            category=PANEL_CATEGORIES[panel],
            subcategory="Figure panels",
            labels={"panel": panel, "type": "figure panel"},
        ).items()
    }


def figure_inputs(panels):
    """The named inputs the panels read (catalog.PANEL_INPUTS)."""
    return {name: FIGURE_INPUT_FILES[name] for panel in panels for name in PANEL_INPUTS[panel]}


# Snakemake renders a file's caption with its job's wildcards and params, not the file's own, and a figure's
# job draws several panels: each panel's caption is a copy of report/figure.rst that first names the panel,
# kept beside Snakemake's own state in the working directory.
CAPTIONS = Path(".snakemake") / "chartreview" / "captions"


def panel_caption(panel):
    """The caption file of the panel's stand-alone files (absolute: Snakemake reads a relative one from the
    rule file's folder)."""
    text = f'{{% set panel = "{panel}" %}}\n' + (Path(workflow.basedir) / "workflow/report/figure.rst").read_text()
    path = CAPTIONS / f"{panel}.rst"
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(text)
        partial.replace(path)  # at once: a parse in another process (a cluster job) may read it meanwhile
    return str(path.resolve())


# The sensitivity variants (config order) and the config each one runs with: the primary analysis's with the
# variant's overrides (its groups in the order of GROUP_CODES, as the primary analysis's steps get them).
VARIANTS = list(config["sensitivity"])
VARIANT_CONFIGS = {v: {**variant_config(config, v), "groups": GROUP_CODES} for v in VARIANTS}
# The files rule sensitivity_derive writes for a variant ({variant}), named as DERIVED_FILES.
VARIANT_DERIVED_FILES = derived_files(f"{SENSITIVITY_DIRECTORY}/derived")


def pseudonym_key_input():
    """Rule extract's input of the pseudonyms' key file when record_id_pseudonym is set (none otherwise)."""
    return {"pseudonym_key": config["record_id_pseudonym_key"]} if config["record_id_pseudonym"] else {}


# The import statements of the package's modules, by the digest of each module's source: a parse of the
# workflow parses only the modules changed since the last one.
IMPORTS_CACHE = Path(".snakemake") / "chartreview" / "imports.json"


def code_version(*names):
    """Digest of the package code a step runs, used as a param: the modules of the named subpackages or
    modules ("derive", "figures.style") and every package module they import, directly or not.
    Snakemake reruns a script when the script itself changes, not when a module it imports does;
    a changed param does trigger a rerun."""
    found = PACKAGE_MODULES
    named = {m for m in found for n in names if m == f"chartreview.{n}" or m.startswith(f"chartreview.{n}.")}
    digest = hashlib.sha256()
    for file in sorted(found[m] for m in closure(named, PACKAGE, IMPORTS_CACHE)):
        digest.update(str(file.relative_to(PACKAGE)).encode())
        digest.update(b"\0")
        digest.update(module_source(file))
    return digest.hexdigest()[:16]


# Listed and read once per parse: a dozen rules digest overlapping sets of the package's modules.
PACKAGE_MODULES = modules(PACKAGE)
module_source = functools.cache(Path.read_bytes)


def mem_mb(base, per_input_mb, of=None):
    """Memory request that grows with the input size (for cluster executors); ``of``: the named inputs
    that count (default all). The sizes are read from the files: Snakemake's ``input.size_mb`` is a
    coroutine when it builds a report, which then warns once per job."""

    def request(wildcards, input):
        files = list(input) if of is None else [input[n] for n in of]
        return int(base + per_input_mb * sum(os.path.getsize(f) for f in files if os.path.exists(f)) / 2**20)

    return request


def all_outputs():
    return (
        [
            "results/validation/queries.csv",
            "results/validation/queries.html",
            DERIVED_FILES["audit_html"],
        ]
        + expand(ENDPOINT_RESULT, endpoint=ENDPOINTS)
        + expand("results/tables/{table}.{ext}", table=MANUSCRIPT_TABLES, ext=MANUSCRIPT_TABLE_FORMATS)
        + [MANUSCRIPT_TABLES_DOCX]
        + expand("results/figures/{figure}.{ext}", figure=FIGURES, ext=FIGURE_OUTPUT_FORMATS)
        # every panel stand-alone, also one no configured figure shows (e.g. love, while weighting is off)
        + expand("results/figures/panels/{panel}.{ext}", panel=PANELS, ext=REPORT_FORMAT)
        + expand("results/tables/{table}.{ext}", table=SENSITIVITY_TABLE, ext=MANUSCRIPT_TABLE_FORMATS)
        + ["results/summary.md", "results/summary.html", "results/provenance.json"]
        # each variant's derived files (a variant's analyses may read the primary analysis's, equal to them)
        + [path.replace("{variant}", variant) for variant in VARIANTS for path in VARIANT_DERIVED_FILES.values()]
    )


def rule_params():
    """The params of every step as this run evaluates them (one entry per wildcard value)."""
    from snakemake.iocontainers import Wildcards

    values = {"endpoint": ENDPOINTS, "variant": VARIANTS}
    record = {}
    for step in sorted(workflow.rules, key=lambda r: r.name):
        if step.name in ("all", "provenance"):
            continue
        names = sorted(step.wildcard_names or [])
        combos = [{}] if not names else [{n: v} for n in names for v in values.get(n, [])]
        jobs = {}
        for combo in combos:
            params = {}
            for name, value in step.params.items():
                if callable(value):
                    value = value(Wildcards(fromdict=combo))
                params[name] = value
            jobs[",".join(f"{k}={v}" for k, v in combo.items()) or step.name] = params
        record[step.name] = jobs
    return record


def variant_params(paths):
    """The params of a sensitivity variant's step: each top-level key of settings_of(<the variant's config>,
    paths), so a variant's step sees only its own config."""
    return {
        key: lambda wildcards, key=key: settings_of(VARIANT_CONFIGS[wildcards.variant], paths)[key]
        for key in settings_of(config, paths)
    }


def sensitivity_results():
    """The endpoint results the sensitivity table and the summary read: the primary analysis's, named by
    endpoint, and each variant's, named by sensitivity_input."""
    return {
        **{endpoint: ENDPOINT_RESULT.format(endpoint=endpoint) for endpoint in SENSITIVITY_ENDPOINTS},
        **{
            sensitivity_input(variant, endpoint): SENSITIVITY_RESULT.format(variant=variant, endpoint=endpoint)
            for variant in VARIANTS
            for endpoint in SENSITIVITY_ENDPOINTS
        },
    }


# A variant with the primary analysis's derivation config copies the primary analysis's derived files, and the
# result of each endpoint whose config it shares (catalog.primary_input), instead of computing them again; any
# other variant copies the result of such an endpoint when the data the endpoint reads are the primary's too.
PRIMARY_CONFIG = {**config, "groups": GROUP_CODES}


def derives_as_primary(variant):
    """Whether the variant's derivation config equals the primary analysis's (e.g. a variant of the statistics
    only): its derived files are then the primary analysis's, copied, not derived again."""
    return settings_of(VARIANT_CONFIGS[variant], DERIVATION_SETTINGS) == settings_of(
        PRIMARY_CONFIG, DERIVATION_SETTINGS
    )


def configured_as_primary(variant, endpoint):
    """Whether the variant's config of ``endpoint`` equals the primary analysis's."""
    return settings_of(VARIANT_CONFIGS[variant], ENDPOINT_SETTINGS[endpoint]) == settings_of(
        PRIMARY_CONFIG, ENDPOINT_SETTINGS[endpoint]
    )


def endpoint_input(wildcards):
    """The derived tables the endpoint reads (catalog.ENDPOINT_TABLES)."""
    return {table: DERIVED_FILES[table] for table in ENDPOINT_TABLES[wildcards.endpoint]}


def sensitivity_derive_input(wildcards):
    """The extracted tables; for a variant that derives as the primary analysis, the primary analysis's derived
    files (named primary_input(name)), which the step copies."""
    if derives_as_primary(wildcards.variant):
        return {primary_input(name): path for name, path in DERIVED_FILES.items()}
    return {
        **{table: EXTRACTED_FILES[table] for table in EXTRACTED_TABLES},
        "passed": "results/validation/passed.txt",
        "dictionary": config["dictionary"],
    }


def sensitivity_endpoints_input(wildcards):
    """The primary analysis's result of each endpoint whose config the variant shares (named
    primary_input(endpoint)), and the derived tables the step reads. A variant that derives as the primary
    analysis copies those results and analyses the other endpoints on the primary analysis's derived tables (so
    its analyses need not wait for the copy). Any other reads its own derived tables, and the primary analysis's
    that the shared endpoints read (named primary_input(table)): it copies the result of each shared endpoint
    whose data are the primary analysis's, and analyses the rest."""
    variant = wildcards.variant
    shared = [endpoint for endpoint in ENDPOINTS if configured_as_primary(variant, endpoint)]
    if derives_as_primary(variant):
        analysed = [endpoint for endpoint in ENDPOINTS if endpoint not in shared]
        tables = {table: DERIVED_FILES[table] for e in analysed for table in ENDPOINT_TABLES[e]}
    else:
        tables = {
            **{
                table: VARIANT_DERIVED_FILES[table].replace("{variant}", variant)
                for e in ENDPOINTS
                for table in ENDPOINT_TABLES[e]
            },
            **{primary_input(table): DERIVED_FILES[table] for e in shared for table in ENDPOINT_TABLES[e]},
        }
    return {
        **tables,
        **{primary_input(endpoint): ENDPOINT_RESULT.format(endpoint=endpoint) for endpoint in shared},
    }


def sensitivity_derive_mem_mb(wildcards, input):
    """A copy needs little memory; a derivation as rule derive."""
    return 500 if derives_as_primary(wildcards.variant) else mem_mb(500, 50)(wildcards, input)
