"""The chat handler in LLM mode: the model's text is shown as it arrives (escaped, plain), then
the final answer is rendered exactly as in extractive mode; when the guard replaced the streamed
text a note says so. Fake services and a fake streaming chat model; no server, no network."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from test_ui_support import TABLE_CITATION, XSS, FakeService

from rag.llm import StreamEvent
from rag.records import Answer
from rapport.settings import Settings
from ui import render
from ui.app import create_app, render_streaming_html, streams_llm
from ui.render import citation_key

Q = "Hva var netto driftsresultat i 2020?"
DELTAS = ("Netto driftsresultat ", "i 2020 var ", "-679,4 mill. kr [1].")
NOTE_NB = "(modellens tekst ble erstattet av det ekstraktive svaret)"
NOTE_EN = "(the model's text was replaced by the extractive answer)"


class PiecesChat(BaseChatModel):
    """A chat model that streams `pieces` (re-usable: every call streams them again)."""

    pieces: list[str]

    @property
    def _llm_type(self) -> str:
        return "pieces-fake"

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        message = AIMessage(content="".join(self.pieces), response_metadata={"finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
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
    final_answer: Answer | None = None
    fail_after: int | None = None
    no_final: bool = False
    stream_calls: list[tuple[str, list | None]] = field(default_factory=list)
    closed: list[bool] = field(default_factory=list)

    def stream(self, question: str, history: list | None = None) -> Iterator[StreamEvent]:
        self.stream_calls.append((question, history))
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


def _demo(service: Any, tmp_path: Path, mode: str = "llm") -> gr.Blocks:
    return create_app(service, Settings(data_dir=tmp_path / "data", mode=mode), stream_delay_s=0)


def _handler(demo: gr.Blocks, name: str) -> Callable[..., Any]:
    fns = [f.fn for f in demo.fns.values() if f.name == name]
    assert fns, f"no handler {name}"
    return fns[0]  # type: ignore[return-value]


def _chat(demo: gr.Blocks, question: str, messages: list | None = None, turns: list | None = None,
          lang: str = "nb") -> list[tuple]:
    return list(_handler(demo, "respond")(question, messages or [], turns or [], lang))


def _final_html(answer: Answer, lang: str = "nb") -> str:
    return render.render_answer_html(answer, lang)


def test_deltas_are_shown_as_they_arrive_then_the_final_answer(tmp_path: Path) -> None:
    service = StreamingService()
    outputs = _chat(_demo(service, tmp_path), Q)
    assert len(outputs) == 1 + len(DELTAS) + 1  # pending, one state per delta, final
    assert "answer pending" in outputs[0][0][-1]["content"]
    shown = ""
    for out, delta in zip(outputs[1:-1], DELTAS, strict=True):
        shown += delta
        messages, turns, textbox, chips, source, raw = out
        assert messages[-1] == {"role": "assistant", "content": render_streaming_html(shown)}
        assert "answer-value" not in messages[-1]["content"] and "options" not in messages[-1]
        assert turns == [] and all(isinstance(x, dict) and x.get("__type__") == "update" for x in (chips, source, raw))
        assert messages[0]["content"] == render.render_question_html(Q)
    messages, turns, _text, chips, source, raw = outputs[-1]
    answer = turns[-1]["answer"]
    assert answer.mode == "llm" and answer.answer.startswith("Netto driftsresultat i 2020 var -679,4")
    assert messages[-1]["content"] == _final_html(answer)  # the same render path as extractive mode
    assert NOTE_NB not in messages[-1]["content"] and "answer-note" not in messages[-1]["content"]
    assert '<p class="answer-value">-679,4 mill. kr</p>' in messages[-1]["content"]
    assert messages[-1]["options"][0] == {
        "label": "Tabell 1 · Netto driftsresultat · Regnskap 2020",
        "value": citation_key(TABLE_CITATION),
    }
    assert chips["value"] == citation_key(TABLE_CITATION) and 'class="num cell-hit">-679,4<' in source
    assert json.loads(raw)["mode"] == "llm" and turns[0]["msg_index"] == 1 and len(messages) == 2
    assert service.stream_calls == [(Q, [])] and service.calls == [(Q, [])] and service.closed == [True]


@pytest.mark.parametrize(("question", "lang", "note"), [(Q, "nb", NOTE_NB),
                                                        ("What was the net operating result in 2020?", "en", NOTE_EN)])
def test_replaced_text_gives_way_to_the_final_answer_with_a_note(
    tmp_path: Path, question: str, lang: str, note: str
) -> None:
    service = StreamingService(deltas=("Netto driftsresultat ", "var "), replaces=True)
    outputs = _chat(_demo(service, tmp_path), question, lang=lang)
    assert len(outputs) == 1 + 2 + 1
    assert "Netto driftsresultat var" in outputs[-2][0][-1]["content"]
    messages, turns, _text, chips, _source, _raw = outputs[-1]
    answer = turns[-1]["answer"]
    content = messages[-1]["content"]
    html = _final_html(answer, lang)
    assert content.startswith(html[: -len("</div>")]) and content.endswith("</small></p></div>")
    assert f'<p class="answer-note"><small>{render.esc(note)}</small></p>' in content
    assert "answer streaming" not in content and chips["value"] == citation_key(TABLE_CITATION)


def test_delta_text_is_escaped(tmp_path: Path) -> None:
    service = StreamingService(deltas=(f"Svar {XSS} ", "$x$ {y}"))
    outputs = _chat(_demo(service, tmp_path), Q)
    streaming = outputs[2][0][-1]["content"]
    assert "<script" not in streaming and "&lt;script&gt;" in streaming and "&#36;x&#36;" in streaming


def test_final_only_stream_is_fake_streamed_like_extractive_mode(tmp_path: Path) -> None:
    llm = _chat(_demo(StreamingService(deltas=()), tmp_path / "a"), Q)
    extractive = _chat(_demo(FakeService(), tmp_path / "b", mode="extractive"), Q)
    assert len(llm) == len(extractive) >= 4
    for a, b in zip(llm[:-1], extractive[:-1], strict=True):
        assert a[0] == b[0]  # the same partial answers
    assert llm[-1][0][-1]["options"] == extractive[-1][0][-1]["options"]


def test_extractive_mode_does_not_stream_from_the_service(tmp_path: Path) -> None:
    service = StreamingService(settings=Settings(mode="extractive"))
    assert not streams_llm(service, Settings(mode="llm"))  # the service's own mode decides
    assert not streams_llm(FakeService(), Settings(mode="llm"))  # no .stream: ask as before
    assert streams_llm(StreamingService(), Settings())
    outputs = _chat(_demo(service, tmp_path, mode="extractive"), Q)
    assert service.stream_calls == [] and service.calls == [(Q, [])]
    assert outputs[-1][0][-1]["content"] == _final_html(outputs[-1][1][-1]["answer"])


@pytest.mark.parametrize("kwargs", [{"fail_after": 0}, {"fail_after": 2}, {"no_final": True},
                                    {"final_answer": "not an answer"}])
def test_stream_failures_show_a_friendly_message(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    service = StreamingService(**kwargs)
    outputs = _chat(_demo(service, tmp_path), "boom" if kwargs.get("fail_after") == 0 else Q)
    messages, turns, textbox, *_ = outputs[-1]
    content = messages[-1]["content"]
    assert "noe gikk galt" in content and "answer-error" in content
    assert "Traceback" not in content and "secret" not in content and "passwd" not in content
    assert turns == [] and textbox == "" and service.closed == [True]


def test_follow_up_in_llm_mode_sends_history(tmp_path: Path) -> None:
    service = StreamingService()
    demo = _demo(service, tmp_path)
    messages, turns, *_ = _chat(demo, Q)[-1]
    messages, turns, *_ = _chat(demo, "Og budsjettet?", messages, turns)[-1]
    assert len(messages) == 4 and turns[1]["msg_index"] == 3
    question, history = service.stream_calls[-1]
    assert question == "Og budsjettet?" and [a.question for a in history] == [Q]


def test_closing_the_chat_mid_stream_closes_the_service_stream(tmp_path: Path) -> None:
    service = StreamingService()
    gen = _handler(_demo(service, tmp_path), "respond")(Q, [], [], "nb")
    next(gen)  # pending
    next(gen)  # first delta
    assert service.closed == []
    gen.close()  # the browser went away
    assert service.closed == [True]


def test_real_service_streams_through_the_handler(tmp_path: Path) -> None:
    """The real Service over a small report with a fake streaming model: the event names and
    fields the handler reads are the ones rag.service produces."""
    from test_rag_fixtures import small_report

    from ingest.chunks import build_chunks
    from rag.llm import make_llm_writer
    from rag.service import service_from_parts

    def svc(pieces: list[str]) -> Any:
        settings = Settings(mode="llm")
        report = small_report()
        return service_from_parts(settings, report, build_chunks(report), None,
                                  make_llm_writer(settings, PiecesChat(pieces=pieces)))

    kept = ["Netto ", "driftsresultat ", "i regnskapet for 2020 ", "var -679,4 mill. kr [1]."]
    outputs = _chat(_demo(svc(kept), tmp_path / "a"), Q)
    streamed = [o[0][-1]["content"] for o in outputs[1:-1]]
    assert streamed and all("answer streaming" in c for c in streamed)
    assert "var -679,4 mill. kr [1]." in streamed[-1]
    messages, turns, *_ = outputs[-1]
    answer = turns[-1]["answer"]
    assert answer.mode == "llm" and answer.answer.startswith("".join(kept))
    assert messages[-1]["content"] == _final_html(answer) and messages[-1]["options"]

    bad = ["Netto ", "driftsresultat ", "var ", "-680", " mill.", " kr", " [1]."]
    outputs = _chat(_demo(svc(bad), tmp_path / "b"), Q)
    assert "-680" not in " ".join(o[0][-1]["content"] for o in outputs)
    content = outputs[-1][0][-1]["content"]
    assert NOTE_NB in content and "«Netto driftsresultat» i regnskapet for 2020 var -679,4" in content
