"""Make `rapport serve` start sooner without changing what it serves: two process-level tweaks,
each applied by `rapport serve` only (tests and other commands import Gradio as it is).

* `skip_gradio_stub_files`: Gradio (6.31) rewrites a type-stub file (.pyi) beside each of its
  component classes every time it is imported: it reads and parses each component's source and
  renders its events through Jinja. Nothing reads those files at run time (they are for type
  checkers), and the work is about a third of `import gradio` here (~1 s of a 4 s start).
* `startup_gc`: the cyclic garbage collector paused while start-up allocates (imports, loading
  the engine, building the page). With hundreds of thousands of long-lived objects, each full
  collection during start-up walks all of them again (~0.2 s each here).

This module imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

_STUB_MODULE = "gradio.component_meta"
_STUB_WRITER = "create_or_modify_pyi"


def _no_stub(*_args: Any, **_kwargs: Any) -> None:
    """Stands in for Gradio's stub writer: writes nothing."""


class _StubSkipper(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta like the normal path finder, and replaces its stub writer as
    soon as the module has run (before any component class is defined). One use: it leaves
    sys.meta_path when it has found the module."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != _STUB_MODULE:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if callable(getattr(module, _STUB_WRITER, None)):
                setattr(module, _STUB_WRITER, _no_stub)

        loader.exec_module = exec_module  # this spec's own loader instance
        return spec


def skip_gradio_stub_files() -> None:
    """Have the next `import gradio` skip writing its .pyi stubs. Call before Gradio is imported;
    once it is (or when this Gradio has no such writer), this does nothing."""
    if _STUB_MODULE in sys.modules or any(isinstance(f, _StubSkipper) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubSkipper())


@contextlib.contextmanager
def startup_gc() -> Iterator[None]:
    """Pause cyclic garbage collection for a burst of start-up allocation. On leaving, the objects
    made so far go straight to the oldest generation (freeze, then unfreeze) instead of being
    walked all at once by the next young collection; cycles among them are still collected by the
    next full collection. Does nothing when collection is already off (the caller's choice)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()


__all__ = ["skip_gradio_stub_files", "startup_gc"]
