"""Rule sensitivity_table: the endpoint results of the primary analysis and of every variant ->
results/tables/sensitivity.* (chartreview.tables.sensitivity)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.tables.sensitivity import run

run_step(snakemake, run, "sensitivity table")
