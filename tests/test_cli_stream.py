"""`rapport ask` in LLM mode: the model's text is printed as it arrives, then the rest of the
answer and its sources; a replaced text is followed by a note and the final answer; --json and
--jsonl print one JSON object per question and no deltas. In-process (CliRunner) with the real
Service over a small report and a fake streaming chat model; no index, no server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click
import pytest
from click.testing import CliRunner
from fakes import StreamingFake, fake_service

import rapport.cli
from rag.llm import StreamEvent, make_llm_writer
from rapport.settings import Settings

Q = "Hva var netto driftsresultat i 2020?"
KEPT = ["Netto ", "driftsresultat ", "i regnskapet for 2020 ", "var -679,4 mill. kr [1]."]
BAD = ["Netto ", "driftsresultat ", "var ", "-680", " mill.", " kr", " [1]."]
EXTRACTIVE_START = "«Netto driftsresultat» i regnskapet for 2020 var -679,4"


def _service(pieces: list[str] | None, mode: str = "llm") -> Any:
    settings = Settings(mode=mode)
    writer = make_llm_writer(settings, StreamingFake(pieces=pieces)) if pieces is not None else None
    return fake_service(settings, writer)


def _cli(monkeypatch: pytest.MonkeyPatch, service: Any, args: list[str], input: str | None = None) -> Any:
    import rag.service

    monkeypatch.setattr(rag.service, "build_service", lambda settings, **kw: service)
    result = CliRunner().invoke(
        rapport.cli.main, ["ask", *args], input=input, env={"RAPPORT_MODE": service.settings.mode, "CHROMA_URL": ""}
    )
    assert "Traceback" not in result.output
    return result


def test_kept_reply_streams_and_prints_what_render_text_would(monkeypatch: pytest.MonkeyPatch) -> None:
    service = _service(KEPT)
    result = _cli(monkeypatch, service, [Q])
    assert result.exit_code == 0, result.output
    answer = service.ask(Q)
    assert answer.mode == "llm" and answer.answer.startswith("".join(KEPT))
    assert result.output == service.render_text(answer) + "\n"  # nothing doubled, nothing lost
    assert "Kilder:\n  - " in result.output


def test_replaced_reply_prints_a_line_break_a_note_and_the_final_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    service = _service(BAD)
    result = _cli(monkeypatch, service, [Q])
    assert result.exit_code == 0, result.output
    streamed, rest = result.output.split("\n", 1)
    assert streamed == "Netto driftsresultat var" and "-680" not in result.output
    note, final = rest.split("\n", 1)
    assert note == "(modellens tekst ble erstattet av det ekstraktive svaret)"
    assert final.startswith(EXTRACTIVE_START) and "\nKilder:\n  - " in final
    assert final == service.render_text(service.ask(Q)) + "\n"


def test_deltas_are_printed_before_the_next_one_is_produced(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    service = _service(KEPT)
    real_stream = service.stream

    class Recording:
        settings = service.settings

        def stream(self, question: str, history: list | None = None) -> Iterator[StreamEvent]:
            for event in real_stream(question, history):
                log.append(f"yield {event.kind}")
                yield event

        def render_text(self, answer: Any) -> str:
            return service.render_text(answer)

    echo = click.echo

    def recording_echo(message: Any = None, *args: Any, **kwargs: Any) -> None:
        log.append(f"echo {message!r}")
        echo(message, *args, **kwargs)

    monkeypatch.setattr(rapport.cli.click, "echo", recording_echo)
    result = _cli(monkeypatch, Recording(), [Q])
    assert result.exit_code == 0, result.output
    yields = [i for i, x in enumerate(log) if x == "yield delta"]
    assert len(yields) >= 3
    for a, b in zip(yields, yields[1:], strict=False):
        assert any(x.startswith("echo ") for x in log[a + 1 : b]), log  # printed before the next delta


@pytest.mark.parametrize("pieces", [KEPT, BAD])
def test_json_prints_one_object_and_no_deltas(monkeypatch: pytest.MonkeyPatch, pieces: list[str]) -> None:
    service = _service(pieces)
    result = _cli(monkeypatch, service, ["--json", Q])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    data = json.loads(result.output)
    assert data["mode"] == "llm" and data["value_raw"] == "-679,4"

    result = _cli(monkeypatch, service, ["--jsonl"], input=f"{Q}\n\nHva var likviditetsreserven i 2020?\n")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["mode"] == "llm" for line in lines)


def test_extractive_mode_prints_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    service = _service(None, mode="extractive")
    monkeypatch.setattr(type(service), "stream", lambda *a, **k: pytest.fail("stream used in extractive mode"))
    result = _cli(monkeypatch, service, [Q])
    assert result.exit_code == 0, result.output
    assert result.output == service.render_text(service.ask(Q)) + "\n"


def test_a_failing_stream_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        settings = Settings(mode="llm")

        def stream(self, question: str, history: list | None = None) -> Iterator[StreamEvent]:
            yield StreamEvent("delta", text="Netto ")
            raise RuntimeError("secret /etc/passwd")

        def render_text(self, answer: Any) -> str:  # pragma: no cover - not reached
            return ""

    result = _cli(monkeypatch, Failing(), [Q])
    assert result.exit_code == 1 and "Error: Answering failed (RuntimeError)" in result.output
    assert result.output.startswith("Netto\n") and "passwd" not in result.output
