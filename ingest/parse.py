"""Report text -> Report record (chapters, prose passages, tables, what the report is, pages)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from ingest.chapters import chapter_lookup, find_chapters, heading_lines
from ingest.meta import read_meta
from ingest.pages import find_pages
from ingest.prose import parse_passages
from ingest.records import Chapter, Passage, Report, Table
from ingest.tables import parse_tables

# Bump when the parse changes in a way that changes the index.
PARSER_VERSION = "2026.12.06-1"


def parse_report(text: str, source_name: str, source_sha256: str | None = None) -> Report:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    pages = find_pages(lines)
    # the parser reads the text without running heads, footers and page-break marks; every line
    # number it gives is mapped back to the source
    keep = _kept_lines(lines, pages.noise)
    work = ["" if i in pages.noise else lines[i].replace("\f", "") for i in keep]
    chapters = find_chapters(work)
    of_line = chapter_lookup(chapters)
    tables = parse_tables(work, of_line)
    passages = parse_passages(work, of_line, tables, heading_lines(work))
    if len(keep) != len(lines) or any("\f" in line for line in lines):
        chapters, passages, tables = _to_source_lines(lines, keep, chapters, passages, tables)
    sha = source_sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Report(source_name, sha, tuple(lines), tuple(chapters), tuple(passages), tuple(tables),
                  read_meta(lines, source_name), pages.starts)


def _kept_lines(lines: list[str], noise: frozenset[int]) -> list[int]:
    """Lines the parser reads: all but the noise. A run of noise after a finished sentence stays
    as one blank line (a page break between paragraphs); after an unfinished line (a sentence or
    a table going on over the page) it goes."""
    keep: list[int] = []
    last_text = ""
    for i, line in enumerate(lines):
        if i not in noise:
            keep.append(i)
            if line.strip():
                last_text = line.strip()
        elif last_text.endswith((".", "!", "?", ":")) and (not keep or keep[-1] not in noise):
            keep.append(i)  # read as a blank line
    return keep


def _to_source_lines(lines: list[str], keep: list[int], chapters: list[Chapter], passages: list[Passage],
                     tables: list[Table]) -> tuple[list[Chapter], list[Passage], list[Table]]:
    """Line spans of the text read (noise left out) -> spans of the source lines."""

    def src(n: int) -> int:  # 1-based line of the text read -> 1-based source line
        return keep[n - 1] + 1

    def span(s: tuple[int, int]) -> tuple[int, int]:
        return src(s[0]), src(s[1])

    starts = [1 if n == 0 else src(c.lines[0]) for n, c in enumerate(chapters)]
    new_chapters = [
        replace(c, lines=(starts[n], starts[n + 1] - 1 if n + 1 < len(chapters) else len(lines)))
        for n, c in enumerate(chapters)
    ]
    chapter_of = dict(zip(chapters, new_chapters, strict=True))
    new_tables = []
    for t in tables:
        rows = tuple(
            replace(r, lines=span(r.lines), source="\n".join(lines[src(r.lines[0]) - 1 : src(r.lines[1])]))
            for r in t.rows
        )
        footnotes = tuple(replace(f, lines=span(f.lines)) for f in t.footnotes)
        new_tables.append(replace(t, lines=span(t.lines), rows=rows, footnotes=footnotes, chapter=chapter_of[t.chapter]))
    new_passages = [replace(p, lines=span(p.lines), chapter=chapter_of[p.chapter]) for p in passages]
    return new_chapters, new_passages, new_tables
