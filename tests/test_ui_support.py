"""Fakes for the UI tests: a small hand-built Report and a service that answers from it.

Imported by the other tests/test_ui_*.py modules (`from test_ui_support import ...`); the few
tests here check that the fakes themselves are consistent.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from ingest.records import Cell, Chapter, Footnote, Passage, Report, Row, Table
from rag.records import Answer, Citation

XSS = "<script>alert(1)</script>"


def _num(raw: str) -> float | None:
    try:
        return float(raw.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except ValueError:
        return None


def _row(label: str, line: int, raws: tuple[str, ...], columns: tuple[str, ...], **kw: Any) -> Row:
    cells = tuple(Cell(column=c, raw=r, value=_num(r)) for c, r in zip(columns, raws, strict=True))
    return Row(label=label, cells=cells, lines=(line, line), source=f"{label} {' '.join(raws)}", **kw)


def make_report() -> Report:
    """Lines 1..400 of filler text with Table 1 (lines 316..360), a prose passage (226..229) and a
    hostile table 99 whose label and caption carry a script tag."""
    lines = [f"linje {i}" for i in range(1, 401)]
    ch2 = Chapter(number=2, title="ÅRSBERETNING", lines=(200, 399))
    cols = ("Budsjett 2020", "Regnskap 2020", "Differanse 2020")
    rows = (
        _row("Rammetilskudd", 328, ("-1 878,6", "-1 994,0", "115,4"), cols),
        _row("Inntekts- og formuesskatt", 329, ("-6 692,2", "-6 525,6", "-166,6"), cols),
        _row("Brutto driftsresultat", 343, ("-688,5", "-990,3", "301,9"), cols, footnotes=("3",)),
        _row("Netto driftsresultat", 350, ("-237,0", "-679,4", "442,4"), cols),
        _row("Regnskapsresultat", 356, ("0,0", "0,0", "0,0"), cols),
    )
    for r in rows:
        lines[r.lines[0] - 1] = r.source
    lines[315] = "Tabell 1 viser hovedoversikten for drift med budsjettavvik"
    table1 = Table(
        number=1,
        caption="Tabell 1 viser hovedoversikten for drift med budsjettavvik",
        unit="Mill. kr",
        columns=cols,
        rows=rows,
        lines=(316, 360),
        chapter=ch2,
        footnotes=(Footnote(marker="3", text="Eksklusive avskrivninger.", lines=(360, 360)),),
        label_header="DRIFTSBUDSJETT",
    )
    evil_cols = ("Regnskap 2020", "<b>kolonne</b>")
    evil = Table(
        number=99,
        caption=f"Tabell 99 {XSS} & co",
        unit="Mill. kr",
        columns=evil_cols,
        rows=(_row(f"Ond rad {XSS}", 380, ("12,5", "<img src=x onerror=alert(2)>"), evil_cols),),
        lines=(378, 382),
        chapter=ch2,
        footnotes=(Footnote(marker="1", text=f"Fotnote {XSS}", lines=(382, 382)),),
    )
    prose = [
        "Nøkkeltall for sunn økonomi",
        "• Netto driftsresultat ble 679 millioner kroner, som er",
        "442 mill. høyere enn budsjett. Dette gir en resultatgrad",
        "på 5,9 prosent, som er godt over målet på 4 prosent.",
    ]
    for i, text in enumerate(prose):
        lines[225 + i] = text
    passage = Passage(
        text=" ".join(prose[1:]),
        raw="\n".join(prose[1:]),
        lines=(227, 229),
        chapter=ch2,
        section="Nøkkeltall for sunn økonomi",
        kind="bullet",
    )
    return Report(
        source_name="fake.txt",
        source_sha256="0" * 64,
        lines=tuple(lines),
        chapters=(ch2,),
        passages=(passage,),
        tables=(table1, evil),
    )


TABLE_CITATION = Citation(
    table=1,
    row="Netto driftsresultat",
    column="Regnskap 2020",
    chapter="02 ÅRSBERETNING",
    lines=(350, 350),
    quote="Netto driftsresultat -237,0 -679,4 442,4",
)
PROSE_CITATION = Citation(
    table=None,
    row=None,
    column=None,
    chapter="02 ÅRSBERETNING",
    lines=(227, 229),
    quote="Dette gir en resultatgrad på 5,9 prosent",
)
RESULT_PROSE_CITATION = Citation(
    table=None,
    row=None,
    column=None,
    chapter="02 ÅRSBERETNING",
    lines=(227, 228),
    quote="Netto driftsresultat ble 679 millioner kroner",
)
EVIL_CITATION = Citation(
    table=99,
    row=f"Ond rad {XSS}",
    column="Regnskap 2020",
    chapter="02 ÅRSBERETNING",
    lines=(380, 380),
    quote=f"Ond rad {XSS} 12,5",
)


@dataclass
class FakeService:
    """Answers three kinds of question from the fake report; records what it was asked."""

    report: Report = field(default_factory=make_report)
    calls: list[tuple[str, list | None]] = field(default_factory=list)

    def ask(self, question: str, history: list | None = None) -> Answer:
        self.calls.append((question, history))
        q = question.casefold()
        if "boom" in q:
            raise RuntimeError("secret internal failure /etc/passwd")
        if "resultatgrad" in q:
            return Answer(
                question=question,
                answer="Resultatgraden var 5,9 prosent.",
                abstained=False,
                value=5.9,
                unit="prosent",
                citations=(PROSE_CITATION,),
                lang="no",
                mode="extractive",
                value_raw="5,9",
            )
        if "ond" in q or "<" in q:
            return Answer(
                question=question,
                answer=f"Svar med {XSS} i teksten.",
                abstained=False,
                value=12.5,
                unit="mill. kr",
                citations=(EVIL_CITATION,),
                lang="no",
                mode="extractive",
                value_raw="12,5",
            )
        if "driftsresultat" in q or "net operating" in q or "budsjett" in q:
            english = "net operating" in q
            text = (
                "The net operating result (netto driftsresultat) in 2020 was -679,4 mill. kr."
                if english
                else "Netto driftsresultat i 2020 var -679,4 mill. kr, ifølge regnskapet i tabell 1."
            )
            return Answer(
                question=question,
                answer=text,
                abstained=False,
                value=-679.4,
                unit="mill. kr",
                citations=(TABLE_CITATION, RESULT_PROSE_CITATION),
                lang="en" if english else "no",
                mode="extractive",
                latency_ms=12.3456,
                value_raw="-679,4",
                trace=("retrieved table 1 row 'Netto driftsresultat'",),
            )
        return Answer(
            question=question,
            answer="Jeg fant ikke noe sikkert svar på det i årsrapporten.",
            abstained=True,
            value=None,
            unit=None,
            citations=(),
            lang="no",
            mode="extractive",
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fake_report_is_consistent() -> None:
    report = make_report()
    table = report.table(1)
    assert table is not None
    row = table.row("Netto driftsresultat")
    assert row is not None and row.cell("Regnskap 2020").raw == "-679,4"  # type: ignore[union-attr]
    assert report.line_text(350, 350) == row.source
    assert "resultatgrad" in report.line_text(227, 229)


def test_fake_service_answers() -> None:
    service = FakeService()
    answer = service.ask("Hva var netto driftsresultat i 2020?", None)
    assert answer.value_raw == "-679,4"
    assert answer.citations == (TABLE_CITATION, RESULT_PROSE_CITATION)
    assert service.ask("Hvem er ordfører?").abstained
