"""De-identification at extraction: a record's name, MRN or birth date typed anywhere in the export reaches
no file, query or message; a record_id that is an identifier stops the run or is replaced by a pseudonym."""

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chartreview.core.catalog import extracted_files
from chartreview.core.config import with_defaults
from chartreview.core.dictionary import load_dictionary
from chartreview.core.errors import InputError
from chartreview.extract import deidentify, redcap
from chartreview.extract.deidentify import MASKED, IdentifierError
from chartreview.validate import queries
from support import DICTIONARY, EXAMPLE, extraction_params
from support.bad_exports import read_raw, to_label, write_raw

NAME, MRN, BIRTH = "Maria O'Brien-Tanaka", "48213377", "1951-12-27"
# every way the test writes them, and what must then be absent from every file (case-insensitive)
BIRTH_WRITTEN = ["1951/12/27", "27.12.1951", "12/27/1951", "19511227", "27-Dec-1951", "December 27, 1951",
                 "27/12/51", "1951年12月27日"]
TOKENS = [MRN, "maria", "o'brien", "brien", "tanaka", BIRTH, *BIRTH_WRITTEN]
CONFIG = with_defaults({})


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return read_raw(EXAMPLE / "export_raw.csv")


def _rows(frame, record, instrument=""):
    return frame.index[(frame["record_id"] == record) & (frame["redcap_repeat_instrument"] == instrument)]


def hostile(clean: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The example with record A's identifiers made realistic and typed into its other fields, and into
    another record's; returns the export and where each was put (record, form, field)."""
    frame = clean.copy()
    a, b = frame.loc[frame["redcap_repeat_instrument"] == "", "record_id"].iloc[[0, 1]]
    pa_row, pb_row = _rows(frame, a)[0], _rows(frame, b)[0]
    frame.loc[pa_row, ["mrn", "patient_name", "birth_date"]] = [MRN, NAME, BIRTH]
    ta = _rows(frame, a, "tumor_assessment")
    st = _rows(frame, a, "subsequent_therapy")
    assert len(ta) >= 3 and len(st) >= 1 and len(_rows(frame, b, "tumor_assessment"))
    put = {
        (a, "criz_end_date"): MRN,                              # a date field holding the MRN
        (a, "fusion_partner"): "maria o'brien",                  # free text, other case
        (a, "diagnosis_date"): "1951/12/27",                     # the birth date in a date field
        (a, "pack_years"): "19511227",                           # ... in a number field
        (a, "fusion_method___1"): MRN,                           # ... a checkbox
        (a, "sex"): "Tanaka",                                    # ... a code
        (a, "last_contact_date"): BIRTH,                         # the birth date as the study writes dates
    }
    for (_, field), value in put.items():
        frame.loc[pa_row, field] = value
    frame.loc[ta[0], "ta_sld_mm"] = "27.12.1951"
    frame.loc[ta[1], "ta_date"] = "27-Dec-1951"
    frame.loc[ta[2], "redcap_repeat_instrument"] = "Maria OBrien"        # the name as an instrument
    frame.loc[ta[2], "redcap_repeat_instance"] = "12/27/1951"
    frame.loc[st[0], "st_agent"] = "per Dr. note O'BRIEN declined, born December 27, 1951 (1951年12月27日)"
    # another record's entries holding record A's whole name (any order) and MRN
    frame.loc[pb_row, "fusion_partner"] = "Tanaka, Maria O'Brien"
    frame.loc[_rows(frame, b, "tumor_assessment")[0], "ta_sld_mm"] = MRN
    return frame, {"a": a, "b": b}


def run_extraction(export, workdir, pseudonym_key=None, **options):
    dictionary = load_dictionary(DICTIONARY)
    extracted = {k: str(Path(workdir) / v) for k, v in extracted_files("results/extracted", dictionary.forms).items()}
    inputs = {"export": str(export), "dictionary": str(DICTIONARY)}
    if pseudonym_key is not None:
        inputs["pseudonym_key"] = str(pseudonym_key)
    line = redcap.run(inputs, extracted, **{**extraction_params(CONFIG), **options})
    return extracted, line


def run_validation(extracted, workdir):
    checked = {"queries": str(Path(workdir) / "results/validation/queries.csv"),
               "html": str(Path(workdir) / "results/validation/queries.html")}
    queries.run({**extracted, "dictionary": str(DICTIONARY)}, checked, repeating_forms=CONFIG["repeating_forms"],
                validation=CONFIG["validation"], window_days=CONFIG["endpoints"]["progression"]["window_days"])
    try:
        queries.gate(checked, {"passed": str(Path(workdir) / "results/validation/passed.txt")})
    except InputError as exc:
        return str(exc)
    return ""


def all_text(root: Path) -> str:
    """Every byte of every file under ``root`` as text, and each Parquet file's values as text (its
    pages may be compressed)."""
    text = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        text.append(path.read_bytes().decode("utf-8", "replace"))
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            text.append(table.to_pandas().astype(str).to_csv())
            text.append(str(table.schema.metadata))
    return "\n".join(text).lower()


def assert_no_identifier(text: str, where: str):
    for token in TOKENS:
        assert token.lower() not in text, f"{token!r} in {where}"


# --- identifiers typed anywhere ---------------------------------------------------------------------------

def test_no_identifier_reaches_any_file_query_or_message(clean, tmp_path):
    frame, who = hostile(clean)
    export = write_raw(frame, tmp_path / "export_raw.csv")
    out = tmp_path / "out"
    extracted, line = run_extraction(export, out)
    gate = run_validation(extracted, out)
    assert_no_identifier(all_text(out), "the files written")
    assert_no_identifier((line + gate).lower(), "the messages")
    assert "error" in gate  # the masked entries are queried, so the run stops before derivation

    found = pd.read_csv(out / "results/validation/queries.csv", dtype=str, keep_default_na=False)
    identifier = found[found["rule"].isin(["identifier", "identifier_in_text"])]
    expected = {(who["a"], f) for f in ("criz_end_date", "fusion_partner", "diagnosis_date", "pack_years",
                                        "fusion_method___1", "sex", "last_contact_date", "ta_sld_mm", "ta_date",
                                        "st_agent")} | {(who["b"], "fusion_partner"), (who["b"], "ta_sld_mm")}
    assert set(zip(identifier["record_id"], identifier["field"])) == expected
    assert set(identifier["value"]) == {MASKED}
    # an error in a typed field (its value is lost), a warning in free text (not analysed)
    free_text = identifier["field"].isin(["fusion_partner", "st_agent"])
    assert set(identifier.loc[free_text, "rule"]) == {"identifier_in_text"}
    assert set(identifier.loc[~free_text, "rule"]) == {"identifier"}
    assert identifier.loc[~free_text, "message"].str.startswith("holds a patient identifier").all()
    # one query per masked entry: not also "not a date", "not a number", "required"
    keys = ["record_id", "form", "instance", "field"]
    others = found.merge(identifier[keys], on=keys)
    assert set(others["rule"]) == {"identifier", "identifier_in_text"}
    # the name as an instrument and the birth date as an instance: queried, quoted masked
    structure = found[found["field"].isin(["redcap_repeat_instrument", "redcap_repeat_instance"])]
    assert len(structure) and set(structure["value"]) == {MASKED}

    tables = redcap.read_tables(extracted)
    patient = tables.patients.set_index("record_id").loc[who["a"]]
    assert pd.isna(patient["fusion_partner"]) and pd.isna(patient["diagnosis_date"]) and pd.isna(patient["sex"])
    assert pd.isna(patient["pack_years"]) and not patient["fusion_method___1"]
    assert not (tables.subsequent_therapies["st_agent"] == MASKED).any()  # a masked entry is missing


def text_workbook(frame: pd.DataFrame, dictionary, path: Path) -> Path:
    """The workbook of a raw export, every cell as text: a sheet per form, and one per instrument the
    dictionary does not know (named by it, as REDCap would)."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for form in dictionary.forms:
            repeating = form in set(frame["redcap_repeat_instrument"])
            rows = frame[frame["redcap_repeat_instrument"] == (form if repeating else "")]
            columns = ["record_id"] + (["redcap_repeat_instance"] if repeating else []) + \
                dictionary.export_columns(form)
            rows[columns].to_excel(writer, sheet_name=form, index=False)
        for other in set(frame["redcap_repeat_instrument"]) - set(dictionary.forms) - {""}:
            rows = frame[frame["redcap_repeat_instrument"] == other]
            rows[["record_id", "redcap_repeat_instance", "ta_date"]].to_excel(writer, sheet_name=other, index=False)
    return path


@pytest.mark.parametrize("form", ["label", "xlsx"])
def test_the_label_export_and_the_workbook_are_masked_alike(clean, tmp_path, form):
    frame, _ = hostile(clean)
    raw = write_raw(frame, tmp_path / "export_raw.csv")
    dictionary = load_dictionary(DICTIONARY)
    export = (to_label(raw, dictionary, tmp_path / "export_label.csv") if form == "label" else
              text_workbook(frame, dictionary, tmp_path / "export.xlsx"))
    raw.unlink()
    if form == "xlsx":   # a sheet named by the name is not a form: refused, naming the sheet by position
        with pytest.raises(InputError) as refused:
            run_extraction(export, tmp_path / "out")
        assert re.search(r"sheet \d+ of \d+: its name is not a form", str(refused.value))
        assert_no_identifier(str(refused.value).lower(), "the workbook's refusal")
        assert not (tmp_path / "out").exists()
        return
    extracted, line = run_extraction(export, tmp_path / "out")
    assert_no_identifier(all_text(tmp_path / "out") + line.lower(), f"the {form} export's extraction")


def test_entries_without_an_identifier_are_kept(clean, tmp_path):
    """Another record's birth date is an ordinary date (a million records have one on almost every day);
    an entry merely sharing a short word with a name stays too."""
    frame, who = hostile(clean)
    b_row = _rows(frame, who["b"])[0]
    frame.loc[b_row, "diagnosis_date"] = BIRTH
    frame.loc[b_row, "fusion_partner"] = "EML4 (variant 3) per Maria's lab"   # one word of A's name, in B
    export = write_raw(frame, tmp_path / "export_raw.csv")
    tables = redcap.extract(export, load_dictionary(DICTIONARY))
    patients = tables.patients.set_index("record_id")
    assert patients.loc[who["b"], "diagnosis_date"] == pd.Timestamp(BIRTH)
    assert patients.loc[who["b"], "fusion_partner"] == "EML4 (variant 3) per Maria's lab"
    assert pd.isna(patients.loc[who["a"], "fusion_partner"])


def test_the_example_is_unchanged_by_the_masking(tmp_path):
    dictionary = load_dictionary(DICTIONARY)
    tables = redcap.extract(EXAMPLE / "export_raw.csv", dictionary)
    for form, text in tables.exported.items():
        entries = text.drop(columns=["record_id", "instance", "source"] + dictionary.identifiers, errors="ignore")
        assert not (entries == MASKED).any().any(), form
    assert not (tables.rows[["instrument", "instance"]] == MASKED).any().any()


@pytest.mark.parametrize("written", BIRTH_WRITTEN + ["1951-12-27T00:00", "Dec. 27th 1951", "27 december 1951",
                                                     "１９５１／１２／２７"])
def test_a_birth_date_is_recognised_however_it_is_written(written):
    at, keys = deidentify._date_pairs(pa.array([written]))
    assert len(at) and set(keys) & set(deidentify._date_keys([19511227]).tolist())


def test_ordinary_numbers_are_not_dates():
    at, _ = deidentify._date_pairs(pa.array(["500", "12.5", "1951", "EML4", "2 of 3"]))
    assert not len(at)


# --- a record_id that is an identifier -------------------------------------------------------------------

def keyed_on_mrn(clean: pd.DataFrame, other: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """The example keyed on the MRN (or one record keyed on another record's MRN)."""
    frame = clean.copy()
    patients = frame[frame["redcap_repeat_instrument"] == ""]
    mrn = dict(zip(patients["record_id"], patients["mrn"].str.replace("SYN-", "MRN", regex=False)))
    frame["mrn"] = frame["mrn"].str.replace("SYN-", "MRN", regex=False)
    if other:
        first, second = patients["record_id"].iloc[:2]
        frame.loc[frame["record_id"] == first, "record_id"] = mrn[second]
        return frame, [mrn[second]]
    frame["record_id"] = frame["record_id"].map(mrn)
    return frame, list(mrn.values())


@pytest.mark.parametrize("other", [False, True], ids=["own", "another record's"])
def test_a_record_id_holding_an_mrn_stops_the_run_without_printing_it(clean, tmp_path, other):
    frame, mrns = keyed_on_mrn(clean, other)
    export = write_raw(frame, tmp_path / "export_raw.csv")
    with pytest.raises(IdentifierError) as stopped:
        run_extraction(export, tmp_path / "out")
    message = str(stopped.value)
    assert not any(m.lower() in message.lower() for m in mrns)
    assert "line 2" in message and "mrn" in message and "record_id_pseudonym" in message
    assert ("another record's" in message) == other
    assert not (tmp_path / "out").exists()


def test_a_pseudonym_replaces_every_record_id_the_same_at_every_run(clean, tmp_path):
    frame, mrns = keyed_on_mrn(clean)
    export = write_raw(frame, tmp_path / "export_raw.csv")
    key = tmp_path / "secret.key"
    key.write_text("4f1c0d2e9b8a7f6e5d4c3b2a19081716\n")
    results = []
    for run in ("first", "second"):
        extracted, line = run_extraction(export, tmp_path / run, record_id_pseudonym=True, pseudonym_key=key)
        assert "pseudonym" in line
        results.append({Path(p).name: Path(p).read_bytes() for p in extracted.values()})
    assert results[0] == results[1]
    text = all_text(tmp_path / "first")
    assert not any(m.lower() in text for m in mrns)
    assert "4f1c0d2e9b8a7f6e5d4c3b2a19081716" not in text
    patients = redcap.read_tables(extracted).patients
    assert patients["record_id"].str.fullmatch(r"P[0-9A-F]{16}").all()
    assert patients["record_id"].nunique() == len(mrns)
    # the record order is kept: the first record is the export's first
    expected = deidentify.pseudonyms([mrns[0]], key.read_bytes().strip())[0]
    assert patients["record_id"].iloc[0] == expected


@pytest.mark.parametrize("content", [None, b"short"], ids=["no file", "too short"])
def test_an_unusable_pseudonym_key_is_named_not_quoted(tmp_path, content):
    key = tmp_path / "secret.key"
    if content is not None:
        key.write_bytes(content)
    with pytest.raises(IdentifierError, match="record_id_pseudonym_key") as stopped:
        deidentify.read_pseudonym_key(str(key))
    assert "short" not in str(stopped.value).replace("shorter", "")
    with pytest.raises(IdentifierError, match="record_id_pseudonym_key"):
        deidentify.read_pseudonym_key("")


# --- extraction's own messages ------------------------------------------------------------------------------

def test_a_malformed_row_is_named_by_its_line_not_its_record_id(clean, tmp_path):
    frame, mrns = keyed_on_mrn(clean)
    lines = frame.to_csv(index=False, lineterminator="\n").splitlines(keepends=True)
    truncated = tmp_path / "truncated.csv"
    truncated.write_text("".join(lines[:10]) + lines[10][:30])
    with pytest.raises(InputError) as stopped:
        redcap.extract(truncated, load_dictionary(DICTIONARY))
    assert "line 11" in str(stopped.value) and mrns[0][:3] not in str(stopped.value).replace(str(tmp_path), "")
    undecodable = tmp_path / "latin1.csv"
    undecodable.write_bytes("".join(lines[:10]).encode() + lines[10].replace(",,", ",é,", 1).encode("latin-1"))
    with pytest.raises(InputError) as stopped:
        redcap.extract(undecodable, load_dictionary(DICTIONARY))
    message = str(stopped.value).replace(str(tmp_path), "")
    assert "line 11" in message and not re.search(r"MRN\d", message)
