"""Norwegian number formats: unit tests and property tests (hypothesis) for ingest.text,
ingest.rowparse and a generated table parsed end to end."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.numbers import format_no_number, parse_no_number
from ingest.parse import parse_report
from ingest.rowparse import numeric_runs, readings, tokenize

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------- parse_no_number


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("-1 878,6", -1878.6),
        ("7,02 %", 7.02),
        ("7,02%", 7.02),
        ("196,2 mill.", 196.2),
        ("0,0", 0.0),
        ("12 529", 12529.0),
        ("−5,0", -5.0),  # U+2212 minus sign
        ("–5,0", -5.0),  # en dash, as the PDF extraction prints it
        ("5,73 mnd.", 5.73),
        ("26 018 000", 26018000.0),
        ("110 (8)", 110.0),
        ("155¹", 155.0),
        ("-0,2 %", -0.2),
        ("1\u00a0234,5", 1234.5),  # no-break space between thousands groups
        ("  42 ", 42.0),
    ],
)
def test_parse_no_number(raw: str, value: float) -> None:
    assert parse_no_number(raw) == value


@pytest.mark.parametrize("raw", ["", "   ", "Prop. 127 S", "Min. 300 mill.", "–", "%"])
def test_parse_no_number_without_a_number(raw: str) -> None:
    assert parse_no_number(raw) is None


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (-1878.6, 1, "-1 878,6"),
        (12529, 0, "12 529"),
        (26018000, 0, "26 018 000"),
        (0.0, 1, "0,0"),
        (-0.04, 1, "0,0"),  # rounds to zero: no sign
        (5.73, 2, "5,73"),
        (999.95, 1, "1 000,0"),
        (-1166, 1, "-1 166,0"),
    ],
)
def test_format_no_number(value: float, decimals: int, text: str) -> None:
    assert format_no_number(value, decimals) == text


def test_format_no_number_without_grouping() -> None:
    assert format_no_number(-1878.6, 1, group=False) == "-1878,6"


# ----------------------------------------------------------------------------- round trip


@st.composite
def decimal_numbers(draw, max_digits: int = 15) -> tuple[float, int]:
    """A value with 0-3 decimals and at most `max_digits` significant digits, with its decimals."""
    decimals = draw(st.integers(0, 3))
    bound = 10**max_digits - 1
    scaled = draw(st.integers(-bound, bound))
    return scaled / 10**decimals, decimals


@SETTINGS
@given(decimal_numbers())
def test_format_then_parse_round_trips(number: tuple[float, int]) -> None:
    value, decimals = number
    text = format_no_number(value, decimals)
    assert parse_no_number(text) == value
    assert text.startswith("-") == (value < 0)
    integer, _, fraction = text.lstrip("-").partition(",")
    assert len(fraction) == decimals
    groups = integer.split(" ")
    assert 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


# ----------------------------------------------------------------------------- readings


@st.composite
def printed_number(draw) -> tuple[float, str]:
    decimals = draw(st.integers(0, 2))
    magnitude = draw(st.sampled_from([10, 1_000, 100_000, 10_000_000]))
    scaled = draw(st.integers(-magnitude * 10**decimals, magnitude * 10**decimals))
    value = scaled / 10**decimals
    return value, format_no_number(value, decimals)


@SETTINGS
@given(st.lists(printed_number(), min_size=1, max_size=8))
def test_readings_contain_the_true_reading(numbers: list[tuple[float, str]]) -> None:
    line = "Testrad " + " ".join(text for _, text in numbers)
    tokens = tokenize(line)
    assert numeric_runs(tokens) == [(1, len(tokens))]
    found = readings(tokens, 1, len(tokens))
    truth = [(value, text) for value, text in numbers]
    assert truth in [[(v.value, v.raw) for v in r] for r in found], (line, len(found))


def test_readings_of_an_ambiguous_line() -> None:
    tokens = tokenize("Kvinner 5 425 6 967")
    found = {tuple(v.raw for v in r) for r in readings(tokens, 1, len(tokens))}
    assert ("5 425", "6 967") in found
    assert ("5", "425", "6", "967") in found
    assert ("5 425 6",) not in found  # '6' is not a thousands group


# ----------------------------------------------------------------------------- a generated table

LETTERS = "abcdefghijklmnopqrstuvwxyzæøå"
_word = st.text(alphabet=LETTERS, min_size=2, max_size=10)


@st.composite
def labels(draw) -> str:
    words = draw(st.lists(_word, min_size=1, max_size=4))
    first = words[0]
    return " ".join([first[0].upper() + first[1:], *words[1:]])


@st.composite
def generated_table(draw) -> list[tuple[str, int, int]]:
    """Rows (label, 2019 in tenths, 2020 in tenths)."""
    names = draw(st.lists(labels(), min_size=3, max_size=12, unique_by=lambda s: s.lower()))
    tenths = st.integers(-99_999_9, 99_999_9)
    return [(name, draw(tenths), draw(tenths)) for name in names]


def render_table(rows: list[tuple[str, int, int]]) -> str:
    out = [
        "Innledende tekst om regnskapet.",
        "",
        "Tabell 3 viser testdata",
        "Mill. kr 2019 2020 Endring",
    ]
    for label, a, b in rows:
        cells = [format_no_number(x / 10, 1) for x in (a, b, b - a)]
        out.append(f"{label} {' '.join(cells)}")
    out += ["", "Teksten fortsetter etter tabellen.", ""]
    return "\n".join(out)


@SETTINGS
@given(generated_table())
def test_generated_table_parses_back(rows: list[tuple[str, int, int]]) -> None:
    text = render_table(rows)
    report = parse_report(text, "generert.txt")
    table = report.table(3)
    assert table is not None, text
    assert table.columns == ("2019", "2020", "Endring")
    assert table.unit == "Mill. kr"
    assert [r.label for r in table.rows] == [label for label, _, _ in rows], text
    for (label, a, b), row in zip(rows, table.rows, strict=True):
        assert [c.value for c in row.cells] == [a / 10, b / 10, (b - a) / 10], (text, label)
        assert [c.raw for c in row.cells] == [format_no_number(x / 10, 1) for x in (a, b, b - a)]
        assert row.source == f"{label} {' '.join(c.raw for c in row.cells)}"
        assert not row.uncertain


def test_generated_table_example() -> None:
    text = render_table([("Likviditet", 17_590, 13_722), ("Fond", 55_589, 54_642), ("Gjeld", -11_660, -5_020)])
    table = parse_report(text, "generert.txt").table(3)
    assert [c.raw for c in table.row("Gjeld").cells] == ["-1 166,0", "-502,0", "664,0"]
    assert table.row("Fond").cell("Endring").value == -94.7


@st.composite
def integer_table(draw) -> list[tuple[str, int, int]]:
    names = draw(st.lists(labels(), min_size=3, max_size=12, unique_by=lambda s: s.lower()))
    counts = st.integers(-99_999, 99_999)
    return [(name, draw(counts), draw(counts)) for name in names]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(integer_table())
def test_generated_integer_table_parses_back(rows: list[tuple[str, int, int]]) -> None:
    """Whole numbers are harder: '12 345 678' may be 12 345 | 678 or 12 | 345 678; the Endring column's
    arithmetic decides."""
    out = ["Tekst før tabellen.", "", "Tabell 3 viser testdata", "Antall 2019 2020 Endring"]
    out += [f"{label} {format_no_number(a)} {format_no_number(b)} {format_no_number(b - a)}" for label, a, b in rows]
    text = "\n".join([*out, "", "Tekst etter tabellen.", ""])
    table = parse_report(text, "generert.txt").table(3)
    assert table is not None and table.columns == ("2019", "2020", "Endring")
    assert [(r.label, [c.value for c in r.cells]) for r in table.rows] == [
        (label, [a, b, b - a]) for label, a, b in rows
    ], text
