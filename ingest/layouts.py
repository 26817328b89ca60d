"""Rows whose cells are known from the layout, not from reading numbers apart.

Two layouts give each cell on its own: web pages and some PDF extractions print every cell on a
line of its own (a label line, then one line per value), and tab-separated text (what the PDF
reader in ingest/pdftext.py emits from x positions) puts a tab between cells. For such a row the
cells are fixed: '1 694 216' on a line of its own is one number, and an empty field between two
tabs (or a lone dash) is an empty cell in that place.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ingest.rowparse import Token, Value, readings, tokenize
from ingest.text import clean_text

_DASHES = {"-", "–", "—", "−"}
_LETTER = re.compile(r"[A-Za-zÆØÅæøå]")
_YEAR = re.compile(r"^(?:19|20)\d{2}$")
CELL_GAP = "   "  # between the cells of a row rebuilt from one-cell lines


@dataclass(frozen=True)
class LayoutRow:
    """A row with its cells fixed: `values` in order (None = an empty cell printed as a dash or
    an empty tab field); `explicit` when every cell's place is known (tabs, dashes)."""

    last_idx: int  # 0-based last line of the row
    text: str  # the row as one line, cells apart (tokens index into it)
    tokens: tuple[Token, ...]
    run: tuple[int, int]  # token range of the cells
    values: tuple[Value | None, ...]
    tail: str  # a text cell after the values
    explicit: bool


def single_value(tokens: list[Token], start: int, end: int) -> Value | None:
    """The one number tokens[start:end] print ('- 1 694 216', '7,6 %'), or None."""
    for reading in readings(tokens, start, end):
        if len(reading) == 1:
            return reading[0]
    return None


def _value_line(text: str) -> bool:
    text = clean_text(text).strip()
    if not text or _LETTER.search(text.replace("mill.", "").replace("kr", "")):
        return False
    if text in _DASHES:
        return True
    tokens = tokenize(text)
    return single_value(tokens, 0, len(tokens)) is not None


def _build(label: str, cells: list[str], last_idx: int, tail: str, explicit: bool, sep: str) -> LayoutRow | None:
    text = label + sep + sep.join(c if c.strip() else "" for c in cells)
    tokens = tokenize(text)
    # token index ranges of each cell, found by offsets
    offsets: list[tuple[int, int]] = []
    pos = len(label) + len(sep)
    for c in cells:
        offsets.append((pos, pos + len(c)))
        pos += len(c) + len(sep)
    values: list[Value | None] = []
    first_tok = None
    last_tok = None
    for a, b in offsets:
        idx = [n for n, t in enumerate(tokens) if a <= t.start < b]
        if idx:  # the run covers every printed cell, a dash too
            first_tok = idx[0] if first_tok is None else first_tok
            last_tok = idx[-1]
        cell = clean_text(text[a:b]).strip()
        if not idx or cell in _DASHES:
            values.append(None)
            continue
        v = single_value(tokens, idx[0], idx[-1] + 1)
        if v is None:
            return None
        values.append(v)
    if first_tok is None or last_tok is None:
        return None
    return LayoutRow(last_idx, text, tuple(tokens), (first_tok, last_tok + 1), tuple(values), tail, explicit)


def tab_row(line: str, idx: int) -> LayoutRow | None:
    """'Rammetilskudd\\t-1 994 043\\t\\t-115 443': a label field, then one value (or nothing, or a
    dash) per field; a last field of text is a comment cell."""
    if "\t" not in line:
        return None
    fields = [f.strip() for f in clean_text(line).rstrip("\n").split("\t")]
    if len(fields) >= 3 and re.fullmatch(r"\d{1,3}\.?", fields[0]) and _LETTER.search(fields[1]):
        fields[:2] = [f"{fields[0]} {fields[1]}"]  # a note number in a column before the label
    label = fields[0]
    if not label or not _LETTER.search(label) or len(fields) < 2:
        return None
    cells = fields[1:]
    tail = ""
    if cells and _LETTER.search(cells[-1]) and not _value_line(cells[-1]):
        tail = cells.pop()
    if not any(cells) or not all(not c or _value_line(c) for c in cells):
        return None
    return _build(label, cells, idx, tail, True, "\t")


def cell_per_line_rows(lines: list[str]) -> dict[int, LayoutRow]:
    """Rows printed one cell per line: a label line followed by value lines, in runs of at least
    two rows whose usual number of values is two or more. Keyed by the label line's index."""
    found: dict[int, tuple[int, list[str]]] = {}
    i = 0
    n = len(lines)
    while i < n:
        text = clean_text(lines[i]).strip()
        if not text or not _LETTER.search(text) or _value_line(text):
            i += 1
            continue
        cells: list[str] = []
        j = i + 1
        last = i
        while j < n:
            t = clean_text(lines[j]).strip()
            if not t:
                j += 1
                continue
            if not _value_line(t):
                break
            cells.append(t)
            last = j
            j += 1
        if cells and not all(_YEAR.match(c) for c in cells):
            found[i] = (last, cells)
            i = last + 1
        else:
            i += 1
    # keep runs of rows (nothing but blank lines between them) with a usual count of 2 or more
    out: dict[int, LayoutRow] = {}
    keys = sorted(found)
    run: list[int] = []

    def flush() -> None:
        counts = Counter(len(found[k][1]) for k in run)
        usual = counts.most_common(1)[0][0] if counts else 0
        if len(run) >= 2 and usual >= 2:
            for k in run:
                last, cells = found[k]
                row = _build(clean_text(lines[k]).strip(), cells, last, "", any(c in _DASHES for c in cells), CELL_GAP)
                if row is not None:
                    out[k] = row

    for k in keys:
        if run:
            prev_last = found[run[-1]][0]
            between = [clean_text(x).strip() for x in lines[prev_last + 1 : k]]
            if any(between) and not _section_between(between):
                flush()
                run = []
        run.append(k)
    if run:
        flush()
    return out


def _section_between(texts: list[str]) -> bool:
    """One short label line between two rows (a section: 'Driftsinntekter') keeps the run."""
    words = [t for t in texts if t]
    return len(words) == 1 and len(words[0]) <= 60 and not words[0].endswith(".")


def layout_rows(lines: list[str]) -> dict[int, LayoutRow]:
    """Every row whose cells the layout fixes, keyed by its first line."""
    rows = cell_per_line_rows(lines)
    for i, line in enumerate(lines):
        if "\t" in line and i not in rows:
            row = tab_row(line, i)
            if row is not None:
                rows[i] = row
    return rows
