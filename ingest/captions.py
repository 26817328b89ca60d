"""Table captions: 'Tabell N viser ...' lines (not a prose sentence 'Tabell N viser at ...')."""

from __future__ import annotations

from ingest.linekinds import CAPTION_RE, row_run
from ingest.text import clean_text


def find_captions(lines: list[str]) -> list[tuple[int, str, str]]:
    """(line index, table number, caption) for every caption line (not a prose 'viser at')."""
    found = []
    for i, line in enumerate(lines):
        m = CAPTION_RE.match(clean_text(line))
        if m and m.group(2) and has_rows_below(lines, i):
            found.append((i, m.group(1), f"Tabell {m.group(1)} viser {m.group(2).strip()}"))
    return found


def has_rows_below(lines: list[str], i: int, window: int = 70) -> bool:
    count = 0
    for line in lines[i + 1 : i + 1 + window]:
        if CAPTION_RE.match(clean_text(line)):
            break
        if row_run(line) is not None:
            count += 1
    return count >= 1
