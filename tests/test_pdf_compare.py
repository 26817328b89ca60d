"""PyMuPDF vs pdfplumber as the word source of the PDF reader (docs/PDF.md has the figures).

    PYTHONPATH=. pytest -m slow tests/test_pdf_compare.py -s

Generates report PDFs with every table layout the parser knows, reads each with both libraries
through the same column logic (ingest/pdftext.py), parses the text and counts the cells that come
back equal to the truth; prints time per page and cell accuracy per library.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path

import pytest
from synth import compare, key_figures_table, series_table, statement_table, with_notes
from synth_pdf import PdfLayout, report_pdf

from ingest.parse import parse_report
from ingest.pdftext import BACKENDS, WORD_SOURCES, page_lines

pytestmark = pytest.mark.slow
DOCS = 24


def _parts(rng: random.Random) -> list:
    sep = rng.choice([" ", "\u00a0", "\u202f"])  # thousands: space, no-break space, narrow no-break space
    return [
        (statement_table(rng, "1.1", with_pct=True),
         PdfLayout(neg_style=rng.choice(["-", "\u2212", "- ", "\u2013 "]), thousands=sep)),
        (series_table(rng, "1.2", empties=True), PdfLayout(caption_pos="below", thousands=sep)),
        (with_notes(replace(statement_table(rng, None), unit_where="header", title="bevilgningsoversikt drift"), rng),
         PdfLayout(caption_pos="none", note_col=rng.choice(["before_values", "before_label"]))),
        (key_figures_table(rng, "1.3"), PdfLayout()),
        (statement_table(rng, "1.4", n_rows=8), PdfLayout(col_w=95.0)),
        (series_table(rng, "1.5", years=(2017, 2018, 2019, 2020, 2021)), PdfLayout(col_w=60.0)),
    ]


def _cells(table, truth) -> tuple[int, int]:
    """(cells equal to the truth, cells in the truth)"""
    total = sum(len(r.values) for r in truth.rows)
    if table is None or [r.label for r in table.rows] != [r.label for r in truth.rows]:
        return 0, total
    good = sum(
        1 for row, trow in zip(table.rows, truth.rows, strict=True) if not row.uncertain
        for c, v in zip(row.cells, trow.values, strict=False) if c.value == v
    )
    return good, total


def test_compare_pdf_libraries(tmp_path: Path) -> None:
    files = []
    for n in range(DOCS):
        rng = random.Random(n)
        files.append(report_pdf(tmp_path / f"r{n}.pdf", _parts(rng), unicode_font=True, prose=4,
                                size=rng.choice([7.5, 9.0, 10.0])))
    results = {}
    for backend in BACKENDS:
        words_s = layout_s = 0.0
        pages = good = total = exact_tables = tables = 0
        for path, truths in files:
            t0 = time.perf_counter()
            words = WORD_SOURCES[backend](path)
            t1 = time.perf_counter()
            text = "\n\f".join("\n".join(page_lines(w)) for w in words)
            layout_s += time.perf_counter() - t1
            words_s += t1 - t0
            pages += len(words)
            report = parse_report(text, path.name)
            for truth in truths:
                table = report.table(truth.number) if truth.number else next(
                    (t for t in report.tables if t.caption == truth.caption), None)
                g, n = _cells(table, truth)
                good, total = good + g, total + n
                tables += 1
                exact_tables += table is not None and not compare(table, truth)
        results[backend] = (words_s, layout_s, pages, good, total, exact_tables, tables)
    print()
    for backend, (words_s, layout_s, pages, good, total, exact_tables, tables) in results.items():
        print(f"{backend:11s} {pages} pages: words {1000 * words_s / pages:6.1f} ms/page, "
              f"columns {1000 * layout_s / pages:5.1f} ms/page; cells {good}/{total} ({good / total:.2%}); "
              f"tables exactly right {exact_tables}/{tables}")
    for backend, (*_, good, total, _exact, _tables) in results.items():
        assert good / total >= 0.99, backend
