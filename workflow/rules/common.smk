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

PACKAGE = Path(workflow.basedir) / "workflow" / "chartreview"
GROUPS = list(config["groups"])
ENDPOINTS = ["metastases", "response", "pfs", "os", "cns", "progression", "baseline"]
FIGURES = list(config["figures"])
PANELS = ["km_pfs", "km_os", "cif_cns", "metastases", "patterns", "swimmer", "forest", "flow"]
FIGURE_FORMATS = ["pdf", "svg", "png"]


def code_version(*modules):
    """Digest of the package modules a rule runs, as a param: Snakemake reruns a script rule when its
    script changes but not when a module it imports does, and params changes do trigger a rerun."""
    digest = hashlib.sha256()
    for module in ("__init__", "dictionary") + modules:
        digest.update((PACKAGE / f"{module}.py").read_bytes())
    return digest.hexdigest()[:16]


def mem_mb(base, per_input_mb):
    """Memory request that grows with the rule's input size (for cluster executors)."""
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
