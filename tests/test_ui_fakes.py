"""The fakes the UI tests run on (tests/ui_support.py) are consistent."""

from __future__ import annotations

from ui_support import AMBIGUOUS_Q, GRANT_Q, REPORT_ID, TABLE_CITATION, FakeService, make_report


def test_fake_report_is_consistent() -> None:
    report = make_report()
    table = report.table("1")
    assert table is not None and report.table("4.7") is not None
    row = table.row("Netto driftsresultat")
    assert row is not None and row.cell("Regnskap 2020").raw == "-679,4"  # type: ignore[union-attr]
    assert report.line_text(350, 350) == row.source
    assert "resultatgrad" in report.line_text(227, 229)
    assert report.page_of(350) == 3 and TABLE_CITATION.page == 3


def test_fake_service_answers() -> None:
    service = FakeService()
    answer = service.ask("Hva var netto driftsresultat i 2020?")
    assert answer.value_raw == "-679,4" and answer.citations == (TABLE_CITATION,) and not answer.abstained
    assert service.ask(AMBIGUOUS_Q).alternatives[0].question == GRANT_Q
    assert service.ask(GRANT_Q).value_raw == "-1 994,0"
    nothing = service.ask("Hvem er ordfører?")
    assert nothing.abstained and not nothing.citations and nothing.alternatives
    assert [r.id for r in service.reports()] == [REPORT_ID] and service.report(REPORT_ID) is service.report_obj
