"""Client/server mode: the index lives in a Chroma server (`chroma run`), reached over HTTP by the
ingest, by service instances elsewhere (they need only its URL: the reports are in the index, the
vectors are loaded into memory) and by `rapport ingest --chroma-url`.

Uses the session server (fixture ``chroma_server``: the one scripts/test.sh started, or one
started for the session); every test has its own collection prefix.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from chromadb.errors import NotFoundError
from fakereport import fake_report_text
from helpers_chroma import (
    assert_one_active_complete,
    build_collections,
    cli_env,
    rapport_cmd,
    slow_ingest_cmd,
)

from ingest.chroma import make_client
from ingest.embedded import report_units
from ingest.embeddings import HashEmbeddings
from ingest.pipeline import read_report, run_ingest, running_versions
from ingest.store import active_name, check_index, load_index, open_active
from rag.service import build_service
from rapport.settings import Settings, bundled_report_path

pytestmark = pytest.mark.integration

BUILT_RE = re.compile(r"built collection (\S+) \(")
RUNNING = running_versions("hash-256")
# The fake report (tests/fakereport.py) answers these; the first two scale with its figures.
QUESTIONS = (
    "Hvor mange elever var det i grunnskolen i 2020?",
    "Hvor mange årsverk hadde kommunen?",
    "Hva var sykefraværet i 2020?",
)


def _settings(url: str, data_dir: Path, prefix: str, **kw) -> Settings:
    return Settings(chroma_url=url, embedding="hash", data_dir=data_dir, collection_prefix=prefix, **kw)


def _same(answer):
    """An answer without its timing: two answers from one build are equal in everything else."""
    return replace(answer, latency_ms=0.0)


def _answers(service) -> list:
    return [_same(service.ask(q)) for q in QUESTIONS]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "kilde" / "eksempel.txt"
    path.parent.mkdir()
    path.write_text(fake_report_text(), encoding="utf-8")
    return path


def test_ingest_builds_in_the_server_then_reuses(
    chroma_server: str, tmp_path: Path, chroma_prefix: str, source: Path
) -> None:
    settings = _settings(chroma_server, tmp_path / "data", chroma_prefix, source=source)
    first = run_ingest(settings, progress=False)
    assert not first.reused and first.collection.startswith(chroma_prefix + "-")
    # the index is in the server, not in local files: the data dir only holds the embedding cache
    assert not (tmp_path / "data" / "chroma").exists()
    assert (tmp_path / "data" / "embed-cache.sqlite3").is_file()

    reader = make_client(tmp_path / "elsewhere", chroma_server)
    info = assert_one_active_complete(reader, chroma_prefix)
    assert info.collection_name == first.collection and info.versions == RUNNING
    assert check_index(reader, chroma_prefix, RUNNING) == ("ok", info)

    again = run_ingest(settings, progress=False)
    assert again.reused and again.collection == first.collection
    assert set(build_collections(reader, chroma_prefix)) == {first.collection}


def test_a_fresh_client_loads_the_whole_index_from_the_server(
    chroma_server: str, tmp_path: Path, chroma_prefix: str, source: Path
) -> None:
    run_ingest(_settings(chroma_server, tmp_path / "data", chroma_prefix, source=source), progress=False)
    client = make_client(tmp_path / "elsewhere", chroma_server)  # as another process would open it
    stored = load_index(client, open_active(client, chroma_prefix))
    report = read_report(source)
    assert stored.reports == (report,)  # every field of the parsed report
    units = report_units(report)
    assert stored.keys[report.meta.id] == [u.key for u in units]
    expected = np.asarray(HashEmbeddings().embed_documents([u.text for u in units]), dtype=np.float32)
    np.testing.assert_allclose(stored.vectors[report.meta.id], expected, rtol=1e-5, atol=1e-6)


def test_two_service_instances_without_the_source_answer_the_same(
    chroma_server: str, tmp_path: Path, chroma_prefix: str, source: Path
) -> None:
    run_ingest(_settings(chroma_server, tmp_path / "data", chroma_prefix, source=source), progress=False)
    source.unlink()
    dirs = [tmp_path / "instance1", tmp_path / "instance2"]
    instances = [build_service(_settings(chroma_server, d, chroma_prefix)) for d in dirs]
    first, second = (_answers(s) for s in instances)
    assert first == second
    assert [a.value for a in first] == [4150, 3100, 6.4]
    assert all(c.report == "eksempel-2020" for a in first for c in a.citations)
    assert not any(d.exists() for d in dirs)  # nothing local was needed, nothing was written


def _from(answers: dict[str, list], i: int, answer) -> str:
    """Which build's reference answer ``answer`` (to question i) is; fails on anything else."""
    found = sorted(name for name, ref in answers.items() if ref[i] == answer)
    assert found, f"an answer from no single build: {answer}"
    return "".join(found)


@pytest.mark.slow
def test_a_reingest_is_seen_by_every_instance_within_its_refresh_interval_and_no_answer_mixes_builds(
    chroma_server: str, tmp_path: Path, chroma_prefix: str, source: Path
) -> None:
    """Two instances answer all the time while the report is re-ingested (other figures): every
    answer equals the answer a single instance gives on build A or on build B, and once an
    instance answered from B it never answers from A again. A second re-ingest while they are
    idle: after one refresh interval, the next answer of each comes from the newest build."""
    interval = 0.3
    settings = _settings(chroma_server, tmp_path / "data", chroma_prefix, source=source)
    refs: dict[str, list] = {}
    built: dict[str, str] = {}

    def ingest(name: str, scale: float) -> None:
        source.write_text(fake_report_text(scale=scale), encoding="utf-8")
        built[name] = run_ingest(settings, progress=False).collection
        alone = build_service(_settings(chroma_server, tmp_path / f"ref-{name}", chroma_prefix))
        assert alone.build == built[name]
        refs[name] = _answers(alone)  # a single instance on this build

    ingest("A", 1.0)
    instances = [build_service(_settings(chroma_server, tmp_path / f"i{n}", chroma_prefix)) for n in (1, 2)]
    for inst in instances:
        inst._check_every_s = interval  # build_service takes no interval
        assert _answers(inst) == refs["A"]

    stop = threading.Event()
    seen: list[list[tuple[int, object]]] = [[], []]
    errors: list[BaseException] = []

    def keep_asking(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                seen[n].append((i % len(QUESTIONS), _same(instances[n].ask(QUESTIONS[i % len(QUESTIONS)]))))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return
            i += 1

    def wait_for(condition, what: str) -> None:
        deadline = time.monotonic() + 120  # a hang guard, not a speed requirement
        while not condition():
            assert not errors, errors
            assert time.monotonic() < deadline, f"gave up waiting for {what}"
            time.sleep(0.02)

    askers = [threading.Thread(target=keep_asking, args=(n,), daemon=True) for n in (0, 1)]
    for t in askers:
        t.start()
    try:
        wait_for(lambda: all(len(s) >= 3 for s in seen), "answers before the re-ingest")
        ingest("B", 1.2)
        wait_for(lambda: all(inst.build == built["B"] for inst in instances), "both instances on build B")
        counts = [len(s) for s in seen]
        wait_for(lambda: all(len(s) >= c + 3 for s, c in zip(seen, counts, strict=True)), "answers after")
    finally:
        stop.set()
        for t in askers:
            t.join(60)
    assert not errors, errors

    differ = [i for i in range(len(QUESTIONS)) if refs["A"][i] != refs["B"][i]]
    assert [refs[b][0].value for b in "AB"] == [4150, 4980] and len(differ) >= 2
    for answers in seen:
        builds = [_from(refs, i, a) for i, a in answers]  # each answer is one build's
        order = "".join(b for (i, _), b in zip(answers, builds, strict=True) if i in differ)
        assert re.fullmatch(r"A+B+", order), order  # A until the swap, then B only

    ingest("C", 1.4)  # nobody asks meanwhile
    time.sleep(interval)  # the refresh interval has passed since the switch
    for inst in instances:
        assert _answers(inst) == refs["C"] and inst.build == built["C"]


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


class _PointerWatch:
    """Reads the active pointer over and over from its own client while builds run, and records
    every collection it named and whether that collection was there and complete."""

    def __init__(self, url: str, data_dir: Path, prefix: str) -> None:
        self.client = make_client(data_dir, url)
        self.prefix = prefix
        self.seen: list[tuple[str, str]] = []  # (collection, "complete" | "incomplete" | "missing")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            name = active_name(self.client, self.prefix)
            if name is not None:
                try:
                    meta = self.client.get_collection(name, embedding_function=None).metadata or {}
                    state = "complete" if meta.get("complete") is True else "incomplete"
                except NotFoundError:
                    state = "missing"
                if not self.seen or self.seen[-1] != (name, state):
                    self.seen.append((name, state))
            time.sleep(0.01)

    def __enter__(self) -> _PointerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.mark.slow
def test_two_processes_ingesting_at_once_take_turns(chroma_server: str, tmp_path: Path, chroma_prefix: str) -> None:
    """Two `rapport ingest --chroma-url` of the same report at once. The first holds the index's
    writer lock (held half-way through embedding); the second waits for it without embedding or
    writing anything, then finds the first one's build active and reports the index as reused.
    The pointer never names a missing or incomplete collection meanwhile.

    The test holds and releases the first build (a file it waits for), so the outcome does not
    depend on timing. Builds that FINISH at the same moment without the lock: see test_faults.py
    (test_two_builds_switching_at_once_never_leave_a_dangling_pointer)."""
    release = tmp_path / "release"
    go_second = tmp_path / "go"
    cmd = slow_ingest_cmd("--chroma-url", chroma_server, "--embedding", "hash", "--data-dir", str(tmp_path / "data"))
    envs = {
        "first": cli_env(chroma_prefix, RAPPORT_TEST_HOLD_AT="2", RAPPORT_TEST_HOLD_FILE=str(release)),
        "second": cli_env(chroma_prefix, RAPPORT_TEST_GO_FILE=str(go_second)),
    }
    lines: dict[str, list[str]] = {"first": [], "second": []}
    errs: dict[str, str] = {}
    procs: dict[str, subprocess.Popen] = {}
    with _PointerWatch(chroma_server, tmp_path / "watch", chroma_prefix) as watch:
        try:
            for who in ("first", "second"):
                procs[who] = subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=envs[who], cwd=tmp_path
                )
            _read_until(procs["first"], "holding", lines["first"])
            go_second.touch()
            _read_until(procs["second"], "ready", lines["second"])
            time.sleep(1.0)  # the second runs on into the lock and waits there
            assert procs["second"].poll() is None
            release.touch()
            for who in ("first", "second"):
                out, errs[who] = procs[who].communicate(timeout=300)
                lines[who].append(out)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    outputs = {who: "".join(lines[who]) for who in lines}
    for who, proc in procs.items():
        assert proc.returncode == 0, outputs[who] + errs[who]
        assert "Traceback" not in errs[who]
    assert sum(line.startswith("batch ") for line in outputs["first"].splitlines()) >= 5, outputs["first"]
    # the second embedded and wrote nothing: it waited, then found the first one's build
    assert not [ln for ln in outputs["second"].splitlines() if ln.startswith(("batch ", "add "))], outputs["second"]
    client = make_client(tmp_path, chroma_server)
    info = assert_one_active_complete(client, chroma_prefix)
    assert set(build_collections(client, chroma_prefix)) == {info.collection_name}
    assert [m.group(1) for m in BUILT_RE.finditer(outputs["first"])] == [info.collection_name]
    assert "index already up to date (reused)" in outputs["second"] and not BUILT_RE.search(outputs["second"])
    assert load_index(client, info).reports == (read_report(bundled_report_path()),)
    assert watch.seen == [(info.collection_name, "complete")], watch.seen


@pytest.mark.slow
def test_cli_ingest_with_chroma_url(chroma_server: str, tmp_path: Path, chroma_prefix: str, source: Path) -> None:
    cmd = [*rapport_cmd(), "ingest", "--embedding", "hash", "--source", str(source),
           "--data-dir", str(tmp_path / "data"), "--no-progress"]  # fmt: skip
    env = cli_env(chroma_prefix)
    first = subprocess.run(
        [*cmd, "--chroma-url", chroma_server], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert first.returncode == 0, first.stdout + first.stderr
    m = BUILT_RE.search(first.stdout)
    assert m and m.group(1).startswith(chroma_prefix + "-"), first.stdout
    assert "(hash-256)" in first.stdout

    # CHROMA_URL from the environment instead of the flag reaches the same server and index
    second = subprocess.run(
        cmd, capture_output=True, text=True, env={**env, "CHROMA_URL": chroma_server}, cwd=tmp_path, timeout=120
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "index already up to date (reused)" in second.stdout

    client = make_client(tmp_path, chroma_server)
    info = open_active(client, chroma_prefix)
    assert info is not None and info.collection_name == m.group(1)
    assert not (tmp_path / "data" / "chroma").exists()
