"""The config's figure_style, checked before any job (workflow/rules/common.smk) without drawing anything:
standard library only but for a font other than the one matplotlib ships, which matplotlib's font manager
looks up. The drawing is chartreview.figures.style's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from chartreview.core.catalog import FIGURE_FORMATS
from chartreview.core.errors import InputError

# DejaVu Sans ships inside matplotlib, so every machine draws (and embeds) the same glyphs; a system
# font such as Arial (config figure_style.font) makes the files depend on the machine's copy of it.
FONT_FAMILY = "DejaVu Sans"
RISK_TABLES = ("at_risk", "at_risk_events_censored")


class FigureStyleError(InputError):
    """A figure_style setting the figures cannot be drawn with (a font not found, a format not known)."""


@dataclass(frozen=True)
class FigureStyle:
    """The config's figure_style: file formats, TIFF resolution and colour mode, font, and what the
    time-to-event curves show. Defaults are the schema's (workflow/schemas/config.schema.yaml)."""
    formats: tuple[str, ...] = ("pdf", "svg", "png", "tiff")
    dpi: int = 600
    font: str = FONT_FAMILY
    font_file: str = ""
    color_mode: str = "RGB"
    confidence_bands: bool = False
    risk_table: str = "at_risk"

    @classmethod
    def from_config(cls, entry: Mapping | None) -> FigureStyle:
        """From the config's figure_style mapping (unknown keys refused, formats as a tuple)."""
        entry = dict(entry or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise FigureStyleError(f"config key 'figure_style.{unknown[0]}': unknown key "
                                   f"(the keys here: {', '.join(sorted(known))})")
        if "formats" in entry:
            entry["formats"] = tuple(entry["formats"])
        made = cls(**entry)
        bad = [f for f in made.formats if f not in FIGURE_FORMATS]
        if bad:
            raise FigureStyleError(f"config key 'figure_style.formats': {bad[0]!r} is not a figure format "
                                   f"({', '.join(FIGURE_FORMATS)})")
        if made.risk_table not in RISK_TABLES:
            raise FigureStyleError(f"config key 'figure_style.risk_table': {made.risk_table!r} is none of "
                                   f"{', '.join(RISK_TABLES)}")
        return made


def font_family(figure_style: FigureStyle) -> str:
    """The family name text is drawn in: font_file's own family once registered with matplotlib's font
    manager, else `font`, which must be installed. A font not found is a FigureStyleError, not matplotlib's
    silent fallback to another font."""
    if figure_style.font == FONT_FAMILY and not figure_style.font_file:
        return FONT_FAMILY  # ships inside matplotlib: found without loading matplotlib's font list
    from matplotlib import font_manager  # slow to import: the workflow checks the style before any job

    if figure_style.font_file:
        path = Path(figure_style.font_file)
        where = f"config key 'figure_style.font_file': {str(path)!r}"
        if not path.is_file():
            raise FigureStyleError(f"{where}: the file does not exist")
        if path.suffix.lower() not in (".ttf", ".otf"):
            raise FigureStyleError(f"{where}: not a TrueType or OpenType font file (.ttf or .otf)")
        try:
            font_manager.fontManager.addfont(str(path))
            family = font_manager.FontProperties(fname=str(path)).get_name()
        except (OSError, RuntimeError, ValueError):  # FreeType's text is not passed on
            raise FigureStyleError(f"{where}: the file cannot be read as a font") from None
        return family
    try:
        font_manager.findfont(font_manager.FontProperties(family=[figure_style.font]),
                              fallback_to_default=False)
    except ValueError:
        raise FigureStyleError(
            f"config key 'figure_style.font': the font {figure_style.font!r} is not installed on this machine "
            f"(matplotlib finds no font of that family name); install it, set figure_style.font_file to its "
            f".ttf or .otf file, or use {FONT_FAMILY!r}, which ships with matplotlib") from None
    return figure_style.font


def check_figure_style(entry: Mapping | None) -> FigureStyle:
    """The config's figure_style checked before any job: its font is found, its options fit together."""
    figure_style = FigureStyle.from_config(entry)
    font_family(figure_style)
    if figure_style.confidence_bands and "eps" in figure_style.formats:
        raise FigureStyleError(
            "config key 'figure_style.confidence_bands': the bands are translucent, and EPS cannot hold "
            "transparency (PostScript draws them opaque, over the other group's band); drop eps from "
            "figure_style.formats (PDF keeps the figure as vectors) or set confidence_bands: false")
    return figure_style
