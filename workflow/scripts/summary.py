"""Rule summary: endpoint results and patient flow -> results/summary.{md,html} (chartreview.report.summary)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.report.summary import run_summary

run_step(snakemake, run_summary, "summary")
