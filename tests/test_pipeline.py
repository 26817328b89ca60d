"""Ingest end to end (hash embeddings: fast and offline): several reports in one index, added,
reused, removed and upgraded; and the `rapport` commands that read the index only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakereport import fake_report_text

import ingest.pipeline as pipeline
from ingest.pipeline import IngestError, list_reports, read_report, remove_report, run_ingest
from rapport.cli import main
from rapport.settings import Settings


def _settings(tmp_path: Path, source: Path | None = None) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedding="hash", source=source)


def _fake(tmp_path: Path, name: str = "eksempel-2021.txt", **kw) -> Path:
    path = tmp_path / name
    path.write_text(fake_report_text(**kw), encoding="utf-8")
    return path


def test_reports_are_added_reused_and_removed(tmp_path: Path) -> None:
    first = run_ingest(_settings(tmp_path), progress=False)
    assert first.report_id == "baerum-2020" and first.tables >= 27 and first.cells > 1000
    assert 1000 < first.embedded <= first.units and first.reports == ("baerum-2020",)  # distinct texts once
    again = run_ingest(_settings(tmp_path), progress=False)
    assert again.reused and again.collection == first.collection and again.embedded == 0

    second = run_ingest(_settings(tmp_path, _fake(tmp_path, year=2021)), progress=False)
    assert second.report_id == "eksempel-2021" and not second.reused
    assert set(second.reports) == {"baerum-2020", "eksempel-2021"}
    assert second.embedded <= second.units  # only the new report's texts were embedded
    assert [r.id for r in list_reports(_settings(tmp_path))] == ["baerum-2020", "eksempel-2021"]

    # the same report again (same content): nothing new
    assert run_ingest(_settings(tmp_path, _fake(tmp_path, year=2021)), progress=False).reused

    info = remove_report(_settings(tmp_path), "eksempel-2021")
    assert [r.id for r in info.reports] == ["baerum-2020"]
    with pytest.raises(IngestError, match="only report"):
        remove_report(_settings(tmp_path), "baerum-2020")
    with pytest.raises(IngestError, match="No report 'nope'"):
        remove_report(_settings(tmp_path), "nope")


def test_a_new_version_of_a_report_replaces_the_old_one(tmp_path: Path) -> None:
    run_ingest(_settings(tmp_path, _fake(tmp_path, year=2021)), progress=False)
    changed = run_ingest(_settings(tmp_path, _fake(tmp_path, "ny.txt", year=2021, scale=1.2)), progress=False)
    assert changed.reports == ("eksempel-2021",)  # same id: replaced, not added


def test_metadata_is_read_from_the_text_and_can_be_overridden(tmp_path: Path) -> None:
    report = read_report(_fake(tmp_path, municipality="Nabo", year=2019))
    assert report.meta is not None
    assert (report.meta.id, report.meta.municipality, report.meta.year) == ("nabo-2019", "Nabo kommune", 2019)
    given = read_report(_fake(tmp_path), municipality="Øvre Eiker kommune", year=2022)
    assert given.meta.id == "ovre-2022" and given.meta.title == "Årsrapport 2020"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"\x00\x01\x02binary\x00" * 50, "binary"),
        ("Årsrapport".encode("latin-1") * 20, "UTF-8"),
    ],
)
def test_bad_source_gives_a_clear_error_and_keeps_the_index(tmp_path: Path, content: bytes | None, message: str) -> None:
    good = run_ingest(_settings(tmp_path, _fake(tmp_path)), progress=False)
    bad = tmp_path / "bad.txt"
    if content is not None:
        bad.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        run_ingest(_settings(tmp_path, bad), progress=False)
    assert run_ingest(_settings(tmp_path, _fake(tmp_path)), progress=False).collection == good.collection


def _cli(args: list[str], tmp_path: Path) -> str:
    result = CliRunner().invoke(main, args, env={"RAPPORT_EMBEDDING": "hash", "RAPPORT_DATA_DIR": ""})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def test_commands_read_the_index_not_the_source(tmp_path: Path) -> None:
    """`rapport ingest --source F --data-dir D`, then ask/tables/reports with only --data-dir D,
    after F is gone."""
    source = _fake(tmp_path, "nabo.txt", municipality="Nabo", year=2021)
    data = str(tmp_path / "d")
    _cli(["ingest", "--source", str(source), "--data-dir", data, "--no-progress"], tmp_path)
    source.unlink()
    listed = _cli(["reports", "--data-dir", data], tmp_path)
    assert "nabo-2021" in listed and "Nabo kommune" in listed
    grid = _cli(["tables", "2", "--data-dir", data], tmp_path)
    assert "Barnehageplasser" in grid and "2 590" in grid
    tables = json.loads(_cli(["tables", "--json", "--data-dir", data], tmp_path))
    assert set(tables) == {"nabo-2021"}
    answer = json.loads(_cli(["ask", "--json", "--data-dir", data, "Hvor mange barnehageplasser var det i 2021?"],
                             tmp_path))
    assert answer["citations"] == [] or answer["citations"][0]["report"] == "nabo-2021"


def test_an_index_built_by_another_parser_is_upgraded_from_itself(tmp_path: Path, monkeypatch) -> None:
    source = _fake(tmp_path, "nabo.txt", municipality="Nabo", year=2021)
    data = str(tmp_path / "d")
    monkeypatch.setattr(pipeline, "PARSER_VERSION", "an-older-parser")
    _cli(["ingest", "--source", str(source), "--data-dir", data, "--no-progress"], tmp_path)
    monkeypatch.undo()
    source.unlink()
    stale = CliRunner().invoke(main, ["ask", "--data-dir", data, "Hvor mange elever?"],
                               env={"RAPPORT_EMBEDDING": "hash", "RAPPORT_DATA_DIR": ""})
    assert stale.exit_code != 0 and "another version" in stale.output and "--upgrade" in stale.output
    upgraded = _cli(["ingest", "--upgrade", "--data-dir", data, "--no-progress"], tmp_path)
    assert "nabo-2021" in upgraded
    _cli(["ask", "--data-dir", data, "Hvor mange elever?"], tmp_path)


def test_cli_ingest_bad_input_has_no_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ingest", "--source", str(tmp_path / "nope.txt"), "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "not found" in result.output
    assert "Traceback" not in result.output


def test_commands_on_an_empty_data_dir_say_what_to_run(tmp_path: Path) -> None:
    for args in (["ask", "Hei?"], ["tables"], ["reports"]):
        result = CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path / "empty")], env={"RAPPORT_EMBEDDING": "hash"})
        assert "Traceback" not in result.output
        assert "rapport ingest" in result.output


def test_rebuilds_leave_only_the_live_builds_vector_files(tmp_path: Path) -> None:
    """Chroma 1.x keeps a deleted collection's vector-index directory (chroma-core/chroma#5259):
    after each build the pipeline removes those of collections its catalogue no longer lists."""
    import sqlite3

    for year in (2019, 2020, 2021):
        run_ingest(_settings(tmp_path, _fake(tmp_path, name=f"e{year}.txt", year=year)), progress=False)
    store = tmp_path / "data" / "chroma"
    dirs = {p.name for p in store.iterdir() if p.is_dir()}
    with sqlite3.connect(store / "chroma.sqlite3") as con:
        live = {row[0] for row in con.execute("SELECT id FROM segments")}
    assert dirs and dirs <= live  # three builds were written; only the live one's files are left
    assert len(list_reports(_settings(tmp_path))) == 3
