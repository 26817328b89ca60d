"""The corpus the answer engine scores: every table cell, prose figure, sentence and section
lead of every loaded report, with their text fields indexed for matching and their vectors.

Built once per index build from the stored reports and unit vectors (no source file is read).
Everything is flat, global lists and arrays so that features are computed with NumPy over all
candidates at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.embedded import caption_topic
from ingest.records import Chapter, Report, Row, Table
from ingest.sentences import passage_sentences
from rag.figures import COUNT, FTE, MONEY, OTHER, PER_CAPITA, PERCENT, RATIO, Figure, sentence_figures
from rag.text import Analyzer, Field

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_TOTAL = re.compile(r"^\s*(sum|totalt?|i alt)\b|\btotalt?\b|\bsum\b|\bi alt\b", re.IGNORECASE)
_SUBROW = re.compile(r"^\s*(herav|hvorav|av dette|-|–)\s*", re.IGNORECASE)
_KIND_WORDS = (
    ("budget", ("budsjett", "ramme", "disponibel")),
    ("actual", ("regnskap", "faktisk")),
    ("diff", ("differanse", "avvik", "mindreforbruk", "merforbruk")),
    ("change", ("endring", "vekst")),
    ("percent", ("prosent", "andel", "%")),
    ("average", ("gjennomsnitt", "snitt")),
    ("target", ("måltall", "mål ", "mål")),
)
_FIXED = re.compile(r"\b(?:19|20)\d{2}\s?-?\s?(?:kr|kroner)\b|faste\s+(?:(?:19|20)\d{2}-)?(?:kr|kroner|priser)", re.I)
COLUMN_KINDS = ("budget", "actual", "diff", "change", "percent", "average", "target", "value")


@dataclass(frozen=True)
class TableInfo:
    report: int
    index: int  # position in report.tables
    table: Table
    topic: str
    years: frozenset[int]
    latest_year: int | None
    unit_class: str
    fixed_prices: bool  # figures in fixed prices of one year ("Mill. 2020-kr", "faste kroner")


@dataclass(frozen=True)
class RowInfo:
    table: int  # global table index
    index: int
    row: Row
    is_total: bool
    subtotal: bool
    subrow: bool
    unit_class: str


@dataclass(frozen=True)
class ColumnInfo:
    table: int
    index: int
    name: str
    years: tuple[int, ...]
    kind: str


@dataclass(frozen=True)
class SentenceInfo:
    report: int
    passage: int
    index: int
    text: str
    lines: tuple[int, int]
    chapter: Chapter
    section: str | None
    years: frozenset[int]


@dataclass(frozen=True)
class LeadInfo:
    """The opening of a chapter or section: what an overview question is answered with."""

    report: int
    chapter: Chapter
    heading: str
    sentences: tuple[int, ...]  # global sentence indexes, in order
    text: str
    lines: tuple[int, int]


class FieldIndex:
    """Stem postings of one kind of text field (row labels, sentences, ...) over its instances."""

    def __init__(self, fields: Sequence[Field]) -> None:
        self.n = len(fields)
        whole: dict[str, list[int]] = {}
        parts: dict[str, list[int]] = {}
        for i, f in enumerate(fields):
            for s in f.whole:
                whole.setdefault(s, []).append(i)
            for s in f.parts:
                parts.setdefault(s, []).append(i)
        self.whole = {s: np.asarray(v, dtype=np.int32) for s, v in whole.items()}
        self.parts = {s: np.asarray(v, dtype=np.int32) for s, v in parts.items()}
        self.fields = list(fields)


def column_kind(name: str, raws: Sequence[str]) -> str:
    low = name.lower()
    kind = "value"
    for k, words in _KIND_WORDS:
        if any(w in low for w in words):
            kind = k
            break
    if kind == "average" and _YEAR.search(name):
        kind = "value"
    if kind in ("value", "actual") and raws and sum("%" in r for r in raws) > len(raws) / 2:
        kind = "percent" if kind == "value" else kind
    return kind


def unit_class_of_text(text: str) -> str:
    low = text.lower()
    if re.search(r"\bper\s+(innbygger|elev|bruker|plass|årsverk)|\bpr\.?\s+innbygger|kr per", low):
        return PER_CAPITA
    if re.search(r"%|prosent|andel|\bgrad\b|dekningsgrad|rate\b", low):
        return PERCENT
    if "årsverk" in low:
        return FTE
    if re.search(r"\bmill|\bmrd|\bkroner\b|\bkr\b|\btusen kr|\b1 ?000 kr|beløp", low):
        return MONEY
    if re.search(r"\bantall\b|personer\b|plasser\b|elever\b|\bbarn\b|brukere\b|boliger\b|besøk\w*\b", low):
        return COUNT
    if re.search(r"\bforhold|\bratio|\bgrad\b", low):
        return RATIO
    return OTHER


@dataclass
class Corpus:
    reports: list[Report]
    analyzer: Analyzer
    tables: list[TableInfo] = field(default_factory=list)
    rows: list[RowInfo] = field(default_factory=list)
    columns: list[ColumnInfo] = field(default_factory=list)
    sentences: list[SentenceInfo] = field(default_factory=list)
    leads: list[LeadInfo] = field(default_factory=list)
    # cells: parallel arrays
    cell_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    cell_col: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    cell_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cell_raw: list[str] = field(default_factory=list)
    # prose figures
    figures: list[Figure] = field(default_factory=list)
    figure_sentence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    figure_clause_years: list[frozenset[int]] = field(default_factory=list)
    # lexical
    fields: dict[str, FieldIndex] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    idf_max: float = 1.0
    vocab_sorted: list[str] = field(default_factory=list)
    # dense (rows x dim), unit-normalised; zeros where no vector was given
    row_vecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.float32))
    col_vecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.float32))
    sent_vecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.float32))
    lead_vecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), np.float32))

    def report_of_row(self, r: int) -> int:
        return self.tables[self.rows[r].table].report


def _rows_sum(rows: Sequence[Row], j: int, tolerance: float = 0.15) -> bool:
    """Is row j the sum of a run of 2+ rows directly above it, in every column both have?"""
    mine = {c.column: c.value for c in rows[j].cells if c.value is not None}
    if not mine:
        return False
    for start in range(j - 2, -1, -1):
        run = rows[start:j]
        ok = True
        for col, v in mine.items():
            vals = [r.cell(col) for r in run]
            if any(c is None or c.value is None for c in vals) or abs(sum(c.value for c in vals) - v) > tolerance:  # type: ignore[union-attr]
                ok = False
                break
        if ok:
            return True
    return False


def build_corpus(
    reports: Sequence[Report],
    analyzer: Analyzer,
    vectors: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    dim: int = 384,
) -> Corpus:
    """The corpus of these reports. ``vectors``: report id -> unit key -> vector (from the index)."""
    c = Corpus(list(reports), analyzer)
    vectors = vectors or {}
    row_keys: list[tuple[str, str]] = []
    col_keys: list[tuple[str, str]] = []
    sent_keys: list[tuple[str, str]] = []
    cells_row: list[int] = []
    cells_col: list[int] = []
    cells_val: list[float] = []
    fig_sent: list[int] = []
    for ri, report in enumerate(reports):
        rid = report.meta.id if report.meta else report.source_name
        for ti, t in enumerate(report.tables):
            years = frozenset(y for col in t.columns for y in map(int, _YEAR.findall(col)))
            tgid = len(c.tables)
            c.tables.append(TableInfo(ri, ti, t, caption_topic(t), years, max(years) if years else None,
                                      unit_class_of_text(f"{t.unit or ''} {t.caption}"),
                                      bool(_FIXED.search(f"{t.unit or ''} {t.caption}"))))
            col0 = len(c.columns)
            for ci, name in enumerate(t.columns):
                raws = [cell.raw for r in t.rows for cell in r.cells if cell.column == name and cell.raw]
                c.columns.append(ColumnInfo(tgid, ci, name, tuple(int(y) for y in _YEAR.findall(name)),
                                            column_kind(name, raws)))
                col_keys.append((rid, f"column:{ti}:{ci}"))
            for j, r in enumerate(t.rows):
                rgid = len(c.rows)
                unit = unit_class_of_text(r.label)
                c.rows.append(RowInfo(tgid, j, r, bool(_TOTAL.search(r.label)), _rows_sum(t.rows, j),
                                      bool(_SUBROW.match(r.label)), unit))
                row_keys.append((rid, f"row:{ti}:{j}"))
                for cell in r.cells:
                    if cell.value is None or cell.column not in t.columns:
                        continue
                    cells_row.append(rgid)
                    cells_col.append(col0 + t.columns.index(cell.column))
                    cells_val.append(float(cell.value))
                    c.cell_raw.append(cell.raw)
        for pi, p in enumerate(report.passages):
            for si, s in enumerate(passage_sentences(report, p)):
                sg = len(c.sentences)
                c.sentences.append(SentenceInfo(ri, pi, si, s.text, s.lines, p.chapter, p.section,
                                                frozenset(int(y) for y in _YEAR.findall(s.text))))
                sent_keys.append((rid, f"sentence:{pi}:{si}"))
                for f in sentence_figures(s.text):
                    c.figures.append(f)
                    fig_sent.append(sg)
        c.leads.extend(_leads(ri, report, c, len(c.sentences)))
    c.figure_sentence = np.asarray(fig_sent, dtype=np.int32)
    c.figure_clause_years = [frozenset(int(y) for y in _YEAR.findall(f.clause)) for f in c.figures]
    c.cell_row = np.asarray(cells_row, dtype=np.int32)
    c.cell_col = np.asarray(cells_col, dtype=np.int32)
    c.cell_value = np.asarray(cells_val, dtype=np.float64)
    _index_fields(c)
    c.row_vecs = _gather(vectors, row_keys, dim)
    c.col_vecs = _gather(vectors, col_keys, dim)
    c.sent_vecs = _gather(vectors, sent_keys, dim)
    lead_vecs = np.zeros((len(c.leads), c.sent_vecs.shape[1]), np.float32)
    for i, lead in enumerate(c.leads):
        lead_vecs[i] = c.sent_vecs[list(lead.sentences)].mean(axis=0) if lead.sentences else 0.0
    c.lead_vecs = _normalise(lead_vecs)
    return c


def _heading_line(report: Report, heading: str, first: int, reach: int = 3) -> int:
    """The line a lead's heading is printed on when it stands just above its first sentence
    (within ``reach`` lines), so that the lead's lines cite what its answer shows; else ``first``."""
    want = " ".join(heading.split()).casefold()
    for j in range(first - 1, max(0, first - 1 - reach), -1):
        if " ".join(report.lines[j - 1].split()).casefold() == want:
            return j
    return first


def _leads(ri: int, report: Report, c: Corpus, end: int) -> list[LeadInfo]:
    """The first sentences (about 60 words) under each chapter and each section heading."""
    by_passage: dict[int, list[int]] = {}
    for g in range(end - 1, -1, -1):
        s = c.sentences[g]
        if s.report != ri:
            break
        by_passage.setdefault(s.passage, []).insert(0, g)
    out: list[LeadInfo] = []
    seen: set[tuple[int | None, str | None]] = set()
    passages = report.passages
    for pi, p in enumerate(passages):
        if p.kind == "footnote":
            continue
        for key, heading in (((p.chapter.number, None), p.chapter.display), ((p.chapter.number, p.section), p.section)):
            if key in seen or heading is None:
                continue
            seen.add(key)
            sents: list[int] = []
            words = 0
            for pj in range(pi, len(passages)):
                q = passages[pj]
                if q.chapter != p.chapter or (key[1] is not None and q.section != p.section) or q.kind == "footnote":
                    break
                for g in by_passage.get(pj, []):
                    sents.append(g)
                    words += len(c.sentences[g].text.split())
                if words >= 60:
                    break
            if not sents or words < 12 or any(o.sentences == tuple(sents) for o in out):
                continue
            text = " ".join(c.sentences[g].text for g in sents)
            first = c.sentences[sents[0]].lines[0]
            lines = (_heading_line(report, heading, first), c.sentences[sents[-1]].lines[1])
            out.append(LeadInfo(ri, p.chapter, heading, tuple(sents), text, lines))
    return out


def _index_fields(c: Corpus) -> None:
    a = c.analyzer
    c.fields["label"] = FieldIndex([a.field(r.row.label) for r in c.rows])
    c.fields["section"] = FieldIndex([a.field(r.row.section or "") for r in c.rows])
    c.fields["caption"] = FieldIndex([a.field(" ".join(x for x in (t.topic, t.table.label_header or "",
                                                                  t.table.group_header or "") if x))
                                      for t in c.tables])
    c.fields["column"] = FieldIndex([a.field(col.name) for col in c.columns])
    c.fields["sentence"] = FieldIndex([a.field(s.text) for s in c.sentences])
    c.fields["heading"] = FieldIndex([a.field(f"{s.chapter.title or ''} {s.section or ''}") for s in c.sentences])
    c.fields["near"] = FieldIndex([a.field(text) for text in neighbour_texts(c.sentences)])
    c.fields["clause"] = FieldIndex([a.field(f.clause) for f in c.figures])
    c.fields["window"] = FieldIndex([a.field(f.window) for f in c.figures])
    c.fields["after"] = FieldIndex([a.field(f.after) for f in c.figures])
    c.fields["lead_heading"] = FieldIndex([a.field(lead.heading) for lead in c.leads])
    # idf over "documents": row contexts and sentences
    df: dict[str, int] = {}
    docs = [c.fields["label"].fields[i].all | c.fields["section"].fields[i].all
            | c.fields["caption"].fields[r.table].all for i, r in enumerate(c.rows)]
    docs += [f.all for f in c.fields["sentence"].fields]
    for d in docs:
        for s in d:
            df[s] = df.get(s, 0) + 1
    n = max(1, len(docs))
    c.idf = {s: math.log((n + 1) / (k + 0.5)) for s, k in df.items()}
    c.idf_max = math.log((n + 1) / 1.5)
    c.vocab_sorted = sorted(df)


def neighbour_texts(sentences: Sequence[SentenceInfo]) -> list[str]:
    """The sentence before and the one after each sentence, within its section: where the subject
    of «Dette utgjør 14,7 mill.» or the answer to «hvem leder podkasten?» often stands."""
    out = []
    for i, s in enumerate(sentences):
        near = [sentences[j].text for j in (i - 1, i + 1)
                if 0 <= j < len(sentences) and _same_section(sentences[j], s)]
        out.append(" ".join(near))
    return out


def _same_section(a: SentenceInfo, b: SentenceInfo) -> bool:
    return a.report == b.report and a.chapter == b.chapter and a.section == b.section


def _gather(vectors: Mapping[str, Mapping[str, np.ndarray]], keys: Sequence[tuple[str, str]], dim: int) -> np.ndarray:
    some = next((v for m in vectors.values() for v in m.values()), None)
    d = len(some) if some is not None else dim
    out = np.zeros((len(keys), d), np.float32)
    for i, (rid, key) in enumerate(keys):
        v = vectors.get(rid, {}).get(key)
        if v is not None:
            out[i] = v
    return _normalise(out)


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (m / norms).astype(np.float32)


UNIT_CLASSES = (MONEY, COUNT, PERCENT, FTE, PER_CAPITA, RATIO, OTHER)
