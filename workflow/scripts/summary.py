import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.report.summary import write_summary

names = [Path(p).stem for p in snakemake.input.results]
config = {
    "groups": snakemake.params.groups,
    "time_unit_days": snakemake.params.time_unit_days,
    "endpoints": snakemake.params.endpoints,
    "published": snakemake.params.published,
}
write_summary(dict(zip(names, snakemake.input.results)), snakemake.input.flow, config,
              snakemake.output.md, snakemake.output.html)
