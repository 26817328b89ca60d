"""LLM mode: a chat model writes the answer from the resolved facts; a numeric guard checks it.

* `make_chat_model(settings)`: LangChain's ``ChatOpenAI`` on any OpenAI-compatible endpoint
  (llama.cpp server, vLLM, Ollama, OpenAI); streaming, finish reason in ``response_metadata``.
* `make_llm_writer(settings, chat_model=None)` -> `LLMWriter`: the chain's write step for
  ``mode="llm"``. It starts from the extractive answer (facts, value and citations are already
  resolved), asks the model to phrase it, and keeps the model's text only if

  - every figure in it equals (numerically: ``7,0%`` = ``7,0 %`` = ``7.0``, ``1878,6`` =
    ``1 878,6``, ``−5`` = ``-5``) a number printed in the cited sources, the shown computation,
    or a citation's table or line number (a year counts when the question or a source names it);
    citation markers are not figures,
  - it contains the answer's own value, cites no ``[n]`` beyond the facts it was given,
  - the model stopped by itself (finish reason ``length`` = cut off at ``llm_max_tokens``),
  - it does not echo the prompt, ramble, or switch language.

  Otherwise, or when the model fails, the extractive answer stands and ``trace`` says why.
  Abstentions are never sent to the model.

Streaming (`LLMWriter.stream`, used by ``rag.chain.build_stream_chain``): the writer yields
`StreamEvent`s. ``"delta"`` events carry the model's text as it is generated, but only after an
incremental guard: text is held back while it ends in something that may still grow into a
number or a citation marker, and every released number and marker has passed the guard; the
first unsupported figure or marker stops generation. So an unsupported figure never reaches
the screen. The checks that need the whole reply (finish reason, the value present, language,
prompt echo) run when the model stops; the last event is always one ``"final"`` event with the
Answer, and ``replaces=True`` when text was streamed and must be discarded: the final answer is
then the extractive one. Consumers show deltas as they come and then show the final answer's
text in their place. Time to first token (rapport bench) is the time to the first delta, i.e. to
the first *guarded* token; total is the time to the final event.

This module holds the endpoint (`make_chat_model`) and the write step; the prompt is built in
rag.llm_prompt, the checks live in rag.llm_guard (re-exported here).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag import prompts
from rag.answer import cite_text
from rag.llm_guard import (
    PrefixGuard,
    Rejected,
    allowed_numbers,
    reply_problem,
)
from rag.llm_prompt import answer_lang, answer_notes, build_messages
from rag.messages import t as tr
from rag.records import Answer
from rapport.settings import Settings

log = logging.getLogger(__name__)


class LLMError(RuntimeError):
    """The chat endpoint failed or answered in an unexpected shape."""


def make_chat_model(settings: Settings) -> BaseChatModel:
    """LangChain's ChatOpenAI on any OpenAI-compatible endpoint (llama.cpp server, vLLM, Ollama,
    OpenAI): greedy, bounded by ``llm_max_tokens``, no retries (a down endpoint falls back to the
    extractive answer at once). Closing a stream closes the connection, which stops generation."""
    if not settings.llm_base_url:
        raise LLMError(
            "LLM mode needs an OpenAI-compatible endpoint: set RAPPORT_LLM_BASE_URL "
            "(e.g. http://127.0.0.1:8080/v1) and RAPPORT_LLM_MODEL, or use --mode extractive."
        )
    from langchain_openai import ChatOpenAI  # ~2 s to import: only LLM mode pays it

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key or "not-needed",
        temperature=0.0,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=0,
    )


# --------------------------------------------------------------------------- the write step


@dataclass(frozen=True)
class StreamEvent:
    """One item of a streamed answer: ``kind="delta"`` with a guarded text piece, then exactly one
    ``kind="final"`` with the Answer. ``replaces=True`` on the final event: text was streamed that
    must be discarded (the reply failed a check after streaming began); show ``answer.answer``."""

    kind: str  # "delta" | "final"
    text: str = ""
    answer: Answer | None = None
    replaces: bool = False


class LLMWriter:
    """The chain's LLM write step: ``writer(answer, question) -> Answer`` and
    ``writer.stream(answer, question)`` -> `StreamEvent`s (the call consumes the stream, so both
    take the same path). ``answer`` is the extractive answer; ``question`` the effective question."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    def __call__(self, extractive: Answer, question: str) -> Answer:
        final: Answer | None = None
        for event in self.stream(extractive, question):
            if event.kind == "final":
                final = event.answer
        assert final is not None
        return final

    def stream(self, extractive: Answer, question: str) -> Iterator[StreamEvent]:
        base = replace(extractive, mode="llm")

        def fallback(why: str, streamed: bool, reply: str = "") -> StreamEvent:
            if reply:  # the rejected reply, shortened, for whoever reads the trace
                short = " ".join(reply.split())
                why += f" (reply: «{short[:157] + '…' if len(short) > 160 else short}»)"
            return StreamEvent("final", answer=replace(base, trace=(*base.trace, why)), replaces=streamed)

        if extractive.abstained or not extractive.citations:
            yield fallback("llm: not used (no answer to phrase)", False)
            return
        lang = answer_lang(extractive)
        messages = build_messages(question, extractive)
        checker = PrefixGuard(allowed_numbers(question, extractive), len(extractive.citations))
        streamed = False
        finish: str | None = None
        chunks = self.model.stream(messages, stop=prompts.STOP[lang])
        rejected: Rejected | None = None
        failed: Exception | None = None
        try:
            for chunk in chunks:
                finish = (getattr(chunk, "response_metadata", None) or {}).get("finish_reason") or finish
                shown = checker.feed(_content(chunk))
                if shown:
                    streamed = True
                    yield StreamEvent("delta", text=shown)
            rest = checker.finish()
            if rest:
                streamed = True
                yield StreamEvent("delta", text=rest)
        except Rejected as why:
            rejected = why
        except Exception as exc:  # a down endpoint must not lose the answer
            failed = exc
        finally:
            close = getattr(chunks, "close", None)
            if callable(close):
                close()  # stops generation on the server when the reply was cut short
        if rejected is not None:
            tag = "llm guard: " if rejected.guard_failure else "llm: reply rejected "
            why = str(rejected) if rejected.guard_failure else f"({rejected})"
            where = f" (stopped after {len(checker.text)} characters)"
            yield fallback(f"{tag}{why}{where}; extractive answer used", streamed, checker.text)
            return
        if failed is not None:
            log.warning("LLM failed, extractive answer used: %s", failed)
            yield fallback(
                f"llm: failed ({type(failed).__name__}: {failed}); extractive answer used", streamed
            )
            return
        text = checker.text.strip()
        if not text:
            yield fallback("llm: empty reply; extractive answer used", streamed)
            return
        if finish == "length":
            yield fallback(
                "llm: reply rejected (cut off at the token limit, finish_reason 'length'); extractive answer used",
                streamed,
                text,
            )
            return
        problem = reply_problem(text, extractive, question)
        if problem:
            yield fallback(f"llm: reply rejected ({problem}); extractive answer used", streamed, text)
            return
        sources = "; ".join(
            f"[{n}] {cite_text(c, lang)}" for n, c in enumerate(extractive.citations, start=1)
        )
        note = answer_notes(extractive)
        answer = replace(
            base,
            answer=f"{text}{' ' + note if note else ''}\n\n{tr(lang, 'sources')}: {sources}.",
            trace=(*base.trace, "llm: answer written by the model, numbers checked against the sources"),
        )
        yield StreamEvent("final", answer=answer)


def _content(chunk: Any) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(
            b if isinstance(b, str) else str(b.get("text", "")) for b in content if isinstance(b, str | dict)
        )
    return str(content)


def make_llm_writer(settings: Settings, chat_model: BaseChatModel | None = None) -> LLMWriter:
    """The chain's LLM write step (state -> Answer, or .stream(state) -> events); `chat_model`
    defaults to the endpoint in settings (``llm_max_tokens`` bounds each reply)."""
    return LLMWriter(chat_model if chat_model is not None else make_chat_model(settings))


__all__ = ["LLMError", "make_chat_model", "StreamEvent", "LLMWriter", "make_llm_writer"]
