"""A result reads the same in a table, the summary and a figure: one half-up rounding everywhere."""

import pytest

from chartreview.core.rounding import MISSING_P, format_p, p_in_text, round_half_up
from chartreview.figures import panels as figures
from chartreview.report import summary as report
from chartreview.synthetic import calibration
from chartreview.tables import manuscript as tables


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


def test_calibration_rounds_as_the_workflow_prints():
    from_calibration = calibration.rounded
    assert from_calibration(1.005, 2) == 1.01 == float(round_half_up(1.005, 2))  # floor(x*100+0.5) gave 1.0
    assert from_calibration(0.2325, 3) == float(round_half_up(0.2325, 3)) == 0.233
    assert from_calibration(None, 1) is None and from_calibration(float("nan"), 1) is None


@pytest.mark.parametrize("p", [None, float("nan"), 0.0004, 0.001, 0.0995, 0.1265, 0.98705])
def test_every_reader_of_p_values_uses_the_one_formatter(p):
    text = format_p(p)
    assert tables.format_p(p) == report.format_p(p) == text
    # a figure only adds its "P = " / "P < " prefix around the shared text
    assert figures.format_p(p) == (f"P < {text[1:]}" if text.startswith("<") else f"P = {text}")
    assert figures.format_p_column(p) == text.replace("<", "< ")


def test_a_missing_p_reads_the_same_everywhere():
    assert format_p(None) == MISSING_P == tables.format_p(None) == report.format_p(None)
    assert figures.format_p(None) == f"P = {MISSING_P}" and figures.format_p_column(None) == MISSING_P


def test_a_sentence_states_a_small_p_as_below_not_equal():
    assert p_in_text(0.0004) == "P<0.001"
    assert p_in_text(0.0341) == "P=0.034"
    assert p_in_text(None) == f"P={MISSING_P}"
