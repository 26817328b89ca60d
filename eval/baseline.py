"""The naive baseline: the plain LangChain RAG-tutorial retrieval over the raw report text.

``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)``
over the whole text, the same embedding model as ``settings.embedding`` (document vectors
cached in ``<data_dir>/baseline/embed-cache.sqlite3``), a ``langchain_chroma.Chroma`` store on a
``chromadb.PersistentClient`` in ``<data_dir>/baseline/chroma`` (telemetry off, our vectors
only: Chroma's default embedding function is never used), and top-k ``similarity_search``
with the tutorial's defaults (Chroma's default L2 distance, no filters, no BM25).

Each split is mapped to the 1-based source lines it covers (via ``start_index``), so recall@k
is computed exactly as for our retriever: the item's line lies within a retrieved chunk.
"""

from __future__ import annotations

import bisect
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.scorer import RECALL_KS, recall_at_k
from rapport.settings import Settings

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
COLLECTION_PREFIX = "baseline-"


def baseline_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "baseline"


def line_starts(text: str) -> list[int]:
    """Character offset at which each line starts (line i starts at starts[i - 1])."""
    starts = [0]
    pos = text.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def span_of(start: int, length: int, starts: Sequence[int]) -> tuple[int, int]:
    """1-based (first, last) lines covered by text[start : start + length]."""
    first = bisect.bisect_right(starts, start)
    last = bisect.bisect_right(starts, start + max(length, 1) - 1)
    return first, last


def split_report(text: str) -> list[Any]:
    """The tutorial split, each Document's metadata extended with its source line range."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    docs = splitter.create_documents([text])
    starts = line_starts(text)
    for doc in docs:
        start = int(doc.metadata["start_index"])
        if start < 0:  # the splitter could not locate the chunk (never for this splitter)
            raise ValueError("baseline split without a start index")
        first, last = span_of(start, len(doc.page_content), starts)
        doc.metadata["lines_first"] = first
        doc.metadata["lines_last"] = last
    return docs


@dataclass
class BaselineRetriever:
    store: Any  # langchain_chroma.Chroma
    chunks: int
    mean_chunk_lines: float
    build_s: float
    reused: bool
    model_id: str

    def search(self, question: str, k: int = 4) -> list[tuple[int, int]]:
        """Source line ranges of the top-k chunks, best first."""
        docs = self.store.similarity_search(question, k=k)
        return [(int(d.metadata["lines_first"]), int(d.metadata["lines_last"])) for d in docs]


def build_baseline(settings: Settings, echo: Callable[[str], Any] = print) -> BaselineRetriever:
    """Split, embed (cached) and store the raw report; reuse the stored collection when the
    text, the split and the model are unchanged."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    from ingest.embed_cache import CachedEmbeddings
    from ingest.embeddings import make_embeddings
    from ingest.sources import read_source

    t0 = time.perf_counter()
    text, sha = read_source(settings.source_path)
    docs = split_report(text)
    root = baseline_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    embeddings = CachedEmbeddings(
        make_embeddings(settings.embedding, settings.embed_batch_size), root / "embed-cache.sqlite3"
    )
    key = "\0".join((sha, f"recursive-{CHUNK_SIZE}-{CHUNK_OVERLAP}", embeddings.model_id))
    name = COLLECTION_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    client = chromadb.PersistentClient(
        path=str(root / "chroma"), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )
    for col in client.list_collections():  # older splits / models
        if col.name.startswith(COLLECTION_PREFIX) and col.name != name:
            client.delete_collection(col.name)
    store = Chroma(client=client, collection_name=name, embedding_function=embeddings)
    reused = store._collection.count() == len(docs)
    if not reused:
        if store._collection.count():
            store.delete_collection()
            store = Chroma(client=client, collection_name=name, embedding_function=embeddings)
        echo(f"Baseline: embedding {len(docs)} chunks of {CHUNK_SIZE} characters ({embeddings.model_id}) ...")
        store.add_documents(documents=docs, ids=[f"c{i:05d}" for i in range(len(docs))])
    lines = [d.metadata["lines_last"] - d.metadata["lines_first"] + 1 for d in docs]
    return BaselineRetriever(
        store=store,
        chunks=len(docs),
        mean_chunk_lines=sum(lines) / len(lines) if lines else 0.0,
        build_s=time.perf_counter() - t0,
        reused=reused,
        model_id=embeddings.model_id,
    )


def baseline_recall(
    settings: Settings,
    items: Sequence[Mapping[str, Any]],
    echo: Callable[[str], Any] = print,
    retriever: BaselineRetriever | None = None,
) -> dict[str, Any]:
    """recall@4 (and @8) of the baseline over the items, overall and per kind and language,
    with the retrieved line ranges per item id."""
    retriever = retriever or build_baseline(settings, echo)
    k_max = max(RECALL_KS)
    per_item: dict[str, list[list[int]]] = {}
    hits: dict[int, list[tuple[Mapping[str, Any], bool]]] = {k: [] for k in RECALL_KS}
    t0 = time.perf_counter()
    for item in items:
        spans = retriever.search(str(item["question"]), k=k_max)
        per_item[str(item["id"])] = [list(s) for s in spans]
        for k in RECALL_KS:
            verdict = recall_at_k(item, spans, k)
            if verdict is not None:
                hits[k].append((item, verdict))
    out: dict[str, Any] = {
        "pipeline": f"RecursiveCharacterTextSplitter({CHUNK_SIZE}/{CHUNK_OVERLAP}) + Chroma similarity_search",
        "embedding": retriever.model_id,
        "chunks": retriever.chunks,
        "mean_chunk_lines": round(retriever.mean_chunk_lines, 2),
        "build_s": round(retriever.build_s, 2),
        "reused_index": retriever.reused,
        "search_s": round(time.perf_counter() - t0, 2),
    }
    for k in RECALL_KS:
        out.update(_rates(f"recall@{k}", hits[k]))
    for group in ("kind", "lang"):
        out[f"by_{group}"] = {}
        for k in RECALL_KS:
            values = sorted({str(i.get(group)) for i, _ in hits[k]})
            for value in values:
                sub = [(i, v) for i, v in hits[k] if str(i.get(group)) == value]
                out[f"by_{group}"].setdefault(value, {}).update(_rates(f"recall@{k}", sub))
    out["retrieved"] = per_item
    return out


def _rates(key: str, pairs: Sequence[tuple[Mapping[str, Any], bool]]) -> dict[str, Any]:
    return {key: (sum(v for _, v in pairs) / len(pairs)) if pairs else None, f"{key}_n": len(pairs)}
