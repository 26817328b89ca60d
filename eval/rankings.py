"""Stored rankings: what the confidence model is fitted and judged on, kept so that a change to
the confidence model (its rows, its fit, its thresholds) can be measured in seconds instead of a
whole `rapport train` (docs/MODEL.md, «Eleventh session»).

`rapport train --rankings FILE` writes, for every train question (both views), its best TOP
candidates by the question-grouped out-of-fold ranker scores (set ``train``) and, with
``--unseen-cv``, by the content-grouped ones (set ``unseen``), and for every dev question its best
TOP by the exported ranker (``dev``): feature rows, scores, whether each would answer right, the
value and sentence each answers with, and the labeled item. ``load`` gives them back as records
that eval.confidence and eval.thresholds take as they take eval.train.Example, with their scores.
TOP is the depth the confidence row looks at, so a row computed from a record equals the one
computed from the whole ranking.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.ranker import RIVAL_DEPTH

TOP = RIVAL_DEPTH


@dataclass
class Ranked:
    """One question's best candidates, best first (field names as eval.train.Example)."""

    item: dict[str, Any]
    X: np.ndarray
    scores: np.ndarray
    correct: np.ndarray
    values: list[float | None]
    sentences: np.ndarray


def rank(ex: Any, scores: np.ndarray, top: int = TOP) -> Ranked:
    """The best ``top`` candidates of an example (eval.train.Example) under ``scores``."""
    order = np.argsort(-scores, kind="stable")[:top]
    return Ranked(dict(ex.item), ex.X[order].astype(np.float32), scores[order].astype(np.float32),
                  ex.correct[order].astype(bool), [ex.values[int(i)] for i in order],
                  np.asarray(ex.sentences)[order].astype(np.int64))


def dump(path: Path, sets: Mapping[str, Sequence[Ranked]], meta: Mapping[str, Any]) -> None:
    """Write named sets of rankings and a JSON-able ``meta`` to one .npz file."""
    arrays: dict[str, np.ndarray] = {"meta": np.asarray(json.dumps(dict(meta), ensure_ascii=False))}
    for name, ranked in sets.items():
        sizes = np.asarray([len(r.scores) for r in ranked], np.int64)
        width = ranked[0].X.shape[1] if ranked else 0

        def cat(field: str, dtype: Any, rows: Sequence[Ranked] = ranked) -> np.ndarray:
            parts = [np.asarray(getattr(r, field), dtype) for r in rows]
            return np.concatenate(parts) if parts else np.zeros(0, dtype)

        arrays |= {
            f"{name}.sizes": sizes,
            f"{name}.X": (np.concatenate([r.X for r in ranked]) if ranked else np.zeros((0, width))).astype(np.float32),
            f"{name}.scores": cat("scores", np.float32),
            f"{name}.correct": cat("correct", bool),
            f"{name}.values": np.asarray([np.nan if v is None else float(v) for r in ranked for v in r.values], np.float64),
            f"{name}.sentences": cat("sentences", np.int64),
            f"{name}.items": np.asarray(json.dumps([r.item for r in ranked], ensure_ascii=False)),
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)


def load(path: Path) -> tuple[dict[str, list[Ranked]], dict[str, Any]]:
    """The sets written by ``dump`` and its meta."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        names = sorted({key.rsplit(".", 1)[0] for key in z.files if key != "meta"})
        sets: dict[str, list[Ranked]] = {}
        for name in names:
            sizes = z[f"{name}.sizes"]
            bounds = np.concatenate([[0], np.cumsum(sizes)])
            X, scores, correct = z[f"{name}.X"], z[f"{name}.scores"], z[f"{name}.correct"]
            values, sentences = z[f"{name}.values"], z[f"{name}.sentences"]
            items = json.loads(str(z[f"{name}.items"]))
            sets[name] = [
                Ranked(items[k], X[a:b], scores[a:b], correct[a:b],
                       [None if np.isnan(v) else float(v) for v in values[a:b]], sentences[a:b])
                for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
            ]
    return sets, meta
