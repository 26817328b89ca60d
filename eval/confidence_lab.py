"""`python -m eval.confidence_lab RANKINGS.npz`: what `rapport train` would report for the
confidence model of the current code (its rows, its fit), computed from stored rankings
(eval/rankings.py, `rapport train --rankings`) instead of a whole training: the thresholds chosen
on dev (the pooled dev splits the rankings were stored with), dev at those thresholds, AUC (answerable against
unanswerable) on train CV and dev, and with stored unseen-content rankings the end-to-end figures
and ``net`` that changes are judged by (eval/unseen.py). Seconds instead of half an hour; the
ranker stays the one the rankings were stored from.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.confidence import confidence_data, cross_validated_confidence, fit_confidence
from eval.rankings import Ranked, load
from eval.thresholds import at_thresholds, best_forms, dev_thresholds
from eval.unseen import end_to_end


def _auc(answerable: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(answerable, p)), 4) if 0 < answerable.sum() < len(answerable) else None


def measure(sets: Mapping[str, Sequence[Ranked]], meta: Mapping[str, Any]) -> dict[str, Any]:
    """The confidence model's figures from stored rankings (``load``'s sets and meta)."""
    n, folds, seed = int(meta["n"]), int(meta["folds"]), int(meta["seed"])
    train, dev = sets["train"], sets["dev"]
    A, right_views, answerable_views = confidence_data(train, [r.scores for r in train])
    conf = fit_confidence(A, right_views, seed)  # on both views, as shipped
    p_train = cross_validated_confidence(A, right_views, folds, np.asarray(meta["question_groups"]), seed)[:n]
    answerable = answerable_views[:n]  # the questions as embedded
    Ad, right_d, answerable_d = confidence_data(dev, [r.scores for r in dev])
    p_dev = conf.predict_proba(Ad)[:, 1]
    forms_dev = best_forms(dev, [r.scores for r in dev])
    thresholds, _, sure = dev_thresholds(p_dev, right_d, answerable_d, forms_dev)
    out: dict[str, Any] = {"thresholds": thresholds, "sure": sure,
                           "auc": {"train_cv": _auc(answerable, p_train), "dev": _auc(answerable_d, p_dev)},
                           "dev_at_threshold": at_thresholds(p_dev, right_d, answerable_d, forms_dev, thresholds)}
    if "unseen" in sets:
        held = sets["unseen"][:n]
        out["unseen_end_to_end"] = end_to_end(train, [r.scores for r in train], held, [r.scores for r in held],
                                              np.asarray(meta["content_groups"]), int(meta["unseen_folds"]), seed,
                                              thresholds)
    return out


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        sets, meta = load(path)
    except (OSError, ValueError, KeyError) as exc:
        print(f"Cannot read stored rankings {path}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(measure(sets, meta), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
