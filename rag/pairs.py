"""Computed candidates: the difference of two cells, for questions that compare figures.

Pairs are built from the rows that match the question best (a cheap first look at the cell
features), never from the whole table: two columns of one row (two years, budget and accounts),
one column of two such rows, and the same row in another report (another year's report). Both
orders are candidates; features say which order the question's words ask for.
"""

from __future__ import annotations

import re

import numpy as np

from ingest.numbers import decimals_of
from rag.corpus import Corpus
from rag.features import QuestionContext, cell_features
from rag.layout import DIFF, FEATURES, F
from rag.match import coverage
from rag.statics import statics

TOP_ROWS = 6
_YEARS = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")


def _label_key(label: str) -> str:
    return re.sub(r"[^a-zæøå]", "", label.lower())


def pair_cells(corpus: Corpus, cells: np.ndarray, X: np.ndarray) -> list[tuple[int, int]]:
    """Ordered pairs of cell indexes worth computing a difference for."""
    if len(cells) == 0:
        return []
    first = X[:, F["cov_all"]] + 0.5 * X[:, F["dense_main"]] - 0.3 * X[:, F["extra_label"]]
    by_row: dict[int, float] = {}
    for c, s in zip(cells, first, strict=True):
        r = int(corpus.cell_row[c])
        by_row[r] = max(by_row.get(r, -9.0), float(s))
    top = sorted(by_row, key=lambda r: -by_row[r])[:TOP_ROWS]
    cells_of_row: dict[int, list[int]] = {}
    for c in range(len(corpus.cell_row)):
        cells_of_row.setdefault(int(corpus.cell_row[c]), []).append(c)
    pairs: set[tuple[int, int]] = set()

    def percent(c: int) -> bool:
        return "%" in corpus.cell_raw[c] or corpus.columns[corpus.cell_col[c]].kind == "percent"

    for r in top:
        mine = cells_of_row.get(r, [])
        for a in mine:
            for b in mine:
                if a != b and percent(a) == percent(b):
                    pairs.add((a, b))
    # one column, two of the best rows of one table
    for i, r1 in enumerate(top):
        for r2 in top[i + 1 :]:
            if corpus.rows[r1].table != corpus.rows[r2].table:
                continue
            cols1 = {int(corpus.cell_col[c]): c for c in cells_of_row.get(r1, [])}
            for c2 in cells_of_row.get(r2, []):
                c1 = cols1.get(int(corpus.cell_col[c2]))
                if c1 is not None:
                    pairs.update({(c1, c2), (c2, c1)})
    # the same row in another report's table
    if len(corpus.reports) > 1:
        for r in top[:3]:
            key = _label_key(corpus.rows[r].row.label)
            rep = corpus.report_of_row(r)
            for r2, info in enumerate(corpus.rows):
                if corpus.report_of_row(r2) != rep and _label_key(info.row.label) == key:
                    for a in cells_of_row.get(r, []):
                        for b in cells_of_row.get(r2, []):
                            pairs.update({(a, b), (b, a)})
    return sorted(pairs)


PRINTED_KINDS = ("diff", "change")  # the columns a table prints its own differences in


def printed_difference(corpus: Corpus, a: int, b: int) -> int | None:
    """The cell in which the table prints the difference of cells ``a`` and ``b`` itself, or None.

    Two cells of one row printed with d decimals differ by their printed difference give or take
    10^-d (each is rounded): the row's «Endring» −386,7 is what 1 759,0 − 1 372,2 = 386,8 is,
    before rounding. An answer should give the report's own figure, not a computed neighbour of it.
    The cell must be in the same row, in a difference or change column (rag/corpus.py
    ``column_kind``), printed like the two (both percentages or neither), and agree in magnitude
    within that rounding; whole numbers must agree exactly, and the difference must be at least
    ten times the last printed digit, so that a small figure never stands for another by chance.
    The closest such cell wins."""
    row = int(corpus.cell_row[a])
    if int(corpus.cell_row[b]) != row:
        return None
    raw_a, raw_b = corpus.cell_raw[a], corpus.cell_raw[b]
    decimals = max(decimals_of(raw_a), decimals_of(raw_b))
    unit = 10.0 ** -decimals  # the last printed digit: 0,1 for one decimal, 1 for whole numbers
    slack = unit if decimals else 0.0  # two rounded figures differ by their difference ± one last digit
    computed = abs(float(corpus.cell_value[a]) - float(corpus.cell_value[b]))
    if computed < 10 * unit:
        return None
    percent = "%" in raw_a
    best, best_gap = None, None
    for c in np.flatnonzero(corpus.cell_row == row):
        c = int(c)
        if c in (a, b) or corpus.columns[int(corpus.cell_col[c])].kind not in PRINTED_KINDS:
            continue
        if ("%" in corpus.cell_raw[c]) != percent:
            continue
        gap = abs(abs(float(corpus.cell_value[c])) - computed)
        if gap <= slack + 1e-9 and (best_gap is None or gap < best_gap):
            best, best_gap = c, gap
    return best


def pair_features(q: QuestionContext, corpus: Corpus, pairs: list[tuple[int, int]],
                  cell_X: np.ndarray | None = None) -> np.ndarray:
    """Features of each pair from its two cells' (``cell_X``: every cell's features, row i =
    cell i; computed here when not given) and what only the pair has."""
    n = len(pairs)
    if n == 0:
        return np.zeros((0, len(FEATURES)), np.float32)
    a_idx = np.asarray([p[0] for p in pairs], np.int32)
    b_idx = np.asarray([p[1] for p in pairs], np.int32)
    if cell_X is None:
        cell_X = cell_features(q, corpus, np.arange(len(corpus.cell_value), dtype=np.int32))
    XA, XB = cell_X[a_idx], cell_X[b_idx]
    X = (XA + XB) / 2
    X[:, F["k_cell"]] = 0
    X[:, F["k_diff"]] = 1
    asked = set(q.analysis.years)
    for i, (a, b) in enumerate(pairs):
        ca, cb = corpus.columns[corpus.cell_col[a]], corpus.columns[corpus.cell_col[b]]
        ra, rb = int(corpus.cell_row[a]), int(corpus.cell_row[b])
        ya, yb = set(ca.years), set(cb.years)
        if asked:
            X[i, F["year_match"]] = len(asked & (ya | yb)) / len(asked)
        X[i, F["pair_same_row"]] = ra == rb
        X[i, F["pair_same_kind"]] = _YEARS.sub("", ca.name).strip().lower() == _YEARS.sub("", cb.name).strip().lower()
        X[i, F["pair_year_change"]] = bool(ya and yb and ya != yb)
        X[i, F["pair_actual_budget"]] = {ca.kind, cb.kind} == {"actual", "budget"}
        order = 0.0
        if ya and yb and ya != yb:
            order = 1.0 if max(ya) > max(yb) else -1.0
        elif {ca.kind, cb.kind} == {"actual", "budget"}:
            order = 1.0 if ca.kind == "actual" else -1.0
        X[i, F["pair_order"]] = order
        value = corpus.cell_value[a] - corpus.cell_value[b]
        X[i, F["diff_positive"]] = value > 0
        X[i, F["direction_match"]] = q.analysis.direction * np.sign(value)
        X[i, F["log_value"]] = np.log10(abs(value) + 1)
        X[i, F["negative"]] = value < 0
        X[i, F["zero"]] = value == 0
    X[:, F["intent_match"]] = 0
    # a comparison of two rows names both: their words together cover the question
    rows_a = corpus.cell_row[a_idx]
    rows_b = corpus.cell_row[b_idx]
    table_of = statics(corpus).row_table
    both = [("label", rows_a), ("section", rows_a), ("label", rows_b), ("section", rows_b),
            ("caption", table_of[rows_a]), ("column", corpus.cell_col[a_idx]), ("column", corpus.cell_col[b_idx])]
    X[:, F["cov_all"]] = coverage(q.terms, q.credits, both, n)[0]
    return X


__all__ = ["DIFF", "pair_cells", "pair_features"]
