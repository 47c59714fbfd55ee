"""Hostile exports made from the example: markup, formulas, control characters and the patients' own
identifiers typed into every kind of field, and the scan that looks for any of them in what the workflow
wrote or printed."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import EXAMPLE

# Text that would run as markup in HTML, Markdown or rst, as a formula in a spreadsheet, or as a terminal
# control sequence, if placed somewhere as it is.
MARKUP = ("<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", "[click](javascript:alert(3))",
          ".. raw:: html", "`x`_", "|sub|")
FORMULAS = ('=HYPERLINK("http://example.invalid")', "@SUM(A1)", "+1+1", "-2+3")
CONTROL = ("\x1b[31mred", "bell\x07", "back\rline")
# the raw markup a scan must never find in an HTML or Markdown document (and a Markdown link not escaped)
LIVE_HTML = ("<img src=x", "<script>")
SCRIPT_BLOCK = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
LIVE_MARKDOWN_LINK = re.compile(r"(?<!\\)\]\(javascript:")
# what makes a field (a formula, a DDE link, an include) of a Word document's text
WORD_FIELDS = (b"<w:fldSimple", b"<w:fldChar", b"<w:instrText")


def read_export(path: Path = EXAMPLE / "export_raw.csv") -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_export(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def date_spellings(iso: str) -> list[str]:
    """A date as people write it besides YYYY-MM-DD."""
    d = date.fromisoformat(iso)
    return [iso, d.strftime("%Y/%m/%d"), d.strftime("%d/%m/%Y"), d.strftime("%m/%d/%Y"), d.strftime("%d.%m.%Y"),
            d.strftime("%Y%m%d"), d.strftime("%d-%b-%Y"), f"{d.strftime('%B')} {d.day}, {d.year}"]


@dataclass
class Identifiers:
    """Each record's identifier values in the example (record_id -> mrn, name, birth date)."""
    by_record: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[dict[str, str]]) -> Identifiers:
        return cls({r["record_id"]: {"mrn": r["mrn"], "name": r["patient_name"], "birth_date": r["birth_date"]}
                    for r in rows if r["mrn"]})

    def needles(self, rows: list[dict[str, str]]) -> set[str]:
        """Every MRN, full name and birth date in every usual spelling; a birth date that is also a clinical
        date of the export may legitimately appear as that date and is left out."""
        clinical = {v for r in rows for k, v in r.items() if k.endswith("_date") and k != "birth_date" and v}
        found = set()
        for ids in self.by_record.values():
            found |= {ids["mrn"], ids["name"]}
            if ids["birth_date"] not in clinical:
                found |= set(date_spellings(ids["birth_date"]))
        return found


def seeded_for_a_full_run(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The example with hostile text where the validation accepts any text (the free-text fields), the
    record's own identifiers typed into them, and hostile record ids: the whole workflow runs on it."""
    ids = Identifiers.of(rows)
    hostile_ids = {}
    for i, text in enumerate([*FORMULAS, "<b>r</b>", "r\x1b[2J", "*r*"]):
        hostile_ids[list(ids.by_record)[i]] = f"{text}{i}"
    seeded = []
    hostile = [*MARKUP, *FORMULAS, *CONTROL]
    for n, row in enumerate(rows):
        row = dict(row)
        own = ids.by_record.get(row["record_id"])
        if own and row["fusion_partner"] is not None and row["redcap_repeat_instrument"] == "":
            other = date_spellings(own["birth_date"])[1 + n % 7]
            row["fusion_partner"] = f"{hostile[n % len(hostile)]} {own['name']} {own['mrn']} {other}"
        if row["redcap_repeat_instrument"] == "subsequent_therapy":
            owner = ids.by_record[row["record_id"]]
            text = hostile[(n + 3) % len(hostile)]
            row["st_agent"] = f"{text} given by {owner['name'].lower()}" if n % 2 else text
        row["record_id"] = hostile_ids.get(row["record_id"], row["record_id"])
        seeded.append(row)
    return seeded


def seeded_to_stop(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The example with identifiers, markup, formulas and control characters typed into typed fields (dates,
    numbers, codes, the repeat instrument): the validation must stop the run, quoting none of them."""
    ids = Identifiers.of(rows)
    records = list(ids.by_record)
    seeded = [dict(r) for r in rows]
    first = {r["record_id"]: r for r in reversed(seeded) if r["redcap_repeat_instrument"] == ""}
    assessments = {r["record_id"]: r for r in seeded if r["redcap_repeat_instrument"] == "tumor_assessment"}
    plan = [("diagnosis_date", "mrn"), ("pack_years", "name"), ("criz_start_date", "birth_slash"),
            ("last_contact_date", "birth_dots"), ("sex", "name"), ("criz_dose_mg", "mrn")]
    for record, (column, what) in zip(records, plan):
        own = ids.by_record[record]
        value = {"mrn": own["mrn"], "name": own["name"],
                 "birth_slash": date_spellings(own["birth_date"])[1],
                 "birth_dots": date_spellings(own["birth_date"])[4]}[what]
        first[record][column] = value
    # markup, formulas and control characters in a field of every kind (code, checkbox, yes/no, number, date)
    kinds = ("sex", "fusion_method___1", "brain_met_symptomatic", "criz_dose_mg", "death_date", "ecog_ps",
             "criz_line", "measurable_disease")
    for i, (record, text) in enumerate(zip(records[6:], [*MARKUP, *FORMULAS, *CONTROL])):
        first[record][kinds[i % len(kinds)]] = text
    repeating = [r for r in seeded if r["redcap_repeat_instrument"] in ("tumor_assessment", "progression",
                                                                          "subsequent_therapy")]
    for row, text in zip(repeating[::40], [*MARKUP, *FORMULAS, *CONTROL]):
        column = {"tumor_assessment": "ta_response", "progression": "pd_site",
                  "subsequent_therapy": "st_start_date"}[row["redcap_repeat_instrument"]]
        row[column] = text
    # an identifier in a repeating row's instrument and date
    victim = records[-1]
    assessments[victim]["ta_date"] = ids.by_record[victim]["mrn"]
    assessments[records[-2]]["redcap_repeat_instrument"] = ids.by_record[records[-2]]["name"]
    return seeded


def _csv_formula_cells(path: Path) -> list[str]:
    live = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(
                        r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cell):
                    live.append(cell)
    return live


def scan(root: Path, needles: set[str], printed: str = "") -> list[str]:
    """What a hostile export must never leave: an identifier anywhere (files under ``root``, the parts of a
    Word document among them, and what was ``printed``), markup that would run in an HTML or Markdown
    document, a field in a Word document, a live formula in a CSV, a raw
    control character in a log or on the terminal."""
    lowered = {n.lower().encode() for n in needles}
    findings = []
    texts = [(p, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]
    texts.append((Path("<terminal>"), printed.encode()))
    for path, data in texts:
        if path.suffix == ".docx":  # its parts are deflated: scan the XML they hold
            with zipfile.ZipFile(path) as docx:
                data = b"\n".join(docx.read(name) for name in docx.namelist())
            findings += [f"{path}: Word field {m.decode()!r}" for m in WORD_FIELDS if m in data]
        low = data.lower()
        findings += [f"{path}: identifier {n.decode()!r}" for n in lowered if n in low]
        if path.suffix in (".html", ".md"):
            text = data.decode("utf-8", "replace")
            # Snakemake's report holds its data in script blocks, where a tag is text: only "<!--" there
            # could make a later "</script>" part of the script
            scripts = SCRIPT_BLOCK.findall(text)
            findings += [f"{path}: '<!--' in a script block" for body in scripts if "<!--" in body]
            text = SCRIPT_BLOCK.sub("", text)
            findings += [f"{path}: live markup {m!r}" for m in LIVE_HTML if m in text]
            if path.suffix == ".md" and LIVE_MARKDOWN_LINK.search(text):
                findings.append(f"{path}: live Markdown link")
        if path.suffix == ".csv":
            findings += [f"{path}: live formula {c!r}" for c in _csv_formula_cells(path)]
        # a log and the terminal are read in a terminal (data files keep their values as data)
        if path.suffix in (".log", ".md") or path.name == "<terminal>":
            if b"\x1b" in data or b"\x07" in data:
                findings.append(f"{path}: raw control character")
    return findings
