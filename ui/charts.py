"""A small bar chart of one table row: the row over the years, or budget against accounts.

`row_series(table, row, column)` picks the cells that belong together with the cited column:
the same column name in other years ("2018", "2019"; "Antall plasser 2018", "Antall plasser
2019"), or, when there is no such series, the budget and accounts columns. Difference and
change columns are never charted. `chart_html(series, lang)` draws it as an SVG image (a data
URI, so the chat's HTML sanitiser keeps it) with a plain-text description as its alt text. No
script, no network: the chart is a picture of printed numbers, each labelled as printed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from ingest.records import Row, Table
from ui.i18n import t

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
# Columns that are a difference of two others: never a point of a chart.
_DIFFERENCE = re.compile(r"(?i)differanse|avvik|endring|\bendr\b|change|difference|\bdiff\b")
_BUDGET_ACCOUNTS = re.compile(r"(?i)budsjett|regnskap|budget|accounts|prognose|forecast")
MAX_POINTS = 16


@dataclass(frozen=True)
class Point:
    label: str  # what the axis shows: the year, or the column name
    raw: str  # the cell as printed
    value: float
    column: str


@dataclass(frozen=True)
class Series:
    label: str  # the row label
    unit: str | None
    points: tuple[Point, ...]
    highlight: int | None  # index of the cited point


def _stem(column: str) -> str:
    return " ".join(_YEAR.sub(" ", column).split()).casefold()


def _numeric(row: Row, column: str, percent: bool | None) -> Point | None:
    cell = row.cell(column)
    if cell is None or cell.value is None or not cell.raw:
        return None
    if percent is not None and ("%" in cell.raw) != percent:
        return None
    return Point(column, cell.raw, float(cell.value), column)


def row_series(table: Table, row: Row, column: str | None = None, unit: str | None = None,
               any_columns: bool = False) -> Series | None:
    """The points of `row` to chart around `column` (default: the row's last numeric column), or
    None when the row has fewer than two comparable figures. With `any_columns` (the staff tab:
    chart any row) a row without a year or budget series charts all its figures but differences."""
    numeric = [c for c in table.columns if (cell := row.cell(c)) is not None and cell.value is not None]
    if column is None or column not in numeric:
        column = next((c for c in reversed(numeric) if not _DIFFERENCE.search(c)), None)
    if column is None:
        return None
    cited = row.cell(column)
    percent = "%" in cited.raw if cited is not None else None
    points: list[Point] = []
    if _YEAR.search(column) and not _DIFFERENCE.search(column):
        stem = _stem(column)
        by_year: dict[str, Point] = {}
        for c in table.columns:
            m = _YEAR.search(c)
            if m is None or _DIFFERENCE.search(c) or _stem(c) != stem:
                continue
            p = _numeric(row, c, percent)
            if p is not None and m.group(1) not in by_year:
                by_year[m.group(1)] = Point(m.group(1), p.raw, p.value, c)
        points = [by_year[y] for y in sorted(by_year)]
    if len(points) < 2:
        points = []
        for c in table.columns:
            if _BUDGET_ACCOUNTS.search(c) and not _DIFFERENCE.search(c):
                p = _numeric(row, c, percent)
                if p is not None:
                    points.append(p)
    if len(points) < 2 and any_columns:
        points = [p for c in table.columns if not _DIFFERENCE.search(c) and (p := _numeric(row, c, percent))]
    if len(points) < 2 or not any(p.column == column for p in points):
        return None
    points = points[-MAX_POINTS:]
    highlight = next((i for i, p in enumerate(points) if p.column == column), None)
    shown_unit = unit if unit is not None else ("%" if percent else table.unit)
    return Series(row.label, shown_unit, tuple(points), highlight)


def describe(series: Series, lang: object = None) -> str:
    """The chart in words (the image's alt text)."""
    points = "; ".join(f"{p.label}: {p.raw}" for p in series.points)
    unit = f" ({series.unit})" if series.unit else ""
    return t("chart_alt", lang, label=series.label, unit=unit, points=points)


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;")
    )


def chart_svg(series: Series, width: int = 240, height: int = 150) -> str:
    """The series as a standalone SVG document: one bar per point from a zero line, the cited
    point dark, each bar labelled with its printed value when there is room."""
    n = len(series.points)
    values = [p.value for p in series.points]
    top = 16 if max(values) > 0 else 6
    bottom = 34 if min(values) < 0 else 20
    left = right = 6
    plot_h = height - top - bottom
    hi, lo = max(max(values), 0.0), min(min(values), 0.0)
    span = (hi - lo) or 1.0
    zero_y = top + plot_h * (hi / span)
    slot = (width - left - right) / n
    bar_w = max(4.0, min(36.0, slot * 0.62))
    show_values = n <= 7
    label_every = 1 if n <= 8 else 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="10">',
        f'<line x1="{left}" y1="{zero_y:.1f}" x2="{width - right}" y2="{zero_y:.1f}" stroke="#555" stroke-width="1"/>',
    ]
    for i, p in enumerate(series.points):
        x = left + slot * i + (slot - bar_w) / 2
        h = plot_h * abs(p.value) / span
        y = zero_y - h if p.value >= 0 else zero_y
        colour = "#1f4e79" if i == series.highlight else "#8fb3d9"
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 1.0):.1f}" fill="{colour}"/>')
        cx = x + bar_w / 2
        if show_values or i == series.highlight:
            vy = y - 3 if p.value >= 0 else y + max(h, 1.0) + 11
            weight = ' font-weight="700"' if i == series.highlight else ""
            parts.append(f'<text x="{cx:.1f}" y="{vy:.1f}" text-anchor="middle" fill="#1a1a1a"{weight}>{_esc(p.raw)}</text>')
        if i % label_every == 0 or i == series.highlight:
            label = p.label if len(p.label) <= 14 else p.label[:13] + "…"
            parts.append(
                f'<text x="{cx:.1f}" y="{height - 6}" text-anchor="middle" fill="#333">{_esc(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def chart_html(series: Series, lang: object = None, css_class: str = "row-chart") -> str:
    """A <figure> with the chart as an image (alt text: the chart in words) and a caption."""
    data = base64.b64encode(chart_svg(series).encode("utf-8")).decode("ascii")
    alt = _esc(describe(series, lang))
    caption = _esc(series.label + (f" ({series.unit})" if series.unit else ""))
    return (
        f'<figure class="{css_class}"><img src="data:image/svg+xml;base64,{data}" alt="{alt}" width="240" height="150">'
        f"<figcaption>{caption}</figcaption></figure>"
    )
