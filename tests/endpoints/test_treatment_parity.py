"""R parity (1e-6) of the treatment-course endpoints (duration of response, time to treatment discontinuation,
time to next treatment or death: Kaplan-Meier per group, landmark rates, log-rank) and of the median follow-up
by the reverse Kaplan-Meier method, against tests/fixtures/treatment/*.expected.json written by
tests/fixtures/r/treatment_reference.R (survfit, quantile, summary(times =), survdiff)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from chartreview.core.result_files import time_key
from chartreview.endpoints.time_to_event import follow_up, kaplan_meier_comparison
from support import FIXTURES

DATA = FIXTURES / "treatment"
NAMES = sorted(p.stem for p in DATA.glob("*.csv"))


def close(ours, r):
    if r is None:
        return ours is None
    return ours is not None and abs(ours - r) <= 1e-6 * max(1.0, abs(r))


@pytest.fixture(scope="module", params=NAMES)
def case(request):
    d = pd.read_csv(DATA / f"{request.param}.csv").sort_values("time", kind="stable")
    expected = json.loads((DATA / f"{request.param}.expected.json").read_text())
    labels = expected["groups_order"]
    group = pd.Categorical(d["group"], categories=labels)
    time, status = d["time"].to_numpy(float), d["status"].to_numpy(float)
    ours = kaplan_meier_comparison(time, status, group, labels, expected["landmarks"], 0.95)
    ours["follow_up"] = follow_up(time, status, group, labels, 0.95)
    return ours, expected, labels


def test_the_fixtures_cover_the_example_and_two_constructed_sets():
    assert {"example_os", "example_dor", "example_ttd", "example_ttnt", "constructed_study",
            "constructed_ties"} <= set(NAMES)
    ties = pd.read_csv(DATA / "constructed_ties.csv")
    assert ties.duplicated(["time", "group"]).sum() > len(ties) / 2  # heavy ties


def test_kaplan_meier_median_rates_and_curve(case):
    ours, r, labels = case
    for g in labels:
        o, e = ours["groups"][g], r["groups"][g]
        assert (o["n"], o["events"]) == (e["n"], e["events"])
        assert all(close(a, b) for a, b in zip([o["median"], *o["median_ci"]], e["median"]))
        for rate in e["rates"]:
            mine = o["rates"][time_key(rate["time"])]
            assert close(mine["estimate"], rate["estimate"])
            assert close(mine["ci"][0], rate["lower"]) and close(mine["ci"][1], rate["upper"])
        event_times = np.asarray(o["curve"]["time"])
        assert np.allclose(event_times, e["curve"]["time"], rtol=0, atol=1e-9)
        assert np.allclose(o["curve"]["survival"], e["curve"]["survival"], rtol=0, atol=1e-6)


def test_logrank(case):
    ours, r, _ = case
    assert close(ours["logrank"]["chisq"], r["logrank"]["chisq"]) and close(ours["logrank"]["p"], r["logrank"]["p"])


def test_reverse_kaplan_meier_follow_up(case):
    ours, r, labels = case
    fu, e = ours["follow_up"], r["follow_up"]
    for mine, theirs in [(fu["overall"], e["overall"]), *((fu["groups"][g], e["groups"][g]) for g in labels)]:
        assert (mine["n"], mine["censored"]) == (theirs["n"], theirs["censored"])
        assert all(close(a, b) for a, b in zip([mine["median"], *mine["median_ci"]], theirs["median"]))
        assert close(mine["median_observed_alive"], theirs["median_observed_alive"])
    for g in labels:  # the per-group medians are those of survfit(Surv(time, 1 - status) ~ group)
        mine = fu["groups"][g]
        assert all(close(a, b) for a, b in zip([mine["median"], *mine["median_ci"]], e["groups"][g]["median_strata"]))
