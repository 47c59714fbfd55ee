"""Rule validate: every data query of the extracted tables -> queries.csv and queries.html (always written)."""
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.validate.queries import run  # noqa: E402

config = {"repeating_forms": snakemake.params.repeating_forms, "validation": snakemake.params.validation,
          "endpoints": {"progression": {"window_days": snakemake.params.window_days}}}
sys.exit(run(Path(snakemake.input.patients).parent, snakemake.input.dictionary, config,
             snakemake.output.queries, snakemake.output.html))
