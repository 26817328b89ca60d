"""Labeled questions resolve to the candidates that answer them, or say why not."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import fake_report

from eval.labels import is_correct, resolve
from rag.candidates import candidate_value
from rag.engine import Engine
from rag.layout import CELL, FIGURE, LEAD, SENTENCE


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_reports([fake_report()])


def _line(engine: Engine, text: str) -> int:
    return next(i for i, line in enumerate(engine.corpus.reports[0].lines, 1) if text in line)


def _item(**kw):
    base = {"id": "x", "question": "q", "kind": "table_cell", "answer_number": None, "unit": None, "table": None,
            "source_quote": "", "line": None, "lang": "no"}
    return {**base, **kw}


def _resolve(engine: Engine, item):
    _, cands = engine.candidates(engine.analyze(item["question"]))
    return resolve(item, engine.corpus, cands), cands


def test_a_table_cell_resolves_to_its_cell(engine: Engine) -> None:
    line = _line(engine, "Barnehageplasser 2 500")
    gold, cands = _resolve(engine, _item(question="Hvor mange barnehageplasser i 2019?", answer_number=2550,
                                         table=2, line=line))
    assert gold.status == "ok"
    kinds = {int(cands.kind[i]) for i in gold.positives}
    assert CELL in kinds
    assert all(candidate_value(engine.corpus, cands, int(i)) == 2550 for i in gold.positives)


def test_the_same_figure_printed_in_prose_counts_too(engine: Engine) -> None:
    line = _line(engine, "Barnehageplasser 2 500")
    gold, cands = _resolve(engine, _item(question="Hvor mange barnehageplasser var det i 2020?", answer_number=2590,
                                         table=2, line=line))
    assert {int(cands.kind[i]) for i in gold.positives} == {CELL, FIGURE}


def test_a_wrong_line_or_number_does_not_resolve(engine: Engine) -> None:
    line = _line(engine, "Barnehageplasser 2 500")
    gold, _ = _resolve(engine, _item(answer_number=9999, table=2, line=line))
    assert gold.status == "none" and len(gold.positives) == 0


def test_prose_names_and_overviews(engine: Engine) -> None:
    line = _line(engine, "ordfører Kari Nordmann")
    gold, cands = _resolve(engine, _item(kind="non_numeric", question="Hvem er ordfører?", must_contain=["Kari Nordmann"],
                                         line=line))
    assert gold.status == "ok" and {int(cands.kind[i]) for i in gold.positives} == {SENTENCE}
    line = _line(engine, "02 ØKONOMI")
    gold, cands = _resolve(engine, _item(kind="overview", question="Hvordan gikk økonomien?", line=line,
                                         line_range=[line, line + 4]))
    assert gold.status == "ok" and {int(cands.kind[i]) for i in gold.positives} == {LEAD}


def test_signs_are_free_with_abs_ok(engine: Engine) -> None:
    line = _line(engine, "Skatteinntekter -1 200,0")
    gold, _ = _resolve(engine, _item(answer_number=1250.5, abs_ok=True, table=1, line=line))
    assert gold.status == "ok"
    gold, _ = _resolve(engine, _item(answer_number=1250.5, table=1, line=line))
    assert gold.status == "none"


def test_unanswerable_items_have_no_positives_and_correctness_follows_the_scorer(engine: Engine) -> None:
    gold, cands = _resolve(engine, _item(kind="unanswerable", question="Hvor mange ble kremert?"))
    assert gold.status == "unanswerable" and len(gold.positives) == 0
    item = _item(answer_number=2550, table=2, line=_line(engine, "Barnehageplasser 2 500"))
    right = [i for i in range(len(cands.kind)) if is_correct(item, engine.corpus, cands, i)]
    assert right and all(candidate_value(engine.corpus, cands, i) == 2550 for i in right)
    assert not is_correct(_item(kind="unanswerable"), engine.corpus, cands, int(np.argmax(cands.kind == CELL)))
