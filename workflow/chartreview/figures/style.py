"""One figure style for every panel and figure: journal column widths, fonts, a colour-blind-safe
palette with one fixed colour per group, line widths, legends that never cover data, embedded fonts
and deterministic file output.

Sizes follow common journal rules (e.g. Nature, Elsevier, Lancet artwork guides): 85 mm single and
180 mm double column (or a width in mm), sans-serif text of 6 to 9 pt at print size, lines of at least
0.5 pt, fonts embedded as TrueType (pdf.fonttype 42, ps.fonttype 42) so editors can edit the text, and
raster artwork as LZW-compressed TIFF at 300 to 1200 dpi, RGB or CMYK. Colours are the Okabe-Ito palette
(Okabe and Ito 2008, "Color Universal Design"), distinguishable under the common colour-vision
deficiencies.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox, ScaledTranslation

from chartreview.core.catalog import FIGURE_FORMATS
from chartreview.figures.settings import (  # noqa: F401 (also read from here: style.FigureStyleError, ...)
    FONT_FAMILY,
    RISK_TABLES,
    FigureStyle,
    FigureStyleError,
    check_figure_style,
    font_family,
)

MM_PER_INCH = 25.4
COLUMN_WIDTH_MM = {"single": 85.0, "double": 180.0}
# The layout's pixel grid and the PNG's resolution (the report's preview); the TIFF takes the configured dpi.
DPI = 300

# Text sizes in points at print size; nothing smaller than SMALL_PT is drawn.
FONT_PT = 7.0
SMALL_PT = 6.0
PANEL_LETTER_PT = 9.0

LINE_WIDTH = 1.0         # curves
THIN_LINE_WIDTH = 0.6    # axes, ticks, reference lines
MARKER_SIZE = 4.0

# Okabe-Ito. Groups take the first colours in config order (reference group first), so a group has
# the same colour in every figure; categories that are not groups use CATEGORY_COLORS.
OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish_green": "#009E73",
    "reddish_purple": "#CC79A7",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
GROUP_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
CATEGORY_COLORS = ("#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442")
NEUTRAL_COLOR = "#999999"
TEXT_COLOR = "#000000"

SVG_HASHSALT = "chartreview"
PDF_METADATA = {"Creator": "chartreview", "Producer": "matplotlib", "CreationDate": None}
SVG_METADATA = {"Date": None, "Creator": "chartreview"}
PNG_METADATA = {"Software": None}
PS_METADATA = {"Creator": "chartreview"}
# The PostScript backend stamps the wall-clock time; the line is dropped so two runs give the same bytes.
PS_CREATION_DATE = re.compile(rb"^%%CreationDate:[^\n]*\n", re.MULTILINE)
TIFF_COMPRESSION = "tiff_lzw"


_CURRENT: contextvars.ContextVar[FigureStyle | None] = contextvars.ContextVar("figure_style", default=None)


def current() -> FigureStyle:
    """The figure style of the context being drawn in (style.context), the defaults outside one."""
    return _CURRENT.get() or FigureStyle()


def rc_params(family: str = FONT_FAMILY) -> dict:
    """The matplotlib rcParams of every figure."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [family],
        "font.size": FONT_PT,
        "axes.titlesize": FONT_PT,
        "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT,
        "ytick.labelsize": FONT_PT,
        "legend.fontsize": FONT_PT,
        "legend.title_fontsize": FONT_PT,
        "figure.titlesize": PANEL_LETTER_PT,
        "mathtext.default": "regular",
        # text is drawn as written: a "$" in a group label is a dollar sign, not the start of mathtext
        "text.parse_math": False,
        "axes.linewidth": THIN_LINE_WIDTH,
        "axes.edgecolor": TEXT_COLOR,
        "axes.labelcolor": TEXT_COLOR,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.unicode_minus": True,
        "xtick.major.width": THIN_LINE_WIDTH,
        "ytick.major.width": THIN_LINE_WIDTH,
        "xtick.major.size": 3.0,
        "ytick.major.size": 3.0,
        "xtick.major.pad": 2.0,
        "ytick.major.pad": 2.0,
        "lines.linewidth": LINE_WIDTH,
        "lines.markersize": MARKER_SIZE,
        "patch.linewidth": THIN_LINE_WIDTH,
        "hatch.linewidth": THIN_LINE_WIDTH,
        "legend.frameon": False,
        "legend.handlelength": 1.6,
        "legend.borderaxespad": 0.3,
        "legend.labelspacing": 0.3,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "figure.constrained_layout.use": False,
        "figure.constrained_layout.h_pad": 1.5 / 72,
        "figure.constrained_layout.w_pad": 1.5 / 72,
        "figure.constrained_layout.hspace": 0.02,
        "figure.constrained_layout.wspace": 0.02,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        # Text stays text in the SVG (editable, searchable); the PDF embeds the font.
        "svg.fonttype": "none",
        "svg.hashsalt": SVG_HASHSALT,
        "path.simplify": True,
    }


@contextlib.contextmanager
def context(figure_style: FigureStyle | Mapping | None = None) -> Iterator[FigureStyle]:
    """Draw and save inside this context: rcParams are read both when artists are made and on saving, and
    the panels read the curve options from current()."""
    if not isinstance(figure_style, FigureStyle):
        figure_style = FigureStyle.from_config(figure_style)
    token = _CURRENT.set(figure_style)
    try:
        with matplotlib.rc_context(rc_params(font_family(figure_style))):
            yield figure_style
    finally:
        _CURRENT.reset(token)


def figure_size_mm(width: str | float, height_mm: float) -> tuple[float, float]:
    """(width, height) in mm; width is 'single', 'double' or a number of mm (config `width: 120`)."""
    width_mm = COLUMN_WIDTH_MM[width] if isinstance(width, str) else float(width)
    return width_mm, float(height_mm)


def new_figure(width: str | float, height_mm: float) -> Figure:
    """A figure of a journal width (single 85 mm, double 180 mm) with constrained layout.

    Made without pyplot, so no global figure registry or GUI backend is involved."""
    width_mm, height_mm = figure_size_mm(width, height_mm)
    # whole pixels at DPI (85 mm -> 1004 px, not a truncated 1003), so the PNG is the column width
    width_px, height_px = round(width_mm / MM_PER_INCH * DPI), round(height_mm / MM_PER_INCH * DPI)
    fig = Figure(
        figsize=(width_px / DPI, height_px / DPI),
        dpi=DPI,
        layout="constrained",
    )
    # An Agg canvas from the start: the layout passes, the legends' extents and the PNG then share one
    # renderer and its cache of text sizes, instead of a new canvas, renderer and cache for each.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    return fig


def group_colors(groups: Sequence[str]) -> dict[str, str]:
    """Colour of each group by its position in the config (the reference group first)."""
    return {group: GROUP_COLORS[i % len(GROUP_COLORS)] for i, group in enumerate(groups)}


def tint(color: str, alpha: float) -> str:
    """`color` at opacity `alpha` over white, as an opaque colour: EPS (PostScript) has no transparency."""
    rgb = np.array(matplotlib.colors.to_rgb(color))
    return matplotlib.colors.to_hex(alpha * rgb + (1.0 - alpha))


def _subfigures(fig) -> list:
    found = []
    for sub in getattr(fig, "subfigs", []):
        found += [sub, *_subfigures(sub)]
    return found


def lay_out(fig: Figure) -> None:
    """Run the figure's layout engine as Figure.draw runs it first, without drawing every artist (a full
    draw costs as much as writing one of the files), and autoscale each axes' limits as the draw would:
    what the layout sets and the limits are all that freeze_layout and place_legends read."""
    engine = fig.get_layout_engine()
    if fig.axes and engine is not None:
        with contextlib.suppress(ValueError):  # as Figure.draw: a figure too small for its layout
            engine.execute(fig)
    for ax in fig.axes:
        ax.get_xlim(), ax.get_ylim()  # reading the limits autoscales them


def freeze_layout(fig: Figure, decimals: int = 6) -> None:
    """Run the constrained layout once, round what it solved, and switch it off.

    kiwisolver's solution can differ in the last bits between processes (its internals are keyed
    by memory address), which would change the files; rounded positions make them byte-identical."""
    lay_out(fig)
    for sub in _subfigures(fig):
        sub.bbox_relative.set_points(np.round(sub.bbox_relative.get_points(), decimals))
    for holder in [fig, *_subfigures(fig)]:
        for ax in holder.axes:
            ax.set_position(np.round(ax.get_position().bounds, decimals).tolist(), which="both")
        title = getattr(holder, "_suptitle", None)
        if title is not None:
            title.set_position(np.round(title.get_position(), decimals))
    fig.set_layout_engine("none")


def blank_handle() -> Rectangle:
    return Rectangle((0, 0), 1, 1, fill=False, edgecolor="none", visible=False)


def legend_box(ax: Axes, handles, labels, candidates: Sequence[str], **kwargs):
    """A legend that place_legends() moves, once the layout is final, to the first of `candidates`
    (locations inside the axes) where it covers no curve, mark or line, else above the axes."""
    kwargs.setdefault("handletextpad", 0.5)
    legend = Legend(ax, handles, labels, loc=candidates[0], frameon=True, framealpha=1.0,
                    edgecolor="none", facecolor="white", borderpad=0.3, **kwargs)
    legend._chartreview_candidates = tuple(candidates)
    ax.add_artist(legend)  # not ax.legend(): an axes may hold several of these
    legend.set_clip_on(False)  # add_artist clips to the axes, which hides it from the layout engine
    return legend


def text_box(ax: Axes, lines: Sequence[str], candidates: Sequence[str]):
    """Lines of text (test results) in a box placed like legend_box."""
    return legend_box(ax, [blank_handle()] * len(lines), list(lines), candidates,
                       handlelength=0, handletextpad=0)


LEGEND_MARGIN_PT = 4.0
NAMED_PLACES = {
    "upper right": (1.0, 1.0), "upper left": (0.0, 1.0), "lower left": (0.0, 0.0),
    "lower right": (1.0, 0.0), "center right": (1.0, 0.5), "center left": (0.0, 0.5),
    "upper center": (0.5, 1.0), "lower center": (0.5, 0.0), "center": (0.5, 0.5),
}
# After the named places, a scan of the axes (top to bottom, right to left) for any free spot.
SCAN_PLACES = tuple((fx / 8, fy / 8) for fy in range(8, -1, -1) for fx in range(8, -1, -1))


def _place_box(place: tuple[float, float], width: float, height: float, area, pad: float):
    """Display Bbox of a width x height box inside `area` (less `pad`); place = (0, 0) lower left
    to (1, 1) upper right."""
    fx, fy = place
    x = area.x0 + pad + fx * max(area.width - 2 * pad - width, 0.0)
    y = area.y0 + pad + fy * max(area.height - 2 * pad - height, 0.0)
    return Bbox.from_bounds(x, y, width, height)


def covers_data(ax: Axes, box, taken=()) -> bool:
    """Whether a display-coordinate box touches any line or marker drawn in the axes, or a box
    already taken."""
    if any(box.overlaps(other) for other in taken):
        return True
    margin = LEGEND_MARGIN_PT * ax.figure.dpi / 72  # keep clear of the curves, not just off them
    box = box.expanded((box.width + 2 * margin) / box.width, (box.height + 2 * margin) / box.height)
    for line in ax.lines:
        if not line.get_visible() or len(line.get_xdata()) == 0:
            continue
        path = line.get_transform().transform_path(line.get_path())
        if line.get_linestyle() not in ("None", "none", "", " ") and path.intersects_bbox(box, filled=False):
            return True
        if line.get_marker() not in (None, "None", "none", ""):
            reach = line.get_markersize() * ax.figure.dpi / 72 / 2
            grown = box.expanded((box.width + 2 * reach) / box.width, (box.height + 2 * reach) / box.height)
            if grown.count_contains(path.vertices[np.isfinite(path.vertices).all(axis=1)]):
                return True
    for collection in ax.collections:  # filled areas: confidence bands
        if not collection.get_visible():
            continue
        transform = collection.get_transform()
        if any(transform.transform_path(path).intersects_bbox(box, filled=True)
               for path in collection.get_paths()):
            return True
    return False


def place_legends(fig: Figure) -> None:
    """Move every legend made by legend_box to its first free location, after the layout is done
    (the free space depends on the axes' final size). Called before saving; deterministic."""
    legends = [lg for lg in fig.findobj(Legend) if hasattr(lg, "_chartreview_candidates")]
    if not legends:
        return
    lay_out(fig)
    moved_outside = False
    taken: dict[int, list] = {}
    outside: dict[int, int] = {}
    above: dict[int, list] = {}
    for legend in legends:
        ax = legend.axes
        extent = legend.get_window_extent()
        pad = legend.borderaxespad * legend.prop.get_size_in_points() * fig.dpi / 72
        places = [NAMED_PLACES[loc] for loc in legend._chartreview_candidates] + list(SCAN_PLACES)
        for place in places:
            box = _place_box(place, extent.width, extent.height, ax.bbox, pad)
            if not covers_data(ax, box, taken.setdefault(id(ax), [])):
                corner = ax.transAxes.inverted().transform((box.x0 - pad, box.y0 - pad))
                legend.set_loc("lower left")
                # rounded: the layout's last bits may differ between processes (style.freeze_layout)
                legend.set_bbox_to_anchor(tuple(round(float(v), 6) for v in corner),
                                          transform=ax.transAxes)
                taken[id(ax)].append(box)
                break
        else:
            slot = outside.get(id(ax), 0)
            outside[id(ax)] = slot + 1
            above.setdefault(id(ax), []).append(legend)
            legend.set_loc(("lower left", "lower right", "lower center")[min(slot, 2)])
            legend.set_bbox_to_anchor((float(min(slot, 1)), 1.0), transform=ax.transAxes)
            moved_outside = True
    for stacked in above.values():
        _stack_if_crowded(stacked)
    if moved_outside:  # the layout makes room for it
        lay_out(fig)


def _stack_if_crowded(legends: list) -> None:
    """Boxes above one axes side by side (left, right, centre) that would not fit its width: one above
    the other instead, left-aligned, so that none covers another."""
    if len(legends) < 2:
        return
    ax = legends[0].axes
    widths = [legend.get_window_extent().width for legend in legends]
    if sum(widths) + LEGEND_MARGIN_PT * ax.figure.dpi / 72 * (len(legends) - 1) <= ax.bbox.width:
        return
    # offsets in inches, not axes fractions: the axes shrink when the layout makes room above them
    rise = 0.0
    for legend in legends:
        legend.set_loc("lower left")
        legend.set_bbox_to_anchor((0.0, 1.0), transform=ax.transAxes + ScaledTranslation(
            0.0, round(rise, 6), ax.figure.dpi_scale_trans))
        rise += legend.get_window_extent().height / ax.figure.dpi


def _tiff(fig: Figure, path: str | Path, figure_style: FigureStyle) -> None:
    """LZW-compressed TIFF at the configured dpi, RGB or CMYK, written by Pillow with no date or software
    tag. CMYK is Pillow's plain conversion (no ICC profile): a printer's profile is applied by the journal."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    dpi, original = figure_style.dpi, fig.dpi
    canvas = FigureCanvasAgg(fig)
    try:
        fig.set_dpi(dpi)
        canvas.draw()
        # the figure's white background is opaque: dropping alpha loses nothing
        image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    finally:
        fig.set_dpi(original)
    if figure_style.color_mode == "CMYK":
        image = image.convert("CMYK")
    image.save(path, format="TIFF", compression=TIFF_COMPRESSION, dpi=(dpi, dpi))


def _eps(fig: Figure, path: str | Path) -> None:
    """EPS with the fonts embedded as Type 42 (ps.fonttype), without the wall-clock CreationDate."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="eps", metadata=dict(PS_METADATA))
    Path(path).write_bytes(PS_CREATION_DATE.sub(b"", buffer.getvalue(), count=1))


def save_figure(fig: Figure, outputs: Mapping[str, str | Path], *, title: str | None = None) -> None:
    """Write the figure in each format of `outputs` (pdf, svg, png, tiff, eps) with no timestamp or
    version stamp that would change between runs: two runs give byte-identical files. Called inside
    style.context(), whose figure style gives the TIFF's dpi and colour mode."""
    freeze_layout(fig)
    metadata = {
        "pdf": dict(PDF_METADATA, **({"Title": title} if title else {})),
        "svg": dict(SVG_METADATA, **({"Title": title} if title else {})),
        "png": dict(PNG_METADATA),
    }
    unknown = [ext for ext in outputs if ext not in FIGURE_FORMATS]
    if unknown:
        raise FigureStyleError(f"unsupported figure format {unknown[0]!r} ({', '.join(FIGURE_FORMATS)})")
    for ext, path in outputs.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if ext == "tiff":
            _tiff(fig, path, current())
        elif ext == "eps":
            _eps(fig, path)
        else:
            fig.savefig(path, format=ext, dpi=DPI, metadata=metadata[ext])
