"""The chat in LLM mode: the model's text is shown as it arrives (escaped, plain), then the final
answer is rendered exactly as in extractive mode; when the guard replaced the streamed text a
note says so. Fake services, and the real Service over the bundled report (hash vectors in
memory) with a fake streaming chat model; no server, no network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from ui_support import XSS, FakeService, real_service

from rag.llm import StreamEvent
from rag.records import Answer
from rapport.settings import Settings
from ui import render
from ui.app import RapportUI
from ui.chat import REPLACED_NOTE, streams_llm

Q = "Hva var netto driftsresultat i 2020?"
DELTAS = ("Netto driftsresultat ", "i 2020 var ", "-679,4 mill. kr [1].")


class PiecesChat(BaseChatModel):
    """A chat model that streams `pieces` (re-usable: every call streams them again)."""

    pieces: list[str]

    @property
    def _llm_type(self) -> str:
        return "pieces-fake"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kw: Any) -> ChatResult:
        message = AIMessage(content="".join(self.pieces), response_metadata={"finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                **kw: Any) -> Iterator[ChatGenerationChunk]:
        for i, piece in enumerate(self.pieces):
            info = {"finish_reason": "stop"} if i == len(self.pieces) - 1 else None
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece), generation_info=info)


@dataclass
class StreamingService(FakeService):
    """FakeService in LLM mode: `stream` yields `deltas`, then the answer `ask` would give (or
    `final_answer`), with `replaces`. `fail_after` raises after that many deltas."""

    settings: Settings = field(default_factory=lambda: Settings(mode="llm"))
    deltas: tuple[str, ...] = DELTAS
    replaces: bool = False
    final_answer: Any = None
    fail_after: int | None = None
    no_final: bool = False
    stream_calls: list[tuple[str, list | None, Any]] = field(default_factory=list)
    closed: list[bool] = field(default_factory=list)

    def stream(self, question: str, history: list | None = None, reports: Any = None) -> Iterator[StreamEvent]:
        self.stream_calls.append((question, history, reports))
        try:
            for i, text in enumerate(self.deltas):
                if self.fail_after is not None and i >= self.fail_after:
                    raise RuntimeError("secret internal failure /etc/passwd")
                yield StreamEvent("delta", text=text)
            if self.no_final:
                return
            answer = self.final_answer or replace(FakeService.ask(self, question, history), mode="llm")
            yield StreamEvent("final", answer=answer, replaces=self.replaces)
        finally:
            self.closed.append(True)


def _ui(service: Any, tmp_path: Path, mode: str = "llm") -> RapportUI:
    ui = RapportUI(service, Settings(data_dir=tmp_path / "data", mode=mode))
    ui.build()
    service.calls.clear()
    return ui


def _chat(ui: RapportUI, question: str, turns: list | None = None, lang: str = "no") -> list[tuple]:
    _, _, _, ticket = ui.admit(question, turns or [], lang, False)
    assert isinstance(ticket, str)
    return list(ui.respond(ticket, turns or [], lang, "*", False))


def test_deltas_are_shown_as_they_arrive_then_the_final_answer(tmp_path: Path) -> None:
    service = StreamingService()
    ui = _ui(service, tmp_path)
    outputs = _chat(ui, Q)
    assert len(outputs) == len(DELTAS) + 1  # one state per delta, then the final answer
    shown = ""
    for out, delta in zip(outputs[:-1], DELTAS, strict=True):
        shown += delta
        messages, turns, source, raw = out
        assert messages[-1] == {"role": "assistant", "content": render.streaming_html(shown)}
        assert "figure-value" not in messages[-1]["content"]
        assert messages[-2]["content"] == render.question_html(Q)
        assert all(isinstance(x, dict) and x.get("__type__") == "update" for x in (turns, source, raw))
    messages, turns, source, raw = outputs[-1]
    answer = turns[-1].answer
    assert answer.mode == "llm" and answer.answer.startswith("«Netto driftsresultat» i regnskapet")
    final = messages[turns[-1].msg_index]["content"]
    assert final == render.answer_html(turns[-1].id, answer, "no", chart=ui.chart_for(answer, "no"),
                                       followups=turns[-1].followups)  # the same render path as extractive mode
    assert REPLACED_NOTE["no"] not in final and 'class="num cell-hit">-679,4<' in source
    assert json.loads(raw)["mode"] == "llm"
    assert service.stream_calls == [(Q, [], None)] and service.closed == [True]


@pytest.mark.parametrize(("question", "lang"), [(Q, "no"), ("What was the net operating result in 2020?", "en")])
def test_replaced_text_gives_way_to_the_final_answer_with_a_note(tmp_path: Path, question: str, lang: str) -> None:
    service = StreamingService(deltas=("Netto driftsresultat ", "var "), replaces=True)
    outputs = _chat(_ui(service, tmp_path), question, lang=lang)
    assert "Netto driftsresultat var" in outputs[-2][0][-1]["content"]
    messages, turns, *_ = outputs[-1]
    content = messages[turns[-1].msg_index]["content"]
    assert f'<p class="answer-note"><small>{render.esc(REPLACED_NOTE[lang])}</small></p>' in content
    assert "answer streaming" not in content


def test_delta_text_is_escaped(tmp_path: Path) -> None:
    outputs = _chat(_ui(StreamingService(deltas=(f"Svar {XSS} ", "$x$ {y}")), tmp_path), Q)
    streaming = outputs[1][0][-1]["content"]
    assert "<script" not in streaming and "&lt;script&gt;" in streaming and "&#36;x&#36;" in streaming


def test_extractive_mode_does_not_stream_from_the_service(tmp_path: Path) -> None:
    service = StreamingService(settings=Settings(mode="extractive"))
    assert not streams_llm(service, "llm")  # the service's own mode decides
    assert not streams_llm(FakeService(), "llm")  # no .stream: ask
    assert streams_llm(StreamingService(), "extractive")
    outputs = _chat(_ui(service, tmp_path, mode="extractive"), Q)
    assert len(outputs) == 1 and service.stream_calls == [] and service.calls == [(Q, [], None)]


@pytest.mark.parametrize("kwargs", [{"fail_after": 0}, {"fail_after": 2}, {"no_final": True},
                                    {"final_answer": "not an answer"}])
def test_stream_failures_show_a_friendly_message(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    service = StreamingService(**kwargs)
    messages, turns, *_ = _chat(_ui(service, tmp_path), Q)[-1]
    content = messages[-1]["content"]
    assert "noe gikk galt" in content and "answer-error" in content
    assert "Traceback" not in content and "secret" not in content and "passwd" not in content
    assert turns[-1].answer is None and service.closed == [True]


def test_follow_up_in_llm_mode_sends_history(tmp_path: Path) -> None:
    service = StreamingService()
    ui = _ui(service, tmp_path)
    _, turns, *_ = _chat(ui, Q)[-1]
    _chat(ui, "Og budsjettet?", turns)
    question, history, _ = service.stream_calls[-1]
    assert question == "Og budsjettet?" and [a.question for a in history] == [Q]


def test_leaving_mid_stream_closes_the_service_stream(tmp_path: Path) -> None:
    service = StreamingService()
    ui = _ui(service, tmp_path)
    gen = ui.respond(f"1|{Q}", [], "no", "*", False)
    next(gen)  # the first delta
    assert service.closed == []
    gen.close()  # the browser went away
    assert service.closed == [True]


def test_real_service_streams_through_the_handler(tmp_path: Path) -> None:
    """The event names and fields the handler reads are the ones rag.service produces."""
    kept = ["«Netto driftsresultat» ", "i 2020 ", "var -679,4 mill. 2020-kr [1]."]
    service = real_service(PiecesChat(pieces=kept))
    ui = RapportUI(service, Settings(data_dir=tmp_path / "a", mode="llm"))
    outputs = list(ui.respond(f"1|{Q}", [], "no", "*", False))
    streamed = [o[0][-1]["content"] for o in outputs[:-1]]
    assert streamed and all("answer streaming" in c for c in streamed)
    messages, turns, source, _ = outputs[-1]
    answer = turns[-1].answer
    assert isinstance(answer, Answer) and answer.mode == "llm" and answer.value_raw == "-679,4"
    assert 'class="figure-value">-679,4<' in messages[turns[-1].msg_index]["content"] and "cell-hit" in source

    bad = ["Netto ", "driftsresultat ", "var ", "-680", " mill.", " kr", " [1]."]
    ui = RapportUI(real_service(PiecesChat(pieces=bad)), Settings(data_dir=tmp_path / "b", mode="llm"))
    outputs = list(ui.respond(f"1|{Q}", [], "no", "*", False))
    assert "-680" not in " ".join(o[0][-1]["content"] for o in outputs)
    messages, turns, *_ = outputs[-1]
    assert 'class="figure-value">-679,4<' in messages[turns[-1].msg_index]["content"]
