"""Rule figure: endpoint results / derived tables -> results/figures/{figure}.{pdf,svg,png}, the panels
of one config `figures:` entry assembled and lettered."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.figures.assembly import assemble_figure  # noqa: E402
from chartreview.figures.panels import no_partial_output  # noqa: E402

entry = snakemake.params.figure
with no_partial_output(snakemake.output, f"rule figure, figure {snakemake.wildcards.figure}"):
    assemble_figure(
        entry["layout"],
        inputs={key: path for key, path in snakemake.input.items() if key != "panels"},
        outputs={ext: snakemake.output[ext] for ext in ("pdf", "svg", "png")},
        groups=list(snakemake.params.groups),
        width=entry.get("width", "double"),
        height_mm=entry.get("height_mm", 150),
        title=entry.get("title"),
    )
