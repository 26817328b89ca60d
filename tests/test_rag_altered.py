"""The answer follows the report text: change a number in a table row and renumber a table
caption in a copy of the real report, and the answers (value, table number, quote) change with it.
Also: the real report end to end on BM25 + a hash dense fake, and a real (hash) index via ingest."""

from __future__ import annotations

import re

import pytest
from test_rag_fixtures import hash_dense

from ingest.chunks import build_chunks
from ingest.parse import parse_report
from rag.service import build_service, service_from_parts
from rapport.settings import Settings, bundled_report_path

OLD_ROW = "Likviditetsreserve 1 759,0 1 372,2 -386,7"
NEW_ROW = "Likviditetsreserve 1 759,0 1 399,9 -359,1"


def _service(text: str):
    report = parse_report(text, "report.txt")
    chunks = build_chunks(report)
    return service_from_parts(Settings(), report, chunks, hash_dense(chunks))


@pytest.fixture(scope="module")
def original_text() -> str:
    return bundled_report_path().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def original(original_text):
    return _service(original_text)


@pytest.fixture(scope="module")
def altered(original_text):
    assert original_text.count(OLD_ROW) == 1
    assert original_text.count("Tabell 7 viser hovedtall fra balansen") == 1
    text = original_text.replace(OLD_ROW, NEW_ROW).replace(
        "Tabell 7 viser hovedtall fra balansen", "Tabell 31 viser hovedtall fra balansen"
    )
    return _service(text)


QUESTION = "Hvor stor var likviditetsreserven i 2020 ifølge hovedtallene fra balansen?"


def test_original_answer(original):
    ans = original.ask(QUESTION)
    assert ans.value == 1372.2
    assert ans.citations[0].table == 7 and ans.citations[0].quote == OLD_ROW


def test_altered_answer_follows_the_new_text(altered):
    ans = altered.ask(QUESTION)
    assert ans.value == 1399.9 and ans.value_raw == "1 399,9"
    c = ans.citations[0]
    assert c.table == 31 and c.row == "Likviditetsreserve" and c.column == "2020"
    assert c.quote == NEW_ROW
    assert "1 399,9" in ans.answer and "1 372,2" not in ans.answer
    assert "Tabell 31" in ans.answer


def test_altered_change_column_and_table_reference(altered):
    ans = altered.ask("Hvor mye ble likviditetsreserven redusert fra 2019 til 2020 ifølge balansen?")
    assert ans.value == -359.1 and ans.citations[0].table == 31
    assert altered.ask("Hva viser tabell 31 for likviditetsreserven i 2019?").value == 1759.0
    # the old number is gone: table 7 no longer exists
    old = altered.ask("Hva viser tabell 7?")
    assert all(c.table != 7 for c in old.citations)


@pytest.mark.parametrize(
    ("question", "value", "table"),
    [
        ("Hva var netto driftsresultat i 2020?", -679.4, 1),
        ("Hvor mye høyere ble netto driftsresultat enn budsjettert?", 442.4, 1),
        ("Hvor mange boliger ble ferdigstilt i 2017?", 971, 8),
        ("Hvor mange flere boliger ble ferdigstilt i 2020 enn i 2019?", 325, 8),
        ("Hvor mange elever gikk på barnetrinnet i 2020?", 11450, 15),
        ("How many full-time equivalents (årsverk) did the municipality have at the end of 2019?", 7441, 24),
    ],
)
def test_real_report_answers(original, question, value, table):
    ans = original.ask(question)
    assert not ans.abstained
    assert ans.value == pytest.approx(value)
    assert ans.citations[0].table == table
    # the printed form is in the answer and is what the source row prints
    assert ans.value_raw in ans.answer


@pytest.mark.parametrize(
    "question",
    [
        "Hva var netto driftsresultat i 2015?",
        "Hvor mye brukte Asker kommune på barnevern i 2020?",
        "Hva koster en bussbillett i Bærum?",
        "What was the net operating result in 2014?",
    ],
)
def test_real_report_abstains(original, question):
    ans = original.ask(question)
    assert ans.abstained and ans.value is None


def test_every_answer_number_is_printed_in_its_source(original):
    """The promise: numbers in a table answer are the cited cells' printed forms (or shown work)."""
    for q in ("Hva var netto driftsresultat i 2020?", "Hvor stor var likviditetsreserven i 2019?",
              "Hvor mye fikk kommunen i skatteinntekter i 2020?"):
        ans = original.ask(q)
        quotes = " ".join(c.quote for c in ans.citations)
        for raw in re.findall(r"-?\d{1,3}(?: \d{3})*,\d+", ans.answer):
            assert raw in quotes, (q, raw)


@pytest.mark.slow
def test_real_index_with_hash_embeddings(tmp_path):
    """ingest -> Chroma (hash embeddings) -> build_service -> ask."""
    from ingest.pipeline import run_ingest

    settings = Settings(data_dir=tmp_path, embedding="hash")
    run_ingest(settings, progress=False)
    svc = build_service(settings)
    ans = svc.ask("Hva var netto driftsresultat i 2020?")
    assert ans.value == -679.4 and ans.citations[0].table == 1
    assert len(svc.retrieve("likviditetsreserve", k=5)) == 5
