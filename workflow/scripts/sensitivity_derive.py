"""Rule sensitivity_derive: extracted tables -> one variant's analysis datasets, audit and flow under
results/sensitivity/{variant}/derived/ (chartreview.derive.derivation, with the variant's config; a copy of
the primary analysis's when the variant derives as it does)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.derive.derivation import run_variant

run_step(snakemake, run_variant, f"derive, sensitivity variant {snakemake.wildcards.variant}")
