"""Table layouts of other municipal reports, on synthetic text whose cells are known (tests/synth.py).

Captions: dotted numbers, titles without «viser», captions under the table. Units in the caption,
header or a line of their own. Negatives with a space after the sign, U+2212 or an en dash. A row
whose numbers cannot be placed is uncertain with a reason and its label holds no numbers.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import (
    NEG_STYLES,
    Layout,
    TTable,
    budget_use_table,
    compare,
    document,
    key_figures_table,
    series_table,
    statement_table,
    with_notes,
)

from ingest.linekinds import match_caption
from ingest.parse import parse_report
from ingest.records import Report, Table

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(text: str) -> Report:
    return parse_report(text, "synthetic.txt")


def find(report: Report, truth: TTable) -> Table:
    if truth.number is not None:
        table = report.table(truth.number)
    else:
        table = next((t for t in report.tables if t.caption == truth.caption), None)
    assert table is not None, (truth.caption, [t.caption for t in report.tables])
    return table


def check(report: Report, truth: TTable, *, allow_uncertain: bool = False) -> Table:
    table = find(report, truth)
    problems = compare(table, truth)
    assert not problems, problems
    if not allow_uncertain:
        assert not [r.label for r in table.rows if r.uncertain], [(r.label, r.reason) for r in table.rows]
    return table


NUMBER_IN_LABEL = re.compile(r"\d[\d ]*,\d|\d \d{3}\b|\d{3,}")


def no_numbers_in_labels(report: Report) -> None:
    """No label holds a value: a decimal number, a grouped number or three or more digits
    (years excepted)."""
    for t in report.tables:
        for r in t.rows:
            label = re.sub(r"\b(?:19|20)\d{2}\b", "", r.label)
            assert not NUMBER_IN_LABEL.search(label), (t.caption, r.label)


# ----------------------------------------------------------------------------- captions


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Tabell 7 viser hovedtall fra balansen", ("7", "Tabell 7 viser hovedtall fra balansen")),
        (" Tabell 12  viser  utviklingen", ("12", "Tabell 12 viser utviklingen")),
        ("Tabell 4.7 Sammendrag av økonomisk oversikt drift 2021. Alle tall i tusen kroner.",
         ("4.7", "Tabell 4.7 Sammendrag av økonomisk oversikt drift 2021. Alle tall i tusen kroner.")),
        ("Tabell 3: Nøkkeltall", ("3", "Tabell 3: Nøkkeltall")),
        ("Tabell 3.2.1 – Investeringer", ("3.2.1", "Tabell 3.2.1 – Investeringer")),
        ("Tabell 5. Driftsresultat", ("5", "Tabell 5. Driftsresultat")),
        ("Tabell 9 viser at netto finansutgifter økte", None),  # a sentence about the table
        ("Tabell 9 viser", None),
        ("Tabell 4.7 nedenfor er hentet fra regnskapet", None),  # prose: lower case after the number
        ("Tabellen viser 2020", None),
        ("I tabell 4 ser vi", None),
    ],
)
def test_caption_forms(line: str, expected: tuple[str, str] | None) -> None:
    assert match_caption(line) == expected


@given(st.randoms(use_true_random=False), st.sampled_from(["title", "colon", "viser"]),
       st.sampled_from(["4.7", "12", "2.3.1"]))
@PROPERTY
def test_dotted_and_title_captions(rng: random.Random, style: str, number: str) -> None:
    truth = replace(statement_table(rng, number), caption_style=style)
    report = parse(document(rng, [(truth, Layout())]).text)
    table = check(report, truth)
    assert table.caption == truth.caption
    assert report.lines[table.lines[0] - 1] == truth.caption  # the table starts at its caption


@given(st.randoms(use_true_random=False), st.sampled_from(["title", "viser"]))
@PROPERTY
def test_caption_below_the_table(rng: random.Random, style: str) -> None:
    a = replace(statement_table(rng, "2.1"), caption_style=style)
    b = replace(series_table(rng, "2.2"), caption_style=style)
    doc = document(rng, [(a, Layout(caption_pos="below")), (b, Layout(caption_pos="below"))])
    report = parse(doc.text)
    ta, tb = check(report, a), check(report, b)
    # each table spans its header to its caption; nothing of one is in the other
    assert report.lines[ta.lines[1] - 1] == a.caption and report.lines[tb.lines[1] - 1] == b.caption
    assert ta.lines[1] < tb.lines[0]
    assert report.lines[ta.lines[0] - 1].startswith("Beløp i 1 000 kr") or "Regnskap" in report.lines[ta.lines[0] - 1]
    # the prose around the tables stays prose
    assert not any(t.lines[0] <= p.lines[0] <= t.lines[1] for t in report.tables for p in report.passages)


def test_captions_below_and_a_caption_between_two_tables() -> None:
    """Three tables, captions under each: the middle captions have rows above AND below; the
    report's habit (clear cases) says they close the table above."""
    rng = random.Random(7)
    tables = [series_table(rng, str(n)) for n in (1, 2, 3)]
    lines: list[str] = ["Innledning med en setning som slutter her.", ""]
    for t in tables:
        lines += ["2018 2019 2020 2021"]
        lines += [f"{r.label} " + " ".join(f"{v:.1f}".replace(".", ",") for v in r.values) for r in t.rows]
        lines += [t.caption]  # no blank line: the next table's header follows at once
    report = parse("\n".join(lines))
    assert [t.number for t in report.tables] == ["1", "2", "3"]
    for t, truth in zip(report.tables, tables, strict=True):
        assert [r.label for r in t.rows] == [r.label for r in truth.rows]
        assert report.lines[t.lines[1] - 1] == truth.caption


# ----------------------------------------------------------------------------- units


@pytest.mark.parametrize("unit", ["Alle tall i tusen kroner", "Beløp i 1 000 kr", "Mill. kr", "Tall i hele tusen",
                                  "Beløp i hele 1000 kr", "Tall i mill. kr"])
@pytest.mark.parametrize("where", ["caption", "header", "line"])
def test_unit_in_caption_header_or_own_line(unit: str, where: str) -> None:
    rng = random.Random(hash((unit, where)) % 1000)
    truth = replace(statement_table(rng, "6", unit=unit), unit_where=where, caption_style="title")
    report = parse(document(rng, [(truth, Layout())]).text)
    table = check(report, truth)
    assert table.unit == unit
    assert table.columns == tuple(truth.columns)  # the unit is not a column, its digits not a value


def test_unit_whitespace_normalised() -> None:
    text = "Tabell 2 viser drift.  Beløp   i 1 000\u00a0kr.\nRegnskap 2021 Budsjett 2021\nSkatt 1 200 1 100\nSum 1 200 1 100\n"
    assert parse(text).table("2").unit == "Beløp i 1 000 kr"


# ----------------------------------------------------------------------------- negatives


@given(st.randoms(use_true_random=False), st.sampled_from(NEG_STYLES), st.booleans())
@PROPERTY
def test_negatives_printed_apart_or_with_other_minus_signs(rng: random.Random, neg: str, below: bool) -> None:
    """'- 13 012 356', '− 13 012 356', '– 13 012 356': one negative number each; with space
    thousands separators the header's column count and the arithmetic (Avvik = Regnskap -
    Budsjett) settle where each number ends."""
    truth = statement_table(rng, "4.1", with_pct=rng.random() < 0.5)
    report = parse(document(rng, [(truth, Layout(neg_style=neg, caption_pos="below" if below else "above"))]).text)
    check(report, truth)
    no_numbers_in_labels(report)


def test_negative_raw_text_is_normalised() -> None:
    text = "Tabell 1 viser drift\nRegnskap Budsjett Avvik\nSkatt - 13 012 356 \u2212 12 000 000 \u2013 1 012 356\n"
    row = parse(text).table("1").row("Skatt")
    assert [(c.raw, c.value) for c in row.cells] == [
        ("-13 012 356", -13012356.0), ("-12 000 000", -12000000.0), ("-1 012 356", -1012356.0)
    ]


# ----------------------------------------------------------------------------- labels keep no numbers


def test_values_before_a_comment_with_numbers_never_stay_in_the_label() -> None:
    """'Bufferfondet 457 452 Min. 100 mill.': the first run is the values, the rest the comment."""
    text = "\n".join([
        "Tabell 9 viser nøkkeltall",
        "Mill. kr 2019 2020 2021 Måltall",
        "Resultatgrad 8,6 % 9,4 % 5,3 % 4 % (min. 3 %)",
        "Bufferfondet 457 452 Min. 100 mill.",
        "Likviditetsreserve 1 283 1 771 1 959 Min. 300 mill.",
    ])
    t = parse(text).table("9")
    row = t.row("Bufferfondet")
    assert row is not None, [r.label for r in t.rows]
    assert row.cell("Måltall").raw == "Min. 100 mill."
    assert row.uncertain and row.reason  # two numbers for three year columns: which are they?
    assert sorted(c.value for c in row.cells if c.value is not None) == [452.0, 457.0]
    assert t.row("Likviditetsreserve").cell("2021").value == 1959.0


@given(st.randoms(use_true_random=False), st.integers(1, 3))
@PROPERTY
def test_too_many_or_too_few_numbers_mark_the_row_not_the_label(rng: random.Random, extra: int) -> None:
    """A row printed with numbers missing or added: uncertain with a reason, the label clean, and
    the other rows read as their truth."""
    truth = series_table(rng, "3", n_rows=6)
    doc = document(rng, [(truth, Layout())])
    i = next(n for n, line in enumerate(doc.lines) if line.startswith(truth.rows[2].label + " "))
    parts = doc.lines[i].split(" ")
    doc.lines[i] = " ".join(parts[: -extra]) if rng.random() < 0.5 else doc.lines[i] + " 1 234,5" * extra
    report = parse(doc.text)
    table = find(report, truth)
    no_numbers_in_labels(report)
    bad = table.row(truth.rows[2].label)
    assert bad is not None and bad.uncertain and bad.reason
    assert table.columns == tuple(truth.columns)
    for row, trow in zip(table.rows, truth.rows, strict=True):
        if row is not bad:
            assert [c.value for c in row.cells] == trow.values, row.label


@given(st.randoms(use_true_random=False))
@PROPERTY
def test_labels_that_end_in_a_digit(rng: random.Random) -> None:
    """'Likviditetsgrad 1 2,14 1,95' under 'Regnskap 2020 Regnskap 2021': two values, the 1 is the
    label's."""
    truth = key_figures_table(rng, "5")
    table = check(parse(document(rng, [(truth, Layout())]).text), truth)
    assert table.row("Likviditetsgrad 1") is not None and table.row("Likviditetsgrad 2") is not None


# ----------------------------------------------------------------------------- cells


@given(st.randoms(use_true_random=False))
@PROPERTY
def test_empty_cells_are_read_or_marked_uncertain(rng: random.Random) -> None:
    """A missing figure prints as one more space, which a text extraction may not keep: a row
    is either read as its truth or uncertain with a reason, never silently wrong ('12 608,6'
    split into '12 | 608,6' is caught by the column's format)."""
    truth = series_table(rng, "6", empties=True)
    report = parse(document(rng, [(truth, Layout())]).text)
    check(report, truth, allow_uncertain=True)
    no_numbers_in_labels(report)


@given(st.randoms(use_true_random=False))
@PROPERTY
def test_deviation_and_percent_of_budget_side_by_side(rng: random.Random) -> None:
    """'Budsjett Regnskap Avvik Forbruk i %': '522 233 542 393 -20 160 103,9 %' is four numbers
    (the header names four, Avvik = Budsjett - Regnskap)."""
    truth = replace(budget_use_table(rng, "9"), unit_where="header")
    table = check(parse(document(rng, [(truth, Layout())]).text), truth)
    assert table.unit == "Tall i hele tusen"
    assert all(r.cells[3].raw.endswith(" %") for r in table.rows)


def test_percent_inside_cells() -> None:
    text = "\n".join([
        "Tabell 3 viser nøkkeltall",
        "2020 2021",
        "Netto driftsresultat 7,6 % -1,2 %",
        "Gjeldsgrad 103 % 98 %",
    ])
    t = parse(text).table("3")
    assert [(c.raw, c.value) for c in t.row("Netto driftsresultat").cells] == [("7,6 %", 7.6), ("-1,2 %", -1.2)]
    assert [c.value for c in t.row("Gjeldsgrad").cells] == [103.0, 98.0]


# ----------------------------------------------------------------------------- one cell per line, tabs


@given(st.randoms(use_true_random=False), st.sampled_from(["above", "below"]), st.sampled_from(NEG_STYLES))
@PROPERTY
def test_one_cell_per_line(rng: random.Random, caption_pos: str, neg: str) -> None:
    """Label on a line, then each value on a line of its own (header names one per line too)."""
    truth = statement_table(rng, "7.2", with_pct=rng.random() < 0.5)
    doc = document(rng, [(truth, Layout(one_per_line=True, caption_pos=caption_pos, neg_style=neg))])
    report = parse(doc.text)
    table = check(report, truth)
    first = table.rows[0]
    assert first.lines[1] - first.lines[0] == len(truth.columns)  # label line + one line per value
    assert first.source == report.line_text(*first.lines)


@given(st.randoms(use_true_random=False))
@PROPERTY
def test_one_cell_per_line_key_figures_and_series(rng: random.Random) -> None:
    truth = key_figures_table(rng, "1")
    check(parse(document(rng, [(truth, Layout(one_per_line=True))]).text), truth)
    series = series_table(rng, "2")
    check(parse(document(rng, [(series, Layout(one_per_line=True))]).text), series)


@given(st.randoms(use_true_random=False))
@PROPERTY
def test_one_cell_per_line_with_empty_cells(rng: random.Random) -> None:
    """Nothing printed for an empty cell: such a row cannot say which cell is empty (uncertain);
    the header of periods still gives the column count."""
    truth = series_table(rng, "2", empties=True)
    report = parse(document(rng, [(truth, Layout(one_per_line=True))]).text)
    table = check(report, truth, allow_uncertain=True)
    for row, trow in zip(table.rows, truth.rows, strict=True):
        if None in trow.values:
            assert row.uncertain or [c.value for c in row.cells] == trow.values


def test_one_cell_per_line_dash_is_an_empty_cell() -> None:
    text = "\n".join(["Tabell 2 viser drift", "2020", "2021", "Skatt", "1 200", "–", "Renter", "-", "-350",
                      "Sum", "1 200", "-350"])
    t = parse(text).table("2")
    assert [(c.raw, c.value) for c in t.row("Skatt").cells] == [("1 200", 1200.0), ("", None)]
    assert [(c.raw, c.value) for c in t.row("Renter").cells] == [("", None), ("-350", -350.0)]
    assert not any(r.uncertain for r in t.rows)


@given(st.randoms(use_true_random=False), st.sampled_from(NEG_STYLES))
@PROPERTY
def test_tab_separated_cells(rng: random.Random, neg: str) -> None:
    """Tab-separated text (what the PDF reader emits): an empty field is an empty cell in its place."""
    for truth in (series_table(rng, "3", empties=True), statement_table(rng, "4", with_pct=True)):
        report = parse(document(rng, [(truth, Layout(tabbed=True, neg_style=neg))]).text)
        check(report, truth)


# ----------------------------------------------------------------------------- note columns


@given(st.randoms(use_true_random=False), st.sampled_from(["before_values", "before_label"]),
       st.sampled_from(["text", "tabbed", "one_per_line"]), st.booleans())
@PROPERTY
def test_note_numbers(rng: random.Random, where: str, form: str, big: bool) -> None:
    """'Avskrivninger 14 4 578 610' under a 'Note' header, or '14. Avskrivninger 4 578 610': the
    14 is the row's note, not a value or a label word ('14 457 861' is settled by the arithmetic)."""
    if form == "one_per_line" and where == "before_label":
        form = "text"
    truth = with_notes(statement_table(rng, "5.3", with_pct=rng.random() < 0.3, big=big), rng)
    layout = Layout(note_col=where, tabbed=form == "tabbed", one_per_line=form == "one_per_line")
    table = check(parse(document(rng, [(truth, layout)]).text), truth)
    assert "Note" not in table.columns


def test_line_numbers_on_every_row_stay_in_the_label() -> None:
    """'1 Rammetilskudd', '2 Inntekts- og formuesskatt' ...: numbering, not notes."""
    text = "\n".join([
        "Tabell 1 viser bevilgningsoversikt drift",
        "Regnskap 2021 Budsjett 2021",
        "1 Rammetilskudd -1 994 043 -1 878 600",
        "2 Inntekts- og formuesskatt -6 525 600 -6 692 200",
        "3 Sum generelle driftsinntekter -8 519 643 -8 570 800",
    ])
    t = parse(text).table("1")
    assert [r.label for r in t.rows] == ["1 Rammetilskudd", "2 Inntekts- og formuesskatt",
                                         "3 Sum generelle driftsinntekter"]
    assert all(r.note is None for r in t.rows)
    assert t.row("1 Rammetilskudd").cells[0].value == -1994043.0


def test_note_in_json() -> None:
    from ingest.tables_view import table_from_json, table_to_json

    text = "Tabell 1 viser drift\nNote Regnskap 2021 Budsjett 2021\nAvskrivninger 14 4 578 610 4 400 000\n" \
           "Renter -12 000 -11 000\n"
    t = parse(text).table("1")
    assert t.row("Avskrivninger").note == "14" and t.row("Renter").note is None
    assert [c.value for c in t.row("Avskrivninger").cells] == [4578610.0, 4400000.0]
    assert table_from_json(table_to_json(t)) == t


# ----------------------------------------------------------------------------- the bundled report, edited


def test_bufferfondet_row_with_two_numbers_keeps_a_clean_label() -> None:
    """In the bundled Tabell 9, 'Bufferfondet 457 452 Min. 100 mill.' once gave the label
    'Bufferfondet 457 452 Min.'; now the row is uncertain, its label clean, its comment a cell."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
    lines = path.read_text(encoding="utf-8").split("\n")
    original = parse("\n".join(lines)).table("9")
    assert lines[1940 - 1] == "Bufferfondet 465 486 468 498 549 493 Min. 100 mill. siste år"
    lines[1940 - 1] = "Bufferfondet 457 452 Min. 100 mill. siste år"
    t = parse("\n".join(lines)).table("9")
    assert [r.label for r in t.rows] == [r.label for r in original.rows]
    row = t.row("Bufferfondet")
    assert row.uncertain and row.reason
    assert row.cell("Måltall").raw == "Min. 100 mill. siste år"
    assert t.columns == original.columns
    for r in t.rows:
        if r.label != "Bufferfondet":
            assert r == original.row(r.label)


def test_space_grouped_numbers_run_together_are_settled_by_arithmetic() -> None:
    """'1 694 216 114 252 1 579 964': where each number ends only the column count and
    Avvik = Regnskap - Budsjett tell."""
    text = "\n".join([
        "Tabell 2 viser driftsinntekter",
        "Regnskap 2021 Budsjett 2021 Avvik",
        "Salgsinntekter 1 694 216 114 252 1 579 964",
        "Refusjoner 253 184 240 000 13 184",
        "Overføringer 45 002 52 870 -7 868",
        "Sum 1 992 402 407 122 1 585 280",
    ])
    t = parse(text).table("2")
    row = t.row("Salgsinntekter")
    assert [c.value for c in row.cells] == [1694216.0, 114252.0, 1579964.0] and not row.uncertain
    # without the arithmetic the same figures are either read right or marked uncertain
    bare = "\n".join([
        "Tabell 2 viser driftsinntekter",
        "Regnskap 2021 Budsjett 2021",
        "Salgsinntekter 1 694 216 114 252",
        "Refusjoner 253 184 240 000",
        "Overføringer 45 002 52 870",
        "Sum 1 992 402 407 122",
    ])
    t = parse(bare).table("2")
    for r, want in zip(t.rows, [[1694216.0, 114252.0], [253184.0, 240000.0], [45002.0, 52870.0],
                                [1992402.0, 407122.0]], strict=True):
        assert r.uncertain or [c.value for c in r.cells] == want, (r.label, [c.raw for c in r.cells])
        assert not re.search(r"\d", r.label)


def test_tab_separated_header_names_are_taken_whole() -> None:
    """Names from a PDF's columns: 'Regnskap Bærum 2021' is one name, not two."""
    text = "\n".join([
        "Tabell 8 viser drift",
        "Beløp i 1 000 kr\tRegnskap Bærum 2021\tBudsjett Bærum 2021\tavvik i kr",
        "Skatt\t-6 525 600\t-6 692 200\t166 600",
        "Lønn\t5 331 207\t5 100 344\t230 863",
    ])
    t = parse(text).table("8")
    assert t.columns == ("Regnskap Bærum 2021", "Budsjett Bærum 2021", "avvik i kr")
    assert t.unit == "Beløp i 1 000 kr"
    assert [c.value for c in t.row("Skatt").cells] == [-6525600.0, -6692200.0, 166600.0]
