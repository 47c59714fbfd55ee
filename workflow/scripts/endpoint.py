"""Rule endpoint: derived tables -> results/endpoints/{endpoint}.json (chartreview.endpoints.analyses)."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import pandas as pd  # noqa: E402

from chartreview.endpoints.analyses import EndpointError, analyse_endpoint  # noqa: E402
from chartreview.core.result_files import write_json  # noqa: E402

name = snakemake.wildcards.endpoint
try:
    result = analyse_endpoint(
        name,
        pd.read_parquet(snakemake.input.patients),
        pd.read_parquet(snakemake.input.time_to_event),
        pd.read_parquet(snakemake.input.progression_patterns),
        snakemake.params.settings,
    )
except EndpointError as exc:
    message = f"endpoint {name}: {exc}"
    print(message, file=sys.stderr)
    print(message, file=sys.__stderr__)
    sys.exit(1)
write_json(result, snakemake.output.result)
