"""eval.altered.alter: the counterfactual copy changes printed numbers and updates what the eval
items expect; an expectation computed from a changed cell is dropped, never left stale."""

from __future__ import annotations

from eval.altered import OFFSET, alter

TEXT = "\n".join([
    "Tabell 3 viser mer- og mindreforbruk per sektor",
    "Mill. kr Disponibel ramme Mer-/mindreforbruk",
    "Barnevern  231,5  20,0",
    "Kultur  278,7  9,0",
])
CELL = {"id": "c", "kind": "table_cell", "question": "Ramme barnevern?", "answer_number": 231.5, "table": 3,
        "source_quote": "Barnevern  231,5  20,0", "line": 3, "lang": "no"}
SPENT = {"id": "s", "kind": "table_compare", "question": "Brukt barnevern?", "answer_number": 211.5, "table": 3,
         "source_quote": "Barnevern  231,5  20,0", "line": 3, "lang": "no"}
OTHER_CELL = {"id": "u", "kind": "table_cell", "question": "Mindreforbruk barnevern?", "answer_number": 20.0,
              "table": 3, "source_quote": "Barnevern  231,5  20,0", "line": 3, "lang": "no"}
UNTOUCHED = {"id": "k", "kind": "table_compare", "question": "Brukt kultur?", "answer_number": 269.7, "table": 3,
             "source_quote": "Kultur  278,7  9,0", "line": 4, "lang": "no"}


def test_changed_cell_is_expected_and_a_difference_built_on_it_is_dropped() -> None:
    text, items, note = alter(TEXT, [CELL, SPENT, OTHER_CELL, UNTOUCHED])
    lines = text.split("\n")
    assert lines[0].startswith(f"Tabell {3 + OFFSET} viser") and lines[2] == "Barnevern  231,8  20,0"
    by_id = {i["id"]: i for i in items}
    assert by_id["c"]["answer_number"] == 231.8 and by_id["c"]["table"] == 3 + OFFSET
    assert by_id["s"]["answer_number"] is None and note["expectations_dropped"] == ["s"]
    assert by_id["u"]["answer_number"] == 20.0  # another cell of the changed row: still printed, kept
    assert by_id["k"]["answer_number"] == 269.7  # its row was not changed
    assert [c["id"] for c in note["changed_items"]] == ["c"]
