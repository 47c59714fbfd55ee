"""Figure style (config figure_style): TIFF (LZW, dpi, size in mm, RGB/CMYK) and EPS (Type 42 fonts) files,
byte-identical renders, the font looked up before drawing, a custom width in mm, confidence bands read from
the endpoint results, the KMunicate risk table, and no text under 6 pt at print size."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.legend import Legend
from matplotlib.text import Text
from PIL import Image

from chartreview.core.catalog import FIGURE_INPUT_FILES, PANEL_INPUTS
from chartreview.core.config import ConfigError, check_schema, with_defaults
from chartreview.figures import assembly, style
from chartreview.figures import panels as figures
from support import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "figures"
INPUTS = {name: FIXTURES / Path(path).name for name, path in FIGURE_INPUT_FILES.items()}
GROUPS = ["ROS1", "ALK"]
KMUNICATE = {"risk_table": "at_risk_events_censored"}
MPL_FONTS = Path(style.matplotlib.get_data_path()) / "fonts" / "ttf"
pytestmark = pytest.mark.filterwarnings("error:constrained_layout not applied:UserWarning")


def render(panel: str, directory: Path, figure_style: dict) -> dict[str, Path]:
    files = {ext: directory / f"{panel}.{ext}" for ext in figure_style.get("formats", ("pdf", "svg", "png", "tiff"))}
    figures.render_panel(panel, {name: INPUTS[name] for name in PANEL_INPUTS[panel]}, files, GROUPS, figure_style)
    return files


def size_mm(image: Image.Image) -> tuple[float, float]:
    dpi_x, dpi_y = image.info["dpi"]
    return image.width / dpi_x * 25.4, image.height / dpi_y * 25.4


# ------------------------------------------------------------------------------------ TIFF and EPS

def test_tiff_and_eps_files_and_two_renders_byte_identical(tmp_path):
    figure_style = {"formats": ["pdf", "svg", "png", "tiff", "eps"], "dpi": 300, "color_mode": "CMYK"}
    first = render("flow", tmp_path / "one", figure_style)
    second = render("flow", tmp_path / "two", figure_style)
    for ext in first:
        assert first[ext].read_bytes() == second[ext].read_bytes(), f"flow.{ext} differs between two renders"
    with Image.open(first["tiff"]) as tiff:
        assert tiff.mode == "CMYK" and tiff.info["compression"] == "tiff_lzw"
        assert tiff.info["dpi"] == pytest.approx((300, 300))
        assert size_mm(tiff) == pytest.approx((85, figures.PANEL_DRAWINGS["flow"].height_mm), abs=25.4 / 300)
        assert not {305, 306} & set(tiff.tag_v2), "no Software or DateTime tag"
    eps = first["eps"].read_bytes()
    assert eps.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
    assert b"/FontType 42" in eps and b"DejaVuSans" in eps, "the font is embedded as TrueType (Type 42)"
    assert b"%%CreationDate" not in eps and b"/CreationDate" not in first["pdf"].read_bytes()
    assert b"Matplotlib v" not in eps


def test_tiff_rgb_at_the_configured_dpi_and_a_width_in_mm(tmp_path):
    files = {"tiff": tmp_path / "f.tiff", "png": tmp_path / "f.png"}
    assembly.assemble_figure([["flow"]], inputs=INPUTS, outputs=files, groups=GROUPS, width=120, height_mm=90,
                             figure_style={"formats": ["tiff", "png"], "dpi": 600})
    with Image.open(files["tiff"]) as tiff, Image.open(files["png"]) as png:
        assert tiff.mode == "RGB" and tiff.info["compression"] == "tiff_lzw"
        assert tiff.info["dpi"] == pytest.approx((600, 600))
        assert size_mm(tiff) == pytest.approx((120, 90), abs=25.4 / 300)
        # the layout's 300-dpi pixel grid, doubled: not one pixel lost to rounding
        assert png.size == (round(120 / 25.4 * 300), round(90 / 25.4 * 300))
        assert tiff.size == (2 * png.width, 2 * png.height)


def test_width_in_mm_is_in_the_schema():
    config = with_defaults({"figures": {"f": {"layout": [["flow"]], "width": 120}}})
    assert config["figures"]["f"]["width"] == 120 and config["figure_style"]["dpi"] == 600
    for bad in ({"width": 10}, {"width": "triple"}):
        with pytest.raises(ConfigError, match="figures.f.width"):
            check_schema({**with_defaults(), "figures": {"f": {"layout": [["flow"]], **bad}}})
    with pytest.raises(ConfigError, match="figure_style.dpi"):
        check_schema({**with_defaults(), "figure_style": {"dpi": 200}})


# ---------------------------------------------------------------------------------------------- fonts

def test_a_font_not_found_is_one_config_error_before_drawing(tmp_path):
    with pytest.raises(style.FigureStyleError, match=r"figure_style.font': the font 'No Such Sans' is not installed"):
        style.check_figure_style({"font": "No Such Sans"})
    files = {"pdf": tmp_path / "km.pdf"}
    with pytest.raises(style.FigureStyleError, match="No Such Sans"):
        figures.render_panel("km_pfs", {"pfs": INPUTS["pfs"]}, files, GROUPS, {"font": "No Such Sans"})
    assert not files["pdf"].exists()
    not_a_font = tmp_path / "notes.ttf"
    not_a_font.write_text("not a font")
    with pytest.raises(style.FigureStyleError, match=r"font_file': .*notes.ttf'.*cannot be read as a font"):
        style.check_figure_style({"font_file": str(not_a_font)})
    with pytest.raises(style.FigureStyleError, match="does not exist"):
        style.check_figure_style({"font_file": str(tmp_path / "missing.ttf")})


def test_a_font_file_is_registered_and_kept_as_text(tmp_path):
    font_file = MPL_FONTS / "DejaVuSerif.ttf"
    files = render("flow", tmp_path, {"formats": ["svg", "pdf"], "font_file": str(font_file)})
    svg = files["svg"].read_text()
    assert "font-family: 'DejaVu Serif'" in svg and "<text" in svg  # svg.fonttype none: text stays text
    assert b"/FontFile2" in files["pdf"].read_bytes() and b"DejaVuSerif" in files["pdf"].read_bytes()


def test_bands_and_eps_do_not_go_together():
    with pytest.raises(style.FigureStyleError, match="confidence_bands"):
        style.check_figure_style({"confidence_bands": True, "formats": ["eps"]})
    style.check_figure_style({"confidence_bands": True, "formats": ["pdf", "tiff"]})


# -------------------------------------------------------------------------------------- curves

def _bands(ax) -> list[np.ndarray]:
    return [c.get_paths()[0].vertices for c in ax.collections if isinstance(c, PolyCollection)]


def test_confidence_bands_are_read_from_the_endpoint_results():
    data = figures.load_inputs(INPUTS)
    with style.context({"confidence_bands": True}):
        for panel, key in (("km_pfs", "curve"), ("cif_cns", "curve")):
            fig = style.new_figure("single", 90)
            ax = figures.draw_panel(panel, fig, fig.add_gridspec(1, 1)[0], data, GROUPS)
            bands = _bands(ax)
            assert len(bands) == len(GROUPS), panel
            for group, vertices in zip(GROUPS, bands):
                curve = data[panel.split("_")[1]]["groups"][group][key]
                limits = {round(100 * v, 9) for v in curve["lower"] + curve["upper"] if v is not None}
                drawn = {round(v, 9) for v in vertices[:, 1]} - {100.0, 0.0}
                assert drawn and drawn <= limits | {100.0, 0.0}, f"{panel} {group}: band not from lower/upper"
    with style.context():
        fig = style.new_figure("single", 90)
        assert not _bands(figures.draw_panel("km_pfs", fig, fig.add_gridspec(1, 1)[0], data, GROUPS))


def test_kmunicate_counts_add_up_to_the_patients():
    pfs = json.loads(INPUTS["pfs"].read_text())
    for group in GROUPS:
        curve = {k: np.array(v, dtype=float) for k, v in pfs["groups"][group]["curve"].items() if k != "reason"}
        ticks = figures.time_ticks(curve["time"].max())
        with style.context(KMUNICATE):
            rows = dict(figures.risk_table_rows(curve, ticks, ("n_event", "n_censor")))
        assert list(rows) == ["At risk", "Events", "Censored"]
        assert ((rows["At risk"] + rows["Events"] + rows["Censored"]) == pfs["groups"][group]["n"]).all()
        assert rows["Events"][-1] == pfs["groups"][group]["events"] and rows["Events"][0] == 0
    assert figures.cumulative_before(np.array([1.0, 2.0, 4.0]), np.array([1, 2, 3]),
                                     np.array([0.0, 2.0, 2.5, 5.0])).tolist() == [0, 1, 3, 6]


def test_kmunicate_table_without_counts_in_the_input_names_the_key(tmp_path):
    cns = json.loads(INPUTS["cns"].read_text())
    del cns["groups"]["ALK"]["at_risk"]["n_competing"]
    path = tmp_path / "cns.json"
    path.write_text(json.dumps(cns))
    with pytest.raises(figures.FigureInputError, match=r"groups.ALK.at_risk.*n_competing"):
        figures.render_panel("cif_cns", {"cns": path}, {"svg": tmp_path / "c.svg"}, GROUPS, KMUNICATE)


# ------------------------------------------------------------------------------------- legibility

def _overlaps(texts: list[Text], renderer) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    return [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:]
            if box.overlaps(other) and box.intersection(box, other).height > 0.5]


@pytest.mark.parametrize("panel", list(figures.PANEL_DRAWINGS))
def test_no_text_under_6_pt_or_overlapping_in_a_risk_table(panel):
    """Fonts are set in points at print size (figures are drawn at their final size): none under 6 pt, with
    every option on; the rows of a KMunicate table do not touch."""
    data = figures.load_inputs(INPUTS)
    spec = figures.PANEL_DRAWINGS[panel]
    with style.context({"confidence_bands": True, **KMUNICATE}):
        height = spec.height_mm + len(GROUPS) * (1 + spec.kmunicate_rows) * figures.TABLE_ROW_MM
        fig = style.new_figure(spec.width, height)
        figures.draw_panel(panel, fig, fig.add_gridspec(1, 1)[0], data, GROUPS)
        style.place_legends(fig)
        style.freeze_layout(fig)
        renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else None
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        small = [t.get_text() for t in texts if t.get_fontsize() < 6]
        assert not small, f"{panel}: text under 6 pt: {small[:5]}"
        if spec.kmunicate_rows:
            table = fig.axes[1]
            cells = [t for t in table.texts if re.fullmatch(r"[\dkM.]+", t.get_text())]
            assert len(cells) > 0
            fig.draw_without_rendering()
            assert not _overlaps(cells + table.get_yticklabels(), renderer), f"{panel}: table text overlaps"



@pytest.mark.parametrize("layout", [[["km_pfs", "km_os"]], [["metastases", "patterns"], ["cif_cns", "forest"]]])
def test_the_layout_engine_alone_places_legends_and_freezes_as_a_full_draw(layout, monkeypatch):
    """style.lay_out (the layout engine and the autoscaled limits, without drawing every artist) leaves the
    axes, the panel letters and the legends where a full draw of the figure leaves them."""
    data = figures.load_inputs({name: INPUTS[name] for name in assembly.layout_inputs(layout)})

    def placed() -> list:
        with style.context():
            fig = assembly.build_figure(layout, data, GROUPS)
            style.freeze_layout(fig)
        legends = [lg for lg in fig.findobj(Legend) if hasattr(lg, "_chartreview_candidates")]
        assert legends
        return ([ax.get_position().bounds for ax in fig.axes]
                + [tuple(sub._suptitle.get_position()) for row in fig.subfigs for sub in row.subfigs]
                + [(lg._loc, np.round(lg.get_bbox_to_anchor().bounds, 3).tolist()) for lg in legends])

    alone = placed()
    monkeypatch.setattr(style, "lay_out", lambda fig: fig.draw_without_rendering())
    assert alone == placed()
