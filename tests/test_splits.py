"""The labeled splits (eval/splits/): well-formed, grounded in the report, disjoint.

train and dev are checked against the report's text by eval/splits/check_labels.py (the same
check the writers ran). The frozen test splits are only loaded through the eval's own file checker
and compared by id and question text: nothing here looks at its answers.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections import Counter
from pathlib import Path

import pytest

from eval.run import SPLITS, load_eval_set, split_file

CHECKER = Path(__file__).resolve().parents[1] / "eval" / "splits" / "check_labels.py"


def _checker():
    spec = importlib.util.spec_from_file_location("check_labels", CHECKER)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


# the splits decisions may read (every split but the frozen test ones), each with its least size
MIN_ITEMS = {"train": 1000, "dev": 200, "dev2": 200, "dev3": 200, "dev4": 200, "dev5": 200, "dev6": 300, "dev7": 300, "dev8": 300, "dev9": 300, "dev10": 300, "dev11": 300, "dev12": 300, "dev13": 300, "dev14": 300}


def test_every_split_but_the_frozen_ones_is_checked_against_the_report() -> None:
    assert set(MIN_ITEMS) == {name for name in SPLITS if not name.startswith("test")}


@pytest.mark.parametrize("name", list(MIN_ITEMS))
def test_train_and_dev_labels_are_grounded_in_the_report(name: str) -> None:
    checker = _checker()
    found, kinds, langs = checker.problems(split_file(name), checker.report_lines())
    assert not found, "\n".join(found[:20])
    total = sum(kinds.values())
    assert total >= MIN_ITEMS[name]
    assert kinds["unanswerable"] >= 0.15 * total and langs["en"] >= 0.25 * total, (kinds, langs)
    assert {"table_cell", "table_compare", "prose_number", "non_numeric", "overview"} <= set(kinds)


def test_the_checker_catches_a_number_that_is_not_on_the_line(tmp_path: Path) -> None:
    checker = _checker()
    lines = ["Tabell 1 viser noe", "Netto driftsresultat -237,0 -679,4 442,4"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "question": "Hva var netto driftsresultat?", "kind": "table_cell", "answer_number": -679.5,'
        ' "unit": "mill. kr", "table": "1", "source_quote": "Netto driftsresultat -237,0 -679,4 442,4",'
        ' "line": 2, "lang": "no"}\n',
        encoding="utf-8",
    )
    found, _, _ = checker.problems(bad, lines)
    assert found and "not printed" in found[0]
    bad.write_text(bad.read_text(encoding="utf-8").replace("-679.5", "-679.4"), encoding="utf-8")
    assert checker.problems(bad, lines)[0] == []


def test_splits_are_disjoint_by_id_and_question() -> None:
    items = {name: load_eval_set(split_file(name)) for name in SPLITS}  # the eval's own checks pass
    ids = Counter(str(i["id"]) for split in items.values() for i in split)
    assert not [i for i, n in ids.items() if n > 1]
    questions = {name: {" ".join(i["question"].lower().split()) for i in split} for name, split in items.items()}
    for a, b in itertools.combinations(SPLITS, 2):
        assert not questions[a] & questions[b], (a, b, sorted(questions[a] & questions[b])[:5])
