"""Rule provenance: inputs, config, software and every rule's params -> results/provenance.json."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.report.summary import run_provenance

run_step(snakemake, run_provenance, "provenance", repo=Path(snakemake.scriptdir).parents[1])  # the workflow's checkout
