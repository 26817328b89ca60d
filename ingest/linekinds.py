"""What a line of a table region is: a row with a numeric run, a footnote, a label-only line.

Shared by caption finding (ingest/captions.py) and block scanning (ingest/blocks.py).
"""

from __future__ import annotations

import re

from ingest.headers import is_period
from ingest.rowparse import Token, numeric_runs, tokenize
from ingest.text import SUPERSCRIPTS, clean_text, strip_superscripts
from ingest.units import unit_spans

_CAPTION_HEAD = re.compile(r"^\s*(?:Tabell|Table)\s+(\d{1,3}(?:\.\d{1,3})*)(?!\d|\.\d)(.*)$")
_VISER = re.compile(r"^\s*(?:viser|shows)\b(?:\s+(?=\S)(?!at\b|that\b)(.*\S))?\s*$")
_SEPARATED = re.compile(r"^\s*[:.–-]\s*(\S.*?)\s*$")
_TITLED = re.compile(r"^\s+([A-ZÆØÅ«\"(].*?)\s*$")
FIGURE_RE = re.compile(r"^\s*(?:Figur|Figure)\s+\d+\s")
FOOTNOTE_RE = re.compile(rf"^\s*([{SUPERSCRIPTS}]|\d{{1,2}})\s{{1,3}}(?:\d(?=[A-ZÆØÅ]))?(?=\S)(\D.*)$")


def match_caption(text: str) -> tuple[str, str] | None:
    """(number, caption) when a cleaned line opens a table caption; None for prose such as
    'Tabell 9 viser at ...'. A 'viser' caption is reported as 'Tabell N viser ...'; a title or
    'Tabell N: ...' caption as printed (whitespace normalised)."""
    m = _CAPTION_HEAD.match(text)
    if m is None:
        return None
    number, rest = m.groups()
    viser = _VISER.match(rest)
    if viser is not None:
        return (number, f"Tabell {number} viser {viser.group(1).strip()}") if viser.group(1) else None
    if re.match(r"^\s*(?:viser|shows)\b", rest):
        return None  # 'viser at ...': a sentence about the table
    if _SEPARATED.match(rest) or _TITLED.match(rest):
        return number, " ".join(text.split())
    return None


def is_year_token(tok: str) -> bool:
    bare = strip_superscripts(tok)[0]
    return bool(re.fullmatch(r"(?:19|20)\d{2}\d?", bare)) or is_period(bare)


def row_run(line: str, allow_text_tail: bool = True) -> tuple[list[Token], tuple[int, int], str] | None:
    """The numeric run that holds the row's values, with the text after it (a comment column)."""
    tokens = tokenize(line)
    if not tokens:
        return None
    runs = numeric_runs(tokens)
    spans = unit_spans(clean_text(line).rstrip())
    if spans:  # the digits of 'Beløp i 1 000 kr' are not values
        runs = [(s, e) for s, e in runs if not any(a <= tokens[s].start < b for a, b in spans)]
    if not runs:
        return None
    # a run followed by a capitalised word starts a comment column ('90,0 Innst. 216 S');
    # the earliest such run holds the values, whatever numbers the comment contains
    for start, end in runs:
        if end == len(tokens):
            break
        nxt = tokens[end].text
        vals = tokens[start:end]
        numbers = sum(1 for t in vals if re.match(r"^[-–−]?\d", t.text))
        if allow_text_tail and (nxt[:1].isupper() or nxt[:1] in "ÆØÅ(") and (
            any("," in t.text or t.text.endswith("%") for t in vals) or numbers >= 3
        ):
            if all(is_year_token(t.text) for t in vals):
                continue
            return tokens, (start, end), " ".join(t.text for t in tokens[end:])
    start, end = runs[-1]
    if end == len(tokens) and all(is_year_token(t.text) for t in tokens[start:end]):
        return None  # a header line of periods, not data
    # values before a comment that holds numbers ('Bufferfondet 457 452 Min. 100 mill. siste år'):
    # the earlier run holds the values, never the label
    for s, e in runs[:-1] if end == len(tokens) else runs:
        if e < len(tokens) and value_like(tokens[s:e]) and _comment_start(tokens[e].text) and (
            end == len(tokens) or _two_numbers_or_decimal(tokens[s:e])
        ):
            return (tokens, (s, e), " ".join(t.text for t in tokens[e:])) if allow_text_tail else None
    if end == len(tokens):
        return tokens, (start, end), ""
    return None


def _comment_start(word: str) -> bool:
    return word[:1].isupper() or word[:1] in "ÆØÅ("


def _two_numbers_or_decimal(tokens: list[Token]) -> bool:
    nums = [t.text for t in tokens if re.match(r"^[-–−]?\d", t.text) and not is_year_token(t.text)]
    return len(nums) >= 2 or any("," in n or "%" in n for n in nums)


def value_like(tokens: list[Token]) -> bool:
    """Numbers that are table values, not part of a label ('Likviditetsgrad 1', '... 2019'):
    two or more numbers, a decimal comma or percent, or a number of three digits or more."""
    nums = [t.text for t in tokens if re.match(r"^[-–−]?\d", t.text) and not is_year_token(t.text)]
    if not nums:
        return False
    return len(nums) >= 2 or any("," in n or "%" in n for n in nums) or any(
        len(re.sub(r"\D", "", strip_superscripts(n)[0])) >= 3 for n in nums
    ) or any(t.text == "%" for t in tokens)


def label_of(tokens: list[Token], start: int) -> str:
    return " ".join(t.text for t in tokens[:start]).strip()


def is_footnote_line(line: str) -> bool:
    text = clean_text(line)
    m = FOOTNOTE_RE.match(text)
    if not m:
        return False
    body = m.group(2).strip()
    if m.group(1).startswith("0") or (body.isupper() and len(body.split()) <= 4):
        return False  # a chapter heading like '07 OPPVEKST'
    return len(body) >= 8 and (body[:1].isupper() or body[:1].isdigit() or body[:1] in "ÆØÅ§(") and row_run(text, False) is None or (
        m is not None and len(body.split()) >= 6
    )


def is_label_only(line: str) -> bool:
    text = clean_text(line).strip()
    if not text or len(text) > 100 or row_run(text) is not None:
        return False
    if match_caption(text) or FIGURE_RE.match(text):
        return False
    return not text.endswith((".", ":", "?")) or text.endswith(("mill.", "adm."))


def next_nonblank(lines: list[str], i: int) -> int | None:
    while i < len(lines):
        if lines[i].strip():
            return i
        i += 1
    return None
