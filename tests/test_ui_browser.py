"""In a real browser (Debian's chromium through Playwright): ask, see the number and the chip,
click the chip, see the highlighted cell; also escaping, feedback, English and phone width.

Needs `apt-get install -y chromium chromium-driver` and `pip install playwright` (no
`playwright install`: the Debian browser is used). Writes a screenshot to the test's tmp dir, or
to docs/screenshot.png with RAPPORT_UPDATE_SCREENSHOT=1 (so a test run leaves the tree clean).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_ui_support import FakeService, free_port

from rapport.settings import Settings
from ui.app import create_app, launch
from ui.feedback import FeedbackStore

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"
TIMEOUT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("data")), port=free_port())
    demo = create_app(FakeService(), settings)
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, settings
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


def ask(page: Any, question: str) -> None:
    box = page.get_by_label("Spørsmål", exact=True)
    box.fill(question)
    box.press("Enter")


def test_ask_click_chip_see_highlighted_cell(page: Any, served: tuple[str, Settings], tmp_path: Path) -> None:
    url, settings = served
    page.goto(url)
    ask(page, "Hva var netto driftsresultat i 2020?")

    value = page.locator("#chat .answer-value").last
    value.wait_for()
    assert value.inner_text().strip() == "-679,4 mill. kr"
    chip = page.locator("#chat .options .option").first
    chip.wait_for()
    assert chip.inner_text().strip() == "Tabell 1 · Netto driftsresultat · Regnskap 2020"

    # the first source is shown at once; the prose chip switches to the passage, the table chip back
    page.locator("#source td.cell-hit").wait_for()
    chips = page.locator("#chat .options .option")
    assert chips.nth(1).inner_text().strip() == "Kapittel 02 · linje 227–228"
    chips.nth(1).click()
    page.locator("#source mark.quote-hit").first.wait_for()
    assert page.locator("#source td.cell-hit").count() == 0
    assert "Netto driftsresultat ble 679 millioner kroner" in page.locator("#source").inner_text()
    chips.nth(0).click()
    cell = page.locator("#source td.cell-hit")
    cell.wait_for()
    assert cell.inner_text().strip() == "-679,4"
    assert "Netto driftsresultat" in page.locator("#source tr.row-hit").inner_text()
    assert "Tabell 1 viser hovedoversikten" in page.locator("#source caption").inner_text()

    # thumbs up is stored
    # (Gradio names its own buttons after the browser's locale: "Liker" in nb-NO, "Like" in English)
    page.locator("#chat").get_by_role("button", name=re.compile(r"^(Liker|Like)$")).last.click()
    store = FeedbackStore(settings.data_dir / "feedback.sqlite3")
    for _ in range(50):
        if store.count():
            break
        page.wait_for_timeout(100)
    assert [e.vote for e in store.entries()][-1:] == ["up"]

    shot = SCREENSHOT if os.environ.get("RAPPORT_UPDATE_SCREENSHOT") == "1" else tmp_path / "screenshot.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_html_in_question_and_report_is_shown_as_text(page: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    page.goto(url)
    ask(page, "Hva er <b>ond</b> <img src=x onerror=alert(3)><script>alert(1)</script>?")
    page.locator("#chat .options .option").first.wait_for()
    page.locator("#chat .options .option").first.click()
    page.locator("#source td.cell-hit").wait_for()
    chat = page.locator("#chat")
    assert "<script>alert(1)</script>" in chat.inner_text()  # shown as text, never as tags:
    assert chat.locator("script").count() == 0
    assert chat.locator("img[src='x']").count() == 0
    assert page.locator("#chat .user-question b").count() == 0
    assert page.locator("#source script").count() == 0 and page.locator("#source img").count() == 0
    assert "Ond rad <script>alert(1)</script>" in page.locator("#source tr.row-hit").inner_text()
    page.wait_for_timeout(300)
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_english_switch_and_prose_source(page: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    page.goto(url)
    page.get_by_label("English").check()
    box = page.get_by_label("Question", exact=True)
    box.wait_for()
    box.fill("What was the resultatgrad?")
    box.press("Enter")
    page.locator("#chat .options .option").first.wait_for()
    assert page.locator("#chat .options .option").first.inner_text().strip() == "Chapter 02 · lines 227–229"
    mark = page.locator("#source mark.quote-hit").first
    mark.wait_for()
    assert "resultatgrad" in page.locator("#source").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"


def test_usable_at_phone_width(browser: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(url)
        ask(pg, "Hva var netto driftsresultat i 2020?")
        pg.locator("#chat .options .option").first.click()
        pg.locator("#source td.cell-hit").wait_for()
        overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"page scrolls sideways by {overflow}px at phone width"
        box = pg.locator("#source td.cell-hit").bounding_box()
        assert box is not None and box["width"] > 0
    finally:
        context.close()


_CONTRAST_JS = """
(selector) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return Array.from(document.querySelectorAll(selector)).map((el) => {
    const a = lum(parse(getComputedStyle(el).color).slice(0, 3));
    const b = lum(background(el));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}
"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_highlights_have_readable_contrast(browser: Any, served: tuple[str, Settings], theme: str) -> None:
    url, _ = served
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        pg.goto(f"{url}?__theme={theme}")
        ask(pg, "Hva var netto driftsresultat i 2020?")
        pg.locator("#source td.cell-hit").wait_for()
        for selector in (
            "#source tr.row-hit > td",
            "#source tr.row-hit > th",
            "#source td.cell-hit",
            "#chat .answer-value",
            "#chat .options .option",
        ):
            ratios = pg.evaluate(_CONTRAST_JS, selector)
            assert ratios, selector
            assert min(ratios) >= 4.5, f"{theme}: {selector} contrast {min(ratios):.2f} < 4.5"
        pg.locator("#chat .options .option").nth(1).click()
        pg.locator("#source mark.quote-hit").first.wait_for()
        for selector in ("#source mark.quote-hit", "#source li.line-hit"):
            assert min(pg.evaluate(_CONTRAST_JS, selector)) >= 4.5, f"{theme}: {selector}"
    finally:
        context.close()


def test_lookup_tab_copies_cell_with_citation(page: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    page.goto(url)
    ask(page, "Hva var netto driftsresultat i 2020?")
    page.locator("#source td.cell-hit").wait_for()
    page.get_by_role("tab", name="Tabelloppslag").click()
    page.get_by_label("Søk i tabeller (nummer eller ord)").fill("tabell 1")
    page.locator("#lookup-view table").wait_for()
    page.get_by_label("Rad", exact=True).click()
    page.get_by_role("option", name="Netto driftsresultat").click()
    page.locator("#lookup-view td.cell-hit").wait_for()
    copy = page.locator("#lookup-copy textarea")
    page.wait_for_function("() => document.querySelector('#lookup-copy textarea').value !== ''")
    assert (
        copy.input_value()
        == "-679,4 mill. kr — Tabell 1, rad «Netto driftsresultat», kolonne «Regnskap 2020», linje 350"
    )
    page.get_by_label("Vis rå JSON for siste svar").check()
    raw = page.locator("#raw-json")
    raw.wait_for()
    assert '"value_raw": "-679,4"' in raw.inner_text()
