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

from rag.corpus import COLUMN_KINDS, Corpus
from rag.figures import COUNT, FTE, MONEY, PER_CAPITA, PERCENT
from rag.match import Credits, WeightedTerm, coverage, question_stem_set, unexplained_share
from rag.query import QueryAnalysis

FEATURE_SET_VERSION = "1"
KINDS = ("cell", "figure", "sentence", "lead", "diff")
CELL, FIGURE, SENTENCE, LEAD, DIFF = range(5)

_WHO = re.compile(r"^\s*(hvem|who)\b", re.I)
_WHICH = re.compile(r"\b(hvilke[nt]?|which|hva heter|what is the name|what kind|hva slags|hva het)\b", re.I)
_WHEN = re.compile(r"^\s*(når|when)\b|\b(hvilket år|what year|which year)\b", re.I)
_WHERE = re.compile(r"^\s*(hvor(?!\s+(mye|mange|stor\w*|høy\w*|lav\w*|lenge|langt?|ofte|mange))|where)\b", re.I)
_OVERVIEW = re.compile(
    r"\b(oppsummer\w*|sammendrag|kort fortalt|hvordan gikk det|hvordan har det gått|hva handler|hva står det om|"
    r"hva sier rapporten om|fortell (meg )?om|hovedpunkt\w*|overview|summar\w*|in short|briefly|"
    r"what does the report say|how did .{0,40}\bgo\b|how has .{0,40}\bgone\b|what is .{0,30}\babout|tell me about)\b",
    re.I,
)
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


FEATURES: tuple[str, ...] = (
    # the question
    "q_en", "q_wants_number", "q_who", "q_which", "q_when", "q_where", "q_overview",
    "q_cmp_budget", "q_cmp_change", "q_cmp_than", "q_direction", "q_n_years", "q_total",
    "q_unit_money", "q_unit_count", "q_unit_percent", "q_unit_fte", "q_unit_percap", "q_n_terms", "q_oov",
    "q_table_ref",
    # the candidate
    "k_cell", "k_figure", "k_sentence", "k_lead", "k_diff",
    "cov_all", "cov_primary", "cov_secondary", "cov_column", "cov_after", "missed_max", "extra_label",
    "n_label_words", "dense_main", "dense_gap", "dense_rank", "dense_col", "bm25", "bm25_rank",
    "year_match", "year_other", "year_latest", "table_has_year", "years_in_text", "report_year_match",
    "report_latest", "c_unit_money", "c_unit_count", "c_unit_percent", "c_unit_fte", "c_unit_percap",
    "unit_match", "unit_conflict",
    *(f"col_{k}" for k in COLUMN_KINDS), "intent_match", "col_first", "col_last",
    "is_total", "is_subtotal", "is_subrow", "has_section", "row_pos", "uncertain", "table_ref_match",
    "log_value", "negative", "zero", "raw_percent",
    "n_figures", "figure_pos", "has_proper", "has_number", "n_words",
    "pair_same_row", "pair_year_change", "pair_actual_budget", "pair_order", "diff_positive", "direction_match",
    "pair_same_kind", "counted_hit", "negated_hit", "q_price", "price_table", "clause_year_match", "has_name",
    "key_credit", "strict_cov", "label_strict", "proper_missed",
    "q_int_budget", "q_int_actual", "q_int_diff", "q_int_change", "q_int_percent",
)
F = {name: i for i, name in enumerate(FEATURES)}


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



def _rank_pct(scores: np.ndarray) -> np.ndarray:
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
    lengths = np.asarray([sum(len(f.fields[i].whole) for f in fields) for i in range(n)], np.float32)
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
    v[F["q_overview"]] = bool(_OVERVIEW.search(text))
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


def _unit_features(X: np.ndarray, units: list[str], q: QuestionContext) -> None:
    u = np.asarray(units)
    for name, unit in (("c_unit_money", MONEY), ("c_unit_count", COUNT), ("c_unit_percent", PERCENT),
                       ("c_unit_fte", FTE), ("c_unit_percap", PER_CAPITA)):
        X[:, F[name]] = u == unit
    if q.unit is not None:
        X[:, F["unit_match"]] = u == q.unit
        known = np.isin(u, [MONEY, COUNT, PERCENT, FTE, PER_CAPITA])
        X[:, F["unit_conflict"]] = known & (u != q.unit)


def cell_unit(corpus: Corpus, row: int, col: int, raw: str) -> str:
    """The unit of one cell: a percent-looking value or column, else the row's, else the table's."""
    c = corpus.columns[col]
    if "%" in raw or c.kind == "percent":
        return PERCENT
    r = corpus.rows[row]
    if r.unit_class != "other":
        return r.unit_class
    table = corpus.tables[r.table].unit_class
    if table != "other":
        return table
    return COUNT if "," not in raw else table  # a whole number in a table without a unit counts something


def cell_features(q: QuestionContext, corpus: Corpus, cells: np.ndarray) -> np.ndarray:
    """Rows of X for these cell indexes."""
    a = q.analysis
    n = len(cells)
    X = np.zeros((n, len(FEATURES)), np.float32)
    X[:] = question_row(q)
    X[:, F["k_cell"]] = 1
    if n == 0:
        return X
    rows = corpus.cell_row[cells]
    cols = corpus.cell_col[cells]
    tables = np.asarray([corpus.rows[r].table for r in range(len(corpus.rows))], np.int32)[rows]
    fields = {"label": rows, "section": rows, "caption": tables, "column": cols}
    cov, missed, _ = coverage(q.terms, q.credits, fields, n)
    X[:, F["cov_all"]] = cov
    X[:, F["missed_max"]] = missed
    X[:, F["cov_primary"]] = coverage(q.terms, q.credits, {"label": rows, "section": rows}, n)[0]
    X[:, F["cov_secondary"]] = coverage(q.terms, q.credits, {"caption": tables}, n)[0]
    X[:, F["cov_column"]] = coverage(q.terms, q.credits, {"column": cols}, n)[0]
    X[:, F["counted_hit"]] = _credit_max(q, q.counted, {"label": rows, "column": cols}, n)
    _key_and_strict(q, fields, n, X)
    X[:, F["negated_hit"]] = _credit_max(q, q.negated, {"label": rows, "column": cols}, n)
    label_fields = corpus.fields["label"].fields
    extra = unexplained_share([label_fields[r].all for r in range(len(corpus.rows))], q.asked, corpus.idf)
    X[:, F["extra_label"]] = extra[rows]
    exact = {s for wt in q.terms for s in (*wt.stems, *wt.term.parts)}
    strict = 1.0 - unexplained_share([label_fields[r].whole for r in range(len(corpus.rows))], exact, corpus.idf)
    X[:, F["label_strict"]] = strict[rows]
    X[:, F["n_label_words"]] = np.asarray([len(label_fields[r].whole) for r in rows], np.float32)
    dense_rows = _dense(q, corpus.row_vecs)
    X[:, F["dense_main"]] = dense_rows[rows]
    X[:, F["dense_gap"]] = (dense_rows.max() if dense_rows.size else 0) - dense_rows[rows]
    X[:, F["dense_rank"]] = _rank_pct(dense_rows)[rows]
    X[:, F["dense_col"]] = _dense(q, corpus.col_vecs)[cols]
    bm = _bm25(q, corpus, ("label", "section"))
    X[:, F["bm25"]] = (bm / (bm.max() or 1.0))[rows]
    X[:, F["bm25_rank"]] = _rank_pct(bm)[rows]
    col_years = [corpus.columns[c].years for c in cols]
    match, other = _years_match(col_years, a.years)
    X[:, F["year_match"]] = match
    X[:, F["year_other"]] = other
    latest_report = max((r.meta.year or 0 for r in corpus.reports if r.meta), default=0)
    for i, (c, t) in enumerate(zip(cols, tables, strict=True)):
        ti = corpus.tables[t]
        col = corpus.columns[c]
        report = corpus.reports[ti.report]
        ryear = report.meta.year if report.meta else None
        X[i, F["year_latest"]] = bool(col.years) and ti.latest_year in col.years
        X[i, F["table_has_year"]] = bool(set(a.years) & ti.years)
        X[i, F["report_year_match"]] = ryear in a.years if a.years else 0
        X[i, F["report_latest"]] = (ryear or 0) >= latest_report
        X[i, F[f"col_{col.kind}"]] = 1
        X[i, F["col_first"]] = col.index == 0
        X[i, F["col_last"]] = col.index == len(ti.table.columns) - 1
        X[i, F["intent_match"]] = any(_INTENT_COLUMN.get(it) == col.kind for it in a.intents)
        X[i, F["table_ref_match"]] = a.table_ref is not None and str(a.table_ref) == str(ti.table.cite_number)
        X[i, F["price_table"]] = ti.fixed_prices
    for i, r in enumerate(rows):
        ri = corpus.rows[r]
        X[i, F["is_total"]] = ri.is_total
        X[i, F["is_subtotal"]] = ri.subtotal
        X[i, F["is_subrow"]] = ri.subrow
        X[i, F["has_section"]] = ri.row.section is not None
        X[i, F["row_pos"]] = ri.index / max(1, len(corpus.tables[ri.table].table.rows) - 1)
        X[i, F["uncertain"]] = ri.row.uncertain
    values = corpus.cell_value[cells]
    X[:, F["log_value"]] = np.log10(np.abs(values) + 1)
    X[:, F["negative"]] = values < 0
    X[:, F["zero"]] = values == 0
    raws = [corpus.cell_raw[c] for c in cells]
    X[:, F["raw_percent"]] = ["%" in r for r in raws]
    _unit_features(X, [cell_unit(corpus, r, c, raw) for r, c, raw in zip(rows, cols, raws, strict=True)], q)
    return X


def _sentence_common(q: QuestionContext, corpus: Corpus, X: np.ndarray, sents: np.ndarray) -> None:
    a = q.analysis
    dense = _dense(q, corpus.sent_vecs)
    X[:, F["dense_main"]] = dense[sents]
    X[:, F["dense_gap"]] = (dense.max() if dense.size else 0) - dense[sents]
    X[:, F["dense_rank"]] = _rank_pct(dense)[sents]
    bm = _bm25(q, corpus, ("sentence",))
    X[:, F["bm25"]] = (bm / (bm.max() or 1.0))[sents]
    X[:, F["bm25_rank"]] = _rank_pct(bm)[sents]
    years = [tuple(corpus.sentences[s].years) for s in sents]
    match, other = _years_match(years, a.years)
    X[:, F["year_match"]] = match
    X[:, F["year_other"]] = other
    X[:, F["years_in_text"]] = [len(y) for y in years]
    latest_report = max((r.meta.year or 0 for r in corpus.reports if r.meta), default=0)
    for i, s in enumerate(sents):
        info = corpus.sentences[s]
        report = corpus.reports[info.report]
        ryear = report.meta.year if report.meta else None
        X[i, F["year_latest"]] = ryear in info.years
        X[i, F["report_year_match"]] = ryear in a.years if a.years else 0
        X[i, F["report_latest"]] = (ryear or 0) >= latest_report
        X[i, F["n_words"]] = len(info.text.split())


def figure_features(q: QuestionContext, corpus: Corpus, figs: np.ndarray) -> np.ndarray:
    n = len(figs)
    X = np.zeros((n, len(FEATURES)), np.float32)
    X[:] = question_row(q)
    X[:, F["k_figure"]] = 1
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
    X[:, F["counted_hit"]] = _credit_max(q, q.counted, {"after": figs}, n)
    _key_and_strict(q, fields, n, X)
    X[:, F["negated_hit"]] = _credit_max(q, q.negated, {"clause": figs}, n)
    _sentence_common(q, corpus, X, sents)
    asked = set(q.analysis.years)
    if asked:
        X[:, F["clause_year_match"]] = [bool(asked & corpus.figure_clause_years[f]) for f in figs]
    per_sentence: dict[int, list[int]] = {}
    for f, s in zip(figs, sents, strict=True):
        per_sentence.setdefault(int(s), []).append(int(f))
    units = []
    for i, f in enumerate(figs):
        fig = corpus.figures[f]
        units.append(fig.unit_class)
        siblings = per_sentence[int(sents[i])]
        X[i, F["n_figures"]] = len(siblings)
        X[i, F["figure_pos"]] = siblings.index(int(f))
        X[i, F["log_value"]] = np.log10(abs(fig.value) + 1)
        X[i, F["negative"]] = fig.value < 0
        X[i, F["raw_percent"]] = fig.unit_class == PERCENT
    _unit_features(X, units, q)
    return X


_PROPER = re.compile(r"(?<=[\w,] )[A-ZÆØÅ][\wæøå-]+")
_NAME = re.compile(r"\b[A-ZÆØÅ][a-zæøå]+(?:\s+[A-ZÆØÅ]\.)?\s+[A-ZÆØÅ][a-zæøå]+")


def sentence_features(q: QuestionContext, corpus: Corpus, sents: np.ndarray) -> np.ndarray:
    n = len(sents)
    X = np.zeros((n, len(FEATURES)), np.float32)
    X[:] = question_row(q)
    X[:, F["k_sentence"]] = 1
    if n == 0:
        return X
    cov, missed, _ = coverage(q.terms, q.credits, {"sentence": sents, "heading": sents}, n)
    _key_and_strict(q, {"sentence": sents, "heading": sents}, n, X)
    X[:, F["cov_all"]] = cov
    X[:, F["missed_max"]] = missed
    X[:, F["cov_primary"]] = coverage(q.terms, q.credits, {"sentence": sents}, n)[0]
    X[:, F["cov_secondary"]] = coverage(q.terms, q.credits, {"heading": sents}, n)[0]
    _sentence_common(q, corpus, X, sents)
    for i, s in enumerate(sents):
        text = corpus.sentences[s].text
        X[i, F["has_proper"]] = bool(_PROPER.search(text))
        X[i, F["has_name"]] = bool(_NAME.search(text))
        X[i, F["has_number"]] = bool(re.search(r"\d", text))
    return X


def lead_features(q: QuestionContext, corpus: Corpus, leads: np.ndarray) -> np.ndarray:
    n = len(leads)
    X = np.zeros((n, len(FEATURES)), np.float32)
    X[:] = question_row(q)
    X[:, F["k_lead"]] = 1
    if n == 0:
        return X
    heading_cov = coverage(q.terms, q.credits, {"lead_heading": leads}, n)[0]
    _key_and_strict(q, {"lead_heading": leads}, n, X)
    first = np.asarray([corpus.leads[i].sentences[0] for i in leads], np.int32)
    text_cov = np.zeros(n, np.float32)
    for j, i in enumerate(leads):
        idx = np.asarray(corpus.leads[i].sentences, np.int32)
        text_cov[j] = coverage(q.terms, q.credits, {"sentence": idx}, len(idx))[0].max()
    X[:, F["cov_all"]] = np.maximum(heading_cov, text_cov)
    X[:, F["cov_primary"]] = heading_cov
    X[:, F["cov_secondary"]] = text_cov
    dense = _dense(q, corpus.lead_vecs)
    X[:, F["dense_main"]] = dense[leads]
    X[:, F["dense_gap"]] = (dense.max() if dense.size else 0) - dense[leads]
    X[:, F["dense_rank"]] = _rank_pct(dense)[leads]
    for j, i in enumerate(leads):
        X[j, F["n_words"]] = len(corpus.leads[i].text.split())
        X[j, F["years_in_text"]] = len(corpus.sentences[first[j]].years)
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
                     qvec: np.ndarray | None) -> QuestionContext:
    negated = _words_terms(analysis.text, terms, _NEGATED)
    kept = [wt for wt in terms if wt not in negated]
    counted = _words_terms(analysis.text, kept, _COUNTED)[:2]
    return QuestionContext(analysis, kept, credits, qvec, question_unit(analysis.text),
                           question_stem_set(kept, credits), counted, negated)


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
