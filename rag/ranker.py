"""The trained parts of the answer engine, loaded from package data (rag/model/):

* the ranker: gradient-boosted trees (LightGBM, lambdarank) over the candidate features,
  exported to ONNX so that answering needs only onnxruntime, not LightGBM or scikit-learn;
* the confidence model: a logistic regression over what the ranker's top candidates look
  like, giving the probability that the best candidate is right; the engine abstains below
  a threshold chosen on the dev split.

`model.json` is the model card in machine form: feature-set version and names, the
confidence model's weights, thresholds, the data it was trained on and its scores.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rag.layout import FEATURE_SET_VERSION, FEATURES, F

MODEL_PACKAGE = "rag.model"
CONFIDENCE_FEATURES: tuple[str, ...] = (
    "s1", "s2", "gap12", "gap15", "agree12",
    "k_cell", "k_figure", "k_sentence", "k_lead", "k_diff", "cov_all", "missed_max", "key_credit",
    "strict_cov", "extra_label", "q_oov", "q_n_terms", "year_match", "year_other", "q_n_years",
    "table_has_year", "dense_main", "unit_conflict", "unit_match", "q_wants_number", "label_strict",
    "cov_primary", "counted_hit", "negated_hit", "q_overview", "q_who", "q_which", "proper_missed",
)


class ModelError(RuntimeError):
    """The shipped model is missing or was trained on another feature set."""


def confidence_row(X: np.ndarray, scores: np.ndarray, order: np.ndarray, values: Sequence[float | None]) -> np.ndarray:
    """What the confidence model sees: the top scores and the best candidate's features.
    ``values``: the number each of the first candidates (in ``order``) would answer with."""
    b = int(order[0])
    second = float(scores[order[1]]) if len(order) > 1 else float(scores[b]) - 10.0
    fifth = float(scores[order[min(4, len(order) - 1)]])
    v1 = values[0] if values else None
    v2 = values[1] if len(values) > 1 else None
    row = {
        "s1": float(scores[b]), "s2": second, "gap12": float(scores[b]) - second, "gap15": float(scores[b]) - fifth,
        "agree12": float(v1 is not None and v2 is not None and abs(abs(v1) - abs(v2)) < 0.051),
    }
    out = np.empty(len(CONFIDENCE_FEATURES), np.float32)
    for i, name in enumerate(CONFIDENCE_FEATURES):
        out[i] = row[name] if name in row else X[b, F[name]]
    return out


@dataclass
class Ranker:
    session: Any  # onnxruntime.InferenceSession
    card: dict[str, Any]

    @property
    def threshold(self) -> float:
        return float(self.card["confidence"]["threshold"])

    @property
    def sure(self) -> float:
        """From this confidence up the engine answers plainly; below it, it also asks back."""
        return float(self.card["confidence"].get("sure", 1.0))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if X.shape[0] == 0:
            return np.zeros(0, np.float32)
        out = self.session.run(None, {self.session.get_inputs()[0].name: np.ascontiguousarray(X, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def confidence(self, row: np.ndarray) -> float:
        c = self.card["confidence"]
        z = (row - np.asarray(c["mean"], np.float32)) / np.asarray(c["scale"], np.float32)
        logit = float(z @ np.asarray(c["coef"], np.float32) + float(c["intercept"]))
        return float(1.0 / (1.0 + np.exp(-logit)))


def load_ranker(directory: Path | None = None) -> Ranker:
    """The shipped model (or one in ``directory``); ModelError when missing or for other features."""
    import onnxruntime as ort  # ~0.2 s: only when answering

    if directory is None:
        base = resources.files(MODEL_PACKAGE)
        card_text = base.joinpath("model.json").read_text(encoding="utf-8")
        onnx_bytes = base.joinpath("ranker.onnx").read_bytes()
    else:
        try:
            card_text = (directory / "model.json").read_text(encoding="utf-8")
            onnx_bytes = (directory / "ranker.onnx").read_bytes()
        except OSError as exc:
            raise ModelError(f"No trained model in {directory}: {exc}") from None
    card = json.loads(card_text)
    if card.get("feature_set_version") != FEATURE_SET_VERSION or tuple(card.get("features", ())) != FEATURES:
        differ = "" if card.get("feature_set_version") != FEATURE_SET_VERSION else " (same version, other feature list)"
        raise ModelError(
            f"The shipped model was trained on feature set {card.get('feature_set_version')!r}, this code computes "
            f"{FEATURE_SET_VERSION!r}{differ}: retrain with `rapport train`."
        )
    if tuple(card["confidence"]["features"]) != CONFIDENCE_FEATURES:
        raise ModelError("The shipped confidence model uses other features: retrain with `rapport train`.")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    return Ranker(session, card)
