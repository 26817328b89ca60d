"""Training: the pipeline on a tiny invented report, and the shipped model reproducing its card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fakes import fake_report

from rag.engine import Engine
from rag.ranker import CONFIDENCE_FEATURES, load_ranker


def _items() -> list[dict]:
    """Labeled questions about the invented report, in the eval schema."""
    report = fake_report()
    line = {text: i for i, text in enumerate(report.lines, 1)}

    def at(prefix: str) -> int:
        return next(i for text, i in line.items() if text.startswith(prefix))

    base = {"unit": None, "source_quote": "", "lang": "no"}
    items = []
    for n, (q, number, table, row) in enumerate([
        ("Hvor mange barnehageplasser var det i 2019?", 2550, 2, "Barnehageplasser"),
        ("Barnehageplasser i 2018?", 2500, 2, "Barnehageplasser"),
        ("Hvor mange elever gikk i grunnskolen i 2020?", 4150, 2, "Antall elever"),
        ("Antall elever i 2019?", 4100, 2, "Antall elever"),
        ("Hva var regnskapet for oppvekst?", 880.2, 1, "Oppvekst"),
        ("Hva var budsjettet for helse og omsorg?", 850.0, 1, "Helse og omsorg"),
        ("Hvor mange minoritetsspråklige elever var det i 2020?", 700, 2, "Elever i grunnskolen"),
        ("Hva var netto driftsresultat i regnskapet?", -679.4, 1, "Netto driftsresultat"),
    ]):
        items.append({**base, "id": f"f{n}", "question": q, "kind": "table_cell", "answer_number": number,
                      "table": table, "line": at(row)})
    items.append({**base, "id": "u1", "question": "Hvor mange ble kremert i 2020?", "kind": "unanswerable",
                  "answer_number": None, "table": None, "line": None})
    return items


@pytest.mark.slow
def test_training_pipeline_writes_a_model_that_loads_and_ranks(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    pytest.importorskip("onnxmltools")
    pytest.importorskip("torch")
    from eval.train import train
    from ingest.embeddings import HashEmbeddings
    from ingest.pipeline import report_units

    report = fake_report()
    emb = HashEmbeddings(dim=32)
    units = report_units(report)
    vectors = {report.meta.id: dict(zip([u.key for u in units], emb.embed_documents([u.text for u in units]),
                                        strict=True))}
    engine = Engine.from_reports([report], vectors, emb.embed_query)
    items = _items()
    card = train(engine, items * 3, items, tmp_path, seed=0, folds=3, families=("lgbm_rank",), echo=lambda s: None,
                 embedding_id="hash-32", unseen_folds=2, rankings=tmp_path / "rankings.npz")
    assert (tmp_path / "ranker.onnx").is_file() and (tmp_path / "model.json").is_file()
    from eval.rankings import load

    sets, meta = load(tmp_path / "rankings.npz")  # both views of every train question, as fitted
    n = len(items) * 3
    assert meta["n"] == n and len(sets["train"]) == len(sets["unseen"]) == 2 * n and len(sets["dev"]) == len(items)
    assert len(meta["content_groups"]) == n and meta["thresholds"] == card["confidence"]["thresholds"]
    from eval.confidence_lab import measure

    lab = measure(sets, meta)  # the confidence model's figures again, from the stored rankings alone
    assert lab["thresholds"] == card["confidence"]["thresholds"] and lab["sure"] == card["confidence"]["sure"]
    assert lab["unseen_end_to_end"] == card["scores"]["unseen_cv_end_to_end"]
    assert (tmp_path / card["adapter"]["file"]).is_file() and card["embedding"] == "hash-32"
    assert card["scores"]["dense_off"]["dev_top1"]["all"] >= 0  # both views were trained and scored
    assert set(card["scores"]["unseen_cv_top1"]) == {"top1", "dense_off"}  # asked for: measured in both views
    e2e = card["scores"]["unseen_cv_end_to_end"]  # and what the engine would answer there
    assert {"numeric_right", "answered", "abstained_unanswerable", "wrong_answers"} <= set(e2e)
    assert 0.0 <= e2e["numeric_right"] <= 1.0 and 0.0 <= e2e["answered"] <= 1.0
    from eval.model_card import card_markdown

    assert f"numeric right {e2e['numeric_right']:.3f}" in card_markdown(card)  # the model card shows it
    assert f"(net {e2e['net']}: {e2e['right_answers']} right answers" in card_markdown(card)
    assert json.loads((tmp_path / "model.json").read_text())["scores"] == card["scores"]
    assert load_ranker(tmp_path, embedding_id="another-model").dense is False
    ranker = load_ranker(tmp_path, embedding_id="hash-32")
    assert ranker.dense and ranker.adapter is not None
    engine.ranker = ranker
    scored = engine.score("Hvor mange barnehageplasser var det i 2019?")
    best = int(scored.order[0])
    assert float(engine.corpus.cell_value[int(scored.cands.ref[best])]) == 2550.0
    assert 0.0 <= ranker.confidence(np.zeros(len(CONFIDENCE_FEATURES), np.float32)) <= 1.0
    # the same data and seed give the same model
    again = train(engine, items * 3, items, tmp_path / "again", seed=0, folds=3, families=("lgbm_rank",),
                  echo=lambda s: None, embedding_id="hash-32", unseen_folds=2)
    assert again["scores"] == card["scores"]
    assert again["ranker"]["feature_importance"] == card["ranker"]["feature_importance"]
    np.testing.assert_array_equal(load_ranker(tmp_path / "again").predict(scored.cands.X), ranker.predict(scored.cands.X))
    for name in ("ranker.onnx", card["confidence"]["file"], card["adapter"]["file"]):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / name).read_bytes()
    # the order of the opset imports is fixed (the converter's varies between processes)
    import onnx

    for name in ("ranker.onnx", card["confidence"]["file"]):
        domains = [o.domain for o in onnx.load(tmp_path / name).opset_import]
        assert domains == sorted(domains) and len(domains) == 2


def test_the_shipped_model_matches_this_code() -> None:
    ranker = load_ranker()
    assert set(ranker.thresholds) == {"number", "sentence", "passage"}
    assert 0 < ranker.thresholds["number"] <= ranker.sure <= 1
    assert all(0 < t < 1 for t in ranker.thresholds.values())
    assert ranker.card["data"]["train"]["questions"] > 1000


def test_a_confidence_model_fitted_on_rows_of_another_version_does_not_load(tmp_path: Path) -> None:
    """The card's confidence.row_version ties the confidence model to the code that built its rows
    (rag/ranker.py `agrees`): a card from before the version (rows of version 1) or of another
    version is refused with a clear error; the shipped one loads."""
    import shutil
    from importlib import resources

    from rag.ranker import CONFIDENCE_ROW_VERSION, ModelError

    shipped = resources.files("rag.model")
    for name in ("model.json", "ranker.onnx", "confidence.onnx", "adapter.npy"):
        shutil.copyfile(str(shipped.joinpath(name)), tmp_path / name)
    card = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert card["confidence"]["row_version"] == CONFIDENCE_ROW_VERSION
    load_ranker(tmp_path)
    for version in (None, "1", CONFIDENCE_ROW_VERSION + "x"):
        conf = dict(card["confidence"])
        if version is None:
            del conf["row_version"]
        else:
            conf["row_version"] = version
        (tmp_path / "model.json").write_text(json.dumps({**card, "confidence": conf}), encoding="utf-8")
        with pytest.raises(ModelError, match="retrain"):
            load_ranker(tmp_path)


@pytest.mark.slow
def test_the_shipped_model_reproduces_its_dev_score(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Score the dev splits (pooled, as `rapport train` does) with the shipped ranker over a fresh
    index of the bundled report: top-1 as the card says (the same features, model and data give
    the same number), and at the shipped thresholds they abstain on ABSTAIN_TARGET of their
    unanswerable questions, where the thresholds were chosen."""
    from eval.train import DEV_SPLITS, SPLIT_DIR, collect, load_items, top1
    from ingest.pipeline import run_ingest
    from rag.ranker import year_gate
    from rag.service import build_service
    from rapport.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("dev-index"))
    run_ingest(settings, progress=False)
    service = build_service(settings)
    items = [item for name in DEV_SPLITS for item in load_items(SPLIT_DIR / f"{name}.jsonl")]
    examples = collect(service.engine, items, echo=lambda s: None)
    ranker = service.engine.ranker
    assert len(examples) == ranker.card["data"]["dev"]["questions"]
    scores = [year_gate(e.X, ranker.predict(e.X)) for e in examples]
    got = top1(examples, scores)
    assert got["all"] == pytest.approx(ranker.card["scores"]["dev_top1"]["all"], abs=0.005)
    # and the shipped confidence model gives the card's dev figures at its thresholds
    from eval.confidence import confidence_data
    from eval.thresholds import ABSTAIN_TARGET, at_thresholds, best_forms

    A, right, answerable = confidence_data(examples, scores)
    p = np.asarray([ranker.confidence(row) for row in A])
    at = at_thresholds(p, right, answerable, best_forms(examples, scores), ranker.thresholds)
    card = ranker.card["scores"]["dev_at_threshold"]
    assert at["answered"] == pytest.approx(card["answered"], abs=0.011)
    assert abs(at["wrong_answers"] - card["wrong_answers"]) <= 2
    assert card["abstained_unanswerable"] >= ABSTAIN_TARGET and at["abstained_unanswerable"] >= ABSTAIN_TARGET - 0.011


def test_the_abstention_threshold_is_the_lowest_that_abstains_on_enough_unanswerable() -> None:
    pytest.importorskip("sklearn")
    from eval.thresholds import ABSTAIN_TARGET, choose_threshold

    # ten unanswerable questions with confidences 0.02 .. 0.92, and answerable ones that are all right
    p_unans = np.linspace(0.02, 0.92, 10)
    p_ans = np.full(20, 0.97)
    p = np.concatenate([p_unans, p_ans])
    right = np.concatenate([np.zeros(10, bool), np.ones(20, bool)])
    answerable = np.concatenate([np.zeros(10, bool), np.ones(20, bool)])
    threshold, curve = choose_threshold(p, right, answerable)
    at = next(c for c in curve if c["threshold"] == threshold)
    assert at["abstained_unanswerable"] >= ABSTAIN_TARGET
    lower = [c for c in curve if c["threshold"] < threshold]
    assert lower and all(c["abstained_unanswerable"] < ABSTAIN_TARGET for c in lower)
    above = int((p_unans >= threshold).sum())  # the unanswerable ones it still answers: as few as the target allows
    assert at["answered"] == 1.0 and at["wrong_answers"] == above == int(10 - np.ceil(ABSTAIN_TARGET * 10 - 1e-9))


def test_sure_counts_an_answer_to_an_unanswerable_question_as_wrong() -> None:
    """«sure» (answer plainly from here) needs SURE_PRECISION of all answers right: answers to
    answerable questions alone are all right at 0.60 here, but three unanswerable questions are
    answered there too, so plain answers start above them."""
    from eval.thresholds import SURE_PRECISION, choose_threshold, sure_threshold

    p = np.concatenate([np.full(10, 0.60), np.full(40, 0.90), np.full(3, 0.60)])
    answerable = np.concatenate([np.ones(50, bool), np.zeros(3, bool)])
    right = answerable.copy()
    _, curve = choose_threshold(p, right, answerable)
    at = {c["threshold"]: c for c in curve}
    assert at[0.6]["right_when_answered"] == 1.0 and at[0.6]["precision"] == pytest.approx(50 / 53)
    assert at[0.6]["precision"] < SURE_PRECISION
    assert sure_threshold(curve, 0.5) == 0.61 and sure_threshold(curve, 0.7) == 0.7


def test_a_figure_and_its_own_sentence_are_no_rivals_but_another_number_is() -> None:
    from rag.layout import F
    from rag.ranker import RIVAL_DEPTH, agrees, confidence_row

    assert agrees((7.02, 3), (None, 3)) and agrees((-679.4, -1), (679.4, 8)) and agrees((5.0, -1), (5.04, -1))
    assert not agrees((7.02, 3), (7.2, 4)) and not agrees((None, -1), (None, -1)) and not agrees((1.0, -1), (None, 2))
    # a whole number agrees with a figure it is the rounding of, but not with its neighbours
    assert agrees((-679.4, -1), (679.0, 8)) and agrees((679.0, 8), (-679.4, -1)) and agrees((5.9, -1), (6.0, 2))
    assert not agrees((679.0, -1), (680.0, -1)) and not agrees((12.0, -1), (12.6, -1))
    names = list(CONFIDENCE_FEATURES)
    X = np.zeros((4, len(F)), np.float32)
    X[0, F["k_figure"]] = 1
    scores = np.asarray([3.0, 2.9, 2.8, 1.0], np.float32)
    # candidate 1 is the sentence that prints candidate 0's figure, 2 the same number elsewhere: the
    # rival is candidate 3, two points lower, and two of the top five agree with the best
    row = confidence_row(X, scores, [0, 1, 2, 3], [7.02, None, 7.02, 12.0], [3, 3, 9, 5])
    assert row[names.index("s2")] == pytest.approx(1.0) and row[names.index("gap12")] == pytest.approx(2.0)
    assert row[names.index("agree_top5")] == 2
    assert row[names.index("s1_figure")] == pytest.approx(3.0) and row[names.index("gap12_figure")] == pytest.approx(2.0)
    assert row[names.index("s1_diff")] == 0 and row[names.index("s1_sentence")] == 0
    # another number next to it is a rival at once
    close = confidence_row(X, scores, [0, 1, 2, 3], [7.02, 7.5, 7.02, 12.0], [3, 4, 9, 5])
    assert close[names.index("gap12")] == pytest.approx(0.1) and close[names.index("agree_top5")] == 1
    # no rival at all: a wide gap, never an error
    alone = confidence_row(X[:1], scores[:1], [0], [7.02], [3])
    assert alone[names.index("gap12")] == pytest.approx(10.0)
    assert RIVAL_DEPTH >= 5


def test_numbers_sentences_and_passages_get_their_own_thresholds() -> None:
    from eval.thresholds import ABSTAIN_TARGET, choose_thresholds

    # unanswerable questions answered with a number at 0.30 .. 0.75 and one with a passage at 0.10;
    # right sentences at 0.50 and right passages at 0.25: each form gets a threshold of its own
    p_unans = np.concatenate([np.linspace(0.30, 0.75, 9), [0.10]])
    forms_unans = ["number"] * 9 + ["passage"]
    p = np.concatenate([p_unans, np.full(20, 0.9), np.full(10, 0.5), np.full(5, 0.25)])
    forms = np.asarray(forms_unans + ["number"] * 20 + ["sentence"] * 10 + ["passage"] * 5)
    right = np.concatenate([np.zeros(10, bool), np.ones(35, bool)])
    answerable = right.copy()
    t = choose_thresholds(p, right, answerable, forms)
    answered = p >= np.asarray([t[f] for f in forms])
    assert (~answered[~answerable]).mean() >= ABSTAIN_TARGET
    assert answered[answerable].all()  # every right answer kept
    assert t["passage"] <= 0.25 < t["number"] and t["passage"] > 0.10
    assert t["sentence"] <= 0.5
    # no combination reaches the target: every form falls back to the single threshold
    none = choose_thresholds(np.full(4, 0.99), np.zeros(4, bool), np.zeros(4, bool), np.asarray(["number"] * 4))
    assert len(set(none.values())) == 1


def test_unseen_content_cv_does_not_reward_learning_which_row_answers_which_question() -> None:
    """A ranker that can only learn which rows have been answers (a row-identifying feature, no
    signal about the question) scores well when other questions about the same row were in
    training, and near chance when folds are grouped by gold context: what the unseen-content
    figure is for."""
    pytest.importorskip("lightgbm")
    from eval.train import oof_scores, top1
    from eval.unseen import unseen_content

    examples = _row_identity_examples()
    by_question = top1(examples, oof_scores("lgbm_rank", examples, 4, 0))["all"]
    unseen = unseen_content(examples, len(examples), 4, 0)
    assert by_question > 0.9
    assert unseen["top1"] < 0.3 and "dense_off" not in unseen  # no question vectors: one view
    assert "end_to_end" not in unseen  # not asked for


def test_unseen_end_to_end_answers_exactly_at_the_thresholds() -> None:
    """The end-to-end figures on unseen content follow the thresholds: at 0 every question is
    answered and numeric right equals top-1; above 1 none is; in between never more right
    answers than right best candidates."""
    pytest.importorskip("lightgbm")
    from eval.train import oof_scores
    from eval.unseen import unseen_content

    examples = _row_identity_examples()
    question_oof = oof_scores("lgbm_rank", examples, 4, 0)
    n = len(examples)

    def at(t: float) -> dict:
        return unseen_content(examples, n, 4, 0, question_oof, dict.fromkeys(("number", "sentence", "passage"), t))

    everything, nothing, middle = at(0.0), at(1.01), at(0.5)
    assert everything["end_to_end"]["answered"] == 1.0
    assert everything["end_to_end"]["numeric_right"] == pytest.approx(everything["top1"], abs=1e-4)
    assert everything["end_to_end"]["wrong_answers"] == round(n * (1 - everything["top1"]))
    assert nothing["end_to_end"]["answered"] == 0.0 and nothing["end_to_end"]["wrong_answers"] == 0
    assert nothing["end_to_end"]["numeric_right"] == 0.0 and nothing["end_to_end"]["net"] == 0
    right_best = round(n * everything["top1"])  # every question here is answerable
    assert everything["end_to_end"]["net"] == right_best - 2 * everything["end_to_end"]["wrong_answers"]
    e2e = middle["end_to_end"]  # net: right answers minus two per wrong answer
    assert e2e["net"] == e2e["right_answers"] - 2 * e2e["wrong_answers"] and e2e["right_answers"] <= right_best
    assert middle["end_to_end"]["numeric_right"] <= middle["top1"] + 1e-9


def _row_identity_examples() -> list:
    """An invented report where only which row a candidate is can be learned (a fingerprint
    value per row; rows 0-7 are the answers), 30 questions per answer row."""
    from eval.train import Example
    from rag.layout import F

    rng = np.random.default_rng(0)
    fingerprint = rng.random(60)  # one value per row of an invented report; rows 0-7 are answers
    examples = []
    for k in range(8):
        for _ in range(30):
            slots = rng.permutation(np.concatenate([[k], rng.choice(np.arange(8, 60), 19, replace=False)]))
            X = np.zeros((len(slots), len(F)), np.float32)
            X[:, F["bm25"]] = fingerprint[slots]
            correct = slots == k
            examples.append(Example({"kind": "table_cell"}, X, np.flatnonzero(correct), correct,
                                    [float(v) for v in slots], np.full(len(slots), -1), "ok", None, slots))
    return examples


def test_a_computed_difference_agrees_with_the_printed_one_within_its_operands_rounding() -> None:
    """Budsjett 3 332,3 minus Regnskap 3 170,6 is 161,7 and may be printed as «Differanse» 161,6:
    the same answer when one of the two is computed (each operand is off by up to 0.05), not when
    both are printed; whole numbers as before."""
    from rag.layout import F
    from rag.ranker import COMPUTED_SLACK, agrees, confidence_row

    assert 0.1 < COMPUTED_SLACK < 0.2
    assert agrees((161.7, -1), (161.6, -1), computed=True) and not agrees((161.7, -1), (161.6, -1))
    assert not agrees((161.7, -1), (161.5, -1), computed=True) and not agrees((90.0, -1), (89.0, -1), computed=True)
    names = list(CONFIDENCE_FEATURES)
    X = np.zeros((3, len(F)), np.float32)
    scores = np.asarray([3.0, 2.9, 1.0], np.float32)
    values = [161.7, 161.6, 50.0]

    def rival_gap(kinds: list[str]) -> float:
        X[:] = 0
        for i, kind in enumerate(kinds):
            X[i, F[f"k_{kind}"]] = 1
        return float(confidence_row(X, scores, [0, 1, 2], values, [-1, -1, -1])[names.index("gap12")])

    # printed cell first, the computed difference second: one answer, the rival is candidate 2
    assert rival_gap(["cell", "diff", "cell"]) == pytest.approx(2.0)
    assert rival_gap(["diff", "cell", "cell"]) == pytest.approx(2.0)
    # two printed cells 0.1 apart are two answers
    assert rival_gap(["cell", "cell", "cell"]) == pytest.approx(0.1)


def test_the_confidence_row_contrasts_the_best_candidate_with_its_first_rival() -> None:
    """vs_<feature>: the best candidate's value minus its first rival's (the first candidate that
    would give another answer, not one that agrees with it); 0 without a rival."""
    from rag.layout import F
    from rag.ranker import confidence_row

    names = list(CONFIDENCE_FEATURES)
    contrasted = [n for n in names if n.startswith("vs_")]
    assert contrasted and all(n[3:] in F for n in contrasted)
    X = np.zeros((3, len(F)), np.float32)
    X[:, F["cov_all"]] = [0.9, 0.2, 0.7]
    X[:, F["missed_max"]] = [0.1, 0.0, 0.6]
    scores = np.asarray([3.0, 2.5, 2.0], np.float32)
    # candidate 1 prints the best one's number again (no rival): the rival is candidate 2
    row = confidence_row(X, scores, [0, 1, 2], [7.0, 7.0, 8.0], [-1, -1, -1])
    assert row[names.index("vs_cov_all")] == pytest.approx(0.2)
    assert row[names.index("vs_missed_max")] == pytest.approx(-0.5)
    # a near-miss that covers the question as well as the best one: no margin left
    X[2, F["cov_all"]] = 0.9
    assert confidence_row(X, scores, [0, 1, 2], [7.0, 7.0, 8.0], [-1, -1, -1])[names.index("vs_cov_all")] == 0
    alone = confidence_row(X[:2], scores[:2], [0, 1], [7.0, 7.0], [-1, -1])
    assert all(alone[names.index(n)] == 0 for n in contrasted)


def test_stored_rankings_give_the_confidence_rows_of_the_whole_rankings(tmp_path: Path) -> None:
    """eval/rankings.py keeps the best TOP candidates of each question: the confidence rows,
    rightness and answer forms computed from what `load` gives back equal those of the whole
    rankings, values that are None stay None, and the sets and meta come back as written."""
    from eval.confidence import confidence_data
    from eval.rankings import TOP, dump, load, rank
    from eval.thresholds import best_forms
    from eval.train import Example
    from rag.layout import F
    from rag.ranker import RIVAL_DEPTH

    rng = np.random.default_rng(3)
    examples, scores = [], []
    for k in range(6):
        m = TOP + 25  # more candidates than are kept
        X = rng.random((m, len(F))).astype(np.float32)
        X[:, F["k_sentence"]] = rng.random(m) < 0.2
        X[:, F["k_lead"]] = 0
        values = [None if rng.random() < 0.3 else float(rng.integers(0, 5)) for _ in range(m)]  # repeats agree
        correct = rng.random(m) < 0.05
        examples.append(Example({"kind": "unanswerable" if k == 0 else "table_cell", "question": f"q{k} æøå"}, X,
                                np.flatnonzero(correct), correct, values, rng.integers(-1, 8, m), "ok"))
        scores.append(rng.normal(size=m).astype(np.float32))
    # every candidate down to the last one the confidence row looks at answers like the best: its
    # only rival is that one, which must be kept
    m = RIVAL_DEPTH + 5
    same = [7.0] * m
    same[RIVAL_DEPTH - 1], same[RIVAL_DEPTH + 2] = 9.0, 11.0
    examples.append(Example({"kind": "table_cell"}, rng.random((m, len(F))).astype(np.float32), np.zeros(0, int),
                            np.zeros(m, bool), same, np.full(m, -1), "ok"))
    scores.append(np.linspace(2.0, 0.0, m).astype(np.float32))
    ranked = [rank(e, s) for e, s in zip(examples, scores, strict=True)]
    path = tmp_path / "rankings.npz"
    dump(path, {"train": ranked, "dev": ranked[:2], "empty": []}, {"n": 7, "groups": [0, 1]})
    sets, meta = load(path)
    assert meta == {"n": 7, "groups": [0, 1]} and len(sets["train"]) == 7 and len(sets["dev"]) == 2 and sets["empty"] == []
    back = sets["train"]
    assert [r.item for r in back] == [e.item for e in examples]
    assert all(len(r.scores) == TOP for r in back)
    assert back[1].values == ranked[1].values and None in back[1].values
    whole = confidence_data(examples, scores)
    kept = confidence_data(back, [r.scores for r in back])
    for a, b in zip(whole, kept, strict=True):
        np.testing.assert_array_equal(a, b)
    assert best_forms(back, [r.scores for r in back]).tolist() == best_forms(examples, scores).tolist()
    assert kept[0][-1][list(CONFIDENCE_FEATURES).index("s2")] == pytest.approx(float(scores[-1][RIVAL_DEPTH - 1]))


def test_the_confidence_lab_says_what_is_wrong_with_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from eval.confidence_lab import main

    assert main([]) == 2
    assert main([str(tmp_path / "missing.npz")]) == 1
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    assert main([str(tmp_path / "junk.npz")]) == 1
    err = capsys.readouterr().err
    assert "Cannot read stored rankings" in err and "Traceback" not in err


def test_the_dense_off_view_shares_the_array_and_reads_as_dense_off() -> None:
    """Training holds every question twice (as embedded, and without a usable vector): the second
    view is made from the first's array when read, so the stored rows are not doubled, and it
    reads exactly as dense_off applied to a copy (the first view is left as it was)."""
    from eval.train import Example, dense_off_view
    from rag.candidates import dense_off
    from rag.layout import DENSE_FEATURES, F

    rng = np.random.default_rng(0)
    X = rng.random((6, len(F))).astype(np.float32)
    ex = Example({"kind": "table_cell"}, X, np.asarray([1]), np.zeros(6, bool), [None] * 6, np.full(6, -1), "ok",
                 rng.random(4).astype(np.float32))
    view = dense_off_view(ex)
    assert view.features is ex.features and view.qvec is None
    assert np.array_equal(view.X, dense_off(X.copy()))
    assert ex.X is X and np.array_equal(ex.X, X)  # the embedded view unchanged
    assert all(view.X[:, F[name]].max() == 0 for name in DENSE_FEATURES)
