"""Hybrid retrieval: BM25 (bm25s, our Norwegian analyzer) + dense (Chroma), fused by weighted
reciprocal rank fusion. Also exposed as a LangChain ``BaseRetriever``.

The dense side is any callable ``(query, k, where) -> [(Chunk, similarity)]`` (the store's
``dense_search`` bound to a client, index and embeddings; a fake in tests), so this module
never touches Chroma or a model itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from ingest.records import Chunk
from rag.query import QueryAnalysis
from rag.text import Analyzer

log = logging.getLogger(__name__)

DenseSearch = Callable[[str, int, Mapping[str, Any] | None], list[tuple[Chunk, float]]]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused RRF score
    bm25: float = 0.0
    dense: float = 0.0
    bm25_rank: int | None = None  # 1-based
    dense_rank: int | None = None


def chunk_matches(chunk: Chunk, where: Mapping[str, Any] | None) -> bool:
    """Plain equality filters over chunk fields and metadata (table_number, kind, chapter_number,
    table_key ...); a list value means "any of"."""
    if not where:
        return True
    for key, want in where.items():
        have = getattr(chunk, key) if hasattr(chunk, key) and key != "metadata" else chunk.metadata.get(key)
        if isinstance(want, list | tuple | set | frozenset):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


class HybridRetriever:
    """BM25 over every chunk + dense search, fused with weighted reciprocal rank fusion."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        analyzer: Analyzer,
        dense: DenseSearch | None = None,
        *,
        rrf_k: int = 60,
        bm25_weight: float = 1.0,
        dense_weight: float = 1.0,
    ) -> None:
        import bm25s  # imported here: only a retriever needs it

        self.chunks = list(chunks)
        self.analyzer = analyzer
        self.dense = dense
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self._index_of = {c.id: i for i, c in enumerate(self.chunks)}
        self._tokens = [analyzer.tokens(self._index_text(c)) for c in self.chunks]
        self._bm25 = bm25s.BM25()
        if self.chunks:
            self._bm25.index([t or ["\u2205"] for t in self._tokens], show_progress=False)
        df: dict[str, int] = {}
        for toks in self._tokens:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        self.doc_freq = df
        self.n_docs = max(1, len(self.chunks))

    @staticmethod
    def _index_text(c: Chunk) -> str:
        extra = " ".join(x for x in (c.row_label or "", c.chapter_title or "") if x)
        return f"{c.text} {extra}" if extra and extra not in c.text else c.text

    def idf_ceiling(self) -> float:
        """The idf of a stem found in one chunk: the scale of `idf` for this corpus."""
        return float(np.log(1.0 + (self.n_docs - 0.5) / 1.5)) if self.n_docs > 1 else 1.0

    def idf(self, stem: str) -> float:
        """Smoothed inverse document frequency of a stem over the chunks (0 for unknown stems)."""
        n = self.doc_freq.get(stem, 0)
        if n == 0:
            return 0.0
        return float(np.log(1.0 + (self.n_docs - n + 0.5) / (n + 0.5)))

    # -- the two searches ---------------------------------------------------------------------

    def bm25_scores(self, weights: Mapping[str, float]) -> np.ndarray:
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        if not self.chunks:
            return scores
        for stem, w in weights.items():
            if w and stem in self.doc_freq:
                scores += w * self._bm25.get_scores([stem])
        return scores

    def bm25_search(
        self, weights: Mapping[str, float], k: int, where: Mapping[str, Any] | None = None
    ) -> list[tuple[int, float]]:
        scores = self.bm25_scores(weights)
        order = np.argsort(-scores, kind="stable")
        out: list[tuple[int, float]] = []
        for i in order:
            if scores[i] <= 0 or len(out) >= k:
                break
            if chunk_matches(self.chunks[i], where):
                out.append((int(i), float(scores[i])))
        return out

    def dense_search(self, text: str, k: int, where: Mapping[str, Any] | None = None,
                     problems: list[str] | None = None) -> list[tuple[int, float]]:
        """Chunk indexes and similarities from the dense store. A failure (the Chroma server went
        away) gives [] and, when `problems` is given, a line appended to it for the answer."""
        if self.dense is None or k <= 0:
            return []
        try:
            found = self.dense(text, k, _store_where(where))
        except Exception as exc:  # a dense failure degrades to BM25 only, never to no answer
            log.warning("dense search failed, using BM25 only: %s", exc)
            if problems is not None:
                problems.append(f"dense search unavailable: {exc}")
            return []
        out = []
        for chunk, sim in found:
            i = self._index_of.get(chunk.id)
            if i is not None and chunk_matches(self.chunks[i], where):
                out.append((i, float(sim)))
        return out

    # -- fused -------------------------------------------------------------------------------

    def search(
        self,
        query: str | QueryAnalysis,
        k: int = 8,
        where: Mapping[str, Any] | None = None,
        *,
        dense_text: str | None = None,
        pool: int | None = None,
        use_dense: bool = True,
        problems: list[str] | None = None,
    ) -> list[Hit]:
        """The top-k chunks by weighted RRF of the BM25 and dense rankings."""
        if isinstance(query, QueryAnalysis):
            weights = query.search_weights()
            text = dense_text or query.text
        else:
            weights = {t: 1.0 for t in self.analyzer.tokens(query)}
            text = dense_text or query
        depth = pool or max(4 * k, 40)
        bm = self.bm25_search(weights, depth, where)
        dn = self.dense_search(text, depth, where, problems) if use_dense and text.strip() else []
        fused: dict[int, dict[str, float]] = {}
        for rank, (i, s) in enumerate(bm, start=1):
            d = fused.setdefault(i, {})
            d["bm25"], d["bm25_rank"] = s, rank
        for rank, (i, s) in enumerate(dn, start=1):
            d = fused.setdefault(i, {})
            d["dense"], d["dense_rank"] = s, rank
        hits = []
        for i, d in fused.items():
            score = 0.0
            if "bm25_rank" in d:
                score += self.bm25_weight / (self.rrf_k + d["bm25_rank"])
            if "dense_rank" in d:
                score += self.dense_weight / (self.rrf_k + d["dense_rank"])
            hits.append(
                Hit(
                    chunk=self.chunks[i],
                    score=score,
                    bm25=d.get("bm25", 0.0),
                    dense=d.get("dense", 0.0),
                    bm25_rank=int(d["bm25_rank"]) if "bm25_rank" in d else None,
                    dense_rank=int(d["dense_rank"]) if "dense_rank" in d else None,
                )
            )
        hits.sort(key=lambda h: (-h.score, self._index_of[h.chunk.id]))
        return hits[:k]


def _store_where(where: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Our filters in the store's syntax: list values become {"$in": [...]} (the store ANDs keys)."""
    if not where:
        return None
    return {
        key: {"$in": list(value)} if isinstance(value, list | tuple | set | frozenset) else value
        for key, value in where.items()
    }


def hit_to_document(hit: Hit) -> Document:
    c = hit.chunk
    meta = {
        "id": c.id,
        "kind": c.kind,
        "lines": list(c.lines),
        "chapter_number": c.chapter_number,
        "chapter_title": c.chapter_title,
        "table_number": c.table_number,
        "row_label": c.row_label,
        "score": hit.score,
        "bm25_rank": hit.bm25_rank,
        "dense_rank": hit.dense_rank,
        **{f"meta_{k}": v for k, v in c.metadata.items()},
    }
    return Document(page_content=c.text, metadata=meta, id=c.id)


class RapportRetriever(BaseRetriever):
    """LangChain face of `HybridRetriever` (metadata filters via ``where``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: Any  # HybridRetriever
    k: int = 8
    where: dict[str, Any] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self.hybrid.search(query, self.k, self.where)]
