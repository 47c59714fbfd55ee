"""Publication figure panels, drawn from the endpoint results (results/endpoints/*.json), the derived
patients (swimmer) and the patient flow (results/derived/flow.json).

Every panel is one function `draw_<panel>(fig, spec, data, groups) -> Axes`: it draws into the
SubplotSpec `spec` of `fig` (a Figure or SubFigure holding only this panel, so that the same function
makes the stand-alone panel and its place in an assembled figure, see figure_assembly.py) and returns
the panel's main Axes. `data` maps input names (catalog.PANEL_INPUTS) to the loaded JSON dicts and DataFrames;
`groups` are the config's group labels, reference first, which fix order and colour everywhere.

Numbers are read, never computed here, except what a plot needs from a curve (numbers at risk at
the axis ticks, read from the curve's n_risk as R's survminer does).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.gridspec import SubplotSpec
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from chartreview.core import rounding
from chartreview.core.catalog import METASTATIC_COMPOSITES, METASTATIC_SITES, PROGRESSION_PATTERNS
from chartreview.core.errors import InputError
from chartreview.core.rounding import round_half_up
from chartreview.figures import style

if TYPE_CHECKING:
    import pandas as pd

SWIMMER_COLUMNS = ["group", "criz_months", "criz_ongoing", "response_onset_months",
                   "progression_months", "treatment_beyond_progression", "death_months",
                   "followup_months"]
# Above this many patients the swimmer shows a systematic sample (documented on the plot), because
# one row per patient stops being readable; the sample is deterministic.
SWIMMER_MAX_PATIENTS = 100
# The columns read from each derived table a panel reads (a million rows stay small).
TUMOR_SIZE_COLUMNS = ["record_id", "group", "best_overall_response", "months", "change_percent", "baseline",
                      "best"]
PARQUET_COLUMNS = {"patients": SWIMMER_COLUMNS, "tumor_size_course": TUMOR_SIZE_COLUMNS}
# Above this many patients the waterfall and the spider show a systematic sample, as the swimmer does.
TUMOR_SIZE_MAX_PATIENTS = 200
# Best overall response colours of the waterfall and the spider (Okabe-Ito).
RESPONSE_COLORS = {"CR": "#009E73", "PR": "#56B4E9", "SD": "#E69F00", "PD": "#D55E00", "NE": "#999999"}
TIME_LABEL = "Months since crizotinib start"
# Where a curve panel's legend may go, in order of preference (survival curves fall from the upper
# left, incidence curves rise from the lower left).
KM_LEGEND_PLACES = ("upper right", "lower left", "lower right", "center right", "lower center",
                    "upper center")
KM_STATS_PLACES = ("lower left", "upper right", "lower right", "center right", "lower center",
                   "upper center")
CIF_LEGEND_PLACES = ("upper left", "upper center", "upper right", "center left", "lower right",
                     "center right")

SUBGROUP_LABELS = {
    "sex": "Sex", "age_lt_65": "Age", "ecog": "ECOG PS", "ecog_2plus": "ECOG PS", "line": "Line",
    "brain_metastases": "Brain metastases",
}
BOOLEAN_LEVELS = {
    "age_lt_65": ("< 65 years", "\u2265 65 years"),
    "ecog_2plus": ("2+", "0\u20131"),
}


class FigureInputError(InputError):
    """An input file of a figure is missing, unreadable or lacks a value the figure needs."""


# ----------------------------------------------------------------------------------------- inputs

def load_inputs(paths: Mapping[str, str | Path]) -> dict[str, Any]:
    """Read each named input: JSON files as dicts, the derived patients (parquet) as a DataFrame of
    the swimmer's columns only (a million rows stay small)."""
    data: dict[str, Any] = {}
    for name, path in paths.items():
        path = Path(path)
        try:
            if path.suffix == ".parquet":
                import pandas as pd  # most panels read JSON only; pandas costs half a second of start-up

                data[name] = pd.read_parquet(path, columns=PARQUET_COLUMNS.get(name, SWIMMER_COLUMNS))
            else:
                data[name] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FigureInputError(f"{path}: the file does not exist (input {name!r})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise FigureInputError(f"{path}: not valid JSON ({error})") from None
        except (KeyError, ValueError) as error:  # pyarrow: a requested column is missing
            raise FigureInputError(f"{path}: cannot read the columns "
                                   f"{PARQUET_COLUMNS.get(name, SWIMMER_COLUMNS)} ({error})") from None
        if isinstance(data[name], dict):
            data[name]["_source"] = str(path)
    return data


def _get(obj: Mapping, *keys: str, source: str | None = None):
    """obj[k1][k2]..., with an error naming the file and the missing key."""
    source = source or (obj.get("_source", "input") if isinstance(obj, Mapping) else "input")
    value = obj
    for i, key in enumerate(keys):
        if not isinstance(value, Mapping) or key not in value:
            raise FigureInputError(f"{source}: missing key {'.'.join(keys[: i + 1])!r}")
        value = value[key]
    return value


def _array(values) -> np.ndarray:
    """A JSON list of numbers (null -> NaN) as float array."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _curve(result: Mapping, group: str, key: str, fields: Sequence[str]) -> dict[str, np.ndarray]:
    curve = _get(result, "groups", group, key)
    out = {f: _array(_get(curve, f, source=f"{result.get('_source')}: groups.{group}.{key}"))
           for f in fields}
    lengths = {len(v) for v in out.values()}
    if len(lengths) != 1:
        raise FigureInputError(f"{result.get('_source')}: groups.{group}.{key} has lists of "
                               f"different lengths ({sorted(lengths)})")
    return out


# ------------------------------------------------------------------------------------- formatting

def format_p(p: float | None) -> str:
    """The shared P text with the figure's prefix: 'P = 0.232', 'P < 0.001', 'P = –' (no test)."""
    text = rounding.format_p(p)
    return f"P < {text[1:]}" if text.startswith("<") else f"P = {text}"


def format_p_column(p: float | None) -> str:
    """A P value in a panel's P column, headed 'P': '0.232', '< 0.001', '–'."""
    return format_p(p).removeprefix("P = ").removeprefix("P ")


def format_ratio(estimate: float | None, ci: Sequence[float | None] | None) -> str:
    """'1.25 (0.76\u20132.07)'; NE where the model gives no estimate."""
    if estimate is None or not math.isfinite(estimate):
        return "NE"
    lo, hi = (list(ci) + [None, None])[:2] if ci else (None, None)

    def fmt(v):
        return "NE" if v is None or not math.isfinite(v) else round_half_up(v, 2)

    return f"{round_half_up(estimate, 2)} ({fmt(lo)}\u2013{fmt(hi)})"


def format_months(value: float | None) -> str:
    return "NR" if value is None or not math.isfinite(value) else round_half_up(value, 1)


def format_count(n: int) -> str:
    """Numbers at risk: exact below 10,000, then compact (12k, 1.0M) so they fit under a tick."""
    if n < 10_000:
        return str(int(n))
    return f"{n / 1e3:.0f}k" if n < 999_500 else f"{n / 1e6:.1f}M"


def time_ticks(max_time: float, max_intervals: int = 8) -> np.ndarray:
    """Ticks 0, s, 2s, ... covering max_time, with s a round number of months."""
    for step in (1, 2, 3, 6, 12, 24, 36, 48, 60, 120, 240, 480):
        if max_time / step <= max_intervals:
            break
    end = step * max(1, math.ceil(max_time / step - 1e-9))
    return np.arange(0, end + step / 2, step, dtype=float)


def numbers_at_risk(time: np.ndarray, n_risk: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """Patients at risk at each tick: n_risk of the first curve time >= tick (0 past the last)."""
    index = np.searchsorted(time, ticks, side="left")
    padded = np.append(n_risk, 0)
    return padded[index].astype(int)


def cumulative_before(time: np.ndarray, counts: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """Counts (events, censorings) summed over the curve times before each tick: with numbers_at_risk,
    at risk + events + censored = patients at every tick, as in a KMunicate table (Morris et al., BMJ Open
    2019;9:e030215)."""
    index = np.searchsorted(time, ticks, side="left")
    return np.concatenate([[0.0], np.cumsum(counts)])[index].astype(int)


def _time_axis(ax: Axes, ticks: np.ndarray, left_margin: float = 0.04) -> None:
    """Month ticks; a little room left of 0 so that centred numbers at risk clear the group names."""
    span = ticks[-1]
    ax.set_xticks(ticks)
    ax.set_xlim(-left_margin * span, span * 1.02)
    ax.spines["bottom"].set_bounds(0, span)


# ------------------------------------------------------------------------------- survival panels

# Rows of a KMunicate-style risk table (figure_style.risk_table: at_risk_events_censored) after "At risk":
# the cumulative counts of the curve's (or the at_risk block's) count lists.
KMUNICATE_ROWS = {"n_event": "Events", "n_competing": "Competing events", "n_censor": "Censored"}
BAND_ALPHA = 0.18  # a translucent band: both groups' bands show where they overlap
TABLE_ROW_MM = 2.8


def risk_table_rows(curve: Mapping[str, np.ndarray], ticks: np.ndarray,
                    counts: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """One group's rows under a curve: the numbers at risk, and with figure_style.risk_table
    at_risk_events_censored the cumulative count of each of `counts` (keys of KMUNICATE_ROWS)."""
    rows = [("At risk", numbers_at_risk(curve["time"], curve["n_risk"], ticks))]
    if style.current().risk_table == "at_risk_events_censored":
        rows += [(KMUNICATE_ROWS[key], cumulative_before(curve["time"], curve[key], ticks)) for key in counts]
    return rows


def risk_table_fields(counts: Sequence[str]) -> tuple[str, ...]:
    """The lists a risk table reads from a curve (n_risk, and the counts of a KMunicate table)."""
    kmunicate = style.current().risk_table == "at_risk_events_censored"
    return ("time", "n_risk", *(counts if kmunicate else ()))


def _with_risk_table(fig, spec: SubplotSpec, n_rows: int, n_groups: int) -> tuple[Axes, Axes]:
    """The plot and, under it on the same time axis, a risk table of n_rows rows: a share of the panel
    for one row per group, else TABLE_ROW_MM per row (6 pt digits clear of each other) and the rest
    for the plot, less its axis labels."""
    ratios = [4.0, 0.45 + 0.3 * n_rows]
    if n_rows > n_groups:
        panel_mm = fig.bbox.height / fig.dpi * style.MM_PER_INCH  # fig holds only this panel
        table_mm = TABLE_ROW_MM * (n_rows + 0.5)
        ratios = [max(panel_mm - table_mm - 16.0, 15.0), table_mm]
    sub = spec.subgridspec(2, 1, height_ratios=ratios)
    ax = fig.add_subplot(sub[0])
    return ax, fig.add_subplot(sub[1], sharex=ax)


def _table_rows(rows: Mapping[str, Sequence], groups: Sequence[str]) -> int:
    """Lines the table takes: one per group (numbers at risk), or a group's name above its rows."""
    return sum(len(rows[g]) + (len(rows[g]) > 1) for g in groups)


def _risk_table(table: Axes, rows: Mapping[str, Sequence[tuple[str, np.ndarray]]], ticks: np.ndarray,
                groups: Sequence[str]) -> None:
    """The counts under the plot at each tick, as survminer: one row per group named in its colour
    (numbers at risk), or per group its name in its colour above one row per count (KMunicate)."""
    colors = style.group_colors(groups)
    labels, label_colors, weights, y = [], [], [], 0
    for g in groups:
        if len(rows[g]) > 1:
            labels.append(g), label_colors.append(colors[g]), weights.append("bold")
            y += 1
        for name, values in rows[g]:
            for x, n in zip(ticks, values):
                table.text(x, y, format_count(n), ha="center", va="center", fontsize=style.SMALL_PT)
            single = len(rows[g]) == 1
            labels.append(g if single else name)
            label_colors.append(colors[g] if single else style.TEXT_COLOR)
            weights.append("normal")
            y += 1
    table.set_ylim(y - 0.5, -0.5)
    table.set_yticks(range(y), labels, fontsize=style.FONT_PT if y == len(groups) else style.SMALL_PT)
    for label, color, weight in zip(table.get_yticklabels(), label_colors, weights):
        label.set_color(color)
        label.set_fontweight(weight)
    table.tick_params(axis="y", length=0, pad=6)
    table.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("left", "bottom", "top", "right"):
        table.spines[side].set_visible(False)
    if y == len(groups):  # the KMunicate rows say what they count
        table.set_title("Number at risk", loc="left", fontsize=style.FONT_PT, pad=2)


def _draw_curve(ax: Axes, curve: Mapping[str, np.ndarray], key: str, start: float, color: str,
                band: bool = False, **line) -> Line2D:
    """A step curve (percent) from (0, start), and under it, when `band`, its confidence band from the
    curve's lower and upper limits (read from the endpoint result, never computed here)."""
    time = np.concatenate([[0.0], curve["time"]])
    if band:
        lower, upper = (100 * np.concatenate([[start], curve[k]]) for k in ("lower", "upper"))
        ax.fill_between(time, lower, upper, step="post", color=color, alpha=BAND_ALPHA, linewidth=0,
                        zorder=1)
    (drawn,) = ax.step(time, 100 * np.concatenate([[start], curve[key]]), where="post", color=color,
                       lw=style.LINE_WIDTH, **line)
    return drawn


def _band_handle(conf: int) -> tuple[Patch, str]:
    return Patch(facecolor=style.NEUTRAL_COLOR, alpha=2 * BAND_ALPHA, linewidth=0), f"{conf}% confidence band"


def draw_km(fig: Figure | SubFigure, spec: SubplotSpec, data: Mapping, groups: Sequence[str],
            *, endpoint: str, ylabel: str, xlabel: str = TIME_LABEL) -> Axes:
    """Kaplan-Meier curves per group with censor marks (|), median lines, the numbers at risk under
    the x-axis at every tick (as survminer's risk table; with figure_style.risk_table
    at_risk_events_censored also the cumulative events and censored, KMunicate), the medians, the Cox HR
    and the log-rank P; with figure_style.confidence_bands the pointwise bands (curve.lower, curve.upper).
    A result that is not available (an export without the endpoint's field) is an empty panel saying so."""
    result = data[endpoint]
    if result.get("available") is False:
        ax = fig.add_subplot(spec)
        ax.set_axis_off()
        ax.text(0.5, 0.5, str(result.get("reason", "not available")), ha="center", va="center", wrap=True,
                transform=ax.transAxes)
        return ax
    colors = style.group_colors(groups)
    bands = style.current().confidence_bands
    counts = ("n_event", "n_censor")
    fields = {"survival", "n_censor", *risk_table_fields(counts), *(("lower", "upper") if bands else ())}
    curves = {g: _curve(result, g, "curve", sorted(fields)) for g in groups}
    max_time = max((c["time"].max() for c in curves.values() if c["time"].size), default=1.0)
    ticks = time_ticks(max_time)
    rows = {g: risk_table_rows(curves[g], ticks, counts) for g in groups}
    ax, table = _with_risk_table(fig, spec, _table_rows(rows, groups), len(groups))
    handles, labels = [], []
    for g in groups:
        c = curves[g]
        line = _draw_curve(ax, c, "survival", 1.0, colors[g], bands, solid_joinstyle="miter")
        censored = c["n_censor"] > 0
        ax.plot(c["time"][censored], 100 * c["survival"][censored], ls="none", marker="|",
                ms=3.5, mew=style.THIN_LINE_WIDTH, color=colors[g])
        median = _get(result, "groups", g).get("median")
        if median is not None:
            ax.plot([0, median, median], [50, 50, 0], ls=(0, (2, 2)), lw=style.THIN_LINE_WIDTH,
                    color=colors[g])
        ci = _get(result, "groups", g).get("median_ci") or [None, None]
        handles.append(line)
        interval = (f" ({format_months(ci[0])}\u2013{format_months(ci[1])})"
                    if median is not None or ci[0] is not None else "")
        labels.append(f"{g}  {format_months(median)}{interval}")
    conf = int(round(100 * float(result.get("conf_level", 0.95))))
    if bands:
        handle, label = _band_handle(conf)
        handles.append(handle), labels.append(label)
    style.legend_box(ax, handles, labels, KM_LEGEND_PLACES, title=f"Median, months ({conf}% CI)",
                alignment="left")
    stats = []
    cox = result.get("cox") or {}
    if cox.get("hr") is not None:
        # two short lines rather than one long one: a narrow box finds room beside the curves
        stats += [f"HR ({cox.get('contrast') or ' vs '.join(groups[1::-1])})",
                  f"{format_ratio(cox['hr'], cox.get('hr_ci'))}"]
    stats.append(f"Log-rank {format_p(_get(result, 'logrank').get('p'))}")
    style.text_box(ax, stats, KM_STATS_PLACES)

    ax.set_ylim(0, 103)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.spines["left"].set_bounds(0, 100)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    _time_axis(ax, ticks)

    _risk_table(table, rows, ticks, groups)
    return ax


def draw_km_pfs(fig, spec, data, groups) -> Axes:
    return draw_km(fig, spec, data, groups, endpoint="pfs", ylabel="Progression-free survival (%)")


def draw_km_os(fig, spec, data, groups) -> Axes:
    return draw_km(fig, spec, data, groups, endpoint="os", ylabel="Overall survival (%)")


def draw_km_dor(fig, spec, data, groups) -> Axes:
    return draw_km(fig, spec, data, groups, endpoint="dor", ylabel="Still responding (%)",
                   xlabel="Months since response onset")


def draw_km_ttd(fig, spec, data, groups) -> Axes:
    return draw_km(fig, spec, data, groups, endpoint="ttd", ylabel="On crizotinib (%)")


def draw_km_ttnt(fig, spec, data, groups) -> Axes:
    return draw_km(fig, spec, data, groups, endpoint="ttnt", ylabel="Alive without next treatment (%)")


def draw_cif_cns(fig, spec, data, groups) -> Axes:
    """Aalen-Johansen cumulative incidence of CNS progression per group (solid) with the competing
    death curves (dashed), and Gray's test P. The numbers at risk are drawn when cns.json gives them
    (groups.<label>.at_risk = {"time", "n_risk"} over every distinct time, censored included, and for a
    KMunicate table n_event, n_competing and n_censor at those times): the curves list only their own
    event times, from which the numbers at risk cannot be read. With figure_style.confidence_bands, the
    CNS curves' pointwise bands (curve.lower, curve.upper)."""
    result = data["cns"]
    colors = style.group_colors(groups)
    bands = style.current().confidence_bands
    counts = ("n_event", "n_competing", "n_censor")
    with_risk = all("at_risk" in _get(result, "groups", g) for g in groups)
    max_time, top = 1.0, 0.0
    curves = {}
    for g in groups:
        for key in ("curve", "competing_curve"):
            fields = ("time", "cif", *(("lower", "upper") if bands and key == "curve" else ()))
            c = curves[g, key] = _curve(result, g, key, fields)
            if c["time"].size:
                max_time = max(max_time, float(np.nanmax(c["time"])))
                top = max(top, 100 * float(np.nanmax(c["cif"])),
                          100 * float(np.nanmax(c.get("upper", [0.0]), initial=0.0)))
    ticks = time_ticks(max_time)
    rows = ({g: risk_table_rows(_curve(result, g, "at_risk", risk_table_fields(counts)), ticks, counts)
             for g in groups} if with_risk else None)
    ax, table = (_with_risk_table(fig, spec, _table_rows(rows, groups), len(groups)) if with_risk
                 else (fig.add_subplot(spec), None))
    handles, labels = [], []
    for g in groups:
        for key, dashes in (("curve", "solid"), ("competing_curve", (0, (3, 1.5)))):
            line = _draw_curve(ax, curves[g, key], "cif", 0.0, colors[g], bands and key == "curve", ls=dashes)
            if key == "curve":
                handles.append(line)
                labels.append(f"{g}")
    # two columns (groups | events), the band and the test apart: small boxes find room beside the curves
    handles += [Line2D([], [], color="black", lw=style.LINE_WIDTH),
                Line2D([], [], color="black", lw=style.LINE_WIDTH, ls=(0, (3, 1.5)))]
    labels += ["CNS progression", "Death without CNS progression"]
    style.legend_box(ax, handles, labels, CIF_LEGEND_PLACES, ncol=2 if len(groups) == 2 else 1,
                     columnspacing=1.0)  # filled by column: groups, then events
    if bands:
        handle, label = _band_handle(int(round(100 * float(result.get("conf_level", 0.95)))))
        style.legend_box(ax, [handle], [label], CIF_LEGEND_PLACES)
    style.text_box(ax, [f"Gray's test {format_p(_get(result, 'gray').get('p'))}"], CIF_LEGEND_PLACES)
    _time_axis(ax, ticks)
    if table is not None:
        _risk_table(table, rows, ticks, groups)
    ceiling = next(c for c in (25, 50, 100) if top <= 0.9 * c or c == 100)  # room above the curves
    ax.set_ylim(0, ceiling * 1.03)
    ax.set_yticks(np.linspace(0, ceiling, 5))
    ax.spines["left"].set_bounds(0, ceiling)
    ax.set_ylabel("Cumulative incidence (%)")
    ax.set_xlabel(TIME_LABEL)
    return ax


# -------------------------------------------------------------------------------- cohort panels

def _proportion(entry: Mapping, group: str, source: str) -> float:
    value = _get(entry, group, source=source)
    percent = value.get("percent")
    if percent is None:
        n, count = value.get("n"), value.get("count")
        percent = 100.0 * count / n if n else np.nan
    return float(percent)


def draw_metastases(fig, spec, data, groups) -> Axes:
    """Baseline metastatic sites: percent of patients per group (horizontal bars) and the P of the
    comparison per site (test named in metastases.json)."""
    result = data["metastases"]
    sites = _get(result, "sites")
    source = result.get("_source", "metastases.json")
    keys = [k for k in list(METASTATIC_SITES) + list(METASTATIC_COMPOSITES) if k in sites]
    labels = {**METASTATIC_SITES, **METASTATIC_COMPOSITES}
    colors = style.group_colors(groups)
    ax = fig.add_subplot(spec)
    y = np.arange(len(keys), dtype=float)
    # composites sit below a rule, a little apart
    y[[i for i, k in enumerate(keys) if k in METASTATIC_COMPOSITES]] += 0.5
    height = 0.8 / len(groups)
    for i, g in enumerate(groups):
        percent = [_proportion(sites[k], g, f"{source}: sites.{k}") for k in keys]
        n = _get(sites[keys[0]], g, source=source).get("n")
        ax.barh(y - 0.4 + height * (i + 0.5), percent, height=height, color=colors[g],
                label=f"{g} (n = {n})", linewidth=0)
    # a long label (a composite's) takes two lines rather than narrowing the bars under the legend
    ax.set_yticks(y, [textwrap.fill(labels[k], 20) for k in keys])
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(y[-1] + 0.6, -0.6)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("Patients with metastases at the site (%)")
    ax.spines["left"].set_visible(False)
    if any(k in METASTATIC_COMPOSITES for k in keys):
        split = min(y[i] for i, k in enumerate(keys) if k in METASTATIC_COMPOSITES) - 0.75
        ax.axhline(split, color=style.NEUTRAL_COLOR, lw=style.THIN_LINE_WIDTH)
    p_column = blended_transform_factory(ax.transAxes, ax.transData)
    for k, yk in zip(keys, y):
        p = sites[k].get("p")
        ax.text(1.03, yk, format_p_column(p), transform=p_column,
                ha="left", va="center", fontsize=style.SMALL_PT)
    ax.text(1.03, -0.6, "P", transform=p_column, ha="left", va="bottom", fontsize=style.SMALL_PT,
            fontweight="bold")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(groups), handlelength=1.0,
              borderaxespad=0.2, columnspacing=1.2)
    return ax


PATTERN_STACKS = {
    "Site at first progression": [
        ("intrathoracic_only", PROGRESSION_PATTERNS["intrathoracic_only"], style.CATEGORY_COLORS[0],
         "intrathoracic_only"),
        ("extrathoracic_no_cns", "Extrathoracic, no CNS", style.CATEGORY_COLORS[1], None),
        ("cns", PROGRESSION_PATTERNS["cns"], style.CATEGORY_COLORS[2], "cns"),
        ("unknown", PROGRESSION_PATTERNS["unknown"], style.NEUTRAL_COLOR, None),
    ],
    "Lesion type": [
        ("new_lesion", PROGRESSION_PATTERNS["new_lesion"], style.CATEGORY_COLORS[3], "new_lesion"),
        ("existing_only", PROGRESSION_PATTERNS["existing_only"], style.CATEGORY_COLORS[4], "existing_only"),
        ("unknown", PROGRESSION_PATTERNS["unknown"], style.NEUTRAL_COLOR, None),
    ],
}


def draw_patterns(fig, spec, data, groups) -> Axes:
    """Progression patterns at first progression: stacked percent bars per group among the patients
    whose PFS event is radiological progression; the P of each category's comparison in the legend."""
    result = data["progression"]
    source = result.get("_source", "progression.json")
    patterns = _get(result, "patterns")
    counts: dict[str, dict[str, float]] = {}
    n: dict[str, int] = {}
    for g in groups:
        n[g] = int(_get(result, "progressed", g))
        counts[g] = {k: float(_get(patterns, k, g, "count", source=source))
                     for k in ("intrathoracic_only", "extrathoracic", "cns", "new_lesion",
                               "existing_only", "unknown")}
        counts[g]["extrathoracic_no_cns"] = counts[g]["extrathoracic"] - counts[g]["cns"]
    sub = spec.subgridspec(1, len(PATTERN_STACKS), wspace=0.05)
    first = None
    x = np.arange(len(groups), dtype=float)
    for column, (title, stack) in enumerate(PATTERN_STACKS.items()):
        ax = fig.add_subplot(sub[column], sharey=first)
        first = first or ax
        bottom = np.zeros(len(groups))
        handles, labels = [], []
        for key, label, color, p_key in stack:
            percent = np.array([100 * counts[g][key] / n[g] if n[g] else 0.0 for g in groups])
            bars = ax.bar(x, percent, bottom=bottom, width=0.62, color=color, linewidth=0)
            for xi, b, h in zip(x, bottom, percent):
                if h >= 7:
                    ax.text(xi, b + h / 2, round_half_up(h, 0), ha="center", va="center", fontsize=style.SMALL_PT)
            bottom += percent
            if key == "unknown" and not any(counts[g]["unknown"] for g in groups):
                continue  # no empty legend entry
            handles.append(bars)
            labels.append(label + (f", {format_p(patterns[p_key].get('p'))}" if p_key else ""))
        ax.set_xticks(x, [f"{g}\nn = {n[g]}" for g in groups])
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.tick_params(axis="x", length=0)
        ax.set_title(title, fontsize=style.FONT_PT, pad=4)
        ax.set_ylim(0, 100)
        ax.set_yticks([0, 25, 50, 75, 100])
        if column == 0:
            ax.set_ylabel("Patients with progression (%)")
        else:
            ax.tick_params(axis="y", labelleft=False)
        below = ax.transAxes + ScaledTranslation(0, -20 / 72, fig.dpi_scale_trans)
        ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(-0.1, 0),
                  bbox_transform=below, handlelength=1.0, fontsize=style.SMALL_PT)
    return first


def draw_flow(fig, spec, data, groups) -> Axes:
    """Patient flow (CONSORT style): records exported, records excluded with their reasons,
    patients analysed, and per group (from results/derived/flow.json)."""
    flow = data["flow"]
    source = flow.get("_source", "flow.json")
    exported = int(_get(flow, "records_exported"))
    excluded = _get(flow, "excluded")
    analysed = _get(flow, "analysed")
    colors = style.group_colors(groups)
    ax = fig.add_subplot(spec)
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    box = dict(boxstyle="square,pad=0.6", facecolor="white", edgecolor="black",
               linewidth=style.THIN_LINE_WIDTH)
    line = dict(color="black", lw=style.THIN_LINE_WIDTH)
    arrow = dict(arrowstyle="-|>", shrinkA=0, shrinkB=4.5, mutation_scale=6, **line)
    stages = _flow_stages(flow, groups, source)
    # the stages per group under the group boxes take the bottom fifth of the panel
    main_x, excluded_y, split_y = 0.4, 0.67, (0.33 if stages else 0.25)
    top = ax.text(main_x, 0.92, f"Records exported\nn = {exported:,}", ha="center", va="center", bbox=box)
    n_excluded = sum(int(_get(e, "n", source=source)) for e in excluded)
    reasons = "\n".join(textwrap.fill(f"\u2022 {_get(e, 'reason', source=source)} (n = {int(e['n']):,})",
                                      28, subsequent_indent="   ") for e in excluded)
    excl = ax.text(main_x + 0.1, excluded_y,
                   f"Excluded (n = {n_excluded:,})" + (f"\n{reasons}" if reasons else ""),
                   ha="left", va="center", bbox=box, fontsize=style.SMALL_PT, linespacing=1.3)
    total = sum(int(_get(analysed, g, source=source)) for g in groups)
    middle = ax.text(main_x, 0.45, f"Analysed\nn = {total:,}", ha="center", va="center", bbox=box)
    ax.annotate("", xy=(0.5, 1), xycoords=middle, xytext=(0.5, 0), textcoords=top,
                arrowprops=dict(arrow, shrinkA=4.5))
    ax.annotate("", xy=(0, 0.5), xycoords=excl, xytext=(main_x, excluded_y), textcoords="data",
                arrowprops=arrow)
    centres = [(i + 0.5) / len(groups) for i in range(len(groups))]
    ax.annotate("", xy=(main_x, split_y), xycoords="data", xytext=(0.5, 0), textcoords=middle,
                arrowprops=dict(arrowstyle="-", shrinkA=4.5, shrinkB=0, **line))
    ax.plot([min(centres + [main_x]), max(centres + [main_x])], [split_y, split_y], **line)
    group_y = 0.08 if not stages else 0.21
    for gx, g in zip(centres, groups):
        group_box = dict(box, edgecolor=colors[g], linewidth=style.LINE_WIDTH * 1.2)
        cell = ax.text(gx, group_y, f"{g}\nn = {int(analysed[g]):,}", ha="center", va="center",
                       bbox=group_box)
        ax.annotate("", xy=(0.5, 1), xycoords=cell, xytext=(gx, split_y), textcoords="data",
                    arrowprops=arrow)
        if stages:
            lines = [f"{label}: {value}" for label, value in ((lbl, per_group[g]) for lbl, per_group in stages)]
            ax.text(gx, group_y - 0.07, "\n".join(lines), ha="center", va="top", fontsize=style.SMALL_PT,
                    linespacing=1.3)
    return ax


# The flow's stages after the analysed patients (keys of flow.json), in words.
FLOW_STAGES = (("response_evaluable", "Evaluable for response"), ("measurable_disease", "Measurable disease"),
               ("tumor_size", "Tumour size change"))


def _flow_stages(flow: Mapping, groups: Sequence[str], source: str) -> list[tuple[str, dict]]:
    """(label, {group: 'n' or 'not available'}) of each stage flow.json holds (none in an older flow)."""
    stages = []
    for key, label in FLOW_STAGES:
        if key not in flow:
            continue
        values = flow[key]
        stages.append((label, {g: "not available" if values is None else
                               f"{int(_get(values, g, source=source)):,}" for g in groups}))
    return stages


# ------------------------------------------------------------------------------------ forest plot

def _level_label(variable: str, level: Any) -> str:
    """A subgroup level as a reader expects it: '>=65' -> '≥ 65 years', 'yes' -> 'Yes', '0-1' -> '0–1'."""
    text = str(level).strip()
    lower = text.lower()
    boolean = lower in ("true", "false", "yes", "no") or (variable in BOOLEAN_LEVELS and lower in ("1", "0"))
    if boolean:
        yes, no = BOOLEAN_LEVELS.get(variable, ("Yes", "No"))
        return yes if lower in ("true", "yes", "1") else no
    match = re.fullmatch(r"(<=|>=|<|>)\s*(\d+(?:\.\d+)?)", text)
    if match:
        sign = {"<=": "\u2264", ">=": "\u2265"}.get(match.group(1), match.group(1))
        unit = " years" if variable.startswith("age") else ""
        return f"{sign} {match.group(2)}{unit}"
    text = re.sub(r"(?<=\d)-(?=\d)", "\u2013", text)
    return text[:1].upper() + text[1:]


def draw_forest(fig, spec, data, groups) -> Axes:
    """Forest plot of the PFS hazard ratio (second group vs reference, Cox) overall and by subgroup,
    with events/patients and the P for interaction of each subgrouping variable."""
    result = data["pfs"]
    source = result.get("_source", "pfs.json")
    cox = _get(result, "cox")
    contrast = cox.get("contrast") or " vs ".join(groups[1::-1])
    rows: list[dict] = [{
        "label": "All patients", "bold": True, "hr": cox.get("hr"), "ci": cox.get("hr_ci"),
        "count": "{}/{}".format(sum(int(_get(result, "groups", g, "events")) for g in groups),
                                sum(int(_get(result, "groups", g, "n")) for g in groups)),
        "p": "", "overall": True,
    }]
    seen: list[str] = []
    for entry in _get(result, "subgroups"):
        variable = _get(entry, "variable", source=source)
        if variable not in seen:
            seen.append(variable)
            p = entry.get("interaction_p")
            label = (SUBGROUP_LABELS.get(variable) or entry.get("label")
                     or variable.replace("_", " ").capitalize())
            rows.append({"label": label, "bold": True, "header": True, "hr": None, "ci": None,
                         "count": "",
                         "p": format_p_column(p)})
        rows.append({"label": "   " + _level_label(variable, entry.get("level")), "bold": False,
                     "hr": entry.get("hr"), "ci": entry.get("hr_ci"),
                     "count": f"{entry.get('events')}/{entry.get('n')}", "p": ""})
    sub = spec.subgridspec(1, 3, width_ratios=[1.25, 1.0, 1.15], wspace=0.0)
    ax = fig.add_subplot(sub[1])
    left = fig.add_subplot(sub[0], sharey=ax)
    right = fig.add_subplot(sub[2], sharey=ax)
    y = np.arange(len(rows), dtype=float)
    values = [v for r in rows if r["hr"] is not None
              for v in [r["hr"], *(r["ci"] or [])] if v is not None and v > 0 and math.isfinite(v)]
    # symmetric log axis (HR 1 in the middle) on a 1-2-5 scale; longer CIs end in an arrow
    wanted = max([2.0] + [max(v, 1 / v) for v in values])
    span = next((s for s in (2.0, 5.0, 10.0) if wanted <= s), 10.0)
    lo, hi = 1 / span, span
    for yi, r in zip(y, rows):
        if r["hr"] is None:
            continue
        ci = [c if c is not None else np.nan for c in (r["ci"] or [np.nan, np.nan])]
        c_lo, c_hi = np.clip(ci[0], lo, hi), np.clip(ci[1], lo, hi)
        if np.isfinite(c_lo) and np.isfinite(c_hi):
            ax.plot([c_lo, c_hi], [yi, yi], color="black", lw=style.THIN_LINE_WIDTH)
            for end, clipped in ((c_lo, ci[0] < lo), (c_hi, ci[1] > hi)):
                if clipped:
                    ax.plot([end], [yi], marker="<" if end == lo else ">", color="black", ms=3)
        ax.plot([np.clip(r["hr"], lo, hi)], [yi], marker="D" if r.get("overall") else "s",
                color="black", ms=4 if r.get("overall") else 3, ls="none")
    ax.axvline(1.0, color=style.NEUTRAL_COLOR, lw=style.THIN_LINE_WIDTH, ls=(0, (2, 2)), zorder=0)
    ax.set_xscale("log")
    ticks = {2.0: [0.5, 1, 2], 5.0: [0.2, 0.5, 1, 2, 5], 10.0: [0.1, 0.3, 1, 3, 10]}[span]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlim(lo, hi)
    ax.set_ylim(len(rows) - 0.5, -1.6)
    reference, other = groups[0], groups[1] if len(groups) > 1 else ""
    ax.set_xlabel(f"HR ({contrast})\n\u2190 favours {other}    favours {reference} \u2192")
    ax.tick_params(axis="y", left=False, labelleft=False)
    ax.spines["left"].set_visible(False)
    for other_ax in (left, right):
        other_ax.set_axis_off()
        other_ax.set_xlim(0, 1)
    header = dict(fontsize=style.SMALL_PT, fontweight="bold", va="center")
    left.text(0, -1, "Subgroup", ha="left", **header)
    left.text(0.97, -1, "Events/n", ha="right", **header)
    right.text(0.05, -1, "HR (95% CI)", ha="left", **header)
    right.text(1.0, -1, "P int.", ha="right", **header)
    for yi, r in zip(y, rows):
        weight = "bold" if r["bold"] else "normal"
        left.text(0, yi, r["label"], ha="left", va="center", fontsize=style.SMALL_PT, fontweight=weight)
        left.text(0.97, yi, r["count"], ha="right", va="center", fontsize=style.SMALL_PT)
        if not r.get("header"):
            right.text(0.05, yi, format_ratio(r["hr"], r["ci"]), ha="left", va="center",
                       fontsize=style.SMALL_PT, fontweight=weight)
        right.text(1.0, yi, r["p"], ha="right", va="center", fontsize=style.SMALL_PT)
    return ax


# ---------------------------------------------------------------------------------- swimmer plot

def swimmer_rows(patients: pd.DataFrame, groups: Sequence[str],
                 max_patients: int = SWIMMER_MAX_PATIENTS) -> tuple[pd.DataFrame, int]:
    """The swimmer's rows: patients sorted by group (config order) then crizotinib duration
    (longest first, ties in file order), and above max_patients a systematic sample of max_patients
    evenly spaced rows of that order (keeps each group's share and the spread of durations).
    Returns (rows with a 1-based anonymous 'index', number of patients before sampling)."""
    import pandas as pd

    df = patients.loc[:, SWIMMER_COLUMNS].copy()
    df["group"] = pd.Categorical(df["group"].astype("string"), categories=list(groups))
    df = df[df["group"].notna() & df["criz_months"].notna()]
    df = df.sort_values(["group", "criz_months"], ascending=[True, False], kind="stable")
    total = len(df)
    if total > max_patients:
        take = np.unique(np.round(np.linspace(0, total - 1, max_patients)).astype(int))
        df = df.iloc[take]
    df = df.reset_index(drop=True)
    df.insert(0, "index", np.arange(1, len(df) + 1))
    return df, total


def draw_swimmer(fig, spec, data, groups) -> Axes:
    """Swimmer plot: crizotinib duration per patient (bar, group colour; lighter after progression
    when treated beyond it), follow-up after crizotinib (grey line), response onset, first
    progression, death, and an arrow for ongoing treatment. Rows carry an anonymous index 1..n,
    never a record identifier."""
    rows, total = swimmer_rows(data["patients"], groups)
    colors = style.group_colors(groups)
    ax = fig.add_subplot(spec)
    y = rows["index"].to_numpy(dtype=float)
    color = rows["group"].map(colors).astype(object).to_numpy()
    criz = rows["criz_months"].to_numpy(dtype=float)
    progression = rows["progression_months"].to_numpy(dtype=float)
    beyond = (rows["treatment_beyond_progression"].fillna(False).to_numpy(dtype=bool)
              & np.isfinite(progression))
    on_treatment = np.where(beyond, np.minimum(progression, criz), criz)
    followup = rows["followup_months"].to_numpy(dtype=float)
    ongoing = rows["criz_ongoing"].fillna(False).to_numpy(dtype=bool)
    max_time = float(np.nanmax(np.concatenate([[1.0], criz, followup])))
    height = 0.72
    after = ~ongoing & (followup > criz)
    ax.hlines(y[after], criz[after], followup[after], color=style.NEUTRAL_COLOR,
              lw=style.THIN_LINE_WIDTH, zorder=1)
    ax.barh(y, on_treatment, height=height, color=color, linewidth=0, zorder=2)
    ax.barh(y[beyond], (criz - on_treatment)[beyond], left=on_treatment[beyond], height=height,
            color=[style.tint(c, 0.4) for c in color[beyond]], linewidth=0, zorder=2)
    marker = dict(ls="none", zorder=3)
    onset = rows["response_onset_months"].to_numpy(dtype=float)
    death = rows["death_months"].to_numpy(dtype=float)
    ax.plot(onset, y, marker="^", ms=3.2, color="black", mew=0, **marker)
    ax.plot(progression, y, marker="D", ms=3.0, mfc="white", mec="black", mew=0.7, **marker)
    ax.plot(death, y, marker="x", ms=3.2, color="black", mew=0.9, **marker)
    ax.plot(criz[ongoing] + 0.012 * max_time, y[ongoing], marker=">", ms=3.2, color="black", mew=0,
            **marker)

    ticks = time_ticks(max_time)
    _time_axis(ax, ticks, left_margin=0.0)
    ax.set_ylim(len(rows) + 0.7, 0.3)
    # one label per row while rows are >= 2.2 mm apart (6 pt digits), else every 2nd, 5th, 10th ... row
    panel_mm = fig.bbox.height / fig.dpi * style.MM_PER_INCH  # fig holds only this panel
    row_mm = 0.8 * panel_mm / max(len(rows), 1)
    step = next((s for s in (1, 2, 5, 10, 20, 50) if s * row_mm >= 2.2), 100)
    labelled = y[(y == 1) | (y % step == 0)] if step > 1 else y
    ax.set_yticks(labelled, [str(int(v)) for v in labelled], fontsize=style.SMALL_PT)
    ax.tick_params(axis="y", length=0, pad=1.5)
    ax.spines["left"].set_visible(False)
    ax.set_ylabel("Patient")
    xlabel = TIME_LABEL
    if total > len(rows):
        xlabel += (f"\nSystematic sample of {len(rows):,} of {total:,} patients "
                   "(evenly spaced after sorting by group and duration)")
    ax.set_xlabel(xlabel)
    handles = [Patch(color=colors[g], label=f"Crizotinib, {g}") for g in groups]
    handles += [
        Patch(facecolor=style.tint(style.NEUTRAL_COLOR, 0.4), label="Beyond progression"),
        Line2D([], [], color=style.NEUTRAL_COLOR, lw=style.THIN_LINE_WIDTH,
               label="Follow-up after crizotinib"),
        Line2D([], [], marker="^", ms=3.2, color="black", ls="none", label="Response (CR/PR)"),
        Line2D([], [], marker="D", ms=3.0, mfc="white", mec="black", ls="none", label="First progression"),
        Line2D([], [], marker="x", ms=3.2, color="black", mew=0.9, ls="none", label="Death"),
        Line2D([], [], marker=">", ms=3.2, color="black", ls="none", label="Ongoing"),
    ]
    panel_width_mm = fig.bbox.width / fig.dpi * style.MM_PER_INCH
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0),
              ncol=4 if panel_width_mm > 140 else 2,
              handlelength=1.4, columnspacing=1.2, borderaxespad=0.3)
    return ax


# ------------------------------------------------------------------------------ tumour size panels

# The last sample _tumor_size_rows took, with the inputs and groups it was taken of (the inputs held, so that
# `is` compares them): a figure's job draws the waterfall and the spider alone and assembled, and at a million
# patients each sample sorts a million best changes (seconds).
_LAST_TUMOR_SIZE_SAMPLE: list = [None]


def _tumor_size_rows(data: Mapping, groups: Sequence[str]) -> tuple[pd.DataFrame, int, str]:
    """The course rows of a systematic sample of at most TUMOR_SIZE_MAX_PATIENTS patients (sorted by best
    change), the number of patients, and the exclusions in words for the caption (taken once per inputs:
    callers do not change the rows)."""
    inputs, groups = (data["tumor_size"], data.get("tumor_size_course")), tuple(groups)
    last = _LAST_TUMOR_SIZE_SAMPLE[0]
    if last is None or last[1] != groups or not all(a is b for a, b in zip(last[0], inputs)):
        last = _LAST_TUMOR_SIZE_SAMPLE[0] = (inputs, groups, _sample_tumor_size(data, groups))
    return last[2]


def _sample_tumor_size(data: Mapping, groups: Sequence[str]) -> tuple[pd.DataFrame, int, str]:
    import pandas as pd

    result = data["tumor_size"]
    if not result.get("available", False):
        return pd.DataFrame(columns=TUMOR_SIZE_COLUMNS), 0, str(result.get("reason", "not available"))
    course = data["tumor_size_course"]
    course = course[course["group"].astype("string").isin(list(groups))]
    best = course[course["best"].to_numpy(dtype=bool)].sort_values(["change_percent", "record_id"],
                                                                   ascending=[False, True], kind="stable")
    total = len(best)
    if total > TUMOR_SIZE_MAX_PATIENTS:
        best = best.iloc[np.unique(np.round(np.linspace(0, total - 1, TUMOR_SIZE_MAX_PATIENTS)).astype(int))]
    excluded = "; ".join(f"{_get(e, 'reason')} (n = {int(_get(e, 'n')):,})" for e in _get(result, "excluded"))
    caption = f"Excluded: {excluded}" if excluded else "No patient excluded"
    if total > len(best):
        caption += f"; systematic sample of {len(best):,} of {total:,} patients"
    kept = course[course["record_id"].isin(best["record_id"])]
    order = {rid: i for i, rid in enumerate(best["record_id"])}
    return kept.assign(_order=kept["record_id"].map(order)), total, caption


def _not_available(ax: Axes, text: str) -> Axes:
    ax.set_axis_off()
    ax.text(0.5, 0.5, textwrap.fill(f"Not available: {text}", 50), ha="center", va="center",
            transform=ax.transAxes, fontsize=style.SMALL_PT)
    return ax


def draw_waterfall(fig, spec, data, groups) -> Axes:
    """Waterfall: each patient's best percentage change in the sum of diameters (bars sorted from the
    largest growth to the largest shrinkage), coloured by best overall response, with RECIST's -30% and
    +20% lines; bars carry no patient identifier. The exclusions by reason are in the axis caption."""
    rows, total, caption = _tumor_size_rows(data, groups)
    ax = fig.add_subplot(spec)
    if total == 0:
        return _not_available(ax, caption if rows.empty and caption.startswith("ta_") else
                              "no patient has a baseline and a post-baseline sum of diameters. " + caption)
    best = rows[rows["best"].to_numpy(dtype=bool)].sort_values("_order")
    x = np.arange(1, len(best) + 1)
    colors = best["best_overall_response"].astype(str).map(RESPONSE_COLORS).fillna(style.NEUTRAL_COLOR)
    ax.bar(x, best["change_percent"].to_numpy(dtype=float), width=0.8, color=list(colors), linewidth=0)
    for level in (-30, 20):
        ax.axhline(level, color="black", lw=style.THIN_LINE_WIDTH, ls="--", zorder=0)
    ax.axhline(0, color="black", lw=style.THIN_LINE_WIDTH)
    ax.set_xlim(0.3, len(best) + 0.7)
    ax.set_xticks([])
    ax.set_ylabel("Best change in sum of diameters (%)")
    ax.set_xlabel("\n".join(["Patients, sorted by best change"] + textwrap.wrap(caption, 55)))
    present = [r for r in RESPONSE_COLORS if (best["best_overall_response"].astype(str) == r).any()]
    ax.legend(handles=[Patch(color=RESPONSE_COLORS[r], label=r) for r in present], loc="upper right",
              ncol=len(present), handlelength=1.0, columnspacing=0.8, title="Best overall response",
              fontsize=style.SMALL_PT, title_fontsize=style.SMALL_PT)
    low = float(np.nanmin(np.r_[best["change_percent"].to_numpy(dtype=float), -30.0]))
    high = float(np.nanmax(np.r_[best["change_percent"].to_numpy(dtype=float), 20.0]))
    ax.set_ylim(min(-105.0, low - 5), max(high, 20.0) + 0.45 * (max(high, 20.0) - min(-105.0, low - 5)))
    return ax


def draw_spider(fig, spec, data, groups) -> Axes:
    """Spider: each patient's percentage change in the sum of diameters over time from the baseline (drawn
    at month 0), coloured by best overall response, with RECIST's -30% and +20% lines."""
    rows, total, caption = _tumor_size_rows(data, groups)
    ax = fig.add_subplot(spec)
    if total == 0:
        return _not_available(ax, caption if caption.startswith("ta_") else
                              "no patient has a baseline and a post-baseline sum of diameters. " + caption)
    rows = rows.sort_values(["_order", "baseline", "months"], ascending=[True, False, True], kind="stable")
    months = np.where(rows["baseline"].to_numpy(dtype=bool), 0.0, rows["months"].to_numpy(dtype=float))
    change = np.where(rows["baseline"].to_numpy(dtype=bool), 0.0, rows["change_percent"].to_numpy(dtype=float))
    order = rows["_order"].to_numpy()
    response = rows["best_overall_response"].astype(str).to_numpy()
    starts = np.flatnonzero(np.r_[True, order[1:] != order[:-1]])
    for begin, end in zip(starts, np.r_[starts[1:], len(order)]):
        color = RESPONSE_COLORS.get(response[begin], style.NEUTRAL_COLOR)
        ax.plot(months[begin:end], change[begin:end], color=color, lw=style.THIN_LINE_WIDTH, marker="o",
                ms=1.6, alpha=0.85)
    for level in (-30, 20):
        ax.axhline(level, color="black", lw=style.THIN_LINE_WIDTH, ls="--", zorder=0)
    ticks = time_ticks(float(np.nanmax(np.r_[months, 1.0])))
    _time_axis(ax, ticks)
    ax.set_ylabel("Change in sum of diameters (%)")
    ax.set_xlabel("\n".join([TIME_LABEL] + textwrap.wrap(caption, 55)))
    present = [r for r in RESPONSE_COLORS if (rows["best_overall_response"].astype(str) == r).any()]
    ax.legend(handles=[Line2D([], [], color=RESPONSE_COLORS[r], lw=style.LINE_WIDTH, label=r) for r in present],
              loc="upper right", ncol=len(present), handlelength=1.2, columnspacing=0.8,
              title="Best overall response", fontsize=style.SMALL_PT, title_fontsize=style.SMALL_PT)
    low = float(np.nanmin(np.r_[change, -30.0]))
    high = float(np.nanmax(np.r_[change, 20.0]))
    ax.set_ylim(min(-105.0, low - 5), high + 0.45 * (high - min(-105.0, low - 5)))
    return ax
# ------------------------------------------------------------------------ proportional hazards
PH_STATS_PLACES = ("upper right", "lower right", "upper left", "lower left", "upper center", "lower center")


def draw_ph(fig: Figure | SubFigure, spec: SubplotSpec, data: Mapping, groups: Sequence[str], *,
            endpoint: str, title: str) -> Axes:
    """Scaled Schoenfeld residuals of the group term (beta(t) estimates) against the Kaplan-Meier-
    transformed time, with their natural-spline smooth and +-2 SE band, as R's plot.cox.zph; the
    constant Cox coefficient dotted; the cox.zph P of the group term. The x-axis is labelled in months."""
    result = data[endpoint]
    source = result.get("_source")
    ph = _get(result, "cox", "proportional_hazards", source=source)
    plot = _get(ph, "residuals", source=f"{source}: cox.proportional_hazards")
    color = style.group_colors(groups)[groups[1]] if len(groups) > 1 else style.TEXT_COLOR
    ax = fig.add_subplot(spec)
    contrast = _get(result, "cox").get("contrast") or " vs ".join(groups[1::-1])
    # the endpoint named on the panel itself: PFS and OS residuals look alike side by side
    ax.set_title(title, fontsize=style.SMALL_PT + 1, loc="left")
    ax.set_ylabel(f"{endpoint.upper()}: scaled Schoenfeld residual,\n\u03b2(t) of {contrast}")
    ax.set_xlabel(f"{TIME_LABEL} (Kaplan-Meier scale)")
    x, beta, time = _array(plot["x"]), _array(plot["beta"]), _array(plot["time"])
    if plot.get("reason") and plot.get("smooth") is None and not x.size:
        ax.text(0.5, 0.5, textwrap.fill(f"{title}: {plot['reason']}", 40), ha="center", va="center",
                transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    ax.plot(x, beta, ls="none", marker="o", ms=2.0, mew=0, color=style.NEUTRAL_COLOR, alpha=0.7)
    smooth = plot.get("smooth")
    if smooth:
        sx = _array(smooth["x"])
        ax.plot(sx, _array(smooth["estimate"]), color=color, lw=style.LINE_WIDTH)
        for key in ("lower", "upper"):
            ax.plot(sx, _array(smooth[key]), color=color, lw=style.THIN_LINE_WIDTH, ls=(0, (3, 2)))
    if plot.get("coef") is not None:
        ax.axhline(plot["coef"], color=style.TEXT_COLOR, lw=style.THIN_LINE_WIDTH, ls=(0, (1, 2)))
    # month ticks placed on the transformed axis through the observed (time, x) pairs
    order = np.argsort(time, kind="stable")
    ticks = time_ticks(float(time.max()) if time.size else 1.0)
    ticks = ticks[(ticks >= time.min()) & (ticks <= time.max())] if time.size else ticks[:0]
    positions = np.interp(ticks, time[order], x[order])
    # the Kaplan-Meier scale squeezes late months together: a tick too close to the previous one is left out
    kept: list[int] = []
    for i, position in enumerate(positions):
        if not kept or position - positions[kept[-1]] >= 0.08 * (np.ptp(x) or 1.0):
            kept.append(i)
    ax.set_xticks(positions[kept])
    ax.set_xticklabels([f"{t:g}" for t in ticks[kept]])
    term = (ph.get("terms") or {}).get("group") or {}
    lines = [f"PH test {format_p(term.get('p'))}"]
    if plot.get("events", 0) > x.size:
        lines.append(f"{x.size:,} of {plot['events']:,} residuals shown")
    style.text_box(ax, lines, PH_STATS_PLACES)
    return ax


def draw_ph_pfs(fig, spec, data, groups) -> Axes:
    return draw_ph(fig, spec, data, groups, endpoint="pfs", title="Progression-free survival")


def draw_ph_os(fig, spec, data, groups) -> Axes:
    return draw_ph(fig, spec, data, groups, endpoint="os", title="Overall survival")


# -------------------------------------------------------------------------------- balance (love plot)
LOVE_PLACES = ("lower right", "upper right", "center right", "lower center", "upper center")


def draw_love(fig, spec, data, groups) -> Axes:
    """Love plot of the weighting endpoint: each Table 1 row's absolute standardized mean difference before
    (open circle) and after (filled) inverse-probability weighting, with the usual 0.1 threshold dashed; a
    panel saying so when weighting was not requested or the propensity model does not exist."""
    result = data["weighting"]
    source = result.get("_source")
    ax = fig.add_subplot(spec)
    if result.get("status") != "done":
        ax.set_axis_off()
        words = ("Weighting not requested (statistics.weighting: none)" if result.get("status") == "not requested"
                 else f"Weighting not estimable: {result.get('reason')}")
        ax.text(0.5, 0.5, textwrap.fill(words, 40), ha="center", va="center", transform=ax.transAxes,
                fontsize=style.SMALL_PT)
        return ax
    block = _get(result, "balance", source=source)
    variables = _get(block, "variables", source=source)
    threshold = float(block.get("threshold", 0.1))
    y = np.arange(len(variables), dtype=float)
    before = _array([v.get("smd_unweighted") for v in variables])
    after = _array([v.get("smd_weighted") for v in variables])
    color = style.group_colors(groups)[groups[1]] if len(groups) > 1 else style.TEXT_COLOR
    for yi, b, a in zip(y, before, after):
        if np.isfinite(b) and np.isfinite(a):
            ax.plot([b, a], [yi, yi], color=style.NEUTRAL_COLOR, lw=style.THIN_LINE_WIDTH, zorder=1)
    ax.plot(before, y, ls="none", marker="o", mfc="white", mec=style.TEXT_COLOR, mew=style.THIN_LINE_WIDTH,
            ms=style.MARKER_SIZE, zorder=2)
    ax.plot(after, y, ls="none", marker="o", color=color, ms=style.MARKER_SIZE, zorder=3)
    ax.axvline(threshold, color=style.NEUTRAL_COLOR, lw=style.THIN_LINE_WIDTH, ls=(0, (3, 2)), zorder=0)
    ax.set_yticks(y, [textwrap.shorten(str(v.get("label") or v.get("variable")), 32, placeholder="\u2026")
                      for v in variables])
    ax.set_ylim(len(variables) - 0.5, -0.5)
    finite = np.r_[before[np.isfinite(before)], after[np.isfinite(after)], threshold]
    ax.set_xlim(0, max(0.25, float(finite.max()) * 1.1))
    ax.set_xlabel("Absolute standardized mean difference")
    handles = [Line2D([], [], ls="none", marker="o", mfc="white", mec=style.TEXT_COLOR, ms=style.MARKER_SIZE),
               Line2D([], [], ls="none", marker="o", color=color, ms=style.MARKER_SIZE),
               Line2D([], [], color=style.NEUTRAL_COLOR, lw=style.THIN_LINE_WIDTH, ls=(0, (3, 2)))]
    style.legend_box(ax, handles, ["Unweighted", "IPTW weighted", f"SMD {threshold:g}"], LOVE_PLACES,
                     fontsize=style.SMALL_PT)
    return ax


# ----------------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class Panel:
    """A panel: its drawing function, what it reads, and its stand-alone size."""
    name: str
    draw: Callable[[Figure | SubFigure, SubplotSpec, Mapping, Sequence[str]], Axes]
    width: str
    height_mm: float
    title: str
    # count rows under each group in a KMunicate risk table (figure_style.risk_table
    # at_risk_events_censored) besides "At risk": the stand-alone panel grows by them
    kmunicate_rows: int = 0


PANEL_DRAWINGS: dict[str, Panel] = {p.name: p for p in (
    Panel("km_pfs", draw_km_pfs, "single", 85, "Progression-free survival (Kaplan-Meier)", kmunicate_rows=2),
    Panel("km_os", draw_km_os, "single", 85, "Overall survival (Kaplan-Meier)", kmunicate_rows=2),
    Panel("cif_cns", draw_cif_cns, "single", 70, "Cumulative incidence of CNS progression", kmunicate_rows=3),
    Panel("metastases", draw_metastases, "single", 80, "Baseline metastatic sites"),
    Panel("patterns", draw_patterns, "single", 85, "Progression patterns at first progression"),
    Panel("swimmer", draw_swimmer, "double", 200, "Crizotinib treatment course per patient"),
    Panel("forest", draw_forest, "single", 85, "Progression-free survival by subgroup"),
    Panel("flow", draw_flow, "single", 90, "Patient flow"),
    Panel("km_dor", draw_km_dor, "single", 85, "Duration of response (Kaplan-Meier)"),
    Panel("km_ttd", draw_km_ttd, "single", 85, "Time to crizotinib discontinuation (Kaplan-Meier)"),
    Panel("km_ttnt", draw_km_ttnt, "single", 85, "Time to next treatment or death (Kaplan-Meier)"),
    Panel("waterfall", draw_waterfall, "single", 85, "Best change in tumour size"),
    Panel("spider", draw_spider, "single", 85, "Change in tumour size over time"),
    Panel("ph_pfs", draw_ph_pfs, "single", 75, "Progression-free survival: proportional hazards of the group"),
    Panel("ph_os", draw_ph_os, "single", 75, "Overall survival: proportional hazards of the group"),
    Panel("love", draw_love, "single", 70, "Balance of the characteristics before and after weighting"),
)}


def draw_panel(panel: str, fig: Figure | SubFigure, spec: SubplotSpec, data: Mapping,
               groups: Sequence[str]) -> Axes:
    """Draw one panel into `spec`; a missing value in the inputs raises FigureInputError."""
    try:
        return PANEL_DRAWINGS[panel].draw(fig, spec, data, groups)
    except FigureInputError:
        raise
    except KeyError as error:
        raise FigureInputError(f"panel {panel!r}: missing input or group {error}") from None


def render_panel(panel: str, inputs: Mapping[str, str | Path], outputs: Mapping[str, str | Path],
                 groups: Sequence[str], figure_style: Mapping | None = None) -> None:
    """Stand-alone panel at its journal width: results/figures/panels/<panel>.<format> for each format of
    `outputs`, drawn in the config's figure_style (the defaults when None)."""
    check_panels([panel])
    save_panel(panel, load_inputs(inputs), outputs, groups, figure_style)


def check_panels(panels: Sequence[str], where: str = "") -> None:
    """Refuse the first unknown panel name (``where``: where it was named), before anything is read or drawn."""
    unknown = next((panel for panel in panels if panel not in PANEL_DRAWINGS), None)
    if unknown is not None:
        raise FigureInputError(f"unknown panel {unknown!r}{where} (known: {', '.join(PANEL_DRAWINGS)})")


def save_panel(panel: str, data: Mapping, outputs: Mapping[str, str | Path], groups: Sequence[str],
               figure_style: Mapping | None = None) -> None:
    """render_panel from inputs already read (load_inputs)."""
    spec = PANEL_DRAWINGS[panel]
    with style.context(figure_style) as drawn_in:
        height_mm = spec.height_mm
        if drawn_in.risk_table == "at_risk_events_censored":  # a name row and the count rows per group
            height_mm += len(groups) * (1 + spec.kmunicate_rows) * TABLE_ROW_MM
        fig = style.new_figure(spec.width, height_mm)
        draw_panel(panel, fig, fig.add_gridspec(1, 1)[0], data, groups)
        style.place_legends(fig)
        style.save_figure(fig, outputs, title=spec.title)
