"""rag.text: Norwegian tokenisation, numbers, compounds, language."""

from __future__ import annotations

import pytest

from ingest.numbers import format_no_number, parse_no_number
from rag.text import Analyzer, detect_language, join_numbers, raw_tokens


def test_one_character_tokens_and_numbers_survive():
    toks = raw_tokens("Tabell 7 viser -1 878,6 mill. kr og 7,02 %")
    assert "7" in toks
    assert "1878,6" in toks
    assert "7,02" in toks


def test_grouped_numbers_join_but_years_stay_apart():
    assert join_numbers("128 233 personer") == "128233 personer"
    assert join_numbers("2019 2020") == "2019 2020"


def test_layout_noise_is_cleaned():
    # soft hyphen as printed ('¬'), superscript footnote marker, unicode minus
    assert raw_tokens("kostnads¬effektiviserende Brutto driftsresultat³ −679,4") == [
        "kostnadseffektiviserende",
        "brutto",
        "driftsresultat",
        "679,4",
    ]


def test_stems_and_stopwords():
    a = Analyzer()
    toks = a.tokens("Hvor mye fikk kommunen i skatteinntekter i 2020?")
    assert "skatteinntekt" in toks
    assert "2020" in toks
    assert "hvor" not in toks and "mye" not in toks
    # «i fjor» (last year) is a time, read by the question analysis, not a thing asked about
    assert a.tokens("Hvor mye fikk kommunen i skatt i fjor?") == a.tokens("Hvor mye fikk kommunen i skatt?")


def test_compound_split_uses_the_corpus_vocabulary():
    a = Analyzer()
    assert a.split_compound("skatteinntektene") == ()  # no vocabulary: no split
    a.set_vocabulary(["skatt", "inntekter", "barnehage", "plasser", "plansaker"])
    assert a.split_compound("skatteinntektene") == ("skatt", "inntekt")
    assert a.split_compound("barnehageplasser") == (a.stem("barnehage"), "plass")


def test_elided_compounds_are_completed():
    a = Analyzer(vocabulary=["mindre", "forbruk", "formue", "skatt", "inntekt"])
    assert a.expand_elisions("Mer-/mindreforbruk").lower().startswith("merforbruk")
    assert "inntektsskatt" in a.expand_elisions("Inntekts- og formuesskatt").lower()
    assert "merforbruk" in a.tokens("Mer-/mindreforbruk")


def test_field_separates_whole_words_from_compound_parts():
    a = Analyzer(vocabulary=["plan", "saker", "sak"])
    f = a.field("Plansaker sluttbehandlet")
    assert "plansak" in f.whole
    assert "sak" in f.parts and "sak" not in f.whole


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hva var netto driftsresultat i 2020?", "no"),
        ("What was the net operating result (netto driftsresultat) in 2020?", "en"),
        ("How many pupils were enrolled at ungdomstrinnet in 2019?", "en"),
        ("Hvor mange elever gikk på barnetrinnet?", "no"),
        ("", "no"),
    ],
)
def test_language(text, lang):
    assert detect_language(text) == lang


def test_numbers_parse_and_format_norwegian_style():
    assert parse_no_number("-1 878,6") == -1878.6
    assert parse_no_number("7,02 %") == 7.02
    assert parse_no_number("ingen tall") is None
    assert format_no_number(-1878.6, 1) == "-1 878,6"
    assert format_no_number(442.4, 1) == "442,4"
    assert format_no_number(-0.04, 1) == "0,0"
    assert format_no_number(268) == "268"
