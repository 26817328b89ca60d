"""`rapport tables` output: what was recovered per table and what is uncertain, with string ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.parse import parse_report
from ingest.records import Report
from ingest.tables_view import (
    render_table_grid,
    summarize,
    table_from_json,
    table_title,
    table_to_json,
    tables_to_json,
)

REPORT_PATH = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
TEXT = "\n".join([
    "Tabell 4.7 Sammendrag av økonomisk oversikt drift 2021. Alle tall i tusen kroner.",
    "Note Regnskap 2021 Regnskap 2020",
    "Rammetilskudd 3 -1 994 043 -1 878 600",
    "Avskrivninger 14 578 610 545 302",
    "Renter 1 200",
    "",
    "Økonomisk oversikt drift",
    "Beløp i 1 000 kr Regnskap 2021 Budsjett 2021 Avvik",
    "Skatt -6 525 600 -6 692 200 166 600",
    "Lønn 5 331 207 5 100 344 230 863",
    "Sum -1 194 393 -1 591 856 397 463",
])


@pytest.fixture(scope="module")
def report() -> Report:
    return parse_report(TEXT, "x.txt")


def test_grid_says_what_was_recovered_and_what_is_uncertain(report: Report) -> None:
    t = report.table("4.7")
    grid = render_table_grid(t)
    lines = grid.split("\n")
    assert lines[0] == "Tabell 4.7 Sammendrag av økonomisk oversikt drift 2021. Alle tall i tusen kroner."
    assert "enhet: Alle tall i tusen kroner" in lines[1]
    s = summarize(t)
    assert (s.columns, s.rows, s.cells) == (2, 3, 6)
    assert f"{s.numbers} tall, {s.empty} tomme, {s.text} tekst" in lines[2]
    uncertain = [r for r in t.rows if r.uncertain]
    assert uncertain, "the test expects a row the parser cannot settle ('Renter 1 200': one or two numbers?)"
    assert f"?? {len(uncertain)} usikre rader" in lines[2]
    tail = grid.split("  Usikre rader:\n")[1]
    for r in uncertain:
        assert f"linje {r.lines[0]}: «{r.label}»: {r.reason}" in tail
    assert "[3] Rammetilskudd" in grid and "[14] Avskrivninger" in grid  # note numbers shown


def test_grid_of_a_table_read_for_certain(report: Report) -> None:
    t = next(t for t in report.tables if t.number is None)
    grid = render_table_grid(t)
    assert grid.split("\n")[0] == "(uten nummer) Økonomisk oversikt drift"
    assert "3 kolonner, 3 rader, 9 celler: 9 tall, 0 tomme, 0 tekst; alle rader lest sikkert" in grid
    assert "Usikre rader" not in grid


def test_json_has_string_ids_and_a_summary(report: Report) -> None:
    data = json.loads(json.dumps(tables_to_json(list(report.tables)), ensure_ascii=False))
    ids = [t["id"] for t in data["tables"]]
    assert ids == ["4.7", None]
    first = data["tables"][0]
    assert first["number"] == "4.7"
    assert first["summary"]["cells"] == sum(len(r["cells"]) for r in first["rows"])
    assert first["summary"]["uncertain_rows"] == sum(r["uncertain"] for r in first["rows"])
    for t, d in zip(report.tables, data["tables"], strict=True):
        assert table_from_json(d) == t


def test_titles_of_uncaptioned_blocks() -> None:
    report = parse_report(REPORT_PATH.read_text(encoding="utf-8"), REPORT_PATH.name)
    under = next(t for t in report.tables if t.attached_to == "17")
    assert table_title(under).startswith("(uten nummer, under tabell 17) Tabell 17 viser")
    for t in report.tables:
        grid = render_table_grid(t)
        s = summarize(t)
        assert f"{s.columns} kolonner, {s.rows} rader, {s.cells} celler" in grid
        assert s.numbers + s.empty + s.text == s.cells
        assert table_from_json(table_to_json(t)) == t
