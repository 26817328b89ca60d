"""The answer service as the app sees it: ready, still being built (first start), or failed.

`rapport serve` on an empty data dir puts up the page at once and builds the index in a
background thread (`ServiceHolder.start`); the page shows the progress and opens the chat when
the service is ready. Tests and a normal start pass a ready service (`ServiceHolder(service)`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Builder = Callable[[Callable[[int, int], None]], Any]


@dataclass(frozen=True)
class BuildState:
    status: str  # "starting" | "building" | "ready" | "failed"
    done: int = 0
    total: int = 0
    message: str | None = None  # why it failed (already fit to show: no paths or URLs)
    seconds: float = 0.0

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class ServiceHolder:
    """Holds the service once it exists; thread-safe."""

    def __init__(self, service: Any = None) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._state = BuildState("ready") if service is not None else BuildState("starting")
        self._started = time.monotonic()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[Any], None]] = []

    @property
    def service(self) -> Any:
        return self._service

    @property
    def ready(self) -> bool:
        return self._service is not None

    def state(self) -> BuildState:
        with self._lock:
            return self._state

    def progress(self, done: int, total: int) -> None:
        with self._lock:
            if self._service is None:
                self._state = BuildState("building", int(done), int(total), seconds=time.monotonic() - self._started)

    def set_ready(self, service: Any) -> None:
        with self._lock:
            self._service = service
            self._state = BuildState("ready", seconds=time.monotonic() - self._started)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(service)
            except Exception:  # a listener must not undo a ready service
                log.exception("service-ready listener failed")

    def set_failed(self, message: str) -> None:
        with self._lock:
            self._state = BuildState("failed", message=message, seconds=time.monotonic() - self._started)

    def on_ready(self, listener: Callable[[Any], None]) -> None:
        """Call `listener(service)` when the service is ready (at once when it already is)."""
        with self._lock:
            service = self._service
            if service is None:
                self._listeners.append(listener)
                return
        listener(service)

    def start(self, build: Builder, describe_error: Callable[[BaseException], str] = str) -> threading.Thread:
        """Run `build(progress)` in a daemon thread; the holder turns ready or failed."""

        def run() -> None:
            try:
                service = build(self.progress)
            except BaseException as exc:  # noqa: BLE001 - reported on the page and in the log
                log.error("building the service failed: %s", exc)
                self.set_failed(describe_error(exc))
                return
            self.set_ready(service)
            log.info("service ready after %.1f s", self.state().seconds)

        self._thread = threading.Thread(target=run, name="rapport-first-build", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> BuildState:
        """Block until the build thread ends (tests); returns the state."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state()
