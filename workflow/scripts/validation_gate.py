"""Rule validation_gate: stops the workflow (exit 1, first errors in the log and on the terminal) when any
query is an error."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.validate.gate import gate

run_step(snakemake, gate)  # the gate's message says it all
