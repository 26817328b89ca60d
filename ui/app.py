"""The browser app: a Gradio chat that shows its sources, a table lookup for staff, and `/ask`.

`create_app(service, settings)` builds the Blocks from any object with `.ask(question, history)`
and `.report` (tests pass a fake); in LLM mode a service with `.stream(question, history)` (see
rag.service.Service.stream) has the model's text shown as it is written. `serve(settings, echo)`
builds the real service, building the index first when there is none, and launches.

This module has no `from __future__ import annotations`: Gradio reads the handlers' type hints
(gr.SelectData, gr.LikeData, the `/ask` signature) at runtime.
"""

import ipaddress
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import gradio as gr

from ingest.records import Report, Row, Table
from rag.records import Answer
from rapport.settings import Settings
from ui import render
from ui.feedback import FeedbackStore, vote_from_like
from ui.i18n import DEFAULT_LANG, EXAMPLE_QUESTIONS, LANG_CHOICES, norm_lang, t

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
HISTORY_TURNS = 10  # at most this many earlier question/answer pairs go to the service
STREAM_DELAY_S = 0.02  # pause between streamed chunks, so the answer visibly streams
FEEDBACK_FILE = "feedback.sqlite3"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# After a chip click: bring the highlighted cell or sentence into view (on a phone the sources
# panel is below the chat; a long table can put the cited row below the fold).
_SCROLL_TO_SOURCE_JS = (
    "() => { setTimeout(() => { const el = document.querySelector("
    "'#source td.cell-hit, #source tr.row-hit, #source mark.quote-hit, #source');"
    " if (el) el.scrollIntoView({behavior: 'smooth', block: 'center'}); }, 60); }"
)


class AskService(Protocol):
    """What the app needs from the answer service (rag.service.Service satisfies it)."""

    @property
    def report(self) -> Report: ...

    def ask(self, question: str, history: list | None = None) -> Answer: ...


# Shown under the final answer when the guard rejected text the model had already streamed.
_REPLACED_NOTE = {
    "no": "(modellens tekst ble erstattet av det ekstraktive svaret)",
    "en": "(the model's text was replaced by the extractive answer)",
}


def streams_llm(service: object, settings: Settings) -> bool:
    """True when the chat should stream the model's text: LLM mode and a service with `.stream`.
    The service's own settings decide the mode when it has them; otherwise the app's do."""
    mode = getattr(getattr(service, "settings", None), "mode", None) or settings.mode
    return mode == "llm" and callable(getattr(service, "stream", None))


def render_streaming_html(text: str) -> str:
    """The model's text while it is being written: escaped plain text, no number or sources yet."""
    body = render.esc_multiline(text.lstrip())
    return f'<div class="answer streaming" aria-busy="true"><p class="answer-text">{body}</p></div>'


def with_note_html(answer_html: str, note: str) -> str:
    """`answer_html` (render.render_answer_html) with a small escaped note as its last paragraph."""
    note_html = f'<p class="answer-note"><small>{render.esc(note)}</small></p>'
    if answer_html.endswith("</div>"):
        return answer_html[: -len("</div>")] + note_html + "</div>"
    return answer_html + note_html


class QuestionError(ValueError):
    """A question the app will not send to the service; the message is shown to the user."""


# ---------------------------------------------------------------- input checks and history


def check_question(question: object, lang: str | None = None) -> str:
    """Return the question cleaned for the service, or raise QuestionError with a friendly
    message: empty, too long, or not text (NUL bytes, mostly control or replacement characters).
    Stray control characters are replaced by spaces; line breaks and tabs become spaces too."""
    if question is None:
        raise QuestionError(t("error_empty", lang))
    if not isinstance(question, str):
        raise QuestionError(t("error_binary", lang))
    if len(question) > 4 * MAX_QUESTION_CHARS:  # refuse before doing any work on a huge string
        raise QuestionError(t("error_too_long", lang, limit=MAX_QUESTION_CHARS))
    bad = sum(
        1 for ch in question if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
    )
    if "\x00" in question or (question and bad / len(question) > 0.1):
        raise QuestionError(t("error_binary", lang))
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in question)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError(t("error_empty", lang))
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(t("error_too_long", lang, limit=MAX_QUESTION_CHARS))
    return cleaned


def history_for(turns: list[dict[str, Any]]) -> list[Answer]:
    """The conversation so far for service.ask: the last HISTORY_TURNS Answers, oldest first.

    Answers (rather than role/content messages, which the service also accepts) carry the
    previous question and its cited table and row exactly, which is what a follow-up such as
    "og budsjettet?" needs."""
    return [x["answer"] for x in turns if isinstance(x.get("answer"), Answer)][-HISTORY_TURNS:]


def error_json(question: object, message: str, settings: Settings | None = None) -> dict[str, Any]:
    """The `/ask` reply for a question that could not be answered: Answer.to_json()'s fields
    (abstained, no citations) plus `error`."""
    q = question if isinstance(question, str) else ""
    return {
        "question": q[:MAX_QUESTION_CHARS],
        "answer": message,
        "abstained": True,
        "value": None,
        "unit": None,
        "citations": [],
        "lang": "en",  # the API's messages are in English
        "mode": settings.mode if settings is not None else "extractive",
        "latency_ms": 0.0,
        "value_raw": None,
        "trace": [],
        "error": message,
    }


def answer_json(service: AskService, question: object, settings: Settings | None = None) -> dict[str, Any]:
    """What `/ask` returns: Answer.to_json() for a question, or `error_json` for bad input or
    a failure. Never raises."""
    try:
        cleaned = check_question(question, "en")
    except QuestionError as exc:
        return error_json(question, str(exc), settings)
    try:
        return service.ask(cleaned, None).to_json()
    except Exception:
        log.exception("answering failed")
        return error_json(cleaned, t("error_service", "en"), settings)


# ---------------------------------------------------------------- the app


def _source_for_key(report: Report | None, key: str | None, lang: str) -> str:
    return render.render_source_html(report, render.citation_from_key(key), lang)


def _turn_for_message(turns: list[dict[str, Any]], index: Any) -> dict[str, Any] | None:
    """The turn whose user question or answer is chat message `index`."""
    if isinstance(index, list | tuple):
        index = index[0] if index else None
    if not isinstance(index, int):
        return None
    for turn in turns:
        if index in (turn.get("msg_index"), turn.get("msg_index", -9) - 1):
            return turn
    return None


def _turn_chips(turn: dict[str, Any] | None, lang: str) -> list[tuple[str, str]]:
    answer = turn.get("answer") if turn else None
    return render.chip_choices(answer.citations, lang) if isinstance(answer, Answer) else []


def _answer_json_text(answer: Answer) -> str:
    return json.dumps(answer.to_json(), ensure_ascii=False, indent=2)


def _table_choices(report: Report | None, query: str, lang: str) -> list[tuple[str, str]]:
    """Tables matching a number ("1", "tabell 1") or all the words of `query`."""
    if report is None:
        return []
    q = re.sub(r"\b(?:tabell|table)\s*(?=\d)", "", " ".join((query or "").split()).casefold())
    words = q.split()
    choices: list[tuple[str, str]] = []
    for i, table in enumerate(report.tables):
        label = render.table_title(table, lang)
        if len(words) == 1 and words[0].isdigit():
            if table.cite_number != int(words[0]):
                continue
        elif words:
            hay = " ".join(
                [
                    label,
                    table.caption or "",
                    table.unit or "",
                    table.chapter.display,
                    *table.columns,
                    *(r.label for r in table.rows),
                ]
            ).casefold()
            if not all(w in hay for w in words):
                continue
        if table.number is None and table.attached_to is not None:
            label = f"{label} (+)"
        choices.append((f"{label} · {render.lines_text(table.lines, lang)}", str(i)))
    return choices


def _default_column(columns: tuple[str, ...]) -> str | None:
    """The accounts column when there is one ("Regnskap 2020"), else the last column."""
    for col in columns:
        if col.casefold().startswith("regnskap"):
            return col
    return columns[-1] if columns else None


def _pick_table(report: Report | None, choice: str | None) -> Table | None:
    try:
        return report.tables[int(choice)] if report is not None and choice is not None else None
    except (ValueError, IndexError, TypeError):
        return None


def _row_choices(table: Table | None) -> list[tuple[str, str]]:
    return [(r.label or "–", str(i)) for i, r in enumerate(table.rows)] if table is not None else []


def _pick_row(table: Table | None, choice: str | None) -> Row | None:
    try:
        return table.rows[int(choice)] if table is not None and choice is not None else None
    except (ValueError, IndexError, TypeError):
        return None


def create_app(
    service: AskService, settings: Settings, *, stream_delay_s: float = STREAM_DELAY_S
) -> gr.Blocks:
    """Build the Blocks app around `service`; nothing is launched or loaded here."""
    report: Report | None = getattr(service, "report", None)
    store = FeedbackStore(settings.data_dir / FEEDBACK_FILE)
    lang0 = DEFAULT_LANG

    with gr.Blocks(title=t("title", lang0), analytics_enabled=False, fill_width=False) as demo:
        with gr.Row(equal_height=False):
            title_md = gr.Markdown(f"# {t('title', lang0)}", elem_id="app-title")
            lang_radio = gr.Radio(
                choices=LANG_CHOICES,
                value=lang0,
                label=t("lang_label", lang0),
                elem_id="lang",
                scale=0,
                min_width=340,
            )
        intro_md = gr.Markdown(t("intro", lang0), elem_id="intro")
        turns = gr.State([])

        with gr.Tabs():
            with gr.Tab(t("tab_chat", lang0), id="chat-tab") as chat_tab, gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    chatbot = gr.Chatbot(
                        label=t("chatbot_label", lang0),
                        elem_id="chat",
                        height=520,
                        examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
                        buttons=["copy", "copy_all"],
                        latex_delimiters=[],
                        feedback_options=("Like", "Dislike"),
                        group_consecutive_messages=False,
                        autoscroll=True,
                    )
                    question = gr.Textbox(
                        label=t("question_label", lang0),
                        placeholder=t("question_placeholder", lang0),
                        lines=1,
                        max_lines=4,
                        elem_id="question",
                        autofocus=True,
                    )
                    with gr.Row():
                        send = gr.Button(t("send", lang0), variant="primary", elem_id="send", min_width=120)
                        new_chat = gr.Button(
                            t("new_chat", lang0), elem_id="new-chat", variant="secondary", min_width=120
                        )
                with gr.Column(scale=2, min_width=320):
                    sources_md = gr.Markdown(f"## {t('sources_heading', lang0)}")
                    chips = gr.Radio(
                        choices=[],
                        value=None,
                        label=t("chips_label", lang0),
                        elem_id="chips",
                        elem_classes=["chip-radio"],
                    )
                    source_html = gr.HTML(
                        render.render_notice_html(t("source_empty", lang0)),
                        elem_id="source",
                        label=t("source_label", lang0),
                        js_on_load=None,
                    )

            with gr.Tab(t("tab_lookup", lang0), id="lookup-tab") as lookup_tab:
                lookup_md = gr.Markdown(t("lookup_intro", lang0))
                first_choices = _table_choices(report, "", lang0)
                first_table = _pick_table(report, first_choices[0][1]) if first_choices else None
                with gr.Row():
                    lookup_query = gr.Textbox(
                        label=t("lookup_search_label", lang0),
                        placeholder=t("lookup_search_placeholder", lang0),
                        elem_id="lookup-query",
                    )
                    lookup_table = gr.Dropdown(
                        choices=first_choices,
                        value=first_choices[0][1] if first_choices else None,
                        label=t("lookup_table_label", lang0),
                        elem_id="lookup-table",
                        filterable=True,
                    )
                with gr.Row():
                    lookup_row = gr.Dropdown(
                        choices=_row_choices(first_table),
                        value=None,
                        label=t("lookup_row_label", lang0),
                        elem_id="lookup-row",
                    )
                    lookup_col = gr.Dropdown(
                        choices=[(c, c) for c in first_table.columns] if first_table else [],
                        value=_default_column(first_table.columns) if first_table else None,
                        label=t("lookup_column_label", lang0),
                        elem_id="lookup-col",
                    )
                lookup_copy = gr.Textbox(
                    label=t("lookup_copy_label", lang0),
                    interactive=False,
                    buttons=["copy"],
                    elem_id="lookup-copy",
                )
                lookup_html = gr.HTML(
                    render.render_table_html(first_table, lang0) if first_table else "",
                    elem_id="lookup-view",
                    js_on_load=None,
                )
                raw_toggle = gr.Checkbox(value=False, label=t("raw_toggle", lang0), elem_id="raw-toggle")
                raw_json = gr.Code(
                    value="",
                    language="json",
                    label=t("raw_label", lang0),
                    interactive=False,
                    visible=False,
                    elem_id="raw-json",
                )

        # ------------------------------------------------------------ chat

        def fake_stream(answer: Answer, messages: list, turn_list: list, lang: str) -> Iterator[tuple]:
            """The finished answer's text a few words at a time (extractive mode, and LLM mode
            when the model wrote nothing before the final answer)."""
            keep = gr.skip()
            steps = render.stream_steps(answer.answer or "")
            for partial in steps[:-1]:
                messages[-1] = {
                    "role": "assistant",
                    "content": render.render_answer_html(answer, lang, text=partial),
                }
                yield messages[:], turn_list[:], keep, keep, keep, keep
                if stream_delay_s:
                    time.sleep(stream_delay_s)

        def final_outputs(
            q: str, answer: Answer, messages: list, turn_list: list, lang: str, note: str | None = None
        ) -> tuple:
            """The chat outputs for a finished answer: number, text, chips, first source, JSON."""
            keep = gr.skip()
            choices = render.chip_choices(answer.citations, lang)
            content = render.render_answer_html(answer, lang)
            messages[-1] = {
                "role": "assistant",
                "content": with_note_html(content, note) if note else content,
                "options": [{"label": label, "value": key} for label, key in choices],
            }
            turn_list.append({"question": q, "answer": answer, "msg_index": len(messages) - 1})
            first = choices[0][1] if choices else None
            return (
                messages,
                turn_list,
                keep,
                gr.update(choices=choices, value=first),
                _source_for_key(report, first, lang)
                if first
                else render.render_notice_html(t("source_empty", lang)),
                _answer_json_text(answer),
            )

        def error_outputs(messages: list, turn_list: list, lang: str) -> tuple:
            """The chat with the last answer replaced by the service error message (no traceback)."""
            messages[-1] = {"role": "assistant", "content": render.render_error_html(t("error_service", lang))}
            keep = gr.skip()
            return messages[:], turn_list[:], "", keep, keep, keep

        def respond_llm(q: str, messages: list, turn_list: list, lang: str) -> Iterator[tuple]:
            """LLM mode: the model's (guarded) text as it arrives, then the final answer, which
            replaces the streamed text; a note says so when the guard rejected that text."""
            keep = gr.skip()
            shown = ""
            final: Any = None
            events: Any = None
            try:
                events = service.stream(q, history_for(turn_list))  # type: ignore[attr-defined]
                for event in events:
                    kind = getattr(event, "kind", None)
                    if kind == "final":
                        final = event
                        break
                    text = getattr(event, "text", "") if kind == "delta" else ""
                    if not isinstance(text, str) or not text:
                        continue
                    shown += text
                    if not shown.strip():
                        continue
                    messages[-1] = {"role": "assistant", "content": render_streaming_html(shown)}
                    yield messages[:], turn_list[:], keep, keep, keep, keep
            except Exception:
                log.exception("answering %r failed", q[:200])
                final = None
            finally:
                close = getattr(events, "close", None)
                if callable(close):
                    try:
                        close()  # stops the model when the reply was cut short (e.g. the tab closed)
                    except Exception:
                        log.exception("closing the answer stream failed")
            answer = getattr(final, "answer", None)
            if not isinstance(answer, Answer):
                if final is not None:
                    log.error("the answer stream for %r ended without an answer", q[:200])
                yield error_outputs(messages, turn_list, lang)
                return
            try:
                streamed = bool(shown.strip())
                if not streamed:
                    yield from fake_stream(answer, messages, turn_list, lang)
                note = None
                if streamed and getattr(final, "replaces", False) and answer.citations:
                    note = _REPLACED_NOTE["en" if answer.lang == "en" else "no"]
                yield final_outputs(q, answer, messages, turn_list, lang, note)
            except Exception:
                log.exception("showing the answer to %r failed", q[:200])
                yield error_outputs(messages, turn_list, lang)

        def respond(text: str, messages: list, turn_list: list, lang: str) -> Iterator[tuple]:
            lang = norm_lang(lang)
            messages = list(messages or [])
            turn_list = list(turn_list or [])
            keep = gr.skip()
            try:
                q = check_question(text, lang)
            except QuestionError as exc:
                shown = text if isinstance(text, str) else ""
                if shown.strip():
                    shown = "".join(ch if unicodedata.category(ch) != "Cc" else " " for ch in shown[:300])
                    messages.append({"role": "user", "content": render.render_question_html(shown)})
                messages.append({"role": "assistant", "content": render.render_error_html(str(exc))})
                yield (
                    messages,
                    turn_list,
                    text if isinstance(text, str) and len(text) <= MAX_QUESTION_CHARS else "",
                    keep,
                    keep,
                    keep,
                )
                return
            messages.append({"role": "user", "content": render.render_question_html(q)})
            messages.append({"role": "assistant", "content": render.render_pending_html(lang)})
            yield messages[:], turn_list[:], "", keep, keep, keep
            if streams_llm(service, settings):
                yield from respond_llm(q, messages, turn_list, lang)
                return
            try:
                answer = service.ask(q, history_for(turn_list))
            except Exception:
                log.exception("answering %r failed", q[:200])
                yield error_outputs(messages, turn_list, lang)
                return
            try:
                yield from fake_stream(answer, messages, turn_list, lang)
                yield final_outputs(q, answer, messages, turn_list, lang)
            except Exception:
                log.exception("showing the answer to %r failed", q[:200])
                yield error_outputs(messages, turn_list, lang)

        chat_outputs = [chatbot, turns, question, chips, source_html, raw_json]
        gr.on(
            [question.submit, send.click],
            respond,
            [question, chatbot, turns, lang_radio],
            chat_outputs,
            api_visibility="private",
            show_progress="minimal",
        )

        def use_example(evt: gr.SelectData) -> str:
            value = evt.value
            return value.get("text", "") if isinstance(value, dict) else str(value or "")

        chatbot.example_select(use_example, None, question, api_visibility="private", queue=False).then(
            respond,
            [question, chatbot, turns, lang_radio],
            chat_outputs,
            api_visibility="private",
            show_progress="minimal",
        )

        def reset(lang: str) -> tuple:
            lang = norm_lang(lang)
            return (
                [],
                [],
                "",
                gr.update(choices=[], value=None),
                render.render_notice_html(t("source_empty", lang)),
                "",
            )

        new_chat.click(reset, [lang_radio], chat_outputs, api_visibility="private", queue=False)
        chatbot.clear(reset, [lang_radio], chat_outputs, api_visibility="private", queue=False)

        # ------------------------------------------------------------ sources

        def show_chip(key: str | None, lang: str) -> str:
            return _source_for_key(report, key, norm_lang(lang))

        chips.input(show_chip, [chips, lang_radio], source_html, api_visibility="private", queue=False).then(
            None, None, None, js=_SCROLL_TO_SOURCE_JS
        )

        def option_clicked(turn_list: list, lang: str, evt: gr.SelectData) -> tuple:
            lang = norm_lang(lang)
            key = evt.value if isinstance(evt.value, str) else None
            choices = _turn_chips(turn_list[-1] if turn_list else None, lang)
            if key not in {k for _, k in choices}:
                choices = (
                    choices + [(render.chip_label(c, lang), key)]
                    if (c := render.citation_from_key(key))
                    else choices
                )
            return gr.update(choices=choices, value=key), _source_for_key(report, key, lang)

        chatbot.option_select(
            option_clicked, [turns, lang_radio], [chips, source_html], api_visibility="private", queue=False
        ).then(None, None, None, js=_SCROLL_TO_SOURCE_JS)

        def message_clicked(turn_list: list, lang: str, evt: gr.SelectData) -> tuple:
            lang = norm_lang(lang)
            turn = _turn_for_message(turn_list or [], evt.index)
            choices = _turn_chips(turn, lang)
            if not choices:
                return gr.skip(), gr.skip(), gr.skip()
            return (
                gr.update(choices=choices, value=choices[0][1]),
                _source_for_key(report, choices[0][1], lang),
                _answer_json_text(turn["answer"]) if turn else gr.skip(),
            )

        chatbot.select(
            message_clicked,
            [turns, lang_radio],
            [chips, source_html, raw_json],
            api_visibility="private",
            queue=False,
        )

        # ------------------------------------------------------------ feedback

        def liked(turn_list: list, lang: str, evt: gr.LikeData) -> None:
            lang = norm_lang(lang)
            turn = _turn_for_message(turn_list or [], evt.index)
            if turn is None or turn.get("msg_index") != (
                evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            ):
                return  # a vote on an error message or a question: nothing to record
            answer = turn.get("answer")
            if not isinstance(answer, Answer):
                return
            data = answer.to_json()
            try:
                store.add(
                    question=turn["question"],
                    answer=answer.answer,
                    citations=data["citations"],
                    vote=vote_from_like(evt.liked),
                    answer_json=data,
                )
            except Exception:
                log.exception("storing feedback failed")
                gr.Warning(
                    "Feedback could not be saved." if lang == "en" else "Tilbakemeldingen kunne ikke lagres."
                )

        chatbot.like(liked, [turns, lang_radio], None, api_visibility="private", queue=False)

        # ------------------------------------------------------------ table lookup

        def search_tables(query: str, lang: str) -> Any:
            choices = _table_choices(report, query, norm_lang(lang))
            return gr.update(choices=choices, value=choices[0][1] if choices else None)

        lookup_query.input(
            search_tables, [lookup_query, lang_radio], lookup_table, api_visibility="private", queue=False
        )
        lookup_query.submit(
            search_tables, [lookup_query, lang_radio], lookup_table, api_visibility="private", queue=False
        )

        def choose_table(choice: str | None, lang: str) -> tuple:
            lang = norm_lang(lang)
            table = _pick_table(report, choice)
            if table is None:
                notice = render.render_notice_html(t("lookup_none", lang)) if choice else ""
                return notice, gr.update(choices=[], value=None), gr.update(choices=[], value=None), ""
            cols = [(c, c) for c in table.columns]
            return (
                render.render_table_html(table, lang),
                gr.update(choices=_row_choices(table), value=None),
                gr.update(choices=cols, value=_default_column(table.columns)),
                "",
            )

        lookup_table.change(
            choose_table,
            [lookup_table, lang_radio],
            [lookup_html, lookup_row, lookup_col, lookup_copy],
            api_visibility="private",
        )

        def choose_cell(
            table_choice: str | None, row_choice: str | None, column: str | None, lang: str
        ) -> tuple:
            lang = norm_lang(lang)
            table = _pick_table(report, table_choice)
            row = _pick_row(table, row_choice)
            if table is None:
                return gr.skip(), ""
            if row is None or not column:
                return render.render_table_html(table, lang), ""
            return (
                render.render_table_html(table, lang, hit_row=row, hit_column=column),
                render.cell_citation_text(table, row, column, lang),
            )

        for dropdown in (lookup_row, lookup_col):
            dropdown.input(
                choose_cell,
                [lookup_table, lookup_row, lookup_col, lang_radio],
                [lookup_html, lookup_copy],
                api_visibility="private",
                queue=False,
            )

        raw_toggle.change(
            lambda show: gr.update(visible=bool(show)),
            raw_toggle,
            raw_json,
            api_visibility="private",
            queue=False,
        )

        # ------------------------------------------------------------ language

        def switch_language(lang: str, chip_key: str | None, table_choice: str | None, query: str) -> tuple:
            lang = norm_lang(lang)
            table_choices = _table_choices(report, query or "", lang)
            table = _pick_table(report, table_choice)
            return (
                f"# {t('title', lang)}",
                t("intro", lang),
                gr.update(label=t("tab_chat", lang)),
                gr.update(label=t("tab_lookup", lang)),
                gr.update(label=t("chatbot_label", lang)),
                gr.update(
                    label=t("question_label", lang),
                    placeholder=t("question_placeholder", lang),
                ),
                gr.update(value=t("send", lang)),
                gr.update(value=t("new_chat", lang)),
                f"## {t('sources_heading', lang)}",
                gr.update(label=t("chips_label", lang)),
                _source_for_key(report, chip_key, lang),
                t("lookup_intro", lang),
                gr.update(
                    label=t("lookup_search_label", lang), placeholder=t("lookup_search_placeholder", lang)
                ),
                gr.update(label=t("lookup_table_label", lang), choices=table_choices, value=table_choice),
                gr.update(label=t("lookup_row_label", lang)),
                gr.update(label=t("lookup_column_label", lang)),
                gr.update(label=t("lookup_copy_label", lang)),
                render.render_table_html(table, lang) if table is not None else gr.skip(),
                gr.update(label=t("raw_toggle", lang)),
                gr.update(label=t("raw_label", lang)),
            )

        lang_radio.change(
            switch_language,
            [lang_radio, chips, lookup_table, lookup_query],
            [
                title_md,
                intro_md,
                chat_tab,
                lookup_tab,
                chatbot,
                question,
                send,
                new_chat,
                sources_md,
                chips,
                source_html,
                lookup_md,
                lookup_query,
                lookup_table,
                lookup_row,
                lookup_col,
                lookup_copy,
                lookup_html,
                raw_toggle,
                raw_json,
            ],
            js="(lang, chip, table, query) => { document.documentElement.lang = lang; return [lang, chip, table, query]; }",
            api_visibility="private",
            queue=False,
        )
        demo.load(None, None, None, js="() => { document.documentElement.lang = 'nb'; }")

        # ------------------------------------------------------------ API

        def ask(question: str) -> dict:
            """Answer a question about Bærum kommune's Årsrapport 2020. Returns the answer as JSON
            (question, answer, abstained, value, unit, citations, lang, mode, latency_ms, value_raw,
            trace); bad input or a failure gives abstained=true and an `error` message."""
            return answer_json(service, question, settings)

        gr.api(ask, api_name="ask")

    demo.queue(default_concurrency_limit=max(1, settings.concurrency_limit))
    return demo


# ---------------------------------------------------------------- launching


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    """(user, password) when both are set; ValueError when only one is."""
    user, password = settings.auth_user, settings.auth_password
    if user and password:
        return user, password
    if user or password:
        raise ValueError(
            "Set both RAPPORT_AUTH_USER and RAPPORT_AUTH_PASSWORD to turn on login (or neither)."
        )
    return None


def is_exposed(host: str) -> bool:
    """True when binding to `host` makes the app reachable from other machines."""
    if host in _LOOPBACK:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: assume it is reachable


async def _invalid_request(request: Any, exc: Exception) -> Any:
    """422 for a request FastAPI could not validate. FastAPI's own handler echoes the body and
    fails with a 500 on bytes that are not UTF-8; this one names only where and what failed."""
    from fastapi.responses import JSONResponse

    errors = getattr(exc, "errors", list)()
    detail = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors]
    return JSONResponse({"detail": detail}, status_code=422)


def launch(
    demo: gr.Blocks, settings: Settings, *, prevent_thread_lock: bool = False, quiet: bool = False
) -> tuple[Any, str, str]:
    """Start the server for `demo` with the app's CSS, login and address. Returns Gradio's
    (app, local_url, share_url)."""
    from fastapi.exceptions import RequestValidationError

    auth = auth_pair(settings)
    return demo.launch(
        app_kwargs={"exception_handlers": {RequestValidationError: _invalid_request}},
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        auth_message="Årsrapport 2020 – logg inn / log in" if auth else None,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        show_error=False,
        share=False,
        css=render.CSS,
        theme=gr.themes.Default(),
        run_history=False,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        max_file_size="1mb",
    )


def build_service_with_index(settings: Settings, echo: Callable[[str], Any] = print) -> AskService:
    """The real answer service; when it cannot start for want of an index, build the index
    (progress in the terminal) and try again."""
    import click  # only needed for the error the CLI shows

    from rag.service import ServiceError, build_service

    try:
        return build_service(settings)
    except ServiceError as exc:
        first_error = exc
    from ingest.pipeline import IngestError, run_ingest

    echo(f"No usable index in {settings.data_dir} ({first_error}).")
    echo("Building it now (first start only; this can take a few minutes) ...")
    try:
        summary = run_ingest(settings, force=False, progress=True)
    except IngestError as exc:
        raise click.ClickException(str(exc)) from None
    describe = getattr(summary, "describe", None)
    if callable(describe):
        echo(describe())
    try:
        return build_service(settings)
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None


def serve(settings: Settings, echo: Callable[[str], Any] = print) -> None:
    """`rapport serve`: warn about exposure, build the service (and the index if missing), launch."""
    import click

    try:
        auth = auth_pair(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if is_exposed(settings.host):
        echo(
            f"WARNING: --host {settings.host} exposes the app to the network: anyone who can reach "
            f"port {settings.port} can use it."
            + ("" if auth else " Set RAPPORT_AUTH_USER and RAPPORT_AUTH_PASSWORD to require a login.")
        )
    service = build_service_with_index(settings, echo)
    demo = create_app(service, settings)
    shown_host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    echo(f"Serving on http://{shown_host}:{settings.port} (Ctrl+C to stop)" + (" with login" if auth else ""))
    launch(demo, settings, quiet=True)
