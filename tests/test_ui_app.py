"""The app's handlers, called directly (no server, no browser) with a fake service over a fake
report: asking, chips of older answers, alternatives, abstentions, follow-ups, charts, the report
picker, language and staff view, busy, first start, feedback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from ui_support import (
    AMBIGUOUS_Q,
    BUDGET_Q,
    GRANT_Q,
    REPORT_ID,
    REPORT_TITLE,
    FakeService,
)

from rag.messages import MESSAGES
from rapport.settings import Settings
from ui.app import RapportUI, create_app
from ui.chat import ChatTurn, history_for
from ui.feedback import FeedbackError, FeedbackStore
from ui.holder import ServiceHolder

Q = "Hva var netto driftsresultat i 2020?"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
def ui(service: FakeService, settings: Settings) -> RapportUI:
    app = RapportUI(service, settings)
    app.build()
    service.calls.clear()  # building asked the example questions
    return app


def ask(ui: RapportUI, question: str, turns: list | None = None, lang: str = "no", report: str = "*",
        staff: bool = False) -> tuple[list, list, str, str]:
    """Type `question`, press Send: (messages, turns, source panel, raw JSON) of the answer."""
    _chat, _box, hint, ticket = ui.admit(question, turns or [], lang, staff)
    assert isinstance(ticket, str), hint
    *_, last = list(ui.respond(ticket, turns or [], lang, report, staff))
    return last


def is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def answer_message(messages: list, turn: ChatTurn) -> str:
    return messages[turn.msg_index]["content"]


# ---------------------------------------------------------------- building


def test_app_builds_with_one_public_endpoint_and_its_parts(ui: RapportUI) -> None:
    demo = ui.demo
    assert isinstance(demo, gr.Blocks)
    assert {f.api_name for f in demo.fns.values() if f.api_visibility == "public"} == {"ask"}
    ids = {c.get("props", {}).get("elem_id") for c in demo.get_config_file()["components"]}
    assert {"chat", "question", "send", "new-chat", "source", "report-pick", "lookup-report", "lookup-table",
            "lookup-chart", "rapport-bus", "rapport-ticket", "feedback-status", "staff"} <= ids
    assert ui.title("no") == f"Spør årsrapporten: {REPORT_TITLE}"
    assert ui.picker_choices("en") == [("All reports", "*"), (REPORT_TITLE, REPORT_ID)]
    assert isinstance(create_app(FakeService(), ui.settings), gr.Blocks)


def test_examples_come_from_the_report_and_are_answered(settings: Settings, service: FakeService) -> None:
    ui = RapportUI(service, settings)
    # a row of each table with a column for the report's year, in plain words; kept only when answered
    assert ui.example_questions("no") == ["Hva var antall elever i 2020?"]
    asked = [q for q, _, _ in service.calls]
    assert asked[:2] == ["Hva var rammetilskudd i 2020?", "Hva var antall elever i 2020?"]
    assert service.ask(asked[0]).abstained  # … so it is not offered
    assert ui.example_questions("en") == ["What was «Antall elever» in 2020?"]


# ---------------------------------------------------------------- asking


def test_empty_send_explains_itself_and_asks_nothing(ui: RapportUI, service: FakeService) -> None:
    ui.example_questions("en")  # the hint quotes an example: found (and checked) once per language
    service.calls.clear()
    for text in ("", "   ", None):
        chat, box, hint, ticket = ui.admit(text, [], "no", False)
        assert is_skip(chat) and is_skip(ticket)
        assert "Skriv et spørsmål i feltet først, for eksempel: «Hva var antall elever i 2020?»" in hint
        assert 'role="status"' in hint
    assert "Type a question in the box first" in ui.admit("", [], "en", False)[2]
    assert service.calls == []


def test_question_gets_placeholder_then_plain_answer_figure_source_and_marked_cell(ui: RapportUI,
                                                                                   service: FakeService) -> None:
    chat, box, hint, ticket = ui.admit(Q, [], "no", False)
    assert box == "" and chat[-1]["content"].startswith('<div class="answer pending">') and ticket.endswith("|" + Q)
    messages, turns, source, raw = ask(ui, Q)
    turn = turns[-1]
    html = answer_message(messages, turn)
    assert html.index("«Netto driftsresultat» i regnskapet for 2020") < html.index('class="figure-value">-679,4<')
    assert '<span class="figure-unit">mill. kr</span>' in html and "side 3" in html
    assert messages[turn.msg_index + 1]["metadata"] == {"title": "Slik ble svaret funnet", "status": "done"}
    assert 'class="num cell-hit">-679,4<' in source
    data = json.loads(raw)
    assert data["value_raw"] == "-679,4" and data["citations"][0]["lines"] == [350, 350]
    assert service.calls[-1] == (Q, [], None)


def test_a_huge_question_is_not_shipped_back_whole(ui: RapportUI) -> None:
    _, _, _, ticket = ui.admit("Hva " * 300_000, [], "no", False)
    assert 20_000 < len(ticket) < 20_010


def test_follow_up_sends_earlier_answers_as_history(ui: RapportUI, service: FakeService) -> None:
    _, turns, _, _ = ask(ui, Q)
    ask(ui, "og budsjettet?", turns)
    question, history, _ = service.calls[-1]
    assert question == "og budsjettet?" and [a.question for a in history] == [Q]
    assert history_for([ChatTurn(1, "x", notice="busy"), *turns]) == [turns[0].answer]


def test_follow_ups_and_chart_after_a_table_answer(ui: RapportUI) -> None:
    messages, turns, _, _ = ask(ui, Q)
    turn = turns[-1]
    # same row in the other column of its kind (budget), same column in the next row with a figure
    assert turn.followups == (BUDGET_Q, "Hva var «Regnskapsresultat» (Regnskap 2020) i tabell 1?")
    html = answer_message(messages, turn)
    assert "Spør videre:" in html and '<figure class="row-chart">' in html and "Budsjett 2020: -237,0" in html
    messages, turns, _, _ = ask(ui, "What was the net operating result?")
    assert turns[-1].followups[0] == "What was «Netto driftsresultat» (Budsjett 2020) in table 1?"


def test_row_over_years_gets_a_chart_and_prose_gets_none(ui: RapportUI) -> None:
    messages, turns, _, _ = ask(ui, "Hvor mange elever var det?")
    html = answer_message(messages, turns[-1])
    assert '<figure class="row-chart">' in html and "2018: 4 000; 2019: 4 100; 2020: 4 150" in html
    assert turns[-1].followups[0] == "Hva var «Antall elever» (2019) i tabell 4.7?"
    messages, turns, _, _ = ask(ui, "Hva var resultatgraden?", turns)
    assert "row-chart" not in answer_message(messages, turns[-1]) and turns[-1].followups == ()


def test_unsure_answer_offers_alternatives_and_a_click_asks_that_question(ui: RapportUI,
                                                                          service: FakeService) -> None:
    messages, turns, _, _ = ask(ui, AMBIGUOUS_Q)
    html = answer_message(messages, turns[-1])
    assert "Usikkert svar" in html and f'<span class="chip-q">{GRANT_Q}</span>' in html
    chat, box, hint, ticket, source, raw = ui.on_bus(f"ask|{GRANT_Q}|n1", turns, "no", False)
    assert is_skip(source) and ticket.endswith("|" + GRANT_Q)
    *_, (messages, turns, source, raw) = list(ui.respond(ticket, turns, "no", "*", False))
    assert service.calls[-1][0] == GRANT_Q and 'class="figure-value">-1 994,0<' in answer_message(messages, turns[-1])
    assert 'class="num cell-hit">-1 994,0<' in source


def test_abstention_outlines_no_cell_and_clears_the_previous_one(ui: RapportUI) -> None:
    _, turns, source, _ = ask(ui, Q)
    assert "cell-hit" in source
    messages, turns, source, _ = ask(ui, "Hvem er ordfører?", turns)
    html = answer_message(messages, turns[-1])
    assert "cell-hit" not in source and "row-hit" not in source and "Dette svaret har ingen kilde" in source
    assert "figure-value" not in html and "Det nærmeste rapporten har:" in html and "chip-ask" in html


def test_an_older_answers_chip_still_opens_its_source(ui: RapportUI) -> None:
    _, turns, _, _ = ask(ui, Q)
    _, turns, source, _ = ask(ui, "Hvor mange elever var det?", turns)
    assert "Tabell 4.7" in source
    first = turns[0]
    *_, source, raw = ui.on_bus(f"src-{first.id}-0|x1", turns, "no", False)
    assert 'class="num cell-hit">-679,4<' in source and json.loads(raw)["question"] == Q
    *_, source, raw = ui.on_bus("src-999-0|x2", turns, "no", False)
    assert "Fant ikke kilden" in source
    assert all(is_skip(x) for x in ui.on_bus("garbage", turns, "no", False))
    assert all(is_skip(x) for x in ui.on_bus("src-a-b|x", turns, "no", False))


def test_report_picker_restricts_the_question(ui: RapportUI, service: FakeService) -> None:
    ask(ui, Q, report=REPORT_ID)
    assert service.calls[-1][2] == [REPORT_ID]
    ask(ui, Q, report="*")
    assert service.calls[-1][2] is None


def test_service_failure_is_a_friendly_message_without_details(ui: RapportUI) -> None:
    messages, turns, source, raw = ask(ui, "boom")
    text = messages[-1]["content"]
    assert "noe gikk galt" in text and "answer-error" in text
    for leak in ("Traceback", "secret", "/etc/passwd", "http", "RuntimeError"):
        assert leak not in text
    assert is_skip(source) and turns[-1].notice == "error_service"


def test_raw_json_never_carries_urls_credentials_or_paths(ui: RapportUI, service: FakeService) -> None:
    from dataclasses import replace

    answer = replace(service.ask(Q), trace=("store http://admin:s3cret@chroma.internal:8000/api failed",
                                            "read /srv/rapport/data/chroma/x.sqlite3", "api_key=abc123def"))
    data = json.loads(ui.answer_json_text(answer))
    trace = " ".join(data["trace"])
    for leak in ("http", "s3cret", "admin", "chroma.internal", "/srv/", "abc123def"):
        assert leak not in trace, trace
    assert data["answer"] == answer.answer and data["citations"][0]["quote"] == answer.citations[0].quote


@pytest.mark.parametrize(("question", "lang", "start"), [
    ("Hvor mye brukte kommunen på barnevern?", "no", "Chatten er ikke klar"),
    ("How much did the municipality spend on child welfare?", "en", "The chat is not ready"),
])
def test_api_says_not_ready_in_the_questions_language(question: str, lang: str, start: str) -> None:
    from ui import api

    data = api.answer_json(None, question)
    assert data["abstained"] is True and data["lang"] == lang and data["answer"].startswith(start)


@pytest.mark.parametrize(("question", "lang", "start"), [
    ("Hva var boom-effekten i 2020?", "no", "Beklager"),
    ("What was the boom in 2020?", "en", "Sorry"),
])
def test_api_failure_is_a_message_in_the_questions_language(service: FakeService, question: str, lang: str,
                                                             start: str) -> None:
    from ui import api

    data = api.answer_json(service, question)
    assert data["lang"] == lang and data["error"].startswith(start) and data["citations"] == []
    assert "secret" not in data["answer"] and "/etc/passwd" not in data["answer"]


# ---------------------------------------------------------------- busy


@pytest.mark.parametrize(("question", "lang"), [(Q, "no"), ("What was the net operating result?", "en")])
def test_full_queue_answers_busy_in_the_questions_language_and_computes_nothing(
        ui: RapportUI, service: FakeService, monkeypatch: pytest.MonkeyPatch, question: str, lang: str) -> None:
    monkeypatch.setattr(ui, "queue_length", lambda: ui.queue_size)
    chat, box, hint, ticket = ui.admit(question, [], "no", False)
    assert is_skip(ticket) and box == ""
    assert MESSAGES[lang]["busy"] in chat[-1]["content"] and "answer-busy" in chat[-1]["content"]
    assert service.calls == []
    monkeypatch.setattr(ui, "queue_length", lambda: ui.queue_size - 1)
    assert isinstance(ui.admit(question, [], "no", False)[3], str)


# ---------------------------------------------------------------- language and view


def test_switching_language_renders_the_conversation_again(ui: RapportUI) -> None:
    _, turns, _, _ = ask(ui, Q)
    out = ui.switch_language("en", turns, False, "*", REPORT_ID, "0", "3", "Regnskap 2020", "")
    title, intro, chat_tab, lookup_tab, chatbot = out[:5]
    assert title.startswith("# Ask the annual report") and chat_tab["label"] == "Ask"
    messages = chatbot["value"]
    html = messages[turns[-1].msg_index]["content"]
    assert f"Source: {REPORT_TITLE} · Table 1 · page 3" in html and "The figure in the report" in html
    assert "«Netto driftsresultat» i regnskapet" in html  # the answer stays in the question's language
    assert messages[turns[-1].msg_index + 1]["metadata"]["title"] == "How the answer was found"
    assert out[-3]["value"].startswith("-679,4 mill. kr — Årsrapport 2020, Eksempel kommune, Table 1, row “Netto")
    back = ui.switch_language("no", turns, False, "*", REPORT_ID, None, None, None, "")
    assert "Kilde:" in back[4]["value"][turns[-1].msg_index]["content"]


def test_staff_view_shows_lines_and_the_json(ui: RapportUI) -> None:
    _, turns, _, _ = ask(ui, Q)
    messages, raw = ui.toggle_staff(True, turns, "no")
    assert "side 3, linje 350" in messages[turns[-1].msg_index]["content"] and raw["visible"] is True
    messages, raw = ui.toggle_staff(False, turns, "no")
    assert "linje 350" not in messages[turns[-1].msg_index]["content"] and raw["visible"] is False


def test_new_conversation_resets(ui: RapportUI) -> None:
    chat, turns, box, hint, source, raw, status, comment = ui.new_conversation("no")
    assert chat == [] and turns == [] and "Velg en kilde" in source and comment["visible"] is False


# ---------------------------------------------------------------- staff lookup


def test_lookup_browses_a_report_finds_tables_by_printed_number_and_charts_any_row(ui: RapportUI) -> None:
    tables, rows, cols, copy, chart, view = ui.lookup_report(REPORT_ID, "", "no")
    assert [label.split(" · ")[0] for label, _ in tables["choices"]][:2] == [
        "Tabell 1 viser hovedoversikten for drift med budsjettavvik", "Tabell 4.7 viser nøkkeltall for skole"]
    tables, *_ = ui.lookup_search("4.7", REPORT_ID, "no")
    assert [v for _, v in tables["choices"]] == ["1"]
    tables, *_ = ui.lookup_search("tabell 4.7", REPORT_ID, "no")
    assert [v for _, v in tables["choices"]] == ["1"]
    tables, rows, cols, copy, chart, view = ui.lookup_search("spesialundervisning", REPORT_ID, "no")
    assert [v for _, v in tables["choices"]] == ["1"] and cols["value"] == "2020"
    copy, chart, view = ui.lookup_cell(REPORT_ID, "1", "1", "2019", "no")
    assert copy == "7,4 % — Årsrapport 2020, Eksempel kommune, Tabell 4.7, rad «Andel elever med spesialundervisning», kolonne «2019», side 3, linje 365"
    assert '<figure class="row-chart">' in chart and 'class="num cell-hit">7,4 %<' in view and 'class="ln"' in view
    assert "Ingen tabeller" in ui.lookup_search("finnes ikke", REPORT_ID, "no")[-1]


# ---------------------------------------------------------------- first start


def test_first_start_page_shows_progress_then_opens_the_chat(settings: Settings, service: FakeService) -> None:
    holder = ServiceHolder()
    ui = RapportUI(holder, settings)
    demo = ui.build()
    question = next(c for c in demo.get_config_file()["components"] if c.get("props", {}).get("elem_id") == "question")
    assert question["props"]["interactive"] is False
    chat, box, hint, ticket = ui.admit(Q, [], "no", False)
    assert "indeksen bygges" in hint and is_skip(ticket)
    assert list(ui.respond(f"1|{Q}", [], "no", "*", False))[-1][1][-1].notice == "not_ready"
    holder.progress(300, 1200)
    state = ui.page_state("no")
    assert "300 av 1200 tekstbiter (25 %)" in state[0] and "<progress" in state[0] and state[4]["interactive"] is False
    holder.set_ready(service)
    state = ui.page_state("no")
    assert state[0] == "" and state[4]["interactive"] is True and state[5]["interactive"] is True
    assert state[2] == f"# Spør årsrapporten: {REPORT_TITLE}" and state[7]["choices"][1] == (REPORT_TITLE, REPORT_ID)
    holder2 = ServiceHolder()
    holder2.set_failed("No index in [path]: run `rapport ingest` first.")
    assert "Indeksen kunne ikke bygges: No index in [path]" in RapportUI(holder2, settings).build_status_html("no")


def test_holder_runs_the_build_in_the_background() -> None:
    holder = ServiceHolder()
    seen: list[Any] = []
    holder.on_ready(seen.append)

    def build(progress: Any) -> str:
        progress(1, 2)
        return "svc"

    assert holder.start(build).join(5) is None and holder.wait(5).status == "ready" and seen == ["svc"]
    failing = ServiceHolder()

    def broken(progress: Any) -> str:
        raise RuntimeError("disk full at /srv/x")

    failing.start(broken, describe_error=lambda exc: "disk full")
    assert failing.wait(5).status == "failed" and failing.state().message == "disk full" and not failing.ready


# ---------------------------------------------------------------- feedback


def like(ui: RapportUI, turns: list, liked: Any, index: int | None = None) -> tuple:
    turn = turns[-1]
    data = gr.LikeData(target=None, data={"index": turn.msg_index if index is None else index, "value": "",
                                          "liked": liked})
    return ui.on_like(turns, "no", data)


def test_thanks_only_when_the_vote_is_stored_then_an_optional_comment(ui: RapportUI, settings: Settings) -> None:
    _, turns, _, _ = ask(ui, Q)
    status, turns, comment = like(ui, turns, True)
    assert "Takk!" in status and comment["visible"] is True
    store = FeedbackStore(settings.data_dir / "feedback.sqlite3")
    (entry,) = store.entries()
    assert entry.vote == "up" and entry.question == Q and json.loads(entry.answer_json)["value_raw"] == "-679,4"
    status, comment = ui.on_comment("  Tallet stemmer med tabellen.  ", turns, "no")
    assert "Takk!" in status and store.entries()[0].comment == "Tallet stemmer med tabellen."
    assert "Skriv en kommentar" in ui.on_comment("   ", turns, "no")[0]
    status, turns, _ = like(ui, turns, False, index=turns[-1].msg_index + 1)  # on the details message: same answer
    assert store.count() == 1 and store.entries()[0].vote == "down"
    status, turns, _ = like(ui, turns, "")
    assert "trukket tilbake" in status and "Takk" not in status and store.entries()[0].vote == "none"


def test_a_vote_that_is_not_stored_says_so(ui: RapportUI, monkeypatch: pytest.MonkeyPatch) -> None:
    _, turns, _, _ = ask(ui, Q)

    def fail(**kw: Any) -> int:
        raise FeedbackError("feedback not stored: OperationalError: attempt to write a readonly database")

    monkeypatch.setattr(ui.store, "add", fail)
    status, _, comment = like(ui, turns, True)
    assert "Takk" not in status and "kunne ikke lagres" in status and "readonly" not in status
    assert comment["visible"] is False


def test_a_vote_on_a_question_or_an_error_is_ignored(ui: RapportUI, settings: Settings) -> None:
    messages, turns, _, _ = ask(ui, "boom")
    assert all(is_skip(x) for x in like(ui, turns, True, index=len(messages) - 1))
    assert all(is_skip(x) for x in like(ui, turns, True, index=0))
    assert FeedbackStore(settings.data_dir / "feedback.sqlite3").count() == 0


def test_read_only_data_dir_turns_feedback_off_with_a_notice(settings: Settings, service: FakeService,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FeedbackStore, "writable", lambda self: False)
    ui = RapportUI(service, settings)
    demo = ui.build()
    chat = next(c for c in demo.get_config_file()["components"] if c.get("props", {}).get("elem_id") == "chat")
    assert not chat["props"].get("feedback_options")
    assert "Tilbakemelding er slått av" in ui.feedback_notice("no")
    _, turns, _, _ = ask(ui, Q)
    status, _, _ = like(ui, turns, True)
    assert "slått av" in status
