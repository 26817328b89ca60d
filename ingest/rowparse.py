"""Split one table line into a label and cell values.

A space separates both thousands groups and columns ('5 425 6 967' is two numbers or four), so a
line usually has several readings. This module lists every grammatical reading; the table
parser (ingest/tables.py) chooses among them with the column count and the table's arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import SUPERSCRIPT_TO_DIGIT, SUPERSCRIPTS, clean_text

_NUM_RE = re.compile(rf"^([-–−]?)(\d+)(?:,(\d+))?([{SUPERSCRIPTS}]*)(%?)$")
_ANNOT_RE = re.compile(r"^\(\d+\)$")
_UNIT_TOKENS = {"mill.", "mill", "mnd.", "kr", "kr.", "mrd."}
MAX_READINGS = 400


@dataclass(frozen=True)
class Token:
    text: str
    start: int  # character offset in the line
    gap: int  # spaces before the token


@dataclass(frozen=True)
class Value:
    """One parsed number as printed (raw keeps the printed spacing, markers removed)."""

    raw: str
    value: float
    decimals: int
    markers: tuple[str, ...] = ()
    first: int = 0  # token index range [first, last]
    last: int = 0
    percent: bool = False


_SIGNS = ("-", "–", "−")


def tokenize(line: str) -> list[Token]:
    """Words of a line with their offsets and the spaces before them. A sign printed apart from
    its number ('- 13 012 356', '– 5,2') is joined to it: '-13', '–5,2'."""
    text = clean_text(line).rstrip()
    tokens: list[Token] = []
    prev_end = 0
    for m in re.finditer(r"\S+", text):
        gap = m.start() - prev_end
        prev_end = m.end()
        if tokens and tokens[-1].text in _SIGNS and gap == 1 and text[m.start() - 1] == " " and m.group()[:1].isdigit() and (
            len(tokens) == 1 or tokens[-1].gap >= 1
        ):
            sign = tokens.pop()
            tokens.append(Token(sign.text + m.group(), sign.start, sign.gap))
            continue
        tokens.append(Token(m.group(), m.start(), gap))
    return tokens


def trailing_spaces(line: str) -> int:
    body = line.rstrip("\n")
    return len(body) - len(body.rstrip(" "))


def is_num(tok: str) -> bool:
    return bool(_NUM_RE.match(tok))


def is_numeric_token(tok: str) -> bool:
    return is_num(tok) or tok == "%" or bool(_ANNOT_RE.match(tok))


def numeric_runs(tokens: list[Token]) -> list[tuple[int, int]]:
    """Maximal runs of numeric tokens (numbers, '%', '(8)', and a unit word after a number)."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if is_num(tokens[i].text):
            j = i
            while j < len(tokens) and (
                is_numeric_token(tokens[j].text) or (tokens[j].text in _UNIT_TOKENS and j > i)
            ):
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _num_parts(tok: str) -> tuple[str, str, str | None, str, str] | None:
    m = _NUM_RE.match(tok)
    if not m:
        return None
    sign, digits, dec, sup, pct = m.groups()
    return sign, digits, dec, sup, pct


def readings(tokens: list[Token], start: int, end: int) -> list[list[Value]]:
    """Every way to read tokens[start:end] as a sequence of values (tokens fully consumed)."""
    memo: dict[int, list[list[Value]]] = {}

    def from_pos(i: int) -> list[list[Value]]:
        if i == end:
            return [[]]
        if i in memo:
            return memo[i]
        out: list[list[Value]] = []
        for val, nxt in _values_at(tokens, i, end):
            for rest in from_pos(nxt):
                out.append([val, *rest])
                if len(out) >= MAX_READINGS:
                    break
            if len(out) >= MAX_READINGS:
                break
        memo[i] = out
        return out

    return from_pos(start)


def _values_at(tokens: list[Token], i: int, end: int) -> list[tuple[Value, int]]:
    """All values that can start at token i, with the index after each."""
    first = _num_parts(tokens[i].text)
    if first is None:
        return []
    sign, digits, dec, sup, pct = first
    if len(digits) > 1 and digits.startswith("0"):
        return []  # '034' only continues a number
    results: list[tuple[Value, int]] = []
    groups = [digits]
    j = i
    while True:
        # the value may end at token j
        if len(groups) == 1 or len(groups[0]) <= 3:
            results.append(_finish(tokens, i, j, sign, groups, dec, sup, pct, end))
        if dec is not None or sup or pct or j + 1 >= end:
            break
        nxt = _num_parts(tokens[j + 1].text)
        if nxt is None or nxt[0] or len(nxt[1]) != 3 or len(groups[0]) > 3 or groups[0] == "0":
            break
        if tokens[j + 1].gap > 1:
            break  # a wide gap separates columns, never thousands
        j += 1
        groups.append(nxt[1])
        dec, sup, pct = nxt[2], nxt[3], nxt[4]
    return results


def _finish(tokens: list[Token], i: int, j: int, sign: str, groups: list[str], dec: str | None,
            sup: str, pct: str, end: int) -> tuple[Value, int]:
    value = float("".join(groups) + ("." + dec if dec else ""))
    if sign:
        value = -value
    raw = ("-" if sign else "") + " ".join(groups) + ("," + dec if dec is not None else "")
    markers = tuple(SUPERSCRIPT_TO_DIGIT[c] for c in sup)
    nxt = j + 1
    percent = bool(pct)
    if pct:
        raw += "%"
    # attach a following '%', an annotation like '(8)' and a unit word
    if nxt < end and tokens[nxt].text == "%" and not percent:
        raw += " %"
        percent = True
        nxt += 1
    if nxt < end and _ANNOT_RE.match(tokens[nxt].text):
        raw += " " + tokens[nxt].text
        nxt += 1
    if nxt < end and tokens[nxt].text in _UNIT_TOKENS:
        raw += " " + tokens[nxt].text
        nxt += 1
    return Value(raw, value, len(dec or ""), markers, i, nxt - 1, percent), nxt
