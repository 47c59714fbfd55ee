"""The R-parity cases of the proportional-hazards test and the RMST (tests/fixtures/ph_rmst/, recorded by
tests/fixtures/r/ph_rmst_reference.R): the survival fixtures' data sets plus two of their own."""

from __future__ import annotations

import json

import pandas as pd

from support import FIXTURES

EXPECTED = FIXTURES / "ph_rmst"
DATASETS = sorted(p.name.removesuffix(".expected.json") for p in EXPECTED.glob("*.expected.json"))


def read_case(name: str) -> tuple[pd.DataFrame, dict]:
    """A case's data (from tests/fixtures/survival/ when it is one of those) and R's values."""
    csv = FIXTURES / "survival" / f"{name}.csv"
    if not csv.exists():
        csv = EXPECTED / f"{name}.csv"
    return pd.read_csv(csv), json.loads((EXPECTED / f"{name}.expected.json").read_text(), parse_constant=float)
