"""The manuscript tables as Word documents (chartreview.tables.word through write_tables): each read back with
python-docx against the Markdown and CSV tables written with it, the three rules in the XML, the footnotes, the
document of all the tables, deterministic bytes and text that stays text."""

import json
import re
import time
import zipfile

import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn

from chartreview.core.catalog import ENDPOINTS, MANUSCRIPT_TABLES
from chartreview.core.escaping import word
from chartreview.core.rounding import format_p
from chartreview.tables.manuscript import TABLE_TITLES, table_files, write_tables
from chartreview.tables.word import (
    ABBREVIATIONS,
    CELL_SIZE,
    CHARACTER,
    SMALLEST_CELL_SIZE,
    ZIP_TIME,
    WordTable,
    numbered_title,
    write_docx,
)
from support.endpoint_helpers import GROUPS, derived_tables, run, with_tumour_size

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def results():
    derived = derived_tables()
    results = {name: json.loads(json.dumps(run(name, derived), allow_nan=True)) for name in ENDPOINTS}
    results["tumor_size"] = json.loads(json.dumps(run("tumor_size", with_tumour_size(derived))))
    return results


@pytest.fixture(scope="module")
def written(tmp_path_factory, results):
    directory = tmp_path_factory.mktemp("tables")
    write_tables(results, table_files(directory), list(GROUPS), directory / "tables.docx")
    return directory


def docx_cells(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def markdown_cells(path) -> list[list[str]]:
    """The header and rows of a Markdown table written by write_tables, each cell as the text it shows."""
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            rows.append([re.sub(r"\\(.)", r"\1", c[1:-1]).replace("&lt;", "<").replace("&amp;", "&")
                         for c in cells])
    return rows


def footnotes(document) -> list[str]:
    """The paragraphs after the (only) table."""
    body = document.element.body
    after = list(body).index(document.tables[0]._tbl) + 1
    return [p.xpath("string(.)") for p in list(body)[after:] if p.tag == qn("w:p") and p.xpath("string(.)")]


def test_each_word_table_holds_the_markdown_table_cell_by_cell_and_the_csv_p_values(written):
    for number, name in enumerate(MANUSCRIPT_TABLES, start=1):
        document = Document(written / f"{name}.docx")
        assert len(document.tables) == 1, name
        cells = docx_cells(document.tables[0])
        assert cells == markdown_cells(written / f"{name}.md"), name
        assert document.paragraphs[0].text == numbered_title(number, TABLE_TITLES[name])
        assert document.paragraphs[0].runs[0].text == f"Table {number}. " and document.paragraphs[0].runs[0].bold
        # every P cell is a P value of the CSV as format_p writes it (or the mark of none)
        raw = pd.read_csv(written / f"{name}.csv")
        p_columns = [c for c in raw.columns if c == "p" or c.endswith("_p")]
        expected = {format_p(p) for c in p_columns for p in raw[c].dropna()}
        shown = {row[c] for row in cells[1:] for c, head in enumerate(cells[0])
                 if re.search(r"\bP\b", head) and row[c]}
        assert shown <= expected | {"–"}, name
        assert shown - {"–"} or not p_columns, name  # a table with P values shows some


def test_metastases_p_values_row_by_row(written):
    cells = docx_cells(Document(written / "metastases.docx").tables[0])
    raw = pd.read_csv(written / "metastases.csv")
    assert [row[-1] for row in cells[1:]] == [format_p(None if pd.isna(p) else p) for p in raw["p"]]
    assert cells[1] == ["Brain", "3/26 (12)", "12/42 (29)", "0.100"]


def _borders(element, tag) -> dict[str, tuple[str, str | None]]:
    found = element.find(f"{W}{tag}")
    return {} if found is None else {b.tag.removeprefix(W): (b.get(f"{W}val"), b.get(f"{W}sz")) for b in found}


def test_three_horizontal_rules_and_no_vertical_one(written):
    for name in [*MANUSCRIPT_TABLES, "tables"]:
        document = Document(written / f"{name}.docx")
        for table in document.tables:
            tbl = table._tbl
            assert tbl.tblPr.find(f"{W}tblStyle") is None  # no style of the reader's Word adds a border
            assert _borders(tbl.tblPr, "tblBorders") == {
                "top": ("single", "8"), "bottom": ("single", "8"), "left": ("nil", None), "right": ("nil", None),
                "insideH": ("nil", None), "insideV": ("nil", None)}
            for r, row in enumerate(tbl.tr_lst):
                for tc in row.tc_lst:
                    assert _borders(tc.tcPr, "tcBorders") == ({"bottom": ("single", "4")} if r == 0 else {}), name
            assert tbl.tr_lst[0].trPr.find(f"{W}tblHeader") is not None


def test_columns_fill_the_page_and_split_no_word(written):
    """Each column is at least as wide as its longest word (a P value is one line), and the table spans the
    text width of its page."""
    document = Document(written / "tables.docx")
    for section, table in zip(document.sections, document.tables):
        grid = [int(col.get(f"{W}w")) * 635 for col in table._tbl.tblGrid.findall(f"{W}gridCol")]  # twips -> EMU
        usable = section.page_width - section.left_margin - section.right_margin
        assert abs(sum(grid) - usable) <= len(grid) * 635  # each width rounded to a twip
        # a table too wide for its page at CELL_SIZE is set smaller, never below SMALLEST_CELL_SIZE
        sizes = {run.font.size or CELL_SIZE for row in table.rows for cell in row.cells
                 for paragraph in cell.paragraphs for run in paragraph.runs}
        assert len(sizes) == 1 and SMALLEST_CELL_SIZE <= (size := sizes.pop()) <= CELL_SIZE
        for c, width in enumerate(grid):
            longest = max(len(w) for row in docx_cells(table) for w in row[c].split() or [""])
            assert width >= longest * CHARACTER * size or size == SMALLEST_CELL_SIZE, (c, longest)


def test_footnotes_name_the_tests_and_every_abbreviation(written, results):
    notes = footnotes(Document(written / "survival.docx"))
    assert notes[0].startswith("Kaplan-Meier medians") and "log-rank test" in notes[0]
    assert notes[1] == ("–, not estimable; CI, confidence interval; HR, hazard ratio; mo, months; NR, not reached; "
                        "PH, proportional hazards; RMST, restricted mean survival time.")
    assert "Pearson chi-square without continuity correction" in footnotes(Document(written / "metastases.docx"))[0]
    response = footnotes(Document(written / "response.docx"))
    assert response[1] == ("CI, confidence interval; CR, complete response; NE, not evaluable; PD, progressive "
                           "disease; PR, partial response; RECIST, Response Evaluation Criteria in Solid Tumors; "
                           "SD, stable disease.")
    # every abbreviation of every table is spelled out below it (group labels and stages are names, not
    # abbreviations)
    for name in MANUSCRIPT_TABLES:
        document = Document(written / f"{name}.docx")
        text = "\n".join([document.paragraphs[0].text, *(c for row in docx_cells(document.tables[0]) for c in row)])
        used = set(re.findall(r"(?<![A-Za-z0-9])([A-Z]{2,}|mo)(?![A-Za-z0-9])", text)) - set(GROUPS)
        used = {u for u in used if not re.fullmatch(r"[IVX]+[A-C]?", u)}
        assert used <= set(ABBREVIATIONS), (name, used - set(ABBREVIATIONS))
        explained = footnotes(document)[-1]
        assert all(f"{a}, {ABBREVIATIONS[a]}" in explained for a in used), name


def test_the_document_of_all_tables_holds_each_in_catalog_order(written):
    document = Document(written / "tables.docx")
    # weighting is off by default: its table ("not requested") stays out of the journal's document
    shown = [name for name in MANUSCRIPT_TABLES if name != "weighting"]
    assert len(document.tables) == len(shown)
    titles = [p.text for p in document.paragraphs if p.text.startswith("Table ")]
    assert titles == [numbered_title(i, TABLE_TITLES[n]) for i, n in enumerate(shown, start=1)]
    for name, table in zip(shown, document.tables):
        assert docx_cells(table) == docx_cells(Document(written / f"{name}.docx").tables[0]), name
    # a page of its own for each table, landscape for the wide ones
    sections = document.sections
    assert len(sections) == len(shown)
    for section, table in zip(sections, document.tables):
        assert (section.page_width > section.page_height) == (len(table.columns) > 6)


def test_the_bytes_do_not_depend_on_the_time_of_the_run(tmp_path, written, results, monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3 * 365 * 86400)  # python-docx stamps its zip entries
    write_tables(results, table_files(tmp_path), list(GROUPS), tmp_path / "tables.docx")
    for path in sorted(written.glob("*.docx")):
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), path.name
        with zipfile.ZipFile(path) as docx:
            names = docx.namelist()
            assert names[0] == "[Content_Types].xml" and names[1:] == sorted(names[1:])
            assert {entry.date_time for entry in docx.infolist()} == {ZIP_TIME}
            core = docx.read("docProps/core.xml").decode()
            assert re.findall(r"<(\w+:\w+)\b", core) == ["cp:coreProperties", "dc:title"]
            assert "docProps/thumbnail.jpeg" not in names


def test_cell_text_stays_text(tmp_path):
    """A cell that would start a formula in a spreadsheet, field markup, a control character: all text of a
    run, read back as written (control characters as escapes), and no field anywhere in the document."""
    hostile = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", '<w:fldSimple w:instr="DDEAUTO c:\\\\x"/>', "{ INCLUDE x }",
               "bell\x07", "tab\tbreak\nend", "\u202eright-to-left", "lone \ud800"]
    frame = pd.DataFrame({"=A1": hostile, "P": ["<0.001"] * len(hostile)})
    write_docx(tmp_path / "t.docx", [WordTable(1, "=HYPERLINK(1) & <b>", frame, ("@SUM(A1) <w:instrText>",))])
    document = Document(tmp_path / "t.docx")
    assert docx_cells(document.tables[0]) == [["=A1", "P"], *([word(v), "<0.001"] for v in hostile)]
    assert word("bell\x07") == "bell\\x07" and word("lone \ud800") == "lone \\ud800"
    assert document.paragraphs[0].text == "Table 1. =HYPERLINK(1) & <b>"
    assert footnotes(document)[0] == "@SUM(A1) <w:instrText>"
    for tag in ("fldSimple", "fldChar", "instrText", "hyperlink", "tab", "br"):
        assert not document.element.body.findall(f".//{W}{tag}"), tag
    with zipfile.ZipFile(tmp_path / "t.docx") as docx:
        assert b"<w:fldSimple" not in docx.read("word/document.xml")
