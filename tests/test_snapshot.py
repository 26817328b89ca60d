"""Answer digests for the before/after check (eval/snapshot.py)."""

from __future__ import annotations

import json

from fakes import fake_service

from eval import snapshot


def test_a_digest_follows_the_decision_and_the_citations_not_the_wording() -> None:
    svc = fake_service()
    a = svc.ask("Hvor mange barnehageplasser var det i 2019?").to_json()
    same = dict(a, answer="Other words.", latency_ms=999.0, trace=["x"], confidence=0.1)
    assert snapshot.digest(a) == snapshot.digest(same)
    assert snapshot.digest(a) != snapshot.digest(dict(a, value=(a["value"] or 0) + 1))
    assert snapshot.digest(a) != snapshot.digest(dict(a, abstained=not a["abstained"]))
    moved = [dict(c, lines=[c["lines"][0] + 1, c["lines"][1] + 1]) for c in a["citations"]]
    assert a["citations"] and snapshot.digest(a) != snapshot.digest(dict(a, citations=moved))


def test_take_and_changed_name_the_items_that_differ(tmp_path) -> None:
    svc = fake_service()
    items = [{"id": "a", "question": "Hvor mange barnehageplasser var det i 2019?"},
             {"id": "b", "question": "Hva er 2+2?"}]
    taken = snapshot.take(svc.ask, items)
    assert set(taken) == {"a", "b"} and taken == snapshot.take(svc.ask, items)
    path = tmp_path / "answers.json"
    snapshot.write(taken, path)
    assert snapshot.load(path) == taken and json.loads(path.read_text())
    assert snapshot.changed(taken, dict(taken, a="0")) == ["a"]
    assert snapshot.changed(taken, {"a": taken["a"]}) == ["b"]


def test_the_stored_snapshot_covers_train_and_dev_only() -> None:
    stored = snapshot.load()
    ids = {str(it["id"]) for it in snapshot.items()}
    assert set(stored) == ids
    from eval.run import load_eval_set, split_file

    assert not ids & {str(it["id"]) for it in load_eval_set(split_file("test"))}
