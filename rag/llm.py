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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from rag import prompts
from rag.answer import cite_text
from rag.messages import t as tr
from rag.records import Answer
from rag.text import detect_language
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


# --------------------------------------------------------------------------- prompts


def _lang(answer: Answer) -> str:
    return "en" if answer.lang == "en" else "no"


def build_messages(question: str, answer: Answer) -> list[BaseMessage]:
    """System message, one worked example (user + assistant), then the real question with the
    facts behind the extractive answer and its value with its citation as the target (texts in
    rag.prompts). Notes (sign conventions) are not sent: the writer appends them to the model's text."""
    lang = "en" if answer.lang == "en" else "no"
    facts: list[str] = []
    for n, c in enumerate(answer.citations, start=1):
        if c.table is not None or c.row is not None:
            raw = c.value_raw or ""
            unit = f" {answer.unit}" if raw and answer.unit and answer.unit not in raw else ""
            facts.append(prompts.FACT_CELL[lang].format(n=n, table=c.table, row=c.row, column=c.column, raw=raw, unit=unit))
        else:
            lines = f"{c.lines[0]}–{c.lines[1]}" if c.lines[0] != c.lines[1] else str(c.lines[0])
            facts.append(prompts.FACT_PROSE[lang].format(n=n, chapter=c.chapter, lines=lines, quote=c.quote))
    if answer.kind == "diff" and len(answer.citations) >= 2:
        facts.append(prompts.FACT_COMPUTED[lang].format(a=answer.citations[0].value_raw, b=answer.citations[1].value_raw,
                                                        v=answer.value_raw))
    user = prompts.USER[lang].format(question=question, facts="\n".join(facts), task=_task(answer, lang))
    example_q, example_a = prompts.EXAMPLE[lang]
    return [
        SystemMessage(content=prompts.SYSTEM[lang]),
        HumanMessage(content=example_q),
        AIMessage(content=example_a),
        HumanMessage(content=user),
    ]


def answer_notes(extractive: Answer) -> str:
    """The extractive answer's notes (sign conventions, footnotes), to print after the model's text."""
    return " ".join(extractive.details)


def _task(answer: Answer, lang: str) -> str:
    """The concrete target: the value as printed, its unit and its citation marker(s)."""
    if not answer.value_raw:
        return prompts.TASK_TEXT[lang]
    unit = f" {answer.unit}" if answer.unit and answer.unit not in answer.value_raw else ""
    n_cites = 2 if answer.kind == "diff" and len(answer.citations) >= 2 else 1
    cite = prompts.CITE_JOIN[lang].join(f"[{n}]" for n in range(1, n_cites + 1))
    return prompts.TASK_VALUE[lang].format(value=answer.value_raw + unit, value_raw=answer.value_raw, cite=cite)


# --------------------------------------------------------------------------- numbers

# citation markers: [1], [2, 3], [1–2]; never figures
_CITE_MARK = re.compile(r"\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]")
_CITE_NUM = re.compile(r"\d+")
# a number: optional minus (-, − or – glued to the digits), an integer part with optional
# thousands groups (space, no-break space, narrow no-break space), then . or , groups
_NUM = re.compile(
    r"(?<![\w.,])([-−–](?=\d))?(\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+)((?:[.,]\d+)*)(?![\d])"
)


@dataclass(frozen=True)
class Number:
    raw: str  # as printed
    values: tuple[float, ...]  # every reading ("1,234" is 1.234 in Norwegian and 1234 in English)


def _readings(whole: str, rest: str) -> tuple[float, ...]:
    base = whole.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    groups = re.findall(r"([.,])(\d+)", rest)
    if not groups:
        return (float(base),)
    *head, (_sep, last) = groups
    if head:  # 1,234.5 / 1.234,5 / 1,234,567: earlier groups are thousands
        if any(len(d) != 3 for _, d in head) or " " in whole:
            return ()
        thousands = base + "".join(d for _, d in head)
        out = [float(thousands + "." + last)]
        if len(last) == 3 and {s for s, _ in head} == {_sep}:
            out.append(float(thousands + last))  # 1,234,567
        return tuple(out)
    out = [float(base + "." + last)]
    if len(last) == 3 and len(base) <= 3 and " " not in whole:
        out.append(float(base + last))  # 1,234 / 1.234 as a thousands separator
    return tuple(out)


def scan_numbers(text: str) -> list[Number]:
    """Every number in a text, in order; citation markers like [1] are skipped."""
    text = _CITE_MARK.sub(lambda m: " " * len(m.group(0)), text)
    out: list[Number] = []
    for m in _NUM.finditer(text):
        sign, whole, rest = m.groups()
        values = _readings(whole, rest)
        if not values:
            continue
        if sign:
            values = tuple(-v for v in values)
        out.append(Number(m.group(0), values))
    return out


def numbers_in_text(text: str) -> list[tuple[str, float]]:
    """Every number in a text as (printed form, first reading), in order; citation markers skipped."""
    return [(n.raw, n.values[0]) for n in scan_numbers(text)]


def citation_markers(text: str) -> list[int]:
    """The source numbers cited in a text: [1] -> 1, [2, 3] -> 2, 3, [1–3] -> 1, 3."""
    return [int(x) for m in _CITE_MARK.finditer(text) for x in _CITE_NUM.findall(m.group(0))]


def _close(v: float, a: float) -> bool:
    return abs(v - a) <= 1e-9 * max(1.0, abs(a))


def allowed_numbers(question: str, answer: Answer) -> set[float]:
    """Numbers the generated text may contain: those printed in the cited sources and quotes,
    the shown computation and notes, citation table/line numbers, and the years the question
    or the sources name. The question's other numbers are not allowed (an injected figure must
    not survive)."""
    allowed: set[float] = set()
    texts: list[str] = [*answer.details]
    for c in answer.citations:
        texts.append(c.quote)
        if c.table is not None:
            allowed.update(n.values[0] for n in scan_numbers(str(c.table)))
        allowed.update(float(x) for x in c.lines)
        if c.page is not None:
            allowed.add(float(c.page))
        texts.extend(x for x in (c.row, c.column, c.chapter, c.value_raw) if x)
    if answer.value is not None:
        allowed.add(answer.value)
    if answer.value_raw:
        texts.append(answer.value_raw)
    for text in texts:
        for n in scan_numbers(text):
            allowed.update(n.values)
    allowed.update(float(y) for y in re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", " ".join([question, *texts])))
    return allowed


def guard(text: str, allowed: Iterable[float]) -> list[str]:
    """Printed forms of figures in `text` that are not allowed (empty list: the text passes).
    Citation markers are not figures; a number passes when any of its readings equals an
    allowed value."""
    ok = list(allowed)
    return [
        n.raw
        for n in scan_numbers(text)
        if not any(_close(v, a) for v in n.values for a in ok)
    ]


def bad_citations(text: str, n_facts: int) -> list[int]:
    """Cited source numbers that do not exist (0, or beyond the `n_facts` facts given)."""
    return [n for n in citation_markers(text) if not 1 <= n <= n_facts]


def has_value(text: str, value: float) -> bool:
    """The answer's value occurs in `text` as a number (any printed form, sign included)."""
    return any(_close(v, value) for n in scan_numbers(text) for v in n.values)


_ECHO = re.compile(
    r"(?im)^\s*(svar|fakta|spørsmål|answer|facts|question|merknader|notes)\s*:|^\s*\[\d+\]\s+(tabell|table|kapittel|chapter)\b"
    r"|skriv det som en hel setning|write it as a full sentence"
)


def reply_problem(text: str, extractive: Answer, question: str = "") -> str | None:
    """Why a model reply is unusable even if its numbers pass (None when it is fine): it echoes
    the prompt or the question, rambles, is no sentence, leaves out the answer's number, or is
    in the other language."""
    if _ECHO.search(text):
        return "it repeats the prompt"
    q = " ".join(question.split()).rstrip("?").lower()
    if len(q) > 12 and q in " ".join(text.split()).lower():
        return "it repeats the question"
    if len(text) > 700 or text.count("\n") > 6:
        return "too long"
    if len(re.findall(r"[^\W\d_]{2,}", _CITE_MARK.sub(" ", text))) < 3:
        return "not a sentence"
    if extractive.value is not None and extractive.value_raw and not has_value(text, extractive.value):
        return f"the answer's number {extractive.value_raw} is missing"
    words = re.findall(r"[^\W\d_]+", text)
    if len(words) >= 6 and detect_language(text) != _lang(extractive):
        return "wrong language"
    label = _unnamed_label(text, extractive)
    if label:
        return f"it does not name what the number is («{label}»)"
    return None


def _unnamed_label(text: str, extractive: Answer) -> str | None:
    """The cited row's label when a Norwegian reply uses none of its words (a right number beside
    a made-up name passes the number guard: 'Svartighetsfölter i 2020 var -679,4 mill. kr').
    Words match on their first six letters (inflections); English replies translate the label."""
    cite = extractive.citations[0] if extractive.citations else None
    if cite is None or cite.table is None or not cite.row or _lang(extractive) != "no":
        return None
    label_words = {w.lower()[:6] for w in re.findall(r"[^\W\d_]{4,}", cite.row)}
    said = {w.lower()[:6] for w in re.findall(r"[^\W\d_]{4,}", text)}
    return None if not label_words or label_words & said else cite.row


# --------------------------------------------------------------------------- incremental guard

# the end of a text that may still grow into a number or a citation marker: held back
_HOLD = re.compile(r"(?:[-−–]?\d[\d \u00a0\u202f.,]*|[-−–]|\[[\d\s,;–-]*)$")


class PrefixGuard:
    """Checks a reply while it streams. `feed` takes the next piece and returns the text that
    may be shown now (possibly ""), or raises `Rejected` at the first figure that is not in the
    sources or the first citation marker beyond the facts. `finish` releases the rest."""

    def __init__(self, allowed: Iterable[float], n_facts: int) -> None:
        self.allowed = list(allowed)
        self.n_facts = n_facts
        self.raw = ""
        self.released = 0  # characters of the (left-stripped) text already shown

    @property
    def text(self) -> str:
        return self.raw.lstrip()

    def feed(self, piece: str) -> str:
        self.raw += piece
        body = self.text
        m = _HOLD.search(body)
        return self._release(body, m.start() if m else len(body))

    def finish(self) -> str:
        body = self.text.rstrip()
        return self._release(body, len(body))

    def _release(self, body: str, cut: int) -> str:
        if cut <= self.released:
            return ""
        checked = body[:cut]
        bad = guard(checked, self.allowed)
        if bad:
            raise Rejected(f"number(s) {', '.join(bad)} not in the cited sources", guard_failure=True)
        if _ECHO.search(checked):
            raise Rejected("it repeats the prompt")
        cites = bad_citations(checked, self.n_facts)
        if cites:
            raise Rejected(
                f"cites {', '.join(f'[{n}]' for n in cites)} but only {self.n_facts} fact(s) were given",
                guard_failure=True,
            )
        out = checked[self.released :]
        self.released = cut
        return out


class Rejected(Exception):
    """A reply that must not be used; the message says why."""

    def __init__(self, why: str, guard_failure: bool = False) -> None:
        super().__init__(why)
        self.guard_failure = guard_failure


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
        lang = _lang(extractive)
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
