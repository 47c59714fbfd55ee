"""Rule endpoint: derived tables -> results/endpoints/{endpoint}.json (chartreview.endpoints.analyses)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.endpoints.analyses import run

endpoint = snakemake.wildcards.endpoint
run_step(snakemake, run, f"endpoint {endpoint}", endpoint=endpoint)
