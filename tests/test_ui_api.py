"""End to end through HTTP: launch the app on a free local port and call `/ask` with gradio_client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from ui_support import TABLE_CITATION, FakeService, free_port

from rapport.settings import Settings
from ui.app import create_app, launch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("data")), port=free_port())
    demo = create_app(FakeService(), settings)
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def test_ask_endpoint_returns_number_and_citation(app_url: str) -> None:
    client = Client(app_url, verbose=False)
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    data = client.predict("Hva var netto driftsresultat i 2020?", api_name="/ask")
    assert data["value"] == -679.4 and data["value_raw"] == "-679,4" and data["unit"] == "mill. kr"
    assert data["citations"] == [TABLE_CITATION.to_json()] and data["citations"][0]["table"] == "1"
    assert data["abstained"] is False and data["report"] == "eksempel-2020" and data["kind"] == "cell"
    assert set(data) == {"question", "answer", "abstained", "value", "unit", "citations", "lang", "mode",
                         "latency_ms", "value_raw", "trace", "alternatives", "confidence", "report", "details", "kind"}
    unsure = client.predict("Hva var tilskuddet?", api_name="/ask")
    assert unsure["alternatives"][0]["question"] == "Hva var «Rammetilskudd» (Regnskap 2020) i tabell 1?"


def test_a_failure_is_a_message_without_details(app_url: str) -> None:
    data = Client(app_url, verbose=False).predict("What went boom?", api_name="/ask")
    assert data["abstained"] is True and data["citations"] == [] and data["error"].startswith("Sorry")
    for leak in ("Traceback", "secret", "/etc/passwd", "http", "RuntimeError"):
        assert leak not in data["error"] and leak not in data["answer"]


def test_page_is_served_in_norwegian(app_url: str) -> None:
    page = httpx.get(app_url, timeout=10)
    assert page.status_code == 200
    assert "Spør årsrapporten" in page.text and "Årsrapport 2020, Eksempel kommune" in page.text


def test_login_required_when_configured(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, port=free_port(), auth_user="ansatt", auth_password="hemmelig-test"
    )
    demo = create_app(FakeService(), settings)
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        assert httpx.get(url + "config", timeout=10).status_code == 401
        wrong = httpx.post(url + "login", data={"username": "ansatt", "password": "feil"}, timeout=10)
        assert wrong.status_code == 400
        client = Client(url, auth=("ansatt", "hemmelig-test"), verbose=False)
        assert client.predict("Hva var netto driftsresultat i 2020?", api_name="/ask")["value"] == -679.4
    finally:
        demo.close()
