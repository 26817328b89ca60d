"""rag.retrieve: BM25 with the Norwegian analyzer, dense fusion, filters, LangChain face."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from langchain_core.documents import Document

from ingest.embeddings import HashEmbeddings
from ingest.records import Chunk
from rag.retrieve import HybridRetriever, RapportRetriever
from rag.text import Analyzer


def _chunks() -> list[Chunk]:
    rows = [
        ("t1-r0", 1, "Netto driftsresultat", "Tabell 1: hovedoversikten for drift (Mill. kr). Netto driftsresultat. Regnskap 2020: -679,4"),
        ("t7-r0", 7, "Likviditetsreserve", "Tabell 7: hovedtall fra balansen (Mill. kr.). Likviditetsreserve. 2019: 1 759,0; 2020: 1 372,2"),
        ("t16-r0", 16, "Kommunale barnehageplasser", "Tabell 16: nøkkeltall for Oppvekst barnehage. Kommunale barnehageplasser. 2020: 3 239"),
    ]
    out = [
        Chunk(cid, "table_row", text, (i * 10, i * 10), 2, "ÅRSBERETNING", table_number=n, row_label=label,
              metadata={"table_key": str(n), "row_index": 0})
        for i, (cid, n, label, text) in enumerate(rows, start=1)
    ]
    out.append(Chunk("p100-101-0", "prose", "Kommunens sykefravær for 2020 var 7,02 prosent.", (100, 101), 13, "ORGANISASJON"))
    out.append(Chunk("p200-201-0", "prose", "Skatteinntektene er kommunens største inntektskilde.", (200, 201), 5, None))
    return out


@pytest.fixture
def retriever() -> HybridRetriever:
    chunks = _chunks()
    a = Analyzer()
    a.set_vocabulary(Analyzer.corpus_words(c.text for c in chunks))
    return HybridRetriever(chunks, a)


def test_bm25_finds_the_row(retriever):
    hits = retriever.search("Hvor stor var likviditetsreserven i 2019?", k=3)
    assert hits[0].chunk.id == "t7-r0"
    assert hits[0].bm25_rank == 1 and hits[0].dense_rank is None


def test_table_number_is_a_token(retriever):
    hits = retriever.search("tabell 7", k=2)
    assert hits[0].chunk.table_number == 7


def test_compound_parts_match(retriever):
    # "barnehageplasser" in the question, "barnehageplasser" in the row; "plasser" alone too
    assert retriever.search("Hvor mange plasser i barnehagene?", k=1)[0].chunk.id == "t16-r0"


def test_filters(retriever):
    hits = retriever.search("2020", k=5, where={"kind": "prose"})
    assert hits and all(h.chunk.kind == "prose" for h in hits)
    hits = retriever.search("driftsresultat likviditetsreserve", k=5, where={"table_number": [7]})
    assert [h.chunk.id for h in hits] == ["t7-r0"]


def test_rrf_fuses_dense_and_bm25():
    chunks = _chunks()
    a = Analyzer()
    calls: list[tuple[str, int, Any]] = []

    def dense(query: str, k: int, where: Mapping[str, Any] | None) -> list[tuple[Chunk, float]]:
        calls.append((query, k, where))
        return [(chunks[3], 0.9), (chunks[0], 0.5)]  # the sick-leave sentence first

    r = HybridRetriever(chunks, a, dense, rrf_k=60, bm25_weight=1.0, dense_weight=1.0)
    hits = r.search("netto driftsresultat", k=3)
    # t1-r0 is first in BM25 and second in dense: it wins the fusion
    assert hits[0].chunk.id == "t1-r0"
    assert hits[0].bm25_rank == 1 and hits[0].dense_rank == 2
    assert {h.chunk.id for h in hits} >= {"p100-101-0"}
    assert calls and calls[0][0] == "netto driftsresultat"
    # weights: with dense weighted up, the dense winner goes first
    r2 = HybridRetriever(chunks, a, dense, rrf_k=1, bm25_weight=0.1, dense_weight=5.0)
    assert r2.search("netto driftsresultat", k=1)[0].chunk.id == "p100-101-0"


def test_filters_reach_the_dense_side():
    chunks = _chunks()
    seen: list[Any] = []

    def dense(query: str, k: int, where: Mapping[str, Any] | None) -> list[tuple[Chunk, float]]:
        seen.append(where)
        return []

    HybridRetriever(chunks, Analyzer(), dense).search("x", k=2, where={"table_number": [1, 7], "kind": "table_row"})
    assert seen == [{"table_number": {"$in": [1, 7]}, "kind": "table_row"}]


def test_dense_failure_falls_back_to_bm25():
    def broken(query: str, k: int, where: Mapping[str, Any] | None) -> list[tuple[Chunk, float]]:
        raise RuntimeError("chroma down")

    r = HybridRetriever(_chunks(), Analyzer(), broken)
    assert r.search("likviditetsreserve", k=1)[0].chunk.id == "t7-r0"


def test_hash_embeddings_dense_fake_in_memory():
    """A dense side built from HashEmbeddings (no Chroma): geometry the test controls."""
    chunks = _chunks()
    emb = HashEmbeddings()
    vectors = emb.embed_documents([c.text for c in chunks])

    def dense(query: str, k: int, where: Mapping[str, Any] | None) -> list[tuple[Chunk, float]]:
        q = emb.embed_query(query)
        scored = sorted(((sum(x * y for x, y in zip(q, v, strict=True)), c) for c, v in zip(chunks, vectors, strict=True)),
                        key=lambda p: -p[0])
        return [(c, s) for s, c in scored[:k]]

    r = HybridRetriever(chunks, Analyzer(), dense)
    assert r.search("sykefravær 2020", k=1)[0].chunk.id == "p100-101-0"


def test_langchain_retriever(retriever):
    lc = RapportRetriever(hybrid=retriever, k=2)
    docs = lc.invoke("likviditetsreserve")
    assert isinstance(docs[0], Document)
    assert docs[0].metadata["table_number"] == 7
    assert docs[0].metadata["lines"] == [20, 20]
    only_prose = RapportRetriever(hybrid=retriever, k=5, where={"kind": "prose"}).invoke("2020")
    assert all(d.metadata["kind"] == "prose" for d in only_prose)


def test_idf(retriever):
    assert retriever.idf("likviditetsreserv") > retriever.idf("2020") > 0
    assert retriever.idf("ukjentord") == 0.0


def test_empty_corpus():
    r = HybridRetriever([], Analyzer())
    assert r.search("hva som helst", k=3) == []
