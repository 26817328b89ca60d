"""A table row's possible readings, and where a short reading's values can sit among k columns.

The raw material of choosing a row's values: every list of values the row's numbers can be read
as (ingest/rowparse.py splits a token run; here the row's label digits, note and year-like tokens
are weighed), and the places in k columns a reading with fewer values can take, with whether the
row's whitespace decided it. Nothing here chooses.
"""

from __future__ import annotations

from itertools import combinations

from ingest.blocks import RowDraft
from ingest.linekinds import is_year_token
from ingest.rowparse import Value, readings, trailing_spaces


def candidate_readings(row: RowDraft) -> list[list[Value]]:
    if row.fixed is not None:  # the layout gave the cells
        return [[v for v in row.fixed if v is not None]]
    start, end = row.run
    start += row.label_digits
    out: list[list[Value]] = []
    # leading year-like tokens may belong to the label ('Bruk av sektorresultat 2019 -42,2')
    if row.note_maybe:  # read with the first number as a note, and as a value
        out.extend(readings(row.tokens, start + 1, end))
    s = start
    while s < end:
        out.extend(readings(row.tokens, s, end))
        if is_year_token(row.tokens[s].text) and len(row.tokens[s].text) == 4:
            s += 1
        else:
            break
    return out


def placements(values: list[Value], k: int, row: RowDraft, raw_line: str, usual: int = 1, cues: bool = True
                ) -> list[tuple[list[Value | None], bool]]:
    """Where the printed values of a short row sit among k columns; flag = whitespace decided it
    (`cues`: whether the row's whitespace can tell at all)."""
    n = len(values)
    missing = k - n
    if not cues:
        return [(o, False) for o in _spread(values, k)]
    gaps = [row.tokens[v.first].gap for v in values]
    inner = gaps[1:]
    wide = [i for i, g in enumerate(inner, start=1) if g > usual]
    if missing > 0 and len(wide) == missing:
        out: list[Value | None] = []
        for i, v in enumerate(values):
            if i in wide:
                out.append(None)
            out.append(v)
        return [(out, True)]
    if missing > 0 and gaps[0] >= 3 and gaps[0] - 1 >= missing:
        return [([None] * missing + list(values), True)]
    if missing > 0 and trailing_spaces(raw_line) >= 2:
        return [(list(values) + [None] * missing, True)]
    return [(o, False) for o in _spread(values, k)]


def _spread(values: list[Value], k: int) -> list[list[Value | None]]:
    """Every way to put the values, in order, into k columns."""
    options = []
    for cols in combinations(range(k), len(values)):
        out: list[Value | None] = [None] * k
        for c, v in zip(cols, values, strict=True):
            out[c] = v
        options.append(out)
    return options


def all_placements(r: RowDraft, k: int) -> list[list[Value | None]]:
    """Every reading of a row with fewer values than columns, at every place (no whitespace cues)."""
    out = []
    for c in candidate_readings(r):
        if 0 < len(c) < k:
            out.extend(o for o, _ in placements(c, k, r, "", 1))
    return out
