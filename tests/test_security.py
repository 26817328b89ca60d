"""Security: loopback by default, a warning when exposed, optional login with credentials from
settings/env only, no file reads through Gradio's file routes, only `/ask` public, nothing that
ingests an arbitrary path, and parameterised SQL in the feedback store.

The launched apps run the real service over a hash-embedding index in a temporary data dir
(which also holds feedback.sqlite3), on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import ast
import csv
import http.client
import io
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from bundled import NET_RESULT_Q, is_net_result
from click.testing import CliRunner
from ui_support import free_port

import ui.app as ui_app
from rapport.settings import Settings
from ui.feedback import FeedbackStore

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [
    # Gradio 6.31's queue calls pandas with options pandas 3 deprecates: one warning per request.
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
CANARY = "canary-7f3a-feedback-question"
DROP = "'); DROP TABLE feedback; --"

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def index_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from ingest.pipeline import run_ingest

    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("security-data")), embedding="hash")
    run_ingest(settings, progress=False)
    FeedbackStore(settings.data_dir / ui_app.FEEDBACK_FILE).add(
        question=CANARY, answer="svar", citations=[], vote="up"
    )
    return settings


@pytest.fixture(scope="module")
def service(index_settings: Settings) -> Any:
    from rag.service import build_service

    return build_service(index_settings)


@pytest.fixture(scope="module")
def app(service: Any, index_settings: Settings) -> Iterator[tuple[str, int, Any]]:
    settings = replace(index_settings, port=free_port())
    demo = ui_app.create_app(service, settings, stream_delay_s=0)
    _, url, _ = ui_app.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, settings.port, demo
    finally:
        demo.close()


@pytest.fixture(scope="module")
def auth_app(service: Any, index_settings: Settings) -> Iterator[tuple[str, tuple[str, str]]]:
    """The app with login on; the credentials come from the environment, as in production."""
    user, password = "ansatt", "pw-" + os.urandom(6).hex()
    env = {"RAPPORT_AUTH_USER": user, "RAPPORT_AUTH_PASSWORD": password, "RAPPORT_PORT": str(free_port())}
    settings = Settings.from_env(env, data_dir=index_settings.data_dir, embedding="hash")
    assert ui_app.auth_pair(settings) == (user, password)
    demo = ui_app.create_app(service, settings, stream_delay_s=0)
    _, url, _ = ui_app.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, (user, password)
    finally:
        demo.close()


def _client(url: str, auth: tuple[str, str] | None = None) -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    return Client(url, auth=auth, verbose=False, download_files=False, analytics_enabled=False)


def raw_get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    """Send `path` exactly as written (httpx would normalise '../' away)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ------------------------------------------------------------------ binding and exposure


def test_default_host_is_loopback() -> None:
    assert Settings().host == "127.0.0.1"
    assert Settings.from_env({}).host == "127.0.0.1"
    assert not ui_app.is_exposed(Settings().host)


def test_serve_help_documents_the_loopback_default() -> None:
    from rapport.cli import main

    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "127.0.0.1" in result.output


def _stub_serving(monkeypatch: pytest.MonkeyPatch, launched: list[Settings]) -> None:
    """serve() without building anything or opening a port."""
    import rag.service
    import ui.launch

    monkeypatch.setattr(rag.service, "build_service", lambda settings, **kw: object())
    monkeypatch.setattr(ui.launch, "first_start", lambda settings: False)
    monkeypatch.setattr(ui_app, "create_app", lambda service, settings, **kw: object())

    def fake_launch(demo: Any, settings: Settings, **kw: Any) -> tuple:
        launched.append(settings)
        return None, "", ""

    monkeypatch.setattr(ui.launch, "launch", fake_launch)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.5", "rapport.example.org"])
def test_serve_warns_when_exposed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str) -> None:
    launched: list[Settings] = []
    echoed: list[str] = []
    _stub_serving(monkeypatch, launched)
    ui_app.serve(Settings(data_dir=tmp_path, host=host, port=7999), echo=echoed.append)
    text = "\n".join(echoed)
    assert "WARNING" in text and host in text and "RAPPORT_AUTH_USER" in text, text
    assert launched and launched[0].host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_serve_does_not_warn_on_loopback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str) -> None:
    launched: list[Settings] = []
    echoed: list[str] = []
    _stub_serving(monkeypatch, launched)
    ui_app.serve(Settings(data_dir=tmp_path, host=host), echo=echoed.append)
    assert not any("WARNING" in e for e in echoed), echoed
    assert launched


def test_exposed_with_login_warns_without_the_login_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    launched: list[Settings] = []
    echoed: list[str] = []
    _stub_serving(monkeypatch, launched)
    settings = Settings(data_dir=tmp_path, host="0.0.0.0", auth_user="u", auth_password="p-from-test")
    ui_app.serve(settings, echo=echoed.append)
    text = "\n".join(echoed)
    assert "WARNING" in text and "Set RAPPORT_AUTH_USER" not in text and "with login" in text
    assert "p-from-test" not in text  # the password is never printed


def test_cli_serve_host_all_interfaces_prints_the_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from rapport.cli import main

    launched: list[Settings] = []
    _stub_serving(monkeypatch, launched)
    result = CliRunner().invoke(
        main,
        ["serve", "--host", "0.0.0.0", "--port", "7998", "--data-dir", str(tmp_path)],
        env={"RAPPORT_AUTH_USER": "", "RAPPORT_AUTH_PASSWORD": "", "RAPPORT_HOST": ""},
    )
    assert result.exit_code == 0, result.output
    assert "WARNING: --host 0.0.0.0 exposes the app" in result.output
    assert launched[0].host == "0.0.0.0" and launched[0].port == 7998


def test_half_configured_login_refuses_to_start(tmp_path: Path) -> None:
    import click

    for settings in (
        Settings(data_dir=tmp_path, auth_user="u"),
        Settings(data_dir=tmp_path, auth_password="p"),
    ):
        with pytest.raises(click.ClickException, match="RAPPORT_AUTH_USER and RAPPORT_AUTH_PASSWORD"):
            ui_app.serve(settings, echo=lambda _m: None)


# ------------------------------------------------------------------ login


def test_login_credentials_come_from_env_only() -> None:
    assert Settings().auth_user is None and Settings().auth_password is None
    assert ui_app.auth_pair(Settings()) is None
    env = {"RAPPORT_AUTH_USER": "u", "RAPPORT_AUTH_PASSWORD": "from-env"}
    assert ui_app.auth_pair(Settings.from_env(env)) == ("u", "from-env")


_SECRET_NAME = ("password", "passwd", "secret", "api_key", "apikey", "token", "auth_user", "credential")


def _secret_literals(path: Path) -> list[str]:
    """Non-empty string literals assigned to a secret-sounding name, given as a secret-sounding
    keyword argument, or passed as auth=(..., ...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []

    def is_secret(name: str | None) -> bool:
        return bool(name) and any(s in name.lower() for s in _SECRET_NAME)  # type: ignore[union-attr]

    def literal(node: ast.AST | None) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() != ""

    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        value: ast.AST | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        for t in targets:
            name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
            if is_secret(name) and literal(value):
                found.append(f"{path}:{node.lineno} {name} = {ast.unparse(value)}")  # type: ignore[arg-type]
        if isinstance(node, ast.keyword):
            if is_secret(node.arg) and literal(node.value):
                found.append(f"{path}:{node.value.lineno} {node.arg}={ast.unparse(node.value)}")
            if (
                node.arg == "auth"
                and isinstance(node.value, ast.Tuple)
                and any(literal(e) for e in node.value.elts)
            ):
                found.append(f"{path}:{node.value.lineno} auth={ast.unparse(node.value)}")
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(k, ast.Constant)
                    and isinstance(k.value, str)
                    and is_secret(k.value)
                    and literal(v)
                ):
                    found.append(f"{path}:{k.lineno} {k.value!r}: {ast.unparse(v)}")
    return found


def test_no_password_literal_is_committed_in_ui_or_rapport() -> None:
    files = sorted((ROOT / "ui").rglob("*.py")) + sorted((ROOT / "rapport").rglob("*.py"))
    assert len(files) >= 4
    found = [hit for f in files for hit in _secret_literals(f)]
    assert not found, found


def test_secret_literal_check_finds_one(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'auth_password = "hunter2"\nlaunch(auth=("admin", "admin"))\nx = {"password": "pw"}\nok = None\n',
        encoding="utf-8",
    )
    assert len(_secret_literals(sample)) == 3


def test_settings_repr_hides_secrets() -> None:
    text = repr(Settings(auth_user="u", auth_password="pw-in-repr", llm_api_key="key-in-repr"))
    assert "pw-in-repr" not in text and "key-in-repr" not in text


@pytest.mark.integration
def test_login_protects_page_api_and_files(auth_app: tuple[str, tuple[str, str]]) -> None:
    url, (user, password) = auth_app
    assert httpx.get(url + "config", timeout=10).status_code == 401
    assert httpx.get(url + "gradio_api/info", timeout=10).status_code == 401
    call = httpx.post(
        url + "gradio_api/call/ask", json={"data": ["Hva var netto driftsresultat i 2020?"]}, timeout=10
    )
    assert call.status_code == 401 and "679" not in call.text
    upload = httpx.post(
        url + "gradio_api/upload", files={"files": ("x.txt", b"hei", "text/plain")}, timeout=10
    )
    assert upload.status_code == 404  # the app takes no files: no upload route, with or without login
    page = httpx.get(url, timeout=10)
    assert password not in page.text
    wrong = httpx.post(url + "login", data={"username": user, "password": "feil"}, timeout=10)
    assert wrong.status_code == 400 and password not in wrong.text
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types
        _client(url)
    client = _client(url, (user, password))
    try:
        assert is_net_result(client.predict(NET_RESULT_Q, api_name="/ask")["value"])
    finally:
        client.close()
    with httpx.Client(timeout=10) as session:
        ok = session.post(url + "login", data={"username": user, "password": password})
        assert ok.status_code == 200
        config = session.get(url + "config")
        assert config.status_code == 200 and password not in config.text


# ------------------------------------------------------------------ files


def _file_paths(data_dir: Path) -> list[str]:
    data = str(data_dir.resolve())
    return [
        "/file=/etc/passwd",
        "/gradio_api/file=/etc/passwd",
        "/file=../../etc/passwd",
        "/gradio_api/file=../../etc/passwd",
        "/gradio_api/file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/gradio_api/file=//etc/passwd",
        "/gradio_api/file=file:///etc/passwd",
        "/gradio_api/file=/tmp/gradio/../../etc/passwd",
        "/gradio_api/file=/proc/self/environ",
        "/static/../../../../etc/passwd",
        "/assets/../../../../etc/passwd",
        "/gradio_api/static/../../../etc/passwd",
        f"/file={data}/feedback.sqlite3",
        f"/gradio_api/file={data}/feedback.sqlite3",
        f"/gradio_api/file={data}/../{data_dir.name}/feedback.sqlite3",
        f"/gradio_api/file={data}/chroma.sqlite3",
        f"/gradio_api/file={data}/embed-cache.sqlite3",
        "/gradio_api/file=pyproject.toml",
        f"/gradio_api/file={ROOT}/pyproject.toml",
        f"/gradio_api/file={ROOT}/rapport/settings.py",
        "/gradio_api/file=ingest/corpus/baerum-arsrapport-2020.txt",
    ]


@pytest.mark.integration
def test_file_routes_refuse_files_outside_the_app(
    app: tuple[str, int, Any], index_settings: Settings
) -> None:
    _, port, _ = app
    assert (index_settings.data_dir / "feedback.sqlite3").is_file()
    served: list[tuple[str, int, bytes]] = []
    for path in _file_paths(index_settings.data_dir):
        for method in ("GET", "HEAD", "POST"):
            status, body = raw_get(port, path, method)
            leaked = (
                b"root:" in body
                or b"SQLite format 3" in body
                or CANARY.encode() in body
                or b"[build-system]" in body
                or b"RAPPORT_" in body
                or b"PATH=" in body
            )
            if status not in (403, 404, 405) or leaked:
                served.append((f"{method} {path}", status, body[:120]))
    assert not served, served


@pytest.mark.integration
def test_uploads_are_refused(app: tuple[str, int, Any]) -> None:
    """The app has no file input, so Gradio's upload routes are closed (404), big or small."""
    url, _, _ = app
    for name, body, kind in (("big.bin", b"x" * 1_100_000, "application/octet-stream"),
                             ("x.html", b"<script>alert(1)</script>", "text/html")):
        for route in ("gradio_api/upload", "upload"):
            r = httpx.post(url + route, files={"files": (name, body, kind)}, timeout=30)
            assert r.status_code == 404 and len(r.content) < 300, (route, r.status_code, r.text[:200])


@pytest.mark.integration
def test_config_does_not_reveal_paths(app: tuple[str, int, Any], index_settings: Settings) -> None:
    url, _, _ = app
    text = httpx.get(url + "config", timeout=10).text
    assert str(index_settings.data_dir.resolve()) not in text and str(ROOT) not in text


# ------------------------------------------------------------------ endpoints


@pytest.mark.integration
def test_only_ask_is_public(app: tuple[str, int, Any]) -> None:
    url, _, _ = app
    client = _client(url)
    try:
        api = client.view_api(print_info=False, return_format="dict")
    finally:
        client.close()
    assert set(api["named_endpoints"]) == {"/ask"}, api["named_endpoints"].keys()
    assert not api["unnamed_endpoints"], api["unnamed_endpoints"]
    params = api["named_endpoints"]["/ask"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["question"]
    info = httpx.get(url + "gradio_api/info", timeout=10).json()
    assert set(info["named_endpoints"]) == {"/ask"} and not info["unnamed_endpoints"]


@pytest.mark.integration
def test_no_handler_ingests_or_takes_a_path(app: tuple[str, int, Any]) -> None:
    """Nothing in the app can build an index from a path the user gives: no handler is an ingest
    function, no input is a file or upload component, and the public API takes one string."""
    import gradio as gr

    _, _, demo = app
    names = [getattr(fn, "name", "") or "" for fn in demo.fns.values()]
    assert names and not any("ingest" in n.lower() or "index" in n.lower() for n in names), names
    public = [fn for fn in demo.fns.values() if getattr(fn, "api_visibility", "public") == "public"]
    assert [fn.name for fn in public] == ["ask"]
    file_inputs = [
        b
        for b in demo.blocks.values()
        if isinstance(b, gr.File | gr.UploadButton | gr.Image | gr.Audio | gr.Video)
    ]
    assert not file_inputs, file_inputs
    for part in ("app.py", "chat.py", "sources.py", "lookup.py", "api.py", "render.py", "source_view.py"):
        source = (ROOT / "ui" / part).read_text(encoding="utf-8")
        assert "run_ingest" not in source and "ingest.pipeline" not in source and "build_service" not in source


# ------------------------------------------------------------------ feedback SQL


def test_feedback_store_is_parameterised(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    nasty = [
        DROP,
        "x' OR '1'='1",
        'Robert"); DELETE FROM feedback WHERE ("1"="1',
        "1; ATTACH DATABASE '/tmp/pwn.db' AS pwn; --",
        "\x00nul and ' quote",
    ]
    ids = [
        store.add(question=q, answer=q + " svar", citations=[{"quote": q}], vote="down", answer_json={"q": q})
        for q in nasty
    ]
    assert len(set(ids)) == len(nasty)
    entries = store.entries()
    assert [e.question for e in entries] == nasty
    assert [e.answer for e in entries] == [q + " svar" for q in nasty]
    assert store.count() == len(nasty)
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "feedback" in tables and not (tmp_path / "pwn.db").exists() and not Path("/tmp/pwn.db").exists()
    buf = io.StringIO()
    assert store.export_csv(buf) == len(nasty)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert rows[1][3] == DROP


def test_feedback_vote_cannot_carry_sql(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(ValueError):
        store.add(question="q", answer="a", citations=[], vote="up'); DROP TABLE feedback; --")
    store.add(question="q", answer="a", citations=[], vote="up")
    assert store.count() == 1


def test_feedback_csv_export_defuses_formulas(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    for q in ('=HYPERLINK("http://evil.example")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-679,4"):
        store.add(question=q, answer=q, citations=[], vote="up")
    buf = io.StringIO()
    store.export_csv(buf)
    questions = [row[3] for row in list(csv.reader(io.StringIO(buf.getvalue())))[1:]]
    assert questions == ['\'=HYPERLINK("http://evil.example")', "'+cmd|' /C calc'!A0", "'@SUM(1+1)", "-679,4"]


@pytest.mark.integration
def test_feedback_from_the_chat_keeps_an_injected_question_intact(service: Any, tmp_path: Path) -> None:
    """Through the app's own handlers over the real service: ask in the chat, vote, read the row back."""
    import gradio as gr

    settings = Settings(data_dir=tmp_path, embedding="hash", port=free_port())
    ui = ui_app.RapportUI(service, settings)
    ui.build()
    question = "Hva var netto driftsresultat i 2020? " + DROP
    _, _, _, ticket = ui.admit(question, [], "no", False)
    *_, (messages, turns, _, _) = list(ui.respond(ticket, [], "no", "*", False))
    assert turns and turns[-1].question == " ".join(question.split()) and turns[-1].answer is not None
    like = gr.LikeData(target=None, data={"index": turns[-1].msg_index, "value": "", "liked": True})
    status, _, _ = ui.on_like(turns, "no", like)
    assert "Takk!" in status
    entries = FeedbackStore(tmp_path / "feedback.sqlite3").entries()
    assert len(entries) == 1 and entries[0].question == turns[-1].question and DROP in entries[0].question
    assert entries[0].vote == "up"
