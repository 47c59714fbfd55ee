"""Rule figure_panel: endpoint results / derived tables -> results/figures/panels/{panel}.{pdf,svg,png}."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.figures.panels import no_partial_output, render_panel  # noqa: E402

panel = snakemake.wildcards.panel
with no_partial_output(snakemake.output, f"rule figure_panel, panel {panel}"):
    render_panel(
        panel,
        inputs=dict(snakemake.input.items()),
        outputs={ext: snakemake.output[ext] for ext in ("pdf", "svg", "png")},
        groups=list(snakemake.params.groups),
    )
