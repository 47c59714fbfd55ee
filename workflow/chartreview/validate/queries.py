"""The data-query report for the abstractors and the gate that stops the run.

``queries.csv`` (every query) and a self-contained ``queries.html`` from the queries of
``chartreview.validate.contracts.validate``; the gate stops the workflow before derivation when any query is an
error. ``run`` is what rule ``validate`` runs; the gate (rule ``validation_gate``) is in ``gate``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from jinja2 import Environment

from chartreview.core.dictionary import load_dictionary
from chartreview.core.escaping import write_csv
from chartreview.extract.redcap import read_tables
from chartreview.validate.contracts import QUERY_COLUMNS, RULES, ExportMaterial, validate
from chartreview.validate.gate import FIRST_ERRORS, ValidationFailed, gate  # noqa: F401 (the rules' names)

HTML_ROWS = 2000    # rows per severity in the HTML report (all of them are in queries.csv)


# --- the report ------------------------------------------------------------------------------------------------

def write_query_report(queries: pd.DataFrame, csv_path, html_path, *, info=None) -> None:
    """``queries.csv`` (every query; a cell a spreadsheet would run as a formula neutralised) and a
    self-contained ``queries.html`` for the abstractors (Jinja's autoescape escapes every value)."""
    queries = queries[QUERY_COLUMNS]
    Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
    write_csv(queries, csv_path)
    Path(html_path).write_text(query_html(queries, info=info), encoding="utf-8")


def query_html(queries: pd.DataFrame, *, info=None) -> str:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    counts = (queries.groupby(["severity", "rule"], sort=False).size().rename("n").reset_index()
              .sort_values(["severity", "rule"]))
    sections = []
    for severity in ("error", "warning"):
        part = queries[queries["severity"] == severity]
        rows = part.head(HTML_ROWS).astype(object).where(part.head(HTML_ROWS).notna(), "").astype(str)
        sections.append({"severity": severity, "n": len(part), "rows": rows.to_dict("records"),
                         "more": max(0, len(part) - HTML_ROWS)})
    return env.from_string(HTML_TEMPLATE).render(
        info=info, counts=counts.to_dict("records"), sections=sections, rules=RULES,
        total=len(queries)) + "\n"


HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Data queries of the chart-review export</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.error { color: #a00; font-weight: bold; }
.warning { color: #a60; }
code { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1>Data queries of the chart-review export</h1>
{% if info %}
<p>Export: <code>{{ info.source }}</code> ({{ info.format }}, {{ info.records }} records, {{ info.rows }} rows).</p>
{% endif %}
{% if total == 0 %}
<p>No queries: every rule of the validation holds.</p>
{% else %}
<p>{{ sections[0].n }} error(s) and {{ sections[1].n }} warning(s). Errors stop the analysis until they are
corrected in REDCap and the project exported again; warnings are for the abstractors to check. Values of
identifier fields are shown as {{ "[masked]" }}.</p>
<h2>Summary by rule</h2>
<table>
<tr><th>Severity</th><th>Rule</th><th>What it means</th><th>Queries</th></tr>
{% for c in counts %}
<tr><td class="{{ c.severity }}">{{ c.severity }}</td><td><code>{{ c.rule }}</code></td>
<td>{{ rules[c.rule].text }}</td><td>{{ c.n }}</td></tr>
{% endfor %}
</table>
{% for s in sections if s.n %}
<h2>{{ s.severity | capitalize }}s ({{ s.n }})</h2>
{% if s.more %}<p>The first {{ s.rows | length }} are listed; all {{ s.n }} are in queries.csv.</p>{% endif %}
<table>
<tr><th>Record</th><th>Form</th><th>Instance</th><th>Field</th><th>Value</th><th>Rule</th><th>Message</th></tr>
{% for q in s.rows %}
<tr><td>{{ q.record_id }}</td><td>{{ q.form }}</td><td>{{ q.instance }}</td><td><code>{{ q.field }}</code></td>
<td><code>{{ q.value }}</code></td><td class="{{ q.severity }}">{{ q.rule }}</td><td>{{ q.message }}</td></tr>
{% endfor %}
</table>
{% endfor %}
{% endif %}
</body>
</html>"""


# --- entry points of the workflow's scripts ---------------------------------------------------------------------

def run(inputs: Mapping[str, str | Path], outputs: Mapping[str, str | Path], *, repeating_forms, validation,
        window_days) -> str:
    """What rule ``validate`` runs: every query of the extracted files of ``inputs`` (names as in
    ``core.catalog.extracted_files``, and ``dictionary``) written to ``outputs["queries"]`` (CSV) and
    ``outputs["html"]``, also when there are errors. Returns the line for the log."""
    config = {"repeating_forms": repeating_forms, "validation": validation,
              "endpoints": {"progression": {"window_days": window_days}}}
    tables = read_tables(inputs, exported=False)
    # the export's rows and exported text are read when their checks run, a form at a time (over 2 GB for a
    # million patients if read at once)
    info = Path(inputs["export_info"])
    forms = json.loads(info.read_text())["forms"] if info.exists() else []
    material = ExportMaterial(inputs["rows"], {form: inputs[f"exported_{form}"] for form in forms})
    queries = validate(tables, load_dictionary(inputs["dictionary"]), config, material=material)
    write_query_report(queries, outputs["queries"], outputs["html"], info=tables.info)
    counts = queries["severity"].value_counts()
    return (f"Validation: {counts.get('error', 0)} error(s), {counts.get('warning', 0)} warning(s); "
            f"see {outputs['html']}")
