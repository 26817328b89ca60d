"""HTML for the source panel and the staff lookup: a table with the cited row and cell marked, or
the cited passage with the quoted sentence marked.

A citation finds its table, row and column by position (`Citation.table_index`, `row_index`,
`column_index`, set by the engine); a citation without positions falls back to the table as
printed («7», «4.7»), the row label and the source lines. Nothing here trusts its input: every
string is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import Passage, Report, Row, Table
from rag.records import Citation
from ui.i18n import t
from ui.render import chapter_short, esc, esc_multiline, lines_text

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
PROSE_CONTEXT_LINES = 3  # lines shown before and after a cited prose span


# ---------------------------------------------------------------- finding what a citation points at


def _norm(text: str | None) -> str:
    return " ".join((text or "").strip().rstrip(_SUPERSCRIPTS).split()).casefold()


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def find_row(table: Table, label: str | None, lines: tuple[int, int] | None = None) -> Row | None:
    """The row with this label (footnote markers and case ignored), else the row on these lines."""
    if label:
        wanted = _norm(label)
        for r in table.rows:
            if r.label == label or _norm(r.label) == wanted:
                return r
    if lines is not None and lines[0] > 0:
        for r in table.rows:
            if _overlaps(r.lines, lines):
                return r
    return None


@dataclass(frozen=True)
class Located:
    table: Table | None
    row: Row | None
    column: str | None


def locate(report: Report, citation: Citation) -> Located:
    """The table, row and column a table citation points at (by position, else by number, label
    and lines); an empty Located for prose or when nothing matches."""
    if citation.table is None and citation.table_index is None:
        return Located(None, None, None)
    ti = citation.table_index
    if ti is not None and 0 <= ti < len(report.tables):
        table = report.tables[ti]
        ri, ci = citation.row_index, citation.column_index
        row = table.rows[ri] if ri is not None and 0 <= ri < len(table.rows) else None
        if row is None or (citation.row and _norm(row.label) != _norm(citation.row)):
            row = find_row(table, citation.row, tuple(citation.lines))  # type: ignore[arg-type]
        column = table.columns[ci] if ci is not None and 0 <= ci < len(table.columns) else None
        if column is None or (citation.column and column != citation.column):
            column = citation.column if citation.column in table.columns else column
        if citation.table is None or table.cite_number == citation.table:
            return Located(table, row, column)
    candidates = [tb for tb in report.tables if tb.cite_number is not None and tb.cite_number == citation.table]
    candidates.sort(key=lambda tb: (not _overlaps(tb.lines, tuple(citation.lines)), tb.number is None))  # type: ignore[arg-type]
    for tb in candidates:
        row = find_row(tb, citation.row, tuple(citation.lines))  # type: ignore[arg-type]
        if row is not None:
            return Located(tb, row, citation.column if citation.column in tb.columns else None)
    return Located(candidates[0] if candidates else None, None, None)


def find_passage(report: Report, lines: tuple[int, int]) -> Passage | None:
    """The prose passage that holds these lines (the one with the biggest overlap)."""
    best: Passage | None = None
    best_overlap = 0
    for p in report.passages:
        overlap = min(p.lines[1], lines[1]) - max(p.lines[0], lines[0]) + 1
        if overlap > best_overlap:
            best, best_overlap = p, overlap
    return best


# ---------------------------------------------------------------- tables


def table_title(table: Table, lang: object = None) -> str:
    """Plain text: the caption when it names its table ('Tabell 7 viser …'), else 'Tabell 7: …'."""
    number = table.cite_number
    caption = " ".join((table.caption or "").split())
    if number is None:
        return caption or t("uncaptioned", lang)
    prefix = f"{t('table', lang)} {number}"
    if not caption:
        return f"{prefix} ({t('uncaptioned', lang)})"
    if re.match(rf"\s*(tabell|table)\s+{re.escape(str(number))}\b", caption, flags=re.IGNORECASE):
        return caption
    return f"{prefix}: {caption}"


def _where(report: Report | None, lines: tuple[int, int], lang: object, staff: bool) -> str:
    page = report.page_of(lines[0]) if report is not None else None
    if page is not None:
        text = f"{t('page', lang)} {page}"
        return f"{text}, {lines_text(lines, lang)}" if staff else text
    return lines_text(lines, lang)


def panel_head(title: str | None, lang: object = None) -> str:
    """The panel's heading (the report's title) and, on a phone, the button that closes it."""
    heading = esc(title or t("source_heading", lang))
    return (
        f'<div class="src-head"><p class="src-title" tabindex="-1">{heading}</p>'
        f'<a class="src-close" href="#rapport-close">{esc(t("close", lang))}</a></div>'
    )


def render_table_html(
    table: Table,
    lang: object = None,
    *,
    report: Report | None = None,
    hit_row: Row | None = None,
    hit_column: str | None = None,
    staff: bool = False,
) -> str:
    """A table with caption, unit and footnotes, in a box that scrolls (headers stay in view); the
    cited row gets `row-hit` and the cited cell `cell-hit`."""
    cols = list(table.columns)
    hit_col = hit_column if hit_column in cols else None
    title = table_title(table, lang)
    out: list[str] = ['<div class="src src-table">']
    meta = [chapter_short(table.chapter.display, lang) or table.chapter.display, _where(report, table.lines, lang, staff)]
    out.append(f'<p class="src-meta">{esc(" · ".join(m for m in meta if m))}</p>')
    caption = f'<span class="caption-text">{esc(title)}</span>'
    if table.unit:
        caption += f' <span class="unit">({esc(t("unit", lang))}: {esc(table.unit)})</span>'
    out.append(f'<p class="table-title" aria-hidden="true">{caption}</p>')  # stays put while the box scrolls
    out.append(f'<div class="table-scroll" role="region" tabindex="0" aria-label="{esc(title)}">')
    out.append(f'<table class="report-table"><caption class="sr-only">{caption}</caption><thead>')
    if table.group_header:
        out.append(f'<tr><td></td><th scope="colgroup" colspan="{len(cols)}">{esc(table.group_header)}</th></tr>')
    label_head = esc(table.label_header) if table.label_header else f'<span class="sr-only">{esc(t("row", lang))}</span>'
    out.append(f'<tr><th scope="col">{label_head}</th>')
    for col in cols:
        cls = ' class="col-hit"' if col == hit_col and hit_row is not None else ""
        out.append(f'<th scope="col"{cls}>{esc(col)}</th>')
    out.append("</tr></thead><tbody>")
    section: str | None = None
    previous_label: str | None = None
    for row in table.rows:
        if row.section and row.section != section and _norm(row.section) != _norm(previous_label):
            out.append(f'<tr class="section-row"><th scope="colgroup" colspan="{len(cols) + 1}">{esc(row.section)}</th></tr>')
        section, previous_label = row.section, row.label
        is_hit = hit_row is not None and row is hit_row
        classes = ["row-hit"] if is_hit else []
        if row.uncertain:
            classes.append("row-uncertain")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        tip = f' title="{esc(t("row_uncertain", lang) + (": " + row.reason if row.reason else ""))}"' if row.uncertain else ""
        out.append(f'<tr{cls}{tip}><th scope="row">{esc(row.label)}')
        if row.footnotes:
            out.append(f'<sup class="fn">{esc(",".join(row.footnotes))}</sup>')
        if staff:
            out.append(f' <span class="ln">{esc(lines_text(row.lines, lang))}</span>')
        out.append("</th>")
        for col in cols:
            cell = row.cell(col)
            raw = cell.raw if cell is not None else ""
            cell_classes = []
            if cell is not None and cell.value is not None:
                cell_classes.append("num")
            if is_hit and col == hit_col:
                cell_classes.append("cell-hit")
            ccls = f' class="{" ".join(cell_classes)}"' if cell_classes else ""
            out.append(f"<td{ccls}>{esc(raw)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if table.footnotes:
        out.append(f'<div class="footnotes"><p class="footnotes-title">{esc(t("footnotes", lang))}</p><ol>')
        for fn in table.footnotes:
            out.append(f'<li><span class="fn-marker">{esc(fn.marker)}</span> {esc(fn.text)}</li>')
        out.append("</ol></div>")
    out.append("</div>")
    return "".join(out)


def cell_citation_text(table: Table, row: Row, column: str, lang: object = None, report: Report | None = None,
                       title: str | None = None) -> str:
    """One line to paste elsewhere: '-12,5 mill. kr — Årsrapport …, Tabell 1, rad «…», kolonne «…», linje 350'."""
    cell = row.cell(column)
    raw = cell.raw if cell is not None and cell.raw else "–"
    unit = (table.unit or "").strip()
    if unit and len(unit) > 1 and unit[0].isupper() and unit[1].islower():
        unit = unit[0].lower() + unit[1:]
    value = f"{raw} {unit}" if unit and cell is not None and cell.value is not None and "%" not in raw else raw
    number = table.cite_number
    where = f"{t('table', lang)} {number}" if number is not None else (table.caption or t("table", lang))
    open_q, close_q = ("“", "”") if lang == "en" else ("«", "»")
    head = f"{title}, " if title else ""
    return (
        f"{value} — {head}{where}, {t('row', lang)} {open_q}{row.label}{close_q}, "
        f"{t('column', lang)} {open_q}{column}{close_q}, {_where(report, row.lines, lang, True)}"
    )


# ---------------------------------------------------------------- prose


def _find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` occurs in `text`, tolerant of line breaks, soft hyphens and spacing."""
    quote = quote.replace("\u00ad", "").strip()
    if not quote:
        return None
    idx = text.find(quote)
    if idx >= 0:
        return idx, idx + len(quote)
    pattern = r"[\s\u00ad-]*".join(re.escape(w) for w in quote.split())
    m = re.search(pattern, text, flags=re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def render_passage_html(report: Report, citation: Citation, lang: object = None, staff: bool = False) -> str:
    """The lines around a prose citation; cited lines get `line-hit` and the cited sentence is
    wrapped in <mark class="quote-hit">. Line numbers are shown in the staff view only."""
    cited = (int(citation.lines[0]), int(citation.lines[1]))
    passage = find_passage(report, cited)
    first, last = max(1, cited[0] - PROSE_CONTEXT_LINES), cited[1] + PROSE_CONTEXT_LINES
    chapter, section = citation.chapter, None
    if passage is not None:
        first, last = max(first, min(passage.lines[0], cited[0])), min(last, max(passage.lines[1], cited[1]))
        chapter = chapter or passage.chapter.display
        section = passage.section
    last = min(last, len(report.lines))
    css = "src src-prose staff" if staff else "src src-prose"
    out: list[str] = [f'<div class="{css}">']
    meta = [chapter_short(chapter, lang), _where(report, cited, lang, staff)]
    out.append(f'<p class="src-meta">{esc(" · ".join(m for m in meta if m))}</p>')
    if section:
        out.append(f'<p class="src-section">{esc(section)}</p>')
    if first > last:  # a report without its text: show the quote
        out.append(f'<blockquote class="passage"><mark class="quote-hit">{esc_multiline(citation.quote)}</mark></blockquote></div>')
        return "".join(out)
    source_lines = [report.lines[i - 1] for i in range(first, last + 1)]
    span = _find_quote("\n".join(source_lines), citation.quote)
    out.append('<ol class="passage">')
    offset = 0
    for number, line in zip(range(first, last + 1), source_lines, strict=True):
        start, end = offset, offset + len(line)
        offset = end + 1
        cls = ' class="line-hit"' if cited[0] <= number <= cited[1] else ""
        if span is not None and span[0] < end and start < span[1]:
            a, b = max(span[0], start) - start, min(span[1], end) - start
            body = f'{esc(line[:a])}<mark class="quote-hit">{esc(line[a:b])}</mark>{esc(line[b:])}'
        else:
            body = esc(line)
        ln = f'<span class="ln">{number}</span> ' if staff else ""
        out.append(f"<li{cls}>{ln}{body}</li>")
    out.append("</ol>")
    if span is None and citation.quote:
        out.append(
            f'<p class="quote-fallback"><span class="sources-label">{esc(t("cited_quote", lang))}:</span> '
            f'<mark class="quote-hit">{esc_multiline(citation.quote)}</mark></p>'
        )
    out.append("</div>")
    return "".join(out)


# ---------------------------------------------------------------- the panel


def render_notice_html(message: str, title: str | None = None, lang: object = None) -> str:
    head = panel_head(title, lang) if title is not None else ""
    return f'<div class="src src-empty">{head}<p>{esc(message)}</p></div>'


def render_source_html(report: Report | None, citation: Citation | None, lang: object = None, staff: bool = False,
                       chart: str | None = None) -> str:
    """What a source chip shows: the cited table with row and cell marked (and a chart of the
    row when there is one), or the cited passage."""
    if citation is None:
        return render_notice_html(t("source_empty", lang))
    title = citation.report_title or (report.meta.title if report is not None and report.meta else None)
    if report is None:
        return render_notice_html(t("source_missing", lang), title, lang)
    if citation.table is not None or citation.table_index is not None:
        found = locate(report, citation)
        if found.table is None:
            return render_notice_html(t("source_missing", lang), title, lang)
        body = render_table_html(found.table, lang, report=report, hit_row=found.row,
                                 hit_column=found.column if found.row is not None else None, staff=staff)
        return f'<div class="src-panel">{panel_head(title, lang)}{chart or ""}{body}</div>'
    return f'<div class="src-panel">{panel_head(title, lang)}{render_passage_html(report, citation, lang, staff)}</div>'
