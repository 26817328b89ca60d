"""Labeled questions -> the candidates that answer them (for training and for checking labels).

An item names a source line, a table and the number as printed (see eval/splits/PROMPT.md). It
resolves to candidates automatically:

* table_cell: cells of the row printed on that line (in that table) whose value is the number;
* prose_number: figures of the sentence on that line whose value is the number;
* table_compare: a cell of that row holding the number (a difference column), or a computed
  pair involving that row whose difference is the number;
* non_numeric: sentences on (or next to) that line that contain every must_contain string;
* overview: leads that overlap the item's line_range;
* unanswerable: none.

`resolve` says how it went: "ok", "none" (no candidate matches: a label or a parser problem)
or "ambiguous" (the number is printed on two rows or sentences at the labeled line, so the
label does not say which; the item is reported and not used).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.candidates import candidate_text, candidate_value
from rag.corpus import Corpus
from rag.features import Candidates
from rag.layout import CELL, DIFF, FIGURE, LEAD, SENTENCE

TOLERANCE = 0.051


@dataclass(frozen=True)
class Gold:
    status: str  # ok | none | ambiguous | unanswerable
    positives: np.ndarray  # candidate indexes (into Candidates) that answer the item


def _targets(item: Mapping[str, Any]) -> list[float]:
    out = []
    for v in [item.get("answer_number"), *(item.get("alt_numbers") or [])]:
        if isinstance(v, int | float) and not isinstance(v, bool):
            out.append(float(v))
    return out


def _matches(value: float, item: Mapping[str, Any], targets: list[float]) -> bool:
    if item.get("abs_ok"):
        return any(abs(abs(value) - abs(t)) <= TOLERANCE for t in targets)
    return any(abs(value - t) <= TOLERANCE for t in targets)


def value_matches(value: float, item: Mapping[str, Any]) -> bool:
    """Is this the item's number (or one of its alternatives; sign free with abs_ok)?"""
    return _matches(value, item, _targets(item))


def _near(lines: tuple[int, int], line: int, slack: int = 0) -> bool:
    return lines[0] - slack <= line <= lines[1] + slack


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", "").replace("¬", "")).casefold()


def _table_ok(corpus: Corpus, row: int, item: Mapping[str, Any]) -> bool:
    want = item.get("table")
    if want is None:
        return True
    t = corpus.tables[corpus.rows[row].table].table
    return str(t.cite_number) == str(want) or str(t.number) == str(want)


def _value_of(corpus: Corpus, cands: Candidates, i: int) -> float | None:
    return candidate_value(corpus, cands, i)


def is_correct(item: Mapping[str, Any], corpus: Corpus, cands: Candidates, i: int) -> bool:
    """Would answering with candidate i be right, as the eval scores it? Numbers: the value
    (sign free with abs_ok, alt_numbers accepted); names: every must_contain string in the
    source sentence; overviews: the source overlaps the item's line_range."""
    kind = item.get("kind")
    if kind in ("table_cell", "table_compare", "prose_number"):
        value = candidate_value(corpus, cands, i)
        return value is not None and _matches(value, item, _targets(item))
    text, lines, _ = candidate_text(corpus, cands, i)
    if kind == "non_numeric":
        must = [_fold(m) for m in item.get("must_contain") or []]
        return bool(must) and all(m in _fold(text) for m in must)
    if kind == "overview":
        rng = item.get("line_range") or [item.get("line"), item.get("line")]
        return bool(text) and lines[0] <= rng[1] and lines[1] >= rng[0]
    return False


def resolve(item: Mapping[str, Any], corpus: Corpus, cands: Candidates, report: int = 0) -> Gold:
    kind = item.get("kind")
    if kind == "unanswerable":
        return Gold("unanswerable", np.zeros(0, np.int64))
    line = item.get("line")
    targets = _targets(item)
    found: list[int] = []
    for slack in (0, 1, 2):
        found = _find(item, kind, line, targets, corpus, cands, report, slack)
        if found:
            break
    if not found:
        return Gold("none", np.zeros(0, np.int64))
    sources = {candidate_text(corpus, cands, i)[1] for i in found if int(cands.kind[i]) != DIFF}
    if len(sources) > 1 and kind in ("table_cell", "prose_number"):
        return Gold("ambiguous", np.asarray(found))  # the number is printed on two rows or sentences there
    found = sorted(set(found) | _same_fact(found, item, targets, corpus, cands))
    return Gold("ok", np.asarray(found))


def _label_stems(corpus: Corpus, row: int) -> frozenset[str]:
    return frozenset(s for s in corpus.fields["label"].fields[row].whole if not s.isdigit())


def _same_fact(found: list[int], item: Mapping[str, Any], targets: list[float], corpus: Corpus,
               cands: Candidates) -> set[int]:
    """Other candidates printing the same figure about the same thing: a cell with the same row
    label in another table, or a sentence figure and a cell whose row label the sentence names."""
    if item.get("kind") not in ("table_cell", "prose_number"):
        return set()
    labels = {_label_stems(corpus, int(corpus.cell_row[int(cands.ref[i])])) for i in found if int(cands.kind[i]) == CELL}
    sentences = [corpus.fields["sentence"].fields[int(corpus.figure_sentence[int(cands.ref[i])])].all
                 for i in found if int(cands.kind[i]) == FIGURE]
    extra: set[int] = set()
    for i in range(len(cands.kind)):
        k, r = int(cands.kind[i]), int(cands.ref[i])
        if k == CELL and _matches(float(corpus.cell_value[r]), item, targets):
            mine = _label_stems(corpus, int(corpus.cell_row[r]))
            if mine and (mine in labels or any(mine <= s for s in sentences)):
                extra.add(i)
        elif k == FIGURE and labels and _matches(corpus.figures[r].value, item, targets):
            clause = corpus.fields["clause"].fields[r].all
            if any(lab and lab <= clause for lab in labels):
                extra.add(i)
    return extra


def _find(item: Mapping[str, Any], kind: Any, line: Any, targets: list[float], corpus: Corpus,
          cands: Candidates, report: int, slack: int) -> list[int]:
    out: list[int] = []
    for i in range(len(cands.kind)):
        k, r = int(cands.kind[i]), int(cands.ref[i])
        if k == CELL and kind in ("table_cell", "table_compare"):
            row = int(corpus.cell_row[r])
            if corpus.report_of_row(row) == report and _near(corpus.rows[row].row.lines, line, slack) \
                    and _table_ok(corpus, row, item) and _matches(float(corpus.cell_value[r]), item, targets):
                out.append(i)
        elif k == DIFF and kind == "table_compare":
            a, b = cands.pairs[r]
            ra, rb = int(corpus.cell_row[a]), int(corpus.cell_row[b])
            near = any(corpus.report_of_row(x) == report and _near(corpus.rows[x].row.lines, line, slack)
                       and _table_ok(corpus, x, item) for x in (ra, rb))
            if near and _matches(float(corpus.cell_value[a] - corpus.cell_value[b]), item, targets):
                out.append(i)
        elif k == FIGURE and kind == "prose_number":
            s = corpus.sentences[int(corpus.figure_sentence[r])]
            if s.report == report and _near(s.lines, line, slack) and _matches(corpus.figures[r].value, item, targets):
                out.append(i)
        elif k == SENTENCE and kind == "non_numeric":
            s = corpus.sentences[r]
            must = [_fold(m) for m in item.get("must_contain") or []]
            if s.report == report and _near(s.lines, line, slack) and must and all(m in _fold(s.text) for m in must):
                out.append(i)
        elif k == LEAD and kind == "overview":
            lead = corpus.leads[r]
            rng = item.get("line_range") or [line, line]
            if lead.report == report and lead.lines[0] <= rng[1] + slack and lead.lines[1] >= rng[0] - slack:
                out.append(i)
    if kind == "prose_number" and not out and slack == 2:
        # a figure the writer read in prose that the report also prints in a table footnote row
        for i in range(len(cands.kind)):
            if int(cands.kind[i]) == CELL:
                row = int(corpus.cell_row[int(cands.ref[i])])
                if _near(corpus.rows[row].row.lines, line, slack) and _matches(float(corpus.cell_value[int(cands.ref[i])]), item, targets):
                    out.append(i)
    return out
