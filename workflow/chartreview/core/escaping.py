"""A value placed in a document, escaped for that document's context: one function per context, each
naming its rule. HTML, Markdown, reStructuredText (Snakemake's report), the cells of a CSV a spreadsheet
opens, a Word document, and the terminal.

Each function escapes only what its context would read as markup, so ordinary text (a group label, a
P value such as "<0.001", a field name such as criz_start_date) comes out as it went in.

Standard library only: workflow/rules/common.smk checks the config with it while Snakemake builds the DAG.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from chartreview.core.errors import InputError

# ------------------------------------------------------------------------------------------- terminal
# C0 and C1 control characters (newline apart), DEL, the Unicode line and paragraph separators and the
# bidirectional controls that reorder what a terminal shows.
_CONTROL_BUT_TAB = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = "\t" + _CONTROL_BUT_TAB
_CONTROL_CHARACTERS = re.compile(f"[{_CONTROL}]")
_CONTROL_OR_NEWLINE = re.compile(f"[{_CONTROL}\n]")


def _escape_control(match: re.Match) -> str:
    return repr(match.group())[1:-1]


def terminal(text, *, newlines: bool = True) -> str:
    """Text for a terminal or a log: every control character written as its Python escape (``\\x1b``,
    ``\\r``, ``\\t``, ``\\u202e``), so a value cannot move the cursor, recolour, erase or reorder what is
    shown. ``newlines=True`` keeps the line breaks of a message of our own; a single value (a record_id,
    a cell) is escaped with ``newlines=False``, so it cannot start a line that looks like another."""
    return (_CONTROL_CHARACTERS if newlines else _CONTROL_OR_NEWLINE).sub(_escape_control, str(text))


# ----------------------------------------------------------------------------------------------- HTML
def html(text) -> str:
    """Text for HTML element content or a quoted attribute value: ``& < > " '`` as character references
    (``html.escape`` with ``quote=True``)."""
    return _html.escape(str(text), quote=True)


# ---------------------------------------------------------------------------------------- Word (OOXML)
# What XML 1.0 cannot hold at all (lone surrogates, U+FFFE, U+FFFF); the C0 controls are the terminal's.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def word(text) -> str:
    """Text for a run of a Word document (the text of a ``w:t`` element, which the XML writer escapes):
    control characters, line breaks and tabs included, written as escapes as for ``terminal`` with
    ``newlines=False`` (XML cannot hold most of them, a tab or a break would become ``w:tab``/``w:br``, a
    bidirectional control would reorder what is shown), and what XML cannot hold as its escape. A ``w:t``
    is text: a leading ``=``, ``+``, ``-`` or ``@`` makes no field (only ``w:fldSimple`` and ``w:fldChar``
    do), so it is left as it is."""
    return _NOT_XML.sub(_escape_control, terminal(text, newlines=False))


# ------------------------------------------------------------------------------------------- Markdown
# Inline markup of CommonMark and GitHub's tables: code spans, emphasis (an underscore between two letters
# or digits cannot open or close it, so field names stay as they are), links and images (brackets),
# strikethrough, table cells, backslash escapes. "<" only where it could open raw HTML or an autolink (a
# letter, "/", "!" or "?" follows: "<0.001" stays); "&" only where it would start a character reference.
_MARKDOWN_INLINE = re.compile(r"[\\`*\[\]|~]|(?<![^\W_])_|_(?![^\W_])|<(?=[A-Za-z/!?])|&(?=#?\w+;)")
_MARKDOWN_ENTITIES = {"<": "&lt;", "&": "&amp;"}
# What starts a block at the beginning of a line: an ATX heading, a block quote, a bullet list item, a
# setext underline or thematic break, an ordered list item ("1." or "1)"; the "." or ")" is escaped).
_MARKDOWN_BLOCK_START = re.compile(r"^(\s*)(?:(#{1,6}(?=\s|$)|>|[-+](?=\s|$)|([-=])\3)|\d{1,9}([.)])(?=\s|$))")


def markdown_inline(text) -> str:
    """Text for a cell of a Markdown (GitHub) table: inline markup escaped (backslash before
    ``\\ ` * [ ] | ~`` and a ``_`` not between letters or digits; ``&lt;`` for a ``<`` that could open raw
    HTML, ``&amp;`` for an ``&`` that would start a character reference) and control characters, line
    breaks included, written as escapes. What starts a block means nothing inside a cell."""
    printable = terminal(text, newlines=False)  # a line break would end the table row or start a block
    return _MARKDOWN_INLINE.sub(lambda m: _MARKDOWN_ENTITIES.get(m.group(), "\\" + m.group()), printable)


def markdown(text) -> str:
    """Text for a Markdown paragraph, heading or list item, where it may begin a line: as
    ``markdown_inline``, and a leading ``#``, ``>``, ``-``, ``+``, ``=`` or list number that would start a
    block backslash-escaped. The other punctuation (``( ) { } . ! # + -`` inside a line) means nothing
    there and is left as it is."""
    inline = markdown_inline(text)

    def block(m: re.Match) -> str:
        if m.group(4):  # an ordered list number: escape the "." or ")" after it
            return m.group()[:-1] + "\\" + m.group(4)
        return m.group(1) + "\\" + m.group()[len(m.group(1)):]

    return _MARKDOWN_BLOCK_START.sub(block, inline, count=1)


# ---------------------------------------------------------------------------------- reStructuredText
# Inline markup of reStructuredText: emphasis, interpreted text and literals, substitutions, the
# backslash, a reference ("name_", "name__", "[1]_"), embedded targets, and a URI scheme that docutils
# would turn into a live link ("javascript:..."). An underscore between two letters or digits is text.
_RST_INLINE = re.compile(r"[\\`*|<>\[\]]|(?<![^\W_])_|_(?![^\W_])|(?<=[A-Za-z])(?=:[^\s:])|\.(?=\.)|:(?=:)")
# A line that begins with punctuation may begin a block (directive "..", list, table, section underline),
# and so may an enumerator ("1.", "a)", "iv.", "#.") followed by a space: its "." or ")" is escaped.
_RST_BLOCK_START = re.compile(r"[^\w\s\\]")
_RST_ENUMERATOR = re.compile(r"^(\d+|[A-Za-z]|[ivxlcdm]+|[IVXLCDM]+)([.)])(?=\s|$)")


def rst(text) -> str:
    """Text for a reStructuredText paragraph (a caption of Snakemake's report), read back as the same
    text: control characters and line breaks written as escapes (a blank line would let a directive such
    as ``.. raw:: html`` follow), then a backslash before each character that could start inline markup
    (``\\ ` * | < > [ ]``, an underscore not between letters or digits, the colon of a URI scheme, a
    ``.`` or ``:`` doubled), before a leading punctuation character and after a leading list number, either
    of which could start a block."""
    escaped = _RST_INLINE.sub(lambda m: "\\" + m.group(), terminal(text, newlines=False))
    if _RST_BLOCK_START.match(escaped):
        return "\\" + escaped
    return _RST_ENUMERATOR.sub(r"\1\\\2", escaped, count=1)


# What an inline literal cannot hold as it is.
_LITERAL_UNSAFE = re.compile(f"[`{_CONTROL}\n]|^\\s|\\s$")


def rst_literal(text) -> str:
    """Text shown as code in reStructuredText, control characters written as escapes. An inline literal
    (````text````) cannot escape anything, so text with a backquote is given as the ``:literal:`` role,
    whose content takes backslash escapes. Space at either end is not shown: neither form can hold it."""
    text = terminal(text, newlines=False).strip()
    if "`" not in text:
        return f"``{text}``" if text else ""
    return ":literal:`" + re.sub(r"[\\`]", lambda m: "\\" + m.group(), text) + "`"


class UnsafeConfigText(InputError):
    """Config text that Snakemake would show as it is where it would be read as more than text: markup in
    its report (reStructuredText of a caption, the end of the ``<script>`` block that holds the report's
    data), or a control character on the terminal."""


# Snakemake's report writes every param, label and rule input of a job (the whole config among them,
# through rule provenance) as JSON inside a <script> element, without escaping "</" or "<!--": either
# would end that element or swallow the rest of the page.
_SCRIPT_BREAK = re.compile(r"</|<!--")


def check_report_text(key: str, value, *, literal: bool = False) -> None:
    """Stop a config value that the report's captions insert as it is (Snakemake renders them with Jinja,
    which cannot call ``rst``) when reStructuredText would read it as more than text: ``literal=True`` for
    a value inside an inline literal (``rst_literal`` must not need the role), otherwise text of a
    paragraph (``rst`` must leave it as it is). ``key``: the config key, named in the message."""
    value = str(value)
    if literal:
        found = _LITERAL_UNSAFE.search(value)
        at = found.start() if found else None
        rule = "an inline literal holds no backquote, control character or space at either end"
    else:
        escaped = rst(value)
        at = next((i for i, (a, b) in enumerate(zip(value, escaped)) if a != b), None)
        rule = "the text of a caption holds no markup"
    if at is not None:
        raise UnsafeConfigText(
            f"config key '{key}': '{terminal(value, newlines=False)}' would be read as reStructuredText markup in "
            f"Snakemake's report at character {at + 1} ('{terminal(value[at], newlines=False)}': {rule}); "
            f"use plain text")


# What of a config's text Snakemake prints as it is on the terminal and in its log (a path, a figure's name):
# control characters but the line breaks and tabs of a YAML block of text.
_CONFIG_CONTROL = re.compile(f"[{_CONTROL_BUT_TAB}]")


def check_config_text(config: Mapping, extra: Iterable[tuple[str, str]] = ()) -> None:
    """Stop a config whose text (a key or a value, at any depth) holds ``</`` or ``<!--``, which would end
    the ``<script>`` block of Snakemake's report that holds every config value, or a control character,
    which Snakemake would print as it is. ``extra``: further (name, text) pairs Snakemake shows, e.g. the
    config files' paths."""
    def walk(node, key: str):
        if isinstance(node, Mapping):
            for name, value in node.items():
                yield key or str(name), str(name)
                yield from walk(value, f"{key}.{name}" if key else str(name))
        elif isinstance(node, (list, tuple)):
            for value in node:
                yield from walk(value, key)
        elif isinstance(node, str):
            yield key, node

    for key, text in [*walk(config, ""), *extra]:
        shown = f"config key '{key}': '{terminal(text, newlines=False)}'"
        found = _SCRIPT_BREAK.search(text)
        if found:
            raise UnsafeConfigText(f"{shown} holds '{found.group()}', which would end the <script> block of "
                                   f"Snakemake's report that holds the config; remove it")
        found = _CONFIG_CONTROL.search(text)
        if found:
            raise UnsafeConfigText(f"{shown} holds the control character '{terminal(found.group())}', which "
                                   f"Snakemake would print as it is on the terminal; remove it")


def check_config_shown(config: Mapping, config_files: Iterable[str] = ()) -> None:
    """Stop a config (validated, with its defaults) that Snakemake would show as more than text: text that
    would end the report's ``<script>`` data block or holds a control character (``check_config_text``),
    and the config text the captions under workflow/report/ insert as it is (``check_report_text``): the
    export's path (an inline literal of workflow.rst), the group labels and the figures' titles."""
    check_config_text(config, [("--configfile", str(path)) for path in config_files])
    check_report_text("export", config["export"], literal=True)
    for label in config["groups"]:
        check_report_text("groups", label)
    for name, figure in config["figures"].items():
        check_report_text(f"figures.{name}.title", figure.get("title", ""))


# ------------------------------------------------------------------------------------------------ CSV
# OWASP's rule for CSV injection: a spreadsheet runs a cell that begins with one of these as a formula.
FORMULA_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_START = re.compile(f"^[{re.escape(''.join(FORMULA_CHARACTERS))}]")
# A cell that is a plain decimal number ("-0.5", "+3", "1e-05"): a spreadsheet reads it as that number,
# which runs nothing, so it keeps its sign.
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def csv_cell(text: str) -> str:
    """A text cell of a CSV that a spreadsheet shows as text, not a formula (OWASP): a cell beginning with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, unless it is a plain
    decimal number. Numbers written as numbers are not text cells and are not passed here."""
    return "'" + text if FORMULA_START.match(text) and not PLAIN_NUMBER.match(text) else text


def write_csv(frame, path, **options) -> None:
    """``frame`` (pandas) through ``csv_frame`` to the CSV file ``path`` (pandas' ``to_csv`` ``options``, without
    the index). Its lines end in "\n", or in "\r\n" when a cell holds a carriage return: Python's csv writer
    quotes a cell for the characters of the line end only, and a carriage return left unquoted ends the row
    for every reader (a spreadsheet, R, pandas, Arrow)."""
    table = csv_frame(frame)
    text = table.to_csv(index=False, lineterminator="\n", **options)
    if "\r" in text:
        text = table.to_csv(index=False, lineterminator="\r\n", **options)
    Path(path).write_text(text, encoding="utf-8", newline="")


def csv_frame(frame):
    """``frame`` (pandas) with its column names and every text cell through ``csv_cell``, vectorised;
    columns of numbers, booleans and dates are written as values and left as they are. A column without
    such a cell is not touched, so a frame that needs nothing comes back as it was."""
    renamed = {c: csv_cell(c) for c in frame.columns if isinstance(c, str) and csv_cell(c) != c}
    if renamed:
        frame = frame.rename(columns=renamed)
    copied = bool(renamed)
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if values.dtype.kind in "biufcmM":
            continue
        text = values if str(values.dtype).startswith("string") else values.astype("string[pyarrow]")
        # the first character decides (fast on a million rows); the number pattern only for those it names
        formula = text.str.slice(0, 1).isin(FORMULA_CHARACTERS).to_numpy(dtype=bool)
        if formula.any():
            formula[formula] = ~text[formula].str.match(PLAIN_NUMBER.pattern).to_numpy(dtype=bool)
        if formula.any():
            if not copied:
                frame, copied = frame.copy(), True
            frame.isetitem(position, values.mask(formula, "'" + text))
    return frame
