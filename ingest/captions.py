"""Table captions and which table they belong to.

A caption is 'Tabell N viser ...' (not a prose sentence 'Tabell N viser at ...'), a title
('Tabell 4.7 Sammendrag av økonomisk oversikt drift 2021. Alle tall i tusen kroner.') or
'Tabell N: ...' / 'Tabell N – ...'; N may be dotted ('4.7'). A caption may wrap onto a
lower-case line. Reports print captions above their tables or under them: a caption with a table
right under it and none right above is above; the reverse is below; a caption between two tables
follows the report's own habit (the majority of the captions that are clear).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.linekinds import (
    FIGURE_RE,
    is_footnote_line,
    is_label_only,
    match_caption,
    row_run,
)
from ingest.text import clean_text
from ingest.units import find_unit, is_unit_line, unit_text

_TERMINAL = (".", "!", "?", ":")
HEADER_WINDOW = 40  # non-blank lines a header may take between a caption and its first row


@dataclass(frozen=True)
class Caption:
    idx: int  # 0-based line of the caption
    last_idx: int  # its last line (a caption may wrap)
    number: str  # as printed: '7', '4.7'
    text: str  # the caption as reported
    unit: str | None  # a unit the caption states ('Alle tall i tusen kroner')
    below: bool = False  # printed under its table


def _prose_like(text: str) -> bool:
    words = text.split()
    if is_unit_line(text):
        return False
    return len(text) > 110 or (len(words) >= 6 and text.endswith(_TERMINAL) and not text.endswith(("mill.", "kr.")))


def _is_row(line: str) -> bool:
    return row_run(line) is not None and not is_footnote_line(line)


def rows_directly_below(lines: list[str], i: int) -> bool:
    """Header-like lines and then a row under line i, before any prose, caption or figure."""
    seen = 0
    for j in range(i + 1, min(len(lines), i + 1 + 3 * HEADER_WINDOW)):
        text = clean_text(lines[j]).strip()
        if not text:
            continue
        if match_caption(text) or FIGURE_RE.match(text):
            return False
        if _is_row(lines[j]):
            return True
        if _prose_like(text):
            return False
        seen += 1
        if seen > HEADER_WINDOW:
            return False
    return False


def rows_directly_above(lines: list[str], i: int) -> bool:
    """A row just above line i (blank lines and the table's footnotes may come between)."""
    j = i - 1
    blanks = footnotes = 0
    while j >= 0:
        text = clean_text(lines[j]).strip()
        if not text:
            blanks += 1
            if blanks > 3:
                return False
        elif is_footnote_line(lines[j]) and footnotes < 8:
            footnotes += 1
        else:
            return _is_row(lines[j])
        j -= 1
    return False


def has_rows_below(lines: list[str], i: int, window: int = 70) -> bool:
    count = 0
    for line in lines[i + 1 : i + 1 + window]:
        if match_caption(clean_text(line)):
            break
        if row_run(line) is not None:
            count += 1
    return count >= 1


def _caption_at(lines: list[str], i: int) -> tuple[int, str, str] | None:
    """(last line, number, caption text) when line i opens a caption."""
    found = match_caption(clean_text(lines[i]))
    if found is None:
        return None
    number, text = found
    last = i
    # a title caption wrapped onto a lower-case line ('... Alle tall i' / 'tusen kroner.')
    nxt = i + 1
    if nxt < len(lines) and not text.endswith(_TERMINAL):
        cont = clean_text(lines[nxt]).strip()
        if cont[:1].islower() and row_run(lines[nxt]) is None and len(cont) < 100:
            text = f"{text} {cont}"
            last = nxt
    return last, number, re.sub(r"\s+", " ", text).strip()


def find_captions(lines: list[str]) -> list[Caption]:
    """Every caption with a table above or below it, in report order."""
    raw: list[tuple[int, int, str, str, bool, bool]] = []
    for i in range(len(lines)):
        found = _caption_at(lines, i)
        if found is None:
            continue
        last, number, text = found
        below, above = rows_directly_below(lines, last), rows_directly_above(lines, i)
        raw.append((i, last, number, text, below, above))
    clear_above = sum(1 for *_, below, above in raw if below and not above)
    clear_below = sum(1 for *_, below, above in raw if above and not below)
    habit_below = clear_below > clear_above
    out: list[Caption] = []
    for i, last, number, text, below_rows, above_rows in raw:
        if above_rows and (not below_rows or habit_below):
            is_below = True
        elif below_rows or has_rows_below(lines, last):
            is_below = False
        else:
            continue
        m = find_unit(text)
        out.append(Caption(i, last, number, text, unit_text(m) if m else None, is_below))
    return out


def block_start_above(lines: list[str], caption: Caption, floor: int) -> int:
    """First line of the table printed above a caption: its rows, then its header lines, up to
    prose, a blank gap, another caption or line `floor` (the end of what is already taken)."""
    j = caption.idx - 1
    first_row = None
    blanks = 0
    while j > floor:
        raw = lines[j]
        text = clean_text(raw).strip()
        if not text:
            blanks += 1
            if blanks > (1 if first_row is not None else 3):
                break
        elif match_caption(text) or FIGURE_RE.match(text):
            break
        elif _is_row(raw) or is_footnote_line(raw) and first_row is None:
            blanks = 0
            if _is_row(raw):
                first_row = j
        elif first_row is not None and is_label_only(raw) and not _prose_like(text):
            blanks = 0  # a section label or a label printed above its numbers
        else:
            break
        j -= 1
    if first_row is None:
        return caption.idx
    # header lines over the first row (blank lines may fall inside a wrapped header)
    start = first_row
    j = first_row - 1
    blanks = 0
    while j > floor and first_row - j <= HEADER_WINDOW:
        text = clean_text(lines[j]).strip()
        if not text:
            blanks += 1
            if blanks > 1:
                break
        elif match_caption(text) or FIGURE_RE.match(text) or _prose_like(text) or _is_row(lines[j]):
            break
        else:
            blanks = 0
            start = j
        j -= 1
    return start
