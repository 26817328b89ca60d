"""Matching the question's words against every field of the corpus at once."""

from __future__ import annotations

import numpy as np
import pytest
from fakereport import fake_report_text

from ingest.parse import parse_report
from ingest.pipeline import with_meta
from rag.engine import Engine
from rag.match import Credits, Spelling, coverage, fold, weigh_terms


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_reports([with_meta(parse_report(fake_report_text(), "eksempel.txt"))])


def _row(engine: Engine, label: str) -> int:
    return next(i for i, r in enumerate(engine.corpus.rows) if r.row.label == label)


def test_fold_reads_words_without_norwegian_letters_alike() -> None:
    assert fold("økonomien") == fold("okonomien") == fold("oekonomien")
    assert fold("Årsrapport") == fold("arsrapport")


def test_spelling_repairs_missing_letters_and_a_typo(engine: Engine) -> None:
    sp = Spelling(engine.corpus)
    assert sp.repair("okonomi") == "økonomi"
    assert sp.repair("barnehageplaser") == "barnehageplasser"
    assert sp.repair("zzzzzzzz") is None


def test_term_credit_whole_part_and_prefix(engine: Engine) -> None:
    credits = Credits(engine.corpus)
    a = engine.analyze("Hvor mange barnehageplasser var det?")
    terms = weigh_terms(a, engine.corpus, Spelling(engine.corpus))
    place = next(wt for wt in terms if wt.term.word == "barnehageplasser")
    c = credits.term(place, "label")
    assert c[_row(engine, "Barnehageplasser")] == 1.0
    assert c[_row(engine, "Antall elever i grunnskolen")] == 0.0


def test_coverage_prefers_the_row_that_names_every_word(engine: Engine) -> None:
    a = engine.analyze("Hvor mange elever i grunnskolen var minoritetsspråklige?")
    terms = weigh_terms(a, engine.corpus, Spelling(engine.corpus))
    rows = np.arange(len(engine.corpus.rows))
    cov, missed, _ = coverage(terms, Credits(engine.corpus), {"label": rows}, len(rows))
    best = int(np.argmax(cov))
    assert engine.corpus.rows[best].row.label == "Elever i grunnskolen, minoritetsspråklige"
    assert missed[best] < missed[_row(engine, "Antall elever i grunnskolen")]


def test_words_the_reports_never_use_weigh_most(engine: Engine) -> None:
    a = engine.analyze("Hvor mange ble kremert i 2020?")
    terms = weigh_terms(a, engine.corpus, Spelling(engine.corpus))
    kremert = next(wt for wt in terms if wt.term.word == "kremert")
    assert kremert.oov and kremert.weight == pytest.approx(engine.corpus.idf_max)


def test_unexplained_share_of_a_label() -> None:
    from rag.statics import _stems

    idf = {"elev": 1.0, "grunnskol": 1.0, "minoritetssprak": 3.0}
    stems = _stems([frozenset({"elev", "grunnskol"}), frozenset({"elev", "grunnskol", "minoritetssprak"}), frozenset()],
                   idf)
    share = stems.unexplained({"elev", "grunnskol"})
    assert share[0] == 0.0 and share[1] == pytest.approx(3 / 5) and share[2] == 0.0
