"""Ingest: source file -> Report -> chunks -> embeddings -> Chroma, with a summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.parse import PARSER_VERSION, parse_report
from ingest.records import Report
from ingest.sources import SourceError, read_source
from rapport.settings import Settings


class IngestError(Exception):
    """Ingest cannot go on; the message says why and what to do. Any existing index is untouched."""


@dataclass(frozen=True)
class IngestSummary:
    source: str
    tables: int
    rows: int
    cells: int
    uncertain_rows: int
    passages: int
    chunks: int
    seconds: float
    collection: str
    reused: bool
    embedding: str

    def describe(self) -> str:
        state = "index already up to date (reused)" if self.reused else f"built collection {self.collection}"
        return (
            f"Ingested {self.source}: {self.tables} tables, {self.rows} rows, {self.cells} cells, "
            f"{self.uncertain_rows} uncertain rows, {self.passages} prose passages, {self.chunks} chunks "
            f"in {self.seconds:.1f} s; {state} ({self.embedding})."
        )


def load_report(path: Path) -> Report:
    """Read and parse a report file; IngestError with a clear message on bad input."""
    try:
        text, sha = read_source(path)
    except SourceError as exc:
        raise IngestError(str(exc)) from None
    report = parse_report(text, Path(path).name, sha)
    if not report.tables:
        raise IngestError(
            f"No tables found in {Path(path).name}: expected captions like 'Tabell 1 viser ...' followed by rows "
            "of numbers. Is this the annual report as text?"
        )
    return report


def index_fingerprint_for(report: Report, model_id: str, chunks: list | None = None) -> str:
    """Fingerprint of what the index holds: source, parser version, chunk texts, embedding model."""
    import hashlib

    from ingest.chunks import build_chunks
    from ingest.store import index_fingerprint

    chunks = build_chunks(report) if chunks is None else chunks
    digest = hashlib.sha256("\0".join(f"{c.id}\t{c.text}" for c in chunks).encode("utf-8")).hexdigest()[:12]
    return index_fingerprint(report.source_sha256, f"{PARSER_VERSION}+{digest}", model_id)


def make_cached_embeddings(settings: Settings):
    """The embedding model from settings, with document vectors cached by content in the data dir."""
    from ingest.embeddings import CachedEmbeddings, make_embeddings

    try:
        inner = make_embeddings(settings.embedding, settings.embed_batch_size)
    except ValueError as exc:
        raise IngestError(str(exc)) from None
    return CachedEmbeddings(inner, settings.data_dir / "embed-cache.sqlite3")


def run_ingest(
    settings: Settings,
    force: bool = False,
    progress: bool | Callable[[int, int], None] = True,
) -> IngestSummary:
    """Parse the source and (re)build the index; an up-to-date index is reused unless `force`."""
    from ingest.chunks import build_chunks
    from ingest.store import build_index, make_client

    start = time.perf_counter()
    report = load_report(settings.source_path)
    chunks = build_chunks(report)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"Cannot create the data directory {settings.data_dir}: {exc.strerror or exc}.") from None
    embeddings = make_cached_embeddings(settings)
    try:
        client = make_client(settings.data_dir, settings.chroma_url)
    except Exception as exc:  # a server that is down, a bad URL, an unwritable directory
        raise IngestError(f"Cannot open the index store ({settings.chroma_url or settings.data_dir}): {exc}") from None
    fingerprint = index_fingerprint_for(report, embeddings.model_id, chunks)
    bar = None
    callback: Callable[[int, int], None] | None
    if callable(progress):
        callback = progress
    elif progress:
        from tqdm import tqdm

        bar = tqdm(total=len(chunks), desc="Indekserer", unit="del")

        def callback(done: int, total: int) -> None:
            bar.update(done - bar.n)
    else:
        callback = None
    try:
        info = build_index(
            client,
            chunks,
            embeddings,
            prefix=settings.collection_prefix,
            fingerprint=fingerprint,
            source_name=report.source_name,
            progress=callback,
            force=force,
            parser_version=PARSER_VERSION,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise IngestError(f"Building the index failed; the previous index (if any) still serves. Cause: {exc}") from None
    except Exception as exc:  # chromadb raises its own error types for a full disk or a read-only store
        raise IngestError(f"Building the index failed; the previous index (if any) still serves. Cause: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    rows = [r for t in report.tables for r in t.rows]
    return IngestSummary(
        source=report.source_name,
        tables=len(report.tables),
        rows=len(rows),
        cells=sum(len(r.cells) for r in rows),
        uncertain_rows=sum(r.uncertain for r in rows),
        passages=len(report.passages),
        chunks=len(chunks),
        seconds=time.perf_counter() - start,
        collection=info.collection_name,
        reused=info.reused,
        embedding=embeddings.model_id,
    )
