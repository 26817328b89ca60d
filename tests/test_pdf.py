"""PDF reports: generated PDFs (fpdf2) with tables in every layout, read through read_source and
parse_report; every cell is checked against the truth the PDF was drawn from."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import compare, key_figures_table, series_table, statement_table, with_notes
from synth_pdf import DEJAVU, PdfLayout, ReportPdf, report_pdf

from ingest.parse import parse_report
from ingest.records import Report
from ingest.sources import SourceError, read_source

PROPERTY = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])
# a Unicode minus and en dash need a TrueType font; the core font prints Latin-1 only
NEGATIVES = ["-", "- ", "\u2212", "\u2013 "] if DEJAVU else ["-", "- "]
SEPARATORS = [" ", "\u00a0", "\u202f"] if DEJAVU else [" ", "\u00a0"]


def read(path: Path) -> Report:
    text, sha = read_source(path)
    return parse_report(text, path.name, sha)


def check(report: Report, truths: list) -> None:
    for truth in truths:
        table = report.table(truth.number) if truth.number else next(
            (t for t in report.tables if t.caption == truth.caption), None)
        assert table is not None, (truth.caption, [t.caption for t in report.tables])
        assert not compare(table, truth), compare(table, truth)
        assert not any(r.uncertain for r in table.rows), [(r.label, r.reason) for r in table.rows if r.uncertain]
        for row in table.rows:
            assert row.source == report.line_text(*row.lines)


@given(st.randoms(use_true_random=False), st.sampled_from(NEGATIVES), st.sampled_from(SEPARATORS),
       st.sampled_from([7.5, 9.0, 10.0]))
@PROPERTY
def test_pdf_tables_in_every_layout(tmp_path_factory: pytest.TempPathFactory, rng: random.Random, neg: str,
                                    sep: str, size: float) -> None:
    parts = [
        (statement_table(rng, "4.7", with_pct=True), PdfLayout(neg_style=neg, thousands=sep)),
        (replace(series_table(rng, "4.8", empties=True), caption_style="title"),
         PdfLayout(caption_pos="below", thousands=sep)),
        (with_notes(replace(statement_table(rng, None), unit_where="header", title="økonomisk oversikt drift"), rng),
         PdfLayout(caption_pos="none", note_col=rng.choice(["before_values", "before_label"]), neg_style=neg)),
        (key_figures_table(rng, "4.9"), PdfLayout(col_w=rng.choice([60.0, 90.0]))),
    ]
    path, truths = report_pdf(tmp_path_factory.mktemp("pdf") / "rapport.pdf", parts, unicode_font=DEJAVU is not None,
                              prose=3, size=size)
    report = read(path)
    check(report, truths)
    # one page start per page; running heads and footers out of the passages
    import pymupdf

    with pymupdf.open(path) as doc:
        assert len(report.page_starts) == doc.page_count
    for p in report.passages:
        assert "Side " not in p.text and "| Asker kommune" not in p.text, p.text


def test_pdf_text_has_cells_by_column_and_page_breaks(tmp_path: Path) -> None:
    rng = random.Random(2)
    truth = series_table(rng, "3", empties=True)
    for r in truth.rows:
        r.values[1] = None  # an empty cell in the second column of every row
    path, _ = report_pdf(tmp_path / "r.pdf", [(truth, PdfLayout())])
    text, _ = read_source(path)
    rows = [line for line in text.split("\n") if line.startswith(truth.rows[0].label)]
    assert len(rows) == 1 and rows[0].split("\t")[2] == ""  # label, 2018, (empty 2019), ...
    header = next(line for line in text.split("\n") if line.startswith("\t") and "2018" in line)
    assert header.split("\t")[1:] == ["2018", "2019", "2020", "2021"]
    table = parse_report(text, "r.pdf").table("3")
    assert all(r.cells[1].raw == "" and r.cells[1].value is None for r in table.rows)


def test_pdf_over_several_pages(tmp_path: Path) -> None:
    """A long statement breaks over pages: the running head and footer fall inside it."""
    rng = random.Random(9)
    truth = statement_table(rng, "2", n_rows=12)
    parts = [(truth, PdfLayout()), *((series_table(rng, str(10 + n)), PdfLayout()) for n in range(6))]
    path, truths = report_pdf(tmp_path / "long.pdf", parts, prose=6)
    report = read(path)
    check(report, truths)
    assert len(report.page_starts) >= 2
    broken = [t for t in report.tables if report.page_of(t.lines[0]) != report.page_of(t.lines[1])]
    assert broken, "no table spans a page break; the test does not test what it says"


def test_password_protected_pdf(tmp_path: Path) -> None:
    doc = ReportPdf()
    doc.line("Hemmelig")
    doc.pdf.set_encryption(owner_password="eier", user_password="bruker")
    path = doc.save(tmp_path / "laast.pdf")
    with pytest.raises(SourceError, match="password-protected"):
        read_source(path)


def test_pdf_encrypted_without_a_user_password_reads(tmp_path: Path) -> None:
    doc = ReportPdf()
    doc.line("Tabell 1 viser drift")
    doc.pdf.set_encryption(owner_password="eier")
    path = doc.save(tmp_path / "eier.pdf")
    assert "Tabell 1 viser drift" in read_source(path)[0]
