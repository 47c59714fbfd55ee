"""Rule extract: the REDCap export -> typed, de-identified tables under results/extracted/."""
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.extract.redcap import run  # noqa: E402

sys.exit(run(snakemake.input.export, snakemake.input.dictionary, Path(snakemake.output.patients).parent,
             encoding=snakemake.params.encoding, repeating_forms=snakemake.params.repeating_forms))
