"""Figures printed in prose: every number of a sentence with its unit, the words after it and
its clause. These are the prose candidates the answer engine scores.

Years, dates, clock times, ordinals, table and chapter numbers and numbers glued to words
("Covid-19") are not figures. A number keeps the form it is printed in (``raw``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.numbers import parse_no_number

# A Norwegian number: digit groups of three after a space, decimal comma; a sign glued or spaced.
_NUMBER = re.compile(
    r"(?<![\w,.\-/])(?P<sign>[-−–]\s?)?(?P<num>\d{1,3}(?:[ \u00a0]\d{3})+(?:,\d+)?|\d+(?:,\d+)?)(?![\w/]|,\d|\.\d)"
)
_UNIT = re.compile(
    r"\s*(?P<unit>%|prosentpoeng\b|prosent\b|promille\b|"
    r"(?:mill\.|millioner\b|mill\b|mrd\.|milliarder\b|mrd\b)(?:\s*(?:kroner\b|kr\b\.?))?|"
    r"kr\b\.?|kroner\b|årsverk\b|kvm\b|m²|m2\b|km\b|tonn\b|timer\b|dager\b|uker\b|måneder\b|år\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)
_MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
           "november", "desember")
_BEFORE_NOT_FIGURE = re.compile(
    r"(?:tabell|table|figur|kapittel|kap\.|side|sak|nr\.|nummer|kl\.|klokken|paragraf|§|trinn|punkt|versjon|"
    r"fase|uke|sone|linje)\s*$",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(
    r",(?=\s)|[;:()–—]|\s(?:og|men|mens|samt|hvorav|mot|while|and|but)\s|(?:(?<=\bmill\.)|(?<=\bmrd\.))\s+(?=[A-ZÆØÅ])"
)

MONEY, COUNT, PERCENT, FTE, PER_CAPITA, RATIO, OTHER = "money", "count", "percent", "fte", "per_capita", "ratio", "other"
UNIT_CLASSES = (MONEY, COUNT, PERCENT, FTE, PER_CAPITA, RATIO)


@dataclass(frozen=True)
class Figure:
    raw: str  # as printed, sign included ("-1 878,6", "10,3")
    value: float
    unit: str | None  # the unit word as printed after it ("mill.", "prosent", "%"), None if none
    unit_class: str  # money | count | percent | fte | per_capita | other
    start: int  # character span of the number (and unit) in the sentence
    end: int
    after: str  # up to three words after the number and unit ("elever i grunnskolen")
    clause: str  # the clause it stands in
    window: str  # a few words either side


def unit_class_of(unit: str | None, after: str = "") -> str:
    u = (unit or "").lower()
    if u in ("%", "prosent", "prosentpoeng", "promille"):
        return PERCENT
    if u.startswith(("mill", "mrd", "milliard", "kr", "kroner")):
        return PER_CAPITA if re.match(r"\s*(per|pr\.?)\s+(innbygger|elev|bruker|plass)", after, re.I) else MONEY
    if u == "årsverk":
        return FTE
    if u:
        return OTHER
    return COUNT


def _is_year(raw: str, value: float, unit: str | None) -> bool:
    return unit is None and "," not in raw and " " not in raw.strip() and 1900 <= value <= 2100 and len(raw.strip()) == 4


def _is_date(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 12) : start], text[end : end + 14].lower()
    if re.match(r"\.\s?\d{1,2}\.?", after) or re.search(r"\d\.\s?$", before):
        return True  # 31.12.2020, 1.1.
    return bool(re.match(r"\.\s*(?:" + "|".join(_MONTHS) + r")", after) or re.match(r"\.\s+\w", after) and
                re.match(r"\.\s+(?:" + "|".join(_MONTHS) + ")", after))


def sentence_figures(text: str) -> list[Figure]:
    """Every figure printed in a sentence (cleaned text), in order."""
    out: list[Figure] = []
    for m in _NUMBER.finditer(text):
        start, end = m.start(), m.end()
        sign = m.group("sign") or ""
        if sign and start > 0 and text[start - 1].isalnum():
            sign, start = "", m.start("num")  # "2019-2020": a range dash, not a minus
        num = m.group("num")
        raw = ("-" if sign else "") + num.replace("\u00a0", " ")
        value = parse_no_number(raw)
        if value is None:
            continue
        um = _UNIT.match(text, end)
        unit = um.group("unit").strip() if um else None
        if um and unit and unit.lower() == "år" and value > 200:
            unit, um = None, None
        if _is_year(num, value, unit) or _is_date(text, m.start("num"), m.end("num")):
            continue
        if _BEFORE_NOT_FIGURE.search(text[max(0, start - 14) : start]):
            continue
        if re.match(r"\.\s?[a-zæøå]", text[end : end + 3]) and "," not in num and value < 100:
            continue  # an ordinal: "2. plass", "4. trinn"
        tail = um.end() if um else end
        after_words = _WORD.findall(text[tail : tail + 60])[:3]
        out.append(
            Figure(
                raw=raw,
                value=value,
                unit=unit,
                unit_class=unit_class_of(unit, text[tail : tail + 30]),
                start=start,
                end=tail,
                after=" ".join(after_words),
                clause=_clause(text, start, tail),
                window=_window(text, start, tail),
            )
        )
    return out


def _clause(text: str, start: int, end: int) -> str:
    left = max((b.end() for b in _CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    nxt = _CLAUSE_BREAK.search(text, end)
    right = nxt.start() if nxt else len(text)
    return text[left:right].strip()


def _window(text: str, start: int, end: int, words: int = 6) -> str:
    before = text[:start].split()[-words:]
    after = text[end:].split()[:words]
    return " ".join([*before, text[start:end], *after])
