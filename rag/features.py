"""Features of every candidate answer for one question: one row per candidate, NumPy throughout.

Candidates are every table cell, every prose figure, every sentence and every chapter or section
lead of every loaded report, plus differences computed from pairs of cells (rag/pairs.py).
Nothing here names a report, a table or a label: features are coverage of the question's words
by the candidate's text fields, dense similarity, years, units, column kinds, totals and parts,
and what kind of answer the question asks for. FEATURE_SET_VERSION ties a trained model to
exactly this list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.corpus import Corpus
from rag.figures import COUNT, FTE, MONEY, PER_CAPITA, PERCENT
from rag.layout import FEATURES, F
from rag.match import Credits, WeightedTerm, coverage, question_stem_set
from rag.overview import OVERVIEW_Q
from rag.query import QueryAnalysis
from rag.statics import statics

_WHO = re.compile(r"^\s*(hvem|who)\b", re.I)
_WHICH = re.compile(r"\b(hvilke[nt]?|which|hva heter|what is the name|what kind|hva slags|hva het)\b", re.I)
_WHEN = re.compile(r"^\s*(når|when)\b|\b(hvilket år|what year|which year)\b", re.I)
_WHERE = re.compile(r"^\s*(hvor(?!\s+(mye|mange|stor\w*|høy\w*|lav\w*|lenge|langt?|ofte|mange))|where)\b", re.I)
_TOTAL_Q = re.compile(r"\b(totalt?|samlet|samlede|i alt|til sammen|total|overall|altogether|in total|alle)\b", re.I)
_UNIT_Q = (
    (PER_CAPITA, re.compile(r"\b(per|pr\.?)\s+(innbygger|capita|inhabitant|resident|elev|pupil)", re.I)),
    (PERCENT, re.compile(r"%|\b(prosent\w*|andel\w*|percent\w*|share|proportion|rate|grad)\b", re.I)),
    (FTE, re.compile(r"\b(årsverk|fte|full[- ]time)", re.I)),
    (COUNT, re.compile(r"\b(hvor mange|antall|how many|number of|antallet)\b", re.I)),
    (MONEY, re.compile(r"\b(hvor mye|kost\w*|brukte|bruke|penger|kroner|kr|mill\w*|mrd|milliard\w*|budsjett\w*|"
                       r"inntekt\w*|utgift\w*|how much|cost\w*|spen[dt]\w*|money|income|revenue|expen\w*|budget\w*|"
                       r"betal\w*|tjen\w*|paid|pay|earn\w*)\b", re.I)),
)
_INTENT_COLUMN = {"budsjett": "budget", "regnskap": "actual", "avvik": "diff", "endring": "change", "prosent": "percent",
                  "snitt": "average"}


def question_unit(text: str) -> str | None:
    for name, pattern in _UNIT_Q:
        if pattern.search(text):
            return name
    return None


@dataclass
class Candidates:
    """The candidates of one question: kind and a reference into the corpus per row of X."""

    kind: np.ndarray  # int8: CELL | FIGURE | SENTENCE | LEAD | DIFF
    ref: np.ndarray  # index into cells / figures / sentences / leads / pairs
    pairs: list[tuple[int, int]]  # for DIFF: (cell a, cell b), value = a - b
    X: np.ndarray  # (n, len(FEATURES)) float32


@dataclass
class QuestionContext:
    """What the features need to know about the question, computed once."""

    analysis: QueryAnalysis
    terms: list[WeightedTerm]  # the words that ask for something (negated words left out)
    credits: Credits
    qvec: np.ndarray | None
    unit: str | None
    asked: set[str]
    counted: list[WeightedTerm]  # what "hvor mange X" / "how many X" counts
    negated: list[WeightedTerm]  # "ikke X", "not X", "uten X": what the answer is not about
    qtuned: np.ndarray | None = None  # the question vector through the trained adapter (rag/adapter.py)



def rank_pct(scores: np.ndarray) -> np.ndarray:
    """0 for the best score, towards 1 for the worst."""
    if scores.size == 0:
        return scores
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(scores.size, np.float32)
    ranks[order] = np.arange(scores.size, dtype=np.float32)
    return ranks / max(1, scores.size - 1)


def _bm25(q: QuestionContext, corpus: Corpus, names: tuple[str, ...], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 of the question over the union of the named fields (term present or not)."""
    fields = [corpus.fields[n] for n in names]
    n = fields[0].n
    lengths = statics(corpus).lengths(corpus, names)
    avg = float(lengths.mean()) if n else 1.0
    norm = k1 * (1 - b + b * lengths / (avg or 1.0))
    score = np.zeros(n, np.float32)
    for wt in q.terms:
        present = np.zeros(n, bool)
        for f in fields:
            for s in wt.stems:
                idx = f.whole.get(s)
                if idx is not None:
                    present[idx] = True
        score += present * (wt.weight * (k1 + 1) / (1 + norm))
    return score


def _dense(q: QuestionContext, vecs: np.ndarray) -> np.ndarray:
    if q.qvec is None or vecs.shape[0] == 0 or vecs.shape[1] != q.qvec.shape[0]:
        return np.zeros(vecs.shape[0], np.float32)
    return vecs @ q.qvec


def _years_match(years_list: list, asked: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    match = np.asarray([bool(set(y) & set(asked)) for y in years_list], np.float32)
    other = np.asarray([bool(y) and not set(y) & set(asked) for y in years_list], np.float32)
    return match, other


_QUESTION_COLUMNS = np.asarray([i for i, name in enumerate(FEATURES) if name.startswith("q_")], np.int64)


def question_row(q: QuestionContext) -> np.ndarray:
    a = q.analysis
    text = a.text
    v = np.zeros(len(FEATURES), np.float32)
    v[F["q_en"]] = a.lang == "en"
    v[F["q_wants_number"]] = a.wants_number
    v[F["q_who"]] = bool(_WHO.search(text))
    v[F["q_which"]] = bool(_WHICH.search(text))
    v[F["q_when"]] = bool(_WHEN.search(text))
    v[F["q_where"]] = bool(_WHERE.search(text))
    v[F["q_overview"]] = bool(OVERVIEW_Q.search(text))
    v[F["q_cmp_budget"]] = a.compare == "budget"
    v[F["q_cmp_change"]] = a.compare == "change"
    v[F["q_cmp_than"]] = a.compare == "than"
    v[F["q_direction"]] = a.direction
    v[F["q_n_years"]] = len(a.years)
    v[F["q_total"]] = bool(_TOTAL_Q.search(text))
    for name, unit in (("q_unit_money", MONEY), ("q_unit_count", COUNT), ("q_unit_percent", PERCENT),
                       ("q_unit_fte", FTE), ("q_unit_percap", PER_CAPITA)):
        v[F[name]] = q.unit == unit
    v[F["q_n_terms"]] = len(q.terms)
    total = sum(wt.weight for wt in q.terms) or 1.0
    v[F["q_oov"]] = sum(wt.weight for wt in q.terms if wt.oov) / total
    v[F["q_table_ref"]] = a.table_ref is not None
    v[F["q_price"]] = a.price_year is not None
    for name, intent in (("q_int_budget", "budsjett"), ("q_int_actual", "regnskap"), ("q_int_diff", "avvik"),
                         ("q_int_change", "endring"), ("q_int_percent", "prosent")):
        v[F[name]] = intent in a.intents
    return v


def _unit_match(X: np.ndarray, units: np.ndarray, q: QuestionContext) -> None:
    if q.unit is not None:
        X[:, F["unit_match"]] = units == q.unit
        X[:, F["unit_conflict"]] = np.isin(units, [MONEY, COUNT, PERCENT, FTE, PER_CAPITA]) & (units != q.unit)


def _start(static: np.ndarray, idx: np.ndarray, q: QuestionContext) -> np.ndarray:
    """A copy of the static rows of these candidates with the question's own columns set."""
    X = static[idx].copy()
    qrow = question_row(q)
    cols = _QUESTION_COLUMNS
    X[:, cols] = qrow[cols]
    return X


def _dense_block(X: np.ndarray, dense: np.ndarray, idx: np.ndarray) -> None:
    X[:, F["dense_main"]] = dense[idx]
    X[:, F["dense_gap"]] = (dense.max() if dense.size else 0) - dense[idx]
    X[:, F["dense_rank"]] = rank_pct(dense)[idx]


def _bm25_block(X: np.ndarray, bm: np.ndarray, idx: np.ndarray) -> None:
    X[:, F["bm25"]] = (bm / (bm.max() or 1.0))[idx]
    X[:, F["bm25_rank"]] = rank_pct(bm)[idx]


def _years(values: list, asked: set[int]) -> tuple[np.ndarray, np.ndarray]:
    match = np.asarray([bool(asked & y) for y in values], np.float32)
    other = np.asarray([bool(y) and not asked & y for y in values], np.float32)
    return match, other


def _report_year(corpus: Corpus, reports: np.ndarray, asked: set[int]) -> np.ndarray:
    years = np.asarray([r.meta.year if r.meta and r.meta.year else -1 for r in corpus.reports])
    return np.isin(years[reports], list(asked)).astype(np.float32) if asked else np.zeros(len(reports), np.float32)


def cell_features(q: QuestionContext, corpus: Corpus, cells: np.ndarray) -> np.ndarray:
    """Rows of X for these cell indexes."""
    a = q.analysis
    st = statics(corpus)
    X = _start(st.cells, cells, q)
    n = len(cells)
    if n == 0:
        return X
    rows = corpus.cell_row[cells]
    cols = corpus.cell_col[cells]
    tables = st.row_table[rows]
    fields = {"label": rows, "section": rows, "caption": tables, "column": cols}
    cov, missed, _ = coverage(q.terms, q.credits, fields, n)
    X[:, F["cov_all"]] = cov
    X[:, F["missed_max"]] = missed
    X[:, F["cov_primary"]] = coverage(q.terms, q.credits, {"label": rows, "section": rows}, n)[0]
    X[:, F["cov_secondary"]] = coverage(q.terms, q.credits, {"caption": tables}, n)[0]
    X[:, F["cov_column"]] = coverage(q.terms, q.credits, {"column": cols}, n)[0]
    X[:, F["counted_hit"]] = _credit_max(q, q.counted, {"label": rows, "column": cols}, n)
    _missed_known(q, fields, n, X)
    _key_and_strict(q, fields, n, X)
    X[:, F["negated_hit"]] = _credit_max(q, q.negated, {"label": rows, "column": cols}, n)
    X[:, F["extra_label"]] = st.label_all.unexplained(q.asked)[rows]
    exact = {s for wt in q.terms for s in (*wt.stems, *wt.term.parts)}
    X[:, F["label_strict"]] = 1.0 - st.label_whole.unexplained(exact)[rows]
    _dense_block(X, _dense(q, corpus.row_vecs), rows)
    X[:, F["dense_col"]] = _dense(q, corpus.col_vecs)[cols]
    _bm25_block(X, _bm25(q, corpus, ("label", "section")), rows)
    asked = set(a.years)
    col_match, col_other = _years([set(c.years) for c in corpus.columns], asked)
    X[:, F["year_match"]] = col_match[cols]
    X[:, F["year_other"]] = col_other[cols]
    if asked:
        X[:, F["table_has_year"]] = np.asarray([bool(asked & t.years) for t in corpus.tables], np.float32)[tables]
    X[:, F["report_year_match"]] = _report_year(corpus, np.asarray([t.report for t in corpus.tables])[tables], asked)
    kinds = np.asarray([c.kind for c in corpus.columns])[cols]
    wanted = [_INTENT_COLUMN[it] for it in a.intents if it in _INTENT_COLUMN]
    if wanted:
        X[:, F["intent_match"]] = np.isin(kinds, wanted)
    if a.table_ref is not None:
        ref = str(a.table_ref)
        X[:, F["table_ref_match"]] = np.asarray([str(t.table.cite_number) == ref for t in corpus.tables])[tables]
    _unit_match(X, st.cell_units[cells], q)
    return X


def _sentence_part(q: QuestionContext, corpus: Corpus, X: np.ndarray, sents: np.ndarray) -> None:
    """What figures and sentences share: dense and BM25 of the sentence, its years, its report."""
    _dense_block(X, _dense(q, corpus.sent_vecs), sents)
    _bm25_block(X, _bm25(q, corpus, ("sentence",)), sents)
    asked = set(q.analysis.years)
    match, other = _years([s.years for s in corpus.sentences], asked)
    X[:, F["year_match"]] = match[sents]
    X[:, F["year_other"]] = other[sents]
    X[:, F["report_year_match"]] = _report_year(corpus, np.asarray([s.report for s in corpus.sentences])[sents], asked)


def figure_features(q: QuestionContext, corpus: Corpus, figs: np.ndarray) -> np.ndarray:
    st = statics(corpus)
    X = _start(st.figures, figs, q)
    n = len(figs)
    if n == 0:
        return X
    sents = corpus.figure_sentence[figs]
    fields = {"clause": figs, "window": figs, "sentence": sents, "heading": sents}
    cov, missed, _ = coverage(q.terms, q.credits, fields, n)
    X[:, F["cov_all"]] = cov
    X[:, F["missed_max"]] = missed
    X[:, F["cov_primary"]] = coverage(q.terms, q.credits, {"clause": figs}, n)[0]
    X[:, F["cov_secondary"]] = coverage(q.terms, q.credits, {"sentence": sents}, n)[0]
    X[:, F["cov_column"]] = coverage(q.terms, q.credits, {"window": figs}, n)[0]
    X[:, F["cov_after"]] = coverage(q.terms, q.credits, {"after": figs}, n)[0]
    _context(q, {**fields, "near": sents}, n, X)
    X[:, F["counted_hit"]] = _credit_max(q, q.counted, {"after": figs}, n)
    _key_and_strict(q, fields, n, X)
    X[:, F["negated_hit"]] = _credit_max(q, q.negated, {"clause": figs}, n)
    _sentence_part(q, corpus, X, sents)
    asked = set(q.analysis.years)
    if asked:
        X[:, F["clause_year_match"]] = [bool(asked & corpus.figure_clause_years[f]) for f in figs]
    _unit_match(X, st.figure_units[figs], q)
    return X


def sentence_features(q: QuestionContext, corpus: Corpus, sents: np.ndarray) -> np.ndarray:
    X = _start(statics(corpus).sentences, sents, q)
    n = len(sents)
    if n == 0:
        return X
    fields = {"sentence": sents, "heading": sents}
    cov, missed, _ = coverage(q.terms, q.credits, fields, n)
    _key_and_strict(q, fields, n, X)
    X[:, F["cov_all"]] = cov
    X[:, F["missed_max"]] = missed
    X[:, F["cov_primary"]] = coverage(q.terms, q.credits, {"sentence": sents}, n)[0]
    X[:, F["cov_secondary"]] = coverage(q.terms, q.credits, {"heading": sents}, n)[0]
    _context(q, {**fields, "near": sents}, n, X)
    _sentence_part(q, corpus, X, sents)
    return X


def _context(q: QuestionContext, fields: dict[str, np.ndarray], n: int, X: np.ndarray) -> None:
    """Coverage and largest missed term with the neighbouring sentences counted in."""
    cov, missed, _ = coverage(q.terms, q.credits, fields, n)
    X[:, F["cov_ctx"]] = cov
    X[:, F["missed_ctx"]] = missed
    _missed_known(q, fields, n, X)


def _missed_known(q: QuestionContext, fields: dict[str, np.ndarray], n: int, X: np.ndarray) -> None:
    """The weightiest question word the report has somewhere but this candidate lacks: a qualifier
    that points elsewhere («sykefravær i barnehagene» against the municipality's total). Words the
    report does not have at all (a paraphrase, a typo) do not count."""
    known = [wt for wt in q.terms if not wt.oov and not wt.term.light]
    if known:
        X[:, F["missed_known"]] = coverage(known, q.credits, fields, n)[1]


def lead_features(q: QuestionContext, corpus: Corpus, leads: np.ndarray) -> np.ndarray:
    X = _start(statics(corpus).leads, leads, q)
    n = len(leads)
    if n == 0:
        return X
    heading_cov = coverage(q.terms, q.credits, {"lead_heading": leads}, n)[0]
    _key_and_strict(q, {"lead_heading": leads}, n, X)
    # the lead's text covers the question as well as its best sentence does
    sent_cov = coverage(q.terms, q.credits, {"sentence": np.arange(len(corpus.sentences))}, len(corpus.sentences))[0]
    text_cov = np.asarray([sent_cov[list(corpus.leads[i].sentences)].max() for i in leads], np.float32)
    X[:, F["cov_all"]] = np.maximum(heading_cov, text_cov)
    X[:, F["cov_primary"]] = heading_cov
    X[:, F["cov_secondary"]] = text_cov
    _dense_block(X, _dense(q, corpus.lead_vecs), leads)
    return X


_COUNTED = re.compile(r"\b(?:hvor mange|how many|antall|antallet|number of)\s+((?:[^\W\d_]+\s+){0,2}[^\W\d_]+)", re.I)
_NEGATED = re.compile(r"\b(?:ikke|not|uten|without|excluding|eksklusive|unntatt|except)\s+(?:det\s+som\s+|the\s+)?"
                      r"((?:[^\W\d_]+\s+){0,1}[^\W\d_]+)", re.I)


def _words_terms(text: str, terms: list[WeightedTerm], pattern: re.Pattern[str]) -> list[WeightedTerm]:
    words: set[str] = set()
    for m in pattern.finditer(text):
        words.update(w.lower() for w in m.group(1).split())
    return [wt for wt in terms if wt.term.word in words]


def question_context(analysis: QueryAnalysis, corpus: Corpus, credits: Credits, terms: list[WeightedTerm],
                     qvec: np.ndarray | None, qtuned: np.ndarray | None = None) -> QuestionContext:
    negated = _words_terms(analysis.text, terms, _NEGATED)
    kept = [wt for wt in terms if wt not in negated]
    counted = _words_terms(analysis.text, kept, _COUNTED)[:2]
    return QuestionContext(analysis, kept, credits, qvec, question_unit(analysis.text),
                           question_stem_set(kept, credits), counted, negated, qtuned if qtuned is not None else qvec)


def _key_and_strict(q: QuestionContext, fields: dict[str, np.ndarray], n: int, X: np.ndarray) -> None:
    """key_credit: how well the question's weightiest word is found; strict_cov: coverage by
    exact words only (no compound parts, prefixes or synonyms)."""
    heavy = [wt for wt in q.terms if not wt.term.light]
    proper = [wt for wt in heavy if wt.term.proper or wt.term.word.isupper()]
    if proper:
        total_p = sum(wt.weight for wt in proper)
        missed = sum(wt.weight * (1.0 - _credit_max(q, [wt], fields, n)) for wt in proper)
        X[:, F["proper_missed"]] = missed / total_p
    if heavy:
        key = max(heavy, key=lambda wt: wt.weight)
        X[:, F["key_credit"]] = _credit_max(q, [key], fields, n)
    got = np.zeros(n, np.float32)
    total = sum(wt.weight for wt in heavy) or 1.0
    for wt in heavy:
        hit = np.zeros(n, bool)
        for name, idx in fields.items():
            f = q.credits.corpus.fields[name]
            inst = np.zeros(f.n, bool)
            for s in wt.stems:
                post = f.whole.get(s)
                if post is not None:
                    inst[post] = True
            hit |= inst[idx]
        got += wt.weight * hit
    X[:, F["strict_cov"]] = got / total


def _credit_max(q: QuestionContext, terms: list[WeightedTerm], fields: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The best credit any of these terms gets in any of these fields, per candidate."""
    best = np.zeros(n, np.float32)
    for wt in terms:
        for name, idx in fields.items():
            if len(idx):
                best = np.maximum(best, q.credits.term(wt, name)[idx])
    return best
