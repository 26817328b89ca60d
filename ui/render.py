"""HTML for the chat: the question, the answer (plain sentence first, then the printed figure with
its unit and one compact source line), chips, «Mente du …?» alternatives, follow-ups and the
«Slik ble svaret funnet» details.

Every string from a report, the engine or the user passes through `esc` before it becomes HTML.
Functions return single-line HTML so the chat's Markdown layer treats a message as one HTML
block. The chat's HTML sanitiser drops `data-*`, `aria-*` and event attributes, so a chip is a
link whose fragment names what it does (`#rapport-src-<turn>-<n>`, `#rapport-ask`); the page's
script (ui/assets.py) turns a click on one into an event for the app.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from rag.records import Alternative, Answer, Citation
from ui.i18n import html_lang, t

# Characters that Gradio's Markdown/LaTeX layers could read as syntax.
_EXTRA_ENTITIES = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;", "\\": "&#92;"})
CHIP_PREFIX = "#rapport-"


def esc(text: object) -> str:
    """Escape any value for HTML text or attribute context (None -> "")."""
    if text is None:
        return ""
    return html.escape(str(text), quote=True).translate(_EXTRA_ENTITIES)


def esc_multiline(text: object) -> str:
    """Escape, and keep line breaks as <br> (so the result stays one line)."""
    return "<br>".join(esc(part) for part in str(text if text is not None else "").splitlines())


# ---------------------------------------------------------------- where a citation points


def lines_text(lines: Sequence[int], lang: object = None) -> str:
    """'linje 350' or 'linje 226–229' ('line'/'lines' in English)."""
    first, last = int(lines[0]), int(lines[-1])
    if first == last:
        return f"{t('line', lang)} {first}"
    return f"{t('lines', lang)} {first}–{last}"


def where_text(citation: Citation, lang: object = None, staff: bool = False) -> str:
    """The page when the report has pages, else the source lines; staff see the lines as well."""
    if citation.page is not None:
        page = f"{t('page', lang)} {citation.page}"
        return f"{page}, {lines_text(citation.lines, lang)}" if staff else page
    return lines_text(citation.lines, lang)


def chapter_short(chapter: str | None, lang: object = None) -> str | None:
    """'02 ÅRSBERETNING' -> 'Kapittel 02'; a chapter name without a number is kept."""
    if not chapter:
        return None
    m = re.match(r"\s*(?:kapittel|chapter)?\s*(\d{1,3})\b", chapter, flags=re.IGNORECASE)
    if m:
        return f"{t('chapter', lang).capitalize()} {int(m.group(1)):02d}"
    return chapter.strip()


def chip_label(citation: Citation, lang: object = None, staff: bool = False) -> str:
    """Plain text naming what a citation points at: «Tabell 7 · Driftsinntekter · 2019»
    for a table fact, «Kapittel 02 · side 12» for prose (the report's title comes separately)."""
    if citation.table is not None or citation.row is not None:
        table = f"{t('table', lang)} {citation.table}" if citation.table else t("table", lang)
        parts = [table, citation.row, citation.column]
        if staff:
            parts.append(where_text(citation, lang, staff=True))
        return " · ".join(p for p in parts if p)
    parts = [chapter_short(citation.chapter, lang), where_text(citation, lang, staff)]
    return " · ".join(p for p in parts if p)


def source_line(citation: Citation, lang: object = None, staff: bool = False) -> str:
    """One compact line: «Kilde: Årsrapport 2019, Eksempel kommune · Tabell 1 · side 4»."""
    parts = [citation.report_title]
    if citation.table is not None or citation.row is not None:
        parts.append(f"{t('table', lang)} {citation.table}" if citation.table else t("table", lang))
    else:
        parts.append(chapter_short(citation.chapter, lang))
    parts.append(where_text(citation, lang, staff))
    return f"{t('source_line', lang)}: " + " · ".join(p for p in parts if p)


# ---------------------------------------------------------------- the figure


def unit_inline(unit: str | None) -> str | None:
    """'Mill. kr' -> 'mill. kr' (a capitalised word is lower-cased, 'NOK' is kept)."""
    if not unit:
        return None
    unit = unit.strip()
    if len(unit) > 1 and unit[0].isupper() and unit[1].islower():
        return unit[0].lower() + unit[1:]
    return unit


def figure_parts(answer: Answer) -> tuple[str, str | None] | None:
    """(the number as printed, its unit) for an answer with a number, else None."""
    if answer.abstained:
        return None
    raw = answer.value_raw
    if raw is None and answer.value is not None:
        raw = f"{answer.value:g}".replace(".", ",")
    if not raw:
        return None
    raw = raw.strip()
    unit = unit_inline(answer.unit)
    if unit and raw.casefold().endswith(unit.casefold()):  # "7,0 %" already carries its unit
        raw = raw[: -len(unit)].rstrip()
    return raw, unit


def figure_text(answer: Answer) -> str | None:
    """'-12,5 mill. kr' (the number as printed, then its unit)."""
    parts = figure_parts(answer)
    if parts is None:
        return None
    raw, unit = parts
    return f"{raw} {unit}" if unit and unit != "%" else f"{raw}{' %' if unit == '%' else ''}"


# ---------------------------------------------------------------- chips


def _chip(href: str, text: str, meta: str | None = None, css: str = "chip") -> str:
    meta_html = f'<span class="chip-meta"> · {esc(meta)}</span>' if meta else ""
    return f'<a class="{css}" href="{esc(href)}"><span class="chip-q">{esc(text)}</span>{meta_html}</a>'


def source_chips(turn_id: int, citations: Sequence[Citation], lang: object = None, staff: bool = False) -> str:
    """One chip per distinct citation; each opens that source beside the answer."""
    seen: set[tuple] = set()
    chips = []
    for i, c in enumerate(citations):
        key = (c.report, c.table, c.row, c.column, c.lines)
        if key in seen:
            continue
        seen.add(key)
        chips.append(_chip(f"{CHIP_PREFIX}src-{turn_id}-{i}", chip_label(c, lang, staff), c.report_title, "chip chip-src"))
    return "".join(chips)


def ask_chip(question: str, meta: str | None = None) -> str:
    """A chip that asks `question` when clicked (its text is the question, nothing else)."""
    return _chip(f"{CHIP_PREFIX}ask", question, meta, "chip chip-ask")


def _alternative_meta(alt: Alternative) -> str | None:
    value = None
    if alt.value_raw:
        unit = unit_inline(alt.unit)
        value = alt.value_raw if not unit or alt.value_raw.rstrip().endswith(unit) else f"{alt.value_raw} {unit}"
    parts = [value, alt.citation.report_title]
    return " · ".join(p for p in parts if p) or None


# ---------------------------------------------------------------- messages


def question_html(question: str) -> str:
    """The user's question as it appears in the chat: escaped text, nothing else."""
    return f'<div class="user-question">{esc_multiline(question)}</div>'


def pending_html(lang: object = None) -> str:
    return f'<div class="answer pending"><p class="answer-text">{esc(t("pending", lang))}</p></div>'


def streaming_html(text: str) -> str:
    """The model's text while it is being written: escaped plain text, no number or sources yet."""
    return f'<div class="answer streaming"><p class="answer-text">{esc_multiline(text.lstrip())}</p></div>'


def notice_html(message: str, kind: str = "notice", lang: object = None) -> str:
    """A message that is not an answer (busy, an error): no number, no source."""
    return (
        f'<div class="answer answer-{esc(kind)}" lang="{html_lang(lang)}">'
        f'<p class="answer-text">{esc_multiline(message)}</p></div>'
    )


def answer_html(
    turn_id: int,
    answer: Answer,
    lang: object = None,
    *,
    staff: bool = False,
    chart: str | None = None,
    followups: Sequence[str] = (),
    note: str | None = None,
) -> str:
    """An answer: the engine's sentence first; then the figure as printed with its unit and one
    compact source line; the chips that open each source; when the engine is unsure, its other
    readings as chips that ask them; follow-up questions; and a small chart of the row (`chart`,
    HTML from ui.charts) beside it."""
    classes = ["answer"]
    if answer.abstained:
        classes.append("abstained")
    if answer.alternatives and not answer.abstained:
        classes.append("unsure")
    out = [f'<div class="{" ".join(classes)}" lang="{html_lang(answer.lang)}"><div class="answer-main">']
    if answer.alternatives and not answer.abstained:
        out.append(f'<p class="badge badge-unsure">{esc(t("unsure_badge", lang))}</p>')
    out.append(f'<p class="answer-text">{esc_multiline(answer.answer)}</p>')
    figure = figure_parts(answer)
    if figure is not None:
        raw, unit = figure
        computed = answer.kind == "diff"
        badge = f' <span class="figure-note">({esc(t("computed", lang))})</span>' if computed else ""
        unit_html = f' <span class="figure-unit">{esc(unit)}</span>' if unit else ""
        out.append(
            f'<p class="answer-figure"><span class="figure-label">{esc(t("figure_label", lang))}:</span> '
            f'<span class="figure-value">{esc(raw)}</span>{unit_html}{badge}</p>'
        )
    if answer.citations:
        out.append(f'<p class="answer-source">{esc(source_line(answer.citations[0], lang, staff))}</p>')
        out.append(f'<p class="chips chips-src">{source_chips(turn_id, answer.citations, lang, staff)}</p>')
    if answer.alternatives:
        title = t("nearest_title", lang) if answer.abstained else t("did_you_mean", lang)
        chips = "".join(ask_chip(a.question, _alternative_meta(a)) for a in answer.alternatives)
        out.append(f'<div class="alternatives"><p class="alternatives-title">{esc(title)}</p><p class="chips">{chips}</p></div>')
    if followups:
        title = answer.citations[0].report_title if answer.citations else None
        chips = "".join(ask_chip(q, title) for q in followups)
        out.append(f'<div class="followups"><p class="followups-title">{esc(t("followups", lang))}</p><p class="chips">{chips}</p></div>')
    if staff and answer.confidence is not None:
        out.append(f'<p class="answer-staff">{esc(t("confidence", lang))}: {answer.confidence:.2f}</p>')
    if note:
        out.append(f'<p class="answer-note"><small>{esc(note)}</small></p>')
    out.append("</div>")
    if chart:
        out.append(chart)
    out.append("</div>")
    return "".join(out)


def details_lines(answer: Answer, lang: object = None, staff: bool = False) -> list[str]:
    """What goes in «Slik ble svaret funnet»: the engine's details (computation, sign notes,
    footnotes), and for staff the exact cells and lines cited."""
    lines = [d for d in answer.details if d and d.strip()]
    if staff:
        for c in answer.citations:
            label = chip_label(c, lang, staff=True)
            lines.append(f"{label} — «{' '.join(c.quote.split())[:200]}»")
    return lines


def details_html(answer: Answer, lang: object = None, staff: bool = False) -> str | None:
    """The details as a list, or None when there is nothing to say."""
    lines = details_lines(answer, lang, staff)
    if not lines:
        return None
    items = "".join(f"<li>{esc_multiline(line)}</li>" for line in lines)
    return f'<ul class="details" lang="{html_lang(answer.lang)}">{items}</ul>'
