"""One launcher for child servers (the local llama.cpp server, a Chroma server in tests):
start a command, wait until it is ready, stop exactly that process.

Ready means: the command printed a line starting with ``ready_prefix`` (whose JSON tail may give
the URL), or, without one, its ``health_path`` answers 200 (and ``healthy(body)`` agrees). The
child's stderr goes to a log file that error messages quote. Stopping closes the child's stdin
(a well-behaved child exits on that), then SIGTERM, then SIGKILL; a garbage-collected or
forgotten launcher still reaps its child (weakref.finalize).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO


class ChildServerError(RuntimeError):
    """The child server did not start; the message quotes its log."""


def reap(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Stop a child: close its stdin (it may exit by itself), then SIGTERM, then SIGKILL."""
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


class ChildServer:
    """A server in a child process on loopback."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        url: str | None = None,
        health_path: str = "/health",
        healthy: Callable[[bytes], bool] = lambda body: True,
        ready_prefix: str | None = None,
        startup_timeout_s: float = 60.0,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.health_path = health_path
        self.healthy = healthy
        self.ready_prefix = ready_prefix
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.load_s: float | None = None  # process start to ready
        self._url = url
        self._own_log = log_path is None
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def url(self) -> str:
        if self._url is None or not self.running:
            raise ChildServerError(f"The {self.name} is not running.")
        return self._url

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> ChildServer:
        if self.running:
            return self
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="rapport-child-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        t0 = time.perf_counter()
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.cmd, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE if self.ready_prefix else log, stderr=log,
                env=self.env, cwd=self.cwd,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the caller, which stops us
            )
        self._finalizer = weakref.finalize(self, reap, self._proc)
        try:
            if self.ready_prefix:
                self._url = self._wait_line(t0 + self.startup_timeout_s) or self._url
            self._wait_health(t0 + self.startup_timeout_s)
        except BaseException:
            self._own_log = False  # keep the log the error message points to
            self.stop()
            raise
        self.load_s = time.perf_counter() - t0
        return self

    def _wait_line(self, deadline: float) -> str | None:
        assert self._proc is not None and self._proc.stdout is not None and self.ready_prefix
        lines: queue.Queue[bytes] = queue.Queue()
        stdout: IO[bytes] = self._proc.stdout

        def read() -> None:
            for line in iter(stdout.readline, b""):
                lines.put(line)
            lines.put(b"")

        threading.Thread(target=read, name=f"{self.name}-ready", daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=max(0.05, deadline - time.perf_counter()))
            except queue.Empty:
                raise ChildServerError(self.failure(f"did not start within {self.startup_timeout_s:.0f} s")) from None
            if not line:
                self._proc.wait(timeout=5)
                raise ChildServerError(self.failure(f"exited with code {self._proc.returncode}"))
            text = line.decode("utf-8", "replace").strip()
            if text.startswith(self.ready_prefix):
                tail = text[len(self.ready_prefix):].strip()
                return str(json.loads(tail)["url"]).rstrip("/") if tail.startswith("{") else None

    def _wait_health(self, deadline: float) -> None:
        assert self._proc is not None
        if self._url is None:
            raise ChildServerError(self.failure("gave no URL"))
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        while True:
            if self._proc.poll() is not None:
                raise ChildServerError(self.failure(f"exited with code {self._proc.returncode}"))
            try:
                with direct.open(self._url + self.health_path, timeout=2) as resp:
                    if resp.status == 200 and self.healthy(resp.read() or b""):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.perf_counter() > deadline:
                raise ChildServerError(self.failure(f"did not answer {self.health_path} within "
                                                    f"{self.startup_timeout_s:.0f} s"))
            time.sleep(0.1)

    def failure(self, what: str) -> str:
        tail = ""
        if self.log_path is not None and self.log_path.is_file():
            with contextlib.suppress(OSError):
                lines = self.log_path.read_text("utf-8", "replace").strip().splitlines()
                errors = [x for x in lines[:-15] if x.startswith("error:")]
                tail = "\n".join(errors + lines[-15:])
        return f"The {self.name} {what}. Log {self.log_path}:\n{tail}"

    def stop(self) -> None:
        """Stop the child (idempotent); the log is removed unless the caller chose it."""
        if self._finalizer is not None:
            self._finalizer()  # runs reap once
            self._finalizer = None
        self._proc = None
        if self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> ChildServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
