"""Mechanisms that let answers generalise past the phrasings the resolver was built on: compounds
named by separate words, acronyms the report never prints, "forskjellen mellom X og Y", where-
questions, a row named exactly inside a long question, a qualifier only a sibling row carries,
subtotal rows found by arithmetic. Each on a small hand-built report, plus altered variants."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_rag_fixtures import CH13, _row, small_report, small_service

from ingest.records import Row, Table
from rag.query import analyze, find_acronyms, find_compare
from rag.resolve import sums_rows_above
from rag.text import Analyzer


def _report(extra_rows_26: tuple[Row, ...] = (), t17_number: int = 17):
    base = small_report()
    t26 = base.table(26)
    assert t26 is not None
    t26 = replace(t26, rows=(*t26.rows, *extra_rows_26))
    t17 = Table(
        t17_number,
        f"Tabell {t17_number} viser antall personer med tjenester i pleie og omsorg",
        None,
        ("2018", "2019", "2020"),
        (
            _row("Brukerstyrt personlig assistanse", 70, [("2018", "167", 167.0), ("2019", "166", 166.0),
                                                          ("2020", "157", 157.0)]),
            _row("herav institusjonsplasseringer i løpet av året", 71, [("2018", "31", 31.0), ("2019", "19", 19.0),
                                                                        ("2020", "17", 17.0)]),
            _row("Renteinntekter", 72, [("2018", "-60,1", -60.1), ("2019", "-81,0", -81.0), ("2020", "-86,3", -86.3)]),
            _row("Rente og inv. komp. fra staten", 73, [("2018", "-12,0", -12.0), ("2019", "-13,0", -13.0),
                                                        ("2020", "-13,5", -13.5)]),
        ),
        (69, 73),
        CH13,
    )
    lines = list(base.lines)
    for t in (t26, t17):
        lines[t.lines[0] - 1] = t.caption
        for r in t.rows:
            lines[r.lines[0] - 1] = r.source
    tables = tuple(t26 if t.number == 26 else t for t in base.tables) + (t17,)
    return replace(base, lines=tuple(lines), tables=tables)


_SECTOR_ROWS = (
    _row("Andel fagstillinger – Pleie og omsorg", 97, [("2018", "76,3 %", 76.3), ("2019", "77,5 %", 77.5),
                                                     ("2020", "76,4 %", 76.4)]),
    _row("Andel fagstillinger – Oppvekst skole", 98, [("2018", "80,1 %", 80.1), ("2019", "81,0 %", 81.0),
                                                    ("2020", "82,2 %", 82.2)]),
)


@pytest.fixture(scope="module")
def svc():
    return small_service(_report(_SECTOR_ROWS), dense=False)


# --------------------------------------------------------------------------- compounds


def test_separate_words_assemble_a_compound():
    an = Analyzer(["institusjon", "plassering", "institusjonsplasseringer", "rente", "inntekter", "renteinntekter"])
    label = an.field("herav institusjonsplasseringer i løpet av året")
    q = frozenset(an.tokens("barn plassert i institusjon"))
    assert label.assembled_words(q) == {an.stem("institusjonsplasseringer")}
    assert an.stem("plassert") in label.assembled(q)  # 'plasser' ~ 'plassering' (prefix relation)
    assert not label.assembled(frozenset(an.tokens("barn i institusjon")))  # one part alone is not enough


def test_interest_income_reaches_renteinntekter_not_rente_row(svc):
    a = svc.ask("How much interest income did the municipality have in 2020?")
    assert a.citations[0].row == "Renteinntekter" and a.value == -86.3


def test_plassert_i_institusjon_reaches_the_compound_row(svc):
    state = svc.chain.invoke({"question": "Hvor mange barn ble plassert i institusjon i 2019?", "history": []})
    t = state["resolution"].table
    assert t.cell.row.label == "herav institusjonsplasseringer i løpet av året" and t.value == 19


# --------------------------------------------------------------------------- acronyms


def test_find_acronyms_from_definitions_and_label_initials():
    an = Analyzer()
    acr = find_acronyms(an, ["Kommunale akutte døgnplasser (KAD) ble opprettet."], ["Brukerstyrt personlig assistanse"])
    assert acr["kad"] == ((an.stem("kommunale"), an.stem("akutte"), an.stem("døgnplasser")),)
    assert acr["bpa"] == ((an.stem("brukerstyrt"), an.stem("personlig"), an.stem("assistanse")),)


def test_acronym_the_report_never_prints_finds_its_row(svc):
    a = svc.ask("Hvor mange hadde BPA i 2020?")
    assert not a.abstained and a.citations[0].row == "Brukerstyrt personlig assistanse" and a.value == 157


def test_acronym_follows_a_renumbered_table():
    a = small_service(_report(_SECTOR_ROWS, t17_number=41), dense=False).ask("Hvor mange hadde BPA i 2019?")
    assert a.citations[0].table == 41 and a.value == 166


# --------------------------------------------------------------------------- questions


@pytest.mark.parametrize(
    ("question", "wants"),
    [
        ("Hvor har kommunen satt ut sauer på beite?", False),
        ("Hvor ble den første ladestasjonen satt opp?", False),
        ("Hvor ligger teststasjonen?", False),
        ("Hvor mange sauer er det på Storøya?", True),
        ("Hvor lenge varte stengingen?", True),
        ("Hvilket tall endte likviditetsgraden på i 2020?", True),
        ("Hvilken styringsmodell bruker kommunen?", False),
        ("Which figure did the liquidity ratio end at?", True),
        ("Where is the test station?", False),
    ],
)
def test_where_asks_for_a_place_and_which_figure_for_a_number(svc, question, wants):
    assert analyze(question, svc.deps.ctx).wants_number is wants


@pytest.mark.parametrize(
    ("text", "compare"),
    [
        ("Hvor stort var lønnsgapet mellom menn og kvinner blant toppledere?", "than"),
        ("What was the difference in pay between men and women?", "than"),
        ("Hva var forskjellen mellom kvinner og menn?", "than"),
        ("Hva var differansen mellom budsjett og regnskap for barnevern?", "budget"),
        ("Hvor mange barn gikk i barnehage mellom 2018 og 2020?", None),  # no difference word
    ],
)
def test_difference_between_two_named_things(text, compare):
    assert find_compare(text, [])[0] == compare


@pytest.mark.parametrize(
    "question",
    [
        "Hvor stort var lønnsgapet i kroner mellom menn og kvinner blant toppledere i 2020?",
        "What was the difference in average pay between men and women among top managers (toppledere) in 2020?",
    ],
)
def test_gap_between_men_and_women_is_computed_men_minus_women(svc, question):
    a = svc.ask(question)
    assert a.value == 83931 and [c.column for c in a.citations[:2]] == ["Snitt menn 2020", "Snitt kvinner 2020"]


def test_where_question_prefers_the_sentence_with_the_place():
    base = small_report()
    text1 = "Det er etablert et sauebeite på Storøya."
    text2 = "Beitet er et tiltak mot at fremmede arter sprer seg i naturområdene."
    lines = list(base.lines)
    lines[102], lines[103] = text1, text2
    passage = replace(base.passages[-1], text=f"{text1} {text2}", raw=f"{text1}\n{text2}", lines=(103, 104))
    report = replace(base, lines=tuple(lines), passages=(*base.passages, passage))
    a = small_service(report, dense=False).ask("Hvor har kommunen satt ut sauer på beite for å hindre at fremmede arter sprer seg?")
    assert not a.abstained and "Storøya" in a.answer


# --------------------------------------------------------------------------- abstention


def test_a_row_named_exactly_is_answered_despite_many_qualifier_words(svc):
    question = "Hvor mye penger hadde kommunen i likviditetsreserven i 2019 når tallene er presentert i løpende kroner?"
    state = svc.chain.invoke({"question": question, "history": []})
    t = state["resolution"].table
    assert t.table_coverage < 0.45  # below the plain coverage bar: answered because the row is named
    assert not state["verdict"].abstain and t.value == 1759.0


def test_a_bare_sum_row_is_not_enough_to_answer(svc):
    a = svc.ask("Hvor mange tannleger og tannpleiere jobbet totalt i kommunen?")
    assert a.abstained and a.value is None


def test_a_qualifier_only_a_sibling_row_carries_means_no_answer(svc):
    a = svc.ask("Hva var sykefraværet i pleie og omsorg i 2020?")
    assert a.abstained and a.value is None
    assert "Andel fagstillinger – Pleie og omsorg" in a.answer
    assert svc.ask("Hva var andelen fagstillinger i pleie og omsorg i 2020?").value == 76.4
    assert svc.ask("Hva var sykefraværet i 2020?").value == 7.0


def test_without_the_sibling_rows_the_qualifier_check_stays_quiet():
    a = small_service(_report(()), dense=False).ask("Hva var sykefraværet i pleie og omsorg i 2020?")
    assert "fagstillinger" not in a.answer


# --------------------------------------------------------------------------- subtotals


def _rows(values: list[float]) -> list[Row]:
    return [_row(f"r{i}", i + 1, [("A", str(v), v)]) for i, v in enumerate(values)]


@given(st.lists(st.integers(-5000, 5000), min_size=2, max_size=8), st.integers(0, 3))
def test_sum_of_the_rows_above_is_a_subtotal(values, lead):
    head = [7919.0 + i for i in range(lead)]  # unrelated rows above the run
    rows = _rows([*head, *map(float, values), float(sum(values))])
    assert sums_rows_above(rows, len(rows) - 1)


@given(st.lists(st.integers(1, 5000), min_size=2, max_size=8), st.integers(1, 900))
def test_a_row_off_by_more_than_rounding_is_no_subtotal(values, off):
    rows = _rows([*map(float, values), float(sum(values) + off)])
    # positive values: no run of rows above can reach sum + off
    assert not sums_rows_above(rows, len(rows) - 1)


# --------------------------------------------------------------------------- question details


def test_year_before_an_event_is_not_the_year_before_a_named_year():
    from rag.query import find_years

    assert find_years("Hvor mange krevde fagutdanning året før pandemien (2019)?")[0] == (2019,)
    assert find_years("Hva var sykefraværet i 2020 og året før?")[0] == (2020, 2019)
    assert find_years("What was it in 2020 and the year before?")[0] == (2020, 2019)
    assert find_years("Hva var sykefraværet ett år før 2018?")[0] == (2017,)


def test_words_in_parentheses_are_a_gloss_that_cannot_hurt(svc):
    plain = analyze("Hvor stor var likviditetsreserven i 2019?", svc.deps.ctx)
    glossed = analyze("Hvor stor var likviditetsreserven (pengebufferen, kontantbeholdningen o.l.) i 2019?",
                      svc.deps.ctx)
    assert [t.light for t in glossed.terms if t.word == "kontantbeholdningen"] == [True]
    a, b = svc.ask(plain.text), svc.ask(glossed.text)
    assert not b.abstained and b.value == a.value == 1759.0


def test_the_municipalitys_demonym_means_its_inhabitants(svc):
    a = analyze("Hvor mye gjeld hadde kommunen per bærumsbu?", svc.deps.ctx)
    (term,) = [t for t in a.terms if t.word == "bærumsbu"]
    assert (svc.deps.ctx.analyzer.stem("innbyggere"),) in term.alts


def _with_passage(text: str):
    base = small_report()
    lines = list(base.lines)
    lines[104] = text
    passage = replace(base.passages[-1], text=text, raw=text, lines=(105, 105))
    return replace(base, lines=tuple(lines), passages=(*base.passages, passage))


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("Hvor mange brukere hadde mikromobilitetsprosjektet med elsparkesykler?", 13000),
        ("Hvor mange elsparkesykler hadde mikromobilitetsprosjektet for brukerne?", 450),
        ("How many users (brukere) did the micromobility project (mikromobilitetsprosjektet) have?", 13000),
    ],
)
def test_how_many_picks_the_number_of_what_it_counts(question, value):
    svc = small_service(_with_passage(
        "Mikromobilitetsprosjektet hadde 450 elsparkesykler ved årsskiftet, og over 13 000 brukere tok dem i bruk."
    ), dense=False)
    a = svc.ask(question)
    assert not a.abstained and a.value == value


# --------------------------------------------------------------------------- table footnotes


@pytest.fixture(scope="module")
def altered_footnote_service():
    from pathlib import Path

    from ingest.parse import parse_report

    path = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
    text = path.read_text(encoding="utf-8")
    old = "Totalt 574 arrangementer i Bærum Kulturhus ble avlyst i 2020"
    assert text.count(old) == 1
    return small_service(parse_report(text.replace(old, old.replace("574", "612")), "endret.txt"), dense=False)


@pytest.mark.parametrize(
    "question",
    [
        "Hvor mange arrangementer ble avlyst i Bærum Kulturhus i 2020?",
        "How many events at Bærum Kulturhus were cancelled in 2020?",
    ],
)
def test_a_fact_only_a_table_footnote_holds_is_answered_from_the_altered_text(altered_footnote_service, question):
    a = altered_footnote_service.ask(question)
    assert not a.abstained and a.value == 612
    assert "612 arrangementer" in a.citations[0].quote and a.citations[0].table is None


def test_a_comparison_with_last_year_speaks_of_the_reports_year():
    svc = small_service(_with_passage(
        "Skatteinngangen ble 300 mill. lavere enn i 2019, en prosentvis nedgang på 4,4 prosent."
    ), dense=False)
    a = svc.ask("Hvor stor prosentvis nedgang var det i skatteinngangen fra 2019 til 2020?")
    assert not a.abstained and a.value == 4.4


def test_a_budget_figure_is_not_the_amount_spent():
    svc = small_service(_with_passage(
        "Budsjettet for ordførerens representasjonskonto var i 2020 på til sammen 2 835 000 kroner, "
        "og av dette ble 303 734 kroner brukt."
    ), dense=False)
    assert svc.ask("Hvor mye ble brukt av ordførerens representasjonskonto i 2020?").value == 303734
    assert svc.ask("Hva var budsjettet for ordførerens representasjonskonto i 2020?").value == 2835000


@pytest.mark.parametrize(
    ("unit", "label", "expected"),
    [
        ("Mill. 2020-kr", "Sum lånegjeld, per innbygger", "2020-kr per innbygger"),
        ("Mill. kr.", "Netto driftsresultat", "Mill. kr"),
        (None, "Sykefravær", None),
        ("Mill. kr", "Tilskudd (kroner) per medlem", "kr per medlem"),
    ],
)
def test_the_json_unit_of_a_per_row_is_not_the_tables_millions(unit, label, expected):
    from rag.answer import row_unit

    assert row_unit(unit, label) == expected


# --------------------------------------------------------------------------- amounts spent


@pytest.mark.parametrize(
    ("question", "lang"),
    [("Hvor mye brukte kommunen på barnevern?", "no"), ("How much did the municipality spend on child welfare?", "en")],
)
def test_spent_is_the_frame_minus_the_underspend_when_no_accounts_column(svc, question, lang):
    """Tabell 3 has a budget frame and mer-/mindreforbruk (overspend negative), no accounts:
    what was spent is computed, shown and both cells cited, never the frame passed off as spent."""
    a = svc.ask(question)
    assert a.value == 211.5 and a.lang == lang
    assert [(c.table, c.row, c.column) for c in a.citations[:2]] == [
        (3, "Barnevern", "Disponibel ramme"), (3, "Barnevern", "Mer-/mindreforbruk")]
    assert "231,5" in a.answer and "20,0" in a.answer
    # the frame itself, and the underspend itself, are still answered as printed
    assert svc.ask("Hva var disponibel ramme for barnevern?").value == 231.5
    assert svc.ask("Hvor stort var mindreforbruket i barnevernet?").value == 20.0


def test_spent_is_not_computed_without_the_overspend_sign_note():
    base = small_report()
    t3 = base.table(3)
    assert t3 is not None
    plain = replace(t3, caption="Tabell 3 viser mer- og mindreforbruk per sektor og programområde")
    lines = list(base.lines)
    lines[plain.lines[0] - 1] = plain.caption
    report = replace(base, lines=tuple(lines), tables=tuple(plain if t.number == 3 else t for t in base.tables))
    a = small_service(report, dense=False).ask("Hvor mye brukte kommunen på barnevern?")
    assert a.value != 211.5  # which sign means underspending is unknown: no computation


def test_a_missing_year_the_question_only_implies_is_not_printed(svc):
    """'ett år før 2018' is 2017, which the table lacks: say so without printing a year the
    question does not contain (no number in an answer that is not in the question or a source)."""
    a = svc.ask("Hva var sykefraværet ett år før 2018?")
    assert a.abstained and "2017" not in a.answer
    assert svc.ask("Hva var sykefraværet i 2016?").answer.startswith("Rapporten har ikke tall for 2016")
