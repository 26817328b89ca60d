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
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

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
        raise RuntimeError("the `chroma` CLI (installed with chromadb) is not found next to python or on PATH")
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
    """One `chroma run` child process on a fixed data path and port."""

    def __init__(self, path: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.path = Path(path)
        self.host = host
        self.port = port or free_port(host)
        self.log_path = self.path.parent / f"{self.path.name}.chroma.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> ChromaServer:
        """Start the server (same path and port as before after a stop) and wait for its heartbeat."""
        if self.running:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False", NO_COLOR="1")
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(
                [chroma_exe(), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            try:
                wait_for_heartbeat(self.url, max(1.0, deadline - time.monotonic()), self.proc)
                return self
            except RuntimeError as exc:
                # a restart right after a stop may find the port not yet released: retry until timeout
                self._end_process()
                if time.monotonic() > deadline:
                    self._close_log()
                    raise RuntimeError(f"{exc}\n--- {self.log_path} (tail) ---\n{self.log_tail()}") from None
                time.sleep(0.3)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Stop our server process: SIGTERM (a clean shutdown) or SIGKILL (a crash)."""
        self._end_process(sig, timeout)
        self._close_log()
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

    def _end_process(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
