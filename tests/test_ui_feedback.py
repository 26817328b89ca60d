"""The feedback store: SQLite round trip, CSV export, WAL, comments, and nothing lost when 2 000
votes arrive at once (threads in this process and other processes)."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ui_support import TABLE_CITATION

from ui.feedback import CSV_COLUMNS, FeedbackError, FeedbackStore, vote_from_like


def test_round_trip_and_csv(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "sub" / "feedback.sqlite3")
    assert store.count() == 0
    assert not store.path.exists()  # counting does not create the file
    cites = [TABLE_CITATION.to_json()]
    when = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    first = store.add(
        question="Hva var netto driftsresultat?",
        answer="-679,4 mill. kr",
        citations=cites,
        vote="up",
        created_utc=when,
    )
    second = store.add(
        question="Robert'); DROP TABLE feedback;--", answer="Vet ikke", citations=[], vote="down"
    )
    assert second > first
    assert store.count() == 2

    entries = store.entries()
    assert [e.vote for e in entries] == ["up", "down"]
    assert entries[0].created_utc == "2024-05-01T12:00:00+00:00"
    assert json.loads(entries[0].citations_json) == cites
    assert entries[1].question == "Robert'); DROP TABLE feedback;--"  # stored as data, not run
    assert entries[1].created_utc.endswith("+00:00")

    out = io.StringIO()
    assert store.export_csv(out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    # text starting with "-" could run as a spreadsheet formula: prefixed (see test below)
    assert rows[1][2:5] == ["up", "Hva var netto driftsresultat?", "'-679,4 mill. kr"]
    assert json.loads(rows[1][5])[0]["row"] == "Netto driftsresultat"


def test_csv_neutralises_formulas_but_keeps_numbers(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.add(question='=HYPERLINK("http://x")', answer="-679,4", citations=[], vote="up")
    store.add(question="-2+3+cmd|' /C calc'!A0", answer="@SUM(A1)", citations="[]", vote="none")
    out = io.StringIO()
    store.export_csv(out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][3] == '\'=HYPERLINK("http://x")'
    assert rows[1][4] == "-679,4"
    assert rows[2][3].startswith("'-2+3") and rows[2][4] == "'@SUM(A1)"


def test_empty_export_has_header(tmp_path: Path) -> None:
    out = io.StringIO()
    assert FeedbackStore(tmp_path / "none.sqlite3").export_csv(out) == 0
    assert out.getvalue().strip() == ",".join(CSV_COLUMNS)


def test_bad_vote_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FeedbackStore(tmp_path / "f.sqlite3").add(question="q", answer="a", citations=[], vote="meh")


@pytest.mark.parametrize(
    ("liked", "vote"),
    [(True, "up"), (False, "down"), ("", "none"), (None, "none"), ("Like", "up"), ("Dislike", "down")],
)
def test_vote_from_like(liked: bool | str | None, vote: str) -> None:
    assert vote_from_like(liked) == vote


def test_wal_mode_comments_and_changed_votes(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    entry = store.add(question="q", answer="a", citations=[], vote="up")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.add_comment(entry, "  Riktig tall.\x00  ")
    store.set_vote(entry, "down")
    (e,) = store.entries()
    assert (e.vote, e.comment) == ("down", "Riktig tall.")
    with pytest.raises(ValueError):
        store.add_comment(entry, "   ")
    with pytest.raises(FeedbackError):
        store.set_vote(entry + 1, "up")
    out = io.StringIO()
    store.export_csv(out)
    assert list(csv.reader(io.StringIO(out.getvalue())))[1][-1] == "Riktig tall."


def test_an_older_database_gets_the_comment_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_utc TEXT NOT NULL, "
                     "vote TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, citations_json TEXT NOT NULL, "
                     "answer_json TEXT)")
        conn.execute("INSERT INTO feedback (created_utc, vote, question, answer, citations_json) "
                     "VALUES ('2024-01-01T00:00:00+00:00', 'up', 'gammel', 'svar', '[]')")
    store = FeedbackStore(path)
    assert [e.question for e in store.entries()] == ["gammel"] and store.entries()[0].comment is None
    store.add(question="ny", answer="a", citations=[], vote="down", comment="hei")
    assert [(e.question, e.comment) for e in store.entries()] == [("gammel", None), ("ny", "hei")]


def test_a_store_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    store = FeedbackStore(blocked / "feedback.sqlite3")  # its directory cannot be created
    assert store.writable() is False
    with pytest.raises(FeedbackError):
        store.add(question="q", answer="a", citations=[], vote="up")
    assert FeedbackStore(tmp_path / "ok" / "f.sqlite3").writable() is True


def test_a_locked_database_is_retried_not_lost(tmp_path: Path) -> None:
    """Another process holds the write lock for a moment: the vote waits, then is stored."""
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.add(question="first", answer="a", citations=[], vote="up")
    holder = sqlite3.connect(store.path, timeout=1, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a writer in "another process"
    done = threading.Event()

    def vote() -> None:
        store.add(question="second", answer="a", citations=[], vote="down")
        done.set()

    thread = threading.Thread(target=vote)
    thread.start()
    assert not done.wait(0.3)  # it waits for the lock …
    holder.execute("COMMIT")
    holder.close()
    thread.join(30)
    assert done.is_set() and [e.question for e in store.entries()] == ["first", "second"]


def _vote_many(path: str, worker: int, n: int) -> None:
    store = FeedbackStore(path)
    for i in range(n):
        store.add(question=f"p{worker}-{i}", answer="a", citations=[], vote="up" if i % 2 else "down")


@pytest.mark.slow  # 2 000 synchronous commits (each on disk before it returns): 10-20 s
def test_two_thousand_concurrent_votes_lose_nothing(tmp_path: Path) -> None:
    """1 000 votes from 50 threads of this process and 1 000 from 4 other processes, all at once."""
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    store.writable()  # create the database (WAL) before the writers start
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def thread_votes(t: int) -> None:
        start.wait()
        try:
            for i in range(20):
                store.add(question=f"t{t}-{i}", answer="a", citations=[], vote="up")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_vote_many, args=(str(path), w, 250)) for w in range(4)]
    for p in procs:
        p.start()
    threads = [threading.Thread(target=thread_votes, args=(t,)) for t in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    for p in procs:
        p.join(120)
    assert errors == [] and [p.exitcode for p in procs] == [0, 0, 0, 0]
    entries = store.entries()
    questions = {e.question for e in entries}
    assert len(entries) == 2000 and len(questions) == 2000 and len({e.id for e in entries}) == 2000
    assert {f"t{t}-{i}" for t in range(50) for i in range(20)} | {f"p{w}-{i}" for w in range(4) for i in range(250)} == questions
