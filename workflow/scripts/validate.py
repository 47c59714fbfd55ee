"""Rule validate: every data query of the extracted tables -> queries.csv and queries.html (always written)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.validate.queries import run

run_step(snakemake, run, "validate")
