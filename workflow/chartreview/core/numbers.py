"""Numbers that may not exist: a value the statistics cannot give (NaN, an infinite limit) is None
in a result record and null in a result file, the same way everywhere."""

from __future__ import annotations

import math


def finite_or_none(x) -> float | None:
    """A float, or None for a value that does not exist (None, NaN, an infinite limit)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
