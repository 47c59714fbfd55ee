"""The manuscript tables as Word documents (python-docx), in the style journals ask for: a numbered title,
three horizontal rules (above the table, below its header, below the table) and no vertical one, then
footnotes naming the tests and every abbreviation the table uses.

The bytes are the same on every run: the zip entries in a fixed order with a fixed timestamp, and core
properties that hold the title only (no author, revision, creation or modification date).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from chartreview.core.escaping import word
from chartreview.core.rounding import MISSING_P

__all__ = ["ABBREVIATIONS", "WordTable", "numbered_title", "write_docx"]

# Every abbreviation a manuscript table may use, as the journal wants it spelled out below the table. A table's
# footnote lists those its title, header, cells and notes hold (as whole words, case as written here).
ABBREVIATIONS = {
    "CI": "confidence interval",
    "CNS": "central nervous system",
    "CR": "complete response",
    "DCR": "disease control rate",
    "ECOG": "Eastern Cooperative Oncology Group",
    "HR": "hazard ratio",
    "IQR": "interquartile range",
    "mo": "months",
    "NE": "not evaluable",
    "NR": "not reached",
    "ORR": "objective response rate",
    "OS": "overall survival",
    "PD": "progressive disease",
    "PFS": "progression-free survival",
    "PR": "partial response",
    "RECIST": "Response Evaluation Criteria in Solid Tumors",
    "SD": "stable disease",
    "SHR": "subdistribution hazard ratio",
    "SMD": "standardized mean difference",
    "PH": "proportional hazards",
    "RMST": "restricted mean survival time",
}
# What a cell that holds the missing mark alone means.
MISSING_MEANING = "not estimable"

# A4 with 2.5 cm margins; a table of more columns than this goes on a landscape page.
PAGE = (Cm(21.0), Cm(29.7))
MARGIN = Cm(2.5)
PORTRAIT_COLUMNS = 6
FONT = "Times New Roman"
TITLE_SIZE, CELL_SIZE, NOTE_SIZE = Pt(11), Pt(10), Pt(9)
# A table whose longest words do not fit its page at CELL_SIZE is set smaller, in half points, down to this
# (journals set tables at 7 to 10 pt); below it the words wrap inside.
SMALLEST_CELL_SIZE = Pt(7)
# The mean width of a character in ems (a bold header's included) and the left and right margins of a cell.
CHARACTER = 0.55
CELL_PADDING = Cm(0.45)
# The three rules (eighths of a point): the outer two heavier than the one below the header.
OUTER_RULE, HEADER_RULE = 8, 4
# Fixed for every zip entry, so the bytes do not carry the time of the run (the earliest a zip can hold).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class WordTable:
    """One table of a Word document: its number, its title (without a number), the formatted cells (the
    frame's columns are the header) and its notes (the tests, as the Markdown and HTML tables state them)."""

    number: int
    title: str
    table: pd.DataFrame
    notes: Sequence[str] = field(default_factory=tuple)


_NUMBER = re.compile(r"^Table \d+\.\s*")


def numbered_title(number: int, title: str) -> str:
    """'Table <number>. <title>', a number the title already has replaced (the tables are numbered by their
    order in the document)."""
    return f"Table {number}. {_NUMBER.sub('', title)}"


def abbreviations(texts: Sequence[str]) -> list[str]:
    """'CI, confidence interval' for each abbreviation of ABBREVIATIONS that ``texts`` use, alphabetical."""
    joined = "\n".join(texts)
    used = [a for a in ABBREVIATIONS if re.search(rf"(?<![A-Za-z0-9]){re.escape(a)}(?![A-Za-z0-9])", joined)]
    return [f"{a}, {ABBREVIATIONS[a]}" for a in sorted(used, key=str.lower)]


def footnotes(entry: WordTable) -> list[str]:
    """The notes of ``entry``, then what a lone missing mark means (when a cell holds one) and the
    abbreviations it uses."""
    cells = [str(v) for v in entry.table.to_numpy().ravel()]
    explained = ([f"{MISSING_P}, {MISSING_MEANING}"] if MISSING_P in cells else []) + abbreviations(
        [entry.title, *map(str, entry.table.columns), *cells, *entry.notes])
    return [*entry.notes, *(["; ".join(explained) + "."] if explained else [])]


def write_docx(path: str | Path, tables: Sequence[WordTable]) -> None:
    """``tables`` as one Word document at ``path``, each on a page of its own (landscape when wide)."""
    document = Document()
    styles = _styles(document)
    for i, entry in enumerate(tables):
        section = document.sections[0] if i == 0 else document.add_section(WD_SECTION.NEW_PAGE)
        _page(section, landscape=entry.table.shape[1] > PORTRAIT_COLUMNS)
        usable = section.page_width - section.left_margin - section.right_margin
        title = document.add_paragraph(style=styles["title"])
        title.add_run(f"Table {entry.number}. ").bold = True
        title.add_run(word(_NUMBER.sub("", entry.title)))
        _table(document, entry.table, usable)
        for note in footnotes(entry):
            document.add_paragraph(style=styles["note"]).add_run(word(note))
    _core_properties(document, numbered_title(tables[0].number, tables[0].title) if len(tables) == 1
                     else "Tables")
    buffer = io.BytesIO()
    document.save(buffer)
    Path(path).write_bytes(_fixed_zip(buffer.getvalue()))


def _styles(document) -> dict:
    """Normal (the cells): single-spaced, no space around, set once on the style rather than on each of
    hundreds of cells (python-docx is slow at the latter); the styles of the title and of the notes."""
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT, CELL_SIZE
    spacing = normal.paragraph_format
    spacing.space_before, spacing.space_after, spacing.line_spacing = Pt(0), Pt(0), 1.0
    made = {}
    for key, name, size, after in (("title", "Table title", TITLE_SIZE, Pt(6)),
                                   ("note", "Table note", NOTE_SIZE, Pt(2))):
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style, style.font.size = normal, size
        style.paragraph_format.space_after = after
        made[key] = style
    made["title"].paragraph_format.keep_with_next = True
    return made


def _page(section, *, landscape: bool) -> None:
    short, long = PAGE
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (long, short) if landscape else (short, long)
    section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = MARGIN


def _table(document, frame: pd.DataFrame, usable) -> None:
    """The cells of ``frame`` under its header (bold, kept with the first row): the first column left-aligned,
    the others centred."""
    header = [str(c) for c in frame.columns]
    body = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    table = document.add_table(rows=1 + len(body), cols=len(header))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    size = cell_size(header, body, usable)
    widths = _column_widths(header, body, usable, size)
    for column, width in zip(table.columns, widths):
        column.width = width  # the grid (LibreOffice reads it; Word reads each cell's width)
    for r, (row, values) in enumerate(zip(table.rows, [header, *body])):
        for c, (cell, value) in enumerate(zip(row.cells, values)):
            cell.width = widths[c]
            paragraph = cell.paragraphs[0]
            if c:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(word(value))
            if size != CELL_SIZE:
                run.font.size = size
            if r == 0:
                run.bold = paragraph.paragraph_format.keep_with_next = True
    _rules(table)


def _longest_words(header: list[str], body: list[list[str]]) -> list[int]:
    return [max((len(w) for text in (name, *(row[c] for row in body)) for w in text.split()), default=1)
            for c, name in enumerate(header)]


def cell_size(header: list[str], body: list[list[str]], usable: int) -> int:
    """The font size of a table's cells: CELL_SIZE, or the largest half-point size down to SMALLEST_CELL_SIZE
    at which every column holds its longest word within ``usable``."""
    chars = sum(_longest_words(header, body))
    fits = (usable - len(header) * CELL_PADDING) / (chars * CHARACTER)
    if fits >= CELL_SIZE:
        return CELL_SIZE
    return max(SMALLEST_CELL_SIZE, Pt(int(fits / Pt(0.5)) * 0.5))


def _column_widths(header: list[str], body: list[list[str]], usable: int, size: int = CELL_SIZE) -> list[int]:
    """Widths that fill ``usable`` as a browser lays out a table: each column at least its longest word (a
    cell wraps between words, never inside one) and, as far as there is room, its longest cell; a header
    wraps to the width of its column. Text measured at CHARACTER of the cell size, plus the cell margins."""
    def measure(chars: int) -> int:
        return int(chars * CHARACTER * size) + CELL_PADDING

    least, natural = [], []
    for c, name in enumerate(header):
        column = [row[c] for row in body]
        words = [len(w) for text in (name, *column) for w in text.split()]
        least.append(measure(max(words, default=1)))
        natural.append(max(least[-1], measure(max((len(text) for text in column), default=1))))
    if sum(natural) <= usable:  # everything on one line: the room left shared in proportion
        return [int(usable * n / sum(natural)) for n in natural]
    if sum(least) >= usable:  # words wider than the page: they wrap inside, in proportion
        return [int(usable * n / sum(least)) for n in least]
    stretch = [n - m for n, m in zip(natural, least)]
    room = usable - sum(least)
    return [m + int(room * s / sum(stretch)) for m, s in zip(least, stretch)]


# The children of w:tblPr, w:tcPr and w:trPr that the schema puts after the element we add (they must stay
# in the schema's order for Word to open the file).
_AFTER_TBL_BORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription")
_AFTER_TC_BORDERS = ("w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark")
_AFTER_TBL_HEADER = ("w:tblCellSpacing", "w:jc", "w:hidden")


def _insert(parent, child, successors: tuple[str, ...]) -> None:
    following = next((e for e in parent if e.tag in {qn(s) for s in successors}), None)
    if following is None:
        parent.append(child)
    else:
        following.addprevious(child)


def _borders(tag: str, **sizes: int):
    """A w:tblBorders or w:tcBorders element: a single black rule of the given size (eighths of a point) on
    each named side, none on every other side it names with 0."""
    element = OxmlElement(tag)
    for side, size in sizes.items():
        rule = OxmlElement(f"w:{side}")
        if size:
            rule.set(qn("w:val"), "single")
            rule.set(qn("w:sz"), str(size))
            rule.set(qn("w:space"), "0")
            rule.set(qn("w:color"), "000000")
        else:
            rule.set(qn("w:val"), "nil")
        element.append(rule)
    return element


def _rules(table) -> None:
    """Rules above and below the table and below its header row; every other border none, stated, so that
    no table style of the reader's Word adds one. The header row repeats on each page a long table takes."""
    _insert(table._tbl.tblPr, _borders("w:tblBorders", top=OUTER_RULE, left=0, bottom=OUTER_RULE, right=0,
                                       insideH=0, insideV=0), _AFTER_TBL_BORDERS)
    header = table.rows[0]
    for cell in header.cells:
        _insert(cell._tc.get_or_add_tcPr(), _borders("w:tcBorders", bottom=HEADER_RULE), _AFTER_TC_BORDERS)
    _insert(header._tr.get_or_add_trPr(), OxmlElement("w:tblHeader"), _AFTER_TBL_HEADER)


def _core_properties(document, title: str) -> None:
    """The title only: python-docx's template would state an author, a description, a revision and dates."""
    properties = document.core_properties
    properties.title = word(title)
    element = properties._element  # python-docx has no call that removes a property
    for child in list(element):
        if child.tag != qn("dc:title"):
            element.remove(child)
    package = document.part.package
    for key, relation in list(package.rels.items()):
        if relation.reltype == RELATIONSHIP_TYPE.THUMBNAIL:  # the template's picture of a blank page
            del package.rels[key]


def _fixed_zip(data: bytes) -> bytes:
    """The zip ``data`` again with its entries in a fixed order ([Content_Types].xml first, as Office writes
    it, then by name) and the same timestamp and attributes on each, deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        names = sorted(source.namelist(), key=lambda n: (n != "[Content_Types].xml", n))
        for name in names:
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.compress_type, entry.create_system, entry.external_attr = zipfile.ZIP_DEFLATED, 0, 0
            target.writestr(entry, source.read(name))
    return out.getvalue()
