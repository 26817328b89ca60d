"""Pages: page breaks, running headers and footers.

A page break is a form feed (the PDF reader puts one before each page after the first) or a
page-number line ('Side 12', 'Side 3 av 40', '12 | Årsrapport 2021'). Running heads and footers
(the report's title, the municipality, a page number) repeat on every page and fall inside
tables and paragraphs; they are noise: the parser reads the text without them, and where they
carry a page number they mark where pages start.

A line is a running head or footer when it is a page-number line that occurs at least twice, a
form-feed-only line, a bare number next to a page break, or a short line that repeats on three or
more pages and either sits next to a page break most times or is the report's title or the
municipality's name ('Årsrapport 2021', 'Asker kommune').
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from ingest.text import clean_text

_SIDE = re.compile(r"(?i)(?:^|[\s|·–-])(?:side|s\.|page)\s+(\d{1,3})(?:\s*(?:av|/|of)\s*\d{1,4})?\s*(?:[|·–-]|$)")
_EDGE_NUMBER = re.compile(r"^\s*(\d{1,3})\s+[|·–]\s+\S.{0,60}$|^.{0,60}\S\s+[|·–]\s+(\d{1,3})\s*$")
_BARE_NUMBER = re.compile(r"^\s*(\d{1,3})\s*$")
_TITLE = re.compile(r"(?i)^(?:[A-ZÆØÅ][\wæøåÆØÅ-]+\s+){1,3}kommune$|^(?:årsrapport|årsberetning|årsmelding|årsregnskap)\s+\d{4}$")
_SEPARATORS = re.compile(r"\s*[|·–—-]\s*")
MAX_RUNNING = 70  # characters


@dataclass(frozen=True)
class Pages:
    noise: frozenset[int]  # 0-based lines that are running heads, footers or page-break marks
    starts: tuple[int, ...]  # 1-based first line of each page; () without page markers


def page_number(text: str) -> int | None:
    """The page number a header or footer line prints ('Side 12', '12 | Årsrapport 2021')."""
    text = clean_text(text).strip()
    if not text or len(text) > MAX_RUNNING:
        return None
    m = _SIDE.search(text) or _EDGE_NUMBER.match(text)
    if m is None:
        return None
    group = next(n for n in range(1, len(m.groups()) + 1) if m.group(n))
    # what is left besides 'Side N (av M)' or the number at the edge
    rest = text[: m.start()] + text[m.end() :] if m.re is _SIDE else text[: m.start(group)] + text[m.end(group) :]
    if re.search(r"\d", re.sub(r"\b(?:19|20)\d{2}\b", "", rest)):
        return None  # other numbers: a table row or a sentence, not a header or footer
    if m.re is _EDGE_NUMBER and not re.search(r"[A-Za-zÆØÅæøå]{3}", rest):
        return None  # 'I 2020 – 5': no title beside the number
    return int(m.group(group))


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(clean_text(text).split())).casefold()


def _bare_page_numbers(lines: list[str], feeds: list[int]) -> set[int]:
    """Lone numbers next to page breaks that count pages: 5 at one break, 6 at the next."""
    found: list[tuple[int, int]] = []  # (line, number), one per break
    for i in feeds:
        for j in (i - 1, i, i + 1):
            m = _BARE_NUMBER.match(lines[j].replace("\f", "")) if 0 <= j < len(lines) else None
            if m:
                found.append((j, int(m.group(1))))
                break
    series = {j for (j, n), (k, m) in zip(found, found[1:], strict=False) if m == n + 1 for j in (j, k)}
    return series


def _wordy(text: str) -> bool:
    """Words and no numbers but years: what a running head or footer prints (never a table cell)."""
    return bool(re.search(r"[A-Za-zÆØÅæøå]{3}", text)) and not re.search(
        r"\d", re.sub(r"\b(?:19|20)\d{2}\b", "", text)
    )


def _is_title(text: str) -> bool:
    parts = [p for p in _SEPARATORS.split(clean_text(text).strip()) if p]
    parts = [p for p in parts if not re.fullmatch(r"(?i)(?:side\s+)?\d{1,4}(?:\s+av\s+\d{1,4})?", p)]
    return bool(parts) and all(_TITLE.match(p) for p in parts)


def find_pages(lines: list[str]) -> Pages:
    """Running heads and footers, and the first line of every page."""
    feeds = [i for i, line in enumerate(lines) if "\f" in line]
    numbered = {i: n for i, line in enumerate(lines) if (n := page_number(line)) is not None}
    noise: set[int] = set()
    if len(numbered) >= 2:
        noise.update(numbered)
    for i in feeds:
        if not lines[i].replace("\f", "").strip():
            noise.add(i)
    breaks = set(feeds) | (set(numbered) if len(numbered) >= 2 else set())
    near_break = {j for b in breaks for j in range(b - 1, b + 2)}
    noise.update(_bare_page_numbers(lines, feeds))
    # repeated short lines: the title, the municipality, a chapter's running head
    seen: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        text = clean_text(line).replace("\f", "").strip()
        if text and len(text) <= MAX_RUNNING and i not in noise and _wordy(text):
            seen[_shape(text)].append(i)
    for where in seen.values():
        text = lines[where[0]]
        by_break = sum(1 for i in where if i in near_break)
        if _is_title(text) and (len(where) >= 2 or by_break):
            noise.update(where)  # the report's title or the municipality as a running head
        elif len(where) >= 3 and breaks and 3 * by_break >= 2 * len(where):
            noise.update(where)
    return Pages(frozenset(noise), _starts(lines, feeds, numbered, noise))


def _starts(lines: list[str], feeds: list[int], numbered: dict[int, int], noise: set[int]) -> tuple[int, ...]:
    """Form feeds break pages where they stand; without them, page-number lines do (a footer
    ends its page; numbers at the top of the first page are headers, which open theirs)."""
    starts = {1}
    if feeds:
        for i in feeds:
            before, _, after = lines[i].partition("\f")
            starts.add(i + 1 if not before.strip() and after.strip() else i + 2)
    elif len(numbered) >= 2:
        nonblank = [i for i, line in enumerate(lines) if line.strip()]
        headers = min(numbered) in nonblank[:2]  # a page number before the first page's text
        starts.update(i + 1 if headers else i + 2 for i in numbered)
    else:
        return ()
    return tuple(sorted(s for s in starts if s <= len(lines)))
