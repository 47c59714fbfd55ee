import hashlib
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

for _key in ("export", "dictionary"):
    if not Path(config[_key]).is_file():
        raise WorkflowError(
            f"config key '{_key}': the file {config[_key]!r} does not exist "
            f"(set it in config/config.yaml or with --config {_key}=path)"
        )

# Cheap steps run on the submitting host under a cluster executor.
localrules:
    validation_gate,
    tables,
    summary,
    provenance,


PACKAGE = Path(workflow.basedir) / "workflow" / "chartreview"
GROUPS = list(config["groups"])
ENDPOINTS = ["metastases", "response", "pfs", "os", "cns", "progression", "baseline"]
FIGURES = list(config["figures"])
PANELS = ["km_pfs", "km_os", "cif_cns", "metastases", "patterns", "swimmer", "forest", "flow"]
FIGURE_FORMATS = ["pdf", "svg", "png"]


def code_version(*modules):
    """Digest of the package modules a step imports, used as a param. Snakemake reruns a script when the
    script itself changes, not when a module it imports does; a changed param does trigger a rerun."""
    digest = hashlib.sha256()
    for module in ("__init__", "dictionary") + modules:
        digest.update((PACKAGE / f"{module}.py").read_bytes())
    return digest.hexdigest()[:16]


def mem_mb(base, per_input_mb):
    """Memory request that grows with the input size (for cluster executors)."""
    return lambda wildcards, input: int(base + per_input_mb * input.size_mb)


def all_outputs():
    return (
        [
            "results/validation/queries.csv",
            "results/validation/queries.html",
            "results/derived/audit.html",
        ]
        + expand("results/endpoints/{endpoint}.json", endpoint=ENDPOINTS)
        + expand("results/tables/{table}.{ext}", table=TABLES, ext=["csv", "md", "html"])
        + expand(
            "results/figures/{figure}.{ext}", figure=FIGURES, ext=FIGURE_FORMATS
        )
        + ["results/summary.md", "results/summary.html", "results/provenance.json"]
    )


def rule_params():
    """The params of every step as this run evaluates them (one entry per wildcard value)."""
    from snakemake.iocontainers import Wildcards

    values = {"endpoint": ENDPOINTS, "panel": PANELS, "figure": FIGURES}
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
