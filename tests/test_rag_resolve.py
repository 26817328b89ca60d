"""rag.resolve: picking table, row and column (and computing differences) on a hand-built report."""

from __future__ import annotations

import pytest
from test_rag_fixtures import small_report, small_service

from rag.query import analyze
from rag.resolve import ReportIndex, numbers_in, resolve, table_candidates


@pytest.fixture(scope="module")
def svc():
    return small_service(dense=False)


def _resolve(svc, q, history=None):
    deps = svc.deps
    a = analyze(q, deps.ctx, history)
    hits = deps.retriever.search(a, k=40)
    idf = {s: deps.retriever.idf(s) for s in (*a.content, *a.expansions)}
    return a, resolve(deps.ctx, deps.index, a, hits, idf)


def test_accounts_column_by_default_with_budget_beside(svc):
    _, res = _resolve(svc, "Hva var netto driftsresultat i 2020?")
    t = res.table
    assert res.choice == "table"
    assert (t.cell.table.number, t.cell.row.label, t.cell.column) == (1, "Netto driftsresultat", "Regnskap 2020")
    assert t.value == -679.4 and t.value_raw == "-679,4"
    assert [c.column for c in t.context] == ["Budsjett 2020"]


def test_budget_intent_picks_the_budget_column(svc):
    _, res = _resolve(svc, "Hvor mye var budsjettert netto driftsresultat for 2020?")
    assert res.table.cell.column == "Budsjett 2020"


def test_synonym_reaches_the_row(svc):
    _, res = _resolve(svc, "Hvor mye fikk kommunen i skatteinntekter i 2020?")
    assert res.table.cell.row.label == "Inntekts- og formuesskatt"
    assert res.table.value_raw == "-6 525,6"


def test_budget_comparison_uses_the_difference_column(svc):
    _, res = _resolve(svc, "Hvor mye høyere ble netto driftsresultat enn budsjettert?")
    t = res.table
    assert t.kind == "diff_column"
    assert t.cell.column == "Differanse 2020" and t.value == 442.4
    assert {c.column for c in t.context} == {"Budsjett 2020", "Regnskap 2020"}


def test_change_uses_the_change_column(svc):
    _, res = _resolve(svc, "Hvor mye ble likviditetsreserven redusert fra 2019 til 2020?")
    assert res.table.kind == "diff_column"
    assert res.table.cell.column == "Endring" and res.table.value == -386.7


def test_change_without_a_column_is_computed(svc):
    _, res = _resolve(svc, "Hvor mange færre elever gikk på barnetrinnet i 2020 enn i 2019?")
    t = res.table
    assert t.kind == "computed"
    a, b = t.operands
    assert (a.column, b.column) == ("2020", "2019")
    assert t.value == -34 and t.value_raw == "-34"


def test_difference_between_two_columns(svc):
    _, res = _resolve(svc, "Hvor mye mer tjente mannlige toppledere enn kvinnelige i 2020?")
    t = res.table
    assert t.kind == "computed"
    assert [o.column for o in t.operands] == ["Snitt menn 2020", "Snitt kvinner 2020"]
    assert t.value == 83931


def test_year_column(svc):
    _, res = _resolve(svc, "Hvor stor var likviditetsreserven ved utgangen av 2019?")
    assert res.table.cell.column == "2019" and res.table.value_raw == "1 759,0"


def test_missing_year_is_reported(svc):
    _, res = _resolve(svc, "Hva var likviditetsreserven i 2015?")
    assert res.table.missing_years == (2015,)


def test_uncertain_row_is_flagged(svc):
    _, res = _resolve(svc, "Hvor stor var den langsiktige gjelden i 2020?")
    assert res.table.cell.row.label == "Langsiktig gjeld"
    assert "uncertain" in res.table.notes


def test_number_in_parentheses_by_footnote(svc):
    _, res = _resolve(svc, "Hvor mange elever fra andre kommuner gikk på Haug skole og ressurssenter i 2019?")
    t = res.table
    assert t.paren and t.value == 5 and t.value_raw == "5"
    _, res = _resolve(svc, "Hvor mange elever gikk på Haug skole og ressurssenter i 2019?")
    assert not res.table.paren and res.table.value == 117


def test_explicit_table_reference_wins(svc):
    _, res = _resolve(svc, "Hva viser tabell 7 for 2020?")
    assert res.table.cell.table.number == 7


def test_prose_number_and_sentence(svc):
    _, res = _resolve(svc, "Hvor mange innbyggere hadde Bærum ved utgangen av 2020?")
    assert res.choice == "prose"
    assert res.prose.value == 128233 and res.prose.value_raw == "128 233"
    assert res.prose.lines == (60, 60)


def test_prose_picks_the_number_the_question_asks_for(svc):
    _, res = _resolve(svc, "Hvor mye økte folketallet i 2020?")
    assert res.prose.value == 501


def test_numbers_in_skips_years_dates_and_names():
    nums = [n.raw for n in numbers_in("Covid-19 per 31. desember 2020: 32 dødsfall, 7. trinn, 1 500 tester, 4,4 prosent")]
    assert nums == ["32", "1 500", "4,4"]


def test_candidates_are_ranked(svc):
    deps = svc.deps
    a = analyze("barnevern disponibel ramme", deps.ctx)
    cands = table_candidates(deps.index, a, [], {s: deps.retriever.idf(s) for s in a.content})
    assert cands[0].cell.row.label == "Barnevern" and cands[0].cell.column == "Disponibel ramme"


def test_index_reads_signs_and_years():
    idx = ReportIndex(small_report(), small_service(dense=False).deps.ctx.analyzer)
    t3 = next(ti for ti in idx.tables if ti.table.number == 3)
    assert t3.sign_note is not None and t3.sign_note.subject == "overspend"
    t1 = next(ti for ti in idx.tables if ti.table.number == 1)
    assert t1.sign_note is not None and t1.sign_note.subject == "income"
    assert {c.kind for c in t1.columns} == {"budget", "actual", "diff"}
    assert idx.report_year == 2020
