"""The feedback store: SQLite round trip and CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_ui_support import TABLE_CITATION

from ui.feedback import CSV_COLUMNS, FeedbackStore, vote_from_like


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
