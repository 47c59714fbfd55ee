"""Rule derive: extracted tables -> analysis datasets, audit and flow (chartreview.derive.derivation)."""

import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w")
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from chartreview.core.catalog import EXTRACTED_TABLES  # noqa: E402
from chartreview.derive.derivation import DerivationError, run  # noqa: E402
from chartreview.core.dictionary import DictionaryError  # noqa: E402

try:
    derived = run(
        {table: snakemake.input[table] for table in EXTRACTED_TABLES},
        snakemake.input.dictionary,
        Path(snakemake.output.patients).parent,
        {"groups": snakemake.params.groups, "time_unit_days": snakemake.params.time_unit_days,
         "endpoints": snakemake.params.endpoints},
    )
except (DerivationError, DictionaryError) as exc:
    print(f"derive: {exc}", file=sys.stderr)
    print(f"derive: {exc}", file=sys.__stderr__)
    sys.exit(1)
print(f"derive: {derived.flow}", file=sys.stderr)
