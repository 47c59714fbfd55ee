"""Rule derive: extracted tables -> analysis datasets, audit and flow (chartreview.derive.derivation)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.derive.derivation import run

run_step(snakemake, run, "derive")
