"""A small hand-built report for the rag tests (imported by the other test_rag_* modules), and
the service over it (BM25 only, or with a fake dense side)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.chunks import build_chunks
from ingest.embeddings import HashEmbeddings
from ingest.records import Cell, Chapter, Chunk, Footnote, Passage, Report, Row, Table
from rag.service import Service, service_from_parts
from rapport.settings import Settings

CH0 = Chapter(None, "Årets rapport", (1, 9))
CH2 = Chapter(2, "ÅRSBERETNING", (10, 79))
CH13 = Chapter(13, "ORGANISASJON", (80, 120))


def _row(label: str, line: int, cells: list[tuple[str, str, float | None]], **kw: Any) -> Row:
    source = " ".join([label, *(raw for _, raw, _ in cells)])
    return Row(label, tuple(Cell(c, raw, v) for c, raw, v in cells), (line, line), source, **kw)


def small_report(*, liquidity_2020: str = "1 372,2", balance_table_number: int = 7) -> Report:
    """Tables 1, 3, 7 (or renumbered), 15 and 27 and a few prose passages, with line numbers."""
    lines = [f"linje {i}" for i in range(1, 121)]

    def put(line: int, text: str) -> None:
        lines[line - 1] = text

    b20 = float(liquidity_2020.replace(" ", "").replace(",", "."))
    t1 = Table(
        1,
        "Tabell 1 viser hovedoversikten for drift med budsjettavvik",
        "Mill. kr",
        ("Budsjett 2020", "Regnskap 2020", "Differanse 2020"),
        (
            _row("Inntekts- og formuesskatt", 20, [("Budsjett 2020", "-6 692,2", -6692.2),
                                                    ("Regnskap 2020", "-6 525,6", -6525.6),
                                                    ("Differanse 2020", "-166,6", -166.6)]),
            _row("Barn og unge", 21, [("Budsjett 2020", "3 332,3", 3332.3), ("Regnskap 2020", "3 309,1", 3309.1),
                                      ("Differanse 2020", "23,1", 23.1)]),
            _row("Netto driftsresultat", 22, [("Budsjett 2020", "-237,0", -237.0), ("Regnskap 2020", "-679,4", -679.4),
                                              ("Differanse 2020", "442,4", 442.4)]),
        ),
        (18, 23),
        CH2,
    )
    t3 = Table(
        3,
        "Tabell 3 viser mer- og mindreforbruk per sektor og programområde (merforbruk er angitt med minus)",
        "Mill. kr",
        ("Disponibel ramme", "Mer-/mindreforbruk"),
        (
            _row("Barnehager", 31, [("Disponibel ramme", "1 363,0", 1363.0), ("Mer-/mindreforbruk", "-10,6", -10.6)]),
            _row("Barnevern", 32, [("Disponibel ramme", "231,5", 231.5), ("Mer-/mindreforbruk", "20,0", 20.0)]),
        ),
        (30, 32),
        CH2,
    )
    t7 = Table(
        balance_table_number,
        f"Tabell {balance_table_number} viser hovedtall fra balansen",
        "Mill. kr.",
        ("2019", "2020", "Endring"),
        (
            _row("Likviditetsreserve", 41, [("2019", "1 759,0", 1759.0), ("2020", liquidity_2020, b20),
                                            ("Endring", "-386,7", -386.7)]),
            _row("Langsiktig gjeld", 42, [("2019", "9 105,6", 9105.6), ("2020", "10 224,5", 10224.5),
                                          ("Endring", "1 118,9", 1118.9)], uncertain=True,
                 reason="to tall i én celle"),
        ),
        (40, 42),
        CH2,
    )
    t15 = Table(
        15,
        "Tabell 15 viser nøkkeltall for Oppvekst skole",
        None,
        ("2018", "2019", "2020"),
        (
            _row("Elevtall, barnetrinnet", 51, [("2018", "11 539", 11539.0), ("2019", "11 484", 11484.0),
                                                ("2020", "11 450", 11450.0)], footnotes=("1",)),
            _row("Elever ved Haug skole og ressurssenter", 52, [("2018", "110 (8)", 110.0), ("2019", "117 (5)", 117.0),
                                                                ("2020", "115 (7)", 115.0)]),
        ),
        (50, 53),
        CH2,
        footnotes=(Footnote("1", "Tall i parentes er elever fra andre kommuner.", (53, 53)),),
    )
    t27 = Table(
        27,
        "Tabell 27 viser fordeling av kjønn og lønn",
        None,
        ("Snitt menn 2020", "Snitt kvinner 2020"),
        (_row("Toppledere", 91, [("Snitt menn 2020", "1 210 220", 1210220.0), ("Snitt kvinner 2020", "1 126 289", 1126289.0)]),),
        (90, 91),
        CH13,
    )
    t26 = Table(
        26,
        "Tabell 26 viser utvalgte nøkkeltall knyttet til medarbeidere",
        None,
        ("2018", "2019", "2020"),
        (_row("Sykefravær", 96, [("2018", "7,3 %", 7.3), ("2019", "6,8 %", 6.8), ("2020", "7,0 %", 7.0)]),),
        (95, 96),
        CH13,
    )
    for t in (t1, t3, t7, t15, t26, t27):
        put(t.lines[0], t.caption)
        for r in t.rows:
            put(r.lines[0], r.source)
    passages = []
    for line, text, ch in (
        (11, "Hvis annet ikke er nevnt, er tallene presentert i løpende kroner og inntekter med negativt fortegn i tabellene.", CH2),
        (12, "Geir B. Aga er kommunedirektør i Bærum kommune.", CH2),
        (60, "I 2020 økte antallet innbyggere med 501 personer, og per 31. desember 2020 bodde det 128 233 personer i Bærum kommune.", CH2),
        (100, "Kommunens sykefravær for 2020 var 7,02 prosent, i 2019 var det 6,8 prosent.", CH13),
        (101, "Bærum kommune ble tildelt en pris for klimaarbeidet av organisasjonen CDP.", CH13),
    ):
        put(line, text)
        passages.append(Passage(text, text, (line, line), ch))
    return Report("liten.txt", "0" * 64, tuple(lines), (CH0, CH2, CH13), tuple(passages), (t1, t3, t7, t15, t26, t27))


def hash_dense(chunks: list[Chunk]):
    """An in-memory dense search over HashEmbeddings (the store's dense_search signature)."""
    emb = HashEmbeddings()
    vecs = emb.embed_documents([c.text for c in chunks])

    def dense(query: str, k: int, where: Mapping[str, Any] | None) -> list[tuple[Chunk, float]]:
        q = emb.embed_query(query)
        scored = [(sum(a * b for a, b in zip(q, v, strict=True)), c) for c, v in zip(chunks, vecs, strict=True)]
        scored.sort(key=lambda p: -p[0])
        return [(c, s) for s, c in scored[:k]]

    return dense


def small_service(report: Report | None = None, *, dense: bool = True, **settings: Any) -> Service:
    report = report or small_report()
    chunks = build_chunks(report)
    return service_from_parts(Settings(**settings), report, chunks, hash_dense(chunks) if dense else None)


def test_small_report_is_consistent():
    r = small_report()
    for t in r.tables:
        for row in t.rows:
            assert r.lines[row.lines[0] - 1] == row.source
    assert small_report(balance_table_number=8).table(8) is not None
