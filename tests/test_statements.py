"""Uncaptioned financial statements ('Økonomisk oversikt drift' over a header and rows)."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import Layout, compare, document, statement_table, with_notes

from ingest.parse import parse_report
from ingest.records import Table

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def statements(text: str) -> list[Table]:
    return [t for t in parse_report(text, "x.txt").tables if t.number is None]


@given(st.randoms(use_true_random=False), st.sampled_from(["text", "tabbed", "one_per_line"]),
       st.sampled_from(["header", "line"]), st.booleans())
@PROPERTY
def test_statement_under_a_heading(rng: random.Random, form: str, unit_where: str, notes: bool) -> None:
    truth = replace(statement_table(rng, None, with_pct=rng.random() < 0.5), unit_where=unit_where,
                    title=rng.choice(["økonomisk oversikt drift", "bevilgningsoversikt drift", "balanse"]))
    if notes:
        truth = with_notes(truth, rng)
    layout = Layout(caption_pos="none", tabbed=form == "tabbed", one_per_line=form == "one_per_line",
                    note_col="before_values" if notes else None)
    found = statements(document(rng, [(truth, layout)]).text)
    assert [t.caption for t in found] == [truth.caption]
    table = found[0]
    assert table.attached_to is None and table.cite_number is None
    assert not compare(table, truth), compare(table, truth)
    assert not any(r.uncertain for r in table.rows)


def test_statement_with_sections_and_a_second_statement() -> None:
    lines = [
        "Regnskapet er avlagt etter forskriften.",
        "",
        "Bevilgningsoversikt drift",
        "Beløp i 1 000 kr Regnskap 2021 Regulert budsjett 2021 Regnskap 2020",
        "Generelle driftsinntekter",
        "Rammetilskudd -1 994 043 -1 878 600 -1 850 112",
        "Inntekts- og formuesskatt -6 525 600 -6 692 200 -6 301 045",
        "Sum generelle driftsinntekter -8 519 643 -8 570 800 -8 151 157",
        "Netto driftsutgifter",
        "Sektorene 7 737 000 8 083 500 7 512 220",
        "",
        "Økonomisk oversikt etter art – drift",
        "Beløp i 1 000 kr Regnskap 2021 Regnskap 2020",
        "Lønnsutgifter 5 331 207 5 100 344",
        "Sosiale utgifter 1 403 992 1 350 021",
        "Avskrivninger 578 610 545 302",
        "",
        "Tabellene viser at driften gikk bedre enn budsjettert.",
    ]
    found = statements("\n".join(lines))
    assert [t.caption for t in found] == ["Bevilgningsoversikt drift", "Økonomisk oversikt etter art – drift"]
    first, second = found
    assert first.columns == ("Regnskap 2021", "Regulert budsjett 2021", "Regnskap 2020")
    assert first.unit == "Beløp i 1 000 kr"
    assert [(r.section, r.label) for r in first.rows] == [
        ("Generelle driftsinntekter", "Rammetilskudd"), ("Generelle driftsinntekter", "Inntekts- og formuesskatt"),
        ("Generelle driftsinntekter", "Sum generelle driftsinntekter"), ("Netto driftsutgifter", "Sektorene")]
    assert [c.value for c in first.row("Sum generelle driftsinntekter").cells] == [-8519643.0, -8570800.0, -8151157.0]
    assert first.lines == (3, 10)
    assert [c.value for c in second.row("Avskrivninger").cells] == [578610.0, 545302.0]
    assert second.lines == (12, 16)


def test_headings_over_prose_or_lists_are_not_tables() -> None:
    lines = [
        "Utfordringer fremover",
        "Kommunen må tilpasse driften til lavere inntekter i 2022.",
        "",
        "Viktige resultater 2021",
        "• Netto driftsresultat ble 2,1 prosent",
        "• Gjelden økte med 312 mill. kroner",
        "• Sykefraværet var 7,1 prosent",
        "",
        "Nøkkeltall",
        "Det ble bygget 726 boliger i 2020 mot 971 i 2017 og 538 i 2008.",
    ]
    assert parse_report("\n".join(lines), "x.txt").tables == ()
