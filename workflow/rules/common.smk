import ast
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


def package_imports(name):
    """The package modules that one module of the package imports (absolute or relative imports)."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or node.module.split(".")[0] == "chartreview"):
            inner = (node.module or "").removeprefix("chartreview").strip(".")
            found |= {inner.split(".")[0]} if inner else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("chartreview.")}
    return {m for m in found if (PACKAGE / f"{m}.py").is_file()}


def code_version(*modules):
    """Digest of the package modules a step runs and of everything they import, used as a param.
    Snakemake reruns a script when the script itself changes, not when a module it imports does;
    a changed param does trigger a rerun."""
    closure, pending = set(), {"__init__", "dictionary", *modules}
    while pending:
        name = pending.pop()
        closure.add(name)
        pending |= package_imports(name) - closure
    digest = hashlib.sha256()
    for name in sorted(closure):
        digest.update(name.encode() + b"\0" + (PACKAGE / f"{name}.py").read_bytes())
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
