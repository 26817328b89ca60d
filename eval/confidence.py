"""Training data and fitting of the confidence model: "is the ranker's best candidate right?".

Each labeled question gives one confidence row (rag/ranker.py ``confidence_row``): its best
candidate against the rivals, from the ranker's out-of-fold scores; an unanswerable question is a
row whose best candidate is wrong. (Answer-ablated copies of the answerable questions as extra
near-misses were tried in the tenth session and taken out in the eleventh: they lowered the
separation of answerable from unanswerable questions, docs/MODEL.md.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CONF_PARAMS = dict(n_estimators=200, learning_rate=0.05, num_leaves=8, min_child_samples=40, reg_lambda=1.0,
                   verbose=-1, n_jobs=2, deterministic=True, force_col_wise=True)


def confidence_data(examples: Sequence[Any], scores: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, is the best candidate right, is the question answerable), one per example
    (eval.train.Example) with its ranker scores."""
    from rag.ranker import RIVAL_DEPTH, confidence_row

    rows, right, answerable = [], [], []
    for ex, s in zip(examples, scores, strict=True):
        top = np.argsort(-s, kind="stable")[:RIVAL_DEPTH]
        rows.append(confidence_row(ex.X, s, top, [ex.values[int(i)] for i in top], ex.sentences[top]))
        right.append(bool(ex.correct[int(top[0])]))
        answerable.append(ex.item.get("kind") != "unanswerable")
    return np.asarray(rows), np.asarray(right), np.asarray(answerable)


def fit_confidence(A: np.ndarray, right: np.ndarray, seed: int) -> Any:
    """The confidence model: P(the best candidate is right) from its confidence row."""
    import lightgbm as lgb

    return lgb.LGBMClassifier(**CONF_PARAMS, random_state=seed).fit(A, right.astype(np.int8))


def cross_validated_confidence(A: np.ndarray, right: np.ndarray, folds: int, groups: np.ndarray,
                               seed: int) -> np.ndarray:
    """Probabilities of the confidence model for every row, each from a model fitted without its
    question (``groups``: the question of each row; its views share it)."""
    from sklearn.model_selection import GroupKFold

    out = np.zeros(len(right))
    for fit_idx, held in GroupKFold(n_splits=folds).split(A, groups=groups):
        out[held] = fit_confidence(A[fit_idx], right[fit_idx], seed).predict_proba(A[held])[:, 1]
    return out
