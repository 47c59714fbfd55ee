"""The synthetic export generator: determinism, calibration check, structure and consistency at scale."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chartreview.core.catalog import FORM_TABLES
from chartreview.core.dictionary import load_dictionary
from chartreview.synthetic import calibration
from chartreview.synthetic import cohort as synth_cohort
from chartreview.synthetic import redcap as synth
from support import ROOT

EXAMPLE = ROOT / "resources" / "example"
DICTIONARY = ROOT / "resources" / "data_dictionary.csv"
TARGETS = ROOT / "resources" / "calibration_targets.yaml"
CONFIG = ROOT / "config" / "config.yaml"
FILES = ("export_raw.csv", "export_label.csv", "export.xlsx")
REPEATING = tuple(FORM_TABLES)


@pytest.fixture(scope="module")
def dd():
    return load_dictionary(DICTIONARY)


@pytest.fixture(scope="module")
def targets():
    return calibration.load_targets(TARGETS)


def generate_example(out: Path, targets: dict, seed: int | None = None, formats=synth.FORMATS) -> dict:
    example = targets["example"]
    seed = example["seed"] if seed is None else seed
    tuning = example["tuning"] if seed == example["seed"] else None
    return synth.generate(out, sum(targets["counts"]["patients"].values()), seed, dictionary=DICTIONARY,
                          targets=targets, formats=formats, tuning=tuning)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, targets):
    """Two independent generations of the example."""
    first = tmp_path_factory.mktemp("example_a")
    second = tmp_path_factory.mktemp("example_b")
    generate_example(first, targets)
    generate_example(second, targets)
    return first, second


def read_raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")


# ------------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", FILES)
def test_same_seed_gives_byte_identical_files(fresh, name):
    a, b = fresh
    assert (a / name).read_bytes() == (b / name).read_bytes()


@pytest.mark.parametrize("name", FILES)
def test_committed_example_equals_a_fresh_generation(fresh, name):
    assert (EXAMPLE / name).read_bytes() == (fresh[0] / name).read_bytes(), (
        f"resources/example/{name} differs from a fresh generation: regenerate it with the command in "
        "resources/example/README.md")


def test_recorded_tuning_is_what_the_search_finds(targets):
    """The tuning steps in the targets file are the search's result for the example seed, not edits."""
    found = calibration.search_tuning(targets["example"]["seed"], targets)
    assert found == {k: list(v) for k, v in targets["example"]["tuning"].items()}


# ------------------------------------------------------------------------------- calibration
def test_committed_example_meets_every_target(targets):
    report = calibration.check_targets(EXAMPLE / "export_raw.csv", DICTIONARY, targets, CONFIG)
    assert "all 20 calibration targets met" in report
    # the check goes through the workflow's own extraction, derivation and statistics
    assert "extract.redcap.extract -> derive.derivation.derive -> chartreview.stats.survival" in report


def test_changed_targets_fail_naming_each_target(targets):
    changed = copy.deepcopy(targets)
    changed["median_pfs_months"]["ROS1"] = 11.0
    changed["counts"]["responders"]["ALK"] = 30
    changed["pfs_logrank_p"] = 0.231
    changed["median_os_reached"]["ROS1"] = True
    with pytest.raises(calibration.CalibrationError) as info:
        calibration.check_targets(EXAMPLE / "export_raw.csv", DICTIONARY, changed, CONFIG)
    message = str(info.value)
    assert "4 calibration target(s) missed" in message
    assert "median_pfs_months.ROS1: 10.9 instead of 11.0" in message
    assert "counts.responders.ALK: 29 instead of 30" in message
    assert "pfs_logrank_p: 0.232 instead of 0.231" in message
    assert "median_os_reached.ROS1: False instead of True" in message
    assert "cns_gray_p" not in message


def test_changed_seed_fails_loudly_naming_the_target(tmp_path, targets, capsys):
    seed = targets["example"]["seed"] + 1
    status = synth.main(["--patients", "68", "--seed", str(seed), "--out", str(tmp_path),
                         "--formats", "raw", "--targets", str(TARGETS), "--dictionary", str(DICTIONARY),
                         "--config", str(CONFIG)])
    err = capsys.readouterr().err
    assert status == 1
    assert "calibration target(s) missed" in err
    # counts and medians hold by construction for any seed; the P values need the seed's tuning
    assert "pfs_logrank_p:" in err and "cns_gray_p:" in err
    assert "counts." not in err and "median_pfs_months" not in err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())    # no miscalibrated export left behind


def test_km_median_reads_a_flat_stretch_at_one_half_as_r_does():
    # survfit: S = 0.75, 0.5 (flat until t=3), 0.25, 0 -> median (2 + 3) / 2
    assert synth_cohort.km_median_days(np.array([1, 2, 3, 4]), np.array([1, 1, 1, 1])) == 2.5
    assert synth_cohort.km_median_days(np.array([1, 2, 3]), np.array([1, 1, 1])) == 2.0
    assert np.isnan(synth_cohort.km_median_days(np.array([1, 2, 3]), np.array([1, 0, 0])))


# ------------------------------------------------------------------------------- structure
def assert_consistent_export(raw: pd.DataFrame, dd, n_patients: int) -> None:
    """The export's structure and issue 2's cross-field rules, checked independently of the workflow."""
    assert list(raw.columns) == synth.flat_columns(dd)
    instrument = raw["redcap_repeat_instrument"].fillna("")
    assert set(instrument) <= {"", *REPEATING}
    main = raw[instrument == ""].set_index("record_id")
    assert len(main) == n_patients and main.index.is_unique
    assert list(main.index) == [str(i) for i in range(1, n_patients + 1)]
    # each record: its main row first, then its repeating rows by form and instance 1..n
    record = raw["record_id"].astype(int).to_numpy()
    form = instrument.map({"": 0, **{f: i + 1 for i, f in enumerate(REPEATING)}}).to_numpy()
    instance = raw["redcap_repeat_instance"].fillna("0").astype(int).to_numpy()
    assert (np.diff(record) >= 0).all()
    key = record * 10 + form
    same = np.r_[False, key[1:] == key[:-1]]
    assert (instance[~same & (form > 0)] == 1).all() and (np.diff(instance)[same[1:]] == 1).all()
    assert (instance[form == 0] == 0).all()
    # a row holds only its own form's fields
    for f in dd.forms:
        own = instrument == (f if f in REPEATING else "")
        assert raw.loc[~own, dd.export_columns(f)].isna().all().all(), f
    # codes, numbers and dates
    for name in synth.flat_columns(dd)[3:]:
        values = raw[name].dropna()
        if name.endswith("_complete"):
            assert values.isin(["0", "1", "2"]).all(), name
        elif "___" in name:
            assert values.isin(["0", "1"]).all(), name
        elif dd[name].is_coded:
            assert values.isin(list(dd[name].choices)).all(), name
        elif dd[name].is_date:
            assert values.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), name
            pd.to_datetime(values, format="%Y-%m-%d")          # real calendar dates
        elif dd[name].is_number:
            numbers = values.astype(float)
            lo, hi = dd[name].minimum, dd[name].maximum
            assert (lo is None or (numbers >= lo).all()) and (hi is None or (numbers <= hi).all()), name
    day = {c: pd.to_datetime(main[c]) for c in ("birth_date", "diagnosis_date", "criz_start_date", "criz_end_date",
                                                 "last_contact_date", "death_date")}
    assert main["fusion_gene"].notna().all()
    assert (day["diagnosis_date"] <= day["criz_start_date"]).all()
    assert (day["criz_start_date"].between("2011-01-01", "2021-03-31")).all()
    ended = day["criz_end_date"].notna()
    assert (day["criz_end_date"][ended] >= day["criz_start_date"][ended]).all()
    assert (main.loc[~ended, "criz_end_reason"] == "5").all() and (main.loc[ended, "criz_end_reason"] != "5").all()
    dead = main["vital_status"] == "1"
    assert (day["death_date"].notna() == dead).all()
    assert (day["last_contact_date"][dead] == day["death_date"][dead]).all()
    age = (day["criz_start_date"] - day["birth_date"]).dt.days / 365.25
    assert age.between(18, 100).all()
    # every dated row of a record: after the start, not after death, not after the last contact; the one
    # exception is the baseline scan, an assessment up to 28 days before the start without a response
    last = day["last_contact_date"]
    dated = (("tumor_assessment", "ta_date"), ("progression", "pd_date"), ("subsequent_therapy", "st_start_date"))
    for f, col in dated:
        rows = raw[instrument == f]
        when = pd.to_datetime(rows[col])
        rid = rows["record_id"]
        start = day["criz_start_date"].loc[rid].to_numpy()
        after = when.to_numpy() > start
        if f == "tumor_assessment":
            baseline = ~after
            assert rows["ta_response"][baseline].isna().all() and rows["ta_response"][after].notna().all()
            assert (when.to_numpy()[baseline] >= start[baseline] - np.timedelta64(28, "D")).all()
            assert not pd.Series(rid[baseline]).duplicated().any()  # one baseline scan per patient at most
        else:
            assert after.all(), f
        assert (when.to_numpy() <= last.loc[rid].to_numpy()).all(), f
    assert (day["criz_end_date"][ended] <= last[ended]).all()
    assert (last <= pd.Timestamp(str(synth_cohort.DATA_CUTOFF))).all()    # nothing after the data cut-off
    # synthetic and plainly so
    assert main["patient_name"].str.startswith("SYNTHETIC Patient ").all()
    assert main["mrn"].str.fullmatch(r"SYN-\d{7}").all()
    assert main["mrn"].is_unique
    # every form complete except a realistic few
    complete = pd.concat([raw[c].dropna() for c in raw.columns if c.endswith("_complete")])
    assert 0.9 < (complete == "2").mean() < 1.0


def test_example_is_structurally_valid_and_consistent(dd):
    assert_consistent_export(read_raw(EXAMPLE / "export_raw.csv"), dd, 68)


def test_label_export_is_the_raw_export_in_labels(dd):
    raw = read_raw(EXAMPLE / "export_raw.csv")
    label = read_raw(EXAMPLE / "export_label.csv")
    assert list(label.columns) == list(raw.columns)
    for name in raw.columns:
        if name.endswith("_complete"):
            back = label[name].map({"Incomplete": "0", "Unverified": "1", "Complete": "2"})
        elif "___" in name:
            back = label[name].map({"Unchecked": "0", "Checked": "1"})
        elif name in dd and dd[name].is_coded:
            back = label[name].map(dd.label_to_code(name))
        else:
            back = label[name]
        pd.testing.assert_series_equal(back, raw[name], check_names=False, obj=name)


def test_workbook_has_one_sheet_per_form_with_the_raw_values(dd):
    raw = read_raw(EXAMPLE / "export_raw.csv")
    sheets = pd.read_excel(EXAMPLE / "export.xlsx", sheet_name=None, dtype=str)
    assert list(sheets) == dd.forms
    instrument = raw["redcap_repeat_instrument"].fillna("")
    for form, sheet in sheets.items():
        cols = [dd.record_id] + (["redcap_repeat_instance"] if form in REPEATING else []) + dd.export_columns(form)
        assert list(sheet.columns) == cols
        expected = raw.loc[instrument == (form if form in REPEATING else ""), cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(sheet.reset_index(drop=True), expected, check_dtype=False, obj=form)


def test_example_readme_says_the_patients_are_synthetic():
    text = (EXAMPLE / "README.md").read_text()
    assert "SYNTHETIC" in text and "No record describes a real person" in text
    assert "python -m chartreview.synthetic --patients 68 --seed 20230410" in text


# ------------------------------------------------------------------------------- scale
@pytest.fixture(scope="module")
def registry(tmp_path_factory, targets):
    out = tmp_path_factory.mktemp("registry")
    paths = synth.generate(out, 2000, 7, dictionary=DICTIONARY, targets=targets, formats=("raw",),
                           chunk_size=700)
    assert set(paths) == {"raw"} and not (out / "export_label.csv").exists()
    return read_raw(paths["raw"])


def test_scale_path_writes_the_same_structure_in_chunks(registry, dd):
    assert_consistent_export(registry, dd, 2000)


def test_scale_path_keeps_the_cohort_proportions_and_realism(registry):
    instrument = registry["redcap_repeat_instrument"].fillna("")
    main = registry[instrument == ""].set_index("record_id")
    assert abs((main["fusion_gene"] == "2").mean() - 26 / 68) < 0.005
    start = pd.to_datetime(main["criz_start_date"])
    age = ((start - pd.to_datetime(main["birth_date"])).dt.days / 365.25).median()
    assert 57 <= age <= 63
    assert (main["smoking_status"] == "0").mean() > 0.6
    assert (main["histology"] == "1").mean() > 0.9
    assert main["ecog_ps"].isin(["0", "1"]).mean() > 0.85
    reasons = main["criz_end_reason"].value_counts()
    ros1_per_chunk = [round(n * 26 / 68) for n in (700, 700, 600)]
    assert reasons.get("2", 0) == sum(round(synth_cohort.DESIGN["toxicity_switch"]["ROS1"] * n / 26)
                                      for n in ros1_per_chunk)        # one switch for toxicity per 26 ROS1
    assert reasons.get("4", 0) > 0                                   # lost to follow-up
    ta = registry[instrument == "tumor_assessment"]
    gaps = pd.to_datetime(ta["ta_date"]).groupby(ta["record_id"]).diff().dt.days.dropna()
    assert 50 <= gaps.median() <= 90
    assert gaps.max() < 180 + 60
    st = registry[instrument == "subsequent_therapy"]
    allowed = {"Alectinib", "Lorlatinib", "Brigatinib", "Entrectinib", "Carboplatin + pemetrexed",
               "Cisplatin + pemetrexed", "Docetaxel"}
    assert set(st["st_agent"]) <= allowed
    assert main["pack_years"].isna().any() and main["fusion_partner"].isna().any()


def test_label_and_xlsx_refused_for_large_registries(tmp_path, targets):
    with pytest.raises(synth_cohort.SynthError, match="--formats raw"):
        synth.generate(tmp_path, synth.SMALL + 1, 1, dictionary=DICTIONARY, targets=targets, formats=("xlsx",))
    assert not any(tmp_path.iterdir())
