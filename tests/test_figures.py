"""Prose figures: every number of a sentence with its unit, the words after it and its clause."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.figures import COUNT, FTE, MONEY, PERCENT, sentence_figures


def _figs(text: str) -> list[tuple[str, float, str | None, str]]:
    return [(f.raw, f.value, f.unit, f.unit_class) for f in sentence_figures(text)]


def test_numbers_with_units_and_norwegian_format() -> None:
    text = "I 2020 er det tapsført 10,3 mill. og 1 737,9 mill. kr gikk til 2 000 elever, mot -3,4 prosent i 2019."
    assert _figs(text) == [
        ("10,3", 10.3, "mill.", MONEY),
        ("1 737,9", 1737.9, "mill. kr", MONEY),
        ("2 000", 2000.0, None, COUNT),
        ("-3,4", -3.4, "prosent", PERCENT),
    ]


def test_years_dates_ordinals_and_references_are_not_figures() -> None:
    text = ("Per 31.12.2020 var 4. trinn og Tabell 7 viktige, jf. sak 82/12 fra 1. januar 2021; "
            "Covid-19 rammet 2019-2020, og 125 årsverk ble flyttet.")
    assert _figs(text) == [("125", 125.0, "årsverk", FTE)]


def test_words_after_and_the_clause() -> None:
    fig = sentence_figures("Kommunestyret avviklet 11 møter i 2020 og behandlet 136 saker.")
    assert [(f.raw, f.after.split()[0]) for f in fig] == [("11", "møter"), ("136", "saker")]
    assert "136 saker" in fig[1].clause and "11" not in fig[1].clause


def test_clause_ends_at_a_sentence_cut_after_mill() -> None:
    fig = sentence_figures("Prosjektets ramme var 475 mill. Prosjektet er oppjustert til 530 mill.")
    assert [f.raw for f in fig] == ["475", "530"]
    assert "oppjustert" in fig[1].clause and "oppjustert" not in fig[0].clause


def test_unit_words_are_whole_words() -> None:
    fig = sentence_figures("Netto driftsresultat ble 679 mill. kroner, som er 442 mill. høyere enn budsjettert.")
    assert [(f.raw, f.unit) for f in fig] == [("679", "mill. kroner"), ("442", "mill.")]
    assert fig[1].after.startswith("høyere")


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
def test_any_printed_number_is_read_back(whole: int, dec: int) -> None:
    printed = f"{whole:,}".replace(",", " ") + f",{dec:02d}"
    figs = sentence_figures(f"Beløpet var {printed} mill. kroner.")
    assert len(figs) == 1
    assert figs[0].raw == printed
    assert abs(figs[0].value - (whole + dec / 100)) < 1e-6
