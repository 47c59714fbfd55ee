"""The REDCap data dictionary: the single statement of the export's fields, forms, codes and identifiers.

Reads the two CSV files REDCap writes a data dictionary as, both with the same 18 columns in the same order:
the dictionary downloaded from the project (header "Variable / Field Name", "Form Name", ..., UTF-8 with a
BOM, the user's CSV delimiter) and the API's metadata export (header ``field_name``, ``form_name``, ...).
Anything else stops with one ``DictionaryError`` that names the file and says what to export instead.

Labels become plain text here, once: REDCap's rich-text labels hold HTML, and no markup of a dictionary may
reach a table, figure or report built from its labels.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from chartreview.core.errors import InputError

# REDCap's 18 dictionary columns, in its order: (name in the API's metadata, header of the downloaded file).
COLUMNS = (
    ("field_name", "Variable / Field Name"),
    ("form_name", "Form Name"),
    ("section_header", "Section Header"),
    ("field_type", "Field Type"),
    ("field_label", "Field Label"),
    ("select_choices_or_calculations", "Choices, Calculations, OR Slider Labels"),
    ("field_note", "Field Note"),
    ("text_validation_type_or_show_slider_number", "Text Validation Type OR Show Slider Number"),
    ("text_validation_min", "Text Validation Min"),
    ("text_validation_max", "Text Validation Max"),
    ("identifier", "Identifier?"),
    ("branching_logic", "Branching Logic (Show field only if...)"),
    ("required_field", "Required Field?"),
    ("custom_alignment", "Custom Alignment"),
    ("question_number", "Question Number (surveys only)"),
    ("matrix_group_name", "Matrix Group Name"),
    ("matrix_ranking", "Matrix Ranking?"),
    ("field_annotation", "Field Annotation"),
)
# The layouts, each as its header -> the API's name (the name the rows are read by).
LAYOUTS = {
    "REDCap's data dictionary": {header: name for name, header in COLUMNS},
    "the API's metadata": {name: name for name, _ in COLUMNS},
}
# The columns read; older REDCap versions write fewer columns, without "Field Annotation" or "Required Field?".
USED_COLUMNS = ("field_name", "form_name", "field_type", "field_label", "select_choices_or_calculations",
                "text_validation_type_or_show_slider_number", "text_validation_min", "text_validation_max",
                "identifier")
# The CSV delimiters REDCap offers (a user's preference applies to the dictionary download too).
DELIMITERS = (",", ";", "\t", "|", "^")
WHAT_TO_EXPORT = ("download the data dictionary from REDCap as CSV (Data Dictionary > Download the current "
                  "Data Dictionary) or export the metadata through the API as CSV (content=metadata, format=csv)")

FIELD_TYPES = ("text", "notes", "calc", "dropdown", "radio", "checkbox", "yesno", "truefalse", "file",
               "slider", "descriptive", "sql")
# Descriptive fields show text on the form and have no column in an export.
NOT_EXPORTED_TYPES = ("descriptive",)
# REDCap's fixed codes for its two-valued field types.
FIXED_CHOICES = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
CODED_TYPES = ("radio", "dropdown", "yesno", "truefalse", "checkbox")
DATE_VALIDATIONS = ("date_ymd", "date_mdy", "date_dmy")
NUMBER_VALIDATIONS = ("number", "integer", "number_1dp", "number_2dp")
# A calculated field exports its number; a slider its position, 0 to 100.
NUMBER_TYPES = ("calc", "slider")
# REDCap writes the choices separated by "|"; its own parser also splits at line breaks and at the literal
# "\n" it stores them with, and reads "&#44;" as a comma.
CHOICE_SEPARATOR = re.compile(r"\||\\n|\r\n|\r|\n")
# The starts of files that are no CSV: zip (xlsx, ods) and OLE (xls) workbooks, JSON and XML.
WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# Names that only a data export has in its header, to say so when one is given as the dictionary.
EXPORT_COLUMNS = ("record_id", "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_event_name",
                  "redcap_data_access_group", "redcap_survey_identifier")


class DictionaryError(InputError):
    """The data dictionary itself is unusable (named file, row and column in the message)."""


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    field_type: str
    label: str                       # plain text
    choices: dict[str, str]          # code -> label (plain text), in the dictionary's order
    validation: str
    minimum: float | None            # of a number field; None otherwise
    maximum: float | None
    identifier: bool
    required: bool

    @property
    def is_date(self) -> bool:
        return self.validation in DATE_VALIDATIONS

    @property
    def is_number(self) -> bool:
        return self.validation in NUMBER_VALIDATIONS or self.field_type in NUMBER_TYPES

    @property
    def is_coded(self) -> bool:
        return self.field_type in CODED_TYPES

    @property
    def is_checkbox(self) -> bool:
        return self.field_type == "checkbox"

    @property
    def is_exported(self) -> bool:
        """Whether an export has a column (or, for a checkbox, columns) for the field."""
        return self.field_type not in NOT_EXPORTED_TYPES

    def checkbox_columns(self) -> list[str]:
        """REDCap's export columns for a checkbox: ``<field>___<code>`` holding 0/1."""
        return [f"{self.name}___{code}" for code in self.choices]


@dataclass(frozen=True)
class DataDictionary:
    fields: tuple[Field, ...]
    path: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]  # type: ignore[attr-defined]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name  # type: ignore[attr-defined]

    @property
    def record_id(self) -> str:
        """REDCap's record identifier is the dictionary's first field."""
        return self.fields[0].name

    @property
    def forms(self) -> list[str]:
        return list(dict.fromkeys(f.form for f in self.fields))

    def fields_of(self, form: str) -> list[Field]:
        return [f for f in self.fields if f.form == form]

    @property
    def identifiers(self) -> list[str]:
        return [f.name for f in self.fields if f.identifier]

    def export_columns(self, form: str) -> list[str]:
        """The flat-export columns a form contributes, checkboxes expanded, ``<form>_complete`` last;
        none for a descriptive field."""
        columns: list[str] = []
        for f in self.fields_of(form):
            if f.name == self.record_id or not f.is_exported:
                continue
            columns.extend(f.checkbox_columns() if f.is_checkbox else [f.name])
        return columns + [f"{form}_complete"]

    def label_to_code(self, name: str) -> dict[str, str]:
        return {label: code for code, label in self[name].choices.items()}


# --- labels --------------------------------------------------------------------------------------------------

class _TextOfHtml(HTMLParser):
    """The text of an HTML fragment: tags dropped, a space where a tag breaks a line, entities decoded."""

    SKIPPED = ("script", "style")
    # Tags that end a line or a cell; inline tags (b, i, span, a, sup) join their text to its neighbours.
    BREAKING = ("br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th",
                "blockquote", "hr", "pre", "dt", "dd")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.skipping += tag in self.SKIPPED
        if tag in self.BREAKING:
            self.parts.append(" ")

    def handle_endtag(self, tag) -> None:
        self.skipping -= tag in self.SKIPPED and self.skipping > 0
        if tag in self.BREAKING:
            self.parts.append(" ")

    def handle_data(self, data) -> None:
        if not self.skipping:
            self.parts.append(data)


def plain_text(text: str) -> str:
    """A REDCap label as plain text: HTML tags removed, entities decoded once, white space (line breaks and
    no-break spaces included) made single spaces. ``'<p>Stage&nbsp;IV</p>'`` -> ``'Stage IV'``; a ``<``
    that opens no tag stays (``'ECOG < 2'``)."""
    if "<" not in text and "&" not in text:
        return " ".join(text.split())
    parser = _TextOfHtml()
    parser.feed(text)
    parser.close()
    return " ".join("".join(parser.parts).split())


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Male | 2, Female"`` -> ``{"1": "Male", "2": "Female"}``, as REDCap reads choices: the code up to
    the first comma (``"2, Yes, confirmed"`` -> ``"Yes, confirmed"``), a choice without a comma its own label,
    labels as plain text."""
    choices: dict[str, str] = {}
    for part in CHOICE_SEPARATOR.split(text or ""):
        if not part.strip():
            continue
        code, comma, label = part.partition(",")
        code = code.strip().replace("&#44;", ",")
        choices[code] = plain_text(label) if comma else plain_text(code)
    return choices


# --- reading -------------------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DictionaryError(f"{path}: the data dictionary does not exist (config key 'dictionary')") from None
    except OSError as exc:
        raise DictionaryError(f"{path}: the data dictionary cannot be read "
                              f"({exc.strerror or type(exc).__name__})") from None
    if data.startswith(WORKBOOK_SIGNATURES):
        raise DictionaryError(f"{path}: the data dictionary is a spreadsheet workbook (such as .xlsx), not a CSV "
                              f"file; {WHAT_TO_EXPORT}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DictionaryError(f"{path}: the data dictionary is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                              f"{WHAT_TO_EXPORT}, or save it from a spreadsheet as 'CSV UTF-8'") from None
    start = text.lstrip()[:1]
    if not start:
        raise DictionaryError(f"{path}: the data dictionary is empty; {WHAT_TO_EXPORT}")
    if start in "[{":
        raise DictionaryError(f"{path}: the data dictionary is JSON (the API's format=json), not CSV; "
                              f"{WHAT_TO_EXPORT}")
    if start == "<":
        raise DictionaryError(f"{path}: the data dictionary is XML (a project XML or the API's format=xml), "
                              f"not CSV; {WHAT_TO_EXPORT}")
    return text


def _layout(path: Path, text: str) -> tuple[str, dict[str, int]]:
    """The delimiter and, by the API's names, the position of each known column of the header."""
    first_line = text.split("\n", 1)[0]   # no header cell of either layout holds a line break
    closest: tuple[int, str, list[str]] = (0, "", [])
    for delimiter in DELIMITERS:
        header = [cell.strip() for cell in next(csv.reader([first_line], delimiter=delimiter), [])]
        for layout, names in LAYOUTS.items():
            position: dict[str, int] = {}
            for i, cell in enumerate(header):
                if cell in names:
                    position.setdefault(names[cell], i)
            missing = [name for name in USED_COLUMNS if name not in position]
            if not missing:
                return delimiter, position
            if len(position) > closest[0]:
                wanted = {name: header for header, name in names.items()}
                closest = (len(position), layout, [wanted[name] for name in missing])
    if closest[0] >= 2:
        raise DictionaryError(f"{path}: the data dictionary ({closest[1]}) lacks the column(s) {closest[2]}; "
                              f"{WHAT_TO_EXPORT}")
    # Only names REDCap writes are quoted: a file given by mistake may start with a patient's data.
    cells = set(re.split(r"[,;\t|^]", first_line.replace('"', "")))
    export = [name for name in EXPORT_COLUMNS if name in cells]
    found = (f"its header holds export columns such as {export}: this is a data export, not the dictionary"
             if export else "its first line names none of their columns")
    raise DictionaryError(f"{path}: the data dictionary is neither REDCap's data dictionary (header "
                          f"'Variable / Field Name', 'Form Name', ...) nor the API's metadata (header field_name, "
                          f"form_name, ...): {found}; {WHAT_TO_EXPORT}")


def _records(path: Path, text: str, delimiter: str):
    """(line where the record starts, its cells) of each non-blank record after the header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        next(reader)
        for cells in reader:
            start, line = line + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                yield start, cells
    except csv.Error:
        raise DictionaryError(f"{path}, line {line + 1}: the data dictionary cannot be read as CSV from there "
                              f"(a cell longer than {csv.field_size_limit():,} characters: is a quote left open?); "
                              f"{WHAT_TO_EXPORT}") from None


def _number(path: Path, line: int, name: str, which: str, text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        raise DictionaryError(f"{path}, line {line}: number field {name!r} has a non-numeric validation "
                              f"{which} {text!r}") from None


def load_dictionary(path: str | Path) -> DataDictionary:
    """Read a REDCap data dictionary: the downloaded CSV or the API's metadata CSV (UTF-8, with or without BOM,
    any of REDCap's delimiters)."""
    path = Path(path)
    text = _read_text(path)
    delimiter, position = _layout(path, text)
    fields: list[Field] = []
    seen: set[str] = set()
    for line, cells in _records(path, text, delimiter):
        def cell(column: str, cells=cells) -> str:
            i = position.get(column)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        name, form, ftype = cell("field_name"), cell("form_name"), cell("field_type").lower()
        if not name or not form:
            raise DictionaryError(f"{path}, line {line}: a field without its "
                                  f"{'variable / field name' if not name else 'form name'}")
        if name in seen:
            raise DictionaryError(f"{path}, line {line}: field {name!r} is stated twice")
        seen.add(name)
        if ftype not in FIELD_TYPES:
            raise DictionaryError(f"{path}, line {line}: field {name!r} has the field type {ftype!r}, which is "
                                  f"none of REDCap's ({', '.join(FIELD_TYPES)})")
        choices: dict[str, str] = {}
        if ftype in FIXED_CHOICES:
            choices = FIXED_CHOICES[ftype]
        elif ftype in CODED_TYPES:
            stated = cell("select_choices_or_calculations")
            choices = parse_choices(stated)
            if not choices:
                raise DictionaryError(f"{path}, line {line}: coded field {name!r} has no choices")
            if len([part for part in CHOICE_SEPARATOR.split(stated) if part.strip()]) != len(choices):
                raise DictionaryError(f"{path}, line {line}: coded field {name!r} states a code twice")
        validation = cell("text_validation_type_or_show_slider_number")
        minimum = maximum = None
        if validation in NUMBER_VALIDATIONS or ftype in NUMBER_TYPES:
            # a date field's min and max ("1900-01-01", "today") bound nothing the analysis reads
            minimum = _number(path, line, name, "min", cell("text_validation_min"))
            maximum = _number(path, line, name, "max", cell("text_validation_max"))
        fields.append(Field(
            name=name, form=form, field_type=ftype, label=plain_text(cell("field_label")), choices=choices,
            validation=validation, minimum=minimum, maximum=maximum,
            identifier=cell("identifier").lower() == "y", required=cell("required_field").lower() == "y"))
    if not fields:
        raise DictionaryError(f"{path}: the data dictionary has a header but no fields; {WHAT_TO_EXPORT}")
    return DataDictionary(tuple(fields), str(path))
