"""Chroma clients: a server at a URL, else files in the data dir; errors that name the server."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings

log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_R = TypeVar("_R")


class ChromaUnavailableError(ConnectionError):
    """The Chroma server stopped answering; the message names its URL."""


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _server_url(host: str, port: int, ssl: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if ssl else 'http'}://{shown}:{port}"


def _unreachable(url: str, exc: BaseException, lead: str = "Chroma server at {url} is not reachable") -> str:
    reason = str(exc).strip() or type(exc).__name__
    return f"{lead.format(url=url)} ({reason}). Start it with `chroma run` or unset CHROMA_URL."


def make_client(data_dir: Path, chroma_url: str | None = None, read_only: bool = False) -> ClientAPI:
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
    if read_only and path.is_dir() and not _writable(path):
        # Chroma's local store always opens its SQLite file for writing: serve a private copy of a
        # read-only index (a few MB), never touching the original.
        copy = Path(tempfile.mkdtemp(prefix="rapport-ro-")) / "chroma"
        shutil.copytree(path, copy)
        for copied in [copy, *copy.rglob("*")]:  # copytree keeps the original's read-only modes
            copied.chmod(copied.stat().st_mode | stat.S_IWUSR)
        log.info("index in %s is read-only: serving a copy in %s", path, copy)
        path = copy
    path.mkdir(parents=True, exist_ok=True)
    with _first_open_lock(path):  # two processes creating a new store at once both create its tables
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


@contextlib.contextmanager
def _first_open_lock(path: Path) -> Iterator[None]:
    """Serialise opening a local store between processes while its SQLite file does not exist
    yet (an exclusive file lock next to it; nothing to do once the store exists)."""
    if (path / "chroma.sqlite3").exists():
        yield
        return
    import fcntl

    try:
        handle = open(path.parent / ".chroma-open.lock", "a")  # noqa: SIM115 - held for the block
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def remove_orphan_segments(path: Path) -> list[str]:
    """Delete the vector-index directories of deleted collections in a local store; the names
    removed. Chroma 1.x leaves them behind (chroma-core/chroma#5259), so every rebuild would
    leave a full copy of the vectors on disk. A directory is removed only when its name is a
    segment id that Chroma's own catalogue no longer lists. Best effort: errors are logged."""
    db = Path(path) / "chroma.sqlite3"
    if not db.exists():
        return []
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as con:
            live = {str(row[0]) for row in con.execute("SELECT id FROM segments")}
    except sqlite3.Error as exc:
        log.warning("could not read the segment list of %s: %s", db, exc)
        return []
    removed = []
    for child in Path(path).iterdir():
        if child.is_dir() and _UUID.match(child.name) and child.name not in live:
            try:
                shutil.rmtree(child)
                removed.append(child.name)
            except OSError as exc:
                log.warning("could not remove the orphan segment %s: %s", child, exc)
    return removed


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and all(os.access(p, os.W_OK) for p in path.glob("*.sqlite3"))


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


def names_the_server(func: Callable[_P, _R]) -> Callable[_P, _R]:
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
