"""The Chroma index: build, search, reuse, switch, failure safety (HashEmbeddings, no downloads)."""

from __future__ import annotations

from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from ingest.embeddings import HashEmbeddings
from ingest.records import Chunk
from ingest.store import (
    IndexGoneError,
    IndexInfo,
    as_langchain_vectorstore,
    build_index,
    check_index,
    dense_search,
    get_collection,
    index_fingerprint,
    index_size_bytes,
    load_chunks,
    make_client,
    open_active,
    remove_stale_builds,
)

PREFIX = "test"


@pytest.fixture
def client(tmp_path: Path) -> chromadb.ClientAPI:
    # a PersistentClient per test: EphemeralClient instances share state inside one process
    return chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


@pytest.fixture
def emb() -> HashEmbeddings:
    return HashEmbeddings()


def make_chunks() -> list[Chunk]:
    return [
        Chunk(
            id="p1",
            kind="prose",
            text="Netto driftsresultat ble 679 millioner kroner, bedre enn budsjettert.",
            lines=(10, 12),
            chapter_number=2,
            chapter_title="ÅRSBERETNING",
            metadata={"section": "Økonomi", "footnotes": ["1", "2"], "page": 4, "share": 0.5, "draft": False},
        ),
        Chunk(
            id="p2",
            kind="prose",
            text="Barnehagene holdt åpent gjennom hele pandemien med smittevernstiltak.",
            lines=(200, 201),
            chapter_number=None,
            chapter_title=None,
        ),
        Chunk(
            id="t7-r1",
            kind="table_row",
            text="Tabell 7 Sykefravær. Rad: Skole. 2020: 7,0 %. 2019: 6,8 %.",
            lines=(500, 500),
            chapter_number=5,
            chapter_title="MEDARBEIDERE",
            table_number=7,
            row_label="Skole",
            metadata={"cells": {"2020": "7,0 %", "2019": "6,8 %"}, "uncertain": None},
        ),
        Chunk(
            id="t7-r2",
            kind="table_row",
            text="Tabell 7 Sykefravær. Rad: Barnehage. 2020: 9,1 %. 2019: 8,7 %.",
            lines=(501, 501),
            chapter_number=5,
            chapter_title="MEDARBEIDERE",
            table_number=7,
            row_label="Barnehage",
        ),
        Chunk(
            id="t3",
            kind="table",
            text="Tabell 3 Investeringer i skolebygg og barnehagebygg, millioner kroner.",
            lines=(300, 320),
            chapter_number=3,
            chapter_title=None,
            table_number=3,
        ),
    ]


def fp(tag: str = "a") -> str:
    return index_fingerprint("sha-" + tag, "parser-1", "hash-256")


def build_names(client: chromadb.ClientAPI) -> set[str]:
    return {c.name for c in client.list_collections() if not c.name.endswith("--active")}


def test_build_then_query_finds_the_right_chunk(client, emb):
    info = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    assert not info.reused and info.count == 5 and info.model_id == "hash-256"
    hits = dense_search(client, info, emb, "Hva var netto driftsresultat?", k=3)
    assert hits[0][0].id == "p1"
    assert hits[0][0].chapter_title == "ÅRSBERETNING"
    assert -1.0 <= hits[-1][1] <= hits[0][1] <= 1.0 + 1e-6
    assert open_active(client, PREFIX) == IndexInfo(
        info.collection_name, info.fingerprint, "hash-256", 5, True, "r.txt", "", info.created_ms
    )


def test_metadata_filters(client, emb):
    info = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    rows = dense_search(client, info, emb, "barnehage skole", k=10, where={"table_number": 7})
    assert {c.id for c, _ in rows} == {"t7-r1", "t7-r2"}
    prose = dense_search(client, info, emb, "barnehage", k=10, where={"kind": "prose"})
    assert {c.id for c, _ in prose} == {"p1", "p2"}
    both = dense_search(client, info, emb, "skole", k=10, where={"table_number": 7, "row_label": "Skole"})
    assert [c.id for c, _ in both] == ["t7-r1"]
    no_table = dense_search(client, info, emb, "skole", k=10, where={"table_number": None})
    assert {c.id for c, _ in no_table} == {"p1", "p2"}
    assert dense_search(client, info, emb, "skole", k=0) == []


def test_reingest_with_same_fingerprint_is_reused(client, emb):
    first = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    before = build_names(client)
    progress_calls: list[tuple[int, int]] = []
    again = build_index(
        client,
        make_chunks(),
        emb,
        prefix=PREFIX,
        fingerprint=fp(),
        source_name="r.txt",
        progress=lambda d, t: progress_calls.append((d, t)),
    )
    assert again.reused and again.collection_name == first.collection_name
    assert build_names(client) == before and progress_calls == []


def test_force_rebuilds_even_with_same_fingerprint(client, emb):
    first = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    forced = build_index(
        client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt", force=True
    )
    assert not forced.reused and forced.collection_name != first.collection_name
    assert build_names(client) == {forced.collection_name}


def test_changed_fingerprint_switches_and_deletes_the_old_one(client, emb):
    old = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp("a"), source_name="r.txt")
    calls: list[tuple[int, int]] = []
    new = build_index(
        client,
        make_chunks(),
        emb,
        prefix=PREFIX,
        fingerprint=fp("b"),
        source_name="r.txt",
        batch_size=2,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert new.collection_name != old.collection_name
    assert open_active(client, PREFIX).collection_name == new.collection_name
    assert build_names(client) == {new.collection_name}
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
    with pytest.raises(IndexGoneError, match="open_active"):
        get_collection(client, old)


class FailingEmbeddings(HashEmbeddings):
    """Raises on the n-th embed_documents call (a crash half-way through a build)."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_on_call = fail_on_call

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("model crashed")
        return super().embed_documents(texts)


def test_failure_half_way_keeps_the_previous_index_serving(client, emb):
    old = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp("a"), source_name="r.txt")
    failing = FailingEmbeddings(fail_on_call=2)
    with pytest.raises(RuntimeError, match="model crashed"):
        build_index(
            client,
            make_chunks(),
            failing,
            prefix=PREFIX,
            fingerprint=fp("b"),
            source_name="r.txt",
            batch_size=2,
        )
    assert failing.calls == 2
    active = open_active(client, PREFIX)
    assert active is not None and active.collection_name == old.collection_name
    assert dense_search(client, active, emb, "netto driftsresultat", k=1)[0][0].id == "p1"
    assert check_index(client, PREFIX, fp("a"), "hash-256") == "ok"
    assert build_names(client) == {old.collection_name}  # the half-built one was dropped


def test_leftover_of_a_killed_build_is_ignored_then_cleaned(client, emb):
    old = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp("a"), source_name="r.txt")
    # what a SIGKILL during a build leaves: an incomplete collection the pointer never saw
    leftover = client.create_collection(
        f"{PREFIX}-{fp('b')[:10]}-1600000000000",
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}},
        metadata={"fingerprint": fp("b"), "model_id": "hash-256", "complete": False, "chunk_count": 5},
    )
    leftover.add(ids=["x"], embeddings=[emb.embed_query("x")], documents=["x"])
    assert open_active(client, PREFIX).collection_name == old.collection_name
    assert remove_stale_builds(client, PREFIX) == [leftover.name]
    assert build_names(client) == {old.collection_name}


def test_another_leftover_is_removed_by_the_next_build(client, emb):
    client.create_collection(
        f"{PREFIX}-{fp('z')[:10]}-1600000000000", embedding_function=None, metadata={"complete": False}
    )
    assert open_active(client, PREFIX) is None
    info = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp("a"), source_name="r.txt")
    assert build_names(client) == {info.collection_name}


def test_check_index_missing_stale_ok(client, emb):
    assert check_index(client, PREFIX, fp("a"), "hash-256") == "missing"
    build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp("a"), source_name="r.txt")
    assert check_index(client, PREFIX, fp("a"), "hash-256") == "ok"
    assert check_index(client, PREFIX, fp("b"), "hash-256") == "stale"
    assert check_index(client, PREFIX, fp("a"), "other-model") == "stale"
    assert check_index(client, "other", fp("a"), "hash-256") == "missing"


def test_load_chunks_round_trips_every_field(client, emb):
    chunks = make_chunks()
    info = build_index(
        client, chunks, emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt", batch_size=2
    )
    loaded = load_chunks(client, info, page_size=2)
    assert loaded == chunks  # order, None fields and JSON-encoded metadata included


def test_bad_input_is_rejected_before_any_write(client, emb):
    with pytest.raises(ValueError, match="No chunks"):
        build_index(client, [], emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    dup = make_chunks() + [make_chunks()[0]]
    with pytest.raises(ValueError, match="Duplicate chunk ids: p1"):
        build_index(client, dup, emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    clash = [Chunk("c", "prose", "t", (1, 1), None, None, metadata={"kind": "x"})]
    with pytest.raises(ValueError, match="clashes"):
        build_index(client, clash, emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    with pytest.raises(ValueError, match="prefix"):
        build_index(client, make_chunks(), emb, prefix="-bad", fingerprint=fp(), source_name="r.txt")
    assert build_names(client) == set()


def test_fingerprint_is_short_and_depends_on_every_input():
    base = index_fingerprint("s", "p", "m")
    assert len(base) == 16 and int(base, 16) >= 0
    assert (
        len(
            {
                base,
                index_fingerprint("s2", "p", "m"),
                index_fingerprint("s", "p2", "m"),
                index_fingerprint("s", "p", "m2"),
            }
        )
        == 4
    )


def test_make_client_persistent_and_size(tmp_path: Path, emb):
    client = make_client(tmp_path, None)
    build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    assert (tmp_path / "chroma").is_dir()
    assert index_size_bytes(tmp_path) > 0
    assert index_size_bytes(tmp_path / "nowhere") == 0


def test_make_client_rejects_a_bad_url(tmp_path: Path):
    with pytest.raises(ValueError, match="HOST:PORT"):
        make_client(tmp_path, "ftp://example")


def test_langchain_vectorstore_view(client, emb):
    info = build_index(client, make_chunks(), emb, prefix=PREFIX, fingerprint=fp(), source_name="r.txt")
    store = as_langchain_vectorstore(client, info, emb)
    docs = store.similarity_search_with_relevance_scores("netto driftsresultat", k=2)
    assert docs[0][0].metadata["kind"] == "prose" and "driftsresultat" in docs[0][0].page_content
    assert build_names(client) == {info.collection_name}  # it opened the index, created nothing


@pytest.fixture
def chroma_server(tmp_path: Path):
    """A real `chroma run` on a free port; stopped by its pid at teardown."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(exe).exists():
        pytest.skip("the chroma CLI is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                make_client(tmp_path, url).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.skip("chroma server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.integration
def test_http_server_shares_the_active_pointer(tmp_path: Path, chroma_server: str, emb):
    writer = make_client(tmp_path, chroma_server)
    reader = make_client(tmp_path, chroma_server)  # stands in for a second server process
    old = build_index(writer, make_chunks(), emb, prefix=PREFIX, fingerprint=fp("a"), source_name="r.txt")
    assert open_active(reader, PREFIX).collection_name == old.collection_name
    new = build_index(writer, make_chunks(), emb, prefix=PREFIX, fingerprint=fp("b"), source_name="r.txt")
    active = open_active(reader, PREFIX)
    assert active.collection_name == new.collection_name
    assert dense_search(reader, active, emb, "netto driftsresultat", k=1)[0][0].id == "p1"
    assert load_chunks(reader, active) == make_chunks()
