"""The document-vector cache of ingest: LangChain's ``CacheBackedEmbeddings`` over a SQLite byte
store in the data dir, so each distinct text is embedded once across reports, builds and runs.

Keys are sha256(model_id + NUL + text), values float32 bytes (the file format of earlier
versions, so their caches stay valid). Queries are never cached. The store is robust, not
fatal: a missing, unreadable or corrupt file is recreated, and if even that fails (a full disk,
a read-only dir) the cache is skipped and the model does the work. Imported only by ingest
(LangChain's cache module costs about half a second to import, which answering must not pay).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_classic.embeddings.cache import CacheBackedEmbeddings
from langchain_classic.storage.encoder_backed import EncoderBackedStore
from langchain_core.embeddings import Embeddings
from langchain_core.stores import ByteStore

log = logging.getLogger(__name__)


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("not a database", "malformed", "corrupt", "no such table"))


class SQLiteByteStore(ByteStore):
    """A LangChain byte store in one SQLite file: a read that fails is a miss, a write that
    fails is skipped, a corrupt file is recreated."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.disabled = False
        self._ensure_schema()

    def _connect(self) -> sqlite3.Connection:
        # one short-lived connection per call: safe across threads and processes
        return sqlite3.connect(self.path, timeout=30)

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            con.execute("SELECT count(*) FROM vectors").fetchone()
        con.close()

    def _ensure_schema(self) -> None:
        try:
            self._create()
            return
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                # locked, unwritable, no such directory: never delete someone else's file for that
                log.warning("embedding cache %s unavailable (%s); running without it", self.path, exc)
                self.disabled = True
                return
            log.warning("embedding cache %s is corrupt (%s); recreating it", self.path, exc)
        except OSError as exc:
            log.warning("embedding cache %s unavailable (%s); running without it", self.path, exc)
            self.disabled = True
            return
        try:
            self.path.unlink(missing_ok=True)
            self._create()
        except (sqlite3.DatabaseError, OSError) as exc:
            log.warning("cannot recreate embedding cache %s (%s); running without it", self.path, exc)
            self.disabled = True

    def _lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        con = self._connect()
        try:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):  # stay under SQLite's variable limit
                part = unique[start : start + 500]
                marks = ",".join("?" * len(part))
                found.update(con.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part).fetchall())
        finally:
            con.close()
        return found

    def _store(self, items: Sequence[tuple[str, bytes]]) -> None:
        con = self._connect()
        try:
            with con:
                con.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", list(items))
        finally:
            con.close()

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        if self.disabled or not keys:
            return [None] * len(keys)
        with self._lock:
            try:
                found = self._lookup(keys)
            except sqlite3.DatabaseError as exc:
                log.warning("embedding cache read failed (%s)", exc)
                self._ensure_schema()  # recreates a corrupt file, or disables the cache
                return [None] * len(keys)
        return [found.get(k) for k in keys]

    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        if self.disabled or not key_value_pairs:
            return
        with self._lock:
            try:
                self._store(key_value_pairs)
            except sqlite3.DatabaseError as exc:
                log.warning("embedding cache write failed (%s); continuing without storing", exc)

    def mdelete(self, keys: Sequence[str]) -> None:
        if self.disabled:
            return
        with self._lock:
            con = self._connect()
            try:
                with con:
                    con.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in keys])
            finally:
                con.close()

    def yield_keys(self, *, prefix: str | None = None) -> Iterator[str]:
        if self.disabled:
            return
        con = self._connect()
        try:
            for (key,) in con.execute("SELECT key FROM vectors"):
                if prefix is None or key.startswith(prefix):
                    yield key
        finally:
            con.close()


class CachedEmbeddings(CacheBackedEmbeddings):
    """``CacheBackedEmbeddings`` keyed by the model's id, each distinct text of a call embedded
    once; ``model_id`` and ``dim`` are the inner model's."""

    def __init__(self, inner: Embeddings, cache_path: Path) -> None:
        model_id = getattr(inner, "model_id", None)
        if not isinstance(model_id, str) or not model_id:
            raise TypeError(f"{type(inner).__name__} has no model_id; the cache key needs one")
        self.model_id: str = model_id
        self.dim: int | None = getattr(inner, "dim", None)
        self.inner = inner
        self.cache_path = Path(cache_path)
        self.store = SQLiteByteStore(self.cache_path)
        dim = self.dim

        def key(text: str) -> str:
            return hashlib.sha256((model_id + "\0" + text).encode("utf-8")).hexdigest()

        def load(blob: bytes) -> Any:
            vec = np.frombuffer(blob, dtype=np.float32)
            return vec.tolist() if dim is None or vec.shape[0] == dim else None  # another shape: a miss

        vectors = EncoderBackedStore(self.store, key, lambda v: np.asarray(v, dtype=np.float32).tobytes(), load)
        super().__init__(inner, vectors)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        unique = list(dict.fromkeys(texts))
        by_text = dict(zip(unique, super().embed_documents(unique), strict=True)) if unique else {}
        return [list(map(float, by_text[t])) for t in texts]

    def __repr__(self) -> str:
        return f"CachedEmbeddings({self.inner!r}, cache_path={str(self.cache_path)!r})"


__all__ = ["CachedEmbeddings", "SQLiteByteStore"]
