"""The gate that stops the workflow before derivation when any data query is an error (rule
``validation_gate``). It reads only ``queries.csv``: the validation itself (pandera, the extraction's modules,
over a second to import) stays in ``queries`` and ``contracts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from chartreview.core.errors import InputError
from chartreview.core.escaping import terminal

FIRST_ERRORS = 10   # errors printed by the gate


class ValidationFailed(InputError):
    """The export has errors the abstractors must correct in REDCap; the message lists the first ones and
    names the full report."""


def gate(inputs: Mapping[str, str | Path], outputs: Mapping[str, str | Path]) -> None:
    """What rule ``validation_gate`` runs: ``outputs["passed"]`` written when no query of
    ``inputs["queries"]`` is an error, else ValidationFailed with the first errors and the report's name."""
    queries_csv, html_path = inputs["queries"], inputs["html"]
    queries = pd.read_csv(queries_csv, dtype=str, keep_default_na=False)
    errors = queries[queries["severity"] == "error"]
    warnings = int((queries["severity"] == "warning").sum())
    if len(errors):
        lines = [f"Validation of the export found {len(errors)} error(s) and {warnings} warning(s); the "
                 f"analysis stops here. First errors:"]
        # one line per error: control characters and line breaks of its values escaped (repr does it for value)
        shown = errors.head(FIRST_ERRORS).drop(columns="value").map(lambda v: terminal(v, newlines=False))
        for q, value in zip(shown.itertuples(), errors["value"].head(FIRST_ERRORS)):
            where = f"instance {q.instance}, " if q.instance else ""
            lines.append(f"  record {q.record_id or '-'}, form {q.form or '-'}, {where}field {q.field}, value "
                         f"{value!r}, rule {q.rule}: {q.message}")
        lines.append(f"The full list for the abstractors: {html_path} (and {queries_csv}).")
        raise ValidationFailed("\n".join(lines))
    Path(outputs["passed"]).write_text(f"validation passed: 0 errors, {warnings} warning(s)\n")
