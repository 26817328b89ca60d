"""Serving under pressure and abuse: a bounded queue that answers «busy», clients that leave are
not computed, login attempts rate-limited, no uploads, short refusals with one log line, the first
start on an empty data dir, a read-only data dir, and an index `rapport serve` must not touch.

The LoginLimiter and redaction tests are unit tests; the rest launch the app (integration).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from bundled import answers_net_result
from ui_support import FakeService, free_port

from rapport.settings import Settings
from ui.app import RapportUI, create_app
from ui.launch import LoginLimiter, launch, prepare
from ui.redact import SecretFilter, redact

ROOT = Path(__file__).resolve().parent.parent
integration = pytest.mark.integration
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting:Warning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:Warning"),
]
Q = "Hva var netto driftsresultat i 2020?"
HANG_GUARD_S = 120.0  # bounds a wait that should end; never a latency assertion


def wait_until(check: Any, what: str, timeout: float = HANG_GUARD_S) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.05)


@dataclass
class GatedService(FakeService):
    """FakeService whose answers wait while the test holds the gate closed (open at first, so the
    app can be built)."""

    gate: threading.Event = field(default_factory=lambda: _opened(threading.Event()))
    started: list[str] = field(default_factory=list)

    def ask(self, question: str, history: list | None = None, reports: Any = None) -> Any:
        with self.lock:
            self.started.append(question)
        assert self.gate.wait(HANG_GUARD_S), "the test never opened the gate"
        return super().ask(question, history, reports)


def _opened(event: threading.Event) -> threading.Event:
    event.set()
    return event


# ---------------------------------------------------------------- unit: limiter and redaction


def test_login_limiter_blocks_after_failures_until_the_window_passes() -> None:
    now = [1000.0]
    limiter = LoginLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") is None
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 61 and limiter.retry_after("10.0.0.2") is None
    now[0] += 30
    assert limiter.retry_after("10.0.0.1") == 31
    now[0] += 31
    assert limiter.retry_after("10.0.0.1") is None
    limiter.failed("10.0.0.1")
    limiter.succeeded("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is None


def test_redaction_for_users_and_for_the_log() -> None:
    text = ("Cannot open http://admin:hemmelig@chroma.intern:8000/api/v2 (api_key=sk-abcdefghijklmnop1234) "
            "in /srv/rapport/data/chroma; token: abc123 Bearer eyJhbGciOiJIUzI1NiJ9.x.y C:\\data\\x.db")
    shown = redact(text, ["hemmelig"])
    for leak in ("http", "admin", "hemmelig", "chroma.intern", "sk-abc", "/srv/", "abc123", "eyJ", "C:\\"):
        assert leak not in shown, (leak, shown)
    assert redact("«Netto driftsresultat» i 2020 var -679,4 mill. kr (side 3/4).") == \
        "«Netto driftsresultat» i 2020 var -679,4 mill. kr (side 3/4)."
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login %s failed with %s", ("ola", "pw-9f8e7d"), None)
    try:
        raise RuntimeError("connect http://u:pw-9f8e7d@host/ failed")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    SecretFilter(["pw-9f8e7d"]).filter(record)
    logged = record.getMessage() + (record.exc_text or "")
    assert "pw-9f8e7d" not in logged and "login ola failed" in logged and "http://" in logged  # URLs stay in the log


def test_malloc_arenas_are_capped_unless_the_operator_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    from ui.memory import limit_malloc_arenas, reexec_with_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False  # the operator's choice wins
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert limit_malloc_arenas() is glibc
    reexec_with_malloc_arenas(["pytest", "-q"])  # not `rapport serve`: returns, nothing replaced
    assert "MALLOC_ARENA_MAX" not in os.environ
    tried: list[list[str]] = []

    def cannot(path: str, args: list[str], env: dict[str, str]) -> None:
        tried.append(args)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "execve", cannot)
    reexec_with_malloc_arenas(["/usr/bin/rapport", "serve", "--port", "1"])  # falls back, does not raise
    assert tried == [[sys.executable, "-m", "rapport.cli", "serve", "--port", "1"]]
    assert "MALLOC_ARENA_MAX" not in os.environ


@integration
def test_rapport_serve_runs_with_capped_malloc_arenas(tmp_path: Path) -> None:
    """`rapport serve` re-executes itself with MALLOC_ARENA_MAX=2 (same process id)."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rapport.cli", "serve", "--data-dir", str(tmp_path / "d"),
                             "--embedding", "hash", "--port", str(port)], cwd=ROOT,
                            env=dict(env, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: _up(f"http://127.0.0.1:{port}/") or _died(proc), "the page")
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        assert b"MALLOC_ARENA_MAX=2" in environ
    finally:
        _stop(proc)


def test_the_server_log_has_no_secrets(tmp_path: Path) -> None:
    import io

    from ui.launch import configure_logging

    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        configure_logging(Settings(data_dir=tmp_path, auth_user="u", auth_password="pw-abc123xyz",
                                   llm_api_key="key-987654321"))
        logging.getLogger("rag.llm").error("calling %s with key %s failed", "http://api.example/v1", "key-987654321")
        try:
            raise RuntimeError("login with pw-abc123xyz refused")
        except RuntimeError:
            logging.getLogger("ui.chat").exception("answering failed")
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert "pw-abc123xyz" not in text and "key-987654321" not in text, text
    assert "http://api.example/v1" in text and "RuntimeError: login with [redacted] refused" in text


# ---------------------------------------------------------------- launched apps


def _launch(service: Any, settings: Settings, **kw: Any) -> tuple[Any, str, RapportUI]:
    ui = RapportUI(service, settings)
    demo = ui.build()
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True, **kw)
    return demo, url, ui


def _post_call(url: str, question: str, timeout: float = 30) -> httpx.Response:
    return httpx.post(url + "gradio_api/call/ask", json={"data": [question]}, timeout=timeout)


@contextlib.contextmanager
def _gated_server(tmp_path: Path, queue_size: int) -> Iterator[tuple[GatedService, str, Any]]:
    """A served chat over a GatedService, one answer at a time, its gate closed (opened on exit)."""
    service = GatedService()
    settings = Settings(data_dir=tmp_path / "d", port=free_port(), concurrency_limit=1, queue_size=queue_size)
    demo, url, ui = _launch(service, settings)
    service.gate.clear()
    service.started.clear()
    try:
        yield service, url, ui
    finally:
        service.gate.set()
        demo.close()


@integration
def test_full_queue_gets_busy_in_words_and_the_chat_says_so_in_the_questions_language(tmp_path: Path) -> None:
    with _gated_server(tmp_path, queue_size=3) as (service, url, ui):
        accepted = [_post_call(url, f"{Q} #{i}") for i in range(4)]  # one runs, three wait
        assert [r.status_code for r in accepted] == [200] * 4
        wait_until(lambda: ui.queue_length() >= 3, "three waiting events")
        refused = _post_call(url, Q)
        assert refused.status_code == 503 and refused.headers.get("retry-after") == "5"
        detail = refused.json()
        assert detail["error"] == "busy" and "Prøv igjen om et øyeblikk" in detail["detail"]
        assert "try again in a moment" in detail["detail"] and "Queue is full" not in refused.text
        chat, box, hint, ticket = ui.admit("What was the net operating result?", [], "no", False)
        assert "Many questions are being asked right now" in chat[-1]["content"]  # the question's language
        assert isinstance(ticket, dict)  # no ticket: nothing is queued or computed
        service.gate.set()
        for r in accepted:
            event = r.json()["event_id"]
            text = httpx.get(url + f"gradio_api/call/ask/{event}", timeout=60).text
            assert "event: complete" in text and "-679,4" in text
        assert len(service.started) == 4


@integration
def test_clients_that_leave_are_dropped_not_computed(tmp_path: Path) -> None:
    with _gated_server(tmp_path, queue_size=64) as (service, url, ui):
        first = _post_call(url, "Hva var netto driftsresultat? første").json()["event_id"]
        wait_until(lambda: len(service.started) == 1, "the first answer to start")
        leaving = [_post_call(url, f"{Q} går #{i}").json()["event_id"] for i in range(10)]
        last = _post_call(url, "Hva var netto driftsresultat? siste").json()["event_id"]
        wait_until(lambda: ui.queue_length() == 11, "eleven waiting events")
        for event in leaving:  # each listens, then hangs up
            with httpx.stream("GET", url + f"gradio_api/call/ask/{event}", timeout=30) as r:
                assert r.status_code == 200
                next(r.iter_bytes(), None)
        wait_until(lambda: ui.queue_length() == 1, "the ten that left to be dropped")
        service.gate.set()
        for event in (first, last):
            text = httpx.get(url + f"gradio_api/call/ask/{event}", timeout=60).text
            assert "event: complete" in text and "-679,4" in text
        assert service.started == ["Hva var netto driftsresultat? første", "Hva var netto driftsresultat? siste"]


@integration
def test_login_attempts_are_rate_limited(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    user, password = "ansatt", "pw-" + os.urandom(6).hex()
    settings = Settings(data_dir=tmp_path / "d", port=free_port(), auth_user=user, auth_password=password)
    demo, url, _ = _launch(FakeService(), settings, limiter=LoginLimiter(max_failures=3, window_s=300))
    try:
        with caplog.at_level(logging.INFO, logger="rapport.serve"):
            codes = [httpx.post(url + "login", data={"username": user, "password": f"feil{i}"}, timeout=10).status_code
                     for i in range(3)]
            assert codes == [400, 400, 400]
            blocked = httpx.post(url + "login", data={"username": user, "password": password}, timeout=10)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0  # even the right password
        assert password not in blocked.text and len(blocked.content) < 300
        assert [r.getMessage() for r in caplog.records if "429" in r.getMessage()] == [
            "refused: POST /login -> 429 from 127.0.0.1"]
    finally:
        demo.close()


@integration
def test_no_uploads_and_short_refusals_with_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    user, password = "ansatt", "pw-" + os.urandom(6).hex()
    open_settings = Settings(data_dir=tmp_path / "a", port=free_port())
    login_settings = Settings(data_dir=tmp_path / "b", port=free_port(), auth_user=user, auth_password=password)
    open_demo, open_url, _ = _launch(FakeService(), open_settings)
    login_demo, login_url, _ = _launch(FakeService(), login_settings)
    probes = [
        ("POST", open_url + "gradio_api/upload", 404),
        ("POST", open_url + "upload", 404),
        ("GET", open_url + "gradio_api/upload_progress?upload_id=x", 404),
        ("GET", open_url + "wp-login.php", 404),
        ("GET", open_url + ".env", 404),
        ("POST", login_url + "gradio_api/upload", 404),
        ("GET", login_url + "config", 401),
        ("GET", login_url + "gradio_api/info", 401),
        ("POST", login_url + "gradio_api/queue/join", 401),
        ("POST", login_url + "gradio_api/call/ask", 401),
        ("GET", login_url + "gradio_api/file=/etc/passwd", 401),
    ]
    try:
        capfd.readouterr()
        with caplog.at_level(logging.INFO, logger="rapport.serve"):
            for method, target, status in probes:
                kw: dict[str, Any] = {"files": {"files": ("x.html", b"<script>1</script>", "text/html")}} \
                    if "upload" in target and method == "POST" else {}
                if "queue/join" in target or "call/ask" in target:
                    kw = {"content": b'{"data": ["' + b"x" * 1000 + b'"]}'}
                r = httpx.request(method, target, timeout=10, **kw)
                assert r.status_code == status, (method, target, r.status_code, r.text[:200])
                assert len(r.content) < 300 and "Traceback" not in r.text, (target, r.text[:300])
        lines = [r.getMessage() for r in caplog.records if r.name == "rapport.serve"]
        assert len(lines) == len(probes), lines  # one line each
        assert all(line.startswith("refused: ") for line in lines)
        assert not [r for r in caplog.records if r.exc_info]
        out, err = capfd.readouterr()
        assert "Traceback" not in out + err
        # the app still works
        assert "-679,4" in httpx.get(open_url + "gradio_api/call/ask/" + _post_call(open_url, Q).json()["event_id"],
                                     timeout=30).text
    finally:
        open_demo.close()
        login_demo.close()


# ---------------------------------------------------------------- first start and the data dir


@integration
def test_first_start_page_is_up_while_the_index_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rapport serve` on an empty data dir: the page answers at once and says the index is being
    built; the chat opens when it is ready (the build is held until the test lets it finish)."""
    import rag.service

    release = threading.Event()
    calls: list[dict[str, Any]] = []

    def slow_build(settings: Settings, **kw: Any) -> Any:
        calls.append(kw)
        kw["progress"](100, 1500)
        assert release.wait(HANG_GUARD_S)
        kw["progress"](1500, 1500)
        return FakeService()

    monkeypatch.setattr(rag.service, "build_service", slow_build)
    settings = Settings(data_dir=tmp_path / "empty", port=free_port())
    echoed: list[str] = []
    demo = prepare(settings, echoed.append)
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        assert httpx.get(url, timeout=10).status_code == 200
        assert calls and calls[0]["ingest_missing"] is True and "building it" in echoed[0]
        from gradio_client import Client

        client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        try:
            reply = client.predict(Q, api_name="/ask")
            assert reply["abstained"] and "indeksen bygges" in reply["error"]  # in the question's language
            release.set()
            wait_until(lambda: any("Index ready" in e for e in echoed), "the build to finish")
            assert client.predict(Q, api_name="/ask")["value_raw"] == "-679,4"
        finally:
            client.close()
    finally:
        release.set()
        demo.close()


def _cli(args: list[str], env_extra: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False",
               **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "rapport.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def _ask_when_up(url: str, proc: subprocess.Popen) -> dict[str, Any]:
    """Poll `/ask` until the service answers (not `not ready`); the process must stay alive."""
    from gradio_client import Client

    wait_until(lambda: proc.poll() is None and _up(url) or _died(proc), "the page")
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
    try:
        end = time.monotonic() + HANG_GUARD_S * 2
        while True:
            reply = client.predict(Q, api_name="/ask")
            if not reply.get("error"):
                return reply
            assert "indeksen bygges" in reply["error"], reply  # Q is Norwegian: so is the message
            assert time.monotonic() < end and proc.poll() is None, "the index was never built"
            time.sleep(0.5)
    finally:
        client.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _died(proc: subprocess.Popen) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"rapport serve exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
    return False


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


@integration
def test_rapport_serve_on_an_empty_data_dir_builds_and_answers(tmp_path: Path) -> None:
    port = free_port()
    proc = _cli(["serve", "--data-dir", str(tmp_path / "fresh"), "--embedding", "hash", "--port", str(port)])
    try:
        reply = _ask_when_up(f"http://127.0.0.1:{port}/", proc)
        assert answers_net_result(reply), reply
    finally:
        out = _stop(proc)
    assert "building it from the bundled report" in out and "Index ready" in out and "Traceback" not in out


def _index_digest(root: Path) -> str:
    """What an index holds: every SQLite row (but Chroma's own write-lock bookkeeping, which it
    records whenever a client opens the store) and the bytes of every other file."""
    import sqlite3

    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.endswith(("-wal", "-shm", "-journal")):
            continue
        h.update(str(p.relative_to(root)).encode())
        if p.suffix == ".sqlite3":
            with sqlite3.connect(f"file:{p}?mode=ro", uri=True) as conn:
                for line in conn.iterdump():
                    if not line.startswith('INSERT INTO "acquire_write"'):
                        h.update(line.encode())
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


@integration
def test_rapport_serve_never_touches_an_index_it_cannot_use(tmp_path: Path) -> None:
    """An index built with another embedding model: serve stops with the service's message
    (and the command to upgrade it) and leaves every file as it was."""
    from ingest.pipeline import run_ingest

    data = tmp_path / "built"
    run_ingest(Settings(data_dir=data, embedding="hash"), progress=False)
    before = _index_digest(data / "chroma")
    proc = _cli(["serve", "--data-dir", str(data), "--embedding", "minilm", "--port", str(free_port())])
    out, _ = proc.communicate(timeout=HANG_GUARD_S * 2)
    assert proc.returncode == 1, out
    assert "Error: The index in" in out and "--upgrade" in out and "Traceback" not in out
    assert _index_digest(data / "chroma") == before


@integration
def test_a_read_only_data_dir_serves_with_feedback_off() -> None:
    """A complete index in a data dir the server cannot write: owned by root and served as
    another user (when the tests run as root), or with read-only modes (otherwise)."""
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot serve as a user who may not write")
        _serve_read_only(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], 0o755, 0o644)
    else:
        _serve_read_only([], 0o555, 0o444)


@integration
def test_a_read_only_data_dir_with_read_only_file_modes_serves() -> None:
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv")
    _serve_read_only(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else [],
                     0o555, 0o444)


def _serve_read_only(prefix: list[str], dir_mode: int, file_mode: int) -> None:
    from ingest.pipeline import run_ingest

    base = Path(tempfile.mkdtemp(prefix="rapport-ro-test-", dir="/tmp"))
    try:
        data = base / "data"
        run_ingest(Settings(data_dir=data, embedding="hash"), progress=False)
        home = base / "home"  # the server's own writable place (its caches, the private index copy)
        home.mkdir()
        for p in [base, *base.rglob("*")]:
            p.chmod(0o777 if p == home else dir_mode if p.is_dir() else file_mode)
        port = free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False", HOME=str(home),
                   GRADIO_TEMP_DIR=str(home / "gradio"), TMPDIR=str(home))
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "rapport.cli", "serve", "--data-dir", str(data),
                                 "--embedding", "hash", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            reply = _ask_when_up(url, proc)
            assert answers_net_result(reply), reply
            config = httpx.get(url + "config", timeout=10).json()
            props = {c["props"].get("elem_id"): c["props"] for c in config["components"]}
            assert "Tilbakemelding er slått av" in props["feedback-status"]["value"]
            assert not props["chat"].get("feedback_options")
            assert not (data / "feedback.sqlite3").exists()
        finally:
            out = _stop(proc)
        assert "Traceback" not in out, out[-3000:]
    finally:
        for p in [base, *base.rglob("*")]:
            p.chmod(0o700 if p.is_dir() else 0o600)
        shutil.rmtree(base, ignore_errors=True)


@integration
def test_api_errors_and_traces_carry_no_urls_or_paths(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", port=free_port())
    demo = create_app(FakeService(), settings)
    _, url, _ = launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        for question in ("boom", Q):
            text = httpx.get(url + "gradio_api/call/ask/" + _post_call(url, question).json()["event_id"],
                             timeout=30).text
            data = json.loads(text.split("data: ", 1)[1].splitlines()[0])[0]
            blob = json.dumps({k: data.get(k) for k in ("error", "trace")})
            for leak in ("http", "/etc/", "user:pw", "chroma.internal", "Traceback"):
                assert leak not in blob, (question, blob)
    finally:
        demo.close()
