"""Rule tables: endpoint results -> manuscript tables results/tables/* (chartreview.tables.manuscript)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.tables.manuscript import run

run_step(snakemake, run, "tables")
