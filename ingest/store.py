"""The index: every ingested report, self-contained, in one Chroma build collection.

A build holds, for each report,

* its parsed form (chapters, passages, tables, metadata, source text) as a few ``blob`` records
  (zlib + base64 JSON; the record's vector is a constant), so that answering never needs the
  source file and N app instances on other machines need only the Chroma URL;
* one record per embedded unit (ingest/embedded.py) with the vector we computed.

The collection metadata names the reports and the versions that shaped the content (schema,
parser, units, embedding model). Adding or removing a report writes a new build with all the
reports (vectors of unchanged units are copied, not recomputed) and switches the active
pointer (ingest/builds.py), so readers always see one consistent set.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError

from ingest.builds import (
    STALE_BUILD_GRACE_S,
    check_prefix,
    delete_build,
    new_collection,
    read_pointer,
    settle,
    write_pointer,
)
from ingest.chroma import names_the_server
from ingest.embedded import Unit
from ingest.records import Report
from ingest.serial import pack_report, unpack_report

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # bump when the stored layout changes
BLOB_CHARS = 200_000  # one blob record holds at most this much of a packed report


class IndexGoneError(RuntimeError):
    """The build an IndexInfo names was replaced by a newer one; call open_active again."""


@dataclass(frozen=True)
class ReportInfo:
    """One report of an index, as listed by `rapport reports`."""

    id: str
    title: str
    municipality: str | None
    year: int | None
    sha256: str
    source_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "municipality": self.municipality, "year": self.year,
            "sha256": self.sha256, "source_name": self.source_name,
        }


def report_info(report: Report) -> ReportInfo:
    meta = report.meta
    if meta is None:
        raise ValueError(f"report {report.source_name} has no metadata (id, title, municipality, year)")
    return ReportInfo(meta.id, meta.title, meta.municipality, meta.year, report.source_sha256, report.source_name)


@dataclass(frozen=True)
class Versions:
    """What shaped an index's content; a running code with other versions must not read it."""

    model_id: str
    parser: str
    units: str
    schema: int = SCHEMA_VERSION

    def differences(self, other: Versions) -> list[str]:
        names = {"model_id": "embedding model", "parser": "parser", "units": "embedded units", "schema": "index layout"}
        return [f"{label} {getattr(self, k)} (running: {getattr(other, k)})"
                for k, label in names.items() if getattr(self, k) != getattr(other, k)]


@dataclass(frozen=True)
class IndexInfo:
    collection_name: str
    fingerprint: str
    versions: Versions
    reports: tuple[ReportInfo, ...]
    count: int
    created_ms: int = 0
    reused: bool = False


@dataclass
class StoredIndex:
    """Everything a build holds, in memory: the reports and, per report, its units' vectors."""

    info: IndexInfo
    reports: tuple[Report, ...]
    keys: dict[str, list[str]] = field(default_factory=dict)  # report id -> unit keys, in ingest order
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # report id -> (units, dim) float32


def fingerprint_of(reports: Sequence[Report], versions: Versions) -> str:
    parts = [f"schema{versions.schema}", versions.model_id, versions.parser, versions.units]
    for r in sorted(reports, key=lambda r: (report_info(r).id, r.source_sha256)):
        info = report_info(r)
        parts.append(f"{info.id}:{info.sha256}:{info.title}:{info.municipality}:{info.year}")
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


def _info_from(name: str, meta: Mapping[str, Any], *, reused: bool = False) -> IndexInfo:
    reports = tuple(ReportInfo(**r) for r in json.loads(str(meta.get("reports", "[]"))))
    return IndexInfo(
        collection_name=name,
        fingerprint=str(meta.get("fingerprint", "")),
        versions=Versions(
            model_id=str(meta.get("model_id", "")),
            parser=str(meta.get("parser_version", "")),
            units=str(meta.get("units_version", "")),
            schema=int(meta.get("schema_version", 0) or 0),
        ),
        reports=reports,
        count=int(meta.get("count", 0)),
        created_ms=int(meta.get("created_ms", 0)),
        reused=reused,
    )


# -- reading ---------------------------------------------------------------------------------


@names_the_server
def open_active(client: ClientAPI, prefix: str) -> IndexInfo | None:
    """The serving build of this prefix, or None if there is none (or it is not complete)."""
    check_prefix(prefix)
    pointer = read_pointer(client, prefix)
    if pointer is None:
        return None
    name = str(pointer["collection"])
    try:
        col = client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None
    meta = col.metadata or {}
    if meta.get("complete") is not True:
        return None
    return _info_from(name, meta, reused=True)


@names_the_server
def active_name(client: ClientAPI, prefix: str) -> str | None:
    """The name of the serving build, in one cheap round trip (to notice a re-ingest)."""
    pointer = read_pointer(client, prefix)
    return None if pointer is None else str(pointer["collection"])


def _collection(client: ClientAPI, info: IndexInfo) -> Collection:
    try:
        return client.get_collection(info.collection_name, embedding_function=None)
    except NotFoundError as exc:
        raise IndexGoneError(
            f"Index collection {info.collection_name!r} no longer exists (replaced by a newer build)."
        ) from exc


def _get_all(col: Collection, where: Mapping[str, Any], include: list[str], page: int = 2000) -> dict[str, list]:
    out: dict[str, list] = {"ids": [], **{k: [] for k in include}}
    offset = 0
    while True:
        got = col.get(where=dict(where), include=include, limit=page, offset=offset)  # type: ignore[arg-type]
        ids = got["ids"]
        out["ids"].extend(ids)
        for k in include:
            value = got.get(k)
            out[k].extend(list(value) if value is not None else [None] * len(ids))
        if len(ids) < page:
            return out
        offset += page


@names_the_server
def load_index(client: ClientAPI, info: IndexInfo, reports: Sequence[str] | None = None) -> StoredIndex:
    """The reports of a build (all, or those named) with their unit vectors."""
    col = _collection(client, info)
    wanted = [r.id for r in info.reports if reports is None or r.id in reports]
    blobs = _get_all(col, {"kind": "blob"}, ["documents", "metadatas"])
    parts: dict[str, dict[int, str]] = {}
    for doc, meta in zip(blobs["documents"], blobs["metadatas"], strict=True):
        # the packed report is in metadata; builds before 2026-12-05 kept it as the document
        parts.setdefault(str(meta["report"]), {})[int(meta["part"])] = str(meta.get("text") or doc or "")
    loaded: list[Report] = []
    for rid in wanted:
        got = parts.get(rid, {})
        if not got:
            raise IndexGoneError(f"Index collection {info.collection_name!r} has no stored report {rid!r}.")
        loaded.append(unpack_report("".join(got[i] for i in sorted(got))))
    units = _get_all(col, {"kind": {"$ne": "blob"}}, ["embeddings", "metadatas"])
    rows: dict[str, list[tuple[int, str, Any]]] = {}
    for vec, meta in zip(units["embeddings"], units["metadatas"], strict=True):
        rid = str(meta["report"])
        if rid in wanted:
            rows.setdefault(rid, []).append((int(meta["order"]), str(meta["key"]), vec))
    stored = StoredIndex(info, tuple(loaded))
    for rid, items in rows.items():
        items.sort(key=lambda x: x[0])
        stored.keys[rid] = [k for _, k, _ in items]
        stored.vectors[rid] = np.asarray([v for _, _, v in items], dtype=np.float32)
    return stored


@names_the_server
def check_index(client: ClientAPI, prefix: str, running: Versions) -> tuple[str, IndexInfo | None]:
    """("ok" | "missing" | "stale", the active build). Stale: built by other versions."""
    info = open_active(client, prefix)
    if info is None:
        return "missing", None
    if info.versions != running:
        return "stale", info
    return "ok", info


# -- building --------------------------------------------------------------------------------


@names_the_server
def build_index(
    client: ClientAPI,
    reports: Sequence[Report],
    units: Mapping[str, Sequence[Unit]],
    vectors: Mapping[str, np.ndarray],
    *,
    prefix: str,
    versions: Versions,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
    batch_size: int = 256,
) -> IndexInfo:
    """Write a build holding these reports and their unit vectors, and make it the active one.

    An active build with the same fingerprint is reused unless ``force``. A failure half-way
    deletes the half-written collection; the pointer only ever moves to a complete build.
    """
    check_prefix(prefix)
    if not reports:
        raise ValueError("No reports to index.")
    infos = [report_info(r) for r in reports]
    ids = [i.id for i in infos]
    if len(set(ids)) != len(ids):
        raise ValueError(f"Two reports have the same id: {sorted({i for i in ids if ids.count(i) > 1})}")
    fingerprint = fingerprint_of(reports, versions)
    if not force:
        active = open_active(client, prefix)
        if active is not None and active.fingerprint == fingerprint:
            return _settled_reuse(client, prefix, active)
    dims = {v.shape[1] for v in vectors.values() if len(v)}
    if len(dims) != 1:
        raise RuntimeError(f"Unit vectors have different dimensions: {sorted(dims)}")
    dim = dims.pop()
    for info in infos:
        if len(units[info.id]) != len(vectors[info.id]):
            raise RuntimeError(f"Report {info.id}: {len(units[info.id])} units but {len(vectors[info.id])} vectors")

    # No Chroma documents: nothing here is searched by Chroma's full-text index, which would index
    # every trigram of the packed report and keep the deleted builds' entries (the index grew
    # 10x faster than the reports). The packed report rides in metadata; unit texts are not
    # stored (the engine rebuilds them from the report).
    records: list[tuple[str, list[float], dict[str, Any]]] = []
    blob_vector = [1.0] + [0.0] * (dim - 1)
    for report, info in zip(reports, infos, strict=True):
        packed = pack_report(report)
        pieces = [packed[i : i + BLOB_CHARS] for i in range(0, len(packed), BLOB_CHARS)] or [""]
        for j, piece in enumerate(pieces):
            records.append((f"{info.id}|blob|{j}", blob_vector,
                            {"report": info.id, "kind": "blob", "part": j, "parts": len(pieces), "text": piece}))
        for order, (unit, vec) in enumerate(zip(units[info.id], vectors[info.id], strict=True)):
            records.append((f"{info.id}|{unit.key}", [float(x) for x in vec],
                            {"report": info.id, "kind": unit.kind, "key": unit.key, "order": order}))

    settle(client, prefix, STALE_BUILD_GRACE_S)  # leftovers of crashed builds
    meta: dict[str, Any] = {
        "model_id": versions.model_id,
        "parser_version": versions.parser,
        "units_version": versions.units,
        "schema_version": versions.schema,
        "fingerprint": fingerprint,
        "reports": json.dumps([i.to_json() for i in infos], ensure_ascii=False),
        "count": len(records),
        "dim": dim,
        "complete": False,
    }
    col = new_collection(client, prefix, fingerprint, meta)
    name = col.name
    theirs: IndexInfo | None = None
    try:
        step = max(1, min(batch_size, client.get_max_batch_size()))
        total = len(records)
        if progress:
            progress(0, total)
        for start in range(0, total, step):
            part = records[start : start + step]
            col.add(
                ids=[r[0] for r in part],
                embeddings=[r[1] for r in part],
                metadatas=[r[2] for r in part],
            )
            if progress:
                progress(min(start + step, total), total)
        if col.count() != total:
            raise RuntimeError(f"Index holds {col.count()} records, expected {total}")
        if not force:
            # another process may have finished the same build meanwhile: keep theirs. Checked
            # BEFORE ours is marked complete, so no other process can have chosen ours.
            current = open_active(client, prefix)
            if current is not None and current.fingerprint == fingerprint:
                theirs = current
        if theirs is None:
            meta["complete"] = True
            col.modify(metadata=meta)  # modify replaces the whole metadata dict
    except BaseException:
        # not a kill: drop the half-built collection; the pointer was never moved
        try:
            delete_build(client, name)
        except Exception:  # keep the original error; a later build removes the leftover
            log.warning("could not delete half-built collection %s", name, exc_info=True)
        raise
    if theirs is not None:
        delete_build(client, name)
        return _settled_reuse(client, prefix, theirs)

    try:
        write_pointer(client, prefix, name, fingerprint)
    except BaseException:
        _drop_unswitched(client, prefix, name)
        raise
    try:
        winner, _ = settle(client, prefix, STALE_BUILD_GRACE_S)
    except Exception:
        # the pointer names the new build, so it serves: failing to remove the older builds does
        # not fail the build (a later build removes them)
        log.warning("switched to index build %s but could not remove older builds", name, exc_info=True)
        return _info_from(name, meta, reused=False)
    if winner is None:
        raise RuntimeError(f"Index collection {name!r} was deleted while switching to it; run the ingest again.")
    if winner[0] == name:
        return _info_from(name, meta, reused=False)
    log.warning("a newer build finished at the same time: %s serves, %s was dropped", winner[0], name)
    return _info_from(winner[0], winner[2], reused=True)


def _drop_unswitched(client: ClientAPI, prefix: str, name: str) -> None:
    """After a failed pointer write: delete our complete build unless the pointer names it (the
    write may have landed after all). Left lying around, the next settle would make it the
    winner and serve a build whose ingest was reported as failed."""
    try:
        pointer = read_pointer(client, prefix)
        if pointer is None or pointer["collection"] != name:
            delete_build(client, name)
            settle(client, prefix, STALE_BUILD_GRACE_S)  # another process may have pointed at it meanwhile
    except Exception:  # keep the original error
        log.warning("could not delete index build %s after a failed switch", name, exc_info=True)


def _settled_reuse(client: ClientAPI, prefix: str, active: IndexInfo) -> IndexInfo:
    """Reuse ``active`` after cleaning up; the newest complete build if one replaced it meanwhile."""
    winner, removed = settle(client, prefix, STALE_BUILD_GRACE_S)
    if removed:
        log.info("removed stale index collections: %s", ", ".join(removed))
    if winner is None or winner[0] == active.collection_name:
        return active
    return _info_from(winner[0], winner[2], reused=True)
