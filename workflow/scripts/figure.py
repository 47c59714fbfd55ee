"""Rule figure: endpoint results / derived tables -> results/figures/{figure}.{pdf,svg,png}, the panels
of one config `figures:` entry assembled and lettered."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.figure_assembly import assemble_figure  # noqa: E402
from chartreview.figures import FigureInputError  # noqa: E402

name = snakemake.wildcards.figure
entry = snakemake.params.figure
try:
    assemble_figure(
        entry["layout"],
        inputs={key: path for key, path in snakemake.input.items() if key != "panels"},
        outputs={ext: snakemake.output[ext] for ext in ("pdf", "svg", "png")},
        groups=list(snakemake.params.groups),
        width=entry.get("width", "double"),
        height_mm=entry.get("height_mm", 150),
        title=entry.get("title"),
    )
except FigureInputError as exc:
    for path in snakemake.output:  # no partial result
        Path(path).unlink(missing_ok=True)
    message = f"rule figure, figure {name}: {exc}"
    print(message, file=sys.stderr)
    print(message, file=sys.__stderr__)
    sys.exit(1)
