"""Rule tables: endpoint results -> manuscript tables results/tables/*.{csv,md,html} (chartreview.tables.manuscript)."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.core.result_files import read_json  # noqa: E402
from chartreview.tables.manuscript import write_tables  # noqa: E402

results = {Path(path).stem: read_json(path) for path in snakemake.input.results}
out_dir = Path(snakemake.output.csv[0]).parent
written = {str(p) for p in write_tables(results, out_dir, snakemake.params.groups)}
declared = {str(Path(p)) for p in [*snakemake.output.csv, *snakemake.output.md, *snakemake.output.html]}
if written != declared:
    message = f"tables: wrote {sorted(written - declared)} and missed {sorted(declared - written)}"
    print(message, file=sys.stderr)
    print(message, file=sys.__stderr__)
    sys.exit(1)
