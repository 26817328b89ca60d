"""Page breaks, running heads and footers, and what a report is (ReportMeta), on synthetic text."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import Layout, compare, document, series_table, statement_table, with_running_heads

from ingest.meta import read_meta, slug
from ingest.pages import find_pages, page_number
from ingest.parse import parse_report
from ingest.records import Report

REPORT_PATH = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARAGRAPH = [
    "Kommunestyret vedtok i juni en ny plan for vedlikehold av skolebygg og",
    "idrettsanlegg, og flere av tiltakene har gitt lavere",
    "kostnader enn forventet i budsjettet for året som gikk.",
]


def _doc(rng: random.Random) -> tuple[list[str], list]:
    a = statement_table(rng, "3.1", with_pct=True)
    b = replace(series_table(rng, "3.2"), caption_style="title")
    doc = document(rng, [(a, Layout()), (b, Layout(one_per_line=True))])
    return [*doc.lines, "", *PARAGRAPH, ""], doc.tables


def _check_tables(report: Report, truths: list) -> None:
    for truth in truths:
        table = report.table(truth.number)
        assert table is not None, truth.caption
        assert not compare(table, truth), compare(table, truth)
        for row in table.rows:
            assert row.source == report.line_text(*row.lines)
            assert row.label in report.lines[row.lines[0] - 1]


def _no_noise_in_passages(report: Report, noise: tuple[str, ...]) -> None:
    for p in report.passages:
        for n in noise:
            assert n not in p.text, (n, p.text)


@given(st.randoms(use_true_random=False), st.integers(4, 12), st.booleans())
@PROPERTY
def test_running_heads_and_footers_inside_tables_and_paragraphs(rng: random.Random, every: int, feed: bool) -> None:
    """A footer 'Side N' and the next page's head ('Årsrapport 2021 | Asker kommune') every few
    lines, with or without a form feed: tables and paragraphs read as if they were not there;
    the page starts are where the pages start."""
    lines, truths = _doc(rng)
    paged, starts = with_running_heads(lines, every, "Årsrapport 2021 | Asker kommune", form_feed=feed)
    report = parse_report("\n".join(paged), "paged.txt")
    _check_tables(report, truths)
    _no_noise_in_passages(report, ("Side ", "Årsrapport 2021 |"))
    assert report.page_starts == tuple(starts)
    paragraph = [p for p in report.passages if p.text.startswith("Kommunestyret vedtok i juni")]
    assert len(paragraph) == 1 and paragraph[0].text.endswith("budsjettet for året som gikk.")
    assert report.lines[report.page_starts[-1] - 1].replace("\f", "").startswith("Årsrapport 2021")


def test_page_break_inside_a_row_printed_one_cell_per_line() -> None:
    rng = random.Random(5)
    truth = series_table(rng, "2")
    doc = document(rng, [(truth, Layout(one_per_line=True))])
    i = doc.lines.index(truth.rows[1].label) + 2  # after the row's first value
    lines = [*doc.lines[:i], "Side 4", "\fÅrsrapport 2021", *doc.lines[i:], "Side 5"]
    report = parse_report("\n".join(lines), "x.txt")
    table = report.table("2")
    assert not compare(table, truth)
    row = table.row(truth.rows[1].label)
    assert "Side 4" in row.source  # the row's source lines, as printed, span the break
    assert report.page_starts == (1, i + 2)
    assert report.page_of(row.lines[0]) == 1 and report.page_of(row.lines[1]) == 2


def test_page_numbers_at_the_top_open_their_page() -> None:
    lines = ["Side 1 av 3", "Årsrapport 2021", "Tekst på første side.", "Side 2 av 3", "Mer tekst.",
             "Side 3 av 3", "Siste tekst."]
    report = parse_report("\n".join(lines), "x.txt")
    assert report.page_starts == (1, 4, 6)
    assert [p.text for p in report.passages] == ["Tekst på første side.", "Mer tekst.", "Siste tekst."]


def test_footers_end_their_page_and_leave_no_trace() -> None:
    lines = ["Innledning.", "Første side slutter her.", "Side 1", "Asker kommune", "Andre side.", "Side 2",
             "Asker kommune", "Tredje side.", "Side 3", "Asker kommune", "Fjerde side."]
    report = parse_report("\n".join(lines), "x.txt")
    assert report.page_starts == (1, 4, 7, 10)
    assert all("Side" not in p.text and "Asker kommune" not in p.text for p in report.passages)


@pytest.mark.parametrize(
    ("line", "number"),
    [("Side 12", 12), ("side 3 av 40", 3), ("Årsrapport 2021 | Side 7", 7), ("12 | ÅRSRAPPORT 2020", 12),
     ("Asker kommune – 14", 14), ("Refusjoner – 44 431 – 44 131 – 300", None), ("2016–2020", None),
     ("Tabell 8 viser boligproduksjon for årene 2008–2020", None), ("Sum 12", None), ("I 2020 – 5", None)],
)
def test_page_number_lines(line: str, number: int | None) -> None:
    assert page_number(line) == number


def test_bundled_report_has_no_page_markers() -> None:
    lines = REPORT_PATH.read_text(encoding="utf-8").split("\n")
    pages = find_pages(lines)
    assert pages.starts == () and not pages.noise
    assert parse_report("\n".join(lines), REPORT_PATH.name).page_of(100) is None


def test_a_lone_footer_and_repeated_headings_are_not_noise() -> None:
    """One page-number line is no series; a heading repeated per chapter is not a running head."""
    lines = ["6 | Årsrapport 2021", "", "Utfordringer fremover", "Tekst en.", "", "Utfordringer fremover", "Tekst to.",
             "", "Utfordringer fremover", "Tekst tre."]
    pages = find_pages(lines)
    assert pages.starts == () and not pages.noise


# ----------------------------------------------------------------------------- meta


def test_bundled_report_meta() -> None:
    report = parse_report(REPORT_PATH.read_text(encoding="utf-8"), REPORT_PATH.name)
    assert report.meta is not None
    assert (report.meta.id, report.meta.title, report.meta.municipality, report.meta.year) == (
        "baerum-2020", "Årsrapport 2020", "Bærum kommune", 2020)


def test_meta_from_title_and_the_most_named_municipality() -> None:
    lines = ["Nordre Follo kommune", "Årsberetning 2021", "", "Nordre Follo kommune samarbeider med Oslo kommune.",
             "I 2022 fortsetter Nordre Follo kommune arbeidet.", "Tabell 1 viser drift", "Regnskap 2022 Budsjett 2022"]
    meta = read_meta(lines, "rapport.txt")
    assert (meta.id, meta.title, meta.municipality, meta.year) == (
        "nordre-follo-2021", "Årsberetning 2021", "Nordre Follo kommune", 2021)


def test_meta_year_from_table_headers_without_a_title() -> None:
    lines = ["Økonomiske oversikter for Åsnes kommune", "", "Beløp i 1 000 kr Regnskap 2019 Regnskap 2020",
             "Skatt 1 200 1 300", "Det ble vedtatt i 2023 at tallene skal revideres."]
    meta = read_meta(lines, "aasnes.txt")
    assert (meta.id, meta.municipality, meta.year) == ("asnes-2020", "Åsnes kommune", 2020)
    assert meta.title == "Økonomiske oversikter for Åsnes kommune"


def test_meta_without_a_municipality_uses_the_file_name() -> None:
    meta = read_meta(["Regnskap 2021 Budsjett 2021", "Skatt 1 2"], "Min rapport.txt")
    assert meta.municipality is None and meta.id == "min-rapport-2021"


@pytest.mark.parametrize(("text", "expected"), [("Bærum", "baerum"), ("Nordre Follo", "nordre-follo"),
                                                ("Ås", "as"), ("Øvre Eiker", "ovre-eiker"), ("Sør-Varanger", "sor-varanger")])
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected
