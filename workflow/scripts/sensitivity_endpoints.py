"""Rule sensitivity_endpoints: one variant's derived tables -> every endpoint result of the variant,
results/sensitivity/{variant}/endpoints/<endpoint>.json (chartreview.endpoints.analyses)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.endpoints.analyses import run_every

run_step(snakemake, run_every, f"endpoints, sensitivity variant {snakemake.wildcards.variant}")
