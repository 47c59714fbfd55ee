"""Vectorised text for the derivation's reasons and audit: one string per patient or row, built with
pyarrow compute kernels (C++), because Python string objects for millions of rows cost seconds and
gigabytes. Dates are int64 days since 1970-01-01 with NEVER for a blank date.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NEVER = np.int64(2**62)  # a blank date: later than any real one, so minima skip it


def arrow(values) -> pa.Array:
    """numpy / pyarrow / list -> pyarrow string array (numbers are formatted)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(np.asarray(values)) if not isinstance(values, list) else pa.array(values)
    return values if pa.types.is_string(values.type) else pc.cast(values, pa.string())


def iso(days: np.ndarray) -> pa.Array:
    """int days -> 'YYYY-MM-DD' ('' for NEVER), formatting each day of the range once per process."""
    days = np.asarray(days, dtype=np.int64)
    known = days != NEVER
    if not known.any():
        return pa.array(np.full(len(days), "", dtype="U1"))
    lo, hi = int(days[known].min()), int(days[known].max())
    if hi - lo > 4 * len(days) + 100_000:  # sparse dates: format each
        text = pc.strftime(pa.array(np.where(known, days, 0).astype("datetime64[D]")), format="%Y-%m-%d")
        return pc.if_else(pa.array(known), text, "")
    first, table = _iso_days(lo, hi)
    return table.take(pa.array(np.where(known, days - first, len(table) - 1)))


# The days formatted so far, (first day, their texts and a last ''): the audit formats dates piece by piece,
# and formatting the range's days again for each piece of 50,000 patients cost a quarter of its time.
_ISO_DAYS: tuple[int, pa.Array] = (0, pa.array([""]))
_ISO_MAX_DAYS = 200_000  # a longer range (dates centuries apart) is formatted for the call alone


def _iso_days(lo: int, hi: int) -> tuple[int, pa.Array]:
    """(first, texts): texts[d - first] is day d as 'YYYY-MM-DD' for lo <= d <= hi, and texts[-1] is ''."""
    global _ISO_DAYS
    first, table = _ISO_DAYS
    if first <= lo and hi < first + len(table) - 1:
        return first, table
    if len(table) > 1 and max(hi, first + len(table) - 2) - min(lo, first) < _ISO_MAX_DAYS:
        lo, hi = min(lo, first), max(hi, first + len(table) - 2)  # widen the held range rather than replace it
    formatted = (lo, pa.array(np.append(np.datetime_as_string(np.arange(lo, hi + 1).astype("datetime64[D]")), "")))
    if hi - lo < _ISO_MAX_DAYS:
        _ISO_DAYS = formatted
    return formatted


def cat(*parts) -> pa.Array:
    """Element-wise concatenation of strings (broadcast) and arrays."""
    return pc.binary_join_element_wise(*(p if isinstance(p, str) else arrow(p) for p in parts), "")


def choose(conditions, choices, default) -> pa.Array:
    """np.select for text: the first true condition's choice, else default."""
    n = len(conditions[0])
    result = pa.array(np.full(n, default, dtype=object), type=pa.string()) if isinstance(default, str) \
        else arrow(default)
    for condition, choice in reversed(list(zip(conditions, choices))):
        result = pc.if_else(pa.array(np.asarray(condition, dtype=bool)), choice if isinstance(choice, str)
                            else arrow(choice), result)
    return result


def labels_of(codes: np.ndarray, labels) -> pa.Array:
    """Positions in ``labels`` (-1 blank) -> the labels ('' for blank)."""
    table = pa.array(list(labels) + [""], type=pa.string())
    return table.take(pa.array(np.where(codes >= 0, codes, len(labels)).astype(np.int64)))


def at_rows(text: pa.Array, rows: np.ndarray) -> pa.Array:
    """text[rows] with '' where rows is -1."""
    rows = np.asarray(rows, dtype=np.int64)
    if len(text) == 0:
        return pa.array(np.full(len(rows), "", dtype="U1"))
    return pc.if_else(pa.array(rows >= 0), text.take(pa.array(np.maximum(rows, 0))), "")


def join_per_patient(patient: np.ndarray, text: pa.Array, n: int, sep: str = " | ") -> pa.Array:
    """Per patient, the texts of its rows joined in row order ('' if none); rows sorted by patient."""
    if len(patient) == 0:
        return pa.array(np.full(n, "", dtype="U1"))
    first = np.ones(len(patient), dtype=bool)
    first[1:] = patient[1:] != patient[:-1]
    starts = np.flatnonzero(first)
    offsets = pa.array(np.append(starts, len(patient)).astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, text), sep)
    slot = np.full(n, len(starts), dtype=np.int64)  # patients without rows -> the '' appended below
    slot[patient[starts]] = np.arange(len(starts))
    return pa.concat_arrays([joined, pa.array([""])]).take(pa.array(slot))


def flags_text(flags: np.ndarray, names, empty: str = "") -> pa.Array:
    """Boolean matrix (rows x names) -> '; '-joined names of the true columns (``empty`` if none)."""
    if flags.shape[1] > 62:
        raise ValueError("at most 62 flags")
    bits = (flags.astype(np.int64) << np.arange(flags.shape[1], dtype=np.int64)).sum(axis=1)
    return bits_text(bits, names, empty)


def bits_text(bits: np.ndarray, names, empty: str = "") -> pa.Array:
    """Bit masks -> '; '-joined names of the set bits, formatting each distinct mask once."""
    unique, inverse = np.unique(bits, return_inverse=True)
    texts = ["; ".join(name for i, name in enumerate(names) if (int(u) >> i) & 1) or empty for u in unique]
    return pa.array(texts, type=pa.string()).take(pa.array(inverse.reshape(-1).astype(np.int64)))
