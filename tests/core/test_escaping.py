"""Output encoding by context (chartreview.core.escaping), and every writer that places a value of the export
or the config in HTML, Markdown, reStructuredText, CSV or a terminal: hostile record ids, values and group
labels come out as text, never as markup that runs, a live spreadsheet formula or a terminal control."""

from __future__ import annotations

import csv
import html as std_html
import io
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest
import yaml
from docutils.core import publish_parts
from docx import Document
from jinja2 import Environment

from chartreview.core import escaping
from chartreview.core.catalog import derived_files
from chartreview.core.config import with_defaults
from chartreview.core.errors import InputError
from chartreview.core.escaping import (
    UnsafeConfigText,
    check_config_shown,
    check_config_text,
    check_report_text,
    csv_cell,
    csv_frame,
    markdown,
    markdown_inline,
    rst,
    rst_literal,
    terminal,
)
from chartreview.core.steps import run_step
from chartreview.report.summary import write_summary
from chartreview.tables.manuscript import table_files, write_tables
from chartreview.validate.contracts import QUERY_COLUMNS
from chartreview.validate.gate import read_queries
from chartreview.validate.queries import ValidationFailed, gate, write_query_report
from support import CONFIG_FILE, FIXTURES, ROOT
from support.pipeline import endpoint_results
from support.workflow import Workflow

HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", '=HYPERLINK("http://x")', "+1+1",
           "-2+3", "@SUM(A1)", "\tX", "\rX", "\x1b[31mred", ".. raw:: html", "`x`_", "|sub|"]
PRINTABLE_HOSTILE = [h for h in HOSTILE if h.isprintable()]
MORE_RST = ["javascript:alert(1)", "x\n\n.. raw:: html\n\n   <img src=x onerror=alert(1)>", "1. first", "ROS1_",
            "*a*", "[1]_", ":raw:`<b>`", "a..b", "\u202eabc", "**", "\\`x`", "a::"]
ORDINARY = ["criz_start_date", "<0.001", "10.9 (10.1–NR)", "CR > PR > SD > PD > NE", "(CR + PR)", "12% / 12%",
            "  Male", "-0.5", "1.43 (0.80–2.57)", "Gray's test", "R chisq.test(correct = FALSE)", "ROS1: 2, ALK: 1.",
            "log-rank test (survdiff, rho = 0)", "days / 30.4375"]
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


# ------------------------------------------------------------------------------------- what the tests read
def live_formulas(path) -> list[str]:
    """Cells of a CSV (header included) a spreadsheet would run as a formula."""
    with open(path, newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    return [c for c in cells if escaping.FORMULA_START.match(c) and not escaping.PLAIN_NUMBER.match(c)]


def markdown_markup(text: str) -> list[str]:
    """What Markdown would read as markup in ``text``: a character of inline markup without its backslash,
    a "<" that opens raw HTML or an autolink, a control character."""
    bare = re.sub(r"\\.", "", text)
    found = re.findall(r"[`*\[\]|~]|<[A-Za-z/!?]", bare) + re.findall(r"(?<![^\W_])_|_(?![^\W_])", bare)
    return found + CONTROL.findall(text)


def rst_html(text: str) -> str:
    """``text`` as docutils renders a caption; any warning (an unclosed markup) is an error."""
    return publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 4})["body"]


def html_text(fragment: str) -> str:
    return std_html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


# -------------------------------------------------------------------------------------------------- HTML
@pytest.mark.parametrize("value", HOSTILE)
def test_html_escapes_every_markup_character(value):
    out = escaping.html(value)
    assert not re.search("[<>\"']", out)
    assert std_html.unescape(out) == value


# ---------------------------------------------------------------------------------------------- Markdown
@pytest.mark.parametrize("value", HOSTILE + MORE_RST)
def test_markdown_leaves_no_markup(value):
    for out in (markdown(value), markdown_inline(value)):
        assert markdown_markup(out) == []
        assert "\n" not in out


@pytest.mark.parametrize("value", PRINTABLE_HOSTILE)
def test_markdown_reads_back_as_the_value(value):
    def read(md):
        return std_html.unescape(re.sub(r"\\(.)", r"\1", md))
    assert read(markdown(value)) == read(markdown_inline(value)) == value


@pytest.mark.parametrize("value", ORDINARY)
def test_markdown_leaves_ordinary_text_as_it_is(value):
    assert markdown(value) == markdown_inline(value) == value


@pytest.mark.parametrize("value, expected", [
    ("# h", "\\# h"), ("> q", "\\> q"), ("- x", "\\- x"), ("+ x", "\\+ x"), ("---", "\\---"), ("===", "\\==="),
    ("1. first", "1\\. first"), ("2) second", "2\\) second"), ("#1", "#1"), ("-0.5", "-0.5"),
])
def test_markdown_escapes_what_starts_a_block_only_where_a_line_may_begin(value, expected):
    assert markdown(value) == expected
    assert markdown_inline(value) == value  # a table cell holds no block


def test_markdown_writes_control_characters_and_line_breaks_as_escapes():
    assert markdown("a\nb\x1b[31m") == "a\\\\nb\\\\x1b\\[31m"


# -------------------------------------------------------------------------------------- reStructuredText
@pytest.mark.parametrize("value", HOSTILE + MORE_RST)
def test_rst_reads_back_as_the_text(value):
    for where in ("{}", "Groups: {} and more."):  # at the start of a line, and inside one
        body = rst_html(where.format(rst(value)))
        assert body.count("<p>") == 1 and re.fullmatch(r"<p>[^<]*</p>", body.strip()), body
        assert html_text(body) == where.format(terminal(value, newlines=False))


@pytest.mark.parametrize("value", HOSTILE + MORE_RST + ["../data/export 1.csv", " a b "])
def test_rst_literal_shows_the_text_as_code(value):
    body = rst_html(f"Export: {rst_literal(value)}.")
    assert re.fullmatch(r'<p>Export: <(tt|code) class="docutils literal">.*</\1>\.</p>', body.strip(), re.S), body
    assert "<a " not in body and "<img" not in body and "<script" not in body
    code = html_text(body)[len("Export: "):-1]
    assert code.split() == terminal(value, newlines=False).split()


@pytest.mark.parametrize("value", ORDINARY[:1] + ["ROS1", "ALK", "Figure 2: spread", "Progression-free survival"])
def test_rst_leaves_ordinary_text_as_it_is(value):
    assert rst(value) == value


def test_without_the_check_an_export_path_injects_html_into_the_report():
    """The reason for the check: workflow.rst puts the export's path in an inline literal."""
    template = (ROOT / "workflow" / "report" / "workflow.rst").read_text()
    hostile = "a.csv``\n\n.. raw:: html\n\n   <img src=x onerror=alert(1)>\n\n``b.csv"
    config = {**with_defaults(yaml.safe_load(CONFIG_FILE.read_text())), "export": hostile}
    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string(template).render(
        snakemake=SimpleNamespace(config=config))
    assert "<img src=x onerror=alert(1)>" in publish_parts(text, writer="html")["body"]
    with pytest.raises(UnsafeConfigText, match="config key 'export'.*character 6"):
        check_config_shown(config)


# ------------------------------------------------------------------------------------- the report's config
@pytest.fixture(scope="module")
def config():
    return with_defaults(yaml.safe_load(CONFIG_FILE.read_text()))


def test_the_study_config_is_accepted(config):
    check_config_shown(config, [str(CONFIG_FILE)])


@pytest.mark.parametrize("change, key", [
    (lambda c: c["groups"].update({"ALK</script><script>alert(1)</script>": 1}), "groups"),
    (lambda c: c["groups"].update({"`x`_": 1}), "groups"),
    (lambda c: c["groups"].update({"|sub|": 1}), "groups"),
    (lambda c: c["groups"].update({"ALK\n\n.. raw:: html": 1}), "groups"),
    (lambda c: c.update(export="a`b.csv"), "export"),
    (lambda c: c.update(export="a.csv\n.. raw:: html"), "export"),
    (lambda c: c["figures"]["figure1"].update(title="Survival *x*"), "figures.figure1.title"),
    (lambda c: c["figures"]["figure1"].update(title="see javascript:alert(1)"), "figures.figure1.title"),
    (lambda c: c["published"].update(x={"label": "ORR", "note": "<!--<script>"}), "published.x.note"),
    (lambda c: c["statistics"].update(covariates=["age", "</script>"]), "statistics.covariates"),
    (lambda c: c["figures"].update({"fig\x1b[2J": c["figures"]["figure1"]}), "figures"),
    (lambda c: c["published"].update(x={"label": "ORR\r", "note": ""}), "published.x.label"),
])
def test_config_text_the_report_would_read_as_markup_stops_the_run(config, change, key):
    hostile = yaml.safe_load(yaml.safe_dump(config))
    change(hostile)
    with pytest.raises(UnsafeConfigText, match=f"^config key '{re.escape(key)}': ") as raised:
        check_config_shown(hostile)
    assert isinstance(raised.value, InputError)
    assert not CONTROL.search(str(raised.value)) and "\n" not in str(raised.value)


def test_a_config_file_path_that_would_end_the_script_block_stops_the_run(config):
    with pytest.raises(UnsafeConfigText, match="^config key '--configfile'"):
        check_config_text(config, [("--configfile", "a</script>/config.yaml")])


def test_check_report_text_names_the_key_and_accepts_plain_text():
    check_report_text("groups", "EGFR exon 19 (del)")
    check_report_text("export", "../data/export 2024.csv", literal=True)
    with pytest.raises(UnsafeConfigText, match=r"^config key 'groups': 'ROS1_' .* character 5 \('_'"):
        check_report_text("groups", "ROS1_")


def test_snakemake_stops_before_any_job_on_a_group_label_that_would_break_the_report(tmp_path):
    run = Workflow(tmp_path / "repo")  # its config/ is a copy
    hostile = yaml.safe_load(CONFIG_FILE.read_text())
    hostile["groups"] = {"ROS1": 2, "ALK</script><script>alert(1)</script>": 1}
    (run.workdir / "config" / "config.yaml").write_text(yaml.safe_dump(hostile))
    done = run.run("--dry-run", check=False)
    assert done.returncode != 0
    assert "config key 'groups'" in done.stderr + done.stdout
    assert "would end the <script> block of Snakemake's report" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout


# ------------------------------------------------------------------------------------------------ CSV
@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tX", "\rX", "- x", "-"])
def test_csv_cell_neutralises_a_formula(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-0.5", "+3", "-12", "1e-05", "-.5", "<img src=x>", "", "a=b", "'=x", " =1"])
def test_csv_cell_leaves_numbers_and_other_text_as_they_are(value):
    assert csv_cell(value) == value


def test_csv_frame_neutralises_text_cells_and_names_but_not_numbers(tmp_path):
    frame = pd.DataFrame({"record_id": HOSTILE, "=SUM(A1)_count": range(len(HOSTILE)),
                          "estimate": [-0.5] * len(HOSTILE), "value": ["-5", "x"] * (len(HOSTILE) // 2),
                          "arrow": pd.array(HOSTILE, dtype="string[pyarrow]")})
    out = csv_frame(frame)
    out.to_csv(tmp_path / "a.csv", index=False)
    assert live_formulas(tmp_path / "a.csv") == []
    assert list(out.columns) == ["record_id", "'=SUM(A1)_count", "estimate", "value", "arrow"]
    assert out["estimate"].tolist() == [-0.5] * len(HOSTILE) and out["value"].tolist() == frame["value"].tolist()
    assert out["arrow"].dtype == frame["arrow"].dtype
    assert out["record_id"].tolist() == [csv_cell(v) for v in HOSTILE] == out["arrow"].tolist()
    assert frame["record_id"].tolist() == HOSTILE  # the caller's frame is not changed


def test_csv_frame_returns_a_frame_that_needs_nothing_as_it_was():
    frame = pd.DataFrame({"record_id": ["1", "2"], "p": [-0.5, 0.1], "text": ["-0.5", "a-b"]})
    assert csv_frame(frame) is frame


# ------------------------------------------------------------------------------------------- terminal
@pytest.mark.parametrize("value", HOSTILE + MORE_RST)
def test_terminal_writes_control_characters_as_escapes(value):
    assert not CONTROL.search(terminal(value)) and not CONTROL.search(terminal(value, newlines=False))
    assert "\n" not in terminal(value, newlines=False)


def test_terminal_keeps_the_lines_of_a_message_and_escapes_the_rest():
    assert terminal("first\nrecord \x1b[31mred\r\t\u202e") == "first\nrecord \\x1b[31mred\\r\\t\\u202e"
    assert terminal("a\nb", newlines=False) == "a\\nb"


# --------------------------------------------------------------------------------------------- writers
def test_queries_csv_html_and_the_gate_message_hold_no_markup_formula_or_control(tmp_path):
    queries = pd.DataFrame([{"record_id": v, "form": "demographics", "instance": "", "field": "sex",
                             "value": v, "rule": "code", "severity": "error", "message": f"not a code: {v}"}
                            for v in ["a\nb"] + HOSTILE])[QUERY_COLUMNS]
    paths = {"queries": tmp_path / "queries.csv", "html": tmp_path / "queries.html"}
    write_query_report(queries, paths["queries"], paths["html"])
    assert live_formulas(paths["queries"]) == []
    # every reader finds the rows written, a value with a line break or a carriage return within its cell
    written = csv_frame(queries)
    assert pd.read_csv(paths["queries"], dtype=str, keep_default_na=False).equals(written)
    assert read_queries(paths["queries"]).to_pandas().equals(written)
    page = paths["html"].read_text()
    assert "<img" not in page and "<script" not in page and "</script" not in page and "&lt;img" in page
    with pytest.raises(ValidationFailed) as failed:
        gate(paths, {"passed": tmp_path / "passed.txt"})
    message = str(failed.value)
    assert not CONTROL.search(message)
    assert len(message.splitlines()) == 1 + min(10, len(HOSTILE)) + 1  # one line per error shown


def test_run_step_escapes_control_characters_on_the_terminal_and_in_the_log(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # run_step sends standard error to the log
    log = tmp_path / "step.log"
    job = SimpleNamespace(log=[str(log)], params={}, input={}, output={})

    def step(inputs, outputs):
        raise InputError("record \x1b[2J\x1b[31mred\rX:\nsecond line")

    with pytest.raises(SystemExit):
        run_step(job, step, "extract")
    sys.stderr.close()
    shown = capfd.readouterr().err
    for text in (shown, log.read_text()):
        assert "extract: record \\x1b[2J\\x1b[31mred\\rX:\nsecond line" in text
        assert not CONTROL.search(text)


HOSTILE_REFERENCE = "</script><b>ROS1</b>"
HOSTILE_OTHER = '=HYPERLINK("x")|`x`_*'


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """The fixture export with hostile record ids, through every step to the endpoint results, with hostile
    group labels (set directly: the workflow's config check would stop them before any step)."""
    out = tmp_path_factory.mktemp("hostile")
    export = pd.read_csv(FIXTURES / "exports" / "export_raw.csv", dtype=str, keep_default_na=False)
    ids = dict(zip(sorted(export["record_id"].unique()), HOSTILE[:2] + ["-2+3", "@SUM(A1)", "\x1b[31mred|`x`_"]))
    export["record_id"] = export["record_id"].map(ids)
    export.to_csv(out / "export.csv", index=False, lineterminator="\n")
    config = {"groups": {HOSTILE_REFERENCE: 2, HOSTILE_OTHER: 1}, "reference_group": HOSTILE_REFERENCE,
              "published": {"orr": {"label": "<img src=x onerror=alert(1)>", "endpoint": "response", "key": "orr",
                                    "values": {HOSTILE_REFERENCE: 50}, "unit": "%", "test": "-2+3|`x`_",
                                    "p": "0.10", "note": "# <script>alert(1)</script>"}}}
    results = endpoint_results(out / "export.csv", out, config=config)
    return SimpleNamespace(dir=out, results=results, config=with_defaults(config), ids=ids)


def assert_no_markup_in_html(page: str):
    for raw in ("<img", "<script", "</script", "<b>"):
        assert raw not in page, raw


def test_audit_holds_hostile_record_ids_as_text(hostile_run):
    files = derived_files(str(hostile_run.dir / "results" / "derived"))
    assert live_formulas(files["audit_csv"]) == []
    with open(files["audit_csv"], newline="", encoding="utf-8") as fh:
        shown = {row["record_id"] for row in csv.DictReader(fh)}
    assert shown == {csv_cell(v) for v in hostile_run.ids.values()}
    assert_no_markup_in_html(Path(files["audit_html"]).read_text())


def test_tables_and_summary_hold_hostile_group_labels_as_text(hostile_run):
    import json
    results = {name: json.loads(data) for name, data in hostile_run.results.items()}
    paths = table_files(hostile_run.dir / "tables")
    write_tables(results, paths, [HOSTILE_REFERENCE, HOSTILE_OTHER])
    summary = {"md": hostile_run.dir / "summary.md", "html": hostile_run.dir / "summary.html"}
    result_paths = {name: str(hostile_run.dir / f"results/endpoints/{name}.json") for name in results}
    groups = {HOSTILE_REFERENCE: 2, HOSTILE_OTHER: 1}
    write_summary(result_paths, str(hostile_run.dir / "results/derived/flow.json"),
                  {**hostile_run.config, "groups": groups}, summary["md"], summary["html"])
    documents = [f for table in paths.values() for f in table.values()] + list(summary.values())
    for path in documents:
        if path.suffix == ".docx":  # the labels are text of a run, and nothing in it is a field
            document = Document(path)
            cells = "\n".join(cell.text for row in document.tables[0].rows for cell in row.cells)
            assert HOSTILE_REFERENCE in cells and HOSTILE_OTHER in cells, path
            assert not document.element.body.xpath(".//w:fldSimple | .//w:fldChar | .//w:instrText"), path
            continue
        text = Path(path).read_text(encoding="utf-8")
        if path.suffix == ".csv":
            assert live_formulas(path) == [], path
        elif path.suffix == ".html":
            assert_no_markup_in_html(text)
        else:
            assert "|`x`_" not in text and "<script" not in text and "<b>" not in text and "<img" not in text
            rows = [line for line in text.splitlines() if line.startswith("|")]
            assert len({len(re.split(r"(?<!\\)\|", row)) for row in rows}) == 1, path  # every row keeps its cells
    assert "- &lt;img src=x onerror=alert(1)>: # &lt;script>alert(1)&lt;/script>" in summary["md"].read_text()


def test_figure_text_is_drawn_as_written(tmp_path):
    from chartreview.figures import style
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with style.context():
        fig = plt.figure()
        fig.text(0.1, 0.5, r"ALK $\foo$ and $x$")  # mathtext would fail on \foo
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)
