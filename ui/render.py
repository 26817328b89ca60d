"""HTML for the chat, the sources panel and the table lookup.

Every string that comes from the report, the service or the user passes through `esc` before it
becomes HTML; nothing here trusts its input. Functions return single-line HTML (no blank lines) so
that the chat's Markdown renderer treats each message as one HTML block and never parses the
escaped text as Markdown.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.records import Passage, Report, Row, Table
from rag.records import Answer, Citation
from ui.i18n import t

# Characters that Gradio's HTML template and Markdown/LaTeX layers could read as syntax.
_EXTRA_ENTITIES = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;", "\\": "&#92;"})
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_WS = re.compile(r"\s+")
PROSE_CONTEXT_LINES = 3  # lines shown before and after a cited prose span


def esc(text: object) -> str:
    """Escape any value for HTML text or attribute context (None -> "")."""
    if text is None:
        return ""
    return html.escape(str(text), quote=True).translate(_EXTRA_ENTITIES)


def esc_multiline(text: object) -> str:
    """Escape, and keep line breaks as <br> (so the result stays one line)."""
    return "<br>".join(esc(part) for part in str(text if text is not None else "").splitlines())


# ---------------------------------------------------------------- citations as chips and keys


def lines_text(lines: tuple[int, int] | list[int], lang: str | None = None) -> str:
    """'linje 350' or 'linje 226–229' ('line'/'lines' in English)."""
    first, last = int(lines[0]), int(lines[-1])
    if first == last:
        return f"{t('line', lang)} {first}"
    return f"{t('lines', lang)} {first}–{last}"


def chapter_short(chapter: str | None, lang: str | None = None) -> str | None:
    """'02 ÅRSBERETNING' -> 'Kapittel 02'; a chapter without a number keeps its name."""
    if not chapter:
        return None
    m = re.match(r"\s*(\d{1,3})\b", chapter)
    if m:
        return f"{t('chapter', lang)} {int(m.group(1)):02d}"
    return chapter.strip()


def chip_label(citation: Citation, lang: str | None = None) -> str:
    """Plain-text label for a citation chip (the widgets that show it escape it themselves).

    «Tabell 1 · Netto driftsresultat · Regnskap 2020» for a table fact,
    «Kapittel 02 · linje 226–229» for prose.
    """
    if citation.table is not None:
        parts = [f"{t('table_short', lang)} {citation.table}", citation.row, citation.column]
        return " · ".join(p for p in parts if p)
    parts = [chapter_short(citation.chapter, lang), lines_text(citation.lines, lang)]
    return " · ".join(p for p in parts if p)


def citation_key(citation: Citation) -> str:
    """A self-contained string for a citation (used as the value of a chip)."""
    return json.dumps(citation.to_json(), ensure_ascii=False, separators=(",", ":"))


def citation_from_key(key: str | None) -> Citation | None:
    """Inverse of `citation_key`; None for anything that is not a well-formed key."""
    if not key or not isinstance(key, str):
        return None
    try:
        d = json.loads(key)
        lines = d.get("lines") or [0, 0]
        return Citation(
            table=int(d["table"]) if d.get("table") is not None else None,
            row=_opt_str(d.get("row")),
            column=_opt_str(d.get("column")),
            chapter=_opt_str(d.get("chapter")),
            lines=(int(lines[0]), int(lines[-1])),
            quote=str(d.get("quote") or ""),
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def chip_choices(citations: Iterable[Citation], lang: str | None = None) -> list[tuple[str, str]]:
    """(label, key) pairs for a Radio or for Chatbot message options, duplicates dropped."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for c in citations:
        key = citation_key(c)
        if key not in seen:
            seen.add(key)
            out.append((chip_label(c, lang), key))
    return out


# ---------------------------------------------------------------- chat messages


def format_value(answer: Answer) -> str | None:
    """The answer's number as printed, with its unit: '-679,4 mill. kr'."""
    if answer.abstained:
        return None
    raw = answer.value_raw
    if raw is None and answer.value is not None:
        raw = f"{answer.value:g}".replace(".", ",")
    if raw is None:
        return None
    unit = _unit_inline(answer.unit)
    if not unit or raw.rstrip().casefold().endswith(unit.casefold()):  # "7,0 %" already has its unit
        return raw.strip()
    return f"{raw} {unit}"


def render_question_html(question: str) -> str:
    """The user's question as it appears in the chat: escaped text, nothing else."""
    return f'<div class="user-question">{esc_multiline(question)}</div>'


def render_pending_html(lang: str | None = None) -> str:
    return f'<div class="answer pending" aria-busy="true">{esc(t("searching", lang))}</div>'


def render_error_html(message: str) -> str:
    return f'<div class="answer answer-error" role="alert">{esc_multiline(message)}</div>'


def render_answer_html(answer: Answer, lang: str | None = None, text: str | None = None) -> str:
    """An answer message: the number large, the answer text, and a line naming its sources (the
    clickable chips are the chat message's options, see ui.app).

    `text` replaces the answer text while it is being streamed (the sources line comes at the end).
    """
    body = answer.answer if text is None else text
    classes = "answer abstained" if answer.abstained else "answer"
    parts = [f'<div class="{classes}" lang="{"en" if answer.lang == "en" else "nb"}">']
    value = format_value(answer)
    if value:
        parts.append(f'<p class="answer-value">{esc(value)}</p>')
    if answer.abstained and not body:
        body = t("no_answer", lang)
    parts.append(f'<p class="answer-text">{esc_multiline(body)}</p>')
    if text is None and answer.citations:
        chips = "; ".join(
            f'<span class="cite">{esc(label)}</span>' for label, _ in chip_choices(answer.citations, lang)
        )
        parts.append(
            f'<p class="answer-sources"><span class="sources-label">{esc(t("sources_inline", lang))}:</span> {chips}</p>'
        )
    parts.append("</div>")
    return "".join(parts)


def stream_steps(text: str, words_per_step: int = 3) -> list[str]:
    """Growing prefixes of `text`, a few words at a time, ending with the whole text."""
    tokens = re.findall(r"\S+\s*", text)
    if not tokens:
        return [text]
    steps = ["".join(tokens[:i]).rstrip() for i in range(words_per_step, len(tokens), words_per_step)]
    steps.append(text)
    return steps


# ---------------------------------------------------------------- finding what a citation points at


def _norm_label(text: str | None) -> str:
    if not text:
        return ""
    text = text.strip().rstrip(_SUPERSCRIPTS).strip()
    return _WS.sub(" ", text).casefold()


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def tables_numbered(report: Report, number: int) -> list[Table]:
    """All blocks cited as table `number` (a numbered table and blocks attached to it)."""
    return [tb for tb in report.tables if tb.cite_number == number]


def find_row(table: Table, label: str | None, lines: tuple[int, int] | None = None) -> Row | None:
    """The row with this label (footnote markers and case ignored), else the row on these lines."""
    if label:
        row = table.row(label)
        if row is not None:
            return row
        wanted = _norm_label(label)
        for r in table.rows:
            if _norm_label(r.label) == wanted:
                return r
    if lines is not None and lines[0] > 0:
        for r in table.rows:
            if _overlaps(r.lines, lines):
                return r
    return None


def find_table(report: Report, citation: Citation) -> tuple[Table | None, Row | None]:
    """The table block a table citation points at, and the cited row in it."""
    if citation.table is None:
        return None, None
    candidates = tables_numbered(report, citation.table)
    # Prefer the block whose lines hold the cited line, then the block that has the row.
    candidates.sort(key=lambda tb: (not _overlaps(tb.lines, citation.lines), tb.number is None))
    for tb in candidates:
        row = find_row(tb, citation.row, citation.lines)
        if row is not None:
            return tb, row
    return (candidates[0], None) if candidates else (None, None)


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


def table_title(table: Table, lang: str | None = None) -> str:
    """Plain text: 'Tabell 1 – Tabell 1 viser …' shortened to the caption when it names itself."""
    number = table.cite_number
    caption = (table.caption or "").strip()
    if number is None:
        return caption or t("uncaptioned", lang)
    prefix = f"{t('table', lang)} {number}"
    if not caption:
        return f"{prefix} ({t('uncaptioned', lang)})"
    if re.match(rf"\s*(tabell|table)\s+{number}\b", caption, flags=re.IGNORECASE):
        return caption
    return f"{prefix}: {caption}"


def render_table_html(
    table: Table,
    lang: str | None = None,
    hit_row: Row | None = None,
    hit_column: str | None = None,
) -> str:
    """A table as HTML with caption, unit and footnotes; the cited row gets `row-hit` and the
    cited cell `cell-hit`."""
    cols = list(table.columns)
    hit_col = hit_column if hit_column in cols else None
    out: list[str] = ['<div class="src src-table">']
    meta = [table.chapter.display, lines_text(table.lines, lang)]
    out.append(f'<p class="src-meta">{esc(" · ".join(m for m in meta if m))}</p>')
    out.append(
        f'<div class="table-scroll" role="region" tabindex="0" aria-label="{esc(table_title(table, lang))}">'
    )
    out.append('<table class="report-table">')
    caption = f'<span class="caption-text">{esc(table_title(table, lang))}</span>'
    if table.unit:
        caption += f' <span class="unit">({esc(t("unit", lang))}: {esc(table.unit)})</span>'
    out.append(f"<caption>{caption}</caption><thead>")
    if table.group_header:
        out.append(
            f'<tr><td></td><th scope="colgroup" colspan="{len(cols)}">{esc(table.group_header)}</th></tr>'
        )
    out.append(f'<tr><th scope="col">{esc(table.label_header or "")}</th>')
    for col in cols:
        cls = ' class="col-hit"' if col == hit_col else ""
        out.append(f'<th scope="col"{cls}>{esc(col)}</th>')
    out.append("</tr></thead><tbody>")
    section: str | None = None
    previous_label: str | None = None
    for row in table.rows:
        if row.section and row.section != section and _norm_label(row.section) != _norm_label(previous_label):
            out.append(
                f'<tr class="section-row"><th scope="colgroup" colspan="{len(cols) + 1}">{esc(row.section)}</th></tr>'
            )
        section, previous_label = row.section, row.label
        is_hit = hit_row is not None and row is hit_row
        classes = ["row-hit"] if is_hit else []
        if row.uncertain:
            classes.append("row-uncertain")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        title = (
            f' title="{esc(t("uncertain", lang) + (": " + row.reason if row.reason else ""))}"'
            if row.uncertain
            else ""
        )
        out.append(
            f'<tr{cls}{title} data-lines="{row.lines[0]}-{row.lines[1]}"><th scope="row">{esc(row.label)}'
        )
        if row.footnotes:
            out.append(f'<sup class="fn">{esc(",".join(row.footnotes))}</sup>')
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


def cell_citation_text(table: Table, row: Row, column: str, lang: str | None = None) -> str:
    """One line to paste elsewhere: '-679,4 mill. kr — Tabell 1, rad «Netto driftsresultat»,
    kolonne «Regnskap 2020», linje 350'."""
    cell = row.cell(column)
    raw = cell.raw if cell is not None and cell.raw else "–"
    unit = _unit_inline(table.unit)
    value = f"{raw} {unit}" if unit and cell is not None and cell.value is not None else raw
    number = table.cite_number
    where = f"{t('table', lang)} {number}" if number is not None else (table.caption or t("table", lang))
    if lang == "en":
        quoted_row, quoted_col = f"“{row.label}”", f"“{column}”"
    else:
        quoted_row, quoted_col = f"«{row.label}»", f"«{column}»"
    return f"{value} — {where}, {t('row', lang)} {quoted_row}, {t('column', lang)} {quoted_col}, {lines_text(row.lines, lang)}"


def _unit_inline(unit: str | None) -> str | None:
    """'Mill. kr' -> 'mill. kr' (a capitalised word is lower-cased, 'NOK' is kept)."""
    if not unit:
        return None
    unit = unit.strip()
    if len(unit) > 1 and unit[0].isupper() and unit[1].islower():
        return unit[0].lower() + unit[1:]
    return unit


# ---------------------------------------------------------------- prose


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


def _find_quote(text: str, quote: str) -> _Span | None:
    """Where `quote` occurs in `text`, tolerant of line breaks, soft hyphens and spacing."""
    quote = quote.replace("\u00ad", "").strip()
    if not quote:
        return None
    idx = text.find(quote)
    if idx >= 0:
        return _Span(idx, idx + len(quote))
    words = quote.split()
    pattern = r"[\s\u00ad]+".join(re.escape(w) for w in words)
    m = re.search(pattern, text, flags=re.IGNORECASE)
    if m:
        return _Span(m.start(), m.end())
    return None


def render_passage_html(
    report: Report,
    citation: Citation,
    passage: Passage | None = None,
    lang: str | None = None,
) -> str:
    """The passage around a prose citation, line by line with line numbers; cited lines get
    `line-hit` and the cited sentence is wrapped in <mark class="quote-hit">."""
    cited = (int(citation.lines[0]), int(citation.lines[1]))
    # The cited lines with a little context, kept inside the passage when there is one (a passage's
    # span can be long when the page layout interleaves it with other text).
    first, last = max(1, cited[0] - PROSE_CONTEXT_LINES), cited[1] + PROSE_CONTEXT_LINES
    chapter = citation.chapter
    section = None
    if passage is not None:
        first, last = max(first, min(passage.lines[0], cited[0])), min(last, max(passage.lines[1], cited[1]))
        chapter = chapter or passage.chapter.display
        section = passage.section
    last = min(last, len(report.lines))
    out: list[str] = ['<div class="src src-prose">']
    meta = [chapter, lines_text(cited, lang)]
    out.append(f'<p class="src-meta">{esc(" · ".join(m for m in meta if m))}</p>')
    if section:
        out.append(f'<p class="src-section">{esc(section)}</p>')
    if first > last:  # no source lines to show (e.g. a report without its text): show the quote
        out.append(
            f'<blockquote class="passage"><mark class="quote-hit">{esc_multiline(citation.quote)}</mark></blockquote></div>'
        )
        return "".join(out)
    source_lines = [report.lines[i - 1] for i in range(first, last + 1)]
    joined = "\n".join(source_lines)
    span = _find_quote(joined, citation.quote)
    out.append('<ol class="passage">')
    offset = 0
    for number, line in zip(range(first, last + 1), source_lines, strict=True):
        start, end = offset, offset + len(line)
        offset = end + 1
        cls = ' class="line-hit"' if cited[0] <= number <= cited[1] else ""
        if span is not None and span.start < end and start < span.end:
            a, b = max(span.start, start) - start, min(span.end, end) - start
            body = f'{esc(line[:a])}<mark class="quote-hit">{esc(line[a:b])}</mark>{esc(line[b:])}'
        else:
            body = esc(line)
        out.append(f'<li{cls}><span class="ln" aria-hidden="true">{number}</span> {body}</li>')
    out.append("</ol>")
    if span is None and citation.quote:
        out.append(
            f'<p class="quote-fallback"><span class="sources-label">{esc(t("cited_quote", lang))}:</span> '
            f'<mark class="quote-hit">{esc_multiline(citation.quote)}</mark></p>'
        )
    out.append("</div>")
    return "".join(out)


# ---------------------------------------------------------------- the sources panel


def render_source_html(report: Report | None, citation: Citation | None, lang: str | None = None) -> str:
    """What a chip shows: the cited table with row and cell highlighted, or the cited passage."""
    if citation is None:
        return render_notice_html(t("source_empty", lang))
    if report is None:
        return render_notice_html(t("error_source", lang))
    if citation.table is not None:
        table, row = find_table(report, citation)
        if table is None:
            return render_notice_html(t("error_source", lang) + f" ({chip_label(citation, lang)})")
        return render_table_html(table, lang, hit_row=row, hit_column=citation.column)
    return render_passage_html(report, citation, find_passage(report, citation.lines), lang)


def render_notice_html(message: str) -> str:
    return f'<div class="src src-empty"><p>{esc(message)}</p></div>'


# ---------------------------------------------------------------- page styling

CSS = """
.answer-value { font-size: 1.6rem; font-weight: 700; margin: 0 0 .25rem 0; line-height: 1.2; }
.answer-text { margin: 0 0 .4rem 0; }
.answer.abstained .answer-text { font-style: italic; }
.answer-error { color: #8a1c1c; }
.dark .answer-error { color: #ffb4b4; }
.answer-sources { margin: .25rem 0 0 0; font-size: .85rem; color: #3b3b3b; }
.dark .answer-sources { color: #d0d0d0; }
.sources-label { font-weight: 600; margin-right: .25rem; }
#chat .options .option, .chip-radio label {
  display: inline-block; border-radius: 999px; padding: .15rem .7rem; margin: .15rem .25rem .15rem 0;
  border: 1px solid #1f4e79; background: #e8f1fa; color: #0b2e4f; font-size: .9rem; line-height: 1.5;
}
.dark #chat .options .option, .dark .chip-radio label { background: #12324f; color: #e8f1fa; border-color: #7fb2e5; }
#chat .options { display: flex; flex-wrap: wrap; justify-content: flex-start; margin: 0 0 .5rem 0; padding: .25rem .75rem;
  gap: .35rem; max-width: 100%; }
#chat .options .option { cursor: pointer; display: inline-block; width: auto; max-width: 100%; text-align: left;
  border-style: solid; border-width: 2px; font-weight: 600; padding: .3rem .8rem; }
#chat .options .option:hover, #chat .options .option:focus-visible { background: #cfe2f5; outline: 3px solid #1f4e79; outline-offset: 1px; }
.dark #chat .options .option:hover, .dark #chat .options .option:focus-visible { background: #1d4a72; outline-color: #7fb2e5; }
.src-meta { font-size: .85rem; color: #3b3b3b; margin: 0 0 .3rem 0; }
.dark .src-meta { color: #d0d0d0; }
.table-scroll { overflow-x: auto; max-width: 100%; }
.table-scroll:focus-visible { outline: 3px solid #1f4e79; }
table.report-table { border-collapse: collapse; width: 100%; font-size: .9rem; }
table.report-table caption { caption-side: top; text-align: left; font-weight: 600; padding: .3rem 0; }
table.report-table caption .unit { font-weight: 400; }
table.report-table th, table.report-table td { border: 1px solid #b8b8b8; padding: .2rem .45rem; vertical-align: top; }
table.report-table th[scope="row"] { text-align: left; font-weight: 400; }
table.report-table thead th { font-weight: 600; }
table.report-table td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.report-table tr.row-hit, table.report-table tr.row-hit > th, table.report-table tr.row-hit > td {
  background: #fff4c2; color: #1a1a1a; }
table.report-table td.cell-hit { background: #ffd54f; color: #000; font-weight: 700; outline: 3px solid #8a5a00; outline-offset: -3px; }
table.report-table th.col-hit { background: #fff4c2; color: #1a1a1a; }
table.report-table tr.section-row th { text-align: left; font-weight: 600; font-style: italic; }
table.report-table tr.row-uncertain th[scope="row"]::after { content: " ?"; color: #8a5a00; }
.footnotes { font-size: .85rem; margin-top: .4rem; }
.footnotes-title { font-weight: 600; margin: 0; }
.footnotes ol { list-style: none; padding-left: 0; margin: .2rem 0; }
.fn-marker { font-weight: 600; margin-right: .3rem; }
ol.passage { list-style: none; padding-left: 0; margin: 0; font-size: .95rem; }
ol.passage li { padding: .05rem .3rem; }
ol.passage li.line-hit, ol.passage li.line-hit .ln { background: #fff4c2; color: #1a1a1a; }
ol.passage .ln { display: inline-block; min-width: 3.2em; color: #555; font-variant-numeric: tabular-nums; user-select: none; }
mark.quote-hit { background: #ffd54f; color: #000; padding: 0 .1rem; }
.src-section { font-weight: 600; margin: 0 0 .2rem 0; }
.user-question { white-space: normal; overflow-wrap: anywhere; }
@media (max-width: 640px) {
  .answer-value { font-size: 1.3rem; }
  table.report-table { font-size: .8rem; }
  table.report-table th, table.report-table td { padding: .15rem .3rem; }
  #chat .options .option { font-size: .85rem; }
}
"""
