"""Note numbers: a column that refers a row to a note in the accounts.

Printed before the label ('14. Avskrivninger 4 578 610') or as the first value column under a
'Note' header ('Avskrivninger 14 4 578 610'). The number is the row's note, never a label word
or a value. A note before the values may be the first digits of a space-grouped number ('14 457
861' is note 14 and 457 861, or 14 457 861): both readings go to the row reader, whose column
count and arithmetic choose.
"""

from __future__ import annotations

import re

from ingest.blocks import RowDraft
from ingest.text import clean_text

NOTE_HEADER_RE = re.compile(r"(?<![\w.])(?:Note|Noter|Notenr\.?)(?:\s+nr\.?)?(?![\w])")
_LEADING_NOTE = re.compile(r"^(\d{1,2})(\.?)\s+(?=[A-ZÆØÅa-zæøå])")
_NOTE_TOKEN = re.compile(r"^\d{1,2}$")


def strip_note_header(header_lines: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], bool]:
    """The header lines without the 'Note' column name, and whether there was one."""
    found = False
    out = []
    for idx, raw in header_lines:
        text = clean_text(raw)
        if "\t" in text:
            fields = text.split("\t")
            kept = [f for f in fields if not NOTE_HEADER_RE.fullmatch(f.strip())]
            if len(kept) == len(fields) and NOTE_HEADER_RE.search(fields[0]):
                kept[0] = NOTE_HEADER_RE.sub("", fields[0], count=1).strip()  # 'Note Beløp i 1 000 kr'
            if kept != fields:
                found = True
                raw = "\t".join(kept)
        elif NOTE_HEADER_RE.search(text):
            found = True
            raw = NOTE_HEADER_RE.sub("", text, count=1)
        out.append((idx, raw))
    return out, found


def _leading_notes(rows: list[RowDraft], note_header: bool) -> None:
    """'14. Avskrivninger': with a Note header, or written 'N.' on rows that are not all numbered
    (line numbers 1, 2, 3 ... on every row are part of the label)."""
    numbered = [r for r in rows if _LEADING_NOTE.match(r.label)]
    if not numbered:
        return
    dotted = all(_LEADING_NOTE.match(r.label).group(2) for r in numbered)
    if not note_header and not (dotted and len(numbered) < len(rows)):
        return
    for r in numbered:
        m = _LEADING_NOTE.match(r.label)
        r.note = m.group(1)
        r.label = r.label[m.end() :].strip()


def prepare_notes(rows: list[RowDraft], note_header: bool, k_values: int | None) -> None:
    """Take note numbers off labels and out of fixed cells; mark rows whose first number may be
    a note for the row reader."""
    _leading_notes(rows, note_header)
    if not note_header:
        return
    for r in rows:
        if r.note is not None:
            continue
        if r.fixed is not None:
            present = [v for v in r.fixed if v is not None]
            if r.explicit and k_values is not None and len(r.fixed) == k_values + 1:
                first, rest = r.fixed[0], r.fixed[1:]  # tab fields: the note field first, empty or not
            elif not r.explicit and k_values is not None and len(present) == k_values + 1:
                first, rest = present[0], tuple(present[1:])
            else:
                continue
            if first is not None:
                r.note = first.raw
            r.fixed = tuple(rest)
            continue
        start, end = r.run
        if end - start >= 2 and _NOTE_TOKEN.match(r.tokens[start].text):
            r.note_maybe = True


def settle_notes(rows: list[RowDraft]) -> None:
    """After reading: a row read past its first token has that token as its note."""
    for r in rows:
        if not r.note_maybe:
            continue
        first = next((v for v in r.values if v is not None), None)
        if first is not None and first.first == r.run[0] + 1:
            r.note = r.tokens[r.run[0]].text
