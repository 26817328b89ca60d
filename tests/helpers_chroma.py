"""Start and stop a real Chroma server (`chroma run`) for tests.

``ChromaServer(path).start()`` runs ``chroma run --path PATH --host 127.0.0.1 --port N`` as a
child process, waits until ``GET /api/v2/heartbeat`` answers and gives its URL. ``stop()`` ends
exactly that process (by its pid, never by name); ``start()`` again reuses the same path and
port, so a test can stop a server mid-session and bring the same index back.

Used by the session fixture ``chroma_server`` in conftest.py and by the fault tests, which need
a server of their own that they may stop.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chromadb.api import ClientAPI
from chromadb.errors import NotFoundError

from ingest.builds import ACTIVE_SUFFIX
from ingest.chroma import make_client
from ingest.store import IndexInfo, open_active
from rag.launcher import ChildServer, ChildServerError
from rapport.settings import Settings

HEARTBEAT_PATH = "/api/v2/heartbeat"
ENV_URL = "RAPPORT_TEST_CHROMA_URL"  # set by scripts/test.sh when it started a server itself


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def chroma_exe() -> str:
    """The `chroma` CLI of this virtualenv (next to the running python), else the one on PATH."""
    beside = Path(sys.executable).with_name("chroma")
    if beside.exists():
        return str(beside)
    found = shutil.which("chroma")
    if found is None:
        raise RuntimeError(
            "the `chroma` CLI (installed with chromadb) is not found next to python or on PATH"
        )
    return found


def heartbeat(url: str, timeout: float = 1.0) -> bool:
    """True if a Chroma server answers GET /api/v2/heartbeat at ``url``."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + HEARTBEAT_PATH, timeout=timeout) as resp:
            return resp.status == 200 and b"heartbeat" in resp.read()
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_for_heartbeat(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Block until the server at ``url`` answers; RuntimeError on timeout or if ``proc`` exited."""
    deadline = time.monotonic() + timeout
    while not heartbeat(url):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"chroma server for {url} exited with code {proc.returncode} before answering")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no Chroma heartbeat at {url}{HEARTBEAT_PATH} after {timeout:.0f} s")
        time.sleep(0.1)


class ChromaServer:
    """One `chroma run` child process on a fixed data path and port, started and stopped with the
    project's one launcher for child servers (rag/launcher.ChildServer)."""

    def __init__(self, path: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.path = Path(path)
        self.host = host
        self.port = port or free_port(host)
        self.log_path = self.path.parent / f"{self.path.name}.chroma.log"
        self._child: ChildServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.running

    def start(self, timeout: float = 30.0) -> ChromaServer:
        """Start the server (same path and port as before after a stop) and wait for its heartbeat."""
        if self.running:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False", NO_COLOR="1")
        cmd = [chroma_exe(), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)]
        deadline = time.monotonic() + timeout
        while True:
            child = ChildServer("Chroma server", cmd, url=self.url, health_path="/api/v2/heartbeat",
                                startup_timeout_s=max(1.0, deadline - time.monotonic()),
                                log_path=self.log_path, env=env)
            try:
                self._child = child.start()
                return self
            except ChildServerError as exc:
                # a restart right after a stop may find the port not yet released: retry until timeout
                if time.monotonic() > deadline:
                    raise RuntimeError(str(exc)) from None
                time.sleep(0.3)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Stop our server process: SIGTERM (a clean shutdown) or SIGKILL (a crash)."""
        child, self._child = self._child, None
        if child is not None:
            if sig == signal.SIGKILL and child.pid is not None and child.running:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
            child.stop()  # reaps the process (SIGTERM, then SIGKILL if it lingers)
        # the port is free again once nothing answers there
        deadline = time.monotonic() + timeout
        while heartbeat(self.url, timeout=0.3) and time.monotonic() < deadline:
            time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- an index store to test against: local files or a server -------------------------------------


@dataclass(frozen=True)
class Backend:
    """Where an ingest writes: ``local`` (PersistentClient in data_dir/chroma) or ``server``."""

    kind: str
    data_dir: Path
    url: str | None
    prefix: str

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": self.data_dir,
            "chroma_url": self.url,
            "embedding": "hash",
            "collection_prefix": self.prefix,
        }
        values.update(overrides)
        return Settings(**values)

    def client(self) -> ClientAPI:
        """A client as a reader process would open it (a new HttpClient for a server)."""
        return make_client(self.data_dir, self.url)


def build_collections(client: ClientAPI, prefix: str) -> dict[str, dict[str, Any]]:
    """name -> metadata of every build collection of ``prefix`` (not the active pointer)."""
    pattern = re.compile(rf"^{re.escape(prefix)}-[0-9a-f]{{10}}-\d{{13,}}$")
    return {c.name: dict(c.metadata or {}) for c in client.list_collections() if pattern.match(c.name)}


def assert_one_active_complete(client: ClientAPI, prefix: str, records: int | None = None) -> IndexInfo:
    """The consistent state: the pointer names a complete collection holding every record, and no
    other COMPLETE build of the prefix exists (an incomplete leftover may, it is never served)."""
    info = open_active(client, prefix)
    if info is None:
        try:
            pointer = dict(
                client.get_collection(prefix + ACTIVE_SUFFIX, embedding_function=None).metadata or {}
            )
        except NotFoundError:
            pointer = None
        raise AssertionError(
            f"no active complete index: pointer {pointer}, builds {build_collections(client, prefix)}"
        )
    col = client.get_collection(info.collection_name, embedding_function=None)
    assert col.metadata["complete"] is True
    assert col.count() == info.count and (records is None or info.count == records)
    builds = build_collections(client, prefix)
    complete = {name for name, meta in builds.items() if meta.get("complete") is True}
    assert complete == {info.collection_name}, f"other complete builds linger: {sorted(complete)}"
    return info


# -- the `rapport` CLI in another process ----------------------------------------------------------


def rapport_cmd() -> list[str]:
    """argv prefix that runs the `rapport` CLI of this virtualenv."""
    exe = Path(sys.executable).with_name("rapport")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "rapport.cli"]


def cli_env(prefix: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child `rapport`: no CHROMA_URL / RAPPORT_* leaking in from the
    caller's shell, the collection prefix of the test, telemetry off."""
    env = {k: v for k, v in os.environ.items() if k != "CHROMA_URL" and not k.startswith("RAPPORT_")}
    env["ANONYMIZED_TELEMETRY"] = "False"
    if prefix is not None:
        env["RAPPORT_COLLECTION_PREFIX"] = prefix
    env.update(extra)
    return env


# Runs `rapport <args>` in this process after two test-only changes:
# * every embedding batch that build_index asks for (ingest.embed_cache.CachedEmbeddings.embed_documents: the
#   batches go through the cache, so patching the inner HashEmbeddings would miss cached texts)
#   prints "batch N" to stdout and then sleeps RAPPORT_TEST_EMBED_DELAY seconds, so a test can
#   see how far a build got and kill it half-way, or make two builds overlap;
# * if RAPPORT_TEST_GO_FILE is set, it waits for that file before starting, so several
#   processes start their ingest at the same moment (imports take a second or two);
# * if RAPPORT_TEST_HOLD_AT=K and RAPPORT_TEST_HOLD_FILE are set, after embedding batch K it
#   prints "holding" and waits for that file: the build stays half-way until the test says so.
# The pipeline embeds everything first and only then writes the build collection in batches of
# Collection.add; the write phase is observable the same way:
# * every Collection.add prints "add N COUNT" (COUNT records are now in Chroma) and then sleeps
#   RAPPORT_TEST_ADD_DELAY seconds;
# * with RAPPORT_TEST_HOLD_ADD_AT=K (and RAPPORT_TEST_HOLD_FILE) it prints "holding" after add K
#   and waits for that file.
SLOW_INGEST_DRIVER = r"""
import os, sys, time
from pathlib import Path

import ingest.embed_cache as embed_cache


def _wait_for(path):
    while not Path(path).exists():
        time.sleep(0.005)


def _hold():
    print("holding", flush=True)
    _wait_for(_hold_file)


_original = embed_cache.CachedEmbeddings.embed_documents
_delay = float(os.environ.get("RAPPORT_TEST_EMBED_DELAY", "0"))
_calls = 0
_hold_at = int(os.environ.get("RAPPORT_TEST_HOLD_AT", "0"))
_hold_file = os.environ.get("RAPPORT_TEST_HOLD_FILE")


def _slow(self, texts):
    global _calls
    out = _original(self, texts)
    _calls += 1
    print(f"batch {_calls} {len(texts)}", flush=True)
    time.sleep(_delay)
    if _calls == _hold_at and _hold_file:
        _hold()
    return out


embed_cache.CachedEmbeddings.embed_documents = _slow

from chromadb.api.models.Collection import Collection

_original_add = Collection.add
_add_delay = float(os.environ.get("RAPPORT_TEST_ADD_DELAY", "0"))
_adds = 0
_hold_add_at = int(os.environ.get("RAPPORT_TEST_HOLD_ADD_AT", "0"))


def _slow_add(self, *args, **kwargs):
    global _adds
    out = _original_add(self, *args, **kwargs)
    _adds += 1
    ids = kwargs["ids"] if "ids" in kwargs else args[0]
    print(f"add {_adds} {len(ids)}", flush=True)
    time.sleep(_add_delay)
    if _adds == _hold_add_at and _hold_file:
        _hold()
    return out


Collection.add = _slow_add
_go = os.environ.get("RAPPORT_TEST_GO_FILE")
if _go:
    print("ready", flush=True)
    _wait_for(_go)

from rapport.cli import main

main(sys.argv[1:], prog_name="rapport")
"""


def slow_ingest_cmd(*args: str) -> list[str]:
    """argv for `rapport ingest ARGS` with the slowed, observable embedding and writing of
    SLOW_INGEST_DRIVER."""
    return [sys.executable, "-c", SLOW_INGEST_DRIVER, "ingest", "--no-progress", *args]
