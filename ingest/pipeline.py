"""Ingest: add a report to the index (or remove one), with a summary.

    source file -> Report (+ metadata) -> units -> vectors -> a new build holding every report

Reports already in the index are carried over from the active build: their parsed form comes
from the index itself (re-parsed from the stored source lines when the parser changed) and the
vectors of unchanged units are copied, so adding a report only embeds the new one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ingest.embedded import UNITS_VERSION, Unit, report_units
from ingest.parse import PARSER_VERSION, parse_report
from ingest.records import Report
from ingest.sources import SourceError, read_source
from rapport.settings import Settings


class IngestError(Exception):
    """Ingest cannot go on; the message says why and what to do. Any existing index is untouched."""


@dataclass(frozen=True)
class IngestSummary:
    report_id: str
    title: str
    source: str
    tables: int
    rows: int
    cells: int
    uncertain_rows: int
    passages: int
    units: int
    embedded: int  # units whose vectors were computed now (the rest came from the index or cache)
    reports: tuple[str, ...]  # every report in the index after this ingest
    seconds: float
    collection: str
    reused: bool
    embedding: str

    def describe(self) -> str:
        state = "index already up to date (reused)" if self.reused else f"built collection {self.collection}"
        return (
            f"Ingested {self.source} as report {self.report_id!r} ({self.title}): {self.tables} tables, "
            f"{self.rows} rows, {self.cells} cells, {self.uncertain_rows} uncertain rows, "
            f"{self.passages} prose passages, {self.units} embedded units ({self.embedded} computed now) "
            f"in {self.seconds:.1f} s; {state} ({self.embedding}). "
            f"The index holds {len(self.reports)} report(s): {', '.join(self.reports)}."
        )


def read_report(path: Path, pdf_backend: str | None = None, **meta_overrides: Any) -> Report:
    """Read and parse a report file; IngestError with a clear message on bad input.
    ``meta_overrides`` (id, title, municipality, year) replace what was read from the text."""
    try:
        text, sha = read_source(path, pdf_backend)
    except SourceError as exc:
        raise IngestError(str(exc)) from None
    report = parse_report(text, Path(path).name, sha)
    if not report.tables and not report.passages:
        raise IngestError(f"No text found in {Path(path).name}. Is this an annual report as text or PDF?")
    return with_meta(report, **meta_overrides)


def with_meta(report: Report, **overrides: Any) -> Report:
    from ingest.meta import read_meta, slug

    meta = report.meta or read_meta(report.lines, report.source_name)
    given = {k: v for k, v in overrides.items() if v is not None}
    if "id" in given:
        given["id"] = slug(str(given["id"]))
    elif given.keys() & {"municipality", "year"}:
        place = (given.get("municipality") or meta.municipality or meta.id).split()[0]
        given["id"] = slug(f"{place} {given.get('year', meta.year) or ''}")
    return replace(report, meta=replace(meta, **given))


def running_versions(model_id: str) -> Any:
    from ingest.store import Versions

    return Versions(model_id=model_id, parser=PARSER_VERSION, units=UNITS_VERSION)


def make_cached_embeddings(settings: Settings) -> Any:
    """The embedding model from settings, with document vectors cached by content in the data dir."""
    from ingest.embed_cache import CachedEmbeddings
    from ingest.embeddings import make_embeddings

    try:
        inner = make_embeddings(settings.embedding, settings.embed_batch_size)
    except ValueError as exc:
        raise IngestError(str(exc)) from None
    return CachedEmbeddings(inner, settings.data_dir / "embed-cache.sqlite3")


@contextlib.contextmanager
def _locked(client: Any, settings: Settings) -> Iterator[None]:
    """The index's writer lock (ingest/builds.py); waiting too long is an IngestError."""
    from ingest.builds import IndexBusyError, build_lock

    try:
        with build_lock(client, settings.collection_prefix):
            yield
    except IndexBusyError as exc:
        raise IngestError(str(exc)) from None


def _client(settings: Settings, read_only: bool = False) -> Any:
    from ingest.chroma import make_client

    if settings.chroma_url is None:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IngestError(f"Cannot create the data directory {settings.data_dir}: {exc.strerror or exc}.") from None
    try:
        return make_client(settings.data_dir, settings.chroma_url, read_only=read_only)
    except Exception as exc:  # a server that is down, a bad URL, an unwritable directory
        raise IngestError(f"Cannot open the index store ({settings.chroma_url or settings.data_dir}): {exc}") from None


def _current(client: Any, settings: Settings, versions: Any) -> tuple[list[Report], dict[str, dict[tuple[str, str], np.ndarray]]]:
    """The reports of the active build and their reusable vectors ((key, text) -> vector)."""
    from ingest.store import load_index, open_active

    info = open_active(client, settings.collection_prefix)
    if info is None:
        return [], {}
    stored = load_index(client, info)
    reports = list(stored.reports)
    if info.versions.parser != versions.parser:  # re-parse from the stored source lines
        reports = [with_meta(parse_report("\n".join(r.lines), r.source_name, r.source_sha256), **_meta_dict(r))
                   for r in reports]
    reusable: dict[str, dict[tuple[str, str], np.ndarray]] = {}
    if info.versions.model_id == versions.model_id:
        for old in stored.reports:
            texts = {u.key: u.text for u in report_units(old)} if info.versions.units == versions.units else {}
            keys = stored.keys.get(old.meta.id if old.meta else "", [])
            vecs = stored.vectors.get(old.meta.id if old.meta else "")
            if vecs is not None and texts:
                reusable[old.source_sha256] = {(k, texts[k]): vecs[i] for i, k in enumerate(keys) if k in texts}
    return reports, reusable


def _meta_dict(report: Report) -> dict[str, Any]:
    m = report.meta
    return {} if m is None else {"id": m.id, "title": m.title, "municipality": m.municipality, "year": m.year}


def _build(
    settings: Settings,
    client: Any,
    reports: Sequence[Report],
    reusable: dict[str, dict[tuple[str, str], np.ndarray]],
    embeddings: Any,
    progress: Callable[[int, int], None] | None,
    force: bool,
) -> tuple[Any, int, int]:
    """Embed what is new and write the build; (IndexInfo, units of all reports, units embedded now)."""
    from ingest.store import build_index

    units: dict[str, list[Unit]] = {}
    found: dict[str, list[Any]] = {}  # report id -> a vector (or None: to embed) per unit
    for r in reports:
        rid = r.meta.id if r.meta else r.source_name
        units[rid] = report_units(r)
        known = reusable.get(r.source_sha256, {})
        found[rid] = [known.get((u.key, u.text)) for u in units[rid]]
    distinct = list(dict.fromkeys(u.text for rid in units for u, v in zip(units[rid], found[rid], strict=True)
                                  if v is None))
    fresh: dict[str, list[float]] = {}
    step = max(1, settings.embed_batch_size * 4)
    for start in range(0, len(distinct), step):  # embed each distinct text once
        batch = distinct[start : start + step]
        fresh.update(zip(batch, embeddings.embed_documents(batch), strict=True))
        if progress:
            progress(min(start + step, len(distinct)), len(distinct))
    vectors = {
        rid: np.asarray([v if v is not None else fresh[u.text] for u, v in zip(units[rid], found[rid], strict=True)],
                        dtype=np.float32)
        for rid in units
    }
    versions = running_versions(embeddings.model_id)
    info = build_index(client, list(reports), units, vectors, prefix=settings.collection_prefix,
                       versions=versions, force=force)
    if settings.chroma_url is None:
        from ingest.chroma import remove_orphan_segments

        remove_orphan_segments(settings.data_dir / "chroma")
    return info, sum(len(u) for u in units.values()), len(distinct)


def _progress(progress: bool | Callable[[int, int], None], total_hint: str) -> tuple[Any, Callable[[int, int], None] | None]:
    if callable(progress):
        return None, progress
    if not progress:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=0, desc=total_hint, unit="tekst")

    def callback(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return bar, callback


def run_ingest(
    settings: Settings,
    force: bool = False,
    progress: bool | Callable[[int, int], None] = True,
    **meta_overrides: Any,
) -> IngestSummary:
    """Add the report at settings.source_path to the index (replacing one with the same id or
    the same content); reports already there stay. Unchanged content is reused unless `force`."""
    start = time.perf_counter()
    report = read_report(settings.source_path, settings.pdf_backend, **meta_overrides)
    assert report.meta is not None
    embeddings = make_cached_embeddings(settings)
    client = _client(settings)
    versions = running_versions(embeddings.model_id)
    bar, callback = _progress(progress, "Indekserer")
    try:
        with _locked(client, settings):  # one writer at a time: no report of another ingest is dropped
            existing, reusable = _current(client, settings, versions)
            kept = [r for r in existing
                    if r.meta and r.meta.id != report.meta.id and r.source_sha256 != report.source_sha256]
            info, n_units, embedded = _build(settings, client, [*kept, report], reusable, embeddings, callback, force)
    except (ConnectionError, IngestError) as exc:
        raise IngestError(str(exc)) from None
    except Exception as exc:  # chromadb raises its own error types for a full disk or a read-only store
        raise IngestError(f"Building the index failed; the previous index (if any) still serves. Cause: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    rows = [r for t in report.tables for r in t.rows]
    return IngestSummary(
        report_id=report.meta.id,
        title=report.meta.title,
        source=report.source_name,
        tables=len(report.tables),
        rows=len(rows),
        cells=sum(len(r.cells) for r in rows),
        uncertain_rows=sum(r.uncertain for r in rows),
        passages=len(report.passages),
        units=len(report_units(report)),
        embedded=embedded,
        reports=tuple(r.id for r in info.reports),
        seconds=time.perf_counter() - start,
        collection=info.collection_name,
        reused=info.reused,
        embedding=embeddings.model_id,
    )


def upgrade_index(settings: Settings, progress: bool | Callable[[int, int], None] = True) -> Any:
    """Rebuild the index from the reports it holds with this code's parser, units and model
    (re-parsing the stored source lines; no source file is needed). The old build serves until
    the new one is complete."""
    from ingest.store import open_active

    client = _client(settings)
    if open_active(client, settings.collection_prefix) is None:
        raise IngestError(f"No index in {settings.chroma_url or settings.data_dir}: nothing to upgrade.")
    embeddings = make_cached_embeddings(settings)
    bar, callback = _progress(progress, "Indekserer")
    try:
        with _locked(client, settings):
            existing, reusable = _current(client, settings, running_versions(embeddings.model_id))
            info, _, _ = _build(settings, client, existing, reusable, embeddings, callback, False)
    finally:
        if bar is not None:
            bar.close()
    return info


def remove_report(settings: Settings, report_id: str) -> Any:
    """Drop one report from the index (a new build without it); IngestError when it is not there
    or is the last one (remove the data dir to start over)."""
    from ingest.store import open_active

    client = _client(settings)
    info = open_active(client, settings.collection_prefix)
    if info is None:
        raise IngestError(f"No index in {settings.chroma_url or settings.data_dir}: nothing to remove.")
    ids = [r.id for r in info.reports]
    if report_id not in ids:
        raise IngestError(f"No report {report_id!r} in the index; it holds: {', '.join(ids)}.")
    if len(ids) == 1:
        raise IngestError(f"{report_id!r} is the only report in the index; add another before removing it.")
    embeddings = make_cached_embeddings(settings)
    versions = running_versions(embeddings.model_id)
    with _locked(client, settings):
        existing, reusable = _current(client, settings, versions)
        reports = [r for r in existing if r.meta and r.meta.id != report_id]
        if len(reports) == len(existing):
            raise IngestError(f"No report {report_id!r} in the index any more (another ingest removed it).")
        new_info, _, _ = _build(settings, client, reports, reusable, embeddings, None, False)
    return new_info


def list_reports(settings: Settings) -> list[Any]:
    """The reports of the active index (ReportInfo), or [] when there is none. Only reads: works
    on an index the user may not write (a read-only mount)."""
    from ingest.store import open_active

    return list(getattr(open_active(_client(settings, read_only=True), settings.collection_prefix), "reports", ()))
