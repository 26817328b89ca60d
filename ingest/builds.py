"""Versioned index builds behind an active pointer that lives in Chroma.

Layout for a prefix P:

* ``P-<fingerprint[:10]>-<unix_ms>``: one collection per build (what it holds: ingest/store.py).
* ``P--active``: an empty collection whose metadata names the serving build. It lives in
  Chroma so that every process on one Chroma server shares it.

A build writes a new collection, marks it complete, and only then moves the pointer, so a
failure or a kill half-way leaves the previous build serving. Leftovers of crashed builds are
ignored by readers and deleted by later builds. When two builds finish at the same moment, the
newer one serves and the other is deleted (see settle).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator, Mapping
from time import monotonic, sleep
from typing import Any

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import ChromaError, NotFoundError

log = logging.getLogger(__name__)

ACTIVE_SUFFIX = "--active"
# An incomplete collection younger than this may be another process's build in progress;
# older ones are leftovers of a crash and get deleted.
STALE_BUILD_GRACE_S = 600.0
_COSINE = {"hnsw": {"space": "cosine"}}
_PREFIX_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,400}[a-zA-Z0-9])?$")
_SETTLE_ROUNDS = 20  # rounds of settle before giving up (each round is a few round trips)


def check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.match(prefix) or ".." in prefix:
        raise ValueError(
            f"Collection prefix {prefix!r} is invalid: use letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )


def _active_name(prefix: str) -> str:
    return prefix + ACTIVE_SUFFIX


def _name_re(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}-([0-9a-f]{{10}})-(\d{{13,}})$")


def list_builds(client: ClientAPI, prefix: str) -> list[tuple[str, int, Mapping[str, Any]]]:
    """(name, created unix ms, metadata) of every build collection of this prefix."""
    pattern = _name_re(prefix)
    found = []
    for col in client.list_collections():
        m = pattern.match(col.name)
        if m:
            found.append((col.name, int(m.group(2)), col.metadata or {}))
    return found


def read_pointer(client: ClientAPI, prefix: str) -> Mapping[str, Any] | None:
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


def write_pointer(client: ClientAPI, prefix: str, name: str, fingerprint: str) -> None:
    """A finished build switches the pointer to itself (then it must call _settle)."""
    _point_at(client, prefix, name, fingerprint)


def delete_build(client: ClientAPI, name: str) -> None:
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


def settle(
    client: ClientAPI, prefix: str, grace_s: float
) -> tuple[tuple[str, int, Mapping[str, Any]] | None, list[str]]:
    """Point the pointer at the winner (the newest complete build) and delete the other complete
    builds and incomplete ones older than ``grace_s``. Returns (winner or None, deleted names)."""
    removed: list[str] = []
    winner = None
    for _ in range(_SETTLE_ROUNDS):
        builds = list_builds(client, prefix)
        complete = [b for b in builds if b[2].get("complete") is True]
        if not complete:
            return None, removed
        winner = max(complete, key=_build_key)
        pointer = read_pointer(client, prefix)
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
            pointer = read_pointer(client, prefix)
            if pointer is not None and pointer["collection"] == name:
                break  # someone switched to it meanwhile: look again
            if not complete_when_listed and not _still_incomplete(client, name):
                break  # an old build that has just finished: look again
            delete_build(client, name)
            removed.append(name)
    log.warning(
        "index builds of %r kept changing; left the pointer at %s", prefix, winner[0] if winner else None
    )
    return winner, removed


def new_collection(client: ClientAPI, prefix: str, fingerprint: str, meta: dict[str, Any]) -> Collection:
    """A fresh, empty build collection (cosine space; we always pass our own vectors)."""
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


# -- one writer at a time --------------------------------------------------------------------

LOCK_SUFFIX = "--lock"
LOCK_WAIT_S = 900.0  # how long an ingest waits for another one to finish


_HELD_TOKENS: set[str] = set()  # the locks this process holds right now


class IndexBusyError(RuntimeError):
    """Another ingest holds the index for longer than we wait."""


def _lock_is_stale(meta: Mapping[str, Any]) -> bool:
    """The holder crashed: same host and its process is gone (or it is this process, which holds
    no such lock any more: a release that failed because the server was away), or it is older
    than the grace period."""
    age_s = time.time() - float(meta.get("since_ms", 0)) / 1000.0
    if age_s > STALE_BUILD_GRACE_S:
        return True
    if meta.get("host") == socket.gethostname():
        pid = int(meta.get("pid", 0) or 0)
        if pid <= 0:
            return True
        if pid == os.getpid():
            return meta.get("token") not in _HELD_TOKENS
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


@contextlib.contextmanager
def build_lock(client: ClientAPI, prefix: str, wait_s: float = LOCK_WAIT_S, poll_s: float = 0.2) -> Iterator[None]:
    """Hold the index of this prefix for one read-modify-write (add, remove or upgrade a report),
    so two ingests of different reports never drop one another's report. The lock is a collection
    in Chroma (creating it is atomic); a crashed holder's lock is broken (same host: its process
    is gone; otherwise after the grace period)."""
    name = prefix + LOCK_SUFFIX
    token = uuid.uuid4().hex
    meta = {"host": socket.gethostname(), "pid": os.getpid(), "since_ms": int(time.time() * 1000), "token": token}
    deadline = monotonic() + wait_s
    while True:
        try:
            client.create_collection(name, metadata=meta, embedding_function=None)
            break
        except ChromaError:
            try:
                holder = client.get_collection(name, embedding_function=None).metadata or {}
            except NotFoundError:
                continue  # released meanwhile: try again at once
            if _lock_is_stale(holder):
                log.warning("breaking the stale ingest lock of %r held by %s", prefix, dict(holder))
                delete_build(client, name)
                continue
            if monotonic() > deadline:
                raise IndexBusyError(
                    f"Another ingest is changing this index (since {time.ctime(float(holder.get('since_ms', 0)) / 1000)}, "
                    f"pid {holder.get('pid')} on {holder.get('host')}); try again when it has finished."
                ) from None
            sleep(poll_s)
    _HELD_TOKENS.add(token)
    try:
        yield
    finally:
        _HELD_TOKENS.discard(token)
        with contextlib.suppress(Exception):
            delete_build(client, name)
