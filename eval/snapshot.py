"""The answers to the project's train and dev questions, as one digest per question, so a change
that should not change answers (a refactor, a speed-up) can be checked to change none.

`take(service)` answers every train and dev item and digests what matters in each answer:
abstained or not, the value, the unit, the kind, and the ids of its citations (report, table,
row, column, chapter, lines) and of its alternatives. `rapport eval --snapshot write` stores the
digests in eval/answers.json; `--snapshot check` and tests/test_eval_guard.py compare against
it and name the items whose answer changed. The frozen test split is never part of it.
A change that is meant to change answers (a new model, a new feature) writes a new snapshot in
the same commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.run import load_eval_set, split_file

SNAPSHOT = Path(__file__).resolve().parent / "answers.json"
SPLITS = ("train", "dev")


def digest(answer: Mapping[str, Any]) -> str:
    """A short hash of an answer's (JSON form's) decision and citations, not of its wording."""

    def cite(c: Mapping[str, Any]) -> list[Any]:
        return [c.get(k) for k in ("report", "table", "row", "column", "chapter", "lines")]

    body = {
        "abstained": answer.get("abstained"),
        "value": answer.get("value"),
        "unit": answer.get("unit"),
        "kind": answer.get("kind"),
        "citations": [cite(c) for c in answer.get("citations") or ()],
        "alternatives": [[a.get("value"), cite(a.get("citation") or {})] for a in answer.get("alternatives") or ()],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def items() -> list[dict[str, Any]]:
    return [item for name in SPLITS for item in load_eval_set(split_file(name))]


def take(ask: Callable[[str], Any], questions: Sequence[Mapping[str, Any]] | None = None) -> dict[str, str]:
    """Item id -> digest of the answer `ask` gives to its question."""
    return {str(it["id"]): digest(ask(str(it["question"])).to_json()) for it in (questions or items())}


def load(path: Path = SNAPSHOT) -> dict[str, str]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write(snapshot: Mapping[str, str], path: Path = SNAPSHOT) -> None:
    path.write_text(json.dumps(dict(sorted(snapshot.items())), indent=0) + "\n", encoding="utf-8")


def changed(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Ids whose answer differs, or that are in only one of the two."""
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


__all__ = ["SNAPSHOT", "digest", "take", "load", "write", "changed", "items"]
