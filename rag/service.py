"""The answer service: the loaded index behind ``ask``, and the one place that builds it.

``build_service(settings)`` is the composition root: it opens the index (never a source file),
checks that it was built by this code's parser, units and embedding model, loads every report
and its vectors, the trained ranker and (in LLM mode) the model writer. When the index is
missing it either builds the bundled report into an empty data dir (``ingest_missing``) or
raises ServiceError with the command to run; it never overwrites an index someone built.

A running service notices a new active build (a re-ingest) with one cheap pointer read at most
every ``check_every_s`` seconds and swaps to it atomically: one answer is always computed from
one build.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rag.chain import Turn, answer, engine_for, stream
from rag.engine import Engine
from rag.engine_cache import EngineCache
from rag.library import Library
from rag.messages import t
from rag.records import Answer
from rag.text import detect_language
from rapport.settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class ServiceError(Exception):
    """The service cannot start; the message says why and what to run."""


def check_input(question: object) -> tuple[str | None, str | None]:
    """(cleaned question, None) or (None, problem) with problem in empty | too_long | binary | script."""
    if not isinstance(question, str):
        return None, "binary" if question is not None else "empty"
    if len(question) > MAX_QUESTION_CHARS * 5:
        return None, "too_long"
    bad = sum(
        1 for ch in question if ch == "\ufffd" or unicodedata.category(ch) == "Cs" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
    )
    if "\x00" in question or (question and bad / len(question) > 0.1):
        return None, "binary"
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in question)
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        return None, "empty"
    if len(cleaned) > MAX_QUESTION_CHARS:
        return None, "too_long"
    letters = [ch for ch in cleaned if ch.isalpha()]
    if letters:
        latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
        if latin / len(letters) < 0.5:
            return None, "script"
    elif not any(ch.isdigit() for ch in cleaned):
        return None, "empty"
    return cleaned, None


def _no_surrogates(question: Any) -> Any:
    if isinstance(question, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in question):
        # lone surrogates (undecodable input bytes) cannot be printed or sent as UTF-8
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in question)
    return question


@dataclass
class Loaded:
    """One index build in memory."""

    build: str  # collection name of the build ("" when built from reports in memory)
    library: Library
    reports: tuple[Any, ...]  # ReportInfo of each report


class Service:
    def __init__(
        self,
        settings: Settings,
        loaded: Loaded,
        reload: Callable[[], Loaded] | None = None,
        active_build: Callable[[], str | None] | None = None,
        llm_writer: Any = None,
        check_every_s: float = 2.0,
        chooser: Any = None,
        embedding_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.embedding_id = embedding_id  # the embedding model questions are embedded with
        self._loaded = loaded
        self._reload = reload
        self._active_build = active_build
        self._llm_writer = llm_writer
        self._chooser = chooser  # rag.choose.LLMChooser (settings.llm_choose in LLM mode) or None
        self._check_every_s = check_every_s
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    # -- the index ------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine over every loaded report (training, retrieval checks)."""
        return self._loaded.library.engine()

    @property
    def library(self) -> Library:
        return self._loaded.library

    @property
    def build(self) -> str:
        return self._loaded.build

    def reports(self) -> tuple[Any, ...]:
        """ReportInfo (id, title, municipality, year, sha256, source_name) of every loaded report."""
        return self._loaded.reports

    def report(self, report_id: str | None = None) -> Any:
        """The parsed Report with this id (the first one when None), or None."""
        return self._loaded.library.report(report_id)

    def refresh(self, force: bool = False) -> bool:
        """Swap to a newer active build if there is one; True when swapped."""
        if self._reload is None or self._active_build is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked < self._check_every_s:
            return False
        self._checked = now
        try:
            active = self._active_build()
        except Exception:  # the store is away: keep serving what we have
            log.warning("could not check the active index build", exc_info=True)
            return False
        if active is None or active == self._loaded.build:
            return False
        with self._lock:
            if active == self._loaded.build:
                return False
            try:
                fresh = self._reload()
            except Exception:  # replaced again or gone meanwhile: keep serving, look again next time
                log.warning("could not load the new index build %s; still serving %s", active, self._loaded.build,
                            exc_info=True)
                self._checked = 0.0
                return False
            self._loaded = fresh  # one assignment: a running answer keeps the engine it started with
            log.info("switched to index build %s", fresh.build)
            return True

    # -- answering ------------------------------------------------------------------------

    def ask(self, question: str, history: list | None = None, reports: Iterable[str] | None = None) -> Answer:
        t0 = time.perf_counter()
        question = _no_surrogates(question)
        cleaned, problem = check_input(question)
        if problem is not None or cleaned is None:
            return self._message_answer(question, problem or "empty", t0)
        self.refresh()
        loaded = self._loaded
        turn = Turn(cleaned, tuple(history or ()), frozenset(reports) if reports is not None else None)
        try:
            result: Answer = answer(engine_for(loaded.library, turn), turn, self._llm_writer, self._chooser).answer
        except Exception:
            log.exception("answering %r failed", cleaned[:200])
            return self._message_answer(cleaned, "error", t0)
        return replace(result, question=question if isinstance(question, str) else cleaned, mode=self.settings.mode,
                       latency_ms=(time.perf_counter() - t0) * 1000.0)

    def stream(self, question: str, history: list | None = None, reports: Iterable[str] | None = None) -> Iterator[Any]:
        """`ask`, streamed: `rag.llm.StreamEvent`s. In LLM mode "delta" events carry the model's
        text as it is written (numbers already guarded); the last event is always "final" with
        the Answer, and ``replaces=True`` when the streamed text must be replaced by it."""
        from rag.llm import StreamEvent

        t0 = time.perf_counter()
        question = _no_surrogates(question)
        cleaned, problem = check_input(question)
        if problem is not None or cleaned is None:
            yield StreamEvent("final", answer=self._message_answer(question, problem or "empty", t0))
            return
        self.refresh()
        turn = Turn(cleaned, tuple(history or ()), frozenset(reports) if reports is not None else None)
        streamed = False
        try:
            for event in stream(engine_for(self._loaded.library, turn), turn, self._llm_writer, self._chooser):
                if event.kind == "final":
                    final = replace(event.answer, question=question if isinstance(question, str) else cleaned,
                                    latency_ms=(time.perf_counter() - t0) * 1000.0)
                    yield replace(event, answer=final)
                    return
                streamed = True
                yield event
        except Exception:
            log.exception("answering %r failed", cleaned[:200])
        yield StreamEvent("final", answer=self._message_answer(cleaned, "error", t0), replaces=streamed)

    def retrieve(self, question: str, k: int = 8) -> list[tuple[int, int]]:
        """Source line spans of the k best distinct candidates (for the eval's recall@k)."""
        from rag.candidates import candidate_text

        cleaned, problem = check_input(_no_surrogates(question))
        if problem is not None or cleaned is None:
            return []
        engine = self._loaded.library.engine()
        scored = engine.score(cleaned)
        spans: list[tuple[int, int]] = []
        for i in scored.order:
            lines = candidate_text(engine.corpus, scored.cands, int(i))[1]
            if lines not in spans:
                spans.append(lines)
            if len(spans) >= k:
                break
        return spans

    def _message_answer(self, question: object, problem: str, t0: float) -> Answer:
        q = question if isinstance(question, str) else ""
        lang = detect_language(q[:MAX_QUESTION_CHARS]) if problem not in ("script", "binary") else "no"
        return Answer(
            question=q[:MAX_QUESTION_CHARS], answer=t(lang, problem, n=MAX_QUESTION_CHARS), abstained=True, value=None,
            unit=None, citations=(), lang=lang, mode=self.settings.mode,
            latency_ms=(time.perf_counter() - t0) * 1000.0, trace=(f"input: {problem}",),
        )

    def render_text(self, answer: Answer) -> str:
        """The answer and its sources, for the terminal."""
        from rag.answer import cite_text

        lines = [answer.answer]
        lines.extend(answer.details)
        if answer.alternatives:
            lines.append("")
            lines.append(t(answer.lang, "did_you_mean"))
            lines.extend(f"  - {a.question}" for a in answer.alternatives)
        if answer.citations:
            lines.append("")
            lines.append(f"{t(answer.lang, 'sources')}:")
            for c in answer.citations:
                quote = " ".join(c.quote.split())
                if len(quote) > 160:
                    quote = quote[:157] + "…"
                lines.append(f"  - {cite_text(c, answer.lang)}: «{quote}»")
        return "\n".join(lines)


def answer_lines(service: Service, lines: Iterable[str]) -> Iterator[Answer]:
    """One Answer per non-blank input line; a line may be a JSON object with a "question"."""
    for line in lines:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        if text.lstrip().startswith("{"):
            try:
                obj = json.loads(text)
                if isinstance(obj, Mapping) and isinstance(obj.get("question"), str):
                    text = obj["question"]
            except json.JSONDecodeError:
                pass
        yield service.ask(text)


# --------------------------------------------------------------------------- building


def _stored_parts(stored: Any) -> tuple[Sequence[Any], dict]:
    vectors = {rid: dict(zip(keys, stored.vectors[rid], strict=True)) for rid, keys in stored.keys.items()}
    return stored.reports, vectors


def service_from_reports(settings: Settings, reports: Sequence[Any], vectors: dict | None = None,
                         embed_query: Callable[[str], Sequence[float]] | None = None, ranker: Any = None,
                         llm_writer: Any = None) -> Service:
    """A service over reports in memory (tests: fake or no vectors, any ranker)."""
    from ingest.store import report_info

    library = Library.from_reports(reports, vectors, embed_query, ranker)
    return Service(settings, Loaded("", library, tuple(report_info(r) for r in reports)), llm_writer=llm_writer)


def _hint(settings: Settings) -> str:
    if settings.chroma_url:
        return f"rapport ingest --chroma-url {settings.chroma_url}"
    flag = f" --data-dir {settings.data_dir}" if str(settings.data_dir) != "rapport-data" else ""
    return f"rapport ingest{flag}"


def build_service(settings: Settings, *, ingest_missing: bool = False,
                  progress: Callable[[int, int], None] | None = None, require_model: bool = True,
                  check_every_s: float = 2.0, warm: bool = True) -> Service:
    """The real service over the index in settings (data dir or Chroma server). ``warm``: build
    every report's engine now (a server); else on the first question about it (one-shot use)."""
    from ingest.chroma import make_client
    from ingest.pipeline import IngestError, run_ingest, running_versions
    from ingest.store import active_name, check_index, load_index
    from rag.ranker import ModelError, load_ranker

    try:
        client = make_client(settings.data_dir, settings.chroma_url, read_only=True)
    except Exception as exc:
        raise ServiceError(f"Cannot open the index store ({settings.chroma_url or settings.data_dir}): {exc}") from None
    embeddings = _embeddings(settings)
    versions = running_versions(embeddings.model_id)
    where = settings.chroma_url or settings.data_dir
    try:
        status, info = check_index(client, settings.collection_prefix, versions)
    except ConnectionError as exc:
        raise ServiceError(str(exc)) from None
    if status == "missing" and ingest_missing:
        try:
            run_ingest(settings, progress=progress or False)
        except IngestError as exc:
            raise ServiceError(str(exc)) from None
        client = make_client(settings.data_dir, settings.chroma_url, read_only=True)
        status, info = check_index(client, settings.collection_prefix, versions)
    if status == "missing":
        raise ServiceError(f"No index in {where}: run `{_hint(settings)}` first (it adds the bundled report).")
    if status == "stale":
        assert info is not None
        why = "; ".join(info.versions.differences(versions))
        raise ServiceError(
            f"The index in {where} was built by another version of this program ({why}). Rebuild it from the reports "
            f"it holds with `{_hint(settings)} --upgrade`; nothing is deleted until the new build is complete."
        )
    try:
        ranker = load_ranker(embedding_id=embeddings.model_id)
    except (ModelError, FileNotFoundError) as exc:
        if require_model:
            raise ServiceError(str(exc)) from None
        ranker = None  # training builds the service before there is a model
    prefix = settings.collection_prefix

    def reload() -> Loaded:
        from ingest.store import open_active

        current = open_active(client, prefix)
        if current is None:
            raise ServiceError(f"No index in {where}: run `{_hint(settings)}` first.")
        # a local store keeps prepared engines beside it; a Chroma server's clients write nothing locally
        cache = None if settings.chroma_url else EngineCache(settings.data_dir / "engine-cache" / prefix,
                                                              current.fingerprint)
        library = Library.stored(lambda: _stored_parts(load_index(client, current)), embeddings.embed_query, ranker,
                                 cache)
        return Loaded(current.collection_name, library.warm() if warm else library, current.reports)

    loaded = reload()
    llm_writer = _llm_writer(settings) if settings.mode == "llm" else None
    chooser = None
    if llm_writer is not None and settings.llm_choose:
        from rag.choose import LLMChooser

        chooser = LLMChooser(llm_writer.model)  # the writer's endpoint; it picks by id, off by default
    service = Service(settings, loaded, reload, lambda: active_name(client, prefix), llm_writer, check_every_s,
                      chooser, embeddings.model_id)
    if llm_writer is not None and getattr(llm_writer, "server", None) is not None:
        service._local_llm = llm_writer.server  # type: ignore[attr-defined]  # lives as long as the service
    return service


def _embeddings(settings: Settings) -> Any:
    from ingest.embeddings import make_embeddings

    try:
        return make_embeddings(settings.embedding, settings.embed_batch_size)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None


def _llm_writer(settings: Settings) -> Any:
    from rag.llm import LLMError, make_llm_writer

    server = None
    if not settings.llm_base_url and settings.llm_gguf is not None:
        # a local GGUF (a path, or the bundled names 'smollm2' / 'qwen-coder-1.5b') served on loopback
        from rag.local_llm import LocalLLMServer
        from rag.local_models import LocalLLMError, find_gguf

        try:
            server = LocalLLMServer(find_gguf(str(settings.llm_gguf))).start()
        except LocalLLMError as exc:
            raise ServiceError(str(exc)) from None
        settings = replace(settings, llm_base_url=server.base_url, llm_timeout_s=max(settings.llm_timeout_s, 120))
    try:
        writer = make_llm_writer(settings)
    except LLMError as exc:
        raise ServiceError(str(exc)) from None
    writer.server = server  # type: ignore[attr-defined]
    return writer
