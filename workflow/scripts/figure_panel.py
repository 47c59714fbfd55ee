"""Rule figure_panel: endpoint results / derived tables -> results/figures/panels/{panel}.{pdf,svg,png}."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.figures import FigureInputError, render_panel  # noqa: E402

panel = snakemake.wildcards.panel
try:
    render_panel(
        panel,
        inputs={name: path for name, path in snakemake.input.items()},
        outputs={ext: snakemake.output[ext] for ext in ("pdf", "svg", "png")},
        groups=list(snakemake.params.groups),
    )
except FigureInputError as exc:
    for path in snakemake.output:  # no partial result
        Path(path).unlink(missing_ok=True)
    message = f"rule figure_panel, panel {panel}: {exc}"
    print(message, file=sys.stderr)
    print(message, file=sys.__stderr__)
    sys.exit(1)
