"""The chat's handlers: ask (admission, then the answer), chips that ask, a new conversation,
feedback, and rendering the conversation (again, when the language or the view changes).

An ask is two steps. `submit` runs outside the queue, at once: it checks the question (an empty
Send explains itself), and either shows «busy» in the question's language when the queue is
full, or puts up a placeholder and writes a ticket into a hidden textbox. The ticket's change
event runs `respond` in the queue (one concurrency group, "answer", with the `/ask` API), which
asks the service and renders the answer. A client that leaves while its ticket waits is dropped
by Gradio's queue, never computed.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import gradio as gr

from rag.messages import t as engine_t
from rag.records import Answer
from rag.text import detect_language
from ui import render
from ui.charts import chart_html, row_series
from ui.feedback import FeedbackError, vote_from_like
from ui.i18n import norm_lang, t
from ui.redact import redact
from ui.source_view import locate

log = logging.getLogger(__name__)

HISTORY_TURNS = 10  # at most this many earlier answers go to the service as history
MAX_TURNS = 40  # a conversation keeps its last 40 turns (a bound on memory per session)
MAX_QUESTION_CHARS = 2000
_TICKETS = itertools.count(1)

# Shown under the final answer when the guard rejected text the model had already streamed.
REPLACED_NOTE = {
    "no": "(modellens tekst ble erstattet av det ekstraktive svaret)",
    "en": "(the model's text was replaced by the extractive answer)",
}


@dataclass
class ChatTurn:
    """One question and what came back: an Answer, or a notice (busy, an error)."""

    id: int
    question: str
    answer: Answer | None = None
    notice: str | None = None  # message key when there is no answer: "busy" | "error_service" | "not_ready"
    notice_lang: str = "no"  # busy is said in the question's language
    note: str | None = None
    followups: tuple[str, ...] = ()
    feedback_id: int | None = None
    vote: str | None = None
    msg_index: int = -1  # position of the answer message in the chat (set when rendered)
    details_index: int = -1  # position of its «Slik ble svaret funnet» message, if any


def history_for(turns: list[ChatTurn]) -> list[Answer]:
    """The last HISTORY_TURNS answers, oldest first: a follow-up («og i 2019?») needs the
    previous question and its cited table and row, which an Answer carries exactly."""
    return [x.answer for x in turns if isinstance(x, ChatTurn) and x.answer is not None][-HISTORY_TURNS:]


def parse_ticket(ticket: str | None) -> str | None:
    """The question in a ticket ("<n>|<question>"), or None."""
    if not ticket or "|" not in ticket:
        return None
    return ticket.split("|", 1)[1] or None


def streams_llm(service: object, mode: str) -> bool:
    """True when the chat should stream the model's text: LLM mode and a service with `.stream`."""
    mode = getattr(getattr(service, "settings", None), "mode", None) or mode
    return mode == "llm" and callable(getattr(service, "stream", None))


class ChatPart:
    """Mixin of RapportUI (ui/app.py): the chat tab's handlers."""

    holder: Any
    settings: Any
    store: Any
    feedback_on: bool
    queue_size: int
    stream_delay_s: float

    # ---------------------------------------------------------------- rendering

    def report_of(self, report_id: str | None) -> Any:
        service = self.holder.service
        if service is None or not callable(getattr(service, "report", None)):
            return None
        try:
            return service.report(report_id)
        except Exception:  # a report that cannot be read: no chart, no follow-ups, no source
            log.exception("reading report %r failed", report_id)
            return None

    def reports(self) -> tuple[Any, ...]:
        service = self.holder.service
        fn = getattr(service, "reports", None)
        try:
            return tuple(fn()) if callable(fn) else ()
        except Exception:
            log.exception("listing the reports failed")
            return ()

    def chart_for(self, answer: Answer, lang: str) -> str | None:
        """A small chart of the cited row when the answer is a table figure with others beside it."""
        if answer.abstained or answer.kind not in ("cell", "diff") or not answer.citations:
            return None
        c = answer.citations[0]
        report = self.report_of(c.report)
        if report is None:
            return None
        found = locate(report, c)
        if found.table is None or found.row is None:
            return None
        unit = answer.unit if answer.kind == "cell" and answer.unit != engine_t(answer.lang, "count") else None
        series = row_series(found.table, found.row, found.column, unit=unit)
        return chart_html(series, lang, "row-chart") if series is not None else None

    def followups_for(self, answer: Answer) -> tuple[str, ...]:
        """Up to two questions to ask next, in the question's language: the same row in another
        year (or budget against accounts), and the same column in a neighbouring row."""
        if answer.abstained or answer.kind != "cell" or not answer.citations:
            return ()
        c = answer.citations[0]
        report = self.report_of(c.report)
        if report is None:
            return ()
        found = locate(report, c)
        table, row, column = found.table, found.row, found.column
        if table is None or row is None or column is None or table.cite_number is None:
            return ()
        several = len(self.reports()) > 1
        title = c.report_title or ""

        def ask(label: str, col: str) -> str:
            key = "ask_cell_report" if several and title else "ask_cell"
            return engine_t(answer.lang, key, label=label, col=col, n=table.cite_number, title=title)

        out: list[str] = []
        series = row_series(table, row, column)
        if series is not None and series.highlight is not None:
            i = series.highlight
            other = series.points[i - 1] if i > 0 else series.points[i + 1]
            out.append(ask(row.label, other.column))
        rows = list(table.rows)
        at = next((k for k, r in enumerate(rows) if r is row), None)
        if at is not None:
            for k in [*range(at + 1, len(rows)), *range(at - 1, -1, -1)]:
                cell = rows[k].cell(column)
                if rows[k].label and rows[k].label != row.label and cell is not None and cell.value is not None:
                    out.append(ask(rows[k].label, column))
                    break
        return tuple(dict.fromkeys(out))

    def messages(self, turns: list[ChatTurn], lang: str, staff: bool = False) -> list[dict[str, Any]]:
        """The chat messages for `turns` in interface language `lang`; sets each turn's msg_index."""
        out: list[dict[str, Any]] = []
        for turn in turns:
            out.append({"role": "user", "content": render.question_html(turn.question)})
            if turn.answer is None:
                key = turn.notice or "error_service"
                if key == "busy":
                    text = engine_t(turn.notice_lang, "busy")
                    out.append({"role": "assistant", "content": render.notice_html(text, "busy", turn.notice_lang)})
                else:
                    out.append({"role": "assistant", "content": render.notice_html(t(key, lang), "error", lang)})
                turn.msg_index = turn.details_index = -1
                continue
            a = turn.answer
            content = render.answer_html(turn.id, a, lang, staff=staff, chart=self.chart_for(a, lang),
                                         followups=turn.followups, note=turn.note)
            out.append({"role": "assistant", "content": content})
            turn.msg_index = len(out) - 1
            details = render.details_html(a, lang, staff)
            turn.details_index = len(out) if details else -1
            if details:
                out.append({"role": "assistant", "content": details,
                            "metadata": {"title": t("how_found", lang), "status": "done"}})
        return out

    def pending_messages(self, turns: list[ChatTurn], question: str, lang: str, staff: bool) -> list[dict[str, Any]]:
        return [*self.messages(turns, lang, staff), {"role": "user", "content": render.question_html(question)},
                {"role": "assistant", "content": render.pending_html(lang)}]

    # ---------------------------------------------------------------- asking

    def queue_length(self) -> int:
        """Events waiting in Gradio's queue (0 when it cannot be read)."""
        queue = getattr(getattr(self, "demo", None), "_queue", None)
        try:
            return len(queue) if queue is not None else 0
        except Exception:  # noqa: BLE001 - an internal of Gradio changed: admit
            return 0

    def busy(self) -> bool:
        return self.queue_length() >= self.queue_size

    def admit(self, text: object, turns: list[ChatTurn] | None, lang: str, staff: bool) -> tuple:
        """(chatbot, question box, hint, ticket) for a question typed or clicked."""
        lang = norm_lang(lang)
        turns = list(turns or [])
        skip = gr.skip()
        question = text if isinstance(text, str) else ""
        if not question.strip():
            example = self.example_questions(lang)[:1]
            hint = t("hint_empty", lang, example=f"«{example[0]}»") if example else t("hint_empty_plain", lang)
            return skip, skip, _hint_html(hint), skip
        if not self.holder.ready:
            return skip, skip, _hint_html(t("hint_wait", lang)), skip
        if self.busy():
            q_lang = detect_language(question[:MAX_QUESTION_CHARS]) if len(question) < 50_000 else "no"
            turn = ChatTurn(next(_TICKETS), _shown(question), notice="busy", notice_lang=q_lang)
            turns.append(turn)
            return self.messages(turns[-MAX_TURNS:], lang, staff), "", _hint_html(""), skip
        # a question longer than the service takes is cut (it still answers «too long»): the ticket
        # travels to the browser and back, a megabyte of it would for nothing
        ticket = f"{next(_TICKETS)}|{question[: MAX_QUESTION_CHARS * 10 + 1]}"
        return self.pending_messages(turns, _shown(question), lang, staff), "", _hint_html(""), ticket

    def respond(self, ticket: str | None, turns: list[ChatTurn] | None, lang: str, report: str | None,
                staff: bool) -> Iterator[tuple]:
        """(chatbot, turns, source panel, raw JSON): the answer to the question in `ticket`."""
        lang = norm_lang(lang)
        turns = list(turns or [])
        question = parse_ticket(ticket)
        skip = gr.skip()
        if question is None:
            yield skip, skip, skip, skip
            return
        service = self.holder.service
        if service is None:
            turns.append(ChatTurn(next(_TICKETS), _shown(question), notice="not_ready"))
            yield self.messages(turns, lang, staff), turns, skip, skip
            return
        reports = None if not report or report == "*" else [report]
        answer: Answer | None = None
        note = None
        try:
            if streams_llm(service, getattr(self.settings, "mode", "extractive")):
                state: dict[str, Any] = {}
                yield from self._stream(service, question, turns, reports, lang, staff, state)
                answer, note = state.get("answer"), state.get("note")
            else:
                answer = service.ask(question, history_for(turns), reports=reports)
        except Exception:
            log.exception("answering %r failed", question[:200])
            answer = None
        if not isinstance(answer, Answer):
            turns.append(ChatTurn(next(_TICKETS), _shown(question), notice="error_service"))
            yield self.messages(turns[-MAX_TURNS:], lang, staff), turns[-MAX_TURNS:], skip, skip
            return
        try:
            turn = ChatTurn(next(_TICKETS), _shown(question), answer=answer, note=note,
                            followups=self.followups_for(answer))
            turns = [*turns, turn][-MAX_TURNS:]
            yield (self.messages(turns, lang, staff), turns, self.source_for_answer(answer, lang, staff),  # type: ignore[attr-defined]
                   self.answer_json_text(answer))
        except Exception:
            log.exception("showing the answer to %r failed", question[:200])
            turns.append(ChatTurn(next(_TICKETS), _shown(question), notice="error_service"))
            yield self.messages(turns[-MAX_TURNS:], lang, staff), turns[-MAX_TURNS:], skip, skip

    def _stream(self, service: Any, question: str, turns: list[ChatTurn], reports: list[str] | None, lang: str,
                staff: bool, state: dict[str, Any]) -> Iterator[tuple]:
        """LLM mode: the model's guarded text as it arrives; the final answer goes into `state`
        (with a note when it replaces text already shown). The service's stream is closed when
        the browser goes away mid-answer, which stops the model."""
        skip = gr.skip()
        shown = ""
        events = service.stream(question, history_for(turns), reports=reports)
        try:
            for event in events:
                kind = getattr(event, "kind", None)
                if kind == "final":
                    answer = getattr(event, "answer", None)
                    state["answer"] = answer
                    if (shown.strip() and getattr(event, "replaces", False) and isinstance(answer, Answer)
                            and answer.citations):
                        state["note"] = REPLACED_NOTE["en" if answer.lang == "en" else "no"]
                    return
                text = getattr(event, "text", "") if kind == "delta" else ""
                if isinstance(text, str) and text:
                    shown += text
                    if shown.strip():
                        msgs = self.pending_messages(turns, _shown(question), lang, staff)
                        msgs[-1] = {"role": "assistant", "content": render.streaming_html(shown)}
                        yield msgs, skip, skip, skip
                        if self.stream_delay_s:
                            time.sleep(self.stream_delay_s)
        finally:
            close = getattr(events, "close", None)
            if callable(close):
                close()

    def new_conversation(self, lang: str) -> tuple:
        lang = norm_lang(lang)
        empty = self.empty_source(lang)  # type: ignore[attr-defined]
        return [], [], "", _hint_html(""), empty, "", _status_html(""), gr.update(visible=False)

    def rerender(self, turns: list[ChatTurn] | None, lang: str, staff: bool) -> list[dict[str, Any]]:
        return self.messages(list(turns or []), norm_lang(lang), bool(staff))

    # ---------------------------------------------------------------- feedback

    def turn_for_message(self, turns: list[ChatTurn], index: Any) -> ChatTurn | None:
        if isinstance(index, list | tuple):
            index = index[0] if index else None
        if not isinstance(index, int):
            return None
        return next((x for x in turns if x.answer is not None and index in (x.msg_index, x.details_index)), None)

    def on_like(self, turns: list[ChatTurn] | None, lang: str, evt: gr.LikeData) -> tuple:
        """(status, turns, comment box): «Takk!» only once the vote is stored."""
        lang = norm_lang(lang)
        turns = list(turns or [])
        skip = gr.skip()
        turn = self.turn_for_message(turns, evt.index)
        if turn is None or turn.answer is None:
            return skip, skip, skip
        if not self.feedback_on or self.store is None:
            return _status_html(t("feedback_off", lang), "error"), skip, skip
        vote = vote_from_like(evt.liked)
        answer = turn.answer
        data = answer.to_json()
        try:
            if turn.feedback_id is None:
                turn.feedback_id = self.store.add(question=turn.question, answer=answer.answer,
                                                  citations=data["citations"], vote=vote, answer_json=data)
            else:
                self.store.set_vote(turn.feedback_id, vote)
        except (FeedbackError, OSError, ValueError) as exc:
            log.error("storing feedback failed: %s", exc)
            return _status_html(t("feedback_failed", lang), "error"), turns, gr.update(visible=False)
        turn.vote = vote
        if vote == "none":
            return _status_html(t("feedback_taken_back", lang)), turns, gr.update(visible=False)
        return _status_html(t("feedback_thanks", lang)), turns, gr.update(visible=True, value="")

    def on_comment(self, text: str, turns: list[ChatTurn] | None, lang: str) -> tuple:
        """(status, comment box): the comment is attached to the last stored vote."""
        lang = norm_lang(lang)
        voted = [x for x in (turns or []) if x.feedback_id is not None]
        if not voted:
            return _status_html(t("feedback_failed", lang), "error"), gr.skip()
        if not isinstance(text, str) or not text.strip():
            return _status_html(t("comment_empty", lang), "error"), gr.skip()
        try:
            self.store.add_comment(voted[-1].feedback_id, text)
        except (FeedbackError, OSError, ValueError) as exc:
            log.error("storing a feedback comment failed: %s", exc)
            return _status_html(t("feedback_failed", lang), "error"), gr.skip()
        return _status_html(t("comment_thanks", lang)), gr.update(visible=False, value="")

    # ---------------------------------------------------------------- shared with the other parts

    def answer_json_text(self, answer: Answer) -> str:
        import json

        from ui.api import public_json

        return json.dumps(public_json(answer.to_json(), self.settings), ensure_ascii=False, indent=2)

    def example_questions(self, lang: str) -> list[str]:  # overridden by RapportUI
        return []


def _shown(question: str) -> str:
    """The question as the chat shows it: control characters out, at most a screenful."""
    text = "".join(" " if (ord(ch) < 32 and ch not in "\n\t") or ch == "\x7f" else ch for ch in question)
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUESTION_CHARS else text[: MAX_QUESTION_CHARS - 1] + "…"


def _hint_html(message: str) -> str:
    return f'<p class="hint" role="status">{render.esc(message)}</p>' if message else ""


def _status_html(message: str, kind: str = "ok") -> str:
    if not message:
        return ""
    return f'<p class="status-{kind}" role="status">{render.esc(redact(message))}</p>'


__all__ = ["ChatPart", "ChatTurn", "history_for", "parse_ticket", "streams_llm", "replace", "field"]
