"""Fact resolution: from the question analysis, the report and the retrieved chunks, pick the
cell (table, row, column) or the prose sentence that answers, and compute a difference when
the question compares two figures and the table has no column for it.

Everything here works on any report the parser produces: rows are matched by stemmed words
(with synonyms), columns by years and words in their headers, and kinds of columns (budget,
accounts, difference, change, percent, average, target) are read from the header words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ingest.records import Cell, Chapter, Passage, Report, Row, Table
from ingest.text import format_no_number
from rag.query import BETWEEN, FIXED_PRICES, QTerm, QueryAnalysis, QueryContext
from rag.retrieve import Hit
from rag.text import STOPWORDS, Analyzer, Field, clean

_YEAR_IN = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_KIND_WORDS = {
    "budget": ("budsjett",),
    "actual": ("regnskap",),
    "diff": ("differans", "avvik", "mindreforbruk", "merforbruk"),
    "change": ("endring",),
    "percent": ("prosent", "prosentvis", "andel"),
    "average": ("gjennomsnitt", "snitt"),
    "target": ("måltall", "mål"),
    "comment": ("kommentar", "merknad"),
}
TABLE_MARGIN = 0.2  # tables win unless the text covers the question clearly better (exact figures first)
_TOTAL_RE = re.compile(r"\b(sum|summen|totalt?|totale|samlet|samlede|til sammen|i alt|alle|in total|overall|combined|altogether|add(?:ed|s)? up)\b", re.I)


# --------------------------------------------------------------------------- report index


@dataclass(frozen=True)
class ColInfo:
    name: str
    field: Field
    years: tuple[int, ...]
    kind: str  # budget | actual | diff | change | percent | average | target | comment | value


@dataclass(frozen=True)
class TableInfo:
    table: Table
    index: int  # position in report.tables
    caption: Field  # caption topic, label header and group header
    unit_year: int | None  # "Mill. 2020-kr" -> 2020
    columns: tuple[ColInfo, ...]
    years: frozenset[int]
    sign_note: SignNote | None = None
    paren_note: str | None = None  # a footnote explaining numbers in parentheses


@dataclass(frozen=True)
class RowInfo:
    t: TableInfo
    row: Row
    index: int
    label: Field
    section: Field
    is_total: bool
    subtotal: bool = False  # its figures are the sum of the rows just above (no "sum" in the label)


@dataclass(frozen=True)
class SignNote:
    text: str
    lines: tuple[int, int]
    chapter: Chapter | None
    subject: str  # "income" | "overspend"


@dataclass(frozen=True)
class Sentence:
    text: str
    passage: Passage
    index: int  # sentence number within the passage
    field: Field
    lines: tuple[int, int]


class ReportIndex:
    """Stemmed views of every table, row, column and prose sentence of one report."""

    def __init__(self, report: Report, analyzer: Analyzer) -> None:

        self.report = report
        self.analyzer = analyzer
        self.sign_notes = _find_sign_notes(report)
        self.tables: list[TableInfo] = []
        self.rows: list[RowInfo] = []
        for i, t in enumerate(report.tables):
            cols = tuple(_col_info(t, c, analyzer) for c in t.columns)
            years = frozenset(y for c in cols for y in c.years)
            ti = TableInfo(
                table=t,
                index=i,
                caption=analyzer.field(" ".join(x for x in (_caption_topic(t.caption), t.label_header, t.group_header) if x)),
                unit_year=_unit_year(t.unit),
                columns=cols,
                years=years,
                sign_note=self._sign_note_for(t),
                paren_note=next((f.text for f in t.footnotes if re.search(r"parentes", f.text, re.I)), None),
            )
            self.tables.append(ti)
            for j, r in enumerate(t.rows):
                label = analyzer.field(r.label)
                self.rows.append(
                    RowInfo(
                        t=ti,
                        row=r,
                        index=j,
                        label=label,
                        section=analyzer.field(r.section or ""),
                        is_total=bool(re.search(r"^\s*(sum|totalt|total|i alt)\b|\btotalt\b|\bsum\b", r.label, re.I)),
                        subtotal=sums_rows_above(t.rows, j),
                    )
                )
        self.table_vocab = Field(
            frozenset().union(*(f.whole for f in self._table_fields())),
            frozenset().union(*(f.parts for f in self._table_fields())),
        )
        self.sentences: list[Sentence] = []
        self._sentences_of: dict[int, list[Sentence]] = {}
        for pi, p in enumerate(report.passages):
            sents = sentences(p.text) or [p.text]
            out = []
            for si, s in enumerate(sents):
                out.append(Sentence(s, p, si, analyzer.field(s), _sentence_lines(report, p, s)))
            self._sentences_of[pi] = out
            self.sentences.extend(out)
        self._pindex = {id(p): i for i, p in enumerate(report.passages)}
        self.report_year = max((y for ti in self.tables for y in ti.years if y <= 2100), default=None)
        self.years_in_text = frozenset(
            int(y) for line in report.lines for y in _YEAR_IN.findall(line) if 1950 <= int(y) <= 2100
        )

    def _table_fields(self) -> list[Field]:
        out = [ti.caption for ti in self.tables] + [c.field for ti in self.tables for c in ti.columns]
        out += [ri.label for ri in self.rows] + [ri.section for ri in self.rows]
        return out

    def _sign_note_for(self, t: Table) -> SignNote | None:
        if re.search(r"(merforbruk|overforbruk)[^)]*(minus|negativ)", t.caption, re.I):
            m = re.search(r"\(([^)]*(?:minus|negativ)[^)]*)\)", t.caption)
            return SignNote(m.group(1) if m else t.caption, (t.lines[0], t.lines[0]), t.chapter, "overspend")
        same = [n for n in self.sign_notes if n.chapter == t.chapter and n.subject == "income"]
        return same[0] if same else None

    def passages_in(self, lines: tuple[int, int]) -> list[int]:
        """Indexes of the passages overlapping a line span."""
        return [pi for pi, p in enumerate(self.report.passages) if p.lines[1] >= lines[0] and p.lines[0] <= lines[1]]

    def sentences_of(self, pi: int) -> list[Sentence]:
        return self._sentences_of[pi]

    def passage_index(self, p: Passage) -> int:
        return self._pindex[id(p)]

    def table_info(self, table: Table) -> TableInfo | None:
        return next((ti for ti in self.tables if ti.table is table), None)


_INITIAL_END = re.compile(r"(?:^|\s)(?:[A-ZÆØÅ]|[A-ZÆØÅ][a-zæøå]?\.[A-ZÆØÅ])\.$")


def sums_rows_above(rows: Sequence[Row], j: int, tolerance: float = 0.15) -> bool:
    """Is row j the sum of a run of 2+ rows directly above it, in every column both have?
    (A subtotal such as 'Netto driftsutgifter sektorene' carries no 'sum' in its label.)"""
    mine = {c.column: c.value for c in rows[j].cells if c.value is not None}
    if not mine:
        return False
    for start in range(j - 2, -1, -1):
        run = rows[start:j]
        ok = True
        for col, v in mine.items():
            vals = [r.cell(col) for r in run]
            if any(c is None or c.value is None for c in vals):
                ok = False
                break
            if abs(sum(c.value for c in vals if c is not None and c.value is not None) - v) > tolerance:
                ok = False
                break
        if ok:
            return True
    return False


def sentences(text: str) -> list[str]:
    """The parser's sentence split, with pieces cut after an initial ('Geir B. Aga') joined again."""
    from ingest.prose import split_sentences  # the parser's own splitter (abbreviations)

    out: list[str] = []
    for piece in split_sentences(text):
        if out and _INITIAL_END.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def _caption_topic(caption: str) -> str:
    return re.sub(r"^\s*Tabell\s+\d+\s+viser\s*", "", caption).strip()


def _unit_year(unit: str | None) -> int | None:
    if not unit:
        return None
    m = _YEAR_IN.search(unit)
    return int(m.group(1)) if m else None


def _col_info(t: Table, name: str, analyzer: Analyzer) -> ColInfo:
    field = analyzer.field(name)
    stems = field.all
    years = tuple(int(y) for y in _YEAR_IN.findall(name))
    cells = [r.cell(name) for r in t.rows]
    raws = [c.raw for c in cells if c is not None and c.raw]
    values = [c for c in cells if c is not None and c.value is not None]
    kind = "value"
    low = name.lower()
    for k, words in _KIND_WORDS.items():
        if any(w in stems or w in low for w in words):
            kind = k
            break
    if kind == "average" and years:
        kind = "value"  # "Snitt menn 2020" is a value column for that year, not a period average
    if kind in ("value", "actual") and raws and sum("%" in r for r in raws) > len(raws) / 2:
        kind = "percent" if kind == "value" else kind
    if not values:
        kind = "comment"
    return ColInfo(name, field, years, kind)


def _find_sign_notes(report: Report) -> list[SignNote]:
    """Sentences that explain signs, e.g. 'inntekter med negativt fortegn i tabellene'."""
    out = []
    for p in report.passages:
        if re.search(r"negativt fortegn|med minus|angitt med minus|negative tall", p.text, re.I):
            subject = "overspend" if re.search(r"merforbruk", p.text, re.I) else "income"
            m = re.search(r"[^.]*(negativt fortegn|med minus|negative tall)[^.]*\.", p.text, re.I)
            out.append(SignNote((m.group(0) if m else p.text).strip(), p.lines, p.chapter, subject))
    return out


def _sentence_lines(report: Report, p: Passage, sentence: str) -> tuple[int, int]:
    """Source lines of one sentence of a passage (the passage's lines when not found)."""
    words = [w for w in re.findall(r"\w+", sentence) if len(w) > 2]
    if not words:
        return p.lines
    first_words, last_words = words[:2], words[-2:]

    def find(targets: list[str], start: int, end: int, reverse: bool = False) -> int | None:
        rng = range(end, start - 1, -1) if reverse else range(start, end + 1)
        for ln in rng:
            text = clean(report.lines[ln - 1]) if 0 < ln <= len(report.lines) else ""
            if all(w in text for w in targets[:1]) and (len(targets) < 2 or targets[-1] in text or reverse):
                return ln
        return None

    a = find(first_words, p.lines[0], p.lines[1]) or p.lines[0]
    b = find(last_words[-1:], a, p.lines[1], reverse=True) or p.lines[1]
    return (a, max(a, b))


# --------------------------------------------------------------------------- matching


def stem_credit(s: str, f: Field) -> float:
    """1.0 for a whole word of the field, 0.6 for a compound part or a prefix relation."""
    if s in f.whole:
        return 1.0
    if s in f.parts:
        return 0.6
    if len(s) >= 5:
        for t in f.whole:
            if len(t) >= 5 and (t.startswith(s) or s.startswith(t)):
                return 0.6
    return 0.0


def term_credit(t: QTerm, f: Field) -> float:
    """How well a question word is found in a field: itself, a synonym phrase, or its parts."""
    best = stem_credit(t.stem, f)
    if best >= 1.0:
        return best
    for alt in t.alts:
        c = sum(stem_credit(x, f) for x in alt) / len(alt)
        best = max(best, 0.75 * c)
    if t.parts:
        best = max(best, 0.5 * sum(stem_credit(p, f) for p in t.parts) / len(t.parts))
    return best


def _parts_credit(t: QTerm, fields: Sequence[tuple[Field, float]], top: float) -> float:
    """A compound's parts found across fields ('grunnskoleelever': 'Grunnskole' over the table,
    'Elever' in the row) count almost as the word itself."""
    if not t.parts:
        return 0.0
    per = [max((stem_credit(p, f) * factor / top for f, factor in fields if f), default=0.0) for p in t.parts]
    return 0.8 * sum(per) / len(per)


@dataclass(frozen=True)
class Weights:
    """Question terms with weights (idf-like)."""

    terms: tuple[tuple[QTerm, float], ...]
    all_stems: frozenset[str]  # stems, parts and synonym stems of the question

    @property
    def total(self) -> float:
        return sum(w for _, w in self.terms) or 1.0


def question_weights(analysis: QueryAnalysis, idf: Mapping[str, float] | None) -> Weights:
    def known(s: str) -> float:
        return idf.get(s, 0.0) if idf is not None else 1.0

    out = []
    for t in analysis.terms:
        if t.stem.isdigit():
            w = 0.3
        else:
            w = known(t.stem)
            if w <= 0:
                others = [known(p) for p in t.parts] + [known(x) for alt in t.alts for x in alt]
                others = [o for o in others if o > 0]
                # a word the report never uses is a strong sign the report does not hold the answer,
                # unless it is a foreign-language word (an English question's own words)
                fallback = 5.0 if (analysis.lang == "no" or t.proper) else 0.4
                w = sum(others) / len(others) if others else fallback
            w = min(max(w, 0.3), 6.0)
        out.append((t, w))
    stems = set(analysis.content) | set(analysis.expansions)
    return Weights(tuple(out), frozenset(stems))


def match_score(weights: Weights, fields: Sequence[tuple[Field, float]]) -> tuple[float, float, set[str]]:
    """(matched weight, coverage of the question's words 0..1, stems of the matched words).

    Each question word counts once, in the field where it scores best (field factor x credit).
    A light verb adds to the coverage when found and is left out when not."""
    got = 0.0
    total = 0.0
    matched: set[str] = set()
    top = max((f for _, f in fields), default=1.0) or 1.0
    assembled = [fld.assembled(weights.all_stems) if fld.compounds else frozenset() for fld, _ in fields]
    for t, w in weights.terms:
        best = 0.0
        for (fld, factor), asm in zip(fields, assembled, strict=True):
            if factor > 0 and fld:
                credit = term_credit(t, fld)
                if asm and (t.stem in asm or any(len(alt) == 1 and alt[0] in asm for alt in t.alts)):
                    credit = 1.0  # one of several question words that together name a compound
                best = max(best, credit * factor)
        best = max(best / top, _parts_credit(t, fields, top))
        if best > 0:
            got += w * best
            total += w
            matched.add(t.stem)
            matched.update(t.parts)
            matched.update(x for alt in t.alts for x in alt)
        elif not t.light:
            total += w
    return got, got / (total or 1.0), matched


_NEUTRAL = frozenset({"sum", "total", "totalt", "saml", "samled", "antall", "herav", "alt", "i", "per", "pr"})


def label_match(label: Field, weights: Weights, idf: Mapping[str, float] | None,
                section: Field | None = None) -> tuple[float, float]:
    """(precision, support): the idf-weighted share of the label's words (and, at half weight, its
    section's) that the question explains, and the explained weight of the label's own words.

    Support says how specifically the question names this row: 'Bufferfondet' named in a long
    question is strong evidence although most of the question's words are elsewhere; a 'SUM'
    row has no support at all."""
    words = [(s, 1.0) for s in label.whole if not s.isdigit() and s not in _NEUTRAL]
    if section is not None:
        words += [(s, 0.5) for s in section.whole if not s.isdigit() and s not in _NEUTRAL and s not in label.whole]
    if not words:
        return 1.0, 0.0
    q = Field(weights.all_stems)
    built = label.assembled_words(weights.all_stems) | (section.assembled_words(weights.all_stems) if section else frozenset())
    tot = hit = support = 0.0
    for s, factor in words:
        w = idf.get(s, 1.0) if idf else 1.0
        w = (w if w > 0 else 1.0) * factor
        credit = 1.0 if s in built else stem_credit(s, q)
        tot += w
        hit += w * credit
        if factor == 1.0:
            support += w * credit
    return (hit / tot if tot else 1.0), support


def key_term_credit(weights: Weights, fields: Sequence[tuple[Field, float]]) -> float:
    """How well the question's weightiest compound word is found ('eiendomsskatten' must not be
    answered by a row that only shares 'skatt' or 'eiendom' with it)."""
    cands = [(w, t) for t, w in weights.terms if not t.light and t.parts]
    if not cands:
        return 1.0
    top = max((f for _, f in fields), default=1.0) or 1.0
    _, t = max(cands, key=lambda p: p[0])
    best = max((term_credit(t, f) * factor / top for f, factor in fields if f), default=0.0)
    return max(best, _parts_credit(t, fields, top))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CellRef:
    table: Table
    row: Row
    column: str
    cell: Cell

    @property
    def table_number(self) -> int | None:
        return self.table.cite_number


@dataclass(frozen=True)
class TableFact:
    """A table answer: one cell, a difference column, or a computed difference A - B."""

    kind: str  # "cell" | "diff_column" | "computed" | "spent" (frame minus underspend)
    cell: CellRef  # the cited cell (the first operand when computed)
    value: float
    value_raw: str
    operands: tuple[CellRef, ...] = ()  # (A, B) when computed: value = A - B
    context: tuple[CellRef, ...] = ()  # cells shown beside the answer (e.g. the budget)
    score: float = 0.0
    coverage: float = 0.0  # share of all the question's words found (for comparing with prose)
    missing_years: tuple[int, ...] = ()
    table_coverage: float = 0.0  # coverage used for abstaining
    precision: float = 1.0  # share of the row label's words the question explains
    key_credit: float = 1.0  # how well the question's weightiest word is found
    label_support: float = 0.0  # explained idf weight of the row label's words / idf ceiling (see label_match)
    qualifier_elsewhere: str | None = None  # a sibling row that carries the question's qualifier
    notes: tuple[str, ...] = ()
    sign_note: SignNote | None = None
    paren: bool = False  # the value is the number in parentheses (see the table's footnote)
    col_kind: str = "value"  # the kind of the cited column (budget, actual, diff, change, percent ...)


@dataclass(frozen=True)
class ProseFact:
    """A prose answer: one sentence, or two consecutive sentences of one passage."""

    sentences: tuple[Sentence, ...]
    value: float | None
    value_raw: str | None
    unit_word: str | None
    score: float
    coverage: float
    key_credit: float = 1.0

    @property
    def sentence(self) -> Sentence:
        return self.sentences[0]

    @property
    def text(self) -> str:
        return " ".join(x.text for x in self.sentences)

    @property
    def lines(self) -> tuple[int, int]:
        return (self.sentences[0].lines[0], max(x.lines[1] for x in self.sentences))

    @property
    def passage(self) -> Passage:
        return self.sentences[0].passage


@dataclass(frozen=True)
class Resolution:
    table: TableFact | None
    prose: ProseFact | None
    choice: str  # "table" | "prose" | "none"
    table_candidates: tuple[TableFact, ...] = ()
    alternatives: tuple[ProseFact, ...] = ()
    trace: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- tables


def _row_retrieval_bonus(hits: Sequence[Hit]) -> dict[tuple[int | None, str, int], float]:
    """Bonus per (table number, row label, first line) for rows the retriever found."""
    out: dict[tuple[int | None, str, int], float] = {}
    rank = 0
    for h in hits:
        c = h.chunk
        if c.kind != "table_row" or c.row_label is None:
            continue
        rank += 1
        out[(c.table_number, c.row_label, c.lines[0])] = 1.0 / (1.0 + 0.25 * (rank - 1))
    return out


def _table_retrieval_bonus(hits: Sequence[Hit]) -> dict[int | None, float]:
    out: dict[int | None, float] = {}
    for rank, h in enumerate(hits, start=1):
        c = h.chunk
        if c.kind in ("table_row", "table") and c.table_number is not None:
            out[c.table_number] = max(out.get(c.table_number, 0.0), 1.0 / (1.0 + 0.2 * (rank - 1)))
    return out


def _has_kind(ti: TableInfo, kind: str) -> bool:
    return any(c.kind == kind for c in ti.columns)


def _column_score(col: ColInfo, ti: TableInfo, a: QueryAnalysis, weights: Weights, latest: int | None) -> float:
    s = 0.0
    if col.kind == "comment":
        return -99.0
    target = list(a.years)
    pair_in_table = len(target) >= 2 and sum(1 for y in set(target) if y in ti.years) >= 2
    if target:
        if col.years:
            if any(y in target for y in col.years):
                s += 2.0
            elif ti.years & set(target):
                s -= 3.0
            else:
                s -= 1.0
        elif col.kind in ("change", "diff") and (pair_in_table or a.compare == "budget"):
            s += 2.0  # a difference column stands for the years it compares
        elif not ti.years and latest is not None and set(target) == {latest}:
            s += 2.0  # a table without year columns speaks of the report's year
    elif col.years and latest is not None:
        s += 0.6 if max(col.years) == latest else -0.3 * (latest - max(col.years))
    got, _, _ = match_score(weights, [(col.field, 1.0)])
    s += min(got, 6.0) * 0.6
    if _TOTAL_RE.search(a.text) and re.search(r"\b(sum|totalt?)\b", col.name, re.I):
        s += 1.0
    intents = a.intents
    if col.kind == "diff":
        s += 2.5 if a.compare == "budget" else -0.8
    elif col.kind == "change":
        s += 2.5 if a.compare == "change" else -1.2
    elif col.kind == "budget":
        s += 1.2 if ("budsjett" in intents and a.compare != "budget") else -0.8
    elif col.kind == "actual":
        s += 0.5
    elif col.kind == "percent":
        s += 1.2 if "prosent" in intents else -0.6
    elif col.kind == "average":
        s += 1.2 if "snitt" in intents else -1.0
    elif col.kind == "target":
        s += -2.5
    return s


def table_candidates(
    idx: ReportIndex, a: QueryAnalysis, hits: Sequence[Hit], idf: Mapping[str, float] | None, limit: int = 5,
    idf_ceiling: float | None = None,
) -> list[TableFact]:
    """The best cells for the question, best first (each row's best column)."""
    weights = question_weights(a, idf)
    row_bonus = _row_retrieval_bonus(hits)
    table_bonus = _table_retrieval_bonus(hits)
    target_years = list(a.years)
    latest = idx.report_year
    wants_pct = "prosent" in a.intents and bool(re.search(r"prosent|percent|%", a.text, re.I))
    total_asked = bool(_TOTAL_RE.search(a.text))
    scored: list[tuple[float, float, RowInfo, ColInfo, list[int]]] = []
    col_fields: dict[int, Field] = {}
    for ri in idx.rows:
        ti = ri.t
        t = ti.table
        if a.table_ref is not None and t.cite_number != a.table_ref:
            continue
        cf = col_fields.get(ti.index)
        if cf is None:
            cf = Field(frozenset().union(*(c.field.whole for c in ti.columns)),
                       frozenset().union(*(c.field.parts for c in ti.columns)),
                       frozenset().union(*(c.field.compounds for c in ti.columns))) if ti.columns else Field(frozenset())
            col_fields[ti.index] = cf
        fields = [(ri.label, 1.0), (ri.section, 0.75), (ti.caption, 0.55), (cf, 0.9)]
        got, coverage, _ = match_score(weights, fields)
        if got <= 0 and a.table_ref is None:
            continue
        tcov = coverage
        precision, support = label_match(ri.label, weights, idf, ri.section)
        key = key_term_credit(weights, fields)
        score = 10.0 * tcov + 0.6 * got + 5.0 * precision
        if a.table_ref is not None:
            score += 3.0
        if a.prefer_table is not None and t.cite_number == a.prefer_table:
            score += 2.0
        score += 1.5 * row_bonus.get((t.cite_number, ri.row.label, ri.row.lines[0]), 0.0)
        score += 1.0 * table_bonus.get(t.cite_number, 0.0)
        if a.price_year is not None:
            fixed_ok = a.price_year == FIXED_PRICES and ti.unit_year is not None
            score += 1.5 if (ti.unit_year == a.price_year or fixed_ok) else -1.0
        elif ti.unit_year is not None:
            score -= 1.0  # fixed-price tables are for trends; the printed accounts come first
        if total_asked and ri.is_total:
            score += 1.5
        if a.compare == "change" and _has_kind(ti, "change"):
            score += 1.0
        if a.compare == "budget" and (_has_kind(ti, "diff") or (_has_kind(ti, "budget") and _has_kind(ti, "actual"))):
            score += 1.0
        named = {int(y) for y in _YEAR_IN.findall(f"{ri.row.label} {ri.row.section or ''} {t.caption}")}
        missing = [y for y in table_missing_years(ti, target_years, latest) if y not in named]
        if target_years and missing:
            score -= 4.0 * len(missing) / len(target_years)
        if ri.row.uncertain:
            score -= 0.5
        score += _quantity_fit(a, ri)
        best_col = None
        best_cs = -1e9
        for col in ti.columns:
            cell = ri.row.cell(col.name)
            if cell is None or cell.value is None:
                continue
            cs = _column_score(col, ti, a, weights, latest)
            if wants_pct and "%" not in cell.raw and col.kind != "percent":
                cs -= 2.5
            if "%" in cell.raw and "prosent" not in a.intents and _ASKS_COUNT.search(a.text):
                cs -= 1.5  # "hvor mange" asks for a count, not a share
            if cs > best_cs:
                best_cs, best_col = cs, col
        if best_col is None:
            continue
        cov = coverage
        if wants_pct and "%" not in (ri.row.cell(best_col.name) or Cell("", "", None)).raw:
            cov *= 0.7  # a percent was asked for and this cell is not one
            tcov *= 0.7
        scored.append((score + best_cs, cov, tcov, precision, key, support, ri, best_col, missing))
    scored.sort(key=lambda x: -x[0])
    # the sibling-row check only matters for the candidate that is answered (abstain.decide)
    return [replace(_make_fact(idx, a, ri, col, total, cov, missing), table_coverage=tc, precision=pr, key_credit=k,
                    label_support=sup / (idf_ceiling or 1.0),
                    qualifier_elsewhere=qualifier_elsewhere(idx, ri, col_fields[ri.t.index], weights) if n == 0 else None)
            for n, (total, cov, tc, pr, k, sup, ri, col, missing) in enumerate(scored[:limit])]


def qualifier_elsewhere(idx: ReportIndex, ri: RowInfo, columns: Field, weights: Weights) -> str | None:
    """The label of another row of the same table that carries two or more of the question's
    words this row does not ('sykefravær i pleie og omsorg' when only 'Andel fagstillinger –
    Pleie og omsorg' names the sector): the table breaks some figures down that way, but not
    this one, so this row's figure would answer another question."""
    fields = [f for f in (ri.label, ri.section, ri.t.caption, columns) if f]
    unexplained = [t for t, _ in weights.terms if not t.light and not t.stem.isdigit()
                   and max((term_credit(t, f) for f in fields), default=0.0) == 0.0]
    if len(unexplained) < 2:
        return None
    rows = [r for r in idx.rows if r.t is ri.t]
    parent = _parent_row(rows, ri)
    for other in rows:
        if other is ri or other is parent or other.is_total or other.subtotal:
            continue  # a parent or a total carries the words of its parts
        if sum(1 for t in unexplained if term_credit(t, other.label) >= 1.0) >= 2:
            return other.row.label
    return None


_SUBROW = re.compile(r"^\s*(herav|hvorav|av dette|derav|of which)\b", re.I)


def _parent_row(rows: Sequence[RowInfo], ri: RowInfo) -> RowInfo | None:
    """The row a 'herav ...' row is part of: the nearest row above that is not itself one."""
    if not _SUBROW.search(ri.row.label):
        return None
    above = [r for r in rows if r.index < ri.index and not _SUBROW.search(r.row.label)]
    return above[-1] if above else None


# past-tense spending ("brukte", "forbruket", "spent"); not "å bruke" (what there was to spend)
_ASKS_SPENT = re.compile(r"\b(brukte|brukt|forbruk|forbruket|forbrukte|spent|did \w+(?: \w+)? spend)\b", re.I)
_ASKS_COUNT = re.compile(r"\b(hvor mange|how many|antall|number of)\b", re.I)
_ASKS_AMOUNT = re.compile(r"\b(hvor mye|how much|beløp|amount)\b", re.I)


def _quantity_fit(a: QueryAnalysis, ri: RowInfo) -> float:
    """'Hvor mange' wants a count, 'hvor mye' an amount: a row that says which it holds."""
    label = ri.row.label.lower()
    money = bool(re.search(r"\bkr\b|kroner|mill|beløp", label + " " + (ri.t.table.unit or "").lower()))
    count = bool(re.search(r"\bantall\b", label))
    if _ASKS_COUNT.search(a.text):
        return 1.0 if count else (-1.0 if money else 0.0)
    if _ASKS_AMOUNT.search(a.text):
        return 1.0 if money and not count else (-1.0 if count else 0.0)
    return 0.0


def table_missing_years(ti: TableInfo, years: Sequence[int], report_year: int | None) -> list[int]:
    """Years asked about that the table has no column for (a table without year columns
    speaks of the report's year)."""
    if not ti.years:
        return [y for y in years if y != report_year]
    return [y for y in years if y not in ti.years]


def _cellref(ri: RowInfo, col: str) -> CellRef | None:
    cell = ri.row.cell(col)
    if cell is None:
        return None
    return CellRef(ri.t.table, ri.row, col, cell)


def _words(c: ColInfo) -> set[str]:
    return {x for x in c.field.whole if not x.isdigit()}


def _col_for_year(ti: TableInfo, ri: RowInfo, year: int, like: ColInfo | None) -> ColInfo | None:
    """The column of `year` in this row, preferring one that reads like `like` (same words)."""
    best = None
    best_s = -1e9
    for c in ti.columns:
        if year not in c.years or c.kind in ("comment", "diff", "change"):
            continue
        cell = ri.row.cell(c.name)
        if cell is None or cell.value is None:
            continue
        s = 0.0
        if like is not None:
            s = len(_words(c) & _words(like)) - 0.5 * len(_words(c) ^ _words(like))
        if c.kind == "actual":
            s += 0.5
        if c.kind == "budget":
            s -= 0.5
        if s > best_s:
            best, best_s = c, s
    return best


def _ordered_pair(a: QueryAnalysis) -> tuple[int, int] | None:
    """(minuend year, subtrahend year): 'fra 2019 til 2020' -> (2020, 2019); '2020 enn 2019' -> (2020, 2019)."""
    if len(a.years) < 2:
        return None
    text = a.text
    m = re.search(r"\b(?:fra|from|mellom|between)\b\D{0,25}?(\d{4})\D{1,30}?(\d{4})", text, re.I)
    if m and int(m.group(1)) != int(m.group(2)):
        return (int(m.group(2)), int(m.group(1)))
    m = re.search(r"(\d{4})\D{1,40}?\b(?:enn|than|sammenlignet med|compared (?:to|with)|mot)\b\D{0,20}?(\d{4})", text, re.I)
    if m and int(m.group(1)) != int(m.group(2)):
        return (int(m.group(1)), int(m.group(2)))
    y = list(dict.fromkeys(a.years))[:2]
    if len(y) < 2:
        return None
    return (max(y), min(y))


def _split_than(a: QueryAnalysis, ctx_analyzer: Analyzer) -> tuple[set[str], set[str]] | None:
    """Stems (with synonyms) named before and after 'enn'/'than' (or 'mellom X og Y')."""

    def side(text: str) -> set[str]:
        words = set(ctx_analyzer.tokens(text, stopwords=False))
        for t in a.terms:
            if t.stem in words:
                words.update(x for alt in t.alts for x in alt)
        return words

    m = re.search(r"\b(enn|than|sammenlignet med|compared (?:to|with))\b", a.text, re.I)
    if not m:
        b = BETWEEN.search(a.text)  # "forskjellen mellom X og Y": X is the minuend
        if b is None:
            return None
        return side(b.group(1)), side(b.group(2))

    return side(a.text[: m.start()]), side(a.text[m.end() :])


def _make_fact(idx: ReportIndex, a: QueryAnalysis, ri: RowInfo, col: ColInfo, score: float, coverage: float,
               missing: list[int]) -> TableFact:
    ti = ri.t
    ref = _cellref(ri, col.name)
    assert ref is not None and ref.cell.value is not None
    notes: list[str] = ["uncertain"] if ri.row.uncertain else []
    base = {"score": score, "coverage": coverage, "missing_years": tuple(missing), "notes": tuple(notes),
            "sign_note": ti.sign_note, "col_kind": col.kind}
    context: list[CellRef] = []
    # a comparison the table has a column for
    if col.kind in ("diff", "change") and a.compare in ("budget", "change"):
        for c in ti.columns:
            if c.kind in ("budget", "actual", "value") and c is not col and c.kind != "comment":
                r = _cellref(ri, c.name)
                if r is not None and r.cell.value is not None and (
                    col.kind == "change" or not a.years or not c.years or set(c.years) & set(a.years)
                ):
                    context.append(r)
        return TableFact("diff_column", ref, ref.cell.value, ref.cell.raw, context=tuple(context[:3]), **base)
    # a change between two years: compute from two cells of the row
    pair = _ordered_pair(a) if a.compare in ("change", "than") else None
    if pair is not None:
        ca, cb = _col_for_year(ti, ri, pair[0], col), _col_for_year(ti, ri, pair[1], col)
        if ca is not None and cb is not None and ca is not cb:
            ra, rb = _cellref(ri, ca.name), _cellref(ri, cb.name)
            assert ra is not None and rb is not None
            return _computed(ra, rb, base)
    # budget vs accounts without a difference column
    if a.compare == "budget" and not _has_kind(ti, "diff"):
        def year_ok(c: ColInfo) -> bool:
            return not a.years or not c.years or bool(set(c.years) & set(a.years))

        bud = next((c for c in ti.columns if c.kind == "budget" and year_ok(c)), None)
        act = next((c for c in ti.columns if c.kind == "actual" and year_ok(c)), None)
        if bud is not None and act is not None:
            ra, rb = _cellref(ri, act.name), _cellref(ri, bud.name)
            if ra and rb and ra.cell.value is not None and rb.cell.value is not None:
                return _computed(ra, rb, base)
    # "hvor mye brukte X": a table of budget frames and over/underspend but no accounts column,
    # whose note says overspending is negative: spent = frame - (mer-/mindreforbruk)
    if _ASKS_SPENT.search(a.text) and a.compare is None and col.kind != "diff" and not _has_kind(ti, "actual") \
            and ti.sign_note is not None and ti.sign_note.subject == "overspend":
        frame = next((c for c in ti.columns if c.kind == "budget" or re.search(r"ramme|budsjett", c.name, re.I)), None)
        under = next((c for c in ti.columns if c.kind == "diff" and re.search(r"mindreforbruk", c.name, re.I)), None)
        if frame is not None and under is not None:
            ra, rb = _cellref(ri, frame.name), _cellref(ri, under.name)
            if (ra is not None and rb is not None and ra.cell.value is not None and rb.cell.value is not None
                    and "%" not in ra.cell.raw + rb.cell.raw):
                return replace(_computed(ra, rb, base), kind="spent")
    # "mer ... enn ...": two columns (or two rows) that differ by what each side names
    if a.compare == "than" and pair is None:
        sides = _split_than(a, idx.analyzer)
        if sides is not None:
            pairing = _than_columns(ti, ri, sides, a) or _than_rows(idx, ti, ri, col, sides)
            if pairing is not None:
                return _computed(pairing[0], pairing[1], base)
    # one cell; show the budget beside an accounts figure
    if col.kind == "actual":
        for c in ti.columns:
            if c.kind == "budget" and set(c.years) == set(col.years):
                r = _cellref(ri, c.name)
                if r is not None and r.cell.value is not None:
                    context.append(r)
    value, raw, paren = ref.cell.value, ref.cell.raw, False
    if ti.paren_note and "(" in ref.cell.raw:
        note = idx.analyzer.field(ti.paren_note)
        if sum(1 for t in a.terms if term_credit(t, note) >= 0.9) >= 2:
            m = re.search(r"\((-?[\d ,]+)\)", ref.cell.raw)
            if m:
                raw = m.group(1).strip()
                value = float(raw.replace(" ", "").replace(",", "."))
                paren = True
    return TableFact("cell", ref, value, raw, context=tuple(context), paren=paren, **base)


def _computed(ra: CellRef, rb: CellRef, base: dict) -> TableFact:
    va, vb = ra.cell.value, rb.cell.value
    assert va is not None and vb is not None
    decimals = max(_decimals(ra.cell.raw), _decimals(rb.cell.raw))
    value = round(va - vb, decimals)
    return TableFact("computed", ra, value, format_no_number(value, decimals), operands=(ra, rb), **base)


def _decimals(raw: str) -> int:
    m = re.search(r",(\d+)", raw)
    return len(m.group(1)) if m else 0


def _than_columns(ti: TableInfo, ri: RowInfo, sides: tuple[set[str], set[str]],
                  a: QueryAnalysis) -> tuple[CellRef, CellRef] | None:
    """Two columns of the row that differ by what each side of 'enn'/'than' names
    ('Snitt menn 2020' vs 'Snitt kvinner 2020' for 'mannlige ... enn kvinnelige')."""
    left, right = sides
    best: tuple[float, ColInfo, ColInfo] | None = None
    for ca in ti.columns:
        for cb in ti.columns:
            if ca is cb or ca.kind != cb.kind or ca.kind == "comment":
                continue
            if a.years and not (set(ca.years) & set(a.years) and set(cb.years) & set(a.years)):
                continue
            da, db = Field(ca.field.whole - cb.field.whole), Field(cb.field.whole - ca.field.whole)
            sa = sum(stem_credit(x, da) for x in left) - sum(stem_credit(x, da) for x in right - left)
            sb = sum(stem_credit(x, db) for x in right) - sum(stem_credit(x, db) for x in left - right)
            shared = len(_words(ca) & _words(cb))  # sibling columns ("Snitt menn"/"Snitt kvinner")
            if sa > 0 and sb > 0 and (best is None or sa + sb + 0.5 * shared > best[0]):
                best = (sa + sb + 0.5 * shared, ca, cb)
    if best is None:
        return None
    ra, rb = _cellref(ri, best[1].name), _cellref(ri, best[2].name)
    if ra is None or rb is None or ra.cell.value is None or rb.cell.value is None:
        return None
    return ra, rb


def _than_rows(idx: ReportIndex, ti: TableInfo, ri: RowInfo, col: ColInfo,
               sides: tuple[set[str], set[str]]) -> tuple[CellRef, CellRef] | None:
    left, right = sides
    only_l, only_r = left - right, right - left
    rows = [r for r in idx.rows if r.t is ti]
    la = [r for r in rows if any(stem_credit(x, r.label) >= 1.0 for x in only_l)]
    rb = [r for r in rows if any(stem_credit(x, r.label) >= 1.0 for x in only_r)]
    if not la or not rb or la[0] is rb[0]:
        return None
    a_ref, b_ref = _cellref(la[0], col.name), _cellref(rb[0], col.name)
    if a_ref is None or b_ref is None or a_ref.cell.value is None or b_ref.cell.value is None:
        return None
    return a_ref, b_ref


# --------------------------------------------------------------------------- prose

_NUM = re.compile(r"(?<![\w,./])(-\s?)?(\d{1,3}(?:[ \u00a0]\d{3})+|\d+)(?:,(\d+))?(?![\d/])")
_MONEY = re.compile(r"^\s*(mill|mrd|milliard|million|kr|kroner|nok)", re.I)
_PCT = re.compile(r"^\s*(%|prosent|percent)", re.I)
_CHANGE_BEFORE = re.compile(
    r"\b(økning|nedgang|reduksjon|endring|vekst|økte|økt|redusert|falt|steg|sank|increase|decrease|rose|fell)\w*"
    r"(?:\s+[^\s\d]+){0,3}\s+(på|med|by)\s*$",
    re.I,
)
_MONTHS = "januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|desember"


@dataclass(frozen=True)
class NumberHit:
    raw: str
    value: float
    start: int
    end: int
    after: str  # text right after the number
    before: str  # text right before the number


def numbers_in(text: str) -> list[NumberHit]:
    """Numbers in a sentence that can be answers: not years, dates, ordinals or name parts."""
    out = []
    for m in _NUM.finditer(text):
        sign, whole, dec = m.groups()
        if m.start() >= 1 and text[m.start() - 1] == "-" and m.start() >= 2 and text[m.start() - 2].isalpha():
            continue  # "Covid-19"
        raw = m.group(0).strip()
        value = float(whole.replace(" ", "").replace("\u00a0", "") + ("." + dec if dec else ""))
        if sign:
            value = -value
        after = text[m.end() : m.end() + 30]
        before = text[max(0, m.start() - 40) : m.start()]
        if re.match(rf"^\.\s*({_MONTHS})", after, re.I) or re.match(r"^\.\d", after):
            continue  # a date
        if re.match(r"^\.\s?(trinn|klasse|plass|kvartal)", after, re.I) or re.match(r"^\.\s?[–-]", after):
            continue  # an ordinal ("7. trinn", "1.–10. trinn")
        if re.search(r"\b(figur|tabell|table|figure|kapittel|chapter|side|page|nr|sak|§)\.?\s*$", before, re.I):
            continue  # a reference ("Figur 11", "tabell 7"), not a quantity
        if re.search(r"\d\.\s?$|[–-]\s?$", before[-3:]) and not sign:
            continue  # the second half of a range or a date
        if not dec and not sign and 1900 <= value <= 2100 and " " not in whole:
            continue  # a year
        out.append(NumberHit(raw, value, m.start(), m.end(), after, before))
    return out


def _sentence_around(text: str, pos: int) -> str:
    """The sentence of `text` that holds position `pos`."""
    start = max(text.rfind(". ", 0, pos), text.rfind("? ", 0, pos), text.rfind("! ", 0, pos))
    end = min((i for i in (text.find(". ", pos), text.find("? ", pos), text.find("! ", pos)) if i >= 0), default=len(text))
    return text[start + 1 : end + 1]


def _pick_number(text: str, a: QueryAnalysis, weights: Weights, analyzer: Analyzer) -> tuple[NumberHit, str | None] | None:
    nums = numbers_in(text)
    if not nums:
        return None
    low = text.lower()
    positions: list[tuple[float, list[int]]] = []
    for t, w in weights.terms:
        # the word itself counts fully, its synonyms and compound parts at half weight
        for stems, factor in (({t.stem}, 1.0), ({*t.parts, *(x for alt in t.alts for x in alt)} - {t.stem}, 0.5)):
            pos = [m.start() for st in stems if len(st) >= 2 for m in re.finditer(r"\b" + re.escape(st), low)]
            if pos:
                positions.append((w * factor, pos))
                break
    q_stems = weights.all_stems
    counted = counted_noun(a, analyzer)
    asks_change = bool(a.compare) or a.direction != 0
    best, best_s = None, -1e9
    for n in nums:
        s = 0.0
        after_words = re.findall(r"[^\W\d_]+", n.after)[:2]
        after_f = Field(frozenset(analyzer.stem(w.lower()) for w in after_words))
        if counted and any(stem_credit(x, after_f) > 0 for x in counted):
            s += 4.0  # "13 000 brukere" for "hvor mange brukere"
        elif any(stem_credit(x, after_f) > 0 for x in q_stems):
            s += 1.5 if counted else 3.0
        is_pct = bool(_PCT.match(n.after))
        if "prosent" in a.intents:
            s += 2.0 if is_pct else -1.5
        elif is_pct:
            s -= 1.0
        if _MONEY.match(n.after) and re.search(r"hvor mye|how much|beløp|kost", a.text, re.I):
            s += 1.0
        if re.search(r"hvor mange|how many", a.text, re.I) and _MONEY.match(n.after):
            s -= 1.0
        if _CHANGE_BEFORE.search(n.before):
            s += 1.0 if asks_change else -1.5
        clause = text[max(text.rfind(". ", 0, n.start), text.rfind(", ", 0, n.start), 0) : n.start]
        if "budsjett" not in a.intents and re.search(r"budsjett|budget", clause, re.I):
            s -= 1.5  # "Budsjettet for ... var ... N": a budget figure, and the budget is not asked for
        own = _sentence_around(text, n.start)
        if not re.search(r"snitt|average|mean", a.text, re.I) and re.search(r"gjennomsnitt|i snitt|on average", own, re.I):
            s -= 1.0  # an average over years, and the question does not ask for an average
        if a.years:
            own_years = {int(y) for y in _YEAR_IN.findall(own)}
            s += 0.8 if set(a.years) & own_years else (-0.8 if own_years else 0.0)
        for w, pos in positions:
            dist = min(abs(n.start - p) for p in pos)
            s += 0.4 * w / (1.0 + dist / 20.0)
        if s > best_s:
            best, best_s = n, s
    assert best is not None
    unit = None
    m = re.match(r"^\s*(%|prosent|mill\.?|mrd\.?|milliarder|millioner|kroner|kr\.?)", best.after, re.I)
    if m:
        unit = m.group(1)
    return best, unit


_COUNTED = re.compile(r"\b(?:hvor mange|how many|antall|number of)\s+((?:[^\W\d_]+\s*){1,3})", re.I)


def counted_noun(a: QueryAnalysis, analyzer: Analyzer) -> frozenset[str]:
    """Stems (with synonyms) of what 'hvor mange ...' counts: the content words right after it."""
    m = _COUNTED.search(a.text)
    if not m:
        return frozenset()
    words = [w for w in re.findall(r"[^\W\d_]+", m.group(1).lower()) if w not in STOPWORDS][:2]
    stems = {analyzer.stem(w) for w in words}
    for t in a.terms:
        if t.stem in stems:
            stems.update(x for alt in t.alts for x in alt)
    return frozenset(stems)


def _new_name(text: str, asked: set[str]) -> bool:
    """A capitalised word inside a sentence that the question does not use ('... på Storøya')."""
    for sent in sentences(text) or [text]:
        for m in re.finditer(r"(?<=[\wæøå,] )[A-ZÆØÅ][a-zæøå]{2,}", sent):
            if m.group(0).lower() not in asked:
                return True
    return False


_NAME = re.compile(
    r"\b[A-ZÆØÅ][a-zæøå]+(?:\s+[A-ZÆØÅ]\.)?(?:\s+(?:[A-ZÆØÅ][\wæøå]+|AS|ASA|IKS))+"  # Geir B. Aga, Ruter AS
    r"|(?<=\s)[A-ZÆØÅ]{2,}\b"  # an acronym inside the sentence: KLP, MDG
)


def prose_candidates(idx: ReportIndex, a: QueryAnalysis, hits: Sequence[Hit], idf: Mapping[str, float] | None,
                     limit: int = 5) -> list[ProseFact]:
    weights = question_weights(a, idf)
    seen_passages: set[int] = set()
    cands: list[ProseFact] = []
    rank = 0
    wants_name = not a.wants_number and bool(re.search(r"^\s*(hvem|hvilke\w*|hvor|who|which|where)\b", a.text, re.I))
    asked = {w.lower() for w in re.findall(r"[\wæøåÆØÅ]+", a.text)}
    for h in hits:
        if h.chunk.kind != "prose":
            continue
        rank += 1
        bonus = 1.5 / (1.0 + 0.3 * (rank - 1))
        for pi in idx.passages_in(h.chunk.lines):
            if pi in seen_passages:
                continue
            seen_passages.add(pi)
            sents = idx.sentences_of(pi)
            section = idx.analyzer.field(idx.report.passages[pi].section or "")
            groups = [(s,) for s in sents] + [
                (s1, s2) for s1, s2 in zip(sents, sents[1:], strict=False) if len((s1.text + s2.text).split()) <= 70
            ]
            for g in groups:
                f = g[0].field if len(g) == 1 else Field(g[0].field.whole | g[1].field.whole,
                                                         g[0].field.parts | g[1].field.parts)
                got, coverage, matched = match_score(weights, [(f, 1.0), (section, 0.8)])
                if got <= 0:
                    continue
                text = " ".join(x.text for x in g)
                density = len(matched & f.whole) / max(4, len(f.whole))
                score = 10.0 * coverage + 0.6 * got + bonus + 3.0 * density - (0.6 if len(g) == 2 else 0.0)
                sent_years = {int(y) for y in _YEAR_IN.findall(text)}
                if a.years:
                    if set(a.years) & sent_years:
                        score += 1.0
                    elif sent_years:
                        score -= 1.0
                if wants_name and (_NAME.search(text) or _new_name(text, asked)):
                    score += 2.0
                value = raw = unit = None
                if a.wants_number:
                    picked = _pick_number(text, a, weights, idx.analyzer)
                    if picked is not None and len(g) > 1:
                        # the number's own sentence must speak of what is asked
                        own = g[0] if picked[0].start < len(g[0].text) else g[1]
                        if match_score(weights, [(own.field, 1.0)])[1] < 0.25:
                            picked = None
                    if picked is None:
                        score -= 3.0
                    else:
                        n, unit = picked
                        value, raw = n.value, n.raw
                key = key_term_credit(weights, [(f, 1.0), (section, 0.8)])
                cands.append(ProseFact(tuple(g), value, raw, unit, score, coverage, key))
    cands.sort(key=lambda c: -c.score)
    return cands[:limit]


# --------------------------------------------------------------------------- both


def resolve(ctx: QueryContext, idx: ReportIndex, a: QueryAnalysis, hits: Sequence[Hit],
            idf: Mapping[str, float] | None = None, idf_ceiling: float | None = None) -> Resolution:
    """Pick the table cell or the prose sentence that answers the question. `idf_ceiling` (the
    idf of a word found in one chunk) puts label support on a corpus-independent scale."""
    trace: list[str] = []
    tcs = table_candidates(idx, a, hits, idf, idf_ceiling=idf_ceiling) if a.wants_number else []
    pcs = prose_candidates(idx, a, hits, idf)
    t = tcs[0] if tcs else None
    p = pcs[0] if pcs else None
    if a.wants_number and p is not None and p.value is None:
        with_value = [c for c in pcs if c.value is not None]
        if with_value and with_value[0].coverage >= p.coverage - 0.25:
            p = with_value[0]
    if t is not None:
        trace.append(
            f"table candidate: Tabell {t.cell.table_number} «{t.cell.row.label}» / «{t.cell.column}» "
            f"score {t.score:.1f} coverage {t.coverage:.2f}"
        )
    if p is not None:
        trace.append(f"prose candidate: lines {p.lines} score {p.score:.1f} coverage {p.coverage:.2f}")
    t_ok = t is not None and not t.missing_years
    p_ok = p is not None and not prose_missing_years(idx, a, p) and (p.value is not None or not a.wants_number)
    choice = "none"
    if t is not None and t_ok and not p_ok:
        choice = "table"
    elif p is not None and p_ok and not t_ok:
        choice = "prose"
    elif t is not None and (p is None or _table_strength(t) >= _prose_strength(p) - TABLE_MARGIN):
        choice = "table"
    elif p is not None:
        choice = "prose"
    # a comparison in percent the table can only compute in amounts: prefer the text
    if (choice == "table" and t is not None and t.kind == "computed" and "prosent" in a.intents
            and p is not None and p.value is not None and "%" not in t.cell.cell.raw):
        choice = "prose"
    if a.table_ref is not None and t is not None:
        choice = "table"
    trace.append(f"choice: {choice}")
    return Resolution(t, p, choice, tuple(tcs), tuple(c for c in pcs if c is not p), tuple(trace))


def _table_strength(t: TableFact) -> float:
    """Coverage, discounted when the row label has words the question does not explain."""
    return t.coverage * (0.7 + 0.3 * t.precision)


def _prose_strength(p: ProseFact) -> float:
    """Coverage, discounted for a two-sentence quote (more words, more chance matches)."""
    return p.coverage - (0.1 if len(p.sentences) > 1 else 0.0)


def prose_missing_years(idx: ReportIndex, a: QueryAnalysis, fact: ProseFact) -> list[int]:
    """Years asked about that a prose answer does not speak of (the report's own year is implied
    by a sentence that names no other year; the sentence before counts as context)."""
    if not a.years:
        return []
    sentence_years = years_covered(idx, fact)
    context = set(sentence_years)
    first = fact.sentences[0]
    before = [s for s in idx.sentences_of(idx.passage_index(first.passage)) if s.index == first.index - 1]
    if before:
        context |= {int(y) for y in _YEAR_IN.findall(before[0].text)}
    passage_years = {int(y) for y in _YEAR_IN.findall(first.passage.text)}
    # "300 mill. lavere enn i 2019": a comparison with an earlier year speaks of the report's year
    compares_back = bool(re.search(r"\b(?:enn|than|sammenlignet med|compared (?:to|with)|fra|from)\s+(?:i\s+|in\s+)?"
                                   r"((?:19|20)\d{2})\b", fact.text, re.I))
    out = []
    for y in a.years:
        if y in context:
            continue
        if y == idx.report_year and (not (sentence_years - {y}) or y in passage_years or compares_back):
            continue
        out.append(y)
    return out


def years_covered(idx: ReportIndex, fact: TableFact | ProseFact | None) -> frozenset[int]:
    if isinstance(fact, TableFact):
        ti = idx.table_info(fact.cell.table)
        return ti.years if ti is not None else frozenset()
    if isinstance(fact, ProseFact):
        return frozenset(int(y) for y in _YEAR_IN.findall(fact.text))
    return frozenset()
