"""HTML rendering: escaping, highlighting, chip labels and copy text."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from test_ui_support import EVIL_CITATION, PROSE_CITATION, TABLE_CITATION, XSS, FakeService, make_report

from rag.records import Citation
from ui import render

ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _no_raw_tags(html: str) -> None:
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<b>" not in html


def test_esc_escapes_html_and_template_syntax() -> None:
    assert render.esc(XSS) == ESCAPED_XSS
    assert render.esc("a\"b'c&") == "a&quot;b&#x27;c&amp;"
    assert render.esc("${x} {{y}} `z`") == "&#36;&#123;x&#125; &#123;&#123;y&#125;&#125; &#96;z&#96;"
    assert render.esc(None) == ""
    assert render.esc_multiline("a\n<b>") == "a<br>&lt;b&gt;"


def test_chip_labels() -> None:
    assert render.chip_label(TABLE_CITATION) == "Tabell 1 · Netto driftsresultat · Regnskap 2020"
    assert render.chip_label(TABLE_CITATION, "en") == "Table 1 · Netto driftsresultat · Regnskap 2020"
    prose = replace(PROSE_CITATION, lines=(226, 229))
    assert render.chip_label(prose) == "Kapittel 02 · linje 226–229"
    assert render.chip_label(prose, "en") == "Chapter 02 · lines 226–229"
    assert render.chip_label(replace(prose, lines=(350, 350))) == "Kapittel 02 · linje 350"
    front = replace(prose, chapter="Innledning")
    assert render.chip_label(front) == "Innledning · linje 226–229"


def test_citation_key_round_trip_and_garbage() -> None:
    for c in (TABLE_CITATION, PROSE_CITATION, EVIL_CITATION):
        assert render.citation_from_key(render.citation_key(c)) == c
    for junk in (None, "", "not json", "[]", '{"table": "x"}', "{}"):
        assert render.citation_from_key(junk) is None or isinstance(render.citation_from_key(junk), Citation)
    assert render.citation_from_key('{"table": "x"}') is None


def test_chip_choices_drop_duplicates() -> None:
    choices = render.chip_choices([TABLE_CITATION, TABLE_CITATION, PROSE_CITATION])
    assert [label for label, _ in choices] == [
        "Tabell 1 · Netto driftsresultat · Regnskap 2020",
        "Kapittel 02 · linje 227–229",
    ]


def test_answer_html_shows_number_text_and_chips() -> None:
    answer = FakeService().ask("Hva var netto driftsresultat i 2020?")
    html = render.render_answer_html(answer)
    assert '<p class="answer-value">-679,4 mill. kr</p>' in html
    assert "Netto driftsresultat i 2020 var -679,4 mill. kr" in html
    assert '<span class="cite">Tabell 1 · Netto driftsresultat · Regnskap 2020</span>' in html
    assert "\n" not in html  # one HTML block: the chat never reads it as Markdown
    partial = render.render_answer_html(answer, text="Netto drifts")
    assert "Netto drifts" in partial and "cite" not in partial


def test_answer_html_escapes_answer_and_citations() -> None:
    answer = FakeService().ask("ond")
    html = render.render_answer_html(answer)
    assert ESCAPED_XSS in html
    _no_raw_tags(html)


def test_abstained_answer_has_no_number() -> None:
    answer = FakeService().ask("Hvem vant VM i fotball?")
    html = render.render_answer_html(answer)
    assert "answer-value" not in html and "abstained" in html


def test_question_html_escapes_user_input() -> None:
    html = render.render_question_html('Hva er <b>dette</b>? <img src=x onerror="alert(1)">\nlinje 2')
    assert "&lt;b&gt;dette&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<br>" in html
    _no_raw_tags(html)


def test_table_source_highlights_cited_row_and_cell() -> None:
    report = make_report()
    html = render.render_source_html(report, TABLE_CITATION)
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html)
    hit_rows = [r for r in rows if 'class="row-hit"' in r]
    assert len(hit_rows) == 1 and "Netto driftsresultat" in hit_rows[0]
    cells = re.findall(r'<td class="[^"]*cell-hit[^"]*">([^<]*)</td>', html)
    assert cells == ["-679,4"]
    assert "Tabell 1 viser hovedoversikten for drift med budsjettavvik" in html
    assert "Mill. kr" in html
    assert "Eksklusive avskrivninger." in html  # footnotes
    assert '<th scope="col" class="col-hit">Regnskap 2020</th>' in html
    assert "02 ÅRSBERETNING · linje 316–360" in html


def test_table_row_found_despite_footnote_marker_and_by_lines() -> None:
    report = make_report()
    table = report.table(1)
    assert table is not None
    assert render.find_row(table, "Brutto driftsresultat³") is table.row("Brutto driftsresultat")
    assert render.find_row(table, "Finnes ikke", (356, 356)) is table.row("Regnskapsresultat")
    assert render.find_row(table, "Finnes ikke", (1, 1)) is None


def test_table_source_escapes_hostile_table() -> None:
    html = render.render_source_html(make_report(), EVIL_CITATION)
    assert f"Ond rad {ESCAPED_XSS}" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;kolonne&lt;/b&gt;" in html
    assert f"Fotnote {ESCAPED_XSS}" in html
    _no_raw_tags(html)
    assert re.findall(r'class="num cell-hit">([^<]*)<', html) == ["12,5"]


def test_prose_source_highlights_sentence_with_lines() -> None:
    html = render.render_source_html(make_report(), PROSE_CITATION)
    assert "02 ÅRSBERETNING · linje 227–229" in html
    assert html.count('class="line-hit"') == 3
    marked = "".join(re.findall(r'<mark class="quote-hit">([^<]*)</mark>', html))
    # the sentence runs over a line break; both parts are marked
    assert marked == "Dette gir en resultatgradpå 5,9 prosent"
    assert "Nøkkeltall for sunn økonomi" in html  # the section heading


def test_prose_source_without_matching_quote_shows_quote_separately() -> None:
    cite = replace(PROSE_CITATION, quote=f"Ikke i teksten {XSS}")
    html = render.render_source_html(make_report(), cite)
    assert "quote-fallback" in html and ESCAPED_XSS in html
    _no_raw_tags(html)


def test_missing_table_and_no_citation() -> None:
    report = make_report()
    html = render.render_source_html(report, replace(TABLE_CITATION, table=42))
    assert "Fant ikke kilden" in html
    assert "Klikk på en kilde" in render.render_source_html(report, None)
    assert "Click a source" in render.render_source_html(report, None, "en")


def test_cell_citation_text() -> None:
    report = make_report()
    table = report.table(1)
    assert table is not None
    row = table.row("Netto driftsresultat")
    assert row is not None
    assert (
        render.cell_citation_text(table, row, "Regnskap 2020")
        == "-679,4 mill. kr — Tabell 1, rad «Netto driftsresultat», kolonne «Regnskap 2020», linje 350"
    )
    assert (
        render.cell_citation_text(table, row, "Regnskap 2020", "en")
        == "-679,4 mill. kr — Table 1, row “Netto driftsresultat”, column “Regnskap 2020”, line 350"
    )


@pytest.mark.parametrize(
    ("text", "expected_last"),
    [("", ""), ("Ett", "Ett"), ("en to tre fire fem seks sju", "en to tre fire fem seks sju")],
)
def test_stream_steps_grow_to_the_whole_text(text: str, expected_last: str) -> None:
    steps = render.stream_steps(text, words_per_step=2)
    assert steps[-1] == expected_last
    assert all(later.startswith(earlier) for earlier, later in zip(steps, steps[1:], strict=False))
    if len(text.split()) > 2:
        assert len(steps) > 1


def test_table_title() -> None:
    report = make_report()
    table = report.table(1)
    assert table is not None
    assert render.table_title(table) == "Tabell 1 viser hovedoversikten for drift med budsjettavvik"
    assert render.table_title(replace(table, caption="Hovedoversikt")) == "Tabell 1: Hovedoversikt"
    assert (
        render.table_title(replace(table, number=None, attached_to=1, caption="")) == "Tabell 1 (uten tittel)"
    )


def test_real_report_table_1_and_prose() -> None:
    """The bundled report as parsed by ingest (parsing only, no index): the chip for table 1's
    net operating result highlights -679,4, and a prose citation marks its sentence."""
    from ingest.pipeline import load_report
    from rapport.settings import Settings

    report = load_report(Settings().source_path)
    html = render.render_source_html(report, TABLE_CITATION)
    assert re.findall(r'class="num cell-hit">([^<]*)<', html) == ["-679,4"]
    assert "Tabell 1 viser hovedoversikten for drift med budsjettavvik" in html
    line = next(i for i, text in enumerate(report.lines, 1) if "Dette gir en resultatgrad" in text)
    cite = replace(PROSE_CITATION, lines=(line, line + 1), quote="Dette gir en resultatgrad på 5,9 prosent")
    html = render.render_source_html(report, cite)
    assert "".join(re.findall(r'<mark class="quote-hit">([^<]*)</mark>', html)).replace(" ", "") == (
        "Dettegirenresultatgradpå5,9prosent"
    )
    assert html.count("<li") <= 2 + 2 * render.PROSE_CONTEXT_LINES


def test_section_rows_are_shown_once_and_escaped() -> None:
    table = make_report().table(1)
    assert table is not None
    rows = tuple(
        replace(r, section="Sentrale inntekter" if i < 2 else f"Drift {XSS}")
        for i, r in enumerate(table.rows)
    )
    html = render.render_table_html(replace(table, rows=rows))
    sections = re.findall(r'<tr class="section-row"><th[^>]*>([^<]*)</th></tr>', html)
    assert sections == ["Sentrale inntekter", f"Drift {ESCAPED_XSS}"]
    _no_raw_tags(html)


def test_value_unit_is_written_inline() -> None:
    answer = replace(FakeService().ask("Hva var netto driftsresultat i 2020?"), unit="Mill. kr")
    assert render.format_value(answer) == "-679,4 mill. kr"
    assert render.format_value(replace(answer, unit="NOK")) == "-679,4 NOK"
    assert render.format_value(replace(answer, value_raw=None, value=7.02, unit="prosent")) == "7,02 prosent"
    assert render.format_value(replace(answer, value_raw="7,0 %", unit="%")) == "7,0 %"
    assert render.format_value(replace(answer, abstained=True)) is None
