"""The app's `/ask` API as the load driver sees it: a gradio_client session, the parts of a reply
that must not depend on load, and the «busy» reply of a full queue. Used by eval/loadtest.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

DEFAULT_REQUEST_TIMEOUT_S = 60.0

AskFn = Callable[[str], Any]


def comparable(data: Any) -> dict[str, Any]:
    """The parts of an `/ask` reply that must not depend on load: answer text, value, unit,
    abstention and first citation (latency and trace may differ)."""
    if not isinstance(data, dict):
        return {"not_a_dict": repr(data)[:200]}
    cites = data.get("citations") or []
    return {
        "answer": data.get("answer"),
        "value": data.get("value"),
        "value_raw": data.get("value_raw"),
        "unit": data.get("unit"),
        "abstained": data.get("abstained"),
        "first_citation": cites[0] if cites else None,
        "error": data.get("error"),
    }


def is_busy(data: Any = None, exc: BaseException | None = None) -> bool:
    """A «busy» reply: the app's answer when its queue is full (a 503 with the busy sentence)."""
    if isinstance(data, dict) and data.get("busy"):
        return True
    text = f"{exc}" if exc is not None else ""
    return "503" in text or "Queue is full" in text or "try again in a moment" in text


def gradio_session(url: str, auth: tuple[str, str] | None = None,
                   request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S) -> tuple[AskFn, Callable[[], Any]]:
    """A new gradio_client session on `url`: returns (ask, close); ask(question) -> reply dict."""
    # gradio_client's telemetry would try to reach the internet; it only honours the env switch.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    client = Client(url, auth=auth, verbose=False, max_workers=2, download_files=False, analytics_enabled=False,
                    httpx_kwargs={"timeout": request_timeout_s})

    def ask(question: str) -> Any:
        return client.submit(question, api_name="/ask").result(timeout=request_timeout_s)

    return ask, client.close
