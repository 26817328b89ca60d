"""Each candidate feature on a small invented report (no model, no vectors)."""

from __future__ import annotations

import numpy as np
import pytest
from fakereport import fake_report_text
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.parse import parse_report
from ingest.pipeline import with_meta
from rag.candidates import candidate_value
from rag.engine import Engine
from rag.features import Candidates
from rag.layout import CELL, DIFF, FEATURES, FIGURE, F


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_reports([with_meta(parse_report(fake_report_text(), "eksempel.txt"))])


def _cands(engine: Engine, question: str) -> Candidates:
    return engine.candidates(engine.analyze(question))[1]


def _cell(engine: Engine, c: Candidates, label: str, column: str) -> int:
    corpus = engine.corpus
    for i in np.flatnonzero(c.kind == CELL):
        ref = int(c.ref[i])
        if corpus.rows[corpus.cell_row[ref]].row.label == label and corpus.columns[corpus.cell_col[ref]].name == column:
            return int(i)
    raise AssertionError(f"no cell {label} / {column}")


def _f(c: Candidates, i: int, name: str) -> float:
    return float(c.X[i, F[name]])


def test_every_candidate_gets_every_feature(engine: Engine) -> None:
    c = _cands(engine, "Hvor mange elever var det i 2020?")
    assert c.X.shape == (len(c.kind), len(FEATURES))
    assert np.isfinite(c.X).all()
    counts = {k: int((c.kind == k).sum()) for k in (CELL, FIGURE)}
    assert counts[CELL] == len(engine.corpus.cell_value) and counts[FIGURE] == len(engine.corpus.figures)


def test_years_asked_and_not(engine: Engine) -> None:
    c = _cands(engine, "Hvor mange elever var det i 2019?")
    y19 = _cell(engine, c, "Antall elever i grunnskolen", "2019")
    y20 = _cell(engine, c, "Antall elever i grunnskolen", "2020")
    assert _f(c, y19, "year_match") == 1 and _f(c, y19, "year_other") == 0
    assert _f(c, y20, "year_match") == 0 and _f(c, y20, "year_other") == 1
    assert _f(c, y20, "table_has_year") == 1
    c = _cands(engine, "Hvor mange elever var det?")
    assert _f(c, _cell(engine, c, "Antall elever i grunnskolen", "2020"), "year_latest") == 1
    assert _f(c, _cell(engine, c, "Antall elever i grunnskolen", "2018"), "year_latest") == 0


def test_units_of_question_and_candidate(engine: Engine) -> None:
    c = _cands(engine, "Hvor mye brukte kommunen på oppvekst?")
    money = _cell(engine, c, "Oppvekst", "Regnskap 2020")
    count = _cell(engine, c, "Barnehageplasser", "2020")
    assert _f(c, money, "q_unit_money") == 1
    assert _f(c, money, "unit_match") == 1 and _f(c, money, "unit_conflict") == 0
    assert _f(c, count, "unit_conflict") == 1
    c = _cands(engine, "Hvor stor andel av elevene fikk spesialundervisning i 2020?")
    pct = _cell(engine, c, "Andel elever med spesialundervisning", "2020")
    assert _f(c, pct, "c_unit_percent") == 1 and _f(c, pct, "unit_match") == 1


def test_column_kinds_intents_and_negation(engine: Engine) -> None:
    c = _cands(engine, "Hva var budsjettert til oppvekst, ikke regnskapet?")
    budget = _cell(engine, c, "Oppvekst", "Budsjett 2020")
    actual = _cell(engine, c, "Oppvekst", "Regnskap 2020")
    assert _f(c, budget, "col_budget") == 1 and _f(c, actual, "col_actual") == 1
    assert _f(c, budget, "intent_match") == 1
    assert _f(c, actual, "negated_hit") > 0 and _f(c, budget, "negated_hit") == 0


def test_totals_and_sub_rows(engine: Engine) -> None:
    c = _cands(engine, "Hvor mange elever gikk i grunnskolen i 2020?")
    total = _cell(engine, c, "Sum drift", "Regnskap 2020")
    sub = _cell(engine, c, "Elever i grunnskolen, minoritetsspråklige", "2020")
    whole = _cell(engine, c, "Antall elever i grunnskolen", "2020")
    assert _f(c, total, "is_total") == 1 and _f(c, total, "is_subtotal") == 1
    assert _f(c, sub, "extra_label") > _f(c, whole, "extra_label")
    assert _f(c, whole, "cov_primary") >= _f(c, sub, "cov_primary")


def test_counted_noun_after_a_prose_figure(engine: Engine) -> None:
    c = _cands(engine, "Hvor mange barnehageplasser har kommunen?")
    figs = {engine.corpus.figures[int(c.ref[i])].raw: int(i) for i in np.flatnonzero(c.kind == FIGURE)}
    assert _f(c, figs["2590"], "counted_hit") == 1.0
    assert _f(c, figs["42 000"], "counted_hit") == 0.0


def test_names_the_reports_do_not_have(engine: Engine) -> None:
    c = _cands(engine, "Hvor mange elever har Levre skole?")
    assert (c.X[:, F["proper_missed"]] == 1).all()
    c = _cands(engine, "Hvor mange elever har Eksempel kommune?")
    assert (c.X[:, F["proper_missed"]] == 0).all()  # the report's own municipality is no qualifier


def test_pairs_for_a_change_between_years(engine: Engine) -> None:
    c = _cands(engine, "Hvor mye økte antall elever i grunnskolen fra 2019 til 2020?")
    diffs = [int(i) for i in np.flatnonzero(c.kind == DIFF)]
    values = {round(candidate_value(engine.corpus, c, i), 1): i for i in diffs}
    assert 50.0 in values and -50.0 in values
    up, down = values[50.0], values[-50.0]
    assert _f(c, up, "pair_year_change") == 1 and _f(c, up, "pair_order") == 1 and _f(c, down, "pair_order") == -1
    assert _f(c, up, "year_match") == 1
    assert _f(c, up, "q_cmp_change") == 1 and _f(c, up, "q_n_years") == 2


def test_pairs_across_the_reports_of_two_years() -> None:
    from fakes import fake_report

    engine = Engine.from_reports([fake_report(2020), fake_report(2021, 1.5)])
    c = _cands(engine, "Hvor mye endret regnskapet for oppvekst seg fra 2020 til 2021?")
    corpus = engine.corpus
    across = []
    for i in np.flatnonzero(c.kind == DIFF):
        a, b = c.pairs[int(c.ref[i])]
        ra, rb = corpus.report_of_row(int(corpus.cell_row[a])), corpus.report_of_row(int(corpus.cell_row[b]))
        if ra != rb and corpus.rows[corpus.cell_row[a]].row.label == "Oppvekst":
            across.append(int(i))
    values = {round(candidate_value(corpus, c, i), 1) for i in across}
    assert round(880.2 * 1.5 - 880.2, 1) in values  # Regnskap 2021 (2021 report) - Regnskap 2020 (2020 report)
    up = next(i for i in across if round(candidate_value(corpus, c, i), 1) == round(880.2 * 1.5 - 880.2, 1)
              and _f(c, i, "pair_year_change") == 1)
    assert _f(c, up, "pair_order") == 1 and _f(c, up, "year_match") == 1


def test_the_neighbouring_sentence_counts_in_the_context(engine: Engine) -> None:
    # «Kommunen har 2590 barnehageplasser.» follows «Antall elever økte også i 2020.» in its section
    c = _cands(engine, "Hvor mange barnehageplasser var det da antall elever økte?")
    fig = next(int(i) for i in np.flatnonzero(c.kind == FIGURE) if engine.corpus.figures[int(c.ref[i])].raw == "2590")
    assert _f(c, fig, "cov_ctx") > _f(c, fig, "cov_all")
    assert _f(c, fig, "missed_ctx") < _f(c, fig, "missed_max")
    # a sentence of another chapter is not a neighbour
    far = next(int(i) for i in np.flatnonzero(c.kind == FIGURE) if engine.corpus.figures[int(c.ref[i])].raw == "6,4")
    assert _f(c, far, "cov_ctx") == _f(c, far, "cov_all")
    # cells have no neighbours: their context is their own coverage
    cell = _cell(engine, c, "Barnehageplasser", "2020")
    assert _f(c, cell, "cov_ctx") == _f(c, cell, "cov_all")


def test_missed_known_counts_words_the_report_has_elsewhere_only(engine: Engine) -> None:
    def sick_leave(question: str) -> float:
        c = _cands(engine, question)
        i = next(int(i) for i in np.flatnonzero(c.kind == FIGURE) if engine.corpus.figures[int(c.ref[i])].raw == "6,4")
        return _f(c, i, "missed_known")

    assert sick_leave("Hva var sykefraværet?") == 0
    assert sick_leave("Hva var sykefraværet i oppvekst?") > 0  # «oppvekst» is a row and a chapter, not here
    assert sick_leave("Hva var sykefraværet på Jupiterbasen?") == 0  # a word the report does not have


def test_the_year_gate_puts_answers_for_another_year_below_the_rest(engine: Engine) -> None:
    from rag.layout import LEAD
    from rag.ranker import YEAR_GATE, year_gate

    c = _cands(engine, "Hvor mange barnehageplasser var det i 2018?")
    scores = np.zeros(len(c.kind), np.float32)
    gated = year_gate(c.X, scores) < 0
    fig = next(int(i) for i in np.flatnonzero(c.kind == FIGURE) if engine.corpus.figures[int(c.ref[i])].raw == "2590")
    assert gated[fig]  # «Kommunen har 2590 barnehageplasser» is the report's own year, 2020
    assert not gated[_cell(engine, c, "Barnehageplasser", "2018")]
    assert gated[_cell(engine, c, "Barnehageplasser", "2020")]
    assert not gated[c.kind == LEAD].any()  # overview passages are exempt
    assert np.allclose(year_gate(c.X, scores)[gated], -YEAR_GATE)
    for question in ("Hvor mange barnehageplasser var det i 2020?", "Hvor mange barnehageplasser var det?"):
        c = _cands(engine, question)
        assert not (year_gate(c.X, np.zeros(len(c.kind), np.float32)) < 0).any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
                          st.floats(-20, 20, allow_nan=False)), min_size=1, max_size=30))
def test_the_year_gate_never_raises_a_score_nor_reorders_what_it_keeps(rows: list) -> None:
    from rag.ranker import year_gate

    X = np.zeros((len(rows), len(FEATURES)), np.float32)
    for i, (asked, match, report, clause, lead, _) in enumerate(rows):
        X[i, [F["q_n_years"], F["year_match"], F["report_year_match"], F["clause_year_match"], F["k_lead"]]] = (
            asked, match, report, clause, lead)
    scores = np.asarray([r[5] for r in rows], np.float32)
    out = year_gate(X, scores)
    assert (out <= scores).all()
    kept = out == scores
    expected = [asked and not (match or report or clause or lead) for asked, match, report, clause, lead, _ in rows]
    assert list(~kept) == expected
    order = np.argsort(-scores[kept], kind="stable")
    assert (np.argsort(-out[kept], kind="stable") == order).all()
    if kept.any() and (~kept).any():
        assert out[~kept].max() < out[kept].min()
