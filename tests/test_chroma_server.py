"""Client/server mode: the index lives in a Chroma server (`chroma run`), reached over HTTP by
the ingest, by readers in other processes and by the `rapport ingest --chroma-url` CLI.

Uses the session server (fixture ``chroma_server``: the one scripts/test.sh started, or one
started for the session); every test has its own collection prefix.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from helpers_chroma import (
    assert_one_active_complete,
    build_collections,
    cli_env,
    rapport_cmd,
    slow_ingest_cmd,
)

from ingest.chunks import build_chunks
from ingest.embeddings import HashEmbeddings
from ingest.pipeline import index_fingerprint_for, load_report, run_ingest
from ingest.store import check_index, dense_search, load_chunks, make_client, open_active
from rapport.settings import Settings, bundled_report_path

pytestmark = pytest.mark.integration

BUILT_RE = re.compile(r"built collection (\S+) \(")


def _settings(url: str, tmp_path: Path, prefix: str, **kw) -> Settings:
    return Settings(
        chroma_url=url, embedding="hash", data_dir=tmp_path / "data", collection_prefix=prefix, **kw
    )


@pytest.fixture(scope="module")
def report_chunks():
    return build_chunks(load_report(bundled_report_path()))


def test_ingest_builds_in_the_server_then_reuses(
    chroma_server: str, tmp_path: Path, chroma_prefix: str, report_chunks
) -> None:
    settings = _settings(chroma_server, tmp_path, chroma_prefix)
    first = run_ingest(settings, progress=False)
    assert not first.reused and first.collection.startswith(chroma_prefix + "-")
    assert first.chunks == len(report_chunks)
    # the index is in the server, not in local files: the data dir only holds the embedding cache
    assert not (tmp_path / "data" / "chroma").exists()
    assert (tmp_path / "data" / "embed-cache.sqlite3").is_file()

    reader = make_client(tmp_path / "elsewhere", chroma_server)
    info = assert_one_active_complete(reader, chroma_prefix, first.chunks)
    assert info.collection_name == first.collection and info.model_id == "hash-256"
    report = load_report(bundled_report_path())
    assert check_index(reader, chroma_prefix, index_fingerprint_for(report, "hash-256"), "hash-256") == "ok"

    again = run_ingest(settings, progress=False)
    assert again.reused and again.collection == first.collection
    assert set(build_collections(reader, chroma_prefix)) == {first.collection}


def test_a_fresh_client_reads_and_searches_the_server_index(
    chroma_server: str, tmp_path: Path, chroma_prefix: str, report_chunks
) -> None:
    summary = run_ingest(_settings(chroma_server, tmp_path, chroma_prefix), progress=False)
    client = make_client(tmp_path, chroma_server)  # a new HttpClient, as another process would open
    info = open_active(client, chroma_prefix)
    assert info is not None and info.collection_name == summary.collection
    assert load_chunks(client, info, page_size=100) == report_chunks  # every field, in ingest order

    emb = HashEmbeddings()
    hits = dense_search(client, info, emb, "Likviditetsreserve", k=3)
    row = next(c for c, _ in hits if c.id == "t7-r0")  # beside its footnote's definition of the term
    assert row.row_label == "Likviditetsreserve" and "1 372,2" in row.text
    in_table = dense_search(client, info, emb, "langsiktig gjeld", k=3, where={"table_number": 7})
    assert in_table[0][0].id == "t7-r8" and all(c.table_number == 7 for c, _ in in_table)
    exact = next(c for c in report_chunks if c.id == "t7-r8")
    top, score = dense_search(client, info, emb, exact.text, k=1)[0]
    assert top.id == "t7-r8" and score == pytest.approx(1.0, abs=1e-4)


def _read_until(proc: subprocess.Popen, marker: str, into: list[str]) -> None:
    """Collect stdout lines of ``proc`` up to and including the line starting with ``marker``."""
    assert proc.stdout is not None
    for line in proc.stdout:
        into.append(line)
        if line.startswith(marker):
            return
    raise AssertionError(
        f"process ended before {marker!r}: {''.join(into)}{proc.stderr.read() if proc.stderr else ''}"
    )


@pytest.mark.parametrize(
    "winner", ["older", "newer"], ids=["older-build-finishes-first", "newer-build-finishes-first"]
)
def test_two_processes_ingesting_at_once_leave_one_active_index(
    chroma_server: str, tmp_path: Path, chroma_prefix: str, report_chunks, winner: str
) -> None:
    """Two `rapport ingest --chroma-url` of the same source whose builds overlap: the older build
    is held half-way while the newer one starts. Whichever finishes first switches the pointer;
    the other then sees that index active, drops its own copy and reports the index as reused.

    The test holds and releases the builds (files the driver waits for), so the outcome does
    not depend on timing. Builds that also FINISH at the same moment: see
    test_faults.py::test_two_builds_switching_at_once_never_leave_a_dangling_pointer.
    """
    hold_older, hold_newer, go_newer = tmp_path / "release-older", tmp_path / "release-newer", tmp_path / "go"
    cmd = slow_ingest_cmd(
        "--chroma-url", chroma_server, "--embedding", "hash", "--data-dir", str(tmp_path / "data")
    )
    older_env = cli_env(chroma_prefix, RAPPORT_TEST_HOLD_AT="3", RAPPORT_TEST_HOLD_FILE=str(hold_older))
    newer_env = cli_env(chroma_prefix, RAPPORT_TEST_GO_FILE=str(go_newer))
    if winner == "older":
        newer_env.update(RAPPORT_TEST_HOLD_AT="3", RAPPORT_TEST_HOLD_FILE=str(hold_newer))
    older, newer = (
        subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
        )
        for env in (older_env, newer_env)
    )
    lines: dict[str, list[str]] = {"older": [], "newer": []}
    try:
        _read_until(older, "holding", lines["older"])  # 3 batches of the older build are in Chroma
        go_newer.touch()
        if winner == "older":
            _read_until(newer, "holding", lines["newer"])  # the newer build is under way too
            hold_older.touch()
            out_older, err_older = older.communicate(timeout=120)
            hold_newer.touch()
            out_newer, err_newer = newer.communicate(timeout=120)
        else:
            out_newer, err_newer = newer.communicate(timeout=120)
            hold_older.touch()
            out_older, err_older = older.communicate(timeout=120)
    finally:
        for proc in (older, newer):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outputs = {
        "older": ("".join(lines["older"]) + out_older, err_older),
        "newer": ("".join(lines["newer"]) + out_newer, err_newer),
    }
    for who, proc in (("older", older), ("newer", newer)):
        out, err = outputs[who]
        assert proc.returncode == 0, out + err
        assert "Traceback" not in err
        # both really built: each embedded every batch (nothing was cached when they started)
        assert sum(line.startswith("batch ") for line in out.splitlines()) >= 5, out

    client = make_client(tmp_path, chroma_server)
    info = assert_one_active_complete(client, chroma_prefix, len(report_chunks))
    # the loser dropped its copy
    assert set(build_collections(client, chroma_prefix)) == {info.collection_name}
    loser = "newer" if winner == "older" else "older"
    assert [m.group(1) for m in BUILT_RE.finditer(outputs[winner][0])] == [info.collection_name]
    assert "index already up to date (reused)" in outputs[loser][0]
    assert len(load_chunks(client, info)) == len(report_chunks)


def test_cli_ingest_with_chroma_url(chroma_server: str, tmp_path: Path, chroma_prefix: str) -> None:
    cmd = [
        *rapport_cmd(),
        "ingest",
        "--embedding",
        "hash",
        "--data-dir",
        str(tmp_path / "data"),
        "--no-progress",
    ]
    env = cli_env(chroma_prefix)
    start = time.monotonic()
    first = subprocess.run(
        [*cmd, "--chroma-url", chroma_server],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    m = BUILT_RE.search(first.stdout)
    assert m and m.group(1).startswith(chroma_prefix + "-"), first.stdout
    assert "(hash-256)" in first.stdout and time.monotonic() - start < 120

    # CHROMA_URL from the environment instead of the flag reaches the same server and index
    second = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env={**env, "CHROMA_URL": chroma_server},
        cwd=tmp_path,
        timeout=120,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "index already up to date (reused)" in second.stdout

    client = make_client(tmp_path, chroma_server)
    info = open_active(client, chroma_prefix)
    assert info is not None and info.collection_name == m.group(1)
    assert not (tmp_path / "data" / "chroma").exists()
