"""Routing a question to the reports it is about (rag/route.py) and the engines per group of
reports (rag/library.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes import fake_report
from hypothesis import given
from hypothesis import strategies as st

from rag.chain import Turn, engine_for
from rag.library import GROUP_CACHE, Library
from rag.route import ReportKey, previous_report, report_key, route


def key(rid: str, muni: str, year: int, back: int = 1) -> ReportKey:
    return ReportKey(rid, muni, year, frozenset(range(year - back, year + 1)))


KEYS = [key("a-2020", "asker", 2020), key("a-2021", "asker", 2021), key("a-2022", "asker", 2022),
        key("b-2021", "bergen", 2021, back=4)]


def ids(found: tuple[int, ...]) -> list[str]:
    return [KEYS[i].id for i in found]


def test_no_year_goes_to_the_newest_report_of_each_municipality() -> None:
    assert ids(route(KEYS, "Hva var netto driftsresultat?")) == ["a-2022", "b-2021"]


def test_a_named_municipality_narrows_to_its_reports() -> None:
    assert ids(route(KEYS, "Hvor mange barnehager har Asker?")) == ["a-2022"]
    assert ids(route(KEYS, "Hvor mange barnehager hadde Bergen kommune i 2019?")) == ["b-2021"]


def test_a_year_goes_to_the_earliest_report_that_covers_it() -> None:
    assert ids(route(KEYS, "Asker: netto driftsresultat i 2021?")) == ["a-2021"]
    # 2019 is last year's column of the 2020 report; no report is about 2019
    assert ids(route(KEYS, "Asker: netto driftsresultat i 2019?")) == ["a-2020"]
    # a change between two years of two reports scores both
    assert ids(route(KEYS, "Asker: endring fra 2020 til 2022?")) == ["a-2020", "a-2022"]


def test_a_year_no_report_covers_goes_to_the_newest() -> None:
    assert ids(route(KEYS, "Asker i 2030?")) == ["a-2022"]
    assert ids(route(KEYS, "Asker i 2001?")) == ["a-2022"]


def test_the_picked_reports_bound_the_choice() -> None:
    assert ids(route(KEYS, "Hva var netto driftsresultat?", picked={"a-2020", "a-2021"})) == ["a-2021"]
    assert ids(route(KEYS, "Bergen i 2021?", picked={"a-2020"})) == ["a-2020"]
    assert route(KEYS, "Hva?", picked={"nothing-loaded"}) == ()


def test_a_follow_up_without_a_year_stays_in_the_previous_answers_report() -> None:
    assert ids(route(KEYS, "hva med barnehagene?", previous="a-2020")) == ["a-2020"]
    # a year or a municipality in the question wins over the previous report
    assert ids(route(KEYS, "og i 2021?", previous="a-2020")) == ["a-2021", "b-2021"]
    assert ids(route(KEYS, "og i Bergen?", previous="a-2020")) == ["b-2021"]


def test_previous_report_reads_the_newest_answer_in_the_history() -> None:
    cite = SimpleNamespace(report="a-2021")
    old = SimpleNamespace(question="q1", citations=(SimpleNamespace(report="a-2020"),))
    new = SimpleNamespace(question="q2", citations=(cite,))
    assert previous_report([old, new]) == "a-2021"
    assert previous_report([old, SimpleNamespace(question="q3", citations=())]) is None
    assert previous_report([{"role": "user", "content": "hei"}]) is None
    assert previous_report([]) is None


@st.composite
def libraries(draw: st.DrawFn) -> list[ReportKey]:
    n = draw(st.integers(1, 6))
    out = []
    for i in range(n):
        year = draw(st.integers(2015, 2025))
        muni = draw(st.sampled_from(["asker", "bergen", ""]))
        out.append(key(f"r{i}", muni, year, back=draw(st.integers(0, 4))))
    return out


@given(libraries(), st.lists(st.integers(2010, 2030), max_size=3), st.sampled_from(["", "Asker ", "Bergen "]))
def test_routing_properties(keys: list[ReportKey], years: list[int], named: str) -> None:
    question = f"{named}tall for {' og '.join(map(str, years))}?"
    found = route(keys, question)
    assert found and list(found) == sorted(set(found)) and all(0 <= i < len(keys) for i in found)
    munis = {k.municipality for k in keys}
    if named and named.strip().lower() in munis:
        assert {keys[i].municipality for i in found} == {named.strip().lower()}
    for y in years:  # every asked year that a report of a chosen municipality covers is covered
        for m in {keys[i].municipality or keys[i].id for i in found}:
            group = [k for k in keys if (k.municipality or k.id) == m]
            if any(y in k.covers for k in group):
                assert any(y in keys[i].covers for i in found if (keys[i].municipality or keys[i].id) == m)


def test_report_key_reads_meta_tables_and_text() -> None:
    k = report_key(fake_report(2021, 1.0, "Nabo"))
    assert (k.id, k.municipality, k.year) == ("nabo-2021", "nabo", 2021)
    assert {2021, 2020} <= k.covers


def test_the_library_builds_each_group_once_and_bounds_the_cache() -> None:
    reports = [fake_report(2020), fake_report(2021, 1.5), fake_report(2021, 2.0, "Nabo")]
    lib = Library.from_reports(reports)
    one = lib.engine((1,))
    assert lib.engine([1]) is one and [r.meta.id for r in one.corpus.reports] == ["eksempel-2021"]
    both = lib.engine((0, 2))
    assert lib.engine((2, 0)) is both and len(both.corpus.reports) == 2
    assert len(lib.engine().corpus.reports) == 3
    for g in [(0, 1), (1, 2), (0, 1, 2), (0, 2)][: GROUP_CACHE + 1]:
        lib.engine(g)
    assert len(lib._groups) <= GROUP_CACHE


def test_the_chain_scores_only_the_routed_reports() -> None:
    lib = Library.from_reports([fake_report(2020), fake_report(2021, 1.5)])
    engine = engine_for(lib, Turn("Hvor mange barnehageplasser var det?"))
    assert [r.meta.id for r in engine.corpus.reports] == ["eksempel-2021"]
    engine = engine_for(lib, Turn("Hvor mange barnehageplasser var det i 2020?"))
    assert [r.meta.id for r in engine.corpus.reports] == ["eksempel-2020"]


@pytest.mark.parametrize("picked", [frozenset({"eksempel-2020"}), frozenset({"eksempel-2021"})])
def test_the_chain_honours_the_picked_report(picked: frozenset[str]) -> None:
    lib = Library.from_reports([fake_report(2020), fake_report(2021, 1.5)])
    engine = engine_for(lib, Turn("Hvor mange barnehageplasser var det?", reports=picked))
    assert {r.meta.id for r in engine.corpus.reports} == picked


def test_the_engine_cache_spares_a_second_process_the_store_and_the_build(tmp_path) -> None:
    from rag.engine_cache import EngineCache

    reports = [fake_report(2020), fake_report(2021, 1.5)]
    calls = []

    def load():
        calls.append(1)
        return reports, {}

    first = Library.stored(load, None, None, EngineCache(tmp_path, "fp1"))
    want = [first.engine((i,)).score("Hvor mange barnehageplasser var det?").order[:5].tolist() for i in (0, 1)]
    assert len(calls) == 1 and len(list(tmp_path.glob("*.pkl"))) == 2
    second = Library.stored(load, None, None, EngineCache(tmp_path, "fp1"))
    assert second.keys == first.keys
    got = [second.engine((i,)).score("Hvor mange barnehageplasser var det?").order[:5].tolist() for i in (0, 1)]
    assert got == want and len(calls) == 1  # nothing fetched, nothing built
    assert [second.report(rid).meta.id for rid in ("eksempel-2020", "eksempel-2021")] == ["eksempel-2020", "eksempel-2021"]
    assert second.report().meta.id == "eksempel-2020" and second.report("elsewhere") is None
    # a group of reports is built from the store; another build's cache is a miss and replaces the files
    second.engine((0, 1))
    assert len(calls) == 2
    Library.stored(load, None, None, EngineCache(tmp_path, "fp2")).engine((0,))
    assert len(calls) == 3 and all(p.name.startswith("fp2") for p in tmp_path.iterdir())


def test_a_torn_cache_file_is_rebuilt_not_an_error(tmp_path) -> None:
    from rag.engine_cache import EngineCache

    reports = [fake_report(2020)]
    Library.stored(lambda: (reports, {}), None, None, EngineCache(tmp_path, "fp")).warm()
    for p in tmp_path.glob("*.pkl"):
        p.write_bytes(b"\x80\x05not a pickle")
    lib = Library.stored(lambda: (reports, {}), None, None, EngineCache(tmp_path, "fp"))
    assert lib.engine((0,)).corpus.reports[0].meta.id == "eksempel-2020"


def test_an_answer_from_one_of_several_reports_names_it_and_its_alternatives_route_back() -> None:
    from fakes import FakeRanker

    from rag.service import service_from_reports
    from rapport.settings import Settings

    svc = service_from_reports(Settings(), [fake_report(2020), fake_report(2021, 1.5)], ranker=FakeRanker())
    a = svc.ask("Hvor mange barnehageplasser var det?")
    title = a.citations[0].report_title
    assert a.report == "eksempel-2021" and title and "2021" in title and title in a.answer
    # every «Mente du …?» question about the older report names it, so a click is routed back to it
    from rag.answer import alternative_question
    from rag.layout import LEAD

    lib = svc.library
    old = lib.engine((0,))
    scored = old.score("Hvor mange barnehageplasser og elever var det?")
    picked = [int(i) for i in scored.order[:200] if int(scored.cands.kind[int(i)]) != LEAD]
    kinds = {int(scored.cands.kind[i]) for i in picked}
    assert len(kinds) >= 2  # cells and prose
    for i in picked:
        q = alternative_question(old, scored, i, "no")
        assert [lib.keys[j].id for j in route(lib.keys, q)] == ["eksempel-2020"], q


def test_the_engine_cache_key_covers_every_ingest_module_the_engine_is_built_with() -> None:
    """A prepared engine holds the sentence split, caption topics and numbers of ingest/ modules:
    a change to any of them must miss the cache, not serve an engine built by the old code."""
    import re

    from rag.engine_cache import code_files

    root = Path(__file__).resolve().parent.parent
    used = set()
    for py in (root / "rag").glob("*.py"):
        used |= set(re.findall(r"^\s*from ingest\.(\w+) import", py.read_text(encoding="utf-8"), re.M))
    covered = {p.stem for p in code_files() if p.parent.name == "ingest"}
    assert {"sentences", "embedded", "numbers", "records"} <= used
    assert used <= covered, used - covered
