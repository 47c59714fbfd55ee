"""The gate that stops the workflow before derivation when any data query is an error (rule
``validation_gate``). It reads only ``queries.csv``: the validation itself (pandera, the extraction's modules,
over a second to import) stays in ``queries`` and ``contracts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv

from chartreview.core.catalog import QUERY_COLUMNS
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
    queries = read_queries(queries_csv)
    # counted and picked with Arrow's own values: a Python value handed to Arrow makes it import pandas
    counted = pc.value_counts(queries["severity"])
    levels = counted.field("values").to_pylist()
    count = dict(zip(levels, counted.field("counts").to_pylist()))
    errors, warnings = count.get("error", 0), count.get("warning", 0)
    if errors:
        is_error = pc.equal(queries["severity"], counted.field("values")[levels.index("error")])
        lines = [f"Validation of the export found {errors} error(s) and {warnings} warning(s); the "
                 f"analysis stops here. First errors:"]
        # one line per error: control characters and line breaks of its values escaped (repr does it for value)
        for row in queries.filter(is_error).slice(0, FIRST_ERRORS).to_pylist():
            value = row.pop("value")
            q = {name: terminal(text, newlines=False) for name, text in row.items()}
            where = f"instance {q['instance']}, " if q["instance"] else ""
            lines.append(f"  record {q['record_id'] or '-'}, form {q['form'] or '-'}, {where}field {q['field']}, "
                         f"value {value!r}, rule {q['rule']}: {q['message']}")
        lines.append(f"The full list for the abstractors: {html_path} (and {queries_csv}).")
        raise ValidationFailed("\n".join(lines))
    Path(outputs["passed"]).write_text(f"validation passed: 0 errors, {warnings} warning(s)\n")


def read_queries(path: str | Path):
    """queries.csv as an Arrow table of text, a blank cell as "" (Arrow's reader: pandas alone takes longer to
    import than the gate takes to run)."""
    return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                          convert_options=pacsv.ConvertOptions(strings_can_be_null=False, column_types={
                              name: "string" for name in QUERY_COLUMNS}))
