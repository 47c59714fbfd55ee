"""The REDCap data dictionary: the single statement of the export's fields, forms, codes and identifiers.

Reads the dictionary CSV exactly as REDCap writes it ("Variable / Field Name", "Form Name",
"Field Type", "Choices, Calculations, OR Slider Labels", "Identifier?", ...).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from chartreview.core.errors import InputError

COLUMN_NAME = "Variable / Field Name"
COLUMN_FORM = "Form Name"
COLUMN_TYPE = "Field Type"
COLUMN_LABEL = "Field Label"
COLUMN_CHOICES = "Choices, Calculations, OR Slider Labels"
COLUMN_VALIDATION = "Text Validation Type OR Show Slider Number"
COLUMN_MIN = "Text Validation Min"
COLUMN_MAX = "Text Validation Max"
COLUMN_IDENTIFIER = "Identifier?"
COLUMN_REQUIRED = "Required Field?"
REQUIRED_COLUMNS = (COLUMN_NAME, COLUMN_FORM, COLUMN_TYPE, COLUMN_LABEL, COLUMN_CHOICES,
                    COLUMN_VALIDATION, COLUMN_MIN, COLUMN_MAX, COLUMN_IDENTIFIER)

# REDCap's fixed codes for its two-valued field types.
FIXED_CHOICES = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
CODED_TYPES = ("radio", "dropdown", "yesno", "truefalse", "checkbox")
DATE_VALIDATIONS = ("date_ymd", "date_mdy", "date_dmy")
NUMBER_VALIDATIONS = ("number", "integer", "number_1dp", "number_2dp")


class DictionaryError(InputError):
    """The data dictionary itself is unusable (named file, row and column in the message)."""


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    field_type: str
    label: str
    choices: dict[str, str]          # code -> label, in the dictionary's order
    validation: str
    minimum: float | None
    maximum: float | None
    identifier: bool
    required: bool

    @property
    def is_date(self) -> bool:
        return self.validation in DATE_VALIDATIONS

    @property
    def is_number(self) -> bool:
        return self.validation in NUMBER_VALIDATIONS

    @property
    def is_coded(self) -> bool:
        return self.field_type in CODED_TYPES

    @property
    def is_checkbox(self) -> bool:
        return self.field_type == "checkbox"

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
        """The flat-export columns a form contributes, checkboxes expanded, ``<form>_complete`` last."""
        columns: list[str] = []
        for f in self.fields_of(form):
            if f.name == self.record_id:
                continue
            columns.extend(f.checkbox_columns() if f.is_checkbox else [f.name])
        return columns + [f"{form}_complete"]

    def label_to_code(self, name: str) -> dict[str, str]:
        return {label: code for code, label in self[name].choices.items()}


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Male | 2, Female"`` -> ``{"1": "Male", "2": "Female"}``."""
    choices: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split("|"))):
        code, _, label = part.partition(",")
        choices[code.strip()] = label.strip()
    return choices


def _number(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def load_dictionary(path: str | Path) -> DataDictionary:
    """Read a REDCap data dictionary CSV (UTF-8, with or without BOM)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DictionaryError(f"{path}: the data dictionary lacks the column(s) {missing}")
            rows = list(reader)
    except FileNotFoundError:
        raise DictionaryError(f"{path}: the data dictionary does not exist (config key 'dictionary')") from None
    except UnicodeDecodeError as exc:
        raise DictionaryError(f"{path}: the data dictionary is not UTF-8 ({exc.reason})") from None
    fields = []
    for line, row in enumerate(rows, start=2):
        ftype = row[COLUMN_TYPE].strip()
        choices = FIXED_CHOICES.get(ftype) or parse_choices(row[COLUMN_CHOICES])
        if ftype in CODED_TYPES and not choices:
            raise DictionaryError(f"{path}, line {line}: coded field {row[COLUMN_NAME]!r} has no choices")
        try:
            minimum, maximum = _number(row[COLUMN_MIN]), _number(row[COLUMN_MAX])
        except ValueError:
            raise DictionaryError(f"{path}, line {line}: field {row[COLUMN_NAME]!r} has a non-numeric "
                                  f"validation min/max") from None
        fields.append(Field(
            name=row[COLUMN_NAME].strip(), form=row[COLUMN_FORM].strip(), field_type=ftype,
            label=row[COLUMN_LABEL].strip(), choices=choices,
            validation=row[COLUMN_VALIDATION].strip(), minimum=minimum, maximum=maximum,
            identifier=row[COLUMN_IDENTIFIER].strip().lower() == "y",
            required=row.get(COLUMN_REQUIRED, "").strip().lower() == "y"))
    if not fields:
        raise DictionaryError(f"{path}: the data dictionary has no fields")
    return DataDictionary(tuple(fields), str(path))
