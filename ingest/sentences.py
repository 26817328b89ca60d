"""Sentences of a passage with their source lines: the prose unit the answer engine scores.

The index embeds these sentences (ingest/embedded.py): a change to the split must bump
UNITS_VERSION there, so that existing indexes are rebuilt."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.prose import split_sentences
from ingest.records import Passage, Report
from ingest.text import clean_text

# a piece that ends in an initial ("Geir B.") was cut inside a name: join it with the next
_INITIAL_END = re.compile(r"(?:^|\s)(?:[A-ZÆØÅ]|[A-ZÆØÅ][a-zæøå]?\.[A-ZÆØÅ])\.$")
# a piece that is only a list item's number («2.», «12.», «IV.»): the item's first words follow
_ENUMERATOR = re.compile(r"(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{2,4})[.)]")


@dataclass(frozen=True)
class Sentence:
    text: str  # cleaned, as indexed
    lines: tuple[int, int]  # 1-based source lines


def sentence_texts(text: str) -> list[str]:
    """The parser's sentence split, with pieces cut after an initial or a list item's number
    joined again."""
    out: list[str] = []
    for piece in split_sentences(text):
        if out and (_INITIAL_END.search(out[-1]) or _ENUMERATOR.fullmatch(out[-1])):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out or ([text] if text.strip() else [])


def passage_sentences(report: Report, passage: Passage) -> list[Sentence]:
    """Every sentence of a passage with the source lines it is printed on.

    Sentences are found in order: each starts on the first line at or after the previous
    sentence's start that holds its first words; it ends where the next one starts (or the
    line before, when its last word is not on that line)."""
    texts = sentence_texts(passage.text)
    first_line, last_line = passage.lines

    def line(ln: int) -> str:
        return clean_text(report.lines[ln - 1]) if 0 < ln <= len(report.lines) else ""

    starts: list[int] = []
    cursor = first_line
    for sent in texts:
        words = [w for w in re.findall(r"\w+", sent) if len(w) > 2] or re.findall(r"\w+", sent)
        found = cursor
        if words:
            head = words[:2]
            for ln in range(cursor, last_line + 1):
                here = line(ln) + " " + line(ln + 1) if ln < last_line else line(ln)
                if head[0] in line(ln) and all(w in here for w in head):
                    found = ln
                    break
        starts.append(found)
        cursor = found
    out = []
    for i, sent in enumerate(texts):
        a = starts[i]
        if i + 1 < len(texts):
            nxt = starts[i + 1]
            words = re.findall(r"\w+", sent)
            b = nxt if (nxt == a or (words and words[-1] in line(nxt))) else nxt - 1
        else:
            words = re.findall(r"\w+", sent)
            b = next((ln for ln in range(last_line, a - 1, -1) if words and words[-1] in line(ln)), last_line)
        out.append(Sentence(sent, (a, max(a, b))))
    return out
