"""Prose passages: paragraphs and bullets with sentences kept whole.

In the extracted text a bullet's first line is often cut from the rest by a blank line, and
tables or sidebars are printed in the middle of a sentence. A passage that stops without a
full stop is joined with the next block that continues it (starts lower-case or with a digit),
skipping at most a few blocks printed in between.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.records import Chapter, Passage, Table
from ingest.text import clean_text, join_wrapped_lines

_BULLET_RE = re.compile(r"^\s*[•▪◦·]\s*|^\s*-\s+(?=\S)")
_FIGURE_RE = re.compile(r"^\s*(?:Figur|Figure)\s+\d+\s")
_FOOTER_RE = re.compile(r"^\s*\d+\s+\|\s+")
# A chapter's running head: "ÅRSBERETNING02", "OG UTVIKLING 13", "06 PANDEMIEN", "Årsberetning02".
# Not a prose line that wraps after a number ("... og det ble spilt inn 20"): mixed case needs the
# number glued to the word.
_CHAPTER_HEAD_RE = re.compile(
    r"^\s?(?:[A-ZÆØÅ][A-ZÆØÅ ,.\-–/&]*\d{2}|[A-ZÆØÅ][A-ZÆØÅa-zæøå ,.\-–/&]*[A-Za-zæøåÆØÅ]\d{2}"
    r"|\d{2} [A-ZÆØÅ][A-ZÆØÅ ,\-–/&]+)\s*$"
)
_TERMINAL = (".", "!", "?", ":", ".»", ".)", ")", "»")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÆØÅ«(•\d])")
# abbreviations that end in a period but do not end a sentence
_ABBREV = re.compile(r"(?i)\b(mill|mrd|kr|nr|bl\.a|f\.eks|jf|inkl|ekskl|ca|pr|m\.m|mv|kap|st|adm|mnd|min|S)\.$|\b[A-ZÆØÅ]\.$")


@dataclass
class _Unit:
    lines: list[int]  # 0-based line indexes
    bullet: bool

    def text(self, lines: list[str]) -> str:
        return join_wrapped_lines([clean_text(lines[i]) for i in self.lines])


def split_sentences(text: str) -> list[str]:
    """Sentences of a cleaned passage (abbreviations like 'mill.' do not end one)."""
    parts: list[str] = []
    buf = ""
    for piece in _SENTENCE_SPLIT.split(text):
        buf = f"{buf} {piece}".strip() if buf else piece
        if _ABBREV.search(buf) and not buf.endswith(("..", "!")):
            continue
        parts.append(buf)
        buf = ""
    if buf:
        parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


def _is_heading(text: str, next_text: str | None) -> bool:
    t = text.strip()
    if not t or len(t) > 70 or t.endswith((".", "!", "?", ":", ",")):
        return False
    if _BULLET_RE.match(t) or not (t[:1].isupper() or t[:1] in "ÆØÅ"):
        return False
    if len(t.split()) > 9:
        return False
    if t.split()[-1].lower() in {"med", "og", "i", "til", "av", "for", "på", "som", "er", "en", "et", "the", "of", "and"}:
        return False  # a sentence that goes on, not a heading
    if next_text is not None and len(next_text) < 45 and next_text.endswith("."):
        return False  # a sentence wrapped onto a short last line, not a heading over a paragraph
    return next_text is None or next_text[:1].isupper() or next_text[:1] in "ÆØÅ•"


def parse_passages(lines: list[str], chapter_of_line: Callable[[int], Chapter], tables: list[Table] | tuple[Table, ...],
                   skip_lines: set[int] | None = None) -> list[Passage]:
    """Paragraph and bullet passages outside the tables (and `skip_lines`, e.g. chapter headings)."""
    in_table = set(skip_lines or ())
    for t in tables:
        in_table.update(range(t.lines[0] - 1, t.lines[1]))
    # blocks of consecutive non-blank prose lines
    blocks: list[list[int]] = []
    current: list[int] = []
    for i, raw in enumerate(lines):
        text = clean_text(raw).strip()
        skip = i in in_table or _FOOTER_RE.match(raw) or _CHAPTER_HEAD_RE.match(clean_text(raw))
        if not text or skip:
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(i)
    if current:
        blocks.append(current)
    # units: split blocks at bullet starts; leading short title lines become section headings
    units: list[_Unit | str] = []  # a str is a section heading
    for block in blocks:
        start = 0
        while start < len(block) - 0:
            text = clean_text(lines[block[start]]).strip()
            nxt = clean_text(lines[block[start + 1]]).strip() if start + 1 < len(block) else None
            if _is_heading(text, nxt) and (nxt is not None or len(block) == 1):
                heading = [text]
                # a two-line heading: 'Pandemi – nye utfordringer' / 'og nye løsninger'
                if nxt and start + 2 < len(block) and nxt[:1].islower() and len(nxt) < 40 and not nxt.endswith(_TERMINAL):
                    heading.append(nxt)
                    start += 1
                units.append(" ".join(heading))
                start += 1
                continue
            break
        unit: _Unit | None = None
        for i in block[start:]:
            text = clean_text(lines[i]).strip()
            # a line the extraction indents by one space opens a page: a new paragraph when the
            # previous line ended a sentence or was a figure caption
            page_start = bool(re.match(r"^ [A-ZÆØÅ0-9]", lines[i])) and unit is not None and (
                clean_text(lines[unit.lines[-1]]).rstrip().endswith(_TERMINAL)
                or _FIGURE_RE.match(clean_text(lines[unit.lines[0]]))
            )
            if _BULLET_RE.match(text) or unit is None or _FIGURE_RE.match(text) or page_start:
                if unit is not None:
                    units.append(unit)
                unit = _Unit([i], bool(_BULLET_RE.match(text)))
            else:
                unit.lines.append(i)
        if unit is not None:
            units.append(unit)
    # join units that continue an unfinished sentence
    joined: list[_Unit | str] = []
    used: set[int] = set()
    for n, u in enumerate(units):
        if n in used:
            continue
        if isinstance(u, str):
            joined.append(u)
            continue
        merged = _Unit(list(u.lines), u.bullet)
        while not merged.text(lines).endswith(_TERMINAL) and not _FIGURE_RE.match(merged.text(lines)):
            target = None
            chapter = chapter_of_line(merged.lines[0] + 1)
            for m in range(n + 1, min(n + 5, len(units))):
                cand = units[m]
                if m in used or isinstance(cand, str):
                    continue
                if chapter_of_line(cand.lines[0] + 1) != chapter:
                    break  # never across chapters
                first = cand.text(lines)
                if not cand.bullet and (first[:1].islower() or first[:1].isdigit()):
                    target = m
                    break
                if not first.endswith(_TERMINAL):
                    break  # an unfinished unit in between: the continuation is its own
            if target is None:
                break
            used.add(target)
            merged.lines.extend(units[target].lines)
            n = target
        joined.append(merged)
    passages: list[Passage] = []
    section: str | None = None
    for u in joined:
        if isinstance(u, str):
            section = u
            continue
        text = u.text(lines)
        if len(text) < 3:
            continue
        first, last = min(u.lines) + 1, max(u.lines) + 1
        raw = "\n".join(lines[i] for i in sorted(u.lines))
        if _BULLET_RE.match(text):
            text = _BULLET_RE.sub("", text, count=1)
        passages.append(Passage(text, raw, (first, last), chapter_of_line(first), section, "bullet" if u.bullet else "paragraph"))
    passages.extend(footnote_passages(tables, chapter_of_line, lines))
    passages.sort(key=lambda p: p.lines)
    return passages


def footnote_passages(tables: list[Table] | tuple[Table, ...], chapter_of_line: Callable[[int], Chapter],
                      lines: list[str]) -> list[Passage]:
    """A table's footnotes as passages ("Totalt 574 arrangementer ... ble avlyst"): facts in the
    text that no row holds. The table's caption is their section, so they are found by topic too."""
    out: list[Passage] = []
    for t in tables:
        for f in t.footnotes:
            text = " ".join(clean_text(f.text).split())
            if len(text.split()) < 3:
                continue
            raw = "\n".join(lines[f.lines[0] - 1 : f.lines[1]])  # as printed, marker included
            out.append(Passage(text, raw, f.lines, chapter_of_line(f.lines[0]), t.caption or None, "footnote"))
    return out
