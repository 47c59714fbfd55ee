"""chartreview.stats.proportional_hazards against R's cox.zph and plot.cox.zph (recorded fixtures) and on
degenerate data.

The R values are in tests/fixtures/ph_rmst/<name>.expected.json, written by
tests/fixtures/r/ph_rmst_reference.R from the CSVs of tests/fixtures/survival/ and tests/fixtures/ph_rmst/
(format in tests/fixtures/r/survival_reference.R): every recorded data set is a parity case.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chartreview.stats import proportional_hazards as ph
from chartreview.stats import survival as sv
from support.ph_rmst import DATASETS, read_case

RTOL, ATOL = 1e-6, 1e-12


def designs(d: pd.DataFrame) -> dict[str, tuple[np.ndarray, dict]]:
    """The three models of the R script: its design columns and terms."""
    other = (d["group"] == pd.unique(d["group"])[1]).to_numpy(dtype=float)
    line = d["criz_line"]
    dummies = [np.where(line.isna(), np.nan, (line == lv).to_numpy(dtype=float)) for lv in ("Second", "Third or later")]
    return {
        "zph": (other[:, None], {"group": [0]}),
        "zph_adjusted": (np.column_stack([other, d["age"], d["ecog_2plus"], d["brain_metastases"]]),
                         {"group": [0], "age": [1], "ecog_2plus": [2], "brain_metastases": [3]}),
        "zph_factor": (np.column_stack([other, d["age"], *dummies]), {"group": [0], "age": [1], "criz_line": [2, 3]}),
    }


def close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=RTOL, atol=ATOL, err_msg=what)


def test_fixtures_cover_ties_and_degenerate_groups():
    assert {"study_like", "heavy_ties", "constant_in_group", "single_patient", "example_pfs"} <= set(DATASETS)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("model", ["zph", "zph_adjusted", "zph_factor"])
def test_cox_zph_matches_r(name, model):
    d, expected = read_case(name)
    X, terms = designs(d)[model]
    e = expected[model]
    fit = sv.cox_regression(d["time"], d["status"], X, [f"x{i}" for i in range(X.shape[1])])
    close(fit.coef, e["coef"], f"{name} {model} coef")
    z = ph.cox_zph(d["time"], d["status"], X, fit.coef, terms)
    assert z.reason is None and list(z.terms) == e["terms"] and list(z.df) == e["df"]
    close(z.chisq, e["chisq"], f"{name} {model} chisq")
    close(z.p, e["p"], f"{name} {model} p")
    close([z.global_chisq, z.global_df, z.global_p], [e["global"][k] for k in ("chisq", "df", "p")],
          f"{name} {model} global")
    close(z.time, e["time"], f"{name} {model} time")
    close(z.x, e["x"], f"{name} {model} transformed time")
    close(z.residuals, np.column_stack(e["residuals"]), f"{name} {model} scaled Schoenfeld residuals")
    close(z.var, np.column_stack(e["var"]), f"{name} {model} var")
    for i, want in enumerate(e["smooth"]):
        smooth = ph.zph_smooth(z.x, z.residuals[:, i], z.var[i, i])
        for key in ("x", "estimate", "lower", "upper"):
            close(getattr(smooth, key), want[key], f"{name} {model} smooth {key} of {e['terms'][i]}")


def test_row_order_does_not_matter_beyond_ties():
    d, expected = read_case("heavy_ties")
    X, terms = designs(d)["zph_adjusted"]
    fit = sv.cox_regression(d["time"], d["status"], X, list("abcd"))
    shuffled = np.random.default_rng(1).permutation(len(d))
    z = ph.cox_zph(d["time"].to_numpy()[shuffled], d["status"].to_numpy()[shuffled], X[shuffled], fit.coef, terms)
    close(z.chisq, expected["zph_adjusted"]["chisq"], "shuffled rows")


def test_no_fit_and_too_few_events_give_a_reason():
    time, event = np.arange(1.0, 7.0), np.array([0, 0, 1, 0, 0, 0.0])
    x = np.array([0, 1, 0, 1, 0, 1.0])
    z = ph.cox_zph(time, event, x, [0.3], {"group": [0]})
    assert z.chisq == (None,) and z.global_p is None and "fewer than two events" in z.reason
    z = ph.cox_zph(time, event, x, [np.nan], {"group": [0]})
    assert "no Cox fit" in z.reason


def test_terms_must_share_out_the_columns():
    with pytest.raises(ValueError, match="terms"):
        ph.cox_zph([1.0, 2.0], [1, 1], np.ones((2, 2)), [0.0, 0.0], {"a": [0]})


def test_smooth_needs_four_distinct_times():
    smooth = ph.zph_smooth([0.1, 0.1, 0.2, 0.3], [1.0, 2.0, 0.5, 0.3], 0.2)
    assert smooth.reason and smooth.estimate.size == 0
