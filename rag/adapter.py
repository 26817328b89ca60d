"""The question adapter: a trained linear map of the question's embedding, so that it lands near
the context that answers it (row label, sentence or passage) rather than near text that merely
sounds alike. Candidates' own vectors stay as ingested; only the question vector is mapped.

Each candidate has one context vector: a cell's (and a computed pair's) row, a prose figure's or
sentence's sentence, a lead's passage. ``dense_tuned`` is the cosine of the mapped question with
it; ``tuned_gap`` and ``tuned_rank`` place it among all candidates of the question. The map is
fitted by eval/adapter.py and ships beside the ranker (rag/model/adapter.npy); without it the
plain question vector is used, and without a vector from the ranker's embedding model every
dense feature is off (rag/candidates.py dense_off).
"""

from __future__ import annotations

import numpy as np

from rag.corpus import Corpus
from rag.features import rank_pct
from rag.layout import CELL, DIFF, FIGURE, LEAD, SENTENCE, F


def adapt(qvec: np.ndarray | None, weights: np.ndarray | None) -> np.ndarray | None:
    """The mapped, unit-length question vector (the plain one without weights of its size)."""
    if qvec is None or weights is None or weights.shape != (qvec.shape[0], qvec.shape[0]):
        return qvec
    v = qvec.astype(np.float32) @ weights
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def context_vectors(corpus: Corpus) -> np.ndarray:
    """All context vectors of the corpus: rows, then sentences, then leads."""
    return np.concatenate([corpus.row_vecs, corpus.sent_vecs, corpus.lead_vecs]).astype(np.float32, copy=False)


def context_index(corpus: Corpus, kind: np.ndarray, ref: np.ndarray, pairs: list) -> np.ndarray:
    """Each candidate's row in context_vectors(corpus)."""
    n_rows, n_sents = len(corpus.row_vecs), len(corpus.sent_vecs)
    out = np.zeros(len(kind), np.int64)
    m = kind == CELL
    out[m] = corpus.cell_row[ref[m]]
    m = kind == DIFF
    out[m] = [int(corpus.cell_row[pairs[int(j)][0]]) for j in ref[m]]
    m = kind == FIGURE
    out[m] = n_rows + corpus.figure_sentence[ref[m]]
    m = kind == SENTENCE
    out[m] = n_rows + ref[m]
    m = kind == LEAD
    out[m] = n_rows + n_sents + ref[m]
    return out


def context_scores(corpus: Corpus, qvec: np.ndarray | None) -> np.ndarray:
    """Cosine of the question vector with every context vector (zeros without a usable vector)."""
    parts = (corpus.row_vecs, corpus.sent_vecs, corpus.lead_vecs)
    n = sum(len(p) for p in parts)
    if qvec is None or any(p.shape[0] and p.shape[1] != qvec.shape[0] for p in parts):
        return np.zeros(n, np.float32)
    return np.concatenate([p @ qvec if p.shape[0] else np.zeros(0, np.float32) for p in parts]).astype(np.float32)


def set_tuned(X: np.ndarray, scores: np.ndarray) -> None:
    """Write dense_tuned, tuned_gap and tuned_rank from each candidate's context score."""
    X[:, F["dense_tuned"]] = scores
    X[:, F["tuned_gap"]] = (scores.max() if scores.size else 0.0) - scores
    X[:, F["tuned_rank"]] = rank_pct(scores)
