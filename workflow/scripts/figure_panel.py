"""Rule figure_panel: endpoint results / derived tables -> results/figures/panels/{panel}.{pdf,svg,png}."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.figures.panels import render_panel

panel = snakemake.wildcards.panel
run_step(snakemake, render_panel, f"rule figure_panel, panel {panel}", panel=panel)
