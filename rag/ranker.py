"""The trained parts of the answer engine, loaded from package data (rag/model/):

* the ranker: gradient-boosted trees (LightGBM, lambdarank) over the candidate features,
  exported to ONNX so that answering needs only onnxruntime, not LightGBM or scikit-learn;
* the confidence model: small boosted trees (LightGBM, ONNX as well) over what the ranker's
  top candidates look like (the best one against its rivals: the next ones that would give another answer),
  giving the probability that the best candidate is right; the engine abstains below a
  threshold, one per answer form (a number, a sentence, a passage), chosen on the dev
  splits pooled (eval/thresholds.py).

`model.json` is the model card in machine form: feature-set version and names, the
confidence model's file (confidence.onnx) and thresholds, the data it was trained on and its scores. Beside them
ships the question adapter (adapter.npy, rag/adapter.py), tied to the embedding model it was
trained for.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rag.layout import FEATURE_SET_VERSION, FEATURES, F

log = logging.getLogger(__name__)
MODEL_PACKAGE = "rag.model"
CONFIDENCE_FEATURES: tuple[str, ...] = (
    "s1", "s2", "gap12", "gap15", "agree_top5",
    "k_cell", "k_figure", "k_sentence", "k_lead", "k_diff", "cov_all", "missed_max", "key_credit",
    "strict_cov", "extra_label", "q_oov", "q_n_terms", "year_match", "year_other", "q_n_years",
    "table_has_year", "dense_main", "unit_conflict", "unit_match", "q_wants_number", "label_strict",
    "cov_primary", "counted_hit", "negated_hit", "q_overview", "q_who", "q_which", "proper_missed",
    "cov_ctx", "missed_ctx", "missed_known", "dense_tuned", "tuned_rank", "dense_off",
    # the score and the gap per kind of best candidate: the same score means more for a cell
    # than for a prose figure (features from the linear model this one replaced; trees can use them too)
    "s1_figure", "gap12_figure", "s1_diff", "gap12_diff", "s1_sentence", "gap12_sentence",
    # the best candidate against its first rival, feature by feature (0 without a rival): a
    # near-miss is often a neighbour that covers the question about as well as the best one does
    *(f"vs_{name}" for name in ("cov_all", "missed_max", "key_credit", "strict_cov", "label_strict", "cov_ctx",
                                "missed_ctx", "dense_tuned", "dense_main", "bm25", "unit_match", "extra_label",
                                "proper_missed", "cov_primary")),
)
# what the confidence row means beyond its feature names (bumped when e.g. `agrees` changes): a
# confidence model is only loaded with the code that built the rows it was fitted on
CONFIDENCE_ROW_VERSION = "2"
RIVAL_DEPTH = 60  # candidates looked at (best first) to find the rivals of the best one
_CONTRASTED = tuple((name, F[name[3:]]) for name in CONFIDENCE_FEATURES if name.startswith("vs_"))


COMPUTED_SLACK = 0.151  # a difference of two figures printed with one decimal is off by up to 0.1


def agrees(best: tuple[float | None, int], other: tuple[float | None, int], computed: bool = False) -> bool:
    """Would answering with `other` give the best candidate's answer: the same number (sign aside)
    at the precision the coarser of the two is printed with (a whole number such as «679 mill.» in
    prose is the table's «-679,4» rounded), or the same sentence (a prose figure and the sentence
    that prints it)? (value, sentence id or -1). ``computed``: one of the two is a difference the
    engine computed from two printed figures; it carries both figures' rounding, so a printed
    «Differanse» of 161,7 and Budsjett minus Regnskap of 161,6 are the same answer."""
    (vb, sb), (vo, so) = best, other
    if vb is not None and vo is not None:
        whole = float(vb).is_integer() or float(vo).is_integer()
        tolerance = 0.5 if whole else COMPUTED_SLACK if computed else 0.051
        if abs(abs(vb) - abs(vo)) < tolerance:
            return True
    return sb >= 0 and sb == so


YEAR_GATE = 100.0  # ranker points taken from a candidate that cannot answer for the asked year


def year_gate(X: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Scores with every candidate that cannot be about the asked year moved below all that can.

    When a question asks for a year and the report's own year is not among those asked, a number
    or sentence must show one of the asked years (its column, its sentence or its clause):
    «netto driftsresultat i 2015» is not answered by «Netto driftsresultat ble 679 mill.» in a 2020
    report. Overview passages are exempt. In the training data this never removed a right answer
    and removed most wrong-year answers to unanswerable questions (docs/MODEL.md)."""
    if X.shape[0] == 0:
        return scores
    cannot = ((X[:, F["q_n_years"]] > 0) & (X[:, F["year_match"]] == 0) & (X[:, F["report_year_match"]] == 0)
              & (X[:, F["clause_year_match"]] == 0) & (X[:, F["k_lead"]] == 0))
    return np.where(cannot, scores - YEAR_GATE, scores).astype(np.float32)


ANSWER_FORMS = ("number", "sentence", "passage")


def answer_form(x: np.ndarray) -> str:
    """What answering with this candidate (its feature row) gives: a number (a cell, a printed
    figure, a computed difference), a sentence, or a passage (a chapter's lead). Each form has its
    own abstention threshold."""
    if x[F["k_lead"]]:
        return "passage"
    if x[F["k_sentence"]]:
        return "sentence"
    return "number"


class ModelError(RuntimeError):
    """The shipped model is missing or was trained on another feature set."""


def confidence_row(X: np.ndarray, scores: np.ndarray, order: Sequence[int], values: Sequence[float | None],
                   sentences: Sequence[int]) -> np.ndarray:
    """What the confidence model sees: the best candidate's score, its rivals' (the next candidates
    that would give another answer), how many of the top five agree with it, its features, and
    how they differ from the first rival's.
    ``order``: candidates best first (the first RIVAL_DEPTH suffice); ``values`` and ``sentences``:
    the number each would answer with and the sentence it comes from (-1: none), aligned with it."""
    b = int(order[0])
    best = (values[0], int(sentences[0]))
    rivals, agreeing = [b], 0
    best_computed = bool(X[b, F["k_diff"]])
    for n in range(1, min(len(order), RIVAL_DEPTH)):
        computed = best_computed or bool(X[int(order[n]), F["k_diff"]])
        if agrees(best, (values[n], int(sentences[n])), computed):
            agreeing += n < 5
            continue
        rivals.append(int(order[n]))
        if len(rivals) >= 5:
            break
    s1 = float(scores[b])
    second = float(scores[rivals[1]]) if len(rivals) > 1 else s1 - 10.0
    fifth = float(scores[rivals[-1]]) if len(rivals) > 1 else s1 - 10.0
    row = {"s1": s1, "s2": second, "gap12": s1 - second, "gap15": s1 - fifth, "agree_top5": float(agreeing)}
    for kind in ("figure", "diff", "sentence"):
        flag = float(X[b, F[f"k_{kind}"]])
        row[f"s1_{kind}"] = s1 * flag
        row[f"gap12_{kind}"] = (s1 - second) * flag
    for name, feature in _CONTRASTED:
        row[name] = float(X[b, feature] - X[rivals[1], feature]) if len(rivals) > 1 else 0.0
    out = np.empty(len(CONFIDENCE_FEATURES), np.float32)
    for i, name in enumerate(CONFIDENCE_FEATURES):
        out[i] = row[name] if name in row else X[b, F[name]]
    return out


@dataclass
class Ranker:
    session: Any  # onnxruntime.InferenceSession
    card: dict[str, Any]
    adapter: np.ndarray | None = None  # the question adapter's weights (rag/adapter.py), if they apply
    dense: bool = True  # are questions embedded with the model the ranker was trained for?
    conf_session: Any = None  # onnxruntime.InferenceSession of the confidence model

    def vectors(self, qvec: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(question vector, adapted question vector) for the features; (None, None) when the
        questions come from another embedding model than the ranker's (its dense-off view)."""
        from rag.adapter import adapt

        if qvec is None or not self.dense:
            return None, None
        return qvec, adapt(qvec, self.adapter)

    @property
    def thresholds(self) -> dict[str, float]:
        """The abstention threshold of each answer form (ANSWER_FORMS)."""
        return {form: float(t) for form, t in self.card["confidence"]["thresholds"].items()}

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
        """P(the best candidate is right), from its confidence row (confidence_row)."""
        x = np.ascontiguousarray(np.asarray(row, np.float32).reshape(1, -1))
        probabilities = self.conf_session.run(None, {self.conf_session.get_inputs()[0].name: x})[1]
        return float(np.asarray(probabilities).reshape(-1)[-1])


def load_ranker(directory: Path | None = None, embedding_id: str | None = None) -> Ranker:
    """The shipped model (or one in ``directory``); ModelError when missing or for other features.
    ``embedding_id``: the embedding model the questions are embedded with; dense features (and
    the question adapter) are used only when the ranker was trained on that model's vectors
    (None: the caller vouches for it)."""
    def read(name: str) -> bytes:
        if directory is None:
            return resources.files(MODEL_PACKAGE).joinpath(name).read_bytes()
        try:
            return (directory / name).read_bytes()
        except OSError as exc:
            raise ModelError(f"No trained model in {directory}: {exc}") from None

    card = json.loads(read("model.json").decode("utf-8"))
    onnx_bytes = read("ranker.onnx")
    if card.get("feature_set_version") != FEATURE_SET_VERSION or tuple(card.get("features", ())) != FEATURES:
        differ = "" if card.get("feature_set_version") != FEATURE_SET_VERSION else " (same version, other feature list)"
        raise ModelError(
            f"The shipped model was trained on feature set {card.get('feature_set_version')!r}, this code computes "
            f"{FEATURE_SET_VERSION!r}{differ}: retrain with `rapport train`."
        )
    conf = card["confidence"]
    if (tuple(conf["features"]) != CONFIDENCE_FEATURES or "file" not in conf
            or set(conf.get("thresholds") or ()) != set(ANSWER_FORMS)
            or str(conf.get("row_version", "1")) != CONFIDENCE_ROW_VERSION):
        raise ModelError("The shipped confidence model uses other features, rows or thresholds: retrain with "
                         "`rapport train`.")
    trained_for = card.get("embedding")
    dense = embedding_id is None or trained_for is None or embedding_id == trained_for
    if not dense:
        log.warning("The ranker was trained on %s vectors, the questions are embedded with %s: "
                    "answering without dense features", trained_for, embedding_id)
    meta = card.get("adapter")
    adapter = None
    if meta and dense:
        adapter = np.load(io.BytesIO(read(meta["file"])), allow_pickle=False).astype(np.float32)
    return Ranker(onnx_session(onnx_bytes), card, adapter, dense, onnx_session(read(card["confidence"]["file"])))


def onnx_session(model: bytes) -> Any:
    """An onnxruntime session for a shipped model, as the engine runs it (CPU, one thread)."""
    import onnxruntime as ort  # ~0.2 s: only when answering

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
