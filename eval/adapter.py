"""Fitting the question adapter (rag/adapter.py): a linear map W of the question embedding,
trained so that the mapped question is nearest to the context vectors of its gold candidates
among all context vectors of the report (softmax over every row, sentence and passage; W starts
at the identity and is held near it by an L2 penalty on W - I).

The ranker learns how far to trust ``dense_tuned`` from train questions, so their features must
come from a map that did not see them, and not even their answer: the train features are
cross-fitted with folds that keep questions sharing a gold context together (a map that has seen
another question about the same row would look better than it will on content it never saw, such
as another year's report). Dev and the shipped model use the map fitted on all of train.

Seeded and deterministic (torch on CPU); the weights are rounded to float16, the shipped form,
before any feature is computed from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.adapter import adapt, set_tuned

ADAPTER_PARAMS = dict(temperature=0.02, l2=0.03, epochs=30, lr=1e-3, batch=64)


def _usable(examples: Sequence[Any]) -> list[int]:
    return [i for i, ex in enumerate(examples) if ex.qvec is not None and len(ex.positives)]


def gold_contexts(ex: Any) -> np.ndarray:
    return np.unique(ex.contexts[ex.positives])


def fit_adapter(examples: Sequence[Any], V: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """W (d x d, float16 values) from the examples with a question vector and gold candidates;
    None when there are none."""
    import torch

    use = _usable(examples)
    if not use or V.shape[0] == 0:
        return None
    p = ADAPTER_PARAMS
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Q = torch.tensor(np.stack([examples[i].qvec for i in use]).astype(np.float32))
    gold = torch.zeros(len(use), V.shape[0], dtype=torch.bool)
    for row, i in enumerate(use):
        gold[row, torch.as_tensor(gold_contexts(examples[i]))] = True
    Vt = torch.tensor(V)
    d = V.shape[1]
    eye = torch.eye(d)
    delta = torch.nn.Parameter(torch.zeros(d, d))
    opt = torch.optim.Adam([delta], lr=float(p["lr"]))
    for _ in range(int(p["epochs"])):
        perm = torch.randperm(len(use), generator=gen)
        for start in range(0, len(use), int(p["batch"])):
            b = perm[start:start + int(p["batch"])]
            q = torch.nn.functional.normalize(Q[b] @ (eye + delta), dim=1)
            logits = q @ Vt.T / float(p["temperature"])
            loss = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~gold[b], -1e9), 1)).mean()
            loss = loss + float(p["l2"]) * (delta**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    W = (eye + delta).detach().numpy()
    return W.astype(np.float16).astype(np.float32)


def context_groups(examples: Sequence[Any]) -> np.ndarray:
    """A group per set of questions linked by a shared gold context (union-find); questions
    without gold each get their own."""
    parent = list(range(len(examples)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[int, int] = {}
    for i, ex in enumerate(examples):
        for c in gold_contexts(ex).tolist() if len(ex.positives) else []:
            if c in owner:
                parent[find(i)] = find(owner[c])
            else:
                owner[c] = i
    return np.asarray([find(i) for i in range(len(examples))])


def set_features(examples: Sequence[Any], V: np.ndarray, W: np.ndarray | None) -> None:
    """Write the tuned-dense features of each example's candidates with the map W."""
    for ex in examples:
        q = adapt(ex.qvec, W)
        scores = V @ q if q is not None and V.shape[0] and V.shape[1] == q.shape[0] else np.zeros(V.shape[0], np.float32)
        set_tuned(ex.X, scores.astype(np.float32)[ex.contexts])


def cross_fit(examples: Sequence[Any], V: np.ndarray, folds: int, seed: int = 0) -> float:
    """Tuned-dense features of every example from a map fitted on the other folds (grouped by
    gold context); returns the held-out context MRR."""
    from sklearn.model_selection import GroupKFold

    groups = context_groups(examples)
    n = min(folds, len(np.unique(groups)))
    if n < 2:
        set_features(examples, V, None)
        return context_mrr(examples, V, None)
    total, count = 0.0, 0
    for fit_idx, held in GroupKFold(n_splits=n).split(np.arange(len(examples)), groups=groups):
        W = fit_adapter([examples[i] for i in fit_idx], V, seed)
        part = [examples[i] for i in held]
        set_features(part, V, W)
        k = len(_usable(part))
        total, count = total + context_mrr(part, V, W) * k, count + k
    return total / count if count else 0.0


def context_mrr(examples: Sequence[Any], V: np.ndarray, W: np.ndarray | None) -> float:
    """Mean reciprocal rank of the best gold context among all context vectors (the adapter's
    own objective, for the model card)."""
    rr = []
    for i in _usable(examples):
        ex = examples[i]
        q = adapt(ex.qvec, W)
        s = V @ q
        best = s[gold_contexts(ex)].max()
        rr.append(1.0 / (1 + int((s > best).sum())))
    return float(np.mean(rr)) if rr else 0.0
