"""Memory and CPU of other processes (Linux /proc), sampled while a load runs.

`rss_mib` and `cpu_seconds` read one process; `RssSampler` samples the resident memory of some
processes in a daemon thread and the CPU time they used; `summarise_rss` turns the samples into
per-process figures (first, max, last, growth after warm-up). Used by eval/loadtest.py's
`--rss-pid`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.scorer import percentile


def rss_mib(pid: int) -> float | None:
    """Resident memory of process `pid` in MiB (Linux /proc), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) process `pid` has used so far, in seconds (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class RssSampler:
    """Samples the RSS of some processes every `every_s` seconds in a daemon thread, and the CPU
    time they used between start and stop."""

    def __init__(self, pids: Sequence[int], every_s: float = 5.0) -> None:
        self.pids = list(pids)
        self.every_s = every_s
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _take(self) -> None:
        self.samples.append({"t_s": round(time.monotonic() - self._t0, 1),
                             "rss_mib": {str(p): rss_mib(p) for p in self.pids}})

    def _run(self) -> None:
        self._take()
        while not self._stop.wait(self.every_s):
            self._take()

    def start(self) -> RssSampler:
        self._t0 = time.monotonic()
        self._cpu0 = {p: cpu_seconds(p) for p in self.pids}
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(timeout=self.every_s + 5)
        self._take()
        out = summarise_rss(self.samples)
        used = {}
        for p in self.pids:
            a, b = self._cpu0.get(p), cpu_seconds(p)
            used[str(p)] = round(b - a, 2) if a is not None and b is not None else None
        out["cpu_s"] = used
        return out


def summarise_rss(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per process: first, max, last, and the growth from the second quarter of the run (after
    warm-up) to its last quarter (medians, so one spike does not count)."""
    out: dict[str, Any] = {"samples": list(samples), "per_process": {}}
    pids = sorted({p for s in samples for p in s["rss_mib"]})
    for pid in pids:
        series = [s["rss_mib"][pid] for s in samples if s["rss_mib"].get(pid) is not None]
        if not series:
            continue
        n = len(series)
        q2 = series[n // 4: max(n // 4 + 1, n // 2)]
        q4 = series[(3 * n) // 4:] or series[-1:]
        out["per_process"][pid] = {
            "first": series[0], "max": max(series), "last": series[-1],
            "warm_median": percentile(q2, 50), "end_median": percentile(q4, 50),
            "growth_after_warmup": round((percentile(q4, 50) or 0) - (percentile(q2, 50) or 0), 1),
        }
    return out
