"""LLM mode: a chat model writes the answer from the resolved facts; a numeric guard checks it.

* `OpenAICompatibleChat`: a small LangChain ``BaseChatModel`` over httpx for any
  OpenAI-compatible ``/chat/completions`` endpoint (llama.cpp server, vLLM, Ollama, OpenAI).
* `make_llm_writer(settings, chat_model=None)`: the chain's write step for ``mode="llm"``. It
  starts from the extractive answer (facts, value and citations are already resolved), asks the
  model to phrase it, and keeps the model's text only if every number in it occurs in the cited
  sources (or is the shown computation, a year, a table or line number of a citation). Otherwise,
  or when the model fails, the extractive answer stands and ``trace`` says why. Abstentions are
  never sent to the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from rag import prompts
from rag.answer import cite_text, tr, unit_text
from rag.records import Answer
from rag.resolve import Resolution
from rag.text import detect_language
from rapport.settings import Settings

log = logging.getLogger(__name__)


class LLMError(RuntimeError):
    """The chat endpoint failed or answered in an unexpected shape."""


class OpenAICompatibleChat(BaseChatModel):
    """Chat completions from an OpenAI-compatible HTTP endpoint (no SDK, only httpx)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    base_url: str
    model: str = "local"
    api_key: str | None = None
    timeout_s: float = 60.0
    temperature: float = 0.0
    max_tokens: int = 200

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}

    def _payload(self, messages: Sequence[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if stop:
            body["stop"] = stop
        return body

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import httpx  # only LLM mode needs it

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            resp = httpx.post(url, json=self._payload(messages, stop), headers=headers, timeout=self.timeout_s)
            resp.raise_for_status()
            data = resp.json()
            text = data["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise LLMError(f"chat endpoint {url} failed: {exc}") from exc
        if not isinstance(text, str):
            raise LLMError(f"chat endpoint {url} returned no text")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def make_chat_model(settings: Settings) -> BaseChatModel:
    if not settings.llm_base_url:
        raise LLMError(
            "LLM mode needs an OpenAI-compatible endpoint: set RAPPORT_LLM_BASE_URL "
            "(e.g. http://127.0.0.1:8080/v1) and RAPPORT_LLM_MODEL, or use --mode extractive."
        )
    return OpenAICompatibleChat(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        timeout_s=settings.llm_timeout_s,
    )


# --------------------------------------------------------------------------- prompts


def build_messages(question: str, answer: Answer, res: Resolution) -> list[BaseMessage]:
    """System + user message: the question and the facts behind the extractive answer."""
    lang = "en" if answer.lang == "en" else "no"
    facts: list[str] = []
    t = res.table if res.choice == "table" else None
    for n, c in enumerate(answer.citations, start=1):
        if c.table is not None:
            raw = _cell_raw(res, c.row, c.column) or ""
            unit = unit_text(t.cell.table.unit if t else None, raw, c.row or "") if raw else ""
            facts.append(prompts.FACT_CELL[lang].format(n=n, table=c.table, row=c.row, column=c.column, raw=raw, unit=unit))
        else:
            lines = f"{c.lines[0]}–{c.lines[1]}" if c.lines[0] != c.lines[1] else str(c.lines[0])
            facts.append(prompts.FACT_PROSE[lang].format(n=n, chapter=c.chapter, lines=lines, quote=c.quote))
    notes: list[str] = []
    if t is not None and t.kind == "computed":
        a, b = t.operands
        notes.append(prompts.FACT_COMPUTED[lang].format(a=a.cell.raw, b=b.cell.raw, v=t.value_raw))
    if t is not None and t.sign_note is not None:
        notes.append(t.sign_note.text)
    note_text = (prompts.NOTES_HEAD[lang] + "\n" + "\n".join(notes) + "\n") if notes else ""
    user = prompts.USER[lang].format(question=question, facts="\n".join(facts), notes=note_text)
    return [SystemMessage(content=prompts.SYSTEM[lang]), HumanMessage(content=user)]


def _cell_raw(res: Resolution, row: str | None, column: str | None) -> str | None:
    t = res.table
    if t is None:
        return None
    for ref in (t.cell, *t.operands, *t.context):
        if ref.row.label == row and ref.column == column:
            return ref.cell.raw
    return None


# --------------------------------------------------------------------------- numeric guard

STOP = ["\nSpørsmål:", "\nQuestion:", "\nFakta:", "\nFacts:"]  # a small model may go on to invent a next turn
_CITE_MARK = re.compile(r"\[\d{1,2}\]")
# Norwegian style (1 234,5 / -679,4 / 7,02) and English style (1,234.5 / 679.4)
_NO_NUM = re.compile(r"(?<![\w.,])([-−–]\s?)?(\d{1,3}(?:[ \u00a0]\d{3})+|\d+)(?:,(\d+))?(?![\d])")
_EN_NUM = re.compile(r"(?<![\w.,])([-−–]\s?)?(\d{1,3}(?:,\d{3})+|\d+)\.(\d+)(?![\d])")


def numbers_in_text(text: str) -> list[tuple[str, float]]:
    """Every number in a text as (printed form, value); citation markers like [1] are skipped."""
    text = _CITE_MARK.sub(" ", text)
    out: list[tuple[str, float]] = []
    taken: list[tuple[int, int]] = []
    for m in _EN_NUM.finditer(text):
        sign, whole, dec = m.groups()
        v = float(whole.replace(",", "") + "." + dec)
        out.append((m.group(0).strip(), -v if sign else v))
        taken.append(m.span())
    for m in _NO_NUM.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        sign, whole, dec = m.groups()
        v = float(whole.replace(" ", "").replace("\u00a0", "") + ("." + dec if dec else ""))
        out.append((m.group(0).strip(), -v if sign else v))
    return out


def allowed_numbers(question: str, answer: Answer, res: Resolution) -> set[float]:
    """Numbers the generated text may contain: those printed in the cited sources and quotes,
    the shown computation, the question's own numbers (years), and citation table/line numbers."""
    allowed: set[float] = set()
    texts: list[str] = [question]
    for c in answer.citations:
        texts.append(c.quote)
        if c.table is not None:
            allowed.add(float(c.table))
        allowed.update(float(x) for x in c.lines)
        texts.extend(x for x in (c.row, c.column, c.chapter) if x)
    if answer.value is not None:
        allowed.add(answer.value)
    t = res.table if res.choice == "table" else None
    if t is not None:
        texts.extend(r.cell.raw for r in (t.cell, *t.operands, *t.context))
        if t.sign_note is not None:
            texts.append(t.sign_note.text)
    for text in texts:
        allowed.update(v for _, v in numbers_in_text(text))
    return allowed


def guard(text: str, allowed: Iterable[float]) -> list[str]:
    """Printed forms of numbers in `text` that are not allowed (empty list: the text passes)."""
    ok = set(allowed)
    return [raw for raw, v in numbers_in_text(text) if not any(abs(v - a) < 1e-9 for a in ok)]


_ECHO = re.compile(r"(?im)^\s*(svar|fakta|spørsmål|answer|facts|question|merknader|notes)\s*:|^\s*\[\d+\]\s+(tabell|table|kapittel|chapter)\b")


def reply_problem(text: str, extractive: Answer) -> str | None:
    """Why a model reply is unusable even if its numbers pass (None when it is fine): it echoes
    the prompt, rambles, leaves out the answer's number, or is in the other language."""
    if _ECHO.search(text):
        return "it repeats the prompt"
    if len(text) > 700 or text.count("\n") > 6:
        return "too long"
    if extractive.value_raw and extractive.value_raw not in text:
        return f"the answer's number {extractive.value_raw} is missing"
    words = re.findall(r"[^\W\d_]+", text)
    if len(words) >= 6 and detect_language(text) != ("en" if extractive.lang == "en" else "no"):
        return "wrong language"
    return None


# --------------------------------------------------------------------------- the write step


def make_llm_writer(
    settings: Settings, chat_model: BaseChatModel | None = None
) -> Callable[[dict[str, Any]], Answer]:
    """The chain's LLM write step (state -> Answer); `chat_model` defaults to the endpoint in settings."""
    model = chat_model if chat_model is not None else make_chat_model(settings)

    def write(state: dict[str, Any]) -> Answer:
        extractive: Answer = state["answer"]
        res: Resolution = state["resolution"]
        base = replace(extractive, mode="llm")
        if extractive.abstained or not extractive.citations:
            return replace(base, trace=(*base.trace, "llm: not used (no answer to phrase)"))
        question = state["analysis"].text if state.get("analysis") is not None else extractive.question
        messages = build_messages(question, extractive, res)
        try:
            reply = model.invoke(messages, stop=STOP)
            text = str(reply.content).strip()
        except Exception as exc:  # a down endpoint must not lose the answer
            log.warning("LLM failed, extractive answer used: %s", exc)
            return replace(base, trace=(*base.trace, f"llm: failed ({type(exc).__name__}: {exc}); extractive answer used"))
        if not text:
            return replace(base, trace=(*base.trace, "llm: empty reply; extractive answer used"))
        problem = reply_problem(text, extractive)
        if problem:
            return replace(base, trace=(*base.trace, f"llm: reply rejected ({problem}); extractive answer used"))
        bad = guard(text, allowed_numbers(question, extractive, res))
        if bad:
            return replace(
                base,
                trace=(*base.trace, f"llm guard: number(s) {', '.join(bad)} not in the cited sources; extractive answer used"),
            )
        lang = "en" if extractive.lang == "en" else "no"
        sources = "; ".join(f"[{n}] {cite_text(c, lang)}" for n, c in enumerate(extractive.citations, start=1))
        return replace(
            base,
            answer=f"{text}\n\n{tr(lang, 'sources')}: {sources}.",
            trace=(*base.trace, "llm: answer written by the model, numbers checked against the sources"),
        )

    return write
