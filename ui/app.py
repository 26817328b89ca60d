"""The browser app: `RapportUI` builds the Gradio Blocks; its methods are the event handlers (the
chat in ui/chat.py, the source panel in ui/sources.py, the staff lookup in ui/lookup.py); the
`/ask` API is ui/api.py and serving is ui/launch.py.

`create_app(service, settings)` builds the app around a ready service (or a ServiceHolder whose
service is still being built) without launching anything, so tests call the handlers directly.
Titles, examples and report names come from the reports' metadata.

This module has no `from __future__ import annotations`: Gradio reads the handlers' type hints
(gr.LikeData, the `/ask` signature) at runtime.
"""

import logging
from typing import Any

import gradio as gr

from ui import api
from ui.assets import BUS_ID
from ui.chat import ChatPart
from ui.feedback import FeedbackStore
from ui.holder import ServiceHolder
from ui.i18n import ALL_REPORTS, LANG_CHOICES, html_lang, norm_lang, t
from ui.launch import auth_pair, is_exposed, launch, serve
from ui.lookup import LookupPart, report_title
from ui.render import esc
from ui.sources import SourcesPart

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.sqlite3"
EXAMPLES = 3  # example questions shown in an empty chat
_SET_LANG_JS = "(lang) => { document.documentElement.lang = (lang === 'en') ? 'en' : 'nb'; }"


class RapportUI(ChatPart, SourcesPart, LookupPart):
    """The app: components are built by `build`, handlers are methods."""

    def __init__(self, service: Any, settings: Any, *, stream_delay_s: float = 0.0,
                 feedback_store: FeedbackStore | None = None) -> None:
        self.holder = service if isinstance(service, ServiceHolder) else ServiceHolder(service)
        self.settings = settings
        self.stream_delay_s = stream_delay_s
        self.queue_size = max(1, int(getattr(settings, "queue_size", 64)))
        self.store = feedback_store or FeedbackStore(settings.data_dir / FEEDBACK_FILE)
        self.feedback_on = self.store.writable()
        if not self.feedback_on:
            log.warning("feedback is off: %s is not writable", self.store.path)
        self._examples: dict[str, list[str]] = {}
        self.demo: gr.Blocks | None = None

    # ---------------------------------------------------------------- reports' metadata

    def title(self, lang: str) -> str:
        reports = self.reports()
        if len(reports) == 1:
            return f"{t('app_title', lang)}: {_report_name(reports[0])}"
        return t("app_title_many", lang) if reports else t("app_title", lang)

    def intro(self, lang: str) -> str:
        names = [_report_name(r) for r in self.reports()]
        return t("intro", lang, reports=", ".join(names)) if names else t("intro_none", lang)

    def picker_choices(self, lang: str) -> list[tuple[str, str]]:
        return [(t("all_reports", lang), ALL_REPORTS), *self.report_choices()]

    def example_questions(self, lang: str) -> list[str]:
        """Questions built from the newest report's own tables (row labels in a column of the
        report's year) that the service answers without doubt; computed once per language."""
        lang = norm_lang(lang)
        if lang in self._examples or not self.holder.ready:
            return self._examples.get(lang, [])
        found: list[str] = []
        try:
            for question in _example_candidates(self.reports(), self.report_of, lang):
                answer = self.holder.service.ask(question)
                if not answer.abstained and not answer.alternatives and answer.citations:
                    found.append(question)
                if len(found) >= EXAMPLES:
                    break
        except Exception:
            log.exception("finding example questions failed")
        self._examples[lang] = found
        return found

    # ---------------------------------------------------------------- page state

    def build_status_html(self, lang: str) -> str:
        state = self.holder.state()
        if state.status == "ready":
            return ""
        if state.status == "failed":
            msg = t("build_failed", lang, message=state.message or "")
            return f'<div class="build-box failed" role="alert"><p>{esc(msg)}</p></div>'
        detail = (t("building_detail", lang, done=state.done, total=state.total, percent=state.percent)
                  if state.total else t("building_start", lang))
        bar = (f'<progress max="{state.total}" value="{state.done}" aria-label="{esc(t("building", lang))}"></progress>'
               if state.total else f'<progress aria-label="{esc(t("building", lang))}"></progress>')
        return (f'<div class="build-box" role="status"><p><strong>{esc(t("building", lang))}</strong></p>{bar}'
                f"<p>{esc(detail)}</p></div>")

    def page_state(self, lang: str, query: str = "") -> tuple:
        """What depends on whether the service is ready: (build status, timer, title, intro,
        question box, send, chatbot examples, report picker, lookup report, lookup outputs…)."""
        lang = norm_lang(lang)
        ready = self.holder.ready
        examples = [{"text": q} for q in self.example_questions(lang)] if ready else []
        choices = self.picker_choices(lang)
        lookup_choices = self.report_choices()
        first = lookup_choices[0][1] if lookup_choices else None
        return (
            self.build_status_html(lang),
            gr.Timer(active=self.holder.state().status in ("starting", "building")),
            f"# {esc(self.title(lang))}",
            esc(self.intro(lang)),
            gr.update(interactive=ready),
            gr.update(interactive=ready),
            gr.update(examples=examples or None),
            gr.update(choices=choices, value=ALL_REPORTS),
            gr.update(choices=lookup_choices, value=first),
            *self.lookup_report(first, query, lang),
        )

    def on_tick(self, lang: str, query: str) -> tuple:
        return self.page_state(lang, query)

    def feedback_notice(self, lang: str) -> str:
        return "" if self.feedback_on else f'<p class="status-error" role="status">{esc(t("feedback_off", lang))}</p>'

    # ---------------------------------------------------------------- language and view

    def switch_language(self, lang: str, turns: list | None, staff: bool, report: str | None,
                        lookup_report: str | None, lookup_table: str | None, lookup_row: str | None,
                        lookup_col: str | None, query: str) -> tuple:
        """Every label in the new language, and the conversation rendered again."""
        lang = norm_lang(lang)
        messages = self.messages(list(turns or []), lang, bool(staff))
        examples = [{"text": q} for q in self.example_questions(lang)] if self.holder.ready else []
        copy, chart, view = self.lookup_cell(lookup_report, lookup_table, lookup_row, lookup_col, lang)
        copy_update = (gr.update(label=t("lookup_copy_label", lang)) if not isinstance(copy, str)
                       else gr.update(label=t("lookup_copy_label", lang), value=copy))
        return (
            f"# {esc(self.title(lang))}",
            esc(self.intro(lang)),
            gr.update(label=t("tab_chat", lang)),
            gr.update(label=t("tab_lookup", lang)),
            gr.update(label=t("chatbot_label", lang), value=messages, examples=examples or None),
            gr.update(label=t("question_label", lang), placeholder=t("question_placeholder", lang)),
            gr.update(value=t("send", lang)),
            gr.update(value=t("new_chat", lang)),
            gr.update(label=t("staff_view", lang)),
            gr.update(label=t("report_label", lang), choices=self.picker_choices(lang),
                      value=report if report else ALL_REPORTS),
            self.empty_source(lang),
            gr.update(label=t("raw_label", lang)),
            gr.update(label=t("comment_label", lang)),
            gr.update(value=t("comment_send", lang)),
            self.build_status_html(lang),
            self.feedback_notice(lang),
            "",
            t("lookup_intro", lang),
            gr.update(label=t("report_label", lang)),
            gr.update(label=t("lookup_search_label", lang), placeholder=t("lookup_search_placeholder", lang)),
            gr.update(label=t("lookup_table_label", lang)),
            gr.update(label=t("lookup_row_label", lang)),
            gr.update(label=t("lookup_column_label", lang)),
            copy_update,
            chart,
            view,
        )

    def toggle_staff(self, staff: bool, turns: list | None, lang: str) -> tuple:
        return self.messages(list(turns or []), norm_lang(lang), bool(staff)), gr.update(visible=bool(staff))

    def use_example(self, evt: gr.SelectData) -> str:
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value or "")

    # ---------------------------------------------------------------- the API

    def ask(self, question: str) -> dict:
        """Answer a question about the loaded annual reports. Returns the answer as JSON
        (question, answer, abstained, value, value_raw, unit, citations, alternatives,
        confidence, details, lang, mode, latency_ms, trace); bad input, a service that is not
        ready or a failure gives abstained=true and an `error` message."""
        return api.answer_json(self.holder, question, self.settings)

    # ---------------------------------------------------------------- building

    def build(self) -> gr.Blocks:
        lang0 = "no"
        building = not self.holder.ready
        with gr.Blocks(title=t("app_title", lang0), analytics_enabled=False, fill_width=True) as demo:
            with gr.Row(equal_height=False, elem_id="app-head"):
                with gr.Column(scale=4, min_width=300):
                    title_md = gr.Markdown(f"# {esc(self.title(lang0))}", elem_id="app-title")
                    intro_md = gr.Markdown(esc(self.intro(lang0)), elem_id="intro")
                lang = gr.Radio(choices=LANG_CHOICES, value=lang0, label=t("lang_label", lang0), elem_id="lang",
                                scale=1, min_width=220)
                report = gr.Dropdown(choices=self.picker_choices(lang0), value=ALL_REPORTS, scale=1, min_width=220,
                                     label=t("report_label", lang0), elem_id="report-pick", interactive=True)
            build_status = gr.HTML(self.build_status_html(lang0), elem_id="build-status")
            timer = gr.Timer(1.0, active=building)
            turns = gr.State([])
            bus = gr.Textbox(visible="hidden", elem_id=BUS_ID, label="events")
            ticket = gr.Textbox(visible="hidden", elem_id="rapport-ticket", label="ticket")

            with gr.Tabs():
                with gr.Tab(t("tab_chat", lang0), id="chat-tab") as chat_tab, gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        chatbot = gr.Chatbot(
                            label=t("chatbot_label", lang0), show_label=False, elem_id="chat", height=560,
                            examples=[{"text": q} for q in self.example_questions(lang0)] or None,
                            buttons=["copy"], latex_delimiters=[], group_consecutive_messages=False,
                            feedback_options=("Like", "Dislike") if self.feedback_on else None, autoscroll=True,
                        )
                        question = gr.Textbox(
                            label=t("question_label", lang0), placeholder=t("question_placeholder", lang0), lines=1,
                            max_lines=4, elem_id="question", autofocus=True, interactive=not building,
                        )
                        hint = gr.HTML("", elem_id="ask-hint")
                        with gr.Row():
                            send = gr.Button(t("send", lang0), variant="primary", elem_id="send", min_width=120,
                                             interactive=not building)
                            new_chat = gr.Button(t("new_chat", lang0), elem_id="new-chat", min_width=120)
                        feedback_status = gr.HTML(self.feedback_notice(lang0), elem_id="feedback-status")
                        with gr.Row(visible=False) as comment_row:
                            comment = gr.Textbox(label=t("comment_label", lang0), lines=2, max_lines=6,
                                                 elem_id="comment", scale=4)
                            comment_send = gr.Button(t("comment_send", lang0), elem_id="comment-send", scale=1)
                        staff = gr.Checkbox(value=False, label=t("staff_view", lang0), elem_id="staff")
                        raw_json = gr.Textbox(value="", label=t("raw_label", lang0), interactive=False, lines=8,
                                              max_lines=24, buttons=["copy"], visible=False, elem_id="raw-json")
                    with gr.Column(scale=2, min_width=320, elem_id="source-col"):
                        source_html = gr.HTML(self.empty_source(lang0), elem_id="source")

                with gr.Tab(t("tab_lookup", lang0), id="lookup-tab") as lookup_tab:
                    lookup_md = gr.Markdown(t("lookup_intro", lang0))
                    with gr.Row():
                        lookup_report = gr.Dropdown(choices=self.report_choices(), label=t("report_label", lang0),
                                                    elem_id="lookup-report")
                        lookup_query = gr.Textbox(label=t("lookup_search_label", lang0),
                                                  placeholder=t("lookup_search_placeholder", lang0),
                                                  elem_id="lookup-query")
                        lookup_table = gr.Dropdown(choices=[], label=t("lookup_table_label", lang0),
                                                   elem_id="lookup-table", filterable=True)
                    with gr.Row():
                        lookup_row = gr.Dropdown(choices=[], label=t("lookup_row_label", lang0), elem_id="lookup-row")
                        lookup_col = gr.Dropdown(choices=[], label=t("lookup_column_label", lang0), elem_id="lookup-col")
                    lookup_copy = gr.Textbox(label=t("lookup_copy_label", lang0), interactive=False, buttons=["copy"],
                                             elem_id="lookup-copy")
                    lookup_chart = gr.HTML("", elem_id="lookup-chart")
                    lookup_html = gr.HTML("", elem_id="lookup-view")

            # ------------------------------------------------------------ chat
            private: dict[str, Any] = {"api_visibility": "private"}
            answer_queue = {"concurrency_id": "answer", "concurrency_limit": max(1, self.settings.concurrency_limit)}
            admit_out = [chatbot, question, hint, ticket]
            gr.on([question.submit, send.click], self.admit, [question, turns, lang, staff], admit_out,
                  queue=False, **private)
            chatbot.example_select(self.use_example, None, question, queue=False, **private).then(
                self.admit, [question, turns, lang, staff], admit_out, queue=False, **private)
            ticket.change(self.respond, [ticket, turns, lang, report, staff], [chatbot, turns, source_html, raw_json],
                          show_progress="hidden", **answer_queue, **private)
            bus.change(self.on_bus, [bus, turns, lang, staff], [*admit_out, source_html, raw_json], queue=False, **private)
            reset_out = [chatbot, turns, question, hint, source_html, raw_json, feedback_status, comment_row]
            new_chat.click(self.new_conversation, [lang], reset_out, queue=False, **private)
            chatbot.clear(self.new_conversation, [lang], reset_out, queue=False, **private)
            chatbot.like(self.on_like, [turns, lang], [feedback_status, turns, comment_row], queue=False, **private)
            comment_send.click(self.on_comment, [comment, turns, lang], [feedback_status, comment_row], queue=False,
                               **private)
            comment.submit(self.on_comment, [comment, turns, lang], [feedback_status, comment_row], queue=False,
                           **private)
            staff.change(self.toggle_staff, [staff, turns, lang], [chatbot, raw_json], queue=False, **private)

            # ------------------------------------------------------------ lookup
            lookup_outputs = [lookup_table, lookup_row, lookup_col, lookup_copy, lookup_chart, lookup_html]
            lookup_report.input(self.lookup_report, [lookup_report, lookup_query, lang], lookup_outputs, queue=False,
                                **private)
            gr.on([lookup_query.input, lookup_query.submit], self.lookup_search, [lookup_query, lookup_report, lang],
                  lookup_outputs, queue=False, **private)
            lookup_table.input(self.lookup_table, [lookup_report, lookup_table, lang], lookup_outputs[1:], queue=False,
                               **private)
            gr.on([lookup_row.input, lookup_col.input], self.lookup_cell,
                  [lookup_report, lookup_table, lookup_row, lookup_col, lang], [lookup_copy, lookup_chart, lookup_html],
                  queue=False, **private)

            # ------------------------------------------------------------ page state and language
            state_out = [build_status, timer, title_md, intro_md, question, send, chatbot, report, lookup_report,
                         *lookup_outputs]
            timer.tick(self.on_tick, [lang, lookup_query], state_out, queue=False, **private)
            demo.load(self.on_tick, [lang, lookup_query], state_out, queue=False, **private).then(
                None, [lang], None, js=_SET_LANG_JS)
            lang.change(
                self.switch_language,
                [lang, turns, staff, report, lookup_report, lookup_table, lookup_row, lookup_col, lookup_query],
                [title_md, intro_md, chat_tab, lookup_tab, chatbot, question, send, new_chat, staff, report,
                 source_html, raw_json, comment, comment_send, build_status, feedback_status, hint, lookup_md,
                 lookup_report, lookup_query, lookup_table, lookup_row, lookup_col, lookup_copy, lookup_chart,
                 lookup_html],
                queue=False, **private,
            ).then(None, [lang], None, js=_SET_LANG_JS)

            # ------------------------------------------------------------ API
            gr.api(self.ask, api_name="ask", **answer_queue)

        demo.queue(default_concurrency_limit=max(1, self.settings.concurrency_limit), max_size=self.queue_size)
        self.demo = demo
        return demo


def _report_name(info: Any) -> str:
    muni = getattr(info, "municipality", None)
    title = getattr(info, "title", "") or getattr(info, "id", "")
    if muni and muni.split()[0].casefold() not in title.casefold():
        return f"{title}, {muni}"
    return title


def _example_candidates(reports: tuple[Any, ...], report_of: Any, lang: str) -> list[str]:
    """Questions about rows of the newest report's tables, in a column of the report's year."""
    import re

    if not reports:
        return []
    info = max(reports, key=lambda r: r.year or 0)
    report = report_of(info.id)
    if report is None or not info.year:
        return []
    year = str(info.year)
    several = len(reports) > 1
    out: list[str] = []
    for table in report.tables:
        col = next((c for c in table.columns if re.fullmatch(rf"(?i)(?:regnskap\s+|accounts\s+)?{year}", c.strip())),
                   None)
        if col is None or table.cite_number is None:
            continue
        for row in table.rows:
            cell = row.cell(col)
            label = row.label.strip()
            if cell is None or cell.value is None or not re.fullmatch(r"[^\W\d_][^\d()]{2,38}", label):
                continue
            shown = label[0].lower() + label[1:] if lang == "no" and label[1:2].islower() else label
            question = t("example_q", lang, label=shown, year=year)
            if several:
                question = question.rstrip("?") + f" ({report_title(report)})?"
            out.append(question)
            break
        if len(out) >= 3 * EXAMPLES:
            break
    return out


def create_app(service: Any, settings: Any, *, stream_delay_s: float = 0.0) -> gr.Blocks:
    """Build the Blocks app around `service` (or a ServiceHolder); nothing is launched."""
    return RapportUI(service, settings, stream_delay_s=stream_delay_s).build()


__all__ = ["RapportUI", "create_app", "launch", "serve", "auth_pair", "is_exposed", "html_lang", "FEEDBACK_FILE"]
