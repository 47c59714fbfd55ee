"""De-identification at extraction: each record's identifier values masked wherever they appear in the
export's text, and a record_id that is an identifier refused (or replaced by a keyed pseudonym).

The identifier values are those of the data dictionary's fields with ``Identifier? = y`` (name, MRN, birth
date...), record by record. A cell of any other field (codes, dates, numbers, free text, the repeating form's
instrument and instance) is masked whole, as ``[masked]``, when it holds:

- anywhere in the export: a whole identifier value of any record, if it has at least ``EVERYWHERE_MIN_CHARS``
  letters or digits (an MRN or a full name typed into the wrong record); the words of a name may come in
  any order and with any punctuation between them ("Smith, John");
- in the record's own rows: also each word of its identifier values (a surname alone; words of two or more
  characters with a letter, so not initials nor the numbers of an MRN), and its birth date written in any of
  the usual ways (``1951/12/27``, ``27.12.1951``, ``12/27/51``, ``19511227``, ``27-Dec-1951``,
  ``December 27, 1951``, ``1951年12月27日``...).

Words are compared case-insensitively after Unicode NFKC normalisation (full-width digits as ASCII) and
split at every character that is neither a letter nor a digit; an identifier is also matched with its
separators removed (``SYN0000001``, ``山田太郎``). Birth dates are matched only in their own record: a
million records have a birth date on nearly every calendar day, so another record's birth date is not
telling, and masking it would erase the dates of the analysis.

For a million records this works on the distinct texts of each column and on 64-bit keys (a token's number
in the vocabulary of identifier words, mixed; a phrase = the sum of its words' keys, so word order does not
matter; a record's key mixed with it): numpy and Arrow set look-ups, never a regular expression of a million
alternatives nor a loop over records.

A record_id that holds an identifier (its own record's or another's) cannot be masked: it is what every
table, query and message names. The run stops, naming the rows and the field, unless the config key
``record_id_pseudonym`` replaces every record_id by a keyed pseudonym: the first 16 hexadecimal digits of
HMAC-SHA256 of the record_id under a secret key read from the file ``record_id_pseudonym_key``. The same key
gives the same pseudonym at every rerun and for every later export of the project (records added or
reordered do not change the others'); without the key the pseudonym cannot be traced back to the MRN.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chartreview.core.catalog import SOURCE
from chartreview.core.dictionary import DataDictionary
from chartreview.core.errors import InputError

MASKED = "[masked]"
EVERYWHERE_MIN_CHARS = 5   # a shorter value (an MRN "123") would mask ordinary numbers in every record
PART_MIN_CHARS = 2         # "Li", "Ng" are surnames; a single letter is an initial
MAX_PHRASE_WORDS = 8       # longer identifier values are matched by their words and their joined form
SEPARATORS = r"[^\pL\pN]+"
COMMON_SEPARATORS = "-./,_:'()"
ODD = r"[^\pL\pN ]"   # a character that is not a letter, digit or space
PSEUDONYM_KEY_MIN_BYTES = 16
PSEUDONYM_DIGITS = 16      # 64 bits: no two of a million records alike (checked)
# columns of the export's rows and form texts that are not an abstractor's entry
NOT_ENTERED = ("record_id", SOURCE, "stray")
SHEET = r"^sheet .*, row "   # a workbook row's source: "sheet <name>, row <n>"

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_DATE = _U64(0xD1B54A32D192ED03)
_RECORD = _U64(0x8CB92BA72F3D8DD7)


class IdentifierError(InputError):
    """A record_id holds an identifier, or the pseudonym key is unusable (never quoting a value)."""


# --- keys -------------------------------------------------------------------------------------------------

def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: distinct inputs give practically distinct, evenly spread 64-bit keys."""
    with np.errstate(over="ignore"):
        x = np.asarray(x).astype(_U64) + _GOLDEN
        x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def _phrase(total: np.ndarray, words: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return _mix(total + np.asarray(words).astype(_U64) * _GOLDEN)


def _date_keys(yyyymmdd: np.ndarray) -> np.ndarray:
    return _mix(np.asarray(yyyymmdd).astype(_U64) ^ _DATE)


def _own(record: np.ndarray, key: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return _mix(key ^ _mix(np.asarray(record).astype(_U64) ^ _RECORD))


def _isin(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys) or not len(values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[at] == values


# --- words and dates of a text ------------------------------------------------------------------------------

def _words(values: pa.Array) -> pa.ListArray:
    """Each value's words: lower case, NFKC, split at every run of characters neither letter nor digit."""
    text = pc.utf8_lower(pc.utf8_normalize(pc.fill_null(values, ""), "NFKC"))
    # the same split as a regular expression, faster: common separators to spaces by plain replacement,
    # the regular expression only for the values that still hold another separator, then a split at spaces
    odd = pc.match_substring_regex(text, ODD)
    if pc.any(odd).as_py():
        some = text.filter(odd)
        for separator in COMMON_SEPARATORS:
            if pc.any(pc.match_substring(some, separator)).as_py():
                some = pc.replace_substring(some, separator, " ")
        still = pc.match_substring_regex(some, ODD)
        if pc.any(still).as_py():
            some = pc.replace_with_mask(some, still, pc.replace_substring_regex(some.filter(still), SEPARATORS, " "))
        text = pc.replace_with_mask(text, odd, some)
    return pc.utf8_split_whitespace(text)


def _flat_words(values: pa.Array, lists: pa.ListArray | None = None) -> tuple[pa.Array, np.ndarray]:
    """Each value's words, flattened, and the value each came from (empty words dropped)."""
    lists = _words(values) if lists is None else lists
    flat, parent = pc.list_flatten(lists), pc.list_parent_indices(lists).to_numpy()
    keep = pc.greater(pc.utf8_length(flat), 0)
    return flat.filter(keep), parent[keep.to_numpy(zero_copy_only=False)]


_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_MON = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_SEP = r"\s*[-/.]\s*|\s+"
_GAP = r"[\s\-./,]*"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_ISO = r"^\d{4}-\d{2}-\d{2}$"
# what a text needs to hold a date in one of the forms below (read by Arrow, to leave few for them)
_MAY_HOLD_A_DATE = r"\d(\s*[-/.年]\s*|\s+)\d|(^|\D)\d{8}(\D|$)|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
# (pattern, order of the groups: y/m/d, and "n" for a month name)
_DATE_FORMS = [
    (re.compile(rf"(?<!\d)(\d{{4}})(?:{_SEP})(\d{{1,2}})(?:{_SEP})(\d{{1,2}})(?!\d)"), ("ymd",)),
    (re.compile(rf"(?<!\d)(\d{{1,2}})(?:{_SEP})(\d{{1,2}})(?:{_SEP})(\d{{4}}|\d{{2}})(?!\d)"), ("dmy", "mdy")),
    (re.compile(r"(?<!\d)(\d{8})(?!\d)"), ("compact",)),
    (re.compile(rf"(?<!\d){_DAY}{_GAP}{_MON}{_GAP}(\d{{4}}|\d{{2}})(?!\d)"), ("dny",)),
    (re.compile(rf"{_MON}{_GAP}{_DAY}{_GAP}(\d{{4}}|\d{{2}})(?!\d)"), ("ndy",)),
    (re.compile(rf"(?<!\d)(\d{{4}}){_GAP}{_MON}{_GAP}(\d{{1,2}})(?!\d)"), ("ynd",)),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})"), ("ymd",)),
]


def _years(y: str) -> list[int]:
    return [int(y)] if len(y) == 4 else [1900 + int(y), 2000 + int(y)]


def _dates_in(text: str) -> set[int]:
    """Every date (as yyyymmdd) the text may denote: day/month order and two-digit years both ways."""
    found: set[int] = set()
    for pattern, orders in _DATE_FORMS:
        for m in pattern.finditer(text):
            g = m.groups()
            for order in orders:
                if order == "compact":
                    candidates = [(g[0][:4], g[0][4:6], g[0][6:]), (g[0][4:], g[0][2:4], g[0][:2]),
                                  (g[0][4:], g[0][:2], g[0][2:4])]
                    triples = [(int(y), int(mo), int(d)) for y, mo, d in candidates]
                else:
                    parts = dict(zip(order, g))
                    month = _MONTHS[parts["n"]] if "n" in parts else int(parts["m"])
                    triples = [(y, month, int(parts["d"])) for y in _years(parts["y"])]
                found |= {y * 10000 + mo * 100 + d for y, mo, d in triples if 1 <= mo <= 12 and 1 <= d <= 31}
    return found


def _date_pairs(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(value position, date key) for every date a value may denote; YYYY-MM-DD read by Arrow, the rest
    (few distinct texts) by the patterns above."""
    text = pc.utf8_lower(pc.utf8_normalize(pc.fill_null(values, ""), "NFKC"))
    iso = pc.match_substring_regex(text, _ISO).to_numpy(zero_copy_only=False)
    at = [np.flatnonzero(iso)]
    dates = [pc.cast(pc.replace_substring(text.filter(pa.array(iso)), "-", ""), pa.int64()).to_numpy()]
    other = np.flatnonzero(~iso & pc.match_substring_regex(text, _MAY_HOLD_A_DATE).to_numpy(zero_copy_only=False))
    for i, string in zip(other, text.take(pa.array(other, pa.int64())).to_pylist()):
        found = sorted(_dates_in(string))
        at.append(np.full(len(found), i, dtype=np.int64))
        dates.append(np.array(found, dtype=np.int64))
    return np.concatenate(at).astype(np.int64), _date_keys(np.concatenate(dates))


# --- the identifiers of the records -----------------------------------------------------------------------

@dataclass(frozen=True)
class Identifiers:
    """Each record's identifier values as keys (a record is its position among ``records``)."""
    records: pa.Array          # the distinct record_ids, in order of first appearance
    vocabulary: pa.Array       # every word of an identifier value (and each value's words joined)
    max_words: int
    everywhere: np.ndarray     # sorted phrase keys masked in every record
    anyone: np.ndarray         # sorted keys masked in their own record (before mixing in the record)
    own: np.ndarray            # sorted keys of (record, key)

    def record_codes(self, record_ids) -> np.ndarray:
        return _positions(_arrow(record_ids), self.records)


def _arrow(column) -> pa.Array:
    if isinstance(column, pd.Series):
        column = pa.array(column.array) if isinstance(column.dtype, pd.ArrowDtype) else pa.array(column, pa.string())
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return column.cast(pa.string())


def _chunks(column: pd.Series) -> pa.ChunkedArray | pa.Array:
    """A text column's Arrow memory as it is (its chunks not copied into one)."""
    if isinstance(column.dtype, pd.ArrowDtype) and column.dtype.pyarrow_dtype == pa.string():
        return column.array.__arrow_array__()
    return _arrow(column)


def _distinct(keys: list[np.ndarray]) -> np.ndarray:
    keys = np.concatenate(keys) if keys else np.array([], dtype=_U64)
    keys.sort()   # in place: the keys of a million records are not held twice
    return keys[np.append(True, keys[1:] != keys[:-1])] if len(keys) else keys


def collect(parts, rows: pd.DataFrame, dictionary: DataDictionary, fields=None) -> Identifiers:
    """The identifier values of every record, from the forms' texts (``parts``) as exported (``fields``:
    those identifier fields only)."""
    records = pc.unique(_chunks(rows["record_id"]))
    pieces = []   # (field, record codes, values, dates: (value, key) pairs or None)
    for part in parts:
        codes = None
        for name in fields or dictionary.identifiers:
            if name in part.columns:
                codes = pc.index_in(_arrow(part["record_id"]), value_set=records) if codes is None else codes
                values = _arrow(part[name])
                filled = pc.greater(pc.utf8_length(values), 0)
                values, of = values.filter(filled), codes.filter(filled).to_numpy().astype(np.int64)
                if dictionary[name].is_date:   # a date is matched as a date; its words only when it is none
                    at, dates = _date_pairs(values)
                    pieces.append((name, of[at], None, dates))
                    undated = np.ones(len(values), dtype=bool)
                    undated[at] = False
                    values, of = values.filter(pa.array(undated)), of[undated]
                pieces.append((name, of, values, None))
    lists = [_words(values) if values is not None else None for _, _, values, _ in pieces]
    words = [(_flat_words(values, w), pc.binary_join(w, "")) if w is not None else None
             for (_, _, values, _), w in zip(pieces, lists)]
    # the vocabulary: every word, and each value's words joined; a word's number is its place in it
    texts = [t for w in words if w is not None for t in (w[0][0], w[1])]
    # encoded as chunks, not copied into one array first: each chunk holds the whole dictionary
    encoded = pc.dictionary_encode(pa.chunked_array(texts, pa.string())).chunks
    vocabulary = encoded[-1].dictionary if encoded else pa.array([], pa.string())
    numbers = np.concatenate([chunk.indices.to_numpy() for chunk in encoded] or [np.zeros(0, np.int32)])
    del encoded, lists
    numbers = iter(np.split(numbers, np.cumsum([len(t) for t in texts])[:-1]) if texts else [])
    own, anyone, everywhere, max_words = [], [], [], 1
    for (name, codes, values, dates), w in zip(pieces, words):
        if dates is not None:
            anyone.append(dates)
            own.append(_own(codes, dates))
            continue
        (flat, parent), joined = w
        n = len(values)
        ids, joined_ids = next(numbers), next(numbers)
        count = np.bincount(parent, minlength=n)
        with np.errstate(over="ignore"):   # the words of a value are consecutive: sums by differences
            total = np.concatenate([[_U64(0)], np.cumsum(_mix(ids), dtype=_U64)])
            end = np.cumsum(count)
            total = total[end] - total[end - count]
        short = (count >= 1) & (count <= MAX_PHRASE_WORDS)
        whole = _phrase(total, count)[short]
        glued = _phrase(_mix(joined_ids), np.ones(n, dtype=np.int64))[count >= 1]
        keys, of = [whole, glued], [codes[short], codes[count >= 1]]
        max_words = max(max_words, int(count[short].max(initial=1)))
        if not dictionary[name].is_date:
            lengths = pc.utf8_length(flat).to_numpy()
            lettered = pc.match_substring_regex(flat, r"\pL").to_numpy(zero_copy_only=False)
            word = (lengths >= PART_MIN_CHARS) & lettered
            keys.append(_phrase(_mix(ids[word]), np.ones(int(word.sum()), dtype=np.int64)))
            of.append(codes[parent[word]])
            wide = pc.utf8_length(joined).to_numpy() >= EVERYWHERE_MIN_CHARS
            everywhere += [whole[wide[short]], glued[wide[count >= 1]]]
        keys = np.concatenate(keys)
        anyone.append(keys)
        own.append(_own(np.concatenate(of), keys))
    return Identifiers(records, vocabulary, max_words, _distinct(everywhere), _distinct(anyone), _distinct(own))


# --- finding them in a column ---------------------------------------------------------------------------------

def _value_keys(values: pa.Array, ids: Identifiers) -> tuple[np.ndarray, np.ndarray]:
    """(value position, key) for each phrase of up to ``max_words`` consecutive words made only of
    identifier words, and for each date the value may denote."""
    flat, parent = _flat_words(values)
    word = pc.index_in(flat, value_set=ids.vocabulary)
    known = word.is_valid().to_numpy(zero_copy_only=False)
    h = np.where(known, _mix(word.fill_null(0).to_numpy()), _U64(0))
    with np.errstate(over="ignore"):
        total = np.concatenate([[_U64(0)], np.cumsum(h, dtype=_U64)])
    unknown = np.concatenate([[0], np.cumsum(~known)])
    at, keys = [], []
    m = len(flat)
    for n in range(1, ids.max_words + 1):
        start = np.arange(max(m - n + 1, 0))
        ok = (parent[start + n - 1] == parent[start]) & (unknown[start + n] == unknown[start])
        start = start[ok]
        with np.errstate(over="ignore"):
            keys.append(_phrase(total[start + n] - total[start], np.full(len(start), n)))
        at.append(parent[start])
    date_at, date_keys = _date_pairs(values)
    return np.concatenate(at + [date_at]).astype(np.int64), np.concatenate(keys + [date_keys])


def _positions(values: pa.Array, among: pa.Array) -> np.ndarray:
    return pc.index_in(values, value_set=among).fill_null(-1).to_numpy().astype(np.int64)


class Finder:
    """Finds identifiers in columns whose distinct texts were read at once (``texts``): the words of every
    distinct text are looked up in the vocabulary of identifier words once, and each column then only
    compares its cells with the few texts that hold an identifier."""

    def __init__(self, texts: list[pa.Array | pa.ChunkedArray], ids: Identifiers):
        self.ids = ids
        with ThreadPoolExecutor(max_workers=2) as pool:   # Arrow looks them up outside the interpreter lock
            each = list(pool.map(pc.unique, texts))
        distinct = pc.unique(pa.concat_arrays(each)) if texts else pa.array([], pa.string())
        at, keys = _value_keys(distinct, ids) if len(ids.anyone) else (np.array([], np.int64), np.array([], _U64))
        everywhere = _isin(keys, ids.everywhere)
        self.everywhere = distinct.take(pa.array(np.unique(at[everywhere]), pa.int64()))
        # texts holding someone's identifier: masked in the rows of that someone only
        candidate = _isin(keys, ids.anyone)
        at, keys = at[candidate], keys[candidate]
        order = np.argsort(at, kind="stable")
        self.keys = keys[order]
        matched, self.first = np.unique(at[order], return_index=True)
        self.counts = np.diff(np.append(self.first, len(self.keys)))
        self.candidates = distinct.take(pa.array(matched, pa.int64()))

    def find(self, column, record) -> tuple[np.ndarray, np.ndarray]:
        """Which cells of ``column`` hold an identifier (``record``: each row's record position, or a
        function giving it, called only if needed), and which of them hold one of their own record's."""
        values = _arrow(column)
        hit = np.zeros(len(values), dtype=bool)
        own_record = np.zeros(len(values), dtype=bool)
        if len(self.everywhere):
            hit |= _positions(values, self.everywhere) >= 0
        if len(self.candidates):
            rows = _positions(values, self.candidates)
            row = np.flatnonzero(rows >= 0)
            which = rows[row]
            repeat = self.counts[which]
            row_of_pair = np.repeat(row, repeat)
            # the (row, key) pairs: each row with each key of its text in turn
            offset = np.repeat(self.first[which] - (np.cumsum(repeat) - repeat), repeat) + np.arange(repeat.sum())
            record = record() if callable(record) else record
            own = row_of_pair[_isin(_own(record[row_of_pair], self.keys[offset]), self.ids.own)]
            hit[own] = True
            own_record[own] = True
        return hit, own_record


# --- the step ---------------------------------------------------------------------------------------------

def _entries(frame: pd.DataFrame, dictionary: DataDictionary) -> list[str]:
    """The columns of an abstractor's text, but the identifier fields (masked whole elsewhere); and the
    rows' sources if they name a workbook's sheets (a sheet is named by whoever made the workbook)."""
    identifiers = set(dictionary.identifiers)
    sheets = SOURCE in frame.columns and pc.any(pc.starts_with(_arrow(frame[SOURCE]), "sheet ")).as_py()
    return [c for c in frame.columns if (c not in NOT_ENTERED or c == SOURCE and sheets) and c not in identifiers
            and isinstance(frame[c].dtype, pd.ArrowDtype)]


def finder(parts, rows: pd.DataFrame, ids: Identifiers, dictionary: DataDictionary) -> Finder:
    """A ``Finder`` for the record_ids and every entry of the forms and the export's rows."""
    return Finder([_chunks(rows["record_id"])] + [_chunks(frame[c]) for frame in [rows, *parts]
                                                  for c in _entries(frame, dictionary)], ids)


def mask_entries(parts, rows: pd.DataFrame, found: Finder, dictionary: DataDictionary) -> None:
    """Every abstractor's entry outside the identifier fields holding an identifier of its record, or a
    whole identifier of any record, becomes ``[masked]``; in place."""
    for frame in [rows, *parts]:
        codes = []

        def record(frame=frame, codes=codes):   # the frame's record positions, once, if ever needed
            codes[:] = codes or [found.ids.record_codes(frame["record_id"])]
            return codes[0]
        for column in _entries(frame, dictionary):
            hit, _ = found.find(frame[column], record)
            if hit.any():
                text = _arrow(frame[column])
                # a source keeps its row: "sheet [masked], row 5"
                masked = pc.replace_substring_regex(text, SHEET, f"sheet {MASKED}, row ") if column == SOURCE \
                    else MASKED
                frame[column] = pd.Series(pc.if_else(pa.array(hit), masked, text), index=frame.index,
                                          dtype=frame[column].dtype)


def check_record_ids(parts, rows: pd.DataFrame, found: Finder, dictionary: DataDictionary, path) -> None:
    """Stop when a record_id holds an identifier, naming where and which field, never the value."""
    hit, own_record = found.find(rows["record_id"], lambda: found.ids.record_codes(rows["record_id"]))
    if not hit.any():
        return
    record = found.ids.record_codes(rows["record_id"])
    where = np.flatnonzero(hit)
    first = rows.iloc[where[:1]]
    field = next(name for name in dictionary.identifiers     # which field: looked for one by one
                 if Finder([_arrow(first["record_id"])], collect(parts, rows, dictionary, [name])).find(
                     first["record_id"], record[where[:1]])[0].any())
    records = pd.Series(rows["record_id"].to_numpy()[where]).nunique()
    sources = ", ".join(rows["source"].iloc[where[:3]].astype(str))
    more = f" and {len(where) - 3} more rows" if len(where) > 3 else ""
    whose = "its own record's" if own_record[where[0]] else "another record's"
    raise IdentifierError(
        f"{path}: the record_id of {records} record(s) holds a patient identifier ({sources}{more}: the "
        f"record_id there holds {whose} {field}, a field marked Identifier? = y in the data dictionary). A "
        f"record_id is in every table and query; set the config key `record_id_pseudonym: true` and "
        f"`record_id_pseudonym_key` to a file holding a secret key (e.g. `python -c \"import secrets; "
        f"print(secrets.token_hex(32))\" > ~/chartreview.key`, kept out of results/ and the repository) to "
        f"replace every record_id by a keyed pseudonym, or key the REDCap project on a study code")


def read_pseudonym_key(path) -> bytes:
    """The secret key of the pseudonyms (config key ``record_id_pseudonym_key``); never echoed."""
    setting = "the config key `record_id_pseudonym_key`"
    if not path:
        raise IdentifierError(f"`record_id_pseudonym: true` needs {setting}: a file holding a secret key "
                              f"(at least {PSEUDONYM_KEY_MIN_BYTES} bytes), kept out of results/ and the repository")
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise IdentifierError(f"{path}: the pseudonym key file ({setting}) cannot be read "
                              f"({exc.strerror or type(exc).__name__})") from None
    if len(key) < PSEUDONYM_KEY_MIN_BYTES:
        raise IdentifierError(f"{path}: the pseudonym key file ({setting}) holds fewer than "
                              f"{PSEUDONYM_KEY_MIN_BYTES} bytes; write a longer secret key into it")
    return key


def pseudonyms(record_ids: list[str], key: bytes) -> list[str]:
    """HMAC-SHA256 of each record_id under ``key``, as "P" and 16 hexadecimal digits ("" stays "")."""
    out = ["P" + hmac.new(key, rid.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_DIGITS].upper()
           if rid else "" for rid in record_ids]
    if len(set(out)) != len(out):   # 64 bits: about one chance in 10^7 for a million records
        raise IdentifierError("two record_ids have the same pseudonym under this key; write a new key into the "
                              "file of `record_id_pseudonym_key`")
    return out


def pseudonymise(parts, rows: pd.DataFrame, ids: Identifiers, key: bytes) -> None:
    """Every record_id (the export's rows and each form's text) replaced by its pseudonym; in place."""
    names = pa.array(pseudonyms(ids.records.to_pylist(), key), pa.string())
    for frame in [rows, *parts]:
        frame["record_id"] = pd.Series(names.take(pa.array(ids.record_codes(frame["record_id"]))),
                                       index=frame.index, dtype=frame["record_id"].dtype)


def deidentify(parts, rows: pd.DataFrame, dictionary: DataDictionary, *, path, pseudonym_key: bytes | None):
    """The step, before the identifier fields themselves are masked: a record_id holding an identifier
    stops the run (or every record_id is replaced by its pseudonym), then every other entry holding one is
    masked. ``parts``: the forms' texts; ``rows``: the export's rows; both changed in place."""
    parts = list(parts)
    ids = collect(parts, rows, dictionary)
    found = finder(parts, rows, ids, dictionary)
    if pseudonym_key is None:
        check_record_ids(parts, rows, found, dictionary, path)
    mask_entries(parts, rows, found, dictionary)
    if pseudonym_key is not None:
        pseudonymise(parts, rows, ids, pseudonym_key)
