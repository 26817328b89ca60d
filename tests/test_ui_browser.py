"""In a real browser (Debian's chromium through Playwright), at 1366×900 and at 390×844:
the plain answer and the printed figure, alternatives that answer when clicked, an abstention
that outlines no cell, an older answer's chip, language switching, a row chart, the phone
overlay with sticky headers scrolled to the cell, feedback, an accessibility check with
axe-core, and the screenshots in docs/.

Needs `apt-get install -y chromium` and playwright (no `playwright install`). The axe check
needs axe-core's axe.min.js from the npm registry (`npm pack axe-core`; scripts/test.sh puts it
in ~/.cache/rapport/axe-core/, or set RAPPORT_AXE_JS). Screenshots go to the test's tmp dir, or
to docs/ with RAPPORT_UPDATE_SCREENSHOT=1 (so a test run leaves the tree clean).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_support import (
    AMBIGUOUS_Q,
    CHROMIUM,
    DESKTOP,
    GRANT_Q,
    PHONE,
    REPORT_TITLE,
    FakeService,
    free_port,
    new_page,
    open_app,
    real_service,
)

from rapport.settings import Settings
from ui.app import create_app
from ui.feedback import FeedbackStore
from ui.launch import launch

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SURPLUS_Q = "Hva var netto driftsresultat i 2020?"

if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
                allow_module_level=True)


def _serve(service: Any, data_dir: Path) -> Iterator[tuple[str, Settings]]:
    settings = Settings(data_dir=data_dir, port=free_port())
    demo = create_app(service, settings)
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, settings
    finally:
        demo.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """The app over the fake service (deterministic answers, alternatives and abstentions)."""
    yield from _serve(FakeService(), Path(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="module")
def served_real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """The app over the real engine and the bundled report (hash vectors in memory)."""
    yield from _serve(real_service(mode="extractive"), Path(tmp_path_factory.mktemp("real")))


@pytest.fixture(params=["desktop", "phone"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    pg = new_page(browser, DESKTOP if request.param == "desktop" else PHONE)
    pg.size = request.param  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        pg.context.close()


def answers(page: Any) -> Any:
    return page.locator("#chat .answer:not(.pending):not(.streaming)")


def ask(page: Any, question: str) -> Any:
    """Type `question`, press Enter, wait for its answer; returns that answer's locator (by position:
    it stays on this answer when more follow)."""
    before = answers(page).count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#chat .answer:not(.pending):not(.streaming)').length > n "
        "&& !document.querySelector('#chat .answer.pending')", arg=before)
    return answers(page).nth(before)


def close_source_on_phone(page: Any) -> None:
    if getattr(page, "size", "desktop") == "phone" and page.locator("#source .src-close").is_visible():
        page.locator("#source .src-close").click()
        page.wait_for_function("() => !document.body.classList.contains('rapport-source-open')")


def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    target = DOCS / name if os.environ.get("RAPPORT_UPDATE_SCREENSHOT") == "1" else tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(200)
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
    return target


# ---------------------------------------------------------------- the answer


def test_surplus_question_shows_the_plain_sentence_and_the_printed_figure_with_unit(
        page: Any, served_real: tuple[str, Settings], tmp_path: Path) -> None:
    """The real engine over the bundled report."""
    url, _ = served_real
    open_app(page, url)
    answer = ask(page, SURPLUS_Q)
    text = answer.locator(".answer-text").inner_text()
    assert text.startswith("«Netto driftsresultat» i 2020 var -679,4")
    assert answer.locator(".figure-value").inner_text() == "-679,4"
    assert answer.locator(".figure-unit").inner_text().strip() == "mill. 2020-kr"
    assert answer.locator(".answer-source").inner_text().startswith("Kilde: Årsrapport 2020, Bærum kommune · Tabell 10")
    box_text, box_fig = answer.locator(".answer-text").bounding_box(), answer.locator(".figure-value").bounding_box()
    assert box_text["y"] < box_fig["y"]  # the sentence first, then the figure
    chart = answer.locator("figure.row-chart img")
    assert chart.count() == 1 and "2016: -917,6" in chart.get_attribute("alt")  # the row over the years
    page.locator("#source td.cell-hit").wait_for(state="attached")
    assert page.locator("#source td.cell-hit").inner_text().strip() == "-679,4"
    if page.size == "desktop":  # the source beside the answer, its box scrolled to the cell
        page.wait_for_timeout(300)
        cell, panel = page.locator("#source td.cell-hit").bounding_box(), page.locator("#source .table-scroll").bounding_box()
        assert panel["x"] > box_text["x"] + box_text["width"]
        assert panel["y"] <= cell["y"] and cell["y"] + cell["height"] <= panel["y"] + panel["height"] + 1
        assert panel["x"] <= cell["x"] and cell["x"] + cell["width"] <= panel["x"] + panel["width"] + 1
    name = "screenshot-desktop.png" if page.size == "desktop" else "screenshot-phone.png"
    if page.size == "phone":
        answer.locator("a.chip-src").first.click()  # the source over the answer, scrolled to the cell
        page.locator("#source-col").wait_for(state="visible")
        page.wait_for_timeout(400)
    screenshot(page, name, tmp_path)
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_an_ambiguous_question_shows_alternatives_and_clicking_one_answers_it(page: Any,
                                                                            served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(page, url)
    answer = ask(page, AMBIGUOUS_Q)
    assert answer.locator(".badge-unsure").inner_text() == "Usikkert svar"
    assert "Mente du" in answer.locator(".alternatives-title").inner_text()
    chip = answer.locator(".alternatives a.chip-ask").first
    assert chip.locator(".chip-q").inner_text() == GRANT_Q
    chip.click()
    page.wait_for_function("() => document.querySelectorAll('#chat .answer:not(.pending) .figure-value').length >= 2")
    last = answers(page).last
    assert last.locator(".figure-value").inner_text() == "-1 994,0"
    assert page.locator("#chat .user-question").last.inner_text() == GRANT_Q


def test_an_abstention_outlines_no_cell(page: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(page, url)
    ask(page, SURPLUS_Q)
    page.locator("#source td.cell-hit").wait_for(state="attached")
    answer = ask(page, "Hvem er ordfører?")
    page.wait_for_function("() => !document.querySelector('#source td.cell-hit')")
    assert page.locator("#source td.cell-hit, #source tr.row-hit, #chat td.cell-hit").count() == 0
    assert answer.locator(".figure-value").count() == 0
    nearest = answer.locator(".alternatives a.chip-ask")
    assert answer.locator(".alternatives-title").inner_text() == "Det nærmeste rapporten har:" and nearest.count() == 1


def test_an_older_answers_chip_still_opens_its_source(page: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(page, url)
    first = ask(page, SURPLUS_Q)
    close_source_on_phone(page)
    ask(page, "Hvor mange elever var det?")
    page.wait_for_function("() => (document.querySelector('#source .caption-text') || {}).textContent"
                           "?.includes('4.7')")
    close_source_on_phone(page)
    chip = first.locator("a.chip-src").first
    assert REPORT_TITLE in chip.inner_text()  # the report's title on the chip
    chip.click()
    page.wait_for_function("() => (document.querySelector('#source td.cell-hit') || {}).textContent === '-679,4'")
    assert "Tabell 1 viser" in page.locator("#source .table-title").inner_text()
    cell = page.locator("#source td.cell-hit").bounding_box()
    assert cell is not None and cell["y"] >= 0 and cell["y"] + cell["height"] <= page.viewport_size["height"]
    assert cell["x"] >= 0 and cell["x"] + cell["width"] <= page.viewport_size["width"]  # scrolled to the cell


def test_switching_language_renders_the_conversation_again(page: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(page, url)
    ask(page, SURPLUS_Q)
    close_source_on_phone(page)
    assert "Kilde:" in answers(page).last.locator(".answer-source").inner_text()
    page.locator("#lang").get_by_text("English").click()
    page.wait_for_function("() => document.querySelector('#chat .answer-source')?.textContent.startsWith('Source:')")
    answer = answers(page).last
    assert answer.locator(".figure-label").inner_text().startswith("The figure in the report")
    assert answer.locator(".answer-text").inner_text().startswith("«Netto driftsresultat» i regnskapet")
    assert page.locator("#chat").get_by_text("How the answer was found").count() == 1
    # The tabs and the question box re-render in their own update, which may land after the chat's.
    page.get_by_role("tab", name="Ask").wait_for()
    page.wait_for_function("() => document.querySelector('#question label')?.textContent.trim() === 'Question'")
    assert page.get_by_role("tab", name="Ask").count() == 1 and page.locator("#question label").inner_text().strip() == "Question"
    assert page.evaluate("document.documentElement.lang") == "en"


def test_a_row_question_shows_a_chart(page: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(page, url)
    answer = ask(page, "Hvor mange elever var det?")
    img = answer.locator("figure.row-chart img")
    img.wait_for()
    assert img.get_attribute("alt") == "Stolpediagram for «Antall elever»: 2018: 4 000; 2019: 4 100; 2020: 4 150."
    assert page.evaluate("(img) => img.naturalWidth > 0 && img.complete", img.element_handle())
    main, chart = answer.locator(".answer-main").bounding_box(), img.bounding_box()
    if page.size == "desktop":
        assert chart["x"] >= main["x"] + main["width"] - 1  # beside the answer
    else:
        assert chart["y"] >= main["y"] + main["height"] - 1  # below it on a phone
    followups = answer.locator(".followups a.chip-ask .chip-q")
    assert followups.first.inner_text() == "Hva var «Antall elever» (2019) i tabell 4.7?"


# ---------------------------------------------------------------- phone and desktop details


def test_phone_source_is_an_overlay_with_sticky_headers_scrolled_to_the_cell(
        browser: Any, served: tuple[str, Settings]) -> None:
    """A table of 30 rows and 8 year columns: taller and wider than a phone."""
    url, _ = served
    page = new_page(browser, PHONE)
    page.size = "phone"
    try:
        open_app(page, url)
        assert not page.locator("#source-col").is_visible()  # the chat has the whole width
        answer = ask(page, "Hva var tjeneste 27 i 2020?")
        answer.locator("a.chip-src").first.click()
        page.locator("#source-col").wait_for(state="visible")
        col = page.locator("#source-col").bounding_box()
        assert col["x"] <= 1 and col["y"] <= 1 and col["width"] >= 388 and col["height"] >= 840  # over the page
        page.wait_for_timeout(300)
        head = page.locator("#source .src-head").bounding_box()
        cell = page.locator("#source td.cell-hit").bounding_box()
        assert cell["y"] >= head["y"] + head["height"] - 1 and cell["y"] + cell["height"] <= 844
        assert cell["x"] >= 0 and cell["x"] + cell["width"] <= 390
        th = page.locator("#source thead th").nth(1)
        assert th.evaluate("e => getComputedStyle(e).position") == "sticky"
        scroll = page.locator("#source .table-scroll")
        assert scroll.evaluate("e => e.scrollTop > 0 && e.scrollLeft > 0")  # scrolled down and across to the cell
        assert page.locator("#source td.cell-hit").inner_text() == "2 707,5"
        scroll.evaluate("e => { e.scrollTop = e.scrollHeight; }")
        box = scroll.bounding_box()
        assert abs(th.bounding_box()["y"] - box["y"]) <= 2  # the header row stays at the top of the box
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.body.classList.contains('rapport-source-open')")
        assert not page.locator("#source-col").is_visible()
    finally:
        page.context.close()


def test_wide_tables_scroll_inside_their_box(browser: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    page = new_page(browser, PHONE)
    try:
        open_app(page, url)
        page.get_by_role("tab", name="Tabelloppslag (ansatte)").click()
        page.locator("#lookup-view table.report-table").wait_for()
        box = page.locator("#lookup-view .table-scroll")
        assert box.evaluate("e => e.scrollWidth > e.clientWidth")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    finally:
        page.context.close()


def test_empty_send_explains_itself_and_chrome_is_hidden(desktop: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(desktop, url)
    desktop.locator("#send").click()
    hint = desktop.locator("#ask-hint [role=status]")
    hint.wait_for()
    assert hint.inner_text().startswith("Skriv et spørsmål i feltet først")
    assert desktop.locator("#chat .user-question").count() == 0
    body = desktop.locator("body").inner_text()
    assert "Use via API" not in body and "Built with Gradio" not in body and "Settings" not in body
    assert desktop.locator("footer:visible").count() == 0


def test_accessible_names_are_plain_text(desktop: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(desktop, url)
    ask(desktop, SURPLUS_Q)
    desktop.wait_for_timeout(300)
    labels = desktop.locator("#chat [aria-label]").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert labels and not [x for x in labels if "<" in x or ">" in x], labels
    message = desktop.locator("#chat [data-testid='bot'][aria-label]").first.get_attribute("aria-label")
    assert message.startswith("Svar: «Netto driftsresultat» i regnskapet for 2020 var -679,4 mill. kr.")


def test_feedback_says_thanks_when_stored_and_takes_a_comment(desktop: Any, served: tuple[str, Settings]) -> None:
    url, settings = served
    store = FeedbackStore(settings.data_dir / "feedback.sqlite3")
    before = store.count()
    open_app(desktop, url)
    ask(desktop, SURPLUS_Q)
    desktop.locator("#chat").get_by_role("button", name=re.compile(r"^(Liker|Like)$")).first.click()
    status = desktop.locator("#feedback-status [role=status]")
    status.wait_for()
    assert status.inner_text().startswith("Takk!") and store.count() == before + 1
    desktop.locator("#comment textarea").fill("Tallet stemmer.")
    desktop.locator("#comment-send").click()
    desktop.wait_for_function("() => document.querySelector('#feedback-status')?.textContent.includes('Kommentaren')")
    assert store.entries()[-1].comment == "Tallet stemmer." and store.entries()[-1].vote == "up"


# ---------------------------------------------------------------- accessibility


def _axe_source() -> str | None:
    for candidate in (os.environ.get("RAPPORT_AXE_JS"), Path.home() / ".cache/rapport/axe-core/axe.min.js",
                      ROOT / "node_modules/axe-core/axe.min.js"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text(encoding="utf-8")
    return None


def _axe(page: Any, source: str) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")


def test_no_serious_accessibility_violations_on_chat_and_lookup(page: Any, served: tuple[str, Settings]) -> None:
    source = _axe_source()
    if source is None:
        pytest.skip("axe-core not found: `npm pack axe-core` and put axe.min.js in ~/.cache/rapport/axe-core/")
    url, _ = served
    open_app(page, url)
    ask(page, AMBIGUOUS_Q)
    answers(page).last.locator("a.chip-src").first.click()
    page.locator("#source td.cell-hit").wait_for()
    page.wait_for_timeout(300)
    found = {"chat": _axe(page, source)}
    close_source_on_phone(page)
    page.locator("#staff").get_by_role("checkbox").check()
    page.locator("#raw-json").wait_for()
    found["staff view"] = _axe(page, source)
    page.get_by_role("tab", name="Tabelloppslag (ansatte)").click()
    page.locator("#lookup-view table.report-table").wait_for()
    found["lookup"] = _axe(page, source)
    serious = {k: [v for v in vs if v["impact"] in ("serious", "critical")] for k, vs in found.items()}
    assert serious == {"chat": [], "staff view": [], "lookup": []}, serious


def test_alternative_chip_meta_shows_other_reading_and_title(desktop: Any, served: tuple[str, Settings]) -> None:
    url, _ = served
    open_app(desktop, url)
    answer = ask(desktop, AMBIGUOUS_Q)
    meta = answer.locator(".alternatives a.chip-ask .chip-meta").first.inner_text()
    assert meta == f" · -1 994,0 mill. kr · {REPORT_TITLE}"



