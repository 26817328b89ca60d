"""How the engine does on content no training question asked about: the closest measured proxy
for another municipality's report (docs/MODEL.md, «Known weaknesses»).

Question-grouped CV lets the trees learn a row from other questions about it; dev and the
frozen splits ask about rows the train questions asked about too. Here the folds are grouped by
gold context (eval/adapter.py `context_groups`: questions linked by a shared gold row, sentence
or lead stay in one fold; both views of a question too), and the figures are

* ``top1``: the ranker's top-1 on the held-out questions (``dense_off``: in the dense-off view);
* ``end_to_end``: what the engine would answer: the confidence model fitted as shipped (on
  question-grouped out-of-fold rows), but only on the other folds' questions, applied to the
  held-out questions' content-grouped rows at the shipped thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from eval.confidence import confidence_data, fit_confidence
from eval.thresholds import answered_figures, best_forms
from eval.train import Example, oof_scores, top1

NUMERIC_KINDS = ("table_cell", "table_compare", "prose_number")
# One figure to judge a change by (docs/MODEL.md, «Ninth session»): ``net`` = right answers of every
# kind (numbers, sentences, passages) minus WRONG_COST per wrong answer. An abstention costs a right
# answer; a wrong answer costs more, and counting numbers only would make abstaining on
# who/which and overview questions free.
WRONG_COST = 2


def unseen_content(views: Sequence[Example], n: int, folds: int, seed: int,
                   question_oof: Sequence[np.ndarray] | None = None,
                   thresholds: Mapping[str, float] | None = None) -> dict[str, Any]:
    """``views``: the n questions, then their dense-off views if they have vectors (as `train`
    fits). With ``question_oof`` (the question-grouped out-of-fold scores of every view, as the
    shipped confidence model is fitted on) and ``thresholds``, also the end-to-end figures.
    ``scores``, ``groups`` and ``folds``: the content-grouped out-of-fold scores of every view, the
    fold group of each question and the number of folds (for eval/rankings.py; not figures)."""
    from eval.adapter import context_groups

    groups = context_groups(views[:n])
    n_folds = min(folds, len(np.unique(groups)))
    n_views = len(views) // n
    oof = oof_scores("lgbm_rank", views, n_folds, seed, np.tile(groups, n_views))
    out: dict[str, Any] = {"top1": round(top1(views[:n], oof[:n])["all"], 4), "scores": oof, "groups": groups,
                           "folds": n_folds}
    if n_views > 1:
        out["dense_off"] = round(top1(views[n:], oof[n:])["all"], 4)
    if question_oof is None or thresholds is None:
        return out
    out["end_to_end"] = end_to_end(views, question_oof, views[:n], oof[:n], groups, n_folds, seed, thresholds)
    return out


def end_to_end(fit_views: Sequence[Any], fit_scores: Sequence[np.ndarray], held: Sequence[Any],
               held_scores: Sequence[np.ndarray], groups: np.ndarray, folds: int, seed: int,
               thresholds: Mapping[str, float]) -> dict[str, Any]:
    """What the engine would answer on content no training question asked about: for each fold of
    ``groups`` (the content group of each of the n ``held`` questions), the confidence model fitted
    on the other folds' rows of ``fit_views`` (the n questions' views, in order, under their
    question-grouped out-of-fold ``fit_scores``) judges the fold's questions under their
    content-grouped ``held_scores``, at ``thresholds``. ``net`` = right answers of every kind −
    WRONG_COST × wrong answers."""
    from sklearn.model_selection import GroupKFold

    n = len(held)
    A, fit_right, _ = confidence_data(fit_views, fit_scores)
    question = np.arange(len(fit_views)) % n  # the question each fitting row (either view) is about
    rows, right, answerable = confidence_data(held, held_scores)
    p = np.zeros(n)
    for fit, out in GroupKFold(n_splits=folds).split(np.arange(n), groups=groups):
        use = np.isin(question, fit)
        p[out] = fit_confidence(A[use], fit_right[use], seed).predict_proba(rows[out])[:, 1]
    answered = p >= np.asarray([thresholds[f] for f in best_forms(held, held_scores)])
    numeric = np.asarray([ex.item.get("kind") in NUMERIC_KINDS for ex in held])
    figures = answered_figures(answered, right, answerable)
    right_answers = int((answered & right & answerable).sum())
    figures |= {"numeric_right": float((answered & right)[numeric].mean()) if numeric.any() else 0.0,
                "right_answers": right_answers, "wrong_cost": WRONG_COST,
                "net": right_answers - WRONG_COST * figures["wrong_answers"]}
    return {"thresholds": dict(thresholds), **{k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}}
