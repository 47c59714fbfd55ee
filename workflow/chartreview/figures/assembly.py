"""Multi-panel publication figures from the config's `figures:` entries.

Each figure is one matplotlib Figure of a journal width (single 85 mm, double 180 mm, or a width in
mm) and the configured height. Its layout is rows of panel names; each row is split into equal cells, each cell a
SubFigure into which the panel's own drawing function (figures.PANEL_DRAWINGS) draws again from the same
inputs, so a panel looks the same alone and assembled. Panels are lettered A, B, ... row by row,
left to right, in bold at the top left corner of their cell (a one-panel figure has no letter).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from chartreview.core.catalog import FIGURE_FORMATS, PANEL_INPUTS
from chartreview.figures import style
from chartreview.figures.panels import (
    FigureInputError,
    check_panels,
    draw_panel,
    load_inputs,
    save_panel,
)


def panel_letters(layout: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """(letter, panel) in reading order: rows top to bottom, panels left to right."""
    panels = [panel for row in layout for panel in row]
    if len(panels) > len(string.ascii_uppercase):
        raise FigureInputError(f"a figure holds at most 26 panels, this layout has {len(panels)}")
    return list(zip(string.ascii_uppercase, panels))


def layout_inputs(layout: Sequence[Sequence[str]]) -> list[str]:
    """Names of the inputs the layout's panels read (keys of PANEL_INPUTS values), in order."""
    panels = [panel for _, panel in panel_letters(layout)]
    check_panels(panels, " in the figure layout")
    names: list[str] = []
    for panel in panels:
        names += [name for name in PANEL_INPUTS[panel] if name not in names]
    return names


def build_figure(layout: Sequence[Sequence[str]], data: Mapping, groups: Sequence[str], *,
                 width: str | float = "double", height_mm: float = 150.0) -> Figure:
    """The assembled figure (call inside style.context()): one SubFigure per panel, lettered."""
    layout_inputs(layout)  # unknown panels fail before any drawing
    fig = style.new_figure(width, height_mm)
    rows = fig.subfigures(len(layout), 1, squeeze=False)[:, 0]
    letters_of_layout = panel_letters(layout)
    letters = iter(letters_of_layout)
    for row_fig, row in zip(rows, layout):
        cells = row_fig.subfigures(1, len(row), squeeze=False)[0]
        for cell in cells:
            letter, panel = next(letters)
            draw_panel(panel, cell, cell.add_gridspec(1, 1)[0], data, groups)
            if len(letters_of_layout) > 1:  # a one-panel figure is not lettered
                # suptitle, not free text: the constrained layout keeps room for it above the panel
                cell.suptitle(letter, x=0.0, ha="left", fontsize=style.PANEL_LETTER_PT,
                              fontweight="bold")
    style.place_legends(fig)
    return fig


def assemble_figure(layout: Sequence[Sequence[str]], *, inputs: Mapping[str, str | Path],
                    outputs: Mapping[str, str | Path], groups: Sequence[str],
                    width: str | float = "double", height_mm: float = 150.0, title: str | None = None,
                    figure_style: Mapping | None = None) -> None:
    """Write results/figures/<figure>.<format> (each format of `outputs`) for one `figures:` entry of the
    config, in the config's figure_style (the defaults when None)."""
    data = load_inputs({name: inputs[name] for name in layout_inputs(layout) if name in inputs})
    save_assembled(layout, data, outputs, groups, width=width, height_mm=height_mm, title=title,
                   figure_style=figure_style)


def save_assembled(layout: Sequence[Sequence[str]], data: Mapping, outputs: Mapping[str, str | Path],
                   groups: Sequence[str], *, width: str | float = "double", height_mm: float = 150.0,
                   title: str | None = None, figure_style: Mapping | None = None) -> None:
    """assemble_figure from inputs already read (load_inputs)."""
    missing = [name for name in layout_inputs(layout) if name not in data]
    if missing:
        raise FigureInputError(f"the figure's panels need the inputs {missing}, which were not given")
    with style.context(figure_style):
        fig = build_figure(layout, data, groups, width=width, height_mm=height_mm)
        style.save_figure(fig, outputs, title=title)


def panel_files(outputs: Mapping[str, str | Path], panel: str) -> dict[str, str | Path]:
    """A panel's files among a rule's named outputs <panel>_<format>, by format, in the outputs' order."""
    return {name[len(panel) + 1:]: path for name, path in outputs.items()
            if name.startswith(f"{panel}_") and name[len(panel) + 1:] in FIGURE_FORMATS}


def run_figure(inputs: Mapping[str, str | Path], outputs: Mapping[str, str | Path], *, panels: Sequence[str],
               groups: Sequence[str], figure: Mapping | None = None,
               figure_style: Mapping | None = None) -> None:
    """What a rule figure_<figure> runs: the stand-alone ``panels`` (the outputs named <panel>_<format>) and
    one `figures:` entry of the config (``figure``) assembled (the outputs named <format>), in the formats of
    the config's figure_style, from the named inputs their panels read, each read once. Rule
    panels_without_figure runs it with no figure."""
    check_panels(panels)
    data = load_inputs(inputs)
    for panel in panels:
        save_panel(panel, data, panel_files(outputs, panel), list(groups), figure_style)
    if figure is not None:
        save_assembled(figure["layout"], data, {ext: path for ext, path in outputs.items() if ext in FIGURE_FORMATS},
                       list(groups), width=figure["width"], height_mm=figure["height_mm"],
                       title=figure["title"], figure_style=figure_style)
