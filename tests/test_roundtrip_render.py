"""Round trip: every parsed number, rendered back Norwegian style, is found in its row's source text.

For each row with numbers, every numeric cell is rendered with `format_no_number` (space between
thousands groups, decimal comma, as many decimals as the printed text) and looked for IN ORDER in
`row.source`: after the label, as one contiguous run (only whitespace, '%', an annotation like
'(8)', a unit word or a footnote marker between two values), with nothing numeric left over after
the run except the row's text cells. A footnote marker may be glued after a number ('155¹', or
'4222' for 422 with footnote 2, when the row lists that marker).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.numbers import format_no_number
from ingest.parse import parse_report
from ingest.records import Cell, Report, Row

REPORT_PATH = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
SUPERS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_NUMBER_PART = re.compile(r"^-?\d{1,3}(?: \d{3})*(?:,(\d+))?|^-?\d+(?:,(\d+))?")
_GAP = re.compile(rf"^(?:\s|%|\(\d+\)|mill\.|mnd\.|kr\.?|[{SUPERS}])*$")
# (table, first line) of rows that fail because of a known parser bug, tested strictly below
KNOWN_PARSER_BUGS: set[tuple[int, int]] = set()  # (table, first line) of rows with a known parser bug


@pytest.fixture(scope="session")
def report() -> Report:
    return parse_report(REPORT_PATH.read_text(encoding="utf-8"), REPORT_PATH.name)


def render(cell: Cell) -> str:
    """The cell's value rendered Norwegian style with the decimals of its printed text."""
    m = _NUMBER_PART.match(cell.raw)
    assert m, cell
    decimals = len(m.group(1) or m.group(2) or "")
    return format_no_number(cell.value, decimals)


def _pattern(rendered: str, markers: tuple[str, ...]) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(g) for g in rendered.lstrip("-").split(" "))
    sign = "[-−–]" if rendered.startswith("-") else ""
    glued = "|".join(re.escape(m) for m in markers if len(m) == 1)
    marker = rf"(?:[{SUPERS}]+{'|' + glued if glued else ''})?"
    return re.compile(rf"(?<![\d,]){sign}{body}{marker}(?![\d,])")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(f"[{SUPERS}\u00ad¬]", "", text)).strip()


def check_row(row: Row) -> str | None:
    """None when the row round-trips, else why not."""
    source = row.source
    numeric = [c for c in row.cells if c.value is not None]
    texts = [c for c in row.cells if c.value is None and c.raw]
    # start after the label (its last word; a label printed on lines above the numbers is not in source)
    pos = 0
    last_word = row.label.split()[-1]
    found = source.find(last_word)
    if found >= 0 and last_word not in " ".join(c.raw for c in numeric + texts):
        pos = found + len(last_word)
    prev_end = None
    for cell in numeric:
        rendered = render(cell)
        m = _pattern(rendered, row.footnotes).search(source, pos)
        if m is None:
            return f"{cell.column}: {rendered!r} not found after offset {pos} in {source!r}"
        if prev_end is not None and not _GAP.match(source[prev_end : m.start()]):
            return f"{cell.column}: {rendered!r} is not next to the value before it ({source[prev_end:m.start()]!r})"
        prev_end = pos = m.end()
    # what follows the run: the rest of the last value's printed text ('% (min. 3 %)', 'mill.') and text cells
    rest = _norm(source[pos:])
    last_raw = numeric[-1].raw
    tail = _norm(last_raw[_NUMBER_PART.match(last_raw).end() :])
    for piece in [tail, *(_norm(c.raw) for c in texts)]:
        if piece and piece in rest:
            rest = rest.replace(piece, " ", 1)
    rest = _norm(rest)
    if re.search(r"\d", rest):
        return f"numbers left over after the run: {rest!r}"
    return None


def test_render_examples() -> None:
    assert render(Cell("x", "-1 878,6", -1878.6)) == "-1 878,6"
    assert render(Cell("x", "7,0 %", 7.0)) == "7,0"
    assert render(Cell("x", "5,73 mnd.", 5.73)) == "5,73"
    assert render(Cell("x", "110 (8)", 110.0)) == "110"
    assert render(Cell("x", "26 018 000", 26018000.0)) == "26 018 000"
    assert render(Cell("x", "0,0", 0.0)) == "0,0"
    row = Row("Akuttvedtak", (Cell("a", "25", 25.0), Cell("b", "17", 17.0), Cell("c", "15", 15.0)), (1, 1),
              "Akuttvedtak 25 174 15", footnotes=("4",))
    assert check_row(row) is None
    wrong = Row("Akuttvedtak", (Cell("a", "25", 25.0), Cell("b", "174", 174.0)), (1, 1), "Akuttvedtak 25 174 15")
    assert check_row(wrong) is not None  # a value left over
    swapped = Row("X", (Cell("a", "2", 2.0), Cell("b", "1", 1.0)), (1, 1), "X 1 2")
    assert check_row(swapped) is not None  # out of order


def test_every_numeric_row_renders_back_into_its_source(report: Report) -> None:
    rows = [(t, r) for t in report.tables for r in t.rows if any(c.value is not None for c in r.cells)]
    assert len(rows) >= 290
    failures = []
    passed = 0
    for t, r in rows:
        why = check_row(r)
        if why is None:
            passed += 1
        else:
            failures.append((t.cite_number, r.lines[0], r.label, r.uncertain, why))
    uncertain = [r for _, r in rows if r.uncertain]
    share = passed / len(rows)
    print(f"\nround trip: {passed}/{len(rows)} numeric rows pass ({share:.1%}); "
          f"{len(uncertain)} uncertain ({len(uncertain) / len(rows):.1%})")
    for f in failures:
        print("  FAIL", f)
    unexplained = [f for f in failures if not f[3] and (f[0], f[1]) not in KNOWN_PARSER_BUGS]
    assert not unexplained, "rows not marked uncertain must round-trip"
    assert len(uncertain) <= 0.03 * len(rows)
