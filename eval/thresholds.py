"""Abstention thresholds: where the confidence model's probability stops being good enough.

One threshold per answer form (rag/ranker.py ``answer_form``): a number, a sentence, a passage
(a chapter's lead, for overview questions). The three kinds of answer are not equally often right
at the same confidence, and a cited passage that misses the point costs less than a wrong number,
so one threshold does not fit all three. They are chosen together: of the combinations that
abstain on ABSTAIN_TARGET of the unanswerable questions, the one with the most right answers (then
the fewest wrong ones). Inputs are per question: the confidence ``p`` of its best candidate, whether
that candidate is ``right``, whether the question is ``answerable``, and the best candidate's form.

They are chosen on the dev splits (``dev_thresholds``), questions by writers the models never
saw, not on cross-validated train: train CV's confidence comes from rankers that learned other
phrasings of the same content, so its unanswerable near-misses look surer than fresh writers'
do, and thresholds chosen there abstained on 94-98 % of fresh questions' unanswerable ones
instead of 90 % (docs/MODEL.md, «Twelfth session»).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rag.ranker import ANSWER_FORMS, answer_form

WRONG_COST = 1.0  # utility (shown on the card): right answer +1, wrong answer -WRONG_COST, abstention +1 if unanswerable
# the thresholds abstain on at least this share of the dev splits' unanswerable questions: the
# issue's 90 % and a margin, for the lowest thresholds that reach a target on the questions they
# are chosen on reach less on new ones (each dev split held out in turn: 0.886 at 0.90, 0.893 at
# 0.91, 0.919 at 0.92; docs/MODEL.md, «Twelfth session»)
ABSTAIN_TARGET = 0.92
SURE_PRECISION = 0.95  # answers at or above the "sure" threshold are right this often (dev splits; every answer
# counts, a number given to an unanswerable question too)
GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


def choose_threshold(p: np.ndarray, right: np.ndarray, answerable: np.ndarray) -> tuple[float, list[dict[str, float]]]:
    """One threshold for every answer: the lowest that abstains on ABSTAIN_TARGET of the
    unanswerable questions (the one with the best utility when none does), and the whole curve
    for the model card."""
    curve = []
    best, best_u = 0.5, -1e9
    for t in GRID:
        answered = p >= t
        utility = (answered & right).sum() - WRONG_COST * (answered & ~right).sum() + (~answered & ~answerable).sum()
        row = {"threshold": float(t), **answered_figures(answered, right, answerable), "utility": float(utility)}
        curve.append(row)
        if utility > best_u:
            best, best_u = float(t), float(utility)
    reaching = [c["threshold"] for c in curve if c["abstained_unanswerable"] >= ABSTAIN_TARGET]
    return (min(reaching) if reaching else best), curve


def choose_thresholds(p: np.ndarray, right: np.ndarray, answerable: np.ndarray,
                      forms: np.ndarray, single: float | None = None) -> dict[str, float]:
    """A threshold per answer form (``forms``: the best candidate's form per question): of the
    combinations that abstain on ABSTAIN_TARGET of the unanswerable questions, the one with the
    most right answers, then the fewest wrong ones. When none reaches the target, every form gets
    the single threshold of ``choose_threshold`` (``single``: that threshold, if already known)."""
    if single is None:
        single, _ = choose_threshold(p, right, answerable)
    n_unans = int((~answerable).sum())
    # per form and grid point: right answers, wrong answers, unanswerable questions answered; the
    # forms' answered sets are disjoint, so a combination's counts are sums over its forms
    counts = []
    for form in ANSWER_FORMS:
        m = forms == form
        answered = p[m][None, :] >= GRID[:, None]
        counts.append(np.stack([(answered & right[m]).sum(1), (answered & ~right[m]).sum(1),
                                (answered & ~answerable[m]).sum(1)]))
    shape = (len(GRID),) * len(ANSWER_FORMS)
    total = np.zeros((3, *shape), np.int64)
    for axis, c in enumerate(counts):
        view = [1] * len(ANSWER_FORMS)
        view[axis] = len(GRID)
        total += c.reshape(3, *view)
    rights, wrongs, unans = total
    reaching = (n_unans - unans) >= ABSTAIN_TARGET * n_unans if n_unans else np.ones(shape, bool)
    if not reaching.any():
        return dict.fromkeys(ANSWER_FORMS, single)
    # most right answers, then fewest wrong, then the lowest thresholds (argmax takes the first)
    key = np.where(reaching, rights.astype(np.float64) * (len(p) + 1) - wrongs, -np.inf)
    idx = np.unravel_index(int(np.argmax(key)), shape)
    return {form: float(GRID[i]) for form, i in zip(ANSWER_FORMS, idx, strict=True)}


def dev_thresholds(p: np.ndarray, right: np.ndarray, answerable: np.ndarray, forms: np.ndarray
                   ) -> tuple[dict[str, float], list[dict[str, float]], float]:
    """The thresholds per form, the single-threshold curve and ``sure``, chosen on the dev splits
    (questions by writers whose questions the models were not fitted on: the distribution new
    questions come from). Per question: its best candidate's confidence ``p``, whether it is
    ``right``, whether the question is ``answerable``, and the best candidate's form."""
    single, curve = choose_threshold(p, right, answerable)
    thresholds = choose_thresholds(p, right, answerable, forms, single)
    return thresholds, curve, sure_threshold(curve, thresholds["number"])


def sure_threshold(curve: Sequence[Mapping[str, float]], floor: float) -> float:
    """From here up the engine answers plainly: the lowest threshold at or above ``floor`` where
    answers are right at least SURE_PRECISION of the time, counting every answer (an answer to an
    unanswerable question is a wrong one)."""
    return next((c["threshold"] for c in curve if c["threshold"] >= floor and c["precision"] >= SURE_PRECISION), 0.95)


def answered_figures(answered: np.ndarray, right: np.ndarray, answerable: np.ndarray) -> dict[str, float]:
    """Share of answerable questions answered, of unanswerable ones abstained on, of answers to
    answerable questions right, of all answers right (``precision``: an answer to an unanswerable
    question is wrong), and the number of wrong answers, for one choice of which questions get an
    answer."""
    return {
        "answered": float(answered[answerable].mean()) if answerable.any() else 0.0,
        "abstained_unanswerable": float((~answered[~answerable]).mean()) if (~answerable).any() else 0.0,
        "right_when_answered": float(right[answered & answerable].mean()) if (answered & answerable).any() else 0.0,
        "precision": float((right & answerable)[answered].mean()) if answered.any() else 0.0,
        "wrong_answers": int((answered & ~right).sum()),
    }


def best_forms(examples: Sequence[Any], scores: Sequence[np.ndarray]) -> np.ndarray:
    """The answer form of each question's best candidate (examples: eval.train.Example)."""
    return np.asarray([answer_form(ex.X[int(np.argmax(s))]) for ex, s in zip(examples, scores, strict=True)])


def at_thresholds(p: np.ndarray, right: np.ndarray, answerable: np.ndarray, forms: np.ndarray,
                  thresholds: Mapping[str, float]) -> dict[str, Any]:
    """The figures of answering exactly when the confidence reaches its form's threshold."""
    limit = np.asarray([thresholds[f] for f in forms], np.float64)
    return {"thresholds": dict(thresholds), **answered_figures(p >= limit, right, answerable)}
