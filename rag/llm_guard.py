"""LLM mode's guard: whether a model's reply may be shown in place of the extractive answer.

Numbers and citation markers in text (`scan_numbers`, `citation_markers`), the figures a reply may
contain (`allowed_numbers`), the numeric guard (`guard`, `bad_citations`, `has_value`), the checks
on a whole reply (`reply_problem`) and the incremental guard while it streams (`PrefixGuard`, which
raises `Rejected`). Used by rag.llm's writer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rag.llm_prompt import answer_lang
from rag.records import Answer
from rag.text import detect_language

# --------------------------------------------------------------------------- numbers

# citation markers: [1], [2, 3], [1–2]; never figures
_CITE_MARK = re.compile(r"\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]")
_CITE_NUM = re.compile(r"\d+")
# a number: optional minus (-, − or – glued to the digits), an integer part with optional
# thousands groups (space, no-break space, narrow no-break space), then . or , groups
_NUM = re.compile(
    r"(?<![\w.,])([-−–](?=\d))?(\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+)((?:[.,]\d+)*)(?![\d])"
)


@dataclass(frozen=True)
class Number:
    raw: str  # as printed
    values: tuple[float, ...]  # every reading ("1,234" is 1.234 in Norwegian and 1234 in English)


def _readings(whole: str, rest: str) -> tuple[float, ...]:
    base = whole.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    groups = re.findall(r"([.,])(\d+)", rest)
    if not groups:
        return (float(base),)
    *head, (_sep, last) = groups
    if head:  # 1,234.5 / 1.234,5 / 1,234,567: earlier groups are thousands
        if any(len(d) != 3 for _, d in head) or " " in whole:
            return ()
        thousands = base + "".join(d for _, d in head)
        out = [float(thousands + "." + last)]
        if len(last) == 3 and {s for s, _ in head} == {_sep}:
            out.append(float(thousands + last))  # 1,234,567
        return tuple(out)
    out = [float(base + "." + last)]
    if len(last) == 3 and len(base) <= 3 and " " not in whole:
        out.append(float(base + last))  # 1,234 / 1.234 as a thousands separator
    return tuple(out)


def scan_numbers(text: str) -> list[Number]:
    """Every number in a text, in order; citation markers like [1] are skipped."""
    text = _CITE_MARK.sub(lambda m: " " * len(m.group(0)), text)
    out: list[Number] = []
    for m in _NUM.finditer(text):
        sign, whole, rest = m.groups()
        values = _readings(whole, rest)
        if not values:
            continue
        if sign:
            values = tuple(-v for v in values)
        out.append(Number(m.group(0), values))
    return out


def numbers_in_text(text: str) -> list[tuple[str, float]]:
    """Every number in a text as (printed form, first reading), in order; citation markers skipped."""
    return [(n.raw, n.values[0]) for n in scan_numbers(text)]


def citation_markers(text: str) -> list[int]:
    """The source numbers cited in a text: [1] -> 1, [2, 3] -> 2, 3, [1–3] -> 1, 3."""
    return [int(x) for m in _CITE_MARK.finditer(text) for x in _CITE_NUM.findall(m.group(0))]


def _close(v: float, a: float) -> bool:
    return abs(v - a) <= 1e-9 * max(1.0, abs(a))


def allowed_numbers(question: str, answer: Answer) -> set[float]:
    """Numbers the generated text may contain: those printed in the cited sources and quotes,
    the shown computation and notes, citation table/line numbers, and the years the question
    or the sources name. The question's other numbers are not allowed (an injected figure must
    not survive)."""
    allowed: set[float] = set()
    texts: list[str] = [*answer.details]
    for c in answer.citations:
        texts.append(c.quote)
        if c.table is not None:
            allowed.update(n.values[0] for n in scan_numbers(str(c.table)))
        allowed.update(float(x) for x in c.lines)
        if c.page is not None:
            allowed.add(float(c.page))
        texts.extend(x for x in (c.row, c.column, c.chapter, c.value_raw) if x)
    if answer.value is not None:
        allowed.add(answer.value)
    if answer.value_raw:
        texts.append(answer.value_raw)
    for text in texts:
        for n in scan_numbers(text):
            allowed.update(n.values)
    allowed.update(float(y) for y in re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", " ".join([question, *texts])))
    return allowed


def guard(text: str, allowed: Iterable[float]) -> list[str]:
    """Printed forms of figures in `text` that are not allowed (empty list: the text passes).
    Citation markers are not figures; a number passes when any of its readings equals an
    allowed value."""
    ok = list(allowed)
    return [
        n.raw
        for n in scan_numbers(text)
        if not any(_close(v, a) for v in n.values for a in ok)
    ]


def bad_citations(text: str, n_facts: int) -> list[int]:
    """Cited source numbers that do not exist (0, or beyond the `n_facts` facts given)."""
    return [n for n in citation_markers(text) if not 1 <= n <= n_facts]


def has_value(text: str, value: float) -> bool:
    """The answer's value occurs in `text` as a number (any printed form, sign included)."""
    return any(_close(v, value) for n in scan_numbers(text) for v in n.values)


_ECHO = re.compile(
    r"(?im)^\s*(svar|fakta|spørsmål|answer|facts|question|merknader|notes)\s*:|^\s*\[\d+\]\s+(tabell|table|kapittel|chapter)\b"
    r"|skriv det som en hel setning|write it as a full sentence"
)


def reply_problem(text: str, extractive: Answer, question: str = "") -> str | None:
    """Why a model reply is unusable even if its numbers pass (None when it is fine): it echoes
    the prompt or the question, rambles, is no sentence, leaves out the answer's number, or is
    in the other language."""
    if _ECHO.search(text):
        return "it repeats the prompt"
    q = " ".join(question.split()).rstrip("?").lower()
    if len(q) > 12 and q in " ".join(text.split()).lower():
        return "it repeats the question"
    if len(text) > 700 or text.count("\n") > 6:
        return "too long"
    if len(re.findall(r"[^\W\d_]{2,}", _CITE_MARK.sub(" ", text))) < 3:
        return "not a sentence"
    if extractive.value is not None and extractive.value_raw and not has_value(text, extractive.value):
        return f"the answer's number {extractive.value_raw} is missing"
    words = re.findall(r"[^\W\d_]+", text)
    if len(words) >= 6 and detect_language(text) != answer_lang(extractive):
        return "wrong language"
    label = _unnamed_label(text, extractive)
    if label:
        return f"it does not name what the number is («{label}»)"
    return None


def _unnamed_label(text: str, extractive: Answer) -> str | None:
    """The cited row's label when a Norwegian reply uses none of its words (a right number beside
    a made-up name passes the number guard: 'Svartighetsfölter i 2020 var -679,4 mill. kr').
    Words match on their first six letters (inflections); English replies translate the label."""
    cite = extractive.citations[0] if extractive.citations else None
    if cite is None or cite.table is None or not cite.row or answer_lang(extractive) != "no":
        return None
    label_words = {w.lower()[:6] for w in re.findall(r"[^\W\d_]{4,}", cite.row)}
    said = {w.lower()[:6] for w in re.findall(r"[^\W\d_]{4,}", text)}
    return None if not label_words or label_words & said else cite.row


# --------------------------------------------------------------------------- incremental guard

# the end of a text that may still grow into a number or a citation marker: held back
_HOLD = re.compile(r"(?:[-−–]?\d[\d \u00a0\u202f.,]*|[-−–]|\[[\d\s,;–-]*)$")


class PrefixGuard:
    """Checks a reply while it streams. `feed` takes the next piece and returns the text that
    may be shown now (possibly ""), or raises `Rejected` at the first figure that is not in the
    sources or the first citation marker beyond the facts. `finish` releases the rest."""

    def __init__(self, allowed: Iterable[float], n_facts: int) -> None:
        self.allowed = list(allowed)
        self.n_facts = n_facts
        self.raw = ""
        self.released = 0  # characters of the (left-stripped) text already shown

    @property
    def text(self) -> str:
        return self.raw.lstrip()

    def feed(self, piece: str) -> str:
        self.raw += piece
        body = self.text
        m = _HOLD.search(body)
        return self._release(body, m.start() if m else len(body))

    def finish(self) -> str:
        body = self.text.rstrip()
        return self._release(body, len(body))

    def _release(self, body: str, cut: int) -> str:
        if cut <= self.released:
            return ""
        checked = body[:cut]
        bad = guard(checked, self.allowed)
        if bad:
            raise Rejected(f"number(s) {', '.join(bad)} not in the cited sources", guard_failure=True)
        if _ECHO.search(checked):
            raise Rejected("it repeats the prompt")
        cites = bad_citations(checked, self.n_facts)
        if cites:
            raise Rejected(
                f"cites {', '.join(f'[{n}]' for n in cites)} but only {self.n_facts} fact(s) were given",
                guard_failure=True,
            )
        out = checked[self.released :]
        self.released = cut
        return out


class Rejected(Exception):
    """A reply that must not be used; the message says why."""

    def __init__(self, why: str, guard_failure: bool = False) -> None:
        super().__init__(why)
        self.guard_failure = guard_failure


__all__ = [
    "Number", "scan_numbers", "numbers_in_text", "citation_markers", "allowed_numbers", "guard",
    "bad_citations", "has_value", "reply_problem", "PrefixGuard", "Rejected",
]
