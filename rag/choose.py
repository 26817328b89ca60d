"""LLM mode, optional: the model picks among the ranker's top candidates by id; it writes no number.

    chooser = LLMChooser(chat_model)            # any LangChain chat model (ChatOpenAI in LLM mode)
    decision, note = chooser(engine, scored, decision, question)

Only an unsure answer is put to the model (`wants`): an answer below the ranker's ``sure``
confidence (abstentions stay abstentions unless ``ask_abstentions``). The options are the best
candidate and up to k-1 distinct runners-up (rag.decide.distinct_candidates), each described by the extractive writer
(rag.answer.write_candidate: row, column, value and unit, or the quoted sentence) with its
table's caption, under the letters A, B, ...; one more option, ``none``, abstains. The request
carries a llama.cpp grammar (``extra_body={"grammar": ...}``) that allows only those letters and
``none``; a server without grammars may answer anything, so the reply is parsed defensively:
anything but a valid id keeps the ranker's decision. Every number in the answer is still written
by rag/answer.py from the chosen candidate. Setting ``llm_choose`` (RAPPORT_LLM_CHOOSE) turns it
on in LLM mode; it is off by default (docs/LLM_CHOICE.md has the dev figures).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from rag import prompts
from rag.answer import write_candidate
from rag.decide import ALT_WINDOW, MAX_ALTERNATIVES, Decision, distinct_candidates
from rag.engine import Engine, Scored
from rag.layout import CELL, DIFF
from rag.messages import t

log = logging.getLogger(__name__)

IDS = "ABCDEFGH"
NONE = "none"
DEFAULT_K = 5
CHOICE_WINDOW = 2.0  # runners-up within this many ranker points of the best are options
MAX_DESCRIPTION = 300  # characters of one option (a long quoted sentence is cut)


@dataclass(frozen=True)
class Choice:
    options: tuple[int, ...]  # candidate indexes; options[n] has the id IDS[n]
    reply: str  # the model's raw reply
    picked: int | None  # the chosen candidate index (None: "none", or no valid id)
    valid: bool  # the reply was an id of an option or "none"
    seconds: float


def wants(decision: Decision, ranker: Any, abstentions: bool = False) -> bool:
    """Is the decision unsure enough to ask the model: an answer below ``sure`` (with
    ``abstentions``, also a low-confidence abstention: on dev that answered nearly every
    unanswerable question, the model never said "none"). Rule abstentions never are."""
    if decision.best is None or decision.confidence is None:
        return False
    if decision.abstain:
        return abstentions and decision.reason == "low_confidence"
    return decision.confidence < float(getattr(ranker, "sure", 1.0))


def options(engine: Engine, scored: Scored, decision: Decision, k: int = DEFAULT_K) -> list[int]:
    """The best candidate and up to k-1 distinct runners-up, best first."""
    assert decision.best is not None
    best = int(decision.best)
    return [best, *distinct_candidates(engine, scored, best, limit=k - 1, window=CHOICE_WINDOW)][:k]


def describe(engine: Engine, scored: Scored, i: int, lang: str) -> str:
    """One option as the extractive answer would say it, with the table's caption for a cell."""
    corpus = engine.corpus
    text = write_candidate(engine, scored, i, lang).text
    kind, ref = int(scored.cands.kind[i]), int(scored.cands.ref[i])
    if kind in (CELL, DIFF):
        cell = ref if kind == CELL else scored.cands.pairs[ref][0]
        table = corpus.tables[corpus.rows[int(corpus.cell_row[cell])].table].table
        caption = table.caption.strip()
        head = f"{t(lang, 'table')} {table.cite_number or '?'}"
        text = f"{text} ({caption if caption.lower().startswith(head.lower()) else f'{head}: {caption}'})"
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 2].rsplit(" ", 1)[0] + " …"


def build_messages(engine: Engine, scored: Scored, opts: list[int], question: str, lang: str) -> list[BaseMessage]:
    lang = "en" if lang == "en" else "no"
    lines = [f"{IDS[n]}: {describe(engine, scored, i, lang)}" for n, i in enumerate(opts)]
    ids = ", ".join(IDS[: len(opts)])
    user = prompts.CHOOSE_USER[lang].format(question=question, options="\n".join(lines), ids=ids)
    return [SystemMessage(content=prompts.CHOOSE_SYSTEM[lang]), HumanMessage(content=user)]


def grammar(n_options: int) -> str:
    """A llama.cpp GBNF grammar that allows exactly one of the first n ids, or "none"."""
    return "root ::= " + " | ".join(f'"{x}"' for x in [*IDS[:n_options], NONE])


def parse_reply(reply: str, opts: list[int]) -> tuple[int | None, bool]:
    """(picked candidate or None, valid): a bare id (quotes, brackets, a final dot allowed) or "none"."""
    word = reply.strip().strip("\"'`()[]*.: ").strip()
    if word.lower() == NONE:
        return None, True
    if len(word) == 1 and word.upper() in IDS[: len(opts)]:
        return opts[IDS.index(word.upper())], True
    return None, False


def apply_choice(engine: Engine, scored: Scored, decision: Decision, choice: Choice) -> Decision:
    """The decision after the model's choice: an invalid reply keeps the ranker's; "none"
    abstains (the options nearest stay offered as «Mente du …?»); an option answers with it."""
    if not choice.valid or (choice.picked == decision.best and not decision.abstain):
        return decision
    if choice.picked is None:
        if decision.abstain:
            return decision
        near = distinct_candidates(engine, scored, None, limit=MAX_ALTERNATIVES, window=ALT_WINDOW)
        return Decision(True, "low_confidence", None, decision.best, decision.confidence, near)
    alts = distinct_candidates(engine, scored, choice.picked, limit=MAX_ALTERNATIVES, window=ALT_WINDOW)
    return Decision(False, None, None, choice.picked, decision.confidence, alts)


class LLMChooser:
    """The chain's optional choose step (between decide and write)."""

    def __init__(self, model: Any, k: int = DEFAULT_K, max_tokens: int = 4, ask_abstentions: bool = False) -> None:
        self.model = model
        self.k = k
        self.max_tokens = max_tokens
        self.ask_abstentions = ask_abstentions

    def choose(self, engine: Engine, scored: Scored, decision: Decision, question: str) -> Choice:
        opts = options(engine, scored, decision, self.k)
        messages = build_messages(engine, scored, opts, question, scored.analysis.lang)
        t0 = time.perf_counter()
        try:
            reply = self.model.invoke(messages, max_tokens=self.max_tokens, extra_body={"grammar": grammar(len(opts))})
            text = reply.content if isinstance(reply.content, str) else str(reply.content)
        except Exception as exc:  # a down endpoint keeps the ranker's choice
            log.warning("LLM choice failed, the ranker's choice stands: %s", exc)
            text = ""
        picked, valid = parse_reply(text, opts)
        return Choice(tuple(opts), text, picked, valid, time.perf_counter() - t0)

    def __call__(self, engine: Engine, scored: Scored, decision: Decision, question: str) -> tuple[Decision, str]:
        """(decision, trace note); a sure decision is returned as it is, without a model call."""
        if not wants(decision, engine.ranker, self.ask_abstentions):
            return decision, "llm choice: not asked (the ranker is sure, or abstains)"
        choice = self.choose(engine, scored, decision, question)
        if not choice.valid:
            return decision, f"llm choice: reply {choice.reply[:40]!r} is no option; the ranker's choice stands"
        new = apply_choice(engine, scored, decision, choice)
        picked = NONE if choice.picked is None else IDS[choice.options.index(choice.picked)]
        return new, f"llm choice: {picked} of {len(choice.options)} options ({choice.seconds:.1f} s)"
