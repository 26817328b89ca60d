"""Training data and fitting of the confidence model: "is the ranker's best candidate right?".

Each labeled question gives one confidence row (rag/ranker.py ``confidence_row``): its best
candidate against the rivals, from the ranker's out-of-fold scores. An unanswerable question is a
row whose best candidate is wrong; but the labeled unanswerable questions are few (about one in
five) and each is one near-miss. **Answer-ablated rows** add many more of the kind that matters:
an answerable question ranked with every candidate that would answer it taken out. What remains
on top is, by construction, a tempting neighbour of the answer (the next row, the sub-row, the
other clause), which is what the engine sees when a question asks for something the report does
not hold. Those rows are labeled wrong and weighed ABLATED_WEIGHT each. Only the fit uses them;
thresholds and every figure are computed on the real questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CONF_PARAMS = dict(n_estimators=200, learning_rate=0.05, num_leaves=8, min_child_samples=40, reg_lambda=1.0,
                   verbose=-1, n_jobs=2, deterministic=True, force_col_wise=True)
ABLATED_WEIGHT = 0.5  # weight of an answer-ablated row in the fit (a real question's row weighs 1)


def _row(ex: Any, s: np.ndarray, order: np.ndarray) -> np.ndarray:
    from rag.ranker import RIVAL_DEPTH, confidence_row

    top = order[:RIVAL_DEPTH]
    return confidence_row(ex.X, s, top, [ex.values[int(i)] for i in top], ex.sentences[top])


def _answerable(ex: Any) -> bool:
    return ex.item.get("kind") != "unanswerable"


def confidence_data(examples: Sequence[Any], scores: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, is the best candidate right, is the question answerable), one per example
    (eval.train.Example) with its ranker scores."""
    rows, right, answerable = [], [], []
    for ex, s in zip(examples, scores, strict=True):
        order = np.argsort(-s, kind="stable")
        rows.append(_row(ex, s, order))
        right.append(bool(ex.correct[int(order[0])]))
        answerable.append(_answerable(ex))
    return np.asarray(rows), np.asarray(right), np.asarray(answerable)


def ablated_data(examples: Sequence[Any], scores: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Answer-ablated rows: for every example with a right candidate, the confidence row of its
    ranking without the right candidates (every one: a figure printed twice goes twice), and the
    index of the example it comes from. Examples left with fewer than two candidates give none."""
    rows, source = [], []
    for k, (ex, s) in enumerate(zip(examples, scores, strict=True)):
        if not _answerable(ex) or not ex.correct.any():
            continue
        order = np.argsort(-s, kind="stable")
        order = order[~ex.correct[order]]
        if len(order) < 2:
            continue
        rows.append(_row(ex, s, order))
        source.append(k)
    width = len(rows[0]) if rows else 0
    return np.asarray(rows, np.float32).reshape(len(rows), width), np.asarray(source, np.int64)


def fit_rows(examples: Sequence[Any], scores: Sequence[np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the confidence model is fitted on: every example's row (the first len(examples), as
    confidence_data gives them), then the answer-ablated ones. (rows, right, answerable, weight,
    source example of each row); an ablated row's question is answerable."""
    A, right, answerable = confidence_data(examples, scores)
    B, source = ablated_data(examples, scores)
    n = len(right)
    rows = np.concatenate([A, B.astype(A.dtype)]) if len(B) else A
    return (rows, np.concatenate([right, np.zeros(len(B), bool)]), np.concatenate([answerable, answerable[source]]),
            np.concatenate([np.ones(n), np.full(len(B), ABLATED_WEIGHT)]),
            np.concatenate([np.arange(n), source]))


def fit_confidence(A: np.ndarray, right: np.ndarray, seed: int, weight: np.ndarray | None = None) -> Any:
    """The confidence model: P(the best candidate is right) from its confidence row."""
    import lightgbm as lgb

    return lgb.LGBMClassifier(**CONF_PARAMS, random_state=seed).fit(A, right.astype(np.int8), sample_weight=weight)


def cross_validated_confidence(A: np.ndarray, right: np.ndarray, weight: np.ndarray, source: np.ndarray,
                               n_rows: int, folds: int, groups: np.ndarray, seed: int) -> np.ndarray:
    """Probabilities of the confidence model for the first ``n_rows`` rows (the real ones), each
    from a model fitted without its question (any view, any ablated copy). ``source``: the example
    each row comes from; ``groups``: the question of each example."""
    from sklearn.model_selection import GroupKFold

    out = np.zeros(n_rows)
    row_groups = groups[source]
    for fit_idx, held in GroupKFold(n_splits=folds).split(A, groups=row_groups):
        real = held[held < n_rows]
        if len(real):
            out[real] = fit_confidence(A[fit_idx], right[fit_idx], seed, weight[fit_idx]).predict_proba(A[real])[:, 1]
    return out
