"""The answer chain as a LangChain Runnable of separate steps:

    analyze -> retrieve -> resolve -> write

Each step is a plain function over a state dict (tests drive them one by one); `build_chain`
binds them to their dependencies and composes them with ``RunnableLambda``. Input:
``{"question": str, "history": list | None}``; output: the state with ``"answer"``.
`build_stream_chain` is the same with a streaming write step: ``.stream(input)`` yields
`rag.llm.StreamEvent`s (guarded text pieces in LLM mode, then the final answer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from rag.abstain import decide
from rag.answer import build_answer
from rag.query import QueryContext, analyze
from rag.records import Answer
from rag.resolve import ReportIndex, resolve
from rag.retrieve import HybridRetriever

State = dict[str, Any]


@dataclass(frozen=True)
class ChainDeps:
    ctx: QueryContext
    index: ReportIndex
    retriever: HybridRetriever
    top_k: int = 8
    pool: int = 40  # chunks the resolver looks at
    mode: str = "extractive"
    # LLM mode: (question, analysis, resolution, extractive answer) -> Answer
    llm_writer: Callable[[State], Answer] | None = None


def dense_text(state: State) -> str:
    """What the dense retriever embeds: the (effective) question, with Norwegian synonyms for
    English questions (the e5 model handles both languages, the report is Norwegian)."""
    a = state["analysis"]
    text = a.text
    if a.lang == "en" and a.expansions:
        text = f"{text} ({' '.join(a.expansions)})"
    return text


def step_analyze(state: State, deps: ChainDeps) -> State:
    t0 = time.perf_counter()
    a = analyze(state["question"], deps.ctx, state.get("history"))
    trace = [*state.get("trace", ()), f"analysis: {a.to_dict()}"]
    return {**state, "analysis": a, "trace": trace, "t_analyze": time.perf_counter() - t0}


def step_retrieve(state: State, deps: ChainDeps) -> State:
    t0 = time.perf_counter()
    a = state["analysis"]
    where = {"table_number": a.table_ref} if a.table_ref is not None else None
    problems: list[str] = []
    hits = deps.retriever.search(a, k=deps.pool, where=where, dense_text=dense_text(state), problems=problems)
    if where and not hits:
        hits = deps.retriever.search(a, k=deps.pool, dense_text=dense_text(state), problems=problems)
    # more prose for the sentence picker: the best BM25 prose chunks (no second embedding call)
    have = {h.chunk.id for h in hits}
    extra = [h for h in deps.retriever.search(a, k=12, where={"kind": "prose"}, use_dense=False)
             if h.chunk.id not in have]
    hits = [*hits, *extra]
    trace = [*state["trace"], *problems[:1], "retrieved: " + ", ".join(h.chunk.id for h in hits[: deps.top_k])]
    return {**state, "hits": hits, "trace": trace, "degraded": bool(problems), "t_retrieve": time.perf_counter() - t0}


def step_resolve(state: State, deps: ChainDeps) -> State:
    t0 = time.perf_counter()
    a = state["analysis"]
    idf = {s: deps.retriever.idf(s) for s in (*a.content, *a.expansions)}
    res = resolve(deps.ctx, deps.index, a, state["hits"], idf, idf_ceiling=deps.retriever.idf_ceiling())
    verdict = decide(a, res, deps.index)
    trace = [*state["trace"], *res.trace]
    return {**state, "resolution": res, "verdict": verdict, "trace": trace, "t_resolve": time.perf_counter() - t0}


def step_write(state: State, deps: ChainDeps) -> State:
    a = state["analysis"]
    answer = build_answer(
        state["question"], a, state["resolution"], state["verdict"], deps.index, trace=tuple(state["trace"]),
        degraded=bool(state.get("degraded")),
    )
    state = {**state, "answer": answer}
    if deps.mode == "llm" and deps.llm_writer is not None:
        state = {**state, "answer": deps.llm_writer(state)}
    return state


def _find_steps(deps: ChainDeps) -> Runnable[State, State]:
    """analyze -> retrieve -> resolve: what both chains share."""
    return (
        RunnableLambda(partial(step_analyze, deps=deps), name="analyze")
        | RunnableLambda(partial(step_retrieve, deps=deps), name="retrieve")
        | RunnableLambda(partial(step_resolve, deps=deps), name="resolve")
    )


def build_chain(deps: ChainDeps) -> Runnable[State, State]:
    return _find_steps(deps) | RunnableLambda(partial(step_write, deps=deps), name="write")


def step_write_stream(states: Iterator[State], deps: ChainDeps) -> Iterator[Any]:
    """The write step, streamed: `rag.llm.StreamEvent`s. LLM mode: guarded text pieces as the
    model writes them, then the final answer (``replaces=True`` when the streamed text must be
    discarded); extractive mode: the final answer only."""
    from rag.llm import StreamEvent

    for state in states:
        state = step_write(state, replace(deps, mode="extractive"))
        stream = getattr(deps.llm_writer, "stream", None)
        if deps.mode == "llm" and callable(stream):
            yield from stream(state)
        elif deps.mode == "llm" and deps.llm_writer is not None:
            yield StreamEvent("final", answer=deps.llm_writer(state))
        else:
            yield StreamEvent("final", answer=state["answer"])


def build_stream_chain(deps: ChainDeps) -> Runnable[State, Any]:
    """The same steps with a streaming write: ``.stream(input)`` yields `rag.llm.StreamEvent`s."""
    return _find_steps(deps) | RunnableGenerator(partial(step_write_stream, deps=deps), name="write")
