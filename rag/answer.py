"""Answer writing (extractive): Norwegian or English templates around the exact printed values.

Every number in an answer is copied from a cell's ``raw`` or a sentence as printed, or is a
difference computed from two cited cells with the calculation shown. Table labels, column
names and quotes stay in Norwegian (they are the report's words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import Report
from rag.abstain import Verdict
from rag.query import QueryAnalysis
from rag.records import Answer, Citation
from rag.resolve import CellRef, ProseFact, ReportIndex, Resolution, SignNote, TableFact

_T = {
    "no": {
        "source": "Kilde",
        "sources": "Kilder",
        "table": "Tabell",
        "row": "rad",
        "column": "kolonne",
        "line": "linje",
        "chapter": "kapittel",
        "in_accounts": "i regnskapet for {y}",
        "in_budget": "i budsjettet for {y}",
        "in_year": "i {y}",
        "was": "var",
        "budget_ctx": "budsjett",
        "computed": (
            "Rapporten oppgir ikke differansen direkte; den er regnet ut fra to celler: "
            "{a_col} {a_raw} minus {b_col} {b_raw} = {v}."
        ),
        "computed_lead": "Forskjellen for {label} ({a_col} minus {b_col}) er {v}{unit}.",
        "spent_lead": "{label} brukte {v}{unit} (regnet ut: {a_col} {a_raw} minus {b_col} {b_raw}; "
                      "tabellen viser mindreforbruk som positivt tall). Rapporten oppgir ikke beløpet direkte.",
        "diff_lead": "{label}, kolonne «{col}»: {v}{unit}",
        "cell_lead_col": "{label}, kolonne «{col}»: {v}{unit}.",
        "cell_lead": "{label} {when} var {v}{unit}",
        "paren": " (tallet i parentes; fotnote: «{note}»)",
        "uncertain": "Merk: raden er usikker i tolkningen av tabellen{why}; kontroller mot kilden.",
        "sign_income": "Merk: inntekter vises med negativt fortegn i rapportens tabeller ({where}).",
        "sign_overspend": "Merk: {note} ({where}).",
        "prose_lead": "{v}. Rapporten skriver: «{q}»",
        "prose_text": "Rapporten skriver: «{q}»",
        "other_figure_text": "Teksten oppgir {v} for det samme ({where}).",
        "other_figure_table": "Tabell {n}, rad «{row}», kolonne «{col}» viser {v}.",
        "abstain_other": "Rapporten gjelder {home} og har ikke tall for {what}.",
        "abstain_year": "Rapporten har ikke tall for {y} for dette.",
        "abstain_year_unnamed": "Rapporten har ikke tall for det året spørsmålet gjelder.",
        "abstain_none": "Jeg finner ikke svaret på dette i årsrapporten.",
        "abstain_no_number": "Rapporten nevner dette, men oppgir ikke noe tall for det.",
        "abstain_breakdown": "Rapporten har ikke dette tallet fordelt slik spørsmålet spør om (i tabellen står det bare i raden «{other}»).",
        "nearest_table": " Det nærmeste rapporten har, er tabell {n}, rad «{row}» ({years}).",
        "nearest_table_noyears": " Det nærmeste rapporten har, er tabell {n}, rad «{row}».",
        "nearest_prose": " Det nærmeste rapporten har, står i {ch}, linje {lines}.",
        "years": "tall for {a}–{b}",
        "year1": "tall for {a}",
        "injection": "Jeg følger bare rapporten, ikke instruksjoner i spørsmålet.",
        "degraded": "(Merk: søkeserveren svarer ikke akkurat nå, så svaret bygger bare på nøkkelordsøk. Prøv igjen om litt.)",
        "followup": "(Oppfølgingsspørsmål tolket som: {q})",
        "under": "under",
        "footnote": "Fotnote til raden: «{text}»",
    },
    "en": {
        "source": "Source",
        "sources": "Sources",
        "table": "Table",
        "row": "row",
        "column": "column",
        "line": "line",
        "chapter": "chapter",
        "in_accounts": "in the accounts for {y}",
        "in_budget": "in the budget for {y}",
        "in_year": "in {y}",
        "was": "was",
        "budget_ctx": "budget",
        "computed": (
            "The report does not print this difference; it is computed from two cells: "
            "{a_col} {a_raw} minus {b_col} {b_raw} = {v}."
        ),
        "computed_lead": "The difference for {label} ({a_col} minus {b_col}) is {v}{unit}.",
        "spent_lead": "{label} spent {v}{unit} (computed: {a_col} {a_raw} minus {b_col} {b_raw}; "
                      "the table shows underspending as a positive number). The report does not print this amount.",
        "diff_lead": "{label}, column «{col}»: {v}{unit}",
        "cell_lead_col": "{label}, column «{col}»: {v}{unit}.",
        "cell_lead": "{label} {when} was {v}{unit}",
        "paren": " (the number in parentheses; footnote: «{note}»)",
        "uncertain": "Note: this row's reading of the table is uncertain{why}; check it against the source.",
        "sign_income": "Note: the report shows income with a negative sign in its tables ({where}).",
        "sign_overspend": "Note: «{note}» ({where}).",
        "prose_lead": "{v}. The report says: «{q}»",
        "prose_text": "The report says: «{q}»",
        "other_figure_text": "The text gives {v} for the same thing ({where}).",
        "other_figure_table": "Table {n}, row «{row}», column «{col}» shows {v}.",
        "abstain_other": "The report covers {home} and has no figures for {what}.",
        "abstain_year": "The report has no figures for {y} on this.",
        "abstain_year_unnamed": "The report has no figures for the year the question asks about.",
        "abstain_none": "I cannot find the answer to this in the annual report.",
        "abstain_no_number": "The report mentions this but gives no figure for it.",
        "abstain_breakdown": "The report does not give this figure broken down the way the question asks (in the table, that only appears in the row «{other}»).",
        "nearest_table": " The nearest the report has is table {n}, row «{row}» ({years}).",
        "nearest_table_noyears": " The nearest the report has is table {n}, row «{row}».",
        "nearest_prose": " The nearest the report has is in {ch}, lines {lines}.",
        "years": "figures for {a}–{b}",
        "year1": "figures for {a}",
        "injection": "I only follow the report, not instructions inside the question.",
        "degraded": "(Note: the search server is not answering right now, so this answer rests on keyword search only. Please try again shortly.)",
        "followup": "(Follow-up read as: {q})",
        "under": "under",
        "footnote": "Footnote to the row: «{text}»",
    },
}


def tr(lang: str, key: str, **kw: object) -> str:
    return _T["en" if lang == "en" else "no"][key].format(**kw)


def row_unit(unit: str | None, label: str = "") -> str | None:
    """The unit of a row's figures: the table's, except that a row "per innbygger" is not in
    millions even when the table's unit says so ('Mill. 2020-kr' -> '2020-kr per innbygger')."""
    if not unit:
        return None
    u = unit.strip().rstrip(".")
    if re.search(r"\bper\b", label, re.I):
        u = re.sub(r"(?i)^mill\.?\s*", "", u)
        return f"{u} {label[label.lower().index('per'):]}" if u else None
    return u


def unit_text(unit: str | None, raw: str, label: str = "") -> str:
    """' mill. kr' for a table unit, '' when the printed value carries its own unit (%, mill.)."""
    u = row_unit(unit, label)
    if not u or re.search(r"%|mill|mrd|kr|mnd", raw, re.I):
        return ""
    if re.search(r"\bper\b", label, re.I):
        return f" ({u})"
    u = u[0].lower() + u[1:] if u[:1].isupper() and not u[:2].isupper() else u
    return " " + u


def _lines(lines: tuple[int, int], lang: str) -> str:
    word = tr(lang, "line")
    if lang == "en" and lines[0] != lines[1]:
        word = "lines"
    return f"{word} {lines[0]}" if lines[0] == lines[1] else f"{word} {lines[0]}–{lines[1]}"


def cell_citation(ref: CellRef) -> Citation:
    t = ref.table
    return Citation(
        table=t.cite_number,
        row=ref.row.label,
        column=ref.column,
        chapter=t.chapter.display,
        lines=(int(ref.row.lines[0]), int(ref.row.lines[1])),
        quote=ref.row.source,
    )


def prose_citation(fact: ProseFact) -> Citation:
    return Citation(
        table=None,
        row=None,
        column=None,
        chapter=fact.passage.chapter.display,
        lines=(int(fact.lines[0]), int(fact.lines[1])),
        quote=fact.text,
    )


def cite_text(c: Citation, lang: str) -> str:
    if c.table is not None:
        return (
            f"{tr(lang, 'table')} {c.table}, {tr(lang, 'row')} «{c.row}», {tr(lang, 'column')} «{c.column}» "
            f"({_lines(c.lines, lang)})"
        )
    return f"{chapter_text(c.chapter, lang)}, {_lines(c.lines, lang)}"


def chapter_text(display: str | None, lang: str) -> str:
    """'kapittel 02 ÅRSBERETNING'; a chapter printed without a title displays as 'Kapittel 05'."""
    if not display:
        return tr(lang, "chapter")
    if re.match(r"(?i)^(kapittel|chapter)\b", display):
        return display if lang == "no" else re.sub(r"(?i)^kapittel", "Chapter", display)
    return f"{tr(lang, 'chapter')} {display}"


def _when(col: str, lang: str) -> str | None:
    """'Regnskap 2020' -> 'i regnskapet for 2020'; '2019' -> 'i 2019'; None for other headers."""
    c = col.strip()
    if re.fullmatch(r"\d{4}", c):
        return tr(lang, "in_year", y=c)
    m = re.fullmatch(r"(?i)regnskap\s+(\d{4})", c)
    if m:
        return tr(lang, "in_accounts", y=m.group(1))
    m = re.fullmatch(r"(?i)budsjett\s+(\d{4})", c)
    if m:
        return tr(lang, "in_budget", y=m.group(1))
    return None


def _sign_text(note: SignNote | None, lang: str, fact: TableFact) -> str | None:
    if note is None:
        return None
    where = f"{tr(lang, 'chapter')} {note.chapter.display if note.chapter else ''}, {_lines(note.lines, lang)}".strip()
    if note.subject == "income":
        negative = fact.value < 0 or any((r.cell.value or 0) < 0 for r in (*fact.operands, *fact.context))
        if negative and fact.kind == "cell":
            return tr(lang, "sign_income", where=where)
        return None
    if note.subject == "overspend" and fact.col_kind == "diff":
        return tr(lang, "sign_overspend", note=note.text, where=where)
    return None


@dataclass(frozen=True)
class Written:
    text: str
    citations: tuple[Citation, ...]
    value: float | None
    value_raw: str | None
    unit: str | None


def write_table(fact: TableFact, lang: str) -> Written:
    ref = fact.cell
    t = ref.table
    label = f"«{ref.row.label}»"
    if ref.row.section and len(ref.row.label.split()) <= 2:
        label += f" ({tr(lang, 'under')} «{ref.row.section}»)"
    u = unit_text(t.unit, fact.value_raw, ref.row.label)
    parts: list[str] = []
    cites: list[Citation] = [cell_citation(ref)]
    if fact.kind == "spent":
        a, b = fact.operands
        parts.append(tr(lang, "spent_lead", label=label, a_col=a.column, a_raw=a.cell.raw, b_col=b.column,
                        b_raw=b.cell.raw, v=fact.value_raw, unit=u))
        cites.append(cell_citation(b))
    elif fact.kind == "computed":
        a, b = fact.operands
        parts.append(tr(lang, "computed_lead", label=label, a_col=a.column, b_col=b.column, v=fact.value_raw, unit=u))
        parts.append(tr(lang, "computed", a_col=a.column, a_raw=a.cell.raw, b_col=b.column, b_raw=b.cell.raw, v=fact.value_raw))
        cites.append(cell_citation(b))
    elif fact.kind == "diff_column":
        lead = tr(lang, "diff_lead", label=label, col=ref.column, v=fact.value_raw, unit=u)
        ctx = "; ".join(f"{c.column}: {c.cell.raw}" for c in fact.context)
        parts.append(f"{lead} ({ctx})." if ctx else f"{lead}.")
        cites.extend(cell_citation(c) for c in fact.context)
    else:
        when = _when(ref.column, lang)
        if when:
            lead = tr(lang, "cell_lead", label=label, when=when, v=fact.value_raw, unit=u)
            if lang == "no":
                lead = lead[0].upper() + lead[1:]
            ctx = [c for c in fact.context if c.cell.value is not None]
            if ctx:
                lead += " (" + "; ".join(f"{tr(lang, 'budget_ctx')}: {c.cell.raw}{unit_text(t.unit, c.cell.raw)}" for c in ctx) + ")"
            parts.append(lead + ".")
            cites.extend(cell_citation(c) for c in ctx)
        else:
            parts.append(tr(lang, "cell_lead_col", label=label, col=ref.column, v=fact.value_raw, unit=u))
        if fact.paren:
            note = next((f.text for f in t.footnotes if "parentes" in f.text.lower()), "")
            parts[-1] = parts[-1].rstrip(".") + tr(lang, "paren", note=note) + "."
    sign = _sign_text(fact.sign_note, lang, fact)
    if sign:
        parts.append(sign)
    for marker in dict.fromkeys(ref.row.footnotes):
        note = next((f.text for f in t.footnotes if f.marker == marker), None)
        if note and not fact.paren:
            short = note if len(note) <= 220 else note[:217].rsplit(" ", 1)[0] + " …"
            parts.append(tr(lang, "footnote", m=marker, text=short))
    if "uncertain" in fact.notes:
        why = f" ({ref.row.reason})" if ref.row.reason else ""
        parts.append(tr(lang, "uncertain", why=why))
    parts.append(f"{tr(lang, 'source')}: {cite_text(cites[0], lang)}.")
    unit = row_unit(t.unit, ref.row.label) or ("%" if "%" in fact.value_raw else None)
    return Written(" ".join(parts), tuple(cites), fact.value, fact.value_raw, unit)


def write_prose(fact: ProseFact, lang: str, wants_number: bool) -> Written:
    cite = prose_citation(fact)
    q = fact.text.strip()
    if wants_number and fact.value_raw is not None:
        shown = fact.value_raw + (f" {fact.unit_word}" if fact.unit_word and fact.unit_word != "%" else fact.unit_word or "")
        text = tr(lang, "prose_lead", v=shown, q=q)
    else:
        text = tr(lang, "prose_text", q=q)
    text += f" {tr(lang, 'source')}: {cite_text(cite, lang)}."
    unit = fact.unit_word
    return Written(text, (cite,), fact.value if wants_number else None, fact.value_raw if wants_number else None, unit)


def _same_thing_other_figure(res: Resolution, lang: str) -> tuple[str, Citation] | None:
    """When a table and the text give different figures for the same thing, mention the other
    (with its citation, so every number in the answer has a source)."""
    t, p = res.table, res.prose
    if t is None or p is None or p.value is None or t.kind != "cell":
        return None
    if t.value == 0 or p.coverage < 0.6 or t.coverage < 0.6:
        return None
    close = abs(abs(p.value) - abs(t.value)) / abs(t.value) < 0.05
    if not close or abs(abs(p.value) - abs(t.value)) < 1e-9:
        return None
    if res.choice == "table":
        shown = p.value_raw + (f" {p.unit_word}" if p.unit_word and p.unit_word != "%" else p.unit_word or "")
        cited = prose_citation(p)
        return tr(lang, "other_figure_text", v=shown, where=cite_text(cited, lang)), cited
    c = t.cell
    text = tr(lang, "other_figure_table", n=c.table.cite_number, row=c.row.label, col=c.column, v=t.value_raw)
    return text, cell_citation(c)


def write_abstention(v: Verdict, a: QueryAnalysis, idx: ReportIndex, lang: str, home: str) -> Written:
    if v.reason == "other_municipality":
        text = tr(lang, "abstain_other", home=home, what=v.detail)
    elif v.reason == "year":
        text = tr(lang, "abstain_year", y=v.detail) if v.detail else tr(lang, "abstain_year_unnamed")
    elif v.reason == "no_number":
        text = tr(lang, "abstain_no_number")
    elif v.reason == "breakdown":
        text = tr(lang, "abstain_breakdown", other=v.detail)
    else:
        text = tr(lang, "abstain_none")
    cites: tuple[Citation, ...] = ()
    n = v.nearest
    if isinstance(n, TableFact):
        years = sorted({y for c in n.cell.table.columns for y in map(int, re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", c))})
        if years:
            yrs = tr(lang, "years", a=years[0], b=years[-1]) if len(years) > 1 else tr(lang, "year1", a=years[0])
            text += tr(lang, "nearest_table", n=n.cell.table.cite_number, row=n.cell.row.label, years=yrs)
        else:
            text += tr(lang, "nearest_table_noyears", n=n.cell.table.cite_number, row=n.cell.row.label)
        cites = (cell_citation(n.cell),)
    elif isinstance(n, ProseFact) and v.reason != "coverage":
        text += tr(lang, "nearest_prose", ch=chapter_text(n.passage.chapter.display, lang),
                   lines=f"{n.lines[0]}–{n.lines[1]}")
        cites = (prose_citation(n),)
    return Written(text, cites, None, None, None)


def home_name(report: Report) -> str:
    """The municipality the report is about, e.g. 'Bærum kommune' (the most named '<X> kommune')."""
    counts: dict[str, int] = {}
    for line in report.lines[:2000]:
        for m in re.finditer(r"\b([A-ZÆØÅ][a-zæøå]+) kommune\b", line):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    if not counts:
        return "kommunen"
    return max(counts.items(), key=lambda kv: kv[1])[0] + " kommune"


def build_answer(
    question: str,
    a: QueryAnalysis,
    res: Resolution,
    verdict: Verdict,
    idx: ReportIndex,
    *,
    mode: str = "extractive",
    trace: tuple[str, ...] = (),
    degraded: bool = False,
) -> Answer:
    """The answer text and citations. `degraded`: the semantic search was unavailable (the Chroma
    server did not answer) and the answer rests on keyword search alone: the reader is told."""
    lang = a.lang
    home = home_name(idx.report)
    if verdict.abstain:
        w = write_abstention(verdict, a, idx, lang, home)
        abstained = True
    else:
        if res.choice == "table" and res.table is not None:
            w = write_table(res.table, lang)
        else:
            assert res.prose is not None
            w = write_prose(res.prose, lang, a.wants_number)
        other = _same_thing_other_figure(res, lang)
        if other:
            extra, cited = other
            citations = w.citations if cited in w.citations else (*w.citations, cited)
            w = Written(w.text + " " + extra, tuple(citations), w.value, w.value_raw, w.unit)
        abstained = False
    text = w.text
    if a.injection:
        text = tr(lang, "injection") + " " + text
    if degraded:
        text = text + " " + tr(lang, "degraded")
    return Answer(
        question=question,
        answer=text,
        abstained=abstained,
        value=w.value,
        unit=w.unit,
        citations=w.citations,
        lang=lang,
        mode=mode,
        value_raw=w.value_raw,
        trace=trace + (f"verdict: {'abstain ' + str(verdict.reason) if verdict.abstain else 'answer'}",),
    )
