"""HTML of the chat and the source panel, the row charts and the message catalogue: escaping,
what an answer shows first, pages before lines, chips, alternatives, the marked cell."""

from __future__ import annotations

import ast
import base64
import re
from dataclasses import replace
from pathlib import Path

import pytest
from ui_support import (
    AMBIGUOUS_Q,
    EVIL_CITATION,
    GRANT_Q,
    PROSE_CITATION,
    PUPILS_CITATION,
    REPORT_TITLE,
    SIGN_NOTE,
    TABLE_CITATION,
    XSS,
    FakeService,
    make_report,
)

from rag.messages import MESSAGES
from ui import i18n, render
from ui.charts import chart_html, chart_svg, describe, row_series
from ui.source_view import locate, render_source_html, render_table_html, table_title

ROOT = Path(__file__).resolve().parent.parent
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _no_raw_tags(html: str) -> None:
    low = html.lower()
    assert "<script" not in low and "<img src=x" not in low and "<b>" not in low


# ---------------------------------------------------------------- catalogue


def test_catalogue_has_every_key_in_both_languages_and_no_dead_ones() -> None:
    assert set(i18n.STRINGS["no"]) == set(i18n.STRINGS["en"])
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "ui").glob("*.py") if p.name != "i18n.py")
    assert [k for k in i18n.STRINGS["no"] if f'"{k}"' not in code and f"'{k}'" not in code] == []
    for key in i18n.STRINGS["no"]:
        assert i18n.t(key, "no") != i18n.t(key, "en") or key in {"send", "lang_label"}, key


def test_one_language_code_scheme_mapped_from_anything() -> None:
    assert [i18n.norm_lang(x) for x in ("no", "nb", "nb-NO", None, "", "de", "en", "en-GB", "EN")] == [
        "no", "no", "no", "no", "no", "no", "en", "en", "en"]
    assert i18n.html_lang("no") == "nb" and i18n.html_lang("en") == "en"
    # a key the engine words is not written again: it comes from rag/messages.py
    assert "busy" not in i18n.STRINGS["no"] and i18n.t("busy", "no") == MESSAGES["no"]["busy"]
    assert i18n.t("busy", "en") == MESSAGES["en"]["busy"]
    assert not set(i18n.STRINGS["no"]) & set(MESSAGES["no"])  # no key shadows the engine's


def test_ui_code_names_no_report() -> None:
    """Titles and examples come from the reports' metadata: no literal of the bundled report."""
    for path in sorted((ROOT / "ui").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.casefold()
                assert "bærum" not in text and "baerum" not in text, (path.name, node.value[:80])
                assert not re.search(r"(?<!\d)2020(?!\d)", text), (path.name, node.value[:80])


# ---------------------------------------------------------------- answers


def test_escaping() -> None:
    assert render.esc(XSS) == ESCAPED_XSS
    assert render.esc("${x} {{y}} `z`") == "&#36;&#123;x&#125; &#123;&#123;y&#125;&#125; &#96;z&#96;"
    assert render.esc(None) == "" and render.esc_multiline("a\n<b>") == "a<br>&lt;b&gt;"


def test_answer_leads_with_the_sentence_then_the_printed_figure_with_unit_and_one_source_line() -> None:
    answer = FakeService().ask("Hva var netto driftsresultat i 2020?")
    html = render.answer_html(7, answer, "no")
    sentence = html.index("«Netto driftsresultat» i regnskapet for 2020 var -679,4 mill. kr.")
    figure = html.index('<span class="figure-value">-679,4</span> <span class="figure-unit">mill. kr</span>')
    source = html.index(f"Kilde: {REPORT_TITLE} · Tabell 1 · side 3")
    assert sentence < figure < source
    assert "linje" not in html  # the citizen view names the page, not the lines
    assert '<a class="chip chip-src" href="#rapport-src-7-0">' in html
    assert f'<span class="chip-meta"> · {REPORT_TITLE}</span>' in html  # the report's title on the chip
    assert "\n" not in html and "badge-unsure" not in html


def test_lines_when_the_report_has_no_pages_and_in_the_staff_view() -> None:
    answer = FakeService().ask("Hva var netto driftsresultat i 2020?")
    no_pages = replace(answer, citations=(replace(TABLE_CITATION, page=None),))
    assert "Tabell 1 · linje 350" in render.answer_html(1, no_pages, "no")
    staff = render.answer_html(1, answer, "no", staff=True)
    assert "side 3, linje 350" in staff and "Sikkerhet: 0.90" in staff
    assert render.chip_label(TABLE_CITATION, "en") == "Table 1 · Netto driftsresultat · Regnskap 2020"
    assert render.chip_label(PROSE_CITATION, "no") == "Kapittel 02 · side 2"
    assert render.chip_label(replace(PROSE_CITATION, page=None), "en") == "Chapter 02 · lines 227–229"
    assert render.chip_label(replace(TABLE_CITATION, table="4.7"), "no").startswith("Tabell 4.7 ·")


def test_every_number_shows_its_unit() -> None:
    service = FakeService()
    for q in ("Hva var netto driftsresultat i 2020?", "Hvor mange elever?", "Hva var resultatgraden?"):
        answer = service.ask(q)
        text = render.figure_text(answer)
        assert text is not None and answer.unit is not None and text.endswith(render.unit_inline(answer.unit)), (q, text)
    percent = replace(service.ask("Hvor mange elever?"), value_raw="7,8 %", unit="%")
    assert render.figure_text(percent) == "7,8 %"  # the printed "%" is not doubled


def test_unsure_answer_says_so_and_offers_its_other_readings_as_chips() -> None:
    answer = FakeService().ask(AMBIGUOUS_Q)
    html = render.answer_html(3, answer, "no")
    assert "Usikkert svar" in html and "Mente du …?" in html
    chip = f'<a class="chip chip-ask" href="#rapport-ask"><span class="chip-q">{render.esc(GRANT_Q)}</span>'
    assert chip in html and "-1 994,0 mill. kr" in html  # the other reading's figure, beside its question
    assert render.answer_html(3, answer, "en").count("Unsure answer") == 1


def test_abstention_has_no_figure_and_its_nearest_thing_is_a_chip() -> None:
    answer = FakeService().ask("Hvem er ordfører?")
    html = render.answer_html(4, answer, "no")
    assert "figure-value" not in html and "chip-src" not in html and "cell-hit" not in html
    assert "Det nærmeste rapporten har:" in html and 'href="#rapport-ask"' in html
    assert "abstained" in html and "Usikkert" not in html


def test_answer_html_escapes_everything() -> None:
    answer = FakeService().ask("ond")
    html = render.answer_html(1, answer, "no", followups=(f"Hva med {XSS}?",))
    assert ESCAPED_XSS in html
    _no_raw_tags(html)
    assert render.question_html(XSS) == f'<div class="user-question">{ESCAPED_XSS}</div>'


def test_details_go_in_their_own_list_and_staff_see_the_cited_lines() -> None:
    answer = FakeService().ask(AMBIGUOUS_Q)
    assert render.details_lines(answer, "no") == [SIGN_NOTE]
    staff = render.details_lines(answer, "no", staff=True)
    assert staff[0] == SIGN_NOTE and "linje 350" in staff[1] and "Netto driftsresultat -237,0" in staff[1]
    assert render.details_html(replace(answer, details=()), "no") is None


# ---------------------------------------------------------------- the source panel


def test_source_marks_the_cited_cell_found_by_position() -> None:
    report = make_report()
    html = render_source_html(report, TABLE_CITATION, "no")
    assert html.count('class="num cell-hit"') == 1 and 'class="num cell-hit">-679,4<' in html
    assert html.count('class="row-hit"') == 1 and f'<p class="src-title" tabindex="-1">{REPORT_TITLE}</p>' in html
    assert 'href="#rapport-close"' in html and "side 3" in html and "linje" not in html
    # the table as printed («4.7») and the row by position
    found = locate(report, PUPILS_CITATION)
    assert found.table is report.tables[1] and found.row is report.tables[1].rows[0] and found.column == "2020"
    # without positions: by number, label and lines
    bare = replace(TABLE_CITATION, table_index=None, row_index=None, column_index=None)
    assert 'class="num cell-hit">-679,4<' in render_source_html(report, bare, "no")
    # positions that do not fit the label fall back to the label
    wrong = replace(TABLE_CITATION, row_index=0)
    assert 'class="num cell-hit">-679,4<' in render_source_html(report, wrong, "no")


def test_source_of_prose_marks_the_quote_and_hides_line_numbers_from_citizens() -> None:
    report = make_report()
    html = render_source_html(report, PROSE_CITATION, "no")
    assert '<mark class="quote-hit">' in html and "resultatgrad" in html and 'class="ln"' not in html
    assert 'class="ln"' in render_source_html(report, PROSE_CITATION, "no", staff=True)


def test_missing_source_is_a_notice() -> None:
    report = make_report()
    missing = replace(TABLE_CITATION, table="42", table_index=None, row="Finnes ikke")
    assert "Fant ikke kilden" in render_source_html(report, missing, "no")
    assert "Fant ikke kilden" in render_source_html(None, TABLE_CITATION, "no")
    assert "Velg en kilde" in render_source_html(report, None, "no")


def test_hostile_table_is_escaped() -> None:
    report = make_report()
    html = render_source_html(report, EVIL_CITATION, "no")
    assert ESCAPED_XSS in html and "&lt;img src=x onerror=alert(2)&gt;" in html and "&lt;b&gt;kolonne" in html
    _no_raw_tags(html)
    assert table_title(report.tables[1]) == "Tabell 4.7 viser nøkkeltall for skole"


def test_table_headers_are_named_and_stay_in_view() -> None:
    report = make_report()
    html = render_table_html(report.tables[1], "no")
    assert '<th scope="col"><span class="sr-only">rad</span></th>' in html  # no empty header cell
    assert '<div class="table-scroll" role="region" tabindex="0" aria-label="Tabell 4.7 viser nøkkeltall for skole">' in html


# ---------------------------------------------------------------- charts


def test_row_over_the_years_is_charted_with_the_cited_year_dark() -> None:
    table = make_report().tables[1]
    series = row_series(table, table.rows[0], "2020")
    assert series is not None and [p.label for p in series.points] == ["2018", "2019", "2020"]
    assert [p.raw for p in series.points] == ["4 000", "4 100", "4 150"] and series.highlight == 2
    svg = chart_svg(series)
    assert svg.count("<rect") == 3 and svg.count('fill="#1f4e79"') == 1 and "<script" not in svg
    html = chart_html(series, "no")
    assert html.startswith('<figure class="row-chart"><img src="data:image/svg+xml;base64,')
    alt = re.search(r'alt="([^"]*)"', html).group(1)  # type: ignore[union-attr]
    assert alt == "Stolpediagram for «Antall elever»: 2018: 4 000; 2019: 4 100; 2020: 4 150."
    data = re.search(r"base64,([^\"]+)", html).group(1)  # type: ignore[union-attr]
    assert base64.b64decode(data).decode("utf-8") == svg


def test_budget_against_accounts_is_charted_without_the_difference() -> None:
    table = make_report().tables[0]
    series = row_series(table, table.rows[3], "Regnskap 2020")
    assert series is not None and [p.column for p in series.points] == ["Budsjett 2020", "Regnskap 2020"]
    assert series.highlight == 1 and series.unit == "Mill. kr"
    assert row_series(table, table.rows[3], "Differanse 2020") is None  # a difference is not a level


def test_percent_rows_keep_their_unit_and_lone_figures_are_not_charted() -> None:
    table = make_report().tables[1]
    series = row_series(table, table.rows[1], "2019")
    assert series is not None and series.unit == "%" and series.highlight == 1
    assert "(%)" in describe(series, "no")
    evil = make_report().tables[2]
    assert row_series(evil, evil.rows[0], "Regnskap 2020") is None


def test_the_staff_tab_can_chart_any_row() -> None:
    from ingest.records import Cell, Row, Table

    cols = ("Disponibel ramme", "Forbruk", "Avvik")
    row = Row("Skole", tuple(Cell(c, r, v) for c, r, v in zip(cols, ("100,0", "90,0", "10,0"), (100.0, 90.0, 10.0),
                                                               strict=True)), (1, 1), "Skole 100,0 90,0 10,0")
    table = Table("3", "Tabell 3 viser forbruk", "Mill. kr", cols, (row,), (1, 2), make_report().chapters[0])
    assert row_series(table, row, "Forbruk") is None  # no years, no budget: not charted beside an answer
    series = row_series(table, row, "Forbruk", any_columns=True)
    assert series is not None and [p.column for p in series.points] == ["Disponibel ramme", "Forbruk"]


@pytest.mark.parametrize("lang", ["no", "en"])
def test_chart_description_is_in_the_interface_language(lang: str) -> None:
    table = make_report().tables[1]
    series = row_series(table, table.rows[0])
    assert series is not None
    assert describe(series, lang).startswith("Stolpediagram" if lang == "no" else "Bar chart")


def test_chip_for_prose_and_answer_source_line_for_prose() -> None:
    answer = FakeService().ask("Hva var resultatgraden?")
    html = render.answer_html(2, answer, "en")
    assert f"Source: {REPORT_TITLE} · Chapter 02 · page 2" in html
    assert "5,9" in html and "prosent" in html
