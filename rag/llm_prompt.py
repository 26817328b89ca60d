"""LLM mode's prompt: the messages that ask a chat model to phrase an extractive answer.

`build_messages` turns the facts behind the answer (its citations, the shown computation) and its
value into a system message, a worked example and the real question (texts in rag.prompts);
`answer_notes` is what the writer prints after the model's text; `answer_lang` the answer's language.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from rag import prompts
from rag.records import Answer


def answer_lang(answer: Answer) -> str:
    """The answer's language as the prompts and the reply checks use it: "en" or "no"."""
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



__all__ = ["answer_lang", "build_messages", "answer_notes"]
