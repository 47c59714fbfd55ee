"""The workflow config's schema, the one place its defaults are stated (workflow/schemas/config.schema.yaml).

Snakemake fills the defaults when the workflow validates its config; `with_defaults` fills them the same way
for code that calls the package without the workflow (tests, notebooks)."""

import copy
from pathlib import Path

from snakemake.utils import validate

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def with_defaults(config: dict | None = None) -> dict:
    """A copy of `config` validated against the schema, every key it leaves out set to its default."""
    complete = copy.deepcopy(config or {})
    validate(complete, str(SCHEMA))
    return complete
