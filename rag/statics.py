"""The parts of the candidate features that do not depend on the question, computed once per
corpus: column kinds, totals and sub-rows, values, units, sentence shapes, field lengths for
BM25, and label stems in a flat layout for the "words the question did not ask for" feature.
The answer engine copies these blocks and fills in the question's part (rag/features.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from rag.corpus import Corpus
from rag.figures import COUNT, PERCENT
from rag.layout import FEATURES, F

_PROPER = re.compile(r"(?<=[\w,] )[A-ZÆØÅ][\wæøå-]+")
_NAME = re.compile(r"\b[A-ZÆØÅ][a-zæøå]+(?:\s+[A-ZÆØÅ]\.)?\s+[A-ZÆØÅ][a-zæøå]+")


def cell_unit(corpus: Corpus, row: int, col: int, raw: str) -> str:
    """The unit of one cell: a percent-looking value or column, else the row's, else the table's."""
    c = corpus.columns[col]
    if "%" in raw or c.kind == "percent":
        return PERCENT
    r = corpus.rows[row]
    if r.unit_class != "other":
        return r.unit_class
    table = corpus.tables[r.table].unit_class
    if table != "other":
        return table
    return COUNT if "," not in raw else table  # a whole number in a table without a unit counts something


@dataclass
class Stems:
    """The stems of each instance of a field, flat: ids into ``vocab`` with their idf."""

    vocab: list[str]
    ids: np.ndarray  # int32, concatenated per instance
    idf: np.ndarray  # float32, idf of each entry of ids
    owner: np.ndarray  # int64, the instance each entry of ids belongs to
    n: int  # instances

    def unexplained(self, asked: set[str]) -> np.ndarray:
        """Per instance: the idf-weighted share of its stems not among `asked`."""
        missing = np.asarray([s not in asked for s in self.vocab], bool)[self.ids] if len(self.ids) else self.idf > 0
        total = np.bincount(self.owner, weights=self.idf, minlength=self.n)
        miss = np.bincount(self.owner, weights=self.idf * missing, minlength=self.n)
        return np.divide(miss, total, out=np.zeros(self.n), where=total > 0).astype(np.float32)


def _stems(sets: list[frozenset[str]], idf: dict[str, float]) -> Stems:
    vocab: dict[str, int] = {}
    ids, weights, owner = [], [], []
    for i, stems in enumerate(sets):
        for s in sorted(s for s in stems if not s.isdigit()):
            ids.append(vocab.setdefault(s, len(vocab)))
            weights.append(idf.get(s, 1.0))
            owner.append(i)
    return Stems(list(vocab), np.asarray(ids, np.int32), np.asarray(weights, np.float64),
                 np.asarray(owner, np.int64), len(sets))


@dataclass
class Statics:
    cells: np.ndarray  # (cells, FEATURES) with the static columns filled
    figures: np.ndarray
    sentences: np.ndarray
    leads: np.ndarray
    row_table: np.ndarray  # table of each row
    cell_units: np.ndarray  # unit class of each cell (str)
    figure_units: np.ndarray
    label_all: Stems  # stems and compound parts of each row label
    label_whole: Stems  # whole-word stems of each row label
    field_lengths: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)

    def lengths(self, corpus: Corpus, names: tuple[str, ...]) -> np.ndarray:
        """Words per instance over the named fields (for BM25's length normalisation)."""
        hit = self.field_lengths.get(names)
        if hit is None:
            fields = [corpus.fields[n] for n in names]
            hit = np.asarray([sum(len(f.fields[i].whole) for f in fields) for i in range(fields[0].n)], np.float32)
            self.field_lengths[names] = hit
        return hit


def statics(corpus: Corpus) -> Statics:
    """The static blocks of this corpus (computed on first use, then kept on the corpus)."""
    cached = getattr(corpus, "_statics", None)
    if cached is None:
        cached = _build(corpus)
        corpus._statics = cached  # type: ignore[attr-defined]
    return cached


def _build(c: Corpus) -> Statics:
    n = len(FEATURES)
    latest_report = max((r.meta.year or 0 for r in c.reports if r.meta), default=0)
    row_table = np.asarray([r.table for r in c.rows], np.int32)
    # cells
    X = np.zeros((len(c.cell_value), n), np.float32)
    X[:, F["k_cell"]] = 1
    units = []
    label_fields = c.fields["label"].fields
    for i in range(len(c.cell_value)):
        r, col = int(c.cell_row[i]), int(c.cell_col[i])
        ri, ci = c.rows[r], c.columns[col]
        ti = c.tables[ri.table]
        report = c.reports[ti.report]
        ryear = report.meta.year if report.meta else None
        raw = c.cell_raw[i]
        X[i, F[f"col_{ci.kind}"]] = 1
        X[i, F["col_first"]] = ci.index == 0
        X[i, F["col_last"]] = ci.index == len(ti.table.columns) - 1
        X[i, F["year_latest"]] = bool(ci.years) and ti.latest_year in ci.years
        X[i, F["report_latest"]] = (ryear or 0) >= latest_report
        X[i, F["price_table"]] = ti.fixed_prices
        X[i, F["is_total"]] = ri.is_total
        X[i, F["is_subtotal"]] = ri.subtotal
        X[i, F["is_subrow"]] = ri.subrow
        X[i, F["has_section"]] = ri.row.section is not None
        X[i, F["row_pos"]] = ri.index / max(1, len(ti.table.rows) - 1)
        X[i, F["uncertain"]] = ri.row.uncertain
        X[i, F["n_label_words"]] = len(label_fields[r].whole)
        X[i, F["raw_percent"]] = "%" in raw
        units.append(cell_unit(c, r, col, raw))
    values = c.cell_value
    X[:, F["log_value"]] = np.log10(np.abs(values) + 1)
    X[:, F["negative"]] = values < 0
    X[:, F["zero"]] = values == 0
    cell_units = np.asarray(units)
    _unit_columns(X, cell_units)
    # sentences (and what figures share with their sentence)
    S = np.zeros((len(c.sentences), n), np.float32)
    S[:, F["k_sentence"]] = 1
    for i, s in enumerate(c.sentences):
        report = c.reports[s.report]
        ryear = report.meta.year if report.meta else None
        S[i, F["year_latest"]] = ryear in s.years
        S[i, F["report_latest"]] = (ryear or 0) >= latest_report
        S[i, F["n_words"]] = len(s.text.split())
        S[i, F["years_in_text"]] = len(s.years)
        S[i, F["has_proper"]] = bool(_PROPER.search(s.text))
        S[i, F["has_name"]] = bool(_NAME.search(s.text))
        S[i, F["has_number"]] = bool(re.search(r"\d", s.text))
    # figures
    Fx = np.zeros((len(c.figures), n), np.float32)
    sents = c.figure_sentence
    shared = ("year_latest", "report_latest", "n_words", "years_in_text")
    for name in shared:
        Fx[:, F[name]] = S[sents, F[name]] if len(sents) else 0
    Fx[:, F["k_figure"]] = 1
    position: dict[int, int] = {}
    count: dict[int, int] = {}
    for s in sents:
        count[int(s)] = count.get(int(s), 0) + 1
    for i, fig in enumerate(c.figures):
        s = int(sents[i])
        Fx[i, F["n_figures"]] = count[s]
        Fx[i, F["figure_pos"]] = position.get(s, 0)
        position[s] = position.get(s, 0) + 1
        Fx[i, F["log_value"]] = np.log10(abs(fig.value) + 1)
        Fx[i, F["negative"]] = fig.value < 0
        Fx[i, F["raw_percent"]] = fig.unit_class == PERCENT
    figure_units = np.asarray([f.unit_class for f in c.figures])
    _unit_columns(Fx, figure_units)
    # leads
    L = np.zeros((len(c.leads), n), np.float32)
    L[:, F["k_lead"]] = 1
    for i, lead in enumerate(c.leads):
        L[i, F["n_words"]] = len(lead.text.split())
        L[i, F["years_in_text"]] = len(c.sentences[lead.sentences[0]].years)
    return Statics(
        X, Fx, S, L, row_table, cell_units, figure_units,
        _stems([f.all for f in label_fields], c.idf), _stems([f.whole for f in label_fields], c.idf),
    )


def _unit_columns(X: np.ndarray, units: np.ndarray) -> None:
    from rag.figures import FTE, MONEY, PER_CAPITA

    for name, unit in (("c_unit_money", MONEY), ("c_unit_count", COUNT), ("c_unit_percent", PERCENT),
                       ("c_unit_fte", FTE), ("c_unit_percap", PER_CAPITA)):
        X[:, F[name]] = units == unit
