"""How numbers are rounded for readers, in one place, so that a table, the summary and a figure never
show one result two ways: half-up on the decimal value, as a reader rounds by hand (12.5% -> 13%,
P 0.1265 -> 0.127). Python's format() rounds the binary value half-to-even and would print 12%."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

# A P value that does not exist (no test possible): the same mark in a table, the summary and a figure.
MISSING_P = "–"


def round_half_up(x: float, digits: int) -> str:
    """``x`` rounded half-up to ``digits`` decimals, as text."""
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(repr(float(x))).quantize(quantum, rounding=ROUND_HALF_UP))


def format_p(p: float | None) -> str:
    """A P value to three decimals, <0.001, or ``MISSING_P`` when there is none."""
    if p is None or not math.isfinite(p):
        return MISSING_P
    return "<0.001" if p < 0.001 else round_half_up(p, 3)


def p_in_text(p: float | None) -> str:
    """A P value as a sentence states it: "P=0.034", "P<0.001" (not "P=<0.001")."""
    shown = format_p(p)
    return f"P{shown}" if shown.startswith("<") else f"P={shown}"
