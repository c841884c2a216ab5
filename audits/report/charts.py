"""Geometry of the report's inline SVG charts (no drawing library, no network).

The functions here turn figures into plain shapes (rectangles, lines,
labels as *data*); the Jinja2 templates write them out as SVG with
autoescaping on, so a group name is always text, never markup. Every chart
also gets a text alternative (``title``/``desc``) and its table fallback is
rendered next to it from the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Bar", "BarChart", "HeatCell", "HeatMap", "bar_chart", "heat_map", "heat_colour"]

_LABEL_W = 190
_PLOT_W = 360
_ROW_H = 26
_TOP = 24


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart (coordinates in SVG user units)."""

    label: str
    y: float
    width: float
    value_text: str
    suppressed: bool
    ci: tuple[float, float] | None = None
    reference_x: float | None = None


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart with interval whiskers and optional reference ticks."""

    title: str
    desc: str
    width: int
    height: int
    x0: int
    plot_width: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    has_reference: bool = False


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: Any) -> str:
    num = _num(value)
    if num is None:
        return str(value) if value not in (None, "") else "n/a"
    return f"{num:.1%}"


def bar_chart(rows: Sequence[dict[str, Any]], *, title: str, desc: str,
              scale_max: float | None = None) -> BarChart:
    """Lay out a horizontal bar chart of shares or rates in [0, 1].

    Parameters
    ----------
    rows : sequence of dict
        ``{"label", "value", "ci" (optional [low, high]), "reference" (optional),
        "suppressed" (optional)}``; a value that is not a number (a suppression
        marker, or None) draws no bar and shows its text.
    title, desc : str
        Text alternative of the chart.
    scale_max : float, optional
        Upper end of the axis (default: 1, or the largest figure if larger).

    Returns
    -------
    BarChart
        Shapes for the template.
    """
    figures = [0.0]
    for row in rows:
        pair = (_num(row.get("value")), _num(row.get("reference")))
        figures += [v for v in pair if v is not None]
        ci = row.get("ci")
        if isinstance(ci, list | tuple) and len(ci) == 2 and _num(ci[1]) is not None:
            figures.append(float(ci[1]))
    top = scale_max or max(1.0, max(figures))
    scale = _PLOT_W / top
    bars = []
    for i, row in enumerate(rows):
        value = _num(row.get("value"))
        ci = row.get("ci")
        whisker = None
        if value is not None and isinstance(ci, list | tuple) and len(ci) == 2 \
                and _num(ci[0]) is not None and _num(ci[1]) is not None:
            whisker = (_LABEL_W + float(ci[0]) * scale, _LABEL_W + float(ci[1]) * scale)
        ref = _num(row.get("reference"))
        bars.append(Bar(
            label=str(row.get("label", "")), y=_TOP + i * _ROW_H,
            width=0.0 if value is None else value * scale,
            value_text=_fmt(row.get("value")),
            suppressed=bool(row.get("suppressed")) or value is None,
            ci=whisker, reference_x=None if ref is None else _LABEL_W + ref * scale,
        ))
    ticks = [(_LABEL_W + f * top * scale, f"{f * top:.0%}") for f in (0, 0.25, 0.5, 0.75, 1.0)]
    return BarChart(title=title, desc=desc, width=_LABEL_W + _PLOT_W + 90,
                    height=_TOP + max(1, len(rows)) * _ROW_H + 24, x0=_LABEL_W,
                    plot_width=_PLOT_W, bars=bars, ticks=ticks,
                    has_reference=any(b.reference_x is not None for b in bars))


@dataclass(frozen=True)
class HeatCell:
    """One cell of a heat map."""

    x: float
    y: float
    fill: str
    text: str
    title: str


@dataclass(frozen=True)
class HeatMap:
    """A grid of cells coloured by a rate, with row and column labels."""

    title: str
    desc: str
    width: int
    height: int
    cell_w: int
    cell_h: int
    rows: list[tuple[float, str]]
    cols: list[tuple[float, str]]
    cells: list[HeatCell]


def heat_colour(value: float | None) -> str:
    """Return a fill colour for a rate in [0, 1] (grey when absent or suppressed)."""
    if value is None:
        return "#d9d9d9"
    v = min(1.0, max(0.0, value))
    red, green, blue = 247 - int(v * 190), 251 - int(v * 150), 255 - int(v * 60)
    return f"#{red:02x}{green:02x}{blue:02x}"


def heat_map(cells: dict[tuple[str, str], Any], row_labels: Sequence[str],
             col_labels: Sequence[str], *, title: str, desc: str) -> HeatMap:
    """Lay out a heat map of one rate over the cells of a two-way intersection.

    Parameters
    ----------
    cells : dict
        ``{(row, col): value}``; a value that is not a number (``"<30"``, None)
        is drawn grey with its text.
    row_labels, col_labels : sequence of str
        Levels of the two features, in display order.
    title, desc : str
        Text alternative of the chart.

    Returns
    -------
    HeatMap
        Shapes for the template.
    """
    cell_w, cell_h, left, top = 96, 30, 180, 40
    out = []
    for i, row in enumerate(row_labels):
        for j, col in enumerate(col_labels):
            value = cells.get((row, col))
            num = _num(value)
            out.append(HeatCell(
                x=left + j * cell_w, y=top + i * cell_h, fill=heat_colour(num),
                text=_fmt(value), title=f"{row} & {col}: {_fmt(value)}",
            ))
    return HeatMap(
        title=title, desc=desc, width=left + len(col_labels) * cell_w + 10,
        height=top + len(row_labels) * cell_h + 10, cell_w=cell_w, cell_h=cell_h,
        rows=[(top + i * cell_h + cell_h / 2, r) for i, r in enumerate(row_labels)],
        cols=[(left + j * cell_w + cell_w / 2, c) for j, c in enumerate(col_labels)],
        cells=out,
    )
