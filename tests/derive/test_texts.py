"""The derivation's vectorised text: dates as 'YYYY-MM-DD' through the per-process table of formatted days."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chartreview.derive import texts as tx

# from year 1 to 9999, and a blank date
DAY = st.one_of(st.integers(-719_162, 2_932_896), st.integers(-3_000, 25_000), st.just(int(tx.NEVER)))


def plain(days) -> list[str]:
    """Each day formatted on its own."""
    return ["" if d == tx.NEVER else str(np.datetime64(int(d), "D")) for d in days]


@pytest.fixture
def fresh_table(monkeypatch):
    monkeypatch.setattr(tx, "_ISO_DAYS", (0, pa.array([""])))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(DAY, max_size=40), min_size=1, max_size=6))
def test_iso_is_each_day_formatted_whatever_the_earlier_calls(calls):
    # the held range grows, is replaced or is bypassed from one call to the next; each call's text is the same
    tx._ISO_DAYS = (0, pa.array([""]))
    for days in calls:
        text = tx.iso(np.array(days, dtype=np.int64))
        assert text.type == pa.string()
        assert text.to_pylist() == plain(days)


def test_iso_widens_the_held_range_and_keeps_no_range_over_the_limit(fresh_table):
    tx.iso(np.array([15_000, 15_010]))
    assert tx._ISO_DAYS[0] == 15_000 and len(tx._ISO_DAYS[1]) == 12
    held = tx._ISO_DAYS
    assert tx.iso(np.array([15_004, tx.NEVER])).to_pylist() == ["2011-01-30", ""]
    assert tx._ISO_DAYS is held  # within the range: nothing formatted again
    tx.iso(np.array([14_990]))
    assert tx._ISO_DAYS[0] == 14_990 and len(tx._ISO_DAYS[1]) == 22
    # a range the limit does not allow is formatted for the call and not held
    days = np.append(np.arange(0, tx._ISO_MAX_DAYS, 7), tx._ISO_MAX_DAYS)
    assert tx.iso(days).to_pylist() == plain(days)
    assert tx._ISO_DAYS[0] == 14_990 and len(tx._ISO_DAYS[1]) == 22
