"""rag.answer and rag.abstain: templates, exact printed values, citations, signs, abstention."""

from __future__ import annotations

import re

import pytest
from test_rag_fixtures import small_service

from rag.abstain import Verdict, decide
from rag.answer import build_answer, unit_text, write_table
from rag.query import analyze
from rag.resolve import resolve


@pytest.fixture(scope="module")
def svc():
    return small_service(dense=False)


def _pipeline(svc, q):
    deps = svc.deps
    a = analyze(q, deps.ctx)
    hits = deps.retriever.search(a, k=40)
    res = resolve(deps.ctx, deps.index, a, hits, {s: deps.retriever.idf(s) for s in (*a.content, *a.expansions)})
    return a, res, decide(a, res, deps.index)


def test_norwegian_cell_answer_quotes_the_printed_value(svc):
    ans = svc.ask("Hva var netto driftsresultat i 2020?")
    assert not ans.abstained
    assert ans.value == -679.4 and ans.value_raw == "-679,4"
    assert "Netto driftsresultat" in ans.answer and "-679,4 mill. kr" in ans.answer
    assert "budsjett: -237,0 mill. kr" in ans.answer
    assert "Tabell 1, rad «Netto driftsresultat», kolonne «Regnskap 2020»" in ans.answer
    c = ans.citations[0]
    assert (c.table, c.row, c.column, c.lines) == (1, "Netto driftsresultat", "Regnskap 2020", (22, 22))
    assert c.quote == "Netto driftsresultat -237,0 -679,4 442,4"
    assert ans.lang == "no" and ans.mode == "extractive"


def test_english_answer(svc):
    ans = svc.ask("What was the net operating result (netto driftsresultat) in 2020?")
    assert ans.lang == "en"
    assert "in the accounts for 2020 was -679,4" in ans.answer
    assert "Source: Table 1, row «Netto driftsresultat»" in ans.answer


def test_income_sign_is_explained_for_negative_figures(svc):
    ans = svc.ask("Hvor mye fikk kommunen i skatteinntekter i 2020?")
    assert ans.value == -6525.6
    assert "negativt fortegn" in ans.answer and "linje 11" in ans.answer


def test_overspend_sign_note_from_the_caption(svc):
    ans = svc.ask("Hvor stort var merforbruket i barnehagene i 2020?")
    assert ans.value == -10.6
    assert "merforbruk er angitt med minus" in ans.answer


def test_computed_difference_shows_the_work(svc):
    ans = svc.ask("Hvor mye mer tjente mannlige toppledere enn kvinnelige i snitt i 2020?")
    assert ans.value == 83931 and ans.value_raw == "83 931"
    assert "1 210 220 minus Snitt kvinner 2020 1 126 289 = 83 931" in ans.answer
    assert [c.column for c in ans.citations] == ["Snitt menn 2020", "Snitt kvinner 2020"]


def test_row_footnote_is_quoted(svc):
    ans = svc.ask("Hvor mange elever gikk på barnetrinnet i 2020?")
    assert ans.value == 11450
    assert "Fotnote til raden: «Tall i parentes er elever fra andre kommuner.»" in ans.answer


def test_uncertain_row_says_so(svc):
    ans = svc.ask("Hvor stor var den langsiktige gjelden i 2020?")
    assert "usikker" in ans.answer and "to tall i én celle" in ans.answer


def test_prose_answer_cites_chapter_and_lines(svc):
    ans = svc.ask("Hvor mange personer bodde i Bærum ved utgangen av 2020?")
    assert ans.value == 128233 and ans.value_raw == "128 233"
    c = ans.citations[0]
    assert c.table is None and c.lines == (60, 60) and c.chapter == "02 ÅRSBERETNING"
    assert "bodde det 128 233 personer" in ans.answer and "Kilde: kapittel 02 ÅRSBERETNING, linje 60" in ans.answer


def test_table_and_text_disagree_both_are_named(svc):
    ans = svc.ask("Hva var sykefraværet i kommunen i 2020?")
    assert ans.value == 7.0 and ans.citations[0].table == 26  # the table figure is quoted
    assert "Teksten oppgir 7,02 prosent for det samme (kapittel 13 ORGANISASJON, linje 100)" in ans.answer


def test_non_numeric_answer_quotes_the_sentence(svc):
    ans = svc.ask("Hvem er kommunedirektør i Bærum?")
    assert not ans.abstained and ans.value is None
    assert "Geir B. Aga" in ans.answer


@pytest.mark.parametrize(
    ("q", "reason"),
    [
        ("Hva var likviditetsreserven i 2015?", "year"),
        ("Hvor mye brukte Asker kommune på barnevern i 2020?", "other_municipality"),
        ("Hva koster en bussbillett i Bærum?", None),
    ],
)
def test_abstentions(svc, q, reason):
    a, res, v = _pipeline(svc, q)
    assert v.abstain
    if reason:
        assert v.reason == reason
    ans = svc.ask(q)
    assert ans.abstained and ans.value is None
    # no number of the report is asserted as the answer
    assert not re.search(r"\b(1 759,0|1 372,2|231,5|20,0)\b", ans.answer)


def test_year_abstention_points_to_the_nearest(svc):
    ans = svc.ask("Hva var likviditetsreserven i 2015?")
    assert "2015" in ans.answer
    assert "tabell 7, rad «Likviditetsreserve» (tall for 2019–2020)" in ans.answer


def test_english_abstention(svc):
    ans = svc.ask("What was the unemployment rate in Asker municipality in 2020?")
    assert ans.abstained and ans.lang == "en" and "Asker" in ans.answer


def test_unit_text():
    assert unit_text("Mill. kr", "-679,4") == " mill. kr"
    assert unit_text("Mill. kr", "7,0 %") == ""
    assert unit_text(None, "3 239") == ""


def test_verdict_default_is_answer(svc):
    a, res, v = _pipeline(svc, "Hva var netto driftsresultat i 2020?")
    assert v == Verdict(False)
    w = write_table(res.table, "no")
    assert w.value == -679.4 and w.citations[0].column == "Regnskap 2020"
    ans = build_answer("q", a, res, v, svc.deps.index)
    assert ans.citations[0] == w.citations[0]
