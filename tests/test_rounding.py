"""A result reads the same in a table, the summary and a figure: one half-up rounding everywhere."""

import pytest

from chartreview.figures import panels as figures
from chartreview.report import summary as report
from chartreview.tables import manuscript as tables
from chartreview.core.rounding import format_p, round_half_up


def test_half_up_on_the_decimal_value():
    assert round_half_up(12.5, 0) == "13"        # format() gives "12" (half-to-even)
    assert round_half_up(0.1265, 3) == "0.127"   # the binary value of 0.1265 lies below the tie
    assert round_half_up(10.85, 1) == "10.9"
    assert round_half_up(2.675, 2) == "2.68"
    assert format_p(0.0004) == "<0.001" and format_p(0.001) == "0.001" and format_p(0.98705) == "0.987"


@pytest.mark.parametrize("p", [0.1265, 0.0995, 0.2325, 0.0004, 0.5])
def test_p_reads_the_same_in_table_summary_and_figure(p):
    assert tables.format_p(p) == report.format_p(p) == figures.format_p(p).removeprefix("P = ").replace("P < ", "<")


@pytest.mark.parametrize("percent", [12.5, 68.75, 45.945945, 0.5])
def test_percent_reads_the_same_in_table_and_summary(percent):
    assert report.format_percent(percent) == tables.format_percent(percent) + "%"


@pytest.mark.parametrize("months", [10.85, 10.95, 40.9])
def test_median_reads_the_same_in_table_summary_and_figure(months):
    assert report.format_months(months) == tables.format_number(months) == figures.format_months(months)


def test_published_value_on_a_tie_agrees_when_rounded_half_up():
    assert report._agrees(13, 12.5) is True
    assert report._agrees("0.127", 0.1265) is True
