"""Thumbs up/down on answers, kept in SQLite (data_dir/feedback.sqlite3).

Every statement is parameterised. A connection is opened per call, so the store can be shared by
Gradio's worker threads.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

VOTES = ("up", "down", "none")  # "none": the user took the vote back
CSV_COLUMNS = ("id", "created_utc", "vote", "question", "answer", "citations_json", "answer_json")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_utc TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down', 'none')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations_json TEXT NOT NULL,
    answer_json TEXT
)
"""


@dataclass(frozen=True)
class FeedbackEntry:
    id: int
    created_utc: str  # ISO 8601, UTC, e.g. "2024-05-01T12:00:00+00:00"
    vote: str
    question: str
    answer: str
    citations_json: str
    answer_json: str | None


def vote_from_like(liked: bool | str | None) -> str:
    """Map Gradio's LikeData.liked (True, False, or "" when a vote is taken back) to a vote."""
    if liked is True:
        return "up"
    if liked is False:
        return "down"
    if isinstance(liked, str) and liked.strip().lower() in {"like", "up"}:
        return "up"
    if isinstance(liked, str) and liked.strip().lower() in {"dislike", "down"}:
        return "down"
    return "none"


class FeedbackStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextmanager
    def _connect(self, create: bool = True) -> Iterator[sqlite3.Connection]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10.0)) as conn:
            if create:
                conn.execute(_SCHEMA)
            yield conn

    def add(
        self,
        *,
        question: str,
        answer: str,
        citations: Sequence[dict[str, Any]] | str,
        vote: str,
        answer_json: dict[str, Any] | None = None,
        created_utc: datetime | None = None,
    ) -> int:
        """Store one vote; returns its id."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
        citations_json = (
            citations if isinstance(citations, str) else json.dumps(list(citations), ensure_ascii=False)
        )
        when = (created_utc or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        with self._connect() as conn, conn:
            cur = conn.execute(
                "INSERT INTO feedback (created_utc, vote, question, answer, citations_json, answer_json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    when,
                    vote,
                    question,
                    answer,
                    citations_json,
                    None if answer_json is None else json.dumps(answer_json, ensure_ascii=False),
                ),
            )
            return int(cur.lastrowid or 0)

    def count(self) -> int:
        if not self.path.exists():
            return 0
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def entries(self) -> list[FeedbackEntry]:
        if not self.path.exists():
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, created_utc, vote, question, answer, citations_json, answer_json FROM feedback ORDER BY id"
            ).fetchall()
        return [FeedbackEntry(*row) for row in rows]

    def export_csv(self, stream: TextIO) -> int:
        """Write all entries as CSV (header first); returns the number of entries written.

        Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is
        prefixed with an apostrophe; a plain number such as "-679,4" is left alone.
        """
        writer = csv.writer(stream)
        writer.writerow(CSV_COLUMNS)
        entries = self.entries()
        for e in entries:
            writer.writerow(
                [
                    e.id,
                    e.created_utc,
                    e.vote,
                    _csv_safe(e.question),
                    _csv_safe(e.answer),
                    e.citations_json,
                    e.answer_json or "",
                ]
            )
        return len(entries)


_PLAIN_NUMBER = re.compile(r"[-+]?\d[\d \u00a0]*(?:[.,]\d+)?")


def _csv_safe(text: str) -> str:
    if text and text[0] in "=+-@\t\r" and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
