"""The question adapter: its features on a small invented report with hash vectors, and its
fitting on synthetic vectors (a map learnt on some contexts carries over to unseen ones)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from fakereport import fake_report_text

from ingest.embeddings import HashEmbeddings
from ingest.parse import parse_report
from ingest.pipeline import report_units, with_meta
from rag.adapter import adapt, context_index, context_vectors
from rag.engine import Engine
from rag.layout import CELL, DIFF, FIGURE, LEAD, SENTENCE, F


@dataclass
class _Stub:
    """A ranker that only maps the question vector."""

    weights: np.ndarray | None

    def vectors(self, qvec: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        return qvec, adapt(qvec, self.weights)


@pytest.fixture(scope="module")
def engine() -> Engine:
    report = with_meta(parse_report(fake_report_text(), "eksempel.txt"))
    emb = HashEmbeddings(dim=32)
    units = report_units(report)
    vecs = emb.embed_documents([u.text for u in units])
    vectors = {report.meta.id: dict(zip([u.key for u in units], vecs, strict=True))}
    return Engine.from_reports([report], vectors, emb.embed_query)


QUESTION = "Hvor mange elever gikk i grunnskolen i 2020?"


def _scored(engine: Engine, weights: np.ndarray | None):
    engine.ranker = _Stub(weights)
    a = engine.analyze(QUESTION)
    qvec = engine.question_vector(a)
    q, c = engine.candidates(a, qvec)
    return qvec, c


def test_adapt_maps_and_normalises_and_leaves_other_sizes_alone() -> None:
    q = np.asarray([3.0, 4.0], np.float32) / 5
    assert np.allclose(adapt(q, np.eye(2, dtype=np.float32)), q)
    swapped = adapt(q, np.asarray([[0, 1], [1, 0]], np.float32))
    assert np.allclose(swapped, [0.8, 0.6]) and np.isclose(np.linalg.norm(swapped), 1.0)
    assert adapt(q, np.eye(3, dtype=np.float32)) is q  # another embedding size: the plain vector
    assert adapt(None, np.eye(2, dtype=np.float32)) is None


def test_each_candidate_points_at_its_own_context(engine: Engine) -> None:
    _, c = _scored(engine, None)
    corpus = engine.corpus
    idx = context_index(corpus, c.kind, c.ref, c.pairs)
    n_rows, n_sents = len(corpus.row_vecs), len(corpus.sent_vecs)
    V = context_vectors(corpus)
    assert V.shape[0] == n_rows + n_sents + len(corpus.lead_vecs)
    for i in range(len(c.kind)):
        k, r = int(c.kind[i]), int(c.ref[i])
        if k == CELL:
            expected = corpus.cell_row[r]
        elif k == DIFF:
            expected = corpus.cell_row[c.pairs[r][0]]
        elif k == FIGURE:
            expected = n_rows + corpus.figure_sentence[r]
        elif k == SENTENCE:
            expected = n_rows + r
        else:
            assert k == LEAD
            expected = n_rows + n_sents + r
        assert idx[i] == expected


def test_without_an_adapter_the_tuned_similarity_is_the_plain_one(engine: Engine) -> None:
    qvec, c = _scored(engine, None)
    assert qvec is not None
    plain = np.isin(c.kind, (CELL, FIGURE, SENTENCE, LEAD))
    np.testing.assert_allclose(c.X[plain, F["dense_tuned"]], c.X[plain, F["dense_main"]], atol=1e-6)
    best = int(np.argmax(c.X[:, F["dense_tuned"]]))
    assert c.X[best, F["tuned_gap"]] == 0 and c.X[best, F["tuned_rank"]] == 0
    assert (c.X[:, F["tuned_gap"]] >= 0).all() and (c.X[:, F["tuned_rank"]] <= 1).all()


def test_the_adapter_maps_the_question_before_the_similarity(engine: Engine) -> None:
    d = 32
    weights = np.roll(np.eye(d, dtype=np.float32), 1, axis=1)  # a permutation of the dimensions
    qvec, c = _scored(engine, weights)
    V = context_vectors(engine.corpus)
    idx = context_index(engine.corpus, c.kind, c.ref, c.pairs)
    mapped = adapt(qvec, weights)
    np.testing.assert_allclose(c.X[:, F["dense_tuned"]], (V @ mapped)[idx], atol=1e-6)
    assert not np.allclose(c.X[:, F["dense_tuned"]], (V @ qvec)[idx])


# -- fitting, on synthetic vectors ------------------------------------------------------------


@dataclass
class _Ex:
    qvec: np.ndarray | None
    positives: np.ndarray
    contexts: np.ndarray
    X: np.ndarray


def _synthetic(seed: int, n_ctx: int = 120, d: int = 16, per: int = 3) -> tuple[np.ndarray, list[_Ex]]:
    """Contexts are random unit vectors; a question about context j is it with the halves of its
    dimensions swapped, plus noise: the plain question vector is far from its context and a
    linear map brings it back."""
    from rag.layout import FEATURES

    rng = np.random.default_rng(seed)
    V = rng.normal(size=(n_ctx, d)).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    swap = np.r_[np.arange(d // 2, d), np.arange(d // 2)]  # the two halves of the dimensions swapped
    exs = []
    for j in range(n_ctx):
        for _ in range(per):
            q = V[j][swap] + 0.15 * rng.normal(size=d)
            q = (q / np.linalg.norm(q)).astype(np.float32)
            # three candidates: the gold one and two others
            others = rng.choice(np.delete(np.arange(n_ctx), j), 2, replace=False)
            exs.append(_Ex(q, np.asarray([0]), np.asarray([j, *others]), np.zeros((3, len(FEATURES)), np.float32)))
    return V, exs


@pytest.fixture()
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """A larger step: the synthetic map is far from the identity, the real one is not."""
    from eval.adapter import ADAPTER_PARAMS

    monkeypatch.setitem(ADAPTER_PARAMS, "lr", 0.01)
    monkeypatch.setitem(ADAPTER_PARAMS, "epochs", 60)


def test_the_fitted_map_finds_contexts_it_never_saw(quick: None) -> None:
    pytest.importorskip("torch")
    from eval.adapter import context_mrr, fit_adapter

    V, exs = _synthetic(0)
    seen = [e for e in exs if e.contexts[0] < 80]
    unseen = [e for e in exs if e.contexts[0] >= 80]
    W = fit_adapter(seen, V, seed=0)
    assert W is not None and W.shape == (16, 16)
    assert np.array_equal(W, W.astype(np.float16).astype(np.float32))  # rounded as shipped
    plain, fitted = context_mrr(unseen, V, None), context_mrr(unseen, V, W)
    assert plain < 0.15 and fitted > 0.5
    # seeded: the same data give the same weights
    assert np.array_equal(fit_adapter(seen, V, seed=0), W)


def test_without_question_vectors_there_is_no_map() -> None:
    pytest.importorskip("torch")
    from eval.adapter import fit_adapter

    V, exs = _synthetic(1, n_ctx=10)
    for e in exs:
        e.qvec = None
    assert fit_adapter(exs, V) is None


def test_questions_sharing_a_gold_context_share_a_fold_group() -> None:
    from eval.adapter import context_groups

    def ex(*gold: int) -> _Ex:
        return _Ex(np.zeros(2, np.float32), np.arange(len(gold)), np.asarray(gold), np.zeros((len(gold), 1)))

    none = _Ex(np.zeros(2, np.float32), np.zeros(0, np.int64), np.asarray([5]), np.zeros((1, 1)))
    groups = context_groups([ex(1), ex(2), ex(1, 3), ex(3, 4), ex(7), none, none])
    assert groups[0] == groups[2] == groups[3]  # 1 links 0 and 2; 3 links 2 and 3
    assert len({groups[0], groups[1], groups[4], groups[5], groups[6]}) == 5


def test_cross_fitted_features_come_from_maps_that_did_not_see_the_context(quick: None) -> None:
    pytest.importorskip("torch")
    from eval.adapter import context_mrr, cross_fit, fit_adapter, set_features

    V, exs = _synthetic(2, n_ctx=60)
    plain_mrr = context_mrr(exs, V, None)
    cross_mrr = cross_fit(exs, V, folds=3, seed=0)
    held_out = np.asarray([e.X[0, F["dense_tuned"]] for e in exs])
    set_features(exs, V, fit_adapter(exs, V, seed=0))
    in_sample = np.asarray([e.X[0, F["dense_tuned"]] for e in exs])
    # the map carries over (cross-fitted gold similarity is high), but less than in-sample
    assert cross_mrr > plain_mrr + 0.2
    assert held_out.mean() < in_sample.mean()


def test_without_a_question_vector_every_dense_feature_is_off(engine: Engine) -> None:
    from rag.layout import DENSE_FEATURES

    engine.ranker = _Stub(None)
    a = engine.analyze(QUESTION)
    _, with_vec = engine.candidates(a, engine.question_vector(a))
    _, without = engine.candidates(a, None)
    dense = [F[name] for name in DENSE_FEATURES]
    assert (with_vec.X[:, F["dense_off"]] == 0).all() and np.abs(with_vec.X[:, dense]).sum() > 0
    assert (without.X[:, F["dense_off"]] == 1).all() and (without.X[:, dense] == 0).all()
    lexical = [i for i in range(without.X.shape[1]) if i not in dense and i != F["dense_off"]]
    # cells, figures, sentences and leads are the same candidates in the same order (the computed
    # pairs are chosen with the dense similarity, so they may differ)
    own = int((with_vec.kind != DIFF).sum())
    assert own == int((without.kind != DIFF).sum()) > 0
    assert np.array_equal(with_vec.X[:own][:, lexical], without.X[:own][:, lexical])


def test_a_ranker_for_another_embedding_model_sees_no_vector() -> None:
    from rag.ranker import Ranker

    q = np.array([0.6, 0.8], np.float32)
    w = np.array([[0, 1], [1, 0]], np.float32)
    own = Ranker(None, {}, w, dense=True)
    other = Ranker(None, {}, w, dense=False)
    assert np.allclose(own.vectors(q)[1], [0.8, 0.6])
    assert other.vectors(q) == (None, None)
