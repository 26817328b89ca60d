"""The answer chain as LangChain Runnables over typed records:

    score (every candidate of every report) -> decide (answer, ask back, abstain) -> write

`build_chain(engine)` answers with `.invoke(Turn)`; `build_stream_chain(engine, llm_writer)`
yields `rag.llm.StreamEvent`s (guarded model text in LLM mode, then the final answer).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from rag.answer import write_answer
from rag.decide import Decision, asked_report, decide
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
        municipality = engine.corpus.reports[named].meta.municipality if engine.corpus.reports[named].meta else None
        same = {i for i in allowed if engine.corpus.reports[i].meta
                and engine.corpus.reports[i].meta.municipality == municipality}
        allowed = same or allowed
    return None if allowed == set(range(len(ids))) else allowed


def step_score(turn: Turn, engine: Engine) -> Step:
    scored = engine.score(turn.question, list(turn.history))
    allowed = _allowed_reports(engine, turn)
    if allowed is not None:
        from rag.decide import report_of

        mask = np.asarray([report_of(engine, scored, i) in allowed for i in range(len(scored.scores))])
        scores = np.where(mask, scored.scores, -1e9).astype(np.float32)
        scored = replace(scored, scores=scores, order=np.argsort(-scores, kind="stable")[: int(mask.sum())])
    return Step(turn, scored)


def step_decide(step: Step, engine: Engine) -> Step:
    assert step.scored is not None
    return replace(step, decision=decide(engine, step.scored))


def step_write(step: Step, engine: Engine) -> Step:
    assert step.scored is not None and step.decision is not None
    return replace(step, answer=write_answer(engine, step.scored, step.decision, step.turn.question))


def _find(engine: Engine) -> Runnable[Turn, Step]:
    return (
        RunnableLambda(partial(step_score, engine=engine), name="score")
        | RunnableLambda(partial(step_decide, engine=engine), name="decide")
        | RunnableLambda(partial(step_write, engine=engine), name="write")
    )


def build_chain(engine: Engine, llm_writer: Any = None) -> Runnable[Turn, Step]:
    """Turn -> Step with the answer (the LLM phrases it when a writer is given)."""
    chain = _find(engine)
    if llm_writer is None:
        return chain

    def phrase(step: Step) -> Step:
        assert step.answer is not None and step.scored is not None
        return replace(step, answer=llm_writer(step.answer, step.scored.analysis.text))

    return chain | RunnableLambda(phrase, name="phrase")


def build_stream_chain(engine: Engine, llm_writer: Any = None) -> Runnable[Turn, Any]:
    """The same steps with a streaming last step: ``.stream(turn)`` yields StreamEvents."""
    from rag.llm import StreamEvent

    def events(steps: Iterator[Step]) -> Iterator[Any]:
        for step in steps:
            assert step.answer is not None and step.scored is not None
            stream = getattr(llm_writer, "stream", None)
            if callable(stream):
                yield from stream(step.answer, step.scored.analysis.text)
            else:
                yield StreamEvent("final", answer=step.answer)

    return _find(engine) | RunnableGenerator(events, name="phrase")


__all__ = ["Turn", "Step", "build_chain", "build_stream_chain", "Sequence"]
