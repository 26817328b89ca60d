"""Thumbs up/down (and an optional comment) on answers, kept in SQLite (data_dir/feedback.sqlite3).

Durable under concurrency: the database runs in WAL mode (readers never block the writer), every
connection waits up to `BUSY_TIMEOUT_S` for a lock, writes in this process go one at a time
through a lock, and a write that still meets a locked database (another process) is retried
with a growing pause before it fails. `add` returns only after the vote is committed, so the
UI can say «Takk!» exactly when it is stored. Every statement is parameterised.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

VOTES = ("up", "down", "none")  # "none": the user took the vote back
CSV_COLUMNS = ("id", "created_utc", "vote", "question", "answer", "citations_json", "answer_json", "comment")
BUSY_TIMEOUT_S = 10.0
WRITE_ATTEMPTS = 8
MAX_COMMENT_CHARS = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_utc TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down', 'none')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations_json TEXT NOT NULL,
    answer_json TEXT,
    comment TEXT
)
"""

_T = TypeVar("_T")
_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


class FeedbackError(RuntimeError):
    """The feedback could not be stored (read-only data dir, disk full, locked too long)."""


@dataclass(frozen=True)
class FeedbackEntry:
    id: int
    created_utc: str  # ISO 8601, UTC, e.g. "2024-05-01T12:00:00+00:00"
    vote: str
    question: str
    answer: str
    citations_json: str
    answer_json: str | None
    comment: str | None = None


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


def _process_lock(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(key, threading.Lock())


class FeedbackStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = _process_lock(self.path)
        self._ready = False

    # -- connections -----------------------------------------------------------------------

    @contextmanager
    def _connect(self, create: bool = True) -> Iterator[sqlite3.Connection]:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)) as conn:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")  # a commit is on disk before «Takk!» (about 5-10 ms)
            if create and not self._ready:
                self._prepare(conn)
            yield conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if not mode or str(mode[0]).lower() != "wal":
            raise sqlite3.OperationalError(f"could not switch {self.path.name} to WAL mode (got {mode})")
        conn.execute(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
        if "comment" not in columns:  # a database written before comments existed
            conn.execute("ALTER TABLE feedback ADD COLUMN comment TEXT")
        conn.commit()
        self._ready = True

    def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` in a transaction: one writer at a time in this process, retried while
        another process holds the lock; FeedbackError when it cannot be stored."""
        pause = 0.02
        last: Exception | None = None
        for _attempt in range(WRITE_ATTEMPTS):
            try:
                with self._lock, self._connect() as conn, conn:
                    return work(conn)
            except sqlite3.OperationalError as exc:
                last = exc
                if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                    break  # read-only, disk full, no such directory: retrying does not help
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
            except (sqlite3.DatabaseError, OSError) as exc:
                last = exc
                break
        raise FeedbackError(f"feedback not stored: {type(last).__name__}: {last}") from None

    # -- writing -----------------------------------------------------------------------------

    def writable(self) -> bool:
        """True when votes can be stored here (the data dir and the database accept writes)."""
        try:
            self._write(lambda conn: conn.execute("SELECT 1").fetchone())
        except FeedbackError:
            return False
        directory = self.path.parent
        return os.access(directory, os.W_OK) and (not self.path.exists() or os.access(self.path, os.W_OK))

    def add(
        self,
        *,
        question: str,
        answer: str,
        citations: Sequence[dict[str, Any]] | str,
        vote: str,
        answer_json: dict[str, Any] | None = None,
        created_utc: datetime | None = None,
        comment: str | None = None,
    ) -> int:
        """Store one vote; returns its id once it is committed. FeedbackError when it is not."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
        citations_json = (
            citations if isinstance(citations, str) else json.dumps(list(citations), ensure_ascii=False)
        )
        when = (created_utc or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        row = (
            when,
            vote,
            question,
            answer,
            citations_json,
            None if answer_json is None else json.dumps(answer_json, ensure_ascii=False),
            _clean_comment(comment),
        )

        def insert(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO feedback (created_utc, vote, question, answer, citations_json, answer_json, comment) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cur.lastrowid or 0)

        return self._write(insert)

    def set_vote(self, entry_id: int, vote: str) -> None:
        """Change a stored vote (the user changed their mind or took it back)."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
        self._update(entry_id, "UPDATE feedback SET vote = ? WHERE id = ?", (vote, entry_id))

    def add_comment(self, entry_id: int, comment: str) -> None:
        """Attach a comment to a stored vote (replacing an earlier one)."""
        text = _clean_comment(comment)
        if not text:
            raise ValueError("empty comment")
        self._update(entry_id, "UPDATE feedback SET comment = ? WHERE id = ?", (text, entry_id))

    def _update(self, entry_id: int, sql: str, params: tuple[Any, ...]) -> None:
        def update(conn: sqlite3.Connection) -> int:
            return conn.execute(sql, params).rowcount

        if self._write(update) != 1:
            raise FeedbackError(f"feedback entry {entry_id} does not exist")

    # -- reading -----------------------------------------------------------------------------

    def count(self) -> int:
        if not self.path.exists():
            return 0
        with self._connect(create=False) as conn:
            try:
                return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
            except sqlite3.OperationalError:  # no table yet
                return 0

    def entries(self) -> list[FeedbackEntry]:
        if not self.path.exists():
            return []
        with self._connect(create=False) as conn:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
            if not columns:
                return []
            comment = "comment" if "comment" in columns else "NULL"
            rows = conn.execute(
                "SELECT id, created_utc, vote, question, answer, citations_json, answer_json, "
                f"{comment} FROM feedback ORDER BY id"
            ).fetchall()
        return [FeedbackEntry(*row) for row in rows]

    def export_csv(self, stream: TextIO) -> int:
        """Write all entries as CSV (header first); returns the number of entries written.

        Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is
        prefixed with an apostrophe; a plain number such as "-12,5" is left alone.
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
                    _csv_safe(e.comment or ""),
                ]
            )
        return len(entries)


def _clean_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    text = "".join(" " if ch in "\x00\r" else ch for ch in str(comment)).strip()
    return text[:MAX_COMMENT_CHARS] or None


_PLAIN_NUMBER = re.compile(r"[-+]?\d[\d \u00a0]*(?:[.,]\d+)?")


def _csv_safe(text: str) -> str:
    if text and text[0] in "=+-@\t\r" and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
