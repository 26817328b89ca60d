"""Uncaptioned financial statements: a heading line over a table ('Økonomisk oversikt drift',
'Bevilgningsoversikt drift', 'Balanse').

A statement is a short heading line (no sentence, no numbers), then a header that shows the
columns' periods, a unit or a note column ('Beløp i 1 000 kr Regnskap 2021 Budsjett 2021'),
then at least three rows. It is read like a captioned table; its caption is the heading and it
has no number.
"""

from __future__ import annotations

import re

from ingest.layouts import LayoutRow
from ingest.linekinds import FIGURE_RE, is_footnote_line, is_year_token, label_of, match_caption, row_run
from ingest.notes import NOTE_HEADER_RE
from ingest.rowparse import tokenize
from ingest.text import clean_text
from ingest.units import find_unit

MIN_ROWS = 3
MAX_HEADER_LINES = 10


def _heading(text: str) -> bool:
    words = text.split()
    return (
        3 <= len(text) <= 80
        and 1 <= len(words) <= 8
        and (text[:1].isupper() or text[:1] in "ÆØÅ")
        and not text.endswith((".", ":", ",", ";"))
        and not re.search(r"\d", re.sub(r"\b(?:19|20)\d{2}\b", "", text))
        and match_caption(text) is None
        and not FIGURE_RE.match(text)
        and find_unit(text) is None
    )


def _is_row(lines: list[str], j: int, layout: dict[int, LayoutRow]) -> bool:
    if j in layout:
        return True
    parsed = row_run(lines[j])
    return parsed is not None and bool(label_of(parsed[0], parsed[1][0])) and not is_footnote_line(lines[j])


def _header_says_columns(texts: list[str]) -> bool:
    """The header shows periods, a unit or a note column."""
    joined = " ".join(texts)
    return (
        any(is_year_token(t.text) for x in texts for t in tokenize(x))
        or find_unit(joined) is not None
        or NOTE_HEADER_RE.search(joined) is not None
    )


def statement_at(lines: list[str], i: int, layout: dict[int, LayoutRow], taken: set[int]) -> bool:
    """Does a statement start with the heading on line i?"""
    text = clean_text(lines[i]).strip()
    if i in taken or not _heading(text) or _is_row(lines, i, layout):
        return False
    header: list[str] = []
    rows = 0
    blanks = 0
    j = i + 1
    while j < len(lines) and j not in taken:
        t = clean_text(lines[j]).strip()
        if not t:
            blanks += 1
            if blanks > 2:
                break
            j += 1
            continue
        blanks = 0
        if _is_row(lines, j, layout):
            if not header:
                return False
            rows += 1
            if rows >= MIN_ROWS:
                return _header_says_columns(header)
            j = layout[j].last_idx + 1 if j in layout else j + 1
            continue
        sentence = len(t.split()) >= 6 and t.endswith(".")
        if rows or len(header) >= MAX_HEADER_LINES or match_caption(t) or len(t) > 100 or sentence:
            break
        header.append(t)
        j += 1
    return False


def find_statements(lines: list[str], layout: dict[int, LayoutRow], taken: set[int]) -> list[int]:
    """Heading lines of the uncaptioned statements outside the lines already `taken`."""
    return [i for i in range(len(lines)) if statement_at(lines, i, layout, taken)]
