"""Serving: the first start, the server's guard (login rate limit, no uploads, short refusals, a
clear «busy»), logging without secrets, and `rapport serve`.

`serve(settings)` never deletes or overwrites an index someone built. On an empty data dir it
puts the page up at once and builds the bundled report's index in the background (the page
shows the progress and opens the chat when it is done); otherwise it opens the index with
`build_service(settings, ingest_missing=True)` and stops with the service's own message when
that fails (a stale index, a store that does not answer).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from rag.messages import t as engine_t
from ui.api import secrets_of
from ui.assets import CSS, page_js, theme
from ui.memory import limit_malloc_arenas
from ui.redact import install_log_filter, redact

log = logging.getLogger("rapport.serve")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOGIN_MAX_FAILURES = 5  # per client address ...
LOGIN_WINDOW_S = 300.0  # ... within this many seconds; then 429 until the window passes
_REFUSED = {401, 403, 404, 405, 429}
_SHORT_BODY = 300


def auth_pair(settings: Any) -> tuple[str, str] | None:
    """(user, password) when both are set; ValueError when only one is."""
    user, password = settings.auth_user, settings.auth_password
    if user and password:
        return user, password
    if user or password:
        raise ValueError("Set both RAPPORT_AUTH_USER and RAPPORT_AUTH_PASSWORD to turn on login (or neither).")
    return None


def is_exposed(host: str) -> bool:
    """True when binding to `host` makes the app reachable from other machines."""
    if host in _LOOPBACK:
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: assume it is reachable


# ---------------------------------------------------------------- the guard


class LoginLimiter:
    """Failed logins per client address in a sliding window."""

    def __init__(self, max_failures: int = LOGIN_MAX_FAILURES, window_s: float = LOGIN_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, who: str, now: float) -> list[float]:
        times = [x for x in self._failures.get(who, []) if now - x < self.window_s]
        if times:
            self._failures[who] = times
        else:
            self._failures.pop(who, None)
        return times

    def retry_after(self, who: str) -> int | None:
        """Seconds until `who` may try again, or None when it may now."""
        with self._lock:
            now = self.clock()
            times = self._recent(who, now)
            if len(times) < self.max_failures:
                return None
            return max(1, int(self.window_s - (now - times[-self.max_failures])) + 1)

    def failed(self, who: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent(who, now)
            self._failures.setdefault(who, []).append(now)
            if len(self._failures) > 10_000:  # a flood of addresses must not grow memory for ever
                oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])[:5_000]
                for k in oldest:
                    self._failures.pop(k, None)

    def succeeded(self, who: str) -> None:
        with self._lock:
            self._failures.pop(who, None)


def _busy_detail() -> str:
    return f"{engine_t('no', 'busy')} / {engine_t('en', 'busy')}"


class Guard:
    """ASGI middleware in front of Gradio.

    * POST /login: after LOGIN_MAX_FAILURES failures from one address within LOGIN_WINDOW_S,
      429 with Retry-After until the window passes.
    * Uploads: refused (404) when the app takes no files.
    * A refused request (401, 403, 404, 405, 429) gets a short body and one log line.
    * A full queue (Gradio's 503 "Queue is full") gets the engine's «busy» sentence.
    * A 500 never carries details.
    """

    def __init__(self, app: Any, *, uploads: bool = False, limiter: LoginLimiter | None = None) -> None:
        self.app = app
        self.uploads = uploads
        self.limiter = limiter or LoginLimiter()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        method = str(scope.get("method", "GET"))
        client = (scope.get("client") or ("?", 0))[0]
        last = path.rstrip("/").rsplit("/", 1)[-1]
        if not self.uploads and last in ("upload", "upload_progress"):
            self._log(method, path, 404, client)  # before the reply: a client that has it can find the line
            await self._short(send, 404, {"detail": "Not Found"})
            return
        is_login = method == "POST" and path.rstrip("/").endswith("/login")
        if is_login:
            wait = self.limiter.retry_after(client)
            if wait is not None:
                self._log(method, path, 429, client)
                await self._short(send, 429, {"detail": f"Too many failed logins; try again in {wait} s."},
                                  [(b"retry-after", str(wait).encode())])
                return

        state: dict[str, Any] = {"status": 0, "start": None, "body": b"", "hold": False}

        async def guarded_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                state["status"] = status
                if is_login:
                    (self.limiter.succeeded if status < 400 else self.limiter.failed)(client)
                if status in _REFUSED or status in (500, 503):
                    state["start"], state["hold"] = message, True
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and state["hold"]:
                state["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                await self._finish(send, state["start"], state["body"], method, path, client)
                state["hold"] = False
                return
            await send(message)

        await self.app(scope, receive, guarded_send)

    async def _finish(self, send: Callable, start: dict, body: bytes, method: str, path: str, client: str) -> None:
        status = int(start["status"])
        extra: list[tuple[bytes, bytes]] = []
        if status == 503 and b"queue is full" in body.lower():
            body = json.dumps({"detail": _busy_detail(), "error": "busy"}, ensure_ascii=False).encode()
            extra.append((b"retry-after", b"5"))
            log.warning("busy: %s %s from %s (queue full)", method, path[:200], client)
        elif status == 500:
            body = b'{"detail":"Internal Server Error"}'
            log.error("error: %s %s from %s answered 500", method, path[:200], client)
        elif status in _REFUSED:
            if len(body) > _SHORT_BODY or b"Traceback" in body or b'File "' in body:
                body = json.dumps({"detail": _PHRASES.get(status, "Refused")}).encode()
            self._log(method, path, status, client)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length",)]
        if extra or status == 500 or status == 503:
            headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
            headers.append((b"content-type", b"application/json"))
        headers.extend(extra)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _short(self, send: Callable, status: int, payload: dict, headers: list | None = None) -> None:
        body = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                *(headers or [])]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _log(method: str, path: str, status: int, client: str) -> None:
        log.info("refused: %s %s -> %d from %s", method, redact(path[:200]), status, client)


_PHRASES = {401: "Not authenticated", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            429: "Too Many Requests"}


# ---------------------------------------------------------------- launching


async def _invalid_request(request: Any, exc: Exception) -> Any:
    """422 for a request FastAPI could not validate, naming only where and what failed (FastAPI's
    own handler echoes the body and fails with a 500 on bytes that are not UTF-8)."""
    from fastapi.responses import JSONResponse

    errors = getattr(exc, "errors", list)()
    detail = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors]
    return JSONResponse({"detail": detail}, status_code=422)


def launch(demo: gr.Blocks, settings: Any, *, prevent_thread_lock: bool = False, quiet: bool = False,
           uploads: bool = False, limiter: LoginLimiter | None = None) -> tuple[Any, str, str]:
    """Start the server for `demo` with the page's CSS and script, login, the guard and no
    Gradio footer. Returns Gradio's (app, local_url, share_url)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.middleware import Middleware

    auth = auth_pair(settings)
    # Notice a client that left within ~2 s (Gradio then drops its queued events) instead of 15 s.
    os.environ.setdefault("GRADIO_HEARTBEAT_INTERVAL", "2")
    app_kwargs = {
        "exception_handlers": {RequestValidationError: _invalid_request},
        "middleware": [Middleware(Guard, uploads=uploads, limiter=limiter or LoginLimiter())],
    }
    result = demo.launch(
        app_kwargs=app_kwargs,
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        auth_message="Logg inn / Log in" if auth else None,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        show_error=False,
        share=False,
        head=f"<style>{CSS}</style>",  # in <head>, not css=: Gradio would prefix every selector with its container
        js=page_js(),
        theme=theme(),
        footer_links=[],
        run_history=False,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        max_file_size="1mb",
        state_session_capacity=max(10, int(getattr(settings, "session_capacity", STATE_SESSIONS))),
    )
    _filter_all_handlers(secrets_of(settings))
    return result


# Sessions whose state Gradio keeps (least recently used are dropped). Gradio copies every
# component's config (~80 KB for this app) into each session, including every API client and
# every REST call: its default of 10 000 sessions lets memory grow by ~800 MB.
STATE_SESSIONS = 2000


def _filter_all_handlers(secrets: tuple[str, ...]) -> None:
    loggers = [logging.getLogger(), *(x for x in logging.Logger.manager.loggerDict.values() if isinstance(x, logging.Logger))]
    for lg in loggers:
        if lg.handlers:
            install_log_filter(secrets, lg)


def configure_logging(settings: Any) -> None:
    """Log lines to stderr at INFO, with secrets removed from every record."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "chromadb", "urllib3", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _filter_all_handlers(secrets_of(settings))


def first_start(settings: Any) -> bool:
    """True when there is no index yet: a local data dir without a store (a Chroma server is
    never assumed empty)."""
    if settings.chroma_url:
        return False
    store = Path(settings.data_dir) / "chroma"
    return not store.exists() or (store.is_dir() and not any(store.iterdir()))


def prepare(settings: Any, echo: Callable[[str], Any] = print) -> gr.Blocks:
    """Everything `rapport serve` does before it launches: warn about exposure, open the index (or,
    on an empty data dir, start building it in the background), build the app."""
    import click

    from rag.service import ServiceError, build_service
    from ui.app import create_app
    from ui.holder import ServiceHolder

    try:
        auth = auth_pair(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if is_exposed(settings.host):
        echo(f"WARNING: --host {settings.host} exposes the app to the network: anyone who can reach port "
             f"{settings.port} can use it."
             + ("" if auth else " Set RAPPORT_AUTH_USER and RAPPORT_AUTH_PASSWORD to require a login."))
    configure_logging(settings)
    limit_malloc_arenas()
    holder = ServiceHolder()
    url = serving_url(settings)
    if first_start(settings):
        echo(f"No index in {settings.data_dir} yet: building it from the bundled report now. "
             f"The page is up at {url} and shows the progress; the chat opens when the index is ready.")

        def build(progress: Callable[[int, int], None]) -> Any:
            return build_service(settings, ingest_missing=True, progress=progress)

        def failed(exc: BaseException) -> str:
            echo(f"Error: {exc}")
            return redact(str(exc))

        holder.on_ready(lambda _service: echo(f"Index ready; the chat is open at {url}."))
        holder.start(build, failed)
    else:
        try:
            holder.set_ready(build_service(settings, ingest_missing=True))
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from None
    return create_app(holder, settings)


def serving_url(settings: Any) -> str:
    shown_host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    return f"http://{shown_host}:{settings.port}"


def serve(settings: Any, echo: Callable[[str], Any] = print) -> None:
    """`rapport serve`: `prepare`, then launch (blocks until Ctrl+C)."""
    from ui.startup import startup_gc

    with startup_gc():
        demo = prepare(settings, echo)
    echo(f"Serving on {serving_url(settings)} (Ctrl+C to stop)" + (" with login" if auth_pair(settings) else ""))
    launch(demo, settings, quiet=True)
