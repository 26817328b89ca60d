"""Faults at the index level, each checked for what really happens to the index and to the
answers: a Chroma server that goes away, a missing or stale index, a read-only data dir, a full
disk, an ingest killed with SIGKILL half-way, and two builds racing for the active pointer.

The promises under test (ingest/builds.py, ingest/store.py, rag/service.py): a build writes a new
collection, marks it complete and only then moves the active pointer, so whatever goes wrong the
previous build keeps serving (same collection, same records, same answers), and the next ingest
ends consistent: exactly one active, complete build; incomplete leftovers are never served and
are removed once old enough. A running service holds its build in memory, so it answers the same
while the store is away, and swaps to a new build only as a whole.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import tempfile
import threading
import time
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from bundled import same_figure
from chromadb.api.client import Client
from chromadb.api.models.Collection import Collection
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.errors import InternalError, NotFoundError
from fakereport import fake_report_text
from helpers_chroma import (
    Backend,
    ChromaServer,
    assert_one_active_complete,
    build_collections,
    cli_env,
    free_port,
    rapport_cmd,
    slow_ingest_cmd,
)

import ingest.builds as builds
import ingest.chroma
import ingest.embeddings
import ingest.pipeline
import ingest.store as store
import rapport.settings
from ingest.builds import ACTIVE_SUFFIX, STALE_BUILD_GRACE_S
from ingest.chroma import ChromaUnavailableError, make_client
from ingest.embed_cache import SQLiteByteStore
from ingest.embedded import report_units
from ingest.embeddings import HashEmbeddings
from ingest.pipeline import (
    IngestError,
    list_reports,
    read_report,
    remove_report,
    run_ingest,
    running_versions,
    upgrade_index,
)
from ingest.store import (
    IndexInfo,
    active_name,
    build_index,
    check_index,
    fingerprint_of,
    load_index,
    open_active,
)
from rag.service import ServiceError, build_service
from rapport.settings import Settings

STILL_SERVES = "the previous index (if any) still serves"
RUNNING = running_versions("hash-256")  # what Settings(embedding="hash") builds and reads

# The bundled report answers Q_RESULT with OLD_VALUE; the changed_source fixture with NEW_VALUE (as the
# table prints it or the text rounds it: tests/bundled.py).
Q_RESULT = "Netto driftsresultat 2020"
OLD_VALUE, NEW_VALUE = -679.4, -702.3
QUESTIONS = (
    Q_RESULT,
    "Netto driftsresultat før disponering 2020",
    "Hvor stor var likviditetsreserven?",  # abstains (hash vectors), with the nearest candidate
    "What was the net operating result in 2020?",
)
# The small fake report (tests/fakereport.py; 27 records, fast to build) answers these with
# figures that scale with it: Q_PUPILS gives PUPILS_A in fake_a and PUPILS_B in fake_b.
FAKE_QUESTIONS = (
    "Hvor mange elever var det i grunnskolen i 2020?",
    "Hvor mange årsverk hadde kommunen?",
    "Hva var sykefraværet i 2020?",
)
Q_PUPILS = FAKE_QUESTIONS[0]
PUPILS_A, PUPILS_B = 4150, 4980


@pytest.fixture
def fake_a(tmp_path: Path) -> Path:
    path = tmp_path / "eksempel.txt"
    path.write_text(fake_report_text(), encoding="utf-8")
    return path


@pytest.fixture
def fake_b(tmp_path: Path) -> Path:
    """The same report (same id) with every figure 1.2 times larger: another build."""
    path = tmp_path / "eksempel-endret.txt"
    path.write_text(fake_report_text(scale=1.2), encoding="utf-8")
    return path


def _small_batches(monkeypatch: pytest.MonkeyPatch, size: int = 8) -> None:
    """build_index writes in batches of ``size`` records (the fake report then takes 4)."""
    monkeypatch.setitem(store.build_index.__wrapped__.__kwdefaults__, "batch_size", size)


def _same(answer):
    """An answer without its timing: two answers from one build are equal in everything else."""
    return replace(answer, latency_ms=0.0)


def _answers(service, questions=QUESTIONS) -> list:
    return [_same(service.ask(q)) for q in questions]


def _fresh_client(backend: Backend):
    """A client as a new process would open it. For local files, first drop this process's
    cached Chroma system, so nothing stale from before a child process wrote is reused."""
    if backend.kind == "local":
        SharedSystemClient.clear_system_cache()
    return backend.client()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_still_serving(
    settings: Settings, old: IndexInfo, question: str = Q_PUPILS, value: float = PUPILS_A
) -> None:
    """The old build serves unchanged: the pointer names it with all its records, it is the only
    complete build, and a service started now loads it and answers from it."""
    client = make_client(settings.data_dir, settings.chroma_url)
    info = assert_one_active_complete(client, settings.collection_prefix, old.count)
    assert info == old
    service = build_service(settings)
    assert service.build == old.collection_name
    assert same_figure(service.ask(question).value, value)


def _active(settings: Settings) -> IndexInfo:
    info = open_active(make_client(settings.data_dir, settings.chroma_url), settings.collection_prefix)
    assert info is not None
    return info


def _server_settings(server: ChromaServer, tmp_path: Path, prefix: str, **kw) -> Settings:
    return Settings(
        chroma_url=server.url, embedding="hash", data_dir=tmp_path / "data", collection_prefix=prefix, **kw
    )


# -- the Chroma server goes away ------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_server_stopped_mid_session_the_service_answers_the_same_and_picks_up_a_reingest_when_back(
    own_chroma_server: ChromaServer,
    tmp_path: Path,
    chroma_prefix: str,
    changed_source: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A running service (as behind the chat) loses its Chroma server: it answers exactly as
    before (the build is in memory), and its pointer check logs the failure instead of failing.
    The server comes back and a re-ingest is done meanwhile: the service swaps to it on its own."""
    server = own_chroma_server
    settings = _server_settings(server, tmp_path, chroma_prefix)
    first = run_ingest(settings, progress=False)
    service = build_service(settings)
    service._check_every_s = 0.0  # check the pointer before every answer (build_service takes no interval)
    before = _answers(service)
    assert same_figure(before[0].value, OLD_VALUE)

    server.stop(signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="rag.service"):
        down = _answers(service)
        assert service.refresh(force=True) is False
    assert down == before and service.build == first.collection
    failed_checks = [r for r in caplog.records if r.name == "rag.service" and "active index build" in r.getMessage()]
    assert len(failed_checks) == len(QUESTIONS) + 1  # every check was tried, and logged
    # the record's exception names the server (as exc_info, or as exc_text once a secrets filter
    # installed by an app in this process has formatted it)
    assert all(server.url in (str(r.exc_info[1]) if r.exc_info else r.exc_text or "") for r in failed_checks)

    server.start()  # same path, same port
    new = run_ingest(replace(settings, source=changed_source), progress=False)
    assert not new.reused and new.collection != first.collection
    after = service.ask(Q_RESULT)  # no restart of the service
    assert service.build == new.collection and same_figure(after.value, NEW_VALUE)
    assert [r.id for r in service.reports()] == ["baerum-2020"]


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "crashed"])
def test_server_down_at_start_gives_a_clear_error_and_the_index_survives_a_restart(
    own_chroma_server: ChromaServer, tmp_path: Path, chroma_prefix: str, fake_a: Path, sig: int
) -> None:
    server = own_chroma_server
    settings = _server_settings(server, tmp_path, chroma_prefix, source=fake_a)
    built = run_ingest(settings, progress=False)
    info = _active(settings)
    reference = _answers(build_service(settings), FAKE_QUESTIONS)
    server.stop(sig)

    with pytest.raises(IngestError, match=re.escape(server.url)) as err:
        run_ingest(settings, progress=False)
    assert "Cannot open the index store" in str(err.value) and "Could not connect" in str(err.value)
    for other in (list_reports, upgrade_index, lambda s: remove_report(s, "eksempel-2020")):
        with pytest.raises(IngestError, match=re.escape(server.url)):
            other(settings)
    with pytest.raises(ServiceError, match=re.escape(server.url)) as serr:
        build_service(settings)
    assert "Cannot open the index store" in str(serr.value)

    server.start()  # same path, same port
    _assert_still_serving(settings, info)
    assert set(build_collections(make_client(tmp_path, server.url), chroma_prefix)) == {built.collection}
    assert _answers(build_service(settings), FAKE_QUESTIONS) == reference
    again = run_ingest(settings, progress=False)
    assert again.reused and again.collection == built.collection


@pytest.mark.integration
@pytest.mark.parametrize("command", ["ingest", "ask", "reports"])
def test_cli_with_the_server_down_prints_one_line_naming_it(tmp_path: Path, chroma_prefix: str, command: str) -> None:
    """`rapport ingest|ask|reports --chroma-url URL` with nothing listening there: exit code 1
    and one readable line that names the URL, no traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    args = {"ingest": ["ingest", "--no-progress", "--embedding", "hash"],
            "ask": ["ask", "--embedding", "hash", Q_RESULT], "reports": ["reports"]}[command]
    cli = subprocess.run(
        [*rapport_cmd(), *args, "--chroma-url", url, "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=cli_env(chroma_prefix), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "Traceback" not in cli.stdout + cli.stderr
    assert cli.stderr.startswith(f"Error: Cannot open the index store ({url})"), cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1, cli.stderr


@pytest.mark.integration
@pytest.mark.parametrize("phase", ["embedding", "writing"])
def test_server_lost_half_way_through_a_build(
    own_chroma_server: ChromaServer,
    tmp_path: Path,
    chroma_prefix: str,
    fake_a: Path,
    fake_b: Path,
    monkeypatch: pytest.MonkeyPatch,
    phase: str,
) -> None:
    """The server stops while a new build is embedded (nothing written yet) or after two batches
    of it are in Chroma: a clear error naming the URL; after a restart the previous build serves
    and is the only complete one; the next ingest switches to a complete new build."""
    server = own_chroma_server
    settings = _server_settings(server, tmp_path, chroma_prefix, source=fake_a)
    run_ingest(settings, progress=False)
    old = _active(settings)
    _small_batches(monkeypatch)

    written: list[int] = []
    progress = False
    if phase == "writing":
        real_add = Collection.add

        def add(self, *args, **kwargs):
            out = real_add(self, *args, **kwargs)
            written.append(len(kwargs["ids"]))
            if len(written) == 2:
                server.stop()
            return out

        monkeypatch.setattr(Collection, "add", add)
    else:
        calls: list[int] = []

        def progress(done: int, total: int) -> None:  # embedding progress: half-way through
            calls.append(done)
            if done >= total // 2 and server.running:
                server.stop()

    with pytest.raises(IngestError, match=re.escape(server.url)) as err:
        # embed_batch_size=2: the new report's texts are embedded in steps of 8
        run_ingest(replace(settings, source=fake_b, embed_batch_size=2), progress=progress)
    assert "is not reachable" in str(err.value) and "Start it with `chroma run`" in str(err.value)
    assert not server.running
    if phase == "writing":
        assert len(written) == 2
    else:
        n_units = len(report_units(read_report(fake_b)))
        # the server went away half-way; the ingest went on embedding to the end
        assert calls == [*range(8, n_units, 8), n_units]
    monkeypatch.undo()

    server.start()
    _assert_still_serving(settings, old)  # ... which also says: one active complete build
    client = make_client(tmp_path, server.url)
    leftovers = {n: m for n, m in build_collections(client, chroma_prefix).items() if n != old.collection_name}
    if phase == "writing":
        # the half-built collection could not be dropped (no server): an incomplete leftover
        ((leftover, meta),) = leftovers.items()
        assert meta["complete"] is False
        assert client.get_collection(leftover, embedding_function=None).count() == sum(written) < old.count
    else:
        assert leftovers == {}  # nothing was written before the server went away

    new = run_ingest(replace(settings, source=fake_b), progress=False)
    assert not new.reused and new.collection not in leftovers
    info = assert_one_active_complete(client, chroma_prefix)
    assert info.collection_name == new.collection and info.reports[0].sha256 == _sha(fake_b)
    assert build_service(settings).ask(Q_PUPILS).value == PUPILS_B


def test_make_client_error_names_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ValueError, match="Could not connect to a Chroma server") as err:
        make_client(tmp_path, url)
    assert url in str(err.value)


@pytest.mark.integration
def test_reads_name_the_url_when_the_server_went_away(
    own_chroma_server: ChromaServer, tmp_path: Path, chroma_prefix: str, fake_a: Path
) -> None:
    settings = _server_settings(own_chroma_server, tmp_path, chroma_prefix, source=fake_a)
    run_ingest(settings, progress=False)
    client = make_client(tmp_path, own_chroma_server.url)
    info = open_active(client, chroma_prefix)
    assert info is not None
    own_chroma_server.stop()
    for read in (
        lambda: open_active(client, chroma_prefix),
        lambda: active_name(client, chroma_prefix),
        lambda: check_index(client, chroma_prefix, RUNNING),
        lambda: load_index(client, info),
    ):
        with pytest.raises(ChromaUnavailableError, match=re.escape(own_chroma_server.url)):
            read()


# -- a missing or stale index ---------------------------------------------------------------------


def _where(backend: Backend) -> str:
    return backend.url or str(backend.data_dir)


def _where_flag(backend: Backend) -> str:
    """How the command the user is told to run names this index."""
    return f"--chroma-url {backend.url}" if backend.url else f"--data-dir {backend.data_dir}"


def test_missing_index_is_reported_with_the_command_to_run(backend: Backend, fake_a: Path) -> None:
    settings = backend.settings(source=fake_a)
    client = backend.client()
    assert check_index(client, backend.prefix, RUNNING) == ("missing", None)
    with pytest.raises(ServiceError) as err:
        build_service(settings)
    assert f"No index in {_where(backend)}" in str(err.value)
    assert f"run `rapport ingest {_where_flag(backend)}`" in str(err.value)
    assert list_reports(settings) == []
    with pytest.raises(IngestError, match="nothing to upgrade"):
        upgrade_index(settings, progress=False)

    built = run_ingest(settings, progress=False)
    status, info = check_index(client, backend.prefix, RUNNING)
    assert status == "ok" and info is not None and info.collection_name == built.collection
    assert build_service(settings).ask(Q_PUPILS).value == PUPILS_A


def test_pointer_to_a_deleted_collection_is_missing_then_rebuilt(
    backend: Backend, fake_a: Path, fake_b: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rapport.settings, "bundled_report_path", lambda: fake_b)  # a small one, for speed
    settings = backend.settings()
    first = run_ingest(replace(settings, source=fake_a), progress=False)
    client = backend.client()
    client.delete_collection(first.collection)  # e.g. removed by hand on the server
    assert active_name(client, backend.prefix) == first.collection  # the pointer dangles
    assert open_active(client, backend.prefix) is None
    assert check_index(client, backend.prefix, RUNNING) == ("missing", None)
    assert list_reports(settings) == []
    with pytest.raises(ServiceError, match=f"No index in {re.escape(_where(backend))}"):
        build_service(settings)

    service = build_service(settings, ingest_missing=True)  # a dangling pointer is an empty index
    assert service.build != first.collection and [r.sha256 for r in service.reports()] == [_sha(fake_b)]
    assert service.ask(Q_PUPILS).value == PUPILS_B
    info = assert_one_active_complete(client, backend.prefix)
    assert info.collection_name == service.build == active_name(client, backend.prefix)


@pytest.mark.slow  # builds the bundled report
def test_ingest_missing_builds_the_bundled_report_only_into_an_empty_index(
    backend: Backend, fake_a: Path
) -> None:
    # an empty index: the bundled report is built
    empty = backend.settings(collection_prefix=backend.prefix + "e")
    service = build_service(empty, ingest_missing=True)
    assert [r.id for r in service.reports()] == ["baerum-2020"]
    assert same_figure(service.ask(Q_RESULT).value, OLD_VALUE)
    assert_one_active_complete(backend.client(), empty.collection_prefix)

    # an index the user built (another report): served as it is, never replaced or extended
    settings = backend.settings()
    users = run_ingest(replace(settings, source=fake_a), progress=False)
    client = backend.client()
    before = build_collections(client, backend.prefix)
    service = build_service(settings, ingest_missing=True)
    assert service.build == users.collection and [r.id for r in service.reports()] == ["eksempel-2020"]
    assert service.ask(Q_PUPILS).value == PUPILS_A
    assert build_collections(client, backend.prefix) == before


def _with_hash128(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register a second fake model, "hash128": HashEmbeddings(dim=128), model_id "hash-128"."""
    original = ingest.embeddings.make_embeddings

    def make_embeddings(name: str, batch_size: int = 32):
        return HashEmbeddings(dim=128) if name == "hash128" else original(name, batch_size)

    monkeypatch.setattr(ingest.embeddings, "make_embeddings", make_embeddings)


def _build_stale(backend: Backend, what: str, source: Path, monkeypatch: pytest.MonkeyPatch) -> IndexInfo:
    """An index of ``source`` built by another embedding model (128-d vectors), parser (one that
    missed the last table) or unit version (other unit texts): what it holds differs from what
    this code makes, so anything carried over unchanged shows."""
    settings = backend.settings(source=source)
    with monkeypatch.context() as m:
        if what == "model":
            settings = replace(settings, embedding="hash128")
        elif what == "parser":
            real_parse = ingest.pipeline.parse_report

            def older_parser(*args, **kwargs):
                report = real_parse(*args, **kwargs)
                return replace(report, tables=report.tables[:-1])

            m.setattr(ingest.pipeline, "PARSER_VERSION", "an-older-parser")
            m.setattr(ingest.pipeline, "parse_report", older_parser)
        else:
            real_units = ingest.pipeline.report_units
            m.setattr(ingest.pipeline, "UNITS_VERSION", "an-older-unit-set")
            m.setattr(ingest.pipeline, "report_units",
                      lambda report: [replace(u, text=f"{u.text} (older units)") for u in real_units(report)])
        run_ingest(settings, progress=False)
    return _active(settings)


def _assert_vectors_of_this_model(client, info: IndexInfo) -> None:
    """Every unit vector of the build is what the running model (hash, 256-d) gives for the text
    of a unit of the stored report: nothing of another model or of other units is mixed in."""
    stored = load_index(client, info)
    model = HashEmbeddings()
    for report in stored.reports:
        units = report_units(report)
        assert stored.keys[report.meta.id] == [u.key for u in units]
        expected = np.asarray(model.embed_documents([u.text for u in units]), dtype=np.float32)
        assert stored.vectors[report.meta.id].shape == expected.shape == (len(units), 256)
        np.testing.assert_allclose(stored.vectors[report.meta.id], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("what", ["model", "parser", "units"])
def test_an_index_built_by_other_versions_is_stale_and_upgraded_from_itself(
    backend: Backend, tmp_path: Path, fake_a: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    _with_hash128(monkeypatch)
    stale = _build_stale(backend, what, fake_a, monkeypatch)
    text, expected_report = fake_a.read_text(encoding="utf-8"), read_report(fake_a)
    fake_a.unlink()  # the upgrade needs no source file
    settings = backend.settings()
    client = backend.client()

    status, info = check_index(client, backend.prefix, RUNNING)
    assert status == "stale" and info == stale
    (why,) = stale.versions.differences(RUNNING)
    assert why.startswith({"model": "embedding model hash-128", "parser": "parser an-older-parser",
                           "units": "embedded units an-older-unit-set"}[what])
    for ingest_missing in (False, True):  # a stale index is never replaced behind the user's back
        with pytest.raises(ServiceError) as err:
            build_service(settings, ingest_missing=ingest_missing)
        message = str(err.value)
        assert "another version" in message and why in message
        assert f"`rapport ingest {_where_flag(backend)} --upgrade`" in message
    assert set(build_collections(client, backend.prefix)) == {stale.collection_name}

    upgraded = upgrade_index(settings, progress=False)
    assert upgraded.collection_name != stale.collection_name and upgraded.versions == RUNNING
    assert assert_one_active_complete(client, backend.prefix) == replace(upgraded, reused=True)
    assert set(build_collections(client, backend.prefix)) == {upgraded.collection_name}
    assert [(r.id, r.sha256) for r in upgraded.reports] == [(r.id, r.sha256) for r in stale.reports]
    assert load_index(client, upgraded).reports == (expected_report,)  # as this parser reads the source
    _assert_vectors_of_this_model(client, upgraded)

    # it answers exactly as an index built from the source by this code
    fresh = backend.settings(collection_prefix=backend.prefix + "f", source=tmp_path / "again.txt")
    fresh.source_path.write_text(text, encoding="utf-8")
    run_ingest(fresh, progress=False)
    expected = _answers(build_service(fresh), FAKE_QUESTIONS)
    assert expected[0].value == PUPILS_A
    assert _answers(build_service(settings), FAKE_QUESTIONS) == expected


@pytest.mark.parametrize("what", ["model", "parser", "units"])
def test_adding_a_report_to_a_stale_index_rebuilds_every_report_never_mixes(
    backend: Backend, tmp_path: Path, fake_a: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    _with_hash128(monkeypatch)
    stale = _build_stale(backend, what, fake_a, monkeypatch)
    expected_report = read_report(fake_a)
    other = tmp_path / "nabo.txt"
    other.write_text(fake_report_text(2021, 1.3, "Nabo"), encoding="utf-8")

    added = run_ingest(backend.settings(source=other), progress=False)
    assert not added.reused and added.reports == ("eksempel-2020", "nabo-2021")
    client = backend.client()
    info = assert_one_active_complete(client, backend.prefix)
    assert info.collection_name == added.collection and info.versions == RUNNING
    assert set(build_collections(client, backend.prefix)) == {added.collection}
    assert stale.collection_name != added.collection
    _assert_vectors_of_this_model(client, info)
    stored = load_index(client, info)
    assert stored.reports[0] == expected_report and stale.reports[0].sha256 == expected_report.source_sha256
    assert stored.reports[1] == read_report(other)


# -- a read-only data dir -------------------------------------------------------------------------


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~bits)


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _read_only_argv(tmp_path: Path) -> list[str]:
    """argv prefix under which permission bits bind: none for an ordinary user; for root (as in
    CI), which writes anywhere through CAP_DAC_OVERRIDE, `setpriv` without that capability.
    Probed, not guessed from the uid."""

    def probe(prefix: list[str]) -> bool:
        d = tmp_path / "permission-probe"
        d.mkdir(exist_ok=True)
        d.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            done = subprocess.run([*prefix, "touch", str(d / "x")], capture_output=True, timeout=30)
            return done.returncode != 0
        finally:
            d.chmod(stat.S_IRWXU)
            (d / "x").unlink(missing_ok=True)

    if probe([]):
        return []
    setpriv = shutil.which("setpriv")
    prefix = [setpriv, "--bounding-set", "-dac_override"] if setpriv else []
    if not prefix or not probe(prefix):
        pytest.skip("cannot make a directory read-only for this user (root without setpriv)")
    return prefix


@pytest.mark.integration
@pytest.mark.slow
def test_read_only_data_dir_ingest_fails_clearly_and_the_old_index_serves(
    tmp_path: Path, fake_a: Path, fake_b: Path, chroma_prefix: str
) -> None:
    """A data dir whose files the user may not write (a read-only mount, another owner): the
    ingest stops with one clear line; asking and listing still work, from a private copy; not
    a byte of the data dir changes."""
    as_reader = _read_only_argv(tmp_path)
    backend = Backend("local", tmp_path / "data", None, chroma_prefix)
    settings = backend.settings(source=fake_a)
    run_ingest(settings, progress=False)
    old = _active(settings)
    reference = build_service(settings).ask(Q_PUPILS).to_json()
    SharedSystemClient.clear_system_cache()
    before = _tree_digest(backend.data_dir)
    copies = tmp_path / "tmp"  # the children's temporary files (their private copies of the index)
    copies.mkdir()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*as_reader, *rapport_cmd(), *args, "--data-dir", str(backend.data_dir)],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env=cli_env(chroma_prefix, RAPPORT_EMBEDDING="hash", TMPDIR=str(copies)),
        )  # fmt: skip

    _chmod_tree(backend.data_dir, writable=False)
    try:
        ingested = cli("ingest", "--no-progress", "--source", str(fake_b))
        asked = cli("ask", "--json", Q_PUPILS)
        listed = cli("reports")
    finally:
        _chmod_tree(backend.data_dir, writable=True)
    assert ingested.returncode == 1, ingested.stdout + ingested.stderr
    assert "Traceback" not in ingested.stderr
    assert re.search(r"(?i)read-?only", ingested.stderr), ingested.stderr
    assert ingested.stderr.startswith(f"Error: Cannot open the index store ({backend.data_dir})")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    answer = json.loads(asked.stdout)
    assert {**answer, "latency_ms": 0} == {**reference, "latency_ms": 0}
    assert listed.returncode == 0 and listed.stdout.startswith("eksempel-2020\t"), listed.stdout + listed.stderr
    assert _tree_digest(backend.data_dir) == before
    assert len(list(copies.glob("rapport-ro-*/chroma"))) == 2  # ask and reports each read a private copy

    SharedSystemClient.clear_system_cache()
    _assert_still_serving(settings, old)
    new = run_ingest(replace(settings, source=fake_b), progress=False)
    assert assert_one_active_complete(backend.client(), chroma_prefix).collection_name == new.collection


def test_a_complete_index_on_a_read_only_mount_serves_from_a_private_copy(
    tmp_path: Path, chroma_prefix: str, fake_a: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Backend("local", tmp_path / "data", None, chroma_prefix).settings(source=fake_a)
    run_ingest(settings, progress=False)
    reference = _answers(build_service(settings), FAKE_QUESTIONS)
    SharedSystemClient.clear_system_cache()  # as a new process: nothing opened yet
    copies = tmp_path / "tmp"
    copies.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(copies))
    before = _tree_digest(settings.data_dir)
    _chmod_tree(settings.data_dir, writable=False)
    try:
        if os.access(settings.data_dir / "chroma", os.W_OK):
            # root ignores permission bits: tell make_client what a read-only mount tells it
            monkeypatch.setattr(ingest.chroma, "_writable", lambda path: False)
        service = build_service(settings)
        assert _answers(service, FAKE_QUESTIONS) == reference
        assert service.refresh(force=True) is False
    finally:
        _chmod_tree(settings.data_dir, writable=True)
    assert _tree_digest(settings.data_dir) == before
    (copy,) = copies.glob("rapport-ro-*/chroma")
    assert _tree_digest(copy).keys() >= {"chroma.sqlite3"}
    # Chroma opens its files for writing: the private copy must be writable by its owner
    assert all(p.stat().st_mode & stat.S_IWUSR for p in [copy, *copy.rglob("*")])


def _raise_erofs(*args, **kwargs):
    raise OSError(errno.EROFS, "Read-only file system")


# Each write a build makes, in order. The store turns read-only (or full) right before it.
WRITE_STEPS = {
    "create": (Client, "create_collection"),  # the new build collection
    "add": (Collection, "add"),  # its records
    "mark-complete": (Collection, "modify"),  # its completion mark (the first modify of a build)
    "pointer": (Collection, "modify"),  # the active pointer (a modify of P--active)
    "cleanup": (Client, "delete_collection"),  # dropping the previous build after the switch
}


@pytest.mark.parametrize("step", list(WRITE_STEPS))
def test_read_only_store_at_each_write_step(
    backend: Backend, fake_a: Path, fake_b: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """EROFS at one write of a build: before the switch, the ingest fails clearly and the previous
    build serves with nothing left behind; after the switch (cleanup), the new build serves and
    the ingest says so. The next ingests end consistent and serve what they were asked to."""
    settings = backend.settings(source=fake_a)
    run_ingest(settings, progress=False)
    old = _active(settings)
    cls, method = WRITE_STEPS[step]
    real = getattr(cls, method)

    def failing(self, *args, **kwargs):
        if step == "pointer" and not self.name.endswith(ACTIVE_SUFFIX):
            return real(self, *args, **kwargs)  # the build's own completion mark goes through
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(cls, method, failing)
    changed = replace(settings, source=fake_b)
    if step == "cleanup":
        new = run_ingest(changed, progress=False)
        monkeypatch.undo()
        client = backend.client()
        info = open_active(client, backend.prefix)
        assert info is not None and info.collection_name == new.collection and not new.reused
        assert set(build_collections(client, backend.prefix)) == {new.collection, old.collection_name}
        assert build_service(settings).ask(Q_PUPILS).value == PUPILS_B
    else:
        with pytest.raises(IngestError, match="Read-only file system") as err:
            run_ingest(changed, progress=False)
        assert STILL_SERVES in str(err.value)
        monkeypatch.undo()
        _assert_still_serving(settings, old)
        assert set(build_collections(backend.client(), backend.prefix)) == {old.collection_name}
        # the same report as before is up to date: the failed build never comes back
        again = run_ingest(settings, progress=False)
        assert again.reused and again.collection == old.collection_name
        assert build_service(settings).ask(Q_PUPILS).value == PUPILS_A

    new = run_ingest(changed, progress=False)
    info = assert_one_active_complete(backend.client(), backend.prefix)
    assert info.collection_name == new.collection and info.reports[0].sha256 == _sha(fake_b)
    assert set(build_collections(backend.client(), backend.prefix)) == {new.collection}


# -- a full disk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), InternalError("database or disk is full")],
    ids=["ENOSPC", "sqlite-full"],
)
def test_full_disk_during_ingest(
    backend: Backend, fake_a: Path, fake_b: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    settings = backend.settings(source=fake_a)
    run_ingest(settings, progress=False)
    old = _active(settings)
    _small_batches(monkeypatch)
    real_add = Collection.add
    calls = 0

    def add(self, *args, **kwargs):  # the disk fills up during the 2nd batch
        nonlocal calls
        calls += 1
        if calls == 2:
            raise error
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "add", add)
    with pytest.raises(IngestError, match=re.escape(str(error))) as err:
        run_ingest(replace(settings, source=fake_b), progress=False)
    assert calls == 2 and STILL_SERVES in str(err.value)
    monkeypatch.undo()  # space freed

    _assert_still_serving(settings, old)
    client = backend.client()
    assert set(build_collections(client, backend.prefix)) == {old.collection_name}  # the half-built one was dropped

    new = run_ingest(replace(settings, source=fake_b), progress=False)
    assert not new.reused
    info = assert_one_active_complete(client, backend.prefix)
    assert info.collection_name == new.collection
    assert info.fingerprint == fingerprint_of([read_report(fake_b)], RUNNING)
    assert set(build_collections(client, backend.prefix)) == {new.collection}


@pytest.mark.parametrize("where", ["create", "store"])
def test_full_disk_for_the_embedding_cache_does_not_stop_the_ingest(
    tmp_path: Path, chroma_prefix: str, fake_a: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The cache cannot even be created, or every write to it fails: the ingest embeds without
    it and builds a complete index with the right vectors."""
    tried: list[str] = []

    def full(self, *args):
        tried.append(where)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SQLiteByteStore, "_create" if where == "create" else "_store", full)
    backend = Backend("local", tmp_path / "data", None, chroma_prefix)
    built = run_ingest(backend.settings(source=fake_a), progress=False)
    assert tried and not built.reused and built.embedded == built.units == len(report_units(read_report(fake_a)))
    client = backend.client()
    info = assert_one_active_complete(client, chroma_prefix)
    _assert_vectors_of_this_model(client, info)
    cache = tmp_path / "data" / "embed-cache.sqlite3"
    if cache.exists():
        with sqlite3.connect(cache) as con:
            assert con.execute("SELECT count(*) FROM vectors").fetchone() == (0,)
        con.close()
    assert build_service(backend.settings()).ask(Q_PUPILS).value == PUPILS_A


# -- an ingest killed with SIGKILL half-way -------------------------------------------------------


class _Watchdog:
    """Kills a child process that hangs longer than ``seconds`` (so a test fails, not hangs)."""

    def __init__(self, proc: subprocess.Popen, seconds: float) -> None:
        self.timer = threading.Timer(seconds, proc.kill)

    def __enter__(self) -> _Watchdog:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()


def _shift_build_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make ingest.builds see a clock ``seconds`` ahead (as if the next ingest ran that much later)."""
    real = time.time
    monkeypatch.setattr(builds, "time", types.SimpleNamespace(time=lambda: real() + seconds))


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("phase", ["embedding", "writing"])
def test_sigkill_half_way_keeps_the_old_index_and_the_next_ingest_is_consistent(
    backend: Backend, tmp_path: Path, changed_source: Path, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    """`rapport ingest` killed with SIGKILL while it embeds (nothing written yet) or after two
    batches of its build are in Chroma. The kill lands at a point the child reports and then
    holds at, so where it lands does not depend on timing."""
    settings = backend.settings()
    run_ingest(settings, progress=False)
    old = _active(settings)
    SharedSystemClient.clear_system_cache()  # local files: let go of them while the child writes

    args = ["--embedding", "hash", "--source", str(changed_source), "--data-dir", str(backend.data_dir)]
    if backend.url:
        args += ["--chroma-url", backend.url]
    hold = {"embedding": "RAPPORT_TEST_HOLD_AT", "writing": "RAPPORT_TEST_HOLD_ADD_AT"}[phase]
    env = cli_env(backend.prefix, **{hold: "2", "RAPPORT_TEST_HOLD_FILE": str(tmp_path / "never")})
    proc = subprocess.Popen(
        slow_ingest_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
    )
    seen: list[str] = []
    with _Watchdog(proc, 120):
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.strip())
            if line.startswith("holding"):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == -signal.SIGKILL and seen[-1] == "holding", (seen, stderr)
    added = [int(line.split()[2]) for line in seen if line.startswith("add ")]
    assert len(added) == (2 if phase == "writing" else 0), seen

    client = _fresh_client(backend)
    _assert_still_serving(settings, old, Q_RESULT, OLD_VALUE)
    leftovers = {n: m for n, m in build_collections(client, backend.prefix).items() if n != old.collection_name}
    if phase == "writing":
        # the kill left an incomplete collection behind (two batches): it is ignored by readers
        ((leftover, meta),) = leftovers.items()
        assert meta["complete"] is False
        assert meta["fingerprint"] == fingerprint_of([read_report(changed_source)], RUNNING)
        assert client.get_collection(leftover, embedding_function=None).count() == sum(added)
    else:
        assert leftovers == {}

    # the next ingest (right away): builds, switches, drops the old build, never serves the leftover
    new = run_ingest(replace(settings, source=changed_source), progress=False)
    assert not new.reused and new.collection not in {old.collection_name, *leftovers}
    info = assert_one_active_complete(client, backend.prefix)
    assert info.collection_name == new.collection
    assert set(build_collections(client, backend.prefix)) == {new.collection, *leftovers}
    assert same_figure(build_service(settings).ask(Q_RESULT).value, NEW_VALUE)
    # ... a young incomplete collection may be another process's build in progress, so it is
    # spared for STALE_BUILD_GRACE_S; an ingest after that removes it
    _shift_build_clock(monkeypatch, STALE_BUILD_GRACE_S + 1)
    later = run_ingest(replace(settings, source=changed_source), progress=False)
    assert later.reused and later.collection == new.collection
    assert set(build_collections(client, backend.prefix)) == {new.collection}


# -- two builds racing for the active pointer -----------------------------------------------------


def _small(year: int = 2020, scale: float = 1.0):
    from ingest.parse import parse_report
    from ingest.pipeline import with_meta

    report = with_meta(parse_report(fake_report_text(year, scale), f"r{year}.txt"))
    units = report_units(report)
    vectors = np.asarray(HashEmbeddings().embed_documents([u.text for u in units]), dtype=np.float32)
    return [report], {report.meta.id: units}, {report.meta.id: vectors}


def _build_as_a_and_b(build, b_done: threading.Event) -> dict[str, object]:
    """Run ``build(who)`` in threads named A and B at once; each result or exception by name.
    B's end is signalled on ``b_done`` (the tests' hooks make A wait for it)."""
    results: dict[str, object] = {}

    def run(who: str) -> None:
        try:
            results[who] = build(who)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            results[who] = exc
        finally:
            if who == "B":
                b_done.set()

    threads = [threading.Thread(target=run, args=(who,), name=who) for who in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a build hung"
    return results


def test_two_builds_switching_at_once_never_leave_a_dangling_pointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ingests of the same reports (no --force), in this interleaving: A and B both finish
    writing and both see no active build; B switches the pointer and, settling, deletes the older
    build A; then A writes the pointer, to a collection that no longer exists. The window is one
    round trip wide, so real processes hit it rarely; here the hooks below force it."""
    client = make_client(tmp_path / "data")  # one client for both threads (PersistentClient is thread-safe)
    reports, units, vectors = _small()
    names: dict[str, str] = {}
    a_gone_when_it_switched: list[bool] = []
    a_created, both_checked, b_done = threading.Event(), threading.Barrier(2, timeout=30), threading.Event()
    real_new, real_write = store.new_collection, store.write_pointer

    b_created = threading.Event()

    def new_collection(client, prefix, fingerprint, meta):
        who = threading.current_thread().name
        if who == "B":
            assert a_created.wait(30)
            time.sleep(0.005)  # B's collection is the newer one (names carry the millisecond)
        col = real_new(client, prefix, fingerprint, meta)
        names[who] = col.name
        if who == "A":
            a_created.set()
            assert b_created.wait(30)  # A completes only after B has passed its own start checks
        else:
            b_created.set()
        return col

    def write_pointer(client, prefix, name, fingerprint):
        both_checked.wait()  # both passed their "has someone else finished?" check
        if threading.current_thread().name == "A":
            assert b_done.wait(30)
            a_gone_when_it_switched.append(name not in build_collections(client, prefix))
        real_write(client, prefix, name, fingerprint)

    monkeypatch.setattr(store, "new_collection", new_collection)
    monkeypatch.setattr(store, "write_pointer", write_pointer)
    results = _build_as_a_and_b(
        lambda who: build_index(client, reports, units, vectors, prefix="race", versions=RUNNING), b_done
    )
    assert all(isinstance(r, IndexInfo) for r in results.values()), results  # both "succeeded"
    assert a_gone_when_it_switched == [True]  # the dangerous interleaving did happen
    info = assert_one_active_complete(client, "race")
    assert info.collection_name == names["B"]
    assert {r.collection_name for r in results.values()} == {names["B"]}  # both report what serves
    assert set(build_collections(client, "race")) == {names["B"]}


def test_two_forced_builds_leave_no_second_complete_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rapport ingest --force` twice at once: A creates its collection first, B starts later and
    finishes first, then A finishes: the newer build (B) serves, A's is dropped."""
    client = make_client(tmp_path / "data")
    reports, units, vectors = _small()
    names: dict[str, str] = {}
    a_created, b_done = threading.Event(), threading.Event()
    real_add = Collection.add

    def add(self, *args, **kwargs):
        who = threading.current_thread().name
        names.setdefault(who, self.name)
        if who == "A" and not a_created.is_set():
            a_created.set()  # A's collection exists; it writes only once B is done
            assert b_done.wait(30)
        return real_add(self, *args, **kwargs)

    def ingest_as(who: str) -> IndexInfo:
        if who == "B":
            assert a_created.wait(30)
            time.sleep(0.005)  # B's collection is the newer one
        return build_index(client, reports, units, vectors, prefix="race", versions=RUNNING, force=True)

    monkeypatch.setattr(Collection, "add", add)
    results = _build_as_a_and_b(ingest_as, b_done)
    assert all(isinstance(r, IndexInfo) for r in results.values()), results
    assert names["A"] != names["B"]
    info = assert_one_active_complete(client, "race")
    assert info.collection_name == names["B"]
    assert results["B"].collection_name == names["B"] and not results["B"].reused
    assert results["A"].collection_name == names["B"] and results["A"].reused
    assert set(build_collections(client, "race")) == {names["B"]}


def test_every_pointer_write_names_a_complete_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Across builds, reuses, a removal and a forced rebuild, the pointer is only ever written to
    a build that is complete at that moment."""
    client = make_client(tmp_path / "data")
    written: list[tuple[str, bool]] = []
    real_point = builds._point_at

    def point_at(client, prefix, name, fingerprint):
        meta = client.get_collection(name, embedding_function=None).metadata or {}
        written.append((name, meta.get("complete") is True))
        real_point(client, prefix, name, fingerprint)

    monkeypatch.setattr(builds, "_point_at", point_at)
    a, b = _small(2020), _small(2021, 1.2)
    both = ([*a[0], *b[0]], {**a[1], **b[1]}, {**a[2], **b[2]})
    for reports, units, vectors, force in (a + (False,), a + (False,), both + (False,), a + (False,), a + (True,)):
        build_index(client, reports, units, vectors, prefix="p", versions=RUNNING, force=force)
    assert len(written) >= 4 and all(complete for _, complete in written), written
    assert_one_active_complete(client, "p")


# -- what a running service does when the build it swaps to goes away (rag/service.py) ---------


def test_a_build_replaced_while_the_service_loads_it_keeps_the_old_one_answering(
    tmp_path: Path, chroma_prefix: str, fake_a: Path, fake_b: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Backend("local", tmp_path / "data", None, chroma_prefix).settings(source=fake_a)
    run_ingest(settings, progress=False)
    service = build_service(settings)
    reference = _answers(service, FAKE_QUESTIONS)
    reference_build = service.build
    second = tmp_path / "second.txt"
    second.write_text(fake_report_text(scale=1.5), encoding="utf-8")
    run_ingest(replace(settings, source=fake_b), progress=False)
    real_open = store.open_active

    def open_active_then_reingest(client, prefix):
        info = real_open(client, prefix)  # the service found the new build ...
        monkeypatch.setattr(store, "open_active", real_open)
        run_ingest(replace(settings, source=second), progress=False)  # ... which is replaced before it loads
        return info

    monkeypatch.setattr(store, "open_active", open_active_then_reingest)
    service._check_every_s = 0.0
    # the load fails (the build was replaced meanwhile): no error, the build it has answers ...
    assert _answers(service, FAKE_QUESTIONS[:1]) == reference[:1]
    assert service.build == reference_build
    # ... and the next check loads the newest
    assert service.ask(Q_PUPILS).value == int(4150 * 1.5)
    assert service.build != reference_build


# -- two ingests of DIFFERENT reports at once (the writer lock) -----------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_two_ingests_of_different_reports_at_once_keep_both(backend: Backend, tmp_path: Path) -> None:
    """Two `rapport ingest` processes add two different reports to one index at the same moment:
    the writer lock serialises their read-modify-write, so the index ends with both reports (one
    build), not with whichever finished last."""
    sources = []
    for name, municipality in (("a.txt", "Alfa"), ("b.txt", "Beta")):
        path = tmp_path / name
        path.write_text(fake_report_text(municipality=municipality), encoding="utf-8")
        sources.append(path)
    go = tmp_path / "go"
    procs = []
    for src in sources:
        args = ["--embedding", "hash", "--source", str(src), "--data-dir", str(backend.data_dir)]
        if backend.url:
            args += ["--chroma-url", backend.url]
        env = cli_env(backend.prefix, RAPPORT_TEST_GO_FILE=str(go), RAPPORT_TEST_EMBED_DELAY="0.2")
        procs.append(subprocess.Popen(slow_ingest_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env, cwd=tmp_path))
    for p in procs:  # both are started and waiting
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.write_text("go")
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    client = _fresh_client(backend)
    info = assert_one_active_complete(client, backend.prefix)
    assert sorted(r.id for r in info.reports) == ["alfa-2020", "beta-2020"]
    with pytest.raises(NotFoundError):  # the lock is released
        client.get_collection(backend.prefix + "--lock", embedding_function=None)
