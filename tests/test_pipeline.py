"""Ingest end to end (hash embeddings: fast and offline) and the `rapport` CLI around it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.pipeline import IngestError, load_report, run_ingest
from rapport.cli import main
from rapport.settings import Settings, bundled_report_path


def _settings(tmp_path: Path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedding="hash", **kw)


def test_ingest_builds_then_reuses(tmp_path: Path) -> None:
    first = run_ingest(_settings(tmp_path), progress=False)
    assert first.tables >= 27 and first.rows > 250 and first.cells > 1000
    assert first.chunks > first.rows  # one per row, plus prose and whole tables
    assert not first.reused
    again = run_ingest(_settings(tmp_path), progress=False)
    assert again.reused and again.collection == first.collection


def test_changed_source_builds_a_new_index(tmp_path: Path) -> None:
    first = run_ingest(_settings(tmp_path), progress=False)
    text = bundled_report_path().read_text(encoding="utf-8").replace("-679,4", "-702,3")
    changed = tmp_path / "endret.txt"
    changed.write_text(text, encoding="utf-8")
    second = run_ingest(_settings(tmp_path, source=changed), progress=False)
    assert not second.reused and second.collection != first.collection


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"\x00\x01\x02binary\x00" * 50, "binary"),
        ("Årsrapport".encode("latin-1") * 20, "UTF-8"),
        (b"Bare prosa her. Ingen tabeller i det hele tatt.\n" * 10, "No tables found"),
    ],
)
def test_bad_source_gives_a_clear_error_and_keeps_the_index(tmp_path: Path, content: bytes | None, message: str) -> None:
    good = run_ingest(_settings(tmp_path), progress=False)
    bad = tmp_path / "bad.txt"
    if content is not None:
        bad.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        run_ingest(_settings(tmp_path, source=bad), progress=False)
    still = run_ingest(_settings(tmp_path), progress=False)
    assert still.reused and still.collection == good.collection


def test_cli_ingest_bad_input_has_no_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ingest", "--source", str(tmp_path / "nope.txt"), "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "not found" in result.output
    assert "Traceback" not in result.output


def test_cli_tables_json_schema() -> None:
    result = CliRunner().invoke(main, ["tables", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (table,) = data["tables"]
    assert table["number"] == 1
    assert {"number", "caption", "unit", "columns", "lines", "footnotes", "rows"} <= set(table)
    row = next(r for r in table["rows"] if r["label"] == "Netto driftsresultat")
    assert {"label", "lines", "uncertain", "cells"} <= set(row)
    cell = next(c for c in row["cells"] if c["column"] == "Regnskap 2020")
    assert cell == {"column": "Regnskap 2020", "raw": "-679,4", "value": -679.4}
    first, last = row["lines"]
    assert "-679,4" in bundled_report_path().read_text(encoding="utf-8").split("\n")[first - 1]


def test_cli_tables_text_grid_and_unknown_table() -> None:
    ok = CliRunner().invoke(main, ["tables", "7"])
    assert ok.exit_code == 0 and "Likviditetsreserve" in ok.output and "1 372,2" in ok.output
    missing = CliRunner().invoke(main, ["tables", "99"])
    assert missing.exit_code != 0 and "No table 99" in missing.output


def test_load_report_reads_a_pdf(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for line in [
        "Tabell 1 viser testtall for drift",
        "Mill. kr 2019 2020 Endring",
        "Skatteinntekter -6 913,4 -6 525,6 387,8",
        "Rammetilskudd -1 462,0 -1 994,0 -532,0",
        "Sum -8 375,4 -8 519,6 -144,2",
        "",
        "Dette er en vanlig setning etter tabellen.",
    ]:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "rapport.pdf"
    pdf.output(str(path))
    report = load_report(path)
    table = report.table(1)
    assert table is not None and table.columns == ("2019", "2020", "Endring")
    row = table.row("Rammetilskudd")
    assert row is not None and [c.value for c in row.cells] == [-1462.0, -1994.0, -532.0]
