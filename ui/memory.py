"""Keep a long-running server's resident memory flat: cap glibc's malloc arenas.

With one malloc arena per thread (glibc's default allows 8 per core), a threaded server's freed
memory is spread over many arenas and its resident size creeps up under load (measured here:
~4 MiB a minute with 20 sessions asking without pause); with MALLOC_ARENA_MAX=2 it stays flat.
glibc reads the variable when the process starts, so `rapport serve` re-executes itself with it
set (once; an operator's own MALLOC_ARENA_MAX is left alone). This module imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

ARENAS = "2"


def reexec_with_malloc_arenas(argv: Sequence[str] | None = None) -> None:
    """Re-execute `rapport serve` with MALLOC_ARENA_MAX set; returns when there is nothing to do
    (already set, not Linux, or not the `serve` command line of this process), or when the
    re-execution fails (then the cap is set from inside, see `limit_malloc_arenas`)."""
    argv = list(sys.argv if argv is None else argv)
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    if len(argv) < 2 or argv[1] != "serve":
        return
    env = dict(os.environ, MALLOC_ARENA_MAX=ARENAS)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, "-m", "rapport.cli", *argv[1:]], env)
    except OSError:  # the interpreter cannot be run again (e.g. another user's path): cap from inside
        limit_malloc_arenas()


def limit_malloc_arenas(arenas: int = int(ARENAS)) -> bool:
    """The same cap from inside a running process (mallopt M_ARENA_MAX): it only bounds arenas
    created from now on, so it is the fallback when the process cannot be re-executed. An
    explicit MALLOC_ARENA_MAX wins. True when the cap was set."""
    import ctypes
    import ctypes.util

    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-8, int(arenas)))  # -8: M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc: nothing to do
        return False
