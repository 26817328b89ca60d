"""Fakes for the UI tests: a small hand-built report of an invented municipality and a service
that answers from it with the engine's records (string table ids, positions, alternatives,
details). Imported by the tests/test_ui_*.py modules; tests/test_ui_fakes.py checks the fakes.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from ingest.records import Cell, Chapter, Footnote, Passage, Report, ReportMeta, Row, Table
from ingest.store import ReportInfo
from rag.records import Alternative, Answer, Citation

XSS = "<script>alert(1)</script>"
REPORT_ID = "eksempel-2020"
REPORT_TITLE = "Årsrapport 2020, Eksempel kommune"
COLS_1 = ("Budsjett 2020", "Regnskap 2020", "Differanse 2020")
COLS_47 = ("2018", "2019", "2020")
COLS_48 = ("2013", "2014", "2015", "2016", "2017", "2018", "2019", "2020")  # wider than a phone
PAGE_STARTS = (1, 150, 300, 370)  # line 350 is on page 3


def _num(raw: str) -> float | None:
    try:
        return float(raw.replace(" ", "").replace("\u00a0", "").replace("%", "").replace(",", "."))
    except ValueError:
        return None


def _row(label: str, line: int, raws: tuple[str, ...], columns: tuple[str, ...], **kw: Any) -> Row:
    cells = tuple(Cell(column=c, raw=r, value=_num(r)) for c, r in zip(columns, raws, strict=True))
    return Row(label=label, cells=cells, lines=(line, line), source=f"{label} {' '.join(raws)}", **kw)


def make_report(report_id: str = REPORT_ID, municipality: str = "Eksempel kommune", pages: bool = True) -> Report:
    """Lines 1..400: Table 1 (lines 316..360, budget/accounts), Table 4.7 (lines 362..368, three
    years), a hostile table 99 whose caption, labels and a cell carry markup, and a prose passage
    (lines 227..229)."""
    lines = [f"linje {i}" for i in range(1, 401)]
    ch2 = Chapter(number=2, title="ÅRSBERETNING", lines=(200, 399))
    rows1 = (
        _row("Rammetilskudd", 328, ("-1 878,6", "-1 994,0", "115,4"), COLS_1),
        _row("Inntekts- og formuesskatt", 329, ("-6 692,2", "-6 525,6", "-166,6"), COLS_1),
        _row("Brutto driftsresultat", 343, ("-688,5", "-990,3", "301,9"), COLS_1, footnotes=("3",)),
        _row("Netto driftsresultat", 350, ("-237,0", "-679,4", "442,4"), COLS_1),
        _row("Regnskapsresultat", 356, ("0,0", "0,0", "0,0"), COLS_1),
    )
    rows47 = (
        _row("Antall elever", 364, ("4 000", "4 100", "4 150"), COLS_47),
        _row("Andel elever med spesialundervisning", 365, ("7,1 %", "7,4 %", "7,8 %"), COLS_47),
        _row("Barnehageplasser", 366, ("2 500", "2 550", "2 590"), COLS_47),
    )
    rows48 = tuple(_row(f"Tjeneste {i}", 369 + i, tuple(f"{100 * i + y:,}".replace(",", " ") + ",5" for y in range(8)),
                        COLS_48) for i in range(1, 31))  # lines 370..399, taller than a phone
    for r in (*rows1, *rows47, *rows48):
        lines[r.lines[0] - 1] = r.source
    lines[315] = "Tabell 1 viser hovedoversikten for drift med budsjettavvik"
    lines[361] = "Tabell 4.7 viser nøkkeltall for skole"
    table1 = Table(number="1", caption="Tabell 1 viser hovedoversikten for drift med budsjettavvik", unit="Mill. kr",
                   columns=COLS_1, rows=rows1, lines=(316, 360), chapter=ch2,
                   footnotes=(Footnote(marker="3", text="Eksklusive avskrivninger.", lines=(360, 360)),),
                   label_header="DRIFTSBUDSJETT")
    table47 = Table(number="4.7", caption="Tabell 4.7 viser nøkkeltall for skole", unit=None, columns=COLS_47,
                    rows=rows47, lines=(362, 368), chapter=ch2)
    table48 = Table(number="4.8", caption="Tabell 4.8 viser netto driftsutgifter per tjeneste", unit="1000 kr",
                    columns=COLS_48, rows=rows48, lines=(369, 399), chapter=ch2)
    evil_cols = ("Regnskap 2020", "<b>kolonne</b>")
    evil = Table(number="99", caption=f"Tabell 99 {XSS} & co", unit="Mill. kr", columns=evil_cols,
                 rows=(_row(f"Ond rad {XSS}", 341, ("12,5", "<img src=x onerror=alert(2)>"), evil_cols),),
                 lines=(340, 342), chapter=ch2,
                 footnotes=(Footnote(marker="1", text=f"Fotnote {XSS}", lines=(342, 342)),))
    prose = [
        "Nøkkeltall for sunn økonomi",
        "• Netto driftsresultat ble 679 millioner kroner, som er",
        "442 mill. høyere enn budsjett. Dette gir en resultatgrad",
        "på 5,9 prosent, som er godt over målet på 4 prosent.",
    ]
    for i, text in enumerate(prose):
        lines[225 + i] = text
    passage = Passage(text=" ".join(prose[1:]), raw="\n".join(prose[1:]), lines=(227, 229), chapter=ch2,
                      section="Nøkkeltall for sunn økonomi", kind="bullet")
    meta = ReportMeta(id=report_id, title="Årsrapport 2020", municipality=municipality, year=2020)
    return Report(source_name="eksempel.txt", source_sha256="0" * 64, lines=tuple(lines), chapters=(ch2,),
                  passages=(passage,), tables=(table1, table47, evil, table48), meta=meta,
                  page_starts=PAGE_STARTS if pages else ())


def cell_citation(report: Report, table_index: int, row_label: str, column: str) -> Citation:
    table = report.tables[table_index]
    ri = next(i for i, r in enumerate(table.rows) if r.label == row_label)
    row = table.rows[ri]
    cell = row.cell(column)
    assert cell is not None
    title = f"{report.meta.title}, {report.meta.municipality}" if report.meta else None
    return Citation(report=report.meta.id if report.meta else None, table=table.cite_number, row=row.label,
                    column=column, chapter=table.chapter.display, lines=row.lines, quote=row.source,
                    page=report.page_of(row.lines[0]), table_index=table_index, row_index=ri,
                    column_index=table.columns.index(column), report_title=title, value_raw=cell.raw)


REPORT = make_report()
TABLE_CITATION = cell_citation(REPORT, 0, "Netto driftsresultat", "Regnskap 2020")
BUDGET_CITATION = cell_citation(REPORT, 0, "Netto driftsresultat", "Budsjett 2020")
GRANT_CITATION = cell_citation(REPORT, 0, "Rammetilskudd", "Regnskap 2020")
PUPILS_CITATION = cell_citation(REPORT, 1, "Antall elever", "2020")
EVIL_CITATION = cell_citation(REPORT, 2, f"Ond rad {XSS}", "Regnskap 2020")
SERVICE_CITATION = cell_citation(REPORT, 3, "Tjeneste 27", "2020")
PROSE_CITATION = Citation(report=REPORT_ID, table=None, row=None, column=None, chapter="02 ÅRSBERETNING",
                          lines=(227, 229), quote="Dette gir en resultatgrad på 5,9 prosent", page=2,
                          report_title=REPORT_TITLE)
RESULT_PROSE_CITATION = replace(PROSE_CITATION, lines=(227, 228), quote="Netto driftsresultat ble 679 millioner kroner")
SIGN_NOTE = "Rapporten viser inntekter med minus i denne tabellen (kapittel 02, side 3)."
AMBIGUOUS_Q = "Hva var tilskuddet?"
GRANT_Q = "Hva var «Rammetilskudd» (Regnskap 2020) i tabell 1?"
BUDGET_Q = "Hva var «Netto driftsresultat» (Budsjett 2020) i tabell 1?"
NEAREST_Q = "Hva var «Regnskapsresultat» (Regnskap 2020) i tabell 1?"


def _answer(question: str, text: str, citation: Citation | None, *, lang: str = "no", unit: str | None = "mill. kr",
            kind: str | None = "cell", **kw: Any) -> Answer:
    value = _num(citation.value_raw) if citation is not None and citation.value_raw else None
    return Answer(question=question, answer=text, abstained=citation is None and kind is None, value=value,
                  unit=unit if citation is not None else None, citations=(citation,) if citation else (), lang=lang,
                  mode="extractive", value_raw=citation.value_raw if citation is not None else None,
                  report=citation.report if citation else None, kind=kind, confidence=0.9 if citation else 0.2,
                  trace=("analysis: {...}", "decision: answer"), **kw)


@dataclass
class FakeService:
    """Answers a handful of questions from the fake report the way the engine would; records
    what it was asked (question, history, reports)."""

    report_obj: Report = field(default_factory=make_report)
    calls: list[tuple[str, list | None, Any]] = field(default_factory=list)
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reports(self) -> tuple[ReportInfo, ...]:
        m = self.report_obj.meta
        assert m is not None
        return (ReportInfo(m.id, m.title, m.municipality, m.year, self.report_obj.source_sha256,
                           self.report_obj.source_name),)

    def report(self, report_id: str | None = None) -> Report | None:
        m = self.report_obj.meta
        return self.report_obj if report_id is None or (m is not None and m.id == report_id) else None

    def ask(self, question: str, history: list | None = None, reports: Any = None) -> Answer:
        with self.lock:
            self.calls.append((question, history, None if reports is None else list(reports)))
        if self.delay_s:
            time.sleep(self.delay_s)
        q = question.casefold()
        if "boom" in q:
            raise RuntimeError("secret internal failure /etc/passwd at http://user:pw@chroma.internal:8000/")
        if question == AMBIGUOUS_Q:
            alt = Alternative(question=GRANT_Q, value=-1994.0, value_raw="-1 994,0", unit="mill. kr",
                              citation=GRANT_CITATION, confidence=0.4)
            return _answer(question, "«Netto driftsresultat» i regnskapet for 2020 var -679,4 mill. kr. "
                           "Jeg er ikke helt sikker på at dette er det du spør om.", TABLE_CITATION,
                           alternatives=(alt,), details=(SIGN_NOTE,))
        if question == GRANT_Q:
            return _answer(question, "«Rammetilskudd» i regnskapet for 2020 var -1 994,0 mill. kr.", GRANT_CITATION,
                           details=(SIGN_NOTE,))
        if question == BUDGET_Q:
            return _answer(question, "«Netto driftsresultat» i budsjettet for 2020 var -237,0 mill. kr.",
                           BUDGET_CITATION)
        if "resultatgrad" in q:
            return replace(_answer(question, "Rapporten skriver: «Dette gir en resultatgrad på 5,9 prosent»",
                                   PROSE_CITATION, unit="prosent", kind="figure"), value=5.9, value_raw="5,9")
        if "ond" in q or "<" in q:
            return _answer(question, f"Svar med {XSS} i teksten.", EVIL_CITATION)
        if "tjeneste 27" in q:
            return _answer(question, "«Tjeneste 27» i 2020 var 2 707,5 tusen kr.", SERVICE_CITATION, unit="1000 kr")
        if "elever" in q or "pupils" in q:
            return _answer(question, "«Antall elever» i 2020 var 4 150.", PUPILS_CITATION, unit="antall")
        if "driftsresultat" in q or "net operating" in q or "overskudd" in q or "surplus" in q:
            english = "net operating" in q or "surplus" in q
            text = ("«Netto driftsresultat» in the accounts for 2020 was -679,4 mill. kr." if english
                    else "«Netto driftsresultat» i regnskapet for 2020 var -679,4 mill. kr.")
            return _answer(question, text, TABLE_CITATION, lang="en" if english else "no",
                           details=(SIGN_NOTE,), latency_ms=12.3)
        nearest = Alternative(question=NEAREST_Q, value=0.0, value_raw="0,0", unit="mill. kr",
                              citation=cell_citation(self.report_obj, 0, "Regnskapsresultat", "Regnskap 2020"),
                              confidence=0.1)
        english = q.startswith(("what", "how", "who"))
        text = ("I cannot find the answer to this in the annual report." if english
                else "Jeg finner ikke svaret på dette i årsrapporten.")
        return Answer(question=question, answer=text, abstained=True, value=None, unit=None, citations=(),
                      lang="en" if english else "no", mode="extractive", alternatives=(nearest,), confidence=0.1,
                      trace=("decision: abstain low_confidence",))


@cache
def _bundled() -> tuple[Any, dict, Any]:
    import numpy as np

    from ingest.embedded import report_units
    from ingest.embeddings import make_embeddings
    from ingest.pipeline import read_report
    from rapport.settings import bundled_report_path

    report = read_report(bundled_report_path())
    emb = make_embeddings("hash")
    units = report_units(report)
    vecs = emb.embed_documents([u.text for u in units])
    assert report.meta is not None
    vectors = {report.meta.id: {u.key: np.asarray(v, dtype=np.float32) for u, v in zip(units, vecs, strict=True)}}
    return report, vectors, emb.embed_query


def real_service(chat_model: Any = None, mode: str = "llm", settings: Any = None) -> Any:
    """The real Service over the bundled report (hash vectors in memory, the shipped ranker)."""
    from rag.llm import make_llm_writer
    from rag.ranker import load_ranker
    from rag.service import service_from_reports

    report, vectors, embed_query = _bundled()
    from rapport.settings import Settings

    settings = settings or Settings(mode=mode)
    writer = (make_llm_writer(settings, chat_model) if chat_model is not None or settings.mode == "llm" else None)
    return service_from_reports(settings, [report], vectors=vectors, embed_query=embed_query,
                                ranker=load_ranker(), llm_writer=writer)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- browser pages

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 30_000


def new_page(browser: Any, viewport: dict[str, int], locale: str = "nb-NO") -> Any:
    phone = viewport["width"] < 500
    context = browser.new_context(viewport=viewport, locale=locale, is_mobile=phone, has_touch=phone)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    return pg


def open_app(page: Any, url: str) -> None:
    page.goto(url)
    page.locator("#question textarea").wait_for()
    page.wait_for_function("() => !document.querySelector('#question textarea').disabled")
