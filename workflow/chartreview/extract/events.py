"""Longitudinal REDCap exports: the rows of a record's events made into the one patient of a one-event export.

A longitudinal project writes ``redcap_event_name`` after ``record_id`` (the event's unique name, e.g.
``baseline_arm_1``, or its label in the label export, e.g. ``Baseline (Arm 1: Arm 1)``) and one
non-repeating row per record and event. Chart reviews usually place each form in one event (demographics,
treatment and baseline at baseline; follow-up and the repeating forms later), so:

- a record's non-repeating rows merge into one row, each form's values taken from the event that holds
  them; a form holding different values in two events cannot be merged and is reported (the fields and the
  events, for the validation's query ``form_in_two_events``), its values taken from the first event;
- a repeating form's instances are numbered on across the record's events, in event order (the order
  REDCap writes them in) then instance order: instance 1 of the second event follows the last instance of
  the first. An export whose repeating forms are all in one event keeps REDCap's instance numbers;
- each row's source names its event ("line 12, event follow_up_arm_1"), so that a query can be found in
  REDCap.

An export with one event (or without the column) is left exactly as it is. Everything is vectorised: a
million-patient export has a million records of several events.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chartreview.core.dictionary import DataDictionary

EVENT = "redcap_event_name"
# The exported text's column naming the fields whose values differ between the record's events.
EVENT_CONFLICTS = "event_conflicts"
# A checkbox choice not ticked, and a form's status: REDCap writes them for every form of an event.
UNTICKED = ("0", "Unchecked")
STATUS_RANK = {"0": 0, "Incomplete": 0, "1": 1, "Unverified": 1, "2": 2, "Complete": 2}


def _longitudinal(event: pa.ChunkedArray | pa.Array) -> bool:
    distinct = pc.unique(event)
    return len(pc.filter(distinct, pc.not_equal(distinct, ""))) > 1


def _text(column) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(column))


def _codes(column) -> np.ndarray:
    return pd.factorize(_text(column))[0]


def number_instances(keys: pa.Table) -> pa.Table:
    """The export's rows (``record_id``, ``event``, ``instrument``, ``instance``, ``source`` ...) with the
    repeating forms' instances numbered on across each record's events and the event in each source;
    unchanged unless the export has more than one event."""
    if "event" not in keys.column_names or not _longitudinal(keys["event"]):
        return keys
    record, event = _codes(keys["record_id"]), _codes(keys["event"])
    instrument = _codes(keys["instrument"])
    codes, uniques = pd.factorize(_text(keys["instance"]))
    number = np.append(pd.to_numeric(pd.Series(np.asarray(uniques, dtype=object)), errors="coerce")
                       .to_numpy(dtype=float), np.nan)[codes]   # the distinct texts only
    repeating = pc.not_equal(keys["instrument"], "").to_numpy(zero_copy_only=False)
    whole = repeating & (number >= 1) & (number % 1 == 0)
    # the event's place in its record: the row where the record's event first appears
    _, first_row, inverse = np.unique(record.astype(np.int64) * (event.max() + 1) + event, return_index=True,
                                      return_inverse=True)
    place = first_row[inverse]
    rows = np.flatnonzero(whole)
    rows = rows[np.lexsort((place[rows], instrument[rows], record[rows]))]
    # per record, instrument and event (in event order): the highest instance, and the sum of those of the
    # earlier events, which the event's instances are shifted by
    renumbered = np.zeros(keys.num_rows, dtype=np.int64)
    if len(rows):
        group = np.r_[True, (np.diff(record[rows]) != 0) | (np.diff(instrument[rows]) != 0)
                      | (np.diff(place[rows]) != 0)]
        starts = np.flatnonzero(group)
        highest = np.maximum.reduceat(number[rows], starts)
        new_series = np.r_[True, (np.diff(record[rows][starts]) != 0) | (np.diff(instrument[rows][starts]) != 0)]
        total = np.cumsum(highest) - highest
        offset = total - total[np.flatnonzero(new_series)][np.cumsum(new_series) - 1]
        renumbered[rows] = number[rows] + offset[np.cumsum(group) - 1]
    instance = pc.if_else(pa.array(whole), pc.cast(pa.array(renumbered), pa.string()), keys["instance"])
    with_event = pc.if_else(pc.equal(keys["event"], ""), keys["source"],
                            pc.binary_join_element_wise(keys["source"], keys["event"], ", event "))
    return (keys.set_column(keys.column_names.index("instance"), "instance", instance)
            .set_column(keys.column_names.index("source"), "source", with_event))


def merge_events(part: pd.DataFrame, dictionary: DataDictionary, forms: Iterable[str],
                 source: str) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The non-repeating rows (sorted by record, then in export order) merged into one row per record.

    Returns the merged rows and, per form, its rows' ``source`` (the line of the event that holds the form,
    all of them where two do) and ``EVENT_CONFLICTS`` (the fields whose values differ between the events,
    "" where none); both empty unless a record has more than one non-repeating row in an export of several
    events (rows of one event twice are a duplicate record, left to the validation)."""
    if "event" not in part.columns or part.empty or not _longitudinal(pa.array(part["event"].array)):
        return part, {}
    record = pd.factorize(part["record_id"])[0]
    starts = np.flatnonzero(np.r_[True, record[1:] != record[:-1]])
    if len(starts) == len(part):
        return part, {}
    n = len(part)
    sizes = np.diff(np.r_[starts, n])
    position = np.arange(n)

    def first(where: np.ndarray) -> np.ndarray:
        """Per record, the first row where ``where`` holds (``n`` for none)."""
        return np.minimum.reduceat(np.where(where, position, n), starts)

    def per_row(per_record: np.ndarray) -> np.ndarray:
        return np.repeat(per_record, sizes)

    def take(column: str, rows: np.ndarray) -> pd.Series:
        return pd.Series(part[column].array.take(rows))

    merged = {c: take(c, starts) for c in ("record_id", "instance", source, "event")}
    cited: dict[str, pd.DataFrame] = {}
    for form in forms:
        columns = [c for c in dictionary.export_columns(form) if c in part.columns]
        status = f"{form}_complete"
        fields = [c for c in columns if c != status]
        filled, holds = {}, np.zeros(n, dtype=bool)
        for column in fields:
            text = part[column]
            filled[column] = (text != "").to_numpy(dtype=bool)
            name = column.split("___")[0]
            ticked = ~text.isin(UNTICKED).to_numpy(dtype=bool) if "___" in column and name in dictionary \
                and dictionary[name].is_checkbox else True
            holds |= filled[column] & ticked
        holding = np.add.reduceat(holds.astype(np.int64), starts)
        conflicts = np.full(len(starts), "", dtype=object)
        for column in fields:
            entered = holds & filled[column]
            chosen = first(entered)
            fallback = first(filled[column])   # an unticked checkbox of a form entered nowhere
            chosen = np.where(chosen < n, chosen, np.where(fallback < n, fallback, starts))
            if (np.add.reduceat(entered.astype(np.int64), starts) > 1).any():  # entered in two events
                codes = pd.factorize(part[column])[0]
                differs = np.add.reduceat((entered & (codes != per_row(codes[chosen]))).astype(np.int64),
                                          starts) > 0
                conflicts[differs] = np.where(conflicts[differs] == "", column, conflicts[differs] + ", " + column)
            merged[column] = take(column, chosen)
        if status in part.columns:
            codes, uniques = pd.factorize(part[status])
            rank = np.array([STATUS_RANK.get(u, -1) for u in uniques] + [-1], dtype=np.int64)[codes]
            eligible = holds | per_row(holding == 0)
            score = np.where(eligible, rank, -2)
            best = np.maximum.reduceat(score, starts)
            merged[status] = take(status, first(score == per_row(best)))
        sources = take(source, np.where(holding > 0, first(holds), starts))
        several = holding > 1
        if several.any():
            rows = holds & per_row(several)
            joined = part.loc[rows, source].astype(str).groupby(record[rows], sort=True).agg("; ".join)
            sources = sources.astype(object)
            sources[several] = joined.to_numpy()
            sources = sources.astype(part[source].dtype)
        cited[form] = pd.DataFrame({source: sources, EVENT_CONFLICTS: pd.Series(conflicts, dtype=part[source].dtype)})
    return pd.DataFrame(merged)[[c for c in part.columns if c in merged]], cited


def cite_events(exported: dict[str, pd.DataFrame], cited: dict[str, pd.DataFrame],
                source: str) -> dict[str, pd.DataFrame]:
    """The exported text of the merged forms with each form's own source and event conflicts."""
    return {form: exported[form].assign(**{source: cited[form][source].array,
                                           EVENT_CONFLICTS: cited[form][EVENT_CONFLICTS].array})
            for form in cited if form in exported}
