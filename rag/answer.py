"""Answer writing: templates around the exact printed values, with citations.

Every number in an answer is a cell's or a sentence's printed form, or a difference of two
cited cells with the calculation shown. Row labels, column names and quotes stay in the
report's words.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ingest.numbers import decimals_of, format_no_number
from ingest.records import Report, Table
from rag.candidates import candidate_value
from rag.corpus import Corpus
from rag.decide import Decision, report_of
from rag.engine import Engine, Scored
from rag.layout import CELL, DIFF, FIGURE, SENTENCE
from rag.messages import t
from rag.overview import chapter_list, opening_lead
from rag.pairs import printed_difference
from rag.records import Alternative, Answer, Citation

_YEAR_ONLY = re.compile(r"^\s*((?:19|20)\d{2})\s*$")
_ACCOUNTS = re.compile(r"(?i)^\s*regnskap\s+((?:19|20)\d{2})\s*$")
_BUDGET = re.compile(r"(?i)^\s*budsjett\s+((?:19|20)\d{2})\s*$")
_SIGN_NOTE = re.compile(r"[^.]*(negativt fortegn|med minus|negative tall|angitt med minus)[^.]*\.", re.I)


@dataclass(frozen=True)
class Written:
    text: str
    citations: tuple[Citation, ...]
    value: float | None = None
    value_raw: str | None = None
    unit: str | None = None
    details: tuple[str, ...] = ()


# --------------------------------------------------------------------------- citations


def _report_id(report: Report) -> str | None:
    return report.meta.id if report.meta else None


def _title(report: Report) -> str | None:
    if report.meta is None:
        return None
    m = report.meta
    return f"{m.title}, {m.municipality}" if m.municipality and m.municipality.split()[0] not in m.title else m.title


def cell_citation(corpus: Corpus, cell: int) -> Citation:
    row = corpus.rows[int(corpus.cell_row[cell])]
    col = corpus.columns[int(corpus.cell_col[cell])]
    ti = corpus.tables[row.table]
    report = corpus.reports[ti.report]
    return Citation(
        report=_report_id(report), table=ti.table.cite_number, row=row.row.label, column=col.name,
        chapter=ti.table.chapter.display, lines=(int(row.row.lines[0]), int(row.row.lines[1])),
        quote=row.row.source, page=report.page_of(row.row.lines[0]), table_index=ti.index,
        row_index=row.index, column_index=col.index, report_title=_title(report), value_raw=corpus.cell_raw[cell],
    )


def sentence_citation(corpus: Corpus, sentence: int) -> Citation:
    s = corpus.sentences[sentence]
    report = corpus.reports[s.report]
    return Citation(report=_report_id(report), table=None, row=None, column=None, chapter=s.chapter.display,
                    lines=s.lines, quote=s.text, page=report.page_of(s.lines[0]), report_title=_title(report))


def lead_citation(corpus: Corpus, lead: int) -> Citation:
    info = corpus.leads[lead]
    report = corpus.reports[info.report]
    return Citation(report=_report_id(report), table=None, row=None, column=None, chapter=info.chapter.display,
                    lines=info.lines, quote=info.text, page=report.page_of(info.lines[0]), report_title=_title(report))


def chapter_text(display: str | None, lang: str) -> str:
    if not display:
        return t(lang, "chapter")
    if re.match(r"(?i)^(kapittel|chapter)\b", display):
        return display if lang == "no" else re.sub(r"(?i)^kapittel", "Chapter", display)
    return f"{t(lang, 'chapter')} {display}"


def where_text(c: Citation, lang: str) -> str:
    """Page when the report has pages, else source lines."""
    if c.page is not None:
        return f"{t(lang, 'page')} {c.page}"
    word = t(lang, "lines") if c.lines[0] != c.lines[1] else t(lang, "line")
    return f"{word} {c.lines[0]}" if c.lines[0] == c.lines[1] else f"{word} {c.lines[0]}–{c.lines[1]}"


def cite_text(c: Citation, lang: str) -> str:
    head = f"{c.report_title}, " if c.report_title else ""
    if c.table is not None or c.row is not None:
        table = f"{t(lang, 'table')} {c.table}" if c.table else t(lang, "table")
        return f"{head}{table}, {t(lang, 'row')} «{c.row}», {t(lang, 'column')} «{c.column}» ({where_text(c, lang)})"
    return f"{head}{chapter_text(c.chapter, lang)}, {where_text(c, lang)}"


# --------------------------------------------------------------------------- units and signs


def cell_unit(table: Table, label: str, raw: str) -> str | None:
    """The unit of a cell as the report gives it: the table's, except that a row «per innbygger»
    is not in millions; a percent cell is «%»."""
    if "%" in raw:
        return "%"
    unit = (table.unit or "").strip().rstrip(".") or None
    if unit and re.search(r"\bper\b", label, re.I):
        rest = re.sub(r"(?i)^mill\.?\s*", "", unit)
        return f"{rest} {label[label.lower().index('per'):]}".strip() if rest else label[label.lower().index("per"):]
    if unit:
        return unit[0].lower() + unit[1:] if unit[:1].isupper() and not unit[:2].isupper() else unit
    m = re.search(r"\(([^)]*(?:kr|kroner|prosent|%|tonn|km|kvm|m2|årsverk)[^)]*)\)", label, re.I)
    if m:
        return m.group(1)
    return None


def _unit_suffix(unit: str | None, raw: str) -> str:
    if not unit or unit == "%" and "%" in raw:
        return ""
    if unit[:1].isdigit():  # «2020-kr per innbygger»: its digits must not read as part of the number
        return f" ({unit})"
    return " " + unit


def sign_note(corpus: Corpus, table_gid: int, value: float, lang: str) -> str | None:
    """The report's own note on signs that applies to this table: a caption that says how
    overspend is shown, or a sentence of the same chapter that says income is negative."""
    ti = corpus.tables[table_gid]
    tbl = ti.table
    m = re.search(r"\(([^)]*(?:minus|negativ)[^)]*)\)", tbl.caption, re.I)
    if m:
        return t(lang, "sign_overspend", note=m.group(1), where=f"{t(lang, 'table')} {tbl.cite_number}")
    if value >= 0:
        return None
    report = corpus.reports[ti.report]
    for p in report.passages:
        if p.chapter == tbl.chapter:
            note = _SIGN_NOTE.search(p.text)
            if note and re.search(r"inntekt", note.group(0), re.I):
                where = chapter_text(p.chapter.display, lang) + ", " + (
                    f"{t(lang, 'page')} {report.page_of(p.lines[0])}" if report.page_starts
                    else f"{t(lang, 'line')} {p.lines[0]}")
                return t(lang, "sign_income", where=where)
    return None


def _when(col: str, lang: str) -> str | None:
    for pattern, key in ((_YEAR_ONLY, "in_year"), (_ACCOUNTS, "in_accounts"), (_BUDGET, "in_budget")):
        m = pattern.match(col)
        if m:
            return t(lang, key, y=m.group(1))
    return None


# --------------------------------------------------------------------------- writers


def write_cell(corpus: Corpus, cell: int, lang: str) -> Written:
    row = corpus.rows[int(corpus.cell_row[cell])]
    col = corpus.columns[int(corpus.cell_col[cell])]
    table = corpus.tables[row.table].table
    raw = corpus.cell_raw[cell]
    value = float(corpus.cell_value[cell])
    unit = cell_unit(table, row.row.label, raw)
    label = f"«{row.row.label}»"
    when = _when(col.name, lang)
    text = (t(lang, "cell", label=label, when=when, v=raw, unit=_unit_suffix(unit, raw)) if when
            else t(lang, "cell_col", label=label, col=f"«{col.name}»", v=raw, unit=_unit_suffix(unit, raw)))
    if lang == "no":
        text = text[0].upper() + text[1:]
    cite = cell_citation(corpus, cell)
    details = []
    note = sign_note(corpus, row.table, value, lang)
    if note:
        details.append(note)
    for marker in dict.fromkeys(row.row.footnotes):
        fn = next((f.text for f in table.footnotes if f.marker == marker), None)
        if fn:
            details.append(t(lang, "footnote", text=fn if len(fn) <= 220 else fn[:217].rsplit(" ", 1)[0] + " …"))
    if row.row.uncertain:
        details.append(t(lang, "uncertain", why=f" ({row.row.reason})" if row.row.reason else ""))
    return Written(text, (cite,), value, raw, unit or (t(lang, "count") if "%" not in raw else "%"), tuple(details))


def write_diff(corpus: Corpus, a: int, b: int, lang: str) -> Written:
    ra, rb = corpus.rows[int(corpus.cell_row[a])], corpus.rows[int(corpus.cell_row[b])]
    ca, cb = corpus.columns[int(corpus.cell_col[a])], corpus.columns[int(corpus.cell_col[b])]
    raw_a, raw_b = corpus.cell_raw[a], corpus.cell_raw[b]
    value = float(corpus.cell_value[a] - corpus.cell_value[b])
    raw = format_no_number(value, max(decimals_of(raw_a), decimals_of(raw_b)))
    printed = printed_difference(corpus, a, b)
    if printed is not None:  # the report's own figure, in the order the question asked for
        computed_raw = raw
        value = math.copysign(abs(float(corpus.cell_value[printed])), value)
        raw = format_no_number(value, decimals_of(corpus.cell_raw[printed]))
    table = corpus.tables[ra.table].table
    unit = cell_unit(table, ra.row.label, raw_a)
    same_row = ra.index == rb.index and ra.table == rb.table
    label_b = "" if same_row else f"«{rb.row.label}» "
    text = t(lang, "diff", v=raw, unit=_unit_suffix(unit, raw), label_a=f"«{ra.row.label}»", col_a=f"«{ca.name}»",
             raw_a=raw_a, label_b=label_b, col_b=f"«{cb.name}»", raw_b=raw_b)
    unit = unit or (t(lang, "count") if "%" not in raw_a else "%")
    cites = (cell_citation(corpus, a), cell_citation(corpus, b))
    if printed is None:
        return Written(text, cites, value, raw, unit, (t(lang, "diff_work", raw_a=raw_a, raw_b=raw_b, v=raw),))
    col = corpus.columns[int(corpus.cell_col[printed])].name
    same = computed_raw.lstrip("-") == raw.lstrip("-")  # no rounding gap to explain
    details = (t(lang, "diff_printed_same" if same else "diff_printed", col=col, printed=corpus.cell_raw[printed],
                 computed=computed_raw),)
    return Written(text, (cell_citation(corpus, printed), *cites), value, raw, unit, details)


def write_figure(corpus: Corpus, fig: int, lang: str) -> Written:
    f = corpus.figures[fig]
    sent = int(corpus.figure_sentence[fig])
    unit = f.unit or (f.after.split()[0] if f.after else None) or t(lang, "count")
    shown_unit = f" {f.unit}" if f.unit and f.unit != "%" else ("%" if f.unit == "%" else "")
    text = t(lang, "figure", v=f.raw, unit=shown_unit, q=corpus.sentences[sent].text)
    return Written(text, (sentence_citation(corpus, sent),), f.value, f.raw, unit)


def write_sentence(corpus: Corpus, sent: int, lang: str) -> Written:
    return Written(t(lang, "sentence", q=corpus.sentences[sent].text), (sentence_citation(corpus, sent),))


def write_lead(corpus: Corpus, lead: int, lang: str) -> Written:
    info = corpus.leads[lead]
    return Written(t(lang, "lead", heading=info.heading, q=info.text), (lead_citation(corpus, lead),))


def write_candidate(engine: Engine, scored: Scored, i: int, lang: str) -> Written:
    corpus = engine.corpus
    kind, ref = int(scored.cands.kind[i]), int(scored.cands.ref[i])
    if kind == CELL:
        return write_cell(corpus, ref, lang)
    if kind == DIFF:
        a, b = scored.cands.pairs[ref]
        return write_diff(corpus, a, b, lang)
    if kind == FIGURE:
        return write_figure(corpus, ref, lang)
    if kind == SENTENCE:
        return write_sentence(corpus, ref, lang)
    return write_lead(corpus, ref, lang)


def alternative_question(engine: Engine, scored: Scored, i: int, lang: str) -> str:
    """A precise question that asks for candidate i (what a «Mente du …?» chip sends)."""
    corpus = engine.corpus
    kind, ref = int(scored.cands.kind[i]), int(scored.cands.ref[i])
    if kind in (CELL, DIFF):
        cell = ref if kind == CELL else scored.cands.pairs[ref][0]
        row = corpus.rows[int(corpus.cell_row[cell])]
        ti = corpus.tables[row.table]
        n = ti.table.cite_number or "?"
        if kind == DIFF:
            a, b = scored.cands.pairs[ref]
            return t(lang, "ask_diff", col_a=corpus.columns[int(corpus.cell_col[a])].name,
                     col_b=corpus.columns[int(corpus.cell_col[b])].name, label=row.row.label, n=n)
        col = corpus.columns[int(corpus.cell_col[cell])].name
        if engine.several_reports:
            return t(lang, "ask_cell_report", label=row.row.label, col=col, n=n,
                     title=_title(corpus.reports[ti.report]) or "")
        return t(lang, "ask_cell", label=row.row.label, col=col, n=n)
    sent = int(corpus.figure_sentence[ref]) if kind == FIGURE else ref
    text = corpus.sentences[sent].text if kind in (FIGURE, SENTENCE) else corpus.leads[ref].heading
    short = text if len(text) <= 90 else text[:87].rsplit(" ", 1)[0] + " …"
    report = corpus.reports[corpus.sentences[sent].report if kind in (FIGURE, SENTENCE) else corpus.leads[ref].report]
    if engine.several_reports and _title(report):  # the title's municipality and year route the question back
        return t(lang, "ask_sentence_report", q=short, title=_title(report))
    return t(lang, "ask_sentence", q=short)


def write_answer(engine: Engine, scored: Scored, decision: Decision, question: str) -> Answer:
    a = scored.analysis
    lang = a.lang
    alternatives = []
    for i in decision.alternatives:
        w = write_candidate(engine, scored, i, lang)
        alternatives.append(Alternative(alternative_question(engine, scored, i, lang), w.value, w.value_raw, w.unit,
                                        w.citations[0], float(scored.scores[i])))
    if decision.abstain:
        w = write_abstention(engine, scored, decision, lang)
        answer, abstained, kind, report = w.text, True, None, None
    else:
        assert decision.best is not None
        w = write_candidate(engine, scored, decision.best, lang)
        kind_code = int(scored.cands.kind[decision.best])
        kind = ("cell", "figure", "sentence", "lead", "diff")[kind_code]
        answer, abstained = w.text, False
        if decision.reason == "report_overview":  # the whole report: its chapters, then its key figures or opening
            home = report_of(engine, scored, decision.best)
            report = engine.corpus.reports[home]
            chapters = chapter_list(report)
            if chapters:
                title = _title(report) or t(lang, "the_report")
                opening = int(scored.cands.ref[decision.best]) == opening_lead(engine.corpus, home)
                key = "report_chapters" if opening else "report_key_figures"
                answer = t(lang, key, title=title, chapters=chapters) + " " + answer
        report = w.citations[0].report if w.citations else None
        if engine.several_reports and w.citations and w.citations[0].report_title:
            answer += " " + t(lang, "from_report", title=w.citations[0].report_title)
        if alternatives:
            answer += " " + t(lang, "unsure")
    if a.injection:
        answer = t(lang, "injection") + " " + answer
    if a.followup:
        answer += " " + t(lang, "followup", q=a.text)
    trace = (
        f"analysis: {a.to_dict()}",
        f"decision: {'abstain ' + str(decision.reason) if decision.abstain else 'answer'}"
        + (f" (confidence {decision.confidence:.2f})" if decision.confidence is not None else ""),
    )
    value = None if abstained else w.value
    return Answer(
        question=question, answer=answer, abstained=abstained, value=value, unit=None if abstained else w.unit,
        citations=() if abstained else w.citations, lang=lang, mode="extractive",
        value_raw=None if abstained else w.value_raw, trace=trace,
        alternatives=tuple(alternatives), confidence=decision.confidence, report=report,
        details=w.details, kind=kind,
    )


def write_abstention(engine: Engine, scored: Scored, d: Decision, lang: str) -> Written:
    corpus = engine.corpus
    if d.reason == "other_municipality":
        homes = sorted({r.meta.municipality for r in corpus.reports if r.meta and r.meta.municipality}) or ["kommunen"]
        return Written(t(lang, "abstain_other", home=", ".join(homes), what=d.detail), ())
    if d.reason == "year":
        return Written(t(lang, "abstain_year", y=d.detail) if d.detail else t(lang, "abstain_year_unnamed"), ())
    if d.reason == "nothing_asked":
        return Written(t(lang, "abstain_nothing"), ())
    text = t(lang, "abstain_none")
    if d.best is not None:
        w = write_candidate(engine, scored, d.best, lang)
        if w.citations:
            c = w.citations[0]
            what = (t(lang, "nearest_cell", n=c.table, label=c.row) if c.row
                    else t(lang, "nearest_text", ch=chapter_text(c.chapter, lang), lines=where_text(c, lang)))
            text += " " + t(lang, "nearest", what=what)
    return Written(text, ())


__all__ = ["write_answer", "cite_text", "candidate_value", "Written"]
