"""The answer chain: three small steps over typed records,

    score (every candidate of every report) -> decide (answer, ask back, abstain) -> write

with an optional choose step after decide (`chooser`, rag/choose.py: an LLM picks among the top
candidates by id when the ranker is unsure; off unless ``llm_choose`` is set).
`answer(engine, turn, llm_writer, chooser)` runs them; `stream(engine, turn, llm_writer, chooser)` yields
`rag.llm.StreamEvent`s (guarded model text in LLM mode, then the final answer). Plain function
composition on purpose: LangChain's Runnable machinery brings tracing imports (~0.7 s per
process) that a one-shot `rapport ask` should not pay; LangChain is used where it does its job
well (the Embeddings interface, ChatOpenAI in LLM mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag.answer import write_answer
from rag.decide import Decision, asked_report, decide, report_of
from rag.engine import Engine, Scored
from rag.records import Answer


@dataclass(frozen=True)
class Turn:
    question: str
    history: tuple[Any, ...] = ()
    reports: frozenset[str] | None = None  # report ids the user picked (None: all)


@dataclass(frozen=True)
class Step:
    turn: Turn
    scored: Scored | None = None
    decision: Decision | None = None
    answer: Answer | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _allowed_reports(engine: Engine, turn: Turn) -> set[int] | None:
    """Reports the answer may come from: those picked, narrowed to the one the question names."""
    ids = [r.meta.id if r.meta else r.source_name for r in engine.corpus.reports]
    allowed = set(range(len(ids))) if turn.reports is None else {i for i, rid in enumerate(ids) if rid in turn.reports}
    named = asked_report(engine, turn.question)
    if named is not None and named in allowed and len(ids) > 1:
        meta = engine.corpus.reports[named].meta
        municipality = meta.municipality if meta else None
        same = {i for i in allowed if (m := engine.corpus.reports[i].meta) is not None and m.municipality == municipality}
        allowed = same or allowed
    return None if allowed == set(range(len(ids))) else allowed


def step_score(turn: Turn, engine: Engine) -> Step:
    scored = engine.score(turn.question, list(turn.history))
    allowed = _allowed_reports(engine, turn)
    if allowed is not None:
        mask = np.asarray([report_of(engine, scored, i) in allowed for i in range(len(scored.scores))])
        scores = np.where(mask, scored.scores, -1e9).astype(np.float32)
        scored = replace(scored, scores=scores, order=np.argsort(-scores, kind="stable")[: int(mask.sum())])
    return Step(turn, scored)


def step_decide(step: Step, engine: Engine) -> Step:
    assert step.scored is not None
    return replace(step, decision=decide(engine, step.scored))


def step_choose(step: Step, engine: Engine, chooser: Any) -> Step:
    """The optional LLM choice among the top candidates (rag.choose.LLMChooser); None: no change."""
    if chooser is None:
        return step
    assert step.scored is not None and step.decision is not None
    decision, note = chooser(engine, step.scored, step.decision, step.scored.analysis.text)
    return replace(step, decision=decision, notes=(*step.notes, note))


def step_write(step: Step, engine: Engine) -> Step:
    assert step.scored is not None and step.decision is not None
    written = write_answer(engine, step.scored, step.decision, step.turn.question)
    if step.notes:
        written = replace(written, trace=(*written.trace, *step.notes))
    return replace(step, answer=written)


def _steps(engine: Engine, turn: Turn, chooser: Any) -> Step:
    return step_write(step_choose(step_decide(step_score(turn, engine), engine), engine, chooser), engine)


def answer(engine: Engine, turn: Turn, llm_writer: Any = None, chooser: Any = None) -> Step:
    """The three steps (four with a chooser); in LLM mode the model then phrases the extractive
    answer (guarded)."""
    step = _steps(engine, turn, chooser)
    if llm_writer is not None:
        assert step.answer is not None and step.scored is not None
        step = replace(step, answer=llm_writer(step.answer, step.scored.analysis.text))
    return step


def stream(engine: Engine, turn: Turn, llm_writer: Any = None, chooser: Any = None) -> Iterator[Any]:
    """The same steps with a streaming last step: StreamEvents, the final answer last."""
    from rag.llm import StreamEvent

    step = _steps(engine, turn, chooser)
    assert step.answer is not None and step.scored is not None
    writer_stream = getattr(llm_writer, "stream", None)
    if callable(writer_stream):
        yield from writer_stream(step.answer, step.scored.analysis.text)
    else:
        yield StreamEvent("final", answer=step.answer)
