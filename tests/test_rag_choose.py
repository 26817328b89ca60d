"""The optional LLM choice (rag/choose.py): the model picks among the ranker's top candidates by id,
over the invented report with a fake ranker and a fake chat model (offline, no server)."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import FakeRanker, fake_report, fake_service
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from rag.chain import Turn, answer, step_decide, step_score
from rag.choose import IDS, LLMChooser, build_messages, grammar, options, parse_reply, wants
from rag.engine import Engine
from rag.llm_guard import scan_numbers
from rag.service import Service
from rapport.settings import Settings

Q = "Hvor mange elever var det?"  # several close candidates (three years of one row, a sentence)


class ReplyFake(BaseChatModel):
    """Answers every call with `reply` (or raises `error`); records the messages and the kwargs."""

    reply: str = "A"
    error: str | None = None
    calls: list[tuple[list[BaseMessage], dict[str, Any]]] = []

    @property
    def _llm_type(self) -> str:
        return "reply-fake"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self.calls.append((list(messages), kwargs))
        if self.error:
            raise ConnectionError(self.error)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])


@pytest.fixture
def engine() -> Engine:
    return Engine.from_reports([fake_report()], ranker=FakeRanker(confidence_value=0.6))  # unsure: 0.5 <= c < 0.8


def _unsure(engine: Engine, question: str = Q):
    step = step_decide(step_score(Turn(question), engine), engine)
    assert step.decision is not None and step.scored is not None
    return step.scored, step.decision


def _corpus_numbers(engine: Engine) -> set[float]:
    texts = [*engine.corpus.cell_raw, *(s.text for s in engine.corpus.sentences)]
    return {v for text in texts for n in scan_numbers(text) for v in n.values}


def test_the_prompt_lists_every_option_by_id_and_the_grammar_allows_only_them(engine: Engine) -> None:
    scored, decision = _unsure(engine)
    assert wants(decision, engine.ranker) and not decision.abstain
    opts = options(engine, scored, decision)
    assert 2 <= len(opts) <= 5 and opts[0] == decision.best and len(set(opts)) == len(opts)
    user = build_messages(engine, scored, opts, Q, "no")[-1].content
    for n in range(len(opts)):
        assert f"\n{IDS[n]}: " in user
    assert f"\n{IDS[len(opts)]}: " not in user and "none" in user and "elever" in user.lower()
    model = ReplyFake(reply="A", calls=[])
    LLMChooser(model).choose(engine, scored, decision, Q)
    (_, kwargs), = model.calls
    assert kwargs["max_tokens"] <= 4
    assert kwargs["extra_body"]["grammar"] == grammar(len(opts))
    assert grammar(2) == 'root ::= "A" | "B" | "none"'


def test_a_valid_id_answers_with_that_candidate_and_its_printed_value(engine: Engine) -> None:
    scored, decision = _unsure(engine)
    opts = options(engine, scored, decision)
    ranker_answer = answer(engine, Turn(Q)).answer
    step = answer(engine, Turn(Q), chooser=LLMChooser(ReplyFake(reply=" b.", calls=[])))
    assert step.decision is not None and step.decision.best == opts[1] and not step.decision.abstain
    got = step.answer
    assert got is not None and not got.abstained and got.value is not None
    assert got.value in _corpus_numbers(engine) and got.citations
    assert any(t.startswith("llm choice: B of") for t in got.trace)
    assert ranker_answer is not None and (got.value, got.citations) != (ranker_answer.value, ranker_answer.citations)


@pytest.mark.parametrize("reply", ["42", "F", "The answer is 1 234,5 mill. kr", "", "AB"])
def test_a_reply_that_is_no_id_keeps_the_ranker_choice_and_invents_nothing(engine: Engine, reply: str) -> None:
    ranker_answer = answer(engine, Turn(Q)).answer
    got = answer(engine, Turn(Q), chooser=LLMChooser(ReplyFake(reply=reply, calls=[]))).answer
    assert ranker_answer is not None and got is not None
    assert (got.answer, got.value, got.citations, got.abstained) == (
        ranker_answer.answer, ranker_answer.value, ranker_answer.citations, ranker_answer.abstained)
    assert "1 234,5" not in got.answer and "42" not in got.answer
    assert any("is no option; the ranker's choice stands" in t for t in got.trace)


def test_none_abstains_with_the_options_offered(engine: Engine) -> None:
    got = answer(engine, Turn(Q), chooser=LLMChooser(ReplyFake(reply="none", calls=[]))).answer
    assert got is not None and got.abstained and got.value is None and got.citations == ()
    assert got.alternatives  # «Mente du …?»


def test_a_sure_decision_or_a_rule_abstention_is_never_asked(engine: Engine) -> None:
    engine.ranker.confidence_value = 0.9  # at or above sure
    model = ReplyFake(reply="B", calls=[])
    sure = answer(engine, Turn(Q)).answer
    got = answer(engine, Turn(Q), chooser=LLMChooser(model)).answer
    assert model.calls == [] and got is not None and sure is not None and got.value == sure.value
    engine.ranker.confidence_value = 0.6
    got = answer(engine, Turn("Hvor mange elever var det i 1990?"), chooser=LLMChooser(model)).answer
    assert model.calls == [] and got is not None and got.abstained


def test_a_failing_model_keeps_the_ranker_choice(engine: Engine) -> None:
    ranker_answer = answer(engine, Turn(Q)).answer
    got = answer(engine, Turn(Q), chooser=LLMChooser(ReplyFake(error="connection refused", calls=[]))).answer
    assert got is not None and ranker_answer is not None and got.value == ranker_answer.value


@pytest.mark.parametrize(("reply", "expected"), [
    ("A", (10, True)), ("'b'", (11, True)), ("[C]", (12, True)), ("NONE", (None, True)), (" none.", (None, True)),
    ("D", (None, False)), ("A or B", (None, False)), ("1", (None, False)), ("", (None, False)),
])
def test_parse_reply(reply: str, expected: tuple[int | None, bool]) -> None:
    assert parse_reply(reply, [10, 11, 12]) == expected


def test_the_setting_is_off_by_default_and_read_from_the_environment() -> None:
    assert Settings().llm_choose is False
    assert Settings.from_env({"RAPPORT_LLM_CHOOSE": "1"}).llm_choose is True
    assert Settings.from_env({"RAPPORT_LLM_CHOOSE": "0"}).llm_choose is False


def test_an_abstention_is_asked_only_when_told(engine: Engine) -> None:
    engine.ranker.confidence_value = 0.4  # below the threshold: a low-confidence abstention
    model = ReplyFake(reply="A", calls=[])
    got = answer(engine, Turn(Q), chooser=LLMChooser(model)).answer
    assert model.calls == [] and got is not None and got.abstained
    got = answer(engine, Turn(Q), chooser=LLMChooser(model, ask_abstentions=True)).answer
    assert len(model.calls) == 1 and got is not None and not got.abstained and got.value is not None


def test_the_service_runs_the_chooser_in_ask_and_stream() -> None:
    base = fake_service(ranker=FakeRanker(confidence_value=0.6))
    svc = Service(base.settings, base._loaded, chooser=LLMChooser(ReplyFake(reply="B", calls=[])))
    asked = svc.ask(Q)
    streamed = [e for e in svc.stream(Q) if e.kind == "final"][-1].answer
    for got in (asked, streamed):
        assert any(t.startswith("llm choice: B of") for t in got.trace)
    assert asked.value == streamed.value and asked.value != base.ask(Q).value
