"""Report text -> Report record (chapters, prose passages, tables)."""

from __future__ import annotations

import hashlib

from ingest.chapters import chapter_lookup, find_chapters, heading_lines
from ingest.prose import parse_passages
from ingest.records import Report
from ingest.tables import parse_tables

# Bump when the parse changes in a way that changes the index.
PARSER_VERSION = "2026.11.29-2"


def parse_report(text: str, source_name: str, source_sha256: str | None = None) -> Report:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    chapters = find_chapters(lines)
    of_line = chapter_lookup(chapters)
    tables = parse_tables(lines, of_line)
    passages = parse_passages(lines, of_line, tables, heading_lines(lines))
    sha = source_sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Report(source_name, sha, tuple(lines), tuple(chapters), tuple(passages), tuple(tables))
