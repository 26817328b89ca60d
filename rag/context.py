"""The question-analysis context of a corpus: analyzer vocabulary, synonyms, the reports' own
municipality names, other municipality names and acronyms (rag/query.py uses it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources

from ingest.records import Report
from rag.query import QueryContext
from rag.text import Analyzer
from rag.vocab import Synonyms, find_acronyms


def load_synonym_data() -> dict:
    """synonyms.json (everyday words -> report vocabulary) with the English glossary merged in;
    synonyms.json wins on a shared key."""
    data = json.loads(resources.files("rag").joinpath("synonyms.json").read_text(encoding="utf-8"))
    glossary = resources.files("rag").joinpath("glossary_en.json")
    if glossary.is_file():
        en = json.loads(glossary.read_text(encoding="utf-8")).get("en", {})
        data = {**data, "en": {**en, **data.get("en", {})}}
    return data


def make_analyzer(reports: Sequence[Report]) -> Analyzer:
    analyzer = Analyzer()
    analyzer.set_vocabulary(Analyzer.corpus_words(line for r in reports for line in r.lines))
    return analyzer


def make_context(reports: Sequence[Report], analyzer: Analyzer) -> QueryContext:
    data = load_synonym_data()
    synonyms = Synonyms.load(analyzer, data)
    homes: list[str] = []
    for r in reports:
        name = (r.meta.municipality if r.meta and r.meta.municipality else "").split()
        if name:
            homes.extend((name[0], name[0] + "s", name[0].lower()))
    municipalities = frozenset(m.lower() for m in data.get("_municipalities", ()))
    labels = [x for r in reports for t in r.tables for row in t.rows for x in (row.label, row.section) if x]
    acronyms = find_acronyms(analyzer, [p.text for r in reports for p in r.passages], dict.fromkeys(labels))
    return QueryContext(analyzer, synonyms, tuple(dict.fromkeys(homes)), municipalities, acronyms)
