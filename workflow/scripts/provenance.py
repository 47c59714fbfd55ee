import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.report.summary import provenance_record
from chartreview.core.result_files import write_json

record = provenance_record(
    export=snakemake.input.export,
    dictionary=snakemake.input.dictionary,
    config_files=snakemake.params.config_files,
    config=snakemake.params.config,
    rules=snakemake.params.rules,
    repo=Path(snakemake.scriptdir).parents[1],  # the workflow's checkout
    lock=snakemake.input.lock,
)
write_json(record, snakemake.output[0])
