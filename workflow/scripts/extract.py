"""Rule extract: the REDCap export -> typed, de-identified tables and the validation's material under
results/extracted/ (chartreview.extract.redcap)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the package, also under a conda env without it

from chartreview.core.steps import return_freed_memory, run_step

return_freed_memory()  # before pyarrow is first imported: the export is held whole, the workflow's largest text
from chartreview.extract.redcap import run

run_step(snakemake, run, "Extraction failed")
