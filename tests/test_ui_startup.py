"""`rapport serve`'s start-up tweaks (ui/startup.py): Gradio imported without rewriting its type
stubs, and garbage collection paused only while start-up allocates."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from ui.startup import _StubSkipper, skip_gradio_stub_files, startup_gc

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import sys
from ui.startup import skip_gradio_stub_files
skip_gradio_stub_files()
import gradio as gr
import gradio.component_meta as meta
assert meta.create_or_modify_pyi.__name__ == "_no_stub", meta.create_or_modify_pyi
assert not [f for f in sys.meta_path if type(f).__name__ == "_StubSkipper"]
with gr.Blocks() as demo:
    box = gr.Textbox()
    box.change(lambda x: x, box, box)
assert demo.fns
print("ok")
"""


def test_gradio_imports_without_writing_stubs_and_still_builds_apps() -> None:
    proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


def test_stub_skipping_does_nothing_once_gradio_is_imported() -> None:
    import gradio  # noqa: F401

    before = list(sys.meta_path)
    skip_gradio_stub_files()
    assert sys.meta_path == before and not any(isinstance(f, _StubSkipper) for f in sys.meta_path)


def test_startup_gc_pauses_collection_and_restores_it() -> None:
    assert gc.isenabled()
    with startup_gc():
        assert not gc.isenabled()
        garbage: list[object] = []
        garbage.append(garbage)  # a cycle made while paused ...
        del garbage
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing left frozen: later collections still see everything
    assert gc.collect() >= 1  # ... is still collected


def test_startup_gc_leaves_collection_off_when_the_caller_turned_it_off() -> None:
    gc.disable()
    try:
        with startup_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
