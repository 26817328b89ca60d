"""The Blocks app without a server: its handlers are called directly with a fake service."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from test_ui_support import RESULT_PROSE_CITATION, TABLE_CITATION, XSS, FakeService

from rapport.settings import Settings
from ui import app as ui_app
from ui.app import (
    MAX_QUESTION_CHARS,
    QuestionError,
    answer_json,
    check_question,
    create_app,
    history_for,
)
from ui.feedback import FeedbackStore
from ui.render import citation_key


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
def demo(service: FakeService, settings: Settings) -> gr.Blocks:
    return create_app(service, settings, stream_delay_s=0)


def handler(demo: gr.Blocks, name: str) -> Callable[..., Any]:
    fns = [f.fn for f in demo.fns.values() if f.name == name]
    assert fns, f"no handler {name}"
    return fns[0]  # type: ignore[return-value]


def run_chat(
    demo: gr.Blocks, question: str, messages: list | None = None, turns: list | None = None, lang: str = "nb"
) -> list[tuple]:
    return list(handler(demo, "respond")(question, messages or [], turns or [], lang))


def test_create_app_builds_with_named_ask_endpoint(demo: gr.Blocks) -> None:
    assert isinstance(demo, gr.Blocks)
    api_names = {f.api_name for f in demo.fns.values() if f.api_visibility == "public"}
    assert api_names == {"ask"}
    config = demo.get_config_file()
    elem_ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {
        "chat",
        "question",
        "new-chat",
        "chips",
        "source",
        "lookup-table",
        "lookup-copy",
        "raw-json",
    } <= elem_ids


def test_chat_streams_then_shows_number_and_chips(demo: gr.Blocks, service: FakeService) -> None:
    outputs = run_chat(demo, "Hva var netto driftsresultat i 2020?")
    assert len(outputs) >= 4  # pending, at least two partial steps, final
    pending_messages = outputs[0][0]
    assert "answer pending" in pending_messages[-1]["content"]
    partial_texts = [o[0][-1]["content"] for o in outputs[1:-1]]
    assert all("answer-value" in p and "answer-sources" not in p for p in partial_texts)
    messages, turns, _textbox, chips, source, raw = outputs[-1]
    final = messages[-1]
    assert '<p class="answer-value">-679,4 mill. kr</p>' in final["content"]
    assert final["options"] == [
        {"label": "Tabell 1 · Netto driftsresultat · Regnskap 2020", "value": citation_key(TABLE_CITATION)},
        {"label": "Kapittel 02 · linje 227–228", "value": citation_key(RESULT_PROSE_CITATION)},
    ]
    assert chips["value"] == citation_key(TABLE_CITATION)
    assert 'class="num cell-hit">-679,4<' in source
    assert json.loads(raw)["value_raw"] == "-679,4"
    assert len(turns) == 1 and turns[0]["question"] == "Hva var netto driftsresultat i 2020?"
    assert turns[0]["msg_index"] == 1 and turns[0]["answer"].to_json() == json.loads(raw)
    assert service.calls == [("Hva var netto driftsresultat i 2020?", [])]


def test_follow_up_passes_previous_turns_as_history(demo: gr.Blocks, service: FakeService) -> None:
    messages, turns, *_ = run_chat(demo, "Hva var netto driftsresultat i 2020?")[-1]
    messages2, turns2, *_ = run_chat(demo, "Og budsjettet?", messages, turns)[-1]
    assert len(messages2) == 4 and len(turns2) == 2 and turns2[1]["msg_index"] == 3
    question, history = service.calls[-1]
    assert question == "Og budsjettet?"
    # the earlier Answer goes along: its question and its cited table and row
    assert [a.question for a in history] == ["Hva var netto driftsresultat i 2020?"]
    assert history[0].citations[0] == TABLE_CITATION


def test_html_in_question_is_escaped_in_chat(demo: gr.Blocks) -> None:
    messages, *_ = run_chat(demo, f"Hva er <b>ond</b> {XSS}?")[-1]
    joined = " ".join(m["content"] for m in messages)
    assert "&lt;b&gt;ond&lt;/b&gt;" in joined and "&lt;script&gt;alert(1)&lt;/script&gt;" in joined
    assert "<script" not in joined and "<b>" not in joined


def test_service_failure_shows_friendly_message(demo: gr.Blocks) -> None:
    outputs = run_chat(demo, "boom")
    messages, turns, *_ = outputs[-1]
    content = messages[-1]["content"]
    assert "noe gikk galt" in content and "answer-error" in content
    assert "Traceback" not in content and "secret" not in content and "passwd" not in content
    assert turns == []


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("", "Skriv et spørsmål"),
        ("   \n\t ", "Skriv et spørsmål"),
        ("x" * (MAX_QUESTION_CHARS + 1), "for langt"),
        ("x" * 100_000, "for langt"),
        ("\x00\x01\x02binær", "ikke er tekst"),
        ("\ufffd" * 20 + "abc", "ikke er tekst"),
    ],
)
def test_bad_input_gets_a_clear_message_without_calling_service(
    demo: gr.Blocks, service: FakeService, question: str, expected: str
) -> None:
    outputs = run_chat(demo, question)
    assert len(outputs) == 1
    assert expected in outputs[0][0][-1]["content"]
    assert service.calls == []


def test_check_question_cleans_control_characters() -> None:
    assert (
        check_question("Hva var\x07 netto\u200b driftsresultat?\n") == "Hva var netto\u200b driftsresultat?"
    )
    with pytest.raises(QuestionError, match="Please type"):
        check_question("", "en")
    with pytest.raises(QuestionError):
        check_question(b"bytes")  # type: ignore[arg-type]


def test_answer_json_never_raises(service: FakeService, settings: Settings) -> None:
    ok = answer_json(service, "Hva var netto driftsresultat i 2020?", settings)
    assert ok["value"] == -679.4 and ok["citations"][0]["table"] == 1
    for bad in ("", "\x00", "x" * 50_000, None, 42, "boom"):
        data = answer_json(service, bad, settings)
        assert data["abstained"] is True and data["error"] and data["citations"] == []
        assert set(ok) <= set(data)


def test_history_skips_failed_turns_and_keeps_the_last_ones() -> None:
    answer = FakeService().ask("Hva var netto driftsresultat i 2020?")
    turns = [{"question": "a", "answer": None}] + [{"question": f"q{i}", "answer": answer} for i in range(15)]
    history = history_for(turns)
    assert len(history) == ui_app.HISTORY_TURNS and all(h is answer for h in history)
    assert history_for([]) == []


def test_new_conversation_resets_everything(demo: gr.Blocks) -> None:
    messages, turns, text, chips, source, raw = handler(demo, "reset")("nb")
    assert messages == [] and turns == [] and text == "" and raw == ""
    assert chips["choices"] == [] and "Klikk på en kilde" in source


def test_chip_click_shows_cited_cell(demo: gr.Blocks) -> None:
    messages, turns, *_ = run_chat(demo, "Hva var netto driftsresultat i 2020?")[-1]
    key = messages[-1]["options"][0]["value"]
    chips, source = handler(demo, "option_clicked")(
        turns, "nb", gr.SelectData(None, {"index": 0, "value": key})
    )
    assert chips["value"] == key
    assert 'class="num cell-hit">-679,4<' in source and 'class="row-hit"' in source
    assert 'class="num cell-hit">-679,4<' in handler(demo, "show_chip")(key, "en")
    # a forged or broken chip value gives a notice, not an error
    assert "src-empty" in handler(demo, "show_chip")("{broken", "nb")


def test_clicking_an_older_answer_shows_its_sources(demo: gr.Blocks) -> None:
    messages, turns, *_ = run_chat(demo, "Hva var resultatgraden?")[-1]
    messages, turns, *_ = run_chat(demo, "Hva var netto driftsresultat i 2020?", messages, turns)[-1]
    chips, source, raw = handler(demo, "message_clicked")(
        turns, "nb", gr.SelectData(None, {"index": 1, "value": ""})
    )
    assert chips["choices"][0][0] == "Kapittel 02 · linje 227–229"
    assert '<mark class="quote-hit">' in source
    assert json.loads(raw)["value_raw"] == "5,9"


def test_like_and_dislike_are_stored(demo: gr.Blocks, settings: Settings) -> None:
    messages, turns, *_ = run_chat(demo, "Hva var netto driftsresultat i 2020?")[-1]
    liked = handler(demo, "liked")
    liked(turns, "nb", gr.LikeData(None, {"index": 1, "value": messages[1]["content"], "liked": True}))
    liked(turns, "nb", gr.LikeData(None, {"index": 1, "value": messages[1]["content"], "liked": False}))
    # a vote on the question (not an answer) is ignored
    liked(turns, "nb", gr.LikeData(None, {"index": 0, "value": "question", "liked": True}))
    entries = FeedbackStore(settings.data_dir / "feedback.sqlite3").entries()
    assert [e.vote for e in entries] == ["up", "down"]
    assert entries[0].question == "Hva var netto driftsresultat i 2020?"
    assert entries[0].answer.startswith("Netto driftsresultat i 2020 var -679,4")
    assert json.loads(entries[0].citations_json) == [
        TABLE_CITATION.to_json(),
        RESULT_PROSE_CITATION.to_json(),
    ]


def test_lookup_search_view_and_copy(demo: gr.Blocks) -> None:
    search = handler(demo, "search_tables")
    assert [c[1] for c in search("1", "nb")["choices"]] == ["0"]
    assert [c[1] for c in search("tabell 99", "nb")["choices"]] == ["1"]
    assert [c[1] for c in search("netto driftsresultat", "nb")["choices"]] == ["0"]
    assert search("finnes ikke", "nb")["choices"] == []
    assert len(search("", "nb")["choices"]) == 2
    html, rows, cols, copy = handler(demo, "choose_table")("0", "nb")
    assert "report-table" in html and copy == ""
    assert cols["value"] == "Regnskap 2020"
    row_index = next(v for label, v in rows["choices"] if label == "Netto driftsresultat")
    html, copy = handler(demo, "choose_cell")("0", row_index, "Regnskap 2020", "nb")
    assert (
        copy == "-679,4 mill. kr — Tabell 1, rad «Netto driftsresultat», kolonne «Regnskap 2020», linje 350"
    )
    assert 'class="num cell-hit">-679,4<' in html
    html, rows, cols, copy = handler(demo, "choose_table")("1", "nb")
    assert "<script" not in html and "&lt;script&gt;" in html


def test_language_switch_relabels(demo: gr.Blocks) -> None:
    out = handler(demo, "switch_language")("en", None, None, "")
    assert out[0] == "# Annual Report 2020 – ask the report"
    assert out[5]["label"] == "Question"
    assert out[6]["value"] == "Send" and out[7]["value"] == "New conversation"
    assert "Click a source" in out[10]
    back = handler(demo, "switch_language")("nb", None, None, "")
    assert back[5]["label"] == "Spørsmål"


def test_auth_and_exposure_helpers() -> None:
    assert ui_app.auth_pair(Settings()) is None
    assert ui_app.auth_pair(Settings(auth_user="u", auth_password="p")) == ("u", "p")
    with pytest.raises(ValueError):
        ui_app.auth_pair(Settings(auth_user="u"))
    assert not ui_app.is_exposed("127.0.0.1") and not ui_app.is_exposed("localhost")
    assert ui_app.is_exposed("0.0.0.0") and ui_app.is_exposed("192.168.1.10")


def _fake_stage_modules(monkeypatch: pytest.MonkeyPatch, calls: list[str], fail_first: bool) -> None:
    """Stand-ins for rag.service and ingest.pipeline so serve() runs without models."""

    class ServiceError(Exception):
        pass

    class IngestError(Exception):
        pass

    attempts = {"n": 0}

    def build_service(settings: Settings) -> FakeService:
        attempts["n"] += 1
        calls.append("build_service")
        if fail_first and attempts["n"] == 1:
            raise ServiceError("no index")
        return FakeService()

    def run_ingest(settings: Settings, force: bool = False, progress: bool = True) -> Any:
        calls.append(f"run_ingest(force={force}, progress={progress})")
        return types.SimpleNamespace(describe=lambda: "indexed 2 tables")

    service_mod = types.ModuleType("rag.service")
    service_mod.ServiceError = ServiceError  # type: ignore[attr-defined]
    service_mod.build_service = build_service  # type: ignore[attr-defined]
    pipeline_mod = types.ModuleType("ingest.pipeline")
    pipeline_mod.IngestError = IngestError  # type: ignore[attr-defined]
    pipeline_mod.run_ingest = run_ingest  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rag.service", service_mod)
    monkeypatch.setitem(sys.modules, "ingest.pipeline", pipeline_mod)

    def fake_launch(demo: gr.Blocks, settings: Settings, **kw: Any) -> tuple:
        calls.append(f"launch({settings.host}:{settings.port})")
        return None, "", ""

    monkeypatch.setattr(ui_app, "launch", fake_launch)


def test_serve_builds_missing_index_then_launches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    echoed: list[str] = []
    _fake_stage_modules(monkeypatch, calls, fail_first=True)
    ui_app.serve(Settings(data_dir=tmp_path, host="0.0.0.0", port=7999), echo=echoed.append)
    assert calls == [
        "build_service",
        "run_ingest(force=False, progress=True)",
        "build_service",
        "launch(0.0.0.0:7999)",
    ]
    text = "\n".join(echoed)
    assert "WARNING" in text and "exposes the app to the network" in text and "RAPPORT_AUTH_USER" in text
    assert "Building it now" in text and "indexed 2 tables" in text


def test_serve_on_localhost_with_index_does_not_warn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []
    echoed: list[str] = []
    _fake_stage_modules(monkeypatch, calls, fail_first=False)
    ui_app.serve(Settings(data_dir=tmp_path), echo=echoed.append)
    assert calls == ["build_service", "launch(127.0.0.1:7860)"]
    assert not any("WARNING" in e for e in echoed)


def test_serve_refuses_half_configured_login(tmp_path: Path) -> None:
    import click

    with pytest.raises(click.ClickException, match="RAPPORT_AUTH_PASSWORD"):
        ui_app.serve(Settings(data_dir=tmp_path, auth_user="staff"), echo=lambda _: None)
