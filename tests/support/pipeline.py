"""The workflow's steps from an export to the endpoint results, run in this process through the same
entry points and files as the rules (extract, validate, gate, derive, endpoint), without Snakemake: a
few seconds per export, for tests that compare many exports' results."""

from pathlib import Path

import pandas as pd

from chartreview.core.catalog import (
    DERIVATION_SETTINGS,
    DERIVED_TABLES,
    ENDPOINT_SETTINGS,
    ENDPOINTS,
    derived_files,
    extracted_files,
    settings_of,
)
from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from chartreview.derive import derivation
from chartreview.endpoints import analyses
from chartreview.extract import redcap
from chartreview.validate import queries

from . import DICTIONARY, extraction_params


def endpoint_results(export, workdir, *, dictionary=DICTIONARY, config: dict | None = None,
                     extract_options: dict | None = None) -> dict[str, bytes]:
    """Endpoint name -> the bytes of results/endpoints/<name>.json for ``export``, written under ``workdir``.

    ``config``: overrides of the schema's defaults (the study's settings); ``extract_options``: keyword
    arguments of ``extract.redcap.run`` beyond those the rule passes (encoding, repeating_forms,
    missing_data_codes). Raises
    the step's own error (an ``InputError``) when a step refuses the export, as the workflow would stop."""
    workdir = Path(workdir)
    config = with_defaults(config)
    groups = {config["reference_group"]: config["groups"][config["reference_group"]], **config["groups"]}
    config = {**config, "groups": groups}
    extracted = {k: str(workdir / v) for k, v in
                 extracted_files("results/extracted", load_dictionary(dictionary).forms).items()}
    redcap.run({"export": str(export), "dictionary": str(dictionary)}, extracted,
               **{**extraction_params(config), **(extract_options or {})})
    checked = {"queries": str(workdir / "results/validation/queries.csv"),
               "html": str(workdir / "results/validation/queries.html")}
    queries.run({**extracted, "dictionary": str(dictionary)}, checked, repeating_forms=config["repeating_forms"],
                validation=config["validation"],
                window_days=config["endpoints"]["progression"]["window_days"])
    passed = str(workdir / "results/validation/passed.txt")
    queries.gate(checked, {"passed": passed})
    derived = {k: str(workdir / v) for k, v in derived_files("results/derived").items()}
    derivation.run({**{t: extracted[t] for t in extracted}, "passed": passed, "dictionary": str(dictionary)},
                   derived, **settings_of(config, DERIVATION_SETTINGS))
    results = {}
    for endpoint in ENDPOINTS:
        out = workdir / f"results/endpoints/{endpoint}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        analyses.run({t: derived[t] for t in DERIVED_TABLES}, {"result": str(out)}, endpoint=endpoint,
                     settings=settings_of(config, ENDPOINT_SETTINGS[endpoint]))
        results[endpoint] = out.read_bytes()
    return results


def query_table(workdir) -> pd.DataFrame:
    """results/validation/queries.csv of the last ``endpoint_results`` run in ``workdir``, as text."""
    return pd.read_csv(Path(workdir) / "results/validation/queries.csv", dtype=str, keep_default_na=False)
