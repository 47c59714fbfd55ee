"""Figures: every panel draws from contract-shaped inputs (tests/fixtures/figures/, made by
make_fixtures.py), files are 300-dpi at the journal width, byte-identical between runs and processes,
the swimmer never shows a record identifier, and assembled figures are lettered A, B, ... in order."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.legend import Legend
from matplotlib.text import Text
from PIL import Image

from chartreview.core.catalog import FIGURE_INPUT_FILES, PANEL_INPUTS, PANELS
from chartreview.figures import assembly as figure_assembly
from chartreview.figures import panels as figures
from chartreview.figures import style
from support import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "figures"
INPUTS = {name: FIXTURES / Path(path).name for name, path in FIGURE_INPUT_FILES.items()}
GROUPS = ["ROS1", "ALK"]
CONFIG_FIGURES = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["figures"]
SVG_NS = "{http://www.w3.org/2000/svg}"
# a layout the engine gives up on draws overlapping text: fail instead
pytestmark = pytest.mark.filterwarnings("error:constrained_layout not applied:UserWarning")


def outputs(directory: Path, stem: str) -> dict[str, Path]:
    return {ext: directory / f"{stem}.{ext}" for ext in ("pdf", "svg", "png")}


def panel_inputs(panel: str) -> dict[str, Path]:
    return {name: INPUTS[name] for name in PANEL_INPUTS[panel]}


def svg_texts(path: Path, style_contains: str = "") -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(node.itertext()) for node in root.iter(f"{SVG_NS}text")
            if style_contains in node.get("style", "")]


def expected_pixels(width_mm: float, height_mm: float) -> tuple[int, int]:
    return round(width_mm / 25.4 * 300), round(height_mm / 25.4 * 300)


# ------------------------------------------------------------------------------------ rendering

@pytest.mark.parametrize("panel", list(figures.PANEL_DRAWINGS))
def test_each_panel_renders_at_300_dpi_and_journal_width(panel, tmp_path):
    files = outputs(tmp_path, panel)
    figures.render_panel(panel, panel_inputs(panel), files, GROUPS)
    spec = figures.PANEL_DRAWINGS[panel]
    with Image.open(files["png"]) as image:
        assert image.size == expected_pixels(style.COLUMN_WIDTH_MM[spec.width], spec.height_mm)
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert "Software" not in image.info
    pdf = files["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf, "fonts are embedded as TrueType (pdf.fonttype 42)"
    assert b"/Subtype /Type3" not in pdf
    assert b"/CreationDate" not in pdf
    texts = svg_texts(files["svg"])  # well-formed SVG with text kept as text
    assert texts, f"{panel}: no text in the SVG"


@pytest.mark.parametrize("name", list(CONFIG_FIGURES))
def test_assembled_figures_have_configured_size(name, tmp_path):
    entry = CONFIG_FIGURES[name]
    files = outputs(tmp_path, name)
    figure_assembly.assemble_figure(entry["layout"], inputs=INPUTS, outputs=files, groups=GROUPS,
                                    width=entry["width"], height_mm=entry["height_mm"],
                                    title=entry["title"])
    with Image.open(files["png"]) as image:
        assert image.size == expected_pixels(style.COLUMN_WIDTH_MM[entry["width"]], entry["height_mm"])
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    letters = svg_texts(files["svg"], f"font-weight: 700; font-size: {style.PANEL_LETTER_PT:g}px")
    n_panels = sum(len(row) for row in entry["layout"])
    assert letters == ([chr(ord("A") + i) for i in range(n_panels)] if n_panels > 1 else [])


def test_assembly_letters_follow_reading_order():
    layout = [["metastases", "patterns"], ["cif_cns", "forest"]]
    data = figures.load_inputs(INPUTS)
    with style.context():
        fig = figure_assembly.build_figure(layout, data, GROUPS, width="double", height_mm=150)
        fig.draw_without_rendering()
        letters = {t.get_text(): t.get_window_extent() for t in fig.findobj(Text)
                   if re.fullmatch(r"[A-Z]", t.get_text()) and t.get_fontsize() == style.PANEL_LETTER_PT}
    assert sorted(letters) == ["A", "B", "C", "D"]
    assert figure_assembly.panel_letters(layout) == [("A", "metastases"), ("B", "patterns"),
                                                     ("C", "cif_cns"), ("D", "forest")]
    a, b, c, d = (letters[k] for k in "ABCD")
    assert a.x0 < b.x0 and abs(a.y0 - b.y0) < 1      # A left of B, same row
    assert c.y0 < a.y0 and abs(c.x0 - a.x0) < 1      # C below A (display y grows upwards)
    assert d.x0 > c.x0 and abs(d.y0 - c.y0) < 1


def test_unknown_panel_in_layout_is_a_clear_error(tmp_path):
    with pytest.raises(figures.FigureInputError, match="unknown panel 'kaplan'"):
        figure_assembly.assemble_figure([["km_pfs", "kaplan"]], inputs=INPUTS,
                                        outputs=outputs(tmp_path, "f"), groups=GROUPS)
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------- determinism

def test_two_renders_are_byte_identical(tmp_path):
    for run in ("one", "two"):
        directory = tmp_path / run
        figures.render_panel("km_pfs", panel_inputs("km_pfs"), outputs(directory, "km_pfs"), GROUPS)
        entry = CONFIG_FIGURES["figure2"]
        figure_assembly.assemble_figure(entry["layout"], inputs=INPUTS,
                                        outputs=outputs(directory, "figure2"), groups=GROUPS,
                                        width=entry["width"], height_mm=entry["height_mm"])
    for stem in ("km_pfs", "figure2"):
        for ext in ("pdf", "svg", "png"):
            one = (tmp_path / "one" / f"{stem}.{ext}").read_bytes()
            two = (tmp_path / "two" / f"{stem}.{ext}").read_bytes()
            assert one == two, f"{stem}.{ext} differs between two renders"


def test_a_figure_job_writes_the_bytes_of_each_drawing_alone(tmp_path):
    """A figure's job (run_figure) draws its figure and its stand-alone panels in one process from inputs read
    once: each file as when drawn by itself; a panel not among ``panels`` is not written."""
    entry = {"title": "Tumour size and PFS", "width": "double", "height_mm": 150,
             "layout": [["waterfall", "spider"], ["km_pfs"]]}
    together = {**outputs(tmp_path / "together", "figure"),
                **{f"{panel}_{ext}": path for panel in ("waterfall", "km_pfs")
                   for ext, path in outputs(tmp_path / "together", panel).items()}}
    inputs = {name: INPUTS[name] for name in ("tumor_size", "tumor_size_course", "pfs")}
    figure_assembly.run_figure(inputs, together, panels=["waterfall", "km_pfs"], groups=GROUPS, figure=entry)
    for panel in ("waterfall", "km_pfs"):
        figures.render_panel(panel, panel_inputs(panel), outputs(tmp_path / "alone", panel), GROUPS)
    figure_assembly.assemble_figure(entry["layout"], inputs=inputs, outputs=outputs(tmp_path / "alone", "figure"),
                                    groups=GROUPS, width=entry["width"], height_mm=entry["height_mm"],
                                    title=entry["title"])
    assert sorted(p.name for p in (tmp_path / "together").iterdir()) == sorted(
        p.name for p in (tmp_path / "alone").iterdir())
    for path in (tmp_path / "alone").iterdir():
        assert (tmp_path / "together" / path.name).read_bytes() == path.read_bytes(), path.name


SUBPROCESS_RENDER = """
import sys
from pathlib import Path
from chartreview.figures import assembly as figure_assembly
from chartreview.figures import panels as figures
inputs = {k: Path(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])}
out = Path(sys.argv[1])
figure_assembly.assemble_figure([["km_os", "swimmer"], ["flow", "patterns"]], inputs=inputs,
    outputs={e: out / f"figure.{e}" for e in ("pdf", "svg", "png")}, groups=["ROS1", "ALK"],
    width="double", height_mm=160)
"""


def test_renders_in_fresh_processes_are_byte_identical(tmp_path):
    """A new interpreter with an empty matplotlib config dir (so the font cache is rebuilt) gives the
    same bytes as the test process: no dependence on font-cache order, hash seeds or timestamps."""
    args = [f"{k}={v}" for k, v in INPUTS.items()]
    here = tmp_path / "here"
    inputs = {k: v for k, v in INPUTS.items()}
    figure_assembly.assemble_figure([["km_os", "swimmer"], ["flow", "patterns"]], inputs=inputs,
                                    outputs=outputs(here, "figure"), groups=GROUPS,
                                    width="double", height_mm=160)
    for run, seed in (("fresh", "1"), ("other_seed", "12345")):
        directory = tmp_path / run
        directory.mkdir()
        config_dir = tmp_path / f"mplconfig_{run}"
        config_dir.mkdir()
        env = dict(os.environ, MPLCONFIGDIR=str(config_dir), PYTHONHASHSEED=seed,
                   PYTHONPATH=str(ROOT / "workflow"))
        subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", SUBPROCESS_RENDER,
                        str(directory), *args], env=env, check=True, capture_output=True, timeout=300)
        for ext in ("pdf", "svg", "png"):
            assert (directory / f"figure.{ext}").read_bytes() == (here / f"figure.{ext}").read_bytes(), \
                f"figure.{ext} differs in a fresh process ({run})"


# ------------------------------------------------------------------------------- swimmer privacy

def test_swimmer_labels_rows_by_anonymous_index_only(tmp_path):
    files = outputs(tmp_path, "swimmer")
    figures.render_panel("swimmer", panel_inputs("swimmer"), files, GROUPS)
    record_ids = pd.read_parquet(INPUTS["patients"], columns=["record_id"])["record_id"].tolist()
    svg = files["svg"].read_text()
    texts = svg_texts(files["svg"])
    leaked = [r for r in record_ids if r in svg or r.encode() in files["pdf"].read_bytes()]
    assert not leaked, f"record identifiers in the swimmer plot: {leaked[:5]}"
    n = len(record_ids)
    patients = pd.read_parquet(INPUTS["patients"])
    ticks = figures.time_ticks(patients[["criz_months", "followup_months"]].max().max())
    numbers = {int(t) for t in texts if t.isdigit()}
    assert set(range(1, n + 1)) <= numbers  # every row labelled 1..n at this size
    assert numbers <= set(range(1, n + 1)) | {int(t) for t in ticks}  # and no other number


def test_swimmer_rows_sorted_by_group_then_duration():
    patients = pd.read_parquet(INPUTS["patients"])
    rows, total = figures.swimmer_rows(patients, GROUPS)
    assert total == len(patients) == len(rows)
    assert rows["index"].tolist() == list(range(1, len(rows) + 1))
    assert "record_id" not in rows.columns
    group_codes = rows["group"].cat.codes.to_numpy()
    assert (np.diff(group_codes) >= 0).all()
    for _, part in rows.groupby("group", observed=True):
        assert (np.diff(part["criz_months"].to_numpy()) <= 0).all()


def test_swimmer_takes_a_documented_systematic_sample_of_a_large_cohort(tmp_path):
    base = pd.read_parquet(INPUTS["patients"])
    copies = 250_000 // len(base) + 1
    big = pd.concat([base] * copies, ignore_index=True).iloc[:250_000]
    big["record_id"] = [f"BIG-{i:07d}" for i in range(len(big))]
    big["criz_months"] = big["criz_months"] + np.tile(np.linspace(0, 0.5, copies), len(base))[: len(big)]
    rows, total = figures.swimmer_rows(big, GROUPS)
    assert total == 250_000 and len(rows) == figures.SWIMMER_MAX_PATIENTS
    share = (rows["group"] == "ROS1").mean()
    assert share == pytest.approx((big["group"] == "ROS1").mean(), abs=0.02)
    again, _ = figures.swimmer_rows(big.sample(frac=1.0, random_state=3).sort_index(), GROUPS)
    pd.testing.assert_frame_equal(rows, again)
    path = tmp_path / "big.parquet"
    big.to_parquet(path)
    files = outputs(tmp_path, "swimmer")
    figures.render_panel("swimmer", {"patients": path}, files, GROUPS)
    note = " ".join(svg_texts(files["svg"]))
    assert "Systematic sample of 100 of 250,000 patients" in note
    assert "BIG-" not in files["svg"].read_text()


# ------------------------------------------------------------------------------------ legibility

def _all_figures():
    data = figures.load_inputs(INPUTS)
    for name, entry in CONFIG_FIGURES.items():
        yield name, figure_assembly.build_figure(entry["layout"], data, GROUPS, width=entry["width"],
                                                 height_mm=entry["height_mm"])


def test_text_is_at_least_6_pt_and_legends_clear_of_curves():
    with style.context():
        for name, fig in _all_figures():
            fig.draw_without_rendering()
            for text in fig.findobj(Text):
                if text.get_visible() and text.get_text().strip():
                    assert text.get_fontsize() >= 6, f"{name}: {text.get_text()!r} below 6 pt"
            for legend in fig.findobj(Legend):
                if not hasattr(legend, "_chartreview_candidates"):
                    continue
                box = legend.get_window_extent()
                if legend.axes.bbox.contains(box.x0 + 1, box.y0 + 1):
                    assert not style.covers_data(legend.axes, box), \
                        f"{name}: a legend covers a curve in {legend.axes.get_ylabel()!r}"


def test_a_group_has_the_same_colour_in_every_panel():
    colours = style.group_colors(GROUPS)
    data = figures.load_inputs(INPUTS)
    with style.context():
        for panel in ("km_pfs", "cif_cns", "metastases"):
            fig = style.new_figure("single", 80)
            ax = figures.draw_panel(panel, fig, fig.add_gridspec(1, 1)[0], data, GROUPS)
            if panel == "metastases":
                drawn = [ax.get_legend().legend_handles[i].get_facecolor() for i in range(2)]
            else:
                legend = next(lg for lg in fig.findobj(Legend))
                drawn = [legend.legend_handles[i].get_color() for i in range(2)]
            from matplotlib.colors import to_hex
            assert [to_hex(c) for c in drawn] == [colours["ROS1"].lower(), colours["ALK"].lower()], panel
    assert colours["ROS1"] != colours["ALK"]
    assert style.group_colors(["ROS1", "ALK", "NTRK"])["ROS1"] == colours["ROS1"]


# ------------------------------------------------------------------------------------- helpers

def test_numbers_at_risk_match_a_direct_count():
    rng = np.random.default_rng(7)
    times = np.round(rng.exponential(12, 500), 1)
    curve_time = np.unique(times)
    n_risk = np.array([(times >= t).sum() for t in curve_time])
    ticks = figures.time_ticks(times.max())
    expected = [(times >= t).sum() for t in ticks]
    assert figures.numbers_at_risk(curve_time, n_risk, ticks).tolist() == expected


def test_time_ticks_and_counts_are_readable():
    assert figures.time_ticks(44.46).tolist() == [0, 6, 12, 18, 24, 30, 36, 42, 48]
    assert figures.time_ticks(93.5).tolist() == list(range(0, 97, 12))
    assert figures.time_ticks(0.0).tolist() == [0, 1]
    assert [figures.format_count(n) for n in (9999, 10_000, 123_456, 1_000_000)] == \
        ["9999", "10k", "123k", "1.0M"]
    assert figures.format_p(0.2319) == "P = 0.232" and figures.format_p(0.0004) == "P < 0.001"
    assert figures.format_p(None) == "P = –"
    assert figures.format_ratio(1.2345, [0.5, None]) == "1.23 (0.50\u2013NE)"


def test_degenerate_results_draw_with_nr_and_ne(tmp_path):
    """A group without events (median not reached, no HR) and subgroups without a model still draw."""
    pfs = json.loads(INPUTS["pfs"].read_text())
    ros1 = pfs["groups"]["ROS1"]
    ros1["curve"]["n_censor"] = [a + b for a, b in zip(ros1["curve"]["n_censor"], ros1["curve"]["n_event"])]
    ros1["curve"]["n_event"] = [0] * len(ros1["curve"]["time"])
    ros1["curve"]["survival"] = [1.0] * len(ros1["curve"]["time"])
    ros1.update(events=0, median=None, median_ci=[None, None])
    pfs["cox"].update(hr=None, hr_ci=[None, None], p=None)
    pfs["logrank"]["p"] = None
    for entry in pfs["subgroups"]:
        entry.update(hr=None, hr_ci=[None, None], p=None, interaction_p=None)
    path = tmp_path / "pfs.json"
    path.write_text(json.dumps(pfs))
    for panel in ("km_pfs", "forest"):
        files = outputs(tmp_path, panel)
        figures.render_panel(panel, {"pfs": path}, files, GROUPS)
        texts = svg_texts(files["svg"])
        assert any(t.startswith("ROS1") and "NR" in t for t in texts) if panel == "km_pfs" \
            else texts.count("NE") >= len(pfs["subgroups"]) + 1


def test_cif_draws_numbers_at_risk_only_when_given(tmp_path):
    cns = json.loads(INPUTS["cns"].read_text())
    files = outputs(tmp_path, "with")
    figures.render_panel("cif_cns", {"cns": INPUTS["cns"]}, files, GROUPS)
    assert "Number at risk" in svg_texts(files["svg"])
    for group in cns["groups"].values():
        del group["at_risk"]
    path = tmp_path / "cns.json"
    path.write_text(json.dumps(cns))
    files = outputs(tmp_path, "without")
    figures.render_panel("cif_cns", {"cns": path}, files, GROUPS)
    assert "Number at risk" not in svg_texts(files["svg"])


def test_missing_curve_names_file_and_key(tmp_path):
    broken = json.loads(INPUTS["pfs"].read_text())
    del broken["groups"]["ALK"]["curve"]
    path = tmp_path / "pfs.json"
    path.write_text(json.dumps(broken))
    files = outputs(tmp_path, "km_pfs")
    with pytest.raises(figures.FigureInputError) as error:
        figures.render_panel("km_pfs", {"pfs": path}, files, GROUPS)
    assert str(path) in str(error.value) and "groups.ALK.curve" in str(error.value)
    assert not any(f.exists() for f in files.values())


def test_missing_input_file_is_named(tmp_path):
    with pytest.raises(figures.FigureInputError, match="flow.json: the file does not exist"):
        figures.render_panel("flow", {"flow": tmp_path / "flow.json"}, outputs(tmp_path, "flow"), GROUPS)


def test_every_panel_of_the_catalog_has_a_drawing():
    assert tuple(figures.PANEL_DRAWINGS) == PANELS


# ------------------------------------------------------------------------------- Snakemake rules

def test_rules_draw_and_fail_cleanly_on_bad_input(make_workflow):
    """The rules' scripts pass the named inputs through; bad input ends with the file and key named in
    the log and on stderr, a non-zero exit, no traceback and no partial figure."""
    workflow = make_workflow(rule_files=("figures",))
    work = workflow.workdir
    (work / "results" / "derived").mkdir(parents=True)
    (work / "results" / "derived" / "flow.json").write_text(INPUTS["flow"].read_text())
    workflow.run("results/figures/figure4.png", cores=1, timeout=600)
    assert (work / "results/figures/panels/flow.svg").exists()
    with Image.open(work / "results/figures/figure4.png") as image:
        assert image.size == expected_pixels(85, CONFIG_FIGURES["figure4"]["height_mm"])

    flow = json.loads(INPUTS["flow"].read_text())
    del flow["analysed"]
    (work / "results/derived/flow.json").write_text(json.dumps(flow))
    failed = workflow.run("results/figures/figure4.png", cores=1, check=False, timeout=600)
    assert failed.returncode != 0
    log = (work / "logs/figure_figure4.log").read_text()
    assert "flow.json" in log and "'analysed'" in log and "Traceback" not in log
    assert "missing key 'analysed'" in failed.stderr
    assert not (work / "results/figures/panels/flow.png").exists()


# ------------------------------------------------------------------------------ tumour size panels

@pytest.mark.parametrize("panel", ["waterfall", "spider"])
def test_tumour_size_panels_name_the_exclusions_and_no_record(panel, tmp_path):
    files = outputs(tmp_path, panel)
    figures.render_panel(panel, panel_inputs(panel), files, GROUPS)
    caption = " ".join(" ".join(svg_texts(files["svg"])).split())
    assert ("Excluded: no sum of diameters at the baseline assessment (n = 2); no sum of diameters after "
            "criz_start_date in the response window (n = 1)") in caption
    record_ids = set(pd.read_parquet(INPUTS["tumor_size_course"])["record_id"])
    svg, pdf = files["svg"].read_text(), files["pdf"].read_bytes()
    assert not [r for r in record_ids if r in svg or r.encode() in pdf]
    assert "NCC-" not in svg


@pytest.mark.parametrize("panel", ["waterfall", "spider"])
def test_tumour_size_panels_say_not_available(panel, tmp_path):
    result = {"available": False, "reason": "ta_sld_mm is not in the export (or the data dictionary): the change "
                                            "in tumour size is not available", "groups": {g: {"n": 3} for g in GROUPS}}
    (tmp_path / "tumor_size.json").write_text(json.dumps(result))
    course = pd.read_parquet(INPUTS["tumor_size_course"]).iloc[:0]
    course.to_parquet(tmp_path / "course.parquet", index=False)
    files = outputs(tmp_path, panel)
    figures.render_panel(panel, {"tumor_size": tmp_path / "tumor_size.json",
                                 "tumor_size_course": tmp_path / "course.parquet"}, files, GROUPS)
    text = " ".join(" ".join(svg_texts(files["svg"])).split())
    assert text.startswith("Not available: ta_sld_mm is not in the export")
