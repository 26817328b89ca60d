"""The source panel's handlers: a chip of any answer (not only the latest) opens its source beside
the answer (on a phone: over it); a chip that asks a question asks it.

Chip clicks arrive through a hidden textbox (the «bus», see ui/assets.py) as
"src-<turn id>-<citation>|<nonce>" or "ask|<question>|<nonce>".
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from rag.records import Answer
from ui.i18n import norm_lang, t
from ui.source_view import render_notice_html, render_source_html

log = logging.getLogger(__name__)


def parse_bus(value: object) -> tuple[str, str] | None:
    """("src", "<turn>-<n>") or ("ask", question) from a bus value; None for anything else."""
    if not isinstance(value, str) or "|" not in value:
        return None
    body = value.rsplit("|", 1)[0]  # drop the nonce
    if body.startswith("ask|"):
        question = body[4:].strip()
        return ("ask", question) if question else None
    if body.startswith("src-"):
        return "src", body[4:]
    return None


class SourcesPart:
    """Mixin of RapportUI (ui/app.py): the source panel."""

    holder: Any

    def empty_source(self, lang: str) -> str:
        return render_notice_html(t("source_empty", lang))

    def show_citation(self, answer: Answer, index: int, lang: str, staff: bool) -> str:
        if not 0 <= index < len(answer.citations):
            return render_notice_html(t("source_missing", lang))
        citation = answer.citations[index]
        report = self.report_of(citation.report)  # type: ignore[attr-defined]
        try:
            return render_source_html(report, citation, lang, staff)
        except Exception:
            log.exception("rendering the source of %r failed", answer.question[:200])
            return render_notice_html(t("source_missing", lang))

    def source_for_answer(self, answer: Answer, lang: str, staff: bool) -> str:
        """The panel beside a new answer: its first source with the cell marked; for an answer
        without sources (an abstention) a notice, so no earlier cell stays outlined."""
        if answer.abstained or not answer.citations:
            return render_notice_html(t("source_none_for_answer", lang))
        return self.show_citation(answer, 0, lang, staff)

    def on_bus(self, value: str, turns: list | None, lang: str, staff: bool) -> tuple:
        """(chatbot, question box, hint, ticket, source panel, raw JSON) for a chip click."""
        lang = norm_lang(lang)
        skip = gr.skip()
        parsed = parse_bus(value)
        if parsed is None:
            return skip, skip, skip, skip, skip, skip
        what, arg = parsed
        if what == "ask":
            chatbot, box, hint, ticket = self.admit(arg, turns, lang, staff)  # type: ignore[attr-defined]
            return chatbot, box, hint, ticket, skip, skip
        try:
            turn_id, index = (int(x) for x in arg.split("-", 1))
        except ValueError:
            return skip, skip, skip, skip, skip, skip
        turn = next((x for x in (turns or []) if x.id == turn_id and x.answer is not None), None)
        if turn is None:
            return skip, skip, skip, skip, render_notice_html(t("source_missing", lang)), skip
        return (skip, skip, skip, skip, self.show_citation(turn.answer, index, lang, bool(staff)),
                self.answer_json_text(turn.answer))  # type: ignore[attr-defined]
