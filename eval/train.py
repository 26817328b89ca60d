"""`rapport train`: fit the ranker and the confidence model from labeled question files.

    rapport train [--train eval/splits/train.jsonl ...] [--dev eval/splits/dev.jsonl ...] [--out rag/model]

1. Every labeled question is scored against the index of the bundled report: every candidate
   gets its features (rag/features.py) and the label is resolved to the candidates that answer it
   (eval/labels.py; items that do not resolve are counted and left out).
2. Model families are compared by 5-fold cross-validation grouped by question (top-1 accuracy
   on answerable questions): logistic regression and gradient boosting (scikit-learn, pointwise)
   and LightGBM lambdarank (listwise). The best is fitted on all of train and exported to ONNX.
3. The confidence model (small boosted trees) is fitted on out-of-fold ranker scores of train:
   "is the best candidate right?" (eval/confidence.py). Its thresholds are chosen on the dev
   splits (DEV_SPLITS pooled: fresh writers' questions, eval/thresholds.py): below its answer
   form's threshold the engine abstains (together
   they abstain on ABSTAIN_TARGET of the unanswerable questions: a tempting near-miss must not
   get a number); from ``sure`` up it answers plainly (the lowest threshold where answers are
   right at least SURE_PRECISION of the time); in between it answers, says it is unsure and
   offers the runners-up as «Mente du …?». Ranker scores pass the year gate first (rag/ranker.py).
4. rag/model/ranker.onnx and rag/model/model.json (the model card) are written, and the card's
   figures into docs/MODEL.md (eval/model_card.py).

Seeded and deterministic: the same data and seed give the same model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.adapter import ADAPTER_PARAMS
from eval.confidence import CONF_PARAMS, confidence_data, fit_confidence
from eval.thresholds import at_thresholds, best_forms, dev_thresholds
from rag.layout import FEATURE_SET_VERSION, FEATURES, F

SPLIT_DIR = Path(__file__).resolve().parent / "splits"
# pooled: what the model is fitted on (dev6..dev12 were dev splits of earlier models: their writers'
# phrasings train this one; dev13 and newer judge it; docs/j-prereg.txt)
TRAIN_SPLITS = ("train", "dev6", "dev7", "dev8", "dev9", "dev10", "dev11", "dev12")
DEV_SPLITS = ("dev", "dev2", "dev3", "dev4", "dev5")  # pooled: where the thresholds are chosen and dev is reported
MODEL_DIR = Path(__file__).resolve().parent.parent / "rag" / "model"
DOCS_MODEL = Path(__file__).resolve().parent.parent / "docs" / "MODEL.md"
LGB_PARAMS = dict(objective="lambdarank", n_estimators=300, learning_rate=0.05, num_leaves=63, colsample_bytree=0.7,
                  min_child_samples=20, reg_lambda=1.0, verbose=-1, n_jobs=2, deterministic=True,
                  force_col_wise=True)
ONNX_GRAPH = "rapport_ranker"
CONF_FILE, CONF_GRAPH = "confidence.onnx", "rapport_confidence"
ADAPTER_FILE = "adapter.npy"
NEG_TOP, NEG_RANDOM = 150, 100  # negatives kept per question: the hardest by a cheap score, and random ones


@dataclass
class Example:
    item: dict[str, Any]
    features: np.ndarray  # as embedded; read through X
    positives: np.ndarray
    correct: np.ndarray  # bool per candidate: answering with it would be right
    values: list[float | None]
    sentences: np.ndarray  # the sentence each candidate comes from (-1: none), for the confidence rows
    status: str
    qvec: np.ndarray | None = None  # the question's embedding (None without an embedder)
    contexts: np.ndarray | None = None  # each candidate's context vector (rag/adapter.py)
    off: bool = False  # the dense-off view: X is made from ``features`` when read, not stored twice

    @property
    def X(self) -> np.ndarray:
        """The candidates' feature rows (the stored array itself, or the dense-off view's copy)."""
        if self.off:
            from rag.candidates import dense_off

            return dense_off(self.features.copy())
        return self.features


def load_items(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def pooled_items(files: Sequence[Path], names: Sequence[str]) -> list[dict[str, Any]]:
    """The items of the given files, or else of the named splits (eval/splits/<name>.jsonl), pooled."""
    return [item for f in files or [SPLIT_DIR / f"{name}.jsonl" for name in names] for item in load_items(f)]


def collect(engine: Any, items: Sequence[Mapping[str, Any]], echo: Callable[[str], None] = print) -> list[Example]:
    """Features and gold candidates of every item."""
    from eval.labels import is_correct, resolve, value_matches
    from rag.adapter import context_index
    from rag.candidates import candidate_sentences, candidate_value
    from rag.layout import FIGURE, LEAD, SENTENCE

    out = []
    t0 = time.perf_counter()
    for n, item in enumerate(items, 1):
        analysis = engine.analyze(item["question"])
        qvec = engine.question_vector(analysis)
        _, cands = engine.candidates(analysis, qvec)
        gold = resolve(item, engine.corpus, cands)
        values = [candidate_value(engine.corpus, cands, i) for i in range(len(cands.kind))]
        correct = np.zeros(len(cands.kind), bool)
        kind = item.get("kind")
        if kind in ("table_cell", "table_compare", "prose_number"):
            correct = np.asarray([v is not None and value_matches(v, item) for v in values], bool)
        elif kind in ("non_numeric", "overview"):
            for i in np.flatnonzero(np.isin(cands.kind, (FIGURE, SENTENCE, LEAD))):
                correct[i] = is_correct(item, engine.corpus, cands, int(i))
        out.append(Example(dict(item), cands.X, gold.positives, correct, values,
                           candidate_sentences(engine.corpus, cands), gold.status, qvec,
                           context_index(engine.corpus, cands.kind, cands.ref, cands.pairs)))
        if n % 200 == 0:
            echo(f"  {n}/{len(items)} questions ({time.perf_counter() - t0:.0f} s)")
    return out


def _sample(examples: Sequence[Example], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Xs, ys, gs = [], [], []
    for g, ex in enumerate(examples):
        X = ex.X  # read once: a dense-off view makes its rows on every read
        y = np.zeros(len(X), np.int8)
        y[ex.positives] = 1
        cheap = X[:, F["cov_all"]] + 0.5 * X[:, F["dense_main"]]
        neg = np.flatnonzero(y == 0)
        hard = neg[np.argsort(-cheap[neg], kind="stable")[:NEG_TOP]]
        rand = rng.choice(neg, size=min(NEG_RANDOM, len(neg)), replace=False) if len(neg) else neg
        idx = np.unique(np.concatenate([np.flatnonzero(y == 1), hard, rand]))
        Xs.append(X[idx])
        ys.append(y[idx])
        gs.append(np.full(len(idx), g))
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs)


def _usable(examples: Sequence[Example]) -> list[Example]:
    return [e for e in examples if e.status in ("ok", "unanswerable")]


@dataclass
class Fitted:
    predict: Callable[[np.ndarray], np.ndarray]
    booster: Any = None  # the LightGBM booster, for export


def fit_family(family: str, examples: Sequence[Example], seed: int) -> Fitted:
    X, y, g = _sample(_usable(examples), seed)
    if family == "lgbm_rank":
        import lightgbm as lgb

        _, counts = np.unique(g, return_counts=True)
        model = lgb.LGBMRanker(**LGB_PARAMS, random_state=seed).fit(X, y, group=counts)
        return Fitted(model.predict, model.booster_)
    if family == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        m = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=20,
                                           l2_regularization=1.0, random_state=seed).fit(X, y)
        return Fitted(lambda Z: m.predict_proba(Z)[:, 1])
    if family == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        m = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000)).fit(X, y)
        return Fitted(lambda Z: m.predict_proba(Z)[:, 1])
    raise ValueError(family)


def top1(examples: Sequence[Example], scores: Sequence[np.ndarray]) -> dict[str, float]:
    """Share of answerable questions whose best candidate is right, overall and per kind."""
    by: dict[str, list[bool]] = {}
    for ex, s in zip(examples, scores, strict=True):
        if ex.item.get("kind") == "unanswerable":
            continue
        by.setdefault(str(ex.item.get("kind")), []).append(bool(ex.correct[int(np.argmax(s))]))
    out = {k: float(np.mean(v)) for k, v in sorted(by.items())}
    out["all"] = float(np.mean([x for v in by.values() for x in v])) if by else 0.0
    return out


def gated_scores(predict: Callable[[np.ndarray], np.ndarray], ex: Example) -> np.ndarray:
    """The example's candidates scored as the engine scores them: the ranker, then the year gate
    (its rows read once: a dense-off view makes them on every read)."""
    from rag.ranker import year_gate

    X = ex.X
    return year_gate(X, predict(X))


def oof_scores(family: str, examples: Sequence[Example], folds: int, seed: int,
               groups: np.ndarray | None = None) -> list[np.ndarray]:
    """Out-of-fold scores of every example, after the year gate (as the engine scores); examples
    of one group (the views of one question) share a fold."""
    from sklearn.model_selection import GroupKFold


    idx = np.arange(len(examples))
    out: list[np.ndarray] = [np.zeros(0)] * len(examples)
    for train_idx, test_idx in GroupKFold(n_splits=folds).split(idx, groups=idx if groups is None else groups):
        fitted = fit_family(family, [examples[i] for i in train_idx], seed)
        for i in test_idx:
            out[i] = gated_scores(fitted.predict, examples[i])
    return out


def train(
    engine: Any,
    train_items: Sequence[Mapping[str, Any]],
    dev_items: Sequence[Mapping[str, Any]],
    out_dir: Path = MODEL_DIR,
    seed: int = 0,
    folds: int = 5,
    families: Sequence[str] = ("logreg", "hgb", "lgbm_rank"),
    echo: Callable[[str], None] = print,
    embedding_id: str | None = None,
    unseen_folds: int = 0,
    rankings: Path | None = None,
) -> dict[str, Any]:
    """Fit and write the model (module docstring). ``rankings``: also store the rankings the
    confidence model is fitted and judged on there (eval/rankings.py)."""
    from rag.ranker import CONFIDENCE_FEATURES, CONFIDENCE_ROW_VERSION, Ranker, onnx_session

    echo(f"Scoring {len(train_items)} train and {len(dev_items)} dev questions ...")
    tr = collect(engine, train_items, echo)
    dv = collect(engine, dev_items, echo)
    status = {s: sum(e.status == s for e in tr) for s in ("ok", "unanswerable", "none", "ambiguous")}
    echo(f"Train labels: {status} (none/ambiguous are left out of training)")
    adapter = _fit_adapter(engine.corpus, tr, dv, folds, seed, echo)
    # every question twice when it has a vector: as embedded, and in the dense-off view (what a
    # question embedded with another model looks like), both views of a question in one fold
    off = any(e.qvec is not None for e in tr)
    trv = [*tr, *map(dense_off_view, tr)] if off else list(tr)
    groups = np.tile(np.arange(len(tr)), 2 if off else 1)
    n = len(tr)
    cv: dict[str, dict[str, float]] = {}
    cv_off: dict[str, dict[str, float]] = {}
    oof: dict[str, list[np.ndarray]] = {}
    for family in families:
        t0 = time.perf_counter()
        oof[family] = oof_scores(family, trv, folds, seed, groups)
        cv[family] = top1(tr, oof[family][:n])
        cv_off[family] = top1(tr, oof[family][n:]) if off else {}
        echo(f"  {family}: train {folds}-fold CV top-1 {cv[family]['all']:.3f}"
             + (f", dense off {cv_off[family]['all']:.3f}" if off else "") + f" ({time.perf_counter() - t0:.0f} s)")
    chosen = max(families, key=lambda f: cv[f]["all"])
    if "lgbm_rank" not in oof:
        oof["lgbm_rank"] = oof_scores("lgbm_rank", trv, folds, seed, groups)
    if chosen != "lgbm_rank":
        echo(f"  note: {chosen} scored best in CV; the exported model is always the ranker family that "
             "ONNX serves here (lgbm_rank), see docs/MODEL.md")
    family = "lgbm_rank"
    final = fit_family(family, trv, seed)
    # dev is scored by the exported model, as the engine will run it (ONNX computes in float32:
    # a near tie can fall the other way than in LightGBM)
    out_dir.mkdir(parents=True, exist_ok=True)
    _export_onnx(final.booster, out_dir / "ranker.onnx")
    shipped = Ranker(onnx_session((out_dir / "ranker.onnx").read_bytes()), {})
    dv_off = [dense_off_view(e) for e in dv] if off else []
    dev_scores = [gated_scores(shipped.predict, e) for e in dv]
    dev_scores_off = [gated_scores(shipped.predict, e) for e in dv_off]
    dev_top1 = top1(dv, dev_scores)
    dev_top1_off = top1(dv_off, dev_scores_off) if off else {}
    echo(f"  {family} fitted on all train: dev top-1 {dev_top1['all']:.3f}"
         + (f", dense off {dev_top1_off['all']:.3f}" if off else ""))

    # the confidence model is fitted on both views (dense_off is one of its features); the
    # thresholds are chosen on the questions as embedded
    A, right, answerable = confidence_data(trv, oof[family])
    conf = fit_confidence(A, right, seed)
    _export_onnx(conf, out_dir / CONF_FILE, len(CONFIDENCE_FEATURES), CONF_GRAPH)
    shipped.conf_session = onnx_session((out_dir / CONF_FILE).read_bytes())  # dev, as the engine computes it

    def conf_p(rows: np.ndarray) -> np.ndarray:
        return np.asarray([shipped.confidence(row) for row in rows])

    Ad, right_d, answerable_d = confidence_data(dv, dev_scores)
    p_dev = conf_p(Ad)
    forms_dev = best_forms(dv, dev_scores)
    thresholds, curve, sure = dev_thresholds(p_dev, right_d, answerable_d, forms_dev)
    at = at_thresholds(p_dev, right_d, answerable_d, forms_dev, thresholds)
    at_off: dict[str, Any] = {}
    if off:
        Ao, right_o, answerable_o = confidence_data(dv_off, dev_scores_off)
        at_off = at_thresholds(conf_p(Ao), right_o, answerable_o, best_forms(dv_off, dev_scores_off), thresholds)
    unseen: dict[str, Any] | None = None
    if unseen_folds > 0:
        from eval.unseen import unseen_content

        unseen = unseen_content(trv, n, unseen_folds, seed, oof[family], thresholds)
        e2e = unseen["end_to_end"]
        echo(f"  lgbm_rank on unseen content ({unseen_folds} folds grouped by gold context): top-1 {unseen['top1']:.3f}"
             + (f", dense off {unseen['dense_off']:.3f}" if "dense_off" in unseen else "")
             + f"; end to end numeric right {e2e['numeric_right']:.3f}, answered {e2e['answered']:.3f}, abstained on "
             f"{e2e['abstained_unanswerable']:.3f} of unanswerable, {e2e['wrong_answers']} wrong answers")
    echo("  confidence thresholds " + ", ".join(f"{k} {v:.2f}" for k, v in thresholds.items())
         + f" (chosen on dev); on dev: answered {at['answered']:.3f}, abstained on "
         f"{at['abstained_unanswerable']:.3f} of unanswerable, right when answered {at['right_when_answered']:.3f}; "
         f"answers plainly from {sure:.2f}")

    if rankings is not None:
        from eval.rankings import dump, rank

        sets = {"train": [rank(e, s) for e, s in zip(trv, oof[family], strict=True)],
                "dev": [rank(e, s) for e, s in zip(dv, dev_scores, strict=True)],
                **({"unseen": [rank(e, s) for e, s in zip(trv, unseen["scores"], strict=True)]} if unseen else {})}
        dump(rankings, sets, {"n": n, "folds": folds, "seed": seed, "question_groups": groups.tolist(),
                              **({"content_groups": unseen["groups"].tolist(), "unseen_folds": unseen["folds"]}
                                 if unseen else {}),
                              "thresholds": thresholds, "feature_set_version": FEATURE_SET_VERSION})
        echo(f"  rankings the confidence model is fitted on written to {rankings}")

    adapter_card = None
    if adapter is not None:
        weights, figures = adapter
        with (out_dir / ADAPTER_FILE).open("wb") as fh:
            np.save(fh, weights.astype(np.float16), allow_pickle=False)
        adapter_card = {"file": ADAPTER_FILE, "embedding": embedding_id, "dim": int(weights.shape[0]),
                        "params": ADAPTER_PARAMS, "context_mrr": figures}
    card = {
        "feature_set_version": FEATURE_SET_VERSION,
        "embedding": embedding_id,  # the model whose vectors the dense features were trained on
        "features": list(FEATURES),
        "ranker": {"family": family, "params": LGB_PARAMS, "seed": seed, "negatives": [NEG_TOP, NEG_RANDOM],
                   "feature_importance": _importance(final.booster, FEATURES)},
        "confidence": {
            "features": list(CONFIDENCE_FEATURES),
            "row_version": CONFIDENCE_ROW_VERSION,
            "file": CONF_FILE,
            "family": "lgbm_classifier",
            "params": CONF_PARAMS,
            "feature_importance": _importance(conf.booster_, CONFIDENCE_FEATURES),
            "thresholds": thresholds,
            "sure": sure,
            "curve": curve,  # on dev, where the thresholds are chosen
        },
        "data": {
            "train": {"questions": len(tr), "labels": status},
            "dev": {"questions": len(dv)},
        },
        "scores": {"cv_top1": cv, "dev_top1": dev_top1, "dev_at_threshold": at,
                   **({"unseen_cv_top1": {k: unseen[k] for k in ("top1", "dense_off") if k in unseen},
                       "unseen_cv_end_to_end": unseen["end_to_end"]} if unseen is not None else {}),
                   "dense_off": {"cv_top1": cv_off, "dev_top1": dev_top1_off, "dev_at_threshold": at_off}},
        "adapter": adapter_card,
    }
    (out_dir / "model.json").write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if out_dir == MODEL_DIR:
        from eval.model_card import write_card

        write_card(card, DOCS_MODEL)
    echo(f"Wrote {out_dir / 'ranker.onnx'} and {out_dir / 'model.json'}" + (" and docs/MODEL.md" if out_dir == MODEL_DIR else ""))
    return card


def _fit_adapter(corpus: Any, tr: Sequence[Example], dv: Sequence[Example], folds: int, seed: int,
                 echo: Callable[[str], None]) -> tuple[np.ndarray, dict[str, float]] | None:
    """Fit the question adapter and write the tuned-dense features: train cross-fitted, dev with
    the map fitted on all of train. None (and plain-vector features) without question vectors."""
    from eval.adapter import context_mrr, cross_fit, fit_adapter, set_features
    from rag.adapter import context_vectors

    V = context_vectors(corpus)
    t0 = time.perf_counter()
    weights = fit_adapter(tr, V, seed)
    if weights is None:
        set_features([*tr, *dv], V, None)
        return None
    figures = {"train_plain": context_mrr(tr, V, None), "train_cross_fitted": cross_fit(tr, V, folds, seed),
               "dev_plain": context_mrr(dv, V, None), "dev": context_mrr(dv, V, weights)}
    set_features(dv, V, weights)
    echo(f"  question adapter: context MRR train {figures['train_plain']:.3f} plain, "
         f"{figures['train_cross_fitted']:.3f} cross-fitted; dev {figures['dev_plain']:.3f} plain, "
         f"{figures['dev']:.3f} ({time.perf_counter() - t0:.0f} s)")
    return weights, {k: round(v, 4) for k, v in figures.items()}


def dense_off_view(ex: Example) -> Example:
    """The example as the engine sees it without a usable question vector (rag/candidates.py). The
    view shares the example's array and makes its rows when read: a second copy of every
    question's candidates would double the memory training needs."""
    return replace(ex, off=True, qvec=None)


def _export_onnx(model: Any, path: Path, n_features: int = len(FEATURES), graph: str = ONNX_GRAPH) -> None:
    """A LightGBM booster (the ranker) or classifier (the confidence model: probabilities as a
    plain tensor, no zipmap) as ONNX."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = convert_lightgbm(model, initial_types=[("X", FloatTensorType([None, n_features]))], target_opset=15,
                             zipmap=False)
    model.graph.name = graph  # the converter names it with a random id: the same model, other bytes
    # and lists its opset imports in an order that changes with Python's string hashing per process
    imports = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    for domain, version in imports:
        model.opset_import.add(domain=domain, version=version)
    path.write_bytes(model.SerializeToString())


def _importance(booster: Any, names: Sequence[str]) -> dict[str, float]:
    gain = booster.feature_importance(importance_type="gain")
    total = float(gain.sum()) or 1.0
    pairs = sorted(zip(names, gain, strict=True), key=lambda p: -p[1])
    return {name: round(float(g) / total, 4) for name, g in pairs if g > 0}
