"""All candidate answers of one question with their features: the input of the ranker."""

from __future__ import annotations

import numpy as np

from rag.adapter import context_index, context_scores, set_tuned
from rag.corpus import Corpus
from rag.features import (
    Candidates,
    QuestionContext,
    cell_features,
    figure_features,
    lead_features,
    sentence_features,
)
from rag.layout import CELL, DENSE_FEATURES, DIFF, FIGURE, LEAD, SENTENCE, F
from rag.pairs import pair_cells, pair_features


def all_candidates(q: QuestionContext, corpus: Corpus) -> Candidates:
    """Every cell, prose figure, sentence and lead of the corpus, and the computed pairs."""
    cells = np.arange(len(corpus.cell_value), dtype=np.int32)
    figs = np.arange(len(corpus.figures), dtype=np.int32)
    sents = np.arange(len(corpus.sentences), dtype=np.int32)
    leads = np.arange(len(corpus.leads), dtype=np.int32)
    Xc = cell_features(q, corpus, cells)  # cells are all cells, in order: row i is cell i
    pairs = pair_cells(corpus, cells, Xc)
    parts = [
        (CELL, cells, Xc),
        (FIGURE, figs, figure_features(q, corpus, figs)),
        (SENTENCE, sents, sentence_features(q, corpus, sents)),
        (LEAD, leads, lead_features(q, corpus, leads)),
        (DIFF, np.arange(len(pairs), dtype=np.int32), pair_features(q, corpus, pairs, Xc)),
    ]
    kind = np.concatenate([np.full(len(ref), k, np.int8) for k, ref, _ in parts])
    ref = np.concatenate([ref for _, ref, _ in parts])
    X = np.concatenate([x for _, _, x in parts], axis=0)
    own = ~np.isin(kind, (FIGURE, SENTENCE))  # no neighbours: the context is the candidate itself
    X[own, F["cov_ctx"]] = X[own, F["cov_all"]]
    X[own, F["missed_ctx"]] = X[own, F["missed_max"]]
    lead = kind == LEAD
    X[lead, F["missed_known"]] = X[lead, F["missed_max"]]
    if q.qvec is None:
        dense_off(X)
    else:
        set_tuned(X, context_scores(corpus, q.qtuned)[context_index(corpus, kind, ref, pairs)])
    return Candidates(kind, ref, pairs, X)


def dense_off(X: np.ndarray) -> np.ndarray:
    """The features of a question without a usable vector, in place: dense features 0, dense_off 1."""
    X[:, [F[name] for name in DENSE_FEATURES]] = 0.0
    X[:, F["dense_off"]] = 1.0
    return X


def candidate_value(corpus: Corpus, cands: Candidates, i: int) -> float | None:
    """The number candidate i answers with (None for sentences and leads)."""
    kind, ref = int(cands.kind[i]), int(cands.ref[i])
    if kind == CELL:
        return float(corpus.cell_value[ref])
    if kind == FIGURE:
        return corpus.figures[ref].value
    if kind == DIFF:
        a, b = cands.pairs[ref]
        return float(corpus.cell_value[a] - corpus.cell_value[b])
    return None


def candidate_sentences(corpus: Corpus, cands: Candidates, idx: np.ndarray | None = None) -> np.ndarray:
    """The sentence each candidate comes from (a prose figure's or the sentence itself; -1 for
    cells, pairs and leads), for all candidates or those at ``idx``."""
    kind = cands.kind if idx is None else cands.kind[idx]
    ref = cands.ref if idx is None else cands.ref[idx]
    out = np.full(len(kind), -1, np.int64)
    fig = kind == FIGURE
    out[fig] = corpus.figure_sentence[ref[fig]]
    sent = kind == SENTENCE
    out[sent] = ref[sent]
    return out


def candidate_text(corpus: Corpus, cands: Candidates, i: int) -> tuple[str, tuple[int, int], int]:
    """(source text, its lines, report index) of a prose candidate; ("", (0, 0), report) for cells."""
    kind, ref = int(cands.kind[i]), int(cands.ref[i])
    if kind == SENTENCE:
        s = corpus.sentences[ref]
        return s.text, s.lines, s.report
    if kind == FIGURE:
        s = corpus.sentences[int(corpus.figure_sentence[ref])]
        return s.text, s.lines, s.report
    if kind == LEAD:
        lead = corpus.leads[ref]
        return lead.text, lead.lines, lead.report
    row = int(corpus.cell_row[ref]) if kind == CELL else int(corpus.cell_row[cands.pairs[ref][0]])
    return "", corpus.rows[row].row.lines, corpus.report_of_row(row)
