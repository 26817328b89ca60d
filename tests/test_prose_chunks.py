"""Prose passages and retrieval chunks of the bundled report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.chunks import build_chunks
from ingest.parse import parse_report
from ingest.records import Chunk, Passage, Report
from ingest.tables_view import table_from_json, table_to_json

REPORT_PATH = Path(__file__).resolve().parents[1] / "ingest" / "corpus" / "baerum-arsrapport-2020.txt"
TERMINAL = (".", "!", "?", ":", ".»", ".)", ")", "»")


@pytest.fixture(scope="session")
def report() -> Report:
    return parse_report(REPORT_PATH.read_text(encoding="utf-8"), REPORT_PATH.name)


@pytest.fixture(scope="session")
def chunks(report: Report) -> list[Chunk]:
    return build_chunks(report)


def passage_lines(report: Report, p: Passage) -> list[int]:
    """The 1-based lines a passage is made of (its span may jump over a table or a sidebar)."""
    wanted = p.raw.split("\n")
    found: list[int] = []
    n = p.lines[0]
    for text in wanted:
        while n <= p.lines[1] and report.lines[n - 1] != text:
            n += 1
        assert n <= p.lines[1], (p.lines, text)
        found.append(n)
        n += 1
    assert found[0] == p.lines[0] and found[-1] == p.lines[1]
    return found


def _passages_with(report: Report, needle: str) -> list[Passage]:
    return [p for p in report.passages if needle in p.text]


# ----------------------------------------------------------------------------- passages


def test_bullet_cut_by_a_blank_line_is_one_passage(report: Report) -> None:
    assert report.lines[226 - 1].startswith("• Netto driftsresultat ble 679 millioner kroner, som er")
    assert report.lines[227 - 1] == ""
    assert report.lines[228 - 1].startswith("442 mill. høyere enn budsjett.")
    bullet = next(p for p in report.passages if p.lines[0] == 226)
    assert bullet.kind == "bullet"
    assert bullet.text.startswith("Netto driftsresultat ble 679 millioner kroner, som er 442 mill. høyere enn budsjett.")
    assert bullet.text.endswith("Skatteinngangen ble lavere enn forventet.")
    assert passage_lines(report, bullet) == [226, 228, 229, 230, 231, 232, 233]
    assert bullet.chapter.number == 2


def test_sentence_broken_by_a_sidebar_is_one_passage(report: Report) -> None:
    assert report.lines[266 - 1].rstrip().endswith("Netto driftsresultat for 2020 på")
    assert report.lines[274 - 1].startswith("679 mill. er dermed 140 mill. lavere enn i 2019")
    found = _passages_with(report, "Netto driftsresultat for 2020 på 679 mill. er dermed 140 mill. lavere enn i 2019")
    assert len(found) == 1
    p = found[0]
    lines = passage_lines(report, p)
    assert 266 in lines and 274 in lines
    assert not set(range(268, 273)) & set(lines)  # the sidebar is not inside the sentence
    assert "Årsberetningen er en del av" not in p.text
    assert p.text.endswith("høyere enn budsjett.")
    # the sidebar is a passage of its own
    sidebar = _passages_with(report, "Årsberetningen er en del av kommunedirektørens samlede rapportering")
    assert len(sidebar) == 1 and sidebar[0].lines == (268, 272)


def test_soft_hyphens(report: Report) -> None:
    for p in report.passages:
        assert "¬" not in p.text and "\u00ad" not in p.text, p.lines
    soft = [n for n, line in enumerate(report.lines, start=1) if "¬" in line]
    assert soft == [241, 306, 859, 997, 1602, 1603]
    for n in soft:
        holders = [p for p in report.passages if p.lines[0] <= n <= p.lines[1] and report.lines[n - 1] in p.raw.split("\n")]
        assert len(holders) == 1, n
        assert "¬" in holders[0].raw
    bullet = next(p for p in report.passages if p.lines[0] == 238)
    assert "handlings¬program-periode" in bullet.raw
    assert bullet.text.endswith("i slutten av hver handlingsprogram-periode.")


def test_every_passage_has_a_chapter(report: Report) -> None:
    assert len(report.passages) > 300
    for p in report.passages:
        assert p.chapter in report.chapters, p.lines
        assert p.chapter.lines[0] <= p.lines[0] <= p.chapter.lines[1], p.lines
        assert p.text.strip() and p.raw.strip()
        assert p.kind in ("paragraph", "bullet", "footnote")


def test_passages_stay_in_their_chapter_and_skip_headings(report: Report) -> None:
    for p in report.passages:
        assert p.chapter.lines[0] <= p.lines[0] and p.lines[1] <= p.chapter.lines[1], (p.lines, p.text[:60])
        assert "bygningstjenesten12" not in p.text and not p.text.startswith("NATUR, KULTUR,")
    bullet = next(p for p in report.passages if p.lines[0] == 3024)
    assert bullet.text == ("Lokal massehåndtering har hatt høy prioritet, og arbeidet med planer for friluftsøya i "
                           "Lysakerfjorden og utvikling ved Lakseberget er godt i gang.")


def test_figure_captions_are_not_glued_to_the_next_paragraph(report: Report) -> None:
    for start in ("Netto driftsresultat har variert mer enn brutto driftsresultat.",
                  "22 virksomheter i Bærum ble miljøfyrtårnsertifisert i 2020"):
        holder = _passages_with(report, start)
        assert len(holder) == 1 and holder[0].text.startswith(start), [p.text[:80] for p in holder]


def test_no_passage_takes_a_table_line(report: Report) -> None:
    """No passage is made of table lines. A passage's span may enclose a whole table only when it is a
    sentence printed on both sides of the table (e.g. lines 654/697 around Tabell 5)."""
    in_table: dict[int, int | None] = {}
    for t in report.tables:
        for n in range(t.lines[0], t.lines[1] + 1):
            in_table[n] = t.cite_number
    for p in report.passages:
        if p.kind == "footnote":  # a table's footnote: printed under its rows, inside its span
            continue
        lines = passage_lines(report, p)
        taken = [n for n in lines if n in in_table]
        assert not taken, (p.lines, taken, p.text[:80])
        for t in report.tables:
            if p.lines[0] <= t.lines[1] and t.lines[0] <= p.lines[1]:
                assert p.lines[0] < t.lines[0] and t.lines[1] < p.lines[1], (p.lines, t.cite_number)
    around_5 = next(p for p in report.passages if 654 in passage_lines(report, p))
    assert "På den annen side har også pandemien forårsaket mindreutgifter" in around_5.text


def test_table_footnotes_are_passages_under_the_tables_caption(report: Report) -> None:
    """Footnotes hold facts no row holds ("Totalt 574 arrangementer ... ble avlyst"): each is a
    passage (kind footnote) with its own lines, the caption as section, the marker left out."""
    notes = [p for p in report.passages if p.kind == "footnote"]
    assert len(notes) == sum(1 for t in report.tables for f in t.footnotes if len(f.text.split()) >= 3)
    for t in report.tables:
        for f in t.footnotes:
            match = [p for p in notes if p.lines == f.lines]
            if len(f.text.split()) >= 3:
                assert len(match) == 1 and match[0].section == t.caption, (t.cite_number, f.marker)
                assert t.lines[0] <= f.lines[0] and passage_lines(report, match[0])
                assert not match[0].text.startswith(f.marker + " ")
    cancelled = _passages_with(report, "ble avlyst i 2020")
    assert any(p.kind == "footnote" and "574" in p.text for p in cancelled)


def test_a_prose_line_that_wraps_after_a_number_is_kept(report: Report) -> None:
    """'... og det ble spilt inn 20' / 'episoder fra juni til desember.' is one sentence, not a
    running chapter head ('ÅRSBERETNING02') to skip."""
    (p,) = _passages_with(report, "spilt inn 20 episoder")
    assert "ÅRSBERETNING02" not in " ".join(x.text for x in report.passages)


def test_no_table_number_leaks_into_prose(report: Report) -> None:
    rows = {r.source.strip() for t in report.tables for r in t.rows}
    for p in report.passages:
        for line in p.raw.split("\n"):
            assert line.strip() not in rows, (p.lines, line)


# ----------------------------------------------------------------------------- chunks


def test_chunk_ids_are_unique(chunks: list[Chunk]) -> None:
    counts = Counter(c.id for c in chunks)
    assert not [i for i, n in counts.items() if n > 1]


def test_one_row_chunk_per_table_row(report: Report, chunks: list[Chunk]) -> None:
    row_chunks = [c for c in chunks if c.kind == "table_row"]
    total = sum(len(t.rows) for t in report.tables)
    assert len(row_chunks) == total
    by_key = Counter((c.metadata["table_key"], c.metadata["row_index"]) for c in row_chunks)
    assert all(n == 1 for n in by_key.values())
    table_chunks = {c.metadata["table_key"]: c for c in chunks if c.kind == "table"}
    for c in row_chunks:
        table = table_from_json(table_chunks[c.metadata["table_key"]].metadata["table_json"])
        row = table.rows[c.metadata["row_index"]]
        assert c.table_number == table.cite_number
        assert c.row_label == row.label
        assert c.lines == row.lines
        assert f"Tabell {table.cite_number}" in c.text
        assert row.label in c.text
        for cell in row.cells:
            assert cell.column in c.text, (c.id, cell.column)
            if cell.raw:
                assert f"{cell.column}: {cell.raw}" in c.text, (c.id, cell)


def test_row_chunk_example(chunks: list[Chunk]) -> None:
    c = next(c for c in chunks if c.kind == "table_row" and c.table_number == "1" and c.row_label == "Rammetilskudd")
    assert "Budsjett 2020: -1 878,6" in c.text and "Differanse 2020: 115,4" in c.text
    assert c.lines == (328, 328) and c.chapter_number == 2
    under = [c for c in chunks if c.kind == "table_row" and c.row_label == "Praktisk bistand"]
    assert len(under) == 1 and under[0].table_number == "17" and "Tabell 17" in under[0].text


def test_one_table_chunk_per_table_and_its_json_round_trips(report: Report, chunks: list[Chunk]) -> None:
    table_chunks = [c for c in chunks if c.kind == "table"]
    assert len(table_chunks) == len(report.tables) == 29
    for c, table in zip(table_chunks, report.tables, strict=True):
        assert table_from_json(c.metadata["table_json"]) == table
        assert c.table_number == table.cite_number
        assert c.lines == table.lines
    # and through real JSON text, as the index stores it
    import json

    for table in report.tables:
        assert table_from_json(json.loads(json.dumps(table_to_json(table), ensure_ascii=False))) == table


def test_prose_chunks_keep_sentences_whole(report: Report, chunks: list[Chunk]) -> None:
    prose = [c for c in chunks if c.kind == "prose"]
    assert prose
    for c in prose:
        text = c.text.rstrip()
        inside = [p for p in report.passages if c.lines[0] <= p.lines[0] and p.lines[1] <= c.lines[1]]
        assert inside, c.id
        ends_passage = any(text.endswith(p.text.rstrip()[-40:]) for p in inside)
        assert text.endswith(TERMINAL) or ends_passage, (c.id, text[-80:])
        assert c.chapter_number == inside[0].chapter.number


def test_prose_chunks_cover_every_passage(report: Report, chunks: list[Chunk]) -> None:
    prose = " ".join(c.text for c in chunks if c.kind == "prose")
    for p in report.passages:
        assert p.text[:60] in prose, p.lines
