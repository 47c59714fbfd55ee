"""Rule validation_gate: stops the workflow (exit 1, first errors in the log) when any query is an error."""
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.validate.queries import gate  # noqa: E402

sys.exit(gate(snakemake.input.queries, snakemake.input.html, snakemake.output.passed))
