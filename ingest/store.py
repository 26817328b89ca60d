"""The Chroma index: versioned collections behind an active pointer that lives in Chroma.

Layout for a prefix P:

* ``P-<fingerprint[:10]>-<unix_ms>``: one collection per build, holding every chunk with a
  vector we computed (Chroma's own embedding function is never used: it downloads a model).
* ``P--active``: an empty collection whose metadata names the serving collection. It lives in
  Chroma so that several server processes on one Chroma server share it.

A build writes a new collection, marks it complete, and only then moves the pointer, so a
failure or a kill half-way leaves the previous index serving. Leftovers of crashed builds are
ignored by readers and deleted by later builds. When two builds finish at the same moment, the
newer one serves and the other is deleted (see _settle).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from langchain_core.embeddings import Embeddings

from ingest.records import Chunk

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # bump when the stored metadata layout changes
ACTIVE_SUFFIX = "--active"
# An incomplete collection younger than this may be another process's build in progress;
# older ones are leftovers of a crash and get deleted.
STALE_BUILD_GRACE_S = 600.0
_COSINE = {"hnsw": {"space": "cosine"}}
_PREFIX_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,400}[a-zA-Z0-9])?$")
_NONE_INT = -1  # Chroma rejects None metadata values: -1 / "" stand for None
_NONE_STR = ""
# Chunk fields stored as flat metadata, plus bookkeeping keys; chunk.metadata may not reuse them.
_FIXED_KEYS = (
    "kind",
    "lines_first",
    "lines_last",
    "chapter_number",
    "chapter_title",
    "table_number",
    "row_label",
)
_ORDER_KEY = "_order"  # position in the chunk list, so load_chunks returns the ingest order
_JSON_KEY = "_json"  # names of chunk.metadata entries stored JSON-encoded
_RESERVED_KEYS = frozenset((*_FIXED_KEYS, _ORDER_KEY, _JSON_KEY))
_NULLABLE_INT = {"chapter_number", "table_number"}
_NULLABLE_STR = {"chapter_title", "row_label"}
_SETTLE_ROUNDS = 20  # rounds of _settle before giving up (each round is a few round trips)
_P = ParamSpec("_P")
_R = TypeVar("_R")


class IndexGoneError(RuntimeError):
    """The collection an IndexInfo names was replaced by a newer build; call open_active again."""


class ChromaUnavailableError(ConnectionError):
    """The Chroma server stopped answering; the message names its URL."""


@dataclass(frozen=True)
class IndexInfo:
    """One built index (a Chroma collection) as recorded in its metadata."""

    collection_name: str
    fingerprint: str
    model_id: str
    count: int
    reused: bool = False
    source_name: str = ""
    parser_version: str = ""
    created_ms: int = 0


# -- client ----------------------------------------------------------------------------------


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _server_url(host: str, port: int, ssl: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if ssl else 'http'}://{shown}:{port}"


def _unreachable(url: str, exc: BaseException, lead: str = "Chroma server at {url} is not reachable") -> str:
    reason = str(exc).strip() or type(exc).__name__
    return f"{lead.format(url=url)} ({reason}). Start it with `chroma run` or unset CHROMA_URL."


def make_client(data_dir: Path, chroma_url: str | None = None) -> ClientAPI:
    """A Chroma client with telemetry off: a server at ``chroma_url``, else files in data_dir/chroma.

    Use a server when more than one process reads or writes the index (PersistentClient is
    not process-safe). A server that does not answer gives a ValueError naming its URL.
    """
    if chroma_url:
        parsed = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            raise ValueError(f"Chroma URL {chroma_url!r} is not of the form http://HOST:PORT")
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        except ValueError as exc:  # a non-numeric port
            raise ValueError(f"Chroma URL {chroma_url!r} has an invalid port") from exc
        ssl = parsed.scheme == "https"
        try:
            return chromadb.HttpClient(host=parsed.hostname, port=port, ssl=ssl, settings=_chroma_settings())
        except (ValueError, httpx.TransportError) as exc:
            # chromadb: ValueError("Could not connect to a Chroma server. Are you sure it is
            # running?") raised while handling the httpx error that says why
            cause = exc.__context__ if isinstance(exc.__context__, httpx.TransportError) else exc
            url = _server_url(parsed.hostname, port, ssl)
            raise ValueError(
                _unreachable(url, cause, "Could not connect to a Chroma server at {url}")
            ) from exc
    path = Path(data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def client_url(client: ClientAPI) -> str | None:
    """The URL of the Chroma server behind ``client``; None for local files."""
    try:
        settings = client.get_settings()
    except Exception:  # noqa: BLE001 - only used to word an error
        return None
    host = settings.chroma_server_host
    if not host or not str(settings.chroma_api_impl).endswith("FastAPI"):
        return None
    return _server_url(
        str(host), int(settings.chroma_server_http_port or 8000), bool(settings.chroma_server_ssl_enabled)
    )


def _names_the_server(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn httpx's bare transport errors ("[Errno 111] Connection refused") from a function
    whose first argument is the client into a ChromaUnavailableError that names the server."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except httpx.TransportError as exc:
            client = args[0] if args else kwargs.get("client")
            url = client_url(client) if client is not None else None  # type: ignore[arg-type]
            raise ChromaUnavailableError(_unreachable(url or "(unknown URL)", exc)) from exc

    return wrapper


def index_fingerprint(source_sha256: str, parser_version: str, embedding_model_id: str) -> str:
    """Short hex id of everything that determines the index content."""
    joined = "\0".join((f"schema{SCHEMA_VERSION}", source_sha256, parser_version, embedding_model_id))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def index_size_bytes(data_dir: Path) -> int:
    """Bytes on disk of the local Chroma directory (0 when it does not exist, e.g. with a server)."""
    root = Path(data_dir) / "chroma"
    if not root.is_dir():
        return 0
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


# -- names and pointer -----------------------------------------------------------------------


def _check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.match(prefix) or ".." in prefix:
        raise ValueError(
            f"Collection prefix {prefix!r} is invalid: use letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )


def _active_name(prefix: str) -> str:
    return prefix + ACTIVE_SUFFIX


def _name_re(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}-([0-9a-f]{{10}})-(\d{{13,}})$")


def _list_builds(client: ClientAPI, prefix: str) -> list[tuple[str, int, Mapping[str, Any]]]:
    """(name, created unix ms, metadata) of every build collection of this prefix."""
    pattern = _name_re(prefix)
    found = []
    for col in client.list_collections():
        m = pattern.match(col.name)
        if m:
            found.append((col.name, int(m.group(2)), col.metadata or {}))
    return found


def _read_pointer(client: ClientAPI, prefix: str) -> Mapping[str, Any] | None:
    try:
        pointer = client.get_collection(_active_name(prefix), embedding_function=None)
    except NotFoundError:
        return None
    meta = pointer.metadata or {}
    return meta if isinstance(meta.get("collection"), str) and meta["collection"] else None


def _point_at(client: ClientAPI, prefix: str, name: str, fingerprint: str) -> None:
    meta = {"collection": name, "fingerprint": fingerprint, "updated_ms": int(time.time() * 1000)}
    pointer = client.get_or_create_collection(_active_name(prefix), embedding_function=None, metadata=meta)
    pointer.modify(metadata=meta)  # get_or_create keeps an existing collection's old metadata


def _write_pointer(client: ClientAPI, prefix: str, name: str, fingerprint: str) -> None:
    """A finished build switches the pointer to itself (then it must call _settle)."""
    _point_at(client, prefix, name, fingerprint)


def _info_from(name: str, meta: Mapping[str, Any], *, reused: bool = False) -> IndexInfo:
    return IndexInfo(
        collection_name=name,
        fingerprint=str(meta.get("fingerprint", "")),
        model_id=str(meta.get("model_id", "")),
        count=int(meta.get("chunk_count", 0)),
        reused=reused,
        source_name=str(meta.get("source_name", "")),
        parser_version=str(meta.get("parser_version", "")),
        created_ms=int(meta.get("created_ms", 0)),
    )


def _delete(client: ClientAPI, name: str) -> None:
    with contextlib.suppress(NotFoundError):  # someone else cleaned it already
        client.delete_collection(name)


# Two builds may finish at the same moment, and Chroma has no transactions: every read, pointer
# write and delete below is a separate round trip that any other process may interleave with.
# What keeps the index consistent:
# * the WINNER is the newest complete build (created_ms, then name), the same for every process;
# * the pointer is only ever written to a complete build: a build's own, or the winner;
# * a complete build is only deleted when a newer complete one exists, so the winner is never
#   deleted (except by hand); nothing is deleted while a fresh read of the pointer names it;
# * whoever writes the pointer or deletes a build then runs _settle until one round finds
#   nothing to change; so the last process to change anything checks the final state, and once
#   all builds have ended the pointer names the winner and no other complete build is left.
# A dangling pointer can still be seen for a moment in between; open_active then returns None.


def _build_key(build: tuple[str, int, Mapping[str, Any]]) -> tuple[int, str]:
    return build[1], build[0]


def _still_incomplete(client: ClientAPI, name: str) -> bool:
    try:
        meta = client.get_collection(name, embedding_function=None).metadata or {}
    except NotFoundError:
        return True  # gone already: deleting it is a no-op
    return meta.get("complete") is not True


def _settle(
    client: ClientAPI, prefix: str, grace_s: float
) -> tuple[tuple[str, int, Mapping[str, Any]] | None, list[str]]:
    """Point the pointer at the winner (the newest complete build) and delete the other complete
    builds and incomplete ones older than ``grace_s``. Returns (winner or None, deleted names)."""
    removed: list[str] = []
    winner = None
    for _ in range(_SETTLE_ROUNDS):
        builds = _list_builds(client, prefix)
        complete = [b for b in builds if b[2].get("complete") is True]
        if not complete:
            return None, removed
        winner = max(complete, key=_build_key)
        pointer = _read_pointer(client, prefix)
        if pointer is None or pointer["collection"] != winner[0]:
            _point_at(client, prefix, winner[0], str(winner[2].get("fingerprint", "")))
            continue  # look again: another process may have moved it meanwhile
        cutoff = time.time() * 1000 - grace_s * 1000
        doomed = [
            (name, meta.get("complete") is True)
            for name, created_ms, meta in builds
            if name != winner[0] and (meta.get("complete") is True or created_ms < cutoff)
        ]
        if not doomed:
            return winner, removed
        for name, complete_when_listed in doomed:
            pointer = _read_pointer(client, prefix)
            if pointer is not None and pointer["collection"] == name:
                break  # someone switched to it meanwhile: look again
            if not complete_when_listed and not _still_incomplete(client, name):
                break  # an old build that has just finished: look again
            _delete(client, name)
            removed.append(name)
    log.warning(
        "index builds of %r kept changing; left the pointer at %s", prefix, winner[0] if winner else None
    )
    return winner, removed


@_names_the_server
def remove_stale_builds(client: ClientAPI, prefix: str, grace_s: float = STALE_BUILD_GRACE_S) -> list[str]:
    """Delete superseded builds: complete ones other than the newest complete build (which the
    pointer is moved to if it does not name it yet) and incomplete ones older than ``grace_s``.
    Returns their names. Younger incomplete ones are spared: they may be another process's
    build in progress.
    """
    _check_prefix(prefix)
    _, removed = _settle(client, prefix, grace_s)
    if removed:
        log.info("removed stale index collections: %s", ", ".join(removed))
    return removed


# -- reading ---------------------------------------------------------------------------------


@_names_the_server
def open_active(client: ClientAPI, prefix: str) -> IndexInfo | None:
    """The serving index of this prefix, or None if there is none (or it is not complete)."""
    _check_prefix(prefix)
    pointer = _read_pointer(client, prefix)
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


@_names_the_server
def get_collection(client: ClientAPI, info: IndexInfo) -> Collection:
    """The Chroma collection of an index. Raises IndexGoneError if a newer build replaced it."""
    try:
        # embedding_function=None: we always pass our own vectors; Chroma's default downloads
        return client.get_collection(info.collection_name, embedding_function=None)
    except NotFoundError as exc:
        raise IndexGoneError(
            f"Index collection {info.collection_name!r} no longer exists (replaced by a newer build); "
            "call open_active() again."
        ) from exc


@_names_the_server
def check_index(client: ClientAPI, prefix: str, expected_fingerprint: str, expected_model_id: str) -> str:
    """Return "ok", "missing" (no complete index) or "stale" (other model, parser or source)."""
    info = open_active(client, prefix)
    if info is None:
        return "missing"
    if info.fingerprint != expected_fingerprint or info.model_id != expected_model_id:
        return "stale"
    return "ok"


def _chunk_metadata(chunk: Chunk, order: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "kind": chunk.kind,
        "lines_first": int(chunk.lines[0]),
        "lines_last": int(chunk.lines[1]),
        "chapter_number": _NONE_INT if chunk.chapter_number is None else int(chunk.chapter_number),
        "chapter_title": chunk.chapter_title or _NONE_STR,
        "table_number": _NONE_INT if chunk.table_number is None else int(chunk.table_number),
        "row_label": chunk.row_label or _NONE_STR,
        _ORDER_KEY: order,
    }
    encoded = []
    for key, value in chunk.metadata.items():
        if not isinstance(key, str) or not key or key in _RESERVED_KEYS or key[0] in "#$":
            raise ValueError(
                f"Chunk {chunk.id}: metadata key {key!r} clashes with a stored field or is not allowed in Chroma."
            )
        if isinstance(value, str | bool | int | float):
            meta[key] = value
        else:
            meta[key] = json.dumps(value, ensure_ascii=False, default=str)
            encoded.append(key)
    meta[_JSON_KEY] = json.dumps(encoded)
    return meta


def _chunk_from(chunk_id: str, document: str | None, meta: Mapping[str, Any]) -> Chunk:
    def opt_int(key: str) -> int | None:
        value = meta.get(key, _NONE_INT)
        return None if value == _NONE_INT else int(value)

    def opt_str(key: str) -> str | None:
        value = meta.get(key, _NONE_STR)
        return None if value == _NONE_STR else str(value)

    encoded = set(json.loads(str(meta.get(_JSON_KEY, "[]"))))
    extra = {
        key: json.loads(value) if key in encoded else value
        for key, value in meta.items()
        if key not in _RESERVED_KEYS
    }
    return Chunk(
        id=chunk_id,
        kind=meta["kind"],
        text=document or "",
        lines=(int(meta["lines_first"]), int(meta["lines_last"])),
        chapter_number=opt_int("chapter_number"),
        chapter_title=opt_str("chapter_title"),
        table_number=opt_int("table_number"),
        row_label=opt_str("row_label"),
        metadata=extra,
    )


@_names_the_server
def load_chunks(client: ClientAPI, info: IndexInfo, page_size: int = 1000) -> list[Chunk]:
    """Every stored chunk, in ingest order (for BM25 and table lookups at answer time)."""
    col = get_collection(client, info)
    total = col.count()
    rows: list[tuple[int, Chunk]] = []
    for offset in range(0, total, page_size):
        got = col.get(limit=page_size, offset=offset, include=["documents", "metadatas"])
        docs = got["documents"] or []
        metas = got["metadatas"] or []
        for chunk_id, doc, meta in zip(got["ids"], docs, metas, strict=True):
            meta = meta or {}
            rows.append((int(meta.get(_ORDER_KEY, len(rows))), _chunk_from(chunk_id, doc, meta)))
    rows.sort(key=lambda pair: pair[0])
    return [chunk for _, chunk in rows]


def _normalise_where(where: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Plain {field: value} filters -> Chroma syntax: None -> stored sentinel, several keys -> $and."""
    if not where:
        return None
    if any(key.startswith("$") for key in where):
        return dict(where)  # already an operator expression
    clauses = []
    for key, value in where.items():
        if value is None and key in _NULLABLE_INT:
            value = _NONE_INT
        elif value is None and key in _NULLABLE_STR:
            value = _NONE_STR
        clauses.append({key: value})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@_names_the_server
def dense_search(
    client: ClientAPI,
    info: IndexInfo,
    embeddings: Embeddings,
    query: str,
    k: int,
    where: Mapping[str, Any] | None = None,
) -> list[tuple[Chunk, float]]:
    """Top-k chunks by cosine similarity (1 - cosine distance), best first, optionally filtered.

    ``where`` takes plain equality filters such as {"table_number": 7} or {"kind": "prose"}
    (several keys are ANDed; None matches chunks without the field), or a Chroma expression.
    """
    if k <= 0:
        return []
    col = get_collection(client, info)
    vector = embeddings.embed_query(query)
    result = col.query(
        query_embeddings=[vector],
        n_results=k,
        where=_normalise_where(where),
        include=["documents", "metadatas", "distances"],
    )
    ids = result["ids"][0]
    docs = (result["documents"] or [[]])[0]
    metas = (result["metadatas"] or [[]])[0]
    dists = (result["distances"] or [[]])[0]
    return [
        (_chunk_from(cid, doc, meta or {}), 1.0 - float(dist))
        for cid, doc, meta, dist in zip(ids, docs, metas, dists, strict=True)
    ]


# -- building --------------------------------------------------------------------------------


def _new_collection(client: ClientAPI, prefix: str, fingerprint: str, meta: dict[str, Any]) -> Collection:
    created_ms = int(time.time() * 1000)
    for _ in range(100):  # two builds in the same millisecond: take the next free name
        name = f"{prefix}-{fingerprint[:10]}-{created_ms}"
        try:
            client.get_collection(name, embedding_function=None)
        except NotFoundError:
            meta["created_ms"] = created_ms
            return client.create_collection(
                name, configuration=dict(_COSINE), metadata=meta, embedding_function=None
            )
        created_ms += 1
    raise RuntimeError(f"Could not find a free collection name for prefix {prefix!r}")


@_names_the_server
def build_index(
    client: ClientAPI,
    chunks: list[Chunk],
    embeddings: Embeddings,
    *,
    prefix: str,
    fingerprint: str,
    source_name: str,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
    parser_version: str = "",
    batch_size: int = 64,
) -> IndexInfo:
    """Build (or reuse) the index for these chunks and make it the active one.

    Reuses the active index untouched when it has this fingerprint, unless ``force``. Otherwise
    writes a new collection in batches (``progress(done, total)`` after each), marks it
    complete, moves the active pointer to it and deletes older builds of the prefix. When
    another build finished at the same moment, the newer of the two serves and the result
    describes it (``reused=True`` if it is not this build).
    """
    _check_prefix(prefix)
    if not force:
        active = open_active(client, prefix)
        if active is not None and active.fingerprint == fingerprint:
            return _settled_reuse(client, prefix, active)
    if not chunks:
        raise ValueError("No chunks to index: the source produced no text.")
    ids = [c.id for c in chunks]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"Duplicate chunk ids: {', '.join(dupes)}")
    metadatas = [_chunk_metadata(c, i) for i, c in enumerate(chunks)]  # validates before any write
    model_id = str(getattr(embeddings, "model_id", type(embeddings).__name__))

    _settle(client, prefix, STALE_BUILD_GRACE_S)  # leftovers of crashed builds
    meta: dict[str, Any] = {
        "model_id": model_id,
        "fingerprint": fingerprint,
        "source_name": source_name,
        "parser_version": parser_version,
        "chunk_count": len(chunks),
        "schema_version": SCHEMA_VERSION,
        "complete": False,
    }
    col = _new_collection(client, prefix, fingerprint, meta)
    name = col.name
    theirs: IndexInfo | None = None
    try:
        step = max(1, min(batch_size, client.get_max_batch_size()))
        total = len(chunks)
        if progress:
            progress(0, total)
        dim: int | None = None
        for start in range(0, total, step):
            part = chunks[start : start + step]
            vectors = embeddings.embed_documents([c.text for c in part])
            if len(vectors) != len(part):
                raise RuntimeError(f"Embedding model returned {len(vectors)} vectors for {len(part)} texts")
            dim = dim or len(vectors[0])
            if any(len(v) != dim for v in vectors):
                raise RuntimeError("Embedding model returned vectors of different lengths")
            col.add(
                ids=ids[start : start + step],
                embeddings=vectors,
                documents=[c.text for c in part],
                metadatas=metadatas[start : start + step],
            )
            if progress:
                progress(min(start + step, total), total)
        if col.count() != total:
            raise RuntimeError(f"Index holds {col.count()} chunks, expected {total}")
        if not force:
            # another process may have finished the same build meanwhile: keep theirs. Checked
            # BEFORE ours is marked complete, so no other process can have chosen ours.
            current = open_active(client, prefix)
            if current is not None and current.fingerprint == fingerprint:
                theirs = current
        if theirs is None:
            meta["complete"] = True
            meta["dim"] = dim or 0
            col.modify(metadata=meta)  # modify replaces the whole metadata dict
    except BaseException:
        # not a kill: drop the half-built collection; the pointer was never moved
        try:
            _delete(client, name)
        except Exception:  # keep the original error; a later build removes the leftover
            log.warning("could not delete half-built collection %s", name, exc_info=True)
        raise
    if theirs is not None:
        _delete(client, name)
        return _settled_reuse(client, prefix, theirs)

    _write_pointer(client, prefix, name, fingerprint)
    winner, _ = _settle(client, prefix, STALE_BUILD_GRACE_S)
    if winner is None:
        raise RuntimeError(
            f"Index collection {name!r} was deleted while switching to it; run the ingest again."
        )
    if winner[0] == name:
        return _info_from(name, meta, reused=False)
    log.warning("a newer build finished at the same time: %s serves, %s was dropped", winner[0], name)
    return _info_from(winner[0], winner[2], reused=True)


def _settled_reuse(client: ClientAPI, prefix: str, active: IndexInfo) -> IndexInfo:
    """Reuse ``active`` after cleaning up; the newest complete build if one replaced it meanwhile."""
    winner, removed = _settle(client, prefix, STALE_BUILD_GRACE_S)
    if removed:
        log.info("removed stale index collections: %s", ", ".join(removed))
    if winner is None or winner[0] == active.collection_name:
        return active
    return _info_from(winner[0], winner[2], reused=True)


def as_langchain_vectorstore(client: ClientAPI, info: IndexInfo, embeddings: Embeddings) -> Any:
    """The index as a ``langchain_chroma.Chroma`` VectorStore (relevance = cosine similarity)."""
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=info.collection_name,
        embedding_function=embeddings,
        # only used if the collection vanished meanwhile; keeps relevance scores cosine
        collection_configuration=dict(_COSINE),  # type: ignore[arg-type]
    )
