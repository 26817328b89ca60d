"""Faults at the ingest/store level, each checked for what really happens to the index:
a Chroma server that goes away, a missing or stale index, a read-only data dir, a full disk,
an ingest killed with SIGKILL half-way, and two builds racing for the active pointer.

The promise under test (ingest/store.py): a build writes a new collection, marks it complete and
only then moves the active pointer, so whatever goes wrong the previous index keeps serving
(same collection, same chunk count), and the next ingest ends consistent: exactly one active,
complete collection; incomplete leftovers are never served and are removed once old enough.
"""

from __future__ import annotations

import errno
import re
import signal
import sqlite3
import stat
import subprocess
import threading
import time
import types
from pathlib import Path

import chromadb
import pytest
from chromadb.api.client import Client
from chromadb.api.models.Collection import Collection
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InternalError, NotFoundError
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

import ingest.embeddings
import ingest.pipeline
import ingest.store as store
from ingest.chunks import build_chunks
from ingest.embeddings import CachedEmbeddings, HashEmbeddings
from ingest.pipeline import IngestError, index_fingerprint_for, load_report, run_ingest
from ingest.store import (
    build_index,
    check_index,
    dense_search,
    load_chunks,
    make_client,
    open_active,
    remove_stale_builds,
)
from rapport.settings import Settings, bundled_report_path

STILL_SERVES = "the previous index (if any) still serves"


def _fingerprint(source: Path | None = None, model_id: str = "hash-256") -> str:
    return index_fingerprint_for(load_report(source or bundled_report_path()), model_id)


def _fresh_client(backend: Backend):
    """A client as a new process would open it. For local files, first drop this process's
    cached Chroma system, so nothing stale from before a child process wrote is reused."""
    if backend.kind == "local":
        SharedSystemClient.clear_system_cache()
    return backend.client()


def _assert_still_serving(client, prefix: str, old_collection: str, old_chunks: int) -> None:
    """The old index serves unchanged: same collection, every chunk, searchable."""
    info = open_active(client, prefix)
    assert info is not None and info.collection_name == old_collection
    assert info.count == old_chunks
    chunks = load_chunks(client, info)
    assert len(chunks) == old_chunks
    row = next(c for c in chunks if c.kind == "table_row" and c.row_label == "Likviditetsreserve")
    assert dense_search(client, info, HashEmbeddings(), row.text, k=1)[0][0].id == row.id


# -- the Chroma server goes away ------------------------------------------------------------------


def _server_settings(server: ChromaServer, tmp_path: Path, prefix: str, **kw) -> Settings:
    return Settings(
        chroma_url=server.url, embedding="hash", data_dir=tmp_path / "data", collection_prefix=prefix, **kw
    )


@pytest.mark.integration
def test_server_stopped_mid_session_answers_say_so_and_recover_when_it_is_back(
    own_chroma_server: ChromaServer, tmp_path: Path, chroma_prefix: str
) -> None:
    """A running service (as behind the chat) loses its Chroma server: answers keep coming from
    keyword search and say so in the question's language; once the server is back (same path and
    port) the next answer uses the semantic search again, with no restart of the service."""
    from rag.service import build_service

    settings = _server_settings(own_chroma_server, tmp_path, chroma_prefix)
    run_ingest(settings, progress=False)
    service = build_service(settings)
    q_no, q_en = "Hva var netto driftsresultat i 2020?", "What was the net operating result in 2020?"
    before = service.ask(q_no)
    assert before.value == -679.4 and "søkeserveren" not in before.answer

    own_chroma_server.stop(signal.SIGKILL)
    down_no, down_en = service.ask(q_no), service.ask(q_en)
    assert down_no.value == -679.4 and not down_no.abstained  # still answered, from keyword search
    assert "søkeserveren svarer ikke" in down_no.answer and "search server is not answering" in down_en.answer
    assert any("dense search unavailable" in t and own_chroma_server.url in t for t in down_no.trace)

    own_chroma_server.start()
    after = service.ask(q_no)
    assert after.value == -679.4 and "søkeserveren" not in after.answer
    assert not any("dense search unavailable" in t for t in after.trace)


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "crashed"])
def test_server_down_gives_a_clear_error_and_the_index_survives_a_restart(
    own_chroma_server: ChromaServer, tmp_path: Path, chroma_prefix: str, sig: int
) -> None:
    server = own_chroma_server
    settings = _server_settings(server, tmp_path, chroma_prefix)
    built = run_ingest(settings, progress=False)
    server.stop(sig)

    with pytest.raises(IngestError, match=re.escape(server.url)) as err:
        run_ingest(settings, progress=False)
    assert "Cannot open the index store" in str(err.value) and "Could not connect" in str(err.value)
    with pytest.raises(ValueError, match="Could not connect to a Chroma server"):
        make_client(tmp_path, server.url)

    # the CLI: exit code 1 and one readable line, no traceback
    cli = subprocess.run(
        [*rapport_cmd(), "ingest", "--chroma-url", server.url, "--embedding", "hash", "--no-progress",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=cli_env(chroma_prefix), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "Traceback" not in cli.stdout + cli.stderr
    assert f"Error: Cannot open the index store ({server.url})" in cli.stderr

    server.start()  # same path, same port
    client = make_client(tmp_path, server.url)
    _assert_still_serving(client, chroma_prefix, built.collection, built.chunks)
    assert set(build_collections(client, chroma_prefix)) == {built.collection}
    again = run_ingest(settings, progress=False)
    assert again.reused and again.collection == built.collection


@pytest.mark.integration
def test_server_down_half_way_through_a_build(
    own_chroma_server: ChromaServer, tmp_path: Path, chroma_prefix: str, changed_source: Path
) -> None:
    server = own_chroma_server
    old = run_ingest(_server_settings(server, tmp_path, chroma_prefix), progress=False)

    def stop_after_two_batches(done: int, total: int) -> None:
        if done >= 128 and server.running:
            server.stop()

    with pytest.raises(IngestError, match=re.escape(STILL_SERVES)) as err:
        run_ingest(
            _server_settings(server, tmp_path, chroma_prefix, source=changed_source),
            progress=stop_after_two_batches,
        )
    assert "Connection refused" in str(err.value)

    server.start()
    client = make_client(tmp_path, server.url)
    _assert_still_serving(client, chroma_prefix, old.collection, old.chunks)
    # the half-built collection could not be dropped (no server): an incomplete leftover, never served
    leftovers = {n: m for n, m in build_collections(client, chroma_prefix).items() if n != old.collection}
    assert len(leftovers) == 1 and next(iter(leftovers.values()))["complete"] is False
    (leftover,) = leftovers
    assert 0 < client.get_collection(leftover).count() < old.chunks

    new = run_ingest(_server_settings(server, tmp_path, chroma_prefix, source=changed_source), progress=False)
    assert not new.reused
    info = assert_one_active_complete(client, chroma_prefix, new.chunks)
    assert info.collection_name == new.collection and info.fingerprint == _fingerprint(changed_source)
    assert remove_stale_builds(client, chroma_prefix, grace_s=0) == [leftover]
    assert set(build_collections(client, chroma_prefix)) == {new.collection}


def test_make_client_error_names_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(Exception) as err:  # noqa: B017 - any type, as long as it says where
        make_client(tmp_path, url)
    assert url in str(err.value)


@pytest.mark.integration
def test_open_active_error_names_the_url_when_the_server_went_away(
    own_chroma_server: ChromaServer, tmp_path: Path, chroma_prefix: str
) -> None:
    run_ingest(_server_settings(own_chroma_server, tmp_path, chroma_prefix), progress=False)
    client = make_client(tmp_path, own_chroma_server.url)
    own_chroma_server.stop()
    with pytest.raises(Exception) as err:  # noqa: B017 - any type, as long as it says where
        open_active(client, chroma_prefix)
    assert own_chroma_server.url in str(err.value)


@pytest.mark.integration
def test_server_lost_during_a_build_error_names_the_url(
    own_chroma_server: ChromaServer, tmp_path: Path, chroma_prefix: str
) -> None:
    def stop_after_first_batch(done: int, total: int) -> None:
        if done > 0 and own_chroma_server.running:
            own_chroma_server.stop()

    with pytest.raises(IngestError) as err:
        run_ingest(
            _server_settings(own_chroma_server, tmp_path, chroma_prefix), progress=stop_after_first_batch
        )
    assert own_chroma_server.url in str(err.value)


# -- a missing or stale index ---------------------------------------------------------------------


def test_missing_index_is_reported_then_built(backend: Backend) -> None:
    client = backend.client()
    fingerprint = _fingerprint()
    assert check_index(client, backend.prefix, fingerprint, "hash-256") == "missing"
    built = run_ingest(backend.settings(), progress=False)
    assert not built.reused
    assert check_index(client, backend.prefix, fingerprint, "hash-256") == "ok"


def test_pointer_to_a_deleted_collection_is_missing_then_rebuilt(backend: Backend) -> None:
    first = run_ingest(backend.settings(), progress=False)
    client = backend.client()
    client.delete_collection(first.collection)  # e.g. removed by hand on the server
    assert open_active(client, backend.prefix) is None
    assert check_index(client, backend.prefix, _fingerprint(), "hash-256") == "missing"
    again = run_ingest(backend.settings(), progress=False)
    assert not again.reused and again.collection != first.collection
    info = assert_one_active_complete(client, backend.prefix, first.chunks)
    assert info.collection_name == again.collection


def _with_hash128(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register a second fake model, "hash128": HashEmbeddings(dim=128), model_id "hash-128"."""
    original = ingest.embeddings.make_embeddings

    def make_embeddings(name: str, batch_size: int = 32):
        return HashEmbeddings(dim=128) if name == "hash128" else original(name, batch_size)

    monkeypatch.setattr(ingest.embeddings, "make_embeddings", make_embeddings)


def test_another_embedding_model_is_stale_then_replaced_never_mixed(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_hash128(monkeypatch)
    old = run_ingest(backend.settings(), progress=False)
    client = backend.client()
    fp256, fp128 = _fingerprint(model_id="hash-256"), _fingerprint(model_id="hash-128")
    assert check_index(client, backend.prefix, fp128, "hash-128") == "stale"
    assert check_index(client, backend.prefix, fp256, "hash-256") == "ok"

    new = run_ingest(backend.settings(embedding="hash128"), progress=False)
    assert not new.reused and new.collection != old.collection and new.embedding == "hash-128"
    info = assert_one_active_complete(client, backend.prefix, new.chunks)
    assert info.collection_name == new.collection
    col = client.get_collection(new.collection, embedding_function=None)
    assert col.metadata["model_id"] == "hash-128" and col.metadata["dim"] == 128
    assert col.metadata["fingerprint"] == fp128
    vectors = col.get(include=["embeddings"])["embeddings"]
    assert len(vectors) == new.chunks and {len(v) for v in vectors} == {128}  # no 256-d vector in it
    with pytest.raises(NotFoundError):  # the old model's collection is gone after the switch
        client.get_collection(old.collection, embedding_function=None)
    assert set(build_collections(client, backend.prefix)) == {new.collection}
    assert check_index(client, backend.prefix, fp128, "hash-128") == "ok"
    assert check_index(client, backend.prefix, fp256, "hash-256") == "stale"
    assert len(dense_search(client, info, HashEmbeddings(dim=128), "Likviditetsreserve", k=3)) == 3

    back = run_ingest(backend.settings(), progress=False)  # and back: again a new collection
    assert not back.reused and back.collection not in {old.collection, new.collection}
    assert assert_one_active_complete(client, backend.prefix, back.chunks).model_id == "hash-256"


def test_another_parser_version_is_stale_then_replaced(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = run_ingest(backend.settings(), progress=False)
    client = backend.client()
    old_fp = _fingerprint()
    monkeypatch.setattr(ingest.pipeline, "PARSER_VERSION", "9999.01.01-test")
    new_fp = _fingerprint()
    assert new_fp != old_fp
    assert check_index(client, backend.prefix, new_fp, "hash-256") == "stale"

    new = run_ingest(backend.settings(), progress=False)
    assert not new.reused and new.collection != old.collection
    info = assert_one_active_complete(client, backend.prefix, new.chunks)
    assert info.collection_name == new.collection and info.fingerprint == new_fp
    assert info.parser_version == "9999.01.01-test"
    assert set(build_collections(client, backend.prefix)) == {new.collection}
    assert check_index(client, backend.prefix, new_fp, "hash-256") == "ok"


# -- a read-only data dir -------------------------------------------------------------------------


def _raise_erofs(*args, **kwargs):
    raise OSError(errno.EROFS, "Read-only file system")


def _permission_bits_enforced(tmp_path: Path) -> bool:
    """False for root (os.geteuid() == 0) or any process with CAP_DAC_OVERRIDE: it may write
    into a directory whose write bits are off. Probed, not guessed from the uid."""
    probe = tmp_path / "permission-probe"
    probe.mkdir()
    probe.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        (probe / "x").touch()
    except PermissionError:
        return True
    else:
        return False
    finally:
        probe.chmod(stat.S_IRWXU)


def _chmod_tree(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~bits)


def test_read_only_data_dir_fails_clearly_and_the_old_index_serves(
    tmp_path: Path, changed_source: Path, chroma_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = Backend("local", tmp_path / "data", None, chroma_prefix)
    old = run_ingest(backend.settings(), progress=False)
    simulate = not _permission_bits_enforced(tmp_path)
    if simulate:
        # root (os.geteuid() == 0, as in CI) ignores permission bits through CAP_DAC_OVERRIDE:
        # after a chmod the data dir is still writable for it and the test would prove nothing.
        # Simulate what a read-only mount does instead: Chroma's first write of vectors fails
        # with EROFS. (test_read_only_store_at_each_write_step covers the other write steps.)
        monkeypatch.setattr(Collection, "add", _raise_erofs)
    else:
        SharedSystemClient.clear_system_cache()  # reopen the files read-only, as a new process would
        _chmod_tree(backend.data_dir, writable=False)
    try:
        with pytest.raises(IngestError, match=r"(?i)read-?only") as err:
            run_ingest(backend.settings(source=changed_source), progress=False)
    finally:
        if not simulate:
            _chmod_tree(backend.data_dir, writable=True)
        monkeypatch.undo()
    assert "Traceback" not in str(err.value)

    client = _fresh_client(backend)
    _assert_still_serving(client, chroma_prefix, old.collection, old.chunks)
    assert set(build_collections(client, chroma_prefix)) == {old.collection}
    new = run_ingest(backend.settings(source=changed_source), progress=False)
    assert assert_one_active_complete(client, chroma_prefix, new.chunks).collection_name == new.collection


@pytest.mark.parametrize(
    ("cls", "method"),
    [(Client, "create_collection"), (Collection, "add"), (Collection, "modify")],
    ids=["create", "add", "mark-complete"],
)
def test_read_only_store_at_each_write_step(
    backend: Backend, changed_source: Path, monkeypatch: pytest.MonkeyPatch, cls: type, method: str
) -> None:
    """EROFS from whichever write comes first: the new collection, its vectors, its completion mark."""
    old = run_ingest(backend.settings(), progress=False)
    monkeypatch.setattr(cls, method, _raise_erofs)
    with pytest.raises(IngestError, match="Read-only file system") as err:
        run_ingest(backend.settings(source=changed_source), progress=False)
    assert STILL_SERVES in str(err.value)
    monkeypatch.undo()
    client = backend.client()
    _assert_still_serving(client, backend.prefix, old.collection, old.chunks)
    assert set(build_collections(client, backend.prefix)) == {old.collection}  # no half-built one left


# -- a full disk ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), InternalError("database or disk is full")],
    ids=["ENOSPC", "sqlite-full"],
)
def test_full_disk_during_ingest(
    backend: Backend, changed_source: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    old = run_ingest(backend.settings(), progress=False)
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
        run_ingest(backend.settings(source=changed_source), progress=False)
    assert calls == 2 and STILL_SERVES in str(err.value)
    monkeypatch.undo()  # space freed

    client = backend.client()
    _assert_still_serving(client, backend.prefix, old.collection, old.chunks)
    # the half-built one was dropped
    assert set(build_collections(client, backend.prefix)) == {old.collection}
    assert check_index(client, backend.prefix, _fingerprint(), "hash-256") == "ok"

    new = run_ingest(backend.settings(source=changed_source), progress=False)
    assert not new.reused
    info = assert_one_active_complete(client, backend.prefix, new.chunks)
    assert info.collection_name == new.collection and info.fingerprint == _fingerprint(changed_source)
    assert set(build_collections(client, backend.prefix)) == {new.collection}


def test_full_disk_for_the_embedding_cache_does_not_stop_the_ingest(
    tmp_path: Path, chroma_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self, items):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(CachedEmbeddings, "_store", full)
    backend = Backend("local", tmp_path / "data", None, chroma_prefix)
    built = run_ingest(backend.settings(), progress=False)
    assert not built.reused
    assert_one_active_complete(backend.client(), chroma_prefix, built.chunks)


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


def _shift_store_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make ingest.store see a clock ``seconds`` ahead (as if the next ingest ran that much later)."""
    real = time.time
    monkeypatch.setattr(store, "time", types.SimpleNamespace(time=lambda: real() + seconds))


def test_sigkill_half_way_keeps_the_old_index_and_the_next_ingest_is_consistent(
    backend: Backend, changed_source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = run_ingest(backend.settings(), progress=False)
    SharedSystemClient.clear_system_cache()  # local files: let go of them while the child writes

    args = [
        "--embedding",
        "hash",
        "--force",
        "--source",
        str(changed_source),
        "--data-dir",
        str(backend.data_dir),
    ]
    if backend.url:
        args += ["--chroma-url", backend.url]
    proc = subprocess.Popen(
        slow_ingest_cmd(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(backend.prefix, RAPPORT_TEST_EMBED_DELAY="0.3"),
        cwd=backend.data_dir.parent,
    )
    seen: list[str] = []
    with _Watchdog(proc, 120):
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.strip())
            if line.startswith("batch 3 "):  # batches 1 and 2 are in Chroma, batch 3 is about to be
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == -signal.SIGKILL, (seen, stderr)

    client = _fresh_client(backend)
    _assert_still_serving(client, backend.prefix, old.collection, old.chunks)
    assert check_index(client, backend.prefix, _fingerprint(), "hash-256") == "ok"
    # the kill left an incomplete collection behind (batches 1-2): it is ignored by readers
    leftovers = {n: m for n, m in build_collections(client, backend.prefix).items() if n != old.collection}
    assert len(leftovers) == 1, leftovers
    ((leftover, meta),) = leftovers.items()
    assert meta["complete"] is False and meta["fingerprint"] == _fingerprint(changed_source)
    assert client.get_collection(leftover).count() in {64, 128}

    # the next ingest (right away): builds, switches, drops the old index, never serves the leftover
    new = run_ingest(backend.settings(source=changed_source), progress=False)
    assert not new.reused and new.collection not in {old.collection, leftover}
    info = assert_one_active_complete(client, backend.prefix, new.chunks)
    assert info.collection_name == new.collection and info.fingerprint == _fingerprint(changed_source)
    assert len(load_chunks(client, info)) == new.chunks
    assert set(build_collections(client, backend.prefix)) == {new.collection, leftover}
    # ... a young incomplete collection may be another process's build in progress, so it is
    # spared for STALE_BUILD_GRACE_S; an ingest after that removes it
    _shift_store_clock(monkeypatch, store.STALE_BUILD_GRACE_S + 1)
    later = run_ingest(backend.settings(source=changed_source), progress=False)
    assert later.reused and later.collection == new.collection
    assert set(build_collections(client, backend.prefix)) == {new.collection}


# -- two builds racing for the active pointer -----------------------------------------------------


@pytest.fixture
def small_chunks():
    return build_chunks(load_report(bundled_report_path()))[:20]


def _race_client(tmp_path: Path):
    SharedSystemClient.clear_system_cache()
    return chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )


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
    return results


class Inconsistent(Exception):
    """The index state after the race is not "exactly one active complete collection"."""


def _expect_consistent(client, prefix: str, chunks: int) -> None:
    # its own exception type: an inconsistent end state is told apart from any other error
    try:
        assert_one_active_complete(client, prefix, chunks)
    except AssertionError as exc:
        raise Inconsistent(str(exc)) from None


def test_two_builds_switching_at_once_never_leave_a_dangling_pointer(
    tmp_path: Path, small_chunks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `rapport ingest` of the same source (no --force), in this interleaving:
    A and B both finish and both see no active index; B writes the pointer and deletes the older
    build A; then A writes the pointer. The window is one round trip wide, so real processes hit
    it rarely; here the hooks below force it."""
    prefix, fingerprint = "race", "0123456789abcdef"
    client = _race_client(tmp_path)  # one client for both threads (PersistentClient is thread-safe)
    names: dict[str, str] = {}
    a_created, both_checked, b_done = threading.Event(), threading.Barrier(2, timeout=30), threading.Event()
    real_new, real_write = store._new_collection, store._write_pointer

    def new_collection(client, prefix, fingerprint, meta):
        if threading.current_thread().name == "B":
            assert a_created.wait(30)
            time.sleep(0.005)  # B's collection is the newer one
        col = real_new(client, prefix, fingerprint, meta)
        names[threading.current_thread().name] = col.name
        a_created.set()
        return col

    def write_pointer(client, prefix, name, fingerprint):
        both_checked.wait()  # both passed their "has someone else finished?" check
        if threading.current_thread().name == "A":
            assert b_done.wait(30)
        real_write(client, prefix, name, fingerprint)

    monkeypatch.setattr(store, "_new_collection", new_collection)
    monkeypatch.setattr(store, "_write_pointer", write_pointer)
    results = _build_as_a_and_b(
        lambda who: build_index(
            client, small_chunks, HashEmbeddings(), prefix=prefix, fingerprint=fingerprint, source_name="r.txt",
        ),
        b_done,
    )  # fmt: skip
    assert all(isinstance(r, store.IndexInfo) for r in results.values()), results  # both "succeeded"
    _expect_consistent(client, prefix, len(small_chunks))


def test_two_forced_builds_leave_no_second_complete_collection(
    tmp_path: Path, small_chunks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rapport ingest --force` twice at once: A creates its collection first, B starts later and
    finishes first, then A finishes."""
    prefix, fingerprint = "race", "0123456789abcdef"
    client = _race_client(tmp_path)  # one client for both threads (PersistentClient is thread-safe)
    a_created, b_done = threading.Event(), threading.Event()

    class SlowA(HashEmbeddings):
        def embed_documents(self, texts):
            a_created.set()  # the collection exists before the first batch is embedded
            assert b_done.wait(30)
            return super().embed_documents(texts)

    def ingest_as(who: str) -> store.IndexInfo:
        if who == "B":
            assert a_created.wait(30)
        return build_index(
            client, small_chunks, SlowA() if who == "A" else HashEmbeddings(),
            prefix=prefix, fingerprint=fingerprint, source_name="r.txt", force=True,
        )  # fmt: skip

    results = _build_as_a_and_b(ingest_as, b_done)
    assert all(isinstance(r, store.IndexInfo) for r in results.values()), results
    _expect_consistent(client, prefix, len(small_chunks))
