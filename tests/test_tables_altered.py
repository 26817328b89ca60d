"""Altered copies of the report: nothing in the parser may depend on this report's table numbers,
labels, positions or header wrapping.

Each test edits the bundled text (lines are checked before they are edited, so a changed corpus
fails loudly instead of testing nothing) and parses the copy with `parse_report`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.parse import parse_report
from ingest.records import Report, Table

REPORT_PATH = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"


@pytest.fixture(scope="session")
def text() -> str:
    return REPORT_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def original(text: str) -> Report:
    return parse_report(text, REPORT_PATH.name)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _join(lines: list[str]) -> str:
    return "\n".join(lines)


def _edit_line(lines: list[str], number: int, old: str, new: str) -> None:
    """Replace `old` by `new` on 1-based line `number`, which must contain `old`."""
    assert old in lines[number - 1], (number, lines[number - 1])
    lines[number - 1] = lines[number - 1].replace(old, new, 1)


def _parse(lines: list[str]) -> Report:
    return parse_report(_join(lines), "endret.txt")


def _cells(table: Table) -> list[tuple[str, tuple[tuple[str, str, float | None], ...]]]:
    return [(r.label, tuple((c.column, c.raw, c.value) for c in r.cells)) for r in table.rows]


def _row_values(table: Table, label: str) -> list[float | None]:
    row = table.row(label)
    assert row is not None, (label, [r.label for r in table.rows])
    return [c.value for c in row.cells]


def _same_table(a: Table, b: Table) -> None:
    assert a.columns == b.columns
    assert a.unit == b.unit
    assert _cells(a) == _cells(b)
    assert [(f.marker, f.text) for f in a.footnotes] == [(f.marker, f.text) for f in b.footnotes]


def _rows_point_at_source(report: Report) -> None:
    for t in report.tables:
        for r in t.rows:
            assert r.source == report.line_text(*r.lines), (t.cite_number, r.label)


# ----------------------------------------------------------------------------- (a) moved and renumbered


def test_swapped_captions_numbers_follow_the_captions(text: str, original: Report) -> None:
    lines = _lines(text)
    _edit_line(lines, 1335, "Tabell 7 viser", "Tabell 12 viser")
    _edit_line(lines, 2211, "Tabell 12 viser", "Tabell 7 viser")
    report = _parse(lines)
    seven, twelve = report.table(7), report.table(12)
    assert seven.caption == "Tabell 7 viser utviklingen i kommunens fondsmidler i perioden 2016–2020"
    assert twelve.caption == "Tabell 12 viser hovedtall fra balansen"
    _same_table(seven, original.table(12))
    _same_table(twelve, original.table(7))
    assert twelve.lines == original.table(7).lines
    assert sorted(int(t.number) for t in report.tables if t.number) == list(range(1, 28))


def _move_block(lines: list[str], first: int, last: int, before: int) -> list[str]:
    """Move 1-based lines first..last to just before line `before` (in the original numbering), with
    a blank line on each side."""
    block = lines[first - 1 : last]
    rest = lines[: first - 1] + lines[last:]
    at = before - 1 if before < first else before - 1 - len(block)
    return rest[:at] + ["", *block, ""] + rest[at:]


def test_moved_table_is_recovered_with_the_same_rows(text: str, original: Report) -> None:
    lines = _lines(text)
    assert lines[1335 - 1].strip().startswith("Tabell 7 viser") and lines[1346 - 1].startswith("     Herav til ref")
    assert lines[1957 - 1] == "" and lines[1958 - 1].startswith("Det viktigste måltallet")
    moved = _move_block(lines, 1335, 1346, 1958)  # between two paragraphs in chapter 5
    report = _parse(moved)
    table = report.table(7)
    assert table is not None
    _same_table(table, original.table(7))
    assert table.chapter.number == 5
    assert report.lines[table.lines[0] - 1].strip() == "Tabell 7 viser hovedtall fra balansen"
    _rows_point_at_source(report)
    # the other tables and the paragraphs on either side are untouched
    for n in range(1, 28):
        if n != 7:
            _same_table(report.table(n), original.table(n))
    texts = [p.text for p in report.passages]
    assert any(t.endswith("økonomiske svingninger.") for t in texts)
    assert any(t.startswith("Det viktigste måltallet i kommuneøkonomien er netto driftsresultat.") for t in texts)


def test_moved_table_with_footnotes_is_recovered(text: str, original: Report) -> None:
    """Tabell 11, caption to footnotes (lines 2199-2209), moved to the top of chapter 4's prose."""
    lines = _lines(text)
    assert lines[2199 - 1].strip().startswith("Tabell 11 viser") and lines[2209 - 1].startswith("3  Likviditetsgrad")
    assert lines[1711 - 1] == "" and lines[1712 - 1].startswith("For mer utfyllende statistikk")
    report = _parse(_move_block(lines, 2199, 2209, 1712))
    table = report.table(11)
    assert table is not None
    _same_table(table, original.table(11))
    assert table.lines[0] < 1730
    assert [f.marker for f in table.footnotes] == ["1", "2", "3"]
    _rows_point_at_source(report)


def test_renumbered_to_a_number_not_in_the_report(text: str, original: Report) -> None:
    lines = _lines(text)
    _edit_line(lines, 1335, "Tabell 7 viser", "Tabell 99 viser")
    report = _parse(lines)
    assert report.table(7) is None
    table = report.table(99)
    assert table is not None and table.caption.startswith("Tabell 99 viser")
    _same_table(table, original.table(7))


def test_renumbered_with_an_uncaptioned_block_underneath(text: str, original: Report) -> None:
    lines = _lines(text)
    _edit_line(lines, 2743, "Tabell 17 viser", "Tabell 42 viser")
    report = _parse(lines)
    _same_table(report.table(42), original.table(17))
    under = [t for t in report.tables if t.number is None and t.attached_to == "42"]
    assert len(under) == 1 and under[0].cite_number == "42"
    assert [r.label for r in under[0].rows][0] == "Omsorgsbolig for eldre"


# ----------------------------------------------------------------------------- (b) numbers changed


def test_changed_number_and_difference_are_followed(text: str) -> None:
    lines = _lines(text)
    _edit_line(lines, 350, "Netto driftsresultat -237,0 -679,4 442,4", "Netto driftsresultat -237,0 -702,3 465,3")
    report = _parse(lines)
    t = report.table(1)
    row = t.row("Netto driftsresultat")
    assert [(c.raw, c.value) for c in row.cells] == [("-237,0", -237.0), ("-702,3", -702.3), ("465,3", 465.3)]
    assert not row.uncertain
    assert report.table(10).row("Netto driftsresultat").cell("2020").value == -679.4  # only line 350 changed


def test_changed_number_gains_a_thousands_group(text: str) -> None:
    lines = _lines(text)
    _edit_line(lines, 338, "Barn og unge 3 332,3 3 309,1 23,1", "Barn og unge 13 332,3 3 309,1 10 023,2")
    _edit_line(lines, 438, "Sum Barn og unge  3 332,3", "Sum Barn og unge  13 332,3")
    report = _parse(lines)
    assert _row_values(report.table(1), "Barn og unge") == [13332.3, 3309.1, 10023.2]
    assert report.table(1).row("Barn og unge").cell("Budsjett 2020").raw == "13 332,3"
    assert _row_values(report.table(3), "Sum Barn og unge") == [13332.3, 62.9, 60.5, 2.4, 0.1]


def test_changed_numbers_in_a_table_without_arithmetic(text: str) -> None:
    lines = _lines(text)
    _edit_line(lines, 2983, "19 055 613 19 080 298 26 018 000", "9 055 613 119 080 298 6 018 000")
    _edit_line(lines, 2955, "Besøk 398 419 449 360 307 528", "Besøk 1 398 419 49 360 7 528")
    report = _parse(lines)
    assert _row_values(report.table(21), "Tilskudd idrettslag/-foreninger") == [9055613.0, 119080298.0, 6018000.0]
    assert _row_values(report.table(19), "Besøk") == [1398419.0, 49360.0, 7528.0]


def test_changed_sign_and_decimals(text: str) -> None:
    lines = _lines(text)
    _edit_line(lines, 1340, "Bundne driftsfond 125,5 235,1 109,7", "Bundne driftsfond -125,5 235,1 360,6")
    report = _parse(lines)
    assert _row_values(report.table(7), "Bundne driftsfond") == [-125.5, 235.1, 360.6]


# ----------------------------------------------------------------------------- (c) a row added


def test_row_added_to_tabell_1(text: str, original: Report) -> None:
    lines = _lines(text)
    assert lines[340 - 1].startswith("Miljø, idrett og kultur")
    lines.insert(340, "Ny testrad 10,0 20,0 -10,0")  # after line 340
    report = _parse(lines)
    t = report.table(1)
    assert len(t.rows) == len(original.table(1).rows) + 1
    row = t.row("Ny testrad")
    assert [(c.column, c.raw, c.value) for c in row.cells] == [
        ("Budsjett 2020", "10,0", 10.0), ("Regnskap 2020", "20,0", 20.0), ("Differanse 2020", "-10,0", -10.0)
    ]
    assert row.lines == (341, 341)
    labels = [r.label for r in t.rows]
    assert labels.index("Ny testrad") == labels.index("Miljø, idrett og kultur") + 1
    # the rows below keep their values and now point one line further down
    after = t.row("Politiske utvalgs disposisjoner")
    assert [c.value for c in after.cells] == [2.8, 0.3, 2.5] and after.lines == (342, 342)
    _rows_point_at_source(report)


def test_row_added_to_a_three_year_table(text: str, original: Report) -> None:
    lines = _lines(text)
    assert lines[2574 - 1].startswith("Elever ved alternative skoler")
    lines.insert(2574, "Nytt tiltak 1 234 1 567 1 890")
    report = _parse(lines)
    t = report.table(15)
    assert len(t.rows) == len(original.table(15).rows) + 1
    row = t.row("Nytt tiltak")
    assert [(c.column, c.raw, c.value) for c in row.cells] == [
        ("2018", "1 234", 1234.0), ("2019", "1 567", 1567.0), ("2020", "1 890", 1890.0)
    ]
    assert row.lines == (2575, 2575)
    _rows_point_at_source(report)


def test_row_with_an_empty_cell_added(text: str) -> None:
    lines = _lines(text)
    assert lines[893 - 1].startswith("Salg av varige driftsmidler")
    lines.insert(893, "Nytt salg av tomter -12,5  12,5")  # no Regnskap figure, like 'Utlån av egne midler'
    report = _parse(lines)
    row = report.table(6).row("Nytt salg av tomter")
    assert [(c.raw, c.value) for c in row.cells] == [("-12,5", -12.5), ("", None), ("12,5", 12.5)]


# ----------------------------------------------------------------------------- (d) header wrapped differently


def test_one_line_header_wrapped_over_three_fragments(text: str, original: Report) -> None:
    lines = _lines(text)
    assert lines[884 - 1] == "Budsjett 2020 Regnskap 2020 Avvik"
    lines[884 - 1 : 884] = ["Budsjett", "2020", "", "Regnskap", "2020", "", "Avvik"]
    report = _parse(lines)
    t = report.table(6)
    assert t.columns == ("Budsjett 2020", "Regnskap 2020", "Avvik")
    assert _cells(t) == _cells(original.table(6))


def test_wrapped_header_put_on_one_line(text: str, original: Report) -> None:
    lines = _lines(text)
    assert lines[318 - 1] == "Mill. kr Budsjett" and lines[325 - 1] == "2020"
    lines[318 - 1 : 325] = ["Mill. kr Budsjett 2020 Regnskap 2020 Differanse 2020"]
    report = _parse(lines)
    t = report.table(1)
    assert t.columns == ("Budsjett 2020", "Regnskap 2020", "Differanse 2020")
    assert t.unit == "Mill. kr"
    assert _cells(t) == _cells(original.table(1))


def test_header_names_split_differently(text: str, original: Report) -> None:
    lines = _lines(text)
    assert lines[1336 - 1].startswith("Mill. kr. 2019 2020 Endring")
    lines[1336 - 1 : 1336] = ["Mill. kr.", "2019", "2020", "Endring"]
    report = _parse(lines)
    t = report.table(7)
    assert t.columns == ("2019", "2020", "Endring")
    assert _cells(t) == _cells(original.table(7))


def test_header_that_cannot_be_read_marks_every_row_uncertain(text: str, original: Report) -> None:
    """Two names over three numeric columns: the columns get placeholder names and every row says
    why it cannot be trusted (the answers then warn), instead of guessing which number is which."""
    lines = _lines(text)
    _edit_line(lines, 884, "Budsjett 2020 Regnskap 2020 Avvik", "Budsjett Regnskap")
    t = _parse(lines).table(6)
    assert t.columns == ("Kolonne 1", "Kolonne 2", "Kolonne 3")
    assert all(r.uncertain and "kolonnenavnene" in (r.reason or "") for r in t.rows)
    assert [[c.value for c in r.cells] for r in t.rows] == [[c.value for c in r.cells] for r in original.table(6).rows]
    assert not any(r.uncertain for r in original.table(6).rows)


def test_every_table_renumbered(text: str, original: Report) -> None:
    """All 27 captions get number + 100 (the prose 'Tabell 9 viser at ...' on line 2081 is left alone)."""
    import re

    lines = _lines(text)
    starts = {t.lines[0] for t in original.tables if t.number is not None}
    for n in starts:
        lines[n - 1] = re.sub(r"Tabell (\d+) viser", lambda m: f"Tabell {int(m.group(1)) + 100} viser", lines[n - 1])
    report = _parse(lines)
    assert sorted(int(t.number) for t in report.tables if t.number is not None) == list(range(101, 128))
    for n in range(1, 28):
        _same_table(report.table(n + 100), original.table(n))
    assert sorted(t.attached_to for t in report.tables if t.number is None) == ["117", "123"]
