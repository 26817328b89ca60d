"""The answer engine's scoring core: question -> analysis -> every candidate with features ->
ranker scores. Answer writing and abstention build on `Scored` (rag/decide.py, rag/answer.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.records import Report
from rag.candidates import all_candidates
from rag.context import make_analyzer, make_context
from rag.conversation import analyze
from rag.corpus import Corpus, build_corpus
from rag.features import Candidates, QuestionContext, question_context
from rag.match import Credits, Spelling, weigh_terms
from rag.query import QueryAnalysis, QueryContext
from rag.ranker import year_gate

QueryEmbedder = Callable[[str], Sequence[float]]


@dataclass
class Scored:
    analysis: QueryAnalysis
    q: QuestionContext
    cands: Candidates
    scores: np.ndarray  # ranker probability per candidate
    order: np.ndarray  # candidate indexes, best first


class Engine:
    """Corpus + question context + query embedder (+ ranker): scores every candidate."""

    def __init__(self, corpus: Corpus, ctx: QueryContext, embed_query: QueryEmbedder | None = None,
                 ranker: Any = None) -> None:
        self.corpus = corpus
        self.ctx = ctx
        self.embed_query = embed_query
        self.ranker = ranker
        self.spelling = Spelling(corpus)
        # answers name their report when the index holds several, even if this engine scores one
        # of them (rag/library.py sets it for the engines it builds)
        self.several_reports = len(corpus.reports) > 1

    @classmethod
    def from_reports(cls, reports: Sequence[Report], vectors: dict | None = None,
                     embed_query: QueryEmbedder | None = None, ranker: Any = None) -> Engine:
        analyzer = make_analyzer(reports)
        corpus = build_corpus(reports, analyzer, vectors)
        return cls(corpus, make_context(reports, analyzer), embed_query, ranker)

    def analyze(self, question: str, history: Sequence[Any] | None = None) -> QueryAnalysis:
        return analyze(question, self.ctx, history)

    def question_vector(self, analysis: QueryAnalysis) -> np.ndarray | None:
        if self.embed_query is None:
            return None
        text = analysis.text
        if analysis.lang == "en" and analysis.expansions:
            text = f"{text} ({' '.join(analysis.expansions)})"
        v = np.asarray(self.embed_query(text), dtype=np.float32)
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def candidates(self, analysis: QueryAnalysis, qvec: np.ndarray | None = None) -> tuple[QuestionContext, Candidates]:
        credits = Credits(self.corpus)
        terms = weigh_terms(analysis, self.corpus, self.spelling)
        vectors = getattr(self.ranker, "vectors", None)
        qvec, qtuned = vectors(qvec) if vectors else (qvec, None)
        q = question_context(analysis, self.corpus, credits, terms, qvec, qtuned)
        return q, all_candidates(q, self.corpus)

    def score(self, question: str, history: Sequence[Any] | None = None) -> Scored:
        analysis = self.analyze(question, history)
        q, cands = self.candidates(analysis, self.question_vector(analysis))
        scores = year_gate(cands.X, self.ranker.predict(cands.X)) if self.ranker is not None else cands.X[:, 0] * 0
        order = np.argsort(-scores, kind="stable")
        return Scored(analysis, q, cands, scores, order)
