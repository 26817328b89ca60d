"""Chapters from the numbered headings.

The number is glued to the title ('ÅRSBERETNING02', 'BEFOLKNINGS- / UTVIKLING03') or printed
before it ('06 PANDEMIEN / I BÆRUM'). Some headings are printed after their chapter's first
content (at the foot of the chapter's first page); such a chapter starts at the start of the
page that holds its heading. A chapter without a heading is placed at the first page that
mentions it ('Kapittel 5 beskriver ...') and gets no title.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.records import Chapter
from ingest.text import clean_text

_GLUED_RE = re.compile(r"^\s?([A-ZÆØÅa-zæøå][A-ZÆØÅa-zæøå ,.\-–/&]*?[A-ZÆØÅa-zæøå])(\d{2})\s*$")
_LEADING_RE = re.compile(r"^\s?(\d{2}) ([A-ZÆØÅ][A-ZÆØÅ ,\-–/&]+)\s*$")
_PAGE_FOOTER_RE = re.compile(r"^\s*\d+\s+\|\s+")


def _is_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) >= 0.8


def _page_start(lines: list[str], i: int) -> bool:
    """A page starts at a line the extraction indents by one space, or after a page footer."""
    line = lines[i]
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0 and _PAGE_FOOTER_RE.match(lines[j]):
        return True
    if not (re.match(r"^ [A-ZÆØÅ0-9]", line) and not line.startswith("  ")):
        return False
    # a table header indented the same way a few lines below a page start is not a new page
    return not any(re.match(r"^ [A-ZÆØÅ0-9]", lines[k]) for k in range(max(0, i - 3), i))


def _title_lines_above(lines: list[str], i: int) -> list[int]:
    """Caps lines of the same heading block just above line i (blank lines may fall between)."""
    found: list[int] = []
    j = i - 1
    blanks = 0
    while j >= 0 and len(found) < 3:
        text = clean_text(lines[j]).strip()
        if _PAGE_FOOTER_RE.match(lines[j]):
            break
        if not text:
            blanks += 1
            if blanks > 1:
                break
            j -= 1
            continue
        blanks = 0
        if len(text) <= 40 and not text.endswith(".") and (_is_caps(text) or (found == [] and text.split()[-1] == "og")):
            found.insert(0, j)
            j -= 1
            continue
        if len(text) <= 40 and found == [] and text[:1].isupper() and _is_caps(text.split()[0]):
            found.insert(0, j)
            j -= 1
            continue
        break
    return found


def _join_title(parts: list[str]) -> str:
    out = ""
    for p in (clean_text(x).strip() for x in parts):
        if not p:
            continue
        if out.endswith("-") and p[:1].isupper() and _is_caps(p.split()[0]):
            out = out[:-1] + p
        else:
            out = (out + " " + p).strip()
    return re.sub(r"\s+", " ", out)


def _find_heads(lines: list[str]) -> list[tuple[int, int, str, list[int]]]:
    """(first heading line, number, title, all heading line indexes) for each numbered heading."""
    heads: list[tuple[int, int, str, list[int]]] = []
    expected = 1
    for i, line in enumerate(lines):
        text = clean_text(line)
        m = _LEADING_RE.match(text)
        if m and int(m.group(1)) in (expected, expected + 1):
            nxt = i + 1
            parts = [m.group(2)]
            used = [i]
            while nxt < len(lines) and lines[nxt].strip() and _is_caps(lines[nxt]) and len(lines[nxt].strip()) <= 40:
                parts.append(lines[nxt])
                used.append(nxt)
                nxt += 1
            heads.append((i, int(m.group(1)), _join_title(parts), used))
            expected = int(m.group(1)) + 1
            continue
        m = _GLUED_RE.match(text)
        if m and int(m.group(2)) in (expected, expected + 1):
            above = _title_lines_above(lines, i)
            title_text = m.group(1)
            if not (_is_caps(title_text) or (above and _is_caps(lines[above[0]]))):
                continue
            first = above[0] if above else i
            heads.append((first, int(m.group(2)), _join_title([*(lines[j] for j in above), title_text]), [*above, i]))
            expected = int(m.group(2)) + 1
    return heads


def heading_lines(lines: list[str]) -> set[int]:
    """0-based indexes of the lines that print chapter headings (not prose)."""
    return {j for _, _, _, used in _find_heads(lines) for j in used}


def find_chapters(lines: list[str]) -> list[Chapter]:
    """Numbered chapters, in order, with 1-based line spans covering the whole report."""
    heads = [(first, number, title) for first, number, title, _ in _find_heads(lines)]
    # chapter start: the heading's own line when it opens a page, else the start of its page
    starts: list[tuple[int, int, str | None]] = []
    prev_start = 0
    for idx, number, title in heads:
        start = idx
        if not _page_start(lines, idx) and not re.match(r"^ \S", lines[idx]):
            j = idx
            while j > prev_start and not _page_start(lines, j):
                j -= 1
            start = j if j > prev_start else idx
        starts.append((start, number, title))
        prev_start = start
    # chapters printed without a heading: the first page after the previous chapter that names it
    filled: list[tuple[int, int, str | None]] = []
    for pos, (start, number, title) in enumerate(starts):
        if filled and number > filled[-1][1] + 1:
            for missing in range(filled[-1][1] + 1, number):
                placed = _find_mention(lines, filled[-1][0], start, missing)
                if placed is not None:
                    filled.append((placed, missing, None))
        filled.append((start, number, title))
        del pos
    chapters: list[Chapter] = []
    first_start = filled[0][0] if filled else len(lines)
    if first_start > 0:
        intro_title = next((clean_text(ln).strip() for ln in lines if ln.strip()), None)
        chapters.append(Chapter(None, intro_title, (1, first_start)))
    for n, (start, number, title) in enumerate(filled):
        end = filled[n + 1][0] if n + 1 < len(filled) else len(lines)
        chapters.append(Chapter(number, title, (start + 1, end)))
    return chapters


def _find_mention(lines: list[str], after: int, before: int, number: int) -> int | None:
    pattern = re.compile(rf"(?i)\bkapittel\s+0?{number}\b")
    page = None
    for i in range(after + 1, before):
        if _page_start(lines, i):
            page = i
        if pattern.search(lines[i]) and page is not None and page > after:
            return page
    return None


def chapter_lookup(chapters: list[Chapter]) -> Callable[[int], Chapter]:
    """A function from a 1-based line number to its chapter."""

    def of_line(line_no: int) -> Chapter:
        for ch in chapters:
            if ch.lines[0] <= line_no <= ch.lines[1]:
                return ch
        return chapters[-1]

    return of_line
