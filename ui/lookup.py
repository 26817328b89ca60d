"""The staff tab's handlers: pick a report, find a table (by number as printed, «7» or «4.7», or by
words), pick a row and a column, see the cell marked, chart the row, copy the cell with its
citation. Line numbers are always shown here.
"""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from ingest.records import Report, Row, Table
from ui.charts import chart_html, row_series
from ui.i18n import norm_lang, t
from ui.render import esc, lines_text
from ui.source_view import cell_citation_text, render_notice_html, render_table_html, table_title


def report_title(report: Report | None) -> str | None:
    if report is None or report.meta is None:
        return None
    m = report.meta
    if m.municipality and m.municipality.split()[0].casefold() not in m.title.casefold():
        return f"{m.title}, {m.municipality}"
    return m.title


def table_choices(report: Report | None, query: str, lang: object = None) -> list[tuple[str, str]]:
    """(label, position) of the tables matching a number ("7", "tabell 4.7") or all words of `query`."""
    if report is None:
        return []
    q = re.sub(r"\b(?:tabell|table)\s*(?=\d)", "", " ".join((query or "").split()).casefold())
    words = q.split()
    choices: list[tuple[str, str]] = []
    for i, table in enumerate(report.tables):
        label = table_title(table, lang)
        if len(words) == 1 and re.fullmatch(r"\d+(?:[.,]\d+)*", words[0]):
            if str(table.cite_number or "").replace(",", ".") != words[0].replace(",", "."):
                continue
        elif words:
            hay = " ".join([label, table.caption or "", table.unit or "", table.chapter.display, *table.columns,
                            *(r.label for r in table.rows)]).casefold()
            if not all(w in hay for w in words):
                continue
        if table.number is None and table.attached_to is not None:
            label = f"{label} (+)"
        short = label if len(label) <= 90 else label[:89] + "…"
        choices.append((f"{short} · {lines_text(table.lines, lang)}", str(i)))
    return choices


def default_column(table: Table) -> str | None:
    """The last column that holds a number in most rows (the newest figure, as a rule)."""
    best = None
    for col in table.columns:
        filled = sum(1 for r in table.rows if (c := r.cell(col)) is not None and c.value is not None)
        if filled * 2 >= len(table.rows):
            best = col
    return best or (table.columns[-1] if table.columns else None)


def pick(items: tuple[Any, ...] | list[Any], choice: object) -> Any:
    try:
        i = int(str(choice))
    except (TypeError, ValueError):
        return None
    return items[i] if 0 <= i < len(items) else None


class LookupPart:
    """Mixin of RapportUI (ui/app.py): the staff lookup tab."""

    def _report(self, report_id: str | None) -> Report | None:
        ids = [r.id for r in self.reports()]  # type: ignore[attr-defined]
        if report_id not in ids:
            report_id = ids[0] if ids else None
        return self.report_of(report_id) if report_id else None  # type: ignore[attr-defined]

    def report_choices(self) -> list[tuple[str, str]]:
        out = []
        for r in self.reports():  # type: ignore[attr-defined]
            muni = f", {r.municipality}" if r.municipality and r.municipality.split()[0].casefold() not in r.title.casefold() else ""
            out.append((f"{r.title}{muni}", r.id))
        return out

    def lookup_report(self, report_id: str | None, query: str, lang: str) -> tuple:
        """(tables, rows, columns, copy text, chart, table view) for a newly chosen report."""
        lang = norm_lang(lang)
        report = self._report(report_id)
        if report is None:
            empty = gr.update(choices=[], value=None)
            return empty, empty, empty, "", "", render_notice_html(t("lookup_no_reports", lang))
        choices = table_choices(report, query, lang)
        first = choices[0][1] if choices else None
        return (gr.update(choices=choices, value=first), *self.lookup_table(report_id, first, lang))

    def lookup_search(self, query: str, report_id: str | None, lang: str) -> tuple:
        lang = norm_lang(lang)
        choices = table_choices(self._report(report_id), query, lang)
        first = choices[0][1] if choices else None
        if not choices:
            empty = gr.update(choices=[], value=None)
            return gr.update(choices=[], value=None), empty, empty, "", "", render_notice_html(t("lookup_none", lang))
        return (gr.update(choices=choices, value=first), *self.lookup_table(report_id, first, lang))

    def lookup_table(self, report_id: str | None, choice: str | None, lang: str) -> tuple:
        """(rows, columns, copy text, chart, table view) for a chosen table."""
        lang = norm_lang(lang)
        report = self._report(report_id)
        table: Table | None = pick(report.tables, choice) if report is not None else None
        if table is None:
            empty = gr.update(choices=[], value=None)
            return empty, empty, "", "", render_notice_html(t("lookup_none", lang)) if choice else ""
        rows = [(r.label or "–", str(i)) for i, r in enumerate(table.rows)]
        cols = [(c, c) for c in table.columns]
        return (gr.update(choices=rows, value=None), gr.update(choices=cols, value=default_column(table)), "", "",
                render_table_html(table, lang, report=report, staff=True))

    def lookup_cell(self, report_id: str | None, table_choice: str | None, row_choice: str | None,
                    column: str | None, lang: str) -> tuple:
        """(copy text, chart, table view) for a chosen row and column."""
        lang = norm_lang(lang)
        report = self._report(report_id)
        table: Table | None = pick(report.tables, table_choice) if report is not None else None
        if table is None:
            return gr.skip(), gr.skip(), gr.skip()
        row: Row | None = pick(table.rows, row_choice)
        if row is None:
            return "", "", render_table_html(table, lang, report=report, staff=True)
        column = column if column in table.columns else default_column(table)
        series = row_series(table, row, column, any_columns=True)
        chart = chart_html(series, lang, "row-chart") if series is not None else f'<p>{esc(t("chart_none", lang))}</p>'
        copy = cell_citation_text(table, row, column, lang, report, report_title(report)) if column else ""
        return copy, chart, render_table_html(table, lang, report=report, hit_row=row, hit_column=column, staff=True)
