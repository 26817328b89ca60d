"""The answer service: report + index + chain behind ``ask``.

``build_service(settings)`` parses the report (well under a second), opens the Chroma index
built by ``rapport ingest`` (ServiceError when it is missing or stale, with the command to
run), loads every chunk for BM25 and composes the chain. Nothing heavy happens at import.
"""

from __future__ import annotations

import json
import logging
import os
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ingest.records import Chunk, Report
from rag.answer import cite_text, home_name
from rag.chain import ChainDeps, build_chain, build_stream_chain, dense_text
from rag.query import QueryContext, Synonyms, analyze, find_acronyms
from rag.records import Answer
from rag.resolve import ReportIndex
from rag.retrieve import DenseSearch, HybridRetriever
from rag.text import Analyzer, detect_language
from rapport.settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class ServiceError(Exception):
    """The service cannot start; the message says why and what to run."""


_MESSAGES = {
    "no": {
        "empty": "Skriv et spørsmål om årsrapporten, f.eks. «Hva var netto driftsresultat i 2020?»",
        "too_long": f"Spørsmålet er for langt (høyst {MAX_QUESTION_CHARS} tegn). Kort det ned og prøv igjen.",
        "binary": "Spørsmålet inneholder tegn som ikke er tekst. Skriv spørsmålet på nytt.",
        "script": "Jeg kan bare svare på spørsmål på norsk eller engelsk. / I can only answer questions in Norwegian or English.",
        "error": "Beklager, noe gikk galt da spørsmålet skulle besvares. Prøv igjen, eller still spørsmålet på en annen måte.",
    },
    "en": {
        "empty": "Please type a question about the annual report, e.g. “What was the net operating result in 2020?”",
        "too_long": f"The question is too long (at most {MAX_QUESTION_CHARS} characters). Please shorten it.",
        "binary": "The question contains characters that are not text. Please type it again.",
        "script": "I can only answer questions in Norwegian or English. / Jeg kan bare svare på spørsmål på norsk eller engelsk.",
        "error": "Sorry, something went wrong while answering. Please try again or rephrase the question.",
    },
}


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


@dataclass
class Service:
    settings: Settings
    report: Report
    deps: ChainDeps
    chain: Any  # Runnable[State, State]

    def ask(self, question: str, history: list | None = None) -> Answer:
        t0 = time.perf_counter()
        if isinstance(question, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in question):
            # lone surrogates (undecodable input bytes) cannot be printed or sent as UTF-8
            question = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in question)
        cleaned, problem = check_input(question)
        if problem is not None or cleaned is None:
            return self._message_answer(question, problem or "empty", t0)
        try:
            state = self.chain.invoke({"question": cleaned, "history": list(history or []), "trace": []})
            answer: Answer = state["answer"]
        except Exception:
            log.exception("answering %r failed", cleaned[:200])
            return self._message_answer(cleaned, "error", t0)
        return replace(answer, question=question if isinstance(question, str) else cleaned,
                       latency_ms=(time.perf_counter() - t0) * 1000.0)

    def stream(self, question: str, history: list | None = None) -> Iterator[Any]:
        """`ask`, streamed: `rag.llm.StreamEvent`s. In LLM mode "delta" events carry the model's
        text as it is written (numbers already guarded); the last event is always "final" with
        the Answer, and ``replaces=True`` when the streamed text must be replaced by it."""
        from rag.llm import StreamEvent

        t0 = time.perf_counter()
        if isinstance(question, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in question):
            question = "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in question)
        cleaned, problem = check_input(question)
        if problem is not None or cleaned is None:
            yield StreamEvent("final", answer=self._message_answer(question, problem or "empty", t0))
            return
        streamed = False
        try:
            chain = build_stream_chain(self.deps)
            for event in chain.stream({"question": cleaned, "history": list(history or []), "trace": []}):
                if event.kind == "final":
                    answer = replace(event.answer, question=question if isinstance(question, str) else cleaned,
                                     latency_ms=(time.perf_counter() - t0) * 1000.0)
                    yield replace(event, answer=answer)
                    return
                streamed = True
                yield event
        except Exception:
            log.exception("answering %r failed", cleaned[:200])
        yield StreamEvent("final", answer=self._message_answer(cleaned, "error", t0), replaces=streamed)

    def _message_answer(self, question: object, problem: str, t0: float) -> Answer:
        q = question if isinstance(question, str) else ""
        lang = detect_language(q[:MAX_QUESTION_CHARS]) if problem not in ("script", "binary") else "no"
        return Answer(
            question=q[:MAX_QUESTION_CHARS],
            answer=_MESSAGES[lang][problem],
            abstained=True,
            value=None,
            unit=None,
            citations=(),
            lang=lang,
            mode=self.settings.mode,
            latency_ms=(time.perf_counter() - t0) * 1000.0,
            trace=(f"input: {problem}",),
        )

    def retrieve(self, question: str, k: int = 8) -> list[Chunk]:
        """The top-k chunks for a question (used by eval for recall@k)."""
        cleaned, problem = check_input(question)
        if problem is not None or cleaned is None:
            return []
        a = analyze(cleaned, self.deps.ctx)
        state = {"analysis": a}
        return [h.chunk for h in self.deps.retriever.search(a, k=k, dense_text=dense_text(state))]

    def render_text(self, answer: Answer) -> str:
        """The answer and its sources, for the terminal."""
        lines = [answer.answer]
        if answer.citations:
            lines.append("")
            lines.append("Sources:" if answer.lang == "en" else "Kilder:")
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


def make_context(report: Report, chunks: Sequence[Chunk], analyzer: Analyzer | None = None) -> QueryContext:
    """Analyzer (with the corpus vocabulary for compound splitting), synonyms, home municipality."""
    analyzer = analyzer or Analyzer()
    analyzer.set_vocabulary(Analyzer.corpus_words([c.text for c in chunks] + [p.text for p in report.passages]))
    import importlib.resources as resources

    data = json.loads(resources.files("rag").joinpath("synonyms.json").read_text(encoding="utf-8"))
    glossary = resources.files("rag").joinpath("glossary_en.json")
    if glossary.is_file():  # English -> the report's words; synonyms.json wins on a shared key
        data = {**data, "en": {**json.loads(glossary.read_text(encoding="utf-8")).get("en", {}), **data.get("en", {})}}
    synonyms = Synonyms.load(analyzer, data)
    home = home_name(report).split()[0]
    homes = (home, home + "s", home.lower())
    municipalities = frozenset(m.lower() for m in data.get("_municipalities", ()))
    labels = [r.label for t in report.tables for r in t.rows] + [r.section for t in report.tables for r in t.rows
                                                                 if r.section]
    acronyms = find_acronyms(analyzer, [p.text for p in report.passages], dict.fromkeys(labels))
    return QueryContext(analyzer, synonyms, homes, municipalities, acronyms)


def make_deps(
    settings: Settings,
    report: Report,
    chunks: Sequence[Chunk],
    dense: DenseSearch | None,
    llm_writer: Callable[[dict[str, Any]], Answer] | None = None,
) -> ChainDeps:
    ctx = make_context(report, chunks)
    retriever = HybridRetriever(
        chunks,
        ctx.analyzer,
        dense,
        rrf_k=settings.rrf_k,
        bm25_weight=settings.bm25_weight,
        dense_weight=settings.dense_weight,
    )
    index = ReportIndex(report, ctx.analyzer)
    return ChainDeps(ctx, index, retriever, top_k=settings.top_k, mode=settings.mode, llm_writer=llm_writer)


def service_from_parts(
    settings: Settings,
    report: Report,
    chunks: Sequence[Chunk],
    dense: DenseSearch | None = None,
    llm_writer: Callable[[dict[str, Any]], Answer] | None = None,
) -> Service:
    """A service over given parts (tests use this with a fake or no dense search)."""
    deps = make_deps(settings, report, chunks, dense, llm_writer)
    return Service(settings, report, deps, build_chain(deps))


def build_service(settings: Settings) -> Service:
    """The real service: report from settings.source_path, index from the store."""
    from ingest.embeddings import make_embeddings
    from ingest.pipeline import IngestError, index_fingerprint_for, load_report
    from ingest.store import IndexGoneError, check_index, dense_search, load_chunks, make_client, open_active

    flag = f" --data-dir {settings.data_dir}" if str(settings.data_dir) != "rapport-data" else ""
    hint = f"run `rapport ingest{flag}`"
    try:
        report = load_report(settings.source_path)
    except IngestError as exc:
        raise ServiceError(str(exc)) from None
    # The query embedder's OpenMP threads spin while they wait; when the CPU is shared (a web
    # server, other processes) that turned a ~15 ms query embedding into 1.7 s spikes (measured:
    # p95 1.7 s -> ~0.1 s). Passive waiting, unless the operator chose otherwise. It must be set
    # before the engine is loaded.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        embeddings = make_embeddings(settings.embedding, settings.embed_batch_size)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    model_id = getattr(embeddings, "model_id", settings.embedding)
    try:
        client = make_client(settings.data_dir, settings.chroma_url)
    except Exception as exc:
        raise ServiceError(f"Cannot open the index store ({settings.chroma_url or settings.data_dir}): {exc}") from None
    prefix = settings.collection_prefix
    try:
        status = check_index(client, prefix, index_fingerprint_for(report, model_id), model_id)
    except ConnectionError as exc:  # the Chroma server went away (the message names its URL)
        raise ServiceError(str(exc)) from None
    if status == "missing":
        raise ServiceError(f"No search index in {settings.chroma_url or settings.data_dir}: {hint} first.")
    if status == "stale":
        raise ServiceError(
            f"The search index in {settings.chroma_url or settings.data_dir} was built from another report version, "
            f"parser or embedding model: {hint} to rebuild it."
        )
    info = open_active(client, prefix)
    if info is None:
        raise ServiceError(f"No search index: {hint} first.")
    chunks = load_chunks(client, info)
    holder = {"info": info}

    def dense(query: str, k: int, where: Mapping[str, Any] | None) -> list[tuple[Chunk, float]]:
        try:
            return dense_search(client, holder["info"], embeddings, query, k, where)
        except IndexGoneError:
            fresh = open_active(client, prefix)
            if fresh is None:
                raise
            holder["info"] = fresh
            return dense_search(client, fresh, embeddings, query, k, where)

    llm_writer = None
    local_server = None
    if settings.mode == "llm":
        from rag.llm import LLMError, make_llm_writer

        if not settings.llm_base_url and settings.llm_gguf is not None:
            # a local GGUF (a path, or the bundled names 'smollm2' / 'qwen-coder-1.5b') served on loopback
            from rag.local_llm import LocalLLMError, LocalLLMServer, find_gguf

            try:
                local_server = LocalLLMServer(find_gguf(str(settings.llm_gguf))).start()
            except LocalLLMError as exc:
                raise ServiceError(str(exc)) from None
            settings = replace(settings, llm_base_url=local_server.base_url, llm_timeout_s=max(settings.llm_timeout_s, 120))
        try:
            llm_writer = make_llm_writer(settings)
        except LLMError as exc:
            raise ServiceError(str(exc)) from None
    service = service_from_parts(settings, report, chunks, dense, llm_writer)
    if local_server is not None:
        object.__setattr__(service, "_local_llm", local_server)  # the server lives as long as the service
    return service
