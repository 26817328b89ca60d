"""The answer chain: four small steps over typed records,

    route (the reports the question is about) -> score (every candidate of those reports)
    -> decide (answer, ask back, abstain) -> write

`engine_for(library, turn)` routes; `answer(engine, turn, llm_writer, chooser)` runs the rest, with an
optional choose step after decide (`chooser`, rag/choose.py: an LLM picks among the top candidates by
id when the ranker is unsure; off unless ``llm_choose`` is set); `stream(engine, turn, llm_writer,
chooser)` yields `rag.llm.StreamEvent`s (guarded model text in LLM mode, then the final answer).
Plain function composition on purpose: LangChain's Runnable machinery brings tracing imports (~0.7 s per
process) that a one-shot `rapport ask` should not pay; LangChain is used where it does its job
well (the Embeddings interface, ChatOpenAI in LLM mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from rag.answer import write_answer
from rag.decide import Decision, decide
from rag.engine import Engine, Scored
from rag.library import Library
from rag.records import Answer
from rag.route import previous_report, route


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


def engine_for(library: Library, turn: Turn) -> Engine:
    """The engine over the reports this turn is about (rag/route.py)."""
    return library.engine(route(library.keys, turn.question, turn.reports, previous_report(turn.history)))


def step_score(turn: Turn, engine: Engine) -> Step:
    return Step(turn, engine.score(turn.question, list(turn.history)))


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
