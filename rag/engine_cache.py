"""Prepared single-report engines on local disk, so a fresh process does not tokenise, stem and
index a report again (about 0.4 s per report of this size) or fetch it from the store.

A file holds one report's corpus (fields, idf, statics, vectors), question context and spelling
index, pickled. Its name carries the index build's fingerprint (report contents and parser,
unit and model versions) and a hash of the answer engine's own code and data files, so any
change to either misses the cache and rebuilds. The directory sits in the data dir and is
trusted like it: pickles are only ever read from there, never from the store or the network.
A cache that cannot be read or written is skipped (logged), never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.route import ReportKey

log = logging.getLogger(__name__)
_RAG = Path(__file__).resolve().parent


def code_files() -> list[Path]:
    """The files whose contents decide what a prepared engine holds."""
    files = sorted(p for p in _RAG.rglob("*") if p.suffix in {".py", ".json", ".txt"} and p.is_file())
    return files + sorted((_RAG.parent / "ingest").glob("*.py"))


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the answer engine's code and data files: rag/, and ingest/ (the parsed-report
    records, and the sentence split, caption topics and number reading the engine is built with)."""
    h = hashlib.sha256()
    for p in code_files():
        h.update(p.relative_to(_RAG.parent).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)[:80]


class EngineCache:
    def __init__(self, root: Path, fingerprint: str) -> None:
        self.root = root
        self.stem = f"{_safe(fingerprint)[:24]}-{code_version()}"
        self._off = False  # set after a write failed: a read-only data dir is tried once

    def _path(self, name: str) -> Path:
        return self.root / f"{self.stem}-{_safe(name)}"

    def keys(self) -> list[ReportKey] | None:
        try:
            raw = json.loads(self._path("keys.json").read_text(encoding="utf-8"))
            return [ReportKey(k["id"], k["municipality"], k["year"], frozenset(k["covers"])) for k in raw]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_keys(self, keys: list[ReportKey]) -> None:
        body = [{"id": k.id, "municipality": k.municipality, "year": k.year, "covers": sorted(k.covers)} for k in keys]
        self._write("keys.json", json.dumps(body).encode())

    def engine(self, report_id: str) -> Any | None:
        path = self._path(f"{report_id}.pkl")
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception:  # a torn or foreign file: build again
            log.warning("engine cache %s unreadable; rebuilding it", path)
            return None

    def put_engine(self, report_id: str, parts: Any) -> None:
        self._write(f"{report_id}.pkl", pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL))

    def _write(self, name: str, body: bytes) -> None:
        """Atomically (temp file + rename), and drop files of other builds or code versions."""
        if self._off:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, self._path(name))
            for old in self.root.iterdir():
                if not old.name.startswith(self.stem) and not old.name.startswith(".tmp-"):
                    old.unlink(missing_ok=True)
        except OSError as exc:
            self._off = True
            log.info("engine cache in %s not writable (%s); answering without it", self.root, exc)


__all__ = ["EngineCache", "code_files", "code_version"]
