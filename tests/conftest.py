"""Shared fixtures: a Chroma server for the client/server tests, unique collection prefixes,
a changed copy of the bundled report (a new source, so an ingest starts a NEW build), a headless
browser and a desktop page for the UI tests, and a local LLM server for the LLM tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_chroma import ENV_URL, Backend, ChromaServer, wait_for_heartbeat
from hypothesis import settings as hypothesis_settings
from llm_support import llm_extra_missing
from ui_support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, new_page

from rapport.settings import bundled_report_path

# CI runs the property tests on a fixed, reproducible set of examples (a red CI must be
# reproducible); developers' runs explore new random examples and keep failures in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a running Chroma server shared by the session.

    scripts/test.sh starts one and exports RAPPORT_TEST_CHROMA_URL; without it a server is
    started here (`chroma run` on a free loopback port) and stopped at the end of the session.
    Never skips: a server that cannot be reached or started fails the tests that need it.
    Tests sharing it keep apart by a unique collection prefix (fixture ``chroma_prefix``).
    """
    url = os.environ.get(ENV_URL, "").strip().rstrip("/")
    if url:
        try:
            wait_for_heartbeat(url, timeout=30)
        except RuntimeError as exc:
            pytest.fail(f"{ENV_URL}={url} is set but the server does not answer: {exc}")
        yield url
        return
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"could not start a Chroma server for the tests: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def own_chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server for this test alone, which the test may stop and start again."""
    server = ChromaServer(tmp_path / "chroma-server")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"could not start a Chroma server for the test: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chroma_prefix() -> str:
    """A collection prefix no other test uses (tests share one Chroma server)."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def changed_source(tmp_path: Path) -> Path:
    """The bundled report with one figure changed wherever it is printed (the net operating result:
    its cells and its rounding in the prose, so the report does not contradict itself): another
    source hash, so another index."""
    text = bundled_report_path().read_text(encoding="utf-8")
    assert "-679,4" in text and "679 mill" in text
    path = tmp_path / "endret.txt"
    path.write_text(text.replace("679,4", "702,3").replace("679 mill", "702 mill"), encoding="utf-8")
    return path


@pytest.fixture(params=["local", pytest.param("server", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path, chroma_prefix: str) -> Backend:
    """Run the test against local files (PersistentClient) and against the shared Chroma server."""
    url = request.getfixturevalue("chroma_server") if request.param == "server" else None
    return Backend(request.param, tmp_path / "data", url, chroma_prefix)


# --------------------------------------------------------------------------- a headless Chromium (UI tests)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (the browser tests skip without it)."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    pg = new_page(browser, DESKTOP)
    try:
        yield pg
    finally:
        pg.context.close()


# --------------------------------------------------------------------------- a local LLM (LLM tests)


@pytest.fixture(scope="module")
def llm_server() -> Iterator[Any]:
    """A SmolLM2 server on loopback (skipped without the llm extra)."""
    from rag.local_llm import LocalLLMServer
    from rag.local_models import find_gguf

    reason = llm_extra_missing()
    if reason:
        pytest.skip(reason)
    with LocalLLMServer(find_gguf("smollm2"), n_ctx=2048, default_max_tokens=128) as srv:
        yield srv
