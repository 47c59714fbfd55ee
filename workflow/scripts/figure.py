"""Rules figure_<figure> and panels_without_figure: endpoint results / derived tables ->
results/figures/{figure}.{pdf,svg,png} (the panels of one config `figures:` entry assembled and lettered) and
results/figures/panels/{panel}.{pdf,svg,png}, the rule's stand-alone panels."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import run_step
from chartreview.figures.assembly import run_figure

run_step(snakemake, run_figure, f"rule {snakemake.rule}")
