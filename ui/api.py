"""The `/ask` API: one string in, Answer.to_json() out, never a traceback, never a path or URL.

`answer_json(holder, question, settings)` is what `/ask` returns: the answer as JSON with its
trace redacted (no URLs, credentials or paths: a trace may name the Chroma server), or, for
bad input, a service that is not ready, or a failure, the same fields with `abstained: true`
and an `error` message. Full details go to the server log only.
"""

from __future__ import annotations

import logging
from typing import Any

from rag.messages import t as engine_t
from rag.records import Answer
from ui.i18n import t
from ui.redact import redact, redact_json

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
_FREE_TEXT = ("trace", "error")  # the answer and details quote the report: shown as printed


def secrets_of(settings: Any) -> tuple[str, ...]:
    """The configured secrets (login password, LLM API key): never shown, never logged."""
    return tuple(s for s in (getattr(settings, "auth_password", None), getattr(settings, "llm_api_key", None)) if s)


def public_json(data: dict[str, Any], settings: Any = None) -> dict[str, Any]:
    """An answer's JSON fit for a user: the trace and any error without URLs, credentials or
    file paths. The answer and its details quote the report and are left as printed."""
    out = dict(data)
    secrets = secrets_of(settings)
    for key in _FREE_TEXT:
        if key in out and out[key] is not None:
            out[key] = redact_json(out[key], secrets)
    return out


def error_json(question: object, message: str, settings: Any = None, lang: str = "en") -> dict[str, Any]:
    """The `/ask` reply for a question that was not answered: Answer.to_json()'s fields
    (abstained, no citations) plus `error`."""
    q = question if isinstance(question, str) else ""
    text = redact(message, secrets_of(settings))
    return {
        "question": q[:MAX_QUESTION_CHARS],
        "answer": text,
        "abstained": True,
        "value": None,
        "unit": None,
        "citations": [],
        "lang": lang,
        "mode": getattr(settings, "mode", "extractive") if settings is not None else "extractive",
        "latency_ms": 0.0,
        "value_raw": None,
        "alternatives": [],
        "confidence": None,
        "report": None,
        "details": [],
        "kind": None,
        "trace": [],
        "error": text,
    }


def _lang(question: str) -> str:
    """The question's language ("no" for an empty one), as the engine would answer in it."""
    from rag.text import detect_language

    return detect_language(question[:MAX_QUESTION_CHARS]) if question else "no"


def busy_json(question: object, settings: Any = None) -> dict[str, Any]:
    """The reply when the queue is full: the engine's «busy» sentence in the question's language."""
    q = question if isinstance(question, str) else ""
    lang = _lang(q)
    out = error_json(q, engine_t(lang, "busy"), settings, lang)
    out["busy"] = True
    return out


def answer_json(holder: Any, question: object, settings: Any = None) -> dict[str, Any]:
    """What `/ask` returns for `question`; never raises."""
    if not isinstance(question, str):
        return error_json(question, engine_t("en", "binary"), settings)
    service = getattr(holder, "service", holder)
    lang = _lang(question)  # messages in the question's language, as answers are
    if service is None:
        return error_json(question, t("not_ready", lang), settings, lang)
    try:
        answer = service.ask(question)
    except Exception as exc:
        log.exception("answering %r failed: %s", question[:200], type(exc).__name__)
        return error_json(question, t("error_service", lang), settings, lang)
    if not isinstance(answer, Answer):
        log.error("the service returned %s, not an Answer", type(answer).__name__)
        return error_json(question, t("error_service", lang), settings, lang)
    return public_json(answer.to_json(), settings)
