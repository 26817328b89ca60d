"""The index store: self-contained builds (reports + unit vectors) behind an active pointer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fakereport import fake_report_text
from helpers_chroma import assert_one_active_complete, build_collections

from ingest.builds import STALE_BUILD_GRACE_S, new_collection
from ingest.chroma import make_client
from ingest.embedded import report_units
from ingest.parse import parse_report
from ingest.pipeline import with_meta
from ingest.records import Report
from ingest.store import (
    IndexGoneError,
    Versions,
    active_name,
    build_index,
    check_index,
    fingerprint_of,
    load_index,
    open_active,
)

V1 = Versions(model_id="fake:8", parser="p1", units="u1")


def _report(year: int = 2020, scale: float = 1.0, name: str = "Eksempel") -> Report:
    return with_meta(parse_report(fake_report_text(year, scale, name), f"{name}-{year}.txt"))


def _vectors(report: Report, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(len(report_units(report)), 8)).astype(np.float32)


def _build(client, prefix: str, reports: list[Report], versions: Versions = V1, **kw):
    units = {r.meta.id: report_units(r) for r in reports}
    vectors = {r.meta.id: _vectors(r, i) for i, r in enumerate(reports)}
    return build_index(client, reports, units, vectors, prefix=prefix, versions=versions, **kw), vectors


@pytest.fixture
def client(tmp_path: Path):
    return make_client(tmp_path / "data")


def test_a_build_holds_its_reports_and_vectors(client) -> None:
    a, b = _report(2020), _report(2021, 1.1)
    info, vectors = _build(client, "t", [a, b])
    assert [r.id for r in info.reports] == ["eksempel-2020", "eksempel-2021"]
    assert info.reports[1].year == 2021 and info.reports[1].municipality == "Eksempel kommune"
    stored = load_index(client, open_active(client, "t"))
    assert stored.reports == (a, b)
    assert stored.keys["eksempel-2021"] == [u.key for u in report_units(b)]
    np.testing.assert_allclose(stored.vectors["eksempel-2021"], vectors["eksempel-2021"], rtol=1e-6)
    only = load_index(client, info, reports=["eksempel-2020"])
    assert only.reports == (a,) and set(only.vectors) == {"eksempel-2020"}


def test_same_content_is_reused_and_a_change_switches(client) -> None:
    first, _ = _build(client, "t", [_report()])
    again, _ = _build(client, "t", [_report()])
    assert again.reused and again.collection_name == first.collection_name
    changed, _ = _build(client, "t", [_report(scale=1.5)])
    assert not changed.reused and changed.collection_name != first.collection_name
    assert active_name(client, "t") == changed.collection_name
    assert set(build_collections(client, "t")) == {changed.collection_name}  # the old build is gone
    with pytest.raises(IndexGoneError):
        load_index(client, first)


def test_check_index_compares_versions_with_the_running_code(client) -> None:
    assert check_index(client, "t", V1) == ("missing", None)
    _build(client, "t", [_report()])
    status, info = check_index(client, "t", V1)
    assert status == "ok" and info is not None
    status, info = check_index(client, "t", replace(V1, parser="p2"))
    assert status == "stale" and info is not None
    assert info.versions.differences(replace(V1, parser="p2")) == ["parser p1 (running: p2)"]


def test_fingerprint_depends_on_reports_and_versions() -> None:
    a, b = _report(), _report(scale=2.0)
    base = fingerprint_of([a], V1)
    assert len(base) == 16
    assert fingerprint_of([b], V1) != base
    assert fingerprint_of([a], replace(V1, model_id="other")) != base
    assert fingerprint_of([a, b], V1) == fingerprint_of([b, a], V1)  # order of reports does not matter


def test_a_failure_half_way_keeps_the_previous_build_serving(client) -> None:
    first, _ = _build(client, "t", [_report()])
    report = _report(scale=3.0)
    units = {report.meta.id: report_units(report)}
    short = {report.meta.id: _vectors(report)[:-1]}  # one vector missing
    with pytest.raises(RuntimeError, match="units but"):
        build_index(client, [report], units, short, prefix="t", versions=V1)
    assert open_active(client, "t").collection_name == first.collection_name
    assert_one_active_complete(client, "t", first.count)


def test_leftover_of_a_killed_build_is_never_served_and_later_cleaned(client, monkeypatch) -> None:
    first, _ = _build(client, "t", [_report()])
    leftover = new_collection(client, "t", "f" * 16, {"complete": False})
    assert open_active(client, "t").collection_name == first.collection_name
    import ingest.builds as builds

    real_time = builds.time.time
    monkeypatch.setattr(builds.time, "time", lambda: real_time() + STALE_BUILD_GRACE_S + 1)
    _build(client, "t", [_report(scale=2.0)])
    assert leftover.name not in build_collections(client, "t")


def test_two_reports_with_one_id_are_refused(client) -> None:
    with pytest.raises(ValueError, match="same id"):
        _build(client, "t", [_report(), _report(scale=2.0)])


@pytest.mark.integration
def test_a_server_shares_the_index_between_clients(tmp_path: Path, chroma_server: str, chroma_prefix: str) -> None:
    writer = make_client(tmp_path / "w", chroma_server)
    info, _ = _build(writer, chroma_prefix, [_report()])
    reader = make_client(tmp_path / "r", chroma_server)
    stored = load_index(reader, open_active(reader, chroma_prefix))
    assert stored.info.collection_name == info.collection_name
    assert stored.reports[0].meta.id == "eksempel-2020"


def test_the_writer_lock_waits_for_a_live_holder_and_breaks_a_dead_ones(client, monkeypatch) -> None:
    import ingest.builds as builds

    held = builds.build_lock(client, "lk")  # held by this process, for real: a second writer waits
    busy = pytest.raises(builds.IndexBusyError, match="Another ingest")
    with held, busy, builds.build_lock(client, "lk", wait_s=0.3):
        pass
    assert "lk--lock" not in [c.name for c in client.list_collections()]  # released

    # A lock this process failed to release (the server was away): the next writer breaks it.
    monkeypatch.setattr(builds, "delete_build", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("away")))
    with builds.build_lock(client, "lk"):
        pass
    monkeypatch.undo()
    assert "lk--lock" in [c.name for c in client.list_collections()]
    with builds.build_lock(client, "lk", wait_s=0.3):
        pass
    # ... and so is one of a process that is gone
    client.create_collection("lk--lock", metadata={"host": builds.socket.gethostname(), "pid": 2**22 + 7,
                                                   "since_ms": int(builds.time.time() * 1000), "token": "x"}, embedding_function=None)
    with builds.build_lock(client, "lk", wait_s=0.3):
        pass


def test_a_build_keeps_nothing_in_chromas_full_text_index(client) -> None:
    """No Chroma documents: its full-text index would hold every trigram of the packed report and
    keep the entries of deleted builds (the index then grows much faster than the reports)."""
    info, _ = _build(client, "t", [_report(2020)])
    got = client.get_collection(info.collection_name, embedding_function=None).get(include=["documents"])
    assert got["ids"] and all(doc is None for doc in got["documents"])


def test_a_build_that_kept_the_report_as_documents_still_loads(client) -> None:
    """Builds before 2026-12-05 kept the packed report as the blob records' documents."""
    report = _report(2020)
    info, _ = _build(client, "t", [report])
    col = client.get_collection(info.collection_name, embedding_function=None)
    blobs = col.get(where={"kind": "blob"}, include=["metadatas", "embeddings"])
    packed = [m["text"] for m in blobs["metadatas"]]
    metas = [{**m, "text": None} for m in blobs["metadatas"]]  # None drops the key
    col.update(ids=blobs["ids"], embeddings=blobs["embeddings"], metadatas=metas, documents=packed)
    again = col.get(where={"kind": "blob"}, include=["metadatas", "documents"])
    assert all("text" not in m for m in again["metadatas"]) and again["documents"] == packed
    assert load_index(client, open_active(client, "t")).reports == (report,)
